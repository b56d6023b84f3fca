//! Loading end to end: what a person sees for each kind of broken file.

use super::*;
use crate::intake::{MAX_YAML_DEPTH, yaml_depth_exceeded};

fn file(kind: DocKind, syntax: Syntax, text: &str) -> SourceFile {
    let ext = match syntax {
        Syntax::Yaml => "yaml",
        Syntax::Toml => "toml",
    };
    SourceFile {
        path: PathBuf::from(format!("{}/x.{ext}", kind.folder())),
        kind,
        syntax,
        text: text.to_owned(),
    }
}

/// A valid SKU enabling pack `x`.
const SKU_X: &str = "sku_id: x\nplan_id: p\ntitle: t\nprice: { amount: 1 }\nenabled_packs: [x]\n";

fn codes_of(ds: &[Diagnostic]) -> Vec<Code> {
    ds.iter().map(|d| d.code).collect()
}

fn problems(kind: DocKind, syntax: Syntax, text: &str) -> Vec<Diagnostic> {
    check(&[file(kind, syntax, text)], Scope::Fragment)
        .report
        .diagnostics()
        .to_vec()
}

#[test]
fn every_unknown_field_is_reported_with_a_hint() {
    let text =
        "pack_id: x\nversion: 1.0.0\ndescription: d\nrequries: []\ntools: []\nstorgae: none\n";
    let ds = problems(DocKind::Pack, Syntax::Yaml, text);
    let unknown: Vec<_> = ds.iter().filter(|d| d.code == Code::UnknownField).collect();
    assert_eq!(unknown.len(), 2, "{ds:#?}");
    assert_eq!(unknown[0].message, "unknown field `requries`");
    assert_eq!(unknown[0].help.as_deref(), Some("did you mean `requires`?"));
    assert_eq!(
        unknown[0].location.map(|l| (l.line, l.column)),
        Some((4, 1))
    );
    assert_eq!(unknown[1].help.as_deref(), Some("did you mean `storage`?"));
}

#[test]
fn toml_errors_have_positions() {
    let text = "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = 3\n";
    let ds = problems(DocKind::Pack, Syntax::Toml, text);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].code, Code::InvalidValue);
    assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((3, 15)));
    let ds = problems(DocKind::Pack, Syntax::Toml, "pack_id = [1,\n");
    assert_eq!(ds[0].code, Code::Syntax, "{ds:#?}");
}

#[test]
fn yaml_type_errors_are_not_syntax_errors() {
    let ds = problems(
        DocKind::Sku,
        Syntax::Yaml,
        "sku_id: s\nplan_id: p\ntitle: t\nprice: { amount: x }\nenabled_packs: [a]\n",
    );
    assert_eq!(ds[0].code, Code::InvalidValue, "{ds:#?}");
    assert_eq!(ds[0].location.map(|l| l.line), Some(4));
    let ds = problems(DocKind::Sku, Syntax::Yaml, "sku_id: [s\n");
    assert_eq!(ds[0].code, Code::Syntax, "{ds:#?}");
    let ds = problems(DocKind::Sku, Syntax::Yaml, "sku_id: s\n");
    assert_eq!(ds[0].code, Code::MissingField, "{ds:#?}");
}

#[test]
fn yaml_syntax_errors_are_reported_where_they_are() {
    // The type error at `[` comes first in the event stream; the real problem is the
    // unclosed flow sequence, found at `tools:`.
    let text = "pack_id: x\nversion: 1.0.0\ndescription: [d\ntools: []\n";
    let ds = problems(DocKind::Pack, Syntax::Yaml, text);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].code, Code::Syntax);
    assert_eq!(ds[0].message, "did not find expected ',' or ']'");
    assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((4, 6)));
    let note = &ds[0].notes[0];
    assert_eq!(note.message, "a flow sequence starts here");
    assert_eq!(note.location.map(|l| (l.line, l.column)), Some((3, 14)));
}

#[test]
fn deep_yaml_flow_nesting_is_refused_before_parsing() {
    for open in ["[", "{a: ", "[&x "] {
        let text = format!("pack_id: x\nversion: {}", open.repeat(100_000));
        let start = std::time::Instant::now();
        let ds = problems(DocKind::Pack, Syntax::Yaml, &text);
        assert!(
            start.elapsed().as_secs() < 5,
            "{open}: {:?}",
            start.elapsed()
        );
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(ds[0].code, Code::TooDeep);
        let at = ds[0].location.unwrap();
        assert_eq!(at.line, 2);
        assert_eq!(at.column, 10 + MAX_YAML_DEPTH * open.len());
    }
    // Brackets in plain text, quoted scalars and comments do not count.
    let words = "a [b ".repeat(500);
    let text = format!(
        "d: {words}\ne: '{}'\nf: \"{}\" # {}\ng: [[[1]]]\n",
        "[".repeat(500),
        "{".repeat(500),
        "[".repeat(500)
    );
    assert_eq!(yaml_depth_exceeded(&text), None);
    assert_eq!(yaml_depth_exceeded(&"[".repeat(128)), None);
    assert_eq!(yaml_depth_exceeded(&"[".repeat(129)), Some(128));
}

#[test]
fn files_with_only_comments_are_empty() {
    let ds = problems(DocKind::Pack, Syntax::Yaml, "# todo\n---\n\n");
    assert_eq!(ds[0].code, Code::EmptyFile, "{ds:#?}");
    assert_eq!(ds[0].message, "the file holds only comments");
    let ds = problems(DocKind::Sku, Syntax::Toml, " \n");
    assert_eq!(ds[0].message, "the file is empty", "{ds:#?}");
}

#[test]
fn parser_messages_are_worded_for_people() {
    let ds = problems(
        DocKind::Sku,
        Syntax::Yaml,
        "sku_id: s\nplan_id: p\ntitle: t\nprice: { amount: x }\nenabled_packs: [a]\n",
    );
    assert_eq!(
        ds[0].message,
        "`price.amount`: invalid type: string \"x\", expected a number"
    );
}

#[test]
fn bad_compute_limit_types_are_compute_limit_errors() {
    let yaml = "pack_id: x\nversion: 1.0.0\ndescription: d\ncompute_limits: { timeout_ms: -5 }\n";
    let toml = "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = \"d\"\n[compute_limits]\nmax_memory_mb = 1.5\n";
    for (syntax, text, field, found, at) in [
        (Syntax::Yaml, yaml, "timeout_ms", "integer `-5`", (4, 31)),
        (
            Syntax::Toml,
            toml,
            "max_memory_mb",
            "floating point `1.5`",
            (5, 17),
        ),
    ] {
        let ds = problems(DocKind::Pack, syntax, text);
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(ds[0].code, Code::InvalidComputeLimit);
        assert_eq!(
            ds[0].message,
            format!("`{field}` must be a positive whole number, found {found}")
        );
        assert_eq!(
            ds[0].field.as_ref().map(ToString::to_string),
            Some(format!("compute_limits.{field}"))
        );
        assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some(at));
        assert!(
            ds[0]
                .help
                .as_deref()
                .unwrap()
                .contains("positive whole number")
        );
    }
}

#[test]
fn missing_fields_name_where_they_belong() {
    let text = "# a pack\npack_id = \"x\"\nversion = \"1.0.0\"\n";
    let ds = problems(DocKind::Pack, Syntax::Toml, text);
    assert_eq!(ds[0].code, Code::MissingField, "{ds:#?}");
    assert_eq!(
        ds[0].help.as_deref(),
        Some("add `description`: every pack has one")
    );
    // At the first entry, not the comment above it.
    assert_eq!(ds[0].location.map(|l| l.line), Some(2));
    let text =
        "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = \"d\"\n\n[[tools]]\nname = \"t\"\n";
    let ds = problems(DocKind::Pack, Syntax::Toml, text);
    assert_eq!(
        ds[0].field.as_ref().map(ToString::to_string).as_deref(),
        Some("tools[0].description"),
        "{ds:#?}"
    );
    assert_eq!(ds[0].location.map(|l| l.line), Some(5));
}

#[test]
fn files_that_did_not_load_cause_no_further_errors() {
    let pack = file(
        DocKind::Pack,
        Syntax::Yaml,
        "pack_id: x\nversion: 1.0.0\ndescription: d\nactions: [{ id: a, roles: [r] }]\n",
    );
    // A SKU with a missing field: its roles and packs are unknown, so nothing is
    // "never granted" or "never sold".
    let sku = file(
        DocKind::Sku,
        Syntax::Yaml,
        "sku_id: x\nenabled_packs: [x]\niam_roles: [r]\n",
    );
    let report = check(&[pack.clone(), sku], Scope::Catalog).report;
    let codes = codes_of(report.diagnostics());
    assert_eq!(codes, [Code::MissingField], "{report}");
    // A pack file that could not be read is not reported as an unknown pack.
    let sku = file(
        DocKind::Sku,
        Syntax::Yaml,
        "sku_id: x\nplan_id: p\ntitle: t\nprice: { amount: 1 }\nenabled_packs: [x, gone]\niam_roles: [r]\n",
    );
    let inputs = Inputs {
        files: vec![pack, sku],
        problems: vec![Diagnostic::new(Code::InvalidEncoding, "x").in_file("c/packs/gone.yaml")],
        paths_seen: 3,
    };
    let report = check_inputs(&inputs, Scope::Catalog).report;
    let codes = codes_of(report.diagnostics());
    assert_eq!(codes, [Code::InvalidEncoding], "{report}");
    // A pack whose id is misspelt is known by its file name too.
    let mut pack = file(
        DocKind::Pack,
        Syntax::Yaml,
        "pack_id: X\nversion: 1.0.0\ndescription: d\n",
    );
    pack.path = PathBuf::from("packs/x.yaml");
    let report = check(
        &[pack, file(DocKind::Sku, Syntax::Yaml, SKU_X)],
        Scope::Catalog,
    )
    .report;
    let codes = codes_of(report.diagnostics());
    assert_eq!(codes, [Code::InvalidValue], "{report}");
    assert_eq!(
        report.diagnostics()[0].help.as_deref(),
        Some("`tai schema pack` shows what each field takes")
    );
}

#[test]
fn unknown_handler_fields_point_at_the_field() {
    let text = "pack_id: x\nversion: 1.0.0\ndescription: d\ntools:\n  - name: t\n    description: d\n    action: a\n    handler: { kind: simulated, duraton_ms: 5 }\nactions: [{ id: a }]\n";
    let ds = problems(DocKind::Pack, Syntax::Yaml, text);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(
        ds[0].message,
        "unknown field `duraton_ms` in `tools[0].handler`"
    );
    assert_eq!(ds[0].help.as_deref(), Some("did you mean `duration_ms`?"));
    assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((8, 33)));
}

#[test]
fn a_bad_value_does_not_hide_the_rest_of_the_file() {
    // Each value error is left out in turn, so every problem is reported at once, and
    // the pack's own rules still run.
    let text = "pack_id: x\nversion: one\ndescription: d\ntools:\n  - name: t\n    description: d\n    action: a\n    handler: { kind: simulated, duraton_ms: 5 }\nactions:\n  - id: a\n    compute_limits: { timeout_ms: -5, max_memory_mb: x }\n    rolse: []\n";
    let ds = problems(DocKind::Pack, Syntax::Yaml, text);
    let found: Vec<(Code, usize)> = ds
        .iter()
        .map(|d| (d.code, d.location.map_or(0, |l| l.line)))
        .collect();
    assert_eq!(
        found,
        [
            (Code::InvalidVersion, 2),
            (Code::UnknownField, 8),
            (Code::InvalidComputeLimit, 11),
            (Code::InvalidComputeLimit, 11),
            (Code::UnknownField, 12),
        ],
        "{ds:#?}"
    );
    // A required field with a bad value cannot be left out: the rest still is read.
    let text = "pack_id: x\nversion: [1]\ndescription: d\nrequries: []\n";
    let ds = problems(DocKind::Pack, Syntax::Yaml, text);
    let codes = codes_of(&ds);
    assert_eq!(codes, [Code::InvalidValue, Code::UnknownField], "{ds:#?}");
    // TOML too; and a partly parsed pack is not checked against the catalog.
    let pack = file(
        DocKind::Pack,
        Syntax::Toml,
        "pack_id = \"x\"\nversion = \"1\"\ndescription = \"d\"\nrequires = \"y\"\n",
    );
    let report = check(
        &[pack, file(DocKind::Sku, Syntax::Yaml, SKU_X)],
        Scope::Catalog,
    )
    .report;
    let codes = codes_of(report.diagnostics());
    assert_eq!(
        codes,
        [Code::InvalidVersion, Code::InvalidValue],
        "{report}"
    );
}

#[test]
fn kinds_are_told_from_content() {
    assert_eq!(kind_of_text("pack_id: a\n"), Some(DocKind::Pack));
    assert_eq!(kind_of_text("sku_id = \"a\"\n"), Some(DocKind::Sku));
    assert_eq!(kind_of_text("x:\n  pack_id: a\n"), None);
    assert_eq!(kind_of_text("pack_id: a\nsku_id: b\n"), None);
}
