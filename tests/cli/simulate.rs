//! `tai simulate` as a user runs it: the built-in demo, determinism, JSON, kept ledgers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

use crate::common::{self, stdout};

fn tai(args: &[&str], cwd: &Path) -> Output {
    common::tai().args(args).current_dir(cwd).output().unwrap()
}

#[test]
fn demo_runs_from_any_directory_and_matches_the_golden_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let out = tai(&["simulate"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let golden = common::fixture("demo.timeline.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        text, want,
        "demo timeline changed; regenerate with UPDATE_GOLDEN=1 cargo test --test cli simulate::"
    );
    for needle in [
        "boot → stable",
        "iam: insufficient_privilege (missing read_audit_trail)",
        "preconditions: rollback_target_unknown",
        "stable → intervening",
        "intervening → stable",
        "entitlement: entitlement_expired",
        "all expectations held",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn same_inputs_give_byte_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = tai(&["simulate", "--format", "json"], dir.path());
    let b = tai(&["simulate", "--format", "json"], dir.path());
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["passed"], true);
    let other = tai(&["simulate", "--format", "json", "--seed", "9"], dir.path());
    assert_ne!(a.stdout, other.stdout, "the seed changes receipt ids");
}

#[test]
fn kept_ledger_verifies_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let out = tai(&["simulate", "--ledger", "kept"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let ok = tai(
        &["--state", "kept", "receipts", "verify", "--all"],
        dir.path(),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let path = dir.path().join("kept/ledger/acme.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("insufficient_privilege", "insufficient_privilegE", 1),
    )
    .unwrap();
    let bad = tai(
        &["--state", "kept", "receipts", "verify", "--all"],
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("seq 5"), "{}", stdout(&bad));
}

#[test]
fn failed_expectation_exits_1_and_bad_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "name: wrong\ntenant: t\nsteps:\n  - call: { tool: ac_receipt_verify }\n    expect: { decision: executed }\n",
    )
    .unwrap();
    let out = tai(&["simulate", "s.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("expected decision = executed, got tool_not_found"));
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: x\nsteps: [ {explode: 1} ]\n",
    )
    .unwrap();
    let out = tai(&["simulate", "bad.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml"));
}

#[test]
fn the_printed_story_is_the_demo_as_an_editable_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let story = tai(&["simulate", "--print-story"], dir.path());
    assert_eq!(story.status.code(), Some(0));
    std::fs::write(dir.path().join("story.yaml"), &story.stdout).unwrap();
    let edited = stdout(&story).replace("acme", "globex");
    std::fs::write(dir.path().join("edited.yaml"), edited).unwrap();

    let demo = tai(&["simulate"], dir.path());
    let from_file = tai(&["simulate", "story.yaml"], dir.path());
    assert_eq!(from_file.status.code(), Some(0));
    // Only the scenario's header names where it came from; every step and receipt is the same.
    assert_eq!(stdout(&from_file), stdout(&demo));
    let renamed = tai(&["simulate", "edited.yaml"], dir.path());
    assert_eq!(
        renamed.status.code(),
        Some(0),
        "{}",
        common::stderr(&renamed)
    );
    assert!(stdout(&renamed).contains("globex"));

    let mixed = tai(&["simulate", "--print-story", "story.yaml"], dir.path());
    assert_eq!(mixed.status.code(), Some(2));
}

#[test]
fn step_mode_pauses_between_steps_until_input_ends() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::tai()
        .args(["simulate", "--step"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Two presses of Enter, then the end of input: the rest is shown without pausing.
    child.stdin.take().unwrap().write_all(b"\n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let prompts = common::stderr(&out).matches("[Enter: next step]").count();
    assert_eq!(prompts, 3, "{}", common::stderr(&out));
    let plain = tai(&["simulate"], dir.path());
    assert_eq!(stdout(&out), stdout(&plain));
}

#[test]
fn the_timeline_is_coloured_only_when_asked_or_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let coloured = tai(&["--color", "always", "simulate"], dir.path());
    let text = stdout(&coloured);
    assert!(text.contains("\u{1b}[1mScenario: "), "{text}");
    // Refusals stand out in red.
    assert!(
        text.lines()
            .any(|l| l.contains("\u{1b}[31m") && l.contains("insufficient_privilege")),
        "{text}"
    );
    let plain = tai(&["--color", "never", "simulate"], dir.path());
    assert!(!stdout(&plain).contains('\u{1b}'));
}

/// The ids of the built-in demo's receipts, from its JSON timeline.
fn demo_receipt_ids(cwd: &Path) -> Vec<String> {
    let json = tai(&["simulate", "--format", "json"], cwd);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["receipts"].as_array().unwrap().iter())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_html_report_is_one_self_contained_page_with_every_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let a = tai(&["simulate", "--format", "html"], dir.path());
    assert_eq!(a.status.code(), Some(0), "{}", common::stderr(&a));
    let html = stdout(&a);
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    // Nothing is fetched: no scripts, stylesheets or images from elsewhere.
    for outside in ["<script", "<link", "src=", "@import", "url(http"] {
        assert!(!html.contains(outside), "{outside}");
    }
    assert!(html.contains("<h1>One artifact, many products: acme&apos;s first month</h1>"));
    assert!(html.contains("TAI Rollback Guard — Professional"));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(html.contains("class=\"state current\""));
    // Every receipt is listed with its id, and refusals are explained.
    let ids = demo_receipt_ids(dir.path());
    assert!(ids.len() > 10, "{ids:?}");
    for id in &ids {
        assert!(html.contains(id.as_str()), "{id}");
    }
    assert!(html.contains("class=\"why\""));
    assert!(html.contains("all expectations held"));
    // The same inputs give the same bytes.
    let b = tai(&["simulate", "--format", "html"], dir.path());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn a_markdown_report_has_the_plans_the_governor_and_a_row_per_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let out = tai(&["simulate", "--format", "markdown"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("# One artifact, many products: acme's first month\n"),
        "{md}"
    );
    assert!(md.contains("## Plans\n\n| SKU | Title | Price |"));
    assert!(md.contains(
        "| `rollback-guard-professional` | TAI Rollback Guard — Professional | $299.00/mo |"
    ));
    assert!(md.contains("```mermaid\nstateDiagram-v2\n"));
    assert!(md.contains("    stable --> intervening\n"));
    assert!(md.contains("- `acme` ends in **"));
    let rows = md.lines().filter(|l| l.starts_with("| `acme` |")).count();
    assert_eq!(rows, demo_receipt_ids(dir.path()).len());
}

/// A scenario file is checked as `tai test` checks it: a mistyped event type is an error
/// (exit 2, with the type meant), not a recorded refusal the story would show as held.
#[test]
fn a_typo_in_a_scenario_is_an_error_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "name: typo\ntenant: acme\nsteps:\n  - event: {event_type: entitlement.activate, sku_id: rollback-guard-base}\n",
    )
    .unwrap();
    let out = tai(&["simulate", "s.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s.yaml:4: step 1"), "{err}");
    assert!(
        err.contains("did you mean `entitlement.activated`?"),
        "{err}"
    );
}

/// `--now` does not move a simulation (it has its own clock), but a bad value is still refused.
#[test]
fn a_bad_now_is_refused_even_by_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let out = tai(&["--now", "tomorrow", "simulate"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tomorrow"), "{err}");
    let a = tai(
        &["--now", "2030-01-01", "simulate", "--format", "json"],
        dir.path(),
    );
    let b = tai(&["simulate", "--format", "json"], dir.path());
    assert_eq!(a.stdout, b.stdout);
}
