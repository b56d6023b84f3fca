//! One tenant's governor: its state, entitlement, visible tools and facts, and every
//! transition of the state table. Each operation returns the receipts it wrote, in order.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::clock::Timestamp;
use crate::entitlement::{self, Entitlement, EntitlementEvent, MalformedEvent, Refusal, Standing};
use crate::exec::{self, Limits, Outcome};
use crate::ids::{SignalName, TenantId, ToolName};
use crate::receipts::{ChainHead, EventType, IdSource, MetadataBuilder, Receipt, ReceiptBody};
use crate::registry::{self, SurfaceDiff};

use super::gates::{self, GateInput};
use super::{Decision, Gate, GovernorState, ReasonCode};

/// What every operation needs from outside the tenant.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The catalog in force.
    pub catalog: &'a Catalog,
    /// The clock's now.
    pub now: Timestamp,
    /// Receipt id source.
    pub ids: &'a IdSource,
}

/// A tool call: the tool's name as the client sent it, its arguments and its context.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolCall {
    /// The tool name (unchecked: an unknown name is simply not found).
    pub tool: String,
    /// Arguments for the tool's handler.
    pub arguments: Map<String, Value>,
    /// Facts about the call that preconditions may check (e.g. `deployment_stable`).
    pub context: Map<String, Value>,
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
    /// Receipts written, in order.
    pub receipts: Vec<Receipt>,
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
    /// How the tool surface changed.
    pub surface: SurfaceDiff,
    /// The governor state after the event.
    pub state: GovernorState,
    /// Receipts written, in order.
    pub receipts: Vec<Receipt>,
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

/// The action an `intervening` governor is waiting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InFlight {
    /// The tool that was called.
    pub tool: ToolName,
    /// Why it overran.
    pub reason: String,
    /// When it started.
    pub since: Timestamp,
}

/// A ledger that does not replay into a consistent tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot rebuild tenant `{tenant}` from its ledger at seq {seq}: {problem}")]
pub struct ReplayError {
    /// The tenant.
    pub tenant: TenantId,
    /// The first receipt that did not fit.
    pub seq: u64,
    /// What did not fit.
    pub problem: String,
}

/// One tenant's governor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    id: TenantId,
    governor_id: std::sync::Arc<str>,
    state: GovernorState,
    entitlement: Option<Entitlement>,
    expiry_noted: Option<Timestamp>,
    tools: BTreeSet<ToolName>,
    facts: Map<String, Value>,
    in_flight: Option<InFlight>,
    head: ChainHead,
    surface_checked: CheckedCatalog,
}

/// The hash of the catalog the tool surface was last checked against. A cache, not state:
/// recomputing the surface on every call only matters when the catalog changed, and two
/// tenants with the same chain are equal whatever they have cached.
#[derive(Debug, Clone, Default)]
struct CheckedCatalog(Option<std::sync::Arc<str>>);

impl PartialEq for CheckedCatalog {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The receipt being written: everything but the chain fields and the common ones.
struct Draft {
    event: EventType,
    to: GovernorState,
    reason: Option<ReasonCode>,
    metadata: MetadataBuilder,
}

impl Tenant {
    /// A new tenant in `boot`, with an empty chain.
    pub fn new(id: TenantId) -> Self {
        Tenant {
            governor_id: format!("gov-{id}").into(),
            id,
            state: GovernorState::Boot,
            entitlement: None,
            expiry_noted: None,
            tools: BTreeSet::new(),
            facts: Map::new(),
            in_flight: None,
            head: ChainHead::default(),
            surface_checked: CheckedCatalog::default(),
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &TenantId {
        &self.id
    }

    /// The governor's state.
    pub fn state(&self) -> GovernorState {
        self.state
    }

    /// The current entitlement, if any.
    pub fn entitlement(&self) -> Option<&Entitlement> {
        self.entitlement.as_ref()
    }

    /// The tools the tenant can see.
    pub fn tools(&self) -> &BTreeSet<ToolName> {
        &self.tools
    }

    /// Facts recorded by processed signals.
    pub fn facts(&self) -> &Map<String, Value> {
        &self.facts
    }

    /// The action being resolved while `intervening`.
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.in_flight.as_ref()
    }

    /// The end of the tenant's receipt chain.
    pub fn head(&self) -> &ChainHead {
        &self.head
    }

    /// The entitlement's standing at `now` (`None` without an entitlement).
    pub fn standing(&self, now: Timestamp) -> Option<Standing> {
        self.entitlement.as_ref().map(|e| e.standing(now))
    }

    fn seal(&mut self, env: &Env<'_>, draft: Draft) -> Receipt {
        let from = self.state;
        self.state = draft.to;
        let body = ReceiptBody {
            id: env.ids.receipt_id(&self.id, self.head.next_seq),
            timestamp: env.now,
            tenant_id: self.id.clone(),
            governor_id: self.governor_id.clone(),
            state_from: from,
            state_to: draft.to,
            event_type: draft.event,
            reason: draft.reason,
            metadata: draft.metadata.finish(),
            catalog_hash: env.catalog.shared_hash(),
        };
        self.head.seal(body)
    }

    /// Records what time and the catalog changed on their own: an expiry that has passed,
    /// and a tool surface that no longer matches the catalog. Every operation starts here.
    pub fn tick(&mut self, env: &Env<'_>) -> Vec<Receipt> {
        let mut out = Vec::new();
        if let Some(ent) = &self.entitlement
            && ent.standing(env.now) == Standing::Expired
            && self.expiry_noted != Some(ent.expiry)
        {
            let expiry = ent.expiry;
            let mut metadata = MetadataBuilder::new();
            metadata.insert("expiry", &expiry);
            metadata.insert_struct("entitlement", &ent);
            self.expiry_noted = Some(expiry);
            let to = self.state;
            out.push(self.seal(
                env,
                Draft {
                    event: EventType::EntitlementExpired,
                    to,
                    reason: Some(ReasonCode::EntitlementExpired),
                    metadata,
                },
            ));
        }
        if self.surface_checked.0.as_deref() != Some(env.catalog.hash())
            && let Some(r) = self.sync_surface(env, "catalog_changed")
        {
            out.push(r);
        }
        out
    }

    /// Recomputes the visible tools and writes `tool_surface_changed` if they differ.
    fn sync_surface(&mut self, env: &Env<'_>, cause: &str) -> Option<Receipt> {
        let now_visible = registry::visible_tools(env.catalog, self.entitlement.as_ref());
        self.surface_checked.0 = Some(env.catalog.shared_hash());
        let diff = SurfaceDiff::between(&self.tools, &now_visible);
        if diff.is_empty() {
            return None;
        }
        self.tools = now_visible;
        let mut metadata = MetadataBuilder::new();
        metadata.insert("cause", cause);
        metadata.insert("added", &diff.added);
        metadata.insert("removed", &diff.removed);
        metadata.insert("tools", &self.tools);
        let to = self.state;
        Some(self.seal(
            env,
            Draft {
                event: EventType::ToolSurfaceChanged,
                to,
                reason: None,
                metadata,
            },
        ))
    }

    /// Applies an entitlement event: accepted events update the entitlement and the tool
    /// surface (and recover a refusing governor); refused ones change nothing but are
    /// recorded.
    pub fn apply_event(&mut self, env: &Env<'_>, event: &EntitlementEvent) -> EventOutcome {
        let mut receipts = self.tick(env);
        let resolved = entitlement::resolve(env.catalog, self.entitlement.as_ref(), event, env.now);
        let mut metadata = MetadataBuilder::new();
        metadata.insert_struct("event", &event);
        let before = self.tools.clone();
        match resolved {
            Err(refusal) => {
                receipts.push(self.refuse_event(env, metadata, &refusal));
                EventOutcome {
                    accepted: false,
                    refusal: Some(refusal),
                    surface: SurfaceDiff::default(),
                    state: self.state,
                    receipts,
                }
            }
            Ok(new) => {
                let active = new.standing(env.now) == Standing::Active;
                // Only a refusing governor recovers through its entitlement; a booting one
                // becomes stable on its first signal, as in the seed's state table.
                let to = match self.state {
                    GovernorState::Refusing if active => GovernorState::Stable,
                    s => s,
                };
                metadata.insert_struct("entitlement", &new);
                self.entitlement = Some(new);
                receipts.push(self.seal(
                    env,
                    Draft {
                        event: receipt_event(event.event_type),
                        to,
                        reason: None,
                        metadata,
                    },
                ));
                receipts.extend(self.sync_surface(env, "entitlement"));
                EventOutcome {
                    accepted: true,
                    refusal: None,
                    surface: SurfaceDiff::between(&before, &self.tools),
                    state: self.state,
                    receipts,
                }
            }
        }
    }

    /// Records a malformed event for this tenant.
    pub fn refuse_malformed(
        &mut self,
        env: &Env<'_>,
        raw: &Value,
        err: &MalformedEvent,
    ) -> EventOutcome {
        let mut receipts = self.tick(env);
        let refusal = Refusal {
            code: ReasonCode::MalformedEvent,
            message: err.message.clone(),
        };
        let mut metadata = MetadataBuilder::new();
        metadata.insert("event", raw);
        receipts.push(self.refuse_event(env, metadata, &refusal));
        EventOutcome {
            accepted: false,
            refusal: Some(refusal),
            surface: SurfaceDiff::default(),
            state: self.state,
            receipts,
        }
    }

    fn refuse_event(
        &mut self,
        env: &Env<'_>,
        mut metadata: MetadataBuilder,
        refusal: &Refusal,
    ) -> Receipt {
        metadata.insert("message", &refusal.message);
        let to = self.state;
        self.seal(
            env,
            Draft {
                event: EventType::EntitlementUpdateRefused,
                to,
                reason: Some(refusal.code.clone()),
                metadata,
            },
        )
    }

    /// Processes a signal according to the state table.
    pub fn signal(&mut self, env: &Env<'_>, signal: &Signal) -> SignalOutcome {
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        if let Some(name) = &signal.name {
            metadata.insert("signal", name.as_str());
        }
        metadata.insert("facts", &signal.facts);
        let gate = gates::entitlement_gate(self.entitlement.as_ref(), env.now).map(|_| ());
        let (event, to, reason) = match (self.state, gate) {
            (GovernorState::Intervening, _) => {
                (EventType::SignalPostponed, GovernorState::Intervening, None)
            }
            (GovernorState::Refusing, _) => (
                EventType::SignalRefused,
                GovernorState::Refusing,
                Some(ReasonCode::GovernorRefusing),
            ),
            (GovernorState::Boot | GovernorState::Stable, Ok(())) => {
                for (k, v) in &signal.facts {
                    self.facts.insert(k.clone(), v.clone());
                }
                (EventType::SignalProcessed, GovernorState::Stable, None)
            }
            (from, Err(refusal)) => {
                metadata.insert("gate", refusal.gate.as_str());
                metadata.insert("message", &refusal.message);
                let to = if from == GovernorState::Boot {
                    GovernorState::Refusing
                } else {
                    from
                };
                (EventType::SignalRefused, to, Some(refusal.reason))
            }
        };
        receipts.push(self.seal(
            env,
            Draft {
                event,
                to,
                reason: reason.clone(),
                metadata,
            },
        ));
        SignalOutcome {
            event,
            reason,
            state: self.state,
            receipts,
        }
    }

    /// Runs a tool call: registry lookup, governor state, gates 1-3, then bounded execution.
    pub fn call(&mut self, env: &Env<'_>, call: &ToolCall) -> CallOutcome {
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        metadata.insert("tool", &call.tool);
        let found = self
            .tools
            .contains(call.tool.as_str())
            .then(|| env.catalog.tool(&call.tool))
            .flatten();
        let Some(tref) = found else {
            let message = format!(
                "tool `{}` is not available to tenant `{}`",
                call.tool, self.id
            );
            metadata.insert("message", &message);
            return self.finish(
                env,
                receipts,
                Decision::ToolNotFound,
                None,
                ReasonCode::ToolNotFound,
                message,
                metadata,
            );
        };
        metadata.insert("pack", tref.pack.pack_id.as_str());
        metadata.insert("action", tref.tool.action.as_str());
        metadata.insert("arguments", &call.arguments);
        if !call.context.is_empty() {
            metadata.insert("context", &call.context);
        }
        let not_ready = match self.state {
            GovernorState::Boot => Some((
                ReasonCode::GovernorNotReady,
                "the governor is booting: send a signal once the entitlement is active".to_owned(),
            )),
            GovernorState::Intervening => Some((
                ReasonCode::ActionInFlight,
                "an action is being resolved; no new work is accepted until it completes or fails"
                    .to_owned(),
            )),
            GovernorState::Refusing => Some((
                ReasonCode::GovernorRefusing,
                "the governor is refusing work until an entitlement change recovers it".to_owned(),
            )),
            GovernorState::Stable => None,
        };
        if let Some((reason, message)) = not_ready {
            metadata.insert("message", &message);
            return self.finish(
                env,
                receipts,
                Decision::Refused,
                None,
                reason,
                message,
                metadata,
            );
        }
        let Some(action) = tref.action else {
            // Validation rejects a tool whose action is missing; refuse rather than guess.
            let message = format!("tool `{}` names no declared action", call.tool);
            metadata.insert("message", &message);
            return self.finish(
                env,
                receipts,
                Decision::Refused,
                Some(Gate::Preconditions),
                ReasonCode::ActionError,
                message,
                metadata,
            );
        };
        let input = GateInput {
            entitlement: self.entitlement.as_ref(),
            now: env.now,
            action,
            context: &call.context,
            facts: &self.facts,
            tool: tref,
            arguments: &call.arguments,
        };
        if let Err(refusal) = gates::check(&input) {
            metadata.insert("gate", refusal.gate.as_str());
            metadata.insert("message", &refusal.message);
            metadata.extend(refusal.detail);
            return self.finish(
                env,
                receipts,
                Decision::Refused,
                Some(refusal.gate),
                refusal.reason,
                refusal.message,
                metadata,
            );
        }
        let limits = Limits::resolve(Some(action), tref.pack);
        metadata.insert_struct("limits", &limits);
        let outcome = exec::run(&tref.tool.handler, &call.arguments, &limits);
        let (event, reason, message) = match outcome {
            Outcome::Success { result, elapsed_ms } => {
                metadata.insert("elapsed_ms", &elapsed_ms);
                metadata.insert("result", &result);
                let receipt = self.seal(
                    env,
                    Draft {
                        event: EventType::ActionExecuted,
                        to: GovernorState::Stable,
                        reason: None,
                        metadata,
                    },
                );
                receipts.push(receipt);
                return CallOutcome {
                    decision: Decision::Executed,
                    gate: None,
                    reason: None,
                    message: format!("`{}` executed", call.tool),
                    result: Some(result),
                    state: self.state,
                    receipts,
                };
            }
            Outcome::Timeout {
                limit_ms,
                elapsed_ms,
            } => {
                metadata.insert("elapsed_ms", &elapsed_ms);
                (
                    EventType::ActionTimeout,
                    ReasonCode::Timeout,
                    format!("action `{}` exceeded its {limit_ms} ms timeout", action.id),
                )
            }
            Outcome::MemoryExceeded { limit_mb, used_mb } => {
                metadata.insert("used_mb", &used_mb);
                (
                    EventType::ActionMemoryExceeded,
                    ReasonCode::MemoryExceeded,
                    format!(
                        "action `{}` exceeded its {limit_mb} MiB memory limit",
                        action.id
                    ),
                )
            }
            Outcome::OutputExceeded { limit_bytes } => (
                EventType::ActionErrored,
                ReasonCode::OutputLimitExceeded,
                format!(
                    "action `{}` wrote more than {limit_bytes} bytes of output",
                    action.id
                ),
            ),
            Outcome::Error { message, exit_code } => {
                metadata.insert("exit_code", &exit_code);
                (
                    EventType::ActionErrored,
                    ReasonCode::ActionError,
                    format!("action `{}` failed: {message}", action.id),
                )
            }
        };
        metadata.insert("message", &message);
        let in_flight = InFlight {
            tool: tref.tool.name.clone(),
            reason: reason.to_string(),
            since: env.now,
        };
        metadata.insert_struct("in_flight", &in_flight);
        self.in_flight = Some(in_flight);
        receipts.push(self.seal(
            env,
            Draft {
                event,
                to: GovernorState::Intervening,
                reason: Some(reason.clone()),
                metadata,
            },
        ));
        CallOutcome {
            decision: Decision::Failed,
            gate: None,
            reason: Some(reason),
            message,
            result: None,
            state: self.state,
            receipts,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        decision: Decision,
        gate: Option<Gate>,
        reason: ReasonCode,
        message: String,
        metadata: MetadataBuilder,
    ) -> CallOutcome {
        let event = if decision == Decision::ToolNotFound {
            EventType::ToolNotFound
        } else {
            EventType::ActionRefused
        };
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event,
                to,
                reason: Some(reason.clone()),
                metadata,
            },
        ));
        CallOutcome {
            decision,
            gate,
            reason: Some(reason),
            message,
            result: None,
            state: self.state,
            receipts,
        }
    }

    /// Reports the end of the in-flight action: complete → stable, failed → refusing.
    pub fn resolve_action(
        &mut self,
        env: &Env<'_>,
        resolution: Resolution,
        detail: Option<&str>,
    ) -> Result<Vec<Receipt>, NothingInFlight> {
        // Refused before anything else happens, so a refusal leaves the tenant exactly as it
        // was: nothing sealed that the caller would drop (an expiry is recorded by the next
        // operation instead).
        let in_flight = match (self.state, self.in_flight.take()) {
            (GovernorState::Intervening, Some(in_flight)) => in_flight,
            (state, kept) => {
                self.in_flight = kept;
                return Err(NothingInFlight {
                    tenant: self.id.clone(),
                    state,
                });
            }
        };
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        metadata.insert_struct("in_flight", &in_flight);
        if let Some(d) = detail {
            metadata.insert("detail", d);
        }
        let (event, to) = match resolution {
            Resolution::Complete => (EventType::ActionCompleted, GovernorState::Stable),
            Resolution::Failed => (EventType::ActionFailed, GovernorState::Refusing),
        };
        receipts.push(self.seal(
            env,
            Draft {
                event,
                to,
                reason: None,
                metadata,
            },
        ));
        Ok(receipts)
    }

    /// Rebuilds a tenant from its receipts (the ledger is the event log), checking that they
    /// form an unbroken chain for this tenant.
    pub fn replay(id: TenantId, receipts: &[Receipt]) -> Result<Tenant, ReplayError> {
        let mut t = Tenant::new(id);
        for r in receipts {
            let tenant = t.id.clone();
            let fail = |problem: String| ReplayError {
                tenant,
                seq: r.seq,
                problem,
            };
            if r.body.tenant_id != t.id {
                return Err(fail(format!(
                    "receipt belongs to tenant `{}`",
                    r.body.tenant_id
                )));
            }
            if r.seq != t.head.next_seq || r.prev_hash != t.head.hash || !r.hash_is_valid() {
                return Err(fail(
                    "the receipt chain is broken; run `tai receipts verify`".into(),
                ));
            }
            t.apply_receipt(r).map_err(fail)?;
            t.head = ChainHead {
                next_seq: r.seq + 1,
                hash: r.hash.clone(),
            };
        }
        Ok(t)
    }

    fn apply_receipt(&mut self, r: &Receipt) -> Result<(), String> {
        // Parsed only for the receipts whose metadata replay needs: most (tool calls) don't.
        let meta = std::cell::OnceCell::new();
        let field = |name: &str| {
            meta.get_or_init(|| r.body.metadata.to_value())
                .get(name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let decode = |name: &str| -> Result<Option<Entitlement>, String> {
            serde_json::from_value(field(name))
                .map_err(|e| format!("bad `{name}` in metadata: {e}"))
        };
        match r.body.event_type {
            EventType::EntitlementActivated
            | EventType::EntitlementUpdated
            | EventType::EntitlementRenewed
            | EventType::EntitlementSuspended
            | EventType::EntitlementReinstated
            | EventType::EntitlementCancelled => {
                self.entitlement = decode("entitlement")?;
            }
            EventType::EntitlementExpired => {
                self.expiry_noted = self.entitlement.as_ref().map(|e| e.expiry);
            }
            EventType::ToolSurfaceChanged => {
                self.tools = serde_json::from_value(field("tools"))
                    .map_err(|e| format!("bad `tools` in metadata: {e}"))?;
            }
            EventType::SignalProcessed => {
                if let Value::Object(facts) = field("facts") {
                    self.facts.extend(facts);
                }
            }
            _ => {}
        }
        self.in_flight = if r.body.state_to == GovernorState::Intervening {
            match field("in_flight") {
                Value::Null => self.in_flight.take(),
                v => Some(
                    serde_json::from_value(v)
                        .map_err(|e| format!("bad `in_flight` in metadata: {e}"))?,
                ),
            }
        } else {
            None
        };
        self.state = r.body.state_to;
        Ok(())
    }
}

fn receipt_event(kind: entitlement::EventKind) -> EventType {
    use entitlement::EventKind as K;
    match kind {
        K::Activated => EventType::EntitlementActivated,
        K::PlanChanged => EventType::EntitlementUpdated,
        K::Renewed => EventType::EntitlementRenewed,
        K::Suspended => EventType::EntitlementSuspended,
        K::Reinstated => EventType::EntitlementReinstated,
        K::Cancelled => EventType::EntitlementCancelled,
    }
}
