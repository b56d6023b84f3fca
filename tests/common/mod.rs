//! Helpers the integration test binaries share: the `tai` binary as a user runs it, what it
//! printed, where the fixtures are, and the tokens of the serving tests.
//!
//! Included by each binary's `main.rs` as `#[path = "../common/mod.rs"] mod common;`.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tai::catalog::{Catalog, load};
use tai::ids::TenantId;

/// The admin token of the serving tests.
pub const ADMIN: &str = "admin-secret";
/// Tenant `acme`'s token.
pub const ACME: &str = "acme-secret";
/// Tenant `globex`'s token.
pub const GLOBEX: &str = "globex-secret";

/// `tai call` of the shipped rollback for tenant `acme`, with the context every
/// precondition wants: it passes the gates whenever the plan and the roles allow it.
pub const ROLLBACK_CALL: &[&str] = &[
    "call",
    "ac_rollback_orchestrator",
    "--tenant",
    "acme",
    "--arg",
    "deployment=checkout-api",
    "--context",
    "deployment_stable=true",
    "--context",
    "rollback_target_version=2.4.0",
    "--context",
    "rollback_policy_approved=true",
];

/// How long a serving test waits for anything: generous, the machine may be busy.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// The small catalog of the governor seed's examples (`tests/fixtures/seed`).
pub fn seed_catalog() -> Catalog {
    load::build(&load::read_dir(&fixture("seed")).unwrap()).unwrap()
}

/// A tenant id known to be valid.
pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// Whether this test runs as root (the containment tests then also run tai as `nobody`).
#[allow(dead_code)]
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Gives `path` and everything under it to `uid`:`gid` (symlinks themselves, not their
/// targets), so a test can hand a workspace to `nobody`.
#[allow(dead_code)]
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid, gid);
        }
    }
}

/// Writes `root/catalog`: a pack `id` whose one tool `{id}_run` runs `program -c script`
/// (action `run`, role `operate`, `compute_limits: { limits }`, then the handler lines
/// `handler_extra`), and the SKU `{id}-plan` (plan `{id}-tier`) enabling it — what every
/// test of a command handler needs around its script.
#[allow(dead_code)]
pub fn command_pack_catalog(
    root: &Path,
    id: &str,
    program: &str,
    script: &str,
    handler_extra: &str,
    limits: &str,
) {
    std::fs::create_dir_all(root.join("catalog/packs")).unwrap();
    std::fs::create_dir_all(root.join("catalog/skus")).unwrap();
    std::fs::write(
        root.join(format!("catalog/packs/{id}.yaml")),
        format!(
            "pack_id: {id}\nversion: 1.0.0\ndescription: A command handler under test\n\
             actions:\n  - id: run\n    roles: [operate]\n    compute_limits: {{ {limits} }}\n\
             tools:\n  - name: {id}_run\n    description: Runs the script\n    action: run\n\
             \x20   handler:\n      kind: command\n      program: {program}\n\
             \x20     args: [\"-c\", {}]\n{handler_extra}",
            serde_json::to_string(script).unwrap()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join(format!("catalog/skus/{id}-plan.yaml")),
        format!(
            "sku_id: {id}-plan\nplan_id: {id}-tier\ntitle: Under test\nprice: {{ amount: 0 }}\n\
             enabled_packs: [{id}]\niam_roles: [operate]\n"
        ),
    )
    .unwrap();
}

/// Lets a handler (which may run as `nobody`) reach `root` and write in `io`; in
/// [`Mode::Unprivileged`] hands the whole tree to `nobody`, as whom tai then runs.
#[cfg(unix)]
#[allow(dead_code)]
pub fn share_with_handlers(root: &Path, io: &Path, mode: Mode) {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    set(root, 0o711).unwrap();
    set(io, 0o777).unwrap();
    if mode == Mode::Unprivileged {
        chown_tree(root, 65534, 65534);
    }
}

/// The pid a handler writes to `path`, waiting for it at most `within`.
#[allow(dead_code)]
pub fn wait_for_pid(path: &Path, within: Duration) -> u32 {
    let end = Instant::now() + within;
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < end, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How a containment test runs tai: as the test runs (root in CI, with whatever containment
/// the machine offers), with cgroups turned off (the subreaper fallback), or as the
/// unprivileged user `nobody` (only when the test runs as root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Mode {
    Default,
    NoCgroups,
    Unprivileged,
}

/// `tai --state state --catalog catalog` in `root`, run in `mode`, with nothing of the
/// caller's environment that would change what it does.
#[cfg(feature = "cli")]
#[allow(dead_code)]
pub fn tai_in_mode(mode: Mode, root: &Path) -> Command {
    let bin = env!("CARGO_BIN_EXE_tai");
    let mut cmd = if mode == Mode::Unprivileged {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(["--state", "state", "--catalog", "catalog"])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("TAI_CATALOG")
        .env_remove("TAI_STATE")
        .env_remove("TAI_NOW")
        .env_remove("TAI_LEDGER")
        .env_remove("TAI_HANDLER_USER")
        .env_remove("TAI_CGROUPS");
    if mode == Mode::NoCgroups {
        cmd.env("TAI_CGROUPS", "off");
    }
    cmd
}

/// The `tai` binary without colour and without the environment variables that would
/// override its options (`TAI_CATALOG`, `TAI_STATE`, `TAI_NOW`, `TAI_LEDGER`,
/// `TAI_SIGNING_KEY`, `TAI_ADMIN_TOKEN`, `RUST_LOG`), so a test sees only the arguments it gives. Runs in the test's working
/// directory unless told otherwise.
#[cfg(feature = "cli")]
pub fn tai() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tai"));
    cmd.env("NO_COLOR", "1")
        .env_remove("TAI_CATALOG")
        .env_remove("TAI_STATE")
        .env_remove("TAI_NOW")
        .env_remove("TAI_LEDGER")
        .env_remove("TAI_SIGNING_KEY")
        .env_remove("TAI_ADMIN_TOKEN")
        .env_remove("RUST_LOG");
    cmd
}

/// `tai --state STATE ARGS`: the local workspace in STATE.
#[cfg(feature = "cli")]
pub fn tai_state(state: &Path, args: &[&str]) -> Run {
    tai()
        .arg("--state")
        .arg(state)
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// `tai --state STATE --now 2026-03-01T00:00:00Z ARGS`: the local workspace at a fixed time.
#[cfg(feature = "cli")]
pub fn tai_at(state: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--now", "2026-03-01T00:00:00Z"];
    all.extend_from_slice(args);
    tai_state(state, &all)
}

/// Activates tenant `acme` on `sku` in the workspace at `state` (see [`tai_at`]) and boots
/// its governor with a signal recording `facts` (`KEY=VALUE` each).
#[cfg(feature = "cli")]
pub fn onboard_acme(state: &Path, sku: &str, facts: &[&str]) {
    tai_at(
        state,
        &["event", "activate", "--tenant", "acme", "--sku", sku],
    )
    .ok();
    let mut signal = vec!["signal", "--tenant", "acme"];
    for fact in facts {
        signal.extend(["--fact", fact]);
    }
    tai_at(state, &signal).ok();
}

/// Output bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a finished run printed, as UTF-8.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// What a finished run printed on stderr, as UTF-8.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A finished run: its exit code and what it printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

impl Run {
    /// Asserts the run exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    /// Asserts the run exited `code`.
    pub fn exits(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }

    /// Asserts stdout contains `needle`.
    pub fn has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts stdout does not contain `needle`.
    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts stderr contains `needle`.
    pub fn errs(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A running server (`tai serve`, `tai demo`): its stderr is drained line by line on a
/// thread, so the process never blocks on a full pipe. Killed when dropped.
pub struct Served {
    pub child: Child,
    /// `http://IP:PORT`, from its `listening on` line.
    pub base: String,
    stderr: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl Served {
    /// Spawns `cmd` (stdin and stdout closed, stderr read) and waits for its address.
    pub fn start(cmd: Command) -> Served {
        Served::try_start(cmd).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Served::start`], with what it printed instead of a panic when it does not listen.
    pub fn try_start(mut cmd: Command) -> Result<Served, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served {
            child,
            base: String::new(),
            stderr: rx,
            seen: Vec::new(),
        };
        let line = served.try_stderr_line("listening on http://")?;
        served.base = line.trim_start_matches("listening on ").trim().to_owned();
        Ok(served)
    }

    /// The next stderr line containing `needle`, waiting up to the deadline.
    pub fn stderr_line(&mut self, needle: &str) -> String {
        self.try_stderr_line(needle)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Served::stderr_line`], with every line seen instead of a panic when none comes.
    pub fn try_stderr_line(&mut self, needle: &str) -> Result<String, String> {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "no `{needle}` on the stderr of tai ({e}): {}",
                        self.seen.join("\n")
                    ));
                }
            }
        }
    }

    /// The rest of stderr, once the process has exited (the reader ends with the pipe).
    pub fn rest(&mut self) -> Vec<String> {
        let rest: Vec<String> =
            std::iter::from_fn(|| self.stderr.recv_timeout(DEADLINE).ok()).collect();
        self.seen.extend(rest.iter().cloned());
        rest
    }

    /// `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `signal` (SIGTERM, SIGINT) to the process.
    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// Its exit status, if it has exited (never blocks).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A catalog whose one tool (`slow_call`, on plan `slow-plan`, role `operate`) runs a command
/// that writes its process id to the returned `started` file, then waits for the test to create `release`:
/// `(catalog, started, release)`.
pub fn slow_catalog(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(catalog.join("packs")).unwrap();
    std::fs::create_dir_all(catalog.join("skus")).unwrap();
    // The handler runs sandboxed as `nobody`: it may only write where it declares, and must
    // be able to reach that folder.
    let io = dir.join("io");
    std::fs::create_dir_all(&io).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(dir, mode(0o711)).unwrap();
        std::fs::set_permissions(&io, mode(0o777)).unwrap();
    }
    let started = io.join("started");
    let release = io.join("release");
    std::fs::write(
        catalog.join("packs/slow.yaml"),
        format!(
            r#"pack_id: slow
version: 1.0.0
description: A command that answers when the test lets it
actions:
  - id: wait
    roles: [operate]
    compute_limits: {{ timeout_ms: 120000 }}
tools:
  - name: slow_call
    description: Waits for a release file, then answers
    input_schema: {{ type: object }}
    action: wait
    handler:
      kind: command
      program: sh
      args: ["-c", "echo $$ > \"$STARTED\"; while [ ! -e \"$RELEASE\" ]; do sleep 0.02; done; cat >/dev/null; echo '{{\"ok\":true}}'"]
      env: {{ STARTED: "{}", RELEASE: "{}" }}
      sandbox: {{ write: ["{}"] }}
"#,
            started.display(),
            release.display(),
            io.display()
        ),
    )
    .unwrap();
    std::fs::write(
        catalog.join("skus/slow-plan.yaml"),
        "sku_id: slow-plan\nplan_id: slow-tier\ntitle: Slow\nprice: { amount: 0 }\n\
         enabled_packs: [slow]\niam_roles: [operate]\n",
    )
    .unwrap();
    (catalog, started, release)
}

/// A new, empty PostgreSQL database of its own for one test, as a URL: created on the server
/// `TAI_TEST_POSTGRES` names (`.ci/run` starts one; `.ci/postgres.sh start` does while
/// developing). `None`, with the reason printed, when that variable is unset, so the test
/// passes on a machine without PostgreSQL.
#[cfg(feature = "postgres")]
pub fn test_database(name: &str) -> Option<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(server) = std::env::var("TAI_TEST_POSTGRES") else {
        eprintln!("skipped: TAI_TEST_POSTGRES is unset (.ci/postgres.sh start prints a URL)");
        return None;
    };
    let db = format!(
        "tai_{}_{}_{}",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // On a thread of its own: the synchronous client must not run inside an async test.
    let (url, name) = (server.clone(), db.clone());
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("TAI_TEST_POSTGRES={url}: {e}"));
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    })
    .join()
    .unwrap();
    Some(with_database(&server, &db))
}

/// Makes the database refuse every insert into `checkpoints` (a trigger that raises
/// "checkpoints refused"), as a commit round's checkpoints are stored after its receipts.
#[cfg(feature = "postgres")]
pub const REFUSE_CHECKPOINTS: &str = "\
CREATE FUNCTION refuse_checkpoints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'checkpoints refused'; END $$;
CREATE TRIGGER refuse_checkpoints BEFORE INSERT ON checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION refuse_checkpoints();";

/// Undoes [`REFUSE_CHECKPOINTS`].
#[cfg(feature = "postgres")]
pub const ALLOW_CHECKPOINTS: &str = "DROP TRIGGER refuse_checkpoints ON checkpoints";

/// `url` naming database `db` instead of its own.
#[cfg(feature = "postgres")]
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{db}", &base[..path]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fresh key pair made with `tai keys new --out DIR/NAME`: the private and public key files.
pub fn new_keys(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let out: Run = tai()
        .args(["keys", "new", "--out"])
        .arg(&prefix)
        .output()
        .unwrap()
        .into();
    out.ok().has("key id ");
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// `tai receipts verify-proof FILE --public-key KEY`, run with nothing else: no state
/// directory, as a customer holding one receipt would.
pub fn verify_proof(file: &Path, key: &Path) -> Run {
    tai()
        .args(["receipts", "verify-proof"])
        .arg(file)
        .arg("--public-key")
        .arg(key)
        .output()
        .unwrap()
        .into()
}
