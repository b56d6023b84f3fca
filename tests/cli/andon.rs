//! Declared signals, the Andon cord and domain events through the CLI: `tai signal` refuses
//! an undeclared name with a suggestion, a critical Andon makes `tai call` refuse its pack
//! (exit 3) across processes (the stop is rebuilt from the ledger each time) until
//! `tai andon clear`, and `tai state` and `tai pack show` say so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::common::{self, Run};

use crate::common::tai_state as tai;

/// The rollback, as JSON.
fn rollback(state: &Path) -> Run {
    tai(
        state,
        &[common::ROLLBACK_CALL, &["--format", "json"]].concat(),
    )
}

#[test]
fn an_undeclared_signal_is_refused_and_a_critical_andon_stops_its_pack_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let activate = [
        "event",
        "activate",
        "--tenant",
        "acme",
        "--sku",
        "rollback-guard-professional",
    ];
    tai(&state, &activate).ok();
    tai(&state, &["signal", "--tenant", "acme"]).ok();

    // A typo: refused (exit 3) with the one suggestion; nothing changes.
    let typo = tai(
        &state,
        &["signal", "--tenant", "acme", "--name", "rollback_faild"],
    )
    .exits(3);
    typo.has("signal_refused: unknown_signal (governor stable)")
        .has("did you mean `rollback_failed`?");
    // A bare signal stays allowed, and so does a declared one.
    tai(&state, &["signal", "--tenant", "acme"]).ok();
    tai(
        &state,
        &["signal", "--tenant", "acme", "--name", "rollback_initiated"],
    )
    .ok()
    .has("signal_processed");

    let raised = tai(
        &state,
        &[
            "signal",
            "--tenant",
            "acme",
            "--name",
            "rollback_failed",
            "--format",
            "json",
        ],
    )
    .ok();
    let raised = raised.json();
    assert_eq!(raised["event"], "andon_raised");
    let seq = raised["receipts"][0]["seq"].as_u64().unwrap();

    // Each command is a new process: the stop is rebuilt from the ledger.
    let refused = rollback(&state).exits(3).json();
    assert_eq!(refused["reason"], "andon_stopped");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Andon `rollback_failed` was raised at 2026"),
        "{refused}"
    );
    assert_eq!(refused["receipts"][0]["metadata"]["andon_seq"], seq);
    // Another pack of the tenant still runs.
    tai(&state, &["call", "ac_receipt_verify", "--tenant", "acme"]).ok();

    tai(&state, &["state", "--tenant", "acme"])
        .ok()
        .has("stopped     Andon `rollback_failed` stops rollback_guard since")
        .has("tai andon clear --tenant acme rollback_failed");
    let json = tai(&state, &["state", "--tenant", "acme", "--format", "json"])
        .ok()
        .json();
    let view = if json.is_array() { &json[0] } else { &json };
    assert_eq!(view["andon"][0]["seq"], seq, "{json}");
    tai(&state, &["andon", "show", "--tenant", "acme"])
        .ok()
        .has(&format!("(seq {seq})"));

    tai(
        &state,
        &[
            "andon",
            "clear",
            "--tenant",
            "acme",
            "rollback_failed",
            "--principal",
            "user:oncall@acme.com",
            "--note",
            "rolled forward by hand",
        ],
    )
    .ok()
    .has("Andon `rollback_failed` cleared")
    .has("no Andon is stopping tenant `acme`")
    .has("andon_cleared");
    // Nothing left to clear: an error, and nothing is written.
    tai(
        &state,
        &["andon", "clear", "--tenant", "acme", "rollback_failed"],
    )
    .exits(2)
    .errs("no Andon `rollback_failed` is stopping tenant `acme`");

    // The rollback runs, and its receipt carries the pack's domain events.
    let ran = rollback(&state).ok().json();
    assert_eq!(ran["decision"], "executed");
    assert_eq!(
        ran["receipts"][0]["metadata"]["domain_events"],
        serde_json::json!(["rollback_initiated", "rollback_completed"])
    );
    let cleared = tai(
        &state,
        &[
            "receipts",
            "show",
            "--tenant",
            "acme",
            "--event",
            "andon_cleared",
            "--format",
            "json",
        ],
    )
    .ok()
    .json();
    let meta = &cleared["receipts"][0]["metadata"];
    assert_eq!(meta["note"], "rolled forward by hand", "{cleared}");
    assert_eq!(meta["principal"], "user:oncall@acme.com", "{cleared}");
    tai(&state, &["receipts", "verify", "--tenant", "acme"]).ok();
}

#[test]
fn pack_show_lists_andon_signals_and_what_each_action_emits() {
    common::tai()
        .args(["pack", "show", "rollback_guard"])
        .env("NO_COLOR", "1")
        .output()
        .map(Run::from)
        .unwrap()
        .ok()
        .has("rollback_failed (Andon critical)")
        .has("started → rollback_initiated")
        .has("timeout → rollback_timeout");
}
