//! Identifier newtypes shared by every module.
//!
//! Pack ids, tool names, roles and the like are distinct types so that a role can never be
//! passed where a pack id is expected. Each validates its spelling when parsed, so a bad id
//! is reported where it is read (a catalog file, an event, a command-line flag) rather than
//! deep inside the engine.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {rule}")]
pub struct InvalidId {
    /// What kind of identifier was being parsed (for example `pack id`).
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// The spelling rule it broke.
    pub rule: &'static str,
}

/// The spelling rules an identifier kind follows.
struct Rule {
    max_len: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    text: &'static str,
    /// The same rule as a JSON Schema pattern, so editors check spellings too.
    pattern: &'static str,
}

impl Rule {
    fn check(&self, kind: &'static str, value: &str) -> Result<(), InvalidId> {
        let mut chars = value.chars();
        let ok = value.len() <= self.max_len
            && chars.next().is_some_and(self.first)
            && chars.all(self.rest);
        if ok {
            Ok(())
        } else {
            Err(InvalidId {
                kind,
                value: value.to_owned(),
                rule: self.text,
            })
        }
    }
}

fn lower_alpha(c: char) -> bool {
    c.is_ascii_lowercase()
}
fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn snake(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}
fn kebab_or_snake(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}
fn tool_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}
fn role_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':' || c == '.'
}
fn tenant_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn visible(c: char) -> bool {
    c.is_ascii_graphic()
}

const SNAKE: Rule = Rule {
    max_len: 64,
    first: lower_alpha,
    rest: snake,
    text: "use 1-64 lowercase letters, digits and `_`, starting with a letter",
    pattern: r"^[a-z][a-z0-9_]{0,63}$",
};
const SLUG: Rule = Rule {
    max_len: 64,
    first: lower_alpha,
    rest: kebab_or_snake,
    text: "use 1-64 lowercase letters, digits, `-` and `_`, starting with a letter",
    pattern: r"^[a-z][a-z0-9_-]{0,63}$",
};
// MCP clients accept tool names of 1-64 characters from [A-Za-z0-9_-].
const TOOL: Rule = Rule {
    max_len: 64,
    first: alnum,
    rest: tool_char,
    text: "use 1-64 letters, digits, `_` and `-` (the MCP tool-name alphabet)",
    pattern: r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
};
const ROLE: Rule = Rule {
    max_len: 64,
    first: lower_alpha,
    rest: role_char,
    text: "use 1-64 lowercase letters, digits, `_`, `:` and `.`, starting with a letter",
    pattern: r"^[a-z][a-z0-9_:.]{0,63}$",
};
// Tenant ids become file names in the state directory, so no `/`, no leading dot.
const TENANT: Rule = Rule {
    max_len: 64,
    first: alnum,
    rest: tenant_char,
    text: "use 1-64 letters, digits, `_`, `-` and `.`, starting with a letter or digit",
    pattern: r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
};

// Marketplace identifiers (notification ids, products, plans, dimensions): UUIDs, GUIDs,
// numbers, mixed-case names; printable, no spaces.
const EVENT: Rule = Rule {
    max_len: 128,
    first: visible,
    rest: visible,
    text: "use 1-128 printable ASCII characters without spaces",
    pattern: r"^[!-~]{1,128}$",
};

// A call's idempotency key: a client's own (often a UUID), kept in the receipt that decides
// the call and remembered per tenant, hence bounded. 255 as payment APIs allow.
const KEY: Rule = Rule {
    max_len: 255,
    first: visible,
    rest: visible,
    text: "use 1-255 printable ASCII characters without spaces",
    pattern: r"^[!-~]{1,255}$",
};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $rule:expr) => {
        $(#[$doc])*
        ///
        /// The text is shared: receipts, tenants and catalogs copy ids on every call, and a
        /// copy is a reference count, not an allocation.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Parses and validates an identifier.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                $rule.check($kind, &value)?;
                Ok(Self(value.into()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": $rule.max_len,
                    "pattern": $rule.pattern,
                    "description": format!("{}: {}", $kind, $rule.text)
                })
            }
        }
    };
}

id_type!(
    /// A capability pack, e.g. `rollback_guard`.
    PackId, "pack id", SNAKE
);
id_type!(
    /// A marketplace SKU, e.g. `rollback-guard-professional`.
    SkuId, "SKU id", SLUG
);
id_type!(
    /// A marketplace plan, e.g. `professional-tier`.
    PlanId, "plan id", SLUG
);
id_type!(
    /// A tool exposed to clients; unique across the whole catalog.
    ToolName, "tool name", TOOL
);
id_type!(
    /// A bounded action a tool performs, unique within its pack.
    ActionId, "action id", SNAKE
);
id_type!(
    /// One started action (a run of a declared action), e.g. `act_3f2a…`: what a resolution
    /// names. See [`ActionRunId::of_receipt`].
    ActionRunId, "action id", SNAKE
);
id_type!(
    /// An IAM role, e.g. `write_rollback`.
    Role, "IAM role", ROLE
);
id_type!(
    /// A signal a pack emits or accepts, e.g. `storm_detected`.
    SignalName, "signal name", SNAKE
);
id_type!(
    /// A refusal code declared by a precondition, e.g. `deployment_not_stable`.
    RefusalCode, "refusal code", SNAKE
);
id_type!(
    /// A tenant; also the file name of its ledger, hence the strict alphabet.
    TenantId, "tenant id", TENANT
);
id_type!(
    /// A marketplace's id of one notification (GCP `eventId`, SNS `MessageId`, Azure `id`).
    EventId, "event id", EVENT
);
id_type!(
    /// A call's idempotency key: a retry carrying it is answered with the first outcome.
    IdempotencyKey, "idempotency key", KEY
);
id_type!(
    /// An identifier a marketplace lists a SKU under: a product, plan, offer, product code
    /// or dimension, spelled as the marketplace spells it.
    ListingId, "marketplace identifier", EVENT
);

impl ActionRunId {
    /// The id of the action whose start the receipt `receipt_id` records: `act_` and the
    /// receipt id's digits. A function of the stored receipt alone, so replay (and a ledger
    /// written before actions had ids) finds the same id, and the simulated clock's runs are
    /// reproducible.
    pub fn of_receipt(receipt_id: &str) -> ActionRunId {
        const PREFIX: &str = "act_";
        let digits = receipt_id.strip_prefix("rcpt_").unwrap_or(receipt_id);
        // Spelled in place: every call that runs an action names it, so no `String` is built
        // only to be copied into the id.
        let mut id = [0u8; SNAKE.max_len];
        id[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        let mut len = PREFIX.len();
        for b in digits.bytes().filter(u8::is_ascii_alphanumeric) {
            let Some(slot) = id.get_mut(len) else { break };
            *slot = b.to_ascii_lowercase();
            len += 1;
        }
        // The prefix and the kept bytes are ASCII.
        ActionRunId(std::str::from_utf8(&id[..len]).unwrap_or(PREFIX).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_id_is_spelled_from_its_receipt() {
        let id = ActionRunId::of_receipt("rcpt_0a1b2c3d4e5f60718293a4b5");
        assert_eq!(id.as_str(), "act_0a1b2c3d4e5f60718293a4b5");
        assert_eq!(ActionRunId::new(id.as_str()), Ok(id));
    }

    proptest::proptest! {
        /// The id is spelled as it always was (replay finds the ids older ledgers name).
        #[test]
        fn an_action_id_keeps_its_spelling(receipt_id in "(rcpt_)?([a-zA-Z0-9_]|\\PC){0,80}") {
            let digits: String = receipt_id
                .strip_prefix("rcpt_")
                .unwrap_or(&receipt_id)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .take(SNAKE.max_len - 4)
                .collect();
            let id = ActionRunId::of_receipt(&receipt_id);
            proptest::prop_assert_eq!(id.as_str(), format!("act_{digits}"));
        }
    }

    #[test]
    fn accepts_and_rejects_spellings() {
        assert!(PackId::new("rollback_guard").is_ok());
        assert!(PackId::new("Rollback").is_err());
        assert!(PackId::new("").is_err());
        assert!(SkuId::new("rollback-guard-base").is_ok());
        assert!(ToolName::new("ac_rollback-orchestrator").is_ok());
        assert!(ToolName::new("a b").is_err());
        assert!(Role::new("read:deployment").is_ok());
        assert!(TenantId::new("cust-12345").is_ok());
        assert!(TenantId::new("../etc").is_err());
        assert!(TenantId::new(".hidden").is_err());
        assert!(TenantId::new("a/b").is_err());
        assert!(TenantId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn error_names_kind_and_rule() {
        let err = PackId::new("Bad").unwrap_err();
        assert!(err.to_string().starts_with("invalid pack id `Bad`"));
    }
}
