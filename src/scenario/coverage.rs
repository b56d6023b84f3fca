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
//! of `governor` (see [`possible_transitions`], which lives there).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::governor::{Gate, RAN};
use crate::receipts::{EventType, Receipt};

pub use crate::governor::{Transition, possible_transitions};

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

/// What the overall coverage figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageScope {
    /// The packs' tools, actions and preconditions, and the governor's transitions.
    #[default]
    All,
    /// The packs' tools, actions and preconditions only: what a pack author's suite is
    /// about (the governor's transitions are the engine's, the same for every pack).
    Packs,
}

/// Coverage of a catalog by a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// What `covered`, `total` and `percent` count.
    pub scope: CoverageScope,
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
    /// The report with its overall figure counting `scope` (per-pack figures are the same).
    pub fn scoped(mut self, scope: CoverageScope) -> Self {
        self.scope = scope;
        let transitions = match scope {
            CoverageScope::All => Some(&self.transitions),
            CoverageScope::Packs => None,
        };
        let (covered, total) = self
            .packs
            .iter()
            .flat_map(PackCoverage::kinds)
            .chain(transitions)
            .fold((0, 0), |(c, t), i| (c + i.covered.len(), t + i.total()));
        self.covered = covered;
        self.total = total;
        self.percent = percent(covered, total);
        self
    }

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
            scope: CoverageScope::All,
            packs,
            transitions,
            unexpected_transitions,
            covered,
            total,
            percent: percent(covered, total),
        }
    }
}
