//! What holds one action's processes: a cgroup where tai may create one, else its process
//! tree under tai as subreaper. Either way the supervisor asks the same questions (who is in
//! it, how much CPU did it use) and ends it the same way (kill everything, then release).

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, Command};

use rustix::process::Signal;

use super::cgroup::Cgroup;
use super::procfs::Stat;
use super::protections::Machine;
use super::tree::Tree;

/// The processes of one action, held together.
#[derive(Debug)]
pub(super) enum Confinement {
    /// A cgroup per action; `caps_cpu` when the kernel enforces its CPU share.
    Cgroup { cgroup: Cgroup, caps_cpu: bool },
    /// The leader's process tree, once spawned.
    Tree(Option<Tree>),
}

impl Confinement {
    /// Prepares the confinement of `action` (when recorded), allowed `cpu_percent` of one
    /// core.
    pub(super) fn new(
        machine: &Machine,
        cpu_percent: Option<u32>,
        action: Option<&str>,
    ) -> io::Result<Self> {
        match &machine.cgroup {
            Some(support) => {
                let cgroup =
                    Cgroup::create(support, machine.cpu_v1.as_deref(), cpu_percent, action)?;
                let caps_cpu = cgroup.caps_cpu(support);
                Ok(Confinement::Cgroup { cgroup, caps_cpu })
            }
            None => Ok(Confinement::Tree(None)),
        }
    }

    /// The `cgroup.procs` files the child joins before exec.
    pub(super) fn join_files(&self) -> io::Result<Vec<OwnedFd>> {
        match self {
            Confinement::Cgroup { cgroup, .. } => cgroup.join_files(),
            Confinement::Tree(_) => Ok(Vec::new()),
        }
    }

    /// Spawns the action's leader.
    pub(super) fn spawn(&mut self, cmd: &mut Command) -> io::Result<Child> {
        match self {
            Confinement::Cgroup { .. } => cmd.spawn(),
            Confinement::Tree(tree) => {
                let (child, spawned) = Tree::spawn(cmd)?;
                *tree = Some(spawned);
                Ok(child)
            }
        }
    }

    /// The action's processes now.
    pub(super) fn members(&self) -> Vec<u32> {
        match self {
            Confinement::Cgroup { cgroup, .. } => cgroup.members(),
            Confinement::Tree(tree) => tree.as_ref().map(Tree::members).unwrap_or_default(),
        }
    }

    /// The CPU time the kernel counted for the action, where it counts it.
    pub(super) fn counted_cpu_ms(&self) -> Option<u64> {
        match self {
            Confinement::Cgroup { cgroup, .. } => cgroup.cpu_used_ms(),
            Confinement::Tree(_) => None,
        }
    }

    /// Whether the kernel holds the action to its CPU share (else the watchdog must).
    pub(super) fn kernel_caps_cpu(&self) -> bool {
        matches!(self, Confinement::Cgroup { caps_cpu: true, .. })
    }

    /// Pauses (`true`) or resumes the whole action, whose processes are `sample`.
    pub(super) fn pause(&self, paused: bool, sample: &[Stat]) {
        if let Confinement::Cgroup { cgroup, .. } = self
            && cgroup.freeze(paused).is_ok()
        {
            return;
        }
        let signal = if paused { Signal::STOP } else { Signal::CONT };
        for s in sample {
            super::process::signal_exact(s.pid, s.start, signal);
        }
    }

    /// Kills every process of the action (the leader stays unreaped for its `Child`).
    pub(super) fn kill_all(&self) {
        match self {
            Confinement::Cgroup { cgroup, .. } => cgroup.kill(),
            Confinement::Tree(tree) => {
                if let Some(tree) = tree {
                    tree.sweep();
                }
            }
        }
    }

    /// Frees what held the action, once its leader is reaped.
    pub(super) fn release(&mut self) {
        match self {
            Confinement::Cgroup { cgroup, .. } => cgroup.remove(),
            Confinement::Tree(tree) => {
                if let Some(tree) = tree {
                    tree.finish();
                }
            }
        }
    }
}
