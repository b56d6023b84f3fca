//! Raw process plumbing for command handlers: the address-space limit set between fork and
//! exec, killing a whole process group, and waiting for exit without reaping.
//!
//! Kept apart so the one `unsafe` block of the crate sits in a file with nothing else to read.

use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::io::Errno;
use rustix::process::{Pid, Resource, Rlimit, Signal, WaitId, WaitIdOptions};

/// Makes the program spawned by `cmd` run with its address space capped at `bytes`.
///
/// Both the soft and the hard limit are lowered, so the program cannot raise them again. A
/// limit above the inherited hard limit is clamped to it, as an unprivileged process cannot
/// raise its hard limit.
pub(super) fn limit_address_space(cmd: &mut Command, bytes: u64) {
    let inherited = rustix::process::getrlimit(Resource::As).maximum;
    let bytes = inherited.map_or(bytes, |hard| bytes.min(hard));
    set_in_child(
        cmd,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    );
}

#[allow(unsafe_code)]
fn set_in_child(cmd: &mut Command, limit: Rlimit) {
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`, where only
    // async-signal-safe work is allowed. The closure captures a `Copy` value, allocates
    // nothing, takes no lock and makes a single `setrlimit` system call (a direct syscall
    // wrapper); an error becomes an `io::Error` from a raw OS code, which does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::setrlimit(Resource::As, limit).map_err(std::io::Error::from)
        });
    }
}

/// Sends SIGKILL to every process in the group led by `pgid`.
///
/// An empty group (everything already gone) is not an error.
pub(super) fn kill_group(pgid: u32) {
    if let Some(pid) = pid(pgid) {
        // ESRCH means nothing is left to kill; nothing else can be done about other errors.
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}

/// Blocks until the child `pid` has exited, leaving it unreaped.
///
/// An unreaped child stays a zombie, and a zombie keeps its pid — and so its process-group
/// id — reserved. Killing the group after this returns can therefore never hit an unrelated
/// group that reused the id.
pub(super) fn wait_for_exit(pid_raw: u32) {
    let Some(pid) = pid(pid_raw) else { return };
    loop {
        match rustix::process::waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(Errno::INTR) => continue,
            // Exited, or no longer our child to wait for (already reaped): either way it is over.
            _ => return,
        }
    }
}

/// The conventional name of signal `sig`, for messages.
pub(super) fn signal_name(sig: i32) -> Option<&'static str> {
    [
        (Signal::ABORT, "SIGABRT"),
        (Signal::BUS, "SIGBUS"),
        (Signal::FPE, "SIGFPE"),
        (Signal::HUP, "SIGHUP"),
        (Signal::ILL, "SIGILL"),
        (Signal::INT, "SIGINT"),
        (Signal::KILL, "SIGKILL"),
        (Signal::PIPE, "SIGPIPE"),
        (Signal::QUIT, "SIGQUIT"),
        (Signal::SEGV, "SIGSEGV"),
        (Signal::TERM, "SIGTERM"),
        (Signal::XCPU, "SIGXCPU"),
        (Signal::XFSZ, "SIGXFSZ"),
    ]
    .into_iter()
    .find(|(s, _)| s.as_raw() == sig)
    .map(|(_, name)| name)
}

fn pid(raw: u32) -> Option<Pid> {
    i32::try_from(raw).ok().and_then(Pid::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_signals() {
        assert_eq!(signal_name(9), Some("SIGKILL"));
        assert_eq!(signal_name(Signal::SEGV.as_raw()), Some("SIGSEGV"));
        assert_eq!(signal_name(0), None);
    }
}
