//! `tai call --timeout`: a call's own wall-clock limit tightens the action's, never loosens
//! it, and the receipt says which limit was in force and where it came from.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::common::{self, Run};

use crate::common::tai_at as tai;

/// The rollback as JSON, with `--timeout` when `timeout` is not empty.
fn rollback(state: &Path, timeout: &str) -> Run {
    let mut args = common::ROLLBACK_CALL.to_vec();
    args.extend(["--format", "json"]);
    if !timeout.is_empty() {
        args.extend(["--timeout", timeout]);
    }
    tai(state, &args)
}

#[test]
fn a_call_timeout_tightens_the_actions_and_the_receipt_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-professional", &[]);

    // The rollback takes 48 s (simulated); 10 s is not enough.
    let out = rollback(&state, "10s").exits(5).json();
    assert_eq!(out["reason"], "timeout", "{out}");
    assert_eq!(out["state"], "intervening");
    let meta = &out["receipts"][0]["metadata"];
    assert_eq!(meta["limits"]["timeout_ms"], 10_000);
    assert_eq!(meta["call_timeout_ms"], 10_000);
    assert_eq!(meta["timeout_from"], "call");
    assert!(
        out["message"].as_str().unwrap().contains("10000 ms"),
        "{out}"
    );
    tai(&state, &["action", "complete", "--tenant", "acme"]).ok();

    // An hour is looser than the pack's 5 minutes, which stand.
    let out = rollback(&state, "1h").ok().json();
    assert_eq!(out["decision"], "executed", "{out}");
    let meta = &out["receipts"][0]["metadata"];
    assert_eq!(meta["limits"]["timeout_ms"], 300_000);
    assert_eq!(meta["timeout_from"], "pack");

    // Without --timeout, nothing is added to the receipt.
    let plain = rollback(&state, "").ok().json();
    assert!(
        plain["receipts"][0]["metadata"]
            .get("timeout_from")
            .is_none()
    );

    rollback(&state, "0s")
        .exits(2)
        .errs("a timeout must be at least 1ms");
    rollback(&state, "soon").exits(2).errs("--timeout");
}
