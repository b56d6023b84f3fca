//! The MCP surface as real clients see it: rmcp's client over streamable HTTP against the
//! routes served on a loopback port, and over stdio against the `tai` binary.
//!
//! Waits are on events with deadlines, never sleeps: a notification the server does not
//! send fails the test at the deadline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ErrorCode, ProtocolVersion,
    RequestMetaObject, ServerNotification, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceError};
use serde_json::{Value, json};
use tai::catalog::{builtin, load, view};
use tai::clock::{SimClock, Timestamp};
use tai::governor::{IdSource, Signal};
use tai::receipts::{EventType, MemoryLedger};
use tai::server::mcp::{HttpOptions, TENANT_HEADER, routes_with};
use tai::server::{AppState, Auth, Hub};
use tai::workspace::Workspace;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::common::{ACME, ADMIN, GLOBEX, tenant};

const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Server side

/// A workspace and the MCP routes serving it on a loopback port.
pub(crate) struct Served {
    pub(crate) ws: Arc<Workspace>,
    pub(crate) url: String,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) async fn serve() -> Served {
    let catalog = Arc::new(load::build(&builtin::sources()).unwrap());
    let clock = Arc::new(SimClock::new(
        Timestamp::parse("2026-03-01T00:00:00Z").unwrap(),
    ));
    let hub = Arc::new(Hub::new());
    let ws = Arc::new(
        Workspace::with_ledger(
            catalog,
            clock,
            IdSource::seeded(7),
            Arc::new(MemoryLedger::new()),
        )
        .with_observer(hub.clone()),
    );
    let auth = Auth::new(ADMIN, [(tenant("acme"), ACME), (tenant("globex"), GLOBEX)]);
    let state = AppState::new(ws.clone(), hub, auth);
    let shutdown = CancellationToken::new();
    let options = HttpOptions {
        shutdown: shutdown.clone(),
        ..HttpOptions::default()
    };
    // Nested as `tai serve` would: into a router whose handlers share the same state.
    let router = Router::new()
        .nest("/mcp", routes_with(state.clone(), options))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    Served {
        ws,
        url: format!("http://{addr}/mcp"),
        shutdown,
    }
}

/// Applies an entitlement event through the workspace, as the admin's webhook would.
async fn event(ws: &Arc<Workspace>, kind: &str, who: &str, sku: &str) {
    let ws = ws.clone();
    let raw = json!({ "event_type": kind, "tenant_id": who, "sku_id": sku });
    let out = tokio::task::spawn_blocking(move || ws.apply_event(&raw))
        .await
        .unwrap()
        .unwrap();
    assert!(out.accepted, "{kind} {sku} refused: {:?}", out.refusal);
}

/// Moves acme to another plan (an upgrade or a downgrade).
async fn change_plan(ws: &Arc<Workspace>, sku: &str) {
    event(ws, "entitlement.plan_changed", "acme", sku).await;
}

/// Activates `who` on `sku` and boots its governor.
pub(crate) async fn entitle(ws: &Arc<Workspace>, who: &str, sku: &str) {
    event(ws, "entitlement.activated", who, sku).await;
    let ws = ws.clone();
    let t = tenant(who);
    tokio::task::spawn_blocking(move || ws.signal(&t, &Signal::default()))
        .await
        .unwrap()
        .unwrap();
}

fn receipt_events(ws: &Workspace, who: &str) -> Vec<EventType> {
    ws.ledger()
        .read(&tenant(who))
        .unwrap()
        .iter()
        .map(|r| r.body.event_type)
        .collect()
}

/// `(name, description, input schema)` of every tool the SKU enables, by name.
fn sku_tools(ws: &Workspace, sku: &str) -> Vec<(String, String, Value)> {
    let catalog = ws.catalog();
    let mut tools: Vec<_> = view::sku_tools(catalog, catalog.sku(sku).unwrap())
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.description.to_owned(),
                t.input_schema.clone(),
            )
        })
        .collect();
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    tools
}

// ---------------------------------------------------------------------------------------
// Client side

/// A client that counts `notifications/tools/list_changed`.
#[derive(Clone)]
pub(crate) struct Recorder {
    changes: Arc<watch::Sender<usize>>,
}

impl Recorder {
    /// A recorder and the count of changes it has seen.
    pub(crate) fn new() -> (Recorder, watch::Receiver<usize>) {
        let (tx, rx) = watch::channel(0);
        let recorder = Recorder {
            changes: Arc::new(tx),
        };
        (recorder, rx)
    }
}

pub(crate) fn discover() -> ClientLifecycleMode {
    ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    }
}

impl ClientHandler for Recorder {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default().with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changes.send_modify(|n| *n += 1);
    }
}

pub(crate) type Client = RunningService<RoleClient, Recorder>;

fn transport(url: &str, token: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token),
    )
}

/// A 2025-11-25 session (initialize) and the count of list changes it receives.
async fn session(url: &str, token: &str) -> (Client, watch::Receiver<usize>) {
    let (recorder, rx) = Recorder::new();
    let client = recorder.serve(transport(url, token)).await.unwrap();
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    (client, rx)
}

/// A 2026-07-28 client (server/discover, then self-contained requests).
pub(crate) async fn stateless(url: &str, token: &str) -> Client {
    Recorder::new()
        .0
        .serve_with_lifecycle(transport(url, token), discover())
        .await
        .unwrap()
}

async fn wait_for_changes(rx: &mut watch::Receiver<usize>, at_least: usize) {
    tokio::time::timeout(DEADLINE, rx.wait_for(|n| *n >= at_least))
        .await
        .unwrap_or_else(|_| panic!("no tools/list_changed #{at_least} within {DEADLINE:?}"))
        .unwrap();
}

async fn listed(client: &Client) -> Vec<(String, String, Value)> {
    let mut tools: Vec<_> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.description.unwrap_or_default().to_string(),
                Value::Object((*t.input_schema).clone()),
            )
        })
        .collect();
    tools.sort_by(|a, b| a.0.cmp(&b.0));
    tools
}

pub(crate) async fn names(client: &Client) -> Vec<String> {
    listed(client).await.into_iter().map(|t| t.0).collect()
}

pub(crate) fn params(tool: &str, args: Value, context: Option<Value>) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().unwrap().clone());
    if let Some(context) = context {
        let mut meta = RequestMetaObject::default();
        meta.insert("tai/context".into(), context);
        p.meta = Some(meta);
    }
    p
}

pub(crate) async fn call(
    client: &Client,
    tool: &str,
    args: Value,
) -> Result<CallToolResult, ServiceError> {
    client.call_tool(params(tool, args, None)).await
}

pub(crate) fn structured(r: &CallToolResult) -> &Value {
    r.structured_content.as_ref().unwrap()
}

/// A call that must execute.
pub(crate) async fn executed(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args).await.unwrap();
    assert_eq!(r.is_error, Some(false), "{tool}: {r:?}");
    structured(&r).clone()
}

/// Base grants no read_audit_trail: the export is refused at gate 2.
pub(crate) async fn refused_audit_export(client: &Client) -> CallToolResult {
    let refused = call(
        client,
        "ac_audit_trail_export",
        json!({ "since": "2026-01-01T00:00:00Z" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(structured(&refused)["decision"], "refused");
    assert_eq!(structured(&refused)["gate"], "iam");
    assert_eq!(structured(&refused)["reason"], "insufficient_privilege");
    refused
}

pub(crate) fn assert_invalid_params(result: Result<CallToolResult, ServiceError>) {
    match result {
        Err(ServiceError::McpError(e)) => assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{e:?}"),
        other => panic!("expected a protocol error (invalid params), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Streamable HTTP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_session_follows_the_tenants_entitlement() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    let (client, mut changes) = session(&s.url, ACME).await;

    let info = client.peer_info().unwrap();
    let server = info.server_info.as_ref().unwrap();
    assert_eq!(server.name, "tai");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        info.capabilities.tools.as_ref().unwrap().list_changed,
        Some(true)
    );
    assert_eq!(
        listed(&client).await,
        sku_tools(&s.ws, "rollback-guard-base")
    );

    // Upgrade: the session is told, and the new tools are listed and callable.
    change_plan(&s.ws, "rollback-guard-professional").await;
    wait_for_changes(&mut changes, 1).await;
    assert_eq!(
        listed(&client).await,
        sku_tools(&s.ws, "rollback-guard-professional")
    );
    let ok = executed(
        &client,
        "ac_deployment_validator",
        json!({ "deployment": "checkout-api" }),
    )
    .await;
    assert_eq!(ok["deployment_stable"], true);

    // Gate 3 without context refuses; the context in `_meta` satisfies it.
    let args = json!({ "deployment": "checkout-api" });
    let refused = call(&client, "ac_rollback_orchestrator", args.clone())
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(structured(&refused)["gate"], "preconditions");
    assert_eq!(structured(&refused)["reason"], "deployment_not_stable");
    let context = json!({
        "deployment_stable": true,
        "rollback_target_version": "2.4.0",
        "rollback_policy_approved": true,
    });
    let rolled = client
        .call_tool(params("ac_rollback_orchestrator", args, Some(context)))
        .await
        .unwrap();
    assert_eq!(rolled.is_error, Some(false), "{rolled:?}");
    assert_eq!(structured(&rolled)["status"], "rolled_back");

    // Downgrade: told again, and the tool is gone — a protocol error, not a tool result.
    change_plan(&s.ws, "rollback-guard-base").await;
    wait_for_changes(&mut changes, 2).await;
    assert!(
        !names(&client)
            .await
            .contains(&"ac_deployment_validator".into())
    );
    assert_invalid_params(
        call(
            &client,
            "ac_deployment_validator",
            json!({ "deployment": "checkout-api" }),
        )
        .await,
    );

    let refused = refused_audit_export(&client).await;
    let text = &refused.content[0].as_text().unwrap().text;
    assert!(
        text.starts_with("refused at the iam gate: insufficient_privilege"),
        "{text}"
    );
    let cited = &refused.meta.as_ref().unwrap()["tai/receipts"][0];
    assert_eq!(cited["event_type"], "action_refused");

    // Exactly the receipts `tai call` and `tai event` write, in order.
    use EventType::*;
    assert_eq!(
        receipt_events(&s.ws, "acme"),
        [
            EntitlementActivated,
            ToolSurfaceChanged,
            SignalProcessed,
            EntitlementUpdated,
            ToolSurfaceChanged,
            ActionExecuted,
            ActionRefused,
            ActionExecuted,
            EntitlementUpdated,
            ToolSurfaceChanged,
            ToolNotFound,
            ActionRefused,
        ]
    );
    assert_eq!(cited["seq"], 11);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_2026_07_28_is_stateless_and_listens_for_changes() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    let client = stateless(&s.url, ACME).await;
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
    assert_eq!(
        listed(&client).await,
        sku_tools(&s.ws, "rollback-guard-base")
    );

    let mut subscription = client
        .listen(SubscriptionFilter::builder().tools_list_changed().build())
        .await
        .unwrap();
    assert_eq!(subscription.acknowledged().tools_list_changed, Some(true));
    change_plan(&s.ws, "rollback-guard-professional").await;
    let note = tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .expect("no tools/list_changed on the listen stream")
        .unwrap();
    assert!(
        matches!(
            note,
            Some(ServerNotification::ToolListChangedNotification(_))
        ),
        "{note:?}"
    );
    executed(
        &client,
        "ac_rollback_status",
        json!({ "deployment": "checkout-api" }),
    )
    .await;
    assert_invalid_params(call(&client, "ac_policy_list", json!({})).await);
    subscription.cancel().await.unwrap();
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_each_tenant_sees_only_its_own_tools() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    entitle(&s.ws, "globex", "governance-suite-enterprise").await;
    let base = sku_tools(&s.ws, "rollback-guard-base");
    let enterprise = sku_tools(&s.ws, "governance-suite-enterprise");
    assert_ne!(base, enterprise);

    let (acme, _) = session(&s.url, ACME).await;
    let (globex, _) = session(&s.url, GLOBEX).await;
    assert_eq!(listed(&acme).await, base);
    assert_eq!(listed(&globex).await, enterprise);
    // A tool globex has is not found for acme, and acme's call leaves globex's chain alone.
    let globex_receipts = receipt_events(&s.ws, "globex").len();
    assert_invalid_params(call(&acme, "ac_policy_list", json!({})).await);
    assert!(call(&globex, "ac_policy_list", json!({})).await.is_ok());
    assert_eq!(receipt_events(&s.ws, "globex").len(), globex_receipts + 1);
    assert_eq!(
        receipt_events(&s.ws, "acme").last(),
        Some(&EventType::ToolNotFound)
    );

    // The admin acts for the tenant it names; the same client sees per request.
    let mut headers = std::collections::HashMap::new();
    headers.insert(TENANT_HEADER.parse().unwrap(), "globex".parse().unwrap());
    let admin = Recorder::new()
        .0
        .serve(StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(s.url.clone())
                .auth_header(ADMIN)
                .custom_headers(headers),
        ))
        .await
        .unwrap();
    assert_eq!(listed(&admin).await, enterprise);

    // 2026-07-28: no session, so every request is the credentials' tenant's.
    let modern = stateless(&s.url, GLOBEX).await;
    assert_eq!(listed(&modern).await, enterprise);
    for c in [acme, globex, admin, modern] {
        c.cancel().await.unwrap();
    }
}

// Raw HTTP: what a client that is not allowed in gets back.

fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": { "name": "raw", "version": "0" }
        }
    })
}

async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_refuses_missing_or_unknown_credentials_and_foreign_origins() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    let init = initialize_body();
    let bearer = |t: &str| format!("Bearer {t}");

    for headers in [vec![], vec![("authorization", "Bearer wrong")]] {
        let r = post(&s.url, &headers, &init).await;
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let admin = bearer(ADMIN);
    let r = post(&s.url, &[("authorization", &admin)], &init).await;
    assert_eq!(r.status(), 400, "the admin must name a tenant");
    // A tenant no entitlement event has named does not exist, as on every other route: a
    // misspelt name creates nothing.
    let r = post(
        &s.url,
        &[("authorization", &admin), (TENANT_HEADER, "acmee")],
        &init,
    )
    .await;
    assert_eq!(r.status(), 404, "an unknown tenant");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_tenant", "{body}");
    let ws = s.ws.clone();
    let exists = tokio::task::spawn_blocking(move || ws.exists(&tenant("acmee")))
        .await
        .unwrap()
        .unwrap();
    assert!(!exists);
    let acme = bearer(ACME);
    let r = post(
        &s.url,
        &[("authorization", &acme), (TENANT_HEADER, "globex")],
        &init,
    )
    .await;
    assert_eq!(r.status(), 403, "a tenant token acts only for its tenant");

    let r = post(
        &s.url,
        &[("authorization", &acme), ("origin", "http://evil.example")],
        &init,
    )
    .await;
    assert_eq!(r.status(), 403, "foreign Origin");
    let r = post(
        &s.url,
        &[
            ("authorization", &acme),
            ("origin", "http://localhost:5173"),
        ],
        &init,
    )
    .await;
    assert_eq!(r.status(), 200, "a loopback Origin is allowed");
    let r = post(&s.url, &[("authorization", &acme)], &init).await;
    assert_eq!(r.status(), 200, "no Origin (not a browser) is allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_session_keeps_the_tenant_that_opened_it() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    entitle(&s.ws, "globex", "rollback-guard-base").await;
    let acme = format!("Bearer {ACME}");
    let globex = format!("Bearer {GLOBEX}");
    let r = post(&s.url, &[("authorization", &acme)], &initialize_body()).await;
    assert_eq!(r.status(), 200);
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" });
    let headers = [
        ("authorization", globex.as_str()),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let r = post(&s.url, &headers, &list).await;
    let body = tokio::time::timeout(DEADLINE, r.text())
        .await
        .unwrap()
        .unwrap();
    assert!(
        body.contains("\"code\":-32600") && body.contains("belongs to tenant `acme`"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_names_its_principal_in_meta_and_the_tenants_policy_judges_it() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-professional").await;
    let policy: tai::iam::IamPolicy = serde_json::from_value(json!({ "bindings": [
        { "role": "read_deployment", "members": ["serviceAccount:agent@acme.iam"] }
    ]}))
    .unwrap();
    let ws = s.ws.clone();
    tokio::task::spawn_blocking(move || ws.set_iam_policy(&tenant("acme"), Some(policy)))
        .await
        .unwrap()
        .unwrap();
    let client = stateless(&s.url, ACME).await;
    let with_principal = |principal: Value| {
        let mut p = params(
            "ac_deployment_validator",
            json!({ "deployment": "checkout-api" }),
            None,
        );
        let mut meta = RequestMetaObject::default();
        meta.insert("tai/principal".into(), principal);
        p.meta = Some(meta);
        p
    };
    let ok = client
        .call_tool(with_principal(json!("serviceAccount:agent@acme.iam")))
        .await
        .unwrap();
    assert_eq!(ok.is_error, Some(false), "{ok:?}");

    let refused = client
        .call_tool(with_principal(json!("user:mallory@acme.com")))
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(structured(&refused)["gate"], "iam");
    assert_eq!(structured(&refused)["reason"], "insufficient_privilege");
    // Unnamed: no principal holds nothing under a policy.
    let unnamed = call(
        &client,
        "ac_deployment_validator",
        json!({ "deployment": "checkout-api" }),
    )
    .await
    .unwrap();
    assert_eq!(structured(&unnamed)["gate"], "iam");
    // A principal that is not one is a protocol error.
    assert_invalid_params(client.call_tool(with_principal(json!("group:ops"))).await);
    assert_invalid_params(client.call_tool(with_principal(json!(7))).await);

    let receipts = s.ws.ledger().read(&tenant("acme")).unwrap();
    let executed = receipts
        .iter()
        .find(|r| r.body.event_type == EventType::ActionExecuted)
        .unwrap();
    let meta = executed.body.metadata.to_value();
    assert_eq!(meta["principal"], "serviceAccount:agent@acme.iam");
    assert_eq!(
        meta["iam_bindings"][0]["member"],
        "serviceAccount:agent@acme.iam"
    );
}

/// Sends one of tai's own methods and returns its result, or the protocol error.
pub(crate) async fn tai_method(
    client: &Client,
    method: &str,
    params: Value,
) -> Result<Value, ServiceError> {
    let request = rmcp::model::ClientRequest::CustomRequest(rmcp::model::CustomRequest::new(
        method,
        Some(params),
    ));
    match client.send_request(request).await? {
        rmcp::model::ServerResult::CustomResult(r) => Ok(r.0),
        other => panic!("{method}: unexpected answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_and_the_andon_cord_over_mcp() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-professional").await;
    let client = stateless(&s.url, ACME).await;

    let typo = tai_method(&client, "tai/signal", json!({ "name": "rollback_faild" }))
        .await
        .unwrap();
    assert_eq!(typo["reason"], "unknown_signal", "{typo}");
    assert!(
        typo["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `rollback_failed`?")
    );
    let raised = tai_method(&client, "tai/signal", json!({ "name": "rollback_failed" }))
        .await
        .unwrap();
    assert_eq!(raised["event"], "andon_raised", "{raised}");

    // The list marks the stopped tools; a call is a tool result naming the Andon.
    let tools = client.list_all_tools().await.unwrap();
    let stopped = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.meta.as_ref())
            .and_then(|m| m.get("tai/stopped"))
            .cloned()
    };
    assert_eq!(
        stopped("ac_rollback_orchestrator").unwrap()["andon"],
        "rollback_failed"
    );
    assert_eq!(stopped("ac_receipt_verify"), None);
    let refused = call(
        &client,
        "ac_rollback_status",
        json!({ "deployment": "checkout-api" }),
    )
    .await
    .unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(structured(&refused)["reason"], "andon_stopped");

    let state = tai_method(&client, "tai/state", json!({})).await.unwrap();
    assert_eq!(state["andon"][0]["signal"], "rollback_failed", "{state}");

    let cleared = tai_method(
        &client,
        "tai/andon/clear",
        json!({ "signal": "rollback_failed", "note": "checked" }),
    )
    .await
    .unwrap();
    assert_eq!(cleared["receipts"][0]["event_type"], "andon_cleared");
    assert_eq!(cleared["andon"], json!([]));
    // Nothing left to clear, bad params and an unknown method are protocol errors.
    for (method, params, code) in [
        (
            "tai/andon/clear",
            json!({ "signal": "rollback_failed" }),
            ErrorCode::INVALID_PARAMS,
        ),
        ("tai/andon/clear", json!({}), ErrorCode::INVALID_PARAMS),
        (
            "tai/signal",
            json!({ "nme": "x" }),
            ErrorCode::INVALID_PARAMS,
        ),
        ("tai/nothing", json!({}), ErrorCode::METHOD_NOT_FOUND),
    ] {
        match tai_method(&client, method, params).await {
            Err(ServiceError::McpError(e)) => assert_eq!(e.code, code, "{method}: {e:?}"),
            other => panic!("{method}: expected a protocol error, got {other:?}"),
        }
    }
    executed(
        &client,
        "ac_rollback_status",
        json!({ "deployment": "checkout-api" }),
    )
    .await;
    assert!(receipt_events(&s.ws, "acme").contains(&EventType::AndonCleared));
}

/// What `/mcp` turns away before MCP is in the error shape of every other route, and a
/// message that is not JSON is a JSON-RPC parse error (400, `-32700`), not a 415.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_rejections_are_json_and_bad_json_is_a_parse_error() {
    let s = serve().await;
    entitle(&s.ws, "acme", "rollback-guard-base").await;
    let init = initialize_body();
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (
            status,
            body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let r = post(&s.url, &[], &init).await;
    assert_eq!(code(r).await, (401, "unauthenticated".to_owned()));
    let acme = format!("Bearer {ACME}");
    let r = post(
        &s.url,
        &[("authorization", &acme), (TENANT_HEADER, "globex")],
        &init,
    )
    .await;
    assert_eq!(code(r).await, (403, "forbidden".to_owned()));
    let admin = format!("Bearer {ADMIN}");
    let r = post(&s.url, &[("authorization", &admin)], &init).await;
    assert_eq!(code(r).await, (400, "invalid_header".to_owned()));

    let r = reqwest::Client::new()
        .post(&s.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("authorization", &acme)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["id"], Value::Null, "{body}");
    assert_eq!(body["error"]["code"], -32700, "{body}");
    // A well-formed message still reaches MCP.
    let r = post(&s.url, &[("authorization", &acme)], &init).await;
    assert_eq!(r.status(), 200);
}
