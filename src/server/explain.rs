//! `GET /v1/tenants/{tenant}/explain?seq=N`: one receipt's refusal, failure or postponement in
//! words ([`crate::explain`]), read from the tenant's ledger.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::explain::{Explanation, explain};
use crate::ids::TenantId;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{QueryParams, TenantScope, for_tenant};

/// `?seq=` of the explanation route.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExplainQuery {
    /// The receipt to explain.
    seq: u64,
}

/// One receipt explained.
#[derive(Serialize, JsonSchema)]
pub(super) struct Explained {
    tenant_id: TenantId,
    seq: u64,
    /// `null` when the receipt records nothing refused, failed or postponed.
    explanation: Option<Explanation>,
}

/// `GET /v1/tenants/{tenant}/explain?seq=N`.
pub(super) async fn handler(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    QueryParams(q): QueryParams<ExplainQuery>,
) -> Result<Json<Explained>, ApiError> {
    let seq = q.seq;
    let receipt = for_tenant(&s, tenant.clone(), move |ws, t| {
        Ok(ws.ledger().read_from(t, seq, 1)?.into_iter().next())
    })
    .await?
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidQuery,
            format!("tenant `{tenant}` has no receipt {seq}"),
        )
    })?;
    Ok(Json(Explained {
        explanation: explain(s.workspace.catalog(), &receipt),
        tenant_id: tenant,
        seq,
    }))
}
