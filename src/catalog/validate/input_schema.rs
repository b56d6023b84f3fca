//! A tool's input schema checked: a JSON Schema object with well-formed keywords, compiled as
//! gate 3 compiles it at call time (so a schema that would not compile, such as a `pattern`
//! that is no regular expression or a `$ref` that resolves nowhere, fails validation rather
//! than leaving its tool's arguments unchecked).

use std::collections::HashSet;

use serde_json::Value;

use super::root;
use crate::spans::DocPath;

const JSON_TYPES: [&str; 7] = [
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Problems with a tool's input schema, each at its path inside the schema.
pub fn input_schema_problems(schema: &Value) -> Vec<(DocPath, String)> {
    let mut out = Vec::new();
    let Some(obj) = schema.as_object() else {
        out.push((
            root(),
            format!("expected a mapping, found {}", kind_of(schema)),
        ));
        return out;
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => out.push((
            root().key("type"),
            format!("`type` must be `object`, found {}", short(other)),
        )),
        None => out.push((root(), "the schema must declare `type: object`".to_owned())),
    }
    check_subschema(schema, &root(), 0, &mut out);
    if out.is_empty()
        && let Err(e) = jsonschema::validator_for(schema)
    {
        // The compiler checks the schema as an instance of its meta-schema: the error's
        // instance path is where in the schema the problem is.
        let at = pointer_path(schema, &e.instance_path().to_string());
        out.push((at, format!("it does not compile: {e}")));
    }
    out
}

/// A JSON pointer into `value` as a document path (array positions as indexes).
fn pointer_path(value: &Value, pointer: &str) -> DocPath {
    let mut path = root();
    let mut here = Some(value);
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        match (here, token.parse::<usize>()) {
            (Some(Value::Array(items)), Ok(i)) => {
                here = items.get(i);
                path = path.index(i);
            }
            (h, _) => {
                here = h.and_then(|v| v.get(&token));
                path = path.key(token);
            }
        }
    }
    path
}

fn check_subschema(schema: &Value, at: &DocPath, depth: usize, out: &mut Vec<(DocPath, String)>) {
    // Parsers already bound nesting; this keeps the walk bounded whatever produced the value.
    if depth > 64 {
        return;
    }
    let obj = match schema {
        Value::Bool(_) => return,
        Value::Object(obj) => obj,
        other => {
            out.push((
                at.clone(),
                format!(
                    "a schema must be a mapping or a boolean, found {}",
                    kind_of(other)
                ),
            ));
            return;
        }
    };
    for (key, value) in obj {
        let here = at.key(key.clone());
        let mut bad = |expected: &str| {
            out.push((
                here.clone(),
                format!("`{key}` must be {expected}, found {}", short(value)),
            ))
        };
        match key.as_str() {
            "type" => {
                let ok = match value {
                    Value::String(t) => JSON_TYPES.contains(&t.as_str()),
                    Value::Array(ts) => {
                        !ts.is_empty()
                            && ts
                                .iter()
                                .all(|t| t.as_str().is_some_and(|t| JSON_TYPES.contains(&t)))
                    }
                    _ => false,
                };
                if !ok {
                    bad(
                        "one of `object`, `array`, `string`, `number`, `integer`, `boolean`, `null` (or a list of them)",
                    );
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                match value {
                    Value::Object(map) => {
                        for (name, sub) in map {
                            check_subschema(sub, &here.key(name.clone()), depth + 1, out);
                        }
                    }
                    _ => bad("a mapping of names to schemas"),
                }
            }
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "not"
            | "contains"
            | "propertyNames"
            | "if"
            | "then"
            | "else"
            | "unevaluatedProperties"
            | "unevaluatedItems" => match value {
                Value::Object(_) | Value::Bool(_) => check_subschema(value, &here, depth + 1, out),
                Value::Array(items) if key == "items" => {
                    for (i, sub) in items.iter().enumerate() {
                        check_subschema(sub, &here.index(i), depth + 1, out);
                    }
                }
                _ => bad("a schema"),
            },
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => match value {
                Value::Array(items) if !items.is_empty() => {
                    for (i, sub) in items.iter().enumerate() {
                        check_subschema(sub, &here.index(i), depth + 1, out);
                    }
                }
                _ => bad("a non-empty list of schemas"),
            },
            "required" => {
                let ok = value.as_array().is_some_and(|names| {
                    let mut seen = HashSet::new();
                    names
                        .iter()
                        .all(|n| n.as_str().is_some_and(|n| seen.insert(n)))
                });
                if !ok {
                    bad("a list of distinct property names");
                }
            }
            "enum" | "examples" if !value.is_array() => bad("a list"),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
                if !value.is_number() =>
            {
                bad("a number");
            }
            "multipleOf" if !value.as_f64().is_some_and(|n| n > 0.0) => bad("a positive number"),
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
            | "maxProperties" | "minContains" | "maxContains"
                if value.as_u64().is_none() =>
            {
                bad("a non-negative integer");
            }
            "pattern" | "format" | "title" | "description" | "$comment" | "$schema" | "$id"
            | "$ref" | "$anchor"
                if !value.is_string() =>
            {
                bad("a string");
            }
            "uniqueItems" | "readOnly" | "writeOnly" | "deprecated" if !value.is_boolean() => {
                bad("`true` or `false`");
            }
            "dependentRequired" => {
                let ok = value.as_object().is_some_and(|m| {
                    m.values()
                        .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
                });
                if !ok {
                    bad("a mapping of names to lists of names");
                }
            }
            // Other keywords (vendor extensions, `default`, `const`) are free-form.
            _ => {}
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() <= 40 => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_schemas_are_checked_structurally() {
        assert!(
            input_schema_problems(
                &json!({"type": "object", "properties": {"a": {"type": "string"}}})
            )
            .is_empty()
        );
        let problems = |v: Value| -> Vec<String> {
            input_schema_problems(&v)
                .into_iter()
                .map(|(p, m)| format!("{p}: {m}"))
                .collect()
        };
        assert_eq!(
            problems(json!("x")),
            [": expected a mapping, found a string"]
        );
        assert_eq!(
            problems(json!({"type": "array"})),
            ["type: `type` must be `object`, found `array`"]
        );
        assert_eq!(
            problems(json!({})),
            [": the schema must declare `type: object`"]
        );
        assert_eq!(
            problems(json!({"type": "object", "properties": {"a": {"type": "strin"}}})),
            [
                "properties.a.type: `type` must be one of `object`, `array`, `string`, `number`, `integer`, `boolean`, `null` (or a list of them), found `strin`"
            ]
        );
        assert_eq!(
            problems(json!({"type": "object", "properties": [1]})),
            ["properties: `properties` must be a mapping of names to schemas, found a list"]
        );
        assert_eq!(
            problems(json!({"type": "object", "required": ["a", "a"], "properties": {"a": 3}})),
            [
                "properties.a: a schema must be a mapping or a boolean, found a number",
                "required: `required` must be a list of distinct property names, found a list"
            ]
        );
    }

    #[test]
    fn schemas_that_do_not_compile_are_problems_where_they_are() {
        let bad_pattern =
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}});
        let problems = input_schema_problems(&bad_pattern);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0.to_string(), "properties.a.pattern");
        assert!(
            problems[0].1.starts_with("it does not compile"),
            "{problems:?}"
        );
        let bad_ref = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}});
        let problems = input_schema_problems(&bad_ref);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].1.starts_with("it does not compile"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_schema_that_does_not_compile_refuses_every_call() {
        let mut pack: crate::catalog::Pack = serde_yaml::from_str(
            "pack_id: p\nversion: 1.0.0\ndescription: d\n\
             tools: [{name: t, description: d, action: a, handler: {kind: simulated},\
             input_schema: {type: object, properties: {x: {$ref: '#/nowhere'}}}}]\n\
             actions: [{id: a, roles: [r]}]\n",
        )
        .unwrap();
        pack.tools[0].input_schema =
            json!({"type": "object", "properties": {"x": {"pattern": "("}}});
        let catalog = crate::catalog::Catalog::new(vec![pack], Vec::new());
        let tool = catalog.tool("t").unwrap();
        let problems = tool.argument_problems(&serde_json::Map::new());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("does not compile"), "{problems:?}");
    }
}
