//! Actions that resolve themselves: while an action that declares `resolve` is in flight, the
//! governor polls its status tool as time passes and resolves it when the status says done or
//! failed, or when its deadline passes.
//!
//! Polls happen where time acts on a tenant, in [`Tenant::tick`]: at the start of every
//! operation, on a scenario's `advance`, and on `tai serve`'s ticker under the real clock. One
//! tick polls at most once: a poll missed while nothing ran is not made up, the next one is
//! due a full interval after the poll that ran. Every poll is a receipt (`action_polled`,
//! with the result), because the evidence for an automatic resolution is what the status
//! tool said, each time it was asked.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{Action, AutoResolve, StatusVerdict};
use crate::clock::Timestamp;
use crate::exec::{self, Limits, Outcome};
use crate::ids::ToolName;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{EventType, GovernorState};

use super::tenant::{ACTION_ID, Draft};
use super::{Env, InFlight, Resolution, Tenant};

/// How the governor resolves an action in flight on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Polling {
    /// The status tool polled.
    pub status_tool: ToolName,
    /// Its arguments.
    pub arguments: Map<String, Value>,
    /// Polls made so far.
    pub polls: u64,
    /// When the next poll is due.
    pub next_poll_at: Timestamp,
    /// When the action counts as failed if no poll said otherwise.
    pub deadline_at: Timestamp,
}

impl Polling {
    /// The polling an overrun of `action` (called with `arguments`, started at `since`)
    /// gets, if the action declares `resolve` and its status tool is in the catalog.
    pub(super) fn of(
        env: &Env<'_>,
        action: &Action,
        arguments: &Map<String, Value>,
        since: Timestamp,
    ) -> Option<Polling> {
        let resolve = action.resolve.as_ref()?;
        let status = env.catalog.tool(resolve.status_tool.as_str())?;
        Some(Polling {
            status_tool: resolve.status_tool.clone(),
            arguments: resolve.poll_args(status.tool, arguments),
            polls: 0,
            next_poll_at: env.now.plus(Duration::from_millis(resolve.every_ms)),
            deadline_at: since.plus(Duration::from_millis(resolve.deadline_ms)),
        })
    }
}

/// What decided an automatic resolution, for its receipt's `resolved_by`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum ResolvedBy<'a> {
    /// A poll's result matched `done_when` or `failed_when`.
    Poll {
        tool: &'a ToolName,
        seq: u64,
        result: &'a Value,
    },
    /// The deadline passed first.
    Deadline { at: Timestamp, polls: u64 },
}

impl Tenant {
    /// Polls the in-flight action's status tool when a poll is due, and resolves the action
    /// when the result or the deadline decides it. Returns the receipts written.
    pub(super) fn poll(&mut self, env: &Env<'_>) -> Vec<Receipt> {
        let Some((in_flight, polling)) = self.polled() else {
            return Vec::new();
        };
        if env.now >= polling.deadline_at {
            let mut metadata = MetadataBuilder::new();
            let by = ResolvedBy::Deadline {
                at: polling.deadline_at,
                polls: polling.polls,
            };
            metadata.insert("resolved_by", &by);
            let message = format!(
                "`{}` did not report done by its deadline {}",
                in_flight.tool, polling.deadline_at
            );
            metadata.insert("message", &message);
            return vec![self.seal_resolution(env, in_flight, Resolution::Failed, metadata)];
        }
        if env.now < polling.next_poll_at {
            return Vec::new();
        }
        let Some((resolve, status)) = resolve_of(env, &in_flight) else {
            return Vec::new();
        };
        let limits = Limits::resolve(status.action, status.pack);
        let outcome = exec::poll(
            &status.tool.handler,
            &polling.arguments,
            &limits,
            polling.polls,
        );
        let mut metadata = MetadataBuilder::new();
        metadata.insert(ACTION_ID, &in_flight.action_id);
        metadata.insert("status_tool", polling.status_tool.as_str());
        metadata.insert_map("arguments", &polling.arguments);
        metadata.insert("poll", &(polling.polls + 1));
        let (verdict, result) = match outcome {
            Outcome::Success { result, .. } => (resolve.verdict(&result), Some(result)),
            other => {
                metadata.insert("error", &other.to_string());
                (StatusVerdict::Pending, None)
            }
        };
        if let Some(result) = &result {
            metadata.insert_value("result", result);
        }
        metadata.insert("verdict", verdict_name(verdict));
        let mut next = in_flight.clone();
        next.polling = Some(Polling {
            polls: polling.polls + 1,
            next_poll_at: env.now.plus(Duration::from_millis(resolve.every_ms)),
            ..polling
        });
        metadata.insert_struct("in_flight", &next);
        self.in_flight = Some(next.clone());
        let polled = self.seal(
            env,
            Draft {
                event: EventType::ActionPolled,
                to: GovernorState::Intervening,
                reason: None,
                metadata,
            },
        );
        let resolution = match verdict {
            StatusVerdict::Done => Resolution::Complete,
            StatusVerdict::Failed => Resolution::Failed,
            StatusVerdict::Pending => return vec![polled],
        };
        let mut metadata = MetadataBuilder::new();
        let tool = next
            .polling
            .as_ref()
            .map_or(&next.tool, |p| &p.status_tool)
            .clone();
        let result = result.unwrap_or(Value::Null);
        let by = ResolvedBy::Poll {
            tool: &tool,
            seq: polled.seq,
            result: &result,
        };
        metadata.insert("resolved_by", &by);
        let resolved = self.seal_resolution(env, next, resolution, metadata);
        vec![polled, resolved]
    }

    /// The action in flight and its polling, when the governor resolves it on its own.
    fn polled(&self) -> Option<(InFlight, Polling)> {
        if self.state != GovernorState::Intervening {
            return None;
        }
        let in_flight = self.in_flight.as_ref()?;
        let polling = in_flight.polling.clone()?;
        Some((in_flight.clone(), polling))
    }

    /// When the next poll of the action in flight is due (its deadline, if sooner).
    pub fn next_poll_at(&self) -> Option<Timestamp> {
        self.polled()
            .map(|(_, p)| p.next_poll_at.min(p.deadline_at))
    }
}

/// The in-flight action's `resolve` and its status tool, as the catalog declares them now.
fn resolve_of<'c>(
    env: &Env<'c>,
    in_flight: &InFlight,
) -> Option<(&'c AutoResolve, crate::catalog::ToolRef<'c>)> {
    let resolve = env
        .catalog
        .tool(in_flight.tool.as_str())?
        .action?
        .resolve
        .as_ref()?;
    let status = env.catalog.tool(resolve.status_tool.as_str())?;
    Some((resolve, status))
}

fn verdict_name(v: StatusVerdict) -> &'static str {
    match v {
        StatusVerdict::Done => "done",
        StatusVerdict::Failed => "failed",
        StatusVerdict::Pending => "pending",
    }
}
