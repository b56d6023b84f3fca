//! The built-in receipt tools through the CLI: verify, look up and export the tenant's own
//! chain in the local workspace, with real counts and refusals for what the chain does not
//! hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;

use crate::common::{self, Run};

use crate::common::tai_at as tai;

fn call(state: &Path, tool: &str, args: &[&str]) -> Run {
    let mut all = vec!["call", tool, "--tenant", "acme", "--format", "json"];
    for a in args {
        all.extend(["--arg", a]);
    }
    tai(state, &all)
}

#[test]
fn verify_lookup_and_export_answer_from_the_tenants_own_chain() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-professional", &[]);
    // entitlement_activated, tool_surface_changed, signal_processed.

    let verified = call(&state, "ac_receipt_verify", &[]).ok().json();
    assert_eq!(verified["decision"], "executed", "{verified}");
    let result = &verified["result"];
    assert_eq!(result["valid"], true);
    assert_eq!(result["receipts_checked"], 3);
    assert_eq!(result["head_seq"], 2);
    // The call's own receipt comes after what it verified.
    assert_eq!(verified["receipts"][0]["seq"], 3);
    let receipts = tai(
        &state,
        &["receipts", "show", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json();
    let list = receipts["receipts"].as_array().unwrap();
    assert_eq!(result["head_hash"], list[2]["hash"]);

    let one = call(&state, "ac_receipt_lookup", &["seq=1"]).ok().json();
    assert_eq!(one["result"]["event_type"], "tool_surface_changed");
    assert_eq!(one["result"]["hash"], list[1]["hash"]);
    let id = list[0]["id"].as_str().unwrap();
    let by_id = call(&state, "ac_receipt_lookup", &[&format!("id={id}")])
        .ok()
        .json();
    assert_eq!(by_id["result"]["seq"], 0);

    let missing = call(&state, "ac_receipt_lookup", &["seq=99"])
        .exits(3)
        .json();
    assert_eq!(missing["decision"], "refused");
    assert_eq!(missing["gate"], "preconditions");
    assert_eq!(missing["reason"], "receipt_not_found");
    assert_eq!(
        missing["message"],
        "tenant `acme` has no receipt with seq 99"
    );
    assert_eq!(missing["state"], "stable", "a lookup miss changes nothing");

    let export = call(
        &state,
        "ac_audit_trail_export",
        &["event_types=[\"action_executed\"]"],
    )
    .ok()
    .json();
    let result = &export["result"];
    assert_eq!(result["count"], 3, "{export}");
    assert_eq!(result["truncated"], false);
    let lines: Vec<Value> = result["jsonl"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 4, 5]
    );
    // The export's receipt keeps the digest of what it exported, not the lines.
    let recorded = &export["receipts"][0]["metadata"]["result"];
    assert_eq!(recorded["sha256"], result["sha256"]);
    assert!(recorded.get("jsonl").is_none(), "{recorded}");

    let human = tai(&state, &["call", "ac_receipt_verify", "--tenant", "acme"]).ok();
    human.has("executed").has("\"receipts_checked\": 8");
    tai(&state, &["receipts", "verify", "--tenant", "acme"]).ok();
}
