//! Signals and action resolutions at a governor: the rows of the state table that are not
//! tool calls.

use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{AndonSeverity, EventType, GovernorState, ReasonCode};

use super::andon::{PACKS, SEVERITY};
use super::gates;
use super::tenant::Draft;
use super::{Env, NothingInFlight, Resolution, Signal, SignalOutcome, Tenant};

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
        let (event, to, reason) = match (self.state, gate) {
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
}
