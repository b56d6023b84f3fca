//! Where a YAML mapping gives a key twice: serde_yaml reports a duplicate at the mapping's
//! first key, and a reader wants the second occurrence.

use super::Span;

/// For a "duplicate field `x`" message about the block mapping whose first key is at byte
/// `start` of `text`: the second time `x` starts a line of that mapping (a key at the same
/// column, before the mapping's indentation ends). `None` for another message, a flow
/// mapping, or when it cannot be found.
pub fn repeated_key(text: &str, start: usize, message: &str) -> Option<Span> {
    let key = duplicate_key(message)?;
    second_key(text, start, key)
}

/// The key a "duplicate field `x`" message names.
fn duplicate_key(message: &str) -> Option<&str> {
    message.strip_prefix("duplicate field `")?.split('`').next()
}

/// The second time `key` starts a line of the block mapping whose first key is at `start`.
fn second_key(text: &str, start: usize, key: &str) -> Option<Span> {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let column = start - line_start;
    let mut seen = 0;
    let mut at = line_start;
    for line in text[line_start..].split_inclusive('\n') {
        let first = at == line_start;
        let here = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches(' ').len();
        if !first && (body.trim().is_empty() || body.trim_start().starts_with('#')) {
            continue;
        }
        if !first && indent < column {
            break;
        }
        if !first && indent > column {
            continue;
        }
        let rest = body.get(column..)?;
        let named = rest
            .strip_prefix(key)
            .or_else(|| rest.strip_prefix(&format!("\"{key}\"")))
            .or_else(|| rest.strip_prefix(&format!("'{key}'")));
        if named.is_some_and(|r| r.trim_start().starts_with(':')) {
            seen += 1;
            if seen == 2 {
                return Some(Span {
                    offset: here + column,
                    len: key.len(),
                });
            }
        }
    }
    None
}
