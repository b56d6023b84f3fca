//! What handlers take from a request before they run: who is calling, which tenant the path
//! names (validated and authorized), and the JSON body; and the one way handlers reach the
//! engine, on tokio's blocking pool.
//!
//! Checks happen in a fixed order — credentials (401), the tenant id's spelling (400), the
//! caller's right to that tenant (403), the tenant's existence (404) — so an unauthenticated
//! client learns nothing about ids, and a tenant token cannot probe which other tenants exist.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ids::TenantId;
use crate::workspace::{Workspace, WorkspaceError};

use super::error::ApiError;
use super::{AppState, Principal};

/// The caller the request's bearer token (or a signed-in browser's session cookie) names.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = state
            .auth
            .authenticate_request(&parts.method, &parts.headers)?;
        Ok(Caller(principal))
    }
}

/// The request's `Idempotency-Key` header, if it has one: a retried call with the same key
/// is answered with the first outcome and runs nothing.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<crate::ids::IdempotencyKey>);

/// The header that carries a call's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        // Two keys for one call: which one a proxy or a retry meant cannot be told.
        if values.next().is_some() {
            return Err(ApiError::new(
                super::ErrorCode::InvalidHeader,
                "`Idempotency-Key` is given more than once; a call has one key",
            ));
        }
        let text = String::from_utf8_lossy(value.as_bytes());
        crate::ids::IdempotencyKey::new(text.as_ref())
            .map(|key| IdempotencyKey(Some(key)))
            .map_err(|e| {
                ApiError::new(
                    super::ErrorCode::InvalidHeader,
                    format!("`Idempotency-Key`: {e}"),
                )
            })
    }
}

/// The admin, or a rejection.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        principal.require_admin()?;
        Ok(Admin)
    }
}

/// The tenant named by the route's only path parameter, which the caller may act for.
/// Whether it exists is checked with the engine work (see [`for_tenant`]).
#[derive(Debug, Clone)]
pub struct TenantScope(pub TenantId);

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        let PathParam(raw) = PathParam::from_request_parts(parts, state).await?;
        // Tenant ids become file names: the spelling rule is what keeps `../x` out.
        let tenant = TenantId::new(raw).map_err(|e| ApiError::invalid_tenant(&e))?;
        principal.may_act_for(&tenant)?;
        Ok(TenantScope(tenant))
    }
}

/// A tenant (as [`TenantScope`]) and a receipt seq: `/v1/tenants/{tenant}/receipts/{seq}/…`.
#[derive(Debug, Clone)]
pub struct TenantSeq(pub TenantId, pub u64);

impl FromRequestParts<AppState> for TenantSeq {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        let Path((raw, seq)) = Path::<(String, u64)>::from_request_parts(parts, state).await?;
        let tenant = TenantId::new(raw).map_err(|e| ApiError::invalid_tenant(&e))?;
        principal.may_act_for(&tenant)?;
        Ok(TenantSeq(tenant, seq))
    }
}

/// The route's only path parameter, decoded; a bad percent-encoding is a JSON 400.
#[derive(Debug, Clone)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(PathParam(value))
    }
}

/// Query parameters; unknown or ill-typed ones are a JSON 400.
#[derive(Debug, Clone)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(QueryParams(value))
    }
}

/// A JSON request body. An empty body reads as `{}`, so endpoints whose fields are all
/// optional can be posted to without one. The content type is not checked: webhook senders
/// and `curl -d` label JSON inconsistently, and the body is parsed as JSON either way.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // `Bytes` enforces the body limit (413).
        let bytes = Bytes::from_request(req, state).await?;
        let text: &[u8] = if bytes.trim_ascii().is_empty() {
            b"{}"
        } else {
            &bytes
        };
        Ok(JsonBody(serde_json::from_slice(text)?))
    }
}

/// [`super::on_blocking_pool`], with a failed task answered as an internal error.
pub async fn with_workspace<T, F>(state: &AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Workspace) -> Result<T, ApiError> + Send + 'static,
{
    super::on_blocking_pool(&state.workspace, work)
        .await
        .map_err(|e| ApiError::internal(&e))?
}

/// Runs `op` for an existing tenant on the blocking pool; a tenant without a ledger is 404.
pub async fn for_tenant<T, F>(state: &AppState, tenant: TenantId, op: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Workspace, &TenantId) -> Result<T, WorkspaceError> + Send + 'static,
{
    with_workspace(state, move |ws| {
        if !ws.exists(&tenant)? {
            return Err(ApiError::unknown_tenant(&tenant));
        }
        Ok(op(ws, &tenant)?)
    })
    .await
}
