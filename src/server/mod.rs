//! `tai serve` and `tai mcp`: the engine behind HTTP and the Model Context Protocol.
//!
//! Async code lives only in this module. Every decision is made by the synchronous
//! [`Workspace`] — the same functions the CLI calls — so a request can never be decided
//! differently depending on which door it came through. Work that may block (loading a
//! tenant, running a command handler, reading a ledger) runs on tokio's blocking pool; a
//! tool call that cannot block is decided on the async worker and awaits its durability
//! without holding a thread ([`Workspace::try_call`]).
//!
//! - [`auth`]: bearer tokens → who is asking (the admin, or one tenant); [`session`]: the
//!   browser's one-time login links and session cookie.
//! - [`hub`]: durable receipts fanned out to live listeners (SSE streams, MCP sessions).
//! - [`http`]: the JSON API; [`error`] its one error shape; [`extract`] what handlers take
//!   from a request (caller, tenant, body) and how they reach the engine.
//! - `openapi`: the OpenAPI document of the JSON API, built from its route declarations.
//! - [`explain`]: the route that puts a stored receipt's refusal in words ([`crate::explain`]).
//! - [`page`]: the demo page, its embedded assets, and the governor's state diagram as served.
//! - `run`: the assembled application, the listener, graceful shutdown; `conn` the
//!   connections (header and idle timeouts, the connection limit, the shutdown deadline).
//! - `trace`: a request id per HTTP request and the log events around it (`tracing`).
//! - [`mcp`]: the MCP server (streamable HTTP on `tai serve`, stdio for `tai mcp`).
//! - [`tokens`]: the tokens file `tai serve --tokens-file` reads once at start-up.

mod andon;
pub mod auth;
mod background;
mod conn;
pub mod error;
pub mod explain;
pub mod extract;
pub mod http;
pub mod hub;
mod iam;
pub mod mcp;
mod openapi;
pub mod page;
mod run;
pub mod session;
mod stream;
pub mod tokens;
mod trace;

use std::sync::Arc;

use crate::governor::{CallOutcome, ToolCall};
use crate::ids::TenantId;
use crate::marketplace::{Offline, Resources};
use crate::workspace::{Declined, Workspace, WorkspaceError};

pub use auth::{Auth, AuthError, Principal};
pub use conn::ConnLimits;
pub use error::{ApiError, ErrorCode};
pub use hub::Hub;
pub use run::{ServeError, ServeOptions, app, bind, serve, shutdown_signal};
pub use session::Sessions;
pub use trace::REQUEST_ID;

/// What every request handler shares: one `Arc`, since axum clones the state for every
/// request (a clone of four `Arc`s moved four contended counters between the workers' caches
/// per clone and drop).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// Every tenant, over its durable ledger.
    pub workspace: Arc<Workspace>,
    /// Live receipt listeners.
    pub hub: Arc<Hub>,
    /// Who may do what.
    pub auth: Arc<Auth>,
    /// The marketplace records (GCP entitlements, AWS GetEntitlements responses) that
    /// `POST /v1/marketplace/{marketplace}` maps notifications through.
    pub marketplace: Arc<dyn Resources + Send + Sync>,
}

impl AppState {
    /// State over `workspace`, whose observer must be `hub` so listeners hear every receipt.
    pub fn new(workspace: Arc<Workspace>, hub: Arc<Hub>, auth: Auth) -> AppState {
        AppState(Arc::new(Shared {
            workspace,
            hub,
            auth: Arc::new(auth),
            marketplace: Arc::new(Offline::empty("--marketplace-records")),
        }))
    }

    /// The same state, mapping marketplace notifications through `records`.
    pub fn with_marketplace_records(self, records: Arc<dyn Resources + Send + Sync>) -> Self {
        AppState(Arc::new(Shared {
            workspace: Arc::clone(&self.workspace),
            hub: Arc::clone(&self.hub),
            auth: Arc::clone(&self.auth),
            marketplace: records,
        }))
    }
}

/// How often a call finding its tenant busy awaits its release and tries again before it
/// goes to the blocking pool. The tenant is usually held by another decision that takes
/// microseconds (or a time slice, when the OS deschedules its holder); a command handler
/// holds it for as long as it runs, and a caller that keeps losing the race to others ends
/// up in the pool too.
const BUSY_RETRIES: usize = 16;

/// Runs a tool call on this async worker when deciding cannot block
/// ([`Workspace::try_call`]), awaiting its durability without holding a thread. `None` when
/// it must run on the blocking pool instead (see [`on_blocking_pool`]).
pub async fn try_call(
    workspace: &Workspace,
    tenant: &TenantId,
    call: &ToolCall,
) -> Option<Result<CallOutcome, WorkspaceError>> {
    for _ in 0..BUSY_RETRIES {
        let released = workspace.turn_released(tenant);
        match workspace.try_call(tenant, call) {
            Ok(deferred) => {
                return match deferred.durable().await {
                    // Another server continued the tenant's chain first: decide again on the
                    // blocking pool, where the workspace rebuilds the tenant and retries.
                    Err(e) if e.lost_race() => None,
                    done => Some(done),
                };
            }
            Err(Declined::Busy) => released.await,
            Err(Declined::WouldBlock) => return None,
        }
    }
    None
}

/// Runs workspace work on tokio's blocking pool: it may sync the ledger or wait for a command
/// handler, which must never stall the async workers. Both front doors go through here.
pub async fn on_blocking_pool<T: Send + 'static>(
    workspace: &Arc<Workspace>,
    work: impl FnOnce(&Workspace) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let ws = Arc::clone(workspace);
    tokio::task::spawn_blocking(move || work(&ws)).await
}
