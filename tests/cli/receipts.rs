#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `tai receipts verify|show|export` on ledgers written by the library into a temporary
//! state directory.

use std::fs;
use std::path::Path;
use std::process::Output;

use tai::receipts::{FileLedger, Ledger, LedgerDir, Receipt, sample_chain};

use crate::common::{self, stderr, stdout, tenant};

/// A state directory with `acme` (20 receipts) and `beta` (5 receipts).
fn state() -> (tempfile::TempDir, Vec<Receipt>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open(dir.path()).unwrap();
    let acme = sample_chain(&tenant("acme"), 20);
    for batch in acme.chunks(8) {
        ledger.append(&tenant("acme"), batch).unwrap();
    }
    ledger
        .append(&tenant("beta"), &sample_chain(&tenant("beta"), 5))
        .unwrap();
    (dir, acme)
}

fn tai(state: &Path, args: &[&str]) -> Output {
    common::tai()
        .arg("--state")
        .arg(state)
        .arg("receipts")
        .args(args)
        .output()
        .unwrap()
}

fn ledger_file(state: &Path, name: &str) -> std::path::PathBuf {
    LedgerDir::in_state(state).ledger_path(&tenant(name))
}

#[test]
fn verify_passes_on_intact_chains() {
    let (state, acme) = state();
    let out = tai(state.path(), &["verify", "--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("acme: ok, 20 receipts, head seq 19"),
        "{text}"
    );
    assert!(text.contains(&acme[19].hash[..12]));

    let out = tai(state.path(), &["verify", "--all", "--deep"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).lines().count(), 2);
}

#[test]
fn verify_names_the_first_bad_seq_of_a_modified_ledger() {
    let (state, _) = state();
    let path = ledger_file(state.path(), "acme");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[7] = lines[7].replacen(
        "\"deployment_id\":\"dep-00007\"",
        "\"deployment_id\":\"dep-99999\"",
        1,
    );
    fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = tai(state.path(), &["verify", "--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("acme: BROKEN at seq 7 (line 8): hash mismatch"),
        "{text}"
    );
    assert!(text.contains("7 receipts verified before the break"));

    // --all reports every tenant and still fails.
    let out = tai(state.path(), &["verify", "--all", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let tenants = &json["tenants"];
    assert_eq!(tenants[0]["tenant_id"], "acme");
    assert_eq!(tenants[0]["ok"], false);
    assert_eq!(tenants[0]["problem"]["seq"], 7);
    assert_eq!(tenants[0]["problem"]["kind"], "bad_hash");
    assert_eq!(tenants[1]["ok"], true);
}

#[test]
fn verify_catches_removed_reordered_and_truncated_receipts() {
    let (state, _) = state();
    let path = ledger_file(state.path(), "acme");
    let original = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let write = |lines: &[&str]| fs::write(&path, lines.join("\n") + "\n").unwrap();
    let verify = || {
        let out = tai(state.path(), &["verify", "--tenant", "acme"]);
        assert_eq!(out.status.code(), Some(1));
        stdout(&out)
    };

    let mut removed = lines.clone();
    removed.remove(3);
    write(&removed);
    assert!(verify().contains("seq 3 (line 4): found seq 4 where 3 belongs: 1 receipt removed"));

    let mut swapped = lines.clone();
    swapped.swap(10, 11);
    write(&swapped);
    assert!(verify().contains("seq 10 (line 11): found seq 11 where 10 belongs"));

    write(&lines[..17]);
    let text = verify();
    assert!(
        text.contains("seq 17: the ledger ends after 17 receipts but its head records 20"),
        "{text}"
    );
}

#[test]
fn unknown_tenant_is_a_usage_error_listing_known_tenants() {
    let (state, _) = state();
    let out = tai(state.path(), &["verify", "--tenant", "zeta"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no ledger for tenant `zeta` in"), "{err}");
    assert!(err.contains("known tenants: acme, beta"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let out = tai(empty.path(), &["verify", "--all"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no ledgers in"));

    let out = tai(state.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn show_prints_a_filtered_table() {
    let (state, acme) = state();
    let out = tai(state.path(), &["show", "--tenant", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for header in ["seq", "time", "state", "event", "reason", "hash"] {
        assert!(text.contains(header), "{text}");
    }
    assert!(text.contains("boot → stable"));
    assert!(text.contains("entitlement_activated"));
    assert!(text.contains(acme[5].short_hash()));
    assert!(text.trim_end().ends_with("20 of 20 receipts"));

    let out = tai(
        state.path(),
        &[
            "show",
            "--tenant",
            "acme",
            "--event",
            "action_refused",
            "--event",
            "action_timeout",
        ],
    );
    let text = stdout(&out);
    assert!(text.contains("insufficient_privilege") && text.contains("timeout"));
    assert!(!text.contains("action_executed"));
    assert!(text.trim_end().ends_with("9 of 20 receipts"), "{text}");

    let out = tai(
        state.path(),
        &[
            "show",
            "--tenant",
            "acme",
            "--from-seq",
            "3",
            "--to-seq",
            "5",
            "--format",
            "json",
        ],
    );
    let shown = shown_receipts(&out);
    assert_eq!(shown, acme[3..=5].to_vec());

    let since = acme[10].body.timestamp.to_string();
    let until = acme[12].body.timestamp.to_string();
    let out = tai(
        state.path(),
        &[
            "show", "--tenant", "acme", "--since", &since, "--until", &until, "--format", "json",
        ],
    );
    let shown = shown_receipts(&out);
    assert_eq!(shown, acme[10..12].to_vec());

    let out = tai(
        state.path(),
        &["show", "--tenant", "acme", "--event", "bogus"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("action_refused"));
}

/// The state with beta's seq 0 modified.
fn broken_beta() -> tempfile::TempDir {
    let (state, _) = state();
    let path = ledger_file(state.path(), "beta");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replacen("gov-beta", "gov-evil", 1);
    fs::write(&path, text).unwrap();
    state
}

#[test]
fn show_and_export_refuse_a_broken_chain_unless_allowed() {
    let state = broken_beta();
    for args in [
        &["show", "--tenant", "beta"][..],
        &["export", "--tenant", "beta", "--format", "jsonl"],
    ] {
        let out = tai(state.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(
            err.contains("error: the receipt chain of `beta` does not verify: seq 0"),
            "{err}"
        );
        assert!(err.contains("--allow-broken"), "{err}");
    }
    let out = tai(
        state.path(),
        &[
            "export",
            "--tenant",
            "beta",
            "--format",
            "json",
            "--allow-broken",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn show_warns_when_the_chain_does_not_verify() {
    let state = broken_beta();
    let out = tai(
        state.path(),
        &["show", "--tenant", "beta", "--allow-broken"],
    );
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("warning: the receipt chain of `beta` does not verify: seq 0"),
        "{err}"
    );
    assert!(stdout(&out).trim_end().ends_with("5 of 5 receipts"));
}

#[test]
fn export_writes_every_format() {
    let (state, acme) = state();
    let path = ledger_file(state.path(), "acme");

    // JSONL is the ledger itself.
    let out = tai(
        state.path(),
        &["export", "--tenant", "acme", "--format", "jsonl"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, fs::read(&path).unwrap());

    let out = tai(
        state.path(),
        &["export", "--tenant", "acme", "--format", "json"],
    );
    let back: Vec<Receipt> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, acme);

    let file = state.path().join("acme.csv");
    let out = tai(
        state.path(),
        &[
            "export",
            "--tenant",
            "acme",
            "--format",
            "csv",
            "--from-seq",
            "15",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote 5 receipts as csv"));
    let csv = fs::read_to_string(&file).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,id,timestamp,tenant_id,governor_id,state_from,state_to,event_type,reason,\
         metadata,catalog_hash,prev_hash,hash"
    );
    assert_eq!(lines.count(), 5);

    let out = tai(
        state.path(),
        &["export", "--tenant", "acme", "--format", "markdown"],
    );
    let md = stdout(&out);
    assert!(md.starts_with("| seq | time |"));
    assert_eq!(md.lines().count(), 22);

    let out = tai(
        state.path(),
        &["export", "--tenant", "acme", "--format", "xml"],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// The receipts of `tai receipts show --format json`: `{tenant_id, receipts, chain_length}`,
/// the shape of `GET /v1/tenants/{t}/receipts`.
fn shown_receipts(out: &std::process::Output) -> Vec<Receipt> {
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    serde_json::from_value(page["receipts"].clone()).unwrap()
}
