//! Output helpers the browsing commands share: colour decisions, table presets and writing
//! to stdout without failing when a pager or `head` closes the pipe.

use std::io::{IsTerminal, Write};

use comfy_table::{Attribute, Cell, ContentArrangement, Table, modifiers, presets};
use serde::Serialize;

use super::ColorChoice;

/// Whether to colour stdout: `--color always|never`, else only on a terminal with
/// `NO_COLOR` unset.
pub fn use_color(choice: ColorChoice) -> bool {
    color_for(choice, std::io::stdout().is_terminal())
}

/// Whether to colour a stream that `is_terminal` or not, by the same rule.
pub fn color_for(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// ANSI styling that collapses to plain text when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    color: bool,
}

impl Paint {
    /// Styling for the given `--color` choice.
    pub fn new(choice: ColorChoice) -> Self {
        Paint {
            color: use_color(choice),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Additions.
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Removals and problems.
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Warnings.
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// Headings.
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Secondary detail.
    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    /// A table with a bold header row (when colouring) that wraps to the terminal width.
    pub fn table(self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .apply_modifier(modifiers::UTF8_ROUND_CORNERS)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if self.color {
            table.enforce_styling();
        }
        table.set_header(header.iter().map(|h| {
            let cell = Cell::new(h);
            if self.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
        table
    }

    /// A borderless two-column `key  value` block, without trailing spaces.
    pub fn fields(self, rows: Vec<(&str, String)>) -> String {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic);
        for (key, value) in rows {
            table.add_row(vec![Cell::new(self.dim(key)), Cell::new(value)]);
        }
        let text = table.to_string();
        let trimmed: Vec<&str> = text.lines().map(str::trim_end).collect();
        trimmed.join("\n")
    }
}

fn join_or_dash<T: AsRef<str>>(items: &[T], sep: &str) -> String {
    if items.is_empty() {
        "—".to_owned()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// A list cell: one item per line, or an em dash when empty.
pub fn lines<T: AsRef<str>>(items: &[T]) -> String {
    join_or_dash(items, "\n")
}

/// A list on one line, comma-separated, or an em dash when empty.
pub fn inline<T: AsRef<str>>(items: &[T]) -> String {
    join_or_dash(items, ", ")
}

/// Writes `text` to stdout. A closed pipe (`tai pack list | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Writes `value` to stdout as pretty JSON with a final newline.
pub fn emit_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    emit(&text)
}
