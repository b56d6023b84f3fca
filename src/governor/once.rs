//! Exactly-once: an entitlement event with an `event_id`, or a tool call with an idempotency
//! key, that the tenant has already decided is answered from the receipt that decided it,
//! without applying or running anything again.
//!
//! An event is a repeat when both its id and its type match: a marketplace that reuses a
//! notification id for what maps to another lifecycle event (AWS's `entitlement-updated`,
//! looked up again after the contract changed) is telling something new.
//!
//! The receipt is the memory: it carries the id (the event in its metadata, the call's key
//! as `idempotency_key`), so a tenant rebuilt from its ledger after a restart knows every id
//! it has seen, and the answer to a repeat is built from that receipt alone — the same before
//! and after a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use crate::entitlement::Refusal;
use crate::receipts::Receipt;
use crate::registry::SurfaceDiff;
use crate::vocab::{Decision, EventType, Gate, ReasonCode};

use super::requests::{CallKey, IDEMPOTENCY_KEY, REQUEST_SHA256};
use super::{CallOutcome, EventOutcome, Tenant};

/// The receipts that decided keyed calls and identified events, by key or id. Shared until
/// changed, since tenants are cloned for reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Seen {
    events: Arc<Window>,
    calls: Arc<Window>,
}

/// How many event ids, and how many call idempotency keys, a tenant remembers: the most
/// recent ones. An older id or key is forgotten, and a delivery or call carrying it again is
/// decided as new. Marketplaces redeliver within hours and clients retry within minutes;
/// this bounds a tenant's memory whatever its traffic, the same after a restart (replay keeps
/// the same most recent ones).
pub const SEEN_PER_TENANT: usize = 10_000;

/// The most recent [`SEEN_PER_TENANT`] ids and the receipts that decided them.
#[derive(Debug, Clone, Default, PartialEq)]
struct Window {
    by_id: HashMap<String, Receipt>,
    /// Ids in the order first seen, oldest first.
    order: VecDeque<String>,
}

impl Window {
    fn get(&self, id: &str) -> Option<&Receipt> {
        self.by_id.get(id)
    }

    fn insert(&mut self, id: String, decided: Receipt) {
        if self.by_id.insert(id.clone(), decided).is_some() {
            // A started call now decided: the same id, kept where it was.
            return;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_PER_TENANT
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_id.remove(&oldest);
        }
    }
}

impl Tenant {
    /// The answer to a repeated event, if an event of `kind` (its wire name) with
    /// `event_id` was seen: its first outcome, or, when `sent` (an event in tai's own JSON,
    /// as sent) differs from the event that id was first given to, a refusal — a client
    /// reusing an id for another event, which answering as a redelivery would report
    /// applied. A marketplace's redelivery is the same notification, but what it maps to
    /// may read records that changed since, so mapped events are not compared.
    pub(super) fn repeated_event(
        &self,
        kind: &str,
        event_id: Option<&str>,
        sent: Option<&Value>,
    ) -> Option<EventOutcome> {
        let id = event_id?;
        let r = self.seen.events.get(&event_key(kind, id))?;
        if let Some(sent) = sent
            && let Some(first) = r.body.metadata.get("event")
            && first.get("source").is_none_or(Value::is_null)
            && !same_event(&first, sent)
        {
            return Some(EventOutcome {
                accepted: false,
                refusal: Some(Refusal {
                    code: ReasonCode::EventIdReused,
                    message: format!(
                        "event id `{id}` was given to another `{kind}` event (seq {} records \
                         it); nothing was applied: a new event needs a new id",
                        r.seq
                    ),
                }),
                unchanged: None,
                surface: SurfaceDiff::default(),
                state: self.state,
                receipts: Vec::new(),
                repeat_of: Some(r.seq),
            });
        }
        let refusal = r.body.reason.clone().map(|code| Refusal {
            code,
            message: message(r).unwrap_or_default(),
        });
        Some(EventOutcome {
            accepted: r.body.event_type != EventType::EntitlementUpdateRefused,
            refusal,
            unchanged: r
                .body
                .metadata
                .get(UNCHANGED)
                .and_then(|m| m.as_str().map(str::to_owned)),
            surface: SurfaceDiff::default(),
            state: r.body.state_to,
            receipts: Vec::new(),
            repeat_of: Some(r.seq),
        })
    }

    /// The answer to a retried call, if its key was seen: the first outcome, or a refusal
    /// when the key was first used for another request (nothing runs either way).
    pub(super) fn repeated_call(&self, key: Option<&CallKey>) -> Option<CallOutcome> {
        let key = key?;
        let r = self.seen.calls.get(&key.key)?;
        let meta = r.body.metadata.to_value();
        let first = meta.get(REQUEST_SHA256).and_then(Value::as_str);
        if let Some(first) = first
            && !key.asks_as(first)
        {
            return Some(CallOutcome {
                decision: Decision::Refused,
                gate: None,
                reason: Some(ReasonCode::IdempotencyKeyReused),
                message: format!(
                    "idempotency key `{}` was used for another request (seq {} records it: a \
                     different tool, arguments, context or principal); nothing ran: a new \
                     request needs a new key",
                    key.key, r.seq
                ),
                result: None,
                state: self.state,
                receipts: Vec::new(),
                started: Vec::new(),
                repeat_of: Some(r.seq),
            });
        }
        let decision = match r.body.event_type {
            EventType::ActionExecuted => Decision::Executed,
            EventType::ActionRefused => Decision::Refused,
            EventType::ToolNotFound => Decision::ToolNotFound,
            _ => Decision::Failed,
        };
        let tool = meta.get("tool").and_then(Value::as_str).unwrap_or_default();
        Some(CallOutcome {
            decision,
            gate: meta
                .get("gate")
                .and_then(Value::as_str)
                .and_then(|g| g.parse::<Gate>().ok()),
            reason: r.body.reason.clone(),
            message: message(r).unwrap_or_else(|| super::requests::executed(tool)),
            result: (decision == Decision::Executed)
                .then(|| meta.get("result").cloned())
                .flatten(),
            state: r.body.state_to,
            receipts: Vec::new(),
            started: Vec::new(),
            repeat_of: Some(r.seq),
        })
    }

    /// Remembers the receipt that decided an event of `kind` with `event_id`.
    pub(super) fn remember_event(
        &mut self,
        kind: &str,
        event_id: Option<&str>,
        decided: Option<&Receipt>,
    ) {
        if let (Some(id), Some(r)) = (event_id, decided) {
            Arc::make_mut(&mut self.seen.events).insert(event_key(kind, id), r.clone());
        }
    }

    /// Remembers the receipt that decided a call with `key`.
    pub(super) fn remember_call(&mut self, key: Option<&CallKey>, decided: Option<&Receipt>) {
        if let (Some(key), Some(r)) = (key, decided) {
            Arc::make_mut(&mut self.seen.calls).insert(key.key.clone(), r.clone());
        }
    }

    /// Replay: remembers the id or key a stored receipt carries.
    pub(super) fn remember_stored(&mut self, r: &Receipt, field: &dyn Fn(&str) -> Value) {
        let event = r.body.event_type;
        if event.changes_entitlement() || event == EventType::EntitlementUpdateRefused {
            let event = field("event");
            let (kind, id) = event_identity(&event);
            self.remember_event(kind, id, Some(r));
        } else if r.body.metadata.as_str().contains(IDEMPOTENCY_KEY)
            && let Some(key) = CallKey::recorded(field)
        {
            self.remember_call(Some(&key), Some(r));
        }
    }
}

/// The type and id of an event as sent (or as a receipt's metadata keeps it).
pub(super) fn event_identity(event: &Value) -> (&str, Option<&str>) {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    (text("event_type").unwrap_or_default(), text("event_id"))
}

/// Whether two events as JSON say the same, a field left out being the same as `null` (an
/// event recorded before a field existed left it out).
fn same_event(a: &Value, b: &Value) -> bool {
    fn fields(v: &Value) -> Option<std::collections::BTreeMap<&String, &Value>> {
        let o = v.as_object()?;
        Some(o.iter().filter(|(_, v)| !v.is_null()).collect())
    }
    fields(a) == fields(b)
}

fn event_key(kind: &str, id: &str) -> String {
    format!("{kind} {id}")
}

/// The metadata key of why an accepted event changed nothing.
pub(super) const UNCHANGED: &str = "unchanged";

fn message(r: &Receipt) -> Option<String> {
    r.body
        .metadata
        .get("message")
        .and_then(|m| m.as_str().map(str::to_owned))
}
