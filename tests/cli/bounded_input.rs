//! Hostile input files for every loader (`tai test`, `tai simulate`, `tai event --file`,
//! and every other file a user names: marketplace notifications and records, keys,
//! checkpoints, proofs): FIFOs, `/dev/zero`, files over the size cap and deeply nested YAML are clear errors with
//! exit 2, quickly; expiries past year 9999 are recorded refusals with exit 3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Run};

/// Runs `cmd`, killing it (and failing) if it takes longer than `limit`.
fn within(mut cmd: Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {}",
                common::text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

fn tai(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = common::tai();
    cmd.args(["--state", "st", "--now", "2026-03-01T00:00:00Z"])
        .args(args)
        .current_dir(dir);
    cmd
}

/// The three ways a file reaches a loader, for a file at `path`.
fn loaders(path: &str) -> [Vec<&str>; 3] {
    [
        vec!["test", path],
        vec!["simulate", path],
        vec!["event", "--file", path],
    ]
}

/// Every other command that reads a file a user names, with that file at `path`. (The
/// files around it, `k.pub`, `n.json` and `p.json`, exist and are well formed.)
fn other_inputs(path: &str) -> [Vec<&str>; 6] {
    [
        vec!["event", "import", "--from", "aws", path],
        vec![
            "event",
            "import",
            "--from",
            "gcp",
            "--resources",
            path,
            "n.json",
        ],
        vec!["receipts", "verify-proof", path, "--public-key", "k.pub"],
        vec!["receipts", "verify-proof", "p.json", "--public-key", path],
        vec![
            "receipts",
            "verify",
            "--tenant",
            "acme",
            "--public-key",
            path,
        ],
        vec![
            "--signing-key",
            path,
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    ]
}

/// A directory where [`other_inputs`] can run: a key pair, a tenant, a notification, a
/// proof file.
fn other_inputs_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let run = within(
        tai(p, &["keys", "new", "--out", "k"]),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let args = [
        "event",
        "activate",
        "--tenant",
        "acme",
        "--sku",
        "rollback-guard-base",
    ];
    let run = within(tai(p, &args), Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(p.join("n.json"), "{}").unwrap();
    std::fs::write(p.join("p.json"), "{\"format\": \"x\"}").unwrap();
    d
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_not_read() {
    let d = tempfile::tempdir().unwrap();
    if !mkfifo(&d.path().join("fifo.yaml")) {
        return;
    }
    for path in ["fifo.yaml", "/dev/zero"] {
        for args in loaders(path) {
            let run = within(tai(d.path(), &args), Duration::from_secs(20));
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains("it is not a regular file"),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn every_named_file_is_bounded_like_the_loaders() {
    let d = other_inputs_dir();
    let fifo = mkfifo(&d.path().join("fifo.json"));
    let big = std::fs::File::create(d.path().join("big.json")).unwrap();
    big.set_len(11 * 1024 * 1024).unwrap();
    // Private, so a signing key's mode check passes and its reading is what is tested.
    for name in ["fifo.json", "big.json"] {
        let _ = std::fs::set_permissions(d.path().join(name), PermissionsExt::from_mode(0o600));
    }
    let mut cases = vec![("/dev/zero", "it is not a regular file")];
    if fifo {
        cases.push(("fifo.json", "it is not a regular file"));
    }
    cases.push(("big.json", "more than the 10 MiB limit"));
    for (path, says) in cases {
        for args in other_inputs(path) {
            let run = within(tai(d.path(), &args), Duration::from_secs(20));
            let all = format!("{}{}", run.stdout, run.stderr);
            assert_eq!(run.code, 2, "{args:?}: {all}");
            // `/dev/zero` is world-readable: as a signing key it is refused for that first.
            let refused = all.contains(says)
                || (path == "/dev/zero" && all.contains("readable by group or others"));
            assert!(refused, "{args:?}: {all}");
        }
    }
}

#[test]
fn files_over_the_cap_are_refused_unread() {
    let d = tempfile::tempdir().unwrap();
    let big = std::fs::File::create(d.path().join("big.yaml")).unwrap();
    big.set_len(11 * 1024 * 1024).unwrap();
    for args in loaders("big.yaml") {
        let run = within(tai(d.path(), &args), Duration::from_secs(20));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("more than the 10 MiB limit"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn deeply_nested_yaml_is_refused_quickly() {
    let d = tempfile::tempdir().unwrap();
    let deep = "[".repeat(80_000);
    // Plain text with a quote in it before the brackets once hid them from the pre-scan.
    for (name, text) in [
        ("deep.yaml", format!("name: x\nsteps: {deep}")),
        ("hidden.yaml", format!("name: a-\"b\nsteps: {deep}\"")),
        (
            "deep.json",
            format!("{{\"tenant_id\": \"acme\", \"x\": {deep}"),
        ),
    ] {
        std::fs::write(d.path().join(name), text).unwrap();
        for args in loaders(name) {
            let run = within(tai(d.path(), &args), Duration::from_secs(20));
            assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
            let all = format!("{}{}", run.stdout, run.stderr);
            assert!(all.contains("nest too deeply"), "{args:?}: {all}");
        }
    }
}

#[test]
fn an_expiry_past_year_9999_is_a_recorded_refusal() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("late.json"),
        r#"{"event_type": "entitlement.activated", "tenant_id": "acme",
            "sku_id": "rollback-guard-base", "expiry": 253402300800}"#,
    )
    .unwrap();
    let by_file = within(
        tai(p, &["event", "--file", "late.json"]),
        Duration::from_secs(30),
    );
    let by_flag = within(
        tai(
            p,
            &[
                "event",
                "activate",
                "--tenant",
                "globex",
                "--sku",
                "rollback-guard-base",
                "--expires",
                "3000000d",
            ],
        ),
        Duration::from_secs(30),
    );
    for run in [by_file, by_flag] {
        assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("expiry_out_of_range"), "{}", run.stdout);
    }
    let verify = within(
        tai(p, &["receipts", "verify", "--all"]),
        Duration::from_secs(30),
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let shown = within(
        tai(
            p,
            &["receipts", "export", "--tenant", "acme", "--format", "json"],
        ),
        Duration::from_secs(30),
    );
    assert!(
        shown.stdout.contains("entitlement_update_refused"),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_scenario_clock_stops_at_year_9999_and_later_terms_are_refused() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("far.yaml"),
        "\
name: far future
tenant: acme
start: 2026-01-01T00:00:00Z
steps:
  - event: { event_type: entitlement.activated, sku_id: rollback-guard-base }
    expect: { accepted: true }
  - advance: 3000000d
    expect: { receipts: [entitlement_expired] }
  - event: { event_type: entitlement.renewed }
    expect: { accepted: false, reason: expiry_out_of_range }
",
    )
    .unwrap();
    let run = within(
        tai(d.path(), &["test", "far.yaml"]),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = within(
        tai(d.path(), &["simulate", "far.yaml"]),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("9999-12-31T23:59:59.999Z"),
        "{}",
        run.stdout
    );
}
