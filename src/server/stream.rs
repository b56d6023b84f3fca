//! `GET /v1/tenants/{tenant}/receipts/stream`: a tenant's receipts as server-sent events,
//! first the stored ones from `from_seq`, then each new one once it is durable.
//!
//! No gaps, no duplicates: the stream subscribes to the [`Hub`](super::Hub) *before* it
//! reads the ledger, so a receipt appended in between is in the read, on the channel, or
//! both; it sends strictly increasing seqs and drops what it already sent. When the channel
//! skips ahead (a listener that fell behind lags and loses messages) the ledger still has
//! everything, so the stream re-reads from the next seq it owes. Each event's `id` is the
//! receipt's seq, so a reconnecting client's `Last-Event-ID` resumes right after it. Catching
//! up reads the ledger a page at a time (through its seq index), so memory stays bounded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use aide::UseApi;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::ids::TenantId;
use crate::receipts::Receipt;

use super::AppState;
use super::error::ApiError;
use super::extract::{QueryParams, TenantScope, for_tenant, with_workspace};
use super::openapi::EventStream;

/// `?from_seq=`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// The first seq to send (default 0); `Last-Event-ID` takes precedence.
    from_seq: Option<u64>,
}

/// Receipts read from the ledger at a time while catching up: a stream from seq 0 of a long
/// chain holds one page, not the chain.
const CATCH_UP_PAGE: usize = 256;

/// How often an idle stream sends a comment, so proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The handler.
pub async fn receipts(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    QueryParams(q): QueryParams<StreamQuery>,
    headers: HeaderMap,
) -> Result<UseApi<Sse<impl Stream<Item = Result<Event, axum::Error>>>, EventStream>, ApiError> {
    // A browser reconnecting repeats the original URL; the last id it saw wins.
    let from = last_event_id(&headers)
        .map(|seq| seq.saturating_add(1))
        .or(q.from_seq)
        .unwrap_or(0);
    let tenant = for_tenant(&s, tenant, |_, t| Ok(t.clone())).await?;
    // Signed in by the session cookie rather than a token: the stream lasts only as long as
    // the session (sign-out or expiry ends it).
    let session =
        (!headers.contains_key(axum::http::header::AUTHORIZATION)).then(|| headers.clone());
    let feed = Feed {
        session,
        live: s.hub.subscribe(&tenant),
        state: s,
        tenant,
        next: from,
        pending: VecDeque::new(),
        must_read: true,
        done: false,
    };
    let events = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next_event().await?;
        Some((event, feed))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into())
}

fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// One client's position in a tenant's chain.
struct Feed {
    state: AppState,
    /// The request's headers when its session cookie signed it in: checked before each
    /// receipt is sent.
    session: Option<HeaderMap>,
    tenant: TenantId,
    live: broadcast::Receiver<Arc<Receipt>>,
    /// The seq the client gets next.
    next: u64,
    /// Read from the ledger, not yet sent.
    pending: VecDeque<Arc<Receipt>>,
    /// The ledger holds receipts the channel will not deliver.
    must_read: bool,
    /// An error was sent; the stream ends.
    done: bool,
}

impl Feed {
    async fn next_event(&mut self) -> Option<Result<Event, axum::Error>> {
        if self.done {
            return None;
        }
        match self.next_receipt().await {
            Ok(Some(_)) if !self.signed_in() => None,
            Ok(Some(r)) => Some(receipt_event(&r)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(error_event(&e))
            }
        }
    }

    /// Whether the client is still signed in: always with a token, and with a session
    /// cookie while its session is open.
    fn signed_in(&self) -> bool {
        self.session.as_ref().is_none_or(|headers| {
            self.state
                .auth
                .browser()
                .is_some_and(|sessions| sessions.principal(headers).is_some())
        })
    }

    /// The receipt with seq `self.next`, waiting for it when needed; `None` once the hub
    /// closes (the server is shutting down).
    async fn next_receipt(&mut self) -> Result<Option<Arc<Receipt>>, ApiError> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                if r.seq >= self.next {
                    self.next = r.seq + 1;
                    return Ok(Some(r));
                }
                continue;
            }
            if self.must_read {
                // A short page means the ledger has nothing more the channel will not bring.
                self.must_read = self.read_ledger().await? == CATCH_UP_PAGE;
                continue;
            }
            match self.live.recv().await {
                Ok(r) if r.seq < self.next => {}
                Ok(r) if r.seq == self.next => {
                    self.next += 1;
                    return Ok(Some(r));
                }
                // Ahead of the next seq, or messages lost to lag: the ledger has them all.
                Ok(_) | Err(RecvError::Lagged(_)) => self.must_read = true,
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// Reads the next page of stored receipts; returns how many it read.
    async fn read_ledger(&mut self) -> Result<usize, ApiError> {
        let tenant = self.tenant.clone();
        let from = self.next;
        let receipts = with_workspace(&self.state, move |ws| {
            Ok(ws.ledger().read_from(&tenant, from, CATCH_UP_PAGE)?)
        })
        .await?;
        let read = receipts.len();
        self.pending.extend(receipts.into_iter().map(Arc::new));
        Ok(read)
    }
}

fn receipt_event(r: &Receipt) -> Result<Event, axum::Error> {
    Event::default()
        .event("receipt")
        .id(r.seq.to_string())
        .json_data(r)
}

fn error_event(e: &ApiError) -> Result<Event, axum::Error> {
    Event::default().event("error").json_data(e.body())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{builtin, load};
    use crate::clock::{SimClock, Timestamp};
    use crate::governor::{IdSource, Signal};
    use crate::receipts::MemoryLedger;
    use crate::server::{Auth, Hub};
    use crate::workspace::Workspace;

    fn state() -> (AppState, TenantId) {
        let hub = Arc::new(Hub::new());
        let ws = Workspace::with_ledger(
            Arc::new(load::build(&builtin::sources()).unwrap()),
            Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
            IdSource::seeded(7),
            Arc::new(MemoryLedger::new()),
        )
        .with_observer(hub.clone());
        let state = AppState::new(Arc::new(ws), hub, Auth::new("admin", []));
        let acme = TenantId::new("acme").unwrap();
        state
            .workspace
            .apply_event(&json!({
                "event_type": "entitlement.activated",
                "tenant_id": "acme",
                "sku_id": "rollback-guard-base",
            }))
            .unwrap();
        (state, acme)
    }

    fn feed(state: &AppState, tenant: &TenantId, from: u64) -> Feed {
        Feed {
            session: None,
            live: state.hub.subscribe(tenant),
            state: state.clone(),
            tenant: tenant.clone(),
            next: from,
            pending: VecDeque::new(),
            must_read: true,
            done: false,
        }
    }

    fn signal(state: &AppState, tenant: &TenantId, n: usize) {
        for _ in 0..n {
            state.workspace.signal(tenant, &Signal::default()).unwrap();
        }
    }

    async fn take(feed: &mut Feed, n: u64) -> Vec<u64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            seqs.push(feed.next_receipt().await.unwrap().unwrap().seq);
        }
        seqs
    }

    #[tokio::test]
    async fn a_lagging_listener_gets_every_receipt_once_in_order() {
        let (state, acme) = state();
        let mut feed = feed(&state, &acme, 1);
        // Far more than the channel holds arrive before the listener reads anything: the
        // channel lags, and receipts sit both in the ledger and on the channel.
        signal(&state, &acme, 3000);
        let head = state.workspace.view(&acme).unwrap().receipts;
        assert!(head > 3000);
        assert_eq!(
            take(&mut feed, head - 1).await,
            (1..head).collect::<Vec<_>>()
        );
        // Live ones continue the sequence.
        signal(&state, &acme, 2);
        assert_eq!(take(&mut feed, 2).await, vec![head, head + 1]);
    }

    #[tokio::test]
    async fn closing_the_hub_ends_the_stream() {
        let (state, acme) = state();
        let mut feed = feed(&state, &acme, 0);
        let head = state.workspace.view(&acme).unwrap().receipts;
        take(&mut feed, head).await;
        state.hub.close();
        assert!(feed.next_receipt().await.unwrap().is_none());
        let mut late = self::feed(&state, &acme, head);
        assert!(late.next_receipt().await.unwrap().is_none());
    }
}
