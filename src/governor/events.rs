//! Entitlement events at a governor: accepted ones update the entitlement and the tool surface
//! (and recover a refusing governor); refused and malformed ones change nothing but are
//! recorded.

use serde_json::Value;

use crate::entitlement::{self, EntitlementEvent, MalformedEvent, Refusal, Standing};
use crate::ids::EventId;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::registry::SurfaceDiff;
use crate::vocab::{EventType, GovernorState, ReasonCode};

use super::once::{UNCHANGED, event_identity};
use super::tenant::Draft;
use super::{Env, EventOutcome, Tenant};

impl Tenant {
    /// Applies an entitlement event: accepted events update the entitlement and the tool
    /// surface (and recover a refusing governor); refused ones change nothing but are
    /// recorded.
    pub fn apply_event(&mut self, env: &Env<'_>, event: &EntitlementEvent) -> EventOutcome {
        let kind = event.event_type.as_str();
        let event_id = event.event_id.as_ref().map(EventId::as_str);
        // Only what a client sent as tai's own event is compared (see `repeated_event`).
        let sent = match (&event.event_id, &event.source) {
            (Some(_), None) => serde_json::to_value(event).ok(),
            _ => None,
        };
        if let Some(repeat) = self.repeated_event(kind, event_id, sent.as_ref()) {
            return repeat;
        }
        let receipts = self.tick(env);
        let ticked = receipts.len();
        let outcome = self.decide_event(env, event, receipts);
        self.remember_event(kind, event_id, outcome.receipts.get(ticked));
        outcome
    }

    fn decide_event(
        &mut self,
        env: &Env<'_>,
        event: &EntitlementEvent,
        mut receipts: Vec<Receipt>,
    ) -> EventOutcome {
        let mut metadata = MetadataBuilder::new();
        metadata.insert_struct("event", &event);
        if let Some(note) = entitlement::unchanged(self.entitlement.as_ref(), event, env.now) {
            return self.record_unchanged(env, receipts, metadata, note);
        }
        let resolved = entitlement::resolve(env.catalog, self.entitlement.as_ref(), event, env.now);
        let before = self.tools.clone();
        match resolved {
            Err(refusal) => self.refuse_event(env, receipts, metadata, refusal),
            Ok(new) => {
                let active = new.standing(env.now) == Standing::Active;
                // Only a refusing governor recovers through its entitlement; a booting one
                // becomes stable on its first signal, as in the seed's state table.
                let to = match self.state {
                    GovernorState::Refusing if active => GovernorState::Stable,
                    s => s,
                };
                metadata.insert_struct("entitlement", &new);
                let effect = event
                    .event_type
                    .effect(self.entitlement.as_ref(), &new, env.now);
                self.entitlement = Some(new);
                receipts.push(self.seal(
                    env,
                    Draft {
                        event: receipt_event(effect),
                        to,
                        reason: None,
                        metadata,
                    },
                ));
                receipts.extend(self.sync_surface(env, "entitlement"));
                EventOutcome {
                    accepted: true,
                    refusal: None,
                    unchanged: None,
                    surface: SurfaceDiff::between(&before, &self.tools),
                    state: self.state,
                    receipts,
                    repeat_of: None,
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
        let refusal = Refusal {
            code: ReasonCode::MalformedEvent,
            message: err.message.clone(),
        };
        self.refuse_raw(env, raw, refusal)
    }

    /// Records, for this tenant, an event refused before it reached the resolver (e.g. a
    /// marketplace notification no SKU can be found for).
    pub fn refuse_raw(&mut self, env: &Env<'_>, raw: &Value, refusal: Refusal) -> EventOutcome {
        self.record_raw(env, raw, |t, receipts, metadata| {
            t.refuse_event(env, receipts, metadata, refusal)
        })
    }

    /// Records, for this tenant, a marketplace notification that changes nothing (its
    /// marketplace's record contradicts it): accepted, the entitlement as it stands.
    pub fn acknowledge_raw(&mut self, env: &Env<'_>, raw: &Value, note: String) -> EventOutcome {
        self.record_raw(env, raw, |t, receipts, metadata| {
            t.record_unchanged(env, receipts, metadata, note)
        })
    }

    /// Records `raw`, decided by `decide` before it reached the resolver, once per event
    /// id: a redelivery is answered with the first outcome and records nothing.
    fn record_raw(
        &mut self,
        env: &Env<'_>,
        raw: &Value,
        decide: impl FnOnce(&mut Self, Vec<Receipt>, MetadataBuilder) -> EventOutcome,
    ) -> EventOutcome {
        let (kind, event_id) = event_identity(raw);
        if let Some(repeat) = self.repeated_event(kind, event_id, None) {
            return repeat;
        }
        let receipts = self.tick(env);
        let ticked = receipts.len();
        let mut metadata = MetadataBuilder::new();
        metadata.insert_value("event", raw);
        let outcome = decide(self, receipts, metadata);
        self.remember_event(kind, event_id, outcome.receipts.get(ticked));
        outcome
    }

    /// Records an accepted event that changes nothing: an `entitlement_updated` receipt with
    /// the entitlement as it stands and, as `unchanged`, why.
    fn record_unchanged(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        mut metadata: MetadataBuilder,
        note: String,
    ) -> EventOutcome {
        metadata.insert_struct("entitlement", &self.entitlement);
        metadata.insert(UNCHANGED, &note);
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event: EventType::EntitlementUpdated,
                to,
                reason: None,
                metadata,
            },
        ));
        EventOutcome {
            accepted: true,
            refusal: None,
            unchanged: Some(note),
            surface: SurfaceDiff::default(),
            state: self.state,
            receipts,
            repeat_of: None,
        }
    }

    /// Records a refused event: nothing changes but the chain.
    fn refuse_event(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        mut metadata: MetadataBuilder,
        refusal: Refusal,
    ) -> EventOutcome {
        metadata.insert("message", &refusal.message);
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event: EventType::EntitlementUpdateRefused,
                to,
                reason: Some(refusal.code.clone()),
                metadata,
            },
        ));
        EventOutcome {
            accepted: false,
            refusal: Some(refusal),
            unchanged: None,
            surface: SurfaceDiff::default(),
            state: self.state,
            receipts,
            repeat_of: None,
        }
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
        // Records of what is pending, and syncs that change neither plan nor term.
        K::Requested
        | K::Approved
        | K::Withdrawn
        | K::CancellationPending
        | K::CancellationReverted
        | K::Synced
        | K::Expired => EventType::EntitlementUpdated,
    }
}
