//! What a governor is asked and what it answers: tool calls, signals, entitlement events and
//! action resolutions, with their outcomes and errors.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::entitlement::Refusal;
use crate::iam::Principal;
use crate::ids::{ActionRunId, SignalName, TenantId, ToolName};
use crate::receipts::{MetadataBuilder, Receipt};
use crate::registry::SurfaceDiff;
use crate::vocab::{Decision, EventType, Gate, GovernorState, ReasonCode};

/// A tool call: the tool's name as the client sent it, its arguments and its context.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolCall {
    /// The tool name (unchecked: an unknown name is simply not found).
    pub tool: String,
    /// Arguments for the tool's handler.
    pub arguments: Map<String, Value>,
    /// Facts about the call that preconditions may check (e.g. `deployment_stable`).
    pub context: Map<String, Value>,
    /// The client's key for this call: a retry with a key the tenant has seen is answered
    /// with the first outcome and runs nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<crate::ids::IdempotencyKey>,
    /// Who calls (`user:…` or `serviceAccount:…`): under the tenant's IAM policy, the roles
    /// the action needs must be bound to this principal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// A wall-clock limit for this call in milliseconds: it may tighten the action's
    /// `timeout_ms`, never loosen it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The answer to a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CallOutcome {
    /// What became of the call.
    pub decision: Decision,
    /// The gate that refused, if one did.
    pub gate: Option<Gate>,
    /// The reason code for a refusal or failure.
    pub reason: Option<ReasonCode>,
    /// A sentence explaining the decision.
    pub message: String,
    /// The action's result, when it executed.
    pub result: Option<Value>,
    /// The governor state after the call.
    pub state: GovernorState,
    /// Receipts written, in order. For a call whose command ran, the outcome receipt only:
    /// what was written ahead of the program is in `started`.
    pub receipts: Vec<Receipt>,
    /// For a call whose command ran: the receipts made durable before the program started
    /// (anything time recorded first, then `action_started`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub started: Vec<Receipt>,
    /// When this answers a retry of a call already decided (the same idempotency key): the
    /// seq of the receipt that decided it. Nothing ran and nothing was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<u64>,
}

/// A signal: an observation sent to the governor; its facts feed preconditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signal {
    /// The signal's name, if it has one (e.g. `storm_detected`).
    pub name: Option<SignalName>,
    /// Facts to record for the tenant when the signal is processed.
    pub facts: Map<String, Value>,
}

/// The answer to a signal.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SignalOutcome {
    /// The receipt's event type: processed, refused or postponed.
    pub event: EventType,
    /// Why it was refused, if it was.
    pub reason: Option<ReasonCode>,
    /// A sentence saying why it was refused, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The governor state after the signal.
    pub state: GovernorState,
    /// Receipts written, in order.
    pub receipts: Vec<Receipt>,
}

/// The answer to an entitlement event.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EventOutcome {
    /// Whether the event was accepted.
    pub accepted: bool,
    /// Why it was refused, if it was.
    pub refusal: Option<Refusal>,
    /// Why an accepted marketplace event changed nothing, when it did not: it was stale, or
    /// the entitlement already stood where it would take it (recorded as such).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged: Option<String>,
    /// How the tool surface changed.
    pub surface: SurfaceDiff,
    /// The governor state after the event.
    pub state: GovernorState,
    /// Receipts written, in order.
    pub receipts: Vec<Receipt>,
    /// When this answers a redelivery of an event already applied (the same `event_id`):
    /// the seq of the receipt that recorded it. Nothing changed and nothing was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<u64>,
}

/// The reported end of an in-flight action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The action finished after all: back to stable.
    Complete,
    /// The action failed for good: the governor refuses work until recovered.
    Failed,
}

/// Why a recovery report could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no action is in flight for tenant `{tenant}` (governor is {state})")]
pub struct NothingInFlight {
    /// The tenant.
    pub tenant: TenantId,
    /// Its governor state.
    pub state: GovernorState,
}

/// Why a resolution was not applied. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolvable {
    /// No action is in flight, and the id named (if any) is not one resolved lately.
    #[error(transparent)]
    NothingInFlight(#[from] NothingInFlight),
    /// The id named is not the action in flight.
    #[error(
        "action `{asked}` is not in flight for tenant `{tenant}`: the action in flight is \
         `{in_flight}` ({tool})"
    )]
    UnknownAction {
        /// The tenant.
        tenant: TenantId,
        /// The id the resolution named.
        asked: ActionRunId,
        /// The action that is in flight.
        in_flight: ActionRunId,
        /// Its tool.
        tool: ToolName,
    },
    /// The id named was in flight once and is resolved already.
    #[error(
        "action `{asked}` of tenant `{tenant}` is already resolved ({event} at seq {seq}){}",
        in_flight.as_ref().map_or_else(String::new, |a| format!(": the action in flight is `{a}`"))
    )]
    AlreadyResolved {
        /// The tenant.
        tenant: TenantId,
        /// The id the resolution named.
        asked: ActionRunId,
        /// The receipt that resolved it: `action_completed` or `action_failed`.
        event: EventType,
        /// Its seq.
        seq: u64,
        /// The action in flight now, if one is.
        in_flight: Option<ActionRunId>,
    },
}

impl Unresolvable {
    /// The refusal's code, as the CLI, HTTP, MCP and scenarios report it.
    pub fn code(&self) -> &'static str {
        match self {
            Unresolvable::NothingInFlight(_) => "nothing_in_flight",
            Unresolvable::UnknownAction { .. } => "unknown_action",
            Unresolvable::AlreadyResolved { .. } => "action_already_resolved",
        }
    }
}

/// The action an `intervening` governor is waiting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InFlight {
    /// The action's id: what a resolution names.
    pub action_id: ActionRunId,
    /// The tool that was called.
    pub tool: ToolName,
    /// Why it overran.
    pub reason: String,
    /// When it went in flight.
    pub since: Timestamp,
    /// How the governor resolves it on its own, when its action declares `resolve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling: Option<super::Polling>,
}

/// A command that passed the gates and was recorded as started (`action_started`) but has no
/// outcome yet: running, or — when nobody is running it any more — interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Running {
    /// The action's id, from its `action_started` receipt.
    pub action_id: ActionRunId,
    /// The tool that was called.
    pub tool: ToolName,
    /// The seq of its `action_started` receipt.
    pub started_seq: u64,
    /// When it started.
    pub since: Timestamp,
    /// The call's idempotency key and request digest, kept for the receipt that ends it.
    #[serde(skip)]
    pub(crate) idempotency_key: Option<CallKey>,
}

/// The message of a call whose action ran: the first answer and every repeat's. Sized
/// exactly, since `format!` grows its string a piece at a time on every call.
pub(super) fn executed(tool: &str) -> String {
    const TAIL: &str = "` executed";
    let mut message = String::with_capacity(1 + tool.len() + TAIL.len());
    message.push('`');
    message.push_str(tool);
    message.push_str(TAIL);
    message
}

/// The metadata field of a call's deciding receipt that holds its idempotency key.
pub(super) const IDEMPOTENCY_KEY: &str = "idempotency_key";

/// The metadata field beside it that holds the SHA-256 of what the call asked for.
pub(super) const REQUEST_SHA256: &str = "request_sha256";

/// A call's idempotency key and what the call asked for under it: a retry must ask for the
/// same, or it is not a retry (a client reusing a key by mistake would otherwise be told its
/// new request succeeded when nothing of it ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallKey {
    pub(crate) key: String,
    /// SHA-256 (hex) of the canonical tool, arguments, context and principal; `None` for a
    /// call recorded before requests were digested.
    pub(crate) request: Option<String>,
    /// The digest as releases before numbers were canonicalized made it, when it differs
    /// (the request has a whole number written with a fraction, `1.0`): a retry of a call
    /// recorded then still matches it.
    pub(crate) legacy: Option<String>,
}

impl CallKey {
    /// The key `call` carries, if any, with the digest of what it asks for. The wait it
    /// allows (`timeout_ms`) is how long to wait, not what is asked, and is left out.
    pub(crate) fn of(call: &ToolCall) -> Option<CallKey> {
        let key = call.idempotency_key.as_ref()?.as_str().to_owned();
        let digest = |arguments: &Map<String, Value>, context: &Map<String, Value>| {
            let mut asked = MetadataBuilder::new();
            asked.insert("tool", &call.tool);
            asked.insert_map("arguments", arguments);
            asked.insert_map("context", context);
            if let Some(principal) = &call.principal {
                asked.insert_struct("principal", principal);
            }
            crate::receipts::sha256_hex(asked.finish().as_str().as_bytes())
        };
        // JSON does not tell `1` from `1.0` (nor does a schema's `integer`): a client that
        // writes its retry's numbers differently still asks for the same thing.
        let request = digest(
            &whole_numbers(&call.arguments),
            &whole_numbers(&call.context),
        );
        let legacy = digest(&call.arguments, &call.context);
        Some(CallKey {
            key,
            legacy: (legacy != request).then_some(legacy),
            request: Some(request),
        })
    }

    /// Whether `recorded` (a first call's digest) is the digest of this request.
    pub(crate) fn asks_as(&self, recorded: &str) -> bool {
        self.request.as_deref().is_none_or(|now| now == recorded)
            || self.legacy.as_deref() == Some(recorded)
    }

    /// The key as a stored receipt's metadata (`field`) records it.
    pub(super) fn recorded(field: &dyn Fn(&str) -> Value) -> Option<CallKey> {
        let key = field(IDEMPOTENCY_KEY).as_str()?.to_owned();
        let request = field(REQUEST_SHA256).as_str().map(str::to_owned);
        Some(CallKey {
            key,
            request,
            legacy: None,
        })
    }

    /// Records the key and the digest in a receipt's metadata.
    pub(super) fn note(&self, metadata: &mut MetadataBuilder) {
        metadata.insert(IDEMPOTENCY_KEY, &self.key);
        if let Some(request) = &self.request {
            metadata.insert(REQUEST_SHA256, request);
        }
    }
}

/// `map` with every number that is a whole number written with a fraction (`1.0`, `-2.0`,
/// up to 2^53, where a double is exact) written as the integer it is, at any depth.
fn whole_numbers(map: &Map<String, Value>) -> Map<String, Value> {
    fn value(v: &Value) -> Value {
        match v {
            Value::Number(n) if n.is_f64() => match n.as_f64().and_then(whole_number) {
                Some(i) => Value::from(i),
                None => v.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(value).collect()),
            Value::Object(m) => Value::Object(whole_numbers(m)),
            _ => v.clone(),
        }
    }
    map.iter().map(|(k, v)| (k.clone(), value(v))).collect()
}

/// `f` as the integer it is when it is a whole number a double holds exactly (|f| ≤ 2^53):
/// how `1.0` is read wherever JSON's numbers are compared as numbers.
pub(super) fn whole_number(f: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    // Exact: whole and within ±2^53.
    #[allow(clippy::cast_possible_truncation)]
    (f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i64)
}
