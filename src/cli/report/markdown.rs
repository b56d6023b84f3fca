//! Reports as Markdown (GitHub-flavoured: tables, and the governor as a Mermaid diagram).

use std::fmt::Write as _;

use crate::catalog::Catalog;
use crate::catalog::view::PlanMatrix;
use crate::explain::explain;
use crate::governor::possible_transitions;
use crate::scenario::{Run, Scenario};

use super::{Simulation, access_text, usable_counts};
use crate::cli::timeline;

/// Text for a table cell: a `|` would end the cell and a newline the row.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// Text for running prose: characters Markdown would read as formatting are escaped, except
/// backticks: tai's explanations quote ids as `code`, which Markdown then shows as such.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code && matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A simulation: the plans, the governor's transitions, the timeline and every receipt.
pub fn simulation_markdown(scenario: &Scenario, run: &Run, catalog: &Catalog) -> String {
    let sim = Simulation::new(run, catalog);
    let mut b = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(b, "# {}\n", prose(&scenario.name));
    if let Some(d) = &scenario.description {
        let _ = writeln!(b, "{}\n", prose(d.trim()));
    }
    let mark = if run.passed() { "✓" } else { "✗" };
    let _ = writeln!(b, "**{mark} {}**\n", prose(&sim.verdict()));

    if !sim.plans.is_empty() {
        b.push_str("## Plans\n\n| SKU | Title | Price | Packs | Tools | Roles |\n|---|---|---|---|---|---|\n");
        for p in &sim.plans {
            let _ = writeln!(
                b,
                "| `{}` | {} | {} | {} | {} ({} usable) | {} |",
                p.sku_id,
                cell(p.title),
                cell(&p.price_label),
                cell(&codes(p.enabled_packs.iter().map(|x| x.as_str()))),
                p.tools,
                p.usable_tools,
                cell(&codes(p.iam_roles.iter().map(|x| x.as_str()))),
            );
        }
        b.push('\n');
    }

    if !sim.tenants.is_empty() {
        b.push_str("## The governor\n\n```mermaid\nstateDiagram-v2\n    [*] --> boot\n");
        let mut edges: Vec<(String, String)> = possible_transitions(catalog)
            .into_iter()
            .filter(|t| t.from != t.to)
            .map(|t| (t.from.to_string(), t.to.to_string()))
            .collect();
        edges.sort();
        edges.dedup();
        for (from, to) in edges {
            let _ = writeln!(b, "    {from} --> {to}");
        }
        b.push_str("```\n\n");
        for end in &sim.tenants {
            let _ = writeln!(b, "- `{}` ends in **{}**", end.tenant, end.state);
        }
        b.push('\n');
    }

    b.push_str("## Timeline\n\n");
    for step in &run.steps {
        let title = step.name.clone().unwrap_or_else(|| step.kind.to_owned());
        let _ = writeln!(
            b,
            "{}. **{}** — {}",
            step.index,
            prose(&title),
            prose(&step.summary)
        );
        for r in &step.receipts {
            let _ = writeln!(b, "   - `{}`", timeline::line(r).replace('`', "'"));
        }
        for r in &step.receipts {
            if let Some(e) = explain(catalog, r) {
                let _ = writeln!(
                    b,
                    "   - {} {} *{}*",
                    prose(&e.what),
                    prose(&e.why),
                    prose(&e.fix)
                );
            }
        }
        for m in &step.mismatches {
            let _ = writeln!(b, "   - ✗ {}", prose(&m.to_string()));
        }
    }
    for m in &run.end_mismatches {
        let _ = writeln!(b, "\n✗ {}", prose(&m.to_string()));
    }

    b.push_str("\n## Receipts\n\n| Tenant | Seq | Time | Event | State | Reason | Id | Hash |\n|---|---|---|---|---|---|---|---|\n");
    for r in run.receipts() {
        let _ = writeln!(
            b,
            "| `{}` | {} | {} | `{}` | {} | {} | `{}` | `{}` |",
            r.body.tenant_id,
            r.seq,
            r.body.timestamp,
            r.body.event_type,
            cell(&r.body.state_change()),
            r.body
                .reason
                .as_ref()
                .map(|x| format!("`{x}`"))
                .unwrap_or_default(),
            cell(&r.body.id),
            r.hash,
        );
    }
    let _ = writeln!(b, "\n*Written by tai {}.*", env!("CARGO_PKG_VERSION"));
    b
}

/// A plan comparison as a table: a tool per row, a plan per column.
pub fn compare_markdown(m: &PlanMatrix<'_>) -> String {
    let mut b = String::from("| Tool | Pack |");
    for p in &m.plans {
        let _ = write!(
            b,
            " {} (`{}`, {}) |",
            cell(p.title),
            p.sku_id,
            cell(&p.price_label)
        );
    }
    b.push_str("\n|---|---|");
    for _ in &m.plans {
        b.push_str("---|");
    }
    b.push('\n');
    for row in &m.tools {
        let _ = write!(b, "| `{}` | `{}` |", row.tool, row.pack);
        for (access, missing) in row.access.iter().zip(&row.missing_roles) {
            let _ = write!(b, " {} |", cell(&access_text(*access, missing)));
        }
        b.push('\n');
    }
    b.push_str("| **Usable tools** | |");
    for n in usable_counts(m) {
        let _ = write!(b, " **{n}** |");
    }
    b.push('\n');
    b
}

fn codes<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_escapes_formatting_outside_code_and_cells_stay_one_cell() {
        assert_eq!(
            prose("`ac_audit_trail` needs *read_audit* [x]"),
            "`ac_audit_trail` needs \\*read\\_audit\\* \\[x\\]"
        );
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
