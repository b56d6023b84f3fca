//! Checking a step's expectations against what happened.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::governor::{Decision, Gate, GovernorState};
use crate::ids::ToolName;
use crate::receipts::Receipt;

use super::{Expect, ToolsExpect};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// What was checked, e.g. `reason` or `tools.includes`.
    pub field: String,
    /// What the scenario expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

/// What a step did, as far as expectations can see.
#[derive(Debug, Clone, Default)]
pub(super) struct Observed<'a> {
    pub state: Option<GovernorState>,
    pub decision: Option<Decision>,
    pub gate: Option<Gate>,
    pub reason: Option<String>,
    pub accepted: Option<bool>,
    pub tools: Option<&'a BTreeSet<ToolName>>,
    pub result: Option<&'a Value>,
    pub receipts: &'a [Receipt],
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

fn push(out: &mut Vec<Mismatch>, field: &str, expected: String, actual: String) {
    out.push(Mismatch {
        field: field.to_owned(),
        expected,
        actual,
    });
}

/// Every expectation in `expect` that `seen` does not meet.
pub(super) fn check(expect: &Expect, seen: &Observed<'_>) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(want) = expect.state {
        if seen.state != Some(want) {
            push(&mut out, "state", want.to_string(), show(seen.state));
        }
    }
    if let Some(want) = expect.decision {
        if seen.decision != Some(want) {
            push(&mut out, "decision", want.to_string(), show(seen.decision));
        }
    }
    if let Some(want) = &expect.gate {
        let actual = show(seen.gate);
        if &actual != want {
            push(&mut out, "gate", want.clone(), actual);
        }
    }
    if let Some(want) = &expect.reason {
        let actual = show(seen.reason.as_deref());
        if &actual != want {
            push(&mut out, "reason", want.clone(), actual);
        }
    }
    if let Some(want) = expect.accepted {
        if seen.accepted != Some(want) {
            push(&mut out, "accepted", want.to_string(), show(seen.accepted));
        }
    }
    if let Some(want) = &expect.tools {
        check_tools(want, seen.tools, &mut out);
    }
    if let Some(want) = &expect.result {
        let want = Value::Object(want.clone());
        match seen.result {
            Some(actual) if contains(actual, &want) => {}
            actual => push(&mut out, "result", want.to_string(), show(actual)),
        }
    }
    if let Some(want) = &expect.receipts {
        let actual: Vec<_> = seen.receipts.iter().map(|r| r.body.event_type).collect();
        if &actual != want {
            push(&mut out, "receipts", list(want), list(&actual));
        }
    }
    if let Some(want) = &expect.receipt {
        let want = Value::Object(want.clone());
        let last = seen
            .receipts
            .last()
            .and_then(|r| serde_json::to_value(r).ok());
        match last {
            Some(actual) if contains(&actual, &want) => {}
            actual => push(&mut out, "receipt", want.to_string(), show(actual)),
        }
    }
    out
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

fn check_tools(want: &ToolsExpect, tools: Option<&BTreeSet<ToolName>>, out: &mut Vec<Mismatch>) {
    let empty = BTreeSet::new();
    let tools = tools.unwrap_or(&empty);
    let actual: Vec<&str> = tools.iter().map(ToolName::as_str).collect();
    if let Some(exact) = &want.exact {
        let mut exact_sorted: Vec<&str> = exact.iter().map(String::as_str).collect();
        exact_sorted.sort_unstable();
        if exact_sorted != actual {
            push(out, "tools.exact", list(&exact_sorted), list(&actual));
        }
    }
    let missing: Vec<&str> = want
        .includes
        .iter()
        .map(String::as_str)
        .filter(|t| !tools.contains(*t))
        .collect();
    if !missing.is_empty() {
        push(
            out,
            "tools.includes",
            format!("includes {}", list(&missing)),
            format!("missing from {}", list(&actual)),
        );
    }
    let present: Vec<&str> = want
        .excludes
        .iter()
        .map(String::as_str)
        .filter(|t| tools.contains(*t))
        .collect();
    if !present.is_empty() {
        push(
            out,
            "tools.excludes",
            format!("excludes {}", list(&present)),
            format!("present in {}", list(&actual)),
        );
    }
}

/// Whether `actual` contains `want`: objects match as subsets (recursively), anything else
/// must be equal.
pub(super) fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| a.get(k).is_some_and(|av| contains(av, wv))),
        _ => actual == want,
    }
}
