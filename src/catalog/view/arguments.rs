//! A tool's arguments as its input schema declares them: listed for people (`tai pack
//! show`), and `KEY=VALUE` text from a command line read as the JSON type each one asks for.

use serde::Serialize;
use serde_json::Value;

/// One argument of a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgumentView {
    /// The argument's name.
    pub name: String,
    /// Its JSON type(s), e.g. `string` or `integer|null`; `any` when the schema says none.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the call must give it.
    pub required: bool,
    /// What it means, from the schema's `description`.
    pub description: Option<String>,
}

/// The JSON types a property's schema allows (empty when it does not say).
fn types(property: &Value) -> Vec<&str> {
    match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Every argument the tool's input schema declares, by name.
pub fn tool_arguments(input_schema: &Value) -> Vec<ArgumentView> {
    let required: Vec<&str> = input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = input_schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let kinds = types(property);
            ArgumentView {
                name: name.clone(),
                kind: if kinds.is_empty() {
                    "any".to_owned()
                } else {
                    kinds.join("|")
                },
                required: required.contains(&name.as_str()),
                description: property
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        })
        .collect()
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `text` (the part after `=` in `--arg KEY=VALUE`) as the value the schema asks for `key`:
/// text stays text for a string argument (`deployment=1234` is the string `"1234"`), and is
/// read as JSON for a number, boolean, array or object. Where the schema allows several types
/// or none, the JSON reading is taken when its type is allowed, else the text.
pub fn argument_value(input_schema: &Value, key: &str, text: &str) -> Value {
    let allowed = input_schema
        .get("properties")
        .and_then(|p| p.get(key))
        .map(types)
        .unwrap_or_default();
    let as_text = || Value::String(text.to_owned());
    if allowed == ["string"] {
        return as_text();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) if allowed.is_empty() => v,
        Ok(v) => {
            let kind = json_type(&v);
            if allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number")) {
                v
            } else if allowed.contains(&"string") {
                as_text()
            } else {
                // Neither reading fits: the JSON one, so the schema check names the type.
                v
            }
        }
        Err(_) => as_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["deployment"],
            "properties": {
                "deployment": { "type": "string", "description": "the deployment" },
                "replicas": { "type": "integer" },
                "ratio": { "type": "number" },
                "dry_run": { "type": "boolean" },
                "labels": { "type": "array" },
                "note": { "type": ["string", "null"] },
                "free": {}
            }
        })
    }

    #[test]
    fn text_stays_text_for_strings_and_is_json_for_other_types() {
        let s = schema();
        assert_eq!(argument_value(&s, "deployment", "1234"), json!("1234"));
        assert_eq!(argument_value(&s, "deployment", "true"), json!("true"));
        assert_eq!(argument_value(&s, "replicas", "3"), json!(3));
        assert_eq!(argument_value(&s, "ratio", "3"), json!(3));
        assert_eq!(argument_value(&s, "dry_run", "true"), json!(true));
        assert_eq!(argument_value(&s, "labels", "[1,2]"), json!([1, 2]));
        assert_eq!(argument_value(&s, "note", "null"), json!(null));
        assert_eq!(argument_value(&s, "note", "12"), json!("12"));
        assert_eq!(argument_value(&s, "free", "12"), json!(12));
        assert_eq!(argument_value(&s, "unknown", "x"), json!("x"));
        // A number that is not one stays text, so the schema check reports it.
        assert_eq!(argument_value(&s, "replicas", "many"), json!("many"));
    }

    #[test]
    fn arguments_are_listed_with_type_required_and_description() {
        let args = tool_arguments(&schema());
        let deployment = args.iter().find(|a| a.name == "deployment").unwrap();
        assert_eq!(deployment.kind, "string");
        assert!(deployment.required);
        assert_eq!(deployment.description.as_deref(), Some("the deployment"));
        let note = args.iter().find(|a| a.name == "note").unwrap();
        assert_eq!(note.kind, "string|null");
        assert!(!note.required);
        assert_eq!(args.iter().find(|a| a.name == "free").unwrap().kind, "any");
    }
}
