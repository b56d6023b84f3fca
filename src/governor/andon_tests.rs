//! Declared signals, the Andon cord and domain events at one governor.

use serde_json::json;

use super::*;
use crate::catalog::{Catalog, Pack, Sku};
use crate::clock::Timestamp;
use crate::entitlement::{EntitlementEvent, EventKind};
use crate::ids::{SignalName, SkuId, TenantId};
use crate::receipts::Receipt;
use crate::vocab::EventType;

fn pack(id: &str, tool: &str, signals: serde_json::Value) -> Pack {
    serde_json::from_value(json!({
        "pack_id": id,
        "version": "1.0.0",
        "description": id,
        "signals": signals,
        "receipt_events": ["run_started", "run_done", "run_late", "run_refused"],
        "actions": [{
            "id": "run",
            "emits": { "started": "run_started", "completed": "run_done",
                       "timeout": "run_late", "refused": "run_refused" },
            "preconditions": [{ "key": "ok", "check": { "equals": true }, "default": true,
                                "code": "not_ok", "message": "not ok" }],
            "compute_limits": { "timeout_ms": 1000 }
        }],
        "tools": [{
            "name": tool,
            "description": tool,
            "action": "run",
            "handler": { "kind": "simulated", "result": {},
                         "cases": [{ "when": { "slow": true }, "duration_ms": 5000 }] }
        }]
    }))
    .unwrap()
}

fn catalog() -> Catalog {
    let line = pack(
        "line",
        "line_run",
        json!(["line_ok", { "name": "line_broken", "andon": "critical" },
               { "name": "line_wobbly", "andon": "warning" }]),
    );
    let other = pack("other", "other_run", json!(["other_ok"]));
    let sku: Sku = serde_json::from_value(json!({
        "sku_id": "both", "plan_id": "both", "title": "Both", "price": { "amount": 0 },
        "enabled_packs": ["line", "other"]
    }))
    .unwrap();
    Catalog::new(vec![line, other], vec![sku])
}

struct World {
    catalog: Catalog,
    ids: IdSource,
    now: Timestamp,
}

impl World {
    fn new() -> World {
        World {
            catalog: catalog(),
            ids: IdSource::seeded(5),
            now: Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            catalog: &self.catalog,
            now: self.now,
            ids: &self.ids,
            evidence: &super::tests::NO_EVIDENCE,
            clean_up: None,
        }
    }

    /// An entitled tenant in boot, and the receipts it wrote.
    fn entitled(&self) -> (Tenant, Vec<Receipt>) {
        let mut t = Tenant::new(TenantId::new("acme").unwrap());
        let mut ev = EntitlementEvent::new(EventKind::Activated, t.id().clone());
        ev.sku_id = Some(SkuId::new("both").unwrap());
        let out = t.apply_event(&self.env(), &ev);
        assert!(out.accepted, "{out:?}");
        (t, out.receipts)
    }
}

fn named(name: &str) -> Signal {
    Signal {
        name: Some(SignalName::new(name).unwrap()),
        facts: serde_json::Map::new(),
    }
}

fn call(tool: &str, slow: bool) -> ToolCall {
    ToolCall {
        tool: tool.into(),
        arguments: json!({ "slow": slow }).as_object().unwrap().clone(),
        ..ToolCall::default()
    }
}

fn domain_events(r: &Receipt) -> serde_json::Value {
    r.body.metadata.to_value()["domain_events"].clone()
}

#[test]
fn an_undeclared_signal_is_refused_with_a_suggestion_and_changes_nothing() {
    let w = World::new();
    let (mut t, _) = w.entitled();
    let mut typo = named("line_brokn");
    typo.facts.insert("x".into(), json!(1));
    let out = t.signal(&w.env(), &typo);
    assert_eq!(out.event, EventType::SignalRefused);
    assert_eq!(out.reason, Some(ReasonCode::UnknownSignal));
    assert_eq!(
        out.state,
        GovernorState::Boot,
        "a typo does not boot the governor"
    );
    let message = out.message.unwrap();
    assert!(message.contains("did you mean `line_broken`?"), "{message}");
    assert!(t.facts().is_empty());
    // A bare signal and a declared one are processed.
    assert_eq!(
        t.signal(&w.env(), &Signal::default()).event,
        EventType::SignalProcessed
    );
    assert_eq!(
        t.signal(&w.env(), &named("other_ok")).event,
        EventType::SignalProcessed
    );
}

#[test]
fn a_critical_andon_stops_only_its_packs_until_cleared_and_replays() {
    let w = World::new();
    let (mut t, mut all) = w.entitled();
    let raised = t.signal(&w.env(), &named("line_broken"));
    assert_eq!(raised.event, EventType::AndonRaised);
    assert_eq!(raised.state, GovernorState::Stable);
    let seq = raised.receipts[0].seq;
    all.extend(raised.receipts);
    assert_eq!(t.andon().len(), 1);
    let line = crate::ids::PackId::new("line").unwrap();
    assert_eq!(t.stopped_by(&line).map(|s| s.seq), Some(seq));

    let refused = t.call(&w.env(), &call("line_run", false));
    assert_eq!(refused.decision, Decision::Refused);
    assert_eq!(refused.reason, Some(ReasonCode::AndonStopped));
    assert_eq!(refused.gate, None);
    assert!(
        refused.message.contains("`line_broken`"),
        "{}",
        refused.message
    );
    all.extend(refused.receipts);
    let other = t.call(&w.env(), &call("other_run", false));
    assert_eq!(other.decision, Decision::Executed);
    all.extend(other.receipts);
    assert_eq!(Tenant::replay(t.id().clone(), &all).unwrap(), t);

    let cleared = t
        .clear_andon(
            &w.env(),
            &SignalName::new("line_broken").unwrap(),
            &Acknowledgement {
                principal: Some("user:oncall@acme.com".parse().unwrap()),
                note: Some("fixed".into()),
            },
        )
        .unwrap();
    assert_eq!(cleared[0].body.event_type, EventType::AndonCleared);
    // The receipt says who looked, and what they found.
    let meta = cleared[0].body.metadata.to_value();
    assert_eq!(meta["principal"], "user:oncall@acme.com");
    assert_eq!(meta["note"], "fixed");
    all.extend(cleared);
    assert!(t.andon().is_empty());
    assert_eq!(Tenant::replay(t.id().clone(), &all).unwrap(), t);
    assert_eq!(
        t.call(&w.env(), &call("line_run", false)).decision,
        Decision::Executed
    );
}

#[test]
fn a_warning_andon_is_recorded_and_stops_nothing() {
    let w = World::new();
    let (mut t, _) = w.entitled();
    t.signal(&w.env(), &Signal::default());
    let out = t.signal(&w.env(), &named("line_wobbly"));
    assert_eq!(out.event, EventType::AndonRaised);
    assert_eq!(
        out.receipts[0].body.metadata.to_value()["severity"],
        "warning"
    );
    assert!(t.andon().is_empty());
    assert_eq!(
        t.call(&w.env(), &call("line_run", false)).decision,
        Decision::Executed
    );
}

#[test]
fn clearing_an_andon_that_is_not_raised_writes_nothing() {
    let w = World::new();
    let (mut t, _) = w.entitled();
    let head = t.head().clone();
    let err = t
        .clear_andon(
            &w.env(),
            &SignalName::new("line_broken").unwrap(),
            &Acknowledgement::default(),
        )
        .unwrap_err();
    assert_eq!(err.signal.as_str(), "line_broken");
    assert_eq!(t.head(), &head);
}

#[test]
fn actions_record_the_domain_events_their_pack_declares() {
    let w = World::new();
    let (mut t, _) = w.entitled();
    t.signal(&w.env(), &Signal::default());
    let ran = t.call(&w.env(), &call("line_run", false));
    assert_eq!(
        domain_events(&ran.receipts[0]),
        json!(["run_started", "run_done"])
    );
    let mut refused = call("line_run", false);
    refused.context.insert("ok".into(), json!(false));
    let refused = t.call(&w.env(), &refused);
    assert_eq!(
        refused.reason.as_ref().map(ReasonCode::as_str),
        Some("not_ok")
    );
    assert_eq!(domain_events(&refused.receipts[0]), json!(["run_refused"]));
    let late = t.call(&w.env(), &call("line_run", true));
    assert_eq!(late.reason, Some(ReasonCode::Timeout));
    assert_eq!(
        domain_events(&late.receipts[0]),
        json!(["run_started", "run_late"])
    );
}

#[test]
fn the_state_table_has_the_andon_rows_when_the_catalog_declares_andons() {
    use GovernorState::{Boot, Intervening, Refusing, Stable};
    let all = possible_transitions(&catalog());
    let has = |from, to, event| all.contains(&Transition { from, to, event });
    assert!(has(Boot, Boot, EventType::SignalRefused));
    assert!(has(Boot, Stable, EventType::AndonRaised));
    assert!(has(Stable, Stable, EventType::AndonRaised));
    for s in [Stable, Intervening, Refusing] {
        assert!(has(s, s, EventType::AndonCleared));
    }
    let plain = Catalog::new(vec![pack("p", "p_run", json!(["a"]))], vec![]);
    assert!(
        !possible_transitions(&plain)
            .iter()
            .any(|t| t.event == EventType::AndonRaised || t.event == EventType::AndonCleared)
    );
}
