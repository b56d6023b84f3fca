//! Why a receipt's call, signal or event did not go through, in words: the gate, the reason,
//! and what would make it pass.
//!
//! The engine's refusal already names the gate and the reason code; this adds what a person
//! in front of a customer needs next — which plans would unlock a tool or grant a missing
//! role, which value a precondition wants, which lifecycle event recovers the governor. It
//! reads only the receipt and the catalog, so the page, a script or an agent get the same
//! answer for the same receipt.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::catalog::view::{self, format_price, plans_by_price};
use crate::catalog::{Catalog, Check, Precondition, Sku};
use crate::diagnostics::closest;
use crate::governor::{Gate, GovernorState, ReasonCode};
use crate::ids::{Role, SkuId, TenantId};
use crate::receipts::{EventType, Receipt};

/// A plan that would make the refused thing pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PlanOption {
    /// The SKU.
    pub sku_id: SkuId,
    /// Its listing title.
    pub title: String,
    /// Its price, formatted, e.g. `$299.00/mo`.
    pub price_label: String,
}

/// A refusal, failure or postponement, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Explanation {
    /// The receipt explained.
    pub seq: u64,
    /// Its event type.
    pub event_type: EventType,
    /// The gate that refused, for a refused tool call that reached the gates.
    pub gate: Option<Gate>,
    /// The gate in words, e.g. `Gate 2 of 3 · IAM roles held`.
    pub gate_label: Option<String>,
    /// The receipt's reason code.
    pub reason: Option<ReasonCode>,
    /// The governor state after the receipt.
    pub state: GovernorState,
    /// What happened, in one sentence.
    pub what: String,
    /// Why, in one sentence.
    pub why: String,
    /// What would make it pass.
    pub fix: String,
    /// Plans in the catalog that would make it pass, cheapest first (for a tool outside the
    /// plan, a missing role, or no entitlement at all).
    pub plans: Vec<PlanOption>,
}

/// The gate in words.
pub fn gate_label(gate: Gate) -> &'static str {
    match gate {
        Gate::Entitlement => "Gate 1 of 3 · entitlement active",
        Gate::Iam => "Gate 2 of 3 · IAM roles held",
        Gate::Preconditions => "Gate 3 of 3 · preconditions met",
    }
}

/// The receipt explained, or `None` when nothing was refused, failed or postponed.
pub fn explain(catalog: &Catalog, receipt: &Receipt) -> Option<Explanation> {
    let body = &receipt.body;
    let meta = Meta(body.metadata.to_value());
    let reason = body.reason.clone();
    let gate = meta.str("gate").and_then(parse_gate);
    let tool = meta.str("tool").unwrap_or_default().to_owned();
    let message = meta.str("message").unwrap_or_default().to_owned();
    let mut plans = Vec::new();
    let (what, why, fix) = match body.event_type {
        EventType::ActionRefused => {
            let what = match gate {
                Some(g) => format!(
                    "The call to `{tool}` was refused at gate {}.",
                    gate_number(g)
                ),
                None => format!(
                    "The call to `{tool}` was refused by the governor ({}).",
                    body.state_from
                ),
            };
            let fix = call_fix(catalog, &meta, reason.as_ref(), &tool, &mut plans);
            (what, sentence(&message), fix)
        }
        EventType::ToolNotFound => {
            let (why, fix) = not_found(catalog, &body.tenant_id, &tool, &mut plans);
            (
                format!(
                    "`{tool}` is not among the tenant's tools; the call never reached the gates."
                ),
                why,
                fix,
            )
        }
        EventType::ActionInterrupted => (
            format!("`{tool}` passed every gate and started; its outcome was never recorded."),
            sentence(&message),
            "The governor is intervening: find out whether the action took effect, then report \
             it complete (back to stable) or failed (to refusing). Until then every call is \
             refused with `action_in_flight` and signals are postponed."
                .to_owned(),
        ),
        EventType::ActionTimeout | EventType::ActionMemoryExceeded | EventType::ActionErrored => (
            format!("`{tool}` passed every gate, ran, and failed."),
            sentence(&message),
            "The governor is intervening: report the action complete (back to stable) or \
             failed (to refusing). Until then every call is refused with `action_in_flight` \
             and signals are postponed."
                .to_owned(),
        ),
        EventType::SignalRefused => {
            let fix = match reason.as_ref() {
                Some(ReasonCode::GovernorRefusing) => refusing_fix(),
                Some(ReasonCode::UnknownSignal) => "Send a signal one of the tenant's enabled \
                                                    packs declares (`tai pack show PACK` lists \
                                                    them), or a bare signal."
                    .to_owned(),
                other => entitlement_fix(catalog, other, None, &mut plans),
            };
            let why = if message.is_empty() {
                "The governor refuses work until an entitlement change recovers it.".to_owned()
            } else {
                sentence(&message)
            };
            ("The signal was refused.".to_owned(), why, fix)
        }
        EventType::SignalPostponed => (
            "The signal was postponed.".to_owned(),
            "An action is in flight; the governor takes no new work until it is resolved."
                .to_owned(),
            "Report the action in flight complete or failed, then send the signal again."
                .to_owned(),
        ),
        EventType::EntitlementUpdateRefused => {
            let kind = meta
                .get("event")
                .and_then(|e| {
                    e.get("event_type")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "entitlement".to_owned());
            (
                format!("The `{kind}` event was refused; the entitlement did not change."),
                sentence(&message),
                event_fix(catalog, reason.as_ref(), &meta),
            )
        }
        _ => return None,
    };
    Some(Explanation {
        seq: receipt.seq,
        event_type: body.event_type,
        gate,
        gate_label: gate.map(|g| gate_label(g).to_owned()),
        reason,
        state: body.state_to,
        what,
        why,
        fix,
        plans,
    })
}

/// A receipt's metadata, read by key.
struct Meta(Value);

impl Meta {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    fn strings(&self, key: &str) -> Vec<String> {
        self.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn parse_gate(text: &str) -> Option<Gate> {
    [Gate::Entitlement, Gate::Iam, Gate::Preconditions]
        .into_iter()
        .find(|g| g.as_str() == text)
}

fn gate_number(gate: Gate) -> u8 {
    match gate {
        Gate::Entitlement => 1,
        Gate::Iam => 2,
        Gate::Preconditions => 3,
    }
}

/// `text` with a capital first letter and a closing period.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn code_list<T: std::fmt::Display>(items: &[T]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The SKUs `fits` accepts, cheapest first.
fn plans_where(catalog: &Catalog, fits: impl Fn(&Sku) -> bool) -> Vec<PlanOption> {
    plans_by_price(catalog)
        .into_iter()
        .filter(|s| fits(s))
        .map(|s| PlanOption {
            sku_id: s.sku_id.clone(),
            title: s.title.clone(),
            price_label: format_price(&s.price),
        })
        .collect()
}

fn plan_names(plans: &[PlanOption]) -> String {
    code_list(&plans.iter().map(|p| &p.sku_id).collect::<Vec<_>>())
}

/// Whether an IAM policy, not the plan, kept every missing role from the caller: the plan
/// grants them all, so changing plans would not help.
fn policy_denial(meta: &Meta) -> bool {
    meta.get("iam_denials")
        .and_then(Value::as_array)
        .is_some_and(|ds| ds.iter().all(|d| d["why"] != "not_in_plan"))
}

/// What would let a refused tool call through.
fn call_fix(
    catalog: &Catalog,
    meta: &Meta,
    reason: Option<&ReasonCode>,
    tool: &str,
    plans: &mut Vec<PlanOption>,
) -> String {
    let tref = catalog.tool(tool);
    match reason {
        Some(ReasonCode::GovernorNotReady) => "Send a signal: with an active entitlement it boots \
                                               the governor to stable, and calls go through the \
                                               gates from then on."
            .to_owned(),
        Some(ReasonCode::ActionInFlight) => "Report the action in flight complete (back to \
                                             stable) or failed (to refusing)."
            .to_owned(),
        Some(ReasonCode::GovernorRefusing) => refusing_fix(),
        Some(ReasonCode::AndonStopped) => format!(
            "Find out what raised Andon `{}`, then clear it (`tai andon clear`, `POST \
             /v1/tenants/{{t}}/andon/clear`): the pack's actions run again.",
            meta.str("andon").unwrap_or_default()
        ),
        Some(ReasonCode::InsufficientPrivilege) if policy_denial(meta) => format!(
            "Grant {} to the caller in the tenant's IAM policy (`tai iam set`): bind it to the \
             principal, a group it is in, or `allUsers`, under a condition this request meets.",
            code_list(&meta.strings("missing_roles"))
        ),
        Some(ReasonCode::InsufficientPrivilege) => {
            let missing = meta.strings("missing_roles");
            let (Some(t), Some(action)) = (tref.as_ref(), tref.as_ref().and_then(|t| t.action))
            else {
                return format!("Grant {}.", code_list(&missing));
            };
            let pack = &t.pack.pack_id;
            *plans = plans_where(catalog, |s| {
                s.enabled_packs.contains(pack)
                    && view::missing_roles(&action.roles, &s.iam_roles).is_empty()
            });
            if plans.is_empty() {
                format!(
                    "Grant {}: no plan in the catalog grants {} with `{pack}`, so this needs a \
                     custom listing.",
                    code_list(&missing),
                    if missing.len() == 1 { "it" } else { "them" },
                )
            } else {
                format!(
                    "Grant {}: change to a plan whose roles include {} — {}.",
                    code_list(&missing),
                    if missing.len() == 1 { "it" } else { "them" },
                    plan_names(plans)
                )
            }
        }
        Some(ReasonCode::InvalidArguments) => {
            let problems = meta.strings("argument_errors");
            format!(
                "Call again with arguments that match the tool's input schema{}",
                if problems.is_empty() {
                    ".".to_owned()
                } else {
                    format!(": {}.", problems.join("; "))
                }
            )
        }
        Some(ReasonCode::Precondition(code)) => {
            let pre = tref
                .as_ref()
                .and_then(|t| t.action)
                .and_then(|a| a.preconditions.iter().find(|p| &p.code == code));
            match pre {
                Some(pre) => precondition_fix(pre, meta.get("value")),
                None => format!("Meet the precondition whose refusal code is `{code}`."),
            }
        }
        // A built-in tool asked for a receipt past the chain: nothing about the entitlement.
        Some(ReasonCode::ReceiptNotFound) => "Name a receipt the tenant's chain holds: a seq \
                                              below its head, or an id `tai receipts show` \
                                              lists."
            .to_owned(),
        other => {
            let pack = tref.as_ref().map(|t| t.pack.pack_id.clone());
            entitlement_fix(catalog, other, pack.as_ref(), plans)
        }
    }
}

/// What a gate-1 refusal needs: a purchase, a reinstatement or a renewal.
fn entitlement_fix(
    catalog: &Catalog,
    reason: Option<&ReasonCode>,
    pack: Option<&crate::ids::PackId>,
    plans: &mut Vec<PlanOption>,
) -> String {
    match reason {
        Some(ReasonCode::EntitlementSuspended) => {
            "Reinstate the entitlement (an `entitlement.reinstated` event).".to_owned()
        }
        Some(ReasonCode::EntitlementExpired) => {
            "Renew the entitlement (an `entitlement.renewed` event) or buy a plan again.".to_owned()
        }
        Some(ReasonCode::NoEntitlement | ReasonCode::EntitlementCancelled) => {
            *plans = plans_where(catalog, |s| {
                pack.is_none_or(|p| s.enabled_packs.contains(p))
            });
            format!(
                "Buy a plan (an `entitlement.activated` event){}.",
                if plans.is_empty() {
                    String::new()
                } else {
                    format!(": {}", plan_names(plans))
                }
            )
        }
        _ => "Bring the tenant's entitlement back to active.".to_owned(),
    }
}

fn refusing_fix() -> String {
    "The governor is refusing: an accepted entitlement event that leaves the entitlement active \
     (a renewal, a reinstatement, a plan change or a new purchase) brings it back to stable."
        .to_owned()
}

/// What a precondition wants, and where the value may come from.
fn precondition_fix(pre: &Precondition, value: Option<&Value>) -> String {
    let key = &pre.key;
    let want = match &pre.check {
        Check::Present => format!("`{key}` must be set"),
        Check::Equals(v) => format!("`{key}` must be {v}"),
        Check::NotEquals(v) => format!("`{key}` must be anything but {v}"),
        Check::OneOf(vs) => {
            let items: Vec<String> = vs.iter().map(ToString::to_string).collect();
            format!("`{key}` must be one of {}", items.join(", "))
        }
        Check::AtLeast(n) => format!("`{key}` must be at least {n}"),
        Check::AtMost(n) => format!("`{key}` must be at most {n}"),
    };
    let now = match value.filter(|v| !v.is_null()) {
        Some(v) => format!("it is {v}"),
        None => "it is not set".to_owned(),
    };
    format!(
        "{want} ({now}). Pass it in the call's context, or record it as a tenant fact with a \
         signal."
    )
}

/// Why a tool was not found, and which plans have it.
fn not_found(
    catalog: &Catalog,
    tenant: &TenantId,
    tool: &str,
    plans: &mut Vec<PlanOption>,
) -> (String, String) {
    let Some(t) = catalog.tool(tool) else {
        let names = catalog
            .packs()
            .iter()
            .flat_map(|p| p.tools.iter().map(|t| t.name.as_str()));
        // The receipt does not say which tools the tenant saw, so a near name from the
        // catalog is offered as that, with its pack, not as something the tenant can call.
        let near = closest(tool, names)
            .and_then(|c| catalog.tool(c))
            .map(|c| {
                format!(
                    " The closest name in the catalog is `{}`, in the `{}` pack.",
                    c.tool.name, c.pack.pack_id
                )
            })
            .unwrap_or_default();
        return (
            format!("No pack in the catalog has a tool named `{tool}`."),
            format!(
                "Call one of the tenant's tools (`tai state --tenant {tenant}` lists them).{near}"
            ),
        );
    };
    let pack = &t.pack.pack_id;
    let roles: &[Role] = t.action.map(|a| a.roles.as_slice()).unwrap_or_default();
    *plans = plans_where(catalog, |s| {
        s.enabled_packs.contains(pack) && view::missing_roles(roles, &s.iam_roles).is_empty()
    });
    let visible = plans_where(catalog, |s| s.enabled_packs.contains(pack));
    let fix = if !plans.is_empty() {
        format!(
            "Change to a plan that enables `{pack}` and grants the roles `{tool}` needs — {}.",
            plan_names(plans)
        )
    } else if !visible.is_empty() {
        let names = plan_names(&visible);
        *plans = visible;
        format!(
            "Change to a plan that enables `{pack}` — {names} — though none grants every \
             role `{tool}` needs."
        )
    } else {
        format!("No plan in the catalog enables `{pack}`; it needs a custom listing.")
    };
    (
        format!("`{tool}` is in the `{pack}` pack, which the tenant's plan does not enable."),
        fix,
    )
}

/// What a refused entitlement event needed.
fn event_fix(catalog: &Catalog, reason: Option<&ReasonCode>, meta: &Meta) -> String {
    let sku = meta
        .get("event")
        .and_then(|e| e.get("sku_id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match reason {
        Some(ReasonCode::UnknownSku) => {
            let known = catalog.skus().iter().map(|s| s.sku_id.as_str());
            match closest(sku, known) {
                Some(c) => format!("Name a SKU the catalog has: did you mean `{c}`?"),
                None => "Name a SKU the catalog has.".to_owned(),
            }
        }
        Some(ReasonCode::RoleNotInSku | ReasonCode::PackNotInSku) => {
            "Ask for at most what the SKU includes: tai never escalates beyond a plan's packs \
             and roles."
                .to_owned()
        }
        Some(ReasonCode::PlanMismatch) => {
            "Send the plan id of the SKU, or leave `plan_id` out.".to_owned()
        }
        Some(ReasonCode::InvalidTransition) => {
            "Send a lifecycle event that applies to the entitlement's current status: buy when \
             there is none or it was cancelled, reinstate only a suspended one, change or renew \
             an active one."
                .to_owned()
        }
        Some(ReasonCode::ExpiryInPast) => "Give an expiry in the future.".to_owned(),
        Some(ReasonCode::MissingRequiredPack | ReasonCode::IncompatiblePacks) => {
            "Enable a set of packs whose dependencies are all present and that do not conflict."
                .to_owned()
        }
        Some(ReasonCode::EntitlementExpired) => {
            "Renew the entitlement (an `entitlement.renewed` event) or buy a plan again (an \
             `entitlement.activated` event): nothing else applies to an expired one."
                .to_owned()
        }
        Some(ReasonCode::EntitlementSuspended) => {
            "Reinstate the entitlement first (an `entitlement.reinstated` event).".to_owned()
        }
        Some(ReasonCode::NoEntitlement | ReasonCode::EntitlementCancelled) => {
            "Buy a plan first (an `entitlement.activated` event).".to_owned()
        }
        _ => "Send a well-formed event for a SKU in the catalog.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::catalog::{builtin, load};
    use crate::clock::{SimClock, Timestamp};
    use crate::engine::MemoryEngine;
    use crate::governor::{IdSource, Signal, ToolCall};
    use crate::ids::TenantId;

    fn engine() -> (MemoryEngine, TenantId) {
        let ws = MemoryEngine::new(
            Arc::new(load::build(&builtin::sources()).unwrap()),
            Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
            IdSource::seeded(3),
        );
        (ws, TenantId::new("acme").unwrap())
    }

    fn buy(ws: &mut MemoryEngine, kind: &str, sku: &str) -> Receipt {
        let out = ws
            .apply_event_json(&json!({"event_type": kind, "tenant_id": "acme", "sku_id": sku}))
            .unwrap();
        out.receipts.last().unwrap().clone()
    }

    fn call(ws: &mut MemoryEngine, t: &TenantId, tool: &str, args: Value) -> Explanation {
        let call = ToolCall {
            tool: tool.into(),
            arguments: args.as_object().cloned().unwrap_or_default(),
            ..ToolCall::default()
        };
        let out = ws.call(t, &call);
        explain(ws.catalog(), out.receipts.last().unwrap()).unwrap()
    }

    #[test]
    fn an_unknown_signal_and_an_andon_stop_say_what_would_pass() {
        let (mut ws, t) = engine();
        buy(
            &mut ws,
            "entitlement.activated",
            "rollback-guard-professional",
        );
        let name = |n: &str| Signal {
            name: Some(crate::ids::SignalName::new(n).unwrap()),
            ..Signal::default()
        };
        let out = ws.signal(&t, &name("rollback_faild"));
        let e = explain(ws.catalog(), out.receipts.last().unwrap()).unwrap();
        assert!(
            e.why.contains("did you mean `rollback_failed`?"),
            "{}",
            e.why
        );
        assert!(e.fix.contains("declares"), "{}", e.fix);
        ws.signal(&t, &name("rollback_failed"));
        let e = call(
            &mut ws,
            &t,
            "ac_rollback_status",
            json!({ "deployment": "x" }),
        );
        assert_eq!(e.reason, Some(ReasonCode::AndonStopped));
        assert!(e.fix.contains("Andon `rollback_failed`"), "{}", e.fix);
    }

    #[test]
    fn nothing_to_explain_for_what_went_through() {
        let (mut ws, _) = engine();
        let r = buy(&mut ws, "entitlement.activated", "rollback-guard-base");
        assert!(explain(ws.catalog(), &r).is_none());
    }

    #[test]
    fn each_refusal_names_its_gate_and_what_would_pass_it() {
        let (mut ws, t) = engine();
        buy(&mut ws, "entitlement.activated", "rollback-guard-base");

        let e = call(&mut ws, &t, "ac_receipt_verify", json!({}));
        assert_eq!(e.reason, Some(ReasonCode::GovernorNotReady));
        assert!(e.gate.is_none());
        assert!(e.fix.starts_with("Send a signal"), "{}", e.fix);

        ws.signal(&t, &Signal::default());
        let e = call(&mut ws, &t, "ac_audit_trail_export", json!({}));
        assert_eq!(e.gate, Some(Gate::Iam));
        assert_eq!(
            e.gate_label.as_deref(),
            Some("Gate 2 of 3 · IAM roles held")
        );
        assert!(e.fix.contains("`read_audit_trail`"), "{}", e.fix);
        let plans: Vec<&str> = e.plans.iter().map(|p| p.sku_id.as_str()).collect();
        assert!(plans.contains(&"governance-suite-enterprise"), "{plans:?}");
        assert!(!plans.contains(&"rollback-guard-base"), "{plans:?}");

        let e = call(&mut ws, &t, "ac_rollback_orchestrator", json!({}));
        assert_eq!(e.event_type, EventType::ToolNotFound);
        assert!(e.why.contains("`rollback_guard`"), "{}", e.why);
        assert_eq!(e.plans[0].sku_id.as_str(), "rollback-guard-professional");

        buy(
            &mut ws,
            "entitlement.plan_changed",
            "rollback-guard-professional",
        );
        let e = call(
            &mut ws,
            &t,
            "ac_rollback_orchestrator",
            json!({"deployment": "checkout-api"}),
        );
        assert_eq!(e.gate, Some(Gate::Preconditions));
        assert_eq!(
            e.reason.as_ref().map(ReasonCode::as_str),
            Some("deployment_not_stable")
        );
        assert!(
            e.fix
                .starts_with("`deployment_stable` must be true (it is not set)"),
            "{}",
            e.fix
        );

        let e = call(&mut ws, &t, "ac_rollback_orchestrator", json!({}));
        assert_eq!(e.reason, Some(ReasonCode::InvalidArguments));
        assert!(
            e.fix.contains("\"deployment\" is a required property"),
            "{}",
            e.fix
        );

        buy(
            &mut ws,
            "entitlement.suspended",
            "rollback-guard-professional",
        );
        let e = call(&mut ws, &t, "ac_receipt_verify", json!({}));
        assert_eq!(e.gate, Some(Gate::Entitlement));
        assert!(e.fix.contains("entitlement.reinstated"), "{}", e.fix);
    }

    #[test]
    fn refused_events_and_unknown_tools_suggest_the_nearest_name() {
        let (mut ws, t) = engine();
        let r = buy(&mut ws, "entitlement.activated", "rollback-guard-bse");
        let e = explain(ws.catalog(), &r).unwrap();
        assert_eq!(e.reason, Some(ReasonCode::UnknownSku));
        assert!(e.fix.contains("`rollback-guard-base`"), "{}", e.fix);

        buy(&mut ws, "entitlement.activated", "rollback-guard-base");
        ws.signal(&t, &Signal::default());
        let e = call(&mut ws, &t, "ac_receipt_verfy", json!({}));
        assert!(e.fix.contains("`ac_receipt_verify`"), "{}", e.fix);
    }
}
