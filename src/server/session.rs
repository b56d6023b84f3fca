//! Browser sessions: a one-time login link sets a session cookie that carries the admin
//! token's rights, because a browser's `EventSource` cannot send an `Authorization` header.
//!
//! - A login code is 256 random bits, used once, and expires after [`LOGIN_TTL`].
//! - The cookie is `HttpOnly` (page scripts cannot read it), `SameSite=Strict` (no other
//!   site's page makes the browser send it) and `Path=/`; its name carries the server's port,
//!   since browsers share cookies between the ports of one host.
//! - A state-changing request authenticated by the cookie must also prove it comes from this
//!   server's own page ([`same_origin`]): a matching `Origin` header, or without one the
//!   `X-Tai-Csrf` header, which another origin cannot send without a CORS preflight this
//!   server never grants.
//!
//! Codes and sessions are kept as SHA-256 digests, in memory: a restart signs every browser
//! out, and nothing secret is ever written to the state directory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::{AuthError, Principal};

/// How long a login link stays valid.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a browser stays signed in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// The header a same-origin script sends instead of (or with) `Origin`.
pub const CSRF_HEADER: &str = "x-tai-csrf";

type Digest32 = [u8; 32];

fn digest(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

/// No randomness from the operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot generate a random token: {0}")]
pub struct RandomError(getrandom::Error);

/// 256 random bits, hex: a token, a login code or a session id.
pub fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(hex::encode(bytes))
}

/// Why a login link did not sign the browser in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Never issued, or already used.
    #[error("this login link is not valid: it was already used, or never issued by this server")]
    Unknown,
    /// Issued, but too long ago.
    #[error("this login link has expired")]
    Expired,
    /// The session id could not be generated.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Login codes and open sessions of one server.
#[derive(Debug)]
pub struct Sessions {
    cookie: String,
    store: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    /// Unused login codes and when each expires.
    codes: HashMap<Digest32, Instant>,
    /// Open sessions and when each expires.
    sessions: HashMap<Digest32, Instant>,
}

impl Store {
    fn purge(&mut self, now: Instant) {
        self.codes.retain(|_, until| *until > now);
        self.sessions.retain(|_, until| *until > now);
    }
}

impl Sessions {
    /// Sessions for a server listening on `port`.
    pub fn new(port: u16) -> Sessions {
        Sessions {
            cookie: format!("tai_session_{port}"),
            store: Mutex::new(Store::default()),
        }
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new login code, valid once for [`LOGIN_TTL`].
    pub fn issue_code(&self) -> Result<String, RandomError> {
        self.remember(LOGIN_TTL, |store| &mut store.codes)
    }

    /// A new random secret, kept (as its digest) in the map `pick` chooses until `ttl` ends.
    fn remember(
        &self,
        ttl: Duration,
        pick: fn(&mut Store) -> &mut HashMap<Digest32, Instant>,
    ) -> Result<String, RandomError> {
        let secret = random_token()?;
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        pick(&mut store).insert(digest(&secret), now + ttl);
        Ok(secret)
    }

    /// Uses up `code` and opens a session: the session id for the cookie.
    pub fn redeem(&self, code: &str) -> Result<String, LoginError> {
        let now = Instant::now();
        let until = self.store().codes.remove(&digest(code));
        match until {
            None => Err(LoginError::Unknown),
            Some(until) if until <= now => Err(LoginError::Expired),
            Some(_) => Ok(self.open()?),
        }
    }

    /// Opens a session: the session id for the cookie.
    pub fn open(&self) -> Result<String, RandomError> {
        self.remember(SESSION_TTL, |store| &mut store.sessions)
    }

    /// The session id the request's cookie carries, if it names an open session.
    fn session(&self, headers: &HeaderMap) -> Option<Digest32> {
        let now = Instant::now();
        let store = self.store();
        cookie_values(headers, &self.cookie)
            .map(digest)
            .find(|d| store.sessions.get(d).is_some_and(|until| *until > now))
    }

    /// Who the request's session cookie signs in: the admin, or nobody.
    pub fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        self.session(headers).map(|_| Principal::Admin)
    }

    /// Closes the request's session, if it has one.
    pub fn close(&self, headers: &HeaderMap) {
        if let Some(d) = self.session(headers) {
            self.store().sessions.remove(&d);
        }
    }

    /// The `Set-Cookie` value that carries session `id`.
    pub fn set_cookie(&self, id: &str) -> String {
        format!(
            "{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
            self.cookie,
            SESSION_TTL.as_secs()
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        format!(
            "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            self.cookie
        )
    }
}

/// Every value of cookie `name` in the request's `Cookie` headers.
fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v.trim())
        })
}

/// Whether a request comes from a page this server served: its `Origin` names the host the
/// request was sent to, or it has no `Origin` but carries [`CSRF_HEADER`].
pub fn same_origin(headers: &HeaderMap) -> Result<(), AuthError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.trim();
            let matches = ["http://", "https://"]
                .iter()
                .filter_map(|scheme| origin.strip_prefix(scheme))
                .any(|rest| rest.eq_ignore_ascii_case(host.trim()));
            if matches {
                Ok(())
            } else {
                Err(AuthError::CrossOrigin)
            }
        }
        (Some(_), None) => Err(AuthError::CrossOrigin),
        (None, _) if headers.contains_key(CSRF_HEADER) => Ok(()),
        (None, _) => Err(AuthError::CrossOrigin),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_login_code_works_once() {
        let s = Sessions::new(7878);
        let code = s.issue_code().unwrap();
        let id = s.redeem(&code).unwrap();
        assert_eq!(s.redeem(&code), Err(LoginError::Unknown));
        assert_eq!(s.redeem("nope"), Err(LoginError::Unknown));
        let cookie = format!("other=1; tai_session_7878={id}");
        let h = headers(&[("cookie", &cookie)]);
        assert_eq!(s.principal(&h), Some(Principal::Admin));
        s.close(&h);
        assert_eq!(s.principal(&h), None);
    }

    #[test]
    fn an_expired_code_is_refused() {
        let s = Sessions::new(1);
        let code = s.issue_code().unwrap();
        s.store().codes.insert(digest(&code), Instant::now());
        assert_eq!(s.redeem(&code), Err(LoginError::Expired));
    }

    #[test]
    fn the_cookie_is_named_for_the_port_and_locked_down() {
        let s = Sessions::new(9000);
        let set = s.set_cookie("abc");
        assert!(set.starts_with("tai_session_9000=abc;"), "{set}");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(flag), "{set}");
        }
        // Another port's cookie is not ours.
        let other = Sessions::new(9001);
        let id = other.open().unwrap();
        let h = headers(&[("cookie", &format!("tai_session_9001={id}"))]);
        assert_eq!(s.principal(&h), None);
        assert_eq!(other.principal(&h), Some(Principal::Admin));
    }

    #[test]
    fn same_origin_needs_a_matching_origin_or_the_csrf_header() {
        let host = ("host", "127.0.0.1:7878");
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:7878")])).is_ok());
        assert!(same_origin(&headers(&[host, ("origin", "http://evil.example")])).is_err());
        assert!(same_origin(&headers(&[host, ("origin", "null")])).is_err());
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:7879")])).is_err());
        assert!(same_origin(&headers(&[host])).is_err());
        assert!(same_origin(&headers(&[host, (CSRF_HEADER, "1")])).is_ok());
        // A header cannot excuse a foreign origin.
        assert!(
            same_origin(&headers(&[
                host,
                ("origin", "http://evil.example"),
                (CSRF_HEADER, "1")
            ]))
            .is_err()
        );
    }
}
