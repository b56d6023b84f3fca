//! Coverage of the pack surface: which tools, actions, precondition checks and governor
//! transitions a suite exercised, and which it never did.
//!
//! Coverage is read from the receipts the runs wrote (their metadata names the tool, pack,
//! action, gate and reason), so it reflects what really ran, not what a scenario says.
//!
//! What counts, per pack:
//! - a tool or action is covered when a call to it got past the gates and ran (executed, or
//!   failed by a bound or an error);
//! - a precondition's pass is covered when an action with that precondition ran;
//! - a precondition's refusal is covered when a call was refused with its code.
//!
//! And for the governor, every (from, to, event type) triple it can produce: the state table
//! of `governor` (see [`possible_transitions`]).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Catalog, Handler};
use crate::exec::{self, Limits, Outcome};
use crate::governor::{Gate, GovernorState};
use crate::receipts::{EventType, Receipt};

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

/// What some runs exercised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    /// Governor transitions seen.
    pub transitions: BTreeSet<Transition>,
    /// (pack, tool, action) of calls that ran.
    pub ran: BTreeSet<(String, String, String)>,
    /// (pack, action, code) of calls refused by a precondition.
    pub refused: BTreeSet<(String, String, String)>,
}

const RAN: [EventType; 4] = [
    EventType::ActionExecuted,
    EventType::ActionTimeout,
    EventType::ActionMemoryExceeded,
    EventType::ActionErrored,
];

impl Observations {
    /// What `receipts` record.
    pub fn from_receipts<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> Self {
        let mut o = Observations::default();
        for r in receipts {
            let b = &r.body;
            o.transitions.insert(Transition {
                from: b.state_from,
                to: b.state_to,
                event: b.event_type,
            });
            let ran = RAN.contains(&b.event_type);
            if !ran && b.event_type != EventType::ActionRefused {
                continue;
            }
            let metadata = b.metadata.to_value();
            let meta = |k: &str| metadata.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(pack), Some(action)) = (meta("pack"), meta("action")) else {
                continue;
            };
            if ran {
                o.ran
                    .insert((pack, meta("tool").unwrap_or_default(), action));
            } else if b.event_type == EventType::ActionRefused
                && meta("gate").as_deref() == Some(Gate::Preconditions.as_str())
                && let Some(code) = &b.reason
            {
                o.refused.insert((pack, action, code.to_string()));
            }
        }
        o
    }

    /// Adds everything `other` saw.
    pub fn merge(&mut self, other: &Observations) {
        self.transitions.extend(other.transitions.iter().copied());
        self.ran.extend(other.ran.iter().cloned());
        self.refused.extend(other.refused.iter().cloned());
    }
}

/// Covered and never-exercised items of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Items {
    /// Items exercised.
    pub covered: Vec<String>,
    /// Items never exercised.
    pub missing: Vec<String>,
}

impl Items {
    fn add(&mut self, name: String, covered: bool) {
        if covered {
            self.covered.push(name);
        } else {
            self.missing.push(name);
        }
    }

    /// Number of items.
    pub fn total(&self) -> usize {
        self.covered.len() + self.missing.len()
    }

    /// Share covered, in percent (100 when empty).
    pub fn percent(&self) -> f64 {
        percent(self.covered.len(), self.total())
    }

    /// `covered/total`, e.g. `3/4`.
    pub fn ratio(&self) -> String {
        format!("{}/{}", self.covered.len(), self.total())
    }
}

/// Coverage of one pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackCoverage {
    /// The pack.
    pub pack: String,
    /// Tools that ran.
    pub tools: Items,
    /// Actions that ran.
    pub actions: Items,
    /// Preconditions that passed (`action: key`).
    pub precondition_passes: Items,
    /// Precondition refusal codes seen (`action: code`).
    pub precondition_refusals: Items,
    /// Share of this pack's items covered, in percent.
    pub percent: f64,
}

impl PackCoverage {
    fn kinds(&self) -> [&Items; 4] {
        [
            &self.tools,
            &self.actions,
            &self.precondition_passes,
            &self.precondition_refusals,
        ]
    }
}

/// Coverage of a catalog by a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Per pack, sorted by pack id.
    pub packs: Vec<PackCoverage>,
    /// Governor transitions (`from → to (event)`).
    pub transitions: Items,
    /// Transitions seen that the state table does not list (a bug in the table or engine).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexpected_transitions: Vec<String>,
    /// Items covered, over everything.
    pub covered: usize,
    /// Items, over everything.
    pub total: usize,
    /// `covered / total` in percent (100 when there is nothing to cover).
    pub percent: f64,
}

fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        // Counts are far below 2^52; the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let p = covered as f64 * 100.0 / total as f64;
        p
    }
}

impl CoverageReport {
    /// What `seen` covers of `catalog`.
    pub fn compute(catalog: &Catalog, seen: &Observations) -> Self {
        let mut packs = Vec::new();
        for pack in catalog.packs() {
            let id = pack.pack_id.as_str();
            let ran_action = |a: &str| seen.ran.iter().any(|(p, _, x)| p == id && x == a);
            let mut c = PackCoverage {
                pack: id.to_owned(),
                tools: Items::default(),
                actions: Items::default(),
                precondition_passes: Items::default(),
                precondition_refusals: Items::default(),
                percent: 0.0,
            };
            for tool in &pack.tools {
                let name = tool.name.as_str();
                c.tools.add(
                    name.to_owned(),
                    seen.ran.iter().any(|(p, t, _)| p == id && t == name),
                );
            }
            for action in &pack.actions {
                let a = action.id.as_str();
                c.actions.add(a.to_owned(), ran_action(a));
                for pre in &action.preconditions {
                    c.precondition_passes
                        .add(format!("{a}: {}", pre.key), ran_action(a));
                    let key = (id.to_owned(), a.to_owned(), pre.code.to_string());
                    c.precondition_refusals
                        .add(format!("{a}: {}", pre.code), seen.refused.contains(&key));
                }
            }
            let (cov, tot) = c
                .kinds()
                .iter()
                .fold((0, 0), |(cv, t), i| (cv + i.covered.len(), t + i.total()));
            c.percent = percent(cov, tot);
            packs.push(c);
        }
        let possible = possible_transitions(catalog);
        let mut transitions = Items::default();
        for t in &possible {
            transitions.add(t.to_string(), seen.transitions.contains(t));
        }
        let unexpected_transitions = seen
            .transitions
            .iter()
            .filter(|t| !possible.contains(t))
            .map(ToString::to_string)
            .collect();
        let all = packs
            .iter()
            .flat_map(PackCoverage::kinds)
            .chain([&transitions]);
        let (covered, total) = all.fold((0, 0), |(c, t), i| (c + i.covered.len(), t + i.total()));
        CoverageReport {
            packs,
            transitions,
            unexpected_transitions,
            covered,
            total,
            percent: percent(covered, total),
        }
    }
}

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
        // changing, a refused entitlement event, a call to a tool the tenant cannot see.
        for e in [
            E::EntitlementExpired,
            E::ToolSurfaceChanged,
            E::EntitlementUpdateRefused,
            E::ToolNotFound,
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
    // Actions that ran, and their resolution.
    for e in reachable_outcomes(catalog) {
        let to = if e == E::ActionExecuted {
            Stable
        } else {
            Intervening
        };
        add(Stable, to, e);
    }
    add(Intervening, Stable, E::ActionCompleted);
    add(Intervening, Refusing, E::ActionFailed);
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
                Handler::Command(_) => out.extend(super::coverage::RAN),
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
