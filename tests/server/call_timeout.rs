//! A call's own timeout over HTTP (`timeout_ms` in the body) and MCP (`_meta`
//! `tai/timeout_ms`): it tightens the action's limit, never loosens it, and a value that is
//! not a positive whole number is a bad request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use rmcp::model::RequestMetaObject;
use serde_json::{Value, json};

use crate::common::ACME;
use crate::http::{Server, error_code, onboard, post, state_dir};
use crate::mcp;

fn rollback(timeout: Value) -> Value {
    json!({
        "tool": "ac_rollback_orchestrator",
        "arguments": { "deployment": "checkout-api" },
        "context": {
            "deployment_stable": true,
            "rollback_target_version": "2.4.0",
            "rollback_policy_approved": true,
        },
        "timeout_ms": timeout,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_timeout_over_http_tightens_and_is_recorded() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let calls = "/v1/tenants/acme/calls";

    let bad = post(&s, Some(ACME), calls, &rollback(json!(0))).await;
    assert_eq!(error_code(&bad, StatusCode::BAD_REQUEST), "invalid_body");

    let loose = post(&s, Some(ACME), calls, &rollback(json!(3_600_000))).await;
    assert_eq!(loose.body["decision"], "executed", "{}", loose.body);
    let meta = &loose.body["receipts"][0]["metadata"];
    assert_eq!(meta["limits"]["timeout_ms"], 300_000);
    assert_eq!(meta["timeout_from"], "pack");

    let tight = post(&s, Some(ACME), calls, &rollback(json!(10_000))).await;
    assert_eq!(tight.body["reason"], "timeout", "{}", tight.body);
    let meta = &tight.body["receipts"][0]["metadata"];
    assert_eq!(meta["limits"]["timeout_ms"], 10_000);
    assert_eq!(meta["call_timeout_ms"], 10_000);
    assert_eq!(meta["timeout_from"], "call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_timeout_travels_in_mcp_meta() {
    let s = mcp::serve().await;
    mcp::entitle(&s.ws, "acme", "rollback-guard-professional").await;
    let client = mcp::stateless(&s.url, ACME).await;
    let with_timeout = |timeout: Value| {
        let body = rollback(Value::Null);
        let mut p = mcp::params("ac_rollback_orchestrator", body["arguments"].clone(), None);
        let mut meta = RequestMetaObject::default();
        meta.insert("tai/context".into(), body["context"].clone());
        meta.insert("tai/timeout_ms".into(), timeout);
        p.meta = Some(meta);
        p
    };
    mcp::assert_invalid_params(client.call_tool(with_timeout(json!(0))).await);
    mcp::assert_invalid_params(client.call_tool(with_timeout(json!("2s"))).await);

    let timed_out = client.call_tool(with_timeout(json!(10_000))).await.unwrap();
    assert_eq!(timed_out.is_error, Some(true));
    let body = mcp::structured(&timed_out);
    assert_eq!(body["reason"], "timeout", "{body}");
    let receipts = s.ws.ledger().read(&crate::common::tenant("acme")).unwrap();
    let meta = receipts.last().unwrap().body.metadata.to_value();
    assert_eq!(meta["timeout_from"], "call");
    assert_eq!(meta["limits"]["timeout_ms"], 10_000);
}
