//! The JSON Schema of scenario files, so editors complete and check them as they do packs
//! (`tai schema scenario`; a `# yaml-language-server: $schema=…` modeline points at it).

use serde_json::Value;

use super::{RawStep, Scenario};
use crate::catalog::schema::close_objects;

/// The scenario file format as JSON Schema (draft-07). A step is described as it is written
/// (every action an optional key), which is how the loader reads it.
pub fn json_schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let step = generator.subschema_for::<RawStep>().to_value();
    let mut value = generator.into_root_schema_for::<Scenario>().to_value();
    if let Some(Value::Object(definitions)) = value.get_mut("definitions") {
        let written = match step.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default().to_owned();
                definitions.remove(&name).unwrap_or(step)
            }
            None => step,
        };
        definitions.insert("Step".to_owned(), written);
    }
    close_objects(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert("title".to_owned(), Value::from("tai scenario"));
    }
    value
}

/// The schema as committed: pretty-printed with a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_accepts_every_shipped_scenario_and_rejects_a_misspelt_key() {
        let schema = json_schema();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        let demo: Value = serde_yaml::from_str(include_str!("demo.yaml")).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&demo)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let bad: Value = serde_yaml::from_str(
            "name: x\nsteps:\n  - call: { tool: t }\n    expectt: { decision: executed }\n",
        )
        .unwrap();
        assert!(!validator.is_valid(&bad));
    }
}
