//! IAM policies through the CLI: `tai iam set|show|clear`, `tai call --principal`, refusals
//! that name the missing role and why, and policy files refused at their line and column.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use crate::common::{ROLLBACK_CALL, Run};

use crate::common::tai_state as tai;

const POLICY: &str = "\
bindings:
  - role: read_deployment
    members: [group:oncall]
  - role: write_rollback
    members: [user:alice@acme.com]
    condition:
      title: staging only
      expression: request.context.environment == 'staging'
groups:
  oncall: [user:alice@acme.com, user:bob@acme.com]
";

fn rollback(state: &Path, extra: &[&str]) -> Run {
    let args: Vec<&str> = ROLLBACK_CALL.iter().chain(extra).copied().collect();
    tai(state, &args)
}

#[test]
fn a_policy_decides_who_holds_the_plans_roles_and_refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let policy = dir.path().join("policy.yaml");
    fs::write(&policy, POLICY).unwrap();
    tai(
        &state,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
        ],
    )
    .ok();
    tai(&state, &["signal", "--tenant", "acme"]).ok();

    // Without a policy, whoever calls holds the plan's roles, as before.
    tai(&state, &["iam", "show", "--tenant", "acme"])
        .ok()
        .has("has no IAM policy");
    rollback(&state, &[]).ok();

    let set = tai(
        &state,
        &[
            "iam",
            "set",
            "--tenant",
            "acme",
            policy.to_str().unwrap(),
            "--format",
            "json",
        ],
    )
    .ok();
    let set = set.json();
    assert_eq!(set["receipts"][0]["event_type"], "iam_policy_set");
    assert_eq!(
        set["iam"]["policy"]["bindings"][1]["role"],
        "write_rollback"
    );
    let seq = set["iam"]["seq"].clone();

    let shown = tai(
        &state,
        &["iam", "show", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json();
    assert_eq!(shown["iam"]["seq"], seq);
    tai(&state, &["iam", "show", "--tenant", "acme"])
        .ok()
        .has("write_rollback → user:alice@acme.com  if staging only");
    let st = tai(&state, &["state", "--tenant", "acme", "--format", "json"])
        .ok()
        .json();
    assert_eq!(st["iam"]["seq"], seq);

    // Bob reads through the group but may not roll back: exit 3, with role and reason.
    let bob = rollback(&state, &["--principal", "user:bob@acme.com"]).exits(3);
    bob.has("insufficient_privilege")
        .has("no binding grants role `write_rollback` to `user:bob@acme.com`");
    // Alice's binding holds only for staging.
    rollback(&state, &["--principal", "user:alice@acme.com"])
        .exits(3)
        .has("the condition on role `write_rollback` for `user:alice@acme.com` does not hold");
    let ok = rollback(
        &state,
        &[
            "--principal",
            "user:alice@acme.com",
            "--context",
            "environment=\"staging\"",
            "--format",
            "json",
        ],
    )
    .ok()
    .json();
    assert_eq!(ok["decision"], "executed");
    let meta = &ok["receipts"][0]["metadata"];
    assert_eq!(meta["principal"], "user:alice@acme.com");
    assert_eq!(meta["iam_bindings"][1]["condition"], "staging only");
    // Nobody named: no principal.
    rollback(&state, &[]).exits(3).has("needs a principal");
    // A malformed principal is a usage error.
    rollback(&state, &["--principal", "alice"])
        .exits(2)
        .errs("invalid principal `alice`");

    // Cleared: callers hold the plan's roles again.
    tai(&state, &["iam", "clear", "--tenant", "acme"])
        .ok()
        .has("has no IAM policy");
    rollback(&state, &[]).ok();
    tai(&state, &["receipts", "verify", "--tenant", "acme"]).ok();
}

#[test]
fn a_bad_policy_file_is_refused_at_its_line_and_column_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    tai(
        &state,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
        ],
    )
    .ok();
    let bad = dir.path().join("bad.yaml");
    fs::write(
        &bad,
        "bindings:\n  - role: write_rolback\n    members: [group:admins]\n    condition:\n      expression: reqest.time > 1\n",
    )
    .unwrap();
    let run = tai(
        &state,
        &["iam", "set", "--tenant", "acme", bad.to_str().unwrap()],
    )
    .exits(2);
    run.errs("bad.yaml:2:11: `bindings[0].role`: no plan grants role `write_rolback`; did you mean `write_rollback`?")
        .errs("bad.yaml:3:15: `bindings[0].members[0]`: group `admins` is not defined")
        .errs("bad.yaml:5:19: `bindings[0].condition.expression`: the condition uses unknown variable `reqest`");
    // A key given twice: placed where it is given again, not at the top of the file.
    let twice = dir.path().join("twice.yaml");
    fs::write(
        &twice,
        "bindings:\n  - role: read_deployment\n    members: [allUsers]\nbindings: []\n",
    )
    .unwrap();
    tai(
        &state,
        &["iam", "set", "--tenant", "acme", twice.to_str().unwrap()],
    )
    .exits(2)
    .errs("twice.yaml:4:1: duplicate field `bindings`");
    let member = dir.path().join("member.toml");
    fs::write(
        &member,
        "[[bindings]]\nrole = \"read_deployment\"\nmembers = [\"usr:bob@acme.com\"]\n",
    )
    .unwrap();
    tai(
        &state,
        &["iam", "set", "--tenant", "acme", member.to_str().unwrap()],
    )
    .exits(2)
    .errs("member.toml:3:")
    .errs("did you mean `user`?");
    tai(&state, &["iam", "show", "--tenant", "acme"])
        .ok()
        .has("has no IAM policy");
}
