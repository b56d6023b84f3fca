//! The three ways a [`Report`] is shown: source snippets for people, JSON for tools, and
//! GitHub workflow annotations for CI.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::Path;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceSpan};
use serde::Serialize;

use super::{Diagnostic, Report, Severity};
use crate::spans::{LineIndex, Location};

/// Source snippets with labels, one block per diagnostic, then the summary line. `color`
/// adds ANSI colours (the caller decides: terminal, `NO_COLOR`, `--color`).
///
/// Each snippet costs the size of the lines it shows, not of the file, so a file with
/// thousands of problems renders in linear time; lines too long to show (generated files)
/// are left out, and the position goes in the headline instead.
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
    let mut indexes: HashMap<&Path, Arc<LineIndex>> = HashMap::new();
    for d in report.diagnostics() {
        let source = d.file.as_deref().and_then(|path| {
            let text = report.sources.get(path)?;
            let lines = indexes
                .entry(path)
                .or_insert_with(|| Arc::new(LineIndex::new(text)));
            Some(Window {
                name: path.display().to_string(),
                text: Arc::clone(text),
                lines: Arc::clone(lines),
            })
        });
        let view = MietteView::new(d, source);
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
    source: Option<Window>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl<'a> MietteView<'a> {
    fn new(d: &'a Diagnostic, window: Option<Window>) -> Self {
        let mut labels = Vec::new();
        let mut extra = Vec::new();
        let window = window.filter(|w| {
            d.location.is_some_and(|loc| w.showable(loc))
                && d.notes.iter().all(|n| {
                    n.file.as_ref().is_some_and(|f| Some(f) != d.file.as_ref())
                        || n.location.is_none_or(|loc| w.showable(loc))
                })
        });
        let source = match (&d.file, window, d.location) {
            (Some(file), Some(window), Some(loc)) => {
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
                Some(window)
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

/// A file's text for miette. miette finds a snippet's lines by reading the text from its
/// start, for every snippet; this hands it only the lines around the span instead, found
/// through a line index, and puts the line numbers back.
struct Window {
    name: String,
    text: Arc<str>,
    lines: Arc<LineIndex>,
}

impl Window {
    /// Lines around a label, at most this long in all, are shown; longer ones are not.
    const MAX_BYTES: usize = 4096;
    /// Context lines miette asks for, plus one.
    const MARGIN: usize = 2;

    /// The byte range of the lines around `offset..end`, from the start of a line.
    fn around(&self, offset: usize, end: usize) -> (usize, usize, usize) {
        let first = self
            .lines
            .line_of(offset)
            .saturating_sub(Self::MARGIN)
            .max(1);
        let last = self.lines.line_of(end) + Self::MARGIN + 1;
        let start = self.lines.line_start(first).unwrap_or(self.text.len());
        let stop = self.lines.line_start(last).unwrap_or(self.text.len());
        (first, start, stop.max(start))
    }

    fn showable(&self, loc: Location) -> bool {
        let (_, start, stop) = self.around(loc.span.offset, loc.span.offset + loc.span.len);
        stop - start <= Self::MAX_BYTES
    }
}

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let (first, start, stop) = self.around(span.offset(), span.offset() + span.len());
        let window = &self.text[start..stop];
        let local = SourceSpan::new(span.offset().saturating_sub(start).into(), span.len());
        let contents = window.read_span(&local, before, after)?;
        let at = contents.span();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            SourceSpan::new((at.offset() + start).into(), at.len()),
            contents.line() + first - 1,
            contents.column(),
            contents.line_count(),
        )))
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
    use crate::spans::Span;

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
    fn snippets_show_the_right_lines_of_long_files() {
        let mut text = String::new();
        for i in 1..=100 {
            text.push_str(&format!("key_{i}: {i}\n"));
        }
        text.push_str(&format!("long: {}\n", "x".repeat(10_000)));
        let at = |line: usize, column: usize, len: usize| {
            let offset = LineIndex::new(&text).offset(&text, line, column - 1);
            Location {
                line,
                column,
                span: Span { offset, len },
            }
        };
        let d = |loc: Location| {
            Diagnostic::new(Code::UnknownField, "unknown field")
                .in_file("packs/a.yaml")
                .located(loc)
                .label("here")
        };
        let mut report = Report::new(vec![d(at(50, 1, 6)), d(at(101, 7, 3))], 1);
        report.add_source(
            std::path::Path::new("packs/a.yaml"),
            Arc::from(text.as_str()),
        );
        let out = human(&report, false);
        assert!(out.contains("[packs/a.yaml:50:1]"), "{out}");
        assert!(
            out.contains(" 49 │ key_49: 49\n 50 │ key_50: 50\n"),
            "{out}"
        );
        assert!(out.contains(" 51 │ key_51: 51\n"), "{out}");
        // A line too long to show: the position goes in the headline instead.
        assert!(out.contains("at packs/a.yaml:101:7"), "{out}");
        assert!(!out.contains("xxxxxxxxxx"), "{out}");
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
