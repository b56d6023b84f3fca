//! Action ids and actions that resolve themselves, as `tai` shows them: the id in `tai state`
//! and the receipts, `tai action … --action ID` refusing a wrong or stale id without writing
//! anything, and a rollback polled to completion as the clock moves between commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::common::{self, Run};

/// `tai --state STATE --now 2026-03-01T00:MM:00Z ARGS`.
fn at(state: &Path, minute: u32, args: &[&str]) -> Run {
    let now = format!("2026-03-01T00:{minute:02}:00Z");
    let mut all = vec!["--now", now.as_str()];
    all.extend_from_slice(args);
    common::tai_state(state, &all)
}

/// The shipped rollback of `checkout-api` as a canary, which overruns its bound.
fn canary(state: &Path, minute: u32) -> Run {
    let mut args = common::ROLLBACK_CALL.to_vec();
    args.extend(["--format", "json", "--arg", "strategy=canary"]);
    at(state, minute, &args)
}

fn state_json(state: &Path, minute: u32) -> serde_json::Value {
    at(
        state,
        minute,
        &["state", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json()
}

fn receipts(state: &Path) -> usize {
    state_json(state, 0)["receipts"].as_u64().unwrap() as usize
}

#[test]
fn an_action_id_is_shown_and_a_wrong_one_is_refused_without_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-professional", &[]);
    let out = canary(&state, 0).exits(5).json();
    let id = out["receipts"][0]["metadata"]["action_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("act_"), "{out}");
    assert_eq!(state_json(&state, 0)["in_flight"]["action_id"], id.as_str());
    at(&state, 0, &["state", "--tenant", "acme"])
        .ok()
        .has(&format!(
            "in flight   {id} ac_rollback_orchestrator (timeout)"
        ));

    let before = receipts(&state);
    at(
        &state,
        0,
        &[
            "action", "complete", "--tenant", "acme", "--action", "act_0000",
        ],
    )
    .exits(2)
    .errs("`act_0000` is not in flight")
    .errs(&id);
    assert_eq!(receipts(&state), before, "nothing written");

    let done = at(
        &state,
        0,
        &[
            "action", "complete", "--tenant", "acme", "--action", &id, "--format", "json",
        ],
    )
    .ok()
    .json();
    assert_eq!(done[0]["metadata"]["action_id"], id.as_str());
    assert_eq!(done[0]["metadata"]["resolved_by"], "report");

    at(
        &state,
        0,
        &["action", "fail", "--tenant", "acme", "--action", &id],
    )
    .exits(2)
    .errs("already resolved");
}

#[test]
fn a_rollback_is_polled_as_commands_move_the_clock_and_completes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-professional", &[]);
    canary(&state, 0).exits(5);
    // `tai state` only reads: time acts on the tenant at its next operation.
    assert_eq!(state_json(&state, 5)["state"], "intervening");
    let polled = at(
        &state,
        1,
        &["signal", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json();
    let events: Vec<&str> = polled["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["action_polled", "signal_postponed"], "{polled}");
    let view = state_json(&state, 1);
    assert_eq!(view["in_flight"]["polling"]["polls"], 1, "{view}");
    at(&state, 1, &["state", "--tenant", "acme"]).ok().has(
        "polling     ac_rollback_status: 1 poll(s) so far, next at 2026-03-01T00:02:00.000Z, fails at \
         2026-03-01T00:15:00.000Z",
    );
    at(&state, 2, &["signal", "--tenant", "acme"]).ok();
    at(&state, 3, &["signal", "--tenant", "acme"])
        .ok()
        .has("action_completed");
    assert_eq!(state_json(&state, 3)["state"], "stable");
    at(&state, 3, &["receipts", "verify", "--tenant", "acme"]).ok();
}
