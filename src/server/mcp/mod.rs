//! The Model Context Protocol surface: one tenant's entitled tools as MCP tools, each call
//! decided by that tenant's governor.
//!
//! [`TaiMcp`] is an rmcp [`ServerHandler`] over the shared [`Workspace`]. It decides nothing
//! itself: `tools/list` is the tenant's visible tools ([`Workspace::view`]) with their
//! catalog descriptions and input schemas, and `tools/call` is [`Workspace::call`], so an MCP
//! call writes exactly the receipts `tai call` would. The synchronous engine runs on tokio's
//! blocking pool.
//!
//! Who the tenant is depends on the door:
//! - stdio (`tai mcp`): one tenant per process, fixed when the server is built;
//! - streamable HTTP ([`routes`]): the credentials on each request name it, and a
//!   2025-11-25 session keeps the tenant that opened it.
//!
//! A `tool_surface_changed` receipt on the [`Hub`] becomes `notifications/tools/list_changed`:
//! on the session for 2025-11-25 clients, on each open `subscriptions/listen` stream for
//! 2026-07-28 clients.

mod custom;
mod follow;
mod http;
mod notify;
mod tools;

use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CustomRequest, CustomResult, ErrorCode, Extensions,
    Implementation, InitializeRequestParams, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio::sync::{broadcast, watch};

use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::sync::lock;
use crate::workspace::{Workspace, WorkspaceError};

use super::Hub;

pub use custom::{
    ACTION_COMPLETE_METHOD, ACTION_FAIL_METHOD, ANDON_CLEAR_METHOD, SIGNAL_METHOD, STATE_METHOD,
    STOPPED_META_KEY,
};
pub use http::{HttpOptions, TENANT_HEADER, routes, routes_with};

/// What the server tells clients about itself.
const INSTRUCTIONS: &str = "Tools of one tenant's entitled capability packs. Every call passes \
the tenant's governor: a refusal is a tool result with isError set, naming the gate and the \
reason code. Preconditions read the call's context from `_meta` key `tai/context` (an object), \
then the tenant's recorded facts. The governor itself answers tai's own methods: `tai/signal` \
(params `name`, `facts`), `tai/andon/clear` (params `signal`, `note`), `tai/action/complete` and \
`tai/action/fail` (params `action_id`, `detail`: resolve the action in flight) and `tai/state`; \
a tool whose pack a critical Andon stopped is listed with `_meta` `tai/stopped`. A call that \
runs a command reports `notifications/progress` (started, with its action id; decided) when \
the request carries a progressToken, and answers `started` at once with `_meta` \
`tai/background: true`.";

/// Receipts of one tenant, as the hub broadcasts them.
type Receipts = broadcast::Receiver<Arc<Receipt>>;

/// Why an MCP request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The request carries no tenant (the HTTP routes always attach one).
    #[error("the request names no tenant")]
    NoTenant,
    /// A request in a session opened by another tenant.
    #[error("this session belongs to tenant `{session}`, not `{request}`; open a new session")]
    OtherTenant {
        /// The tenant that opened the session.
        session: TenantId,
        /// The tenant this request's credentials name.
        request: TenantId,
    },
    /// `_meta.tai/context` is not an object.
    #[error(
        "`_meta.{}` must be an object of precondition values",
        tools::CONTEXT_META_KEY
    )]
    BadContext,
    /// `_meta.tai/idempotency_key` is not a key.
    #[error("`_meta.{key}`: {0}", key = tools::IDEMPOTENCY_META_KEY)]
    BadIdempotencyKey(String),
    /// A tai method's params do not fit it.
    #[error("{0}")]
    BadParams(String),
    /// `_meta.tai/principal` is not a principal.
    #[error("`_meta.{}`: {}", tools::PRINCIPAL_META_KEY, .0)]
    BadPrincipal(String),
    /// `_meta.tai/timeout_ms` is not a whole number of milliseconds of at least 1.
    #[error(
        "`_meta.{}` must be a whole number of milliseconds, at least 1",
        tools::TIMEOUT_META_KEY
    )]
    BadTimeout,
    /// The engine failed (ledger I/O, a chain that does not replay).
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The blocking task running the engine did not finish.
    #[error("the engine task did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<McpError> for ErrorData {
    fn from(e: McpError) -> Self {
        match e {
            McpError::NoTenant | McpError::OtherTenant { .. } => {
                ErrorData::invalid_request(e.to_string(), None)
            }
            McpError::BadContext
            | McpError::BadIdempotencyKey(_)
            | McpError::BadPrincipal(_)
            | McpError::BadTimeout
            | McpError::BadParams(_)
            | McpError::Workspace(WorkspaceError::NoSuchAndon(_)) => {
                ErrorData::invalid_params(e.to_string(), None)
            }
            // Which action is in flight is in the message; the code lets a client tell a
            // stale id from nothing in flight.
            McpError::Workspace(WorkspaceError::Unresolvable(ref u)) => {
                let code = serde_json::json!({ "code": u.code() });
                ErrorData::invalid_params(e.to_string(), Some(code))
            }
            McpError::Workspace(_) | McpError::Join(_) => {
                tracing::error!(error = %e, "internal error");
                ErrorData::internal_error(e.to_string(), None)
            }
        }
    }
}

/// Where a request's tenant comes from.
#[derive(Debug, Clone)]
enum Tenancy {
    /// One tenant for the whole connection (stdio).
    Fixed(TenantId),
    /// The [`http::Caller`] the HTTP routes attach to each request.
    FromCredentials,
}

/// The MCP server for one connection (a stdio process, an HTTP session, or one stateless
/// HTTP request).
#[derive(Debug)]
pub struct TaiMcp {
    workspace: Arc<Workspace>,
    hub: Arc<Hub>,
    tenancy: Tenancy,
    /// The tenant a 2025-11-25 HTTP session was opened by.
    session_tenant: OnceLock<TenantId>,
    /// Subscribed at `initialize`, so no change between the handshake and the client's
    /// `initialized` is lost; forwarded from then on.
    pending: Mutex<Option<Receipts>>,
    /// Dropped with the connection; its receivers end the forwarding task.
    alive: watch::Sender<()>,
}

impl TaiMcp {
    /// A server for exactly `tenant` (stdio: `tai mcp`).
    ///
    /// `workspace` must report its receipts to `hub`, or tool-list changes go unannounced.
    pub fn for_tenant(workspace: Arc<Workspace>, hub: Arc<Hub>, tenant: TenantId) -> TaiMcp {
        TaiMcp::new(workspace, hub, Tenancy::Fixed(tenant))
    }

    fn from_credentials(workspace: Arc<Workspace>, hub: Arc<Hub>) -> TaiMcp {
        TaiMcp::new(workspace, hub, Tenancy::FromCredentials)
    }

    fn new(workspace: Arc<Workspace>, hub: Arc<Hub>, tenancy: Tenancy) -> TaiMcp {
        TaiMcp {
            workspace,
            hub,
            tenancy,
            session_tenant: OnceLock::new(),
            pending: Mutex::new(None),
            alive: watch::channel(()).0,
        }
    }

    /// The tenant a request acts for.
    fn tenant(&self, extensions: &Extensions) -> Result<TenantId, McpError> {
        let request = match &self.tenancy {
            Tenancy::Fixed(t) => return Ok(t.clone()),
            Tenancy::FromCredentials => http::caller(extensions)
                .map(|c| c.tenant.clone())
                .ok_or(McpError::NoTenant)?,
        };
        let session = self.session_tenant.get_or_init(|| request.clone());
        if *session != request {
            return Err(McpError::OtherTenant {
                session: session.clone(),
                request,
            });
        }
        Ok(request)
    }

    /// Runs `op` on the workspace, off the async threads.
    async fn with_workspace<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Workspace) -> Result<T, WorkspaceError> + Send + 'static,
    ) -> Result<T, McpError> {
        Ok(super::on_blocking_pool(&self.workspace, op).await??)
    }
}

impl ServerHandler for TaiMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("tai", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let tenant = self.tenant(&context.extensions)?;
        let receipts = self.hub.subscribe(&tenant);
        *lock(&self.pending) = Some(receipts);
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let pending = lock(&self.pending).take();
        let Some(receipts) = pending else {
            return;
        };
        let peer = context.peer;
        let stop = notify::until_closed(self.alive.subscribe());
        tokio::spawn(notify::forward_surface_changes(receipts, stop, move || {
            let peer = peer.clone();
            async move { peer.notify_tool_list_changed().await }
        }));
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tenant = self.tenant(&context.extensions)?;
        let view = self.with_workspace(move |ws| ws.view(&tenant)).await?;
        let catalog = self.workspace.catalog();
        let mut listed = tools::listed(catalog, &view.tools);
        custom::mark_stopped(&mut listed, catalog, &view.andon);
        Ok(ListToolsResult::with_all_items(listed))
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let CustomRequest { method, params, .. } = request;
        let Some(parsed) = custom::parse(&method, params) else {
            return Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method, None));
        };
        let parsed = parsed.map_err(McpError::BadParams)?;
        let tenant = self.tenant(&context.extensions)?;
        let answer = match parsed {
            custom::Method::Signal(signal) => {
                let outcome = self
                    .with_workspace(move |ws| ws.signal(&tenant, &signal))
                    .await?;
                custom::result(&outcome)
            }
            custom::Method::AndonClear { signal, ack } => {
                let (receipts, view) = self
                    .with_workspace(move |ws| {
                        let receipts = ws.clear_andon(&tenant, &signal, &ack)?;
                        Ok((receipts, ws.view(&tenant)?))
                    })
                    .await?;
                custom::result(&serde_json::json!({
                    "tenant_id": view.tenant_id,
                    "andon": view.andon,
                    "receipts": receipts,
                }))
            }
            custom::Method::Resolve {
                resolution,
                action_id,
                detail,
            } => {
                let (receipts, view) = self
                    .with_workspace(move |ws| {
                        let receipts = ws.resolve_action(
                            &tenant,
                            resolution,
                            action_id.as_ref(),
                            detail.as_deref(),
                        )?;
                        Ok((receipts, ws.view(&tenant)?))
                    })
                    .await?;
                custom::result(&serde_json::json!({
                    "resolution": resolution,
                    "state": view.state,
                    "receipts": receipts,
                }))
            }
            custom::Method::State => {
                let view = self.with_workspace(move |ws| ws.view(&tenant)).await?;
                custom::result(&view)
            }
        };
        answer.map_err(|e| ErrorData::internal_error(e, None))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tenant = self.tenant(&context.extensions)?;
        let proof = tools::wants_proof(&request, &context.meta);
        let listener = follow::Listener {
            token: context.meta.get_progress_token(),
            background: tools::meta_flag(&request, &context.meta, follow::BACKGROUND_META_KEY),
            peer: context.peer.clone(),
        };
        let call = tools::tool_call(request, &context.meta)?;
        let outcome = match super::try_call(&self.workspace, &tenant, &call).await {
            Some(decided) => decided.map_err(McpError::from)?,
            None if listener.token.is_some() || listener.background => {
                let t = tenant.clone();
                match follow::call(&self.workspace, t, call, listener).await? {
                    follow::Followed::Started(result) => return Ok(result.into()),
                    follow::Followed::Decided(outcome) => outcome,
                }
            }
            None => {
                let tenant = tenant.clone();
                self.with_workspace(move |ws| ws.call(&tenant, &call))
                    .await?
            }
        };
        let seq = tools::deciding_seq(&outcome).filter(|_| proof);
        let state = outcome.state;
        let result = tools::answer(outcome)?;
        let record = self.workspace.record(&tenant).map_err(McpError::from)?;
        let result = tools::with_governor(result, state, &record);
        let Some(seq) = seq else {
            return Ok(result.into());
        };
        // The receipt is durable, and its flush signed the checkpoint that covers it.
        let proven = self
            .with_workspace(move |ws| Ok(ws.ledger().prove(&tenant, seq)))
            .await?
            .map_err(|e| e.to_string());
        Ok(tools::with_proof(result, proven).into())
    }

    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(SubscriptionFilter::builder().tools_list_changed().build())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let extensions = &context.request_context().extensions;
        let tenant = self.tenant(extensions)?;
        let receipts = http::caller(extensions)
            .and_then(http::Caller::take_early_subscription)
            .unwrap_or_else(|| self.hub.subscribe(&tenant));
        let sink = context.sink().clone();
        notify::forward_surface_changes(receipts, context.cancelled(), move || {
            let sink = sink.clone();
            async move { sink.notify_tool_list_changed().await }
        })
        .await;
        Ok(())
    }
}
