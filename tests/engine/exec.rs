//! Bounded execution of command handlers against real processes.
//!
//! Timing assertions are deliberately loose (seconds, not milliseconds): they prove a bound
//! is enforced, not how fast, on machines that may be busy.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use tai::catalog::{Command, Handler};
use tai::exec::{Bound, Limits, Outcome};

/// Runs `handler` with `args` (a JSON object) as the governor would.
fn run(handler: &Handler, args: &serde_json::Value, limits: &Limits) -> Outcome {
    let empty = serde_json::Map::new();
    tai::exec::run(handler, args.as_object().unwrap_or(&empty), limits)
}

fn command(program: &str, args: &[&str]) -> Handler {
    Handler::Command(Command {
        program: program.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Default::default(),
        sandbox: Default::default(),
    })
}

fn sh(script: &str) -> Handler {
    command("sh", &["-c", script])
}

/// A shell script that may write in `dir`, which its sandbox otherwise denies.
fn sh_writing(script: &str, dir: &Path) -> Handler {
    let Handler::Command(mut cmd) = sh(script) else {
        unreachable!()
    };
    cmd.sandbox.write.push(dir.display().to_string());
    Handler::Command(cmd)
}

/// A temporary directory every user may write in: handlers of a root test run as `nobody`.
fn shared_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn python(code: &str) -> Handler {
    command("python3", &["-c", code])
}

fn limits(timeout_ms: u64, max_memory_mb: u64, max_output_bytes: u64) -> Limits {
    Limits {
        timeout_ms,
        max_memory_mb,
        max_output_bytes,
        max_cpu_percent: None,
    }
}

fn generous() -> Limits {
    limits(30_000, 256, 1024 * 1024)
}

/// Runs and also returns how long the call took from the caller's side.
fn timed_run(handler: &Handler, args: &serde_json::Value, limits: &Limits) -> (Outcome, Duration) {
    let start = Instant::now();
    let outcome = run(handler, args, limits);
    (outcome, start.elapsed())
}

/// Whether `pid` is still a live process (a zombie awaiting its reaper counts as dead).
/// Gives a killed process a moment to be reaped by whoever inherited it.
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let live = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().to_owned())
            })
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'));
        if !live || Instant::now() >= deadline {
            return live;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn success_echoes_the_arguments_as_json() {
    let echo = python("import json,sys; print(json.dumps({'got': json.load(sys.stdin)}))");
    let args = json!({ "service": "api", "replicas": 3 });
    let outcome = run(&echo, &args, &generous());
    let Outcome::Success { result, .. } = outcome else {
        panic!("expected success, got {outcome:?}");
    };
    assert_eq!(result, json!({ "got": args }));
}

#[cfg(target_os = "linux")]
#[test]
fn sleeping_child_and_its_grandchild_are_killed_at_the_timeout() {
    let dir = shared_tempdir();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!("sleep 30 & echo $! > '{}'; sleep 30", pid_file.display());
    let handler = sh_writing(&script, dir.path());
    let (outcome, took) = timed_run(&handler, &json!({}), &limits(300, 256, 1024));
    let Outcome::Timeout {
        limit_ms,
        elapsed_ms,
    } = outcome
    else {
        panic!("expected a timeout, got {outcome:?}");
    };
    assert_eq!(limit_ms, 300);
    assert!(
        elapsed_ms >= 300,
        "stopped before the limit: {elapsed_ms} ms"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!alive(read_pid(&pid_file)), "the grandchild survived");
}

#[cfg(target_os = "linux")]
#[test]
fn background_processes_do_not_outlive_a_successful_action() {
    let dir = shared_tempdir();
    let pid_file = dir.path().join("background.pid");
    // The background sleep inherits stdout: left alone it would hold the pipe for 30 s.
    let script = format!("sleep 30 & echo $! > '{}'; echo '{{}}'", pid_file.display());
    let handler = sh_writing(&script, dir.path());
    let (outcome, took) = timed_run(&handler, &json!({}), &generous());
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        !alive(read_pid(&pid_file)),
        "the background process survived"
    );
}

#[test]
fn one_huge_allocation_is_stopped_by_the_memory_limit() {
    let alloc = python("x = bytearray(1024 * 1024 * 1024)");
    let outcome = run(&alloc, &json!({}), &limits(30_000, 64, 1024));
    assert_eq!(
        outcome,
        Outcome::MemoryExceeded {
            limit_mb: 64,
            used_mb: None
        }
    );
}

#[test]
fn gradually_touching_pages_is_stopped_by_the_memory_limit() {
    let alloc = python("chunks = []\nwhile True:\n    chunks.append(b'x' * (1024 * 1024))");
    let (outcome, took) = timed_run(&alloc, &json!({}), &limits(30_000, 64, 1024));
    assert_eq!(outcome.exceeded(), Some(Bound::Memory), "{outcome:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_watchdog_bounds_a_group_whose_processes_each_fit_the_limit() {
    // Each worker stays under the per-process address-space limit; together they do not.
    let worker = "import time; x = b'x' * (50 * 1024 * 1024); time.sleep(30)";
    let script = format!("for i in 1 2 3; do python3 -c \"{worker}\" & done; wait");
    let (outcome, took) = timed_run(&sh(&script), &json!({}), &limits(30_000, 96, 1024));
    let Outcome::MemoryExceeded { limit_mb, used_mb } = outcome else {
        panic!("expected memory exceeded, got {outcome:?}");
    };
    assert_eq!(limit_mb, 96);
    assert!(used_mb.is_some_and(|mb| mb > 96), "peak {used_mb:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn an_output_flood_is_cut_off_at_the_cap() {
    let (outcome, took) = timed_run(
        &command("yes", &[]),
        &json!({}),
        &limits(30_000, 256, 65536),
    );
    assert_eq!(outcome, Outcome::OutputExceeded { limit_bytes: 65536 });
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn output_just_within_the_cap_is_accepted() {
    // `"aaa…"` with quotes and newline: 1000 bytes exactly.
    let script = "printf '\"'; head -c 997 /dev/zero | tr '\\0' a; printf '\"\\n'";
    let outcome = run(&sh(script), &json!({}), &limits(30_000, 256, 1000));
    assert!(outcome.is_success(), "{outcome:?}");
    let outcome = run(&sh(script), &json!({}), &limits(30_000, 256, 999));
    assert_eq!(outcome.exceeded(), Some(Bound::Output), "{outcome:?}");
}

#[test]
fn a_stderr_flood_does_not_block_the_child() {
    let script = "head -c 2000000 /dev/zero | tr '\\0' e >&2; echo 1";
    let outcome = run(&sh(script), &json!({}), &generous());
    assert!(
        matches!(&outcome, Outcome::Success { result, .. } if *result == json!(1)),
        "{outcome:?}"
    );
}

#[test]
fn unread_large_arguments_do_not_block_the_child() {
    let args = json!({ "blob": "z".repeat(1024 * 1024) });
    let outcome = run(&sh("echo '{}'"), &args, &generous());
    assert!(outcome.is_success(), "{outcome:?}");
}

/// Runs a shell script that must fail; its message and exit code.
fn failing(script: &str) -> (String, Option<i32>) {
    match run(&sh(script), &json!({}), &generous()) {
        Outcome::Error { message, exit_code } => (message, exit_code),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn non_zero_exit_is_an_error_quoting_stderr() {
    let (message, exit_code) = failing("echo 'disk on fire' >&2; exit 3");
    assert_eq!(exit_code, Some(3));
    assert!(message.contains("`sh` exited with code 3"), "{message}");
    assert!(message.contains("disk on fire"), "{message}");
}

#[test]
fn death_by_signal_is_an_error_naming_the_signal() {
    let (message, exit_code) = failing("kill -SEGV $$");
    assert_eq!(exit_code, None);
    assert!(message.contains("SIGSEGV"), "{message}");
}

#[test]
fn invalid_json_on_stdout_is_an_error() {
    let (message, exit_code) = failing("echo 'rows: 42'");
    assert_eq!(exit_code, Some(0));
    assert!(message.contains("invalid JSON"), "{message}");
    assert!(message.contains("rows: 42"), "{message}");
}

#[test]
fn a_missing_program_is_an_error_saying_so() {
    let outcome = run(
        &command("tai-no-such-program", &[]),
        &json!({}),
        &generous(),
    );
    assert_eq!(
        outcome,
        Outcome::Error {
            message: "cannot run `tai-no-such-program`: not found on PATH".into(),
            exit_code: None
        }
    );
    let outcome = run(&command("/nonexistent/tool", &[]), &json!({}), &generous());
    assert!(
        matches!(&outcome, Outcome::Error { message, .. } if message.contains("not found")),
        "{outcome:?}"
    );
}

#[test]
fn the_environment_is_clean_except_path_home_lang_and_declared_vars() {
    // Cargo sets CARGO_PKG_NAME for the test process; the command must not inherit it.
    assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
    let handler = Handler::Command(Command {
        program: "sh".into(),
        args: vec![
            "-c".into(),
            r#"printf '{"path":"%s","cargo":"%s","declared":"%s"}' "$PATH" "${CARGO_PKG_NAME:-}" "$DECLARED""#
                .into(),
        ],
        env: [("DECLARED".to_owned(), "yes".to_owned())].into_iter().collect(),
        sandbox: Default::default(),
    });
    let outcome = run(&handler, &json!({}), &generous());
    let Outcome::Success { result, .. } = outcome else {
        panic!("expected success, got {outcome:?}");
    };
    assert_eq!(result["path"], json!(std::env::var("PATH").unwrap()));
    assert_eq!(result["cargo"], json!(""));
    assert_eq!(result["declared"], json!("yes"));
}

#[test]
fn simulated_handlers_run_through_the_same_entry_point() {
    let handler: Handler = serde_json::from_value(json!({
        "kind": "simulated",
        "result": { "status": "success" },
        "cases": [ { "when": { "mode": "slow" }, "duration_ms": 60000 } ]
    }))
    .unwrap();
    let (outcome, took) = timed_run(&handler, &json!({ "mode": "slow" }), &generous());
    assert_eq!(
        outcome,
        Outcome::Timeout {
            limit_ms: 30_000,
            elapsed_ms: 30_000
        }
    );
    assert!(
        took < Duration::from_secs(1),
        "a simulated handler must not sleep"
    );
    assert!(run(&handler, &json!({}), &generous()).is_success());
}
