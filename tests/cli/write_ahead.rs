//! Write-ahead actions through the CLI: a `tai call` killed while its command runs leaves an
//! `action_started` receipt with no outcome, and the next writer records the action as
//! interrupted and the governor intervenes.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Run};

/// The slow catalog with acme entitled to it and booted: `(started, release)`.
fn setup(root: &Path) -> (PathBuf, PathBuf) {
    let (_catalog, started, release) = common::slow_catalog(root);
    tai(
        root,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "slow-plan",
        ],
    )
    .ok();
    tai(root, &["signal", "--tenant", "acme"]).ok();
    (started, release)
}

/// `tai call slow_call` for acme with idempotency key `k-1`, and `extra` arguments.
fn slow_call(root: &Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec![
        "call",
        "slow_call",
        "--tenant",
        "acme",
        "--idempotency-key",
        "k-1",
    ];
    args.extend_from_slice(extra);
    tai_cmd(root, &args)
}

fn tai_cmd(root: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = common::tai();
    cmd.current_dir(root)
        .args(["--state", "state", "--catalog", "catalog"])
        .args(args);
    cmd
}

fn tai(root: &Path, args: &[&str]) -> Run {
    tai_cmd(root, args).output().unwrap().into()
}

fn state(root: &Path) -> Value {
    tai(root, &["state", "--tenant", "acme", "--format", "json"])
        .ok()
        .json()
}

fn receipts(root: &Path) -> Vec<Value> {
    let out = tai(
        root,
        &["receipts", "export", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json();
    out.as_array()
        .cloned()
        .or_else(|| out["receipts"].as_array().cloned())
        .unwrap()
}

fn wait_for(path: &Path) {
    let end = Instant::now() + common::DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < end, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_call_leaves_its_action_interrupted_for_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (started, release) = setup(root);
    let mut call = slow_call(root, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&started);

    // While the command runs, reading answers from what is on disk: started, no outcome.
    let running = state(root);
    assert_eq!(running["state"], "stable", "{running}");
    assert_eq!(running["running"]["tool"], "slow_call", "{running}");
    let last = receipts(root).last().cloned().unwrap();
    assert_eq!(last["event_type"], "action_started", "{last}");

    call.kill().unwrap();
    call.wait().unwrap();
    std::fs::write(&release, "").unwrap();

    // The next writer records the interruption before anything else.
    let signal = tai(root, &["signal", "--tenant", "acme", "--format", "json"]).ok();
    assert_eq!(
        signal.json()["event"],
        "signal_postponed",
        "{}",
        signal.stdout
    );
    let after = state(root);
    assert_eq!(after["state"], "intervening", "{after}");
    assert_eq!(
        after["in_flight"]["reason"], "action_interrupted",
        "{after}"
    );
    assert!(after.get("running").is_none(), "{after}");
    let all = receipts(root);
    let interrupted = &all[last["seq"].as_u64().unwrap() as usize + 1];
    assert_eq!(
        interrupted["event_type"], "action_interrupted",
        "{interrupted}"
    );
    assert_eq!(interrupted["metadata"]["started_seq"], last["seq"]);
    assert_eq!(interrupted["metadata"]["idempotency_key"], "k-1");
    tai(root, &["receipts", "verify", "--tenant", "acme"]).ok();

    // A retry with the same key does not run the program again.
    std::fs::remove_file(&started).unwrap();
    let retried: Run = slow_call(root, &["--format", "json"])
        .output()
        .unwrap()
        .into();
    let answer = retried.json();
    assert_eq!(answer["reason"], "action_interrupted", "{answer}");
    assert_eq!(answer["repeat_of"], interrupted["seq"], "{answer}");
    assert!(!started.exists(), "the retry ran the program");
}
