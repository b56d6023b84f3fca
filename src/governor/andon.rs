//! Declared signals and the Andon cord: which packs of the tenant declare a named signal, the
//! critical Andons that stop those packs' actions (the line), and clearing one.
//!
//! The line an Andon stops is the set of the tenant's enabled packs that declare the signal
//! as critical, recorded when it is raised: the other packs keep running, and a plan change
//! afterwards neither widens nor lifts the stop. Only an acknowledgement clears it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::catalog::Action;
use crate::clock::Timestamp;
use crate::diagnostics::did_you_mean;
use crate::iam::Principal;
use crate::ids::{PackId, SignalName, TenantId};
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{AndonSeverity, EventType};

use super::tenant::Draft;
use super::{Env, Tenant};

/// The metadata field of an `andon_raised` receipt naming the Andon's severity.
pub(super) const SEVERITY: &str = "severity";

/// Who cleared an Andon and why, recorded in the `andon_cleared` receipt: the evidence that
/// a person looked before the line ran again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acknowledgement {
    /// Who acknowledged it, e.g. `user:oncall@acme.com`.
    pub principal: Option<Principal>,
    /// What they found or did.
    pub note: Option<String>,
}
/// The metadata field listing the packs an Andon stops (or stopped).
pub(super) const PACKS: &str = "packs";
/// The metadata field listing the domain events a receipt records.
pub(super) const DOMAIN_EVENTS: &str = "domain_events";

/// A critical Andon nobody has cleared: the packs whose actions it stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AndonStop {
    /// The signal that was raised.
    pub signal: SignalName,
    /// The packs whose actions are refused (`andon_stopped`) until it is cleared.
    pub packs: BTreeSet<PackId>,
    /// The seq of the `andon_raised` receipt.
    pub seq: u64,
    /// When it was raised.
    pub since: Timestamp,
}

/// `Andon `rollback_failed` stops rollback_guard since … (seq N)`: how a stop is shown.
impl std::fmt::Display for AndonStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let packs: Vec<&str> = self.packs.iter().map(|p| p.as_str()).collect();
        write!(
            f,
            "Andon `{}` stops {} since {} (seq {})",
            self.signal,
            packs.join(", "),
            self.since,
            self.seq
        )
    }
}

/// A named signal none of the tenant's enabled packs declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Undeclared {
    pub(super) message: String,
}

/// How the tenant's packs declare a signal: the most severe Andon among them, and the packs
/// that declare it so.
#[derive(Debug, Default)]
pub(super) struct Declaration {
    pub(super) andon: Option<AndonSeverity>,
    pub(super) packs: BTreeSet<PackId>,
}

/// Why an Andon could not be cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Andon `{signal}` is stopping tenant `{tenant}`{}",
    if raised.is_empty() { String::new() } else { format!(" (raised: {})", raised.join(", ")) }
)]
pub struct NoSuchAndon {
    /// The tenant.
    pub tenant: TenantId,
    /// The signal named.
    pub signal: SignalName,
    /// The Andons that are raised.
    pub raised: Vec<String>,
}

impl Tenant {
    /// The critical Andons stopping the tenant's packs, by signal.
    pub fn andon(&self) -> &BTreeMap<SignalName, AndonStop> {
        &self.andon
    }

    /// The Andon that stops `pack`'s actions, if one does (the earliest raised).
    pub fn stopped_by(&self, pack: &PackId) -> Option<&AndonStop> {
        self.andon
            .values()
            .filter(|stop| stop.packs.contains(pack))
            .min_by_key(|stop| stop.seq)
    }

    /// How the tenant's enabled packs declare `name`; refused when none does.
    pub(super) fn declaration(
        &self,
        env: &Env<'_>,
        name: &SignalName,
    ) -> Result<Declaration, Undeclared> {
        let packs: Vec<_> = self
            .entitlement
            .iter()
            .flat_map(|e| e.visible_packs())
            .filter_map(|id| env.catalog.pack(id.as_str()))
            .collect();
        let mut found = None::<Declaration>;
        for pack in &packs {
            let Some(spec) = pack.signal(name.as_str()) else {
                continue;
            };
            let d = found.get_or_insert_with(Declaration::default);
            if spec.andon > d.andon {
                d.andon = spec.andon;
                d.packs.clear();
            }
            if spec.andon == d.andon {
                d.packs.insert(pack.pack_id.clone());
            }
        }
        found.ok_or_else(|| {
            let known = packs
                .iter()
                .flat_map(|p| &p.signals)
                .map(|s| s.name.as_str());
            let hint = did_you_mean(name.as_str(), known).unwrap_or_else(|| {
                "`tai pack show PACK` lists the signals a pack declares".to_owned()
            });
            Undeclared {
                message: format!(
                    "signal `{name}` is not declared by any pack enabled for tenant `{}`; {hint}",
                    self.id
                ),
            }
        })
    }

    /// Holds a critical Andon raised by the receipt about to be sealed (or replayed at
    /// `seq`). A signal raised again keeps its first raise: the line stopped then.
    pub(super) fn hold_andon(
        &mut self,
        signal: &SignalName,
        packs: BTreeSet<PackId>,
        seq: u64,
        since: Timestamp,
    ) {
        self.andon
            .entry(signal.clone())
            .or_insert_with(|| AndonStop {
                signal: signal.clone(),
                packs,
                seq,
                since,
            });
    }

    /// Clears a critical Andon: its packs run again. The governor's state does not change.
    pub fn clear_andon(
        &mut self,
        env: &Env<'_>,
        signal: &SignalName,
        ack: &Acknowledgement,
    ) -> Result<Vec<Receipt>, NoSuchAndon> {
        // Refused before anything is written, so a refusal leaves the tenant as it was.
        let Some(stop) = self.andon.remove(signal) else {
            return Err(NoSuchAndon {
                tenant: self.id.clone(),
                signal: signal.clone(),
                raised: self.andon.keys().map(ToString::to_string).collect(),
            });
        };
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        metadata.insert("signal", signal.as_str());
        metadata.insert(PACKS, &stop.packs);
        metadata.insert("raised_seq", &stop.seq);
        metadata.insert("raised_at", &stop.since);
        if let Some(principal) = &ack.principal {
            metadata.insert("principal", principal);
        }
        if let Some(note) = &ack.note {
            metadata.insert("note", note);
        }
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event: EventType::AndonCleared,
                to,
                reason: None,
                metadata,
            },
        ));
        Ok(receipts)
    }

    /// Replay: what an `andon_raised` or `andon_cleared` receipt says about the stops.
    pub(super) fn replay_andon(
        &mut self,
        r: &Receipt,
        field: &dyn Fn(&str) -> serde_json::Value,
    ) -> Result<(), String> {
        let decode = |name: &str| {
            serde_json::from_value::<SignalName>(field(name))
                .map_err(|e| format!("bad `{name}` in metadata: {e}"))
        };
        match r.body.event_type {
            EventType::AndonRaised => {
                let severity: AndonSeverity = serde_json::from_value(field(SEVERITY))
                    .map_err(|e| format!("bad `{SEVERITY}` in metadata: {e}"))?;
                if severity == AndonSeverity::Critical {
                    let packs = serde_json::from_value(field(PACKS))
                        .map_err(|e| format!("bad `{PACKS}` in metadata: {e}"))?;
                    self.hold_andon(&decode("signal")?, packs, r.seq, r.body.timestamp);
                }
            }
            EventType::AndonCleared => {
                self.andon.remove(&decode("signal")?);
            }
            _ => {}
        }
        Ok(())
    }
}

/// Notes on a receipt the domain events the action emits at the points `events` record (an
/// action that declares none records nothing).
pub(super) fn note_domain_events(
    metadata: &mut MetadataBuilder,
    action: &Action,
    events: &[EventType],
) {
    let Some(emits) = &action.emits else { return };
    let mut named = events.iter().filter_map(|&e| emits.on(e)).peekable();
    if named.peek().is_some() {
        metadata.insert_strs(DOMAIN_EVENTS, named.map(SignalName::as_str));
    }
}
