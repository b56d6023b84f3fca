//! Tool-list change announcements: a tenant's durable receipts in, one notification per
//! `tool_surface_changed` out.
//!
//! The same loop serves both revisions; only the way out differs (the session's peer for
//! 2025-11-25, a `subscriptions/listen` stream's sink for 2026-07-28), and so does what ends
//! it (the session closing, the listen request being cancelled).

use std::future::Future;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::receipts::EventType;

use super::Receipts;

/// Calls `notify` for every tool-surface change in `receipts` until `stop` completes, the
/// hub goes away or `notify` fails (the client is gone).
pub async fn forward_surface_changes<F, Fut, E>(
    mut receipts: Receipts,
    stop: impl Future<Output = ()>,
    mut notify: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    tokio::pin!(stop);
    loop {
        let changed = tokio::select! {
            () = &mut stop => return,
            received = receipts.recv() => match received {
                Ok(r) => r.body.event_type == EventType::ToolSurfaceChanged,
                // Receipts were missed and one of them may have changed the surface: a
                // spurious notification only costs the client one list.
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            },
        };
        if changed && notify().await.is_err() {
            return;
        }
    }
}

/// Completes when the connection owning `alive`'s sender is dropped.
pub async fn until_closed(mut alive: watch::Receiver<()>) {
    while alive.changed().await.is_ok() {}
}
