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
    let mut rendered = value.clone();
    fill(&mut rendered, args);
    Cow::Owned(rendered)
}

fn has_placeholder(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(OPEN),
        Value::Array(items) => items.iter().any(has_placeholder),
        Value::Object(map) => map.values().any(has_placeholder),
        _ => false,
    }
}

/// Replaces the placeholders of `value` in place. Filling a clone rather than building a new
/// tree keeps each map as it is (no key is hashed or copied again) and rebuilds only the
/// strings that hold a placeholder.
fn fill(value: &mut Value, args: &Map<String, Value>) {
    match value {
        Value::String(s) if s.contains(OPEN) => {
            let rendered = render_str(s, args);
            *value = rendered;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, args)),
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, args)),
        _ => {}
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

    /// Results with placeholders in strings at any depth, and arguments to fill them.
    fn result_and_args() -> impl proptest::strategy::Strategy<Value = (Value, Value)> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just("{{args.a}}"),
            Just("x {{args.b}} y {{ args.a }}"),
            Just("{{args.}} {{nope}}"),
            Just("plain"),
            Just("{{args.a"),
        ];
        let leaf = prop_oneof![
            text.prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
        ];
        let result = leaf.clone().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-d]{1,2}", inner), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        let args = prop::collection::vec(("[ab]", leaf), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect()));
        (result, args)
    }

    proptest::proptest! {
        /// Filling a clone in place renders what building a new tree rendered.
        #[test]
        fn rendering_in_place_equals_rendering_a_new_tree((result, a) in result_and_args()) {
            fn rebuilt(value: &Value, args: &Map<String, Value>) -> Value {
                match value {
                    Value::String(s) => render_str(s, args),
                    Value::Array(items) => {
                        Value::Array(items.iter().map(|v| rebuilt(v, args)).collect())
                    }
                    Value::Object(map) => Value::Object(
                        map.iter().map(|(k, v)| (k.clone(), rebuilt(v, args))).collect(),
                    ),
                    other => other.clone(),
                }
            }
            let a = a.as_object().unwrap();
            let got = render(&result, a).into_owned();
            let want = rebuilt(&result, a);
            proptest::prop_assert_eq!(got.to_string(), want.to_string());
            proptest::prop_assert_eq!(got, want);
        }
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
