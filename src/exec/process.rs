//! Raw process plumbing for command handlers: what the child does between fork and exec,
//! killing a whole process group or one exact process, waiting for exit without reaping,
//! and the few system calls no safe wrapper offers.
//!
//! Kept apart so the crate's `unsafe` blocks sit in one file with nothing else to read.

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Resource, Rlimit, Signal, WaitId, WaitIdOptions};

/// What the child sets up for itself after fork, before exec, in this order.
#[derive(Debug)]
pub(super) struct ChildSetup {
    /// Open `cgroup.procs` files to join (written `0`, "this process"), while still
    /// privileged enough to do so.
    pub(super) join: Vec<OwnedFd>,
    /// The uid and gid to switch to, dropping every supplementary group.
    pub(super) ids: Option<(u32, u32)>,
    /// The address-space limit in bytes.
    pub(super) address_space: u64,
    /// With an IPC namespace per action: the SysV shared memory it may hold, in bytes and
    /// pages (`shmmax`, `shmall`).
    pub(super) ipc_limit: Option<(u64, u64)>,
    /// The file-system sandbox, applied last (it also sets `no_new_privs`).
    #[cfg(target_os = "linux")]
    pub(super) sandbox: Option<landlock::RulesetCreated>,
}

/// Makes the program spawned by `cmd` start inside `setup`.
///
/// The address-space limit lowers both the soft and the hard limit, so the program cannot
/// raise them again; a limit above the inherited hard limit is clamped to it, as an
/// unprivileged process cannot raise its hard limit.
pub(super) fn prepare_child(cmd: &mut Command, setup: ChildSetup) {
    let inherited = rustix::process::getrlimit(Resource::As).maximum;
    let bytes = inherited.map_or(setup.address_space, |hard| setup.address_space.min(hard));
    let limit = Rlimit {
        current: Some(bytes),
        maximum: Some(bytes),
    };
    let join = setup.join;
    let ids = setup.ids.map(|(u, g)| {
        (
            rustix::process::Uid::from_raw(u),
            rustix::process::Gid::from_raw(g),
        )
    });
    #[cfg(target_os = "linux")]
    let mut sandbox = setup.sandbox;
    let parent = rustix::process::getpid();
    let ipc_limit = setup.ipc_limit;
    let in_child = move || -> std::io::Result<()> {
        // Whatever tai inherited open (a descriptor its own caller left without
        // close-on-exec) would reach the program past its sandbox and its user: every
        // descriptor above the standard three closes at exec.
        cloexec_above_stdio()?;
        for fd in &join {
            rustix::io::write(fd, b"0")?;
        }
        // SysV objects of the action's own, bounded like its memory and destroyed with the
        // namespace when its last process exits (still privileged enough to make it).
        #[cfg(target_os = "linux")]
        if let Some((bytes, pages)) = ipc_limit {
            new_ipc_namespace()?;
            write_number(c"/proc/sys/kernel/shmmax", bytes)?;
            write_number(c"/proc/sys/kernel/shmall", pages)?;
        }
        if let Some((uid, gid)) = ids {
            rustix::thread::set_thread_groups(&[])?;
            rustix::thread::set_thread_gid(gid)?;
            rustix::thread::set_thread_uid(uid)?;
        }
        // A program whose tai dies is killed with it: nothing would bound its time or
        // record what it does. Set after the switch of user, which clears it; a tai that
        // died before this point is caught by the parent check.
        #[cfg(target_os = "linux")]
        {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::from(Errno::SRCH));
            }
        }
        rustix::thread::set_no_new_privs(true)?;
        rustix::process::setrlimit(Resource::As, limit)?;
        #[cfg(target_os = "linux")]
        if let Some(ruleset) = sandbox.take() {
            // The error is replaced by a plain code: building the crate's error could allocate.
            ruleset
                .restrict_self()
                .map_err(|_| std::io::Error::from(Errno::PERM))?;
        }
        Ok(())
    };
    #[allow(unsafe_code)]
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`, where only
    // async-signal-safe work is allowed. The closure allocates nothing and takes no lock: it
    // makes direct system calls (`close_range` or `fcntl`, `write` to already open files,
    // `unshare` and `open`/`write`/`close` of two sysctl files with a number formatted on the
    // stack, `setgroups`, `setgid`, `setuid` — rustix's raw per-thread calls, right for the
    // single thread of the child — `prctl`, `getppid`, `setrlimit`) and Landlock's
    // `restrict_self`, which is `prctl` plus `landlock_restrict_self` and a `close`, building
    // its success value on the stack.
    // Errors become `io::Error`s from raw OS codes, which do not allocate.
    unsafe {
        cmd.pre_exec(in_child);
    }
}

/// Moves the calling process into a new IPC namespace.
#[cfg(target_os = "linux")]
fn new_ipc_namespace() -> std::io::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: `unshare(CLONE_NEWIPC)` reads no memory; it only changes the calling process's
    // namespace.
    let done = unsafe { libc::unshare(libc::CLONE_NEWIPC) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes `n` in decimal to the file `path` (a sysctl), without allocating.
#[cfg(target_os = "linux")]
fn write_number(path: &std::ffi::CStr, n: u64) -> std::io::Result<()> {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    rustix::io::write(&fd, &digits[at..])?;
    Ok(())
}

/// Marks every descriptor above 2 close-on-exec: `close_range` with `CLOSE_RANGE_CLOEXEC`
/// (Linux 5.11), else one `fcntl` per descriptor up to the open-files limit. Marked rather
/// than closed: the spawn's own error pipe and the Landlock ruleset are still needed until
/// exec. Async-signal-safe: system calls only.
#[cfg(target_os = "linux")]
fn cloexec_above_stdio() -> std::io::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: `close_range` with the CLOEXEC flag closes nothing and reads no memory; it only
    // sets a flag on the descriptors in the range.
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    if marked == 0 {
        return Ok(());
    }
    let limit = rustix::process::getrlimit(Resource::Nofile)
        .current
        .unwrap_or(1 << 20)
        .min(1 << 20);
    for fd in 3..limit {
        let Ok(fd) = libc::c_int::try_from(fd) else {
            break;
        };
        #[allow(unsafe_code)]
        // SAFETY: `fcntl(F_SETFD)` on a descriptor number that may not be open only sets a
        // flag (or fails with EBADF); it touches no memory.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn cloexec_above_stdio() -> std::io::Result<()> {
    Ok(())
}

/// The kernel's Landlock ABI version, or `None` when Landlock is not enabled.
#[cfg(target_os = "linux")]
pub(super) fn landlock_abi() -> Option<i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    #[allow(unsafe_code)]
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag,
    // `landlock_create_ruleset` reads no memory and creates nothing: it only returns the
    // ABI version, or -1 with `ENOSYS` / `EOPNOTSUPP` when Landlock is missing.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    i32::try_from(abi).ok().filter(|&v| v > 0)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn landlock_abi() -> Option<i32> {
    None
}

/// Makes this process adopt the orphans among its descendants, so none escapes to init.
#[cfg(target_os = "linux")]
pub(super) fn become_subreaper() -> std::io::Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(
        rustix::process::getpid(),
    ))?)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn become_subreaper() -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Makes this process non-dumpable: no core dumps, and processes of the same user cannot
/// read its memory or `/proc/<pid>/environ`.
#[cfg(target_os = "linux")]
pub fn make_non_dumpable() -> std::io::Result<()> {
    Ok(rustix::process::set_dumpable_behavior(
        rustix::process::DumpableBehavior::NotDumpable,
    )?)
}

/// Not available on this system.
#[cfg(not(target_os = "linux"))]
pub fn make_non_dumpable() -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Sends `signal` to the process `pid` started at `start` (clock ticks after boot), and to
/// no other: the pid is pinned with a pidfd and its start time checked before signalling,
/// so a pid reused in between is never hit. A process already gone is not an error.
#[cfg(target_os = "linux")]
pub(super) fn signal_exact(pid: u32, start: u64, signal: Signal) {
    let Some(p) = self::pid(pid) else { return };
    let Ok(fd) = rustix::process::pidfd_open(p, PidfdFlags::empty()) else {
        return;
    };
    let same = super::procfs::read_stat(pid, &mut String::new()).is_some_and(|s| s.start == start);
    if same {
        let _ = rustix::process::pidfd_send_signal(&fd, signal);
    }
}

/// Reaps the exited child `pid` if it is one; never blocks.
pub(super) fn reap(pid: u32) {
    if let Some(p) = self::pid(pid) {
        let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::NOHANG);
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
