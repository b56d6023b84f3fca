//! The governor's state table as data: every (from, to, event type) transition it can make
//! under a catalog, for coverage reports and for drawing the state machine.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::Map;

use crate::catalog::{Catalog, Handler};
use crate::exec::{self, Limits, Outcome};
use crate::receipts::EventType;
use crate::vocab::{AndonSeverity, GovernorState};

/// One governor transition: a receipt's state change and event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Transition {
    /// State before.
    pub from: GovernorState,
    /// State after.
    pub to: GovernorState,
    /// The receipt's event type.
    pub event: EventType,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {} ({})", self.from, self.to, self.event)
    }
}

/// The receipt event types of an action that passed the gates and ran (executed, or ended by
/// a bound or an error).
pub const RAN: [EventType; 4] = [
    EventType::ActionExecuted,
    EventType::ActionTimeout,
    EventType::ActionMemoryExceeded,
    EventType::ActionErrored,
];

/// Every governor transition that can happen under `catalog`: the state table (see the
/// `governor` module) as (from, to, event type) triples. Action outcomes are included only
/// when some tool of the catalog can produce them, so full coverage is reachable.
pub fn possible_transitions(catalog: &Catalog) -> BTreeSet<Transition> {
    use EventType as E;
    use GovernorState::{Boot, Intervening, Refusing, Stable};
    let mut out = BTreeSet::new();
    let mut add = |from, to, event| {
        out.insert(Transition { from, to, event });
    };
    for s in GovernorState::ALL {
        // Bookkeeping that never changes the state: time passing an expiry, the tool surface
        // changing, a refused entitlement event, a call to a tool the tenant cannot see, the
        // tenant's IAM policy being set.
        for e in [
            E::EntitlementExpired,
            E::ToolSurfaceChanged,
            E::EntitlementUpdateRefused,
            E::ToolNotFound,
            E::IamPolicySet,
        ] {
            add(s, s, e);
        }
        // A state refuses a call (not ready, in flight, refusing) or a gate does (stable).
        add(s, s, E::ActionRefused);
    }
    // Accepted entitlement events keep the state, except that a refusing governor recovers
    // to stable when the entitlement is active afterwards.
    let lifecycle = [
        (E::EntitlementActivated, true, false),
        (E::EntitlementUpdated, true, true),
        (E::EntitlementRenewed, true, true),
        (E::EntitlementSuspended, false, true),
        (E::EntitlementReinstated, true, true),
        (E::EntitlementCancelled, false, true),
    ];
    for (e, can_be_active, can_be_inactive) in lifecycle {
        for s in [Boot, Stable, Intervening] {
            add(s, s, e);
        }
        if can_be_active {
            add(Refusing, Stable, e);
        }
        if can_be_inactive {
            add(Refusing, Refusing, e);
        }
    }
    // Signals.
    add(Boot, Stable, E::SignalProcessed);
    add(Stable, Stable, E::SignalProcessed);
    add(Boot, Refusing, E::SignalRefused);
    add(Stable, Stable, E::SignalRefused);
    add(Refusing, Refusing, E::SignalRefused);
    add(Intervening, Intervening, E::SignalPostponed);
    // A named signal no enabled pack declares is refused where it would have been processed,
    // leaving the state as it was.
    add(Boot, Boot, E::SignalRefused);
    add(Intervening, Intervening, E::SignalRefused);
    // Andon: raised where a signal is processed; a critical one is held in every state
    // until it is cleared.
    let andon = |severity: Option<AndonSeverity>| {
        catalog
            .packs()
            .iter()
            .flat_map(|p| &p.signals)
            .any(|s| s.andon.is_some() && (severity.is_none() || s.andon == severity))
    };
    if andon(None) {
        add(Boot, Stable, E::AndonRaised);
        add(Stable, Stable, E::AndonRaised);
    }
    if andon(Some(AndonSeverity::Critical)) {
        for s in [Stable, Intervening, Refusing] {
            add(s, s, E::AndonCleared);
        }
    }
    // Actions that ran, and their resolution.
    for e in reachable_outcomes(catalog) {
        let to = if e == E::ActionExecuted {
            Stable
        } else {
            Intervening
        };
        add(Stable, to, e);
    }
    // A command is written ahead; one whose outcome never came is interrupted.
    if catalog
        .packs()
        .iter()
        .flat_map(|p| &p.tools)
        .any(|t| matches!(t.handler, Handler::Command(_)))
    {
        add(Stable, Stable, E::ActionStarted);
        add(Stable, Intervening, E::ActionInterrupted);
    }
    add(Intervening, Stable, E::ActionCompleted);
    add(Intervening, Refusing, E::ActionFailed);
    // An action that resolves itself is polled while in flight.
    if catalog
        .packs()
        .iter()
        .flat_map(|p| &p.actions)
        .any(|a| a.resolve.is_some())
    {
        add(Intervening, Intervening, E::ActionPolled);
    }
    out
}

/// The receipt event types the catalog's actions can end in: a simulated handler is judged
/// for its default and for each case; an external command can end in any of them.
fn reachable_outcomes(catalog: &Catalog) -> BTreeSet<EventType> {
    let mut out = BTreeSet::new();
    for pack in catalog.packs() {
        for tool in &pack.tools {
            let limits = Limits::resolve(pack.action(&tool.action), pack);
            match &tool.handler {
                Handler::Command(_) => out.extend(RAN),
                // A built-in answers (it fails only on a chain tai cannot read).
                Handler::Builtin(_) => {
                    out.insert(EventType::ActionExecuted);
                }
                Handler::Simulated(sim) => {
                    let cases = sim
                        .cases
                        .iter()
                        .map(|c| c.when.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
                    for args in std::iter::once(Map::new()).chain(cases) {
                        out.insert(outcome_event(&exec::run(&tool.handler, &args, &limits)));
                    }
                }
            }
        }
    }
    out
}

fn outcome_event(outcome: &Outcome) -> EventType {
    match outcome {
        Outcome::Success { .. } => EventType::ActionExecuted,
        Outcome::Timeout { .. } => EventType::ActionTimeout,
        Outcome::MemoryExceeded { .. } => EventType::ActionMemoryExceeded,
        Outcome::OutputExceeded { .. } | Outcome::Error { .. } => EventType::ActionErrored,
    }
}
