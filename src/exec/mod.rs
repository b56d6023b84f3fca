//! Bounded execution of a tool's action: simulated handlers and external commands run under
//! real time, memory and output limits.
//!
//! A tool call that passed the governor's gates ends here. Whatever the handler does, the
//! caller gets back one [`Outcome`] that says whether it succeeded, which bound it exceeded,
//! or why it failed, so the receipt can record exactly that. This module knows nothing of
//! tenants or governors: it takes a handler, its JSON arguments and the [`Limits`] in force,
//! and blocks until the action is over.
//!
//! - [`simulated`] handlers are judged, never run: deterministic and free.
//! - [`command`] handlers run an external program in its own process group under a
//!   wall-clock timeout, an address-space limit plus a resident-memory watchdog, and an
//!   output cap; whatever bound is hit, the whole group is killed.

mod command;
mod limits;
#[cfg(unix)]
mod memory;
mod outcome;
#[cfg(unix)]
mod process;
mod simulated;
#[cfg(unix)]
mod streams;
#[cfg(unix)]
mod supervise;
mod verdict;

pub use limits::{DEFAULT_MEMORY_MB, DEFAULT_OUTPUT_KB, DEFAULT_TIMEOUT, Limits};
pub use outcome::{Bound, Outcome};

use crate::catalog::Handler;

/// Runs `handler` with `args` under `limits`, blocking until it is over.
pub fn run(
    handler: &Handler,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
) -> Outcome {
    match handler {
        Handler::Simulated(sim) => simulated::run(sim, args, limits),
        Handler::Command(cmd) => command::run(cmd, args, limits),
    }
}
