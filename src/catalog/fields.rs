//! The field names the file formats define at each document path, read from the JSON Schema
//! derived from the model types, so "did you mean …?" hints can never drift from what the
//! loader accepts.

use std::sync::OnceLock;

use serde_json::Value;

use super::input::DocKind;
use super::{Pack, Sku};
use crate::spans::{DocPath, Segment};

fn schema(kind: DocKind) -> &'static Value {
    static PACK: OnceLock<Value> = OnceLock::new();
    static SKU: OnceLock<Value> = OnceLock::new();
    match kind {
        DocKind::Pack => PACK.get_or_init(|| schemars::schema_for!(Pack).to_value()),
        DocKind::Sku => SKU.get_or_init(|| schemars::schema_for!(Sku).to_value()),
    }
}

/// Field names defined for the mapping at `path` (empty when the path leads nowhere known
/// or to a free-form map).
pub fn known_fields(kind: DocKind, path: &DocPath) -> Vec<String> {
    let root = schema(kind);
    let mut nodes = alternatives(root, root);
    for seg in path.segments() {
        let mut next = Vec::new();
        for node in &nodes {
            let child = match seg {
                Segment::Key(k) => node.get("properties").and_then(|p| p.get(k)),
                Segment::Index(_) => node.get("items"),
            };
            if let Some(child) = child {
                next.extend(alternatives(root, child));
            }
        }
        nodes = next;
    }
    let mut names: Vec<String> = nodes
        .iter()
        .filter_map(|n| n.get("properties").and_then(Value::as_object))
        .flat_map(|props| props.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The schema itself and every branch of its `anyOf`/`oneOf`/`allOf`, with `$ref`s followed.
fn alternatives<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut todo = vec![node];
    // The schema is ours and small; the bound only guards against a self-referencing `$ref`.
    let mut budget = 256;
    while let Some(node) = todo.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let node = resolve(root, node);
        out.push(node);
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(branches) = node.get(key).and_then(Value::as_array) {
                todo.extend(branches.iter());
            }
        }
    }
    out
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(target) = node.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(found) = target.strip_prefix('#').and_then(|p| root.pointer(p)) else {
            break;
        };
        node = found;
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> DocPath {
        DocPath::parse(text).unwrap()
    }

    #[test]
    fn fields_follow_the_model() {
        let root = known_fields(DocKind::Pack, &DocPath::root());
        assert!(root.contains(&"requires".to_owned()), "{root:?}");
        let tool = known_fields(DocKind::Pack, &path("tools[0]"));
        assert!(tool.contains(&"input_schema".to_owned()), "{tool:?}");
        let limits = known_fields(DocKind::Pack, &path("actions[1].compute_limits"));
        assert!(limits.contains(&"timeout_ms".to_owned()), "{limits:?}");
        let pre = known_fields(DocKind::Pack, &path("actions[0].preconditions[0]"));
        assert!(pre.contains(&"code".to_owned()), "{pre:?}");
        let handler = known_fields(DocKind::Pack, &path("tools[0].handler"));
        assert!(handler.contains(&"duration_ms".to_owned()), "{handler:?}");
        let price = known_fields(DocKind::Sku, &path("price"));
        assert_eq!(price, ["amount", "currency", "period"]);
        assert!(known_fields(DocKind::Sku, &path("nope.deeper")).is_empty());
    }
}
