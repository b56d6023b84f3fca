//! Tests of the vocabulary: every name round-trips through serde, `as_str` and `FromStr`, and
//! `ALL` is every variant in declaration order.

use std::fmt::{Debug, Display};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;

/// The names serde gives `T`'s variants, read from its JSON schema, which schemars derives
/// from the enum declaration itself rather than from `ALL`.
fn schema_names<T: schemars::JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T).to_value();
    let names: Vec<String> = match (&schema["enum"], &schema["oneOf"]) {
        (Value::Array(names), _) => names.iter().map(|n| n.as_str().unwrap().into()).collect(),
        (_, Value::Array(variants)) => variants
            .iter()
            .map(|v| v["const"].as_str().unwrap().into())
            .collect(),
        _ => panic!("not a string enum: {schema}"),
    };
    assert!(!names.is_empty());
    names
}

/// Every variant of `all` round-trips through serde, `as_str`, `FromStr` and `Display`, and
/// `all` is every variant of `T`, in declaration order.
pub(crate) fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str)
where
    T: Copy + Debug + PartialEq + Display + Serialize + DeserializeOwned + schemars::JsonSchema,
    T: FromStr<Err = UnknownName>,
{
    for &v in all {
        let name = as_str(v);
        assert_eq!(serde_json::to_value(v).unwrap(), json!(name), "{v:?}");
        assert_eq!(serde_json::from_value::<T>(json!(name)).unwrap(), v);
        assert_eq!(name.parse::<T>().unwrap(), v);
        assert_eq!(v.to_string(), name);
    }
    let names: Vec<String> = all.iter().map(|&v| as_str(v).to_owned()).collect();
    assert_eq!(names, schema_names::<T>(), "ALL is every variant, in order");
    let err = "no_such_name".parse::<T>().unwrap_err();
    assert_eq!(err.name, "no_such_name");
    assert_eq!(err.known, names);
    assert!(serde_json::from_value::<T>(json!("no_such_name")).is_err());
}

#[test]
fn every_closed_vocabulary_round_trips_and_all_is_complete() {
    round_trips(&GovernorState::ALL, GovernorState::as_str);
    round_trips(&Gate::ALL, Gate::as_str);
    round_trips(&Decision::ALL, Decision::as_str);
    round_trips(&EventType::ALL, EventType::as_str);
}

#[test]
fn all_follows_the_declared_order() {
    assert!(GovernorState::ALL.is_sorted());
    assert!(Gate::ALL.is_sorted());
    assert!(EventType::ALL.is_sorted());
    assert!(ReasonCode::BUILT_IN.is_sorted());
}

#[test]
fn reason_codes_round_trip() {
    let mut names = std::collections::BTreeSet::new();
    for code in ReasonCode::BUILT_IN {
        assert!(names.insert(code.to_string()), "{code} twice");
        assert_eq!(ReasonCode::parse(code.as_str()).unwrap(), code);
        assert_eq!(code.as_str().parse::<ReasonCode>().unwrap(), code);
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(code.as_str()));
        assert_eq!(
            serde_json::from_value::<ReasonCode>(json!(code.as_str())).unwrap(),
            code
        );
        assert_eq!(code.to_string(), code.as_str());
    }
    assert_eq!(
        ReasonCode::parse("deployment_not_stable").unwrap().as_str(),
        "deployment_not_stable"
    );
    let pack = ReasonCode::parse("deployment_not_stable").unwrap();
    assert!(matches!(&pack, ReasonCode::Precondition(c) if c.as_str() == "deployment_not_stable"));
    assert_eq!(
        serde_json::to_value(&pack).unwrap(),
        json!("deployment_not_stable")
    );
    assert!(ReasonCode::parse("Not A Code").is_err());
    assert!(serde_json::from_value::<ReasonCode>(json!("Not A Code")).is_err());
}

#[test]
fn an_unknown_event_type_lists_the_known_ones() {
    let err = "nope".parse::<EventType>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown event type `nope`; known types: entitlement_activated, "),
        "{err}"
    );
}

#[test]
fn names_match_the_receipts_already_written() {
    // Receipt hashes cover these spellings: a rename breaks every stored chain.
    let names = |all: &[&str]| all.join(" ");
    assert_eq!(
        names(&GovernorState::ALL.map(GovernorState::as_str)),
        "boot stable intervening refusing"
    );
    assert_eq!(
        names(&Gate::ALL.map(Gate::as_str)),
        "entitlement iam preconditions"
    );
    assert_eq!(
        names(&Decision::ALL.map(Decision::as_str)),
        "executed refused tool_not_found failed"
    );
    assert_eq!(
        names(&EventType::ALL.map(EventType::as_str)),
        "entitlement_activated entitlement_updated entitlement_renewed entitlement_suspended \
         entitlement_reinstated entitlement_cancelled entitlement_expired \
         entitlement_update_refused tool_surface_changed signal_processed signal_refused \
         signal_postponed action_executed action_refused tool_not_found action_timeout \
         action_memory_exceeded action_errored action_completed action_failed \
         iam_policy_set ledger_tail_quarantined ledger_tail_adopted ledger_history_adopted action_started action_interrupted \
         andon_raised andon_cleared action_polled"
    );
    let reasons: Vec<&str> = ReasonCode::BUILT_IN
        .iter()
        .map(ReasonCode::as_str)
        .collect();
    assert_eq!(
        names(&reasons),
        "no_entitlement entitlement_expired entitlement_suspended entitlement_cancelled \
         insufficient_privilege governor_not_ready action_in_flight governor_refusing \
         tool_not_found invalid_arguments receipt_not_found idempotency_key_reused timeout \
         memory_exceeded output_limit_exceeded \
         action_error malformed_event event_id_reused unknown_sku unknown_pack plan_mismatch pack_not_in_sku \
         role_not_in_sku missing_required_pack incompatible_packs expiry_in_past \
         expiry_out_of_range invalid_transition marketplace_operation_failed ambiguous_plan \
         action_interrupted unknown_signal andon_stopped"
    );
}

#[test]
fn the_entitlement_changes_are_the_lifecycle_events() {
    let changes: Vec<&str> = EventType::ALL
        .into_iter()
        .filter(|e| e.changes_entitlement())
        .map(EventType::as_str)
        .collect();
    assert_eq!(
        changes,
        [
            "entitlement_activated",
            "entitlement_updated",
            "entitlement_renewed",
            "entitlement_suspended",
            "entitlement_reinstated",
            "entitlement_cancelled"
        ]
    );
}
