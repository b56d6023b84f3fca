//! Bounded execution of a tool's action: simulated handlers and external commands run under
//! real time, memory and output limits.
//!
//! (Interface fixed here; implementation in progress.)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Action, ComputeLimits, Handler, Pack};

/// Default wall-clock limit when neither action nor pack sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default memory limit in MiB.
pub const DEFAULT_MEMORY_MB: u64 = 256;
/// Default output cap in KiB.
pub const DEFAULT_OUTPUT_KB: u64 = 1024;

/// The bounds one execution runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit.
    pub timeout_ms: u64,
    /// Memory limit in MiB.
    pub max_memory_mb: u64,
    /// Output cap in bytes.
    pub max_output_bytes: u64,
}

impl Limits {
    /// Limits for `action`: the action's own, else the pack's, else the defaults, per field.
    pub fn resolve(action: Option<&Action>, pack: &Pack) -> Limits {
        let layers: [Option<&ComputeLimits>; 2] = [
            action.and_then(|a| a.compute_limits.as_ref()),
            pack.compute_limits.as_ref(),
        ];
        let pick =
            |f: fn(&ComputeLimits) -> Option<u64>| layers.iter().flatten().find_map(|l| f(l));
        Limits {
            timeout_ms: pick(|l| l.timeout_ms).unwrap_or(DEFAULT_TIMEOUT.as_millis() as u64),
            max_memory_mb: pick(|l| l.max_memory_mb).unwrap_or(DEFAULT_MEMORY_MB),
            max_output_bytes: pick(|l| l.max_output_kb).unwrap_or(DEFAULT_OUTPUT_KB) * 1024,
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The action succeeded with this result.
    Success {
        /// The action's JSON result.
        result: serde_json::Value,
        /// How long it ran (simulated or measured).
        elapsed_ms: u64,
    },
    /// The action overran its wall-clock limit and was stopped.
    Timeout {
        /// The limit in force.
        limit_ms: u64,
        /// How long it ran before being stopped.
        elapsed_ms: u64,
    },
    /// The action overran its memory limit and was stopped.
    MemoryExceeded {
        /// The limit in force.
        limit_mb: u64,
        /// Peak memory observed, when known.
        used_mb: Option<u64>,
    },
    /// The action wrote more output than allowed and was stopped.
    OutputExceeded {
        /// The cap in force.
        limit_bytes: u64,
    },
    /// The action failed: non-zero exit, a signal, invalid JSON output or a declared error.
    Error {
        /// What went wrong.
        message: String,
        /// The exit code, when the process exited.
        exit_code: Option<i32>,
    },
}

/// Runs `handler` with `args` under `limits`.
pub fn run(handler: &Handler, args: &serde_json::Value, limits: &Limits) -> Outcome {
    let _ = (handler, args, limits);
    Outcome::Error {
        message: "execution not yet wired".into(),
        exit_code: None,
    }
}
