//! One cgroup per action: every process the handler starts stays in it whatever it does
//! (`setsid`, double fork), so the action ends by killing the cgroup as a whole.
//!
//! The cgroup v2 child is created under tai's own cgroup. The handler joins it, and the
//! v1 `cpu` cgroup holding its CPU quota where that is the CPU mechanism, between fork and
//! exec (see `process::prepare_child`), before it can start anything. Killing uses
//! `cgroup.kill` (Linux 5.14+), else freezes the cgroup and kills each member, so nothing
//! can fork while it is being emptied.
//!
//! A group is named `tai-<pid>-<start>-<n>[-<action>]`: the tai process that made it, by pid
//! and start time (clock ticks after boot, so a reused pid never passes for it), a counter,
//! and the action it holds. A tai killed before it removed its groups leaves them behind,
//! possibly still holding processes; the name is what lets a later tai tell, safely, that
//! their owner is gone and empty them (`super::stale`).

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

/// A cgroup v2 directory tai may create children in.
#[derive(Debug, Clone)]
pub(super) struct CgroupSupport {
    pub(super) dir: PathBuf,
    /// `cgroup.kill` exists (Linux 5.14+); otherwise the cgroup is frozen and its processes
    /// killed one by one.
    pub(super) kill_file: bool,
    /// The `cpu` controller is enabled for children, so `cpu.max` can cap them.
    pub(super) cpu_max: bool,
}

/// CFS period used for quotas, in microseconds (the kernel's default).
const PERIOD_US: u64 = 100_000;
/// How long to wait for a killed cgroup to empty before giving up on removing it.
const EMPTY_WAIT: Duration = Duration::from_secs(2);

/// A per-action cgroup (v2), with an optional v1 `cpu` sibling holding its CPU quota.
#[derive(Debug)]
pub(super) struct Cgroup {
    dir: PathBuf,
    kill_file: bool,
    cpu_v1: Option<PathBuf>,
    removed: bool,
}

impl Cgroup {
    /// Creates the cgroups for one action, capping its CPU at `cpu_percent` of one core where
    /// a cpu controller is at hand (`cpu.max` in v2, else `cpu_v1`'s `cpu.cfs_quota_us`).
    /// `action` names the action in the group's name when it is a plain word
    /// (`[A-Za-z0-9_]`, at most [`MAX_LABEL`] bytes), so a later tai can say what it found of it.
    pub(super) fn create(
        support: &CgroupSupport,
        cpu_v1: Option<&Path>,
        cpu_percent: Option<u32>,
        action: Option<&str>,
    ) -> io::Result<Cgroup> {
        let (name, dir) = fresh_dir(&support.dir, action)?;
        let mut cgroup = Cgroup {
            dir,
            kill_file: support.kill_file,
            cpu_v1: None,
            removed: false,
        };
        if let Some(percent) = cpu_percent {
            let quota = quota_us(percent);
            if support.cpu_max {
                fs::write(cgroup.dir.join("cpu.max"), format!("{quota} {PERIOD_US}"))?;
            } else if let Some(v1) = cpu_v1 {
                let dir = v1.join(&name);
                create_replacing_stale(&dir)?;
                cgroup.cpu_v1 = Some(dir.clone());
                fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
            }
        }
        Ok(cgroup)
    }

    /// Whether the kernel caps the action's CPU (otherwise the watchdog must).
    pub(super) fn caps_cpu(&self, support: &CgroupSupport) -> bool {
        support.cpu_max || self.cpu_v1.is_some()
    }

    /// The `cgroup.procs` files the child writes itself into.
    pub(super) fn join_files(&self) -> io::Result<Vec<OwnedFd>> {
        let mut files = vec![open_procs(&self.dir)?];
        if let Some(v1) = &self.cpu_v1 {
            files.push(open_procs(v1)?);
        }
        Ok(files)
    }

    /// The processes in the cgroup now.
    pub(super) fn members(&self) -> Vec<u32> {
        procs(&self.dir)
    }

    /// CPU time used by every process that was ever in the cgroup, in milliseconds.
    pub(super) fn cpu_used_ms(&self) -> Option<u64> {
        let stat = fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        let usec: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))?
            .trim()
            .parse()
            .ok()?;
        Some(usec / 1000)
    }

    /// Freezes (`true`) or thaws the whole cgroup.
    pub(super) fn freeze(&self, frozen: bool) -> io::Result<()> {
        fs::write(
            self.dir.join("cgroup.freeze"),
            if frozen { "1" } else { "0" },
        )
    }

    /// Kills every process in the cgroup.
    pub(super) fn kill(&self) {
        if self.kill_file && fs::write(self.dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        self.freeze_and_kill();
    }

    /// Kills every member of a frozen cgroup one by one: frozen, none can fork meanwhile.
    pub(super) fn freeze_and_kill(&self) {
        let frozen = self.freeze(true).is_ok();
        let deadline = Instant::now() + EMPTY_WAIT;
        loop {
            let members = self.members();
            if members.is_empty() || Instant::now() >= deadline {
                break;
            }
            let mut buf = String::new();
            for pid in members {
                if let Some(stat) = super::procfs::read_stat(pid, &mut buf) {
                    super::process::signal_exact(pid, stat.start, Signal::KILL);
                }
            }
            // SIGKILL reaches frozen tasks; thawing lets them die and leave the cgroup.
            if frozen {
                let _ = self.freeze(false);
                let _ = self.freeze(true);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.freeze(false);
    }

    /// Takes over the existing group `dir` (a dead tai's), to be emptied and removed.
    pub(super) fn adopt(dir: PathBuf, kill_file: bool) -> Cgroup {
        Cgroup {
            dir,
            kill_file,
            cpu_v1: None,
            removed: false,
        }
    }

    /// Stops trying to empty and remove the group: dropping it leaves it as it is.
    pub(super) fn give_up(&mut self) {
        self.removed = true;
    }

    /// Waits for the killed cgroup to empty, then removes it (and its v1 sibling).
    pub(super) fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        let deadline = Instant::now() + EMPTY_WAIT;
        for dir in std::iter::once(&self.dir).chain(self.cpu_v1.as_ref()) {
            while fs::remove_dir(dir).is_err() && Instant::now() < deadline {
                if !procs(dir).is_empty() {
                    self.kill();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.removed {
            self.kill();
            self.remove();
        }
    }
}

/// The CFS quota for `percent` of one core.
fn quota_us(percent: u32) -> u64 {
    (PERIOD_US * u64::from(percent) / 100).max(1000)
}

/// A new cgroup under `parent`, named for this process and `action`. A group of that name
/// can only be left over from an earlier tai with the same pid and start time (a pid reused
/// within one clock tick): an empty one is removed and taken, one still holding processes
/// is skipped for the next name.
fn fresh_dir(parent: &Path, action: Option<&str>) -> io::Result<(String, PathBuf)> {
    let mut last = None;
    for _ in 0..8 {
        let name = unique_name(action);
        let dir = parent.join(&name);
        match create_replacing_stale(&dir) {
            Ok(()) => return Ok((name, dir)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Creates `dir`; when it exists, removes it first if it is empty (a stale group).
fn create_replacing_stale(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // rmdir of a cgroup fails while it holds processes: then it is not stale.
            fs::remove_dir(dir).map_err(|_| e)?;
            fs::create_dir(dir)
        }
        other => other,
    }
}

/// The longest action label a group name carries (cgroup names may be 255 bytes).
pub(super) const MAX_LABEL: usize = 64;

/// Whether `label` may stand in a group name: one plain word, so the name parses back.
pub(super) fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn unique_name(action: Option<&str>) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    // Without our start time the sweep is off everywhere `/proc` is unreadable alike, so a
    // placeholder only needs to parse.
    let start = super::procfs::own_identity().map_or(0, |(_, start)| start);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    match action.filter(|a| is_label(a)) {
        Some(action) => format!("tai-{pid}-{start}-{n}-{action}"),
        None => format!("tai-{pid}-{start}-{n}"),
    }
}

fn open_procs(dir: &Path) -> io::Result<OwnedFd> {
    Ok(fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))?
        .into())
}

/// The processes in the group `dir` now (none when it cannot be read).
pub(super) fn procs(dir: &Path) -> Vec<u32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_empty_group_is_taken_over_and_a_live_one_is_not() {
        let parent = tempfile::tempdir().unwrap();
        let stale = parent.path().join("tai-1-0");
        fs::create_dir(&stale).unwrap();
        create_replacing_stale(&stale).unwrap();
        // A directory that cannot be removed stands for a group still holding processes.
        let live = parent.path().join("tai-1-1");
        fs::create_dir(&live).unwrap();
        fs::write(live.join("cgroup.procs"), "42").unwrap();
        let e = create_replacing_stale(&live).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let (name, dir) = fresh_dir(parent.path(), Some("act_1f")).unwrap();
        assert!(dir.is_dir() && name.starts_with("tai-"), "{name}");
        let (pid, start) = super::super::procfs::own_identity().unwrap();
        assert!(
            name.starts_with(&format!("tai-{pid}-{start}-")) && name.ends_with("-act_1f"),
            "{name}"
        );
        // A label that would not parse back is left out of the name.
        let (name, _) = fresh_dir(parent.path(), Some("a-b/c")).unwrap();
        assert_eq!(name.matches('-').count(), 3, "{name}");
    }

    #[test]
    fn quotas_are_a_share_of_one_core() {
        assert_eq!(quota_us(100), 100_000);
        assert_eq!(quota_us(25), 25_000);
        assert_eq!(quota_us(1), 1000);
    }

    /// The path without `cgroup.kill` (kernels before 5.14): freeze, then kill each member.
    #[test]
    fn freezing_and_killing_empties_a_cgroup() {
        let Some(support) = super::super::protections::machine().cgroup.clone() else {
            eprintln!("skipped: no usable cgroup v2 hierarchy on this machine");
            return;
        };
        let support = CgroupSupport {
            kill_file: false,
            ..support
        };
        let mut cgroup = Cgroup::create(&support, None, None, None).unwrap();
        // The shell waits for a line, so it forks only once it is in the cgroup.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read go; setsid sleep 60 & exec sleep 60"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        fs::write(cgroup.dir.join("cgroup.procs"), child.id().to_string()).unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while cgroup.members().len() < 2 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        let members = cgroup.members();
        assert_eq!(members.len(), 2, "{members:?}");
        cgroup.kill();
        let _ = child.wait();
        let end = Instant::now() + Duration::from_secs(5);
        while !cgroup.members().is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(cgroup.members().is_empty());
        cgroup.remove();
        assert!(!cgroup.dir.exists());
    }
}
