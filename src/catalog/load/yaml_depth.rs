//! The YAML pre-scan that refuses flow collections nested too deep before the parser runs.

use super::parse_errors::classify;
use super::{SourceFile, Syntax};
use crate::diagnostics::Diagnostic;
use crate::spans::{LineIndex, Span};

/// YAML flow collections (`[`, `{`) nested deeper than this are refused before parsing: the
/// YAML scanner's work per token grows with the flow depth, so a file of nothing but `[`
/// would take hours, and the deserializer refuses values nested this deep anyway.
pub(super) const MAX_YAML_FLOW_DEPTH: usize = 128;

/// A `nesting_too_deep` error for a YAML file whose flow collections nest beyond
/// [`MAX_YAML_FLOW_DEPTH`], located where they do; TOML's parser bounds nesting itself.
pub(super) fn too_deep_to_parse(file: &SourceFile) -> Option<Diagnostic> {
    if file.syntax != Syntax::Yaml {
        return None;
    }
    let at = yaml_flow_too_deep(&file.text)?;
    let lines = LineIndex::new(&file.text);
    let (code, message, help) = classify("recursion limit exceeded", || true);
    Some(
        Diagnostic::new(code, message)
            .in_file(&file.path)
            .located(lines.location(&file.text, Span { offset: at, len: 1 }))
            .label(format!("more than {MAX_YAML_FLOW_DEPTH} levels deep here"))
            .maybe_help(help),
    )
}

/// The byte offset of the first `[` or `{` that opens a flow collection deeper than
/// [`MAX_YAML_FLOW_DEPTH`], by one linear pass that skips comments and quoted scalars and
/// counts only brackets where a value can begin (not those inside plain text).
pub(super) fn yaml_flow_too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // Whether a value can begin here: at a line start, after an indicator, in a collection.
    let mut value_start = true;
    let mut after_blank = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => value_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' if after_blank => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'"' | b'\'' if value_start => {
                i = quoted_end(bytes, i);
                value_start = false;
            }
            b'[' | b'{' if value_start => {
                depth += 1;
                if depth > MAX_YAML_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                value_start = false;
            }
            b',' | b':' | b'-' | b'?' => value_start = true,
            // An anchor or tag comes before the value it names.
            b'&' | b'!' if value_start => {
                while i + 1 < bytes.len() && !b" \t\r\n,[]{}".contains(&bytes[i + 1]) {
                    i += 1;
                }
            }
            _ => value_start = false,
        }
        after_blank = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        i += 1;
    }
    None
}

/// The offset of the quote closing the quoted scalar that opens at `start` (the last byte
/// when it is never closed).
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len().saturating_sub(1)
}
