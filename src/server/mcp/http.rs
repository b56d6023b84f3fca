//! MCP over streamable HTTP: the router `tai serve` nests at `/mcp`.
//!
//! Every request is authenticated before rmcp sees it: `Authorization: Bearer <token>` names
//! the tenant (a tenant token), or the admin token names one with [`TENANT_HEADER`]. The
//! tenant rides on the request (rmcp hands the HTTP request parts to the handler), so the
//! tool list is decided per request by its credentials, never by the connection. Host and
//! Origin are checked by rmcp against loopback allow-lists (DNS-rebinding protection).
//!
//! rmcp serves both revisions on this one endpoint: an `initialize` opens a 2025-11-25
//! session (`Mcp-Session-Id`, server notifications on the GET stream); a request carrying
//! 2026-07-28 `_meta` (`server/discover`, then self-contained requests) is served statelessly.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::Extensions;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::ids::TenantId;
use crate::server::{ApiError, AppState, AuthError, ErrorCode, Principal};
use crate::sync::lock;

use super::{Receipts, TaiMcp};

/// The header with which the admin token names the tenant it acts for.
pub const TENANT_HEADER: &str = "x-tai-tenant";

/// The method header 2026-07-28 clients send with every request (SEP-2243).
const MCP_METHOD_HEADER: &str = "mcp-method";

/// How the MCP endpoint guards itself.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// `Host` values accepted (a host matches any port; `host:port` only that port).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted from browsers (`scheme://host:*` for any port); a request
    /// with another `Origin` is refused with 403, one without `Origin` passes.
    pub allowed_origins: Vec<String>,
    /// Cancel to end every open session and stream, e.g. on server shutdown.
    pub shutdown: CancellationToken,
}

impl Default for HttpOptions {
    /// Loopback only.
    fn default() -> Self {
        HttpOptions {
            allowed_hosts: ["localhost", "127.0.0.1", "::1"].map(String::from).into(),
            allowed_origins: ["localhost", "127.0.0.1", "[::1]"]
                .into_iter()
                .flat_map(|h| ["http", "https"].map(|s| format!("{s}://{h}:*")))
                .collect(),
            shutdown: CancellationToken::new(),
        }
    }
}

/// The MCP endpoint with loopback defaults; nest it with `Router::nest("/mcp", …)`. It keeps
/// its own state, so it nests into a router of any state type.
pub fn routes<S>(state: AppState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes_with(state, HttpOptions::default())
}

/// The MCP endpoint with explicit options.
pub fn routes_with<S>(state: AppState, options: HttpOptions) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts)
        .with_allowed_origins(options.allowed_origins)
        .enforce_origin_validation()
        .with_cancellation_token(options.shutdown);
    let workspace = Arc::clone(&state.workspace);
    let hub = Arc::clone(&state.hub);
    // One handler per 2025-11-25 session, or per stateless 2026-07-28 request.
    let service = StreamableHttpService::new(
        move || Ok(TaiMcp::from_credentials(workspace.clone(), hub.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/", service)
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// Who a request acts for, attached by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant whose tools the request sees.
    pub tenant: TenantId,
    /// For `subscriptions/listen`: receipts subscribed before rmcp acknowledges the
    /// subscription, so a change right after the acknowledgment is not missed.
    early: Option<Arc<Mutex<Option<Receipts>>>>,
}

impl Caller {
    /// The subscription taken before the request reached rmcp, if any (once).
    pub fn take_early_subscription(&self) -> Option<Receipts> {
        lock(self.early.as_ref()?).take()
    }
}

/// The caller of a request that came through [`routes`].
pub fn caller(extensions: &Extensions) -> Option<&Caller> {
    extensions.get::<Parts>()?.extensions.get::<Caller>()
}

/// Why a request was turned away before reaching MCP.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the admin token acts for one tenant: name it in the `{TENANT_HEADER}` header")]
    NoTenantHeader,
    #[error("`{TENANT_HEADER}`: {0}")]
    BadTenantHeader(String),
}

impl IntoResponse for Rejection {
    /// The error shape every other route answers with, so a client branches on `code`.
    fn into_response(self) -> Response {
        let error = match self {
            Rejection::Auth(e) => ApiError::from(e),
            e @ (Rejection::NoTenantHeader | Rejection::BadTenantHeader(_)) => {
                ApiError::new(ErrorCode::InvalidHeader, e.to_string())
            }
        };
        let mut response = error.into_response();
        if response.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tai\""),
            );
        }
        response
    }
}

/// A JSON-RPC message that is not JSON is a parse error (JSON-RPC 2.0: `-32700`, `id`
/// null), answered 400 before the MCP library sees it (which would answer 415, as if the
/// content type were wrong).
async fn parse_error(request: Request) -> Result<Request, Response> {
    if request.method() != axum::http::Method::POST {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    // Read as every body is, within the server's `--max-body`.
    let read = Request::from_parts(parts.clone(), body);
    let bytes = match <axum::body::Bytes as axum::extract::FromRequest<()>>::from_request(read, &())
        .await
    {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    "the body is larger than the server accepts",
                )
            } else {
                ApiError::new(ErrorCode::InvalidBody, rejection.body_text())
            };
            return Err(error.into_response());
        }
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        && !e.is_data()
    {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": -32700, "message": format!("Parse error: {e}") },
        });
        return Err((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// The tenant a request's credentials name.
fn tenant_of(state: &AppState, headers: &HeaderMap) -> Result<TenantId, Rejection> {
    let principal = state.auth.authenticate_headers(headers)?;
    let named = headers
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|t| TenantId::new(t.trim()).map_err(|e| Rejection::BadTenantHeader(e.to_string())))
        .transpose()?;
    match (principal, named) {
        (Principal::Admin, Some(t)) => Ok(t),
        (Principal::Admin, None) => Err(Rejection::NoTenantHeader),
        (p @ Principal::Tenant(_), Some(t)) => {
            p.may_act_for(&t)?;
            Ok(t)
        }
        (Principal::Tenant(t), None) => Ok(t),
    }
}

async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tenant = match tenant_of(&state, request.headers()) {
        Ok(t) => t,
        Err(rejection) => return rejection.into_response(),
    };
    // As on every `/v1/tenants/{t}/…` route: a tenant exists once an entitlement event has
    // named it, so a call or a signal to a misspelt one creates no ledger. Asked once per
    // session (its opening request carries no session id; the session keeps its tenant),
    // and on every stateless request.
    if !request.headers().contains_key("mcp-session-id") {
        let known = crate::server::extract::for_tenant(&state, tenant.clone(), |_, _| Ok(())).await;
        if let Err(e) = known {
            return e.into_response();
        }
    }
    let mut request = match parse_error(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let listens = request
        .headers()
        .get(MCP_METHOD_HEADER)
        .is_some_and(|m| m.as_bytes() == b"subscriptions/listen");
    let early = listens.then(|| Arc::new(Mutex::new(Some(state.hub.subscribe(&tenant)))));
    request.extensions_mut().insert(Caller { tenant, early });
    next.run(request).await
}
