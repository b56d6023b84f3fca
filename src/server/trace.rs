//! The server's log: a request id for every HTTP request (a field of the span its events are
//! logged in, echoed in the `x-request-id` response header) and one event as it is answered.
//!
//! The library only emits events; which of them are written, and where, is the business of
//! whoever installs a subscriber (the `tai` command does, writing to stderr).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header a request id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client.
const MAX_ID_LEN: usize = 128;

/// Runs the request inside a span carrying its id, method and path, logs its status and
/// duration once the response head is ready, and echoes the id to the client. A client's
/// own well-formed `x-request-id` is kept, so its logs and ours name the request alike.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(client_id)
        .unwrap_or_else(generate);
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let start = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
            "answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The client's request id, if it is one we can log and echo as it is: 1 to 128 letters,
/// digits and `-_.:`.
fn client_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| text.to_owned())
}

/// A fresh id: a per-process prefix (from the start time and pid, so ids of successive
/// servers differ) and a counter, 16 hex digits.
fn generate() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or_default();
        nanos ^ std::process::id().rotate_left(16)
    });
    format!("{prefix:08x}{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_kept_only_when_well_formed() {
        let id = |s: &str| client_id(&HeaderValue::from_str(s).unwrap());
        assert_eq!(id("req-42"), Some("req-42".into()));
        assert_eq!(
            id("0190f5c2-7b1e-7cc4-9d2a-3f1e8a9b0c11"),
            Some("0190f5c2-7b1e-7cc4-9d2a-3f1e8a9b0c11".into())
        );
        assert_eq!(id("a.b_c:d"), Some("a.b_c:d".into()));
        assert_eq!(id(""), None);
        assert_eq!(id("has space"), None);
        assert_eq!(id("quote\"d"), None);
        assert_eq!(
            id(&"x".repeat(MAX_ID_LEN)).map(|s| s.len()),
            Some(MAX_ID_LEN)
        );
        assert_eq!(id(&"x".repeat(MAX_ID_LEN + 1)), None);
    }

    #[test]
    fn generated_ids_differ_and_are_well_formed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert_eq!(
            client_id(&HeaderValue::from_str(&a).unwrap()),
            Some(a.clone())
        );
    }
}
