//! The pack and SKU file formats, as Rust types.
//!
//! These types are the single source of truth for the on-disk formats: the loader
//! deserializes into them and `tai schema` derives the JSON Schema from them, so the schema
//! an editor checks against can never drift from what `tai validate` accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::signals::{Emits, SignalSpec};
use crate::ids::{ActionId, PackId, PlanId, RefusalCode, Role, SignalName, SkuId, ToolName};

/// A capability pack: tools, the actions they perform, and what the pack needs to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pack {
    /// Unique id of the pack, e.g. `rollback_guard`.
    pub pack_id: PackId,
    /// Semantic version of the pack definition, e.g. `1.0.0`.
    #[schemars(regex(pattern = SEMVER_PATTERN))]
    pub version: String,
    /// What the pack does, in one or two sentences.
    pub description: String,
    /// Tools the pack exposes to clients once enabled.
    #[serde(default)]
    pub tools: Vec<Tool>,
    /// Signals the pack understands (a signal may set tenant facts); a named signal no
    /// enabled pack declares is refused. An entry is a name, or `{ name, andon }` for an
    /// Andon signal.
    #[serde(default)]
    pub signals: Vec<SignalSpec>,
    /// Bounded actions the tools perform.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// IAM roles the pack needs for its full feature set.
    #[serde(default)]
    pub required_iam_roles: Vec<Role>,
    /// Packs that must be enabled alongside this one.
    #[serde(default)]
    pub requires: Vec<PackId>,
    /// Packs that must never be enabled alongside this one.
    #[serde(default)]
    pub incompatible_with: Vec<PackId>,
    /// Domain event types this pack records in receipts.
    #[serde(default)]
    pub receipt_events: Vec<SignalName>,
    /// Where the pack keeps its state.
    #[serde(default)]
    pub storage: Storage,
    /// Default bounds for the pack's actions (an action may override them).
    #[serde(default)]
    pub compute_limits: Option<ComputeLimits>,
}

/// Where a pack keeps its state; informational for the simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// No state beyond the receipt ledger.
    #[default]
    None,
    /// The tenant's receipt ledger.
    Ledger,
    /// A document store.
    Firestore,
    /// A relational database.
    Sql,
    /// An object store.
    ObjectStore,
}

/// A tool: the unit a client sees and calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Name clients call the tool by; unique across the catalog.
    pub name: ToolName,
    /// What the tool does, shown to clients and models.
    pub description: String,
    /// JSON Schema (an object schema) for the tool's arguments.
    #[serde(default = "empty_object_schema")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub input_schema: serde_json::Value,
    /// Id of the action (in the same pack) the tool performs.
    pub action: ActionId,
    /// How the action is carried out.
    pub handler: Handler,
}

fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({ "type": "object", "properties": {} })
}

/// How a tool's action is carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Handler {
    /// A declared outcome, evaluated without running anything: deterministic demos and tests.
    Simulated(Simulated),
    /// An external program: JSON arguments on stdin, a JSON result on stdout.
    Command(Command),
    /// An operation tai performs itself on the tenant's own receipts.
    Builtin(Builtin),
}

/// A built-in handler: tai answers from the tenant's receipt chain as it was before the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Builtin {
    /// The operation.
    pub builtin: BuiltinName,
}

/// The operations a built-in handler can perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinName {
    /// Recompute every hash and link of the chain (or of `from_seq`..=`to_seq`) and report
    /// the first broken receipt.
    VerifyChain,
    /// One receipt, by `seq` or by receipt `id`.
    LookupReceipt,
    /// Receipts in a time range (`since`, `until`) and of given `event_types`, as JSON lines.
    ExportAuditTrail,
}

impl BuiltinName {
    /// The name as written in pack files.
    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinName::VerifyChain => "verify_chain",
            BuiltinName::LookupReceipt => "lookup_receipt",
            BuiltinName::ExportAuditTrail => "export_audit_trail",
        }
    }
}

/// A simulated outcome. `cases` override the defaults when their `when` matches the arguments.
// Internally tagged variants are buffered before they are deserialized, which hides unknown
// keys from the loader's ignored-field scan; denying them here reports them instead.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Simulated {
    /// The result returned on success.
    #[serde(default)]
    pub result: serde_json::Value,
    /// Simulated run time; beyond the action's timeout the call times out.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Simulated peak memory; beyond the action's limit the call is stopped.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// When set, the action fails with this message.
    #[serde(default)]
    pub error: Option<String>,
    /// Argument-dependent outcomes, tried in order; the first match wins.
    #[serde(default)]
    pub cases: Vec<SimulatedCase>,
    /// Results of a status tool on the governor's successive polls of an action in flight:
    /// the first poll gets the first, and so on, the last repeating. A call gets `result`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence: Vec<serde_json::Value>,
}

/// One argument-dependent simulated outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatedCase {
    /// Argument values that must all be equal for this case to apply.
    pub when: BTreeMap<String, serde_json::Value>,
    /// Replaces the default result.
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    /// Replaces the default duration.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Replaces the default memory use.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Makes the action fail with this message.
    #[serde(default)]
    pub error: Option<String>,
    /// Replaces the default `sequence` of poll results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence: Vec<serde_json::Value>,
}

/// An external program run under the action's bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Program to run (looked up on `PATH` when it has no `/`).
    pub program: String,
    /// Arguments passed to the program.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Paths the program may use beyond what every program gets (see the README's threat
    /// model): the file-system sandbox denies everything else.
    #[serde(default, skip_serializing_if = "Sandbox::is_empty")]
    pub sandbox: Sandbox,
}

/// The paths a command handler declares beyond the base set every handler gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// Absolute paths (files or directories, with everything beneath) the program may read
    /// and execute.
    #[serde(default)]
    pub read: Vec<String>,
    /// Absolute paths the program may read, write, create and remove beneath.
    #[serde(default)]
    pub write: Vec<String>,
}

impl Sandbox {
    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty()
    }
}

/// A bounded action with its IAM requirements and safety checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// Action id, unique within the pack.
    pub id: ActionId,
    /// What the action does.
    #[serde(default)]
    pub description: Option<String>,
    /// IAM roles a tenant must hold to run the action (least privilege).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Declarative safety checks, evaluated in order; the first failing one refuses the call.
    #[serde(default)]
    pub preconditions: Vec<Precondition>,
    /// Bounds for this action; falls back to the pack's, then to the defaults.
    #[serde(default)]
    pub compute_limits: Option<ComputeLimits>,
    /// The pack's `receipt_events` this action emits, by the point of its run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emits: Option<Emits>,
    /// How an overrun of this action resolves without a person: a status tool polled until
    /// it reports done or failed, and a deadline. Without it, a person reports the end
    /// (`tai action complete|fail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<super::AutoResolve>,
}

/// One declarative precondition: a value looked up by `key` must satisfy `check`.
///
/// The value is looked up in the call's context first, then in the tenant's facts (set by
/// signals), then `default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Precondition {
    /// Context or fact key, e.g. `deployment_stable`.
    pub key: String,
    /// The test the value must pass.
    pub check: Check,
    /// Value used when neither the context nor the facts have the key.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Reason code of the refusal when the check fails.
    pub code: RefusalCode,
    /// Human-readable refusal message.
    pub message: String,
}

/// A test applied to a looked-up value: `present`, or a one-key map such as
/// `{ equals: true }`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The value exists and is not null.
    Present,
    /// The value equals this one.
    Equals(serde_json::Value),
    /// The value differs from this one (a missing value differs).
    NotEquals(serde_json::Value),
    /// The value is one of these.
    OneOf(Vec<serde_json::Value>),
    /// The value is a number at least this large.
    AtLeast(f64),
    /// The value is a number at most this large.
    AtMost(f64),
}

/// The check names, as written in files.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum CheckKind {
    Present,
    Equals,
    NotEquals,
    OneOf,
    AtLeast,
    AtMost,
}

// serde_yaml only reads externally tagged enums from YAML tags, while the schema (and TOML)
// write them as one-key maps; this visitor reads both, so the two formats and the schema
// agree.
impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, EnumAccess, MapAccess, VariantAccess, Visitor};

        const EXPECTED: &str =
            "`present` or a one-key map: equals, not_equals, one_of, at_least, at_most";

        struct CheckVisitor;

        impl<'de> Visitor<'de> for CheckVisitor {
            type Value = Check;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Check, E> {
                match v {
                    "present" => Ok(Check::Present),
                    "equals" | "not_equals" | "one_of" | "at_least" | "at_most" => Err(E::custom(
                        format_args!("check `{v}` needs a value, e.g. `{{ {v}: ... }}`"),
                    )),
                    _ => Err(E::unknown_variant(v, CHECK_NAMES)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
                let Some(kind) = map.next_key::<CheckKind>()? else {
                    return Err(de::Error::invalid_length(0, &EXPECTED));
                };
                let check = match kind {
                    CheckKind::Present => {
                        map.next_value::<de::IgnoredAny>()?;
                        Check::Present
                    }
                    CheckKind::Equals => Check::Equals(map.next_value()?),
                    CheckKind::NotEquals => Check::NotEquals(map.next_value()?),
                    CheckKind::OneOf => Check::OneOf(map.next_value()?),
                    CheckKind::AtLeast => Check::AtLeast(map.next_value()?),
                    CheckKind::AtMost => Check::AtMost(map.next_value()?),
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "a check has exactly one key; put each check in its own precondition",
                    ));
                }
                Ok(check)
            }

            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Check, A::Error> {
                let (kind, variant) = data.variant::<CheckKind>()?;
                Ok(match kind {
                    CheckKind::Present => {
                        variant.unit_variant()?;
                        Check::Present
                    }
                    CheckKind::Equals => Check::Equals(variant.newtype_variant()?),
                    CheckKind::NotEquals => Check::NotEquals(variant.newtype_variant()?),
                    CheckKind::OneOf => Check::OneOf(variant.newtype_variant()?),
                    CheckKind::AtLeast => Check::AtLeast(variant.newtype_variant()?),
                    CheckKind::AtMost => Check::AtMost(variant.newtype_variant()?),
                })
            }
        }

        d.deserialize_any(CheckVisitor)
    }
}

const CHECK_NAMES: &[&str] = &[
    "present",
    "equals",
    "not_equals",
    "one_of",
    "at_least",
    "at_most",
];

/// Resource bounds for an action.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComputeLimits {
    /// Wall-clock limit in milliseconds.
    #[serde(default)]
    #[schemars(range(min = 1, max = 86_400_000))]
    pub timeout_ms: Option<u64>,
    /// Memory limit in MiB.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_048_576))]
    pub max_memory_mb: Option<u64>,
    /// CPU share in percent of one core; enforced for command handlers.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub max_cpu_percent: Option<u32>,
    /// Cap on a command's output, in KiB.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_048_576))]
    pub max_output_kb: Option<u64>,
}

/// A marketplace SKU: a plan that names the packs it enables and the roles it may grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sku {
    /// Unique SKU id, e.g. `rollback-guard-professional`.
    pub sku_id: SkuId,
    /// Marketplace plan id, e.g. `professional-tier`.
    pub plan_id: PlanId,
    /// Listing title shown on the marketplace.
    pub title: String,
    /// List price.
    pub price: Price,
    /// Packs this SKU enables (at least one).
    #[schemars(length(min = 1))]
    pub enabled_packs: Vec<PackId>,
    /// The most IAM roles an entitlement for this SKU may grant.
    #[serde(default)]
    pub iam_roles: Vec<Role>,
    /// Billing term; sets the default expiry of a new entitlement.
    #[serde(default)]
    pub term: Term,
    /// Who the listing is for.
    #[serde(default)]
    pub recommended_for: Option<String>,
    /// The marketplace listings that sell this SKU, where their identifiers differ from
    /// `plan_id` (by default a marketplace plan maps to the SKU whose `plan_id` equals it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<super::marketplace::Listings>,
}

/// A price per billing period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    /// The amount per period in the currency's units, e.g. `299` or `29.50`.
    ///
    /// At most two decimals: `tai validate` checks it.
    // No `multipleOf: 0.01`: common validators (Python's jsonschema, Ajv) test it in binary
    // floating point and would flag prices like 19.99 in an editor. The cents rule is the
    // one single-file rule only `tai validate` applies.
    #[schemars(range(min = 0, max = 1_000_000_000_000.0))]
    pub amount: f64,
    /// ISO 4217 currency code.
    #[serde(default = "usd")]
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// Billing period the amount covers.
    #[serde(default)]
    pub period: Term,
}

/// Semantic versioning 2.0.0, as `tai validate` checks it (semver.org's regular expression).
const SEMVER_PATTERN: &str = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$";

fn usd() -> String {
    "USD".to_owned()
}

/// A billing term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// 30 days.
    #[default]
    Monthly,
    /// 90 days.
    Quarterly,
    /// 365 days.
    Annual,
}

impl Term {
    /// Length of the term in days.
    pub fn days(self) -> u64 {
        match self {
            Term::Monthly => 30,
            Term::Quarterly => 90,
            Term::Annual => 365,
        }
    }

    /// Short label for tables, e.g. `mo`.
    pub fn short(self) -> &'static str {
        match self {
            Term::Monthly => "mo",
            Term::Quarterly => "qtr",
            Term::Annual => "yr",
        }
    }
}

impl Price {
    /// The amount in cents (minor units), for exact comparisons and diffs.
    pub fn cents(&self) -> i64 {
        // Amounts are validated to be finite, non-negative and at most two decimals.
        #[allow(clippy::cast_possible_truncation)]
        let cents = (self.amount * 100.0).round() as i64;
        cents
    }
}

impl Pack {
    /// The action with this id, if the pack declares it.
    pub fn action(&self, id: &ActionId) -> Option<&Action> {
        self.actions.iter().find(|a| &a.id == id)
    }

    /// The signal with this name, if the pack declares it.
    pub fn signal(&self, name: &str) -> Option<&SignalSpec> {
        self.signals.iter().find(|s| s.name.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        check: Check,
    }

    fn yaml(text: &str) -> Result<Check, String> {
        serde_yaml::from_str::<Holder>(text)
            .map(|h| h.check)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn checks_read_the_same_from_yaml_maps_tags_and_toml() {
        assert_eq!(yaml("check: present"), Ok(Check::Present));
        assert_eq!(
            yaml("check: { equals: true }"),
            Ok(Check::Equals(serde_json::json!(true)))
        );
        assert_eq!(
            yaml("check: !equals true"),
            Ok(Check::Equals(serde_json::json!(true)))
        );
        assert_eq!(yaml("check: { at_most: 7 }"), Ok(Check::AtMost(7.0)));
        assert_eq!(
            yaml("check: { one_of: [a, b] }"),
            Ok(Check::OneOf(vec!["a".into(), "b".into()]))
        );
        let toml: Holder = toml::from_str("check = { not_equals = \"x\" }").unwrap();
        assert_eq!(toml.check, Check::NotEquals("x".into()));
        let toml: Holder = toml::from_str("check = \"present\"").unwrap();
        assert_eq!(toml.check, Check::Present);
    }

    #[test]
    fn check_errors_say_what_is_expected() {
        assert!(
            yaml("check: equal")
                .unwrap_err()
                .contains("unknown variant `equal`")
        );
        assert!(yaml("check: equals").unwrap_err().contains("needs a value"));
        assert!(
            yaml("check: { equals: 1, at_most: 2 }")
                .unwrap_err()
                .contains("exactly one key")
        );
        assert!(
            yaml("check: 3")
                .unwrap_err()
                .contains("`present` or a one-key map")
        );
    }

    #[test]
    fn checks_serialize_as_the_schema_describes() {
        let json = serde_json::to_value(Check::Equals(true.into())).unwrap();
        assert_eq!(json, serde_json::json!({ "equals": true }));
        assert_eq!(serde_json::to_value(Check::Present).unwrap(), "present");
    }
}
