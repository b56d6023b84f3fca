//! The gates' record on an executed call's receipt, as HTTP and MCP clients get it back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use crate::common::{ACME, tenant};
use crate::http::{Server, onboard, post, state_dir};
use crate::mcp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executed_receipts_say_what_each_gate_passed_on_over_http_and_mcp() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let body = json!({
        "tool": "ac_rollback_status",
        "arguments": { "deployment": "checkout-api" },
        "principal": "serviceAccount:agent@acme.iam",
    });
    let r = post(&s, Some(ACME), "/v1/tenants/acme/calls", &body).await;
    assert_eq!(r.body["decision"], "executed", "{}", r.body);
    let gates = &r.body["receipts"][0]["metadata"]["gates"];
    assert_eq!(gates["entitlement"]["sku"], "rollback-guard-professional");
    assert_eq!(gates["iam"]["principal"], "serviceAccount:agent@acme.iam");
    assert_eq!(gates["iam"]["roles"], json!(["read_deployment"]));
    assert_eq!(gates["iam"]["via"], "plan");
    assert_eq!(gates["preconditions"], json!([]));

    let m = mcp::serve().await;
    mcp::entitle(&m.ws, "acme", "rollback-guard-base").await;
    let client = mcp::stateless(&m.url, ACME).await;
    mcp::executed(&client, "ac_receipt_verify", json!({})).await;
    let receipts = m.ws.ledger().read(&tenant("acme")).unwrap();
    let meta = receipts.last().unwrap().body.metadata.to_value();
    assert_eq!(meta["gates"]["entitlement"]["sku"], "rollback-guard-base");
    assert_eq!(meta["gates"]["iam"]["roles"], json!(["read_deployment"]));
    assert!(meta["gates"]["iam"].get("principal").is_none(), "{meta}");
}
