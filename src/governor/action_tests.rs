//! Action ids at one governor: every started action is named, resolutions name what they
//! resolve, and a stale or wrong id is refused with nothing written.

use serde_json::{Value, json};

use super::tests::{World, activation, call, meta, only};
use super::*;
use crate::ids::ActionRunId;
use crate::vocab::EventType;

use GovernorState::{Intervening, Stable};

fn id(v: Option<serde_json::Value>) -> ActionRunId {
    serde_json::from_value(v.unwrap()).unwrap()
}

#[test]
fn an_overrun_names_its_action_and_the_resolution_names_it_again() {
    let w = World::new();
    let mut t = w.stable(None);
    let out = t.call(&w.env(), &call("slow", json!({}), json!({})));
    let action = id(meta(&out.receipts, "action_id"));
    assert!(action.as_str().starts_with("act_"), "{action}");
    assert_eq!(
        ActionRunId::of_receipt(&out.receipts[0].body.id),
        action,
        "named after the receipt that recorded its start"
    );
    assert_eq!(t.in_flight().unwrap().action_id, action);
    let in_flight = meta(&out.receipts, "in_flight").unwrap();
    assert_eq!(in_flight["action_id"], json!(action.as_str()));

    let receipts = t
        .resolve_action(&w.env(), Resolution::Complete, Some(&action), None)
        .unwrap();
    assert_eq!(
        only(&receipts),
        (Intervening, Stable, EventType::ActionCompleted, None)
    );
    assert_eq!(id(meta(&receipts, "action_id")), action);
    assert_eq!(meta(&receipts, "resolved_by"), Some(json!("report")));
}

#[test]
fn an_executed_action_is_named_too() {
    let w = World::new();
    let mut t = w.stable(None);
    let out = t.call(&w.env(), &call("look", json!({}), json!({})));
    assert_eq!(out.decision, Decision::Executed);
    assert!(meta(&out.receipts, "action_id").is_some());
}

#[test]
fn a_wrong_or_stale_id_is_refused_and_nothing_is_written() {
    let w = World::new();
    let mut t = w.intervening();
    let first = t.in_flight().unwrap().action_id.clone();
    let before = t.clone();
    let wrong = ActionRunId::new("act_0000").unwrap();
    let err = t
        .resolve_action(&w.env(), Resolution::Complete, Some(&wrong), None)
        .unwrap_err();
    assert_eq!(err.code(), "unknown_action");
    assert!(err.to_string().contains(first.as_str()), "{err}");
    assert_eq!(t, before, "nothing changed");

    // Resolved, then a second overrun: the first id is stale.
    t.resolve_action(&w.env(), Resolution::Complete, None, None)
        .unwrap();
    t.call(&w.env(), &call("slow", json!({}), json!({})));
    let second = t.in_flight().unwrap().action_id.clone();
    assert_ne!(first, second);
    let before = t.clone();
    let err = t
        .resolve_action(&w.env(), Resolution::Failed, Some(&first), None)
        .unwrap_err();
    assert_eq!(err.code(), "action_already_resolved");
    assert!(err.to_string().contains(second.as_str()), "{err}");
    assert_eq!(t, before, "nothing changed");
}

#[test]
fn replay_rebuilds_the_action_in_flight_and_those_resolved() {
    let w = World::new();
    let env = w.env();
    let mut t = Tenant::new(crate::ids::TenantId::new("acme").unwrap());
    let mut all = t.apply_event(&env, &activation(None)).receipts;
    all.extend(t.signal(&env, &Signal::default()).receipts);
    all.extend(t.call(&env, &call("slow", json!({}), json!({}))).receipts);
    all.extend(
        t.resolve_action(&env, Resolution::Complete, None, None)
            .unwrap(),
    );
    all.extend(t.call(&env, &call("slow", json!({}), json!({}))).receipts);
    let replayed = Tenant::replay(t.id().clone(), &all).unwrap();
    assert_eq!(replayed, t);
    assert_eq!(replayed.in_flight(), t.in_flight());
    assert_eq!(replayed.resolved.len(), 1);
}

/// `slow` overruns its 1 s bound and resolves itself: `status` is polled every 10 s, reports
/// `busy` then `done` (or, for `x: stuck`, `busy` forever), and the deadline is 60 s.
fn polled_catalog() -> crate::catalog::Catalog {
    let pack: crate::catalog::Pack = serde_json::from_value(json!({
        "pack_id": "ops",
        "version": "1.0.0",
        "description": "operations",
        "compute_limits": { "timeout_ms": 1000 },
        "actions": [
            { "id": "run", "resolve": {
                "status_tool": "status", "every_ms": 10000, "deadline_ms": 60000,
                "done_when": { "s": "done" }, "failed_when": { "s": "failed" } } },
            { "id": "read" }
        ],
        "tools": [
            { "name": "slow", "description": "slow", "action": "run",
              "handler": { "kind": "simulated", "duration_ms": 5000 } },
            { "name": "status", "description": "status", "action": "read",
              "input_schema": { "type": "object", "properties": { "x": {} } },
              "handler": { "kind": "simulated", "result": { "s": "idle" },
                           "sequence": [{ "s": "busy" }, { "s": "done" }],
                           "cases": [{ "when": { "x": "stuck" }, "sequence": [{ "s": "busy" }] }] } }
        ]
    }))
    .unwrap();
    let sku: crate::catalog::Sku = serde_json::from_value(json!({
        "sku_id": "ops-pro", "plan_id": "pro", "title": "Ops", "price": { "amount": 0 },
        "enabled_packs": ["ops"], "iam_roles": []
    }))
    .unwrap();
    crate::catalog::Catalog::new(vec![pack], vec![sku])
}

fn events(receipts: &[crate::receipts::Receipt]) -> Vec<EventType> {
    receipts.iter().map(|r| r.body.event_type).collect()
}

#[test]
fn an_action_that_resolves_itself_is_polled_as_time_passes_then_completed() {
    let catalog = polled_catalog();
    let ids = IdSource::seeded(3);
    let start = crate::clock::Timestamp::parse("2026-01-10T00:00:00Z").unwrap();
    let env = |secs: u64| Env {
        catalog: &catalog,
        now: start.plus(std::time::Duration::from_secs(secs)),
        ids: &ids,
        evidence: &super::tests::NO_EVIDENCE,
        clean_up: None,
    };
    let mut t = Tenant::new(crate::ids::TenantId::new("acme").unwrap());
    t.apply_event(&env(0), &activation(None));
    t.signal(&env(0), &Signal::default());
    t.call(
        &env(0),
        &call("slow", json!({ "x": "a", "y": 1 }), json!({})),
    );
    let polling = t.in_flight().unwrap().polling.clone().unwrap();
    assert_eq!(Value::Object(polling.arguments), json!({ "x": "a" }));
    assert_eq!(t.next_poll_at(), Some(env(10).now));

    assert!(t.tick(&env(9)).is_empty(), "not due yet");
    let first = t.tick(&env(10));
    assert_eq!(events(&first), [EventType::ActionPolled]);
    assert_eq!(meta(&first, "verdict"), Some(json!("pending")));
    // A tick polls at most once, however late: the next is an interval after it.
    assert!(t.tick(&env(15)).is_empty());
    let second = t.tick(&env(40));
    assert_eq!(
        events(&second),
        [EventType::ActionPolled, EventType::ActionCompleted]
    );
    assert_eq!(t.state(), Stable);
    let by = meta(&second, "resolved_by").unwrap();
    assert_eq!(by["poll"]["seq"], json!(second[0].seq));
    assert_eq!(by["poll"]["result"], json!({ "s": "done" }));
    assert_eq!(t.next_poll_at(), None);

    // Stuck: polled, then failed at the deadline without another poll.
    t.call(&env(100), &call("slow", json!({ "x": "stuck" }), json!({})));
    assert_eq!(events(&t.tick(&env(110))), [EventType::ActionPolled]);
    let late = t.tick(&env(160));
    assert_eq!(events(&late), [EventType::ActionFailed]);
    assert_eq!(t.state(), GovernorState::Refusing);
    assert_eq!(
        meta(&late, "resolved_by"),
        Some(json!({ "deadline": { "at": env(160).now, "polls": 1 } }))
    );
}
