//! Who is asking: a bearer token names either the admin (every tenant, entitlement events)
//! or exactly one tenant (its own state, tools, calls and receipts, nothing else).
//!
//! Tokens are compared by their SHA-256 digests, so the time a comparison takes says nothing
//! about how much of a guessed token was right.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::ids::TenantId;

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
        }
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
}
