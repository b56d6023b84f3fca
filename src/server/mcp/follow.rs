//! Long tool calls over MCP. A client that sends a `progressToken` hears
//! `notifications/progress` as the call goes: once its command is started (with the action's
//! id), and once it is decided; the result still ends the request. A client that asks
//! for the background (`_meta` `tai/background: true`) gets a result saying `started`, with
//! the action's id, as soon as the command's `action_started` receipt is durable; the
//! outcome follows in the ledger (the receipt stream, `tai/state`). A call decided without
//! running a command answers as usual.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use serde_json::{Value, json};

use crate::governor::{CallOutcome, ToolCall};
use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::workspace::Workspace;

use super::McpError;

/// `_meta` key asking for a call to answer once started.
pub const BACKGROUND_META_KEY: &str = "tai/background";

/// How a followed call ended for the request.
pub enum Followed {
    /// It started and the client asked for the background: this is the answer.
    Started(CallToolResult),
    /// It was decided (run to its end, or never started).
    Decided(CallOutcome),
}

/// Who to tell about progress.
pub struct Listener {
    /// The client's token.
    pub token: Option<ProgressToken>,
    /// Answer once started.
    pub background: bool,
    /// The client.
    pub peer: Peer<RoleServer>,
}

impl Listener {
    async fn tell(&self, progress: f64, message: String) {
        if let Some(token) = &self.token {
            let note = ProgressNotificationParam::new(token.clone(), progress)
                .with_total(2.0)
                .with_message(message);
            // A client that went away misses its progress; the call goes on regardless.
            let _ = self.peer.notify_progress(note).await;
        }
    }
}

/// Runs `call` on the blocking pool, telling `listener` when it starts and ends.
pub async fn call(
    workspace: &Arc<Workspace>,
    tenant: TenantId,
    call: ToolCall,
    listener: Listener,
) -> Result<Followed, McpError> {
    let (tx, rx) = futures::channel::oneshot::channel::<Vec<Receipt>>();
    let ws = Arc::clone(workspace);
    // Detached if the answer comes first: the program runs on, its outcome is recorded.
    let mut decided = tokio::task::spawn_blocking(move || {
        ws.call_then(&tenant, &call, move |ahead| {
            let _ = tx.send(ahead.to_vec());
        })
    });
    let ahead = tokio::select! {
        outcome = &mut decided => return Ok(Followed::Decided(outcome??)),
        ahead = rx => ahead,
    };
    let Ok(ahead) = ahead else {
        return Ok(Followed::Decided(decided.await??));
    };
    let action_id = ahead
        .last()
        .and_then(|r| r.body.metadata.get("action_id"))
        .unwrap_or(Value::Null);
    let named = action_id.as_str().unwrap_or("the action").to_owned();
    listener.tell(1.0, format!("started {named}")).await;
    if listener.background {
        let next = ahead.last().map_or(0, |r| r.seq + 1);
        let started = json!({
            "decision": "started",
            "action_id": action_id,
            "started": ahead,
            "next_seq": next,
        });
        return Ok(Followed::Started(CallToolResult::structured(started)));
    }
    let outcome = decided.await??;
    listener
        .tell(2.0, format!("{named} {}", outcome.decision.as_str()))
        .await;
    Ok(Followed::Decided(outcome))
}
