//! `tai test` as a user runs it: every expectation kind can fail and the message points at
//! it; malformed scenarios are load errors with file and line; JUnit parses as XML;
//! `--filter`, `--fail-fast`, `--format json` and coverage behave as documented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{self, text};

/// A scenario over the seed fixture catalog where every expectation holds, using every
/// expectation kind at least once.
const BASE: &str = "\
name: every expectation kind
description: Passes as written; each test breaks one expectation.
tenant: acme
steps:
  - name: Buy the demo plan without roles
    event: { event_type: entitlement.activated, sku_id: seed-demo, iam_roles: [] }
    expect:
      accepted: true
      state: boot
      tools: { exact: [create, memory_test, query, scale, timeout_test], excludes: [] }
      receipts: [entitlement_activated, tool_surface_changed]
      receipt: { state_to: boot, metadata: { cause: entitlement } }
  - name: The first signal makes the governor stable
    signal: { name: cpu_usage, facts: { cpu: 45 } }
    expect: { state: stable, reason: none }
  - name: Query without the operate role is refused
    call: { tool: query }
    expect: { decision: refused, gate: iam, reason: insufficient_privilege }
  - name: The plan is renewed with its roles
    event: { event_type: entitlement.plan_changed, sku_id: seed-demo }
    expect: { accepted: true }
  - name: Query runs
    call: { tool: query, args: { table: customers } }
    expect: { decision: executed, gate: none, result: { rows: 42, status: success } }
  - name: Another tenant sees no tools
    call: { tenant: globex, tool: query }
    expect: { decision: tool_not_found, tools: { exact: [], excludes: [query] } }
end:
  receipts: { acme: 6, globex: 1 }
  states: { acme: stable }
  chain_verifies: true
";

fn tai(dir: &Path, args: &[&str]) -> Output {
    common::tai()
        .current_dir(dir)
        .arg("--catalog")
        .arg(common::fixture("seed"))
        .arg("test")
        .args(args)
        .output()
        .unwrap()
}

/// Writes `files` into a fresh directory.
fn suite(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    dir
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in scenario"))
        + 1
}

#[test]
fn the_base_scenario_passes() {
    let dir = suite(&[("base.yaml", BASE)]);
    let out = tai(dir.path(), &["base.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS every expectation kind (base.yaml)"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));
}

/// One broken expectation: what to change and what the report must say.
struct Broken {
    kind: &'static str,
    from: &'static str,
    to: &'static str,
    /// The step (number and name), or `None` for an end-of-run check.
    step: Option<(usize, &'static str)>,
    field: &'static str,
    expected: &'static str,
    actual: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        kind: "state",
        from: "expect: { state: stable, reason: none }",
        to: "expect: { state: refusing, reason: none }",
        step: Some((2, "The first signal makes the governor stable")),
        field: "state",
        expected: "refusing",
        actual: "stable",
    },
    Broken {
        kind: "reason",
        from: "expect: { state: stable, reason: none }",
        to: "expect: { state: stable, reason: governor_refusing }",
        step: Some((2, "The first signal makes the governor stable")),
        field: "reason",
        expected: "governor_refusing",
        actual: "none",
    },
    Broken {
        kind: "decision",
        from: "decision: refused, gate: iam",
        to: "decision: executed, gate: iam",
        step: Some((3, "Query without the operate role is refused")),
        field: "decision",
        expected: "executed",
        actual: "refused",
    },
    Broken {
        kind: "gate",
        from: "gate: iam",
        to: "gate: preconditions",
        step: Some((3, "Query without the operate role is refused")),
        field: "gate",
        expected: "preconditions",
        actual: "iam",
    },
    Broken {
        kind: "accepted",
        from: "accepted: true\n      state: boot",
        to: "accepted: false\n      state: boot",
        step: Some((1, "Buy the demo plan without roles")),
        field: "accepted",
        expected: "false",
        actual: "true",
    },
    Broken {
        kind: "tools.exact",
        from: "exact: [create, memory_test, query,",
        to: "exact: [create, query,",
        step: Some((1, "Buy the demo plan without roles")),
        field: "tools.exact",
        expected: "[create, query, scale, timeout_test]",
        actual: "+ memory_test (not expected)",
    },
    Broken {
        kind: "tools.includes",
        from: "tools: { exact: [], excludes: [query] }",
        to: "tools: { includes: [query] }",
        step: Some((6, "Another tenant sees no tools")),
        field: "tools.includes",
        expected: "[query]",
        actual: "- query (expected, missing)",
    },
    Broken {
        kind: "tools.excludes",
        from: "timeout_test], excludes: [] }",
        to: "timeout_test], excludes: [scale] }",
        step: Some((1, "Buy the demo plan without roles")),
        field: "tools.excludes",
        expected: "none of [scale]",
        actual: "+ scale (not expected)",
    },
    Broken {
        kind: "result",
        from: "result: { rows: 42,",
        to: "result: { rows: 41,",
        step: Some((5, "Query runs")),
        field: "result.rows",
        expected: "41",
        actual: "42",
    },
    Broken {
        kind: "receipts",
        from: "receipts: [entitlement_activated, tool_surface_changed]",
        to: "receipts: [entitlement_activated]",
        step: Some((1, "Buy the demo plan without roles")),
        field: "receipts",
        expected: "[entitlement_activated]",
        actual: "+ tool_surface_changed (not expected)",
    },
    Broken {
        kind: "receipt",
        from: "cause: entitlement }",
        to: "cause: catalog_changed }",
        step: Some((1, "Buy the demo plan without roles")),
        field: "receipt.metadata.cause",
        expected: "\"catalog_changed\"",
        actual: "\"entitlement\"",
    },
    Broken {
        kind: "end.receipts",
        from: "receipts: { acme: 6,",
        to: "receipts: { acme: 9,",
        step: None,
        field: "end.receipts.acme",
        expected: "9",
        actual: "6",
    },
    Broken {
        kind: "end.states",
        from: "states: { acme: stable }",
        to: "states: { acme: refusing }",
        step: None,
        field: "end.states.acme",
        expected: "refusing",
        actual: "stable",
    },
    Broken {
        kind: "end.chain_verifies",
        from: "chain_verifies: true",
        to: "chain_verifies: false",
        step: None,
        field: "end.chain_verifies",
        expected: "false",
        actual: "every chain verifies",
    },
];

#[test]
fn every_expectation_kind_fails_with_a_message_that_points_at_it() {
    for b in BROKEN {
        assert!(
            BASE.contains(b.from),
            "{}: `{}` not in the base scenario",
            b.kind,
            b.from
        );
        let scenario = BASE.replacen(b.from, b.to, 1);
        let dir = suite(&[("broken.yaml", &scenario)]);
        let out = tai(dir.path(), &["broken.yaml"]);
        let stdout = text(&out.stdout);
        let ctx = format!("{}:\n{stdout}{}", b.kind, text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{ctx}");
        assert!(
            stdout.contains("FAIL every expectation kind (broken.yaml)"),
            "{ctx}"
        );
        assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"), "{ctx}");
        let header = match b.step {
            Some((n, name)) => {
                let line = line_of(&scenario, &format!("- name: {name}"));
                format!("step {n} \"{name}\" at broken.yaml:{line}")
            }
            None => format!("end of run at broken.yaml:{}", line_of(&scenario, "end:")),
        };
        assert!(stdout.contains(&header), "{ctx}\nmissing header `{header}`");
        let field_line = line_of(&scenario, b.to.lines().next().unwrap());
        let field = format!("{} (line {field_line})", b.field);
        assert!(stdout.contains(&field), "{ctx}\nmissing field `{field}`");
        assert!(
            stdout.contains(b.expected),
            "{ctx}\nmissing expected `{}`",
            b.expected
        );
        assert!(
            stdout.contains(b.actual),
            "{ctx}\nmissing actual `{}`",
            b.actual
        );
        // Only the broken expectation fails.
        assert_eq!(stdout.matches(" (line ").count(), 1, "{ctx}");
    }
}

#[test]
fn malformed_scenarios_are_load_errors_with_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "bad YAML",
            "name: x\nsteps:\n  - call: { tool: query\n",
            "bad.yaml:4:",
        ),
        (
            "unknown step kind",
            "name: x\ntenant: acme\nsteps:\n  - name: s\n    sgnal: {}\n",
            "bad.yaml:5:5: step 1: unknown field `sgnal`",
        ),
        (
            "unknown field",
            "name: x\ntenant: acme\nsteps:\n  - signal: {}\n    expext: { state: stable }\n",
            "bad.yaml:5:5: step 1: unknown field `expext`",
        ),
        (
            "step without an action",
            "name: x\ntenant: acme\nsteps:\n  - name: nothing\n    expect: { state: boot }\n",
            "bad.yaml:4:3: step 1: the step does nothing",
        ),
        (
            "unknown tool",
            "name: x\ntenant: acme\nsteps:\n  - signal: {}\n  - call:\n      tool: qurey\n",
            "bad.yaml:6: step 2: unknown tool `qurey` (did you mean `query`?)",
        ),
        (
            "unknown SKU",
            "name: x\ntenant: acme\nsteps:\n  - event:\n      event_type: entitlement.activated\n      sku_id: seed-dem\n",
            "bad.yaml:6: step 1: unknown SKU `seed-dem` (did you mean `seed-demo`?)",
        ),
        (
            "unknown state",
            "name: x\ntenant: acme\nsteps:\n  - signal: {}\n    expect:\n      state: stabel\n",
            "bad.yaml:6:14: step 1: expect.state: unknown variant `stabel`",
        ),
        (
            "expectation on the wrong step kind",
            "name: x\ntenant: acme\nsteps:\n  - signal: {}\n    expect:\n      decision: executed\n",
            "bad.yaml:6: step 1: `expect.decision` applies to `call` steps",
        ),
    ];
    for (what, body, wanted) in cases {
        let dir = suite(&[("good.yaml", BASE), ("bad.yaml", body)]);
        let out = tai(dir.path(), &["."]);
        let stderr = text(&out.stderr);
        let ctx = format!("{what}:\n{}{stderr}", text(&out.stdout));
        assert_eq!(out.status.code(), Some(2), "{ctx}");
        assert!(stderr.contains(wanted), "{ctx}\nwanted `{wanted}`");
        // A load error is neither a pass nor a fail: it is an error, and the other
        // scenarios still run.
        assert!(text(&out.stdout).contains("PASS"), "{ctx}");
        assert!(text(&out.stdout).contains("ERROR bad.yaml"), "{ctx}");
    }
}

#[test]
fn a_refusal_on_purpose_is_not_a_load_error() {
    let body = "\
name: refusals on purpose
tenant: acme
steps:
  - event: { event_type: entitlement.activated, sku_id: no-such-plan }
    expect: { accepted: false, reason: unknown_sku }
  - call: { tool: no_such_tool }
    expect: { decision: tool_not_found }
  - event: { event_type: entitlement.exploded }
    expect: { accepted: false, reason: malformed_event }
";
    let dir = suite(&[("refusals.yaml", body)]);
    let out = tai(dir.path(), &["."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn failing(name: &str) -> String {
    BASE.replacen("every expectation kind", name, 1)
        .replacen("state: boot", "state: stable", 1)
}

fn passing(name: &str) -> String {
    BASE.replacen("every expectation kind", name, 1)
}

#[test]
fn junit_is_well_formed_and_names_every_scenario() {
    let tricky = "fails <&> \"quoted\" 'too'";
    let dir = suite(&[
        ("a_pass.yaml", &passing("passes")),
        ("b_fail.yaml", &failing(tricky)),
    ]);
    let out = tai(dir.path(), &[".", "--junit", "report.xml"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut suites = 0;
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |name: &str| {
                    e.try_get_attribute(name).unwrap().map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .unwrap()
                            .into_owned()
                    })
                };
                match e.name().as_ref() {
                    "testsuite" => {
                        suites += 1;
                        assert_eq!(attr("tests").as_deref(), Some("2"));
                        assert_eq!(attr("failures").as_deref(), Some("1"));
                    }
                    "testcase" => cases.push(attr("name").unwrap()),
                    "failure" => failures.push(attr("message").unwrap()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(suites, 1);
    assert_eq!(cases, vec!["passes".to_owned(), tricky.to_owned()]);
    assert_eq!(failures.len(), 1);
    let line = line_of(&failing(tricky), "state: stable");
    assert!(
        failures[0].contains(&format!(
            "b_fail.yaml:{line}: step 1: state: expected stable, got boot"
        )),
        "{}",
        failures[0]
    );
}

#[test]
fn filter_selects_by_name_or_file() {
    let dir = suite(&[
        ("upgrade.yaml", &passing("upgrade unlocks tools")),
        ("downgrade.yaml", &passing("downgrade hides tools")),
        ("isolation/tenants.yaml", &passing("tenants are isolated")),
    ]);
    let out = tai(dir.path(), &[".", "--filter", "unlocks"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("PASS upgrade unlocks tools"));
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));
    let out = tai(dir.path(), &[".", "--filter", "isolation/"]);
    assert!(text(&out.stdout).contains("PASS tenants are isolated"));
    assert_eq!(text(&out.stdout).lines().last(), Some("1 passed, 0 failed"));
    let out = tai(dir.path(), &[".", "--filter", "nothing-like-this"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no scenario name or file contains `nothing-like-this`"));
}

#[test]
fn fail_fast_stops_after_the_first_failure() {
    let dir = suite(&[
        ("1.yaml", &failing("first fails")),
        ("2.yaml", &failing("second fails")),
        ("3.yaml", &passing("third passes")),
    ]);
    let out = tai(dir.path(), &[".", "--fail-fast", "--jobs", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("FAIL first fails"), "{stdout}");
    assert!(!stdout.contains("second fails"), "{stdout}");
    assert!(stdout.contains("2 scenarios not run"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
    let out = tai(dir.path(), &[".", "--jobs", "1"]);
    assert_eq!(text(&out.stdout).lines().last(), Some("1 passed, 2 failed"));
}

#[test]
fn json_report_shape() {
    let dir = suite(&[
        ("a.yaml", &passing("passes")),
        ("b.yaml", &failing("fails")),
    ]);
    let out = tai(dir.path(), &[".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"passed": 1, "failed": 1, "not_run": 0})
    );
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    assert_eq!(scenarios[0]["name"], "passes");
    assert_eq!(scenarios[0]["file"], "a.yaml");
    assert_eq!(scenarios[0]["status"], "passed");
    assert!(scenarios[0].get("failures").is_none());
    let f = &scenarios[1]["failures"][0];
    assert_eq!(scenarios[1]["status"], "failed");
    assert_eq!(f["step"], 1);
    assert_eq!(f["step_name"], "Buy the demo plan without roles");
    assert_eq!(f["kind"], "event");
    assert_eq!(f["line"], 5);
    assert_eq!(f["field"], "state");
    assert_eq!(f["field_line"], 9);
    assert_eq!(f["expected"], "stable");
    assert_eq!(f["actual"], "boot");
    assert_eq!(text(&out.stderr).trim(), "1 passed, 1 failed");
}

#[test]
fn results_are_reported_in_file_order_whatever_the_parallelism() {
    let names: Vec<String> = (0..40).map(|i| format!("s{i:02}.yaml")).collect();
    let bodies: Vec<String> = (0..40)
        .map(|i| passing(&format!("scenario {i:02}")))
        .collect();
    let files: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(bodies.iter().map(String::as_str))
        .collect();
    let dir = suite(&files);
    let one = tai(dir.path(), &[".", "--jobs", "1"]);
    let many = tai(dir.path(), &[".", "--jobs", "8"]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(text(&one.stdout), text(&many.stdout));
    assert_eq!(
        text(&one.stdout).lines().last(),
        Some("40 passed, 0 failed")
    );
}

#[test]
fn coverage_reports_what_ran_and_what_never_did() {
    let dir = suite(&[("base.yaml", BASE)]);
    let out = tai(dir.path(), &[".", "--coverage", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cov = &v["coverage"];
    let pack = &cov["packs"][0];
    assert_eq!(pack["pack"], "seed_demo");
    assert_eq!(pack["tools"]["covered"], serde_json::json!(["query"]));
    assert_eq!(
        pack["tools"]["missing"],
        serde_json::json!(["create", "scale", "timeout_test", "memory_test"])
    );
    assert_eq!(pack["actions"]["covered"], serde_json::json!(["run_tool"]));
    let covered: Vec<&str> = cov["transitions"]["covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        covered.contains(&"boot → stable (signal_processed)"),
        "{covered:?}"
    );
    assert!(
        covered.contains(&"stable → stable (action_executed)"),
        "{covered:?}"
    );
    assert!(cov["percent"].as_f64().unwrap() < 100.0);

    let out = tai(dir.path(), &[".", "--coverage"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("seed_demo"), "{stdout}");
    assert!(stdout.contains("Never exercised:"), "{stdout}");
    assert!(
        stdout.contains("tool               timeout_test"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));

    let out = tai(dir.path(), &[".", "--min-coverage", "100"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is below --min-coverage 100%"));
}

#[test]
fn missing_or_empty_paths_are_usage_errors() {
    let dir = suite(&[("notes.txt", "not a scenario")]);
    let out = tai(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tests/scenarios"),
        "{}",
        text(&out.stderr)
    );
    let out = tai(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no scenario files"));
}

#[test]
fn a_scenario_that_does_not_load_is_an_error_case_in_the_junit_report() {
    let dir = suite(&[
        ("good.yaml", BASE),
        (
            "bad.yaml",
            "name: x\ntenant: acme\nsteps:\n  - signall: {}\n",
        ),
    ]);
    let out = tai(dir.path(), &[".", "--junit", "report.xml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(xml.contains("<error"), "{xml}");
    assert!(xml.contains("bad.yaml"), "{xml}");
    assert!(xml.contains("tests=\"2\""), "{xml}");
    assert!(text(&out.stdout).contains("PASS"), "{}", text(&out.stdout));
}

#[test]
fn coverage_scope_packs_leaves_the_governor_s_transitions_out_of_the_figure() {
    let dir = suite(&[("base.yaml", BASE)]);
    let json = |scope: &str| -> Value {
        let out = tai(
            dir.path(),
            &[".", "--coverage-scope", scope, "--format", "json"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = json("all");
    let packs = json("packs");
    assert_eq!(all["coverage"]["scope"], "all");
    assert_eq!(packs["coverage"]["scope"], "packs");
    let transitions = all["coverage"]["transitions"]["covered"]
        .as_array()
        .unwrap()
        .len()
        + all["coverage"]["transitions"]["missing"]
            .as_array()
            .unwrap()
            .len();
    assert!(transitions > 0);
    assert_eq!(
        packs["coverage"]["total"].as_u64().unwrap() + transitions as u64,
        all["coverage"]["total"].as_u64().unwrap()
    );
    // The per-pack lines are the same either way.
    assert_eq!(packs["coverage"]["packs"], all["coverage"]["packs"]);
}
