//! Command handlers stay inside their box: each escape a handler could try, through the real
//! `tai call`, with a pack whose handler is a shell script in a temporary catalog.
//!
//! Each escape is tried on every containment path this machine has: the cgroup per action
//! (where tai may create cgroups), the subreaper fallback (`TAI_CGROUPS=off`), and tai run
//! as an unprivileged user (where this test runs as root).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Mode, chown_tree, is_root};

const MODES: [Mode; 3] = [Mode::Default, Mode::NoCgroups, Mode::Unprivileged];

/// A temporary catalog with one pack whose one tool runs `sh -c SCRIPT`, and a tenant
/// entitled to it, ready for calls.
struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// A folder every user may write in, for the script to leave pids and results.
    io: PathBuf,
    mode: Mode,
}

impl Setup {
    /// `None` when `mode` cannot be had here (the reason is printed).
    fn new(mode: Mode, script: &str, handler_extra: &str, limits: &str) -> Option<Setup> {
        if mode == Mode::Unprivileged && !unprivileged_possible() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let io = root.join("io");
        std::fs::create_dir_all(&io).unwrap();
        let script = script.replace("IO", &io.display().to_string());
        // The script may write its pids and results in `io` unless the test declares otherwise.
        let handler_extra = if handler_extra.is_empty() {
            "      sandbox: { write: [\"IO\"] }\n"
        } else {
            handler_extra
        };
        let handler_extra = handler_extra
            .replace("IO", &io.display().to_string())
            .replace("ROOT", &root.display().to_string());
        common::command_pack_catalog(&root, "boxed", "sh", &script, &handler_extra, limits);
        common::share_with_handlers(&root, &io, mode);
        let setup = Setup {
            _dir: dir,
            root,
            io,
            mode,
        };
        let activate = setup.tai(
            &[
                "event",
                "activate",
                "--tenant",
                "acme",
                "--sku",
                "boxed-plan",
            ],
            &[],
        );
        assert_eq!(code(&activate), 0, "{}", text(&activate.stderr));
        let signal = setup.tai(&["signal", "--tenant", "acme"], &[]);
        assert_eq!(code(&signal), 0, "{}", text(&signal.stderr));
        Some(setup)
    }

    fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Replaces `from` with `to` in the pack file (the next call reads it anew).
    fn patch_pack(&self, from: &str, to: &str) {
        let pack = self.root.join("catalog/packs/boxed.yaml");
        let text = std::fs::read_to_string(&pack).unwrap();
        std::fs::write(&pack, text.replace(from, to)).unwrap();
    }

    /// Runs `tai` with `args` in this setup's mode, with extra environment `env`.
    fn tai(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = common::tai_in_mode(self.mode, &self.root);
        cmd.args(args);
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    }

    /// Calls the tool; the JSON call outcome and the exit code.
    fn call(&self, env: &[(&str, &str)]) -> (Value, i32) {
        let out = self.tai(
            &["call", "boxed_run", "--tenant", "acme", "--format", "json"],
            env,
        );
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "[{:?}] no JSON ({e}): {}\n{}",
                self.mode,
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        (json, code(&out))
    }

    /// Calls the tool and expects it to succeed; its result.
    fn result(&self, env: &[(&str, &str)]) -> Value {
        let (json, code) = self.call(env);
        assert_eq!(code, 0, "[{:?}] {json:#}", self.mode);
        json["result"].clone()
    }

    fn read_pid(&self, name: &str) -> u32 {
        common::wait_for_pid(&self.io.join(name), Duration::from_secs(5))
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether tai can be run as `nobody` here; prints why not.
fn unprivileged_possible() -> bool {
    if !is_root() {
        eprintln!("skipped the unprivileged path: this test does not run as root");
        return false;
    }
    let probe = Command::new("setpriv")
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            env!("CARGO_BIN_EXE_tai"),
            "--version",
        ])
        .output();
    match probe {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "skipped the unprivileged path: `nobody` cannot run tai: {}",
                text(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("skipped the unprivileged path: no setpriv: {e}");
            false
        }
    }
}

/// Whether `pid` is a live process (a zombie counts as dead), after giving a killed
/// process a moment to go.
fn alive(pid: u32) -> bool {
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        let live = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_owned()))
            .is_some_and(|r| !r.starts_with('Z') && !r.starts_with('X'));
        if !live || Instant::now() >= end {
            return live;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

#[test]
fn a_setsid_grandchild_does_not_survive_the_action() {
    let script = "setsid sh -c 'echo $$ > IO/escaped.pid; exec sleep 60' & \
                  while [ ! -s IO/escaped.pid ]; do sleep 0.01; done; echo '{}'";
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        s.result(&[]);
        let pid = s.read_pid("escaped.pid");
        let survived = alive(pid);
        kill(pid);
        assert!(!survived, "[{mode:?}] the setsid grandchild survived");
    }
}

#[test]
fn a_double_forked_daemon_does_not_survive_the_action() {
    let script = r#"python3 -c '
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        for fd in (0, 1, 2):
            os.close(fd)
        open("IO/daemon.pid", "w").write(str(os.getpid()))
        time.sleep(60)
    os._exit(0)
os.wait()
while not os.path.exists("IO/daemon.pid"):
    time.sleep(0.01)
print("{}")
'"#;
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        s.result(&[]);
        let pid = s.read_pid("daemon.pid");
        let survived = alive(pid);
        kill(pid);
        assert!(!survived, "[{mode:?}] the daemon survived");
    }
}

/// A process that forks and exits over and over, in a session of its own: each one lives for
/// less than a scan of `/proc` takes, so only killing its group at once stops it.
#[test]
fn a_process_that_keeps_forking_does_not_survive_the_action() {
    let script = r#"cat >/dev/null; python3 -c '
import os, time
if os.fork() == 0:
    os.setsid()
    end = time.time() + 30
    while time.time() < end:
        if os.fork() != 0:
            os._exit(0)
        open("IO/hop.pid", "w").write(str(os.getpid()))
    os._exit(0)
while not os.path.exists("IO/hop.pid"):
    time.sleep(0.01)
time.sleep(0.3)
print("{}")
'"#;
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        s.result(&[]);
        let first = std::fs::read_to_string(s.io.join("hop.pid")).unwrap_or_default();
        std::thread::sleep(Duration::from_millis(500));
        let later = std::fs::read_to_string(s.io.join("hop.pid")).unwrap_or_default();
        let pid: u32 = later.trim().parse().unwrap_or(0);
        let survived = first != later || (pid > 0 && alive(pid));
        if pid > 0 {
            kill(pid);
        }
        assert!(
            !survived,
            "[{mode:?}] the forking loop ran on after the action"
        );
    }
}

/// A descriptor tai inherited open (its caller's, without close-on-exec) does not reach the
/// handler: it would read past the sandbox and the user switch.
#[test]
fn a_descriptor_tai_inherited_does_not_reach_the_handler() {
    let script = r#"cat >/dev/null
                    if v=$(cat <&7 2>/dev/null); then r=true; else r=false; fi
                    echo "{\"read\": $r}""#;
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        let secret = s.root.join("secret");
        std::fs::write(&secret, "top secret").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cmd = common::tai_in_mode(s.mode, &s.root);
        // The same command, run by a shell that opens fd 7 on the secret for it.
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg("exec \"$@\" 7<\"$SECRET\"")
            .arg("sh")
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .args(["call", "boxed_run", "--tenant", "acme", "--format", "json"])
            .env("SECRET", &secret);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => shell.env(k, v),
                None => shell.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            shell.current_dir(dir);
        }
        let out = shell.output().unwrap();
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("[{mode:?}] {e}: {}", text(&out.stderr)));
        assert_eq!(code(&out), 0, "[{mode:?}] {json:#}");
        assert_eq!(json["result"]["read"], false, "[{mode:?}] {json:#}");
    }
}

#[test]
fn a_handler_cannot_read_or_list_the_ledgers() {
    let script = r#"if cat LEDGER_PATH >/dev/null 2>&1; then r=true; else r=false; fi
                    if ls STATE_PATH >/dev/null 2>&1; then l=true; else l=false; fi
                    echo "{\"read\": $r, \"listed\": $l}""#;
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        let ledger = walk_files(&s.state())
            .into_iter()
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
            .expect("the activation wrote a ledger file");
        s.patch_pack("LEDGER_PATH", ledger.to_str().unwrap());
        s.patch_pack("STATE_PATH", s.state().to_str().unwrap());
        let result = s.result(&[]);
        assert_eq!(
            result["read"],
            false,
            "[{mode:?}] read {}",
            ledger.display()
        );
        assert_eq!(
            result["listed"], false,
            "[{mode:?}] listed the state directory"
        );
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_handler_cannot_read_its_parents_environment() {
    let script = r#"if tr '\0' '\n' < /proc/$PPID/environ 2>/dev/null | grep -q tai-test-secret; then
                        r=true; else r=false; fi
                    echo "{\"leaked\": $r, \"parent\": $PPID}""#;
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000") else {
            continue;
        };
        let (json, code) = s.call(&[("TAI_TEST_SECRET", "tai-test-secret")]);
        assert_eq!(code, 0, "[{mode:?}] {json:#}");
        assert_eq!(json["result"]["leaked"], false, "[{mode:?}] {json:#}");
    }
}

#[test]
fn writes_outside_the_scratch_and_declared_paths_are_denied() {
    let script = r#"try() { if (echo x > "$1") 2>/dev/null; then echo true; else echo false; fi; }
                    echo "{\"declared\": $(try IO/declared/f), \"undeclared\": $(try IO/f),
                           \"scratch\": $(try "$TMPDIR/f"), \"cwd\": $(try ./g)}""#;
    let declares = "      sandbox: { write: [\"IO/declared\"] }\n";
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, declares, "timeout_ms: 20000") else {
            continue;
        };
        let declared = s.io.join("declared");
        std::fs::create_dir(&declared).unwrap();
        std::fs::set_permissions(&declared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let result = s.result(&[]);
        assert_eq!(result["undeclared"], false, "[{mode:?}] {result}");
        assert!(!s.io.join("f").exists(), "[{mode:?}]");
        assert_eq!(result["declared"], true, "[{mode:?}] {result}");
        assert_eq!(result["scratch"], true, "[{mode:?}] {result}");
        assert_eq!(result["cwd"], true, "[{mode:?}] {result}");
    }
}

#[test]
fn a_sandbox_reaching_the_state_directory_is_refused() {
    // The folder holding the state directory (and the catalog) is declared readable.
    let declares = "      sandbox: { read: [\"ROOT\"] }\n";
    for mode in [Mode::Default, Mode::NoCgroups] {
        let Some(s) = Setup::new(mode, "echo '{}'", declares, "timeout_ms: 20000") else {
            continue;
        };
        let (json, code) = s.call(&[]);
        assert_eq!(code, 5, "{json:#}");
        assert_eq!(json["reason"], "action_error", "{json:#}");
        let message = json["message"].as_str().unwrap();
        assert!(message.contains("tai protects"), "{message}");
    }
}

/// The signing key lies where the handler's sandbox reads. A handler running as tai's own
/// user (tai unprivileged) could open it, so it is refused; a root tai's handler runs as
/// another user, which the key's owner-only mode keeps out, so it runs and cannot read it.
#[test]
fn a_handler_never_reads_the_signing_key() {
    let script = r#"cat >/dev/null
                    if cat IO/../keys/signing.key >/dev/null 2>&1; then r=true; else r=false; fi
                    echo "{\"read\": $r}""#;
    let declares = "      sandbox: { read: [\"ROOT/keys\"], write: [\"IO\"] }\n";
    for mode in MODES {
        let Some(s) = Setup::new(mode, script, declares, "timeout_ms: 20000") else {
            continue;
        };
        let keys = s.root.join("keys");
        std::fs::create_dir(&keys).unwrap();
        common::tai()
            .args(["keys", "new", "--out"])
            .arg(keys.join("signing"))
            .output()
            .unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
        if mode == Mode::Unprivileged {
            chown_tree(&keys, 65534, 65534);
        }
        let key = keys.join("signing.key");
        // The workspace was begun unsigned: its history is adopted with this first key.
        let out = s.tai(
            &[
                "--adopt-unsigned",
                "call",
                "boxed_run",
                "--tenant",
                "acme",
                "--format",
                "json",
            ],
            &[("TAI_SIGNING_KEY", key.to_str().unwrap())],
        );
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("[{mode:?}] {e}: {}", text(&out.stderr)));
        let code = code(&out);
        if mode == Mode::Unprivileged {
            assert_eq!(code, 5, "[{mode:?}] {json:#}");
            let message = json["message"].as_str().unwrap();
            assert!(
                message.contains("tai protects (its signing key)"),
                "{message}"
            );
        } else {
            assert_eq!(code, 0, "[{mode:?}] {json:#}");
            assert_eq!(json["result"]["read"], false, "[{mode:?}] {json:#}");
        }
    }
}

/// SysV shared memory segments a root tai's handler makes (memory no process limit counts):
/// the action's own IPC namespace caps them at its memory limit, and they are gone with it.
#[test]
fn shared_memory_is_capped_and_gone_with_the_action() {
    if !is_root() {
        return;
    }
    let script = r#"cat >/dev/null; python3 -c '
import ctypes
libc = ctypes.CDLL(None)
libc.shmat.restype = ctypes.c_void_p
made = 0
for _ in range(10):
    i = libc.shmget(0, ctypes.c_size_t(40 << 20), 0o1600)
    if i < 0:
        break
    p = libc.shmat(i, None, 0)
    ctypes.memset(p, 1, 40 << 20)
    libc.shmdt(ctypes.c_void_p(p))
    made += 1
print("{\"segments\": %d}" % made)
'"#;
    let segments = || {
        std::fs::read_to_string("/proc/sysvipc/shm")
            .unwrap()
            .lines()
            .count()
    };
    for mode in [Mode::Default, Mode::NoCgroups] {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 20000, max_memory_mb: 100") else {
            continue;
        };
        let before = segments();
        let result = s.result(&[]);
        assert_eq!(result["segments"], 2, "[{mode:?}] {result}");
        assert_eq!(
            segments(),
            before,
            "[{mode:?}] segments outlived the action"
        );
    }
}

#[test]
fn two_gigabytes_on_stderr_end_the_action_at_once() {
    let script = "head -c 2000000000 /dev/zero >&2; echo '{}'";
    for mode in [Mode::Default, Mode::NoCgroups] {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 120000") else {
            continue;
        };
        let start = Instant::now();
        let (json, code) = s.call(&[]);
        let took = start.elapsed();
        assert_eq!(code, 5, "[{mode:?}] {json:#}");
        assert_eq!(
            json["reason"], "output_limit_exceeded",
            "[{mode:?}] {json:#}"
        );
        assert!(took < Duration::from_secs(30), "[{mode:?}] took {took:?}");
    }
}

/// The executed receipt's measured usage.
fn usage(json: &Value) -> Value {
    let receipts = json["receipts"].as_array().expect("receipts");
    receipts
        .iter()
        .find_map(|r| r["metadata"].get("usage").cloned())
        .unwrap_or_else(|| panic!("no usage recorded: {json:#}"))
}

#[test]
fn a_cpu_burn_is_held_to_max_cpu_percent_and_recorded() {
    let script =
        "end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done; echo '{}'";
    for mode in [Mode::Default, Mode::NoCgroups] {
        let Some(s) = Setup::new(mode, script, "", "timeout_ms: 30000, max_cpu_percent: 20") else {
            continue;
        };
        let (json, code) = s.call(&[]);
        assert_eq!(code, 0, "[{mode:?}] {json:#}");
        let usage = usage(&json);
        let wall = usage["wall_ms"].as_u64().unwrap();
        let cpu = usage["cpu_ms"].as_u64().unwrap();
        assert!(wall >= 2000, "[{mode:?}] {usage}");
        assert!(cpu > 0, "[{mode:?}] {usage}");
        // 20 % of the wall time, with room for a burst and sampling.
        assert!(
            cpu <= wall * 35 / 100 + 200,
            "[{mode:?}] used {cpu} ms of CPU in {wall} ms: {usage}"
        );
        assert!(usage["peak_memory_mb"].as_u64().is_some(), "{usage}");
        let limits = json["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|r| r["metadata"].get("limits").cloned())
            .unwrap();
        assert_eq!(limits["max_cpu_percent"], 20, "{limits}");
    }
}

#[test]
fn handlers_drop_to_an_unprivileged_user_when_tai_is_root() {
    if !is_root() {
        eprintln!("skipped: this test does not run as root");
        return;
    }
    let script = r#"echo "{\"uid\": $(id -u), \"gid\": $(id -g), \"groups\": \"$(id -G)\"}""#;
    let s = Setup::new(Mode::Default, script, "", "timeout_ms: 20000").unwrap();
    let result = s.result(&[]);
    assert_eq!(result["uid"], 65534, "{result}");
    assert_eq!(result["gid"], 65534, "{result}");
    assert_eq!(result["groups"], "65534", "{result}");

    let result = s.result(&[("TAI_HANDLER_USER", "4242:4343")]);
    assert_eq!(
        (result["uid"].clone(), result["gid"].clone()),
        (4242.into(), 4343.into())
    );

    let (json, code) = s.call(&[("TAI_HANDLER_USER", "tai-no-such-user")]);
    assert_eq!(code, 5, "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("`tai-no-such-user` does not exist"),
        "{message}"
    );
}

#[test]
fn an_unprivileged_tai_runs_handlers_as_itself() {
    let script = r#"echo "{\"uid\": $(id -u)}""#;
    let Some(s) = Setup::new(Mode::Unprivileged, script, "", "timeout_ms: 20000") else {
        return;
    };
    assert_eq!(s.result(&[])["uid"], 65534);
}

#[test]
fn doctor_reports_every_protection() {
    let out = Command::new(env!("CARGO_BIN_EXE_tai"))
        .args(["doctor", "--format", "json"])
        .env("TAI_CGROUPS", "off")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["protections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "descendants",
            "filesystem",
            "no_new_privs",
            "user",
            "cpu_limit",
            "rlimits",
            "output_caps",
            "ipc"
        ]
    );
    let descendants = &json["protections"][0];
    assert_eq!(descendants["status"], "fallback", "{json:#}");
    assert_eq!(descendants["mechanism"], "child subreaper", "{json:#}");
    assert_eq!(code(&out), 1, "a fallback is reported with exit 1");

    let human = Command::new(env!("CARGO_BIN_EXE_tai"))
        .arg("doctor")
        .env("NO_COLOR", "1")
        .env_remove("TAI_CGROUPS")
        .output()
        .unwrap();
    let table = text(&human.stdout);
    for name in names {
        assert!(table.contains(name), "{table}");
    }
}

#[test]
fn shortfalls_are_said_once_at_start_up() {
    let Some(s) = Setup::new(Mode::NoCgroups, "echo '{}'", "", "timeout_ms: 20000") else {
        return;
    };
    let out = s.tai(&["call", "boxed_run", "--tenant", "acme"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr
            .matches("warning: command handlers: descendants is fallback")
            .count(),
        1,
        "{stderr}"
    );
}
