//! Write-ahead actions: a command is recorded as started (`action_started`) before its
//! program runs, and a started action that nobody will finish — the writer was killed while
//! it ran, or its outcome could not be stored — is recorded as interrupted.
//!
//! Whoever runs a command holds the tenant's operations until the outcome is sealed, so an
//! operation that finds a started action without an outcome knows it is not running in this
//! process: the program's side effects are unknown, and the governor intervenes as for a
//! failure, until someone reports the action complete or failed.

use crate::exec::Leftovers;
use crate::ids::ActionRunId;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{EventType, GovernorState, ReasonCode};

use super::requests::CallKey;
use super::tenant::{ACTION_ID, Draft};
use super::{Env, InFlight, Running, Tenant};

impl Tenant {
    /// Records `action_interrupted` for a started action with no outcome (none otherwise):
    /// the governor goes to intervening, holding the action in flight. A retry of the call
    /// (its idempotency key) is answered from this receipt and runs nothing.
    pub fn interrupt(&mut self, env: &Env<'_>) -> Vec<Receipt> {
        let Some(running) = self.running.take() else {
            return Vec::new();
        };
        // Before the record: nothing of the action may run on once it is said to be over.
        let leftovers = env.clean_up.map(|clean_up| clean_up(&running.action_id));
        let message = format!(
            "`{}` started (seq {}) but its outcome was never recorded: whether it took effect \
             is unknown{}",
            running.tool,
            running.started_seq,
            leftovers.as_ref().map(said).unwrap_or_default()
        );
        let in_flight = InFlight {
            action_id: running.action_id.clone(),
            tool: running.tool.clone(),
            reason: ReasonCode::ActionInterrupted.to_string(),
            since: running.since,
            polling: None,
        };
        let mut metadata = MetadataBuilder::new();
        metadata.insert(ACTION_ID, &running.action_id);
        metadata.insert("tool", running.tool.as_str());
        metadata.insert("started_seq", &running.started_seq);
        if let Some(key) = &running.idempotency_key {
            key.note(&mut metadata);
        }
        metadata.insert("message", &message);
        if let Some(leftovers) = &leftovers {
            metadata.insert_struct("leftover_processes", leftovers);
        }
        if let Some(action) = env
            .catalog
            .tool(running.tool.as_str())
            .and_then(|t| t.action)
        {
            super::andon::note_domain_events(
                &mut metadata,
                action,
                &[EventType::ActionInterrupted],
            );
        }
        metadata.insert_struct("in_flight", &in_flight);
        self.in_flight = Some(in_flight);
        let r = self.seal(
            env,
            Draft {
                event: EventType::ActionInterrupted,
                to: GovernorState::Intervening,
                reason: Some(ReasonCode::ActionInterrupted),
                metadata,
            },
        );
        self.remember_call(running.idempotency_key.as_ref(), Some(&r));
        vec![r]
    }

    /// Replay: what a stored receipt says about a started action.
    pub(super) fn replay_running(
        &mut self,
        r: &Receipt,
        field: &dyn Fn(&str) -> serde_json::Value,
    ) {
        self.running = if r.body.event_type == EventType::ActionStarted {
            let tool = field("tool");
            let key = CallKey::recorded(field);
            let action_id = serde_json::from_value(field(ACTION_ID))
                .unwrap_or_else(|_| ActionRunId::of_receipt(&r.body.id));
            serde_json::from_value(tool).ok().map(|tool| Running {
                action_id,
                tool,
                started_seq: r.seq,
                since: r.body.timestamp,
                idempotency_key: key,
            })
        } else {
            None
        };
    }
}

/// What the interruption's message says of the processes the action left behind.
fn said(l: &Leftovers) -> String {
    let processes = |n: u64| if n == 1 { "process" } else { "processes" };
    let mut out = if !l.searched {
        "; its handler died with the tai that ran it, but with no cgroups on this machine \
         what the handler started cannot be found"
            .to_owned()
    } else if l.found == 0 {
        "; nothing of it was still running in a cgroup on this machine".to_owned()
    } else {
        format!(
            "; {} {} it left running on this machine {} killed before this was recorded",
            l.killed,
            processes(l.killed),
            if l.killed == 1 { "was" } else { "were" }
        )
    };
    if l.killed < l.found {
        let left = l.found - l.killed;
        out.push_str(&format!("; {left} {} would not die", processes(left)));
    }
    if let Some(problem) = &l.problem {
        out.push_str(&format!(" ({problem})"));
    }
    out
}
