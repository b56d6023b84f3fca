//! Scenarios: ordered steps (time, entitlement events, tool calls, signals, recovery reports)
//! with optional expectations, run against a fresh engine under a simulated clock.
//!
//! A scenario is both a demo script (`tai simulate`) and a test (`tai test`): the same runner
//! produces the timeline and checks the expectations. [`suite`] runs many in parallel,
//! [`coverage`] measures what they exercised, [`junit`] reports them to CI.

mod check;
pub mod coverage;
mod expect;
mod hint;
pub mod junit;
mod run;
mod schema;
pub mod suite;
mod text;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::governor::{Decision, GovernorState};
use crate::iam::{IamPolicy, Principal};
use crate::ids::{ActionRunId, SignalName, TenantId};
use crate::intake::{self, Reading};
use crate::receipts::EventType;

pub use expect::Mismatch;
pub use run::{Run, RunReport, StepReport, run, run_with_progress};
pub use schema::{json_schema, json_schema_text};

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// What the scenario shows, for the person reading it.
    #[serde(default)]
    pub description: Option<String>,
    /// Simulated start time [default: 2026-01-01T00:00:00Z].
    #[serde(default)]
    pub start: Option<Timestamp>,
    /// Seed for receipt ids [default: 0].
    #[serde(default)]
    pub seed: u64,
    /// Tenant used by steps that do not name one.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
    /// Checks on the whole run, after the last step.
    #[serde(default)]
    pub end: Option<EndExpect>,
}

/// The default simulated start: 2026-01-01T00:00:00Z.
pub const DEFAULT_START: Timestamp = Timestamp::from_secs(1_767_225_600);

/// One step: an optional name, exactly one action, optional expectations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "RawStep")]
pub struct Step {
    /// What the step does, in words a person can follow.
    #[serde(default)]
    pub name: Option<String>,
    /// The action.
    #[serde(flatten)]
    pub action: StepAction,
    /// What must be true after the step.
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// A step as written: every action is an optional key and exactly one must be present.
/// Reading it this way (rather than as a flattened enum) rejects unknown keys, such as a
/// misspelt `expect`, instead of ignoring them.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStep {
    /// What the step does, in words a person can follow.
    #[serde(default)]
    name: Option<String>,
    /// Move the simulated clock forward, e.g. `31d`.
    #[serde(default)]
    advance: Option<String>,
    /// Set the simulated clock to a time.
    #[serde(default)]
    at: Option<Timestamp>,
    /// Send an entitlement event.
    #[serde(default)]
    event: Option<Map<String, Value>>,
    /// Call a tool.
    #[serde(default)]
    call: Option<CallStep>,
    /// Send a signal.
    #[serde(default)]
    signal: Option<SignalStep>,
    /// Report the in-flight action complete.
    #[serde(default)]
    action_complete: Option<RecoveryStep>,
    /// Report the in-flight action failed (`tai action fail`; `action_fail` is accepted too).
    #[serde(default, alias = "action_fail")]
    action_failed: Option<RecoveryStep>,
    /// Set (or clear) the tenant's IAM policy.
    #[serde(default)]
    iam: Option<IamStep>,
    /// Clear a critical Andon (`tai andon clear`).
    #[serde(default)]
    andon_clear: Option<AndonClearStep>,
    /// What must be true after the step.
    #[serde(default)]
    expect: Option<Expect>,
}

/// The step kinds, as written in scenario files.
pub const STEP_KINDS: [&str; 9] = [
    "advance",
    "at",
    "event",
    "call",
    "signal",
    "action_complete",
    "action_failed",
    "iam",
    "andon_clear",
];

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Self, Self::Error> {
        let actions = [
            raw.advance.map(StepAction::Advance),
            raw.at.map(StepAction::At),
            raw.event.map(StepAction::Event),
            raw.call.map(StepAction::Call),
            raw.signal.map(StepAction::Signal),
            raw.action_complete.map(StepAction::ActionComplete),
            raw.action_failed.map(StepAction::ActionFailed),
            raw.iam.map(StepAction::Iam),
            raw.andon_clear.map(StepAction::AndonClear),
        ];
        let mut present = actions.into_iter().flatten();
        let kinds = || {
            let names: Vec<String> = STEP_KINDS.iter().map(|k| format!("`{k}`")).collect();
            names.join(", ")
        };
        let Some(action) = present.next() else {
            return Err(format!("the step does nothing: give it one of {}", kinds()));
        };
        if let Some(second) = present.next() {
            return Err(format!(
                "the step has both `{}` and `{}`: one action per step, split it in two",
                action.kind(),
                second.kind()
            ));
        }
        Ok(Step {
            name: raw.name,
            action,
            expect: raw.expect,
        })
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Move the simulated clock forward, e.g. `31d`.
    Advance(String),
    /// Set the simulated clock to a time.
    At(Timestamp),
    /// Send an entitlement event (the marketplace JSON shape; `tenant_id` defaults to the
    /// scenario's tenant).
    Event(Map<String, Value>),
    /// Call a tool.
    Call(CallStep),
    /// Send a signal.
    Signal(SignalStep),
    /// Report the in-flight action complete.
    ActionComplete(RecoveryStep),
    /// Report the in-flight action failed.
    ActionFailed(RecoveryStep),
    /// Set (or clear) the tenant's IAM policy.
    Iam(IamStep),
    /// Clear a critical Andon.
    AndonClear(AndonClearStep),
}

impl StepAction {
    /// The step kind as written in scenario files (`call`, `event`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            StepAction::Advance(_) => "advance",
            StepAction::At(_) => "at",
            StepAction::Event(_) => "event",
            StepAction::Call(_) => "call",
            StepAction::Signal(_) => "signal",
            StepAction::ActionComplete(_) => "action_complete",
            StepAction::ActionFailed(_) => "action_failed",
            StepAction::Iam(_) => "iam",
            StepAction::AndonClear(_) => "andon_clear",
        }
    }
}

/// A tool call step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallStep {
    /// The tenant [default: the scenario's].
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The tool name.
    pub tool: String,
    /// Arguments for the tool (`args` is accepted too), as HTTP and MCP name them.
    #[serde(default, rename = "arguments", alias = "args")]
    pub args: Map<String, Value>,
    /// Context for preconditions.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// Who calls (`user:…` or `serviceAccount:…`), for the tenant's IAM policy.
    #[serde(default)]
    pub principal: Option<Principal>,
    /// This call's wall-clock limit in milliseconds: it may tighten the action's, never
    /// loosen it.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<std::num::NonZeroU64>,
}

/// An `iam` step: the tenant's new IAM policy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamStep {
    /// The tenant [default: the scenario's].
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The policy; `null` clears it.
    pub policy: Option<IamPolicy>,
}

/// An `andon_clear` step: acknowledge a critical Andon so the packs it stopped run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AndonClearStep {
    /// The tenant [default: the scenario's].
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The Andon signal to clear.
    pub signal: SignalName,
    /// Who acknowledged it, recorded in the receipt.
    #[serde(default)]
    pub principal: Option<Principal>,
    /// A note recorded in the receipt.
    #[serde(default)]
    pub note: Option<String>,
}

/// A signal step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalStep {
    /// The tenant [default: the scenario's].
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The signal's name.
    #[serde(default)]
    pub name: Option<SignalName>,
    /// Facts the signal records.
    #[serde(default)]
    pub facts: Map<String, Value>,
}

/// An `action_complete` / `action_failed` step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryStep {
    /// The tenant [default: the scenario's].
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The id of the action resolved (`act_…`) [default: whichever is in flight].
    #[serde(default)]
    pub action: Option<ActionRunId>,
    /// A note recorded in the receipt.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Expectations checked after a step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The governor state after the step.
    #[serde(default)]
    pub state: Option<GovernorState>,
    /// A tool call's decision.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// The refusing gate (`entitlement`, `iam`, `preconditions`) or `none`.
    #[serde(default)]
    pub gate: Option<GateExpect>,
    /// The reason code of a refusal or failure, or `none`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Whether an entitlement event was accepted.
    #[serde(default)]
    pub accepted: Option<bool>,
    /// The tenant's visible tools after the step.
    #[serde(default)]
    pub tools: Option<ToolsExpect>,
    /// Fields the call's result must contain (nested objects match as subsets).
    #[serde(default)]
    pub result: Option<Map<String, Value>>,
    /// Event types of the receipts the step wrote, in order.
    #[serde(default)]
    pub receipts: Option<Vec<EventType>>,
    /// Fields the step's last receipt must contain (subset match, e.g. `state_from`).
    #[serde(default)]
    pub receipt: Option<Map<String, Value>>,
}

/// A gate as an expectation names it: one of the three, or `none` when no gate refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateExpect {
    /// Gate 1: entitlement active.
    Entitlement,
    /// Gate 2: IAM role held.
    Iam,
    /// Gate 3: preconditions met.
    Preconditions,
    /// No gate refused.
    None,
}

impl GateExpect {
    /// The name as written in scenarios and receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            GateExpect::Entitlement => "entitlement",
            GateExpect::Iam => "iam",
            GateExpect::Preconditions => "preconditions",
            GateExpect::None => "none",
        }
    }
}

/// Expectations on a visible tool set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolsExpect {
    /// Exactly these tools.
    #[serde(default)]
    pub exact: Option<Vec<String>>,
    /// At least these tools.
    #[serde(default)]
    pub includes: Vec<String>,
    /// None of these tools.
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// Checks on the whole run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndExpect {
    /// Receipts written per tenant.
    #[serde(default)]
    pub receipts: BTreeMap<TenantId, u64>,
    /// Whether every tenant's receipt chain verifies [default: true, checked on every run].
    #[serde(default)]
    pub chain_verifies: Option<bool>,
    /// Final governor state per tenant.
    #[serde(default)]
    pub states: BTreeMap<TenantId, GovernorState>,
}

/// A scenario that could not be read, or that names something the catalog does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Not valid YAML/JSON, or not a scenario.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, with a hint when there is one.
        message: String,
    },
    /// A step is inconsistent (no tenant, bad duration, unknown tool or SKU, ...).
    #[error("{path}{}: step {step}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Step {
        /// The file.
        path: String,
        /// 1-based step number.
        step: usize,
        /// 1-based line of the step (or of the offending field), when known.
        line: Option<usize>,
        /// What is wrong, with a hint when there is one.
        message: String,
    },
}

impl ScenarioError {
    /// The file the error is in.
    pub fn path(&self) -> &str {
        match self {
            ScenarioError::Read { path, .. }
            | ScenarioError::Parse { path, .. }
            | ScenarioError::Step { path, .. } => path,
        }
    }
}

/// What a scenario file's refusals say about it.
const READING: Reading = Reading {
    regular: "a scenario is a regular `.yaml`, `.yml` or `.json` file",
    text: "scenario files are YAML or JSON text in UTF-8",
    size: "a scenario is a few kilobytes; split it or check that it is the right file",
    missing: "check the path",
};

/// Reads a scenario file (bounded like every input: a regular file, at most
/// [`intake::MAX_FILE_BYTES`], UTF-8); `shown` is the path as messages give it.
pub fn read(path: &Path, shown: &str) -> Result<String, ScenarioError> {
    intake::read_text(path, &READING).map_err(|d| ScenarioError::Read {
        path: shown.to_owned(),
        message: d.message,
    })
}

impl Scenario {
    /// Parses a scenario from YAML (JSON is YAML too). `path` is used in messages.
    pub fn parse(path: &str, text: &str) -> Result<Scenario, ScenarioError> {
        if let Some(d) = intake::yaml_too_deep(Path::new(path), text) {
            let (line, column) = d.location.map_or((1, 1), |l| (l.line, l.column));
            return Err(ScenarioError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: format!(
                    "{} (more than {} levels of `[` or `{{`)",
                    d.message,
                    intake::MAX_YAML_DEPTH
                ),
            });
        }
        serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let position = e.location().map(|l| (l.line(), l.column()));
            let mut message = hint::explain_serde(&e.to_string(), position);
            // A whole-step problem (no action, two actions) comes without the step's index.
            if let Some(rest) = message.strip_prefix("steps: ")
                && let Some(i) = text::ScenarioText::new(text).step_containing(line)
            {
                message = format!("step {}: {rest}", i + 1);
            }
            ScenarioError::Parse {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        })
    }
}
