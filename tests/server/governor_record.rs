//! The governor's record over HTTP (`GET /v1/tenants/{t}`, the same after a restart) and MCP
//! (`_meta` `tai/governor` of every call result).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use crate::common::ACME;
use crate::http::{Server, call_tool, get, onboard, state_dir};
use crate::mcp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_is_served_and_survives_a_restart() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    for tool in ["ac_rollback_status", "ac_storm_status", "no_such_tool"] {
        call_tool(&s, ACME, "acme", tool).await;
    }
    let before = get(&s, Some(ACME), "/v1/tenants/acme").await;
    let g = &before.body["governor"];
    assert_eq!(g["calls"], 3, "{}", before.body);
    assert_eq!(g["refusals"], 1);
    assert_eq!(g["signals_processed"], 1);
    assert_eq!(g["receipts_written"], before.body["receipts"]);
    assert!(g["created_at"].is_string());
    assert!(g["last_transition_at"].is_string());

    assert_eq!(s.stop().await.code(), Some(0));
    let s = Server::start(&state, &[]);
    let after = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(after.body["governor"], before.body["governor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mcp_call_result_carries_the_record() {
    let s = mcp::serve().await;
    mcp::entitle(&s.ws, "acme", "rollback-guard-base").await;
    let client = mcp::stateless(&s.url, ACME).await;
    let first = mcp::call(&client, "ac_receipt_verify", json!({}))
        .await
        .unwrap();
    let refused = mcp::call(&client, "ac_audit_trail_export", json!({}))
        .await
        .unwrap();
    let record =
        |r: &rmcp::model::CallToolResult| r.meta.as_ref().unwrap().0["tai/governor"].clone();
    assert_eq!(record(&first)["calls"], 1);
    assert_eq!(record(&first)["state"], "stable");
    let after = record(&refused);
    assert_eq!(after["calls"], 2, "{after}");
    assert_eq!(after["refusals"], 1);
    assert_eq!(after["signals_processed"], 1);
}
