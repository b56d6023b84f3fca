//! Gate 2 against a policy: which binding gives the principal each role the action needs, and
//! why a role is missing when none does.
//!
//! Conditions are CEL, evaluated by the `cel` crate over the request. A condition that does
//! not evaluate to `true` (false, not a bool, or an error such as a missing key) does not
//! hold: access is denied rather than guessed, and the refusal says what the condition gave.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::ids::Role;

use super::{Condition, IamPolicy, Principal};

/// What a condition sees: the call being judged.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who calls, if the call names someone.
    pub principal: Option<&'a Principal>,
    /// The clock's now.
    pub time: Timestamp,
    /// The tenant.
    pub tenant: &'a str,
    /// The tool called.
    pub tool: &'a str,
    /// The tool's pack.
    pub pack: &'a str,
    /// The tool's action.
    pub action: &'a str,
    /// The call's context.
    pub context: &'a Map<String, Value>,
    /// The call's arguments.
    pub arguments: &'a Map<String, Value>,
}

/// A binding that gave the principal a role: recorded in the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindingUse {
    /// The role it gave.
    pub role: Role,
    /// Its index in the policy's `bindings`.
    pub binding: usize,
    /// The member that named the principal (`group:…`, `allUsers` or the principal itself).
    pub member: String,
    /// Its condition's title or expression, when it has one (it held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// Why the principal does not hold a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// The entitlement's plan does not grant the role: no policy can give it.
    NotInPlan,
    /// The call names no principal and no binding grants the role to `allUsers`.
    NoPrincipal,
    /// No binding grants the role to the principal.
    NoBinding,
    /// Bindings grant it, but none of their conditions holds for this request.
    ConditionFalse,
}

impl Denial {
    /// The denial as written in receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Denial::NotInPlan => "not_in_plan",
            Denial::NoPrincipal => "no_principal",
            Denial::NoBinding => "no_binding",
            Denial::ConditionFalse => "condition_false",
        }
    }
}

/// One role the principal lacks, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The role.
    pub role: Role,
    /// Why it is missing.
    pub why: Denial,
    /// For `condition_false`: each condition that did not hold, with what it gave.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

impl Missing {
    /// A sentence: role and reason.
    pub fn sentence(&self, principal: Option<&Principal>) -> String {
        let who = principal.map_or_else(|| "the caller".to_owned(), |p| format!("`{p}`"));
        match self.why {
            Denial::NotInPlan => format!(
                "role `{}` is not granted by the tenant's plan (no policy can grant it)",
                self.role
            ),
            Denial::NoPrincipal => format!(
                "role `{}` needs a principal: the call names none and no binding grants it to `allUsers`",
                self.role
            ),
            Denial::NoBinding => format!("no binding grants role `{}` to {who}", self.role),
            Denial::ConditionFalse => format!(
                "the condition on role `{}` for {who} does not hold: {}",
                self.role,
                self.conditions.join("; ")
            ),
        }
    }
}

/// Every needed role held: the bindings that gave them, role by role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Authorized {
    /// One binding per role, in the order the roles were needed.
    pub bindings: Vec<BindingUse>,
}

/// Gate 2 under a policy: `Ok` with the bindings used when the principal holds every role in
/// `needed` through a binding whose condition holds and `granted` (the entitlement's roles)
/// contains it; otherwise every missing role with its reason.
pub fn authorize<'r>(
    policy: &IamPolicy,
    needed: impl IntoIterator<Item = &'r Role>,
    granted: &BTreeSet<Role>,
    request: &Request<'_>,
) -> Result<Authorized, Vec<Missing>> {
    let mut held = Authorized::default();
    let mut missing = Vec::new();
    let mut conditions = Conditions::new(request);
    for role in needed {
        match holds(policy, role, granted, request, &mut conditions) {
            Ok(used) => held.bindings.push(used),
            Err(m) => missing.push(m),
        }
    }
    if missing.is_empty() {
        Ok(held)
    } else {
        Err(missing)
    }
}

fn holds(
    policy: &IamPolicy,
    role: &Role,
    granted: &BTreeSet<Role>,
    request: &Request<'_>,
    conditions: &mut Conditions<'_>,
) -> Result<BindingUse, Missing> {
    let deny = |why, conditions| Missing {
        role: role.clone(),
        why,
        conditions,
    };
    if !granted.contains(role) {
        return Err(deny(Denial::NotInPlan, Vec::new()));
    }
    let mut failed = Vec::new();
    let naming = policy.bindings.iter().enumerate().filter_map(|(i, b)| {
        let member = b
            .members
            .iter()
            .find(|m| policy.names(m, request.principal))?;
        (b.role == *role).then_some((i, b, member))
    });
    for (index, binding, member) in naming {
        let used = BindingUse {
            role: role.clone(),
            binding: index,
            member: member.to_string(),
            condition: binding.condition.as_ref().map(|c| c.name().to_owned()),
        };
        match &binding.condition {
            None => return Ok(used),
            Some(c) => match conditions.evaluate(c) {
                Ok(()) => return Ok(used),
                Err(gave) => failed.push(format!("`{}` {gave}", c.name())),
            },
        }
    }
    if !failed.is_empty() {
        Err(deny(Denial::ConditionFalse, failed))
    } else if request.principal.is_none() {
        Err(deny(Denial::NoPrincipal, Vec::new()))
    } else {
        Err(deny(Denial::NoBinding, Vec::new()))
    }
}

/// Evaluates conditions over one request, building the CEL context once.
struct Conditions<'a> {
    request: &'a Request<'a>,
    context: Option<Result<cel::Context<'static, 'static>, String>>,
}

impl<'a> Conditions<'a> {
    fn new(request: &'a Request<'a>) -> Self {
        Conditions {
            request,
            context: None,
        }
    }

    /// `Ok` when the condition is true; otherwise what it gave instead, in words.
    fn evaluate(&mut self, condition: &Condition) -> Result<(), String> {
        let request = self.request;
        let context = self
            .context
            .get_or_insert_with(|| cel_context(request))
            .as_ref()
            .map_err(|e| format!("could not be evaluated: {e}"))?;
        let program = compile(&condition.expression).map_err(|e| format!("does not parse: {e}"))?;
        match program.execute(context) {
            Ok(cel::Value::Bool(true)) => Ok(()),
            Ok(cel::Value::Bool(false)) => Err("is false".into()),
            Ok(other) => Err(format!("gave {other:?}, not a bool")),
            Err(e) => Err(format!("failed: {e}")),
        }
    }
}

/// Compiles a condition, refusing one too long to be a policy condition.
pub(super) fn compile(expression: &str) -> Result<cel::Program, String> {
    if expression.len() > super::MAX_EXPRESSION_LEN {
        return Err(format!(
            "the expression is longer than {} bytes",
            super::MAX_EXPRESSION_LEN
        ));
    }
    // The parser recurses once per bracket, unary operator and `?:`; refused before it
    // runs, so no expression can overflow the stack of the thread that parses it.
    super::nesting::lexical(expression)?;
    // The parser's message also draws the expression with a caret under the error, over
    // several lines; the first line says where and what.
    let program = cel::Program::compile(expression).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        first
            .strip_prefix("ERROR: <input>:")
            .map_or_else(|| first.to_owned(), |rest| format!("at {rest}"))
    })?;
    // The evaluator recurses once per level of the tree (a chain of 500 `+` is 500 deep),
    // and a comprehension inside another costs the product of their lists.
    super::nesting::tree(program.expression())?;
    Ok(program)
}

/// The variables a condition may use.
pub(super) const VARIABLES: [&str; 2] = ["principal", "request"];

/// The request as CEL sees it.
#[derive(Serialize)]
struct CelRequest<'a> {
    time: cel::Timestamp,
    tenant: &'a str,
    tool: &'a str,
    pack: &'a str,
    action: &'a str,
    context: &'a Map<String, Value>,
    arguments: &'a Map<String, Value>,
}

fn cel_context(request: &Request<'_>) -> Result<cel::Context<'static, 'static>, String> {
    let ms = i64::try_from(request.time.as_millis()).map_err(|e| e.to_string())?;
    let time = chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| format!("time {} out of range", request.time))?
        .fixed_offset();
    let value = cel::to_value(CelRequest {
        time: cel::Timestamp(time),
        tenant: request.tenant,
        tool: request.tool,
        pack: request.pack,
        action: request.action,
        context: request.context,
        arguments: request.arguments,
    })
    .map_err(|e| e.to_string())?;
    let mut context = cel::Context::default();
    context.add_variable_from_value("request", value);
    let principal = request.principal.map(ToString::to_string);
    context.add_variable_from_value(
        "principal",
        principal.map_or(cel::Value::Null, cel::Value::from),
    );
    Ok(context)
}
