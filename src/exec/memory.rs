//! The resident-memory watchdog: sums the resident memory of every process of an action and
//! says when it is over the limit.
//!
//! `RLIMIT_AS` bounds each process on its own, so a program that forks workers could use
//! many times its limit; the watchdog bounds the action as a whole, and gives a definite
//! "memory exceeded" (the kill is ours) with the peak it saw. Shared pages (libraries, the
//! interpreter) count once per process, so the sum errs on the high side. The members are
//! whatever holds the action (its cgroup, or its process tree), sampled from `/proc`.

use super::procfs::{self, Stat};

/// Watches one action against a byte limit and remembers the peak it saw.
#[derive(Debug)]
pub(super) struct Watchdog {
    limit_bytes: u64,
    peak_bytes: Option<u64>,
}

impl Watchdog {
    pub(super) fn new(limit_bytes: u64) -> Self {
        Watchdog {
            limit_bytes,
            peak_bytes: None,
        }
    }

    /// Takes in one sample of the action's processes; true when their resident memory is
    /// over the limit. An empty sample (nothing readable) says nothing.
    pub(super) fn over_limit(&mut self, sample: &[Stat]) -> bool {
        if sample.is_empty() {
            return false;
        }
        let pages = sample
            .iter()
            .filter(|s| !s.is_zombie())
            .fold(0u64, |sum, s| sum.saturating_add(s.rss_pages));
        let bytes = pages.saturating_mul(procfs::page_size());
        self.peak_bytes = Some(self.peak_bytes.map_or(bytes, |p| p.max(bytes)));
        bytes > self.limit_bytes
    }

    /// The largest total sampled so far, if any sample succeeded.
    pub(super) fn peak_bytes(&self) -> Option<u64> {
        self.peak_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn sees_its_own_process() {
        let me = procfs::read_stat(std::process::id(), &mut String::new()).unwrap();
        let mut dog = Watchdog::new(u64::MAX);
        for _ in 0..3 {
            assert!(!dog.over_limit(&[me]));
            assert!(dog.peak_bytes().unwrap() > 0);
        }
        let mut strict = Watchdog::new(0);
        assert!(strict.over_limit(&[me]));
        let mut idle = Watchdog::new(0);
        assert!(!idle.over_limit(&[]));
        assert_eq!(idle.peak_bytes(), None);
    }
}
