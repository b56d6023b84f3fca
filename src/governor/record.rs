//! The governor's record: what it has counted and when it changed, as the seed's governor
//! keeps it. Every number is a function of the receipts alone, counted as each is sealed and
//! again on replay, so a restart rebuilds the same record from the ledger.

use serde::Serialize;

use crate::clock::Timestamp;
use crate::receipts::ReceiptBody;
use crate::vocab::EventType;

/// Counters and times of one tenant's governor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GovernorRecord {
    /// When the governor wrote its first receipt.
    pub created_at: Option<Timestamp>,
    /// When its state last changed (the receipt whose `state_from` differs from `state_to`).
    pub last_transition_at: Option<Timestamp>,
    /// Receipts in its chain.
    pub receipts_written: u64,
    /// Signals processed (`signal_processed`), not those refused or postponed.
    pub signals_processed: u64,
    /// Tool calls decided: executed, refused, not found, or ended by a bound, an error or an
    /// interruption (a command's `action_started` is not a call of its own; a keyed repeat
    /// writes nothing and is not counted).
    pub calls: u64,
    /// Refusals of calls, signals and entitlement events (`action_refused`, `tool_not_found`,
    /// `signal_refused`, `entitlement_update_refused`).
    pub refusals: u64,
}

impl GovernorRecord {
    /// Counts one sealed receipt.
    pub(super) fn count(&mut self, body: &ReceiptBody) {
        self.created_at.get_or_insert(body.timestamp);
        if body.state_from != body.state_to {
            self.last_transition_at = Some(body.timestamp);
        }
        self.receipts_written += 1;
        use EventType as E;
        match body.event_type {
            E::SignalProcessed => self.signals_processed += 1,
            E::ActionExecuted
            | E::ActionTimeout
            | E::ActionMemoryExceeded
            | E::ActionErrored
            | E::ActionInterrupted => self.calls += 1,
            E::ActionRefused | E::ToolNotFound => {
                self.calls += 1;
                self.refusals += 1;
            }
            E::SignalRefused | E::EntitlementUpdateRefused => self.refusals += 1,
            _ => {}
        }
    }
}
