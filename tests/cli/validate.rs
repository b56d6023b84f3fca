//! `tai validate` as a user runs it: the real binary over the broken catalogs in
//! `tests/fixtures/validate/`, each a copy of the minimal valid catalog `ok/` with one defect
//! (a `# BROKEN:` comment at the top of the file says what), and over hostile files generated
//! at run time. Some cases also keep what a person sees in an `expected.txt`; after changing
//! the output on purpose, regenerate those with:
//!
//!     UPDATE_GOLDEN=1 cargo test --test cli validate::

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Run};

/// No input may take longer than this, even in a debug build running beside other tests.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs `tai` in `dir` without colour or environment overrides, then with `envs` (an empty
/// value removes the variable), failing when it does not finish within [`TIME_LIMIT`].
pub(crate) fn tai_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = common::tai();
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        if value.is_empty() {
            cmd.env_remove(key);
        } else {
            cmd.env(key, value);
        }
    }
    let mut child = cmd.spawn().unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            panic!("`tai {}` did not finish in {TIME_LIMIT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap(),
        stdout: String::from_utf8(stdout.join().unwrap()).unwrap(),
        stderr: String::from_utf8(stderr.join().unwrap()).unwrap(),
    }
}

pub(crate) fn fixtures() -> PathBuf {
    common::fixture("validate")
}

/// `tai validate ARGS` from the fixtures folder, so files show as `CASE/packs/...`.
fn validate(args: &[&str]) -> Run {
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    tai_in(&fixtures(), &all, &[])
}

/// One expected diagnostic.
struct Expect {
    /// The rule code.
    code: &'static str,
    /// `file:line:column` inside the case folder (`file` alone when it has no position).
    at: &'static str,
    /// A part of the message.
    message: &'static str,
    /// The positions of its notes, `file:line:column` each, joined by `, `.
    notes: &'static str,
}

/// An expected diagnostic without notes.
const fn e(code: &'static str, at: &'static str, message: &'static str) -> Expect {
    Expect {
        code,
        at,
        message,
        notes: "",
    }
}

/// An expected diagnostic with notes at `notes`.
const fn n(
    code: &'static str,
    at: &'static str,
    message: &'static str,
    notes: &'static str,
) -> Expect {
    Expect {
        code,
        at,
        message,
        notes,
    }
}

/// A broken fixture, its exit status and every diagnostic it must produce, in output order.
struct Case {
    name: &'static str,
    exit: i32,
    expect: &'static [Expect],
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Parsing: syntax and type errors, with the position of the offending text.
    Case { name: "yaml_syntax_error", exit: 1, expect: &[n("syntax_error", "packs/core.yaml:5:6", "did not find expected ',' or ']'", "packs/core.yaml:4:14")] },
    Case { name: "toml_syntax_error", exit: 1, expect: &[e("syntax_error", "packs/extra.toml:4:30", "invalid basic string")] },
    Case { name: "yaml_type_error", exit: 1, expect: &[e("invalid_value", "packs/core.yaml:4:14", "invalid type: map, expected a string")] },
    Case { name: "toml_type_error", exit: 1, expect: &[e("invalid_value", "packs/extra.toml:5:12", "invalid type: string \"core\", expected a sequence")] },
    Case { name: "comments_only", exit: 1, expect: &[e("empty_file", "packs/core.yaml", "the file holds only comments")] },
    // Fields.
    Case { name: "unknown_field_yaml", exit: 1, expect: &[e("unknown_field", "packs/core.yaml:18:5", "unknown field `rolse` in `actions[0]`")] },
    Case { name: "unknown_field_toml", exit: 1, expect: &[e("unknown_field", "packs/extra.toml:6:1", "unknown field `incompatible`")] },
    Case { name: "unknown_handler_field", exit: 1, expect: &[e("unknown_field", "packs/core.yaml:16:7", "unknown field `duration` in `tools[0].handler`")] },
    Case { name: "unknown_builtin", exit: 1, expect: &[e("invalid_value", "packs/core.yaml:15:16", "unknown variant `verify_chian`")] },
    Case { name: "unknown_template_argument", exit: 1, expect: &[e("unknown_template_argument", "packs/core.yaml:15:36", "`{{args.targte}}` names no argument of tool `core_check`")] },
    Case { name: "missing_field_yaml", exit: 1, expect: &[e("missing_field", "skus/basic.yaml:2:1", "missing field `plan_id`")] },
    Case { name: "missing_field_toml", exit: 1, expect: &[e("missing_field", "packs/extra.toml:7:1", "missing field `description`")] },
    // Identity.
    Case { name: "duplicate_pack_id", exit: 1, expect: &[n("duplicate_pack_id", "packs/core.yaml:2:10", "pack id `core` is defined twice", "packs/core.toml:2:11")] },
    Case { name: "duplicate_sku_id", exit: 1, expect: &[n("duplicate_sku_id", "skus/basic.yaml:2:9", "SKU id `basic` is defined twice", "skus/basic.toml:2:10")] },
    Case { name: "duplicate_tool_name", exit: 1, expect: &[n("duplicate_tool_name", "packs/extra.toml:8:8", "tool name `core_check` is already used", "packs/core.yaml:6:11")] },
    Case { name: "duplicate_action_id", exit: 1, expect: &[n("duplicate_action_id", "packs/core.yaml:21:9", "action `check` is declared twice in pack `core`", "packs/core.yaml:17:9")] },
    Case { name: "file_name_mismatch", exit: 0, expect: &[e("file_name_mismatch", "packs/main.yaml:2:10", "the file is named `main` but defines `core`")] },
    // Pack relations.
    Case { name: "unknown_required_pack", exit: 1, expect: &[e("unknown_required_pack", "packs/extra.toml:5:13", "pack `extra` requires `cor`, which is not in the catalog")] },
    Case { name: "requires_cycle", exit: 1, expect: &[n("requires_cycle", "packs/core.yaml:16:12", "packs require each other in a cycle: core -> extra -> core", "packs/extra.toml:5:13")] },
    Case { name: "incompatible_requirement", exit: 1, expect: &[
        e("incompatible_requirement", "packs/extra.toml:5:13", "pack `extra` requires `core`, which it is incompatible with"),
        n("incompatible_packs_enabled", "skus/basic.yaml:6:23", "SKU `basic` enables `core` and `extra`, which are incompatible", "skus/basic.yaml:6:17"),
    ] },
    Case { name: "incompatible_transitive", exit: 1, expect: &[
        e("pack_not_in_any_sku", "packs/legacy.yaml:2:10", "no SKU enables pack `legacy`"),
        e("pack_not_in_any_sku", "packs/top.yaml:2:10", "no SKU enables pack `top`"),
        e("incompatible_requirement", "packs/top.yaml:5:19", "pack `top` requires `core` (via top -> extra -> core) and `legacy`, which are incompatible"),
    ] },
    Case { name: "unknown_incompatible_pack", exit: 1, expect: &[e("unknown_incompatible_pack", "packs/extra.toml:6:22", "pack `extra` is incompatible with `legacy`, which is not in the catalog")] },
    // SKUs.
    Case { name: "unknown_enabled_pack", exit: 1, expect: &[
        e("pack_not_in_any_sku", "packs/extra.toml:2:11", "no SKU enables pack `extra`"),
        e("unknown_enabled_pack", "skus/basic.yaml:6:23", "SKU `basic` enables `extras`, which is not in the catalog"),
    ] },
    Case { name: "missing_required_pack", exit: 1, expect: &[
        e("pack_not_in_any_sku", "packs/core.yaml:2:10", "no SKU enables pack `core`"),
        e("missing_required_pack", "skus/basic.yaml:6:17", "pack `extra` requires `core`, which SKU `basic` does not enable"),
    ] },
    Case { name: "incompatible_packs_enabled", exit: 1, expect: &[n("incompatible_packs_enabled", "skus/basic.yaml:6:30", "SKU `basic` enables `extra` and `legacy`, which are incompatible", "skus/basic.yaml:6:23")] },
    Case { name: "sku_without_packs", exit: 1, expect: &[e("sku_without_packs", "skus/empty.yaml:6:1", "SKU `empty` enables no packs")] },
    Case { name: "invalid_price", exit: 1, expect: &[e("invalid_price", "skus/basic.yaml:5:18", "price `9.999` has more than two decimals")] },
    Case { name: "duplicate_marketplace_id", exit: 1, expect: &[n("duplicate_marketplace_id", "skus/team.yaml:11:11", "GCP product `checks.example.com` plan `basic` maps to SKU `basic` and to SKU `team`", "skus/basic.yaml:9:45")] },
    Case { name: "invalid_currency", exit: 1, expect: &[e("invalid_currency", "skus/basic.yaml:5:32", "currency `usd` is not an ISO 4217 code")] },
    // Pack contents.
    Case { name: "unknown_action", exit: 1, expect: &[e("unknown_action", "packs/extra.toml:10:10", "tool `extra_report` performs action `reprot`, which pack `extra` does not declare")] },
    Case { name: "duplicate_signal", exit: 1, expect: &[n("duplicate_signal", "packs/core.yaml:18:5", "signal `check_broken` is declared twice in pack `core`", "packs/core.yaml:17:5")] },
    Case { name: "unknown_domain_event", exit: 1, expect: &[e("unknown_domain_event", "packs/core.yaml:21:49", "action `check` emits `check_complete` when completed, which pack `core` does not declare in `receipt_events`")] },
    Case { name: "unknown_status_tool", exit: 1, expect: &[e("unknown_status_tool", "packs/core.yaml:21:29", "action `check` is resolved by polling `core_stat`, which is not a tool of pack `core`")] },
    Case { name: "invalid_resolve", exit: 1, expect: &[
        e("invalid_resolve", "packs/core.yaml:15:29", "`core_check` cannot report on action `check`: it performs the action it is to report on"),
        e("invalid_resolve", "packs/core.yaml:15:69", "`deadline_ms` 500 is not longer than the action's timeout 1000 ms: an overrun would be failed at once"),
    ] },
    Case { name: "ungrantable_role", exit: 1, expect: &[
        e("ungrantable_role", "packs/extra.toml:17:23", "action `report` of pack `extra` needs role `write_core`, which no SKU grants"),
        e("unusable_action", "skus/basic.yaml:7:1", "missing role `write_core`"),
    ] },
    // Values the parser reads buffered or converted are reported where they are, by path.
    Case { name: "values_in_buffered_fields", exit: 1, expect: &[
        e("invalid_value", "packs/core.yaml:16:20", "`tools[0].handler.duration_ms`: invalid value: integer `-5`"),
        e("invalid_value", "packs/core.yaml:17:18", "`tools[0].handler.memory_mb`: invalid type: string \"lots\""),
        e("invalid_value", "packs/core.yaml:24:38", "`actions[0].preconditions[0].check.at_least`: invalid type: string \"many\", expected a number"),
    ] },
    Case { name: "converted_values", exit: 1, expect: &[
        e("invalid_value", "packs/core.yaml:22:41", "`actions[0].preconditions[0].code`: invalid refusal code `Bad-Code`"),
    ] },
    Case { name: "misspelt_role", exit: 1, expect: &[
        e("unusable_action", "skus/basic.yaml:7:1", "missing role `write_core`"),
        e("misspelt_role", "skus/basic.yaml:7:24", "SKU `basic` grants role `write_cor`, which no action needs; did you mean `write_core`?"),
    ] },
    Case { name: "invalid_version_yaml", exit: 1, expect: &[e("invalid_version", "packs/core.yaml:3:10", "version `1.0` is not a semantic version")] },
    Case { name: "invalid_version_toml", exit: 1, expect: &[e("invalid_version", "packs/extra.toml:3:11", "version `v1.0.0` is not a semantic version")] },
    Case { name: "compute_limit_zero", exit: 1, expect: &[e("invalid_compute_limit", "packs/core.yaml:20:19", "`timeout_ms` is 0")] },
    Case { name: "compute_limit_negative", exit: 1, expect: &[e("invalid_compute_limit", "packs/core.yaml:20:19", "`timeout_ms` must be a positive whole number, found integer `-5`")] },
    Case { name: "compute_limit_absurd", exit: 1, expect: &[e("invalid_compute_limit", "packs/extra.toml:20:19", "`max_cpu_percent` is 400, more than 100 percent")] },
    Case { name: "invalid_sandbox_path", exit: 1, expect: &[
        e("invalid_sandbox_path", "packs/core.yaml:17:16", "`data` is not an absolute path"),
        e("invalid_sandbox_path", "packs/core.yaml:17:22", "`/srv/../etc/shadow` has a `..` component"),
        e("invalid_sandbox_path", "packs/core.yaml:18:17", "`/` would make the whole file system writable"),
    ] },
    Case { name: "invalid_input_schema", exit: 1, expect: &[e("invalid_input_schema", "packs/core.yaml:11:25", "invalid input schema of tool `core_check`: `type` must be one of")] },
    Case { name: "reserved_refusal_code", exit: 1, expect: &[e("reserved_refusal_code", "packs/core.yaml:20:45", "refusal code `no_entitlement` is a built-in reason code")] },
    Case { name: "duplicate_refusal_code", exit: 1, expect: &[n("duplicate_refusal_code", "packs/core.yaml:21:44", "refusal code `not_ready` is used twice by action `check`", "packs/core.yaml:20:45")] },
    // Warnings only: exit 0.
    Case { name: "unusable_action", exit: 0, expect: &[e("unusable_action", "skus/basic.yaml:7:1", "SKU `basic` cannot run action `report` of pack `extra`: missing role `write_report`")] },
    // The file's own allow list: a typo allows nothing, and says so.
    Case { name: "unknown_allowed_code", exit: 0, expect: &[
        e("unknown_allowed_code", "skus/basic.yaml:2:14", "`# tai: allow` names `unusable_actoin`, which is no warning code"),
        e("unusable_action", "skus/basic.yaml:8:1", "SKU `basic` cannot run action `report` of pack `extra`: missing role `write_report`"),
    ] },
    Case { name: "impossible_precondition", exit: 0, expect: &[
        e("impossible_precondition", "packs/core.yaml:22:24", "precondition `region` checks `one_of: []`, which no value passes"),
        e("impossible_precondition", "packs/core.yaml:23:59", "the default of precondition `replicas` is a string, which its check `at_least` never accepts"),
    ] },
    Case { name: "pack_not_sold", exit: 0, expect: &[e("pack_not_in_any_sku", "packs/spare.yaml:2:10", "no SKU enables pack `spare`")] },
    // Every problem in one file at once.
    Case { name: "many_problems", exit: 1, expect: &[
        e("invalid_version", "packs/core.yaml:3:10", "version `one`"),
        e("unknown_action", "packs/core.yaml:12:13", "action `chek`"),
        e("unknown_field", "packs/core.yaml:18:5", "unknown field `rolse`"),
        e("invalid_compute_limit", "packs/core.yaml:20:19", "`timeout_ms` is 0"),
    ] },
    // A value the parser stops at is left out, and the rest of the file still checked.
    Case { name: "bad_values_and_more", exit: 1, expect: &[
        e("invalid_version", "packs/core.yaml:4:10", "version `one`"),
        e("unknown_field", "packs/core.yaml:17:7", "unknown field `duration` in `tools[0].handler`"),
        e("unknown_field", "packs/core.yaml:20:5", "unknown field `rolse`"),
        e("invalid_compute_limit", "packs/core.yaml:22:19", "found integer `-5`"),
    ] },
];

/// Rule codes proven by the run-time tests below rather than by a fixture.
const COVERED_AT_RUN_TIME: [&str; 7] = [
    "io_error",
    "not_a_catalog",
    "file_too_large",
    "invalid_encoding",
    "unknown_file_kind",
    "nesting_too_deep",
    "alias_limit_exceeded",
];

/// `file:line:column` of a diagnostic or note, with `prefix/` taken off the file.
pub(crate) fn position(v: &Value, prefix: &str) -> String {
    let file = v["file"].as_str().unwrap_or_default();
    let file = file.strip_prefix(prefix).unwrap_or(file);
    match (v["line"].as_u64(), v["column"].as_u64()) {
        (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
        _ => file.to_owned(),
    }
}

/// The positions of a diagnostic's notes, joined by `, `.
fn note_positions(d: &Value, prefix: &str) -> String {
    let notes: Vec<String> = d["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| position(n, prefix))
        .collect();
    notes.join(", ")
}

/// What is wrong with a case's output, if anything.
fn check_case(case: &Case) -> Option<String> {
    let run = validate(&["--format", "json", case.name]);
    let doc: Value = match serde_json::from_str(&run.stdout) {
        Ok(doc) => doc,
        Err(e) => {
            return Some(format!(
                "output is not JSON ({e}): {}{}",
                run.stdout, run.stderr
            ));
        }
    };
    let prefix = format!("{}/", case.name);
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    let shown: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            format!(
                "{} {} {:?} notes [{}]",
                d["code"].as_str().unwrap(),
                position(d, &prefix),
                d["message"].as_str().unwrap(),
                note_positions(d, &prefix)
            )
        })
        .collect();
    let mut problems = Vec::new();
    if run.code != case.exit {
        problems.push(format!("exit {} instead of {}", run.code, case.exit));
    }
    if diagnostics.len() != case.expect.len() {
        problems.push(format!(
            "{} diagnostics instead of {}",
            diagnostics.len(),
            case.expect.len()
        ));
    }
    for (i, (d, want)) in diagnostics.iter().zip(case.expect).enumerate() {
        let message = d["message"].as_str().unwrap();
        if d["code"] != want.code
            || position(d, &prefix) != want.at
            || !message.contains(want.message)
            || note_positions(d, &prefix) != want.notes
        {
            problems.push(format!(
                "diagnostic {i}: expected {} {} {:?} notes [{}]",
                want.code, want.at, want.message, want.notes
            ));
        }
        if d["help"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("diagnostic {i} has no hint"));
        }
    }
    let count = |severity: &str| {
        diagnostics
            .iter()
            .filter(|d| d["severity"] == severity)
            .count()
    };
    if doc["errors"] != count("error") || doc["warnings"] != count("warning") {
        problems.push("the error and warning counts do not match the diagnostics".to_owned());
    }
    (!problems.is_empty()).then(|| {
        format!(
            "case `{}`: {}\n  actual:\n    {}",
            case.name,
            problems.join("; "),
            shown.join("\n    ")
        )
    })
}

#[test]
fn every_rule_has_a_broken_fixture() {
    let failures: Vec<String> = CASES.iter().filter_map(check_case).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_rule_code_is_proven() {
    let run = validate(&["--list-rules"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let proven: BTreeSet<&str> = CASES
        .iter()
        .flat_map(|c| c.expect.iter().map(|e| e.code))
        .chain(COVERED_AT_RUN_TIME)
        .collect();
    let unproven: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|code| !proven.contains(code))
        .collect();
    assert!(unproven.is_empty(), "rules without a test: {unproven:?}");
}

/// The definition files of a fixture, relative to it.
pub(crate) fn definition_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["packs", "skus"] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            files.push(Path::new(folder).join(entry.unwrap().file_name()));
        }
    }
    files.sort();
    files
}

#[test]
fn fixtures_are_small_and_say_what_is_broken() {
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            names.push(entry.file_name().into_string().unwrap());
        }
    }
    names.sort();
    let mut known: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    known.push("ok");
    known.sort_unstable();
    assert_eq!(
        names, known,
        "every fixture folder has a case, and every case a folder"
    );
    for name in &names {
        let dir = fixtures().join(name);
        let mut broken = 0;
        for file in definition_files(&dir) {
            let text = std::fs::read_to_string(dir.join(&file)).unwrap();
            assert!(
                text.len() < 2_000,
                "{name}/{}: keep fixtures small",
                file.display()
            );
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("# "),
                "{name}/{}: no comment at the top",
                file.display()
            );
            if first.starts_with("# BROKEN: ") {
                broken += 1;
            }
        }
        if *name == "ok" {
            assert_eq!(broken, 0, "the base catalog is valid");
        } else {
            assert!(
                broken > 0,
                "{name}: no file says `# BROKEN: ` what is wrong"
            );
        }
    }
    let clean = validate(&["--format", "json", "ok"]);
    assert_eq!(clean.code, 0);
    assert_eq!(clean.json()["diagnostics"], Value::Array(Vec::new()));
    assert_eq!(clean.json()["files"], 3);
}

// ---------------------------------------------------------------- what a person sees

/// Compares `case`'s human output with its `expected.txt`, or rewrites it under
/// `UPDATE_GOLDEN=1`.
fn check_human(case: &str) -> Option<String> {
    let run = validate(&[case]);
    let path = fixtures().join(case).join("expected.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &run.stdout).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    (run.stdout != expected).then(|| {
        format!(
            "case `{case}`: the human output differs from {case}/expected.txt:\n{}",
            run.stdout
        )
    })
}

#[test]
fn human_output_shows_the_source_and_the_hint() {
    let stale: Vec<String> = [
        "yaml_syntax_error",
        "toml_type_error",
        "unknown_field_yaml",
        "duplicate_tool_name",
        "requires_cycle",
        "many_problems",
        "unusable_action",
    ]
    .into_iter()
    .filter_map(check_human)
    .collect();
    assert!(
        stale.is_empty(),
        "{}\nafter an intended change, regenerate with: UPDATE_GOLDEN=1 cargo test --test cli validate::",
        stale.join("\n")
    );
}

#[test]
fn human_output_has_no_colour_unless_asked() {
    let has_escape = |run: &Run| run.stdout.contains('\u{1b}');
    let dir = fixtures();
    let args = ["validate", "unknown_field_yaml"];
    // Not a terminal: no colour, with or without NO_COLOR.
    let plain = tai_in(&dir, &args, &[("NO_COLOR", "")]);
    assert!(!has_escape(&plain), "{}", plain.stdout);
    assert!(!has_escape(&tai_in(&dir, &args, &[])));
    let forced = tai_in(
        &dir,
        &["--color", "always", "validate", "unknown_field_yaml"],
        &[],
    );
    assert!(has_escape(&forced), "{}", forced.stdout);
}

#[test]
fn json_output_has_a_stable_shape() {
    let run = validate(&["--format", "json", "duplicate_tool_name"]);
    assert_eq!(run.code, 1);
    let doc = run.json();
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&doc), ["diagnostics", "errors", "files", "warnings"]);
    assert_eq!(
        (
            doc["files"].as_u64(),
            doc["errors"].as_u64(),
            doc["warnings"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    let d = &doc["diagnostics"][0];
    assert_eq!(
        keys(d),
        [
            "code", "column", "field", "file", "help", "label", "line", "message", "notes",
            "severity", "span"
        ]
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "duplicate_tool_name");
    assert_eq!(d["file"], "duplicate_tool_name/packs/extra.toml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(8), Some(8))
    );
    assert_eq!(d["field"], "tools[0].name");
    assert_eq!(d["label"], "used again here");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .contains("unique across the catalog")
    );
    // The span is the offending text, in bytes.
    let text =
        std::fs::read_to_string(fixtures().join("duplicate_tool_name/packs/extra.toml")).unwrap();
    let (offset, length) = (
        d["span"]["offset"].as_u64().unwrap() as usize,
        d["span"]["length"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[offset..offset + length], "\"core_check\"");
    let note = &d["notes"][0];
    assert_eq!(keys(note), ["column", "file", "line", "message"]);
    assert_eq!(note["message"], "first used here");
    assert_eq!(note["file"], "duplicate_tool_name/packs/core.yaml");
    assert_eq!(
        (note["line"].as_u64(), note["column"].as_u64()),
        (Some(6), Some(11))
    );
    // A problem with no position in the file has null line and column.
    let run = validate(&["--format", "json", "comments_only"]);
    let d = &run.json()["diagnostics"][0];
    assert!(
        d["line"].is_null() && d["column"].is_null() && d["span"].is_null(),
        "{d}"
    );
}

#[test]
fn github_output_is_workflow_annotations() {
    let run = validate(&["--format", "github", "duplicate_tool_name"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "::error file=duplicate_tool_name/packs/extra.toml,line=8,col=8,title=duplicate_tool_name::\
         tool name `core_check` is already used%0Ahelp: tool names are unique across the catalog, \
         since clients call tools by name alone\n1 error, 0 warnings in 3 files\n"
    );
    let run = validate(&["--format", "github", "pack_not_sold"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with(
            "::warning file=pack_not_sold/packs/spare.yaml,line=2,col=10,title=pack_not_in_any_sku::no SKU enables pack `spare`%0Ahelp: "
        ),
        "{}",
        run.stdout
    );
    // A problem without a position is annotated on the file alone.
    let run = validate(&["--format", "github", "comments_only"]);
    assert!(
        run.stdout.starts_with("::error file=comments_only/packs/core.yaml,title=empty_file::the file holds only comments"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------- exit status

/// `tai validate --format json PATH` in `dir`: the exit status and the first diagnostic.
pub(crate) fn first_problem(dir: &Path, path: &str) -> (i32, Value) {
    let run = tai_in(dir, &["validate", "--format", "json", path], &[]);
    (run.code, run.json()["diagnostics"][0].clone())
}

#[test]
fn exit_status_says_clean_errors_or_unusable_input() {
    let code = |args: &[&str]| validate(args).code;
    assert_eq!(code(&["ok"]), 0, "clean");
    assert_eq!(code(&["pack_not_sold"]), 0, "warnings only");
    assert_eq!(
        code(&["--deny-warnings", "pack_not_sold"]),
        1,
        "warnings denied"
    );
    assert_eq!(code(&["--deny-warnings", "ok"]), 0);
    assert_eq!(code(&["unknown_action"]), 1, "errors");
    assert_eq!(code(&["--format", "xml", "ok"]), 2, "usage error");
    // A path that cannot be read: exit 2, even next to errors in paths that could be read.
    let (exit, d) = first_problem(&fixtures(), "no_such_catalog");
    assert_eq!(exit, 2);
    assert_eq!(d["code"], "io_error");
    assert_eq!(
        d["message"],
        "cannot read `no_such_catalog`: no such file or directory"
    );
    assert_eq!(d["file"], "no_such_catalog");
    assert_eq!(code(&["unknown_action", "no_such_catalog"]), 2);
    // A folder that is not a catalog, and a file that is not a definition file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("packs")).unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello\n").unwrap();
    let (exit, d) = first_problem(tmp.path(), ".");
    assert_eq!(
        (exit, &d["code"]),
        (2, &Value::from("not_a_catalog")),
        "{d}"
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("it has no `skus` folder"),
        "{d}"
    );
    let (exit, d) = first_problem(tmp.path(), "notes.txt");
    assert_eq!(
        (exit, &d["code"]),
        (2, &Value::from("not_a_catalog")),
        "{d}"
    );
    // A lone file that is neither clearly a pack nor a SKU: an error in the file.
    std::fs::write(tmp.path().join("thing.yaml"), "name: x\n").unwrap();
    let (exit, d) = first_problem(tmp.path(), "thing.yaml");
    assert_eq!(
        (exit, &d["code"]),
        (1, &Value::from("unknown_file_kind")),
        "{d}"
    );
}

#[test]
fn a_folder_named_like_a_definition_file_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(copy_of_ok(tmp.path()).join("packs/sub.yaml")).unwrap();
    let (exit, d) = first_problem(tmp.path(), "catalog");
    assert_eq!((exit, &d["code"]), (2, &Value::from("io_error")), "{d}");
    assert_eq!(
        d["message"],
        "cannot read `catalog/packs/sub.yaml`: it is a directory"
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_folder_is_an_input_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let skus = copy_of_ok(tmp.path()).join("skus");
    std::fs::set_permissions(&skus, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable_anyway = std::fs::read_dir(&skus).is_ok();
    let (exit, d) = first_problem(tmp.path(), "catalog");
    std::fs::set_permissions(&skus, std::fs::Permissions::from_mode(0o755)).unwrap();
    if readable_anyway {
        // Run by a user who can read anything: nothing to prove here.
        assert_eq!(exit, 0, "{d}");
        return;
    }
    assert_eq!((exit, &d["code"]), (2, &Value::from("io_error")), "{d}");
    assert_eq!(
        d["message"],
        "cannot read `catalog/skus`: permission denied"
    );
}

/// Copies the valid base catalog to `dir/catalog`.
pub(crate) fn copy_of_ok(dir: &Path) -> PathBuf {
    let to = dir.join("catalog");
    for rel in definition_files(&fixtures().join("ok")) {
        std::fs::create_dir_all(to.join(&rel).parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join("ok").join(&rel), to.join(&rel)).unwrap();
    }
    to
}

// ---------------------------------------------------------------- the shipped catalogs

fn check_shipped(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["errors"], 0, "{}", run.stdout);
    let warnings = doc["diagnostics"].as_array().unwrap();
    assert!(warnings.iter().all(|d| d["severity"] == "warning"));
    // The professional plan grants no `write_config`: storm_discipline's throttle actions
    // are listed but refused, and validation says which and why.
    let professional: Vec<&str> = warnings
        .iter()
        .filter(|d| d["code"] == "unusable_action")
        .filter_map(|d| d["message"].as_str())
        .filter(|m| m.contains("`rollback-guard-professional`") && m.contains("`storm_discipline`"))
        .collect();
    assert!(!professional.is_empty(), "{}", run.stdout);
    assert!(
        professional
            .iter()
            .all(|m| m.ends_with("missing role `write_config`")),
        "{professional:?}"
    );
    assert!(
        professional
            .iter()
            .any(|m| m.contains("action `activate_throttle`")),
        "{professional:?}"
    );
}

#[test]
fn the_shipped_catalog_is_valid() {
    // From the repository root, without PATH: `./packs` and `./skus`.
    let root = common::root();
    let run = tai_in(root, &["validate", "--format", "json"], &[]);
    check_shipped(&run);
    let file = run.json()["diagnostics"][0]["file"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(file.starts_with("./skus/"), "{file}");
    assert_eq!(tai_in(root, &["validate", "--deny-warnings"], &[]).code, 1);
}

#[test]
fn the_built_in_catalog_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tai_in(tmp.path(), &["validate", "--format", "json"], &[]);
    check_shipped(&run);
    let file = run.json()["diagnostics"][0]["file"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(file.starts_with("<built-in>/skus/"), "{file}");
}

/// serde_yaml places a bad value of the document's own mapping, and a key given twice, where
/// the mapping starts, and a second document nowhere; tai points at the value, at the key's
/// second occurrence and at the second document's `---`.
#[test]
fn yaml_errors_point_at_the_value_and_at_the_repeated_key() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "p.yaml",
            "# c\n\nversion: 1.0.0\ndescription: d\npack_id: Bad\n",
        ),
        (
            "d.yaml",
            "pack_id: p\nversion: 0.1.0\ndescription: d\ntools: []\nversion: 0.2.0\n",
        ),
        (
            "n.yaml",
            "pack_id: n\nversion: 0.1.0\ndescription: d\nactions: [{id: a, roles: [r]}]\n\
             tools:\n  - name: n_a\n    description: t\n    input_schema: {type: object}\n\
             \x20   action: a\n    handler: {kind: simulated, result: {}}\n    action: a\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    // A merge key: said to be one, where it is (not "missing field" of what it merges).
    std::fs::write(
        dir.path().join("k.yaml"),
        "pack_id: k\nversion: 1.0.0\ndescription: d\nactions: [{id: a, roles: [r]}]\ntools:\n\
         \x20 - {name: k_a, description: t, input_schema: {type: object}, action: a, handler: &h {kind: simulated, result: {}}}\n\
         \x20 - name: k_b\n    description: t\n    input_schema: {type: object}\n    action: a\n\
         \x20   handler:\n      <<: *h\n",
    )
    .unwrap();
    // Two documents in one file: placed at the second one's `---`.
    std::fs::write(
        dir.path().join("m.yaml"),
        "# two packs\npack_id: a\nversion: 1.0.0\ndescription: x\n---\npack_id: b\n",
    )
    .unwrap();
    let out = tai_in(
        dir.path(),
        &[
            "validate", "p.yaml", "d.yaml", "n.yaml", "m.yaml", "k.yaml", "--format", "json",
        ],
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let at: BTreeSet<(String, u64, u64)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for want in [
        ("p.yaml", 5, 10),
        ("d.yaml", 5, 1),
        ("n.yaml", 11, 5),
        ("m.yaml", 5, 1),
        ("k.yaml", 12, 7),
    ] {
        assert!(
            at.contains(&(want.0.to_owned(), want.1, want.2)),
            "{want:?} not in {at:?}"
        );
    }
    assert!(
        out.stdout
            .contains("YAML merge keys (`<<`) are not supported"),
        "{}",
        out.stdout
    );
}
