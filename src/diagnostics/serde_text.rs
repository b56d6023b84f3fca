//! Serde's error messages taken apart: position, document path, unknown names, type names.
//!
//! The deserializers report in prose only. Catalog loading and scenario loading both turn
//! that prose into messages a person can act on; this is the one place that knows its
//! grammar, so a change in a parser's wording is fixed once.

use crate::spans::DocPath;

/// A message without serde_yaml's ` at line L column C` for the error's own position (shown
/// separately). A libyaml context such as `, while parsing a flow sequence at line 3 column
/// 14` stays: see [`syntax_context`].
pub fn without_position(message: &str, line: usize, column: usize) -> String {
    let mut message = message.to_owned();
    let suffix = format!(" at line {line} column {column}");
    if let Some(at) = message.find(&suffix) {
        message.replace_range(at..at + suffix.len(), "");
    }
    message
}

/// Splits the document path serde_yaml puts before a message inside the document, e.g.
/// `tools[0].handler: unknown field ...`, into the path and the rest; `None` when the message
/// starts with no path.
pub fn split_path(message: &str) -> Option<(DocPath, &str)> {
    let (prefix, rest) = message.split_once(": ")?;
    Some((DocPath::parse(prefix)?, rest))
}

/// An `unknown field` or `unknown variant` message taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName<'a> {
    /// The name as written, e.g. `stat`.
    pub name: &'a str,
    /// The message up to the list of expected names, e.g. ``unknown field `stat` ``.
    pub head: &'a str,
    /// The names expected instead, in the parser's order (empty when it lists none).
    pub expected: Vec<&'a str>,
}

/// For a message holding serde's ``unknown field `x`, expected one of `a`, `b` `` (or
/// `unknown variant`, or `expected `a` or `b``): the unknown name and the expected ones.
pub fn unknown_name(message: &str) -> Option<UnknownName<'_>> {
    let at = message
        .find("unknown field `")
        .or_else(|| message.find("unknown variant `"))?;
    let open = at + message[at..].find('`')? + 1;
    let close = open + message[open..].find('`')?;
    let after = &message[close..];
    let (head, expected) = match after.find(", expected") {
        Some(n) => (&message[..close + n], &after[n..]),
        None => (message, ""),
    };
    Some(UnknownName {
        name: &message[open..close],
        head,
        expected: expected.split('`').skip(1).step_by(2).collect(),
    })
}

/// The first name in backticks, e.g. `name` in ``missing field `name` ``.
pub fn first_backticked(text: &str) -> Option<&str> {
    text.split('`').nth(1)
}

/// libyaml's context, when a message has one: ``did not find expected ',' or ']', while
/// parsing a flow sequence at line 4 column 14`` → the problem, what was being read (`a flow
/// sequence`), and the 1-based line and column where that began.
pub fn syntax_context(message: &str) -> Option<(String, String, usize, usize)> {
    let (problem, context) = message.split_once(", while parsing ")?;
    let (what, at) = context.rsplit_once(" at line ")?;
    let (line, column) = at.split_once(" column ")?;
    Some((
        problem.to_owned(),
        what.to_owned(),
        line.parse().ok()?,
        column.parse().ok()?,
    ))
}

/// The deserializers' Rust type names in words: `expected u64` → `expected a non-negative
/// integer`, `struct Pack` → `a mapping`, and so on.
pub fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 11] = [
        (" as u128", ""),
        (" as i128", ""),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected field identifier", "expected a field name"),
        ("expected a borrowed string", "expected a string"),
        ("unit value", "null"),
        ("expected unit", "expected null"),
    ];
    let mut text = message.to_owned();
    for (rust, words) in WORDS {
        text = text.replace(rust, words);
    }
    // `expected struct Tool` / `expected a map`: a mapping either way.
    if let Some(at) = text.find("expected struct ") {
        let end = text[at + 16..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(text.len(), |n| at + 16 + n);
        text.replace_range(at..end, "expected a mapping");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_are_worded_for_people() {
        assert_eq!(
            plain_types("invalid type: integer `99999999999999999999999` as u128, expected u64"),
            "invalid type: integer `99999999999999999999999`, expected a non-negative integer"
        );
        assert_eq!(
            plain_types("invalid type: unit value, expected struct Pack"),
            "invalid type: null, expected a mapping"
        );
    }

    #[test]
    fn unknown_names_are_taken_apart() {
        let m = "unknown field `sgnal`, expected one of `name`, `signal`, `call`";
        let u = unknown_name(m).unwrap();
        assert_eq!(u.name, "sgnal");
        assert_eq!(u.head, "unknown field `sgnal`");
        assert_eq!(u.expected, ["name", "signal", "call"]);
        let m = "expect.state: unknown variant `stabel`, expected `boot` or `stable`";
        let u = unknown_name(m).unwrap();
        assert_eq!((u.name, u.expected), ("stabel", vec!["boot", "stable"]));
        let u = unknown_name("unknown field `x`, there are no fields").unwrap();
        assert!(u.expected.is_empty());
        assert_eq!(unknown_name("missing field `name`"), None);
    }

    #[test]
    fn paths_and_contexts_are_split_off() {
        let (path, rest) = split_path("tools[0].handler: unknown field `x`").unwrap();
        assert_eq!(path.to_string(), "tools[0].handler");
        assert_eq!(rest, "unknown field `x`");
        assert_eq!(
            split_path("invalid type: string \"x\", expected a number"),
            None
        );
        let (problem, what, line, column) = syntax_context(
            "did not find expected ',' or ']', while parsing a flow sequence at line 3 column 14",
        )
        .unwrap();
        assert_eq!(problem, "did not find expected ',' or ']'");
        assert_eq!((what.as_str(), line, column), ("a flow sequence", 3, 14));
        assert_eq!(
            without_position(
                "x at line 4 column 6, while parsing y at line 3 column 14",
                4,
                6
            ),
            "x, while parsing y at line 3 column 14"
        );
    }
}
