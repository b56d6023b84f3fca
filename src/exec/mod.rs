//! Bounded execution of a tool's action: simulated handlers and external commands run under
//! real time, memory, CPU and output limits, and command handlers inside a box they cannot
//! leave.
//!
//! A tool call that passed the governor's gates ends here. Whatever the handler does, the
//! caller gets back one [`Outcome`] that says whether it succeeded, which bound it exceeded,
//! or why it failed, so the receipt can record exactly that, with the [`Usage`] measured
//! for a command. This module knows nothing of tenants or governors: it takes a handler,
//! its JSON arguments and the [`Limits`] in force, and blocks until the action is over.
//!
//! - `simulated` handlers are judged, never run: deterministic and free.
//! - `command` handlers run an external program under a wall-clock timeout, an
//!   address-space limit plus a resident-memory watchdog, a CPU share, and output caps, in
//!   a confinement (a cgroup per action, else tai as subreaper of its process tree) killed
//!   as a whole when the action ends, and in a file-system sandbox as an unprivileged user.
//!   [`protections`] says which of these mechanisms this machine offers.

#[cfg(unix)]
mod cgroup;
mod command;
#[cfg(unix)]
mod confine;
#[cfg(unix)]
mod cpu;
mod limits;
#[cfg(unix)]
mod memory;
mod outcome;
#[cfg(unix)]
mod process;
#[cfg(unix)]
mod procfs;
#[cfg(unix)]
mod protections;
#[cfg(unix)]
mod sandbox;
mod simulated;
#[cfg(unix)]
mod stale;
#[cfg(unix)]
mod streams;
#[cfg(unix)]
mod supervise;
#[cfg(unix)]
mod tree;
mod verdict;

pub use limits::{DEFAULT_MEMORY_MB, DEFAULT_OUTPUT_KB, DEFAULT_TIMEOUT, Limits};
pub use outcome::{Bound, Outcome};
#[cfg(unix)]
pub use process::make_non_dumpable;
#[cfg(unix)]
pub use protections::{DEFAULT_HANDLER_USER, Protection, Protections, Status, protections};
#[cfg(unix)]
pub use sandbox::{protect_path, protect_secret};

use serde::{Deserialize, Serialize};

use crate::catalog::Handler;
use crate::ids::ActionRunId;

/// What running an action cost, as measured; recorded in the outcome's receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Wall-clock time from spawn to the end of the action.
    pub wall_ms: u64,
    /// CPU time of all the action's processes (counted by the kernel where a cgroup held
    /// them, else sampled).
    pub cpu_ms: Option<u64>,
    /// The largest resident memory of all the action's processes sampled (MiB, rounded up).
    pub peak_memory_mb: Option<u64>,
}

/// How an action ended and, for a command, what it used.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// How it ended.
    pub outcome: Outcome,
    /// What it used; `None` for simulated handlers and for commands that never started.
    pub usage: Option<Usage>,
}

/// What was left running of an action whose tai died while it ran, and what became of it;
/// recorded in the receipt that records the action as interrupted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftovers {
    /// Whether this machine's cgroups were searched for the action's processes. Where tai
    /// uses none, its handler died with it but what the handler started cannot be found.
    pub searched: bool,
    /// Processes found still in the action's cgroups after its tai was gone.
    pub found: u64,
    /// How many of them were killed (all but those that would not die).
    pub killed: u64,
    /// Why some could not be killed or their cgroup not removed, when so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Kills whatever actions of tai processes that are gone left running on this machine,
/// removes their cgroups, and says what was left of `action`. Never touches a live tai's
/// actions. Call it before recording `action` as interrupted, so the record says what it
/// left behind and nothing of it runs on after.
pub fn clean_up_after(action: &ActionRunId) -> Leftovers {
    #[cfg(unix)]
    {
        protections::clean_up_after(action.as_str())
    }
    #[cfg(not(unix))]
    {
        let _ = action;
        Leftovers::default()
    }
}

impl Run {
    fn unmeasured(outcome: Outcome) -> Run {
        Run {
            outcome,
            usage: None,
        }
    }
}

/// Runs `handler` with `args` under `limits`, blocking until it is over.
pub fn run(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
) -> Outcome {
    execute(handler, args, limits).outcome
}

/// Runs a status tool's `handler` as the governor's poll number `poll` (from 0) of an action
/// in flight: a simulated handler answers from its `sequence`; anything else runs as called.
pub fn poll(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
    poll: u64,
) -> Outcome {
    match handler {
        Handler::Simulated(sim) => simulated::run_poll(sim, args, limits, Some(poll)),
        other => run(other, args, limits),
    }
}

/// Runs `handler` with `args` under `limits`, blocking until it is over; also says what a
/// command used.
pub fn execute(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
) -> Run {
    execute_as(handler, args, limits, None)
}

/// [`execute`] for the recorded action `action`: a command's cgroup carries the action's
/// id, so should this tai die while it runs, the next one can say what it left behind
/// ([`clean_up_after`]).
pub fn execute_action(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
    action: &ActionRunId,
) -> Run {
    execute_as(handler, args, limits, Some(action))
}

fn execute_as(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
    action: Option<&ActionRunId>,
) -> Run {
    match handler {
        Handler::Simulated(sim) => Run::unmeasured(simulated::run(sim, args, limits)),
        Handler::Command(cmd) => command::run(cmd, args, limits, action.map(ActionRunId::as_str)),
        // Built-ins read the tenant's chain, which only the governor has.
        Handler::Builtin(b) => Run::unmeasured(Outcome::Error {
            message: format!(
                "built-in `{}` reads the tenant's receipts and runs at the governor",
                b.builtin.as_str()
            ),
            exit_code: None,
        }),
    }
}
