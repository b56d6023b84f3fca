//! Reports as one self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched.

use std::fmt::Write as _;

use crate::catalog::Catalog;
use crate::catalog::view::PlanMatrix;
use crate::diagnostics::escape_markup as esc;
use crate::explain::{explain, governor_svg};
use crate::receipts::Receipt;
use crate::scenario::{Run, Scenario};

use super::{DIAGRAMS, Simulation, TenantEnd, access_text, usable_counts};
use crate::cli::timeline;

/// The live page's stylesheet, so a report looks like `tai serve`'s page (its colours and
/// the governor diagram's styles), plus the few rules only a report needs.
const PAGE_CSS: &str = include_str!("../../server/page/assets/app.css");
const REPORT_CSS: &str = "
body { max-width: 1100px; margin: 0 auto; padding: 24px; background: var(--bg); color: var(--text); font: 14px/1.5 var(--sans); }
section { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); padding: 16px 20px; margin: 16px 0; }
h1 { margin: 0 0 4px; font-size: 22px; } h2 { margin: 0 0 12px; font-size: 17px; }
table.report { border-collapse: collapse; width: 100%; font-size: 13px; }
table.report th, table.report td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
table.report th { color: var(--muted); font-weight: 600; }
td.mono, span.mono { font-family: var(--mono); font-size: 12px; }
.verdict.ok { color: var(--good); } .verdict.failed { color: var(--bad); }
tr.refused td { background: var(--bad-bg); } td.usable { color: var(--good); } td.refused { color: var(--warn); } td.absent { color: var(--muted); }
ol.steps > li { margin: 0 0 14px; } .why { margin: 4px 0 0; padding: 6px 10px; background: var(--warn-bg); border-radius: 6px; }
.mismatch { color: var(--bad); } .diagram h3 { margin: 8px 0 4px; font-size: 14px; }
details pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
";

/// `<!doctype html>` … with `title` and `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{PAGE_CSS}\n{REPORT_CSS}</style>\n</head>\n<body>\n{body}\
         <footer><p class=\"muted\">Written by tai {}.</p></footer>\n</body>\n</html>\n",
        esc(title),
        env!("CARGO_PKG_VERSION"),
    )
}

/// A simulation: the plans, the governor's diagram, the timeline and every receipt.
pub fn simulation_html(scenario: &Scenario, run: &Run, catalog: &Catalog) -> String {
    let sim = Simulation::new(run, catalog);
    let mut b = String::new();
    // Writing to a String cannot fail.
    let _ = write!(b, "<header><h1>{}</h1>", esc(&scenario.name));
    if let Some(d) = &scenario.description {
        let _ = write!(b, "<p>{}</p>", esc(d.trim()));
    }
    let class = if run.passed() { "ok" } else { "failed" };
    let _ = writeln!(
        b,
        "<p class=\"verdict {class}\">{}</p></header>",
        esc(&sim.verdict())
    );
    plans(&mut b, &sim);
    diagrams(&mut b, &sim);
    timeline_section(&mut b, &sim);
    receipts(&mut b, run);
    page(&format!("tai · {}", scenario.name), &b)
}

fn plans(b: &mut String, sim: &Simulation<'_>) {
    if sim.plans.is_empty() {
        return;
    }
    b.push_str("<section id=\"plans\"><h2>Plans</h2><table class=\"report\"><thead><tr><th>SKU</th><th>Title</th><th>Price</th><th>Packs</th><th>Tools</th><th>Roles</th></tr></thead><tbody>\n");
    for p in &sim.plans {
        let _ = writeln!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({} usable)</td><td>{}</td></tr>",
            esc(p.sku_id.as_str()),
            esc(p.title),
            esc(&p.price_label),
            esc(&join(p.enabled_packs.iter().map(|x| x.as_str()))),
            p.tools,
            p.usable_tools,
            esc(&join(p.iam_roles.iter().map(|x| x.as_str()))),
        );
    }
    b.push_str("</tbody></table></section>\n");
}

fn diagrams(b: &mut String, sim: &Simulation<'_>) {
    if sim.tenants.is_empty() {
        return;
    }
    let svg = governor_svg(sim.catalog);
    b.push_str("<section id=\"governor\" class=\"diagram\"><h2>The governor</h2>\n");
    for end in sim.tenants.iter().take(DIAGRAMS) {
        let _ = writeln!(
            b,
            "<h3>{}: ends in {}</h3>\n{}",
            esc(end.tenant.as_str()),
            end.state,
            marked(&svg, end)
        );
    }
    if sim.tenants.len() > DIAGRAMS {
        let _ = writeln!(
            b,
            "<p>and {} more tenants: their end states are in the receipts below.</p>",
            sim.tenants.len() - DIAGRAMS
        );
    }
    b.push_str("</section>\n");
}

/// The drawing with `end`'s state highlighted and its last change of state marked, by the
/// classes the live page sets from its script.
fn marked(svg: &str, end: &TenantEnd) -> String {
    let mut svg = svg.replace(
        &format!("class=\"state\" id=\"state-{}\"", end.state),
        &format!("class=\"state current\" id=\"state-{}\"", end.state),
    );
    if let Some((from, to)) = end.last_change {
        svg = svg.replace(
            &format!("class=\"edge\" id=\"edge-{from}-{to}\""),
            &format!("class=\"edge last\" id=\"edge-{from}-{to}\""),
        );
    }
    svg
}

fn timeline_section(b: &mut String, sim: &Simulation<'_>) {
    b.push_str("<section id=\"timeline\"><h2>Timeline</h2><ol class=\"steps\">\n");
    for step in &sim.run.steps {
        let title = step.name.clone().unwrap_or_else(|| step.kind.to_owned());
        let _ = write!(
            b,
            "<li><strong>{}</strong> — {}",
            esc(&title),
            esc(&step.summary)
        );
        b.push_str("<table class=\"report\"><tbody>");
        for r in &step.receipts {
            let refused = if r.body.reason.is_some() {
                " class=\"refused\""
            } else {
                ""
            };
            let _ = write!(
                b,
                "<tr{refused}><td class=\"mono\"><a href=\"#r-{t}-{s}\">#{s}</a></td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.body.timestamp,
                esc(r.body.tenant_id.as_str()),
                esc(&r.body.state_change()),
                r.body.event_type,
                esc(&timeline::detail(r)),
                t = esc(r.body.tenant_id.as_str()),
                s = r.seq,
            );
        }
        b.push_str("</tbody></table>");
        for r in &step.receipts {
            if let Some(e) = explain(sim.catalog, r) {
                let _ = write!(
                    b,
                    "<p class=\"why\">{} {} <em>{}</em></p>",
                    code_spans(&esc(&e.what)),
                    code_spans(&esc(&e.why)),
                    code_spans(&esc(&e.fix))
                );
            }
        }
        for m in &step.mismatches {
            let _ = write!(b, "<p class=\"mismatch\">✗ {}</p>", esc(&m.to_string()));
        }
        b.push_str("</li>\n");
    }
    b.push_str("</ol>");
    for m in &sim.run.end_mismatches {
        let _ = write!(b, "<p class=\"mismatch\">✗ {}</p>", esc(&m.to_string()));
    }
    b.push_str("</section>\n");
}

fn receipts(b: &mut String, run: &Run) {
    b.push_str("<section id=\"receipts\"><h2>Receipts</h2><table class=\"report\"><thead><tr><th>Tenant</th><th>Seq</th><th>Time</th><th>Event</th><th>State</th><th>Reason</th><th>Receipt</th></tr></thead><tbody>\n");
    for r in run.receipts() {
        let _ = writeln!(
            b,
            "<tr id=\"r-{t}-{s}\"><td>{t}</td><td class=\"mono\">{s}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary class=\"mono\">{}</summary><pre>{}</pre></details></td></tr>",
            r.body.timestamp,
            r.body.event_type,
            esc(&r.body.state_change()),
            r.body
                .reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            esc(&r.body.id),
            esc(&receipt_json(r)),
            t = esc(r.body.tenant_id.as_str()),
            s = r.seq,
        );
    }
    b.push_str("</tbody></table></section>\n");
}

/// A receipt as its JSON, pretty-printed, for the details of one row.
pub(super) fn receipt_json(r: &Receipt) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("(not shown: {e})"))
}

/// A plan comparison: the plans with their prices, then a tool per row.
pub fn compare_html(m: &PlanMatrix<'_>) -> String {
    let mut b = String::from(
        "<header><h1>Plans compared</h1></header>\n<section><table class=\"report\"><thead><tr><th>Tool</th><th>Pack</th>",
    );
    for p in &m.plans {
        let _ = write!(
            b,
            "<th>{}<br><span class=\"mono\">{}</span><br>{}</th>",
            esc(p.title),
            esc(p.sku_id.as_str()),
            esc(&p.price_label)
        );
    }
    b.push_str("</tr></thead><tbody>\n");
    for row in &m.tools {
        let _ = write!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td>",
            esc(row.tool.as_str()),
            esc(row.pack.as_str())
        );
        for (access, missing) in row.access.iter().zip(&row.missing_roles) {
            let class = match access {
                crate::catalog::view::PlanAccess::Usable => "usable",
                crate::catalog::view::PlanAccess::Refused => "refused",
                crate::catalog::view::PlanAccess::Absent => "absent",
            };
            let _ = write!(
                b,
                "<td class=\"{class}\">{}</td>",
                esc(&access_text(*access, missing))
            );
        }
        b.push_str("</tr>\n");
    }
    b.push_str("<tr><th colspan=\"2\">Usable tools</th>");
    for n in usable_counts(m) {
        let _ = write!(b, "<th>{n}</th>");
    }
    b.push_str("</tr></tbody></table></section>\n");
    page("tai · plans compared", &b)
}

/// Explanations quote ids between backticks: shown as `<code>`. An unpaired backtick stays.
fn code_spans(escaped: &str) -> String {
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escaped.to_owned();
    }
    let mut out = String::with_capacity(escaped.len() + parts.len() * 6);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtick_pairs_become_code_and_an_unpaired_one_stays() {
        assert_eq!(
            code_spans("call `a` with `b`"),
            "call <code>a</code> with <code>b</code>"
        );
        assert_eq!(code_spans("a ` b"), "a ` b");
    }
}
