//! Supervising a running command until it exits or exceeds a bound, then cleaning up.
//!
//! One loop on the calling thread waits for events from helper threads (output chunks, the
//! child's exit) and wakes up on its own for the deadline and the memory watchdog's samples.
//! Whatever ends the run, the whole process group is killed and the child reaped before
//! returning: an action's processes never outlive the action, and a background process the
//! command left behind cannot keep the pipes open.
//!
//! Limits of the guarantee: a descendant that moves itself to another process group or
//! session (`setsid`, double-fork daemons) escapes the kill; its pipes are waited on for a
//! short grace period only, then abandoned.

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::memory::Watchdog;
use super::process;
use super::streams::{self, Event, Stream, Tail};
use super::{Bound, Limits};

/// How often the memory watchdog samples the group.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long to keep reading pipes once the group is dead, for escaped holders.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Why supervision stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The child exited by itself.
    Exited,
    /// A bound was hit and the group was killed.
    Exceeded(Bound),
}

/// Everything known about a finished run.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) stop: Stop,
    pub(super) elapsed: Duration,
    pub(super) status: ExitStatus,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Tail,
    pub(super) peak_bytes: Option<u64>,
}

/// Supervises `child` (already spawned as the leader of its own process group, with piped
/// stdin, stdout and stderr), feeding it `input`, until it is over.
pub(super) fn supervise(child: Child, input: Vec<u8>, limits: &Limits) -> io::Result<Finished> {
    let start = Instant::now();
    let mut group = Group::new(child);
    let (tx, rx) = mpsc::channel();
    group.start_helpers(input, &tx)?;
    drop(tx);

    let deadline = start.checked_add(limits.timeout());
    let mut watchdog = Watchdog::new(group.pgid, limits.max_memory_bytes());
    let mut next_sample = start + SAMPLE_EVERY;
    let mut out = Collected::new(limits.max_output_bytes);

    let mut stop = loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break Stop::Exceeded(Bound::Timeout);
        }
        if now >= next_sample {
            if watchdog.over_limit() {
                break Stop::Exceeded(Bound::Memory);
            }
            next_sample = now + SAMPLE_EVERY;
        }
        let wake = deadline.map_or(next_sample, |d| d.min(next_sample));
        match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(Event::Exited) | Err(RecvTimeoutError::Disconnected) => break Stop::Exited,
            Ok(event) => {
                if out.accept(event) {
                    break Stop::Exceeded(Bound::Output);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    };
    let elapsed = start.elapsed();
    let status = group.end()?;

    // The group is dead; what is left in the pipes is read until they close.
    let grace_end = Instant::now() + DRAIN_GRACE;
    while out.open > 0 {
        match rx.recv_timeout(grace_end.saturating_duration_since(Instant::now())) {
            Ok(event) => {
                if out.accept(event) && stop == Stop::Exited {
                    stop = Stop::Exceeded(Bound::Output);
                }
            }
            Err(_) => break,
        }
    }

    Ok(Finished {
        stop,
        elapsed,
        status,
        stdout: out.stdout,
        stderr: out.stderr,
        peak_bytes: watchdog.peak_bytes(),
    })
}

/// Output gathered so far.
#[derive(Debug)]
struct Collected {
    cap: u64,
    stdout: Vec<u8>,
    stderr: Tail,
    open: u8,
    overflowed: bool,
}

impl Collected {
    fn new(cap: u64) -> Self {
        Collected {
            cap,
            stdout: Vec::new(),
            stderr: Tail::default(),
            open: 2,
            overflowed: false,
        }
    }

    /// Takes in one event; true when stdout went over the cap (reported once).
    fn accept(&mut self, event: Event) -> bool {
        match event {
            Event::Data(Stream::Stdout, chunk) => {
                if self.overflowed {
                    return false;
                }
                let total = self.stdout.len() as u64 + chunk.len() as u64;
                if total > self.cap {
                    self.overflowed = true;
                    return true;
                }
                self.stdout.extend_from_slice(&chunk);
            }
            Event::Data(Stream::Stderr, chunk) => self.stderr.push(&chunk),
            Event::Closed => self.open = self.open.saturating_sub(1),
            Event::Exited => {}
        }
        false
    }
}

/// The child as leader of its process group; dropping it kills the group and reaps.
#[derive(Debug)]
struct Group {
    child: Child,
    pgid: u32,
    waiter: Option<JoinHandle<()>>,
    reaped: bool,
}

impl Group {
    fn new(child: Child) -> Self {
        // `process_group(0)` made the child the leader of a group named after its pid.
        let pgid = child.id();
        Group {
            child,
            pgid,
            waiter: None,
            reaped: false,
        }
    }

    /// Starts the threads that feed stdin, pump stdout and stderr, and watch for exit.
    fn start_helpers(&mut self, input: Vec<u8>, tx: &Sender<Event>) -> io::Result<()> {
        if let Some(stdin) = self.child.stdin.take() {
            spawn("stdin", move || streams::feed(stdin, &input))?;
        }
        if let Some(stdout) = self.child.stdout.take() {
            let tx = tx.clone();
            spawn("stdout", move || streams::pump(stdout, Stream::Stdout, &tx))?;
        }
        if let Some(stderr) = self.child.stderr.take() {
            let tx = tx.clone();
            spawn("stderr", move || streams::pump(stderr, Stream::Stderr, &tx))?;
        }
        let pid = self.pgid;
        let tx = tx.clone();
        self.waiter = Some(spawn("wait", move || {
            process::wait_for_exit(pid);
            let _ = tx.send(Event::Exited);
        })?);
        Ok(())
    }

    /// Kills whatever is left of the group and reaps the child.
    fn end(&mut self) -> io::Result<ExitStatus> {
        process::kill_group(self.pgid);
        // The leader may have left the group; it is our child, so kill it by pid as well.
        let _ = self.child.kill();
        // The waiter returns once the leader is dead; joining it before reaping means it
        // can never wait on an unrelated process that reuses the pid.
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.join();
        }
        self.reaped = true;
        self.child.wait()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.end();
        }
    }
}

fn spawn<T: Send + 'static>(
    role: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    thread::Builder::new()
        .name(format!("tai-exec-{role}"))
        .spawn(f)
}
