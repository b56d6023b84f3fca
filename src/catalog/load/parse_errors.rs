//! The parsers' errors as diagnostics: a rule, words for people, a hint and a position.

use super::{DocKind, SourceFile, Syntax};
use crate::catalog::validate;
use crate::diagnostics::serde_text::{self, UnknownName};
use crate::diagnostics::{Code, Diagnostic, Note, backticked, did_you_mean};
use crate::spans::{DocPath, LineIndex, Location, Span, SpanIndex, repeated_key};

pub(super) fn yaml_error(file: &SourceFile, e: &serde_yaml::Error) -> Diagnostic {
    // The deserializer reads events as the parser produces them, so a type error can come
    // before a syntax error further down; the syntax error is the one to report then, where
    // it is (an unclosed `[` is not a list where a string belongs).
    let syntax = serde_yaml::from_str::<serde::de::IgnoredAny>(&file.text).err();
    let e = syntax.as_ref().unwrap_or(e);
    let (message, field) = split_yaml_message(e);
    // serde_yaml reads one document and gives no position for a second: point at the `---`
    // that starts it.
    let second_document = message
        .contains("more than one document")
        .then(|| second_document(&file.text))
        .flatten()
        .map(|span| LineIndex::new(&file.text).location(&file.text, span));
    let location = second_document.or_else(|| {
        e.location().map(|loc| {
            let lines = LineIndex::new(&file.text);
            let offset = loc.index().min(file.text.len());
            // A key given twice is reported where its mapping starts: point at the second.
            let span = repeated_key(&file.text, offset, &message)
                .unwrap_or_else(|| token_span(&file.text, offset));
            lines.location(&file.text, span)
        })
    });
    // libyaml adds where the construct it was reading began ("…, while parsing a flow
    // sequence at line 4 column 14"): show that place as a note rather than in the text.
    let context = syntax
        .as_ref()
        .and_then(|_| serde_text::syntax_context(&message));
    let mut d = finish_parse_error(
        file,
        context.as_ref().map_or(message, |c| c.0.clone()),
        location,
        field,
        || syntax.is_none(),
    );
    if let Some((_, what, line, column)) = context {
        let lines = LineIndex::new(&file.text);
        let offset = lines.offset(&file.text, line, column.saturating_sub(1));
        d.notes.push(Note {
            message: format!("{what} starts here"),
            file: None,
            field: None,
            location: Some(lines.location(&file.text, token_span(&file.text, offset))),
        });
    }
    d
}

/// The `---` that starts a file's second document: the first one after any content (a
/// marker before all content starts the first document).
fn second_document(text: &str) -> Option<Span> {
    let mut content = false;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let here = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let marker = body == "---" || body.starts_with("--- ") || body.starts_with("---\t");
        if marker && content {
            return Some(Span {
                offset: here,
                len: 3,
            });
        }
        let trimmed = body.trim();
        content |= !marker && !trimmed.is_empty() && !trimmed.starts_with('#');
    }
    None
}

/// serde_yaml's message without its position suffix, and the path it prefixes errors
/// inside the document with.
pub(super) fn split_yaml_message(e: &serde_yaml::Error) -> (String, Option<DocPath>) {
    let message = e.to_string();
    let message = match e.location() {
        Some(loc) => serde_text::without_position(&message, loc.line(), loc.column()),
        None => message,
    };
    match serde_text::split_path(&message) {
        Some((path, rest)) => (rest.to_owned(), Some(path)),
        None => (message, None),
    }
}

pub(super) fn toml_error(file: &SourceFile, e: &toml::de::Error, syntax: bool) -> Diagnostic {
    let message = e.message().trim_end().to_owned();
    let mut field = None;
    let mut location = None;
    if let Some(range) = e.span() {
        if !syntax {
            // toml names no path: find the value the error's position falls in.
            let path = SpanIndex::build(&file.text, Syntax::Toml).path_at(range.start);
            field = (!path.is_root()).then_some(path);
        }
        // A missing field's span is its whole table, comments before it included: leave
        // the position to the field's path instead.
        if !message.starts_with("missing field") {
            let span = if range.is_empty() {
                token_span(&file.text, range.start)
            } else {
                Span::from_range(range)
            };
            location = Some(LineIndex::new(&file.text).location(&file.text, span));
        }
    }
    finish_parse_error(file, message, location, field, || !syntax)
}

/// Classifies a deserializer's message into a rule, words it for people and adds a hint.
pub(super) fn finish_parse_error(
    file: &SourceFile,
    message: String,
    location: Option<Location>,
    field: Option<DocPath>,
    syntax_ok: impl FnOnce() -> bool,
) -> Diagnostic {
    let (mut code, message, mut help) = classify(&message, syntax_ok);
    let mut message = serde_text::plain_types(&message);
    let mut field = field;
    match code {
        Code::MissingField => {
            let name = serde_text::first_backticked(&message)
                .unwrap_or_default()
                .to_owned();
            let parent = field.take().unwrap_or_default();
            help = Some(if parent.is_root() {
                format!("add `{name}`: every {} has one", noun(file.kind))
            } else {
                format!("add `{name}` to `{parent}`")
            });
            field = Some(parent.key(name));
        }
        Code::InvalidValue => {
            let name = field
                .as_ref()
                .and_then(DocPath::last_key)
                .unwrap_or_default();
            let in_limits = field
                .as_ref()
                .is_some_and(|f| f.parent().last_key() == Some("compute_limits"));
            if let Some(limit_help) = validate::compute_limit_help(name).filter(|_| in_limits) {
                // A negative or fractional limit is a bad limit, whatever the parser says.
                code = Code::InvalidComputeLimit;
                let found = message
                    .split_once(": ")
                    .map_or(message.as_str(), |(_, rest)| rest);
                let found = found.split(", expected").next().unwrap_or(found);
                message = format!("`{name}` must be a positive whole number, found {found}");
                help = Some(limit_help);
            } else if field.as_ref().is_none_or(DocPath::is_root)
                && message.starts_with("invalid type")
                && help.is_none()
            {
                help = Some(format!(
                    "a {} file is a mapping of fields, starting with `{}`",
                    noun(file.kind),
                    match file.kind {
                        DocKind::Pack => "pack_id: ...",
                        DocKind::Sku => "sku_id: ...",
                    }
                ));
            }
        }
        // A hint of its own (a second document) stands.
        Code::Syntax if help.is_none() => {
            help = Some(match file.syntax {
                Syntax::Yaml => "check the brackets, quotes and indentation here; quote text that starts with `[`, `{`, `*` or `&`",
                Syntax::Toml => "check the quotes and brackets here; strings are quoted, e.g. `version = \"1.0.0\"`",
            }.to_owned());
        }
        _ => {}
    }
    if code == Code::InvalidValue && help.is_none() {
        let kind = match file.kind {
            DocKind::Pack => "pack",
            DocKind::Sku => "sku",
        };
        help = Some(format!("`tai schema {kind}` shows what each field takes"));
    }
    let mut d = Diagnostic::new(code, message)
        .in_file(&file.path)
        .maybe_help(help);
    if let Some(loc) = location {
        d = d.located(loc);
    }
    d.field = field;
    d
}

fn noun(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Pack => "pack",
        DocKind::Sku => "SKU",
    }
}

pub(super) fn classify(
    message: &str,
    syntax_ok: impl FnOnce() -> bool,
) -> (Code, String, Option<String>) {
    let first_line = message.lines().next().unwrap_or_default().to_owned();
    if message.contains("recursion limit exceeded") || message.contains("max recursion depth") {
        return (
            Code::TooDeep,
            "values nest too deeply".to_owned(),
            Some(crate::intake::TOO_DEEP_HELP.to_owned()),
        );
    }
    if message.contains("more than one document") {
        return (
            Code::Syntax,
            "a second YAML document (`---`) in one file".to_owned(),
            Some(
                "one file holds one pack or SKU: move what follows into a file of its own"
                    .to_owned(),
            ),
        );
    }
    if message.contains("repetition limit exceeded") {
        return (
            Code::TooManyAliases,
            "YAML aliases expand to too many values".to_owned(),
            Some("write the values out, or use fewer nested aliases (`*name`)".to_owned()),
        );
    }
    for (prefix, code) in [
        ("unknown field", Code::UnknownField),
        ("unknown variant", Code::InvalidValue),
    ] {
        if message.starts_with(prefix) {
            let unknown = serde_text::unknown_name(message).unwrap_or(UnknownName {
                name: "",
                head: message,
                expected: Vec::new(),
            });
            let expected = &unknown.expected;
            let help = did_you_mean(unknown.name, expected.iter().copied()).or_else(|| {
                (!expected.is_empty()).then(|| format!("expected one of {}", backticked(expected)))
            });
            return (code, unknown.head.to_owned(), help);
        }
    }
    if message.starts_with("missing field") {
        return (Code::MissingField, first_line, None);
    }
    if syntax_ok() {
        (Code::InvalidValue, first_line, None)
    } else {
        (Code::Syntax, first_line, None)
    }
}

/// A short span at `offset`: the token starting there (up to a blank or a delimiter), at
/// least one character, so a label has something to underline.
fn token_span(text: &str, offset: usize) -> Span {
    let rest = text.get(offset..).unwrap_or_default();
    let len = rest
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || matches!(c, ',' | ']' | '}' | ':'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if len == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        len.min(80)
    };
    Span { offset, len }
}
