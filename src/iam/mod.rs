//! A tenant's IAM policy: bindings of a role to members, each optionally with a CEL condition,
//! and the evaluation gate 2 runs against it.
//!
//! The shape is the one cloud IAM uses. The entitlement *enables* roles (the plan allows at
//! most its SKU's roles); the policy is the customer *granting* them to principals. A call
//! holds a role when a binding names its principal (directly, through a group, or as
//! `allUsers`), the binding's condition holds for the request, and the plan grants the role:
//! a policy never escalates beyond the entitlement.

mod eval;
mod load;
mod nesting;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::Role;

pub use eval::{Authorized, BindingUse, Denial, Missing, Request, authorize};
pub use load::{MAX_POLICY_BYTES, PolicyError, PolicyProblem};

/// The longest principal or member spelling accepted.
const MAX_MEMBER_LEN: usize = 256;

/// The longest condition expression accepted, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 4096;

/// Who makes a call: `user:alice@acme.com` or `serviceAccount:deployer@acme.iam`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal(Member);

/// A name a binding grants a role to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// `user:EMAIL`: one person.
    User(String),
    /// `serviceAccount:EMAIL`: one workload.
    ServiceAccount(String),
    /// `group:NAME`: every member the policy's `groups` lists under that name.
    Group(String),
    /// `allUsers`: every caller, named or not.
    AllUsers,
}

/// The member kinds, as written before the colon.
pub const MEMBER_KINDS: [&str; 4] = ["user", "serviceAccount", "group", "allUsers"];

/// A member or principal that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{text}`: {problem}")]
pub struct InvalidMember {
    /// `member` or `principal`.
    pub what: &'static str,
    /// The text given.
    pub text: String,
    /// What is wrong with it, with a hint.
    pub problem: String,
}

impl Member {
    /// Parses `user:…`, `serviceAccount:…`, `group:…` or `allUsers`.
    pub fn parse(text: &str) -> Result<Member, InvalidMember> {
        let bad = |problem: String| InvalidMember {
            what: "member",
            text: text.to_owned(),
            problem,
        };
        if text == "allUsers" {
            return Ok(Member::AllUsers);
        }
        let Some((kind, name)) = text.split_once(':') else {
            return Err(bad(
                "write `user:EMAIL`, `serviceAccount:EMAIL`, `group:NAME` or `allUsers`".into(),
            ));
        };
        if name.is_empty()
            || text.len() > MAX_MEMBER_LEN
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad(format!(
                "the name after `{kind}:` must be 1-{MAX_MEMBER_LEN} characters without spaces"
            )));
        }
        let name = name.to_owned();
        match kind {
            "user" => Ok(Member::User(name)),
            "serviceAccount" => Ok(Member::ServiceAccount(name)),
            "group" => Ok(Member::Group(name)),
            other => {
                let hint = crate::diagnostics::did_you_mean(other, MEMBER_KINDS)
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                Err(bad(format!(
                    "unknown member kind `{other}`: use `user`, `serviceAccount` or `group`{hint}"
                )))
            }
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::User(n) => write!(f, "user:{n}"),
            Member::ServiceAccount(n) => write!(f, "serviceAccount:{n}"),
            Member::Group(n) => write!(f, "group:{n}"),
            Member::AllUsers => f.write_str("allUsers"),
        }
    }
}

impl Principal {
    /// Parses a principal: a `user:` or a `serviceAccount:` (a group or `allUsers` cannot
    /// make a call).
    pub fn parse(text: &str) -> Result<Principal, InvalidMember> {
        let member = Member::parse(text).map_err(|e| InvalidMember {
            what: "principal",
            ..e
        })?;
        match member {
            Member::User(_) | Member::ServiceAccount(_) => Ok(Principal(member)),
            Member::Group(_) | Member::AllUsers => Err(InvalidMember {
                what: "principal",
                text: text.to_owned(),
                problem: "a call is made by a `user:` or a `serviceAccount:`, not a group".into(),
            }),
        }
    }

    /// The principal as a member.
    pub fn member(&self) -> &Member {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Principal {
    type Err = InvalidMember;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Principal::parse(s)
    }
}

impl FromStr for Member {
    type Err = InvalidMember;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Member::parse(s)
    }
}

/// Serializes as its spelling; shared by members and principals.
macro_rules! spelled {
    ($t:ty, $what:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($t).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "maxLength": MAX_MEMBER_LEN,
                    "description": $what
                })
            }
        }
    };
}

spelled!(
    Member,
    "`user:EMAIL`, `serviceAccount:EMAIL`, `group:NAME` or `allUsers`"
);
spelled!(Principal, "`user:EMAIL` or `serviceAccount:EMAIL`");

/// A condition on a binding: a CEL expression over the request that must be true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A short name, shown in refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the condition is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The CEL expression; sees `principal` (a string) and `request` (`time`, `tenant`,
    /// `tool`, `pack`, `action`, `context`, `arguments`).
    pub expression: String,
}

impl Condition {
    /// The title, else the expression: how a refusal names the condition.
    pub fn name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.expression)
    }
}

/// One binding: a role granted to members, optionally under a condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// The role granted.
    pub role: Role,
    /// Who it is granted to.
    pub members: Vec<Member>,
    /// When it applies [default: always].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

/// A tenant's IAM policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamPolicy {
    /// Roles granted to members.
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// Groups by name, each with its members (users and service accounts), for `group:`
    /// members.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Vec<Member>>,
}

impl IamPolicy {
    /// Whether `principal` is `member`: the same name, in a group the policy lists it in,
    /// or anyone for `allUsers`.
    pub fn names(&self, member: &Member, principal: Option<&Principal>) -> bool {
        match (member, principal) {
            (Member::AllUsers, _) => true,
            (_, None) => false,
            (Member::Group(g), Some(p)) => self
                .groups
                .get(g)
                .is_some_and(|ms| ms.iter().any(|m| m == p.member())),
            (m, Some(p)) => m == p.member(),
        }
    }
}

#[cfg(test)]
mod tests;
