//! What `/proc` says about processes: one parser for `/proc/<pid>/stat`, shared by the
//! memory watchdog, the CPU meter and the process-tree fallback that finds a handler's
//! descendants when no cgroup holds them.

/// The fields of `/proc/<pid>/stat` that supervision uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    pub(super) pid: u32,
    /// State letter: `R`, `S`, `Z` (zombie), `T` (stopped)…
    pub(super) state: u8,
    pub(super) ppid: u32,
    pub(super) pgrp: u32,
    /// CPU time the process itself used, in clock ticks.
    pub(super) own_ticks: u64,
    /// CPU time of the children it waited for, in clock ticks.
    pub(super) children_ticks: u64,
    /// Start time after boot in clock ticks: with the pid, it names one process for good.
    pub(super) start: u64,
    pub(super) rss_pages: u64,
}

impl Stat {
    /// Whether the process has exited (a zombie awaiting its reaper).
    pub(super) fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// Parses a `/proc/<pid>/stat` line.
///
/// The command name (field 2) is in parentheses and may itself contain spaces and `)`, so
/// fields are counted from the last `)`: after it come state (field 3), ppid, pgrp (field 5),
/// utime to cstime (fields 14–17), starttime (22) and rss (24).
pub(super) fn parse_stat(line: &str) -> Option<Stat> {
    let (head, rest) = line.rsplit_once(')')?;
    let pid = head.split_once(' ')?.0.trim().parse().ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().take(22).collect();
    let num = |i: usize| -> Option<u64> { f.get(i)?.parse().ok() };
    let u32_at = |i: usize| -> Option<u32> { f.get(i)?.parse().ok() };
    Some(Stat {
        pid,
        state: *f.first()?.as_bytes().first()?,
        ppid: u32_at(1)?,
        pgrp: u32_at(2)?,
        own_ticks: num(11)?.saturating_add(num(12)?),
        children_ticks: num(13)?.saturating_add(num(14)?),
        start: num(19)?,
        rss_pages: num(21)?,
    })
}

/// Reads the stat of `pid`; `None` when it is gone.
#[cfg(target_os = "linux")]
pub(super) fn read_stat(pid: u32, buf: &mut String) -> Option<Stat> {
    use std::io::Read;

    buf.clear();
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    f.read_to_string(buf).ok()?;
    parse_stat(buf)
}

/// Every process on the machine, as far as it could be read.
#[cfg(target_os = "linux")]
pub(super) fn scan() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut buf = String::with_capacity(512);
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter_map(|pid| read_stat(pid, &mut buf))
        .collect()
}

#[cfg(not(target_os = "linux"))]
pub(super) fn read_stat(_pid: u32, _buf: &mut String) -> Option<Stat> {
    None
}

#[cfg(not(target_os = "linux"))]
pub(super) fn scan() -> Vec<Stat> {
    Vec::new()
}

/// Bytes per page, for resident-set sizes.
pub(super) fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// Clock ticks to milliseconds.
#[cfg(target_os = "linux")]
pub(super) fn ticks_to_ms(ticks: u64) -> u64 {
    let hz = rustix::param::clock_ticks_per_second().max(1);
    ticks.saturating_mul(1000) / hz
}

#[cfg(not(target_os = "linux"))]
pub(super) fn ticks_to_ms(ticks: u64) -> u64 {
    ticks.saturating_mul(10)
}

/// This process's pid and start time (clock ticks after boot): together they name it for
/// as long as the machine runs, which the pid alone does not once this process is gone.
/// `None` when `/proc` cannot say, and then no process's liveness can be told either.
pub(super) fn own_identity() -> Option<(u32, u64)> {
    static START: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let pid = std::process::id();
    let start = *START.get_or_init(|| read_stat(pid, &mut String::new()).map(|s| s.start));
    start.map(|start| (pid, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_supervision_uses() {
        let line = "19107 (cat) R 19104 19104 5464 0 -1 4194304 102 0 0 0 7 3 2 1 20 0 1 0 \
                    734830 3133440 388 18446744073709551615 94334130049024";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            stat,
            Stat {
                pid: 19107,
                state: b'R',
                ppid: 19104,
                pgrp: 19104,
                own_ticks: 10,
                children_ticks: 3,
                start: 734830,
                rss_pages: 388,
            }
        );
        assert!(!stat.is_zombie());
    }

    #[test]
    fn parses_group_and_resident_pages() {
        let line = "19107 (cat) R 19104 19104 5464 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 \
                    734830 3133440 388 18446744073709551615 94334130049024";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.pgrp, stat.rss_pages), (19104, 388));
    }

    #[test]
    fn survives_awkward_command_names() {
        let line = "7 (a) b (c) Z 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 100 77 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.pid, stat.pgrp, stat.rss_pages), (7, 42, 77));
        assert!(stat.is_zombie());
        assert_eq!(parse_stat("7 (truncated"), None);
        assert_eq!(parse_stat("7 (x) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_itself() {
        let me = std::process::id();
        let stat = read_stat(me, &mut String::new()).unwrap();
        assert_eq!(stat.pid, me);
        assert!(stat.rss_pages > 0);
        assert!(scan().iter().any(|s| s.pid == me));
    }
}
