//! The three gates, evaluated in order and short-circuiting on the first refusal.
//!
//! Gate 3 ("the action's preconditions are met") starts with the call's own input: arguments
//! that break the tool's input schema are refused (`invalid_arguments`) before the action's
//! declared preconditions are checked, so no action ever runs on input it did not declare.

use serde_json::{Map, Value};

use crate::catalog::{Action, Check, Precondition, ToolRef};
use crate::clock::Timestamp;
use crate::entitlement::Entitlement;
use crate::iam::{self, Authorized, IamPolicy, Principal};
use crate::ids::{Role, SkuId, TenantId};
use crate::receipts::ObjectWriter;

use super::{Gate, ReasonCode};

/// A gate's refusal: which gate, why, and details for the receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct GateRefusal {
    /// The gate that refused.
    pub gate: Gate,
    /// The reason code.
    pub reason: ReasonCode,
    /// A sentence a person (or a model) can act on.
    pub message: String,
    /// Extra facts for the receipt (missing roles, the failing key and value).
    pub detail: Map<String, Value>,
}

/// What a tool call is judged on.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// The tenant's entitlement.
    pub entitlement: Option<&'a Entitlement>,
    /// The clock's now.
    pub now: Timestamp,
    /// The action the tool performs.
    pub action: &'a Action,
    /// The call's context.
    pub context: &'a Map<String, Value>,
    /// The tenant's facts (set by signals).
    pub facts: &'a Map<String, Value>,
    /// The tool called, whose input schema the arguments must match.
    pub tool: ToolRef<'a>,
    /// The call's arguments.
    pub arguments: &'a Map<String, Value>,
    /// The tenant.
    pub tenant: &'a TenantId,
    /// Who calls, if the call names someone.
    pub principal: Option<&'a Principal>,
    /// The tenant's IAM policy; without one, whoever calls holds the plan's roles.
    pub policy: Option<&'a IamPolicy>,
}

/// What the gates found when every one passed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Passed<'a> {
    /// Under an IAM policy: the binding that gave each role the action needs.
    pub iam: Option<Authorized>,
    /// Each declared precondition, in order, with the value it judged.
    pub preconditions: Vec<PreconditionPassed<'a>>,
}

/// What each gate checked and passed on, as an executed call's receipt records it under
/// `gates` (see [`Record::write`]).
#[derive(Debug)]
pub struct Record<'a> {
    /// Gate 1: the plan and until when it is active.
    pub entitlement: EntitlementPassed<'a>,
    /// Gate 2: the roles the action needs, who called and what gave them (`plan`: the plan
    /// grants them to whoever calls; `policy`: bindings of the tenant's IAM policy, listed
    /// under `iam_bindings`).
    pub iam: IamPassed<'a>,
    /// Gate 3: each declared precondition, in order, with the value it judged.
    pub preconditions: Vec<PreconditionPassed<'a>>,
}

/// Gate 1's part of a [`Record`].
#[derive(Debug)]
pub struct EntitlementPassed<'a> {
    /// When the entitlement ends.
    pub expiry: Timestamp,
    /// The plan.
    pub sku: &'a SkuId,
}

/// Gate 2's part of a [`Record`].
#[derive(Debug)]
pub struct IamPassed<'a> {
    /// Who called, when the call named someone.
    pub principal: Option<&'a Principal>,
    /// The roles the action needs.
    pub roles: &'a [Role],
    /// `plan` or `policy`.
    pub via: &'static str,
}

/// One precondition of a [`Record`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreconditionPassed<'a> {
    /// Its key.
    pub key: &'a str,
    /// The value it judged (`null` when none was found).
    pub value: Option<&'a Value>,
}

impl<'a> Record<'a> {
    /// What the gates passed `input` on, with the preconditions they judged; `None` without
    /// an entitlement (gate 1 refuses).
    pub fn of(
        input: &GateInput<'a>,
        preconditions: Vec<PreconditionPassed<'a>>,
    ) -> Option<Record<'a>> {
        let ent = input.entitlement?;
        Some(Record {
            entitlement: EntitlementPassed {
                expiry: ent.expiry,
                sku: &ent.sku_id,
            },
            iam: IamPassed {
                principal: input.principal,
                roles: &input.action.roles,
                via: if input.policy.is_some() {
                    "policy"
                } else {
                    "plan"
                },
            },
            preconditions,
        })
    }
}

impl Record<'_> {
    /// Writes the record as the receipt's `gates` object. Every executed call records one,
    /// so it is written field by field, keys in order, straight into the metadata text.
    pub fn write(&self, gates: &mut ObjectWriter<'_>) {
        gates.object("entitlement", |e| {
            e.serialize("expiry", &self.entitlement.expiry);
            e.str("sku", self.entitlement.sku.as_str());
        });
        gates.object("iam", |iam| {
            if let Some(principal) = self.iam.principal {
                iam.serialize("principal", principal);
            }
            iam.strs("roles", self.iam.roles.iter().map(Role::as_str));
            iam.str("via", self.iam.via);
        });
        gates.objects("preconditions", &self.preconditions, |p, pre| {
            p.str("key", pre.key);
            p.value("value", pre.value);
        });
    }
}

/// Runs gates 1, 2 and 3 in order.
pub fn check<'a>(input: &GateInput<'a>) -> Result<Passed<'a>, GateRefusal> {
    let roles = entitlement_gate(input.entitlement, input.now)?;
    let iam = match input.policy {
        None => iam_gate(input.action, roles).map(|()| None)?,
        Some(policy) => Some(policy_gate(input, policy, roles)?),
    };
    arguments_check(&input.tool.argument_problems(input.arguments))?;
    let preconditions = preconditions_gate(input.action, input.context, input.facts)?;
    Ok(Passed { iam, preconditions })
}

/// Gate 1: the entitlement exists and is active at `now`. Returns the granted roles.
pub fn entitlement_gate(
    entitlement: Option<&Entitlement>,
    now: Timestamp,
) -> Result<&std::collections::BTreeSet<Role>, GateRefusal> {
    let Some(ent) = entitlement else {
        return Err(refusal(
            Gate::Entitlement,
            ReasonCode::NoEntitlement,
            "the tenant has no entitlement".into(),
            Map::new(),
        ));
    };
    let standing = ent.standing(now);
    match standing.refusal() {
        None => Ok(&ent.iam_roles),
        Some(reason) => {
            let mut detail = Map::new();
            detail.insert("expiry".into(), Value::String(ent.expiry.to_string()));
            Err(refusal(
                Gate::Entitlement,
                reason,
                format!("the entitlement for `{}` is {standing}", ent.sku_id),
                detail,
            ))
        }
    }
}

/// Gate 2: every role the action requires is granted (least privilege).
fn iam_gate(
    action: &Action,
    granted: &std::collections::BTreeSet<Role>,
) -> Result<(), GateRefusal> {
    let missing: Vec<&Role> = action
        .roles
        .iter()
        .filter(|r| !granted.contains(*r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = missing.iter().map(|r| format!("`{r}`")).collect();
    let mut detail = Map::new();
    detail.insert(
        "missing_roles".into(),
        Value::Array(
            missing
                .iter()
                .map(|r| Value::String(r.to_string()))
                .collect(),
        ),
    );
    Err(refusal(
        Gate::Iam,
        ReasonCode::InsufficientPrivilege,
        format!("action `{}` requires role {}", action.id, names.join(", ")),
        detail,
    ))
}

/// Gate 2 under the tenant's IAM policy: the principal holds every role the action needs
/// through a binding whose condition holds, and the plan grants it.
fn policy_gate(
    input: &GateInput<'_>,
    policy: &IamPolicy,
    granted: &std::collections::BTreeSet<Role>,
) -> Result<Authorized, GateRefusal> {
    let request = iam::Request {
        principal: input.principal,
        time: input.now,
        tenant: input.tenant.as_str(),
        tool: input.tool.tool.name.as_str(),
        pack: input.tool.pack.pack_id.as_str(),
        action: input.action.id.as_str(),
        context: input.context,
        arguments: input.arguments,
    };
    iam::authorize(policy, &input.action.roles, granted, &request).map_err(|missing| {
        let sentences: Vec<String> = missing
            .iter()
            .map(|m| m.sentence(input.principal))
            .collect();
        let mut detail = Map::new();
        detail.insert(
            "missing_roles".into(),
            Value::Array(
                missing
                    .iter()
                    .map(|m| Value::String(m.role.to_string()))
                    .collect(),
            ),
        );
        detail.insert(
            "iam_denials".into(),
            serde_json::to_value(&missing).unwrap_or(Value::Null),
        );
        refusal(
            Gate::Iam,
            ReasonCode::InsufficientPrivilege,
            format!(
                "action `{}` is not allowed: {}",
                input.action.id,
                sentences.join("; ")
            ),
            detail,
        )
    })
}

/// Gate 3, first: the arguments conform to the tool's input schema.
fn arguments_check(problems: &[String]) -> Result<(), GateRefusal> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut detail = Map::new();
    detail.insert(
        "argument_errors".into(),
        Value::Array(problems.iter().cloned().map(Value::String).collect()),
    );
    Err(refusal(
        Gate::Preconditions,
        ReasonCode::InvalidArguments,
        format!(
            "the arguments do not match the tool's input schema: {}",
            problems.join("; ")
        ),
        detail,
    ))
}

/// Gate 3: the action's preconditions, in declared order. Returns each with the value it
/// judged, which the receipt records.
fn preconditions_gate<'a>(
    action: &'a Action,
    context: &'a Map<String, Value>,
    facts: &'a Map<String, Value>,
) -> Result<Vec<PreconditionPassed<'a>>, GateRefusal> {
    let mut passed = Vec::with_capacity(action.preconditions.len());
    for pre in &action.preconditions {
        let value = lookup(pre, context, facts);
        if !holds(&pre.check, value) {
            let mut detail = Map::new();
            detail.insert("key".into(), Value::String(pre.key.clone()));
            detail.insert("value".into(), value.cloned().unwrap_or(Value::Null));
            return Err(refusal(
                Gate::Preconditions,
                ReasonCode::Precondition(pre.code.clone()),
                pre.message.clone(),
                detail,
            ));
        }
        passed.push(PreconditionPassed {
            key: &pre.key,
            value,
        });
    }
    Ok(passed)
}

/// The value a precondition judges: the call's context, then the tenant's facts, then the
/// declared default.
pub fn lookup<'a>(
    pre: &'a Precondition,
    context: &'a Map<String, Value>,
    facts: &'a Map<String, Value>,
) -> Option<&'a Value> {
    context
        .get(&pre.key)
        .or_else(|| facts.get(&pre.key))
        .or(pre.default.as_ref())
}

/// Whether `value` passes `check`.
pub fn holds(check: &Check, value: Option<&Value>) -> bool {
    let value = value.filter(|v| !v.is_null());
    match check {
        Check::Present => value.is_some(),
        Check::Equals(expected) => value == Some(expected),
        Check::NotEquals(expected) => value != Some(expected),
        Check::OneOf(options) => value.is_some_and(|v| options.contains(v)),
        Check::AtLeast(min) => value.and_then(Value::as_f64).is_some_and(|v| v >= *min),
        Check::AtMost(max) => value.and_then(Value::as_f64).is_some_and(|v| v <= *max),
    }
}

fn refusal(
    gate: Gate,
    reason: ReasonCode,
    message: String,
    detail: Map<String, Value>,
) -> GateRefusal {
    GateRefusal {
        gate,
        reason,
        message,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_record_is_canonical_as_written() {
        let mut m = crate::receipts::MetadataBuilder::new();
        let value = json!({ "b": 1, "a": [true] });
        let sku = SkuId::new("pro").unwrap();
        let roles = [Role::new("viewer").unwrap()];
        let principal = Principal::parse("user:ana@example.com").unwrap();
        let record = Record {
            entitlement: EntitlementPassed {
                expiry: Timestamp::from_millis(0),
                sku: &sku,
            },
            iam: IamPassed {
                principal: Some(&principal),
                roles: &roles,
                via: "plan",
            },
            preconditions: vec![
                PreconditionPassed {
                    key: "k",
                    value: Some(&value),
                },
                PreconditionPassed {
                    key: "absent",
                    value: None,
                },
            ],
        };
        m.insert_object("gates", |w| record.write(w));
        let written = m.finish();
        assert!(written.is_canonical());
        let want = json!({"gates": {
            "entitlement": {"expiry": "1970-01-01T00:00:00.000Z", "sku": "pro"},
            "iam": {"principal": "user:ana@example.com", "roles": ["viewer"], "via": "plan"},
            "preconditions": [
                {"key": "k", "value": {"a": [true], "b": 1}},
                {"key": "absent", "value": null},
            ],
        }});
        assert_eq!(written.as_str(), want.to_string());
    }

    #[test]
    fn checks() {
        assert!(holds(&Check::Present, Some(&json!("v1"))));
        assert!(!holds(&Check::Present, Some(&Value::Null)));
        assert!(!holds(&Check::Present, None));
        assert!(holds(&Check::Equals(json!(true)), Some(&json!(true))));
        assert!(!holds(&Check::Equals(json!(true)), None));
        assert!(holds(&Check::NotEquals(json!("prod")), None));
        assert!(holds(
            &Check::OneOf(vec![json!(1), json!(2)]),
            Some(&json!(2))
        ));
        assert!(holds(&Check::AtLeast(3.0), Some(&json!(3))));
        assert!(!holds(&Check::AtMost(3.0), Some(&json!(3.5))));
        assert!(!holds(&Check::AtMost(3.0), Some(&json!("3"))));
    }
}
