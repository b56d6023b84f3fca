//! `tai serve` against hostile clients and handlers: secrets that stay secret (the tokens
//! file, a non-dumpable server), connections that cannot hold the server (header and idle
//! timeouts, the connection limit, the shutdown deadline), and inputs that cannot crash it.
//!
//! Timeouts are set short by options, so each test takes a few seconds at most.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{self, ACME, ADMIN};
use crate::http::{Server, call_tool, error_code, get, onboard, send_event, state_dir};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// A raw connection to the server, reads bounded by `timeout`.
fn connect(s: &Server, timeout: Duration) -> TcpStream {
    let conn = TcpStream::connect(addr(s)).unwrap();
    conn.set_read_timeout(Some(timeout)).unwrap();
    conn
}

/// Whether the server closed `conn` (end of file or reset) within its read timeout.
fn closed_by_server(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// `GET /healthz` on a fresh connection: the status code, or `None` when the server did
/// not answer within `timeout`.
fn healthz(s: &Server, timeout: Duration) -> Option<u16> {
    let mut conn = connect(s, timeout);
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    text.split(' ').nth(1)?.parse().ok()
}

#[test]
fn slow_headers_are_cut_and_do_not_starve_healthz() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &["--header-timeout", "1s"]);
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut c = connect(&s, Duration::from_secs(5));
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            c
        })
        .collect();
    let start = Instant::now();
    assert_eq!(healthz(&s, Duration::from_secs(5)), Some(200));
    assert!(start.elapsed() < Duration::from_secs(5));
    // Each stalled client is disconnected once its header time is up.
    for c in &mut slow {
        assert!(closed_by_server(c), "a stalled connection stayed open");
    }
    // A connection that sends nothing at all is stalled too.
    let mut silent = connect(&s, Duration::from_secs(5));
    assert!(closed_by_server(&mut silent));
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &["--idle-timeout", "1s"]);
    let mut conn = connect(&s, Duration::from_secs(5));
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let start = Instant::now();
    assert!(
        closed_by_server(&mut conn),
        "the idle connection stayed open"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[test]
fn connections_over_the_limit_are_closed_at_once() {
    let (_d, state) = state_dir();
    let s = Server::start(
        &state,
        &["--max-connections", "4", "--header-timeout", "2s"],
    );
    let held: Vec<TcpStream> = (0..4)
        .map(|_| connect(&s, Duration::from_secs(5)))
        .collect();
    // Give the server a moment to accept them all.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = connect(&s, Duration::from_secs(1));
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let start = Instant::now();
    assert!(
        closed_by_server(&mut extra),
        "a fifth connection was served"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    // Once the stalled ones are cut, there is room again.
    let end = Instant::now() + Duration::from_secs(10);
    while healthz(&s, Duration::from_secs(2)) != Some(200) {
        assert!(Instant::now() < end, "no room after the header timeout");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_returns_within_the_shutdown_deadline() {
    let (_d, state) = state_dir();
    let mut s = Server::start(&state, &["--shutdown-timeout", "1s"]);
    // An idle keep-alive connection, and one stuck in its headers (the header timeout is the
    // default ten seconds, longer than the deadline).
    let mut idle = connect(&s, Duration::from_secs(5));
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = idle.read(&mut buf).unwrap();
    let mut stuck = connect(&s, Duration::from_secs(5));
    stuck.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    s.terminate();
    s.stderr_line("closed 1 connection still open after the 1s shutdown deadline");
    let status = s.exited().await;
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert!(closed_by_server(&mut idle));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_past_year_9999_is_refused_not_a_server_error() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    let mut late = json!({ "event_type": "entitlement.activated", "tenant_id": "acme",
                           "sku_id": "rollback-guard-base" });
    late["expiry"] = json!(253_402_300_800_u64);
    let r = send_event(&s, ADMIN, &late).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "expiry_out_of_range"
    );
    let r = get(&s, Some(ADMIN), "/v1/tenants/acme/receipts").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let events: Vec<&str> = r.body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["event_type"].as_str())
        .collect();
    assert!(events.contains(&"entitlement_update_refused"), "{events:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tokens_file_must_be_private_and_gives_the_tokens() {
    let (d, state) = state_dir();
    let file = d.path().join("tokens.toml");
    let text = format!("admin = \"{ADMIN}\"\n[tenants]\nacme = \"{ACME}\"\n");
    write_private(&file, &text, 0o644);
    let mut cmd = Server::command(&state);
    cmd.arg("--tokens-file").arg(&file);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::text(&out.stderr).contains("chmod 600"),
        "{}",
        common::text(&out.stderr)
    );
    write_private(&file, &text, 0o600);
    let mut cmd = Server::command(&state);
    cmd.arg("--tokens-file").arg(&file);
    let s = Server::launch(cmd);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let r = get(&s, Some(ACME), "/v1/tenants/acme/tools").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = get(&s, Some("acme-wrong"), "/v1/tenants/acme/tools").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Whether `nobody` can run tai here (root and `setpriv`); prints why not.
fn nobody_possible() -> bool {
    if !is_root() {
        return false;
    }
    let probe = Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tai"))
        .arg("--version")
        .output();
    let ok = probe.is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: `nobody` cannot run tai here");
    }
    ok
}

#[test]
fn another_process_of_the_same_user_cannot_read_the_servers_environment() {
    let (d, state) = state_dir();
    let secret = "env-secret-0123456789";
    let mut cmd = if is_root() {
        // Root may read any process: run the server, and the reader, as `nobody`.
        if !nobody_possible() {
            return;
        }
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_tai"))
            .arg("--state")
            .arg(&state)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .current_dir(d.path())
            .env("NO_COLOR", "1")
            .env_remove("TAI_CATALOG")
            .env_remove("TAI_STATE")
            .env_remove("TAI_NOW")
            .env_remove("RUST_LOG");
        c
    } else {
        Server::command(&state)
    };
    cmd.env("TAI_ADMIN_TOKEN", secret);
    let s = Server::launch(cmd);
    let environ = format!("/proc/{}/environ", s.child.id());
    let read = if is_root() {
        Command::new("setpriv")
            .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
            .args(["cat", &environ])
            .output()
            .unwrap()
    } else {
        Command::new("cat").arg(&environ).output().unwrap()
    };
    assert!(
        !common::text(&read.stdout).contains(secret),
        "read the admin token from {environ}"
    );
    assert!(!read.status.success(), "read {environ}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_cannot_read_the_tokens() {
    let (d, state) = state_dir();
    let root = d.path();
    let tokens = root.join("tokens.toml");
    write_private(&tokens, &format!("[tenants]\nacme = \"{ACME}\"\n"), 0o600);
    // The handler looks for either token everywhere it might be.
    let script = format!(
        r#"found=""
for f in /proc/$PPID/environ /proc/$PPID/cmdline {tokens}; do
  if tr '\0' '\n' < "$f" 2>/dev/null | grep -q -e ADMIN_PART -e ACME_PART; then found="$found $f"; fi
done
if env | grep -q -e ADMIN_PART -e ACME_PART; then found="$found env"; fi
echo "{{\"found\": \"$found\"}}""#,
        tokens = tokens.display()
    )
    // Split so the script's own text never holds a whole token.
    .replace("ADMIN_PART", &format!("{}''{}", &ADMIN[..3], &ADMIN[3..]))
    .replace("ACME_PART", &format!("{}''{}", &ACME[..3], &ACME[3..]));
    common::command_pack_catalog(root, "snoop", "sh", &script, "", "timeout_ms: 20000");
    let mut cmd = Server::command(&state);
    cmd.arg("--catalog")
        .arg(root.join("catalog"))
        .arg("--tokens-file")
        .arg(&tokens)
        .env("TAI_ADMIN_TOKEN", ADMIN);
    let s = Server::launch(cmd);
    onboard(&s, "acme", ACME, "snoop-plan").await;
    let r = call_tool(&s, ACME, "acme", "snoop_run").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["result"]["found"], "", "{}", r.body);
}
