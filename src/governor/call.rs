//! A tool call at a governor, in named steps: find the tool, check the governor's state, pass
//! gates 1-3, run the action within its bounds, record the one receipt that decides the call.

use serde_json::{Map, Value};

use crate::catalog::{Action, Handler, ToolRef};
use crate::exec::{self, Limits, Outcome};
use crate::ids::ActionRunId;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::{Decision, EventType, Gate, GovernorState, ReasonCode};

use super::andon::note_domain_events;
use super::builtin;
use super::gates::{self, GateInput};
use super::requests::CallKey;
use super::tenant::{ACTION_ID, Draft, NextId};
use super::{CallOutcome, Env, InFlight, Polling, Running, Tenant, ToolCall};

/// Why a call stopped before its action ran. Its sentence is already in the metadata.
struct Stop {
    decision: Decision,
    gate: Option<Gate>,
    reason: ReasonCode,
    message: String,
}

/// Stops a call that no gate refused, noting why in the metadata.
fn stop(
    metadata: &mut MetadataBuilder,
    decision: Decision,
    gate: Option<Gate>,
    reason: ReasonCode,
    message: String,
) -> Stop {
    metadata.insert("message", &message);
    Stop {
        decision,
        gate,
        reason,
        message,
    }
}

/// How an action that ran went wrong: the receipt's event, the reason and a sentence.
struct Overrun {
    event: EventType,
    reason: ReasonCode,
    message: String,
}

/// A call decided at the governor, or one whose command must now run outside the tenant.
#[derive(Debug)]
pub enum Begun<'c> {
    /// Decided: refused, answered as a repeat, or its simulated action already judged.
    Decided(CallOutcome),
    /// Passed the gates; its command runs once [`StartedCall::receipts`] are durable.
    Started(StartedCall<'c>),
}

/// A call whose command is about to run: `action_started` is sealed (write-ahead), and the
/// outcome is recorded by [`Tenant::finish_call`] once [`StartedCall::run`] returns.
#[derive(Debug)]
pub struct StartedCall<'c> {
    /// To be made durable before the program starts: anything time recorded, then
    /// `action_started`.
    pub receipts: Vec<Receipt>,
    tool: ToolRef<'c>,
    action: &'c Action,
    limits: Limits,
    arguments: Map<String, Value>,
    metadata: MetadataBuilder,
    started_seq: u64,
    action_id: ActionRunId,
}

impl StartedCall<'_> {
    /// Runs the command within its limits; blocks for as long as it runs. Nothing of the
    /// tenant is needed (or held) meanwhile. Its processes are held under the action's id,
    /// so what a killed tai leaves of them can be found and named later.
    pub fn run(&self) -> exec::Run {
        exec::execute_action(
            &self.tool.tool.handler,
            &self.arguments,
            &self.limits,
            &self.action_id,
        )
    }
}

impl Tenant {
    /// Runs a tool call: registry lookup, governor state, gates 1-3, then bounded execution.
    /// After what [`Tenant::tick`] records, exactly one receipt decides the call; a command
    /// is preceded by its `action_started` receipt (see [`Tenant::begin_call`]).
    /// A call whose idempotency key the tenant has seen runs nothing and is answered from
    /// the receipt that decided it.
    pub fn call(&mut self, env: &Env<'_>, call: &ToolCall) -> CallOutcome {
        match self.begin_call(env, call) {
            Begun::Decided(outcome) => outcome,
            Begun::Started(started) => {
                let run = started.run();
                self.finish_call(env, started, run)
            }
        }
    }

    /// Everything of a call up to its action: a call that stops, is a repeat, or runs a
    /// simulated handler is decided here; one that runs a command is recorded as started,
    /// and its caller makes that durable, runs it and hands the run to
    /// [`Tenant::finish_call`] — without holding the tenant meanwhile.
    pub fn begin_call<'c>(&mut self, env: &Env<'c>, call: &ToolCall) -> Begun<'c> {
        let key = CallKey::of(call);
        let key = key.as_ref();
        let interrupted = self.interrupt(env);
        if let Some(mut repeat) = self.repeated_call(key) {
            repeat.receipts = interrupted;
            return Begun::Decided(repeat);
        }
        let mut receipts = interrupted;
        receipts.extend(self.tick(env));
        let ticked = receipts.len();
        let mut metadata = MetadataBuilder::new();
        metadata.insert("tool", &call.tool);
        if let Some(principal) = &call.principal {
            metadata.insert("principal", principal);
        }
        if let Some(key) = key {
            key.note(&mut metadata);
        }
        let outcome = match self.admit(env, call, &mut metadata) {
            Ok((tool, action)) => {
                let limits = self.limits(call, tool, action, &mut metadata);
                let run = match &tool.tool.handler {
                    Handler::Command(_) => {
                        let at = (tool, action);
                        let started = self.start(env, receipts, metadata, (call, key), at, limits);
                        return Begun::Started(started);
                    }
                    Handler::Builtin(b) => {
                        let args = &call.arguments;
                        match builtin::run(b.builtin, env.evidence, &self.id, args, &limits) {
                            Ok(outcome) => Ok(exec::Run {
                                outcome,
                                usage: None,
                            }),
                            Err(refused) => Err({
                                metadata.insert("gate", Gate::Preconditions.as_str());
                                stop(
                                    &mut metadata,
                                    Decision::Refused,
                                    Some(Gate::Preconditions),
                                    refused.reason,
                                    refused.message,
                                )
                            }),
                        }
                    }
                    Handler::Simulated(_) => {
                        Ok(exec::execute(&tool.tool.handler, &call.arguments, &limits))
                    }
                };
                match run {
                    Ok(run) => {
                        let at = (tool, action, &call.arguments);
                        self.record_run(env, receipts, metadata, at, run, None)
                    }
                    Err(stop) => self.record_stop(env, receipts, metadata, stop),
                }
            }
            Err(stop) => self.record_stop(env, receipts, metadata, stop),
        };
        self.remember_call(key, outcome.receipts.get(ticked));
        Begun::Decided(outcome)
    }

    /// Seals `action_started` for an admitted command: the tenant is running it until
    /// [`Tenant::finish_call`] (or, should nobody finish it, [`Tenant::interrupt`]).
    fn start<'c>(
        &mut self,
        env: &Env<'c>,
        mut receipts: Vec<Receipt>,
        metadata: MetadataBuilder,
        (call, key): (&ToolCall, Option<&CallKey>),
        (tool, action): (ToolRef<'c>, &'c Action),
        limits: Limits,
    ) -> StartedCall<'c> {
        let mut metadata = metadata;
        let receipt_id = self.next_receipt_id(env);
        let action_id = receipt_id.action_id();
        metadata.insert(ACTION_ID, &action_id);
        let mut written_ahead = metadata.clone();
        note_domain_events(&mut written_ahead, action, &[EventType::ActionStarted]);
        let started = self.seal_as(
            env,
            Draft {
                event: EventType::ActionStarted,
                to: self.state,
                reason: None,
                metadata: written_ahead,
            },
            receipt_id,
        );
        let started_seq = started.seq;
        self.remember_call(key, Some(&started));
        self.running = Some(Running {
            action_id: action_id.clone(),
            tool: tool.tool.name.clone(),
            started_seq,
            since: env.now,
            idempotency_key: key.cloned(),
        });
        receipts.push(started);
        StartedCall {
            receipts,
            tool,
            action,
            limits,
            arguments: call.arguments.clone(),
            metadata,
            started_seq,
            action_id,
        }
    }

    /// Records how a started command went: the one receipt that decides the call, linked to
    /// its `action_started` by `started_seq`.
    pub fn finish_call(
        &mut self,
        env: &Env<'_>,
        started: StartedCall<'_>,
        run: exec::Run,
    ) -> CallOutcome {
        let StartedCall {
            receipts: written_ahead,
            tool,
            action,
            mut metadata,
            started_seq,
            arguments,
            ..
        } = started;
        metadata.insert("started_seq", &started_seq);
        let (action_id, key) = match self.running.take() {
            Some(r) => (r.action_id, r.idempotency_key),
            // Only `interrupt` takes it, and nothing runs it while this call holds the
            // tenant's operations: name the action from its start all the same.
            None => (self.action_id_at(env, started_seq), None),
        };
        let at = (tool, action, &arguments);
        let mut outcome = self.record_run(env, Vec::new(), metadata, at, run, Some(action_id));
        self.remember_call(key.as_ref(), outcome.receipts.first());
        outcome.started = written_ahead;
        outcome
    }

    /// Everything before the action runs, in order; the first step that says no stops the
    /// call. What passes is the tool and its action.
    fn admit<'c>(
        &self,
        env: &Env<'c>,
        call: &ToolCall,
        metadata: &mut MetadataBuilder,
    ) -> Result<(ToolRef<'c>, &'c Action), Stop> {
        let tool = self.find_tool(env, call, metadata)?;
        metadata.insert("pack", tool.pack.pack_id.as_str());
        metadata.insert("action", tool.tool.action.as_str());
        metadata.insert_map("arguments", &call.arguments);
        if !call.context.is_empty() {
            metadata.insert_map("context", &call.context);
        }
        self.check_ready(metadata)?;
        self.check_line(tool, metadata)?;
        let action = declared_action(tool, call, metadata)?;
        self.pass_gates(env, call, tool, action, metadata)?;
        Ok((tool, action))
    }

    /// The registry: a tool outside the tenant's visible tools is not found, in any state.
    fn find_tool<'c>(
        &self,
        env: &Env<'c>,
        call: &ToolCall,
        metadata: &mut MetadataBuilder,
    ) -> Result<ToolRef<'c>, Stop> {
        let found = self
            .tools
            .contains(call.tool.as_str())
            .then(|| env.catalog.tool(&call.tool))
            .flatten();
        found.ok_or_else(|| {
            let message = format!(
                "tool `{}` is not available to tenant `{}`",
                call.tool, self.id
            );
            stop(
                metadata,
                Decision::ToolNotFound,
                None,
                ReasonCode::ToolNotFound,
                message,
            )
        })
    }

    /// The governor's state: only a stable governor accepts work.
    fn check_ready(&self, metadata: &mut MetadataBuilder) -> Result<(), Stop> {
        let (reason, message) = match self.state {
            GovernorState::Stable => return Ok(()),
            GovernorState::Boot => (
                ReasonCode::GovernorNotReady,
                "the governor is booting: send a signal once the entitlement is active",
            ),
            GovernorState::Intervening => (
                ReasonCode::ActionInFlight,
                "an action is being resolved; no new work is accepted until it completes or fails",
            ),
            GovernorState::Refusing => (
                ReasonCode::GovernorRefusing,
                "the governor is refusing work until an entitlement change recovers it",
            ),
        };
        Err(stop(
            metadata,
            Decision::Refused,
            None,
            reason,
            message.to_owned(),
        ))
    }

    /// The Andon cord: a pack whose line a critical Andon stopped runs nothing until it is
    /// cleared.
    fn check_line(&self, tool: ToolRef<'_>, metadata: &mut MetadataBuilder) -> Result<(), Stop> {
        let Some(stop) = self.stopped_by(&tool.pack.pack_id) else {
            return Ok(());
        };
        metadata.insert("andon", stop.signal.as_str());
        metadata.insert("andon_seq", &stop.seq);
        let message = format!(
            "pack `{}` is stopped: Andon `{}` was raised at {} (seq {}); clear it with \
             `tai andon clear --tenant {} {}`",
            tool.pack.pack_id, stop.signal, stop.since, stop.seq, self.id, stop.signal
        );
        Err(stop_call(metadata, ReasonCode::AndonStopped, message))
    }

    /// Gates 1, 2 and 3, in order; the first refusal stops the call.
    fn pass_gates(
        &self,
        env: &Env<'_>,
        call: &ToolCall,
        tool: ToolRef<'_>,
        action: &Action,
        metadata: &mut MetadataBuilder,
    ) -> Result<(), Stop> {
        let input = GateInput {
            entitlement: self.entitlement.as_ref(),
            now: env.now,
            action,
            context: &call.context,
            facts: &self.facts,
            tool,
            arguments: &call.arguments,
            tenant: &self.id,
            principal: call.principal.as_ref(),
            policy: self.iam.as_ref().map(|p| &p.policy),
        };
        let passed = gates::check(&input).map_err(|refusal| {
            note_domain_events(metadata, action, &[EventType::ActionRefused]);
            metadata.insert("gate", refusal.gate.as_str());
            metadata.insert("message", &refusal.message);
            metadata.extend(refusal.detail);
            Stop {
                decision: Decision::Refused,
                gate: Some(refusal.gate),
                reason: refusal.reason,
                message: refusal.message,
            }
        })?;
        if let Some(record) = gates::Record::of(&input, passed.preconditions) {
            metadata.insert_object("gates", |gates| record.write(gates));
        }
        if let Some(iam) = passed.iam {
            metadata.insert_struct("iam_bindings", &iam.bindings);
        }
        Ok(())
    }

    /// The action's limits, its timeout tightened by the call's; when the call asked for a
    /// timeout, the receipt also says which limit is in force and where it comes from.
    fn limits(
        &self,
        call: &ToolCall,
        tool: ToolRef<'_>,
        action: &Action,
        metadata: &mut MetadataBuilder,
    ) -> Limits {
        let (limits, tightened) =
            Limits::resolve(Some(action), tool.pack).tightened(call.timeout_ms);
        metadata.insert_object("limits", |w| limits.write(w));
        if let Some(asked) = call.timeout_ms {
            let source = if tightened {
                "call"
            } else {
                Limits::timeout_source(Some(action), tool.pack)
            };
            metadata.insert("call_timeout_ms", &asked);
            metadata.insert("timeout_from", source);
        }
        limits
    }

    /// Records how an admitted action's run went; `started` is the action's id when its
    /// start has its own `action_started` receipt (which named it), else the receipt written
    /// here records the start too and names the action.
    fn record_run(
        &mut self,
        env: &Env<'_>,
        receipts: Vec<Receipt>,
        mut metadata: MetadataBuilder,
        (tool, action, arguments): (ToolRef<'_>, &Action, &Map<String, Value>),
        run: exec::Run,
        started: Option<ActionRunId>,
    ) -> CallOutcome {
        let written_ahead = started.is_some();
        let receipt_id = self.next_receipt_id(env);
        let action_id = started.unwrap_or_else(|| {
            let id = receipt_id.action_id();
            metadata.insert(ACTION_ID, &id);
            id
        });
        if let Some(usage) = &run.usage {
            metadata.insert_struct("usage", usage);
        }
        let judged = judge(run.outcome, action, &mut metadata);
        let event = judged
            .as_ref()
            .map_or_else(|o| o.event, |_| EventType::ActionExecuted);
        // A simulated action has no `action_started` receipt: its start is recorded here.
        let points: &[EventType] = if written_ahead {
            &[event]
        } else {
            &[EventType::ActionStarted, event]
        };
        note_domain_events(&mut metadata, action, points);
        match judged {
            Ok(result) => {
                if let Handler::Builtin(b) = &tool.tool.handler
                    && let Some(kept) = builtin::recorded(b.builtin, &result)
                {
                    metadata.insert("result", &kept);
                }
                self.record_success(env, receipts, (metadata, receipt_id), tool, result)
            }
            Err(overrun) => {
                let polling = Polling::of(env, action, arguments, env.now);
                let at = (tool, action_id, polling);
                self.record_overrun(env, receipts, (metadata, receipt_id), at, overrun)
            }
        }
    }

    /// Records an action that succeeded: the governor stays stable.
    fn record_success(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        (metadata, id): (MetadataBuilder, NextId),
        tool: ToolRef<'_>,
        result: Value,
    ) -> CallOutcome {
        receipts.push(self.seal_as(
            env,
            Draft {
                event: EventType::ActionExecuted,
                to: GovernorState::Stable,
                reason: None,
                metadata,
            },
            id,
        ));
        CallOutcome {
            decision: Decision::Executed,
            gate: None,
            reason: None,
            message: super::requests::executed(tool.tool.name.as_str()),
            result: Some(result),
            state: self.state,
            receipts,
            started: Vec::new(),
            repeat_of: None,
        }
    }

    /// Records an action that overran a bound or failed: the governor intervenes, holding
    /// the action in flight until it is reported complete or failed.
    fn record_overrun(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        (mut metadata, id): (MetadataBuilder, NextId),
        (tool, action_id, polling): (ToolRef<'_>, ActionRunId, Option<Polling>),
        overrun: Overrun,
    ) -> CallOutcome {
        let Overrun {
            event,
            reason,
            message,
        } = overrun;
        metadata.insert("message", &message);
        let in_flight = InFlight {
            action_id,
            tool: tool.tool.name.clone(),
            reason: reason.to_string(),
            since: env.now,
            polling,
        };
        metadata.insert_struct("in_flight", &in_flight);
        self.in_flight = Some(in_flight);
        receipts.push(self.seal_as(
            env,
            Draft {
                event,
                to: GovernorState::Intervening,
                reason: Some(reason.clone()),
                metadata,
            },
            id,
        ));
        CallOutcome {
            decision: Decision::Failed,
            gate: None,
            reason: Some(reason),
            message,
            result: None,
            state: self.state,
            receipts,
            started: Vec::new(),
            repeat_of: None,
        }
    }

    /// Records a call that stopped before its action ran; the governor's state is unchanged.
    fn record_stop(
        &mut self,
        env: &Env<'_>,
        mut receipts: Vec<Receipt>,
        metadata: MetadataBuilder,
        stop: Stop,
    ) -> CallOutcome {
        let event = if stop.decision == Decision::ToolNotFound {
            EventType::ToolNotFound
        } else {
            EventType::ActionRefused
        };
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event,
                to,
                reason: Some(stop.reason.clone()),
                metadata,
            },
        ));
        CallOutcome {
            decision: stop.decision,
            gate: stop.gate,
            reason: Some(stop.reason),
            message: stop.message,
            result: None,
            state: self.state,
            receipts,
            started: Vec::new(),
            repeat_of: None,
        }
    }
}

/// The tool's declared action. Validation rejects a tool whose action is missing; refuse
/// rather than guess.
fn declared_action<'c>(
    tool: ToolRef<'c>,
    call: &ToolCall,
    metadata: &mut MetadataBuilder,
) -> Result<&'c Action, Stop> {
    tool.action.ok_or_else(|| {
        stop(
            metadata,
            Decision::Refused,
            Some(Gate::Preconditions),
            ReasonCode::ActionError,
            format!("tool `{}` names no declared action", call.tool),
        )
    })
}

/// What an action's outcome means for the call: its result, or the overrun that sends the
/// governor to intervening. Measurements go into the metadata either way.
fn judge(
    outcome: Outcome,
    action: &Action,
    metadata: &mut MetadataBuilder,
) -> Result<Value, Overrun> {
    let (event, reason, message) = match outcome {
        Outcome::Success { result, elapsed_ms } => {
            metadata.insert("elapsed_ms", &elapsed_ms);
            metadata.insert_value("result", &result);
            return Ok(result);
        }
        Outcome::Timeout {
            limit_ms,
            elapsed_ms,
        } => {
            metadata.insert("elapsed_ms", &elapsed_ms);
            (
                EventType::ActionTimeout,
                ReasonCode::Timeout,
                format!("action `{}` exceeded its {limit_ms} ms timeout", action.id),
            )
        }
        Outcome::MemoryExceeded { limit_mb, used_mb } => {
            metadata.insert("used_mb", &used_mb);
            (
                EventType::ActionMemoryExceeded,
                ReasonCode::MemoryExceeded,
                format!(
                    "action `{}` exceeded its {limit_mb} MiB memory limit",
                    action.id
                ),
            )
        }
        Outcome::OutputExceeded { limit_bytes } => (
            EventType::ActionErrored,
            ReasonCode::OutputLimitExceeded,
            format!(
                "action `{}` wrote more than {limit_bytes} bytes of output",
                action.id
            ),
        ),
        Outcome::Error { message, exit_code } => {
            metadata.insert("exit_code", &exit_code);
            (
                EventType::ActionErrored,
                ReasonCode::ActionError,
                format!("action `{}` failed: {message}", action.id),
            )
        }
    };
    Err(Overrun {
        event,
        reason,
        message,
    })
}

/// Stops a call at the governor (no gate): the call is refused with `reason`.
fn stop_call(metadata: &mut MetadataBuilder, reason: ReasonCode, message: String) -> Stop {
    stop(metadata, Decision::Refused, None, reason, message)
}
