//! Groups left behind by tai processes that are gone: found by name, emptied (every process
//! still in them killed), removed, and what was found tallied by action, so the receipt that
//! records an action as interrupted can say what was left of it.
//!
//! A tai killed while an action runs cannot kill the action's processes: its handler dies
//! with it (`PR_SET_PDEATHSIG`), but whatever the handler started lives on in the action's
//! cgroup, re-parented to init, with no timeout. Only a group whose owner is certainly gone
//! is touched: its name carries the owner's pid and start time (see `super::cgroup`), and a
//! live process with that pid and start time, or a live one with that pid where the name
//! carries no start time, keeps the group as it is.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::Leftovers;
use super::cgroup::{self, Cgroup};
use super::procfs;

/// How long a dead tai's group is given to empty once its processes are killed.
const EMPTY_WAIT: Duration = Duration::from_secs(5);
/// How long between kill rounds while a group empties.
const ROUND: Duration = Duration::from_millis(5);

/// Why a dead tai's group could not be emptied or removed.
#[derive(Debug, thiserror::Error)]
pub(super) enum StaleError {
    /// Processes were still in it after killing them for [`EMPTY_WAIT`].
    #[error(
        "{left} process(es) still in {} after killing them for {} s",
        dir.display(),
        waited.as_secs()
    )]
    NotEmptied {
        dir: PathBuf,
        left: usize,
        waited: Duration,
    },
    /// It emptied but the kernel refused to remove it.
    #[error("cannot remove {}: {source}", dir.display())]
    Remove {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Who made a group, as its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GroupName {
    pid: u32,
    /// `None` in names from before they carried it (`tai-<pid>-<n>`, `tai-probe-<pid>`).
    start: Option<u64>,
    /// The action the group held, when its name says.
    action: Option<String>,
}

/// Parses a group name tai makes: `tai-<pid>-<start>-<n>[-<action>]`,
/// `tai-probe-<pid>-<start>`, or the older `tai-<pid>-<n>` and `tai-probe-<pid>`.
pub(super) fn parse(name: &str) -> Option<GroupName> {
    let rest = name.strip_prefix("tai-")?;
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let (pid, start, action) = match parts.as_slice() {
        ["probe", pid] => (pid, None, None),
        ["probe", pid, start] => (pid, Some(num(start)?), None),
        [pid, n] => {
            num(n)?;
            (pid, None, None)
        }
        [pid, start, n] => {
            num(n)?;
            (pid, Some(num(start)?), None)
        }
        [pid, start, n, action] if cgroup::is_label(action) => {
            num(n)?;
            (pid, Some(num(start)?), Some((*action).to_owned()))
        }
        _ => return None,
    };
    Some(GroupName {
        pid: u32::try_from(num(pid)?).ok()?,
        start,
        action,
    })
}

/// Whether the tai that made the group is certainly gone: no process has its pid, the one
/// that has it has exited (a zombie runs nothing), or it started at another time. A name
/// without a start time is only taken as gone when its pid is free or a zombie's.
fn owner_gone(name: &GroupName) -> bool {
    match procfs::read_stat(name.pid, &mut String::new()) {
        None => true,
        Some(stat) if stat.is_zombie() => true,
        Some(stat) => name.start.is_some_and(|start| start != stat.start),
    }
}

/// What sweeps found of one action's groups (or, under `""`, of groups naming no action).
#[derive(Debug, Default)]
struct Tally {
    found: HashSet<u32>,
    left: HashSet<u32>,
    problems: Vec<String>,
}

static TALLIES: LazyLock<Mutex<HashMap<String, Tally>>> = LazyLock::new(Mutex::default);

fn tallies() -> MutexGuard<'static, HashMap<String, Tally>> {
    TALLIES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Empties and removes every group in `dir` whose tai is gone, tallying what each held.
/// `kill_file` says `cgroup.kill` may be used (cgroup v2 on Linux 5.14+); otherwise the
/// group is frozen where it can be and its processes are killed one by one.
pub(super) fn sweep(dir: &Path, kill_file: bool) {
    // Where `/proc` cannot be read, every owner would look gone, live ones included.
    if super::procfs::own_identity().is_none() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(parse) else {
            continue;
        };
        if !entry.path().is_dir() || !owner_gone(&name) {
            continue;
        }
        let mut found = HashSet::new();
        let cleared = clear(&entry.path(), kill_file, &mut found);
        let mut tallies = tallies();
        let tally = tallies.entry(name.action.unwrap_or_default()).or_default();
        tally.found.extend(&found);
        match cleared {
            Ok(()) => {}
            Err(e) => {
                if let StaleError::NotEmptied { dir, .. } = &e {
                    tally.left.extend(cgroup::procs(dir));
                }
                tally.problems.push(e.to_string());
            }
        }
    }
}

/// Kills every process in the group `dir` until it is empty, then removes it; `found`
/// collects every process seen in it meanwhile.
fn clear(dir: &Path, kill_file: bool, found: &mut HashSet<u32>) -> Result<(), StaleError> {
    let mut group = Cgroup::adopt(dir.to_owned(), kill_file);
    let start = Instant::now();
    loop {
        let members = cgroup::procs(dir);
        if members.is_empty() {
            break;
        }
        found.extend(&members);
        if start.elapsed() >= EMPTY_WAIT {
            // Marked removed so dropping it does not wait again: a process that survives
            // SIGKILL this long (stuck in the kernel) will not die for more waiting.
            group.give_up();
            return Err(StaleError::NotEmptied {
                dir: dir.to_owned(),
                left: members.len(),
                waited: EMPTY_WAIT,
            });
        }
        group.kill();
        std::thread::sleep(ROUND);
    }
    group.remove();
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StaleError::Remove {
            dir: dir.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// What sweeps in this process found of `action`'s groups (`searched`: whether this machine
/// gives tai any group to search). What is said is forgotten, so it is said once.
pub(super) fn leftovers(action: &str, searched: bool) -> Leftovers {
    let tally = tallies().remove(action).unwrap_or_default();
    let found = tally.found.len() as u64;
    let left = tally.left.intersection(&tally.found).count() as u64;
    Leftovers {
        searched,
        found,
        killed: found.saturating_sub(left),
        problem: (!tally.problems.is_empty()).then(|| tally.problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_say_who_made_them_and_for_which_action() {
        let name = |pid, start, action: Option<&str>| GroupName {
            pid,
            start,
            action: action.map(str::to_owned),
        };
        assert_eq!(parse("tai-12-345-0"), Some(name(12, Some(345), None)));
        assert_eq!(
            parse("tai-12-345-7-act_0a1b"),
            Some(name(12, Some(345), Some("act_0a1b")))
        );
        assert_eq!(parse("tai-probe-12-345"), Some(name(12, Some(345), None)));
        // Names from before they carried the start time.
        assert_eq!(parse("tai-123-4"), Some(name(123, None, None)));
        assert_eq!(parse("tai-probe-77"), Some(name(77, None, None)));
        for other in [
            "system.slice",
            "tai-x-1",
            "tai-1-2-x",
            "tai-1--2",
            "tai-1-2-3-a.b",
            "tai-1-2-3-a-b",
            "tai-99999999999-1",
            "tai-",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    #[test]
    fn only_a_gone_owner_gives_up_its_groups() {
        let (me, start) = super::procfs::own_identity().unwrap();
        let named = |pid, start| GroupName {
            pid,
            start,
            action: None,
        };
        assert!(!owner_gone(&named(me, Some(start))));
        // The same pid started at another time: a reused pid, not the owner.
        assert!(owner_gone(&named(me, Some(start + 1))));
        // Without a start time a live pid cannot be told apart from the owner: kept.
        assert!(!owner_gone(&named(me, None)));
        // Above the kernel's pid limit (2^22): certainly not running.
        assert!(owner_gone(&named(4_999_999, None)));
        assert!(owner_gone(&named(4_999_999, Some(1))));
    }

    #[test]
    fn a_sweep_removes_a_gone_tais_groups_and_keeps_a_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (me, start) = super::procfs::own_identity().unwrap();
        let dead = 4_999_999;
        for name in [
            format!("tai-{dead}-1-0-act_a"),
            format!("tai-probe-{dead}"),
            format!("tai-{me}-{start}-0-act_b"),
            format!("tai-{me}-{}-0-act_c", start + 1),
            format!("tai-{me}-3"),
            "user.slice".to_owned(),
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        sweep(dir.path(), false);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut kept = vec![
            format!("tai-{me}-{start}-0-act_b"),
            format!("tai-{me}-3"),
            "user.slice".to_owned(),
        ];
        kept.sort();
        assert_eq!(left, kept);
        // Empty groups: found nothing, said once.
        let a = leftovers("act_a", true);
        assert_eq!((a.found, a.killed, a.problem), (0, 0, None));
    }
}
