//! What an executed call's receipt says each gate checked and passed on: the plan and its
//! expiry (gate 1), the roles and who called (gate 2), each precondition and its value
//! (gate 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use crate::common;

use crate::common::tai_at as tai;

#[test]
fn an_executed_receipt_records_what_each_gate_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(
        &state,
        "rollback-guard-professional",
        &["rollback_policy_approved=true"],
    );
    let out = tai(
        &state,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--format",
            "json",
            "--principal",
            "user:alice@acme.com",
            "--arg",
            "deployment=checkout-api",
            "--context",
            "deployment_stable=true",
            "--context",
            "rollback_target_version=2.4.0",
        ],
    )
    .ok()
    .json();
    assert_eq!(out["decision"], "executed", "{out}");
    let gates = &out["receipts"][0]["metadata"]["gates"];
    assert_eq!(
        gates,
        &json!({
            "entitlement": { "sku": "rollback-guard-professional", "expiry": "2026-03-31T00:00:00.000Z" },
            "iam": {
                "principal": "user:alice@acme.com",
                "roles": ["read_deployment", "write_rollback"],
                "via": "plan",
            },
            "preconditions": [
                { "key": "deployment_stable", "value": true },
                { "key": "rollback_target_version", "value": "2.4.0" },
                { "key": "rollback_policy_approved", "value": true },
            ],
        })
    );
    // A refusal records the gate that refused, not what passed.
    let refused = tai(
        &state,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--format",
            "json",
            "--arg",
            "deployment=checkout-api",
        ],
    )
    .exits(3)
    .json();
    assert!(refused["receipts"][0]["metadata"].get("gates").is_none());
}
