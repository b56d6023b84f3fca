//! Tests of one tenant's governor, read off its receipts and outcomes: every row of the state
//! table, the order the gates refuse in, least privilege, and replay.

use serde_json::{Map, Value, json};

use super::*;
use crate::catalog::{Catalog, Pack, Sku};
use crate::clock::Timestamp;
use crate::entitlement::{EntitlementEvent, EventKind};
use crate::ids::{IdempotencyKey, RefusalCode, Role, SkuId, TenantId};
use crate::receipts::Receipt;
use crate::vocab::EventType;

use GovernorState::{Boot, Intervening, Refusing, Stable};

/// One pack: `look` needs `viewer`; `change` needs `viewer` and `writer`, integer arguments
/// and an approval; `slow` always overruns its pack's 1 s timeout.
fn catalog() -> Catalog {
    let pack: Pack = serde_json::from_value(json!({
        "pack_id": "ops",
        "version": "1.0.0",
        "description": "operations",
        "compute_limits": { "timeout_ms": 1000 },
        "actions": [
            { "id": "read", "roles": ["viewer"] },
            {
                "id": "write",
                "roles": ["viewer", "writer"],
                "preconditions": [{
                    "key": "approved",
                    "check": { "equals": true },
                    "code": "change_not_approved",
                    "message": "the change is not approved"
                }]
            }
        ],
        "tools": [
            {
                "name": "look",
                "description": "look",
                "action": "read",
                "handler": { "kind": "simulated", "result": { "seen": 1 } }
            },
            {
                "name": "change",
                "description": "change",
                "action": "write",
                "input_schema": {
                    "type": "object",
                    "properties": { "to": { "type": "integer" } },
                    "additionalProperties": false
                },
                "handler": { "kind": "simulated", "result": { "changed": true } }
            },
            {
                "name": "slow",
                "description": "slow",
                "action": "read",
                "handler": { "kind": "simulated", "result": {}, "duration_ms": 5000 }
            }
        ]
    }))
    .unwrap();
    let sku: Sku = serde_json::from_value(json!({
        "sku_id": "ops-pro",
        "plan_id": "pro",
        "title": "Ops",
        "price": { "amount": 0 },
        "enabled_packs": ["ops"],
        "iam_roles": ["viewer", "writer"]
    }))
    .unwrap();
    Catalog::new(vec![pack], vec![sku])
}

/// No tenant has receipts to read: these tests use no built-in tool.
pub(super) static NO_CHAINS: std::collections::BTreeMap<TenantId, Vec<crate::receipts::Receipt>> =
    std::collections::BTreeMap::new();
pub(super) static NO_EVIDENCE: crate::receipts::InMemory<'static> =
    crate::receipts::InMemory(&NO_CHAINS);

/// What a tenant runs against: a catalog, a fixed now and seeded ids.
pub(super) struct World {
    catalog: Catalog,
    now: Timestamp,
    ids: IdSource,
}

impl World {
    pub(super) fn new() -> Self {
        World {
            catalog: catalog(),
            now: Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
            ids: IdSource::seeded(3),
        }
    }

    pub(super) fn env(&self) -> Env<'_> {
        Env {
            catalog: &self.catalog,
            now: self.now,
            ids: &self.ids,
            evidence: &NO_EVIDENCE,
            clean_up: None,
        }
    }

    /// A tenant in `boot` with an active `ops-pro` entitlement granting `roles` (all the
    /// SKU's when `None`).
    fn entitled(&self, roles: Option<&[&str]>) -> Tenant {
        let mut t = Tenant::new(TenantId::new("acme").unwrap());
        let out = t.apply_event(&self.env(), &activation(roles));
        assert!(out.accepted, "{out:?}");
        assert_eq!(t.state(), Boot);
        t
    }

    pub(super) fn stable(&self, roles: Option<&[&str]>) -> Tenant {
        let mut t = self.entitled(roles);
        t.signal(&self.env(), &Signal::default());
        assert_eq!(t.state(), Stable);
        t
    }

    pub(super) fn intervening(&self) -> Tenant {
        let mut t = self.stable(None);
        t.call(&self.env(), &call("slow", json!({}), json!({})));
        assert_eq!(t.state(), Intervening);
        t
    }

    fn refusing(&self) -> Tenant {
        let mut t = self.intervening();
        t.resolve_action(&self.env(), Resolution::Failed, None, None)
            .unwrap();
        assert_eq!(t.state(), Refusing);
        t
    }
}

pub(super) fn activation(roles: Option<&[&str]>) -> EntitlementEvent {
    let mut ev = EntitlementEvent::new(EventKind::Activated, TenantId::new("acme").unwrap());
    ev.sku_id = Some(SkuId::new("ops-pro").unwrap());
    ev.iam_roles = roles.map(|r| r.iter().map(|r| Role::new(*r).unwrap()).collect());
    ev
}

fn event(kind: EventKind) -> EntitlementEvent {
    EntitlementEvent::new(kind, TenantId::new("acme").unwrap())
}

/// A retry is the same request under the same key: the same tool, arguments, context and
/// principal (in any key order, with any wait). A key first used for another request is
/// refused without running anything or writing a receipt, before and after a replay.
#[test]
fn a_key_used_for_another_request_is_refused_not_answered_as_a_retry() {
    let w = World::new();
    let mut t = Tenant::new(TenantId::new("acme").unwrap());
    let mut chain = t.apply_event(&w.env(), &activation(None)).receipts;
    chain.extend(t.signal(&w.env(), &Signal::default()).receipts);
    let keyed = |arguments: Value, context: Value| ToolCall {
        idempotency_key: Some(IdempotencyKey::new("k").unwrap()),
        ..call("look", arguments, context)
    };
    let first = t.call(
        &w.env(),
        &keyed(json!({"a": 1, "b": 2}), json!({"x": true})),
    );
    assert_eq!(first.decision, Decision::Executed, "{first:?}");
    let seq = first.receipts[0].seq;
    chain.extend(first.receipts);
    let mut replayed = Tenant::replay(t.id().clone(), &chain).unwrap();
    for tenant in [&mut t, &mut replayed] {
        let mut same = keyed(json!({"b": 2, "a": 1}), json!({"x": true}));
        same.timeout_ms = Some(5);
        let retry = tenant.call(&w.env(), &same);
        assert_eq!(
            (retry.decision, retry.repeat_of),
            (Decision::Executed, Some(seq))
        );
        let others = [
            keyed(json!({"a": 1, "b": 3}), json!({"x": true})),
            keyed(json!({"a": 1, "b": 2}), json!({"x": false})),
            ToolCall {
                principal: Some(serde_json::from_value(json!("user:eve@acme.com")).unwrap()),
                ..keyed(json!({"a": 1, "b": 2}), json!({"x": true}))
            },
        ];
        for other in others {
            let out = tenant.call(&w.env(), &other);
            assert_eq!(out.decision, Decision::Refused, "{out:?}");
            assert_eq!(out.reason, Some(ReasonCode::IdempotencyKeyReused));
            assert_eq!(out.repeat_of, Some(seq));
            assert!(out.receipts.is_empty(), "{out:?}");
            assert!(
                out.message.contains("`k` was used for another request"),
                "{}",
                out.message
            );
        }
    }
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

pub(super) fn call(tool: &str, arguments: Value, context: Value) -> ToolCall {
    ToolCall {
        tool: tool.into(),
        arguments: object(arguments),
        context: object(context),
        idempotency_key: None,
        principal: None,
        timeout_ms: None,
    }
}

fn signal(facts: Value) -> Signal {
    Signal {
        name: None,
        facts: object(facts),
    }
}

/// The single receipt an operation wrote: `(from, to, event, reason)`.
pub(super) fn only(
    receipts: &[Receipt],
) -> (GovernorState, GovernorState, EventType, Option<String>) {
    assert_eq!(receipts.len(), 1, "one receipt per decision: {receipts:#?}");
    let b = &receipts[0].body;
    (
        b.state_from,
        b.state_to,
        b.event_type,
        b.reason.as_ref().map(ToString::to_string),
    )
}

pub(super) fn meta(receipts: &[Receipt], key: &str) -> Option<Value> {
    receipts.last().unwrap().body.metadata.get(key)
}

fn reason(code: &str) -> Option<String> {
    Some(code.to_owned())
}

// The state table, row by row.

#[test]
fn boot_signal_with_an_active_entitlement_goes_stable_and_records_facts() {
    let w = World::new();
    let mut t = w.entitled(None);
    let out = t.signal(&w.env(), &signal(json!({ "cpu": 45 })));
    assert_eq!(
        only(&out.receipts),
        (Boot, Stable, EventType::SignalProcessed, None)
    );
    assert_eq!((out.event, out.state), (EventType::SignalProcessed, Stable));
    assert_eq!(t.facts()["cpu"], json!(45));
}

#[test]
fn boot_signal_without_an_entitlement_goes_refusing() {
    let w = World::new();
    let mut t = Tenant::new(TenantId::new("acme").unwrap());
    let out = t.signal(&w.env(), &signal(json!({ "cpu": 45 })));
    assert_eq!(
        only(&out.receipts),
        (
            Boot,
            Refusing,
            EventType::SignalRefused,
            reason("no_entitlement")
        )
    );
    assert_eq!(meta(&out.receipts, "gate"), Some(json!("entitlement")));
    assert!(t.facts().is_empty(), "a refused signal records no facts");
}

#[test]
fn boot_call_is_refused_as_not_ready() {
    let w = World::new();
    let mut t = w.entitled(None);
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(
        only(&out.receipts),
        (
            Boot,
            Boot,
            EventType::ActionRefused,
            reason("governor_not_ready")
        )
    );
    assert_eq!((out.decision, out.gate), (Decision::Refused, None));
}

#[test]
fn stable_signal_is_processed() {
    let w = World::new();
    let mut t = w.stable(None);
    let out = t.signal(&w.env(), &signal(json!({ "approved": true })));
    assert_eq!(
        only(&out.receipts),
        (Stable, Stable, EventType::SignalProcessed, None)
    );
    assert_eq!(t.facts()["approved"], json!(true));
}

#[test]
fn stable_call_that_passes_the_gates_executes() {
    let w = World::new();
    let mut t = w.stable(None);
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(
        only(&out.receipts),
        (Stable, Stable, EventType::ActionExecuted, None)
    );
    assert_eq!(out.decision, Decision::Executed);
    assert_eq!(out.result, Some(json!({ "seen": 1 })));
    assert_eq!(meta(&out.receipts, "result"), Some(json!({ "seen": 1 })));
}

#[test]
fn stable_call_that_overruns_its_bound_intervenes() {
    let w = World::new();
    let mut t = w.stable(None);
    let out = t.call(&w.env(), &call("slow", json!({}), json!({})));
    assert_eq!(
        only(&out.receipts),
        (
            Stable,
            Intervening,
            EventType::ActionTimeout,
            reason("timeout")
        )
    );
    assert_eq!((out.decision, out.state), (Decision::Failed, Intervening));
    assert_eq!(t.in_flight().unwrap().tool.as_str(), "slow");
    assert_eq!(
        meta(&out.receipts, "in_flight").unwrap()["tool"],
        json!("slow")
    );
}

#[test]
fn intervening_postpones_signals_and_refuses_calls() {
    let w = World::new();
    let mut t = w.intervening();
    let out = t.signal(&w.env(), &signal(json!({ "cpu": 1 })));
    assert_eq!(
        only(&out.receipts),
        (Intervening, Intervening, EventType::SignalPostponed, None)
    );
    assert!(t.facts().is_empty(), "a postponed signal records no facts");
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(
        only(&out.receipts),
        (
            Intervening,
            Intervening,
            EventType::ActionRefused,
            reason("action_in_flight")
        )
    );
}

#[test]
fn intervening_resolves_complete_to_stable_and_failed_to_refusing() {
    let w = World::new();
    let mut t = w.intervening();
    let receipts = t
        .resolve_action(&w.env(), Resolution::Complete, None, Some("done"))
        .unwrap();
    assert_eq!(
        only(&receipts),
        (Intervening, Stable, EventType::ActionCompleted, None)
    );
    assert_eq!(meta(&receipts, "detail"), Some(json!("done")));
    assert!(t.in_flight().is_none());

    let mut t = w.intervening();
    let receipts = t
        .resolve_action(&w.env(), Resolution::Failed, None, None)
        .unwrap();
    assert_eq!(
        only(&receipts),
        (Intervening, Refusing, EventType::ActionFailed, None)
    );
}

#[test]
fn resolving_with_nothing_in_flight_changes_nothing() {
    let w = World::new();
    let mut t = w.stable(None);
    let before = t.clone();
    let err = t
        .resolve_action(&w.env(), Resolution::Complete, None, None)
        .unwrap_err();
    let Unresolvable::NothingInFlight(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.state, Stable);
    assert_eq!(t, before);
    assert_eq!(t.head(), before.head(), "nothing sealed");
}

#[test]
fn refusing_refuses_signals_and_calls() {
    let w = World::new();
    let mut t = w.refusing();
    let out = t.signal(&w.env(), &signal(json!({ "cpu": 1 })));
    assert_eq!(
        only(&out.receipts),
        (
            Refusing,
            Refusing,
            EventType::SignalRefused,
            reason("governor_refusing")
        )
    );
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(
        only(&out.receipts),
        (
            Refusing,
            Refusing,
            EventType::ActionRefused,
            reason("governor_refusing")
        )
    );
}

#[test]
fn refusing_recovers_through_an_entitlement_event_that_leaves_it_active() {
    let w = World::new();
    let mut t = w.refusing();
    let out = t.apply_event(&w.env(), &event(EventKind::Renewed));
    assert!(out.accepted);
    assert_eq!(
        only(&out.receipts),
        (Refusing, Stable, EventType::EntitlementRenewed, None)
    );
}

#[test]
fn a_tool_outside_the_surface_is_not_found_whatever_the_state() {
    let w = World::new();
    for mut t in [
        w.entitled(None),
        w.stable(None),
        w.intervening(),
        w.refusing(),
    ] {
        let state = t.state();
        let out = t.call(&w.env(), &call("nope", json!({}), json!({})));
        assert_eq!(
            only(&out.receipts),
            (
                state,
                state,
                EventType::ToolNotFound,
                reason("tool_not_found")
            )
        );
        assert_eq!(out.decision, Decision::ToolNotFound);
    }
}

// The gates.

#[test]
fn gates_refuse_in_order_entitlement_then_iam_then_preconditions() {
    let w = World::new();
    // Fails all three gates: suspended, without `writer`, arguments wrong, not approved.
    let bad = call("change", json!({ "to": "x" }), json!({}));
    let mut t = w.stable(Some(&["viewer"]));
    assert!(
        t.apply_event(&w.env(), &event(EventKind::Suspended))
            .accepted
    );
    let gate_of = |t: &mut Tenant, c: &ToolCall| {
        let out = t.call(&w.env(), c);
        let (from, to, event, reason) = only(&out.receipts);
        assert_eq!(
            (from, to, event),
            (Stable, Stable, EventType::ActionRefused)
        );
        assert_eq!(
            meta(&out.receipts, "gate"),
            out.gate.map(|g| json!(g.as_str()))
        );
        (out.gate, reason)
    };
    assert_eq!(
        gate_of(&mut t, &bad),
        (Some(Gate::Entitlement), reason("entitlement_suspended"))
    );
    assert!(
        t.apply_event(&w.env(), &event(EventKind::Reinstated))
            .accepted
    );
    assert_eq!(
        gate_of(&mut t, &bad),
        (Some(Gate::Iam), reason("insufficient_privilege"))
    );
    let mut t = w.stable(None);
    assert_eq!(
        gate_of(&mut t, &bad),
        (Some(Gate::Preconditions), reason("invalid_arguments"))
    );
    let unapproved = call("change", json!({ "to": 2 }), json!({}));
    assert_eq!(
        gate_of(&mut t, &unapproved),
        (Some(Gate::Preconditions), reason("change_not_approved"))
    );
    let out = t.call(
        &w.env(),
        &call("change", json!({ "to": 2 }), json!({ "approved": true })),
    );
    assert_eq!(out.decision, Decision::Executed);
}

#[test]
fn a_precondition_reads_the_call_context_then_the_tenant_facts() {
    let w = World::new();
    let mut t = w.stable(None);
    t.signal(&w.env(), &signal(json!({ "approved": true })));
    let change = call("change", json!({ "to": 2 }), json!({}));
    assert_eq!(t.call(&w.env(), &change).decision, Decision::Executed);
    let vetoed = call("change", json!({ "to": 2 }), json!({ "approved": false }));
    let out = t.call(&w.env(), &vetoed);
    assert_eq!(
        out.reason,
        Some(ReasonCode::Precondition(
            RefusalCode::new("change_not_approved").unwrap()
        ))
    );
    assert_eq!(meta(&out.receipts, "value"), Some(json!(false)));
}

#[test]
fn least_privilege_a_role_the_sku_allows_but_the_entitlement_withholds_is_refused() {
    let w = World::new();
    let mut t = w.stable(Some(&["viewer"]));
    let out = t.call(
        &w.env(),
        &call("change", json!({ "to": 2 }), json!({ "approved": true })),
    );
    assert_eq!(
        (out.decision, out.gate, out.reason),
        (
            Decision::Refused,
            Some(Gate::Iam),
            Some(ReasonCode::InsufficientPrivilege)
        )
    );
    assert_eq!(
        meta(&out.receipts, "missing_roles"),
        Some(json!(["writer"]))
    );
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(
        out.decision,
        Decision::Executed,
        "the granted role suffices"
    );
}

#[test]
fn least_privilege_an_entitlement_never_grants_a_role_its_sku_does_not_allow() {
    let w = World::new();
    let mut t = Tenant::new(TenantId::new("acme").unwrap());
    let out = t.apply_event(&w.env(), &activation(Some(&["viewer", "admin"])));
    assert!(!out.accepted);
    assert_eq!(
        only(&out.receipts),
        (
            Boot,
            Boot,
            EventType::EntitlementUpdateRefused,
            reason("role_not_in_sku")
        )
    );
    assert!(t.entitlement().is_none() && t.tools().is_empty());
}

// Replay and determinism.

/// Every operation kind, from boot through intervening and back, with the receipts written.
fn history(w: &World) -> (Tenant, Vec<Receipt>, Vec<Tenant>) {
    let mut t = Tenant::new(TenantId::new("acme").unwrap());
    let env = w.env();
    let mut all = Vec::new();
    let mut snapshots = Vec::new();
    let mut keep = |t: &Tenant, receipts: Vec<Receipt>| {
        all.extend(receipts);
        snapshots.push(t.clone());
    };
    let out = t.apply_event(&env, &activation(Some(&["viewer"])));
    keep(&t, out.receipts);
    let out = t.signal(&env, &signal(json!({ "approved": true, "region": "eu" })));
    keep(&t, out.receipts);
    let out = t.call(&env, &call("look", json!({}), json!({})));
    keep(&t, out.receipts);
    let out = t.call(&env, &call("change", json!({ "to": 1 }), json!({})));
    keep(&t, out.receipts);
    let mut upgrade = event(EventKind::PlanChanged);
    upgrade.sku_id = Some(SkuId::new("ops-pro").unwrap());
    let out = t.apply_event(&env, &upgrade);
    keep(&t, out.receipts);
    let out = t.call(&env, &call("slow", json!({}), json!({})));
    keep(&t, out.receipts);
    let out = t.signal(&env, &signal(json!({ "late": true })));
    keep(&t, out.receipts);
    let receipts = t
        .resolve_action(&env, Resolution::Complete, None, None)
        .unwrap();
    keep(&t, receipts);
    let out = t.apply_event(&env, &event(EventKind::Suspended));
    keep(&t, out.receipts);
    let receipts = t.set_iam_policy(&env, Some(policy("user:ann@acme.com")));
    keep(&t, receipts);
    let receipts = t.set_iam_policy(&env, None);
    keep(&t, receipts);
    let receipts = t.set_iam_policy(&env, Some(policy("user:bo@acme.com")));
    keep(&t, receipts);
    (t, all, snapshots)
}

fn policy(viewer: &str) -> crate::iam::IamPolicy {
    serde_json::from_value(json!({ "bindings": [{ "role": "viewer", "members": [viewer] }] }))
        .unwrap()
}

fn as_principal(call: ToolCall, who: &str) -> ToolCall {
    ToolCall {
        principal: Some(crate::iam::Principal::parse(who).unwrap()),
        ..call
    }
}

#[test]
fn under_a_policy_gate_2_asks_the_bindings_and_never_escalates() {
    let w = World::new();
    let env = w.env();
    let mut t = w.stable(Some(&["viewer"]));
    let receipts = t.set_iam_policy(&env, Some(policy("user:ann@acme.com")));
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].body.event_type, EventType::IamPolicySet);
    assert_eq!(t.state(), Stable);
    assert_eq!(t.iam_policy().unwrap().seq, receipts[0].seq);

    let ann = t.call(
        &env,
        &as_principal(call("look", json!({}), json!({})), "user:ann@acme.com"),
    );
    assert_eq!(ann.decision, Decision::Executed, "{}", ann.message);
    let meta = ann.receipts[0].body.metadata.to_value();
    assert_eq!(meta["principal"], "user:ann@acme.com");
    assert_eq!(
        meta["iam_bindings"],
        json!([{ "role": "viewer", "binding": 0, "member": "user:ann@acme.com" }])
    );

    let bo = t.call(
        &env,
        &as_principal(call("look", json!({}), json!({})), "user:bo@acme.com"),
    );
    assert_eq!(
        (bo.gate, bo.reason.clone()),
        (Some(Gate::Iam), Some(ReasonCode::InsufficientPrivilege))
    );
    assert!(
        bo.message
            .contains("no binding grants role `viewer` to `user:bo@acme.com`"),
        "{}",
        bo.message
    );
    // Gate 2 still comes after gate 1 and before gate 3.
    let unapproved = t.call(
        &env,
        &as_principal(call("change", json!({}), json!({})), "user:ann@acme.com"),
    );
    assert_eq!(unapproved.gate, Some(Gate::Iam));
    let meta = unapproved.receipts[0].body.metadata.to_value();
    assert_eq!(
        meta["iam_denials"],
        json!([{ "role": "writer", "why": "not_in_plan" }])
    );

    // Cleared: whoever calls holds the plan's roles, as without a policy.
    t.set_iam_policy(&env, None);
    assert!(t.iam_policy().is_none());
    let anyone = t.call(&env, &call("look", json!({}), json!({})));
    assert_eq!(anyone.decision, Decision::Executed);
}

#[test]
fn replay_rebuilds_the_tenant_its_receipts_came_from() {
    let w = World::new();
    let (t, receipts, snapshots) = history(&w);
    assert_eq!(
        Tenant::replay(t.id().clone(), &receipts).unwrap(),
        t,
        "the whole chain"
    );
    for snapshot in snapshots {
        let upto = usize::try_from(snapshot.head().next_seq).unwrap();
        let rebuilt = Tenant::replay(t.id().clone(), &receipts[..upto]).unwrap();
        assert_eq!(rebuilt, snapshot, "after {upto} receipts");
        assert_eq!(rebuilt.in_flight(), snapshot.in_flight());
    }
}

#[test]
fn replay_refuses_a_broken_chain_or_another_tenants_receipts() {
    let w = World::new();
    let (t, mut receipts, _) = history(&w);
    let other = TenantId::new("globex").unwrap();
    let err = Tenant::replay(other, &receipts).unwrap_err();
    assert_eq!(err.seq, 0);
    receipts[2].body.metadata = json!({ "forged": true }).into();
    let err = Tenant::replay(t.id().clone(), &receipts).unwrap_err();
    assert_eq!(err.seq, 2);
    assert!(err.problem.contains("chain is broken"), "{err}");
}

#[test]
fn the_same_operations_under_the_same_clock_and_seed_write_the_same_bytes() {
    let lines =
        |receipts: &[Receipt]| -> Vec<Vec<u8>> { receipts.iter().map(Receipt::to_line).collect() };
    let (_, first, _) = history(&World::new());
    let (_, second, _) = history(&World::new());
    assert_eq!(lines(&first), lines(&second));
}

#[test]
fn a_tenant_remembers_the_most_recent_idempotency_keys_only() {
    let w = World::new();
    let mut t = Tenant::new(TenantId::new("acme").unwrap());
    let mut chain = t.apply_event(&w.env(), &activation(None)).receipts;
    chain.extend(t.signal(&w.env(), &Signal::default()).receipts);
    let keyed = |k: usize| ToolCall {
        idempotency_key: Some(IdempotencyKey::new(format!("k-{k}")).unwrap()),
        ..call("look", json!({}), json!({}))
    };
    let first = t.call(&w.env(), &keyed(0));
    assert_eq!(first.decision, Decision::Executed, "{first:?}");
    assert_eq!(
        t.call(&w.env(), &keyed(0)).repeat_of,
        Some(first.receipts[0].seq)
    );
    chain.extend(first.receipts);
    for k in 1..=SEEN_PER_TENANT {
        chain.extend(t.call(&w.env(), &keyed(k)).receipts);
    }
    // The most recent keys are remembered, the same after a replay of the chain.
    let mut replayed = Tenant::replay(t.id().clone(), &chain).unwrap();
    for tenant in [&mut t, &mut replayed] {
        for k in [1, SEEN_PER_TENANT / 2, SEEN_PER_TENANT] {
            let out = tenant.call(&w.env(), &keyed(k));
            assert!(out.repeat_of.is_some(), "k-{k} was forgotten");
        }
    }
    // The oldest is forgotten: the same key is a new call now.
    let again = t.call(&w.env(), &keyed(0));
    assert_eq!(again.repeat_of, None);
    assert_eq!(again.decision, Decision::Executed);
    assert_eq!(again.receipts.len(), 1);
}
