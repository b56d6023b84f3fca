//! Entitlement events at a governor: accepted ones update the entitlement and the tool surface
//! (and recover a refusing governor); refused and malformed ones change nothing but are
//! recorded.

use serde_json::Value;

use crate::entitlement::{self, EntitlementEvent, MalformedEvent, Refusal, Standing};
use crate::receipts::{MetadataBuilder, Receipt};
use crate::registry::SurfaceDiff;
use crate::vocab::{EventType, GovernorState, ReasonCode};

use super::tenant::Draft;
use super::{Env, EventOutcome, Tenant};

impl Tenant {
    /// Applies an entitlement event: accepted events update the entitlement and the tool
    /// surface (and recover a refusing governor); refused ones change nothing but are
    /// recorded.
    pub fn apply_event(&mut self, env: &Env<'_>, event: &EntitlementEvent) -> EventOutcome {
        let event_id = event.event_id.as_deref();
        if let Some(repeat) = self.repeated_event(event_id) {
            return repeat;
        }
        let receipts = self.tick(env);
        let ticked = receipts.len();
        let outcome = self.decide_event(env, event, receipts);
        self.remember_event(event_id, outcome.receipts.get(ticked));
        outcome
    }

    fn decide_event(
        &mut self,
        env: &Env<'_>,
        event: &EntitlementEvent,
        mut receipts: Vec<Receipt>,
    ) -> EventOutcome {
        let resolved = entitlement::resolve(env.catalog, self.entitlement.as_ref(), event, env.now);
        let mut metadata = MetadataBuilder::new();
        metadata.insert_struct("event", &event);
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
        let event_id = raw.get("event_id").and_then(Value::as_str);
        if let Some(repeat) = self.repeated_event(event_id) {
            return repeat;
        }
        let receipts = self.tick(env);
        let ticked = receipts.len();
        let refusal = Refusal {
            code: ReasonCode::MalformedEvent,
            message: err.message.clone(),
        };
        let mut metadata = MetadataBuilder::new();
        metadata.insert("event", raw);
        let outcome = self.refuse_event(env, receipts, metadata, refusal);
        self.remember_event(event_id, outcome.receipts.get(ticked));
        outcome
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
    }
}
