//! How an execution ended, in terms a receipt and a user can act on.
//!
//! Exceeding a bound is kept apart from an ordinary failure because the governor reacts to
//! them differently (a bound moves the tenant to `intervening`) and a receipt must say which
//! bound was hit.

use std::fmt;

use serde::{Deserialize, Serialize};

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
        /// Peak memory observed, when known (MiB, rounded up).
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

/// A bound an execution can exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The wall-clock limit.
    Timeout,
    /// The memory limit.
    Memory,
    /// The output cap.
    Output,
}

impl Bound {
    /// Stable lowercase name, as used in receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Timeout => "timeout",
            Bound::Memory => "memory",
            Bound::Output => "output",
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// Whether the action succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success { .. })
    }

    /// The bound the action exceeded, if that is why it ended.
    pub fn exceeded(&self) -> Option<Bound> {
        match self {
            Outcome::Timeout { .. } => Some(Bound::Timeout),
            Outcome::MemoryExceeded { .. } => Some(Bound::Memory),
            Outcome::OutputExceeded { .. } => Some(Bound::Output),
            Outcome::Success { .. } | Outcome::Error { .. } => None,
        }
    }
}

/// One line for receipts and timelines, e.g. `timed out after 1000 ms (limit 1000 ms)`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success { elapsed_ms, .. } => write!(f, "succeeded in {elapsed_ms} ms"),
            Outcome::Timeout {
                limit_ms,
                elapsed_ms,
            } => write!(f, "timed out after {elapsed_ms} ms (limit {limit_ms} ms)"),
            Outcome::MemoryExceeded {
                limit_mb,
                used_mb: Some(used),
            } => write!(
                f,
                "exceeded the memory limit: used {used} MiB (limit {limit_mb} MiB)"
            ),
            Outcome::MemoryExceeded {
                limit_mb,
                used_mb: None,
            } => write!(f, "exceeded the memory limit of {limit_mb} MiB"),
            Outcome::OutputExceeded { limit_bytes } => {
                write!(f, "wrote more than the output cap of {limit_bytes} bytes")
            }
            Outcome::Error { message, .. } => write!(f, "failed: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_named() {
        let timeout = Outcome::Timeout {
            limit_ms: 10,
            elapsed_ms: 12,
        };
        assert_eq!(timeout.exceeded(), Some(Bound::Timeout));
        assert_eq!(timeout.to_string(), "timed out after 12 ms (limit 10 ms)");
        let memory = Outcome::MemoryExceeded {
            limit_mb: 64,
            used_mb: None,
        };
        assert_eq!(memory.exceeded().map(Bound::as_str), Some("memory"));
        let output = Outcome::OutputExceeded { limit_bytes: 1 };
        assert_eq!(output.exceeded(), Some(Bound::Output));
        let error = Outcome::Error {
            message: "boom".into(),
            exit_code: Some(1),
        };
        assert_eq!(error.exceeded(), None);
        assert!(!error.is_success());
        assert_eq!(error.to_string(), "failed: boom");
    }

    #[test]
    fn serializes_with_an_outcome_tag() {
        let json = serde_json::to_value(Outcome::MemoryExceeded {
            limit_mb: 64,
            used_mb: Some(80),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "outcome": "memory_exceeded", "limit_mb": 64, "used_mb": 80 })
        );
    }
}
