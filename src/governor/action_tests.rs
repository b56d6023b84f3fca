//! Action ids at one governor: every started action is named, resolutions name what they
//! resolve, and a stale or wrong id is refused with nothing written.

use serde_json::json;

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
