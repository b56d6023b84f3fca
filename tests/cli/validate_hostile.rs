//! `tai validate` over hostile input, as a user would meet it: empty, binary, truncated and
//! non-UTF-8 files, deep nesting, alias bombs, huge files and lines, a FIFO. Each is refused
//! in time with one diagnostic that says where.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::process::Command;

use crate::validate::{copy_of_ok, first_problem, position, tai_in};

/// Validates the base catalog with `file` (under `catalog/`) replaced by `bytes`, checking
/// it finishes in time with exit status 1 and one diagnostic: `code` at `at`, with a hint
/// and a message containing `message`.
fn hostile(file: &str, bytes: &[u8], code: &str, at: &str, message: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = copy_of_ok(tmp.path());
    std::fs::write(catalog.join(file), bytes).unwrap();
    let run = tai_in(
        tmp.path(),
        &["validate", "--format", "json", "catalog"],
        &[],
    );
    let doc = run.json();
    let shown = serde_json::to_string_pretty(&doc).unwrap();
    let shown = format!("{file} ({code}): {}", &shown[..shown.len().min(3_000)]);
    assert_eq!(run.code, 1, "{shown}");
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "one problem, no cascade: {shown}");
    let d = &diagnostics[0];
    assert_eq!(d["code"], code, "{shown}");
    assert_eq!(position(d, "catalog/"), at, "{shown}");
    assert!(d["message"].as_str().unwrap().contains(message), "{shown}");
    assert!(d["help"].is_string(), "no hint: {shown}");
}

const OK_CORE: &str = include_str!("../fixtures/validate/ok/packs/core.yaml");
const OK_EXTRA: &str = include_str!("../fixtures/validate/ok/packs/extra.toml");

#[test]
fn empty_binary_truncated_and_non_utf8_files_are_refused() {
    let core_cut = OK_CORE.find("core_check").unwrap() + 5;
    let extra_cut = OK_EXTRA.find("version = ").unwrap() + 10;
    let cases: [(&str, &[u8], &str, &str, &str); 7] = [
        (
            "packs/core.yaml",
            b"",
            "empty_file",
            "packs/core.yaml",
            "the file is empty",
        ),
        (
            "packs/extra.toml",
            b"\n\n",
            "empty_file",
            "packs/extra.toml",
            "the file is empty",
        ),
        (
            "packs/core.yaml",
            b"pack_id: co\0re\n",
            "invalid_encoding",
            "packs/core.yaml:1:12",
            "the file is binary (it contains a NUL byte)",
        ),
        (
            "packs/core.yaml",
            b"pack_id: core\nversion: 1.0.0\ndescription: caf\xe9\n",
            "invalid_encoding",
            "packs/core.yaml:3:17",
            "the file is not UTF-8 text",
        ),
        // The SKU that could not be read is not reported as granting nothing.
        (
            "skus/basic.yaml",
            &[0xff, 0xfe, 0x00],
            "invalid_encoding",
            "skus/basic.yaml:1:3",
            "binary",
        ),
        (
            "packs/core.yaml",
            &OK_CORE.as_bytes()[..core_cut],
            "missing_field",
            "packs/core.yaml:6:5",
            "missing field `description`",
        ),
        (
            "packs/extra.toml",
            &OK_EXTRA.as_bytes()[..extra_cut],
            "syntax_error",
            "packs/extra.toml:3:11",
            "string values must be quoted",
        ),
    ];
    for (file, bytes, code, at, message) in cases {
        hostile(file, bytes, code, at, message);
    }
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let yaml = |open: &str| format!("pack_id: core\nversion: {}", open.repeat(100_000));
    let toml = |open: &str| format!("pack_id = \"extra\"\nversion = {}", open.repeat(100_000));
    // YAML stops at the 129th level (column 10 holds the first bracket); TOML where its
    // parser's own limit is.
    for (file, text, at) in [
        ("packs/core.yaml", yaml("["), "packs/core.yaml:2:138"),
        ("packs/core.yaml", yaml("{a: "), "packs/core.yaml:2:522"),
        ("packs/extra.toml", toml("["), "packs/extra.toml:2:91"),
        ("packs/extra.toml", toml("{a = "), "packs/extra.toml:2:411"),
    ] {
        hostile(
            file,
            text.as_bytes(),
            "nesting_too_deep",
            at,
            "values nest too deeply",
        );
    }
}

#[test]
fn a_yaml_alias_bomb_is_refused() {
    // Nine to the tenth values where any value is allowed: a tool's simulated result.
    let mut result =
        String::from("result:\n        a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        result.push_str(&format!("        a{i}: &a{i} [{refs}]\n"));
    }
    let text = OK_CORE.replace("result: { ok: true }\n", &result);
    let at = "packs/core.yaml:17:18";
    hostile(
        "packs/core.yaml",
        text.as_bytes(),
        "alias_limit_exceeded",
        at,
        "YAML aliases expand to too many values",
    );
}

#[test]
fn a_50_mb_file_is_refused_unread() {
    let big = "# padding\n".repeat(5 * 1024 * 1024);
    let message = "the file is 50.0 MiB, more than the 10 MiB limit";
    hostile(
        "packs/core.yaml",
        big.as_bytes(),
        "file_too_large",
        "packs/core.yaml",
        message,
    );
}

#[test]
fn a_megabyte_long_line_is_located_in_linear_time() {
    // Every event on one line: locating each used to cost the line's length.
    let text = format!("{OK_CORE}x-junk: [{}]\n", "a, ".repeat(300_000));
    let at = "packs/core.yaml:21:1";
    hostile(
        "packs/core.yaml",
        text.as_bytes(),
        "unknown_field",
        at,
        "unknown field `x-junk`",
    );
}

#[test]
fn thousands_of_problems_render_in_linear_time() {
    // Each snippet used to cost the whole file, and each lookup the whole mapping.
    let keys: Vec<String> = (0..20_000).map(|i| format!("k{i}: 1\n")).collect();
    let tmp = tempfile::tempdir().unwrap();
    let catalog = copy_of_ok(tmp.path());
    std::fs::write(
        catalog.join("packs/core.yaml"),
        format!("{OK_CORE}{}", keys.concat()),
    )
    .unwrap();
    let run = tai_in(tmp.path(), &["validate", "catalog"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(" 20020 │ k19999: 1\n"),
        "{}",
        &run.stdout[run.stdout.len() - 600..]
    );
    assert!(
        run.stdout
            .ends_with("20000 errors, 0 warnings in 3 files\n")
    );
}

#[test]
fn input_schemas_that_do_not_compile_are_errors_where_they_are() {
    for (broken, line) in [
        ("target: { type: string, pattern: \"(\" }", 11),
        // An unresolvable reference is reported at the schema itself.
        ("target: { $ref: \"#/$defs/nowhere\" }", 8),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let core = copy_of_ok(tmp.path()).join("packs/core.yaml");
        let text = std::fs::read_to_string(&core).unwrap();
        std::fs::write(&core, text.replace("target: { type: string }", broken)).unwrap();
        let (exit, d) = first_problem(tmp.path(), "catalog");
        assert_eq!(
            (exit, &d["code"]),
            (1, &Value::from("invalid_input_schema")),
            "{d}"
        );
        assert!(
            d["message"].as_str().unwrap().contains("does not compile"),
            "{d}"
        );
        assert_eq!(d["line"], line, "{d}");
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = copy_of_ok(tmp.path()).join("packs/zz.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let (exit, d) = first_problem(tmp.path(), "catalog");
    assert_eq!((exit, &d["code"]), (2, &Value::from("io_error")), "{d}");
    assert_eq!(
        d["message"],
        "cannot read `catalog/packs/zz.yaml`: it is not a regular file"
    );
}
