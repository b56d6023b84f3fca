//! Declared signals and the Andon cord over HTTP: an undeclared signal is refused with a
//! suggestion, a critical Andon stops its pack's calls (and shows on the tenant and its tool
//! list) until `POST /v1/tenants/{t}/andon/clear`, and a restart rebuilds it from the ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{ACME, GLOBEX};
use crate::http::{Server, call_tool, error_code, get, onboard, post, state_dir};

async fn signal(s: &Server, body: Value) -> Value {
    let r = post(s, Some(ACME), "/v1/tenants/acme/signals", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_andon_stops_its_pack_over_http_until_cleared_and_survives_a_restart() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;

    // An undeclared name: refused, with the one suggestion.
    let typo = signal(&s, json!({ "name": "rollback_faild" })).await;
    assert_eq!(typo["event"], "signal_refused");
    assert_eq!(typo["reason"], "unknown_signal");
    let message = typo["message"].as_str().unwrap();
    assert!(
        message.contains("did you mean `rollback_failed`?"),
        "{message}"
    );

    let raised = signal(&s, json!({ "name": "rollback_failed" })).await;
    assert_eq!(raised["event"], "andon_raised", "{raised}");
    let raised_seq = raised["receipts"][0]["seq"].clone();
    assert_eq!(raised["receipts"][0]["metadata"]["severity"], "critical");

    let refused = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(refused.body["decision"], "refused", "{}", refused.body);
    assert_eq!(refused.body["reason"], "andon_stopped");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("Andon `rollback_failed`"),
        "{}",
        refused.body
    );
    // Other packs keep running.
    let ok = call_tool(&s, ACME, "acme", "ac_receipt_verify").await;
    assert_eq!(ok.body["decision"], "executed", "{}", ok.body);

    let tenant = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(tenant.body["andon"][0]["signal"], "rollback_failed");
    assert_eq!(tenant.body["andon"][0]["packs"], json!(["rollback_guard"]));
    assert_eq!(tenant.body["andon"][0]["seq"], raised_seq);
    let tools = get(&s, Some(ACME), "/v1/tenants/acme/tools").await;
    assert_eq!(
        tools.body["stopped"]["ac_rollback_orchestrator"],
        "rollback_failed"
    );
    assert!(tools.body["stopped"].get("ac_receipt_verify").is_none());

    // A restart rebuilds the stop from the ledger.
    assert_eq!(s.stop().await.code(), Some(0));
    let s = Server::start(&state, &[]);
    let shown = get(&s, Some(ACME), "/v1/tenants/acme/andon").await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(shown.body["andon"][0]["seq"], raised_seq);
    let still = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(still.body["reason"], "andon_stopped", "{}", still.body);

    // Another tenant cannot clear it.
    let foreign = post(
        &s,
        Some(GLOBEX),
        "/v1/tenants/acme/andon/clear",
        &json!({ "signal": "rollback_failed" }),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);

    let cleared = post(
        &s,
        Some(ACME),
        "/v1/tenants/acme/andon/clear",
        &json!({
            "signal": "rollback_failed",
            "principal": "user:oncall@acme.com",
            "note": "rolled forward"
        }),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["andon"], json!([]));
    let receipt = &cleared.body["receipts"][0];
    assert_eq!(receipt["event_type"], "andon_cleared");
    assert_eq!(receipt["metadata"]["raised_seq"], raised_seq);
    assert_eq!(receipt["metadata"]["note"], "rolled forward");
    assert_eq!(receipt["metadata"]["principal"], "user:oncall@acme.com");

    let again = post(
        &s,
        Some(ACME),
        "/v1/tenants/acme/andon/clear",
        &json!({ "signal": "rollback_failed" }),
    )
    .await;
    assert_eq!(error_code(&again, StatusCode::CONFLICT), "no_such_andon");

    let runs = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(runs.body["decision"], "executed", "{}", runs.body);
    let tenant = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert!(tenant.body.get("andon").is_none(), "{}", tenant.body);
}
