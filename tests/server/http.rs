//! `tai serve` as a client sees it: the real binary on a free loopback port, a temporary
//! state directory, and HTTP requests asserting on status codes and JSON bodies.
//!
//! Nothing here waits a fixed time: each wait polls for what it needs under a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::slow_catalog;
use crate::common::{self, ACME, ADMIN, DEADLINE, GLOBEX, Served};

/// A running `tai serve`.
pub(crate) struct Server(Served);

impl std::ops::Deref for Server {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Served {
        &mut self.0
    }
}

impl Server {
    /// Starts `tai serve` on `state` with the test tokens and `extra` serve flags.
    pub(crate) fn start(state: &Path, extra: &[&str]) -> Server {
        Server::start_with(state, extra, &["--admin-token", ADMIN])
    }

    fn start_with(state: &Path, extra: &[&str], admin: &[&str]) -> Server {
        let mut cmd = Server::command(state);
        cmd.args(admin)
            .args(["--tenant-token", &format!("acme={ACME}")])
            .args(["--tenant-token", &format!("globex={GLOBEX}")])
            .args(extra);
        Server::launch(cmd)
    }

    /// `tai serve` on `state` and a free loopback port, with no tokens yet.
    pub(crate) fn command(state: &Path) -> std::process::Command {
        let mut cmd = common::tai();
        cmd.arg("--state")
            .arg(state)
            .args(["serve", "--addr", "127.0.0.1:0"])
            // No `packs/` + `skus/` here, so the built-in catalog unless --catalog says otherwise.
            .current_dir(state.parent().unwrap());
        cmd
    }

    /// Starts `cmd` (a `tai serve`) and waits until it listens.
    pub(crate) fn launch(cmd: std::process::Command) -> Server {
        Server(Served::start(cmd))
    }

    pub(crate) fn terminate(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) async fn stop(self) -> ExitStatus {
        self.terminate();
        self.exited().await
    }

    /// Waits for the process (already sent SIGTERM) to exit.
    pub(crate) async fn exited(mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.exit_status() {
                return status;
            }
            assert!(Instant::now() < end, "tai serve did not exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A state directory inside a fresh temporary directory.
pub(crate) fn state_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    (dir, state)
}

/// A client that fails a test instead of hanging it.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(DEADLINE)
        .no_proxy()
        .build()
        .unwrap()
}

/// What a user sees of a response: its status and JSON body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(s: &Server, token: Option<&str>, path: &str) -> Reply {
    let mut req = client().get(s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}

pub(crate) async fn post(s: &Server, token: Option<&str>, path: &str, body: &Value) -> Reply {
    post_raw(s, token, path, body.to_string()).await
}

async fn post_raw(s: &Server, token: Option<&str>, path: &str, body: String) -> Reply {
    let mut req = client()
        .post(s.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}

/// A GET written byte for byte on a socket: HTTP clients normalise `..` and `%2E%2E` path
/// segments away, a hostile client does not.
async fn raw_get(s: &Server, token: &str, path: &str) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, conn.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status: StatusCode::from_u16(code).unwrap(),
        headers: reqwest::header::HeaderMap::new(),
        body: serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {body}")),
    }
}

/// Asserts the API's error shape and returns the code.
pub(crate) fn error_code(r: &Reply, status: StatusCode) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    let code = r.body["error"]["code"].as_str().unwrap_or_else(|| {
        panic!("no error.code in {}", r.body);
    });
    assert!(
        !r.body["error"]["message"].as_str().unwrap_or("").is_empty(),
        "no error.message in {}",
        r.body
    );
    code.to_owned()
}

pub(crate) fn event(kind: &str, tenant: &str, sku: &str) -> Value {
    json!({ "event_type": kind, "tenant_id": tenant, "sku_id": sku })
}

/// Activates `tenant` on `sku` and boots its governor.
pub(crate) async fn onboard(s: &Server, tenant: &str, token: &str, sku: &str) {
    let r = send_event(s, ADMIN, &event("entitlement.activated", tenant, sku)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(
        s,
        Some(token),
        &format!("/v1/tenants/{tenant}/signals"),
        &json!({}),
    )
    .await;
    assert_eq!(r.body["state"], "stable", "{}", r.body);
}

/// A call with arguments that satisfy the tool's input schema.
fn call(tool: &str) -> Value {
    let arguments = match tool {
        "ac_rollback_status" | "ac_deployment_validator" => json!({ "deployment": "checkout-api" }),
        _ => json!({}),
    };
    json!({ "tool": tool, "arguments": arguments, "context": {} })
}

pub(crate) async fn call_tool(s: &Server, token: &str, tenant: &str, tool: &str) -> Reply {
    post(
        s,
        Some(token),
        &format!("/v1/tenants/{tenant}/calls"),
        &call(tool),
    )
    .await
}

pub(crate) async fn send_event(s: &Server, token: &str, event: &Value) -> Reply {
    post(s, Some(token), "/v1/events", event).await
}

fn tool_names(r: &Reply) -> Vec<String> {
    r.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every receipt of a tenant, page by page.
pub(crate) async fn all_receipts(s: &Server, token: &str, tenant: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let r = get(
            s,
            Some(token),
            &format!("/v1/tenants/{tenant}/receipts?from_seq={from}&limit=7"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        out.extend(r.body["receipts"].as_array().unwrap().iter().cloned());
        from = r.body["next_from_seq"].as_u64().unwrap();
        if !r.body["has_more"].as_bool().unwrap() {
            return out;
        }
    }
}

pub(crate) fn assert_gap_free(receipts: &[Value]) {
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r["seq"], i as u64, "receipt {i} out of place");
        if i > 0 {
            assert_eq!(r["prev_hash"], receipts[i - 1]["hash"], "link at seq {i}");
        }
    }
}

pub(crate) async fn verify_ok(s: &Server, tenant: &str) -> Value {
    let r = get(s, Some(ADMIN), &format!("/v1/tenants/{tenant}/verify")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn purchase_upgrade_downgrade_over_http() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);

    assert_eq!(get(&s, None, "/healthz").await.body["status"], "ok");

    // The marketplace's purchase.
    let r = send_event(
        &s,
        ADMIN,
        &event("entitlement.activated", "acme", "rollback-guard-base"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accepted"], true);
    assert_eq!(r.body["state"], "boot");
    assert_eq!(r.body["receipts"][0]["event_type"], "entitlement_activated");

    // The tenant sees its tools, described.
    let r = get(&s, Some(ACME), "/v1/tenants/acme/tools").await;
    assert_eq!(r.status, StatusCode::OK);
    let tools = tool_names(&r);
    assert!(tools.contains(&"ac_receipt_verify".to_owned()), "{tools:?}");
    assert!(
        !tools.contains(&"ac_rollback_status".to_owned()),
        "{tools:?}"
    );
    let verify = &r.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ac_receipt_verify")
        .unwrap();
    assert_eq!(verify["pack"], "receipt_verifier");
    assert!(verify["description"].as_str().unwrap().len() > 10);
    assert_eq!(verify["input_schema"]["type"], "object");

    // Booting: the call is decided (200) and refused until a signal.
    let r = call_tool(&s, ACME, "acme", "ac_receipt_verify").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "refused");
    assert_eq!(r.body["reason"], "governor_not_ready");
    let r = post(&s, Some(ACME), "/v1/tenants/acme/signals", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["event"], "signal_processed");
    assert_eq!(r.body["state"], "stable");
    let r = call_tool(&s, ACME, "acme", "ac_receipt_verify").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "executed");
    assert_eq!(r.body["state"], "stable");
    assert_eq!(r.body["receipts"][0]["event_type"], "action_executed");
    assert!(r.body["result"].is_object());

    // Not in the plan yet.
    let r = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "tool_not_found");

    // Upgrade: new tools appear and work.
    let r = send_event(
        &s,
        ADMIN,
        &event(
            "entitlement.plan_changed",
            "acme",
            "rollback-guard-professional",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let added = r.body["surface"]["added"].as_array().unwrap();
    assert!(added.contains(&json!("ac_rollback_status")), "{added:?}");
    let tools = tool_names(&get(&s, Some(ACME), "/v1/tenants/acme/tools").await);
    assert!(tools.contains(&"ac_rollback_status".to_owned()));
    let r = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "executed", "{}", r.body);

    // Arguments that break the tool's input schema are refused at gate 3, with where.
    let bad = json!({ "tool": "ac_rollback_status", "arguments": { "deployment": 7 } });
    let r = post(&s, Some(ACME), "/v1/tenants/acme/calls", &bad).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "refused", "{}", r.body);
    assert_eq!(r.body["gate"], "preconditions", "{}", r.body);
    assert_eq!(r.body["reason"], "invalid_arguments", "{}", r.body);
    let errors = &r.body["receipts"][0]["metadata"]["argument_errors"];
    assert!(
        errors[0].as_str().unwrap().starts_with("`/deployment`"),
        "{errors}"
    );

    // A refused event is recorded and answered 422 with its code and outcome.
    let mut escalate = event(
        "entitlement.plan_changed",
        "acme",
        "rollback-guard-professional",
    );
    escalate["iam_roles"] = json!(["admin_dashboard"]);
    let r = send_event(&s, ADMIN, &escalate).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "role_not_in_sku"
    );
    assert_eq!(r.body["accepted"], false);
    assert_eq!(
        r.body["receipts"][0]["event_type"],
        "entitlement_update_refused"
    );

    // Downgrade: the same call is now tool_not_found, still recorded.
    let r = send_event(
        &s,
        ADMIN,
        &event("entitlement.plan_changed", "acme", "rollback-guard-base"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["surface"]["removed"]
            .as_array()
            .unwrap()
            .contains(&json!("ac_rollback_status"))
    );
    let r = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "tool_not_found");
    assert_eq!(r.body["decision"], "tool_not_found");
    assert_eq!(r.body["receipts"][0]["reason"], "tool_not_found");

    // The tenant view agrees, and the chain verifies.
    let r = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["entitlement"]["sku_id"], "rollback-guard-base");
    assert_eq!(r.body["state"], "stable");
    let receipts = all_receipts(&s, ACME, "acme").await;
    assert_eq!(r.body["receipts"], receipts.len() as u64);
    assert_gap_free(&receipts);
    assert_eq!(
        verify_ok(&s, "acme").await["receipts"],
        receipts.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_boundaries() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    onboard(&s, "globex", GLOBEX, "rollback-guard-base").await;

    // No token, or a wrong one: 401 with a challenge.
    for token in [None, Some("guess")] {
        let r = get(&s, token, "/v1/tenants/acme").await;
        assert_eq!(error_code(&r, StatusCode::UNAUTHORIZED), "unauthenticated");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        let r = get(&s, token, "/v1/packs").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = send(
        client()
            .get(s.url("/v1/tenants/acme"))
            .header("authorization", format!("Basic {ACME}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A tenant token reaches its own tenant and the catalog, nothing else.
    assert_eq!(
        get(&s, Some(ACME), "/v1/tenants/acme").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&s, Some(ACME), "/v1/packs").await.status,
        StatusCode::OK
    );
    assert_eq!(get(&s, Some(ACME), "/v1/skus").await.status, StatusCode::OK);
    for path in [
        "/v1/tenants/globex",
        "/v1/tenants/globex/tools",
        "/v1/tenants/globex/receipts",
        "/v1/tenants/globex/verify",
        // Not even whether a tenant exists leaks.
        "/v1/tenants/nobody",
    ] {
        let r = get(&s, Some(ACME), path).await;
        assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "forbidden", "{path}");
    }
    let r = call_tool(&s, ACME, "globex", "ac_receipt_verify").await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "forbidden");

    // Admin-only routes.
    let r = send_event(
        &s,
        ACME,
        &event("entitlement.cancelled", "globex", "rollback-guard-base"),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "admin_only");
    let r = get(&s, Some(ACME), "/v1/tenants").await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "admin_only");

    // The admin reaches everything; an unknown tenant is 404 for it.
    let r = get(&s, Some(ADMIN), "/v1/tenants").await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> = r.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "globex"]);
    assert_eq!(
        get(&s, Some(ADMIN), "/v1/tenants/globex/tools")
            .await
            .status,
        StatusCode::OK
    );
    let r = get(&s, Some(ADMIN), "/v1/tenants/nobody").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_tenant");
    let r = call_tool(&s, ADMIN, "nobody", "ac_receipt_verify").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_tenant");
    // ... and asking did not create it.
    let r = get(&s, Some(ADMIN), "/v1/tenants").await;
    assert_eq!(r.body["tenants"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_the_json_error_shape() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &["--max-body", "4096"]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let calls = "/v1/tenants/acme/calls";

    let r = post_raw(&s, Some(ACME), calls, "{\"tool\":".into()).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_json");
    let r = post_raw(&s, Some(ACME), calls, "not json".into()).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_json");
    let r = post(&s, Some(ACME), calls, &json!({ "tool": 3 })).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    let r = post(
        &s,
        Some(ACME),
        calls,
        &json!({ "tool": "x", "arguments": [] }),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    let r = post(&s, Some(ACME), calls, &json!({ "tool": "x", "args": {} })).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("args")
    );
    let r = post(&s, Some(ACME), calls, &json!({})).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    let r = post(
        &s,
        Some(ACME),
        "/v1/tenants/acme/signals",
        &json!({ "name": "Not A Name" }),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");

    // Over --max-body.
    let big = json!({ "tool": "ac_receipt_verify", "arguments": { "pad": "x".repeat(8192) } });
    let r = post(&s, Some(ACME), calls, &big).await;
    assert_eq!(
        error_code(&r, StatusCode::PAYLOAD_TOO_LARGE),
        "body_too_large"
    );

    // Tenant ids become file names: no path tricks.
    for path in [
        "/v1/tenants/..%2Fetc",
        "/v1/tenants/.hidden",
        "/v1/tenants/a%2Fb/tools",
        "/v1/tenants/%2E%2E/verify",
        "/v1/tenants/../verify",
        "/v1/tenants/%2E%2E%2F%2E%2E%2Fseed",
    ] {
        let r = raw_get(&s, ADMIN, path).await;
        assert_eq!(
            error_code(&r, StatusCode::BAD_REQUEST),
            "invalid_tenant_id",
            "{path}"
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("letters, digits"),
            "{path}: {}",
            r.body
        );
    }

    // Events: malformed without a tenant is 400; with a tenant it is recorded and refused.
    let r = send_event(&s, ADMIN, &json!({ "sku_id": "x" })).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "malformed_event");
    let r = send_event(&s, ADMIN, &json!([1, 2])).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "malformed_event");
    let r = post(
        &s,
        Some(ADMIN),
        "/v1/events",
        &json!({ "tenant_id": "acme", "event_type": "entitlement.exploded" }),
    )
    .await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "malformed_event"
    );
    assert_eq!(r.body["receipts"].as_array().unwrap().len(), 1);

    // Routes, methods, queries, catalog ids, state conflicts.
    let r = get(&s, Some(ADMIN), "/v1/nothing-here").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "not_found");
    let r = send(
        client()
            .delete(s.url("/v1/tenants/acme"))
            .bearer_auth(ADMIN),
    )
    .await;
    assert_eq!(
        error_code(&r, StatusCode::METHOD_NOT_ALLOWED),
        "method_not_allowed"
    );
    assert!(r.headers["allow"].to_str().unwrap().contains("GET"));
    for q in [
        "limit=lots",
        "limit=0",
        "limit=5000",
        "from_seq=-1",
        "page=2",
    ] {
        let r = get(&s, Some(ACME), &format!("/v1/tenants/acme/receipts?{q}")).await;
        assert_eq!(
            error_code(&r, StatusCode::BAD_REQUEST),
            "invalid_query",
            "{q}"
        );
    }
    let r = get(&s, Some(ACME), "/v1/packs/rollback_gaurd").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_pack");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rollback_guard")
    );
    let r = get(&s, Some(ACME), "/v1/skus/nope").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_sku");
    let r = post(
        &s,
        Some(ACME),
        "/v1/tenants/acme/actions/complete",
        &json!({}),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::CONFLICT), "nothing_in_flight");

    // And the good paths of the catalog.
    let r = get(&s, Some(ACME), "/v1/packs/rollback_guard").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["pack_id"], "rollback_guard");
    let r = get(&s, Some(ACME), "/v1/skus/rollback-guard-base").await;
    assert_eq!(r.body["sku_id"], "rollback-guard-base");
    assert!(r.body["tools"].as_array().unwrap().len() >= 3);
    let r = get(&s, Some(ACME), "/v1/packs").await;
    assert!(r.body["packs"].as_array().unwrap().len() >= 6);
}

/// Server-sent events, parsed just enough: (event, id, data).
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: String,
}

#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<u64>,
    data: Value,
}

impl Events {
    async fn open(s: &Server, token: &str, path: &str, last_id: Option<u64>) -> Events {
        let mut req = client_streaming().get(s.url(path)).bearer_auth(token);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Events {
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event, or `None` when the server ends the stream.
    async fn next(&mut self) -> Option<Sse> {
        tokio::time::timeout(DEADLINE, self.next_inner())
            .await
            .expect("no server-sent event before the deadline")
    }

    async fn next_inner(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = Sse {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        ev.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                ev.data = serde_json::from_str(&data).unwrap();
                return Some(ev);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// No overall timeout: a stream lives as long as the test needs it.
fn client_streaming() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn receipt_stream_sends_stored_then_live_receipts() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let stored = all_receipts(&s, ACME, "acme").await.len() as u64;
    assert!(stored >= 3);

    let mut events = Events::open(
        &s,
        ACME,
        "/v1/tenants/acme/receipts/stream?from_seq=1",
        None,
    )
    .await;
    for seq in 1..stored {
        let ev = events.next().await.unwrap();
        assert_eq!((ev.event.as_str(), ev.id), ("receipt", Some(seq)));
        assert_eq!(ev.data["seq"], seq);
    }

    // A call made after subscribing arrives once, right after the stored ones.
    let r = call_tool(&s, ACME, "acme", "ac_receipt_verify").await;
    assert_eq!(r.body["decision"], "executed");
    let ev = events.next().await.unwrap();
    assert_eq!(ev.id, Some(stored));
    assert_eq!(ev.data["event_type"], "action_executed");
    assert_eq!(ev.data["hash"], r.body["receipts"][0]["hash"]);

    let r = post(&s, Some(ACME), "/v1/tenants/acme/signals", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    let ev = events.next().await.unwrap();
    assert_eq!(ev.id, Some(stored + 1));
    assert_eq!(ev.data["event_type"], "signal_processed");

    // A reconnecting client resumes after the last id it saw.
    let mut resumed = Events::open(
        &s,
        ACME,
        "/v1/tenants/acme/receipts/stream?from_seq=0",
        Some(stored),
    )
    .await;
    assert_eq!(resumed.next().await.unwrap().id, Some(stored + 1));

    // Other tenants' streams stay closed to this token.
    let r = get(&s, Some(ACME), "/v1/tenants/globex/receipts/stream").await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "forbidden");
    let r = get(&s, Some(ADMIN), "/v1/tenants/nobody/receipts/stream").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_tenant");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_every_receipt() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    onboard(&s, "globex", GLOBEX, "rollback-guard-base").await;
    for tool in ["ac_receipt_verify", "ac_rollback_status", "no_such_tool"] {
        call_tool(&s, ACME, "acme", tool).await;
    }
    let before_acme = all_receipts(&s, ACME, "acme").await;
    let before_globex = all_receipts(&s, GLOBEX, "globex").await;

    // An open stream must not hold the shutdown open.
    let mut events = Events::open(&s, ACME, "/v1/tenants/acme/receipts/stream", None).await;
    for _ in 0..before_acme.len() {
        events.next().await.unwrap();
    }
    let status = s.stop().await;
    assert_eq!(status.code(), Some(0), "tai serve exit status");
    assert!(events.next().await.is_none(), "the stream ends on shutdown");

    let s = Server::start(&state, &[]);
    let r = get(&s, Some(ADMIN), "/v1/tenants").await;
    let tenants = r.body["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2, "{}", r.body);
    assert_eq!(tenants[0]["tenant_id"], "acme");
    assert_eq!(tenants[0]["state"], "stable");
    assert_eq!(tenants[0]["receipts"], before_acme.len() as u64);
    assert_eq!(all_receipts(&s, ACME, "acme").await, before_acme);
    assert_eq!(all_receipts(&s, GLOBEX, "globex").await, before_globex);
    verify_ok(&s, "acme").await;
    verify_ok(&s, "globex").await;

    // The rebuilt tenant carries on where it stopped.
    let r = call_tool(&s, ACME, "acme", "ac_rollback_status").await;
    assert_eq!(r.body["decision"], "executed", "{}", r.body);
    assert_eq!(r.body["receipts"][0]["seq"], before_acme.len() as u64);
    assert_eq!(
        r.body["receipts"][0]["prev_hash"],
        before_acme.last().unwrap()["hash"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_calls_for_one_tenant_make_a_gap_free_chain() {
    const CALLS: usize = 64;
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let before = all_receipts(&s, ACME, "acme").await.len();

    let url = s.url("/v1/tenants/acme/calls");
    let tasks: Vec<_> = (0..CALLS)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let tool = if i % 4 == 0 {
                    "not_a_tool"
                } else {
                    "ac_receipt_verify"
                };
                send(client().post(url).bearer_auth(ACME).json(&call(tool))).await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap();
        if i % 4 == 0 {
            assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "tool_not_found");
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(r.body["decision"], "executed");
        }
        assert_eq!(r.body["receipts"].as_array().unwrap().len(), 1);
    }

    let receipts = all_receipts(&s, ACME, "acme").await;
    assert_eq!(receipts.len(), before + CALLS);
    assert_gap_free(&receipts);
    assert_eq!(
        verify_ok(&s, "acme").await["receipts"],
        (before + CALLS) as u64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_admin_token_is_printed_and_works() {
    let (_d, state) = state_dir();
    let s = Server::start_with(&state, &[], &[]);
    // Printed before the listening line, which `start` has already seen.
    let line = s
        .seen
        .iter()
        .find(|l| l.starts_with("admin token: "))
        .unwrap_or_else(|| panic!("no admin token on stderr: {:?}", s.seen));
    let token = line.trim_start_matches("admin token: ").trim().to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(
        get(&s, Some(&token), "/v1/tenants").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&s, Some(ACME), "/v1/tenants").await.status,
        StatusCode::FORBIDDEN
    );
}

pub(crate) async fn wait_for_file(path: &Path) {
    let end = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < end, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_finishes_the_call_in_flight() {
    let (d, state) = state_dir();
    let (catalog, started, release) = slow_catalog(d.path());
    let catalog_arg = catalog.to_str().unwrap();
    let s = Server::start(&state, &["--catalog", catalog_arg]);
    onboard(&s, "acme", ACME, "slow-plan").await;

    let url = s.url("/v1/tenants/acme/calls");
    let in_flight = tokio::spawn(async move {
        send(
            client()
                .post(url)
                .bearer_auth(ACME)
                .json(&call("slow_call")),
        )
        .await
    });
    wait_for_file(&started).await;
    s.terminate();
    // The signal is handled while the call still waits; then let it finish.
    let mut s = s;
    s.stderr_line("shutting down");
    std::fs::write(&release, "").unwrap();
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "executed", "{}", r.body);
    assert_eq!(r.body["result"]["ok"], true);
    let acknowledged = r.body["receipts"][0].clone();
    assert_eq!(s.exited().await.code(), Some(0));

    let s = Server::start(&state, &["--catalog", catalog_arg]);
    let receipts = all_receipts(&s, ACME, "acme").await;
    assert_eq!(receipts.last().unwrap(), &acknowledged);
    verify_ok(&s, "acme").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_the_timeout_is_503_and_its_receipt_still_lands() {
    let (d, state) = state_dir();
    let (catalog, started, release) = slow_catalog(d.path());
    let s = Server::start(
        &state,
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--request-timeout",
            "3s",
        ],
    );
    onboard(&s, "acme", ACME, "slow-plan").await;
    let before = all_receipts(&s, ACME, "acme").await.len();

    let r = call_tool(&s, ACME, "acme", "slow_call").await;
    assert_eq!(error_code(&r, StatusCode::SERVICE_UNAVAILABLE), "timeout");
    wait_for_file(&started).await;
    std::fs::write(&release, "").unwrap();

    // The call carries on in the background and is recorded: started before the program
    // ran (write-ahead), then its outcome.
    let end = Instant::now() + DEADLINE;
    let receipts = loop {
        let receipts = all_receipts(&s, ACME, "acme").await;
        if receipts.len() > before + 1 {
            break receipts;
        }
        assert!(Instant::now() < end, "the timed-out call left no receipt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(receipts[before]["event_type"], "action_started");
    assert_eq!(receipts[before + 1]["event_type"], "action_executed");
}

/// An MCP client that counts `notifications/tools/list_changed`.
#[derive(Clone)]
struct ListChanges(std::sync::Arc<tokio::sync::watch::Sender<usize>>);

impl rmcp::ClientHandler for ListChanges {
    async fn on_tool_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0.send_modify(|n| *n += 1);
    }
}

/// The MCP endpoint of the real server follows entitlement events posted to the JSON API:
/// one engine behind both doors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_on_tai_serve_follows_webhook_events() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let (_tmp, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;

    let (tx, mut changes) = tokio::sync::watch::channel(0);
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")).auth_header(ACME),
    );
    let client = ListChanges(std::sync::Arc::new(tx))
        .serve(transport)
        .await
        .unwrap();
    let names = |tools: Vec<rmcp::model::Tool>| {
        let mut n: Vec<String> = tools.into_iter().map(|t| t.name.to_string()).collect();
        n.sort();
        n
    };
    let http_tools = async || {
        let mut t = tool_names(&get(&s, Some(ACME), "/v1/tenants/acme/tools").await);
        t.sort();
        t
    };
    let before = http_tools().await;
    assert_eq!(names(client.list_all_tools().await.unwrap()), before);
    assert!(!before.contains(&"ac_deployment_validator".to_owned()));

    // The marketplace webhook upgrades the plan: the MCP session hears of it.
    let r = send_event(
        &s,
        ADMIN,
        &event(
            "entitlement.plan_changed",
            "acme",
            "rollback-guard-professional",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tokio::time::timeout(DEADLINE, changes.wait_for(|n| *n >= 1))
        .await
        .expect("no tools/list_changed after the upgrade")
        .unwrap();
    let listed = names(client.list_all_tools().await.unwrap());
    assert!(listed.contains(&"ac_deployment_validator".to_owned()));
    assert_eq!(listed, http_tools().await);
    let validate = || {
        let args = json!({ "deployment": "checkout-api" });
        client.call_tool(
            CallToolRequestParams::new("ac_deployment_validator")
                .with_arguments(args.as_object().unwrap().clone()),
        )
    };
    let ok = validate().await.unwrap();
    assert_eq!(ok.is_error, Some(false), "{ok:?}");

    // The receipt of the MCP call is in the same chain the JSON API serves.
    let receipts = all_receipts(&s, ACME, "acme").await;
    let last = receipts.last().unwrap();
    assert_eq!(last["event_type"], "action_executed");
    assert_eq!(last["metadata"]["tool"], "ac_deployment_validator");

    // Downgrade: told again, and the tool is gone for both doors.
    let r = send_event(
        &s,
        ADMIN,
        &event("entitlement.plan_changed", "acme", "rollback-guard-base"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    tokio::time::timeout(DEADLINE, changes.wait_for(|n| *n >= 2))
        .await
        .expect("no tools/list_changed after the downgrade")
        .unwrap();
    let gone = validate().await;
    assert!(gone.is_err(), "{gone:?}");
    let r = call_tool(&s, ACME, "acme", "ac_deployment_validator").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    client.cancel().await.unwrap();
    assert!(s.stop().await.success());
    verify_ok_offline(&state);
}

/// The chain still verifies from the command line once the server is gone.
fn verify_ok_offline(state: &Path) {
    let out = common::tai()
        .arg("--state")
        .arg(state)
        .args(["receipts", "verify", "--tenant", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A second server on the same state directory refuses to start, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_state_refuses_to_start() {
    let (_tmp, state) = state_dir();
    let first = Server::start(&state, &[]);
    let out = common::tai()
        .arg("--state")
        .arg(&state)
        .args(["serve", "--addr", "127.0.0.1:0", "--admin-token", ADMIN])
        .env_remove("TAI_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is already served by another `tai serve` (pid "),
        "{stderr}"
    );
    assert!(first.stop().await.success());
    // Once the first is gone, the directory can be served again.
    let again = Server::start(&state, &[]);
    assert!(again.stop().await.success());
}

/// Every answer carries a request id: the client's own when well-formed, else a fresh one.
/// With `--log-level debug` the server logs each request under its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_has_an_id_in_its_answer_and_in_the_log() {
    let (_tmp, state) = state_dir();
    let mut s = Server::start(&state, &["--log-level", "debug"]);
    let id_of = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let fresh = client().get(s.url("/healthz")).send().await.unwrap();
    let a = id_of(&fresh).unwrap();
    let again = client().get(s.url("/healthz")).send().await.unwrap();
    let b = id_of(&again).unwrap();
    assert_ne!(a, b);
    assert!(
        a.chars().all(|c| c.is_ascii_hexdigit()) && a.len() == 16,
        "{a}"
    );

    let kept = client()
        .get(s.url("/healthz"))
        .header("x-request-id", "client-req.42")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&kept).as_deref(), Some("client-req.42"));
    let replaced = client()
        .get(s.url("/healthz"))
        .header("x-request-id", "not an id")
        .send()
        .await
        .unwrap();
    let replaced = id_of(&replaced).unwrap();
    assert_eq!(replaced.len(), 16, "{replaced}");

    // Errors, unknown routes and MCP carry one too.
    let r = get(&s, None, "/v1/tenants").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.contains_key("x-request-id"));
    let r = get(&s, Some(ADMIN), "/nowhere").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.headers.contains_key("x-request-id"));
    let r = client().post(s.url("/mcp")).send().await.unwrap();
    assert!(id_of(&r).is_some(), "{}", r.status());

    let line = s.stderr_line("client-req.42");
    for field in ["method=GET", "path=/healthz", "status=200", "answered"] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(s.stop().await.success());
}

/// By default the server says what it always said: where it listens (and, on loopback, the
/// demo page's login link), and when it stops; requests are not logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_requests_are_not_logged() {
    let (_tmp, state) = state_dir();
    let mut s = Server::start(&state, &[]);
    assert_eq!(get(&s, None, "/healthz").await.body["status"], "ok");
    s.terminate();
    s.stderr_line("stopped");
    assert_eq!(s.seen.len(), 5, "{:?}", s.seen);
    assert!(s.seen[1].starts_with("demo page: "), "{:?}", s.seen);
    assert!(s.seen[2].contains("signs in one browser"), "{:?}", s.seen);
    assert!(s.seen[3].starts_with("shutting down"), "{:?}", s.seen);
    assert!(s.exited().await.success());
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document at /openapi.json.

/// The served OpenAPI document, and checks of what the server does against it.
pub struct OpenApi(Value);

impl OpenApi {
    pub async fn fetch(s: &Server) -> OpenApi {
        let r = get(s, None, "/openapi.json").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.headers["content-type"], "application/json");
        OpenApi(r.body)
    }

    fn operation(&self, method: &str, template: &str) -> &Value {
        let op = &self.0["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not in the document");
        op
    }

    /// Asserts that `reply`, the answer to `method template`, is documented for its status
    /// (or by the operation's default response) and matches that response's JSON schema.
    pub fn check(&self, method: &str, template: &str, reply: &Reply) {
        let problems = self.problems(method, template, reply.status, &reply.body);
        assert!(
            problems.is_empty(),
            "{method} {template} {} does not match its schema:\n{}\n{}",
            reply.status,
            problems.join("\n"),
            reply.body
        );
    }

    /// How `body` fails the schema documented for `status` of `method template`.
    fn problems(
        &self,
        method: &str,
        template: &str,
        status: StatusCode,
        body: &Value,
    ) -> Vec<String> {
        let responses = &self.operation(method, template)["responses"];
        let documented = responses.get(status.as_str()).unwrap_or_else(|| {
            assert!(
                !status.is_success(),
                "{method} {template}: {status} is not documented"
            );
            &responses["default"]
        });
        let mut schema = documented["content"]["application/json"]["schema"].clone();
        assert!(
            schema.is_object(),
            "{method} {template} {status}: no JSON schema"
        );
        // The schema's `$ref`s point into the document's components.
        schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        schema["components"] = self.0["components"].clone();
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: bad schema: {e}"));
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

/// The path of every route the server's own sources declare (the literal given to
/// `route(` or `api_route(`), read independently of the document so that a route added
/// without documentation is noticed. MCP lives in its own folder and is not part of the
/// JSON API.
fn declared_routes() -> BTreeSet<String> {
    let dir = common::root().join("src/server");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices("route(") {
            let rest = source[at + "route(".len()..].trim_start();
            if let Some(literal) = rest.strip_prefix('"') {
                routes.insert(literal[..literal.find('"').unwrap()].to_owned());
            }
        }
    }
    routes
}

/// Every route the OpenAPI document describes has its row in the README's table of routes,
/// method and path (a parameter's name may differ: the README writes `{t}` for a tenant).
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_lists_every_documented_route() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    let doc = OpenApi::fetch(&s).await;
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    // Each `METHOD /path` a row of the README's tables starts with, path split at `/`.
    let rows: Vec<(String, Vec<String>)> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split(" | ").next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_owned))
        .filter_map(|item| {
            let (method, path) = item.split_once(' ')?;
            let path = path.split('?').next()?;
            Some((
                method.to_ascii_lowercase(),
                path.split('/').map(str::to_owned).collect(),
            ))
        })
        .collect();
    let param = |s: &str| s.starts_with('{') && s.ends_with('}');
    for (template, item) in doc.0["paths"].as_object().unwrap() {
        let segments: Vec<&str> = template.split('/').collect();
        for method in item.as_object().unwrap().keys() {
            let listed = rows.iter().any(|(m, path)| {
                m == method
                    && path.len() == segments.len()
                    && path
                        .iter()
                        .zip(&segments)
                        .all(|(a, b)| a == b || (param(a) && param(b)))
            });
            assert!(
                listed,
                "README: no row for `{} {template}`",
                method.to_uppercase()
            );
        }
    }
}

/// `template` with each `{param}` filled in.
fn fill(template: &str) -> String {
    template
        .replace("{tenant}", "acme")
        .replace("{id}", "x")
        .replace("{marketplace}", "azure")
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_describes_every_route() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    let doc = OpenApi::fetch(&s).await;
    let api = &doc.0;
    assert!(api["openapi"].as_str().unwrap().starts_with("3."), "{api}");
    assert_eq!(api["info"]["title"], "tai");
    assert_eq!(api["info"]["version"], env!("CARGO_PKG_VERSION"));
    let bearer = &api["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (&bearer["type"], &bearer["scheme"]),
        (&json!("http"), &json!("bearer"))
    );

    let paths = api["paths"].as_object().unwrap();
    // The bounds the server enforces are the ones documented.
    let page = &paths["/v1/tenants/{tenant}/receipts"]["get"]["parameters"];
    let limit = page
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(1000)),
        "{limit}"
    );
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    let declared = declared_routes();
    assert!(declared.len() > 10, "{declared:?}");
    assert_eq!(documented, declared);

    for (template, item) in paths {
        let methods: BTreeSet<String> = item.as_object().unwrap().keys().cloned().collect();
        // The server answers exactly the documented methods: any other is 405 with `Allow`.
        let other = if methods.contains("put") {
            reqwest::Method::PATCH
        } else {
            reqwest::Method::PUT
        };
        let r = send(client().request(other, s.url(&fill(template)))).await;
        assert_eq!(
            error_code(&r, StatusCode::METHOD_NOT_ALLOWED),
            "method_not_allowed"
        );
        let allowed: BTreeSet<String> = r.headers["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| m != "head")
            .collect();
        assert_eq!(allowed, methods, "{template}");

        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {template}");
            assert!(op["operationId"].is_string(), "{what}");
            assert!(op["summary"].is_string(), "{what}");
            let names: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let in_template: BTreeSet<&str> = template
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(names, in_template, "{what}");

            let open = ["/healthz", "/openapi.json"].contains(&template.as_str());
            let security = &op["security"];
            if open {
                assert!(security.is_null(), "{what} needs no token");
            } else {
                assert_eq!(*security, json!([{ "bearer": [] }]), "{what}");
            }

            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{what}");
            for (status, response) in responses {
                assert!(response["description"].is_string(), "{what} {status}");
                // A success (`200`, or `202` for a call run in the background) has its own shape.
                if status.starts_with('2') {
                    continue;
                }
                // Every error is the error shape, perhaps with an outcome beside it.
                let schema = &response["content"]["application/json"]["schema"];
                let refs: Vec<&str> = match schema["anyOf"].as_array() {
                    Some(alternatives) => alternatives.iter().map(|a| &a["$ref"]).collect(),
                    None => vec![&schema["$ref"]],
                }
                .into_iter()
                .map(|r| r.as_str().unwrap_or_default())
                .collect();
                assert!(
                    refs.iter()
                        .all(|r| r.starts_with("#/components/schemas/Error")),
                    "{what} {status}: {schema}"
                );
            }
            if !open {
                assert!(responses.contains_key("401"), "{what}");
            }
        }
    }
    let stream = doc.operation("get", "/v1/tenants/{tenant}/receipts/stream");
    assert!(stream["responses"]["200"]["content"]["text/event-stream"].is_object());

    // Every reference resolves inside the document.
    let text = api.to_string();
    let schemas = api["components"]["schemas"].as_object().unwrap();
    for (at, _) in text.match_indices("\"$ref\":\"") {
        let target = &text[at + 8..];
        let target = &target[..target.find('"').unwrap()];
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target} points outside the components"));
        assert!(schemas.contains_key(name), "{target} is not defined");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_match_the_openapi_schemas() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    let doc = OpenApi::fetch(&s).await;

    let r = get(&s, None, "/healthz").await;
    doc.check("get", "/healthz", &r);
    let r = get(&s, None, "/openapi.json").await;
    doc.check("get", "/openapi.json", &r);

    // The catalog.
    let r = get(&s, Some(ACME), "/v1/packs").await;
    doc.check("get", "/v1/packs", &r);
    let pack = r.body["packs"][0]["pack_id"].as_str().unwrap().to_owned();
    let r = get(&s, Some(ACME), &format!("/v1/packs/{pack}")).await;
    doc.check("get", "/v1/packs/{id}", &r);
    let r = get(&s, Some(ACME), "/v1/packs/nope").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_pack");
    doc.check("get", "/v1/packs/{id}", &r);
    let r = get(&s, Some(ACME), "/v1/skus").await;
    doc.check("get", "/v1/skus", &r);
    // The plans in the order `tai sku list` gives them: the price ladder.
    let listed = common::tai()
        .args(["sku", "list", "--format", "json"])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(r.body, listed);
    let r = get(&s, Some(ACME), "/v1/skus/rollback-guard-professional").await;
    doc.check("get", "/v1/skus/{id}", &r);

    // Entitlement events: accepted, refused (recorded), malformed.
    let activate = event("entitlement.activated", "acme", "rollback-guard-base");
    let r = send_event(&s, ADMIN, &activate).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    doc.check("post", "/v1/events", &r);
    let r = send_event(&s, ADMIN, &event("entitlement.activated", "globex", "nope")).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "unknown_sku"
    );
    doc.check("post", "/v1/events", &r);
    let r = send_event(&s, ADMIN, &json!({ "event_type": "entitlement.activated" })).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "malformed_event");
    doc.check("post", "/v1/events", &r);
    let r = send_event(&s, ACME, &activate).await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "admin_only");
    doc.check("post", "/v1/events", &r);

    // A tenant's state before and after its governor boots.
    let tenant = "/v1/tenants/{tenant}";
    let r = get(&s, Some(ACME), "/v1/tenants/acme").await;
    doc.check("get", tenant, &r);
    let r = post_raw(&s, Some(ACME), "/v1/tenants/acme/signals", String::new()).await;
    doc.check("post", "/v1/tenants/{tenant}/signals", &r);
    let r = get(&s, Some(ACME), "/v1/tenants/acme").await;
    assert_eq!(r.body["state"], "stable", "{}", r.body);
    doc.check("get", tenant, &r);
    // The schemas do reject what the server would never send.
    let mut wrong = r.body.clone();
    wrong["state"] = json!("sleeping");
    assert!(!doc.problems("get", tenant, r.status, &wrong).is_empty());
    wrong["state"] = r.body["state"].clone();
    wrong.as_object_mut().unwrap().remove("head_hash");
    assert!(!doc.problems("get", tenant, r.status, &wrong).is_empty());
    let r = get(&s, Some(ADMIN), "/v1/tenants").await;
    doc.check("get", "/v1/tenants", &r);
    let r = get(&s, Some(ACME), "/v1/tenants/acme/tools").await;
    doc.check("get", "/v1/tenants/{tenant}/tools", &r);

    // Calls: executed, refused by a gate, and a tool the tenant cannot see (recorded).
    let calls = "/v1/tenants/{tenant}/calls";
    let r = call_tool(&s, ACME, "acme", "ac_receipt_verify").await;
    assert_eq!(r.body["decision"], "executed", "{}", r.body);
    doc.check("post", calls, &r);
    let r = call_tool(&s, ACME, "acme", "ac_rollback_orchestrator").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "tool_not_found");
    doc.check("post", calls, &r);
    let r = post_raw(&s, Some(ACME), "/v1/tenants/acme/calls", "{".into()).await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_json");
    doc.check("post", calls, &r);

    // Action resolutions (an empty body is `{}`), receipts and verification.
    let fail = "/v1/tenants/acme/actions/fail";
    let r = post_raw(&s, Some(ACME), fail, String::new()).await;
    assert_eq!(error_code(&r, StatusCode::CONFLICT), "nothing_in_flight");
    doc.check("post", "/v1/tenants/{tenant}/actions/fail", &r);
    let r = get(&s, Some(ACME), "/v1/tenants/acme/receipts?limit=2").await;
    doc.check("get", "/v1/tenants/{tenant}/receipts", &r);
    let r = get(&s, Some(ACME), "/v1/tenants/acme/receipts?limit=0").await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_query");
    doc.check("get", "/v1/tenants/{tenant}/receipts", &r);
    let r = get(&s, Some(ACME), "/v1/tenants/acme/verify").await;
    doc.check("get", "/v1/tenants/{tenant}/verify", &r);

    // The errors every tenant route shares.
    let r = get(&s, None, "/v1/tenants/acme").await;
    assert_eq!(error_code(&r, StatusCode::UNAUTHORIZED), "unauthenticated");
    doc.check("get", tenant, &r);
    let r = get(&s, Some(GLOBEX), "/v1/tenants/acme").await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "forbidden");
    doc.check("get", tenant, &r);
    let r = get(&s, Some(ADMIN), "/v1/tenants/initech").await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "unknown_tenant");
    doc.check("get", tenant, &r);
    let r = get(&s, Some(ADMIN), "/v1/tenants/.hidden").await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_tenant_id");
    doc.check("get", tenant, &r);
    s.stop().await;
}

fn marketplace_fixture(rel: &str) -> Value {
    let path = common::fixture("marketplace").join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The marketplace webhook takes each marketplace's notification as sent, answers with
/// what it mapped to and what was recorded, and refuses (recording it) what maps to nothing.
#[tokio::test(flavor = "multi_thread")]
async fn marketplace_notifications_over_http() {
    let (_d, state) = state_dir();
    let catalog = common::fixture("marketplace/catalog");
    let records = common::fixture("marketplace/gcp/resources");
    let s = Server::start(
        &state,
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--marketplace-records",
            records.to_str().unwrap(),
            "--now",
            "2026-03-01T10:00:05Z",
        ],
    );
    let azure = "/v1/marketplace/azure";
    let subscription = "37f9dea2-4345-438f-b0bd-03d40d28c7e0";

    // An Azure purchase, as Azure sends it.
    let r = post(
        &s,
        Some(ADMIN),
        azure,
        &marketplace_fixture("azure/subscribe.json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "accepted");
    assert_eq!(r.body["marketplace"], "azure");
    assert_eq!(r.body["notification"], "Subscribe");
    assert_eq!(r.body["tenant_id"], subscription);
    assert_eq!(r.body["event"]["sku_id"], "rollback-guard-base");
    assert_eq!(
        r.body["outcome"]["receipts"][0]["event_type"],
        "entitlement_activated"
    );
    let t = get(&s, Some(ADMIN), &format!("/v1/tenants/{subscription}")).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body["entitlement"]["sku_id"], "rollback-guard-base");

    // A plan no SKU is listed under: refused and recorded, and acknowledged (200), since
    // Azure would otherwise deliver it again and again to the same answer.
    let mut unknown = marketplace_fixture("azure/change_plan.json");
    unknown["planId"] = json!("no-such-tier");
    unknown["subscription"]["planId"] = json!("no-such-tier");
    let r = post(&s, Some(ADMIN), azure, &unknown).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "unmappable");
    assert_eq!(
        r.body["outcome"]["refusal"]["code"], "unknown_sku",
        "{}",
        r.body
    );
    assert_eq!(
        r.body["outcome"]["receipts"][0]["event_type"],
        "entitlement_update_refused"
    );
    // Its redelivery: the same answer, nothing recorded again.
    let recorded = all_receipts(&s, ADMIN, subscription).await.len();
    let again = post(&s, Some(ADMIN), azure, &unknown).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["status"], "unmappable");
    assert_eq!(again.body["outcome"]["refusal"]["code"], "unknown_sku");
    assert_eq!(all_receipts(&s, ADMIN, subscription).await.len(), recorded);

    // Not the marketplace's shape: nothing recorded.
    let before = all_receipts(&s, ADMIN, subscription).await.len();
    let r = post(&s, Some(ADMIN), azure, &json!({ "action": "Subscribe" })).await;
    assert_eq!(
        error_code(&r, StatusCode::BAD_REQUEST),
        "malformed_notification"
    );
    assert_eq!(all_receipts(&s, ADMIN, subscription).await.len(), before);

    // A marketplace tai does not know, and a tenant token: no.
    let r = post(&s, Some(ADMIN), "/v1/marketplace/ebay", &json!({})).await;
    assert_eq!(error_code(&r, StatusCode::NOT_FOUND), "not_found");
    let r = post(
        &s,
        Some(ACME),
        azure,
        &marketplace_fixture("azure/suspend.json"),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::FORBIDDEN), "admin_only");

    // GCP: the Pub/Sub push body, mapped through the entitlement records the server holds.
    let gcp = "/v1/marketplace/gcp";
    let requested = marketplace_fixture("gcp/01_entitlement_creation_requested.json");
    let r = post(&s, Some(ADMIN), gcp, &requested).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["tenant_id"], "acct-1001");
    assert_eq!(r.body["event"]["event_type"], "entitlement.requested");
    drop(s);

    // Without the records a GCP notification needs, nothing is recorded and the
    // marketplace is told to deliver it again.
    let (_d2, state2) = state_dir();
    let s = Server::start(&state2, &["--catalog", catalog.to_str().unwrap()]);
    let r = post(&s, Some(ADMIN), gcp, &requested).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "missing_marketplace_record"
    );
    let t = get(&s, Some(ADMIN), "/v1/tenants/acct-1001").await;
    assert_eq!(error_code(&t, StatusCode::NOT_FOUND), "unknown_tenant");
}

/// A plan change refused because the entitlement expired is explained by what applies to an
/// expired one (renew, or buy again), not as a malformed event.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_for_an_expired_entitlement_says_to_renew_or_buy() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let expired = json!({ "event_type": "entitlement.expired", "tenant_id": "acme" });
    assert_eq!(send_event(&s, ADMIN, &expired).await.status, StatusCode::OK);
    let change = event(
        "entitlement.plan_changed",
        "acme",
        "rollback-guard-professional",
    );
    let r = send_event(&s, ADMIN, &change).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "entitlement_expired"
    );
    // The refusal is the last receipt the event wrote.
    let seq = r.body["receipts"].as_array().unwrap().last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    let x = get(
        &s,
        Some(ADMIN),
        &format!("/v1/tenants/acme/explain?seq={seq}"),
    )
    .await;
    let fix = x.body["explanation"]["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", x.body));
    assert!(fix.starts_with("Renew the entitlement"), "{}", x.body);
}

/// A retry that writes a number as `0` where the first call wrote `0.0` asks for the same
/// thing (JSON, and a schema's `integer`, do not tell them apart): it is answered from the
/// first call, not refused as another request under a reused key.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_writing_its_numbers_differently_is_still_a_retry() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let keyed = |arguments: Value| {
        send(
            client()
                .post(s.url("/v1/tenants/acme/calls"))
                .bearer_auth(ACME)
                .header("Idempotency-Key", "lookup-1")
                .json(&json!({ "tool": "ac_receipt_lookup", "arguments": arguments })),
        )
    };
    let first = keyed(json!({ "seq": 0.0 })).await;
    assert_eq!(first.body["decision"], "executed", "{}", first.body);
    let seq = first.body["receipts"][0]["seq"].clone();
    let again = keyed(json!({ "seq": 0 })).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["decision"], "executed", "{}", again.body);
    assert_eq!(again.body["repeat_of"], seq, "{}", again.body);
    let other = keyed(json!({ "seq": 1 })).await;
    assert_eq!(
        error_code(&other, StatusCode::UNPROCESSABLE_ENTITY),
        "idempotency_key_reused"
    );
}

/// A call to `ac_receipt_verify` for acme with the `Idempotency-Key` header.
async fn keyed_call(s: &Server, key: &str) -> Reply {
    send(
        client()
            .post(s.url("/v1/tenants/acme/calls"))
            .bearer_auth(ACME)
            .header("Idempotency-Key", key)
            .json(&call("ac_receipt_verify")),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn redelivered_events_and_retried_calls_are_decided_once_even_after_a_restart() {
    let (_d, state) = state_dir();
    let mut s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let mut renewal = event("entitlement.renewed", "acme", "rollback-guard-base");
    renewal["event_id"] = json!("evt-renew-1");
    let first = send_event(&s, ADMIN, &renewal).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let renewed_seq = first.body["receipts"][0]["seq"].clone();
    let called = keyed_call(&s, "call-1").await;
    assert_eq!(called.body["decision"], "executed", "{}", called.body);
    let called_seq = called.body["receipts"][0]["seq"].clone();
    let expiry = |r: &Reply| r.body["entitlement"]["expiry"].clone();
    let view = get(&s, Some(ACME), "/v1/tenants/acme").await;
    let before = all_receipts(&s, ACME, "acme").await;

    for restart in [false, true] {
        if restart {
            s.stop().await;
            s = Server::start(&state, &[]);
        }
        let again = send_event(&s, ADMIN, &renewal).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["accepted"], true);
        assert_eq!(again.body["repeat_of"], renewed_seq, "{}", again.body);
        assert_eq!(again.body["receipts"], json!([]));
        let retried = keyed_call(&s, "call-1").await;
        assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
        assert_eq!(retried.body["decision"], "executed");
        assert_eq!(retried.body["result"], called.body["result"]);
        assert_eq!(retried.body["repeat_of"], called_seq, "{}", retried.body);
        assert_eq!(retried.body["receipts"], json!([]));
        assert_eq!(
            expiry(&get(&s, Some(ACME), "/v1/tenants/acme").await),
            expiry(&view),
            "the renewal was applied twice"
        );
        assert_eq!(all_receipts(&s, ACME, "acme").await, before);
    }
    // Another key is another call.
    let other = keyed_call(&s, "call-2").await;
    assert_eq!(other.body["decision"], "executed");
    assert!(other.body.get("repeat_of").is_none(), "{}", other.body);
    // The key of another request is not a retry: 422, nothing runs or is recorded, before
    // and after a restart. The same request with its fields in another order is a retry.
    let before = all_receipts(&s, ACME, "acme").await;
    for restart in [false, true] {
        if restart {
            s.stop().await;
            s = Server::start(&state, &[]);
        }
        let mut other_request = call("ac_receipt_verify");
        other_request["arguments"] = json!({ "seq": 0 });
        let reused = send(
            client()
                .post(s.url("/v1/tenants/acme/calls"))
                .bearer_auth(ACME)
                .header("Idempotency-Key", "call-1")
                .json(&other_request),
        )
        .await;
        assert_eq!(
            error_code(&reused, StatusCode::UNPROCESSABLE_ENTITY),
            "idempotency_key_reused"
        );
        assert_eq!(reused.body["decision"], "refused", "{}", reused.body);
        assert_eq!(reused.body["repeat_of"], called_seq, "{}", reused.body);
        assert_eq!(reused.body["receipts"], json!([]));
        // An event id given to another event: the same.
        let mut other_event = renewal.clone();
        other_event["expiry"] = json!("2031-01-01T00:00:00Z");
        let reused = send_event(&s, ADMIN, &other_event).await;
        assert_eq!(
            error_code(&reused, StatusCode::UNPROCESSABLE_ENTITY),
            "event_id_reused"
        );
        assert_eq!(reused.body["repeat_of"], renewed_seq, "{}", reused.body);
        assert_eq!(all_receipts(&s, ACME, "acme").await, before);
    }
    // A key is bounded (it is kept in a receipt and remembered per tenant): 400, nothing run.
    for bad in ["k".repeat(256), String::new()] {
        let r = keyed_call(&s, &bad).await;
        assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_header");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1-255 printable ASCII characters"),
            "{}",
            r.body
        );
    }
    // Two keys for one call: ambiguous, refused the same way.
    let r = send(
        client()
            .post(s.url("/v1/tenants/acme/calls"))
            .bearer_auth(ACME)
            .header("Idempotency-Key", "k1")
            .header("Idempotency-Key", "k2")
            .json(&call("ac_receipt_verify")),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_header");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("given more than once"),
        "{}",
        r.body
    );
    assert_eq!(all_receipts(&s, ACME, "acme").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iam_policy_set_over_http_decides_which_principal_may_call() {
    let (_dir, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-professional").await;
    let iam = "/v1/tenants/acme/iam";

    let none = get(&s, Some(ACME), iam).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert_eq!(none.body["iam"], Value::Null);

    let put = |body: Value| {
        let req = client()
            .put(s.url(iam))
            .bearer_auth(ACME)
            .header("content-type", "application/json")
            .body(body.to_string());
        send(req)
    };
    // A role no plan grants and an undefined group: 422, nothing recorded.
    let bad = put(json!({ "bindings": [
        { "role": "write_rolback", "members": ["group:ops"] }
    ]}))
    .await;
    assert_eq!(
        error_code(&bad, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_policy"
    );
    let message = bad.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("did you mean `write_rollback`?"),
        "{message}"
    );
    assert!(message.contains("group `ops` is not defined"), "{message}");
    // Conditions that would overflow the parser's stack or run for hours (a comprehension
    // inside another): refused with a reason, and the server still answers.
    let list = format!(
        "[{}]",
        (0..100)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    for (expression, says) in [
        (
            format!("{}{} == []", "[".repeat(60), "]".repeat(60)),
            "nests 60 levels",
        ),
        (
            format!("{list}.all(p, {list}.all(r, true))"),
            "inside another",
        ),
        (vec!["1"; 500].join(" + ") + " > 0", "levels deep"),
    ] {
        let r = put(json!({ "bindings": [{
            "role": "read_deployment", "members": ["allUsers"],
            "condition": { "expression": expression }
        }]}))
        .await;
        assert_eq!(
            error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
            "invalid_policy"
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    assert_eq!(get(&s, None, "/healthz").await.status, StatusCode::OK);
    // A member spelt wrong is a bad body.
    let bad =
        put(json!({ "bindings": [{ "role": "read_deployment", "members": ["alice"] }] })).await;
    assert_eq!(error_code(&bad, StatusCode::BAD_REQUEST), "invalid_body");

    let set = put(json!({ "bindings": [
        { "role": "read_deployment", "members": ["user:alice@acme.com"],
          "condition": { "title": "checkout only", "expression": "request.arguments.deployment == 'checkout-api'" } }
    ]}))
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["receipts"][0]["event_type"], "iam_policy_set");
    let shown = get(&s, Some(ACME), iam).await;
    assert_eq!(shown.body["iam"]["seq"], set.body["iam"]["seq"]);
    assert_eq!(
        shown.body["iam"]["policy"]["bindings"][0]["role"],
        "read_deployment"
    );

    let calls = "/v1/tenants/acme/calls";
    let mut body = call("ac_deployment_validator");
    body["principal"] = json!("user:alice@acme.com");
    let ok = post(&s, Some(ACME), calls, &body).await;
    assert_eq!(ok.body["decision"], "executed", "{}", ok.body);
    let meta = &ok.body["receipts"][0]["metadata"];
    assert_eq!(meta["principal"], "user:alice@acme.com");
    assert_eq!(meta["iam_bindings"][0]["condition"], "checkout only");

    body["arguments"]["deployment"] = json!("billing-api");
    let refused = post(&s, Some(ACME), calls, &body).await;
    assert_eq!(refused.body["decision"], "refused", "{}", refused.body);
    assert_eq!(refused.body["gate"], "iam");
    let denial = &refused.body["receipts"][0]["metadata"]["iam_denials"][0];
    assert_eq!(denial["why"], "condition_false");
    assert_eq!(denial["role"], "read_deployment");

    body["principal"] = json!("user:bob@acme.com");
    let refused = post(&s, Some(ACME), calls, &body).await;
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("no binding grants role `read_deployment` to `user:bob@acme.com`"),
        "{}",
        refused.body
    );
    body["principal"] = json!("group:admins");
    let bad = post(&s, Some(ACME), calls, &body).await;
    assert_eq!(error_code(&bad, StatusCode::BAD_REQUEST), "invalid_body");

    // Cleared: the plan's roles again, for anyone.
    let cleared = send(client().delete(s.url(iam)).bearer_auth(ACME)).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["iam"], Value::Null);
    let ok = call_tool(&s, ACME, "acme", "ac_deployment_validator").await;
    assert_eq!(ok.body["decision"], "executed", "{}", ok.body);
    // Another tenant's token may not touch acme's policy.
    let foreign = get(&s, Some(GLOBEX), iam).await;
    assert_eq!(error_code(&foreign, StatusCode::FORBIDDEN), "forbidden");
    verify_ok(&s, "acme").await;
}
