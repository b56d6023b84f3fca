//! IAM policies: spelling members, reading policy files, and gate 2's verdicts.

use std::collections::BTreeSet;

use serde_json::{Map, json};

use super::*;
use crate::clock::Timestamp;

fn roles(names: &[&str]) -> BTreeSet<Role> {
    names.iter().map(|r| Role::new(*r).unwrap()).collect()
}

const POLICY: &str = "\
bindings:
  - role: read_deployment
    members: [group:oncall, serviceAccount:ci@acme.iam]
  - role: write_rollback
    members: [user:alice@acme.com]
    condition:
      title: business hours
      expression: request.time.getHours() >= 9 && request.time.getHours() < 17
  - role: write_rollback
    members: [user:bob@acme.com]
    condition:
      title: staging only
      expression: request.context.environment == 'staging'
groups:
  oncall: [user:alice@acme.com, user:bob@acme.com]
";

fn request<'a>(
    principal: Option<&'a Principal>,
    time: Timestamp,
    context: &'a Map<String, serde_json::Value>,
    args: &'a Map<String, serde_json::Value>,
) -> Request<'a> {
    Request {
        principal,
        time,
        tenant: "acme",
        tool: "ac_rollback",
        pack: "rollback_guard",
        action: "rollback",
        context,
        arguments: args,
    }
}

#[test]
fn members_and_principals_are_spelled_as_cloud_iam_spells_them() {
    assert_eq!(
        Member::parse("user:alice@acme.com").unwrap(),
        Member::User("alice@acme.com".into())
    );
    assert_eq!(Member::parse("allUsers").unwrap(), Member::AllUsers);
    let err = Member::parse("usr:alice@acme.com").unwrap_err().to_string();
    assert!(err.contains("did you mean `user`?"), "{err}");
    assert!(Member::parse("user:").is_err());
    assert!(Member::parse("alice").is_err());
    assert!(Principal::parse("group:oncall").is_err());
    let p = Principal::parse("serviceAccount:ci@acme.iam").unwrap();
    assert_eq!(p.to_string(), "serviceAccount:ci@acme.iam");
}

#[test]
fn a_principal_holds_a_role_through_a_binding_whose_condition_holds() {
    let policy = IamPolicy::parse("p.yaml", POLICY, None).unwrap();
    let alice = Principal::parse("user:alice@acme.com").unwrap();
    let bob = Principal::parse("user:bob@acme.com").unwrap();
    let carol = Principal::parse("user:carol@acme.com").unwrap();
    let granted = roles(&["read_deployment", "write_rollback"]);
    let needed = roles(&["read_deployment", "write_rollback"]);
    let empty = Map::new();
    // 2026-01-01 10:00 UTC: business hours.
    let ten = Timestamp::parse("2026-01-01T10:00:00Z").unwrap();
    let eight = Timestamp::parse("2026-01-01T08:00:00Z").unwrap();

    let ok = authorize(
        &policy,
        &needed,
        &granted,
        &request(Some(&alice), ten, &empty, &empty),
    )
    .unwrap();
    assert_eq!(ok.bindings.len(), 2);
    assert_eq!(ok.bindings[0].member, "group:oncall");
    assert_eq!(ok.bindings[1].binding, 1);
    assert_eq!(ok.bindings[1].condition.as_deref(), Some("business hours"));

    let early = authorize(
        &policy,
        &needed,
        &granted,
        &request(Some(&alice), eight, &empty, &empty),
    )
    .unwrap_err();
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].why, Denial::ConditionFalse);
    assert!(
        early[0].conditions[0].contains("business hours"),
        "{early:?}"
    );

    let staging: Map<_, _> = json!({"environment": "staging"})
        .as_object()
        .unwrap()
        .clone();
    assert!(
        authorize(
            &policy,
            &needed,
            &granted,
            &request(Some(&bob), eight, &staging, &empty)
        )
        .is_ok()
    );
    let missing = authorize(
        &policy,
        &needed,
        &granted,
        &request(Some(&bob), eight, &empty, &empty),
    )
    .unwrap_err();
    assert_eq!(missing[0].why, Denial::ConditionFalse);
    assert!(
        missing[0].conditions[0].contains("failed"),
        "a missing key is an error: {missing:?}"
    );

    let none = authorize(
        &policy,
        &needed,
        &granted,
        &request(Some(&carol), ten, &empty, &empty),
    )
    .unwrap_err();
    assert_eq!(
        none.iter().map(|m| m.why).collect::<Vec<_>>(),
        [Denial::NoBinding, Denial::NoBinding]
    );
    let anonymous = authorize(
        &policy,
        &needed,
        &granted,
        &request(None, ten, &empty, &empty),
    )
    .unwrap_err();
    assert_eq!(anonymous[0].why, Denial::NoPrincipal);
    assert!(anonymous[0].sentence(None).contains("names none"));
}

#[test]
fn a_policy_never_grants_what_the_plan_does_not() {
    let policy = IamPolicy::parse("p.yaml", POLICY, None).unwrap();
    let alice = Principal::parse("user:alice@acme.com").unwrap();
    let empty = Map::new();
    let ten = Timestamp::parse("2026-01-01T10:00:00Z").unwrap();
    let denied = authorize(
        &policy,
        &roles(&["read_deployment", "write_rollback"]),
        &roles(&["read_deployment"]),
        &request(Some(&alice), ten, &empty, &empty),
    )
    .unwrap_err();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].role.as_str(), "write_rollback");
    assert_eq!(denied[0].why, Denial::NotInPlan);
    assert!(
        denied[0]
            .sentence(Some(&alice))
            .contains("not granted by the tenant's plan")
    );
}

#[test]
fn all_users_grants_to_anyone_even_unnamed() {
    let policy = IamPolicy::parse(
        "p.yaml",
        "bindings:\n  - role: read_deployment\n    members: [allUsers]\n",
        None,
    )
    .unwrap();
    let empty = Map::new();
    let ok = authorize(
        &policy,
        &roles(&["read_deployment"]),
        &roles(&["read_deployment"]),
        &request(None, Timestamp::EPOCH, &empty, &empty),
    )
    .unwrap();
    assert_eq!(ok.bindings[0].member, "allUsers");
}

#[test]
fn bad_policies_are_refused_at_their_line_and_column() {
    let bad_member = "bindings:\n  - role: read_deployment\n    members: [usr:alice@acme.com]\n";
    let err = IamPolicy::parse("p.yaml", bad_member, None).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("p.yaml:3:"), "{text}");
    assert!(text.contains("did you mean `user`?"), "{text}");

    let bad_condition = "\
bindings:
  - role: read_deployment
    members: [user:a@b.c]
    condition:
      expression: reqest.time > 3
  - role: read_deployment
    members: [group:oncal]
  - role: read_deploymnt
    members: [user:a@b.c]
    condition:
      expression: 'request.tool =='
groups:
  oncall: [user:a@b.c]
";
    let known = roles(&["read_deployment", "write_rollback"]);
    let err = IamPolicy::parse("p.yaml", bad_condition, Some(&known)).unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[0].starts_with("p.yaml:5:19: `bindings[0].condition.expression`"),
        "{lines:#?}"
    );
    assert!(lines[0].contains("did you mean `request`?"), "{lines:#?}");
    assert!(lines[1].starts_with("p.yaml:7:15"), "{lines:#?}");
    assert!(lines[1].contains("did you mean `oncall`?"), "{lines:#?}");
    assert!(lines[2].starts_with("p.yaml:8:"), "{lines:#?}");
    assert!(
        lines[2].contains("did you mean `read_deployment`?"),
        "{lines:#?}"
    );
    assert!(lines[3].contains("does not parse"), "{lines:#?}");

    let toml = "[[bindings]]\nrole = \"read_deployment\"\nmembers = [\"user:a@b.c\"]\nbogus = 1\n";
    let err = IamPolicy::parse("p.toml", toml, None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("p.toml:4:"), "{err}");
}
