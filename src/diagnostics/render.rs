//! The three ways a [`Report`] is shown: source snippets for people, JSON for tools, and
//! GitHub workflow annotations for CI.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use super::{Diagnostic, Report, Severity};
use crate::source::Location;

/// Source snippets with labels, one block per diagnostic, then the summary line. `color`
/// adds ANSI colours (the caller decides: terminal, `NO_COLOR`, `--color`).
pub fn human(report: &Report, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_urls(false)
        .with_width(100)
        .with_context_lines(1);
    let mut out = String::new();
    for d in report.diagnostics() {
        let view = MietteView::new(report, d);
        if handler.render_report(&mut out, &view).is_err() {
            // Rendering into a String cannot fail; fall back to the plain line regardless.
            let _ = writeln!(out, "{d}");
        }
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'static str,
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    span: Option<JsonSpan>,
    field: Option<String>,
    label: Option<&'a str>,
    help: Option<&'a str>,
    notes: Vec<JsonNote<'a>>,
}

#[derive(Serialize)]
struct JsonSpan {
    offset: usize,
    length: usize,
}

#[derive(Serialize)]
struct JsonNote<'a> {
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

/// `{ "files", "errors", "warnings", "diagnostics": [...] }`, pretty-printed.
pub fn json(report: &Report) -> String {
    let diagnostics = report
        .diagnostics()
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity,
            code: d.code.as_str(),
            message: &d.message,
            file: d.file.as_ref().map(|p| p.display().to_string()),
            line: d.location.map(|l| l.line),
            column: d.location.map(|l| l.column),
            span: d.location.map(|l| JsonSpan {
                offset: l.span.offset,
                length: l.span.len,
            }),
            field: d.field.as_ref().map(ToString::to_string),
            label: d.label.as_deref(),
            help: d.help.as_deref(),
            notes: d
                .notes
                .iter()
                .map(|n| JsonNote {
                    message: &n.message,
                    file: n
                        .file
                        .as_ref()
                        .or(d.file.as_ref())
                        .map(|p| p.display().to_string()),
                    line: n.location.map(|l| l.line),
                    column: n.location.map(|l| l.column),
                })
                .collect(),
        })
        .collect();
    let doc = JsonReport {
        files: report.files_checked(),
        errors: report.errors(),
        warnings: report.warnings(),
        diagnostics,
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// One `::error file=…,line=…,col=…,title=…::message` line per diagnostic, then the summary.
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for d in report.diagnostics() {
        let mut props = Vec::new();
        if let Some(file) = &d.file {
            props.push(format!(
                "file={}",
                escape_property(&file.display().to_string())
            ));
        }
        if let Some(loc) = d.location {
            props.push(format!("line={}", loc.line));
            props.push(format!("col={}", loc.column));
        }
        props.push(format!("title={}", escape_property(d.code.as_str())));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(
            out,
            "::{} {}::{}",
            d.severity.as_str(),
            props.join(","),
            escape_data(&message)
        );
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

// The workflow-command escapes GitHub's runner applies in reverse.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A [`Diagnostic`] seen through miette's eyes, with its file's text for the snippet.
struct MietteView<'a> {
    d: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl<'a> MietteView<'a> {
    fn new(report: &Report, d: &'a Diagnostic) -> Self {
        let text = d
            .file
            .as_deref()
            .and_then(|p| report.sources.get(p).cloned());
        let mut labels = Vec::new();
        let mut extra = Vec::new();
        let source = match (&d.file, text, d.location) {
            (Some(file), Some(text), Some(loc)) => {
                labels.push(LabeledSpan::new_primary_with_span(
                    d.label.clone(),
                    span_of(loc),
                ));
                for note in &d.notes {
                    let same_file = note.file.as_ref().is_none_or(|f| f == file);
                    match note.location {
                        Some(nloc) if same_file => labels.push(LabeledSpan::new_with_span(
                            Some(note.message.clone()),
                            span_of(nloc),
                        )),
                        _ => extra.push(note_line(note, d)),
                    }
                }
                Some(NamedSource::new(file.display().to_string(), text))
            }
            _ => {
                extra.extend(d.notes.iter().map(|n| note_line(n, d)));
                None
            }
        };
        let mut help = d.help.clone();
        if !extra.is_empty() {
            let notes = extra.join("\n");
            help = Some(match help {
                Some(h) => format!("{h}\n{notes}"),
                None => notes,
            });
        }
        MietteView {
            d,
            source,
            labels,
            help,
        }
    }
}

fn span_of(loc: Location) -> SourceSpan {
    SourceSpan::new(loc.span.offset.into(), loc.span.len)
}

fn note_line(note: &super::Note, d: &Diagnostic) -> String {
    let file = note.file.as_ref().or(d.file.as_ref());
    let mut at = file.map(|p| p.display().to_string()).unwrap_or_default();
    if let Some(loc) = note.location {
        let _ = write!(at, ":{}:{}", loc.line, loc.column);
    }
    if at.is_empty() {
        format!("note: {}", note.message)
    } else {
        format!("note: {} ({at})", note.message)
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.d, f)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)?;
        // Without a snippet the position would be lost; put it in the headline.
        if self.source.is_none() {
            let position = self.d.position();
            if !position.is_empty() {
                write!(f, "\n  at {position}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_deref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Code;
    use crate::source::Span;

    fn sample() -> Report {
        let text: Arc<str> = Arc::from("pack_id: a\nversion: one\n");
        let d = Diagnostic::new(
            Code::InvalidVersion,
            "version `one` is not a semantic version",
        )
        .in_file("packs/a.yaml")
        .located(Location {
            line: 2,
            column: 10,
            span: Span { offset: 20, len: 3 },
        })
        .label("not MAJOR.MINOR.PATCH")
        .help("write it like `1.0.0`");
        let mut report = Report::new(vec![d], 1);
        report.add_source(std::path::Path::new("packs/a.yaml"), text);
        report
    }

    #[test]
    fn human_shows_the_source_line_and_label() {
        let out = human(&sample(), false);
        assert!(out.contains("invalid_version"), "{out}");
        assert!(out.contains("[packs/a.yaml:2:10]"), "{out}");
        assert!(out.contains("version: one"), "{out}");
        assert!(out.contains("not MAJOR.MINOR.PATCH"), "{out}");
        assert!(out.contains("help: write it like `1.0.0`"), "{out}");
        assert!(out.ends_with("1 error, 0 warnings in 1 file\n"), "{out}");
        assert!(!out.contains('\u{1b}'), "no colour: {out}");
    }

    #[test]
    fn json_has_counts_and_positions() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(v["errors"], 1);
        assert_eq!(v["diagnostics"][0]["code"], "invalid_version");
        assert_eq!(v["diagnostics"][0]["line"], 2);
        assert_eq!(v["diagnostics"][0]["column"], 10);
    }

    #[test]
    fn github_annotations_escape_their_parts() {
        let out = github(&sample());
        assert!(out.starts_with(
            "::error file=packs/a.yaml,line=2,col=10,title=invalid_version::version `one` is not a semantic version%0Ahelp: write it like `1.0.0`\n"
        ), "{out}");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
