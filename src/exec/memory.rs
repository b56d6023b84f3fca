//! The resident-memory watchdog: sums the resident memory of every process in a command's
//! process group and says when it is over the limit.
//!
//! `RLIMIT_AS` bounds each process on its own, so a program that forks workers could use
//! many times its limit; the watchdog bounds the group as a whole, and gives a definite
//! "memory exceeded" (the kill is ours) with the peak it saw. Shared pages (libraries, the
//! interpreter) count once per process, so the sum errs on the high side.
//!
//! On Linux the group's members are found in `/proc/<pid>/stat` and their resident memory
//! read from `/proc/<pid>/statm`. Elsewhere the watchdog sees nothing and only `RLIMIT_AS`
//! applies.

/// Every how many samples the group's membership is looked up again.
///
/// Finding the members means reading every process's `stat` (about 10 µs each), too much
/// to do at every sample on a busy machine; between lookups only the known members'
/// `statm` is read. A process forked since the last lookup is counted from the next one;
/// until then `RLIMIT_AS` bounds it on its own.
const LOOKUP_EVERY: u32 = 10;

/// Watches one process group against a byte limit and remembers the peak it saw.
#[derive(Debug)]
pub(super) struct Watchdog {
    pgid: u32,
    limit_bytes: u64,
    peak_bytes: Option<u64>,
    members: Vec<u32>,
    samples: u32,
}

impl Watchdog {
    pub(super) fn new(pgid: u32, limit_bytes: u64) -> Self {
        Watchdog {
            pgid,
            limit_bytes,
            peak_bytes: None,
            members: Vec::new(),
            samples: 0,
        }
    }

    /// Samples the group once; true when its resident memory is over the limit.
    pub(super) fn over_limit(&mut self) -> bool {
        let pages = if self.samples.is_multiple_of(LOOKUP_EVERY) {
            lookup_group(self.pgid, &mut self.members)
        } else {
            // A member that exited since the lookup reads as nothing and is dropped.
            let mut total = 0u64;
            self.members.retain(|&pid| match resident_pages(pid) {
                Some(pages) => {
                    total = total.saturating_add(pages);
                    true
                }
                None => false,
            });
            Some(total)
        };
        self.samples = self.samples.wrapping_add(1);
        let Some(bytes) = pages.map(|p| p.saturating_mul(page_size())) else {
            return false;
        };
        self.peak_bytes = Some(self.peak_bytes.map_or(bytes, |p| p.max(bytes)));
        bytes > self.limit_bytes
    }

    /// The largest group total sampled so far, if any sample succeeded.
    pub(super) fn peak_bytes(&self) -> Option<u64> {
        self.peak_bytes
    }
}

/// Replaces `members` with the processes of group `pgid`; their total resident pages.
#[cfg(target_os = "linux")]
fn lookup_group(pgid: u32, members: &mut Vec<u32>) -> Option<u64> {
    members.clear();
    let mut pages = 0u64;
    let mut text = String::with_capacity(512);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some((group, resident)) = read_proc(pid, "stat", &mut text).and_then(parse_stat)
            && group == pgid
        {
            members.push(pid);
            pages = pages.saturating_add(resident);
        }
    }
    Some(pages)
}

/// Resident pages of `pid`, or `None` when it is gone.
#[cfg(target_os = "linux")]
fn resident_pages(pid: u32) -> Option<u64> {
    let mut text = String::with_capacity(64);
    read_proc(pid, "statm", &mut text).and_then(parse_statm)
}

/// Reads `/proc/<pid>/<file>` into `buf`; `None` when the process is gone.
#[cfg(target_os = "linux")]
fn read_proc<'a>(pid: u32, file: &str, buf: &'a mut String) -> Option<&'a str> {
    use std::io::Read;

    buf.clear();
    let mut f = std::fs::File::open(format!("/proc/{pid}/{file}")).ok()?;
    f.read_to_string(buf).ok()?;
    Some(buf)
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

#[cfg(not(target_os = "linux"))]
fn lookup_group(_pgid: u32, _members: &mut Vec<u32>) -> Option<u64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn resident_pages(_pid: u32) -> Option<u64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> u64 {
    1
}

/// Resident pages (field 2) from a `/proc/<pid>/statm` line.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_statm(statm: &str) -> Option<u64> {
    statm.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Process group id and resident pages from a `/proc/<pid>/stat` line.
///
/// The command name (field 2) is in parentheses and may itself contain spaces and `)`, so
/// fields are counted from the last `)`: after it come state (field 3), ppid, pgrp (field 5)
/// and, further on, rss (field 24).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let pgrp = fields.nth(2)?.parse().ok()?;
    let rss = fields.nth(24 - 6)?.parse().ok()?;
    Some((pgrp, rss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_and_resident_pages() {
        let line = "19107 (cat) R 19104 19104 5464 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 \
                    734830 3133440 388 18446744073709551615 94334130049024";
        assert_eq!(parse_stat(line), Some((19104, 388)));
    }

    #[test]
    fn survives_awkward_command_names() {
        let line = "7 (a) b (c) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 100 77 0";
        assert_eq!(parse_stat(line), Some((42, 77)));
        assert_eq!(parse_stat("7 (truncated"), None);
        assert_eq!(parse_stat("7 (x) S 1"), None);
    }

    #[test]
    fn parses_statm() {
        assert_eq!(parse_statm("4138 388 340 5 0 95 0\n"), Some(388));
        assert_eq!(parse_statm("4138"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sees_its_own_group() {
        let me = rustix::process::getpgrp();
        let pgid = u32::try_from(rustix::process::Pid::as_raw(Some(me))).unwrap();
        let mut dog = Watchdog::new(pgid, u64::MAX);
        // The first sample looks the group up, the next ones only read its members.
        for _ in 0..3 {
            assert!(!dog.over_limit());
            assert!(dog.peak_bytes().unwrap() > 0);
        }
        assert!(dog.members.iter().any(|&p| p == std::process::id()));
        let mut strict = Watchdog::new(pgid, 0);
        assert!(strict.over_limit());
    }
}
