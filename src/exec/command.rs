//! Command handlers: an external program run under the action's bounds, inside its box.
//!
//! The contract with the program: its JSON arguments arrive on stdin (closed after them),
//! it prints exactly one JSON value, its result, on stdout and exits 0. Anything on stderr
//! is for humans and is quoted in error messages.
//!
//! The program runs
//! - in a confinement that holds every process it starts, whatever session or process
//!   group they move to (a cgroup per action, else tai as their subreaper), all killed when
//!   the action ends: see [`super::confine`];
//! - under the wall-clock timeout, measured from spawn;
//! - with each process's address space capped at the memory limit (`RLIMIT_AS`), and the
//!   action's total resident memory watched against the same limit. Runtimes that reserve
//!   large virtual ranges up front (JVM, Node, Go) need a limit with room for that;
//! - held to `max_cpu_percent` of one core when set (cgroup `cpu.max` or v1 CFS quota, else
//!   paused by the CPU-time watchdog);
//! - with stdout capped at the output limit and stderr at the larger of that and 8 MiB;
//!   exceeding either ends the action at once;
//! - in the file-system sandbox of [`super::sandbox`] (a per-action scratch directory as its
//!   working directory and `TMPDIR`, the base system read-only, its declared paths), with
//!   `no_new_privs`, and, when tai runs as root, as the handler user (`nobody` by default)
//!   with no supplementary groups;
//! - with a clean environment: only `PATH`, `HOME` and `LANG` are passed through (when
//!   set), plus the handler's declared `env`, which wins, plus `TMPDIR`. A pack's command
//!   sees the same environment on every machine, and the caller's secrets do not leak in.
//!
//! A `program` with a `/` is resolved against tai's working directory, a bare name on the
//! handler's `PATH`, before the program starts in its scratch directory.

use crate::catalog;

use super::{Limits, Run};

/// Variables passed through from the caller's environment.
const PASSED_THROUGH: [&str; 3] = ["PATH", "HOME", "LANG"];

/// Runs `cmd` with `args` under `limits`, for the recorded `action` when there is one.
#[cfg(unix)]
pub(super) fn run(
    cmd: &catalog::Command,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
    action: Option<&str>,
) -> Run {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;

    use super::confine::Confinement;
    use super::process::{self, ChildSetup};
    use super::protections::{self, HandlerUser};
    use super::sandbox::{self, SandboxError, Scratch};
    use super::{supervise, verdict};

    let refuse = |why: &dyn std::fmt::Display| {
        Run::unmeasured(super::Outcome::Error {
            message: format!("cannot run `{}`: {why}", cmd.program),
            exit_code: None,
        })
    };
    let machine = protections::machine();
    let ids = match &machine.user {
        HandlerUser::Drop { uid, gid, .. } => Some((*uid, *gid)),
        HandlerUser::Unknown { name } => return refuse(&SandboxError::UnknownUser(name.clone())),
        HandlerUser::Unprivileged { .. } => None,
    };
    let env_path = cmd
        .env
        .get("PATH")
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"));
    let Some(program) = sandbox::resolve_program(&cmd.program, env_path.as_deref(), ids) else {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        return Run::unmeasured(verdict::spawn_failed(&cmd.program, &not_found, limits));
    };
    let scratch = match Scratch::create(ids) {
        Ok(scratch) => scratch,
        Err(e) => return refuse(&SandboxError::Scratch(e)),
    };
    #[cfg(target_os = "linux")]
    let ruleset = match sandbox::ruleset(&program, scratch.path(), &cmd.sandbox) {
        Ok(ruleset) => Some(ruleset),
        Err(e) => return refuse(&e),
    };
    let confinement = match Confinement::new(machine, limits.max_cpu_percent, action) {
        Ok(c) => c,
        Err(e) => return refuse(&format!("could not create its cgroup: {e}")),
    };
    let join = match confinement.join_files() {
        Ok(join) => join,
        Err(e) => return refuse(&format!("could not open its cgroup: {e}")),
    };

    let mut command = std::process::Command::new(&program);
    command
        .arg0(&cmd.program)
        .args(&cmd.args)
        .env_clear()
        .envs(
            PASSED_THROUGH
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .env("TMPDIR", scratch.path())
        .envs(&cmd.env)
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    process::prepare_child(
        &mut command,
        ChildSetup {
            join,
            ids,
            address_space: limits.max_memory_bytes(),
            ipc_limit: super::protections::machine().ipc_namespace.then(|| {
                let bytes = limits.max_memory_bytes();
                (bytes, bytes.div_ceil(rustix::param::page_size() as u64))
            }),
            #[cfg(target_os = "linux")]
            sandbox: ruleset,
        },
    );

    let mut confinement = confinement;
    let child = match confinement.spawn(&mut command) {
        Ok(child) => child,
        Err(e) => return Run::unmeasured(verdict::spawn_failed(&cmd.program, &e, limits)),
    };
    // A JSON value always serializes; `null` keeps the stdin contract if it ever did not.
    let input = serde_json::to_vec(args).unwrap_or_else(|_| b"null".to_vec());
    let run = match supervise::supervise(child, confinement, input, limits) {
        Ok(finished) => Run {
            outcome: verdict::judge(&cmd.program, &finished, limits),
            usage: Some(verdict::usage(&finished)),
        },
        Err(e) => refuse(&format!("could not supervise it: {e}")),
    };
    drop(scratch);
    run
}

/// Command handlers need process groups and resource limits, which only unix provides.
#[cfg(not(unix))]
pub(super) fn run(
    cmd: &catalog::Command,
    _args: &serde_json::Map<String, serde_json::Value>,
    _: &Limits,
    _action: Option<&str>,
) -> Run {
    let _ = PASSED_THROUGH;
    Run::unmeasured(super::Outcome::Error {
        message: format!(
            "cannot run `{}`: command handlers are only supported on unix systems",
            cmd.program
        ),
        exit_code: None,
    })
}
