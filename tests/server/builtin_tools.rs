//! The built-in receipt tools as clients see them: over HTTP against `tai serve`, whose
//! answers come from the ledger as it stood before the call, and over MCP, where a lookup
//! the chain cannot answer is a tool error, not a protocol one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{ACME, ADMIN};
use crate::http::{Server, all_receipts, onboard, post, state_dir, verify_ok};
use crate::mcp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtins_over_http_read_every_receipt_decided_before_them() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let calls = "/v1/tenants/acme/calls";
    let call = |tool: &str, arguments: Value| json!({ "tool": tool, "arguments": arguments });

    // Many decisions in a row, each answered once durable; the built-in sees them all.
    for _ in 0..5 {
        let r = post(&s, Some(ACME), calls, &call("ac_storm_status", json!({}))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let before = all_receipts(&s, ACME, "acme").await;
    let verified = post(&s, Some(ACME), calls, &call("ac_receipt_verify", json!({}))).await;
    assert_eq!(verified.body["decision"], "executed", "{}", verified.body);
    let result = &verified.body["result"];
    assert_eq!(result["valid"], true);
    assert_eq!(result["receipts_checked"], before.len());
    assert_eq!(result["head_hash"], before.last().unwrap()["hash"]);

    let lookup = call("ac_receipt_lookup", json!({ "seq": 2 }));
    let one = post(&s, Some(ACME), calls, &lookup).await;
    assert_eq!(
        one.body["result"]["hash"], before[2]["hash"],
        "{}",
        one.body
    );
    let missing = call("ac_receipt_lookup", json!({ "id": "rcpt_nope" }));
    let missing = post(&s, Some(ACME), calls, &missing).await;
    assert_eq!(missing.body["decision"], "refused", "{}", missing.body);
    assert_eq!(missing.body["reason"], "receipt_not_found");

    let export = call(
        "ac_audit_trail_export",
        json!({ "since": "2020-01-01T00:00:00Z" }),
    );
    let export = post(&s, Some(ACME), calls, &export).await;
    let count = before.len() + 3;
    assert_eq!(export.body["result"]["count"], count, "{}", export.body);
    let jsonl = export.body["result"]["jsonl"].as_str().unwrap();
    assert_eq!(jsonl.lines().count(), count);
    verify_ok(&s, "acme").await;
    let _ = ADMIN;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtins_over_mcp_answer_from_the_chain_and_refuse_what_it_lacks() {
    let s = mcp::serve().await;
    mcp::entitle(&s.ws, "acme", "rollback-guard-base").await;
    let client = mcp::stateless(&s.url, ACME).await;
    // entitlement_activated, tool_surface_changed, signal_processed.
    let verified = mcp::executed(&client, "ac_receipt_verify", json!({ "from_seq": 1 })).await;
    assert_eq!(verified["receipts_checked"], 2, "{verified}");
    assert_eq!(verified["valid"], true);

    let one = mcp::executed(&client, "ac_receipt_lookup", json!({ "seq": 3 })).await;
    assert_eq!(one["event_type"], "action_executed", "{one}");
    let missing = mcp::call(&client, "ac_receipt_lookup", json!({ "seq": 40 }))
        .await
        .unwrap();
    assert_eq!(missing.is_error, Some(true));
    let body = mcp::structured(&missing);
    assert_eq!(body["reason"], "receipt_not_found");
    assert_eq!(body["message"], "tenant `acme` has no receipt with seq 40");
}
