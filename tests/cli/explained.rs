//! `tai call` and `tai signal` put a refusal in words after the verdict: why, what would make
//! it pass, and which plans would — the same explanation as the web page and
//! `GET /v1/tenants/{t}/explain` — while JSON output stays the outcome alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{ROLLBACK_CALL, onboard_acme, tai_at as tai};

#[test]
fn a_call_refused_at_a_gate_says_what_would_make_it_pass() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-professional", &[]);
    let run = tai(
        &state,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--arg",
            "deployment=checkout-api",
        ],
    )
    .exits(3);
    run.has("refused at the preconditions gate: deployment_not_stable")
        .has("to pass: `deployment_stable` must be true (it is not set).");
    // The message was already printed on the verdict line: no "why" repeating it.
    assert!(!run.stdout.contains("why:"), "{}", run.stdout);
}

#[test]
fn a_tool_outside_the_plan_names_the_plans_that_unlock_it_with_their_prices() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let run = tai(&state, ROLLBACK_CALL).exits(4);
    run.has("tool_not_found: tool `ac_rollback_orchestrator` is not available to tenant `acme`")
        .has("why: `ac_rollback_orchestrator` is in the `rollback_guard` pack, which the tenant's plan does not enable.")
        .has("to pass: Change to a plan that enables `rollback_guard`")
        .has("plans: TAI Rollback Guard — Professional ($299.00/mo), TAI Governance Suite — Enterprise ($2,999.00/mo)");
}

#[test]
fn a_near_miss_among_the_tenants_tools_is_answered_by_the_suggestion_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let run = tai(&state, &["call", "ac_receipt_verfy", "--tenant", "acme"]).exits(4);
    run.has("did you mean `ac_receipt_verify`?");
    assert!(!run.stdout.contains("to pass:"), "{}", run.stdout);
}

#[test]
fn a_refused_signal_says_what_to_send_instead() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    tai(&state, &["signal", "--tenant", "acme", "--name", "bogus"])
        .exits(3)
        .has("signal_refused: unknown_signal")
        .has("to pass: Send a signal one of the tenant's enabled packs declares");
}

#[test]
fn json_output_is_the_outcome_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let args = [ROLLBACK_CALL, &["--format", "json"]].concat();
    let out = tai(&state, &args).exits(4).json();
    assert_eq!(out["decision"], "tool_not_found");
}

#[test]
fn a_misspelt_tool_outside_the_plan_is_not_offered_as_callable() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let run = tai(
        &state,
        &["call", "ac_rollback_orchestrater", "--tenant", "acme"],
    )
    .exits(4);
    run.has("why: No pack in the catalog has a tool named `ac_rollback_orchestrater`.")
        .has("to pass: Call one of the tenant's tools (`tai state --tenant acme` lists them). The closest name in the catalog is `ac_rollback_orchestrator`, in the `rollback_guard` pack.");
    assert!(!run.stdout.contains("did you mean"), "{}", run.stdout);
}

/// A built-in tool asked for a receipt the chain does not hold: the fix is about the receipt,
/// not the (active) entitlement.
#[test]
fn a_receipt_that_is_not_there_is_fixed_by_naming_one_that_is() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let run = tai(
        &state,
        &[
            "call",
            "ac_receipt_lookup",
            "--tenant",
            "acme",
            "--arg",
            "seq=999",
        ],
    )
    .exits(3);
    run.has("receipt_not_found")
        .has("to pass: Name a receipt the tenant's chain holds");
    assert!(!run.stdout.contains("entitlement"), "{}", run.stdout);
}

/// `tai state` puts every value in one column, the one after its widest label.
#[test]
fn the_state_view_lines_its_values_up() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    onboard_acme(&state, "rollback-guard-base", &[]);
    let run = tai(&state, &["state", "--tenant", "acme"]).ok();
    let lines: Vec<&str> = run.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("entitlement ")),
        "{}",
        run.stdout
    );
    let column = "entitlement ".len();
    for line in lines {
        let (label, value) = line.split_at(column);
        assert!(
            label.ends_with(' ') && !label.trim_end().is_empty() && !value.starts_with(' '),
            "{line:?} in\n{}",
            run.stdout
        );
    }
}

/// An entitlement event naming a SKU the catalog lacks, by a typo: the refusal (recorded,
/// exit 3) says which SKU was meant.
#[test]
fn a_mistyped_sku_in_an_event_is_refused_with_the_sku_meant() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let run = tai(
        &state,
        &[
            "event",
            "activate",
            "--tenant",
            "newco",
            "--sku",
            "rollback-guard-bas",
        ],
    )
    .exits(3);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("unknown SKU `rollback-guard-bas`; did you mean `rollback-guard-base`?"),
        "{said}"
    );
}
