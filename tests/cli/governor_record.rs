//! The governor's record in `tai state`: calls, refusals and signals counted, when it was
//! created and last changed state, rebuilt from the ledger by every invocation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{self, tai_at as tai};

#[test]
fn tai_state_shows_the_counters_and_times_rebuilt_from_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-base", &[]);
    let call = |tool: &str| {
        common::tai()
            .arg("--state")
            .arg(&state)
            .args([
                "--now",
                "2026-03-02T00:00:00Z",
                "call",
                tool,
                "--tenant",
                "acme",
            ])
            .output()
            .unwrap()
    };
    assert!(call("ac_receipt_verify").status.success());
    assert_eq!(call("ac_audit_trail_export").status.code(), Some(3));
    assert_eq!(call("ac_no_such_tool").status.code(), Some(4));

    let json = tai(&state, &["state", "--tenant", "acme", "--format", "json"])
        .ok()
        .json();
    let g = &json["governor"];
    assert_eq!(g["calls"], 3, "{json}");
    assert_eq!(g["refusals"], 2);
    assert_eq!(g["signals_processed"], 1);
    assert_eq!(g["receipts_written"], json["receipts"]);
    assert_eq!(g["created_at"], "2026-03-01T00:00:00.000Z");
    // boot -> stable, at the signal.
    assert_eq!(g["last_transition_at"], "2026-03-01T00:00:00.000Z");

    tai(&state, &["state", "--tenant", "acme"])
        .ok()
        .has("counted     3 calls, 2 refusals, 1 signal processed")
        .has("since       2026-03-01T00:00:00.000Z, last transition 2026-03-01T00:00:00.000Z");
}
