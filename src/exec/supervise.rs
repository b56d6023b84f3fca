//! Supervising a running command until it exits or exceeds a bound, then cleaning up.
//!
//! One loop on the calling thread waits for events from helper threads (output chunks, the
//! child's exit) and wakes up on its own for the deadline and for samples of the action's
//! processes: their resident memory against the memory limit, their CPU time against the
//! CPU share where the kernel does not enforce it. Whatever ends the run, every process of
//! the action is killed through its [`Confinement`] (its cgroup, or its tree under tai as
//! subreaper), whatever session or process group it moved to, and the child is reaped
//! before returning: an action's processes never outlive the action.

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::confine::Confinement;
use super::cpu::{Meter, Throttle};
use super::memory::Watchdog;
use super::process;
use super::procfs::{self, Stat};
use super::streams::{self, Event, Stream, Tail};
use super::{Bound, Limits};

/// How often the action's processes are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// Every how many samples the action's membership is looked up again (cheap for a cgroup,
/// a walk of `/proc` for a tree); in between, the known members are read.
const LOOKUP_EVERY: u32 = 5;
/// How long to keep reading pipes once the action is dead.
const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// stderr is for people and only its tail is kept, but it is bounded too: by the output cap
/// or this, whichever is larger, so diagnostics have room even when results are small.
pub(super) const STDERR_FLOOR: u64 = 8 * 1024 * 1024;

/// Why supervision stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The child exited by itself.
    Exited,
    /// A bound was hit and the action was killed.
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
    pub(super) cpu_ms: Option<u64>,
    /// The cap in force on the stream that overflowed, when one did.
    pub(super) overflowed_cap: Option<u64>,
}

/// Supervises `child` (already spawned, as the leader of its own process group, inside
/// `confinement`, with piped stdin, stdout and stderr), feeding it `input`, until it is over.
pub(super) fn supervise(
    child: Child,
    confinement: Confinement,
    input: Vec<u8>,
    limits: &Limits,
) -> io::Result<Finished> {
    let start = Instant::now();
    let mut group = Group::new(child, confinement);
    let (tx, rx) = mpsc::channel();
    group.start_helpers(input, &tx)?;
    drop(tx);

    let deadline = start.checked_add(limits.timeout());
    let mut sampler = Sampler::new(limits, &group.confinement);
    let mut next_sample = start + SAMPLE_EVERY;
    let mut out = Collected::new(limits.max_output_bytes);

    let mut stop = loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break Stop::Exceeded(Bound::Timeout);
        }
        if now >= next_sample {
            if sampler.sample(&group.confinement, now.duration_since(start)) {
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

    // The action is dead; what is left in the pipes is read until they close.
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
    let cpu_ms = group
        .confinement
        .counted_cpu_ms()
        .or(Some(sampler.meter.used_ms()));
    group.release();

    Ok(Finished {
        stop,
        elapsed,
        status,
        stdout: out.stdout,
        stderr: out.stderr,
        peak_bytes: sampler.watchdog.peak_bytes(),
        cpu_ms,
        overflowed_cap: out.overflowed,
    })
}

/// Samples the action's processes for the memory watchdog, the CPU meter and the throttle.
#[derive(Debug)]
struct Sampler {
    watchdog: Watchdog,
    meter: Meter,
    throttle: Option<Throttle>,
    members: Vec<u32>,
    samples: u32,
    buf: String,
}

impl Sampler {
    fn new(limits: &Limits, confinement: &Confinement) -> Self {
        let throttle = limits
            .max_cpu_percent
            .filter(|_| !confinement.kernel_caps_cpu())
            .map(Throttle::new);
        Sampler {
            watchdog: Watchdog::new(limits.max_memory_bytes()),
            meter: Meter::default(),
            throttle,
            members: Vec::new(),
            samples: 0,
            buf: String::with_capacity(512),
        }
    }

    /// Takes one sample; true when the action is over its memory limit.
    fn sample(&mut self, confinement: &Confinement, elapsed: Duration) -> bool {
        if self.samples.is_multiple_of(LOOKUP_EVERY) {
            self.members = confinement.members();
        }
        self.samples = self.samples.wrapping_add(1);
        let buf = &mut self.buf;
        let sample: Vec<Stat> = self
            .members
            .iter()
            .filter_map(|&pid| procfs::read_stat(pid, buf))
            .collect();
        // A member that exited since the lookup reads as nothing and is dropped.
        self.members = sample.iter().map(|s| s.pid).collect();
        self.meter.observe(&sample);
        if let Some(throttle) = &mut self.throttle {
            let used = confinement
                .counted_cpu_ms()
                .unwrap_or_else(|| self.meter.used_ms());
            let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
            if let Some(paused) = throttle.decide(used, elapsed_ms) {
                confinement.pause(paused, &sample);
            }
        }
        self.watchdog.over_limit(&sample)
    }
}

/// Output gathered so far.
#[derive(Debug)]
struct Collected {
    cap: u64,
    stderr_cap: u64,
    stdout: Vec<u8>,
    stderr: Tail,
    stderr_bytes: u64,
    open: u8,
    /// The cap of the first stream that went over it.
    overflowed: Option<u64>,
}

impl Collected {
    fn new(cap: u64) -> Self {
        Collected {
            cap,
            stderr_cap: cap.max(STDERR_FLOOR),
            stdout: Vec::new(),
            stderr: Tail::default(),
            stderr_bytes: 0,
            open: 2,
            overflowed: None,
        }
    }

    /// Takes in one event; true when stdout or stderr went over its cap (reported once).
    fn accept(&mut self, event: Event) -> bool {
        match event {
            Event::Data(stream, chunk) => {
                if self.overflowed.is_some() {
                    return false;
                }
                let (seen, cap) = match stream {
                    Stream::Stdout => (self.stdout.len() as u64, self.cap),
                    Stream::Stderr => (self.stderr_bytes, self.stderr_cap),
                };
                if seen.saturating_add(chunk.len() as u64) > cap {
                    self.overflowed = Some(cap);
                    return true;
                }
                match stream {
                    Stream::Stdout => self.stdout.extend_from_slice(&chunk),
                    Stream::Stderr => {
                        self.stderr_bytes += chunk.len() as u64;
                        self.stderr.push(&chunk);
                    }
                }
            }
            Event::Closed => self.open = self.open.saturating_sub(1),
            Event::Exited => {}
        }
        false
    }
}

/// The child as leader of its process group, inside its confinement; dropping it kills
/// the whole action and reaps.
#[derive(Debug)]
struct Group {
    child: Child,
    confinement: Confinement,
    pgid: u32,
    waiter: Option<JoinHandle<()>>,
    reaped: bool,
    released: bool,
}

impl Group {
    fn new(child: Child, confinement: Confinement) -> Self {
        // `process_group(0)` made the child the leader of a group named after its pid.
        let pgid = child.id();
        Group {
            child,
            confinement,
            pgid,
            waiter: None,
            reaped: false,
            released: false,
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

    /// Kills whatever is left of the action and reaps the child.
    fn end(&mut self) -> io::Result<ExitStatus> {
        // Before the leader is reaped: its pid, and so its tree, stay pinned until then.
        self.confinement.kill_all();
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

    /// Frees the confinement once the action is dead and reaped.
    fn release(&mut self) {
        if !self.released {
            self.released = true;
            self.confinement.release();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.end();
        }
        self.release();
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
