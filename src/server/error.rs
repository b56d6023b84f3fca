//! The API's one error shape, `{"error": {"code": "snake_case", "message": "..."}}`, and the
//! HTTP status each code maps to.
//!
//! Every way a request can fail ends here — bad credentials, a path or body axum rejects, an
//! engine error, a route that does not exist — so a client parses one shape and branches on a
//! stable code. A refusal the engine *recorded* (a refused entitlement event, a call to a tool
//! the tenant cannot see) also carries its outcome, receipts included: see [`refused`].

use std::borrow::Cow;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::catalog::view::{IdKind, UnknownId};
use crate::governor::{ReasonCode, Unresolvable};
use crate::ids::{InvalidId, TenantId};
use crate::marketplace::{NotificationError, ResourceError};
use crate::receipts::ledger::LedgerError;
use crate::workspace::{ImportError, WorkspaceError};

use super::AuthError;

/// What went wrong, as a client branches on it. The text of each code is part of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body is not JSON.
    InvalidJson,
    /// 400: the body is JSON of the wrong shape (a missing field, a wrong type).
    InvalidBody,
    /// 400: a query parameter is not valid.
    InvalidQuery,
    /// 400: a request header is present but not valid (e.g. `Idempotency-Key`).
    InvalidHeader,
    /// 400: a path segment could not be decoded.
    InvalidPath,
    /// 400: the tenant id in the path breaks the tenant-id spelling rule.
    InvalidTenantId,
    /// 400: an entitlement event without a usable tenant id (one naming a tenant is recorded
    /// in its chain and answered as a refusal instead).
    MalformedEvent,
    /// 400: a marketplace notification not in the marketplace's shape (nothing recorded).
    MalformedNotification,
    /// 422: the marketplace records a notification refers to are not among the server's
    /// `--marketplace-resources` (nothing recorded; the marketplace will deliver it again).
    MissingMarketplaceRecord,
    /// 422: the marketplace records a notification refers to are there but unusable (not in
    /// the shape their API returns, or given twice differently); nothing recorded.
    InvalidMarketplaceRecord,
    /// 422: an IAM policy that cannot be used (an unknown role or group, a condition that
    /// does not parse); nothing recorded.
    InvalidPolicy,
    /// 401: no bearer token, or one the server does not know.
    Unauthenticated,
    /// 403: a tenant token used for another tenant.
    Forbidden,
    /// 403: a tenant token used on an admin-only operation.
    AdminOnly,
    /// 403: a state-changing request signed in by the session cookie, sent from another
    /// origin.
    CrossOrigin,
    /// 404: no such route.
    NotFound,
    /// 404: the tenant has no ledger (no entitlement event was ever posted for it).
    UnknownTenant,
    /// 404: no such pack in the catalog.
    UnknownPack,
    /// 404: no such SKU in the catalog.
    UnknownSku,
    /// 404: the tenant's chain has no signed checkpoint (the server runs without a key).
    NoCheckpoint,
    /// 404: the receipt is not covered by the latest checkpoint (not written yet).
    NotCovered,
    /// 404: the ledger has no workspace manifest yet (no tenant was ever created).
    NoManifest,
    /// 409: the tenant's ledger was deleted; the manifest still lists it.
    TenantDeleted,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 409: an action resolution while nothing is in flight.
    NothingInFlight,
    /// 409: an action resolution naming an action that is not the one in flight.
    UnknownAction,
    /// 409: an action resolution naming an action already resolved.
    ActionAlreadyResolved,
    /// 409: an Andon clear for a signal that is not stopping the tenant.
    NoSuchAndon,
    /// 413: the body is larger than the server accepts.
    BodyTooLarge,
    /// 503: the request took longer than the server's request timeout.
    Timeout,
    /// 503: another process holds the tenant's ledger.
    LedgerBusy,
    /// 500: a failure on the server's side (details are in its log, not the response).
    Internal,
    /// A refusal the engine recorded: 404 for `tool_not_found`, 422 for an entitlement
    /// event the resolver refused. The code is the engine's reason code.
    Refused(ReasonCode),
}

impl ErrorCode {
    /// The code as it appears in responses.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidHeader => "invalid_header",
            ErrorCode::InvalidPath => "invalid_path",
            ErrorCode::InvalidTenantId => "invalid_tenant_id",
            ErrorCode::MalformedEvent => "malformed_event",
            ErrorCode::MalformedNotification => "malformed_notification",
            ErrorCode::MissingMarketplaceRecord => "missing_marketplace_record",
            ErrorCode::InvalidMarketplaceRecord => "invalid_marketplace_record",
            ErrorCode::InvalidPolicy => "invalid_policy",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::AdminOnly => "admin_only",
            ErrorCode::CrossOrigin => "cross_origin",
            ErrorCode::NotFound => "not_found",
            ErrorCode::UnknownTenant => "unknown_tenant",
            ErrorCode::UnknownPack => "unknown_pack",
            ErrorCode::UnknownSku => "unknown_sku",
            ErrorCode::NoCheckpoint => "no_checkpoint",
            ErrorCode::NotCovered => "not_covered",
            ErrorCode::NoManifest => "no_manifest",
            ErrorCode::TenantDeleted => "tenant_deleted",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NothingInFlight => "nothing_in_flight",
            ErrorCode::UnknownAction => "unknown_action",
            ErrorCode::ActionAlreadyResolved => "action_already_resolved",
            ErrorCode::NoSuchAndon => "no_such_andon",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::Timeout => "timeout",
            ErrorCode::LedgerBusy => "ledger_busy",
            ErrorCode::Internal => "internal",
            ErrorCode::Refused(reason) => reason.as_str(),
        }
    }

    /// The HTTP status the code is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson
            | ErrorCode::InvalidBody
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidHeader
            | ErrorCode::InvalidPath
            | ErrorCode::InvalidTenantId
            | ErrorCode::MalformedEvent
            | ErrorCode::MalformedNotification => StatusCode::BAD_REQUEST,
            ErrorCode::MissingMarketplaceRecord
            | ErrorCode::InvalidMarketplaceRecord
            | ErrorCode::InvalidPolicy => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::AdminOnly | ErrorCode::CrossOrigin => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::NotFound
            | ErrorCode::UnknownTenant
            | ErrorCode::UnknownPack
            | ErrorCode::UnknownSku
            | ErrorCode::NoCheckpoint
            | ErrorCode::NotCovered
            | ErrorCode::NoManifest
            | ErrorCode::Refused(ReasonCode::ToolNotFound) => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::NothingInFlight
            | ErrorCode::UnknownAction
            | ErrorCode::ActionAlreadyResolved
            | ErrorCode::NoSuchAndon
            | ErrorCode::TenantDeleted => StatusCode::CONFLICT,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Timeout | ErrorCode::LedgerBusy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// A failed request: a code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// What went wrong.
    pub code: ErrorCode,
    /// What exactly, for people.
    pub message: Cow<'static, str>,
}

/// What went wrong.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ErrorDetail")]
struct Detail<'a> {
    /// Stable, snake_case: what a client branches on.
    code: &'a str,
    /// For people; its wording may change.
    message: &'a str,
}

/// The error shape; a recorded refusal has the refused outcome's fields beside `error`.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Error{T}")]
pub(super) struct Body<'a, T> {
    error: Detail<'a>,
    #[serde(flatten)]
    outcome: T,
}

/// The outcome of a plain error: none, so the body is just `error`.
#[derive(Serialize)]
pub(super) struct NoOutcome {}

impl JsonSchema for NoOutcome {
    // Empty, so the plain error shape is named `Error`.
    fn schema_name() -> Cow<'static, str> {
        "".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object" })
    }
}

impl ApiError {
    /// An error with this code.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The tenant has no ledger.
    pub fn unknown_tenant(tenant: &TenantId) -> ApiError {
        ApiError::new(
            ErrorCode::UnknownTenant,
            format!("no tenant `{tenant}`: a tenant exists once an entitlement event names it"),
        )
    }

    /// The tenant id in the path is not a valid tenant id.
    pub fn invalid_tenant(err: &InvalidId) -> ApiError {
        ApiError::new(ErrorCode::InvalidTenantId, err.to_string())
    }

    /// The request outlived the server's request timeout.
    pub fn timeout(limit: Duration) -> ApiError {
        ApiError::new(
            ErrorCode::Timeout,
            format!(
                "the request did not finish within {}; an operation it started may still \
                 complete, so check the tenant's receipts before retrying",
                humantime::format_duration(limit)
            ),
        )
    }

    /// A failure on the server's side: logged in full, answered without detail (the detail
    /// names files of the state directory).
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal error; the server log has the details",
        )
    }

    /// The error's JSON body with `outcome`'s fields beside it.
    fn body_with<T>(&self, outcome: T) -> Body<'_, T> {
        Body {
            error: Detail {
                code: self.code.as_str(),
                message: &self.message,
            },
            outcome,
        }
    }

    /// The JSON body of a plain error: `{"error": {"code", "message"}}`.
    pub(super) fn body(&self) -> Body<'_, NoOutcome> {
        self.body_with(NoOutcome {})
    }

    fn response_with<T: Serialize>(&self, outcome: T) -> Response {
        let status = self.code.status();
        let mut response = (status, Json(self.body_with(outcome))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.response_with(NoOutcome {})
    }
}

/// A refusal the engine recorded: the error shape with the whole outcome beside it, so the
/// body still has the decision and the receipts that were written.
pub fn refused<T: Serialize>(reason: ReasonCode, message: &str, outcome: &T) -> Response {
    ApiError::new(ErrorCode::Refused(reason), message.to_owned()).response_with(outcome)
}

impl AuthError {
    /// The error code (and so the status) an auth failure is answered with, on every door.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Unauthenticated => ErrorCode::Unauthenticated,
            AuthError::Forbidden(_) => ErrorCode::Forbidden,
            AuthError::AdminOnly => ErrorCode::AdminOnly,
            AuthError::CrossOrigin => ErrorCode::CrossOrigin,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        ApiError::new(err.code(), err.to_string())
    }
}

impl From<WorkspaceError> for ApiError {
    fn from(err: WorkspaceError) -> ApiError {
        match &err {
            WorkspaceError::Malformed(e) => ApiError::new(ErrorCode::MalformedEvent, e.to_string()),
            WorkspaceError::Unresolvable(e) => {
                let code = match e {
                    Unresolvable::NothingInFlight(_) => ErrorCode::NothingInFlight,
                    Unresolvable::UnknownAction { .. } => ErrorCode::UnknownAction,
                    Unresolvable::AlreadyResolved { .. } => ErrorCode::ActionAlreadyResolved,
                };
                ApiError::new(code, e.to_string())
            }
            WorkspaceError::NoSuchAndon(e) => ApiError::new(ErrorCode::NoSuchAndon, e.to_string()),
            WorkspaceError::Ledger(e) => ApiError::from_ledger(e),
            WorkspaceError::Replay(_)
            | WorkspaceError::Io { .. }
            | WorkspaceError::Served { .. }
            | WorkspaceError::Closed => ApiError::internal(&err),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> ApiError {
        match err {
            ImportError::Notification(NotificationError::Malformed(e)) => {
                ApiError::new(ErrorCode::MalformedNotification, e.to_string())
            }
            ImportError::Notification(NotificationError::Resource(e)) => {
                let code = match e {
                    ResourceError::NotFound { .. } => ErrorCode::MissingMarketplaceRecord,
                    ResourceError::Ambiguous { .. } | ResourceError::Malformed { .. } => {
                        ErrorCode::InvalidMarketplaceRecord
                    }
                };
                ApiError::new(code, e.to_string())
            }
            ImportError::Workspace(e) => e.into(),
            ImportError::Encode(_) => ApiError::internal(&err),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(err: LedgerError) -> ApiError {
        ApiError::from_ledger(&err)
    }
}

impl ApiError {
    fn from_ledger(err: &LedgerError) -> ApiError {
        match err {
            LedgerError::Locked { .. } => ApiError::new(
                ErrorCode::LedgerBusy,
                "another process is writing this tenant's ledger; try again later",
            ),
            LedgerError::NoCheckpoint { .. } => ApiError::new(
                ErrorCode::NoCheckpoint,
                "this tenant's chain has no signed checkpoint: the server signs only with a key \
                 (--signing-key or TAI_SIGNING_KEY)",
            ),
            LedgerError::NotCovered { .. } => ApiError::new(ErrorCode::NotCovered, err.to_string()),
            LedgerError::Deleted { tenant, .. } => ApiError::new(
                ErrorCode::TenantDeleted,
                format!("the ledger of tenant `{tenant}` was deleted; it is not started again"),
            ),
            _ => ApiError::internal(err),
        }
    }
}

impl From<UnknownId> for ApiError {
    fn from(err: UnknownId) -> ApiError {
        let code = match err.kind {
            IdKind::Pack => ErrorCode::UnknownPack,
            IdKind::Sku => ErrorCode::UnknownSku,
        };
        ApiError::new(code, err.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::BodyTooLarge
        } else {
            ErrorCode::InvalidBody
        };
        ApiError::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::new(ErrorCode::InvalidPath, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(err: serde_json::Error) -> ApiError {
        let code = match err.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ErrorCode::InvalidJson
            }
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                ErrorCode::InvalidBody
            }
        };
        ApiError::new(code, err.to_string())
    }
}

/// The answer for a route that does not exist.
pub async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such route; see the API in the README",
    )
}

/// The answer for a method the route does not have (axum adds the `Allow` header).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code but the recorded refusals.
    const FIXED: [ErrorCode; 33] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidHeader,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidTenantId,
        ErrorCode::MalformedEvent,
        ErrorCode::MalformedNotification,
        ErrorCode::MissingMarketplaceRecord,
        ErrorCode::InvalidMarketplaceRecord,
        ErrorCode::InvalidPolicy,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::AdminOnly,
        ErrorCode::CrossOrigin,
        ErrorCode::NotFound,
        ErrorCode::UnknownTenant,
        ErrorCode::UnknownPack,
        ErrorCode::UnknownSku,
        ErrorCode::NoCheckpoint,
        ErrorCode::NotCovered,
        ErrorCode::NoManifest,
        ErrorCode::TenantDeleted,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NothingInFlight,
        ErrorCode::UnknownAction,
        ErrorCode::ActionAlreadyResolved,
        ErrorCode::NoSuchAndon,
        ErrorCode::BodyTooLarge,
        ErrorCode::Timeout,
        ErrorCode::LedgerBusy,
        ErrorCode::Internal,
        ErrorCode::Refused(ReasonCode::ToolNotFound),
    ];

    /// The README's table of statuses names every code on the row of its status.
    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let readme = include_str!("../../README.md");
        for c in FIXED {
            let row = format!("| {} |", c.status().as_u16());
            let code = format!("`{}`", c.as_str());
            assert!(
                readme
                    .lines()
                    .any(|l| l.starts_with(&row) && l.contains(&code)),
                "README: no `{row}` row names {code}"
            );
        }
    }

    #[test]
    fn every_fixed_code_is_snake_case_and_maps_to_an_error_status() {
        let codes = FIXED;
        for c in codes {
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{}",
                c.as_str()
            );
            assert!(
                c.status().is_client_error() || c.status().is_server_error(),
                "{}",
                c.as_str()
            );
        }
    }

    #[test]
    fn recorded_refusals_are_404_for_unknown_tools_and_422_for_events() {
        assert_eq!(
            ErrorCode::Refused(ReasonCode::ToolNotFound).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ErrorCode::Refused(ReasonCode::UnknownSku).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ErrorCode::Refused(ReasonCode::UnknownSku).as_str(),
            "unknown_sku"
        );
    }

    #[test]
    fn json_errors_split_syntax_from_shape() {
        let syntax = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(ApiError::from(syntax).code, ErrorCode::InvalidJson);
        let shape = serde_json::from_str::<u8>("\"x\"").unwrap_err();
        assert_eq!(ApiError::from(shape).code, ErrorCode::InvalidBody);
    }
}
