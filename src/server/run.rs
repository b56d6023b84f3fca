//! Running `tai serve`: the assembled application (the JSON API, the demo page, MCP at
//! `/mcp`, fallbacks, body limit, request timeout), the listener, and a graceful shutdown.
//!
//! Shutdown stops accepting connections, lets every in-flight request finish — each receipt
//! is durable before the workspace returns, so a finished request is a kept one — and closes
//! the receipt hub and every MCP session so open event streams end instead of holding the
//! shutdown open. Connections get at most the shutdown deadline to finish (see `conn` for
//! the limits on each connection).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::conn::{ConnLimits, serve_connections};
use super::error::{self, ApiError};
use super::{http, trace};

/// How the server treats requests and connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Largest request body accepted, in bytes (larger is 413).
    pub max_body: usize,
    /// Longest a request may take to produce its response head (longer is 503).
    pub request_timeout: Duration,
    /// Header and idle timeouts, the connection limit, the shutdown deadline.
    pub connections: ConnLimits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_body: 1 << 20,
            request_timeout: Duration::from_secs(60),
            connections: ConnLimits::default(),
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound (the cause is the error's source).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Accepting or serving connections failed.
    #[error("the server stopped")]
    Io(#[from] std::io::Error),
}

/// The whole application over `state`: the JSON API, and the MCP endpoint at `/mcp`.
/// Cancelling `shutdown` ends every open MCP session and stream.
pub fn app(state: AppState, options: ServeOptions, shutdown: CancellationToken) -> Router {
    let mcp = super::mcp::routes_with(
        state.clone(),
        super::mcp::HttpOptions {
            shutdown,
            ..super::mcp::HttpOptions::default()
        },
    );
    // The fallbacks and limits come after the MCP mount so they cover it too (the request
    // timeout bounds only the response head, so a long-lived MCP event stream is not cut).
    http::routes(state.clone())
        .merge(super::page::routes(state))
        .nest("/mcp", mcp)
        .fallback(error::not_found)
        // After every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(options.max_body))
        .layer(middleware::from_fn_with_state(
            options.request_timeout,
            deadline,
        ))
        // Outermost, so every answer (a timeout's too) carries the request's id.
        .layer(middleware::from_fn(trace::request_id))
}

/// Bounds the time to a response head. The engine work of a request that runs out of time
/// goes on in the background and its receipts are still written; the answer says so.
async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(limit).into_response(),
    }
}

/// Binds `addr` (port 0 picks a free port; the listener knows which).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves `state` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (for at most the shutdown deadline) and returns how many connections it had to cut.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<usize, ServeError> {
    let hub = state.hub.clone();
    let sessions = CancellationToken::new();
    tokio::spawn(tick_actions(
        std::sync::Arc::clone(&state.workspace),
        sessions.clone(),
    ));
    let app = app(state, options, sessions.clone());
    let cut = serve_connections(listener, app, options.connections, async move {
        shutdown.await;
        hub.close();
        sessions.cancel();
    })
    .await;
    Ok(cut)
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives as soon as the
/// server says it is listening still shuts it down gracefully. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            // Without a handler there is nothing to wait for: only the other signal can stop us.
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// How often `tai serve` looks for actions in flight that are due a poll or past their
/// deadline.
pub const TICK_EVERY: Duration = Duration::from_secs(1);

/// Under the real clock nothing else moves time for a tenant nobody calls: polls the actions
/// in flight that declare `resolve` as they fall due, until `stop`. Loads every tenant
/// first, so an action a previous server left in flight is polled too.
async fn tick_actions(ws: std::sync::Arc<crate::workspace::Workspace>, stop: CancellationToken) {
    match super::on_blocking_pool(&ws, |ws| ws.load_all()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "loading tenants for the action ticker"),
        Err(e) => tracing::warn!(error = %e, "loading tenants for the action ticker"),
    }
    let mut every = tokio::time::interval(TICK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        match super::on_blocking_pool(&ws, |ws| ws.tick_due()).await {
            Ok(Ok(ticked)) => {
                for tenant in ticked {
                    tracing::info!(%tenant, "polled the action in flight");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "ticking actions in flight"),
            Err(e) => tracing::warn!(error = %e, "ticking actions in flight"),
        }
    }
}
