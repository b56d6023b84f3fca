//! Action ids and actions that resolve themselves over HTTP and MCP: the id in responses and
//! the tenant resource, resolutions naming it (a wrong or stale one is a 409 / an
//! invalid-params error and writes nothing), and `tai serve`'s ticker polling a rollback to
//! completion under the real clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rmcp::ServiceError;
use rmcp::model::{ErrorCode, RequestMetaObject};
use serde_json::{Value, json};

use crate::common::{self, ACME};
use crate::http::{Server, all_receipts, error_code, get, onboard, post, state_dir, verify_ok};
use crate::mcp;

fn canary() -> Value {
    json!({
        "tool": "ac_rollback_orchestrator",
        "arguments": { "deployment": "checkout-api", "strategy": "canary" },
        "context": {
            "deployment_stable": true,
            "rollback_target_version": "2.4.0",
            "rollback_policy_approved": true,
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_id_over_http_names_what_a_resolution_resolves() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let out = post(&s, Some(ACME), "/v1/tenants/acme/calls", &canary()).await;
    assert_eq!(out.body["reason"], "timeout", "{}", out.body);
    let id = out.body["receipts"][0]["metadata"]["action_id"].clone();
    assert!(id.as_str().unwrap().starts_with("act_"), "{}", out.body);
    let tenant = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(tenant.body["in_flight"]["action_id"], id);
    assert_eq!(
        tenant.body["in_flight"]["polling"]["status_tool"],
        "ac_rollback_status"
    );
    let before = all_receipts(&s, ACME, "acme").await.len();

    let complete = "/v1/tenants/acme/actions/complete";
    let wrong = post(
        &s,
        Some(ACME),
        complete,
        &json!({ "action_id": "act_0000" }),
    )
    .await;
    assert_eq!(error_code(&wrong, StatusCode::CONFLICT), "unknown_action");
    assert!(
        wrong.body.to_string().contains(id.as_str().unwrap()),
        "the refusal names the action in flight: {}",
        wrong.body
    );
    assert_eq!(all_receipts(&s, ACME, "acme").await.len(), before);

    let done = post(&s, Some(ACME), complete, &json!({ "action_id": id })).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["state"], "stable");
    assert_eq!(done.body["receipts"][0]["metadata"]["action_id"], id);

    let again = post(&s, Some(ACME), complete, &json!({ "action_id": id })).await;
    assert_eq!(
        error_code(&again, StatusCode::CONFLICT),
        "action_already_resolved"
    );
    verify_ok(&s, "acme").await;
}

/// The shipped catalog with the rollback polled every 200 ms instead of every minute.
fn quick_catalog(dir: &Path) -> std::path::PathBuf {
    let catalog = dir.join("catalog");
    for sub in ["packs", "skus"] {
        std::fs::create_dir_all(catalog.join(sub)).unwrap();
        for entry in std::fs::read_dir(common::root().join(sub)).unwrap() {
            let from = entry.unwrap().path();
            let text = std::fs::read_to_string(&from).unwrap();
            let text = text.replace("every_ms: 60000", "every_ms: 200");
            std::fs::write(catalog.join(sub).join(from.file_name().unwrap()), text).unwrap();
        }
    }
    catalog
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_polls_a_rollback_in_flight_until_it_completes_itself() {
    let (dir, state) = state_dir();
    let catalog = quick_catalog(dir.path());
    let s = Server::start(&state, &["--catalog", catalog.to_str().unwrap()]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let out = post(&s, Some(ACME), "/v1/tenants/acme/calls", &canary()).await;
    assert_eq!(out.body["state"], "intervening", "{}", out.body);

    // Nobody calls: the ticker polls (three results: rolling, rolling, completed).
    let end = Instant::now() + Duration::from_secs(20);
    let receipts = loop {
        let receipts = all_receipts(&s, ACME, "acme").await;
        if receipts.last().unwrap()["event_type"] == "action_completed" {
            break receipts;
        }
        assert!(Instant::now() < end, "never resolved: {receipts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let tenant = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(tenant.body["state"], "stable", "{}", tenant.body);
    let events: Vec<&str> = receipts
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        events[events.len() - 4..],
        [
            "action_polled",
            "action_polled",
            "action_polled",
            "action_completed"
        ],
        "{events:?}"
    );
    let completed = &receipts.last().unwrap()["metadata"];
    assert_eq!(
        completed["resolved_by"]["poll"]["tool"],
        "ac_rollback_status"
    );
    assert_eq!(
        completed["resolved_by"]["poll"]["result"]["phase"],
        "completed"
    );
    verify_ok(&s, "acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_resolves_an_action_by_its_id() {
    let s = mcp::serve().await;
    mcp::entitle(&s.ws, "acme", "rollback-guard-professional").await;
    let client = mcp::stateless(&s.url, ACME).await;
    let body = canary();
    let mut p = mcp::params("ac_rollback_orchestrator", body["arguments"].clone(), None);
    let mut meta = RequestMetaObject::default();
    meta.insert("tai/context".into(), body["context"].clone());
    p.meta = Some(meta);
    let overrun = client.call_tool(p).await.unwrap();
    assert_eq!(overrun.is_error, Some(true));
    let out = mcp::structured(&overrun);
    let id = out["action_id"].clone();
    assert!(id.as_str().is_some_and(|i| i.starts_with("act_")), "{out}");
    let meta = overrun.meta.as_ref().unwrap();
    assert_eq!(meta.0["tai/action_id"], id);

    let state = mcp::tai_method(&client, "tai/state", json!({}))
        .await
        .unwrap();
    assert_eq!(state["in_flight"]["action_id"], id, "{state}");

    match mcp::tai_method(
        &client,
        "tai/action/complete",
        json!({ "action_id": "act_0000" }),
    )
    .await
    {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{e:?}");
            assert_eq!(e.data.unwrap()["code"], "unknown_action");
            assert!(e.message.contains(id.as_str().unwrap()), "{}", e.message);
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    let failed = mcp::tai_method(
        &client,
        "tai/action/fail",
        json!({ "action_id": id, "detail": "rolled forward instead" }),
    )
    .await
    .unwrap();
    assert_eq!(failed["state"], "refusing", "{failed}");
    assert_eq!(failed["receipts"][0]["event_type"], "action_failed");
    assert_eq!(failed["receipts"][0]["metadata"]["action_id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_asked_to_run_in_the_background_answers_202_once_started() {
    let (d, state) = state_dir();
    let (catalog, started, release) = common::slow_catalog(d.path());
    let s = Server::start(&state, &["--catalog", catalog.to_str().unwrap()]);
    onboard(&s, "acme", ACME, "slow-plan").await;
    let body = json!({ "tool": "slow_call", "arguments": {}, "background": true });
    let out = post(&s, Some(ACME), "/v1/tenants/acme/calls", &body).await;
    assert_eq!(out.status, StatusCode::ACCEPTED, "{}", out.body);
    assert_eq!(out.body["decision"], "started");
    // As the OpenAPI document says a 202 is.
    crate::http::OpenApi::fetch(&s)
        .await
        .check("post", "/v1/tenants/{tenant}/calls", &out);
    let id = out.body["action_id"].clone();
    assert!(id.as_str().unwrap().starts_with("act_"), "{}", out.body);
    let ahead = out.body["started"].as_array().unwrap();
    assert_eq!(ahead.last().unwrap()["event_type"], "action_started");
    assert_eq!(ahead.last().unwrap()["metadata"]["action_id"], id);
    let next = ahead.last().unwrap()["seq"].as_u64().unwrap() + 1;
    assert_eq!(
        out.body["links"]["receipts"],
        format!("/v1/tenants/acme/receipts?from_seq={next}")
    );
    crate::http::wait_for_file(&started).await;
    let tenant = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(tenant.body["running"]["action_id"], id, "{}", tenant.body);

    std::fs::write(&release, "").unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let outcome = loop {
        let page = get(
            &s,
            Some(ACME),
            out.body["links"]["receipts"].as_str().unwrap(),
        )
        .await;
        let found = page.body["receipts"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["metadata"]["action_id"] == id).cloned());
        if let Some(r) = found {
            break r;
        }
        assert!(Instant::now() < end, "no outcome: {}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(outcome["event_type"], "action_executed", "{outcome}");

    // Without `background` the same call holds the request until it ends, as before.
    std::fs::remove_file(&started).unwrap();
    let plain = json!({ "tool": "slow_call", "arguments": {} });
    let out = post(&s, Some(ACME), "/v1/tenants/acme/calls", &plain).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(out.body["decision"], "executed");
    verify_ok(&s, "acme").await;
}

/// A client that keeps the messages of the progress notifications it hears.
#[derive(Clone, Default)]
struct Progress(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl rmcp::ClientHandler for Progress {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        rmcp::model::ClientConfig::default()
            .with_protocol_version(rmcp::model::ProtocolVersion::V_2025_11_25)
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(params.message.unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_reports_progress_of_a_command_and_answers_started_when_asked() {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let (d, state) = state_dir();
    let (catalog, _started, release) = common::slow_catalog(d.path());
    let s = Server::start(&state, &["--catalog", catalog.to_str().unwrap()]);
    onboard(&s, "acme", ACME, "slow-plan").await;
    std::fs::write(&release, "").unwrap();
    let progress = Progress::default();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")).auth_header(ACME),
    );
    let client = progress.clone().serve(transport).await.unwrap();

    // With a progress token: started (naming the action), then decided; the result is the
    // outcome, as without one.
    let mut p = mcp::params("slow_call", json!({}), None);
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(rmcp::model::ProgressToken(
        rmcp::model::NumberOrString::Number(7),
    ));
    p.meta = Some(meta);
    let done = client.call_tool(p).await.unwrap();
    assert_eq!(done.is_error, Some(false), "{done:?}");
    let id = done.meta.as_ref().unwrap().0["tai/action_id"].clone();
    let end = Instant::now() + Duration::from_secs(10);
    let heard = loop {
        let heard = progress.0.lock().unwrap().clone();
        if heard.len() >= 2 || Instant::now() > end {
            break heard;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let id = id.as_str().unwrap();
    assert_eq!(
        heard,
        [format!("started {id}"), format!("{id} executed")],
        "{heard:?}"
    );

    // In the background: answered `started` with the action's id.
    let mut p = mcp::params("slow_call", json!({}), None);
    let mut meta = RequestMetaObject::default();
    meta.insert("tai/background".into(), json!(true));
    p.meta = Some(meta);
    let started = client.call_tool(p).await.unwrap();
    let body = mcp::structured(&started);
    assert_eq!(body["decision"], "started", "{body}");
    assert!(body["action_id"].as_str().unwrap().starts_with("act_"));
    assert_eq!(
        body["started"].as_array().unwrap().last().unwrap()["event_type"],
        "action_started"
    );
}
