//! The governor seed's five execution examples, reproduced against the real engine: the same
//! observable states and receipt sequences.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::json;
use tai::clock::{SimClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::{EntitlementEvent, EventKind};
use tai::governor::{Decision, GovernorState, IdSource, Resolution, Signal, ToolCall};
use tai::ids::{SkuId, TenantId};
use tai::receipts::EventType;

use crate::common::{seed_catalog, tenant};

fn engine() -> MemoryEngine {
    let catalog = seed_catalog();
    let clock = Arc::new(SimClock::new(
        Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
    ));
    MemoryEngine::new(Arc::new(catalog), clock, IdSource::seeded(7))
}

/// A tenant with an active seed-demo entitlement, still in `boot`.
fn entitled(engine: &mut MemoryEngine, name: &str) -> TenantId {
    let t = tenant(name);
    let mut ev = EntitlementEvent::new(EventKind::Activated, t.clone());
    ev.sku_id = Some(SkuId::new("seed-demo").unwrap());
    assert!(engine.apply_event(&ev).accepted);
    t
}

fn signal(facts: serde_json::Value) -> Signal {
    Signal {
        name: None,
        facts: facts.as_object().unwrap().clone(),
    }
}

fn call(tool: &str) -> ToolCall {
    ToolCall {
        tool: tool.into(),
        ..ToolCall::default()
    }
}

fn events(engine: &MemoryEngine, t: &TenantId) -> Vec<(GovernorState, GovernorState, EventType)> {
    engine
        .receipts(t)
        .iter()
        .map(|r| (r.body.state_from, r.body.state_to, r.body.event_type))
        .collect()
}

use GovernorState::{Boot, Intervening, Refusing, Stable};

#[test]
fn example_1_signal_processing_flow() {
    let mut e = engine();
    let t = entitled(&mut e, "acme_corp");
    assert_eq!(e.tenant(&t).unwrap().state(), Boot);
    let first = e.signal(&t, &signal(json!({"metric": "cpu_usage", "value": 45})));
    assert_eq!(first.state, Stable);
    let r1 = first.receipts.last().unwrap();
    assert_eq!((r1.body.state_from, r1.body.state_to), (Boot, Stable));
    assert_eq!(r1.body.event_type, EventType::SignalProcessed);
    let second = e.signal(&t, &signal(json!({"metric": "memory_usage", "value": 72})));
    let r2 = second.receipts.last().unwrap();
    assert_eq!((r2.body.state_from, r2.body.state_to), (Stable, Stable));
    assert_eq!(e.tenant(&t).unwrap().state(), Stable);
}

#[test]
fn example_2_tool_call_success_path() {
    let mut e = engine();
    let t = entitled(&mut e, "beta_inc");
    e.signal(&t, &signal(json!({})));
    let mut c = call("query");
    c.arguments = json!({"table": "customers", "filter": {"active": true}})
        .as_object()
        .unwrap()
        .clone();
    let out = e.call(&t, &c);
    assert_eq!(out.decision, Decision::Executed);
    assert_eq!(out.result.as_ref().unwrap()["rows"], 42);
    let r = out.receipts.last().unwrap();
    assert_eq!(r.body.event_type, EventType::ActionExecuted);
    assert_eq!((r.body.state_from, r.body.state_to), (Stable, Stable));
    assert_eq!(r.body.metadata.to_value()["tool"], "query");
    assert_eq!(r.body.metadata.to_value()["result"]["status"], "success");
    assert_eq!(e.tenant(&t).unwrap().state(), Stable);
}

#[test]
fn example_3_timeout_escalation_and_recovery() {
    let mut e = engine();
    let t = entitled(&mut e, "gamma_ltd");
    e.signal(&t, &signal(json!({})));
    let out = e.call(&t, &call("timeout_test"));
    assert_eq!(out.decision, Decision::Failed);
    assert_eq!(out.reason.unwrap().as_str(), "timeout");
    assert_eq!(e.tenant(&t).unwrap().state(), Intervening);
    let postponed = e.signal(&t, &signal(json!({"type": "critical"})));
    let r = postponed.receipts.last().unwrap();
    assert_eq!(r.body.event_type, EventType::SignalPostponed);
    assert_eq!(
        (r.body.state_from, r.body.state_to),
        (Intervening, Intervening)
    );
    e.resolve_action(&t, Resolution::Complete, None, Some("recovered"))
        .unwrap();
    assert_eq!(e.tenant(&t).unwrap().state(), Stable);
    let again = e.signal(&t, &signal(json!({"type": "normal"})));
    assert_eq!(again.event, EventType::SignalProcessed);
    assert_eq!(again.state, Stable);
}

#[test]
fn example_4_entitlement_driven_recovery() {
    let mut e = engine();
    let t = entitled(&mut e, "delta_corp");
    e.signal(&t, &signal(json!({})));
    assert_eq!(e.call(&t, &call("timeout_test")).decision, Decision::Failed);
    e.resolve_action(&t, Resolution::Failed, None, Some("recovery_timeout"))
        .unwrap();
    assert_eq!(e.tenant(&t).unwrap().state(), Refusing);
    let refused = e.signal(&t, &signal(json!({"type": "test"})));
    assert_eq!(refused.event, EventType::SignalRefused);
    assert_eq!(refused.reason.unwrap().as_str(), "governor_refusing");
    let call_out = e.call(&t, &call("query"));
    assert_eq!(call_out.decision, Decision::Refused);
    assert_eq!(call_out.reason.unwrap().as_str(), "governor_refusing");
    // The entitlement changes (a renewal) while active: recovery.
    let renewed = e.apply_event(&EntitlementEvent::new(EventKind::Renewed, t.clone()));
    assert!(renewed.accepted);
    assert_eq!(renewed.receipts[0].body.state_from, Refusing);
    assert_eq!(renewed.receipts[0].body.state_to, Stable);
    assert_eq!(
        e.signal(&t, &signal(json!({"type": "normal"}))).state,
        Stable
    );
}

#[test]
fn example_5_audit_trail() {
    let mut e = engine();
    let t = entitled(&mut e, "epsilon_inc");
    e.signal(&t, &signal(json!({})));
    e.call(&t, &call("query"));
    e.signal(&t, &signal(json!({"type": "test"})));
    assert_eq!(
        events(&e, &t),
        vec![
            (Boot, Boot, EventType::EntitlementActivated),
            (Boot, Boot, EventType::ToolSurfaceChanged),
            (Boot, Stable, EventType::SignalProcessed),
            (Stable, Stable, EventType::ActionExecuted),
            (Stable, Stable, EventType::SignalProcessed),
        ]
    );
    let receipts = e.receipts(&t);
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert!(r.hash_is_valid());
        assert!(r.body.id.starts_with("rcpt_"));
        if i > 0 {
            assert_eq!(r.prev_hash, receipts[i - 1].hash);
        }
    }
}

#[test]
fn memory_overrun_escalates_to_intervening() {
    let mut e = engine();
    let t = entitled(&mut e, "zeta");
    e.signal(&t, &signal(json!({})));
    let out = e.call(&t, &call("memory_test"));
    assert_eq!(out.decision, Decision::Failed);
    assert_eq!(out.reason.unwrap().as_str(), "memory_exceeded");
    assert_eq!(
        out.receipts.last().unwrap().body.event_type,
        EventType::ActionMemoryExceeded
    );
    assert_eq!(out.state, Intervening);
    let refused = e.call(&t, &call("query"));
    assert_eq!(refused.reason.unwrap().as_str(), "action_in_flight");
}

#[test]
fn tenants_are_isolated() {
    let mut e = engine();
    let a = entitled(&mut e, "tenant_a");
    let b = tenant("tenant_b");
    e.signal(&a, &signal(json!({})));
    assert_eq!(e.tenant(&a).unwrap().state(), Stable);
    assert!(e.tenant(&b).is_none());
    let out = e.call(&b, &call("query"));
    assert_eq!(out.decision, Decision::ToolNotFound);
    assert_eq!(e.tenant(&b).unwrap().state(), Boot);
    assert!(e.receipts(&a).iter().all(|r| r.body.tenant_id == a));
    assert!(e.receipts(&b).iter().all(|r| r.body.tenant_id == b));
}
