//! Signals and action resolutions at a governor: the rows of the state table that are not
//! tool calls.

use crate::ids::ActionRunId;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{AndonSeverity, EventType, GovernorState, ReasonCode};

use super::andon::{PACKS, SEVERITY};
use super::gates;
use super::tenant::{ACTION_ID, Draft};
use super::{
    Env, InFlight, NothingInFlight, Resolution, Signal, SignalOutcome, Tenant, Unresolvable,
};

impl Tenant {
    /// Processes a signal according to the state table. A named signal is processed only
    /// when an enabled pack declares it; an Andon one is recorded as `andon_raised`.
    pub fn signal(&mut self, env: &Env<'_>, signal: &Signal) -> SignalOutcome {
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        if let Some(name) = &signal.name {
            metadata.insert("signal", name.as_str());
        }
        metadata.insert_map("facts", &signal.facts);
        let gate = gates::entitlement_gate(self.entitlement.as_ref(), env.now).map(|_| ());
        let mut message = None;
        // A name no enabled pack declares is refused in every state that would otherwise
        // take or keep the signal, so a typo is never queued behind an action in flight.
        let undeclared = match (&signal.name, self.state) {
            (Some(name), GovernorState::Intervening) => self.declaration(env, name).err(),
            _ => None,
        };
        let (event, to, reason) = match (self.state, gate) {
            (GovernorState::Intervening, _) if let Some(undeclared) = undeclared => {
                metadata.insert("message", &undeclared.message);
                message = Some(undeclared.message);
                (
                    EventType::SignalRefused,
                    GovernorState::Intervening,
                    Some(ReasonCode::UnknownSignal),
                )
            }
            (GovernorState::Intervening, _) => {
                (EventType::SignalPostponed, GovernorState::Intervening, None)
            }
            (GovernorState::Refusing, _) => (
                EventType::SignalRefused,
                GovernorState::Refusing,
                Some(ReasonCode::GovernorRefusing),
            ),
            (from @ (GovernorState::Boot | GovernorState::Stable), Ok(())) => {
                let declared = match &signal.name {
                    None => Ok(None),
                    Some(name) => self.declaration(env, name).map(Some),
                };
                match declared {
                    Err(undeclared) => {
                        metadata.insert("message", &undeclared.message);
                        message = Some(undeclared.message);
                        (
                            EventType::SignalRefused,
                            from,
                            Some(ReasonCode::UnknownSignal),
                        )
                    }
                    Ok(declared) => {
                        for (k, v) in &signal.facts {
                            self.facts.insert(k.clone(), v.clone());
                        }
                        let andon = declared.and_then(|d| d.andon.map(|a| (a, d.packs)));
                        let event = match (andon, &signal.name) {
                            (Some((severity, packs)), Some(name)) => {
                                metadata.insert(SEVERITY, severity.as_str());
                                metadata.insert(PACKS, &packs);
                                if severity == AndonSeverity::Critical {
                                    let seq = self.head.next_seq;
                                    self.hold_andon(name, packs, seq, env.now);
                                }
                                EventType::AndonRaised
                            }
                            _ => EventType::SignalProcessed,
                        };
                        (event, GovernorState::Stable, None)
                    }
                }
            }
            (from, Err(refusal)) => {
                metadata.insert("gate", refusal.gate.as_str());
                metadata.insert("message", &refusal.message);
                message = Some(refusal.message);
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
            message,
            state: self.state,
            receipts,
        }
    }

    /// Reports the end of the in-flight action: complete → stable, failed → refusing.
    /// `action` names the action resolved; without it, whatever action is in flight is.
    pub fn resolve_action(
        &mut self,
        env: &Env<'_>,
        resolution: Resolution,
        action: Option<&ActionRunId>,
        detail: Option<&str>,
    ) -> Result<Vec<Receipt>, Unresolvable> {
        // Refused before anything else happens, so a refusal leaves the tenant exactly as it
        // was: nothing sealed that the caller would drop (an expiry is recorded by the next
        // operation instead).
        let in_flight = self.resolvable(action)?;
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        if let Some(d) = detail {
            metadata.insert("detail", d);
        }
        metadata.insert("resolved_by", "report");
        receipts.push(self.seal_resolution(env, in_flight, resolution, metadata));
        Ok(receipts)
    }

    /// The action a resolution naming `action` resolves, taken out of flight; or why none.
    fn resolvable(&mut self, action: Option<&ActionRunId>) -> Result<InFlight, Unresolvable> {
        let current = match (self.state, &self.in_flight) {
            (GovernorState::Intervening, Some(f)) => Some(f),
            _ => None,
        };
        match (current, action) {
            (Some(f), None) => Ok(f.clone()),
            (Some(f), Some(a)) if *a == f.action_id => Ok(f.clone()),
            (current, Some(a)) => {
                let in_flight = current.map(|f| f.action_id.clone());
                if let Some((_, event, seq)) = self.resolved.iter().rev().find(|(id, ..)| id == a) {
                    return Err(Unresolvable::AlreadyResolved {
                        tenant: self.id.clone(),
                        asked: a.clone(),
                        event: *event,
                        seq: *seq,
                        in_flight,
                    });
                }
                match current {
                    Some(f) => Err(Unresolvable::UnknownAction {
                        tenant: self.id.clone(),
                        asked: a.clone(),
                        in_flight: f.action_id.clone(),
                        tool: f.tool.clone(),
                    }),
                    None => Err(self.nothing_in_flight()),
                }
            }
            (None, None) => Err(self.nothing_in_flight()),
        }
        .inspect(|_| self.in_flight = None)
    }

    fn nothing_in_flight(&self) -> Unresolvable {
        Unresolvable::NothingInFlight(NothingInFlight {
            tenant: self.id.clone(),
            state: self.state,
        })
    }

    /// Seals the receipt that ends `in_flight`: `action_completed` (→ stable) or
    /// `action_failed` (→ refusing), naming the action and, in `metadata`, what decided it.
    pub(super) fn seal_resolution(
        &mut self,
        env: &Env<'_>,
        in_flight: InFlight,
        resolution: Resolution,
        mut metadata: MetadataBuilder,
    ) -> Receipt {
        let (event, to) = match resolution {
            Resolution::Complete => (EventType::ActionCompleted, GovernorState::Stable),
            Resolution::Failed => (EventType::ActionFailed, GovernorState::Refusing),
        };
        metadata.insert(ACTION_ID, &in_flight.action_id);
        if let Some(action) = env
            .catalog
            .tool(in_flight.tool.as_str())
            .and_then(|t| t.action)
        {
            super::andon::note_domain_events(&mut metadata, action, &[event]);
        }
        metadata.insert_struct("in_flight", &in_flight);
        self.in_flight = None;
        let action_id = in_flight.action_id;
        let r = self.seal(
            env,
            Draft {
                event,
                to,
                reason: None,
                metadata,
            },
        );
        self.remember_resolved(action_id, event, r.seq);
        r
    }
}
