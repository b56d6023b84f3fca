//! Who is asking: a bearer token names either the admin (every tenant, entitlement events)
//! or exactly one tenant (its own state, tools, calls and receipts, nothing else).
//!
//! Tokens are compared by their SHA-256 digests, so the time a comparison takes says nothing
//! about how much of a guessed token was right. A browser signed in through a login link
//! ([`Sessions`]) acts as the admin.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};

use sha2::{Digest, Sha256};

use crate::ids::TenantId;

use super::session::{self, Sessions};

/// The caller a request's credentials identify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: any tenant, and the marketplace webhook.
    Admin,
    /// One tenant, and only that tenant.
    Tenant(TenantId),
}

/// Why a request may not proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials that match no token (HTTP 401).
    #[error("missing or unknown bearer token")]
    Unauthenticated,
    /// Valid credentials for something else (HTTP 403).
    #[error("this token may not act for tenant `{0}`")]
    Forbidden(TenantId),
    /// Valid tenant credentials on an admin-only operation (HTTP 403).
    #[error("this operation needs the admin token")]
    AdminOnly,
    /// A state-changing request with the session cookie that did not come from this
    /// server's page (HTTP 403).
    #[error(
        "a request signed in by the session cookie must come from this server's own page \
         (same Origin, or the X-Tai-Csrf header)"
    )]
    CrossOrigin,
}

type Digest32 = [u8; 32];

fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

/// The server's tokens.
#[derive(Clone)]
pub struct Auth {
    admin: Digest32,
    tenants: HashMap<Digest32, TenantId>,
    /// Browser sessions, when browser login is on.
    browser: Option<Arc<Sessions>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print token digests.
        f.debug_struct("Auth")
            .field("tenants", &self.tenants.len())
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// An admin token and per-tenant tokens.
    pub fn new<'a>(
        admin_token: &str,
        tenant_tokens: impl IntoIterator<Item = (TenantId, &'a str)>,
    ) -> Auth {
        Auth {
            admin: digest(admin_token),
            tenants: tenant_tokens
                .into_iter()
                .map(|(tenant, token)| (digest(token), tenant))
                .collect(),
            browser: None,
        }
    }

    /// These tokens, and browsers signed in through `sessions` acting as the admin.
    #[must_use]
    pub fn with_browser_login(mut self, sessions: Sessions) -> Auth {
        self.browser = Some(Arc::new(sessions));
        self
    }

    /// The browser sessions, when browser login is on.
    pub fn browser(&self) -> Option<&Sessions> {
        self.browser.as_deref()
    }

    /// The principal of a JSON API request: its bearer token, or else its session cookie.
    /// A state-changing request signed in by the cookie must come from this server's page.
    pub fn authenticate_request(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Principal, AuthError> {
        if headers.contains_key(axum::http::header::AUTHORIZATION) {
            return self.authenticate_headers(headers);
        }
        let principal = self
            .browser()
            .and_then(|b| b.principal(headers))
            .ok_or(AuthError::Unauthenticated)?;
        if !method.is_safe() {
            session::same_origin(headers)?;
        }
        Ok(principal)
    }

    /// The principal a bearer token names.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, AuthError> {
        let d = digest(bearer.ok_or(AuthError::Unauthenticated)?);
        if d == self.admin {
            return Ok(Principal::Admin);
        }
        self.tenants
            .get(&d)
            .cloned()
            .map(Principal::Tenant)
            .ok_or(AuthError::Unauthenticated)
    }

    /// The principal from an `Authorization: Bearer …` header value.
    /// [`Auth::authenticate_header`] on a request's `Authorization` header. A header that is
    /// not visible ASCII cannot hold a token we issued.
    pub fn authenticate_headers(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Principal, AuthError> {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.authenticate_header(header)
    }

    pub fn authenticate_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let bearer = header.and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        self.authenticate(bearer)
    }
}

impl Principal {
    /// Whether this principal may act for `tenant`.
    pub fn may_act_for(&self, tenant: &TenantId) -> Result<(), AuthError> {
        match self {
            Principal::Admin => Ok(()),
            Principal::Tenant(own) if own == tenant => Ok(()),
            Principal::Tenant(_) => Err(AuthError::Forbidden(tenant.clone())),
        }
    }

    /// Whether this principal is the admin.
    pub fn require_admin(&self) -> Result<(), AuthError> {
        match self {
            Principal::Admin => Ok(()),
            Principal::Tenant(_) => Err(AuthError::AdminOnly),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    fn auth() -> Auth {
        Auth::new(
            "root-secret",
            [(t("acme"), "acme-secret"), (t("globex"), "globex-secret")],
        )
    }

    #[test]
    fn tokens_name_their_principal() {
        let a = auth();
        assert_eq!(a.authenticate(Some("root-secret")), Ok(Principal::Admin));
        assert_eq!(
            a.authenticate(Some("acme-secret")),
            Ok(Principal::Tenant(t("acme")))
        );
        assert_eq!(
            a.authenticate(Some("nope")),
            Err(AuthError::Unauthenticated)
        );
        assert_eq!(a.authenticate(None), Err(AuthError::Unauthenticated));
    }

    #[test]
    fn header_needs_the_bearer_scheme() {
        let a = auth();
        assert_eq!(
            a.authenticate_header(Some("Bearer acme-secret")),
            Ok(Principal::Tenant(t("acme")))
        );
        assert_eq!(
            a.authenticate_header(Some("bearer  root-secret")),
            Ok(Principal::Admin)
        );
        assert_eq!(
            a.authenticate_header(Some("Basic acme-secret")),
            Err(AuthError::Unauthenticated)
        );
        assert_eq!(
            a.authenticate_header(Some("acme-secret")),
            Err(AuthError::Unauthenticated)
        );
    }

    #[test]
    fn a_tenant_reaches_only_itself() {
        let p = Principal::Tenant(t("acme"));
        assert!(p.may_act_for(&t("acme")).is_ok());
        assert_eq!(
            p.may_act_for(&t("globex")),
            Err(AuthError::Forbidden(t("globex")))
        );
        assert_eq!(p.require_admin(), Err(AuthError::AdminOnly));
        assert!(Principal::Admin.may_act_for(&t("globex")).is_ok());
    }

    #[test]
    fn a_session_cookie_acts_as_the_admin_and_writes_only_from_its_own_origin() {
        let sessions = Sessions::new(7878);
        let id = sessions.open().unwrap();
        let a = auth().with_browser_login(sessions);
        let mut h = HeaderMap::new();
        h.insert("cookie", format!("tai_session_7878={id}").parse().unwrap());
        h.insert("host", "127.0.0.1:7878".parse().unwrap());
        assert_eq!(
            a.authenticate_request(&Method::GET, &h),
            Ok(Principal::Admin)
        );
        assert_eq!(
            a.authenticate_request(&Method::POST, &h),
            Err(AuthError::CrossOrigin)
        );
        h.insert("origin", "http://127.0.0.1:7878".parse().unwrap());
        assert_eq!(
            a.authenticate_request(&Method::POST, &h),
            Ok(Principal::Admin)
        );
        // A bearer header is judged on its own, cookie or not.
        h.insert("authorization", "Bearer acme-secret".parse().unwrap());
        assert_eq!(
            a.authenticate_request(&Method::POST, &h),
            Ok(Principal::Tenant(t("acme")))
        );
        // Without browser login the cookie means nothing.
        h.remove("authorization");
        assert_eq!(
            auth().authenticate_request(&Method::GET, &h),
            Err(AuthError::Unauthenticated)
        );
    }
}
