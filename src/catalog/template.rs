//! Templates in simulated results: `{{args.NAME}}` in a result string is replaced by the
//! call's argument `NAME`, so a demo echoes what it was asked.
//!
//! A string that is exactly one placeholder takes the argument's JSON value (a number stays
//! a number); a placeholder inside longer text is replaced by the argument as text (a string
//! as it is, anything else as compact JSON). An argument the call does not give is `null`
//! for a whole-string placeholder and empty text inside a string. `tai validate` checks that
//! every placeholder names a property of the tool's input schema.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::spans::DocPath;

const OPEN: &str = "{{";
const CLOSE: &str = "}}";
const PREFIX: &str = "args.";

/// One placeholder found in a result: where it is, and the argument it names (`Err` with the
/// text between the braces when it is not `args.NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Path of the string below the value searched.
    pub at: DocPath,
    /// The argument name, or the whole text when it is not of the form `args.NAME`.
    pub name: Result<String, String>,
}

/// Every placeholder in `value`'s strings, in document order.
pub fn placeholders(value: &Value) -> Vec<Placeholder> {
    let mut out = Vec::new();
    collect(value, &DocPath::root(), &mut out);
    out
}

fn collect(value: &Value, at: &DocPath, out: &mut Vec<Placeholder>) {
    match value {
        Value::String(s) => {
            for inner in inners(s) {
                out.push(Placeholder {
                    at: at.clone(),
                    name: arg_name(inner)
                        .map(str::to_owned)
                        .ok_or_else(|| inner.to_owned()),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &at.index(i), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect(v, &at.key(k.as_str()), out);
            }
        }
        _ => {}
    }
}

/// The texts between `{{` and `}}` in `s`, in order.
fn inners(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let start = rest.find(OPEN)? + OPEN.len();
        let len = rest[start..].find(CLOSE)?;
        let inner = &rest[start..start + len];
        rest = &rest[start + len + CLOSE.len()..];
        Some(inner)
    })
}

/// `NAME` of `args.NAME` (blanks around it allowed), if that is what `inner` says.
fn arg_name(inner: &str) -> Option<&str> {
    let name = inner.trim().strip_prefix(PREFIX)?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some(name)
}

/// `value` with its placeholders replaced by `args`; borrowed when it has none, which is the
/// common case and costs one scan of its strings.
pub fn render<'v>(value: &'v Value, args: &Map<String, Value>) -> Cow<'v, Value> {
    if !has_placeholder(value) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(render_owned(value, args))
}

fn has_placeholder(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(OPEN),
        Value::Array(items) => items.iter().any(has_placeholder),
        Value::Object(map) => map.values().any(has_placeholder),
        _ => false,
    }
}

fn render_owned(value: &Value, args: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) => render_str(s, args),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_owned(v, args)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_owned(v, args)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_str(s: &str, args: &Map<String, Value>) -> Value {
    let whole = s
        .strip_prefix(OPEN)
        .and_then(|r| r.strip_suffix(CLOSE))
        .filter(|inner| !inner.contains(OPEN) && !inner.contains(CLOSE))
        .and_then(arg_name);
    if let Some(name) = whole {
        return args.get(name).cloned().unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(len) = after.find(CLOSE) else {
            break;
        };
        out.push_str(&rest[..start]);
        match arg_name(&after[..len]) {
            Some(name) => match args.get(name) {
                Some(Value::String(text)) => out.push_str(text),
                Some(Value::Null) | None => {}
                Some(other) => out.push_str(&other.to_string()),
            },
            // Not a placeholder (validation reports it): kept as written.
            None => out.push_str(&rest[start..start + OPEN.len() + len + CLOSE.len()]),
        }
        rest = &after[len + CLOSE.len()..];
    }
    out.push_str(rest);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn placeholders_take_the_arguments() {
        let result = json!({
            "message": "rolled back {{args.deployment}} to {{ args.version }}",
            "replicas": "{{args.n}}",
            "tags": ["{{args.deployment}}", "fixed"],
            "missing": "{{args.absent}}",
            "inline_missing": "[{{args.absent}}]",
            "not_one": "{{deployment}} and {{args.}}",
            "count": 3,
        });
        let a = args(json!({ "deployment": "checkout-api", "version": 42, "n": 3 }));
        assert_eq!(
            render(&result, &a).into_owned(),
            json!({
                "message": "rolled back checkout-api to 42",
                "replicas": 3,
                "tags": ["checkout-api", "fixed"],
                "missing": null,
                "inline_missing": "[]",
                "not_one": "{{deployment}} and {{args.}}",
                "count": 3,
            })
        );
    }

    #[test]
    fn a_result_without_placeholders_is_borrowed() {
        let result = json!({ "ok": true, "text": "{ not one }" });
        assert!(matches!(render(&result, &Map::new()), Cow::Borrowed(_)));
    }

    #[test]
    fn placeholders_are_found_with_their_paths() {
        let result = json!({ "a": ["x {{args.one}} {{args.two}}"], "b": "{{nope}}" });
        let found = placeholders(&result);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].at, DocPath::root().key("a").index(0));
        assert_eq!(found[0].name, Ok("one".to_owned()));
        assert_eq!(found[1].name, Ok("two".to_owned()));
        assert_eq!(found[2].name, Err("nope".to_owned()));
    }
}
