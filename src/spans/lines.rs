//! Byte spans, and the line index that turns them into lines and columns and back.

use std::ops::Range;

/// A byte range in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// The span of a byte range.
    pub fn from_range(range: Range<usize>) -> Self {
        Span {
            offset: range.start,
            len: range.end.saturating_sub(range.start),
        }
    }
}

/// A position a person can look up: 1-based line and column (in characters) plus the byte
/// span of the value there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The bytes the location covers.
    pub span: Span,
}

/// Byte offsets of line starts, to turn offsets into lines and columns and back.
///
/// Lookups cost the same however long a line is (a generated file may be one line of
/// megabytes), so locating many values on one line stays linear overall.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    chars: CharIndex,
}

impl LineIndex {
    /// Indexes `text`'s lines.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex {
            starts,
            chars: CharIndex::new(text),
        }
    }

    /// The location of `span` (clamped to the text).
    pub fn location(&self, text: &str, span: Span) -> Location {
        let offset = floor_char_boundary(text, span.offset.min(text.len()));
        let len = span.len.min(text.len() - offset);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.chars.char_at(text, offset) - self.chars.char_at(text, start) + 1;
        Location {
            line,
            column,
            span: Span { offset, len },
        }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The byte offset where 1-based `line` starts (`None` past the last line).
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    /// The byte offset of a 1-based line and a 0-based character column (clamped to the
    /// line's end).
    pub fn offset(&self, text: &str, line: usize, column0: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        let end = self.line_end(text, line).max(start);
        let first = self.chars.char_at(text, start);
        self.chars.byte_at(text, first + column0).min(end)
    }

    /// The span from `offset` to the end of its line, without trailing blanks or comments'
    /// leading whitespace: what a label under a multi-line value should underline.
    pub fn rest_of_line(&self, text: &str, offset: usize) -> Span {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let end = self.line_end(text, line).max(offset);
        let trimmed = text[offset..end].trim_end();
        Span {
            offset,
            len: trimmed.len(),
        }
    }

    /// The byte offset of the end of a 1-based line, before its newline.
    fn line_end(&self, text: &str, line: usize) -> usize {
        self.starts
            .get(line)
            .map_or(text.len(), |&next| next.saturating_sub(1))
    }
}

/// Character counts at byte offsets and back, in constant time per lookup: identity for
/// ASCII text, else the byte offset of every [`CharIndex::STEP`]th character.
#[derive(Debug, Clone)]
struct CharIndex {
    /// `checkpoints[i]` is the byte offset of character `i * STEP`; empty for ASCII text.
    checkpoints: Vec<usize>,
}

impl CharIndex {
    const STEP: usize = 64;

    fn new(text: &str) -> Self {
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(Self::STEP)
                .map(|(i, _)| i)
                .collect()
        };
        CharIndex { checkpoints }
    }

    /// How many characters precede byte `offset` (a char boundary within the text).
    fn char_at(&self, text: &str, offset: usize) -> usize {
        if self.checkpoints.is_empty() {
            return offset;
        }
        let k = self.checkpoints.partition_point(|&b| b <= offset).max(1) - 1;
        let from = self.checkpoints[k];
        k * Self::STEP + text[from..offset].chars().count()
    }

    /// The byte offset of character `index` (the text's length past the end).
    fn byte_at(&self, text: &str, index: usize) -> usize {
        if self.checkpoints.is_empty() {
            return index.min(text.len());
        }
        let Some(&from) = self.checkpoints.get(index / Self::STEP) else {
            return text.len();
        };
        text[from..]
            .char_indices()
            .nth(index % Self::STEP)
            .map_or(text.len(), |(i, _)| from + i)
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
