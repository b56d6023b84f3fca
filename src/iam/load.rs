//! Reading a policy file (YAML, JSON or TOML) and checking it, with every problem placed at
//! its line and column.
//!
//! Shape errors come from serde with the parser's position; what serde cannot see (a
//! condition that does not parse or names an unknown variable, a group no one defined, a
//! role no plan grants) is found after parsing, named by its document path and placed through
//! the span index.

use std::collections::BTreeSet;
use std::fmt;

use crate::diagnostics::did_you_mean;
use crate::ids::Role;
use crate::spans::{DocPath, LineIndex, Span, SpanIndex, Syntax};

use super::eval::{VARIABLES, compile};
use super::{IamPolicy, Member};

/// The largest policy file read, in bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// One problem in a policy, where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyProblem {
    /// 1-based line (0 when the policy came without text, e.g. as a JSON body).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// The document path of the value, e.g. `bindings[1].members[0]`.
    pub path: String,
    /// What is wrong, with a hint where there is one.
    pub message: String,
}

/// A policy that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// Where the policy came from (a file name, or `policy`).
    pub origin: String,
    /// The problems, in document order.
    pub problems: Vec<PolicyProblem>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.origin)?;
            if p.line > 0 {
                write!(f, ":{}:{}", p.line, p.column)?;
            }
            if !p.path.is_empty() {
                write!(f, ": `{}`", p.path)?;
            }
            write!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl IamPolicy {
    /// Reads a policy from `text`: TOML when `source` ends in `.toml`, else YAML (JSON is
    /// YAML too). `known_roles`, when given, are the roles some plan can grant; a binding of
    /// any other role is an error (it could never pass gate 2).
    pub fn parse(
        source: &str,
        text: &str,
        known_roles: Option<&BTreeSet<Role>>,
    ) -> Result<IamPolicy, PolicyError> {
        let fail = |problems| PolicyError {
            origin: source.to_owned(),
            problems,
        };
        if text.len() > MAX_POLICY_BYTES {
            return Err(fail(vec![PolicyProblem {
                line: 0,
                column: 0,
                path: String::new(),
                message: format!("the policy is larger than {MAX_POLICY_BYTES} bytes"),
            }]));
        }
        let syntax = if source.ends_with(".toml") {
            Syntax::Toml
        } else {
            Syntax::Yaml
        };
        let policy: IamPolicy = match syntax {
            Syntax::Toml => toml::from_str(text).map_err(|e| {
                let at = e.span().map_or(0, |s| s.start);
                fail(vec![located(text, at, e.message())])
            })?,
            Syntax::Yaml => {
                if let Some(at) = crate::intake::yaml_depth_exceeded(text) {
                    return Err(fail(vec![located(
                        text,
                        at,
                        &format!(
                            "values nest more than {} levels deep",
                            crate::intake::MAX_YAML_DEPTH
                        ),
                    )]));
                }
                serde_yaml::from_str(text).map_err(|e| {
                    let message = e.to_string();
                    // A key given twice is reported where its mapping starts: the second.
                    if let Some(span) = e
                        .location()
                        .and_then(|l| crate::spans::repeated_key(text, l.index(), &message))
                    {
                        return fail(vec![located(text, span.offset, &message)]);
                    }
                    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    fail(vec![PolicyProblem {
                        line,
                        column,
                        path: String::new(),
                        message,
                    }])
                })?
            }
        };
        let problems = policy.problems(known_roles);
        if problems.is_empty() {
            return Ok(policy);
        }
        let index = SpanIndex::build(text, syntax);
        Err(fail(
            problems
                .into_iter()
                .map(|(path, message)| {
                    let at = index.locate(text, &path);
                    PolicyProblem {
                        line: at.line,
                        column: at.column,
                        path: path.to_string(),
                        message,
                    }
                })
                .collect(),
        ))
    }

    /// Checks a policy that arrived already parsed (an HTTP body): problems carry their
    /// document path but no position.
    pub fn check(&self, known_roles: Option<&BTreeSet<Role>>) -> Result<(), PolicyError> {
        let problems = self.problems(known_roles);
        if problems.is_empty() {
            return Ok(());
        }
        Err(PolicyError {
            origin: "policy".into(),
            problems: problems
                .into_iter()
                .map(|(path, message)| PolicyProblem {
                    line: 0,
                    column: 0,
                    path: path.to_string(),
                    message,
                })
                .collect(),
        })
    }

    /// What serde cannot see, by document path.
    fn problems(&self, known_roles: Option<&BTreeSet<Role>>) -> Vec<(DocPath, String)> {
        let mut out = Vec::new();
        let groups: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        for (i, b) in self.bindings.iter().enumerate() {
            let at = DocPath::root().key("bindings").index(i);
            if let Some(known) = known_roles
                && !known.contains(&b.role)
            {
                let hint = did_you_mean(b.role.as_str(), known.iter().map(Role::as_str))
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                out.push((
                    at.key("role"),
                    format!("no plan grants role `{}`{hint}", b.role),
                ));
            }
            if b.members.is_empty() {
                out.push((
                    at.key("members"),
                    "a binding grants its role to at least one member".into(),
                ));
            }
            for (j, m) in b.members.iter().enumerate() {
                if let Member::Group(g) = m
                    && !self.groups.contains_key(g)
                {
                    let hint = did_you_mean(g, groups.iter().copied())
                        .map(|h| format!("; {h}"))
                        .unwrap_or_else(|| "; define it under `groups:`".to_owned());
                    out.push((
                        at.key("members").index(j),
                        format!("group `{g}` is not defined{hint}"),
                    ));
                }
            }
            if let Some(c) = &b.condition
                && let Err(problem) = condition_problem(&c.expression)
            {
                out.push((at.key("condition").key("expression"), problem));
            }
        }
        for (name, members) in &self.groups {
            for (j, m) in members.iter().enumerate() {
                if matches!(m, Member::Group(_) | Member::AllUsers) {
                    out.push((
                        DocPath::root().key("groups").key(name.as_str()).index(j),
                        format!("a group lists users and service accounts, not `{m}`"),
                    ));
                }
            }
        }
        out
    }
}

/// Why a condition cannot be used: it does not parse, or it names a variable other than
/// `principal` and `request`.
fn condition_problem(expression: &str) -> Result<(), String> {
    let program = compile(expression).map_err(|e| format!("the condition does not parse: {e}"))?;
    let references = program.references();
    let unknown: Vec<&str> = references
        .variables()
        .into_iter()
        .filter(|v| !VARIABLES.contains(v))
        .collect();
    match unknown.first() {
        None => Ok(()),
        Some(v) => {
            let hint = did_you_mean(v, VARIABLES)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            Err(format!(
                "the condition uses unknown variable `{v}`: it sees `principal` and `request`{hint}"
            ))
        }
    }
}

fn located(text: &str, offset: usize, message: &str) -> PolicyProblem {
    let at = LineIndex::new(text).location(text, Span { offset, len: 0 });
    PolicyProblem {
        line: at.line,
        column: at.column,
        path: String::new(),
        message: message.to_owned(),
    }
}
