//! What a pack says about signals and domain events: each declared signal (a plain name, or
//! a name marked as Andon with a severity) and the domain events an action emits at each
//! point of its run.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::ids::SignalName;
use crate::vocab::{AndonSeverity, EventType};

/// A signal the pack understands: `deploy_failed`, or `{ name: deploy_failed, andon:
/// critical }` for one that pulls the Andon cord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSpec {
    /// The signal's name.
    pub name: SignalName,
    /// Set when the signal is an Andon signal: `critical` stops the pack's actions until
    /// the signal is cleared, `warning` is recorded as `andon_raised` and stops nothing.
    pub andon: Option<AndonSeverity>,
}

impl std::fmt::Display for SignalSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.andon {
            None => write!(f, "{}", self.name),
            Some(severity) => write!(f, "{} (Andon {severity})", self.name),
        }
    }
}

/// The map form of a [`SignalSpec`].
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Declared {
    /// The signal's name.
    name: SignalName,
    /// Marks the signal as Andon: `critical` stops the line of the packs that declare it
    /// (their actions are refused with `andon_stopped`) until it is cleared; `warning` is
    /// recorded and stops nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    andon: Option<AndonSeverity>,
}

/// The two forms a signal is written in, for the schema.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "only its schema is used")]
enum Written {
    /// A plain signal name.
    Name(SignalName),
    /// A name with its Andon severity.
    Declared(Declared),
}

impl JsonSchema for SignalSpec {
    fn schema_name() -> Cow<'static, str> {
        "SignalSpec".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Written::json_schema(generator)
    }
}

impl Serialize for SignalSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.andon {
            // A plain name stays a plain name, so packs without Andon hash as they did.
            None => self.name.serialize(s),
            Some(andon) => Declared {
                name: self.name.clone(),
                andon: Some(andon),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SignalSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};

        struct SpecVisitor;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = SignalSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a signal name, or `{ name: ..., andon: warning|critical }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignalSpec, E> {
                let name = SignalName::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(SignalSpec { name, andon: None })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SignalSpec, A::Error> {
                let d = Declared::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SignalSpec {
                    name: d.name,
                    andon: d.andon,
                })
            }
        }

        d.deserialize_any(SpecVisitor)
    }
}

/// The pack's domain events an action emits, by the point of its run they record: names
/// from the pack's `receipt_events`, carried by the receipts as `domain_events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Emits {
    /// When the action passed its gates and starts (a command's `action_started`; for a
    /// simulated action, first on its outcome receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<SignalName>,
    /// When it succeeded (`action_executed`), or an overrun of it was resolved complete
    /// (`action_completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<SignalName>,
    /// When it overran its wall-clock limit (`action_timeout`); `failed` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<SignalName>,
    /// When it failed otherwise (an error, the memory or output limit, an interruption), or
    /// an overrun of it was resolved failed (`action_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<SignalName>,
    /// When a gate refused it (`action_refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<SignalName>,
}

impl Emits {
    /// Every declared point and its event, in the order of the fields.
    pub fn declared(&self) -> impl Iterator<Item = (&'static str, &SignalName)> {
        [
            ("started", &self.started),
            ("completed", &self.completed),
            ("timeout", &self.timeout),
            ("failed", &self.failed),
            ("refused", &self.refused),
        ]
        .into_iter()
        .filter_map(|(point, name)| name.as_ref().map(|n| (point, n)))
    }

    /// The domain event that a receipt of type `event` records for the action, if any.
    pub fn on(&self, event: EventType) -> Option<&SignalName> {
        match event {
            EventType::ActionStarted => self.started.as_ref(),
            EventType::ActionExecuted | EventType::ActionCompleted => self.completed.as_ref(),
            EventType::ActionTimeout => self.timeout.as_ref().or(self.failed.as_ref()),
            EventType::ActionErrored
            | EventType::ActionMemoryExceeded
            | EventType::ActionInterrupted
            | EventType::ActionFailed => self.failed.as_ref(),
            EventType::ActionRefused => self.refused.as_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        signals: Vec<SignalSpec>,
    }

    #[test]
    fn a_signal_is_a_name_or_a_name_with_its_andon_severity_in_yaml_and_toml() {
        let yaml: Holder =
            serde_yaml::from_str("signals: [a, { name: b, andon: critical }]").unwrap();
        let toml: Holder =
            toml::from_str("signals = [\"a\", { name = \"b\", andon = \"critical\" }]").unwrap();
        for h in [yaml, toml] {
            assert_eq!(h.signals[0].name.as_str(), "a");
            assert_eq!(h.signals[0].andon, None);
            assert_eq!(h.signals[1].name.as_str(), "b");
            assert_eq!(h.signals[1].andon, Some(AndonSeverity::Critical));
        }
    }

    #[test]
    fn bad_signal_entries_say_what_is_wrong() {
        let err = |text: &str| {
            serde_yaml::from_str::<Holder>(text)
                .unwrap_err()
                .to_string()
        };
        assert!(err("signals: [{ name: b, andon: loud }]").contains("unknown variant `loud`"));
        assert!(err("signals: [{ name: b, severity: critical }]").contains("unknown field"));
        assert!(err("signals: [Bad-Name]").contains("signal name"));
        assert!(err("signals: [3]").contains("a signal name, or"));
    }

    #[test]
    fn a_plain_signal_serializes_as_its_name() {
        let plain = SignalSpec {
            name: SignalName::new("a").unwrap(),
            andon: None,
        };
        assert_eq!(serde_json::to_value(&plain).unwrap(), "a");
        let andon = SignalSpec {
            andon: Some(AndonSeverity::Warning),
            ..plain
        };
        assert_eq!(
            serde_json::to_value(&andon).unwrap(),
            serde_json::json!({ "name": "a", "andon": "warning" })
        );
    }

    #[test]
    fn a_timeout_without_its_own_event_emits_the_failure_event() {
        let emits = Emits {
            failed: Some(SignalName::new("f").unwrap()),
            ..Emits::default()
        };
        assert_eq!(
            emits.on(EventType::ActionTimeout).map(|n| n.as_str()),
            Some("f")
        );
        assert_eq!(emits.on(EventType::ActionExecuted), None);
    }
}
