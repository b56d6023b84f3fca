//! Marketplace adapters: Google Cloud, AWS and Azure notifications, read in the exact shape
//! each marketplace sends, turned into tai's typed entitlement events.
//!
//! Each adapter parses a notification (a typed [`FieldError`] names the field and the value
//! when it cannot), looks up what the notification leaves out (GCP's entitlement resource,
//! AWS's GetEntitlements records) through [`Resources`], finds the SKU through the catalog's
//! [`ListingIndex`], and maps the marketplace's event onto the lifecycle. Every mapped event
//! carries the marketplace's own notification id and the tenant, validated like any tenant
//! id. A notification that is well formed but cannot be mapped (no SKU sells its plan, a
//! failed purchase) is an [`Unmappable`] with a reason, never a silent drop.
//!
//! Nothing here decides: the events go through the resolver like any other.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod offline;
pub mod reloading;

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::catalog::marketplace::ListingIndex;
use crate::clock::Timestamp;
use crate::entitlement::EntitlementEvent;
pub use crate::entitlement::Marketplace;
use crate::ids::{EventId, TenantId};

pub use offline::Offline;
pub use reloading::Reloading;

/// What is wrong with a field of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The field is absent (or null).
    #[error("missing")]
    Missing,
    /// The field has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// The type the shape calls for.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// Base64 that does not decode.
    #[error("not valid base64 ({reason})")]
    Base64 {
        /// The decoder's complaint.
        reason: String,
    },
    /// Text that should hold JSON and does not.
    #[error("not JSON ({reason})")]
    Json {
        /// The parser's complaint.
        reason: String,
    },
    /// A value of the right type that breaks a rule (an id's spelling, a time's format).
    #[error("`{value}` {reason}")]
    Invalid {
        /// The value, as found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An event type or action the adapter does not know.
    #[error("unknown {what} `{value}`; known: {known}")]
    Unknown {
        /// What kind of name (`eventType`, `action`, ...).
        what: &'static str,
        /// The name found.
        value: String,
        /// The names the adapter knows, comma-separated.
        known: String,
    },
}

/// A notification field that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("`{field}`: {problem}")]
pub struct FieldError {
    /// The field's path in the notification (or resource), e.g. `message.data`.
    pub field: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
}

/// Why an answer from the marketplace's API (or its offline copy) is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// No resource answers for the notification.
    #[error("no {what} `{id}`{hint}")]
    NotFound {
        /// What was looked up (e.g. `GCP entitlement`).
        what: &'static str,
        /// Its id.
        id: String,
        /// The rest of the sentence: where it was looked for and how to provide it, naming
        /// the option that gives records.
        hint: String,
    },
    /// Two resources answer differently for the same thing.
    #[error("{what} `{id}` is given twice, differently: in `{first}` and in `{second}`")]
    Ambiguous {
        /// What was looked up.
        what: &'static str,
        /// Its id.
        id: String,
        /// Where the first answer came from.
        first: String,
        /// Where the second came from.
        second: String,
    },
    /// A resource that is not in the shape its API returns.
    #[error("`{source_name}`: {error}")]
    Malformed {
        /// The file (and line) it came from.
        source_name: String,
        /// What is wrong.
        error: FieldError,
    },
}

/// Why a notification did not become an entitlement event before its tenant was known (or
/// because the notification itself is unreadable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Not in the marketplace's shape: a missing field, bad base64, an unknown event type.
    #[error("{0}")]
    Malformed(#[from] FieldError),
    /// The resource the notification refers to is missing or unusable.
    #[error("{0}")]
    Resource(#[from] ResourceError),
}

/// Why a well-formed notification maps to no entitlement event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmappableReason {
    /// No SKU is listed under (or has the plan id of) the marketplace's plan.
    UnknownPlan,
    /// The marketplace's records name several SKUs at once.
    AmbiguousPlan,
    /// The marketplace reports that the purchase or operation failed: nothing to grant.
    NotCompleted,
}

impl UnmappableReason {
    /// The reason as written in output.
    pub fn as_str(self) -> &'static str {
        match self {
            UnmappableReason::UnknownPlan => "unknown_plan",
            UnmappableReason::AmbiguousPlan => "ambiguous_plan",
            UnmappableReason::NotCompleted => "not_completed",
        }
    }
}

impl fmt::Display for UnmappableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A well-formed notification for a known tenant that tai cannot turn into an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Unmappable {
    /// Why.
    pub reason: UnmappableReason,
    /// What exactly, naming the marketplace's identifiers.
    pub message: String,
}

/// A notification read and mapped: who it is about, and the event (or why there is none).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Mapped {
    /// The marketplace that sent it.
    pub marketplace: Marketplace,
    /// The marketplace's name of what happened (`ENTITLEMENT_ACTIVE`, `subscribe-success`,
    /// `ChangePlan`).
    pub notification: String,
    /// The marketplace's id of the notification.
    pub event_id: EventId,
    /// The tenant it is about.
    pub tenant_id: TenantId,
    /// The entitlement event, or why there is none.
    #[serde(flatten)]
    pub outcome: MappedOutcome,
}

/// The event a notification maps to, or why it maps to none.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappedOutcome {
    /// The entitlement event to apply.
    Event(EntitlementEvent),
    /// Why there is none.
    Unmappable(Unmappable),
    /// Why the notification changes nothing: the marketplace's own record contradicts it (a
    /// late delivery). Accepted and recorded as such, so the marketplace stops delivering it.
    Unchanged(String),
}

/// What the adapters read besides the notification: the catalog (through its listings), the
/// marketplace APIs, and the time (to judge whether a marketplace's end date has passed).
#[derive(Debug)]
pub struct Context<'a> {
    /// The SKU finder.
    pub listings: ListingIndex<'a>,
    /// The marketplace APIs.
    pub resources: &'a dyn Resources,
}

impl<'a> Context<'a> {
    /// A context over `catalog`'s SKUs and `resources`.
    pub fn new(catalog: &'a Catalog, resources: &'a dyn Resources) -> Self {
        Context {
            listings: ListingIndex::new(catalog.skus()),
            resources,
        }
    }
}

/// The marketplace APIs the adapters read: GCP's Procurement API (entitlements) and AWS's
/// Entitlement Service (GetEntitlements). [`Offline`] answers from files; a live client
/// would implement the same.
pub trait Resources: fmt::Debug {
    /// The Procurement API's entitlement `id` (the last segment of its name). When the
    /// answer depends on time, the one as of `updated` (the notification's `updateTime`).
    fn gcp_entitlement(
        &self,
        id: &str,
        updated: Option<Timestamp>,
    ) -> Result<gcp::Entitlement, ResourceError>;

    /// GetEntitlements for `product_code`, filtered by `customer` (every page). An empty list
    /// means the customer has no entitlement (a live GetEntitlements answering that filter
    /// with no record); an answer that is not there is [`ResourceError::NotFound`], never
    /// an empty list.
    fn aws_entitlements(
        &self,
        product_code: &str,
        customer: &str,
    ) -> Result<Vec<aws::Entitlement>, ResourceError>;
}

/// Reads one notification from `marketplace` and maps it.
pub fn map(
    marketplace: Marketplace,
    raw: &Value,
    ctx: &Context<'_>,
) -> Result<Mapped, NotificationError> {
    match marketplace {
        Marketplace::Gcp => gcp::map(&gcp::parse(raw)?, ctx),
        Marketplace::Aws => aws::map(&aws::parse(raw)?, ctx),
        Marketplace::Azure => azure::map(&azure::parse(raw)?, ctx),
    }
}

// ------------------------------------------------------------------ reading JSON fields

/// A value inside a notification, with the path that leads to it (for errors).
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> At<'a> {
    /// The document itself.
    pub(crate) fn root(value: &'a Value) -> Self {
        At {
            value: Some(value),
            path: String::new(),
        }
    }

    /// A document found inside a field (decoded base64, JSON in a string), whose fields are
    /// named below `path`.
    pub(crate) fn nested(value: &'a Value, path: &str) -> Self {
        At {
            value: Some(value),
            path: path.to_owned(),
        }
    }

    /// The field's path, e.g. `message.data`.
    pub(crate) fn path(&self) -> String {
        if self.path.is_empty() {
            "(the notification)".to_owned()
        } else {
            self.path.clone()
        }
    }

    /// An error at this field.
    pub(crate) fn error(&self, problem: Problem) -> FieldError {
        FieldError {
            field: self.path(),
            problem,
        }
    }

    /// A value-rule error at this field.
    pub(crate) fn invalid(&self, value: &str, reason: impl Into<String>) -> FieldError {
        self.error(Problem::Invalid {
            value: value.to_owned(),
            reason: reason.into(),
        })
    }

    /// The field `key` of this object (absent when this is not an object: reading it says
    /// why).
    pub(crate) fn get(&self, key: &str) -> At<'a> {
        At {
            value: self.value.and_then(|v| v.get(key)),
            path: if self.path.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.path)
            },
        }
    }

    /// The value, `None` when absent or null.
    pub(crate) fn value(&self) -> Option<&'a Value> {
        self.value.filter(|v| !v.is_null())
    }

    fn wrong(&self, expected: &'static str, found: &Value) -> FieldError {
        self.error(Problem::WrongType {
            expected,
            found: kind(found),
        })
    }

    /// This value as an object.
    pub(crate) fn object(&self) -> Result<&'a Map<String, Value>, FieldError> {
        match self.value() {
            None => Err(self.error(Problem::Missing)),
            Some(Value::Object(m)) => Ok(m),
            Some(v) => Err(self.wrong("an object", v)),
        }
    }

    /// A required string.
    pub(crate) fn str(&self) -> Result<&'a str, FieldError> {
        self.opt_str()?.ok_or_else(|| self.error(Problem::Missing))
    }

    /// An optional string: `None` when absent, null or empty.
    pub(crate) fn opt_str(&self) -> Result<Option<&'a str>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong("a string", v)),
        }
    }

    /// An optional whole number, written as a number or as digits in a string.
    pub(crate) fn opt_count(&self) -> Result<Option<u64>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.invalid(&n.to_string(), "is not a whole number of units")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(s, "is not a whole number of units")),
            Some(v) => Err(self.wrong("a number", v)),
        }
    }

    /// An optional time: RFC 3339 text, or epoch seconds as a number.
    pub(crate) fn opt_time(&self) -> Result<Option<Timestamp>, FieldError> {
        match self.value() {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Timestamp::parse(s)
                .map(Some)
                .map_err(|_| self.invalid(s, "is not an RFC 3339 time")),
            Some(Value::Number(n)) => match n.as_f64() {
                // Whole seconds; AWS writes fractions, which no entitlement needs.
                // Checked finite and non-negative; the cast saturates at u64::MAX.
                Some(secs) if secs.is_finite() && secs >= 0.0 => {
                    let at = Timestamp::from_secs(secs as u64);
                    if !at.in_range() {
                        return Err(self.invalid(
                            &n.to_string(),
                            format!(
                                "is past {}, the last time a receipt can record",
                                Timestamp::MAX
                            ),
                        ));
                    }
                    Ok(Some(at))
                }
                _ => Err(self.invalid(&n.to_string(), "is not a time in epoch seconds")),
            },
            Some(v) => Err(self.wrong("a time", v)),
        }
    }

    /// A required id of type `T`, checked against its spelling rule.
    pub(crate) fn id<T>(&self) -> Result<T, FieldError>
    where
        T: std::str::FromStr<Err = crate::ids::InvalidId>,
    {
        let s = self.str()?;
        s.parse::<T>()
            .map_err(|e| self.invalid(s, format!("is not a valid {}: {}", e.kind, e.rule)))
    }

    /// JSON held in a string field (SNS's `Message`, a decoded Pub/Sub `data`).
    pub(crate) fn json_text(&self, text: &str) -> Result<Value, FieldError> {
        serde_json::from_str(text).map_err(|e| {
            self.error(Problem::Json {
                reason: e.to_string(),
            })
        })
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the name at `at` (an event type, an action, a status) and finds it among `names`,
/// each value with the name the marketplace sends for it.
pub(crate) fn named<T: Copy>(
    at: &At<'_>,
    what: &'static str,
    names: &[(T, &'static str)],
) -> Result<T, FieldError> {
    let name = at.str()?;
    names
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(v, _)| *v)
        .ok_or_else(|| {
            let known: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
            at.error(Problem::Unknown {
                what,
                value: name.to_owned(),
                known: known.join(", "),
            })
        })
}

/// An event of `kind` from `marketplace`, carrying its id and tenant.
pub(crate) fn event(
    kind: crate::entitlement::EventKind,
    marketplace: Marketplace,
    event_id: &EventId,
    tenant: &TenantId,
) -> EntitlementEvent {
    let mut e = EntitlementEvent::new(kind, tenant.clone());
    e.source = Some(marketplace);
    e.event_id = Some(event_id.clone());
    e
}

/// The message for a plan no SKU is found for.
pub(crate) fn no_sku(what: &str, plan: Option<&str>) -> Unmappable {
    let default = plan.map_or_else(String::new, |p| format!(" or has `plan_id: {p}`"));
    Unmappable {
        reason: UnmappableReason::UnknownPlan,
        message: format!(
            "no SKU is listed under {what}{default}; add the listing to a SKU's `marketplace:` section"
        ),
    }
}
