//! JSON read with every object's keys unique. A webhook body or a notification file with two
//! values for one key (`"tenant_id": "beta", "tenant_id": "acme"`) is ambiguous: a verifying
//! proxy in front may read the first while serde keeps the last, so such input is refused
//! rather than applied to whichever tenant one parser picked.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose objects, at every depth, name each key once (described as any JSON
/// value).
#[derive(Debug, Clone, PartialEq, schemars::JsonSchema)]
#[schemars(transparent)]
pub struct UniqueKeys(pub Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Unique).map(UniqueKeys)
    }
}

struct Unique;

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key `{key}` is given twice in one object"
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_at_any_depth_is_refused_and_placed() {
        let ok: UniqueKeys =
            serde_json::from_str(r#"{"a": 1, "b": [{"a": 2}, {"a": 3}], "c": {"d": null}}"#)
                .unwrap();
        assert_eq!(
            ok.0,
            serde_json::json!({"a": 1, "b": [{"a": 2}, {"a": 3}], "c": {"d": null}})
        );
        let e = serde_json::from_str::<UniqueKeys>(r#"{"t": "beta", "t": "acme"}"#).unwrap_err();
        assert!(e.to_string().contains("the key `t` is given twice"), "{e}");
        assert_eq!((e.line(), e.column() > 0), (1, true));
        let e = serde_json::from_str::<UniqueKeys>("{\"m\": {\"x\": 1,\n \"x\": 2}}").unwrap_err();
        assert_eq!(e.line(), 2, "{e}");
    }
}
