//! Markdown: a table for reports and pull requests, one row per receipt.

use std::io::Write;

use super::{ExportError, Exporter, Receipt};

/// A GitHub-flavoured Markdown table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, receipts: &[&Receipt], out: &mut dyn Write) -> Result<(), ExportError> {
        writeln!(
            out,
            "| seq | time | tenant | state | event | reason | metadata | hash |"
        )?;
        writeln!(out, "|---:|---|---|---|---|---|---|---|")?;
        for r in receipts {
            let b = &r.body;
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.seq,
                b.timestamp,
                b.tenant_id,
                b.state_change(),
                b.event_type,
                b.reason.as_ref().map_or("", |c| c.as_str()),
                code_span(b.metadata.as_str()),
                code_span(r.short_hash()),
            )?;
        }
        Ok(())
    }
}

/// `text` as an inline code span that is safe inside a table cell: pipes escaped, and
/// fenced with more backticks than any run inside it.
fn code_span(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let text = text.replace('|', "\\|");
    if text.starts_with('`') || text.ends_with('`') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::ExportFormat;
    use super::super::tests::{receipts, render};
    use super::code_span;

    #[test]
    fn one_row_per_receipt_with_escaped_cells() {
        let receipts = receipts();
        let text = render(ExportFormat::Markdown, &receipts);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + receipts.len());
        assert!(lines[2].starts_with("| 0 | 2026-01-01T00:00:00.000Z | acme | boot → stable |"));
        // Every row has the header's nine unescaped pipes.
        for line in &lines {
            let pipes = line.matches('|').count() - line.matches("\\|").count();
            assert_eq!(pipes, 9, "{line}");
        }
    }

    #[test]
    fn code_spans_outgrow_inner_backticks() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("a|b"), "`a\\|b`");
    }
}
