//! Write-ahead actions on the real `tai serve`: a command call is recorded as started before
//! its program runs, reads of the tenant answer while it runs, and a server killed while it
//! runs leaves the action recorded as interrupted by the next server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{ACME, ADMIN, slow_catalog};
use crate::http::{
    Reply, Server, all_receipts, client, get, onboard, post, send, state_dir, verify_ok,
    wait_for_file,
};

/// How long a read of a tenant whose command is running may take: it must not wait for the
/// command (which waits for the test) at all.
const READ_AT_ONCE: Duration = Duration::from_secs(5);

/// A slow call with `key` as its idempotency key, in the background.
fn slow_call(s: &Server, key: &str) -> tokio::task::JoinHandle<Reply> {
    let req = client()
        .post(s.url("/v1/tenants/acme/calls"))
        .bearer_auth(ACME)
        .header("Idempotency-Key", key)
        .json(&json!({ "tool": "slow_call", "arguments": {}, "context": {} }));
    tokio::spawn(send(req))
}

/// `GET path` as acme, which must answer within [`READ_AT_ONCE`].
async fn read_at_once(s: &Server, path: &str) -> Reply {
    let r = tokio::time::timeout(READ_AT_ONCE, get(s, Some(ACME), path))
        .await
        .unwrap_or_else(|_| panic!("GET {path} waited for the running command"));
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_is_started_durably_and_reads_answer_while_it_runs() {
    let (d, state) = state_dir();
    let (catalog, started, release) = slow_catalog(d.path());
    let s = Server::start(&state, &["--catalog", catalog.to_str().unwrap()]);
    onboard(&s, "acme", ACME, "slow-plan").await;
    let in_flight = slow_call(&s, "slow-1");
    wait_for_file(&started).await;

    // The tenant, its receipts and its tools answer at once, from the last decided state:
    // the action is recorded as started, before the program runs.
    let t0 = Instant::now();
    let view = read_at_once(&s, "/v1/tenants/acme").await;
    assert_eq!(view.body["state"], "stable", "{}", view.body);
    assert_eq!(view.body["running"]["tool"], "slow_call", "{}", view.body);
    let receipts = all_receipts(&s, ACME, "acme").await;
    let last = receipts.last().unwrap();
    assert_eq!(last["event_type"], "action_started", "{last}");
    assert_eq!(last["metadata"]["idempotency_key"], "slow-1");
    assert_eq!(view.body["running"]["started_seq"], last["seq"]);
    let tools = read_at_once(&s, "/v1/tenants/acme/tools").await;
    assert_eq!(
        tools.body["tools"][0]["name"], "slow_call",
        "{}",
        tools.body
    );
    mcp_tools_list_answers(&s).await;
    assert!(t0.elapsed() < READ_AT_ONCE * 2);
    assert!(
        !in_flight.is_finished(),
        "the command was released too early"
    );

    std::fs::write(&release, "").unwrap();
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "executed", "{}", r.body);
    let ahead = r.body["started"].as_array().unwrap();
    assert_eq!(ahead.last().unwrap(), last);
    let outcome = &r.body["receipts"][0];
    assert_eq!(outcome["event_type"], "action_executed");
    assert_eq!(outcome["metadata"]["started_seq"], last["seq"]);
    assert_eq!(outcome["seq"], last["seq"].as_u64().unwrap() + 1);
    let view = read_at_once(&s, "/v1/tenants/acme").await;
    assert!(view.body.get("running").is_none(), "{}", view.body);
    verify_ok(&s, "acme").await;
}

/// MCP `tools/list` for acme answers (within [`READ_AT_ONCE`]) and lists the slow tool.
async fn mcp_tools_list_answers(s: &Server) {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")).auth_header(ACME),
    );
    let listed = tokio::time::timeout(READ_AT_ONCE, async {
        let client = ().serve(transport).await.unwrap();
        let tools = client.list_all_tools().await.unwrap();
        client.cancel().await.unwrap();
        tools
    })
    .await
    .expect("MCP tools/list waited for the running command");
    assert!(listed.iter().any(|t| t.name == "slow_call"), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_while_a_command_runs_leaves_it_interrupted() {
    let (d, state) = state_dir();
    let (catalog, started, release) = slow_catalog(d.path());
    let catalog_arg = catalog.to_str().unwrap();
    let mut s = Server::start(&state, &["--catalog", catalog_arg]);
    onboard(&s, "acme", ACME, "slow-plan").await;
    let in_flight = slow_call(&s, "slow-1");
    wait_for_file(&started).await;
    s.signal(rustix::process::Signal::KILL);
    let _ = in_flight.await;
    while s.exit_status().is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The program dies with its tai: nothing would bound it or record what it does.
    let pid = std::fs::read_to_string(&started).unwrap();
    let status = format!("/proc/{}/status", pid.trim());
    let gone = || {
        std::fs::read_to_string(&status)
            .map_or(true, |s| s.lines().any(|l| l.starts_with("State:\tZ")))
    };
    let t0 = Instant::now();
    while !gone() {
        assert!(
            t0.elapsed() < READ_AT_ONCE,
            "the program outlived its server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    std::fs::write(&release, "").unwrap();
    drop(s);

    let s = Server::start(&state, &["--catalog", catalog_arg]);
    let view = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(view.body["state"], "intervening", "{}", view.body);
    assert_eq!(view.body["in_flight"]["tool"], "slow_call", "{}", view.body);
    assert_eq!(view.body["in_flight"]["reason"], "action_interrupted");
    assert!(view.body.get("running").is_none(), "{}", view.body);
    let receipts = all_receipts(&s, ACME, "acme").await;
    let [.., started_r, interrupted] = receipts.as_slice() else {
        panic!("too few receipts");
    };
    assert_eq!(started_r["event_type"], "action_started");
    assert_eq!(
        interrupted["event_type"], "action_interrupted",
        "{interrupted}"
    );
    assert_eq!(interrupted["state_to"], "intervening");
    assert_eq!(interrupted["reason"], "action_interrupted");
    assert_eq!(interrupted["metadata"]["started_seq"], started_r["seq"]);
    verify_ok(&s, "acme").await;

    // The client's retry runs nothing: it is answered from the interruption.
    std::fs::remove_file(&started).unwrap();
    let retried = slow_call(&s, "slow-1").await.unwrap();
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(retried.body["decision"], "failed", "{}", retried.body);
    assert_eq!(retried.body["reason"], "action_interrupted");
    assert_eq!(retried.body["repeat_of"], interrupted["seq"]);
    assert!(!started.exists(), "the retry ran the program again");
    // Another call is refused while the governor intervenes; a resolution recovers it.
    let other = slow_call(&s, "slow-2").await.unwrap();
    assert_eq!(other.body["reason"], "action_in_flight", "{}", other.body);
    let resolved = post(
        &s,
        Some(ADMIN),
        "/v1/tenants/acme/actions/complete",
        &json!({ "detail": "checked: the rollback did not happen" }),
    )
    .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    let view = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(view.body["state"], Value::from("stable"), "{}", view.body);
}
