//! `tai serve` under load: tool calls per second and latency over HTTP at 64 keep-alive
//! connections, every call decided by a governor and its receipt durable (fsync) before the
//! response, against `GET /healthz` on the same server as the ceiling of the HTTP stack.
//!
//! Run with `cargo bench --bench http` (needs `wrk` on the PATH). The load runs against one
//! tenant (every call serialized through one governor and one ledger file) and against 64
//! tenants (calls spread over 64 ledgers), then the 64 tenants on servers signing
//! checkpoints, alternating with an unsigned one, and the ratio of their means. `TAI_BENCH_SECS` sets each run's length
//! (default 10). `TAI_BENCH_DIR` puts the state directory elsewhere than the system's
//! temporary directory: on a tmpfs, where a sync costs next to nothing, the figures show
//! what the HTTP stack and the engine cost apart from the disk (those receipts are not
//! durable, and the output says so). Target: ≥ 20k calls/s, p99 < 10 ms at 64 connections.
//!
//! With `TAI_BENCH_POSTGRES=URL` (an empty database, e.g. one made with `createdb`), it then
//! runs two servers on that PostgreSQL ledger and loads both at once over 64 tenants, 32
//! connections each (64 in all): calls per second summed over both, the worse p99. It does
//! so with every tenant called through both servers, then with the tenants split between
//! them, then split again with both servers signing checkpoints.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN: &str = "bench-admin";
const CONNECTIONS: u32 = 64;
/// A simulated, read-only tool: what is measured is the call path, not the action.
const TOOL: &str = "ac_storm_status";

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("http benchmark skipped: `wrk` is not installed (e.g. apt-get install wrk)");
        return;
    }
    let secs: u64 = std::env::var("TAI_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "http benchmark: {CONNECTIONS} connections, {secs} s per run, {cores} cores, \
         server and wrk on the same machine\n"
    );

    let dir = match std::env::var_os("TAI_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let durable = !on_tmpfs(dir.path());
    let tenants: Vec<String> = (0..64).map(|i| format!("t{i:02}")).collect();
    let server = Server::start(&dir.path().join("state"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for t in &tenants {
            server.onboard(t).await;
        }
    });

    let health = wrk(dir.path(), &server.base, secs, &Load::Health);
    health.print("GET /healthz (no engine, no disk)");
    let before = rt.block_on(server.receipts(&tenants));
    let receipts = if durable {
        "durable receipts"
    } else {
        "state on tmpfs: receipts NOT durable"
    };
    let mut unsigned = 0.0;
    for n in [1, 64] {
        let load = Load::Calls(&tenants[..n]);
        let run = wrk(dir.path(), &server.base, secs, &load);
        run.print(&format!("POST calls, {n} tenant(s), {receipts}"));
        println!(
            "    {:.1}% of /healthz throughput",
            100.0 * run.per_sec / health.per_sec
        );
        unsigned = run.per_sec;
    }
    let after = rt.block_on(server.receipts(&tenants));
    let written = after - before;
    let ok = rt.block_on(server.verify_all(&tenants));
    println!("\n{written} receipts written during the call runs; every chain verifies: {ok}");
    let status = server.stop();
    println!("tai serve exited with {status}");
    assert!(ok, "a chain failed verification");

    // The same load on a server signing a checkpoint of every tenant each flush round writes,
    // against unsigned: signed, unsigned, signed, each on a fresh server, so that neither
    // side always runs on the warmer (or busier) machine; the ratio is of the means, the
    // unsigned run above included.
    let key = new_key(dir.path());
    let (mut signed, mut plain) = (Vec::new(), vec![unsigned]);
    for (i, key) in [Some(key.as_path()), None, Some(key.as_path())]
        .into_iter()
        .enumerate()
    {
        let server = Server::start_on(&dir.path().join(format!("ab{i}")), None, key);
        rt.block_on(async {
            for t in &tenants {
                server.onboard(t).await;
            }
        });
        let run = wrk(dir.path(), &server.base, secs, &Load::Calls(&tenants));
        let what = if key.is_some() {
            "signing checkpoints"
        } else {
            "unsigned again"
        };
        run.print(&format!("POST calls, 64 tenants, {receipts}, {what}"));
        match key {
            Some(_) => signed.push(run.per_sec),
            None => plain.push(run.per_sec),
        }
        server.stop();
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "    signed / unsigned throughput: {:.2} (means of {} and {} runs)",
        mean(&signed) / mean(&plain),
        signed.len(),
        plain.len()
    );
    if let Ok(url) = std::env::var("TAI_BENCH_POSTGRES") {
        replicas(dir.path(), &url, &tenants, secs, &rt);
    }
}

/// Two servers on one PostgreSQL ledger, loaded at once: first with every tenant called
/// through both (the worst case: the servers race for the same chains, and the loser of
/// each race decides again), then with each tenant called through one of them (as a load
/// balancer routing by tenant would). Then the routed case again with both servers signing
/// a checkpoint of every tenant they commit, per commit round, with one key.
fn replicas(dir: &Path, url: &str, tenants: &[String], secs: u64, rt: &tokio::runtime::Runtime) {
    println!(
        "\ntwo servers on one PostgreSQL ledger, {} tenants",
        tenants.len()
    );
    let a = Server::start_on(&dir.join("a"), Some(url), None);
    let b = Server::start_on(&dir.join("b"), Some(url), None);
    rt.block_on(async {
        for t in tenants {
            a.onboard(t).await;
        }
    });
    let (even, odd): (Vec<_>, Vec<_>) = tenants.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let even: Vec<String> = even.into_iter().map(|(_, t)| t.clone()).collect();
    let odd: Vec<String> = odd.into_iter().map(|(_, t)| t.clone()).collect();
    let routed = [&even[..], &odd[..]];
    for (what, loads) in [
        ("every tenant through both servers", [tenants, tenants]),
        ("each tenant through one server", routed),
    ] {
        both(dir, [&a, &b], loads, secs, rt, tenants, what);
    }
    a.stop();
    b.stop();
    let key = new_key(dir);
    let a = Server::start_on(&dir.join("a"), Some(url), Some(&key));
    let b = Server::start_on(&dir.join("b"), Some(url), Some(&key));
    both(
        dir,
        [&a, &b],
        routed,
        secs,
        rt,
        tenants,
        "each tenant through one server, both signing checkpoints",
    );
    let ok = rt.block_on(b.verify_all(tenants));
    println!("every chain verifies: {ok}");
    a.stop();
    b.stop();
    assert!(ok, "a chain failed verification");
}

/// A signing key made with `tai keys new` in `dir`: the private key file's path.
fn new_key(dir: &Path) -> std::path::PathBuf {
    let key = dir.join("signing");
    if !key.with_extension("key").exists() {
        let made = Command::new(env!("CARGO_BIN_EXE_tai"))
            .args(["keys", "new", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(made.status.success(), "tai keys new failed");
    }
    key.with_extension("key")
}

/// Loads both servers at once, each with its share of the tenants, and prints the figures.
fn both(
    dir: &Path,
    servers: [&Server; 2],
    loads: [&[String]; 2],
    secs: u64,
    rt: &tokio::runtime::Runtime,
    tenants: &[String],
    what: &str,
) {
    let before = rt.block_on(servers[0].receipts(tenants));
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .into_iter()
            .zip(["a", "b"])
            .zip(loads)
            .map(|((server, name), tenants)| {
                let dir = dir.join(name);
                let load = Load::Calls(tenants);
                s.spawn(move || wrk_with(&dir, &server.base, secs, &load, CONNECTIONS / 2))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!("  {what}");
    for (run, name) in runs.iter().zip(["A", "B"]) {
        run.print(&format!(
            "  POST calls through server {name}, {} connections",
            CONNECTIONS / 2
        ));
    }
    let per_sec: f64 = runs.iter().map(|r| r.per_sec).sum();
    let p99 = runs.iter().map(|r| r.p99).max().unwrap_or_default();
    let errors: u64 = runs.iter().map(|r| r.errors).sum();
    println!(
        "      both: {per_sec:.0} calls/s, p99 {p99:.2?} (the worse of the two), \
         {errors} not 2xx"
    );
    let after = rt.block_on(servers[0].receipts(tenants));
    println!("      {} receipts written", after - before);
}

/// Whether `path` is on a tmpfs, where syncing makes nothing durable (Linux; elsewhere the
/// answer is no).
fn on_tmpfs(path: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (point, kind) = (f.nth(1)?, f.next()?);
            path.starts_with(point)
                .then_some((point.len(), kind == "tmpfs"))
        })
        .max_by_key(|&(len, _)| len)
        .is_some_and(|(_, tmpfs)| tmpfs)
}

/// What wrk sends.
enum Load<'a> {
    Health,
    /// A tool call per request, round-robin over these tenants.
    Calls(&'a [String]),
}

/// One wrk run's figures.
struct Run {
    per_sec: f64,
    requests: u64,
    errors: u64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
}

impl Run {
    fn print(&self, what: &str) {
        println!(
            "{what}\n    {:>9.0} req/s   p50 {:>8.2?}   p90 {:>8.2?}   p99 {:>8.2?}   \
             ({} requests, {} not 2xx)",
            self.per_sec, self.p50, self.p90, self.p99, self.requests, self.errors
        );
    }
}

fn lua_script(load: &Load<'_>) -> String {
    match load {
        Load::Health => "wrk.method = \"GET\"\n".to_owned(),
        Load::Calls(tenants) => {
            let body = json!({ "tool": TOOL, "arguments": {}, "context": {} }).to_string();
            let mut s = String::from("local tenants = {");
            for t in *tenants {
                write!(s, "\"{t}\",").unwrap();
            }
            write!(
                s,
                "}}\nlocal body = '{body}'\n\
                 local headers = {{ [\"Authorization\"] = \"Bearer {ADMIN}\", \
                 [\"Content-Type\"] = \"application/json\" }}\n\
                 local i = math.random(#tenants)\n\
                 request = function()\n\
                   i = i % #tenants + 1\n\
                   return wrk.format(\"POST\", \"/v1/tenants/\" .. tenants[i] .. \"/calls\", headers, body)\n\
                 end\n"
            )
            .unwrap();
            s
        }
    }
}

fn wrk(dir: &Path, base: &str, secs: u64, load: &Load<'_>) -> Run {
    wrk_with(dir, base, secs, load, CONNECTIONS)
}

fn wrk_with(dir: &Path, base: &str, secs: u64, load: &Load<'_>, connections: u32) -> Run {
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("load.lua");
    std::fs::write(&script, lua_script(load)).unwrap();
    let url = match load {
        Load::Health => format!("{base}/healthz"),
        Load::Calls(_) => base.to_owned(),
    };
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{secs}s")])
        .args(["--latency", "--timeout", "10s", "-s"])
        .arg(&script)
        .arg(&url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    parse_wrk(&text)
}

fn parse_wrk(text: &str) -> Run {
    let mut run = Run {
        per_sec: 0.0,
        requests: 0,
        errors: 0,
        p50: Duration::ZERO,
        p90: Duration::ZERO,
        p99: Duration::ZERO,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => run.p50 = duration(v),
            ["90%", v] => run.p90 = duration(v),
            ["99%", v] => run.p99 = duration(v),
            ["Requests/sec:", v] => run.per_sec = v.parse().unwrap(),
            [n, "requests", "in", ..] => run.requests = n.parse().unwrap(),
            ["Non-2xx", "or", "3xx", "responses:", n] => run.errors = n.parse().unwrap(),
            _ => {}
        }
    }
    assert!(run.per_sec > 0.0, "no figures in wrk's output:\n{text}");
    run
}

/// wrk's `1.23ms`, `456.78us`, `1.02s`.
fn duration(v: &str) -> Duration {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap();
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        other => panic!("unknown unit {other}"),
    };
    Duration::from_secs_f64(secs)
}

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    fn start(state: &Path) -> Server {
        Server::start_on(state, None, None)
    }

    /// `tai serve` on `state`, its receipts in the database at `ledger` when given, signing
    /// checkpoints with `key` when given.
    fn start_on(state: &Path, ledger: Option<&str>, key: Option<&Path>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tai"));
        match ledger {
            Some(url) => cmd.env("TAI_LEDGER", url),
            None => cmd.env_remove("TAI_LEDGER"),
        };
        match key {
            Some(key) => cmd.env("TAI_SIGNING_KEY", key),
            None => cmd.env_remove("TAI_SIGNING_KEY"),
        };
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        let mut child = cmd
            .arg("--state")
            .arg(state)
            .args(["serve", "--addr", "127.0.0.1:0", "--admin-token", ADMIN])
            .env_remove("TAI_CATALOG")
            .env_remove("TAI_NOW")
            .current_dir(state.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("tai serve exited").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining so the server never blocks writing to stderr.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            base,
            client: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    async fn onboard(&self, tenant: &str) {
        self.post(
            "/v1/events",
            &json!({ "event_type": "entitlement.activated", "tenant_id": tenant,
                     "sku_id": "rollback-guard-professional" }),
        )
        .await;
        self.post(&format!("/v1/tenants/{tenant}/signals"), &json!({}))
            .await;
        let r = self
            .post(
                &format!("/v1/tenants/{tenant}/calls"),
                &json!({ "tool": TOOL }),
            )
            .await;
        assert_eq!(r["decision"], "executed");
    }

    async fn receipts(&self, tenants: &[String]) -> u64 {
        let mut total = 0;
        for t in tenants {
            total += self.get(&format!("/v1/tenants/{t}")).await["receipts"]
                .as_u64()
                .unwrap();
        }
        total
    }

    async fn verify_all(&self, tenants: &[String]) -> bool {
        let mut ok = true;
        for t in tenants {
            ok &= self.get(&format!("/v1/tenants/{t}/verify")).await["ok"] == true;
        }
        ok
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "tai serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
