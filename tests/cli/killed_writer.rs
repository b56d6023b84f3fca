//! A `tai call` killed with SIGKILL while its command runs: nothing the handler started may
//! run on once the next writer has recorded the action as interrupted, and that record says
//! what was left running and killed. The handler forks a grandchild that would leave a side
//! effect (a marker file) a few seconds later.
//!
//! Run on every path this machine has: the cgroup per action (tai as root), and the paths
//! without cgroups (`TAI_CGROUPS=off`, and tai as the unprivileged `nobody`), where only what
//! the README promises for them is asserted: the handler dies with tai, and the record says
//! that what it started could not be searched for.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Mode, is_root};

/// How long the grandchild sleeps before it leaves its marker.
const SIDE_EFFECT_AFTER: Duration = Duration::from_secs(4);

/// A workspace with the audit's pack: `/bin/sh` forking a grandchild that sleeps, then
/// writes `OUT/marker`. Dropping it kills whatever the test left, whether it passed or not.
struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
    mode: Mode,
    /// The killed tai's pid, once known: its leftover cgroups are removed on drop.
    tai_pid: Option<u32>,
    /// The handler's process group (its pid), once known: killed on drop.
    handler_group: Option<u32>,
}

impl Case {
    fn new(mode: Mode) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let out = root.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let o = out.display();
        let secs = SIDE_EFFECT_AFTER.as_secs();
        let script = format!(
            "echo $$ > {o}/handler.pid; \
             sh -c 'echo $$ > {o}/grandchild.pid; sleep {secs}; echo side-effect > {o}/marker'; \
             echo '{{\"ok\":true}}'"
        );
        common::command_pack_catalog(
            &root,
            "slow",
            "/bin/sh",
            &script,
            &format!("      sandbox: {{ write: [\"{o}\"] }}\n"),
            "timeout_ms: 60000, max_cpu_percent: 50",
        );
        common::share_with_handlers(&root, &out, mode);
        let case = Case {
            _dir: dir,
            root,
            out,
            mode,
            tai_pid: None,
            handler_group: None,
        };
        case.ok(&["event", "activate", "--tenant", "t1", "--sku", "slow-plan"]);
        case.ok(&["signal", "--tenant", "t1"]);
        case
    }

    fn tai(&self, args: &[&str]) -> Command {
        let mut cmd = common::tai_in_mode(self.mode, &self.root);
        cmd.args(args);
        cmd
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.tai(args).output().unwrap();
        assert!(
            out.status.success(),
            "[{:?}] tai {args:?}: {}",
            self.mode,
            text(&out.stderr)
        );
        out
    }

    /// Starts the call in the background and returns once the grandchild is running.
    fn start_call(&mut self) -> Child {
        let call = self
            .tai(&[
                "call",
                "slow_run",
                "--tenant",
                "t1",
                "--arg",
                "n=1",
                "--idempotency-key",
                "s1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.tai_pid = Some(call.id());
        self.handler_group = Some(self.read_pid("handler.pid"));
        self.read_pid("grandchild.pid");
        call
    }

    fn read_pid(&self, name: &str) -> u32 {
        common::wait_for_pid(&self.out.join(name), Duration::from_secs(20))
    }

    /// The one `action_interrupted` receipt of t1.
    fn interruption(&self) -> Value {
        let out = self.ok(&["receipts", "export", "--tenant", "t1", "--format", "json"]);
        let all: Value = serde_json::from_slice(&out.stdout).unwrap();
        let all = all
            .as_array()
            .cloned()
            .or_else(|| all["receipts"].as_array().cloned())
            .unwrap();
        let interrupted: Vec<&Value> = all
            .iter()
            .filter(|r| r["event_type"] == "action_interrupted")
            .collect();
        assert_eq!(interrupted.len(), 1, "[{:?}] {all:#?}", self.mode);
        interrupted[0].clone()
    }

    /// Kills tai with SIGKILL mid-action, lets the next writer record the interruption, and
    /// waits past the moment the grandchild would have left its marker.
    fn kill_mid_action_and_wait(&mut self) -> Value {
        let mut call = self.start_call();
        let killed_at = Instant::now();
        call.kill().unwrap();
        call.wait().unwrap();
        self.ok(&["signal", "--tenant", "t1"]);
        let interrupted = self.interruption();
        let past = SIDE_EFFECT_AFTER + Duration::from_secs(2);
        std::thread::sleep(past.saturating_sub(killed_at.elapsed()));
        interrupted
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if let Some(pgid) = self.handler_group.and_then(|p| i32::try_from(p).ok()) {
            // The group's id stays reserved while any member lives, so this hits only
            // what is left of the handler's group.
            if let Some(pgid) = rustix::process::Pid::from_raw(pgid) {
                let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            }
        }
        if let Some(pid) = self.tai_pid {
            for dir in groups_of(pid) {
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
                for member in members(&dir) {
                    let _ = Command::new("kill")
                        .args(["-9", &member.to_string()])
                        .status();
                }
                let end = Instant::now() + Duration::from_secs(5);
                while std::fs::remove_dir(&dir).is_err() && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The cgroup directories tai reports it makes action groups in (`tai doctor`): the v2
/// directory and the v1 `cpu` one, when in use. Empty when this machine gives tai none.
fn cgroup_dirs() -> Vec<PathBuf> {
    let out = Command::new(env!("CARGO_BIN_EXE_tai"))
        .args(["doctor", "--format", "json"])
        .env_remove("TAI_CGROUPS")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut dirs = Vec::new();
    for p in json["protections"].as_array().unwrap() {
        let mechanism = p["mechanism"].as_str().unwrap_or_default();
        let detail = p["detail"].as_str().unwrap_or_default();
        if mechanism.starts_with("cgroup")
            && let Some((_, dir)) = detail.split_once("under ")
        {
            dirs.push(PathBuf::from(dir));
        }
    }
    dirs.dedup();
    dirs
}

/// The groups tai process `pid` made, in every directory tai uses.
fn groups_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("tai-{pid}-");
    cgroup_dirs()
        .into_iter()
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

fn members(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Whether `pid` is a live process (a zombie counts as dead).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_owned()))
        .is_some_and(|r| !r.starts_with('Z') && !r.starts_with('X'))
}

#[test]
fn nothing_a_killed_call_started_runs_on_after_its_interruption_is_recorded() {
    if !is_root() || cgroup_dirs().is_empty() {
        eprintln!("skipped: tai gets no cgroups here (needs root or a delegated cgroup)");
        return;
    }
    let mut case = Case::new(Mode::Default);
    let interrupted = case.kill_mid_action_and_wait();
    let tai_pid = case.tai_pid.unwrap();

    let marker = case.out.join("marker");
    assert!(
        !marker.exists(),
        "the grandchild left its side effect after the interruption was recorded: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let left = groups_of(tai_pid);
    assert!(left.is_empty(), "the killed tai's cgroups remain: {left:?}");
    let leftovers = &interrupted["metadata"]["leftover_processes"];
    assert_eq!(leftovers["searched"], true, "{interrupted:#}");
    let killed = leftovers["killed"].as_u64().unwrap_or(0);
    // The grandchild shell and its `sleep`.
    assert!(killed >= 2, "{interrupted:#}");
    assert_eq!(leftovers["found"], leftovers["killed"], "{interrupted:#}");
    let message = interrupted["metadata"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{killed} processes it left running on this machine were killed"
        )),
        "{message}"
    );
}

#[test]
fn without_cgroups_the_handler_dies_with_a_killed_tai_and_the_record_says_what_is_unknown() {
    let mut modes = vec![Mode::NoCgroups];
    if is_root() && Command::new("setpriv").arg("--version").output().is_ok() {
        modes.push(Mode::Unprivileged);
    } else {
        eprintln!("skipped the unprivileged path: needs root and setpriv");
    }
    for mode in modes {
        let mut case = Case::new(mode);
        let interrupted = case.kill_mid_action_and_wait();
        let handler = case.handler_group.unwrap();
        // PR_SET_PDEATHSIG: the kernel killed the handler when tai died.
        assert!(!alive(handler), "[{mode:?}] the handler outlived tai");
        let leftovers = &interrupted["metadata"]["leftover_processes"];
        assert_eq!(leftovers["searched"], false, "[{mode:?}] {interrupted:#}");
        let message = interrupted["metadata"]["message"].as_str().unwrap();
        assert!(
            message.contains("what the handler started cannot be found"),
            "[{mode:?}] {message}"
        );
    }
}
