//! Parsing one definition file, with recovery so that one bad value does not hide the rest.

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use super::parse_errors::{finish_parse_error, split_yaml_message, toml_error, yaml_error};
use super::{DocKind, SourceFile, Syntax};
use crate::catalog::fields;
use crate::diagnostics::serde_text;
use crate::diagnostics::{Code, Diagnostic, backticked, did_you_mean};
use crate::intake;
use crate::spans::{DocPath, LineIndex, Segment, SpanIndex};

/// How a file parsed.
#[derive(Debug)]
pub(super) enum Outcome<T> {
    /// As written (unknown fields aside).
    Parsed(T),
    /// Only once values with errors were left out: worth checking on its own, but not
    /// against the rest of the catalog, since it is not what the file says.
    Partial(T),
    /// Not at all.
    Failed,
}

/// Deserializes one file, collecting every unknown field and every value error: after a
/// value error, the value is left out and the file parsed again (see [`recover`]).
pub(super) fn parse<T: DeserializeOwned>(
    file: &SourceFile,
    out: &mut Vec<Diagnostic>,
) -> Outcome<T> {
    if let Some(message) = blank(file) {
        out.push(
            Diagnostic::new(Code::EmptyFile, message)
                .in_file(&file.path)
                .help(match file.kind {
                    DocKind::Pack => "a pack needs at least `pack_id`, `version` and `description`; `tai pack new ID` writes a starting point",
                    DocKind::Sku => "a SKU needs at least `sku_id`, `plan_id`, `title`, `price` and `enabled_packs`",
                }),
        );
        return Outcome::Failed;
    }
    // TOML's parser bounds nesting itself.
    if file.syntax == Syntax::Yaml
        && let Some(problem) = intake::yaml_too_deep(&file.path, &file.text)
    {
        out.push(problem);
        return Outcome::Failed;
    }
    let mut ignored = Vec::new();
    let result: Result<T, Diagnostic> = match file.syntax {
        Syntax::Yaml => {
            let de = serde_yaml::Deserializer::from_str(&file.text);
            serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)))
                .map_err(|e| yaml_error(file, &e))
        }
        Syntax::Toml => match toml::de::Deserializer::parse(&file.text) {
            Ok(de) => serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)))
                .map_err(|e| toml_error(file, &e, false)),
            Err(e) => Err(toml_error(file, &e, true)),
        },
    };
    let mut seen = HashSet::new();
    push_unknown_fields(file, ignored, &mut seen, out);
    let mut d = match result {
        Ok(doc) => return Outcome::Parsed(doc),
        // serde_yaml reads a merge key as a field named `<<`, so its error would be about
        // a missing or unknown field: say what is really wrong.
        Err(_) if let Some(d) = merge_key(file) => {
            out.push(d);
            return Outcome::Failed;
        }
        Err(d) => pinpoint_value(file, pinpoint_unknown_field(file, d), None),
    };
    if d.code == Code::TooManyAliases
        && d.location.is_none()
        && let Some(span) = SpanIndex::first_alias(&file.text)
    {
        d.location = Some(LineIndex::new(&file.text).location(&file.text, span));
        d.label = Some("aliases start expanding here".to_owned());
    }
    let first = d
        .field
        .clone()
        .filter(|_| recoverable(&d) && file.text.len() <= MAX_RECOVERY_BYTES);
    out.push(d);
    match first.and_then(|first| recover(file, first, &mut seen, out)) {
        Some(doc) => Outcome::Partial(doc),
        None => Outcome::Failed,
    }
}

/// A diagnostic for the first YAML merge key (`<<: *anchor`) in `file`, if it has one.
fn merge_key(file: &SourceFile) -> Option<Diagnostic> {
    /// The path of the first `<<` key at or below `v` (at `at`).
    fn find(v: &serde_yaml::Value, at: &DocPath) -> Option<DocPath> {
        match v {
            serde_yaml::Value::Mapping(m) => m.iter().find_map(|(k, v)| match k.as_str() {
                Some("<<") => Some(at.key("<<")),
                Some(name) => find(v, &at.key(name)),
                None => None,
            }),
            serde_yaml::Value::Sequence(s) => s
                .iter()
                .enumerate()
                .find_map(|(i, v)| find(v, &at.index(i))),
            serde_yaml::Value::Tagged(t) => find(&t.value, at),
            _ => None,
        }
    }
    if file.syntax != Syntax::Yaml {
        return None;
    }
    let tree: serde_yaml::Value = serde_yaml::from_str(&file.text).ok()?;
    let path = find(&tree, &DocPath::root())?;
    let at = SpanIndex::build(&file.text, Syntax::Yaml).locate_key(&file.text, &path);
    Some(
        Diagnostic::new(Code::Syntax, "YAML merge keys (`<<`) are not supported")
            .in_file(&file.path)
            .located(at)
            .help("write the fields out where the merge key stands (an alias `*name` of a whole value still works)"),
    )
}

/// At most this many values are left out of one file to find its other problems, and only
/// in files up to this size (each try parses the file again; definitions are a few KiB).
const MAX_RECOVERIES: usize = 32;
const MAX_RECOVERY_BYTES: usize = 256 * 1024;

/// Whether leaving out the value a diagnostic is about may let the file parse: a bad value
/// or an unknown field, stored under a key (leaving out a list item would renumber the rest).
fn recoverable(d: &Diagnostic) -> bool {
    matches!(
        d.code,
        Code::InvalidValue | Code::InvalidComputeLimit | Code::UnknownField
    ) && d.field.as_ref().is_some_and(|f| f.last_key().is_some())
}

/// Parses the file again without the value at `first`, and again without each further bad
/// value found, reporting each problem by its path (located in the file as written). Gives
/// up at a syntax error, a missing required field or a value that cannot be left out.
fn recover<T: DeserializeOwned>(
    file: &SourceFile,
    first: DocPath,
    seen: &mut HashSet<DocPath>,
    out: &mut Vec<Diagnostic>,
) -> Option<T> {
    let mut tree: serde_yaml::Value = match file.syntax {
        Syntax::Yaml => serde_yaml::from_str(&file.text).ok()?,
        Syntax::Toml => {
            serde_yaml::to_value(toml::from_str::<toml::Table>(&file.text).ok()?).ok()?
        }
    };
    let mut left_out = vec![first];
    for _ in 0..MAX_RECOVERIES {
        if !remove_value(&mut tree, left_out.last()?) {
            return None;
        }
        let text = serde_yaml::to_string(&tree).ok()?;
        let mut ignored = Vec::new();
        let de = serde_yaml::Deserializer::from_str(&text);
        let result = serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)));
        push_unknown_fields(file, ignored, seen, out);
        let e = match result {
            Ok(doc) => return Some(doc),
            Err(e) => e,
        };
        let (message, field) = split_yaml_message(&e);
        let d = pinpoint_value(
            file,
            pinpoint_unknown_field(
                file,
                finish_parse_error(file, message, None, field, || true),
            ),
            Some(&tree),
        );
        let field = d.field.clone().unwrap_or_default();
        // Leaving out the only key of a value (`check: { at_least: many }`) leaves it empty,
        // which is no new problem: leave the value out too, without a word.
        if d.code == Code::InvalidValue
            && field.last_key().is_some()
            && left_out.iter().any(|l| l.parent() == field)
        {
            left_out.push(field);
            continue;
        }
        if d.code == Code::MissingField {
            // A required field whose bad value was left out is reported already. Inside an
            // internally tagged value (a handler) serde names only the enclosing item, so a
            // field of that name left out below it counts as well.
            let parent = field.parent();
            let reported = left_out.iter().any(|l| {
                *l == field
                    || (l.last_key() == field.last_key()
                        && l.segments().starts_with(parent.segments()))
            });
            if !reported {
                out.push(d);
            }
            return None;
        }
        let more = recoverable(&d);
        if d.code != Code::UnknownField || seen.insert(field.clone()) {
            out.push(d);
        }
        if !more {
            return None;
        }
        left_out.push(field);
    }
    None
}

/// Removes the value at `path` (which ends in a key) from a document; whether it was there.
fn remove_value(tree: &mut serde_yaml::Value, path: &DocPath) -> bool {
    let Some((Segment::Key(key), parents)) = path.segments().split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        let next = match seg {
            Segment::Key(k) => node.get_mut(k.as_str()),
            Segment::Index(i) => node.get_mut(*i),
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    node.as_mapping_mut()
        .and_then(|m| m.remove(key.as_str()))
        .is_some()
}

/// A parser's "unknown field" names only the value the field is in when that value is
/// buffered (a tool's `handler`): find the key itself and report it like any unknown field.
fn pinpoint_unknown_field(file: &SourceFile, d: Diagnostic) -> Diagnostic {
    if d.code != Code::UnknownField {
        return d;
    }
    let Some(name) = serde_text::first_backticked(&d.message) else {
        return d;
    };
    let within = d.field.clone().unwrap_or_default();
    match SpanIndex::build(&file.text, file.syntax).find_key_below(&within, name) {
        Some(path) => unknown_field(file, path),
        None => d,
    }
}

/// Values read buffered (a tool's `handler`, whose `kind` picks the variant) or through a
/// conversion (ids, refusal codes) are reported at the mapping that holds them, without the
/// field. The message quotes the bad value: find the one field below that mapping holding
/// it and report there (`tools[2].handler.duration_ms`, `actions[0].preconditions[1].code`).
/// `tree` is the document as parsed when values were left out of it, else the file.
fn pinpoint_value(
    file: &SourceFile,
    d: Diagnostic,
    tree: Option<&serde_yaml::Value>,
) -> Diagnostic {
    if d.code != Code::InvalidValue {
        return d;
    }
    let mut d = refine_value(file, d, tree);
    // Every bad value names its field, found here or already known (`check.at_least`).
    if let Some(at) = &d.field
        && !at.segments().is_empty()
        && !d.message.starts_with('`')
    {
        d.message = format!("`{at}`: {}", d.message);
    }
    d
}

fn refine_value(
    file: &SourceFile,
    mut d: Diagnostic,
    tree: Option<&serde_yaml::Value>,
) -> Diagnostic {
    // serde_yaml names no path for a value of the document's own mapping (a bad `pack_id`)
    // and points at the mapping's first key: the value is searched for from the root.
    let at = match d.field.clone() {
        Some(at) => at,
        None if file.syntax == Syntax::Yaml => DocPath::root(),
        None => return d,
    };
    let Some(quoted) = quoted_value(&d.message) else {
        return d;
    };
    let parsed;
    let tree = match tree {
        Some(t) => t,
        None => {
            parsed = match file.syntax {
                Syntax::Yaml => serde_yaml::from_str::<serde_yaml::Value>(&file.text).ok(),
                Syntax::Toml => toml::from_str::<toml::Table>(&file.text)
                    .ok()
                    .and_then(|t| serde_yaml::to_value(t).ok()),
            };
            match &parsed {
                Some(t) => t,
                None => return d,
            }
        }
    };
    let mut node = tree;
    for seg in at.segments() {
        let next = match seg {
            Segment::Key(k) => node.get(k.as_str()),
            Segment::Index(i) => node.get(*i),
        };
        match next {
            Some(n) => node = n,
            None => return d,
        }
    }
    let mut found = Vec::new();
    find_scalar(node, &quoted, &at, 0, &mut found);
    if let [only] = found.as_slice()
        && *only != at
    {
        d.message = format!("`{only}`: {}", d.message);
        d.field = Some(only.clone());
        d.location = None;
        d.label = None;
    }
    d
}

/// The value a parser's message quotes: the first `` `x` `` or `"x"` in it.
fn quoted_value(message: &str) -> Option<String> {
    let pick = |open: char| {
        let start = message.find(open)? + 1;
        let len = message[start..].find(open)?;
        Some((start, message[start..start + len].to_owned()))
    };
    match (pick('`'), pick('"')) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a.1 } else { b.1 }),
        (a, b) => a.or(b).map(|(_, v)| v),
    }
}

/// The paths below `at` of every scalar written `text`.
fn find_scalar(
    node: &serde_yaml::Value,
    text: &str,
    at: &DocPath,
    depth: usize,
    out: &mut Vec<DocPath>,
) {
    if depth > 16 || out.len() > 1 {
        return;
    }
    match node {
        serde_yaml::Value::Mapping(map) => {
            for (k, v) in map {
                if let Some(k) = k.as_str() {
                    find_scalar(v, text, &at.key(k), depth + 1, out);
                }
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                find_scalar(v, text, &at.index(i), depth + 1, out);
            }
        }
        serde_yaml::Value::String(s) if s == text => out.push(at.clone()),
        serde_yaml::Value::Number(n) if n.to_string() == text => out.push(at.clone()),
        serde_yaml::Value::Bool(b) if b.to_string() == text => out.push(at.clone()),
        _ => {}
    }
}

/// Why a file defines nothing, if it does not: no text, or only comments (and, in YAML,
/// document markers).
fn blank(file: &SourceFile) -> Option<&'static str> {
    if file.text.trim().is_empty() {
        return Some("the file is empty");
    }
    let only_comments = file.text.lines().map(str::trim).all(|line| {
        line.is_empty()
            || line.starts_with('#')
            || (file.syntax == Syntax::Yaml && matches!(line, "---" | "..."))
    });
    only_comments.then_some("the file holds only comments")
}

/// Reports each field serde ignored, once per file however many parses saw it.
fn push_unknown_fields(
    file: &SourceFile,
    ignored: Vec<DocPath>,
    seen: &mut HashSet<DocPath>,
    out: &mut Vec<Diagnostic>,
) {
    for path in ignored {
        if seen.insert(path.clone()) {
            out.push(unknown_field(file, path));
        }
    }
}

fn unknown_field(file: &SourceFile, path: DocPath) -> Diagnostic {
    let name = path.last_key().unwrap_or_default().to_owned();
    let known = fields::known_fields(file.kind, &path.parent());
    let help = did_you_mean(&name, known.iter().map(String::as_str)).or_else(|| {
        (!known.is_empty()).then(|| format!("known fields here: {}", backticked(&known)))
    });
    let parent = path.parent();
    let message = if parent.is_root() {
        format!("unknown field `{name}`")
    } else {
        format!("unknown field `{name}` in `{parent}`")
    };
    Diagnostic::new(Code::UnknownField, message)
        .in_file(&file.path)
        .at(path)
        .label("not a field of this format")
        .maybe_help(help)
}

fn doc_path(p: &serde_ignored::Path<'_>) -> DocPath {
    use serde_ignored::Path as P;
    // serde_ignored's path is a linked list from the leaf up; collect, then reverse.
    let mut steps = Vec::new();
    let mut cur = p;
    loop {
        match cur {
            P::Root => break,
            P::Seq { parent, index } => {
                steps.push(Segment::Index(*index));
                cur = parent;
            }
            P::Map { parent, key } => {
                steps.push(Segment::Key(key.clone()));
                cur = parent;
            }
            P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                cur = parent;
            }
        }
    }
    steps.reverse();
    DocPath::from(steps)
}
