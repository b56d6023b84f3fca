//! The browsing views in a terminal of 80 and of 200 columns, with and without colour: every
//! line fits, a table's lines are equally wide, colour codes are whole and take no room, and
//! ids are never cut in two where the width allows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{self, Run};

const BASE: &str = "rollback-guard-base";
const PRO: &str = "rollback-guard-professional";
const ENTERPRISE: &str = "governance-suite-enterprise";
const PARTNER: &str = "partner-observability-edition";

/// `tai ARGS` with `COLUMNS=width` and `--color always|never`.
fn view(args: &[&str], width: u16, color: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let run: Run = common::tai()
        .args(args)
        .args(["--color", if color { "always" } else { "never" }])
        .env("COLUMNS", width.to_string())
        .current_dir(dir.path())
        .output()
        .unwrap()
        .into();
    run.ok().stdout
}

/// `text` without its colour codes, asserting each one is a whole `ESC [ digits ; m`.
fn visible(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        let code = &rest[at + 1..];
        let end = code
            .find('m')
            .unwrap_or_else(|| panic!("an unfinished colour code in {text:?}"));
        let params = &code[..end];
        assert!(
            params.starts_with('[') && params[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "a colour code split or mangled: {:?}",
            &code[..end.min(12)]
        );
        rest = &code[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Checks one view at one width, with and without colour, and returns its visible text.
fn check(args: &[&str], width: u16) -> String {
    let plain = view(args, width, false);
    assert!(!plain.contains('\x1b'), "colour with --color never");
    let coloured = view(args, width, true);
    assert!(coloured.contains("\x1b["), "no colour with --color always");
    for line in coloured.lines() {
        let shown = visible(line);
        assert!(
            !line.contains('\x1b') || line.ends_with('m') || line.contains("\x1b[0m"),
            "a colour left open: {line:?}"
        );
        assert!(
            shown.chars().count() <= usize::from(width),
            "wider than {width}: {shown}"
        );
    }
    // Colour changes nothing of the layout.
    assert_eq!(visible(&coloured), plain, "{args:?} at {width}");
    // Every line of a table is as wide as its top border.
    let mut table_width = None;
    for line in plain.lines() {
        let n = line.chars().count();
        match line.chars().next() {
            Some('╭') => table_width = Some(n),
            Some('│' | '╞' | '├' | '╰') => {
                assert_eq!(Some(n), table_width, "misaligned: {line}\n{plain}");
            }
            _ => table_width = None,
        }
    }
    plain
}

/// Asserts each of `ids` stands whole in `text`.
fn whole(text: &str, ids: &[&str]) {
    for id in ids {
        assert!(
            text.split(|c: char| c.is_whitespace() || "│┆".contains(c))
                .any(|w| w.trim_end_matches(',') == *id),
            "`{id}` is not whole in:\n{text}"
        );
    }
}

#[test]
fn sku_list_is_a_price_ladder_at_any_width() {
    for width in [80, 200] {
        let text = check(&["sku", "list"], width);
        whole(
            &text,
            &[
                BASE,
                PRO,
                PARTNER,
                ENTERPRISE,
                "$2,999.00/mo",
                "$8,990.00/yr",
            ],
        );
        let at = |id: &str| text.find(id).unwrap();
        assert!(at(BASE) < at(PRO) && at(PRO) < at(PARTNER) && at(PARTNER) < at(ENTERPRISE));
        assert!(text.contains("TAI Rollback Guard — Base"), "{text}");
        assert!(text.contains("4 SKUs"));
    }
    // Wide enough, the packs and roles are listed.
    let wide = check(&["sku", "list"], 200);
    whole(
        &wide,
        &["advanced_analytics", "storm_discipline", "read_audit_trail"],
    );
    let by_id = check(&["sku", "list", "--sort", "id"], 200);
    assert!(by_id.find(ENTERPRISE).unwrap() < by_id.find(BASE).unwrap());
}

#[test]
fn sku_compare_is_a_plan_by_tool_matrix_at_any_width() {
    let args = ["sku", "compare", BASE, PRO, ENTERPRISE];
    for width in [80, 200] {
        let text = check(&args, width);
        whole(
            &text,
            &[
                BASE,
                PRO,
                ENTERPRISE,
                "$29.00/mo",
                "$2,999.00/mo",
                "ac_rollback_orchestrator",
                "ac_deployment_validator",
                "ac_receipt_verify",
                "advanced_analytics",
            ],
        );
        let row = |tool: &str| {
            text.lines()
                .find(|l| l.contains(&format!(" {tool} ")))
                .unwrap_or_else(|| panic!("no row for {tool}:\n{text}"))
                .split('┆')
                .skip(2)
                .map(|c| {
                    c.trim_matches(|c: char| c.is_whitespace() || c == '│')
                        .to_owned()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            row("ac_audit_trail_export"),
            ["refused", "usable", "usable"]
        );
        assert_eq!(row("ac_throttle_config"), ["—", "refused", "usable"]);
        assert_eq!(row("ac_analytics_query"), ["—", "—", "usable"]);
        assert_eq!(row("ac_receipt_verify"), ["usable", "usable", "usable"]);
    }
}

#[test]
fn sku_compare_json_and_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tai = |args: &[&str]| -> Run {
        common::tai()
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
            .into()
    };
    let json = tai(&["sku", "compare", BASE, PRO, "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["plans"][1]["sku_id"], PRO);
    assert_eq!(json["plans"][0]["price_label"], "$29.00/mo");
    let audit = json["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "ac_audit_trail_export")
        .unwrap();
    assert_eq!(audit["access"], serde_json::json!(["refused", "usable"]));
    assert_eq!(audit["missing_roles"][0][0], "read_audit_trail");
    assert_eq!(json["tools"].as_array().unwrap().len(), 11);

    let one = tai(&["sku", "compare", BASE]);
    assert_eq!(one.code, 2, "{}", one.stderr);
    let unknown = tai(&["sku", "compare", BASE, "rollback-guard-bse"]);
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains(BASE), "{}", unknown.stderr);
}

#[test]
fn sku_show_pack_views_and_tools_fit_at_any_width() {
    for width in [80, 200] {
        let text = check(&["sku", "show", PRO], width);
        whole(
            &text,
            &[
                "ac_rollback_orchestrator",
                "ac_deployment_validator",
                "receipt_verifier",
            ],
        );
        let text = check(&["tools", "--sku", PRO], width);
        whole(&text, &["ac_rollback_orchestrator", "ac_receipt_verify"]);
        let text = check(&["pack", "list"], width);
        whole(&text, &["advanced_analytics", "storm_discipline"]);
        check(&["pack", "show", "rollback_guard"], width);
    }
}

#[test]
fn sku_compare_writes_an_html_page_and_a_markdown_table() {
    let run = |format: &str| -> Run {
        common::tai()
            .args(["sku", "compare", BASE, PRO, "--format", format])
            .output()
            .unwrap()
            .into()
    };
    let html = run("html").ok().stdout;
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.contains("<script") && !html.contains("<link"));
    assert!(html.contains(
        "TAI Rollback Guard — Base<br><span class=\"mono\">rollback-guard-base</span><br>$29.00/mo"
    ));
    assert!(html.contains(
        "<td class=\"mono\">ac_audit_trail_export</td><td>receipt_verifier</td>\
         <td class=\"refused\">refused: needs read_audit_trail</td><td class=\"usable\">usable</td>"
    ));

    let md = run("markdown").ok().stdout;
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(
        lines[0],
        "| Tool | Pack | TAI Rollback Guard — Base (`rollback-guard-base`, $29.00/mo) | \
         TAI Rollback Guard — Professional (`rollback-guard-professional`, $299.00/mo) |"
    );
    assert_eq!(lines[1], "|---|---|---|---|");
    assert!(lines.contains(
        &"| `ac_audit_trail_export` | `receipt_verifier` | refused: needs read_audit_trail | usable |"
    ));
    // Every row has as many cells as the header.
    for l in &lines {
        assert_eq!(l.matches('|').count(), 5, "{l}");
    }
}

#[test]
fn the_receipts_and_coverage_tables_fit_at_any_width() {
    let state = tempfile::tempdir().unwrap();
    let ledger = state.path().join("demo");
    let made = common::tai()
        .args(["simulate", "--ledger", ledger.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0));
    let suite = common::root().join("tests/scenarios");
    for width in [80, 200] {
        let receipts = check(
            &[
                "--state",
                ledger.to_str().unwrap(),
                "receipts",
                "show",
                "--tenant",
                "acme",
            ],
            width,
        );
        // The suite's PASS lines name their files by path; the table is what must fit.
        let coverage = view(
            &["test", suite.to_str().unwrap(), "--coverage"],
            width,
            false,
        );
        let table: Vec<&str> = coverage
            .lines()
            .filter(|l| l.starts_with(['╭', '│', '╞', '├', '╰']))
            .collect();
        assert!(table.len() > 3, "{coverage}");
        for line in &table {
            assert!(line.chars().count() <= usize::from(width), "{line}");
        }
        // Six columns of receipts cannot keep every word whole in 80 columns; every line
        // still fits and lines up (checked above). Where the width allows, nothing is cut.
        if width == 200 {
            whole(
                &receipts,
                &["tool_surface_changed", "insufficient_privilege"],
            );
            whole(&coverage, &["(governor)", "rollback_guard"]);
        }
    }
}
