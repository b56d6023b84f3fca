//! Calls that answer once started: a client that asks for it (`background: true` in the
//! HTTP call body) gets `202 Accepted` as soon as a command's `action_started` receipt is
//! durable, with the action's id and where to follow it, instead of holding the request
//! open while the program runs. The outcome lands in the ledger and on the receipt stream
//! like any other. A call decided without running a command (refused, simulated, built-in)
//! answers as usual: there is nothing to wait for.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::governor::{CallOutcome, GovernorState, ToolCall};
use crate::ids::{ActionRunId, TenantId};
use crate::receipts::Receipt;

use super::AppState;
use super::error::ApiError;
use super::extract::for_tenant;

/// The answer to a call running in the background.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StartedCall {
    /// Always `started`.
    pub decision: &'static str,
    /// The action's id: its outcome receipt names it too.
    pub action_id: Option<ActionRunId>,
    /// The governor state when it started.
    pub state: GovernorState,
    /// The receipts made durable before the program started (`action_started` last).
    pub started: Vec<Receipt>,
    /// Where to follow it: the tenant, its receipts from the next seq, the live stream.
    pub links: Links,
}

/// Where a started call's outcome will be.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Links {
    /// The tenant resource (`running` while the program runs).
    pub tenant: String,
    /// The receipts after `action_started`: the outcome is the first that names the action.
    pub receipts: String,
    /// The tenant's receipt stream (server-sent events).
    pub stream: String,
}

/// Runs `call` and answers once it is started, or once decided if it never starts.
pub async fn call(
    s: &AppState,
    tenant: TenantId,
    call: ToolCall,
) -> Result<Result<StartedCall, CallOutcome>, ApiError> {
    let (tx, rx) = futures::channel::oneshot::channel::<Vec<Receipt>>();
    let t = tenant.clone();
    // Dropping this future once started detaches the blocking task: the program runs on.
    let decided = for_tenant(s, t, move |ws, t| {
        ws.call_then(t, &call, move |ahead| {
            let _ = tx.send(ahead.to_vec());
        })
    });
    tokio::pin!(decided);
    let ahead = tokio::select! {
        outcome = &mut decided => return Ok(Err(outcome?)),
        ahead = rx => ahead,
    };
    match ahead {
        Ok(started) => Ok(Ok(answer(&tenant, started))),
        Err(_) => Ok(Err(decided.await?)),
    }
}

fn answer(tenant: &TenantId, started: Vec<Receipt>) -> StartedCall {
    let last = started.last();
    let action_id = last
        .and_then(|r| r.body.metadata.get("action_id"))
        .and_then(|v| serde_json::from_value(v).ok());
    let next = last.map_or(0, |r| r.seq + 1);
    let base = format!("/v1/tenants/{tenant}");
    StartedCall {
        decision: "started",
        action_id,
        state: last.map_or(GovernorState::Stable, |r| r.body.state_to),
        links: Links {
            receipts: format!("{base}/receipts?from_seq={next}"),
            stream: format!("{base}/receipts/stream"),
            tenant: base,
        },
        started,
    }
}

impl IntoResponse for StartedCall {
    fn into_response(self) -> Response {
        let location = HeaderValue::from_str(&self.links.receipts).ok();
        let mut response = (StatusCode::ACCEPTED, axum::Json(self)).into_response();
        if let Some(location) = location {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}
