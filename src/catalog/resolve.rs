//! How an action's overrun resolves without a person: a status tool the governor polls, the
//! result fields that mean done or failed, and a deadline after which the action has failed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Tool, template};
use crate::ids::ToolName;

/// An action's automatic resolution: while it is in flight after an overrun, the governor
/// calls `status_tool` every `every_ms` until its result matches `done_when` (the action
/// completed) or `failed_when` (it failed), or `deadline_ms` after the action started (it
/// failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoResolve {
    /// A tool of the same pack that reports the action's progress; it should only read
    /// (it runs without gates, as the governor's own check).
    pub status_tool: ToolName,
    /// The status tool's arguments; `{{args.NAME}}` takes the action call's argument `NAME`.
    /// Default: the call's arguments that the status tool's input schema declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    /// Milliseconds between polls.
    #[schemars(range(min = 1))]
    pub every_ms: u64,
    /// Milliseconds after the action started at which it counts as failed; longer than the
    /// action's timeout.
    #[schemars(range(min = 1))]
    pub deadline_ms: u64,
    /// Result fields that all must equal these values for the action to count as completed.
    pub done_when: BTreeMap<String, Value>,
    /// Result fields that all must equal these values for the action to count as failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_when: BTreeMap<String, Value>,
}

/// What one status result says about the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusVerdict {
    /// It matches `done_when`.
    Done,
    /// It matches `failed_when`.
    Failed,
    /// Neither yet.
    Pending,
}

impl AutoResolve {
    /// Reads a status result: `failed_when` is checked first, so a result matching both
    /// never completes an action.
    pub fn verdict(&self, result: &Value) -> StatusVerdict {
        let matches = |want: &BTreeMap<String, Value>| {
            !want.is_empty() && want.iter().all(|(k, v)| result.get(k) == Some(v))
        };
        if matches(&self.failed_when) {
            StatusVerdict::Failed
        } else if matches(&self.done_when) {
            StatusVerdict::Done
        } else {
            StatusVerdict::Pending
        }
    }

    /// The status tool's arguments for a call with `call_args`.
    pub fn poll_args(&self, status: &Tool, call_args: &Map<String, Value>) -> Map<String, Value> {
        match &self.args {
            Some(args) => {
                let args = Value::Object(args.clone());
                let rendered = template::render(&args, call_args).into_owned();
                match rendered {
                    Value::Object(m) => m,
                    _ => Map::new(),
                }
            }
            None => {
                let declared = status
                    .input_schema
                    .get("properties")
                    .and_then(Value::as_object);
                call_args
                    .iter()
                    .filter(|(k, _)| declared.is_none_or(|p| p.contains_key(k.as_str())))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve() -> AutoResolve {
        serde_json::from_value(json!({
            "status_tool": "status",
            "every_ms": 1000,
            "deadline_ms": 5000,
            "done_when": { "phase": "completed" },
            "failed_when": { "phase": "failed" }
        }))
        .unwrap()
    }

    #[test]
    fn a_result_is_done_failed_or_pending_by_its_fields() {
        let r = resolve();
        assert_eq!(
            r.verdict(&json!({ "phase": "completed", "n": 6 })),
            StatusVerdict::Done
        );
        assert_eq!(
            r.verdict(&json!({ "phase": "failed" })),
            StatusVerdict::Failed
        );
        assert_eq!(
            r.verdict(&json!({ "phase": "rolling" })),
            StatusVerdict::Pending
        );
        assert_eq!(r.verdict(&json!("completed")), StatusVerdict::Pending);
    }

    #[test]
    fn polls_take_the_call_arguments_the_status_tool_declares_or_the_declared_args() {
        let status: Tool = serde_json::from_value(json!({
            "name": "status", "description": "s", "action": "read",
            "input_schema": { "type": "object", "properties": { "deployment": {} } },
            "handler": { "kind": "simulated" }
        }))
        .unwrap();
        let call = json!({ "deployment": "api", "strategy": "canary" });
        let call = call.as_object().unwrap();
        let mut r = resolve();
        assert_eq!(
            Value::Object(r.poll_args(&status, call)),
            json!({ "deployment": "api" })
        );
        r.args = json!({ "name": "{{args.deployment}}", "fixed": 1 })
            .as_object()
            .cloned();
        assert_eq!(
            Value::Object(r.poll_args(&status, call)),
            json!({ "name": "api", "fixed": 1 })
        );
    }
}
