//! The workspace commands on a PostgreSQL ledger (`--ledger` / `TAI_LEDGER`), and
//! `tai ledger migrate` from a state directory. Against the server `TAI_TEST_POSTGRES`
//! names; without it each test says why and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::common::{Run, tai, test_database};

/// `tai --state STATE ARGS` with `TAI_LEDGER=url` and a fixed clock.
fn on(url: &str, state: &Path, args: &[&str]) -> Run {
    tai()
        .env("TAI_LEDGER", url)
        .arg("--state")
        .arg(state)
        .args(["--now", "2026-03-01T00:00:00Z"])
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn workspace_commands_and_verification_on_a_database() {
    let Some(url) = test_database("cli_workspace") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    on(
        &url,
        &state,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .ok()
    .has("accepted");
    on(&url, &state, &["signal", "--tenant", "acme"]).ok();
    on(
        &url,
        &state,
        &["call", "ac_receipt_verify", "--tenant", "acme"],
    )
    .ok()
    .has("executed");
    // Another process (another state directory) sees the same tenant through the database.
    let other = dir.path().join("other");
    on(&url, &other, &["state", "--tenant", "acme"])
        .ok()
        .has("rollback-guard-base");
    let verified = on(&url, &other, &["receipts", "verify", "--all"]).ok();
    verified.has("acme: ok, 4 receipts");
    on(&url, &other, &["receipts", "show", "--tenant", "acme"])
        .ok()
        .has("4 of 4 receipts");
    on(
        &url,
        &other,
        &[
            "receipts", "export", "--tenant", "acme", "--format", "jsonl",
        ],
    )
    .ok()
    .has("\"seq\":3");
    // Nothing of the chain went to the state directory.
    assert!(
        !state.join("ledger").exists()
            || std::fs::read_dir(state.join("ledger"))
                .unwrap()
                .next()
                .is_none()
    );
    // A misspelt tenant is refused with the nearest one the database holds.
    on(&url, &other, &["state", "--tenant", "acmee"])
        .exits(2)
        .errs("did you mean `acme`?");
    // Written without a key, the chain has no checkpoint: said, not silently ignored.
    on(
        &url,
        &other,
        &["receipts", "checkpoint", "--tenant", "acme"],
    )
    .exits(2)
    .errs("has no signed checkpoint");
}

#[test]
fn a_bad_or_unreachable_database_is_a_usage_error_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let started = std::time::Instant::now();
    on("postgres://tai:hunter2@127.0.0.1:9/tai", &state, &["state"])
        .exits(2)
        .errs("cannot connect to the ledger database `postgres://tai:***@127.0.0.1:9/tai`");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    on("mysql://x", &state, &["state"])
        .exits(2)
        .errs("is not a PostgreSQL URL");
    let run = on("postgres://tai:hunter2@127.0.0.1:9/tai", &state, &["state"]);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn ledger_migrate_copies_verified_chains_once() {
    let Some(url) = test_database("cli_migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let at = |args: &[&str]| -> Run {
        tai()
            .arg("--state")
            .arg(&files)
            .args(["--now", "2026-03-01T00:00:00Z"])
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    for t in ["acme", "globex"] {
        at(&[
            "event",
            "activate",
            "--tenant",
            t,
            "--sku",
            "rollback-guard-base",
        ])
        .ok();
    }
    at(&["call", "ac_receipt_verify", "--tenant", "acme"]).exits(3);
    let before = at(&[
        "receipts", "export", "--tenant", "acme", "--format", "jsonl",
    ])
    .ok();

    let migrate = |to: &str| -> Run {
        tai()
            .args(["ledger", "migrate", "--from"])
            .arg(&files)
            .args(["--to", to])
            .output()
            .unwrap()
            .into()
    };
    let run = migrate(&url).ok();
    run.has("acme: 3 receipts copied and verified")
        .has("globex: 2 receipts copied and verified")
        .has("migrated 2 tenants, 5 receipts");
    // The very same receipts, byte for byte, now read from the database.
    let other = dir.path().join("other");
    let after = on(
        &url,
        &other,
        &[
            "receipts", "export", "--tenant", "acme", "--format", "jsonl",
        ],
    )
    .ok();
    assert_eq!(before.stdout, after.stdout);
    on(&url, &other, &["receipts", "verify", "--all"]).ok();

    // Never over a tenant the database already holds.
    migrate(&url)
        .exits(2)
        .errs("the database already holds tenant(s) `acme`, `globex`");
    // A broken chain is not copied.
    let empty = test_database("cli_migrate_broken").unwrap();
    let ledger = files.join("ledger").join("acme.jsonl");
    let text = std::fs::read_to_string(&ledger).unwrap();
    std::fs::write(
        &ledger,
        text.replacen("rollback-guard-base", "rollback-guard-basf", 1),
    )
    .unwrap();
    migrate(&empty).exits(1).errs("acme: BROKEN at seq 0");
}
