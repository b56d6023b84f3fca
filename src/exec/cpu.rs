//! CPU time: how much an action used, and the watchdog that holds it to its share where no
//! cgroup controller can.
//!
//! With a cgroup the kernel counts the action's CPU time exactly (`cpu.stat`). Without one,
//! the meter adds up what `/proc` shows for the action's processes: each live process's own
//! time and that of the children it reaped, plus the last time seen of a process that left
//! without a member to reap it. A process that lives and dies between two samples is missed.
//!
//! The watchdog pauses the whole action whenever its CPU time runs ahead of its share of
//! the wall-clock time so far (plus a small burst), and resumes it once the clock has caught
//! up: over a run the action gets its share, as the cgroup quota would give it.

use std::collections::{HashMap, HashSet};

use super::procfs::{self, Stat};

/// CPU time an action may run ahead of its share before it is paused.
const BURST_MS: u64 = 50;

/// Adds up the CPU time of an action's processes from samples.
#[derive(Debug, Default)]
pub(super) struct Meter {
    /// Each process last seen: its own and its reaped children's ticks, and its parent.
    seen: HashMap<(u32, u64), (u64, u32)>,
    /// Ticks of processes gone without a member to inherit them.
    departed: u64,
}

impl Meter {
    /// Takes in the action's processes now.
    pub(super) fn observe(&mut self, sample: &[Stat]) {
        let live: HashSet<(u32, u64)> = sample.iter().map(|s| (s.pid, s.start)).collect();
        let live_pids: HashSet<u32> = sample.iter().map(|s| s.pid).collect();
        for (key, (ticks, ppid)) in &self.seen {
            // A process reaped by a member shows up in that member's children's time.
            if !live.contains(key) && !live_pids.contains(ppid) {
                self.departed = self.departed.saturating_add(*ticks);
            }
        }
        self.seen = sample
            .iter()
            .map(|s| {
                let ticks = s.own_ticks.saturating_add(s.children_ticks);
                ((s.pid, s.start), (ticks, s.ppid))
            })
            .collect();
    }

    /// CPU time used so far, in milliseconds.
    pub(super) fn used_ms(&self) -> u64 {
        let live = self
            .seen
            .values()
            .fold(0u64, |sum, (t, _)| sum.saturating_add(*t));
        procfs::ticks_to_ms(self.departed.saturating_add(live))
    }
}

/// Decides when to pause and resume an action to hold it to `percent` of one core.
#[derive(Debug)]
pub(super) struct Throttle {
    percent: u64,
    paused: bool,
}

impl Throttle {
    pub(super) fn new(percent: u32) -> Self {
        Throttle {
            percent: u64::from(percent),
            paused: false,
        }
    }

    /// After `elapsed_ms` of wall-clock time with `used_ms` of CPU time: `Some(true)` to
    /// pause the action now, `Some(false)` to resume it, `None` to leave it as it is.
    pub(super) fn decide(&mut self, used_ms: u64, elapsed_ms: u64) -> Option<bool> {
        let allowance = elapsed_ms.saturating_mul(self.percent) / 100 + BURST_MS;
        let over = used_ms > allowance;
        (over != self.paused).then(|| {
            self.paused = over;
            over
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: u32, ppid: u32, own: u64, children: u64) -> Stat {
        Stat {
            pid,
            state: b'R',
            ppid,
            pgrp: 1,
            own_ticks: own,
            children_ticks: children,
            start: u64::from(pid),
            rss_pages: 0,
        }
    }

    #[test]
    fn time_of_departed_processes_is_kept_once() {
        let mut meter = Meter::default();
        meter.observe(&[stat(10, 1, 5, 0), stat(11, 10, 3, 0), stat(12, 1, 7, 0)]);
        // 11 was reaped by 10 (its time moved to 10's children); 12 left on its own.
        meter.observe(&[stat(10, 1, 6, 3)]);
        assert_eq!(meter.used_ms(), procfs::ticks_to_ms(6 + 3 + 7));
    }

    #[test]
    fn the_throttle_pauses_ahead_of_the_share_and_resumes_behind_it() {
        let mut t = Throttle::new(10);
        assert_eq!(t.decide(40, 100), None);
        assert_eq!(t.decide(200, 1000), Some(true));
        assert_eq!(t.decide(200, 1200), None);
        assert_eq!(t.decide(200, 1600), Some(false));
        assert_eq!(t.decide(200, 1700), None);
    }
}
