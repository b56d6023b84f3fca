//! Checking a step's expectations against what happened.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::governor::{Decision, Gate, GovernorState};
use crate::ids::ToolName;
use crate::receipts::Receipt;

use super::{Expect, ToolsExpect};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// What was checked, as a path under the step's `expect` (e.g. `reason`,
    /// `tools.includes`, `result.rows`) or under `end` (e.g. `end.receipts.acme`).
    pub field: String,
    /// What the scenario expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// For sets and lists: items expected but absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// For sets and lists: items present but not expected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
}

/// `expected FIELD = EXPECTED, got ACTUAL`: the line a timeline or report shows under a step.
impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expected {} = {}, got {}",
            self.field, self.expected, self.actual
        )
    }
}

impl Mismatch {
    /// A mismatch of two single values.
    pub fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            field: field.into(),
            expected: expected.into(),
            actual: actual.into(),
            missing: Vec::new(),
            extra: Vec::new(),
        }
    }
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
    out.push(Mismatch::new(field, expected, actual));
}

/// Every expectation in `expect` that `seen` does not meet.
pub(super) fn check(expect: &Expect, seen: &Observed<'_>) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(want) = expect.state
        && seen.state != Some(want)
    {
        push(&mut out, "state", want.to_string(), show(seen.state));
    }
    if let Some(want) = expect.decision
        && seen.decision != Some(want)
    {
        push(&mut out, "decision", want.to_string(), show(seen.decision));
    }
    if let Some(want) = expect.gate {
        let actual = show(seen.gate);
        if actual != want.as_str() {
            push(&mut out, "gate", want.as_str().to_owned(), actual);
        }
    }
    if let Some(want) = &expect.reason {
        let actual = show(seen.reason.as_deref());
        if &actual != want {
            push(&mut out, "reason", want.clone(), actual);
        }
    }
    if let Some(want) = expect.accepted
        && seen.accepted != Some(want)
    {
        push(&mut out, "accepted", want.to_string(), show(seen.accepted));
    }
    if let Some(want) = &expect.tools {
        check_tools(want, seen.tools, &mut out);
    }
    if let Some(want) = &expect.result {
        match seen.result {
            Some(actual) => subset_diff("result", actual, want, &mut out),
            None => push(
                &mut out,
                "result",
                Value::Object(want.clone()).to_string(),
                "no result".into(),
            ),
        }
    }
    if let Some(want) = &expect.receipts {
        let actual: Vec<_> = seen.receipts.iter().map(|r| r.body.event_type).collect();
        if &actual != want {
            let mut m = Mismatch::new("receipts", list(want), list(&actual));
            m.missing = multiset_minus(want, &actual);
            m.extra = multiset_minus(&actual, want);
            out.push(m);
        }
    }
    if let Some(want) = &expect.receipt {
        match seen
            .receipts
            .last()
            .and_then(|r| serde_json::to_value(r).ok())
        {
            Some(actual) => subset_diff("receipt", &actual, want, &mut out),
            None => push(
                &mut out,
                "receipt",
                Value::Object(want.clone()).to_string(),
                "no receipt".into(),
            ),
        }
    }
    out
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// Items of `a` not matched by an item of `b`, counting repeats.
fn multiset_minus<T: PartialEq + std::fmt::Display>(a: &[T], b: &[T]) -> Vec<String> {
    let mut left: Vec<&T> = b.iter().collect();
    a.iter()
        .filter(|x| match left.iter().position(|y| y == x) {
            Some(i) => {
                left.swap_remove(i);
                false
            }
            None => true,
        })
        .map(ToString::to_string)
        .collect()
}

fn check_tools(want: &ToolsExpect, tools: Option<&BTreeSet<ToolName>>, out: &mut Vec<Mismatch>) {
    let empty = BTreeSet::new();
    let tools = tools.unwrap_or(&empty);
    let actual: Vec<&str> = tools.iter().map(ToolName::as_str).collect();
    let absent = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|t| !tools.contains(t.as_str()))
            .cloned()
            .collect()
    };
    if let Some(exact) = &want.exact {
        let wanted: BTreeSet<&str> = exact.iter().map(String::as_str).collect();
        let missing = absent(exact);
        let extra: Vec<String> = actual
            .iter()
            .filter(|t| !wanted.contains(*t))
            .map(|t| (*t).to_owned())
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let wanted: Vec<&str> = wanted.into_iter().collect();
            let mut m = Mismatch::new("tools.exact", list(&wanted), list(&actual));
            m.missing = missing;
            m.extra = extra;
            out.push(m);
        }
    }
    let missing = absent(&want.includes);
    if !missing.is_empty() {
        let mut m = Mismatch::new("tools.includes", list(&want.includes), list(&actual));
        m.missing = missing;
        out.push(m);
    }
    let present: Vec<String> = want
        .excludes
        .iter()
        .filter(|t| tools.contains(t.as_str()))
        .cloned()
        .collect();
    if !present.is_empty() {
        let mut m = Mismatch::new(
            "tools.excludes",
            format!("none of {}", list(&want.excludes)),
            list(&actual),
        );
        m.extra = present;
        out.push(m);
    }
}

/// One mismatch per field of `want` that `actual` does not contain, recursing into objects,
/// so a wrong value deep in a result is reported by its path (`result.summary.rows`).
fn subset_diff(path: &str, actual: &Value, want: &Map<String, Value>, out: &mut Vec<Mismatch>) {
    let Value::Object(actual) = actual else {
        push(
            out,
            path,
            Value::Object(want.clone()).to_string(),
            actual.to_string(),
        );
        return;
    };
    for (key, w) in want {
        let field = format!("{path}.{key}");
        match (actual.get(key), w) {
            (None, _) => push(out, &field, w.to_string(), "missing".into()),
            (Some(a @ Value::Object(_)), Value::Object(w)) => subset_diff(&field, a, w, out),
            (Some(a), w) if a != w => push(out, &field, w.to_string(), a.to_string()),
            _ => {}
        }
    }
}
