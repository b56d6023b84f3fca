//! Translation between MCP's tool shapes and the engine's: catalog tools to listed tools,
//! `tools/call` parameters to a [`ToolCall`], and a [`CallOutcome`] to a tool result or a
//! protocol error.
//!
//! The split follows what a client can act on: a tool outside the tenant's packs is a
//! protocol error (invalid params), exactly as for a tool that does not exist, while a
//! governor's refusal or a failed action is a tool result with `isError` set, so a model
//! reads the gate, the reason code and the message and can change course.

use std::collections::BTreeSet;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, JsonObject, MetaObject, RequestMetaObject,
    Tool,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::governor::{CallOutcome, Decision, Gate, GovernorState, ReasonCode, ToolCall};
use crate::ids::ToolName;
use crate::receipts::Receipt;

use super::McpError;

/// The request `_meta` key whose object becomes the call's context (precondition values).
pub const CONTEXT_META_KEY: &str = "tai/context";

/// The request `_meta` key of a call's idempotency key (a string).
pub const IDEMPOTENCY_META_KEY: &str = "tai/idempotency_key";

/// The request `_meta` key naming who calls (`user:…` or `serviceAccount:…`).
pub const PRINCIPAL_META_KEY: &str = "tai/principal";
/// The `_meta` key of a call's own timeout in milliseconds (it may tighten, never loosen,
/// the action's).
pub const TIMEOUT_META_KEY: &str = "tai/timeout_ms";

/// The result `_meta` key listing the receipts the call wrote.
pub const RECEIPTS_META_KEY: &str = "tai/receipts";

/// The request `_meta` key asking for the deciding receipt's inclusion proof (`true`), and
/// the result `_meta` key holding it: the proof file `tai receipts verify-proof` checks.
pub const PROOF_META_KEY: &str = "tai/proof";

/// The result `_meta` key saying why no proof came back (e.g. nothing is signed).
pub const PROOF_ERROR_META_KEY: &str = "tai/proof_error";

/// The result `_meta` key holding the tenant's governor record after the call: its state,
/// counters and times.
pub const GOVERNOR_META_KEY: &str = "tai/governor";

/// Adds the tenant's governor state and record to a tool result's `_meta`.
pub fn with_governor(
    mut result: CallToolResult,
    state: crate::governor::GovernorState,
    record: &crate::governor::GovernorRecord,
) -> CallToolResult {
    let mut meta = result.meta.take().unwrap_or_default();
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("state".into(), Value::String(state.to_string()));
    }
    meta.0.insert(GOVERNOR_META_KEY.into(), value);
    result.with_meta(Some(meta))
}

/// Whether the call's `_meta` asks for the deciding receipt's inclusion proof.
pub fn wants_proof(request: &CallToolRequestParams, context_meta: &RequestMetaObject) -> bool {
    meta_flag(request, context_meta, PROOF_META_KEY)
}

/// Whether `_meta` `key` is `true` (a missing or non-boolean value is not).
pub fn meta_flag(
    request: &CallToolRequestParams,
    context_meta: &RequestMetaObject,
    key: &str,
) -> bool {
    context_meta
        .get(key)
        .or_else(|| request.meta.as_ref().and_then(|m| m.get(key)))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The seq of the receipt that decided the call: the one it wrote last, or the one a repeat
/// is answered from.
pub fn deciding_seq(outcome: &CallOutcome) -> Option<u64> {
    outcome.receipts.last().map(|r| r.seq).or(outcome.repeat_of)
}

/// Adds the proof (or why there is none) to a tool result's `_meta`.
pub fn with_proof(
    mut result: CallToolResult,
    proof: Result<crate::receipts::InclusionProof, String>,
) -> CallToolResult {
    let mut meta = result.meta.take().unwrap_or_default();
    match proof.map(|p| serde_json::to_value(p).map_err(|e| e.to_string())) {
        Ok(Ok(p)) => meta.0.insert(PROOF_META_KEY.into(), p),
        Ok(Err(e)) | Err(e) => meta.0.insert(PROOF_ERROR_META_KEY.into(), Value::String(e)),
    };
    result.with_meta(Some(meta))
}

/// The tools named in `visible`, in name order, as clients list them.
pub fn listed(catalog: &Catalog, visible: &BTreeSet<ToolName>) -> Vec<Tool> {
    visible
        .iter()
        .filter_map(|name| catalog.tool(name.as_str()))
        .map(|t| {
            let schema = match &t.tool.input_schema {
                Value::Object(o) => o.clone(),
                // Validation requires an object schema; never list a tool clients cannot call.
                _ => JsonObject::from_iter([("type".to_owned(), json!("object"))]),
            };
            Tool::new(
                t.tool.name.to_string(),
                t.tool.description.clone(),
                Arc::new(schema),
            )
        })
        .collect()
}

/// The engine's call for an MCP `tools/call`. Arguments pass through unchanged; the context
/// comes from the request's `_meta` (rmcp moves the params' `_meta` into the request
/// context, so both places are read).
pub fn tool_call(
    request: CallToolRequestParams,
    context_meta: &RequestMetaObject,
) -> Result<ToolCall, McpError> {
    let meta = |key: &str| {
        context_meta
            .get(key)
            .or_else(|| request.meta.as_ref().and_then(|m| m.get(key)))
            .cloned()
    };
    let context = match meta(CONTEXT_META_KEY) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(McpError::BadContext),
    };
    let idempotency_key = match meta(IDEMPOTENCY_META_KEY) {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(
            crate::ids::IdempotencyKey::new(k)
                .map_err(|e| McpError::BadIdempotencyKey(e.to_string()))?,
        ),
        Some(_) => return Err(McpError::BadIdempotencyKey("it must be a string".into())),
    };
    let principal = match meta(PRINCIPAL_META_KEY) {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(
            crate::iam::Principal::parse(&p).map_err(|e| McpError::BadPrincipal(e.to_string()))?,
        ),
        Some(_) => return Err(McpError::BadPrincipal("it must be a string".into())),
    };
    let timeout_ms = match meta(TIMEOUT_META_KEY) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|&ms| ms > 0)
                .ok_or(McpError::BadTimeout)?,
        ),
    };
    Ok(ToolCall {
        tool: request.name.into_owned(),
        arguments: request.arguments.unwrap_or_default(),
        context,
        idempotency_key,
        principal,
        timeout_ms,
    })
}

/// What a refused or failed call tells the client, as text and as structured content.
#[derive(Debug, Serialize)]
struct NotExecuted<'a> {
    decision: Decision,
    gate: Option<Gate>,
    reason: Option<&'a ReasonCode>,
    message: &'a str,
    state: GovernorState,
    /// The action an overrun left in flight: what a resolution names.
    #[serde(skip_serializing_if = "Option::is_none")]
    action_id: Option<Value>,
}

/// The answer to a call: a tool result, or invalid params for a tool the tenant cannot see.
pub fn answer(outcome: CallOutcome) -> Result<CallToolResult, ErrorData> {
    let written: Vec<&Receipt> = outcome.started.iter().chain(&outcome.receipts).collect();
    let action_id = written
        .iter()
        .rev()
        .find_map(|r| r.body.metadata.get("action_id"));
    let mut meta = receipts_meta(&written);
    if let Some(id) = &action_id {
        meta.0.insert(ACTION_ID_META_KEY.into(), id.clone());
    }
    // A retry under the same idempotency key wrote nothing: say which receipt answered it.
    if let Some(seq) = outcome.repeat_of {
        meta.0.insert(REPEAT_OF_META_KEY.into(), seq.into());
    }
    let result = match outcome.decision {
        Decision::ToolNotFound => {
            return Err(ErrorData::invalid_params(
                outcome.message,
                Some(json!({
                    "decision": Decision::ToolNotFound,
                    "reason": ReasonCode::ToolNotFound,
                })),
            ));
        }
        Decision::Executed => {
            let value = outcome.result.unwrap_or(Value::Null);
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
            r.structured_content = Some(as_object(value));
            r
        }
        Decision::Refused | Decision::Failed => {
            let summary = NotExecuted {
                decision: outcome.decision,
                gate: outcome.gate,
                reason: outcome.reason.as_ref(),
                message: &outcome.message,
                state: outcome.state,
                action_id,
            };
            let mut r = CallToolResult::error(vec![ContentBlock::text(sentence(&summary))]);
            r.structured_content = serde_json::to_value(&summary).ok();
            r
        }
    };
    Ok(result.with_meta(Some(meta)))
}

/// One line a model can read: `refused at the iam gate: insufficient_privilege — …`.
fn sentence(s: &NotExecuted<'_>) -> String {
    let gate = s
        .gate
        .map(|g| format!(" at the {g} gate"))
        .unwrap_or_default();
    match s.reason {
        Some(r) => format!(
            "{}{gate}: {r} — {} (governor {})",
            s.decision, s.message, s.state
        ),
        None => format!("{}{gate}: {} (governor {})", s.decision, s.message, s.state),
    }
}

/// Structured content is an object in every revision before 2026-07-28; wrap anything else.
fn as_object(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        other => json!({ "result": other }),
    }
}

/// The result's `_meta` key with the seq of the receipt a repeated call (the same
/// idempotency key) was answered from, as HTTP's `repeat_of`.
pub const REPEAT_OF_META_KEY: &str = "tai/repeat_of";

/// The result's `_meta` key naming the action the call started (absent when none did).
pub const ACTION_ID_META_KEY: &str = "tai/action_id";

/// Where the call landed in the tenant's chain, so a client can cite the receipt.
fn receipts_meta(receipts: &[&Receipt]) -> MetaObject {
    let list: Vec<Value> = receipts
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "id": r.body.id,
                "event_type": r.body.event_type,
                "hash": r.hash,
            })
        })
        .collect();
    let mut meta = JsonObject::new();
    meta.insert(RECEIPTS_META_KEY.into(), Value::Array(list));
    MetaObject(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(decision: Decision) -> CallOutcome {
        CallOutcome {
            decision,
            gate: None,
            reason: None,
            message: "m".into(),
            result: None,
            state: GovernorState::Stable,
            receipts: Vec::new(),
            started: Vec::new(),
            repeat_of: None,
        }
    }

    #[test]
    fn a_refusal_is_an_error_result_naming_gate_and_reason() {
        let mut o = outcome(Decision::Refused);
        o.gate = Some(Gate::Iam);
        o.reason = Some(ReasonCode::InsufficientPrivilege);
        o.message = "needs read_audit_trail".into();
        let r = answer(o).unwrap();
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.unwrap();
        assert_eq!(s["decision"], "refused");
        assert_eq!(s["gate"], "iam");
        assert_eq!(s["reason"], "insufficient_privilege");
        let text = r.content[0].as_text().unwrap().text.clone();
        assert_eq!(
            text,
            "refused at the iam gate: insufficient_privilege — needs read_audit_trail (governor stable)"
        );
    }

    #[test]
    fn an_unlisted_tool_is_invalid_params() {
        let e = answer(outcome(Decision::ToolNotFound)).unwrap_err();
        assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }

    #[test]
    fn executed_results_are_structured_objects() {
        let mut o = outcome(Decision::Executed);
        o.result = Some(json!([1, 2]));
        let r = answer(o).unwrap();
        assert_eq!(r.is_error, Some(false));
        assert_eq!(r.structured_content, Some(json!({ "result": [1, 2] })));
    }

    #[test]
    fn context_comes_from_meta_and_must_be_an_object() {
        let mut meta = RequestMetaObject::default();
        meta.insert(
            CONTEXT_META_KEY.into(),
            json!({ "deployment_stable": true }),
        );
        let call = tool_call(CallToolRequestParams::new("t"), &meta).unwrap();
        assert_eq!(call.context["deployment_stable"], true);
        meta.insert(CONTEXT_META_KEY.into(), json!("yes"));
        assert!(matches!(
            tool_call(CallToolRequestParams::new("t"), &meta),
            Err(McpError::BadContext)
        ));
    }

    #[test]
    fn the_idempotency_key_comes_from_meta_and_must_be_a_string() {
        let mut meta = RequestMetaObject::default();
        let call = tool_call(CallToolRequestParams::new("t"), &meta).unwrap();
        assert_eq!(call.idempotency_key, None);
        meta.insert(IDEMPOTENCY_META_KEY.into(), json!("k-1"));
        let call = tool_call(CallToolRequestParams::new("t"), &meta).unwrap();
        assert_eq!(
            call.idempotency_key.as_ref().map(|k| k.as_str()),
            Some("k-1")
        );
        for bad in [json!(1), json!("has space"), json!("k".repeat(256))] {
            meta.insert(IDEMPOTENCY_META_KEY.into(), bad);
            assert!(matches!(
                tool_call(CallToolRequestParams::new("t"), &meta),
                Err(McpError::BadIdempotencyKey(_))
            ));
        }
    }
}
