//! Command handlers: an external program run under the action's bounds.
//!
//! The contract with the program: its JSON arguments arrive on stdin (closed after them),
//! it prints exactly one JSON value, its result, on stdout and exits 0. Anything on stderr
//! is for humans and is quoted in error messages.
//!
//! The program runs
//! - in its own process group, so a timeout or any other bound kills everything it started;
//! - under the wall-clock timeout, measured from spawn;
//! - with each process's address space capped at the memory limit (`RLIMIT_AS`), and the
//!   group's total resident memory watched against the same limit. Runtimes that reserve
//!   large virtual ranges up front (JVM, Node, Go) need a limit with room for that;
//! - with its stdout capped at the output limit; stderr is drained without a cap, only its
//!   tail is kept for messages;
//! - with a clean environment: only `PATH`, `HOME` and `LANG` are passed through (when
//!   set), plus the handler's declared `env`, which wins. A pack's command sees the same
//!   environment on every machine, and the caller's secrets do not leak into it;
//! - in the caller's working directory.

use crate::catalog;

use super::{Limits, Outcome};

/// Variables passed through from the caller's environment.
const PASSED_THROUGH: [&str; 3] = ["PATH", "HOME", "LANG"];

/// Runs `cmd` with `args` under `limits`.
#[cfg(unix)]
pub(super) fn run(
    cmd: &catalog::Command,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
) -> Outcome {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;

    use super::{process, supervise, verdict};

    let mut command = std::process::Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .env_clear()
        .envs(
            PASSED_THROUGH
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .envs(&cmd.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    process::limit_address_space(&mut command, limits.max_memory_bytes());

    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return verdict::spawn_failed(&cmd.program, &e, limits),
    };
    // A JSON value always serializes; `null` keeps the stdin contract if it ever did not.
    let input = serde_json::to_vec(args).unwrap_or_else(|_| b"null".to_vec());
    match supervise::supervise(child, input, limits) {
        Ok(finished) => verdict::judge(&cmd.program, &finished, limits),
        Err(e) => Outcome::Error {
            message: format!("could not supervise `{}`: {e}", cmd.program),
            exit_code: None,
        },
    }
}

/// Command handlers need process groups and resource limits, which only unix provides.
#[cfg(not(unix))]
pub(super) fn run(
    cmd: &catalog::Command,
    _args: &serde_json::Map<String, serde_json::Value>,
    _: &Limits,
) -> Outcome {
    let _ = PASSED_THROUGH;
    Outcome::Error {
        message: format!(
            "cannot run `{}`: command handlers are only supported on unix systems",
            cmd.program
        ),
        exit_code: None,
    }
}
