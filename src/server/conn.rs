//! Connections of `tai serve`: accepted up to a limit, each closed when its client stalls
//! (request headers not finished in time, or idle between requests too long), and all of
//! them given a bounded time to finish at shutdown.
//!
//! A connection is watched through its bytes: the socket wrapper notes when it last read or
//! wrote and when a request head began arriving; the service wrapper notes when a request is
//! being answered (until its response body ends, so a long event stream is not idle). A
//! watchdog per connection closes it when its deadline passes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long connections may take, and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Longest a client may take to send a request's headers (from its first byte, or from
    /// connecting).
    pub header_timeout: Duration,
    /// Longest a connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// Most connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Longest shutdown waits for open connections before closing them.
    pub shutdown_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// How often a connection's watchdog looks at it again (its deadlines are this precise).
const RECHECK: Duration = Duration::from_millis(200);

/// What one connection has been doing, in milliseconds since it was accepted.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// The last byte read or written.
    last: AtomicU64,
    /// When the head of the request now arriving began (plus one; 0: none arriving).
    head_since: AtomicU64,
    /// Requests being answered (until their response bodies end).
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        // A connection that sends nothing is a request head that never finishes.
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(1),
            busy: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_since
                    .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// Resolves when the connection has stalled past its deadline. The deadline moves as
    /// the connection's state does, so it is looked at again at least every [`RECHECK`].
    async fn stalled(&self, limits: ConnLimits) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        loop {
            let now = self.now();
            let deadline = if self.busy.load(Ordering::Acquire) > 0 {
                now.saturating_add(ms(RECHECK))
            } else {
                match self.head_since.load(Ordering::Acquire) {
                    0 => self
                        .last
                        .load(Ordering::Relaxed)
                        .saturating_add(ms(limits.idle_timeout)),
                    since => (since - 1).saturating_add(ms(limits.header_timeout)),
                }
            };
            if now >= deadline && self.busy.load(Ordering::Acquire) == 0 {
                return;
            }
            let wait = Duration::from_millis(deadline.saturating_sub(now).max(10));
            tokio::time::sleep(wait.min(RECHECK)).await;
        }
    }
}

/// A request being answered; dropped when its response body ends.
struct Busy(Arc<Activity>);

impl Busy {
    fn enter(activity: &Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(0, Ordering::Release);
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last.store(self.0.now(), Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, noting its traffic.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` resolves;
/// then stops accepting, lets open connections finish their requests for up to
/// `limits.shutdown_timeout`, and closes whatever is left. How many were cut is returned.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> usize {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let draining = CancellationToken::new();
    let mut open = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = open.join_next(), if !open.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Over the limit: closed at once, rather than queued behind stalled ones.
                    if let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
                        open.spawn(connection(stream, app.clone(), limits, draining.clone(), slot));
                    }
                }
                // Out of descriptors and the like: breathe, then go on accepting.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    draining.cancel();
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while open.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        0
    } else {
        let cut = open.len();
        open.abort_all();
        cut
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    limits: ConnLimits,
    draining: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = Busy::enter(&requests);
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(Body::new)).await;
            // The request stays busy until its body is done (an event stream included).
            response.map(|r| {
                r.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &busy;
                        frame
                    }))
                })
            })
        }
    });
    // No hyper timer: its own header timeout would also cut idle connections short.
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = activity.stalled(limits) => return,
        () = draining.cancelled() => {}
    }
    // Shutting down: an idle connection closes now, a busy one after its response.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        () = activity.stalled(limits) => {}
    }
}
