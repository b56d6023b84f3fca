//! Exactly-once through the CLI: a redelivered entitlement event (same `event_id`) and a
//! retried call (same `--idempotency-key`) are answered with the first outcome and change
//! nothing. Every `tai` run is a new process, so each repeat here is also after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::Run;

use crate::common::tai_state as tai;

/// The event as a file for `tai event --file`.
fn event_file(dir: &Path, name: &str, event: &Value) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, event.to_string()).unwrap();
    path
}

fn send(state: &Path, file: &Path) -> Run {
    let file = file.to_str().unwrap();
    tai(state, &["event", "--file", file, "--format", "json"])
}

fn ledger_lines(state: &Path) -> usize {
    fs::read_to_string(state.join("ledger/acme.jsonl"))
        .unwrap()
        .lines()
        .count()
}

fn expiry(state: &Path) -> Value {
    tai(state, &["state", "--tenant", "acme", "--format", "json"])
        .ok()
        .json()["entitlement"]["expiry"]
        .clone()
}

#[test]
fn a_redelivered_event_is_answered_with_its_first_outcome_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let base = json!({ "tenant_id": "acme", "sku_id": "rollback-guard-base" });
    let with = |kind: &str, id: &str| {
        let mut e = base.clone();
        e["event_type"] = json!(kind);
        e["event_id"] = json!(id);
        e
    };
    let activation = event_file(dir.path(), "a", &with("entitlement.activated", "evt-1"));
    send(&state, &activation).ok();
    let renewal = event_file(dir.path(), "r", &with("entitlement.renewed", "evt-2"));
    let first = send(&state, &renewal).ok().json();
    assert_eq!(first["accepted"], true);
    let (renewed_at, lines) = (expiry(&state), ledger_lines(&state));

    let again = send(&state, &renewal).ok().json();
    assert_eq!(again["accepted"], true);
    assert_eq!(again["repeat_of"], first["receipts"][0]["seq"], "{again}");
    assert_eq!(again["receipts"], json!([]));
    assert_eq!(expiry(&state), renewed_at, "the renewal was applied twice");
    assert_eq!(ledger_lines(&state), lines);
    // The activation's id too, after later events: still the first outcome.
    let again = send(&state, &activation).ok().json();
    assert_eq!(again["repeat_of"], 0, "{again}");

    // A refused event's redelivery is refused the same way, with no new receipt.
    let mut bad = with("entitlement.plan_changed", "evt-3");
    bad["sku_id"] = json!("no-such-sku");
    let bad = event_file(dir.path(), "b", &bad);
    let refused = send(&state, &bad).exits(3).json();
    let lines = ledger_lines(&state);
    let again = send(&state, &bad).exits(3).json();
    assert_eq!(again["refusal"], refused["refusal"], "{again}");
    assert_eq!(again["repeat_of"], refused["receipts"][0]["seq"]);
    assert_eq!(ledger_lines(&state), lines);
    // An id given to another event is not a redelivery: refused, nothing applied or
    // recorded (answering with the first outcome would report the new plan applied). The
    // same event with its fields in another order is a redelivery.
    let mut other = with("entitlement.renewed", "evt-2");
    other["expiry"] = json!("2030-01-01T00:00:00Z");
    let reused = send(&state, &event_file(dir.path(), "o", &other))
        .exits(3)
        .json();
    assert_eq!(reused["accepted"], false, "{reused}");
    assert_eq!(reused["refusal"]["code"], "event_id_reused", "{reused}");
    assert_eq!(reused["repeat_of"], first["receipts"][0]["seq"]);
    assert_eq!(reused["receipts"], json!([]));
    assert!(
        reused["refusal"]["message"]
            .as_str()
            .unwrap()
            .contains("event id `evt-2` was given to another `entitlement.renewed` event"),
        "{reused}"
    );
    assert_eq!(ledger_lines(&state), lines);
    assert_eq!(expiry(&state), renewed_at);
    let reordered = r#"{"event_id":"evt-2","sku_id":"rollback-guard-base","event_type":"entitlement.renewed","tenant_id":"acme"}"#;
    let path = dir.path().join("reordered.json");
    fs::write(&path, reordered).unwrap();
    let again = send(&state, &path).ok().json();
    assert_eq!(again["repeat_of"], first["receipts"][0]["seq"], "{again}");
    tai(&state, &["receipts", "verify", "--tenant", "acme"]).ok();
}

#[test]
fn a_retried_call_with_the_same_key_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let call_as = |key: &str, format: &str| {
        tai(
            &state,
            &[
                "call",
                "ac_receipt_verify",
                "--tenant",
                "acme",
                "--idempotency-key",
                key,
                "--format",
                format,
            ],
        )
    };
    let call = |key: &str| call_as(key, "json");
    let activation = json!({
        "event_type": "entitlement.activated",
        "tenant_id": "acme",
        "sku_id": "rollback-guard-base",
    });
    send(&state, &event_file(dir.path(), "a", &activation)).ok();
    // Refused while booting; the retry after the boot is still that refusal.
    let refused = call("k-0").exits(3).json();
    assert_eq!(refused["reason"], "governor_not_ready");
    tai(&state, &["signal", "--tenant", "acme"]).ok();
    let again = call("k-0").exits(3).json();
    assert_eq!(again["reason"], "governor_not_ready");
    assert_eq!(again["message"], refused["message"]);
    assert_eq!(again["repeat_of"], refused["receipts"][0]["seq"]);

    let executed = call("k-1").ok().json();
    assert_eq!(executed["decision"], "executed");
    let lines = ledger_lines(&state);
    let again = call("k-1").ok().json();
    assert_eq!(again["decision"], "executed");
    assert_eq!(again["result"], executed["result"]);
    assert_eq!(
        again["repeat_of"], executed["receipts"][0]["seq"],
        "{again}"
    );
    assert_eq!(again["receipts"], json!([]));
    assert_eq!(ledger_lines(&state), lines, "the retry ran the call again");
    call_as("k-1", "human")
        .ok()
        .has("already decided: recorded at seq");
    // A new key is a new call.
    let other = call("k-2").ok().json();
    assert!(other.get("repeat_of").is_none());
    assert_eq!(ledger_lines(&state), lines + 1);
    // A key reused for another request (here other arguments) is refused: it is not a
    // retry, and answering with the first outcome would say the new request ran.
    let reused = tai(
        &state,
        &[
            "call",
            "ac_receipt_verify",
            "--tenant",
            "acme",
            "--arg",
            "seq=0",
            "--idempotency-key",
            "k-1",
        ],
    );
    reused
        .exits(3)
        .has("idempotency_key_reused")
        .has("idempotency key `k-1` was used for another request")
        .lacks("already decided");
    assert_eq!(ledger_lines(&state), lines + 1);
    // A key is bounded: a usage error, nothing run.
    call_as(&"k".repeat(256), "json")
        .exits(2)
        .errs("1-255 printable ASCII characters without spaces");
    assert_eq!(ledger_lines(&state), lines + 1);
}
