//! Running a scenario against a fresh engine under a simulated clock.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::clock::{SimClock, parse_duration};
use crate::diagnostics::plural;
use crate::engine::MemoryEngine;
use crate::governor::Acknowledgement;
use crate::governor::{IdSource, Resolution, Signal, ToolCall};
use crate::ids::TenantId;
use crate::receipts::Receipt;

use super::expect::{self, Mismatch, Observed};
use super::{DEFAULT_START, Scenario, ScenarioError, StepAction};

/// What one step did and which of its expectations failed.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based step number.
    pub index: usize,
    /// The step's name, if it has one.
    pub name: Option<String>,
    /// The step's kind (`event`, `call`, ...).
    pub kind: &'static str,
    /// The tenant the step acted on, if any.
    pub tenant: Option<TenantId>,
    /// One line saying what happened.
    pub summary: String,
    /// Receipts the step wrote, in order.
    pub receipts: Vec<Receipt>,
    /// Expectations that did not hold.
    pub mismatches: Vec<Mismatch>,
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The scenario's name.
    pub name: String,
    /// Per-step reports.
    pub steps: Vec<StepReport>,
    /// End-of-run expectations that did not hold.
    pub end_mismatches: Vec<Mismatch>,
    /// The engine after the last step (tenants and their receipts).
    pub engine: MemoryEngine,
}

impl Run {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.end_mismatches.is_empty() && self.steps.iter().all(|s| s.mismatches.is_empty())
    }

    /// Every receipt, in the order the steps wrote them.
    pub fn receipts(&self) -> impl Iterator<Item = &Receipt> {
        self.steps.iter().flat_map(|s| s.receipts.iter())
    }
}

/// Runs `scenario` on a fresh engine over `catalog`.
pub fn run(scenario: &Scenario, path: &str, catalog: Arc<Catalog>) -> Result<Run, ScenarioError> {
    run_with_progress(scenario, path, catalog, &mut |_| {})
}

/// Like [`run`], calling `progress` after each step with the number of steps done.
pub fn run_with_progress(
    scenario: &Scenario,
    path: &str,
    catalog: Arc<Catalog>,
    progress: &mut dyn FnMut(usize),
) -> Result<Run, ScenarioError> {
    let clock = Arc::new(SimClock::new(scenario.start.unwrap_or(DEFAULT_START)));
    let mut engine = MemoryEngine::new(catalog, clock.clone(), IdSource::seeded(scenario.seed));
    let mut steps = Vec::with_capacity(scenario.steps.len());
    for (i, step) in scenario.steps.iter().enumerate() {
        let index = i + 1;
        let step_err = |message: String| ScenarioError::Step {
            path: path.to_owned(),
            step: index,
            line: None,
            message,
        };
        let tenant_of = |explicit: &Option<TenantId>| {
            explicit
                .clone()
                .or_else(|| scenario.tenant.clone())
                .ok_or_else(|| {
                    step_err("no tenant: name one in the step or set `tenant:` at the top".into())
                })
        };
        let mut seen = Observed::default();
        let (kind, tenant, summary, receipts, result);
        match &step.action {
            StepAction::Advance(text) => {
                let d = parse_duration(text).map_err(|e| step_err(e.to_string()))?;
                clock.advance(d);
                kind = "advance";
                tenant = known_default(scenario, &engine);
                summary = format!("clock advances {text} to {}", clock_now(&engine));
                receipts = engine.tick();
                result = None;
            }
            StepAction::At(t) => {
                clock.set(*t);
                kind = "at";
                tenant = known_default(scenario, &engine);
                summary = format!("clock set to {t}");
                receipts = engine.tick();
                result = None;
            }
            StepAction::Event(raw) => {
                let mut raw = raw.clone();
                if !raw.contains_key("tenant_id") {
                    let t = tenant_of(&None)?;
                    raw.insert("tenant_id".into(), Value::String(t.to_string()));
                }
                let raw = Value::Object(raw);
                let out = engine
                    .apply_event_json(&raw)
                    .map_err(|e| step_err(e.to_string()))?;
                kind = "event";
                let t = out.receipts.last().map(|r| r.body.tenant_id.clone());
                let event_type = raw
                    .get("event_type")
                    .and_then(Value::as_str)
                    .unwrap_or("event");
                summary = match &out.refusal {
                    None => format!("{event_type} accepted"),
                    Some(r) => format!("{event_type} refused: {}", r.code),
                };
                seen.accepted = Some(out.accepted);
                seen.reason = out.refusal.as_ref().map(|r| r.code.to_string());
                tenant = t;
                receipts = out.receipts;
                result = None;
            }
            StepAction::Call(c) => {
                let t = tenant_of(&c.tenant)?;
                let call = ToolCall {
                    tool: c.tool.clone(),
                    arguments: c.args.clone(),
                    context: c.context.clone(),
                    idempotency_key: None,
                    principal: c.principal.clone(),
                    timeout_ms: c.timeout_ms.map(std::num::NonZeroU64::get),
                };
                let out = engine.call(&t, &call);
                kind = "call";
                summary = match &out.reason {
                    Some(r) if r.as_str() != out.decision.as_str() => {
                        format!("{} {}: {r}", c.tool, out.decision)
                    }
                    _ => format!("{} {}", c.tool, out.decision),
                };
                seen.decision = Some(out.decision);
                seen.gate = out.gate;
                seen.reason = out.reason.as_ref().map(ToString::to_string);
                tenant = Some(t);
                receipts = out.receipts;
                result = out.result;
            }
            StepAction::Signal(s) => {
                let t = tenant_of(&s.tenant)?;
                let signal = Signal {
                    name: s.name.clone(),
                    facts: s.facts.clone(),
                };
                let out = engine.signal(&t, &signal);
                kind = "signal";
                summary = format!(
                    "signal {} {}",
                    s.name.as_ref().map_or("(unnamed)", |n| n.as_str()),
                    out.event
                );
                seen.reason = out.reason.as_ref().map(ToString::to_string);
                tenant = Some(t);
                receipts = out.receipts;
                result = None;
            }
            StepAction::ActionComplete(r) | StepAction::ActionFailed(r) => {
                let t = tenant_of(&r.tenant)?;
                let resolution = if matches!(step.action, StepAction::ActionComplete(_)) {
                    Resolution::Complete
                } else {
                    Resolution::Failed
                };
                kind = if resolution == Resolution::Complete {
                    "action_complete"
                } else {
                    "action_failed"
                };
                let action = r.action.as_ref();
                match engine.resolve_action(&t, resolution, action, r.detail.as_deref()) {
                    Ok(rs) => {
                        summary = format!("{kind} reported");
                        receipts = rs;
                    }
                    Err(e) => {
                        summary = format!("{kind} ignored: {e}");
                        seen.reason = Some(e.code().into());
                        receipts = Vec::new();
                    }
                }
                tenant = Some(t);
                result = None;
            }
            StepAction::AndonClear(step) => {
                let t = tenant_of(&step.tenant)?;
                kind = "andon_clear";
                let ack = Acknowledgement {
                    principal: step.principal.clone(),
                    note: step.note.clone(),
                };
                match engine.clear_andon(&t, &step.signal, &ack) {
                    Ok(rs) => {
                        summary = format!("Andon {} cleared", step.signal);
                        receipts = rs;
                    }
                    Err(e) => {
                        summary = format!("andon_clear ignored: {e}");
                        seen.reason = Some(super::check::NO_SUCH_ANDON.into());
                        receipts = Vec::new();
                    }
                }
                tenant = Some(t);
                result = None;
            }
            StepAction::Iam(step) => {
                let t = tenant_of(&step.tenant)?;
                kind = "iam";
                summary = match &step.policy {
                    Some(p) => format!("IAM policy set: {}", plural(p.bindings.len(), "binding")),
                    None => "IAM policy cleared".to_owned(),
                };
                receipts = engine.set_iam_policy(&t, step.policy.clone());
                tenant = Some(t);
                result = None;
            }
        }
        let state_tenant = tenant.as_ref().and_then(|t| engine.tenant(t));
        seen.state = state_tenant.map(|t| t.state());
        seen.tools = state_tenant.map(|t| t.tools());
        seen.result = result.as_ref();
        seen.receipts = &receipts;
        let mismatches = step
            .expect
            .as_ref()
            .map(|e| expect::check(e, &seen))
            .unwrap_or_default();
        steps.push(StepReport {
            index,
            name: step.name.clone(),
            kind,
            tenant,
            summary,
            receipts,
            mismatches,
        });
        progress(index);
    }
    let end_mismatches = check_end(
        scenario
            .end
            .as_ref()
            .unwrap_or(&super::EndExpect::default()),
        &engine,
    );
    Ok(Run {
        name: scenario.name.clone(),
        steps,
        end_mismatches,
        engine,
    })
}

fn clock_now(engine: &MemoryEngine) -> crate::clock::Timestamp {
    engine.clock().now()
}

/// The scenario's default tenant, once the engine has seen it: the tenant whose state and
/// tools a clock step's expectations are checked against.
fn known_default(scenario: &Scenario, engine: &MemoryEngine) -> Option<TenantId> {
    scenario
        .tenant
        .clone()
        .filter(|t| engine.tenant(t).is_some())
}

fn check_end(end: &super::EndExpect, engine: &MemoryEngine) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (tenant, want) in &end.receipts {
        let actual = engine.receipts(tenant).len() as u64;
        if actual != *want {
            out.push(Mismatch::new(
                format!("end.receipts.{tenant}"),
                want.to_string(),
                actual.to_string(),
            ));
        }
    }
    for (tenant, want) in &end.states {
        let actual = engine.tenant(tenant).map(|t| t.state());
        if actual != Some(*want) {
            let actual = actual.map_or_else(|| "unknown tenant".into(), |s| s.to_string());
            out.push(Mismatch::new(
                format!("end.states.{tenant}"),
                want.to_string(),
                actual,
            ));
        }
    }
    // Checked even when not asked for: a run whose chains do not verify is never a pass.
    let broken: Vec<String> = engine
        .tenants()
        .filter_map(|t| {
            crate::governor::Tenant::replay(t.id().clone(), engine.receipts(t.id())).err()
        })
        .map(|e| e.to_string())
        .collect();
    let want = end.chain_verifies.unwrap_or(true);
    if want != broken.is_empty() {
        let actual = if broken.is_empty() {
            "every chain verifies".to_owned()
        } else {
            broken.join("; ")
        };
        out.push(Mismatch::new(
            "end.chain_verifies",
            want.to_string(),
            actual,
        ));
    }
    out
}

/// The machine-readable form of a run (what `--format json` prints).
#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// Whether every expectation held.
    pub passed: bool,
    /// Per-step reports with their receipts.
    pub steps: &'a [StepReport],
    /// End-of-run expectations that did not hold.
    pub end_mismatches: &'a [Mismatch],
}

impl Run {
    /// The run as a serializable report.
    pub fn report(&self) -> RunReport<'_> {
        RunReport {
            scenario: &self.name,
            passed: self.passed(),
            steps: &self.steps,
            end_mismatches: &self.end_mismatches,
        }
    }
}
