//! The fallback when no cgroup can hold an action: tai becomes a child subreaper and
//! follows each handler's process tree itself.
//!
//! As a subreaper (`PR_SET_CHILD_SUBREAPER`), tai adopts every orphan among its descendants,
//! so a handler's grandchild that double-forks or calls `setsid` is re-parented to tai
//! instead of escaping to init. Each action's members are its leader's descendants (found
//! through `/proc` parent links) plus the adopted processes attributed to it; every process
//! seen in an action's tree is remembered as the action's, so it stays attributed after it
//! is orphaned. When the action ends, the sweep kills the tree and every adopted process no
//! running action claims, repeatedly, until none is left, and reaps what tai adopted. A
//! process that forks and exits in a loop lives for less than a scan of `/proc` takes; the
//! sweep kills the process groups of its exited members too, all at once, which such a loop
//! cannot outrun unless each of its forks also starts a new session.
//!
//! Limits: an orphan adopted before any sample saw it can only be attributed while one action
//! runs; with several running, it is killed when the first of them ends, which may be before
//! its own action ends but never after. A process embedding tai must not spawn children of
//! its own while fallback actions run: tai would take them for adopted orphans.

use std::collections::{HashMap, HashSet};
use std::io;
use std::process::{Child, Command};
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use rustix::process::Signal;

use super::procfs::{self, Stat};

/// How many kill rounds a sweep makes at most before giving up on stragglers.
const SWEEP_ROUNDS: usize = 500;

#[derive(Debug, Default)]
struct Registry {
    /// The leaders (handler processes tai spawned) of the actions running now.
    leaders: HashSet<u32>,
    /// Every process seen in an action's tree, by pid and start time, with its leader.
    claimed: HashMap<(u32, u64), u32>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One running action's process tree.
#[derive(Debug)]
pub(super) struct Tree {
    leader: u32,
    me: u32,
    finished: bool,
}

impl Tree {
    /// Spawns `cmd` as the leader of a new tree, tai being the subreaper of its descendants.
    pub(super) fn spawn(cmd: &mut Command) -> io::Result<(Child, Tree)> {
        static SUBREAPER: OnceLock<Result<(), io::ErrorKind>> = OnceLock::new();
        SUBREAPER
            .get_or_init(|| super::process::become_subreaper().map_err(|e| e.kind()))
            .map_err(io::Error::from)?;
        // Held across the spawn: a sweep never sees a new leader before it is registered.
        let mut reg = registry();
        let child = cmd.spawn()?;
        reg.leaders.insert(child.id());
        let tree = Tree {
            leader: child.id(),
            me: std::process::id(),
            finished: false,
        };
        Ok((child, tree))
    }

    /// The action's processes now (the leader included, while it is not reaped).
    pub(super) fn members(&self) -> Vec<u32> {
        let mut reg = registry();
        self.collect(&mut reg, &procfs::scan(), false)
            .iter()
            .map(|s| s.pid)
            .collect()
    }

    /// Kills every process of the action and every unclaimed adopted one, until none is left,
    /// and reaps the adopted ones (the leader is left for its `Child` to reap).
    pub(super) fn sweep(&self) {
        for _ in 0..SWEEP_ROUNDS {
            let mut reg = registry();
            let all = procfs::scan();
            let members = self.collect(&mut reg, &all, true);
            // A process that forks and exits over and over lives for less than a scan takes,
            // so killing what a scan saw may never hit it; its group, killed at once, does.
            for group in self.groups_to_kill(&members, &all) {
                super::process::kill_group(group);
            }
            let mut live = 0;
            for m in &members {
                if m.is_zombie() {
                    if m.ppid == self.me && m.pid != self.leader {
                        super::process::reap(m.pid);
                    }
                } else {
                    live += 1;
                    super::process::signal_exact(m.pid, m.start, Signal::KILL);
                }
            }
            drop(reg);
            if live == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The process groups of `members` that may be killed whole: every process of the group
    /// in `all` is a member (a handler may join another group of its session, tai's own
    /// included, and those are not its to lose), and an exited member not yet reaped by tai
    /// holds the group's id, so it cannot have been reused by the time it is killed.
    fn groups_to_kill(&self, members: &[Stat], all: &[Stat]) -> HashSet<u32> {
        let ours: HashSet<u32> = members.iter().map(|m| m.pid).collect();
        members
            .iter()
            .filter(|m| m.is_zombie() && m.ppid == self.me && m.pid != self.leader)
            .map(|m| m.pgrp)
            .filter(|&group| {
                group > 1
                    && all
                        .iter()
                        .filter(|s| s.pgrp == group)
                        .all(|s| ours.contains(&s.pid))
            })
            .collect()
    }

    /// Forgets the action; call once its leader is reaped.
    pub(super) fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut reg = registry();
        reg.leaders.remove(&self.leader);
        reg.claimed.retain(|_, leader| *leader != self.leader);
    }

    /// The action's members among `all`, claiming them; with `sweeping`, also every adopted
    /// process no running action claims.
    fn collect(&self, reg: &mut Registry, all: &[Stat], sweeping: bool) -> Vec<Stat> {
        let alone = reg.leaders.len() == 1;
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, s) in all.iter().enumerate() {
            children.entry(s.ppid).or_default().push(i);
        }
        let mut stack: Vec<usize> = Vec::new();
        for (i, s) in all.iter().enumerate() {
            let ours = if s.pid == self.leader {
                true
            } else if s.ppid == self.me && !reg.leaders.contains(&s.pid) {
                match reg.claimed.get(&(s.pid, s.start)) {
                    Some(&leader) => leader == self.leader,
                    None => alone || sweeping,
                }
            } else {
                false
            };
            if ours {
                stack.push(i);
            }
        }
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            let s = all[i];
            if s.pid == self.me || !seen.insert(s.pid) {
                continue;
            }
            reg.claimed.insert((s.pid, s.start), self.leader);
            members.push(s);
            if let Some(kids) = children.get(&s.pid) {
                stack.extend(kids.iter().copied());
            }
        }
        members
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if !self.finished {
            self.sweep();
            self.finish();
        }
    }
}
