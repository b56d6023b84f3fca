//! Checking a parsed scenario against the catalog before it runs.
//!
//! A misspelt tool, SKU or pack would otherwise run and pass or fail for the wrong reason
//! (a call to `ac_rollback_orchestator` is simply "not found"). Names the catalog does not
//! know are load errors with the step's line and a "did you mean", unless the step expects
//! exactly the refusal such a name causes (`reason: unknown_sku`, `decision: tool_not_found`,
//! ...), which is how a scenario tests those refusals on purpose.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::clock::parse_duration;
use crate::entitlement::parse_event;
use crate::governor::{Decision, ReasonCode};
use crate::spans::DocPath;

use super::hint::{did_you_mean, explain_serde};
use super::text::{ScenarioText, step};
use super::{Expect, Scenario, ScenarioError, StepAction, ToolsExpect};

/// The reason the runner reports for `action_complete` / `action_failed` with nothing in
/// flight.
pub const NOTHING_IN_FLIGHT: &str = "nothing_in_flight";

/// The reasons the runner reports for `action_complete` / `action_failed` naming an action
/// that is not the one in flight, or one already resolved.
pub const WRONG_ACTION: [&str; 2] = ["unknown_action", "action_already_resolved"];

/// The reason the runner reports for `andon_clear` of a signal that is not stopping the
/// tenant.
pub const NO_SUCH_ANDON: &str = "no_such_andon";

/// Every problem in `scenario` that would make its run meaningless, with file and line.
pub fn check(scenario: &Scenario, path: &str, text: &str, catalog: &Catalog) -> Vec<ScenarioError> {
    let codes = known_codes(catalog);
    let located = ScenarioText::new(text);
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let expect = step.expect.clone().unwrap_or_default();
        let mut c = StepCheck {
            path,
            text: &located,
            index: i,
            default_tenant: scenario.tenant.is_some(),
            expect: &expect,
            catalog,
            out: &mut out,
        };
        match &step.action {
            StepAction::Advance(d) => {
                if let Err(e) = parse_duration(d) {
                    c.error(rel(&["advance"]), e.to_string());
                }
            }
            StepAction::At(_) => {}
            StepAction::Event(raw) => {
                let mut raw = raw.clone();
                if let Some(t) = &scenario.tenant {
                    raw.entry("tenant_id")
                        .or_insert_with(|| Value::String(t.to_string()));
                }
                if c.tenant("event", raw.contains_key("tenant_id")) {
                    c.event(&Value::Object(raw));
                }
            }
            StepAction::Call(call) => {
                c.tenant("call", call.tenant.is_some());
                c.tool(&call.tool);
            }
            StepAction::Signal(s) => {
                c.tenant("signal", s.tenant.is_some());
            }
            StepAction::ActionComplete(r) | StepAction::ActionFailed(r) => {
                c.tenant(step.action.kind(), r.tenant.is_some());
            }
            StepAction::AndonClear(a) => {
                c.tenant("andon_clear", a.tenant.is_some());
            }
            StepAction::Iam(iam) => {
                c.tenant("iam", iam.tenant.is_some());
                if let Some(policy) = &iam.policy
                    && let Err(e) = policy.check(Some(&catalog.grantable_roles()))
                {
                    for p in e.problems {
                        let at = DocPath::parse(&p.path).map_or_else(
                            || rel(&["iam", "policy"]),
                            |d| rel(&["iam", "policy"]).join(&d),
                        );
                        c.error(at, p.message);
                    }
                }
            }
        }
        c.expectations(&step.action, &codes);
    }
    out
}

struct StepCheck<'a> {
    path: &'a str,
    text: &'a ScenarioText<'a>,
    index: usize,
    default_tenant: bool,
    expect: &'a Expect,
    catalog: &'a Catalog,
    out: &'a mut Vec<ScenarioError>,
}

impl StepCheck<'_> {
    /// Records an error at `rel`, a path inside the step (its line, or the nearest one found).
    fn error(&mut self, rel: DocPath, message: String) {
        let full = step(self.index).join(&rel);
        self.out.push(ScenarioError::Step {
            path: self.path.to_owned(),
            step: self.index + 1,
            line: self.text.locate_nearest(&full).map(|l| l.line),
            message,
        });
    }

    fn expects_reason(&self, code: &ReasonCode) -> bool {
        self.expect.reason.as_deref() == Some(code.as_str())
    }

    /// Whether the step has a tenant (its own, or the scenario's); reports it when not.
    fn tenant(&mut self, key: &str, explicit: bool) -> bool {
        let ok = explicit || self.default_tenant;
        if !ok {
            self.error(
                rel(&[key]),
                "no tenant: name one in the step (`tenant:`) or set `tenant:` at the top of the scenario".into(),
            );
        }
        ok
    }

    fn event(&mut self, raw: &Value) {
        let event = match parse_event(raw) {
            Ok(event) => event,
            Err(e) if e.tenant.is_none() => {
                return self.error(
                    rel(&["event", "tenant_id"]),
                    format!("{e}\n  hint: the event needs a valid `tenant_id` (or none, to use the scenario's tenant)"),
                );
            }
            Err(_) if self.expects_reason(&ReasonCode::MalformedEvent) => return,
            Err(e) => {
                return self.error(
                    rel(&["event"]),
                    format!(
                        "{}\n  hint: to send a malformed event on purpose, expect `reason: malformed_event`",
                        explain_serde(&e.to_string(), None)
                    ),
                );
            }
        };
        let catalog = self.catalog;
        if let Some(sku) = &event.sku_id
            && catalog.sku(sku.as_str()).is_none()
            && !self.expects_reason(&ReasonCode::UnknownSku)
        {
            let hint = did_you_mean(
                sku.as_str(),
                catalog.skus().iter().map(|s| s.sku_id.as_str()),
            );
            self.error(
                rel(&["event", "sku_id"]),
                format!("unknown SKU `{sku}`{hint}\n  hint: to test the refusal, expect `reason: unknown_sku`"),
            );
        }
        if self.expects_reason(&ReasonCode::UnknownPack) {
            return;
        }
        for (j, pack) in event.enabled_packs.iter().flatten().enumerate() {
            if catalog.pack(pack.as_str()).is_none() {
                let hint = did_you_mean(
                    pack.as_str(),
                    catalog.packs().iter().map(|p| p.pack_id.as_str()),
                );
                self.error(
                    rel(&["event", "enabled_packs"]).index(j),
                    format!("unknown pack `{pack}`{hint}\n  hint: to test the refusal, expect `reason: unknown_pack`"),
                );
            }
        }
    }

    fn tool(&mut self, tool: &str) {
        let expects_not_found = self.expect.decision == Some(Decision::ToolNotFound)
            || self.expects_reason(&ReasonCode::ToolNotFound);
        if self.catalog.tool(tool).is_none() && !expects_not_found {
            let hint = did_you_mean(tool, all_tools(self.catalog));
            self.error(
                rel(&["call", "tool"]),
                format!(
                    "unknown tool `{tool}`{hint}\n  hint: to call a tool that does not exist on purpose, expect `decision: tool_not_found`"
                ),
            );
        }
    }

    fn expectations(&mut self, action: &StepAction, codes: &BTreeSet<String>) {
        let expect = self.expect;
        let kind = action.kind();
        let only = |c: &mut Self, set: bool, field: &str, kinds: &[&str]| {
            if set && !kinds.contains(&kind) {
                let list: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
                c.error(
                    rel(&["expect", field]),
                    format!(
                        "`expect.{field}` applies to {} steps, not `{kind}`",
                        list.join(" and ")
                    ),
                );
            }
        };
        if matches!(action, StepAction::Advance(_) | StepAction::At(_)) && !self.default_tenant {
            for (field, set) in [
                ("state", expect.state.is_some()),
                ("tools", expect.tools.is_some()),
            ] {
                if set {
                    self.error(
                        rel(&["expect", field]),
                        format!("`expect.{field}` on a clock step (`{kind}`) is checked for the scenario's tenant: set `tenant:` at the top"),
                    );
                }
            }
        }
        only(self, expect.decision.is_some(), "decision", &["call"]);
        only(self, expect.gate.is_some(), "gate", &["call"]);
        only(self, expect.result.is_some(), "result", &["call"]);
        only(self, expect.accepted.is_some(), "accepted", &["event"]);
        only(
            self,
            expect.reason.is_some(),
            "reason",
            &[
                "event",
                "call",
                "signal",
                "action_complete",
                "action_failed",
                "andon_clear",
            ],
        );
        if let Some(reason) = &expect.reason
            && reason != "none"
            && !codes.contains(reason)
        {
            let hint = did_you_mean(reason, codes.iter().map(String::as_str));
            self.error(
                rel(&["expect", "reason"]),
                format!("unknown reason code `{reason}`{hint}: use a built-in code, a precondition code of the catalog, or `none`"),
            );
        }
        if let Some(tools) = &expect.tools {
            self.tool_names(tools);
        }
    }

    fn tool_names(&mut self, tools: &ToolsExpect) {
        let catalog = self.catalog;
        let lists = [
            ("exact", tools.exact.as_deref().unwrap_or_default()),
            ("includes", &tools.includes),
            ("excludes", &tools.excludes),
        ];
        for (key, names) in lists {
            for (j, name) in names.iter().enumerate() {
                if catalog.tool(name).is_none() {
                    let hint = did_you_mean(name, all_tools(catalog));
                    self.error(
                        rel(&["expect", "tools", key]).index(j),
                        format!("unknown tool `{name}` in `expect.tools.{key}`{hint}"),
                    );
                }
            }
        }
    }
}

/// A path of keys inside a step, e.g. `call.tool`.
fn rel(keys: &[&str]) -> DocPath {
    keys.iter().fold(DocPath::root(), |p, key| p.key(*key))
}

fn all_tools(catalog: &Catalog) -> impl Iterator<Item = &str> {
    catalog
        .packs()
        .iter()
        .flat_map(|p| p.tools.iter().map(|t| t.name.as_str()))
}

/// Reason codes a scenario may expect: the built-in ones, the catalog's precondition codes,
/// and the runner's `nothing_in_flight`.
fn known_codes(catalog: &Catalog) -> BTreeSet<String> {
    let built_in = ReasonCode::BUILT_IN.iter().map(|c| c.as_str().to_owned());
    let packs = catalog
        .packs()
        .iter()
        .flat_map(|p| p.actions.iter())
        .flat_map(|a| a.preconditions.iter())
        .map(|pre| pre.code.to_string());
    built_in
        .chain(packs)
        .chain([NOTHING_IN_FLIGHT.to_owned(), NO_SUCH_ANDON.to_owned()])
        .chain(WRONG_ACTION.map(str::to_owned))
        .collect()
}
