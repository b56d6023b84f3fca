//! The per-tenant governor: a state machine that gates every tool call and signal.
//!
//! | state       | signal                         | tool call                        |
//! |-------------|--------------------------------|----------------------------------|
//! | boot        | gate 1 passes → stable, else → refusing | refused (`governor_not_ready`) |
//! | stable      | processed (facts recorded)     | gates 1·2·3 → execute; overrun → intervening |
//! | intervening | postponed                      | refused (`action_in_flight`)     |
//! | refusing    | refused                        | refused (`governor_refusing`)    |
//!
//! An accepted entitlement event that leaves the entitlement active moves refusing to stable
//! (the recovery path); `action_complete` moves intervening to stable, `action_failed` to
//! refusing. A tool call that overruns a bound or fails moves stable to intervening.
//!
//! A named signal is processed only when one of the tenant's enabled packs declares it
//! (else it is refused, `unknown_signal`, and the state stays); one a pack declares as Andon
//! is recorded as `andon_raised`, and a critical one stops that pack's actions
//! (`andon_stopped`) in every state until `andon_cleared`.

mod andon;
mod builtin;
mod call;
mod events;
pub mod gates;
mod iam;
mod once;
mod poll;
mod record;
mod replay;
mod requests;
mod signal;
mod started;
mod tenant;
mod transitions;

pub use crate::receipts::IdSource;
pub use crate::vocab::{Decision, Gate, GovernorState, ReasonCode};
pub use andon::{Acknowledgement, AndonStop, NoSuchAndon};
pub use builtin::EXPORT_MAX_RECEIPTS;
pub use call::{Begun, StartedCall};
pub use iam::IamSetting;
pub use once::SEEN_PER_TENANT;
pub use poll::Polling;
pub use record::GovernorRecord;
pub use replay::ReplayError;
pub use requests::{
    CallOutcome, EventOutcome, InFlight, NothingInFlight, Resolution, Running, Signal,
    SignalOutcome, ToolCall, Unresolvable,
};
pub use tenant::{Env, Tenant};
pub use transitions::{RAN, Transition, possible_transitions};

#[cfg(test)]
mod action_tests;
#[cfg(test)]
mod andon_tests;
#[cfg(test)]
mod tests;
