//! Output helpers the browsing commands share: colour decisions, tables laid out by visible
//! width, and writing to stdout without failing when a pager or `head` closes the pipe.

use std::fmt;
use std::io::{IsTerminal, Write};

use comfy_table::{
    Attribute, Cell, ColumnConstraint, ContentArrangement, Row, Table, Width, modifiers, presets,
};
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

    /// A table with a bold header row (when colouring) that wraps to the width of the
    /// terminal (or `COLUMNS`).
    pub fn table(self, header: &[&str]) -> TextTable {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .apply_modifier(modifiers::UTF8_ROUND_CORNERS);
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
        TextTable::new(table)
    }

    /// A borderless two-column `key  value` block, without trailing spaces.
    pub fn fields(self, rows: Vec<(&str, String)>) -> String {
        let mut table = Table::new();
        table.load_preset(presets::NOTHING);
        let mut table = TextTable::new(table);
        for (key, value) in rows {
            table.add_row(vec![Cell::new(self.dim(key)), Cell::new(value)]);
        }
        let text = table.to_string();
        let trimmed: Vec<&str> = text.lines().map(str::trim_end).collect();
        trimmed.join("\n")
    }
}

/// A table for people. It is laid out in the terminal's width, or in `COLUMNS` when that is
/// set (so `COLUMNS=200 tai sku list | less` and tests choose a width); without either it is
/// not wrapped. Text is measured by what shows: colour codes take no room and are never split
/// across lines. Words (ids, prices) are not cut in two where the width allows: columns
/// keep their longest word whole from the left (where the ids are) while the rest still fit.
#[derive(Debug, Clone)]
pub struct TextTable(Table);

impl TextTable {
    /// Lays out `table` (already styled) by these rules.
    pub fn new(mut table: Table) -> TextTable {
        table.set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(width) = columns_env() {
            table.set_width(width);
        }
        TextTable(table)
    }

    /// Appends a row.
    pub fn add_row<T: Into<Row>>(&mut self, row: T) -> &mut Self {
        self.0.add_row(row);
        self
    }
}

impl fmt::Display for TextTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut table = self.0.clone();
        keep_words_whole(&mut table);
        write!(f, "{table}")
    }
}

/// `COLUMNS`, when it is a positive number.
fn columns_env() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0)
}

/// The width tables are laid out in: `COLUMNS`, else the terminal's; `None` when stdout is
/// not a terminal and `COLUMNS` is unset (nothing is wrapped then).
pub fn output_width() -> Option<u16> {
    columns_env().or_else(|| Table::new().width())
}

/// The narrowest a column whose words may be cut is squeezed to, in this reckoning.
const SQUEEZED: usize = 6;

/// Gives columns, leftmost first (where the ids are), at least the width of their longest
/// word, as long as the columns after them keep some room.
fn keep_words_whole(table: &mut Table) {
    let Some(width) = table.width() else {
        return;
    };
    let mut longest: Vec<usize> = Vec::new();
    let rows = table.header().into_iter().chain(table.row_iter());
    for row in rows {
        for (i, cell) in row.cell_iter().enumerate() {
            let word = longest_word(&cell.content());
            match longest.get_mut(i) {
                Some(w) => *w = (*w).max(word),
                None => longest.push(word),
            }
        }
    }
    // Each column has a space of padding either side and (at most) a border to its right;
    // the table has one more border on the left.
    let frame = 3 * longest.len() + 1;
    let squeezed: usize = longest.iter().map(|&w| w.min(SQUEEZED)).sum();
    let Some(mut room) = usize::from(width).checked_sub(frame + squeezed) else {
        return;
    };
    for (i, w) in longest.into_iter().enumerate() {
        let extra = w - w.min(SQUEEZED);
        if extra > room {
            continue;
        }
        room -= extra;
        // A constraint's width counts the column's padding.
        if let (Some(column), Ok(w)) = (table.column_mut(i), u16::try_from(w + 2)) {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w)));
        }
    }
}

/// The visible width of the longest whitespace-separated word of `text`.
fn longest_word(text: &str) -> usize {
    visible(text)
        .split_whitespace()
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(0)
}

/// `text` without its ANSI escape sequences (CSI: ESC `[` parameters, then a final byte).
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `text`, one paragraph of plain words, broken into lines that fit the output width (as
/// tables are), each painted on its own so no colour runs past the end of a line.
pub fn paragraph(text: &str, paint: impl Fn(&str) -> String) -> String {
    let width = output_width().map_or(usize::MAX, usize::from);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(&paint(&line));
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&paint(&line));
        out.push('\n');
    }
    out
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
pub fn emit(text: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_ref()).and_then(|()| out.flush()) {
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
