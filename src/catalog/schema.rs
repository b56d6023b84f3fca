//! JSON Schemas of the pack and SKU file formats, derived from the model types.
//!
//! Editors use them to complete and check definition files as they are typed (the YAML
//! language server reads a `# yaml-language-server: $schema=...` modeline). Deriving them
//! from the same types the loader deserializes into keeps the schema and the loader in step;
//! copies are committed under `schemas/` and a test fails when they go stale.

use serde_json::Value;

use super::{Pack, Sku};

/// Which file format a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `packs/*.yaml|toml`
    Pack,
    /// `skus/*.yaml|toml`
    Sku,
}

impl SchemaKind {
    /// Both kinds.
    pub const ALL: [SchemaKind; 2] = [SchemaKind::Pack, SchemaKind::Sku];

    /// The committed file name, e.g. `pack.schema.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Pack => "pack.schema.json",
            SchemaKind::Sku => "sku.schema.json",
        }
    }
}

/// The JSON Schema (draft-07, the dialect editors support most widely) of a file format.
pub fn schema(kind: SchemaKind) -> Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let (root, title) = match kind {
        SchemaKind::Pack => (generator.into_root_schema_for::<Pack>(), "tai pack"),
        SchemaKind::Sku => (generator.into_root_schema_for::<Sku>(), "tai SKU"),
    };
    let mut value = root.to_value();
    close_objects(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert("title".to_owned(), Value::from(title));
    }
    value
}

/// The schema as committed: pretty-printed with a final newline.
pub fn schema_text(kind: SchemaKind) -> String {
    let mut text = serde_json::to_string_pretty(&schema(kind)).unwrap_or_default();
    text.push('\n');
    text
}

/// The loader reports unknown fields as errors, so the schema rejects them too: every object
/// with declared properties gets `additionalProperties: false` unless it says otherwise.
/// Free-form maps (input schemas, results, `when`) declare no properties and stay open.
pub fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            // Literal values (defaults, constants, examples) are data, not schemas.
            map.iter_mut()
                .filter(|(k, _)| !matches!(k.as_str(), "default" | "const" | "enum" | "examples"))
                .for_each(|(_, v)| close_objects(v));
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_schema_describes_the_fields_and_closes_objects() {
        let s = schema(SchemaKind::Pack);
        assert_eq!(s["title"], "tai pack");
        assert_eq!(s["additionalProperties"], false);
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(required, ["pack_id", "version", "description"]);
        assert!(s["properties"]["compute_limits"].is_object());
        // Input schemas stay free-form.
        let tool = &s["definitions"]["Tool"];
        assert_eq!(tool["additionalProperties"], false);
        let input = &tool["properties"]["input_schema"];
        assert_ne!(input["additionalProperties"], false);
        assert!(input["default"].get("additionalProperties").is_none());
    }

    #[test]
    fn sku_schema_requires_the_listing_fields() {
        let s = schema(SchemaKind::Sku);
        assert!(s["properties"]["price"].is_object());
        assert!(schema_text(SchemaKind::Sku).ends_with("}\n"));
    }
}
