//! `GET /v1/tenants/{tenant}/andon` and `POST /v1/tenants/{tenant}/andon/clear`: the critical
//! Andons stopping a tenant's packs, and clearing one, as `tai state` and `tai andon clear`
//! do on the command line.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::governor::Acknowledgement;
use crate::governor::AndonStop;
use crate::iam::Principal;
use crate::ids::{SignalName, TenantId};
use crate::receipts::Receipt;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, TenantScope, for_tenant};
use super::openapi::{errors, ok};

/// The critical Andons stopping a tenant's packs.
#[derive(Serialize, JsonSchema)]
pub(super) struct AndonView {
    tenant_id: TenantId,
    /// Each Andon nobody has cleared: the packs it stops, and when it was raised.
    andon: Vec<AndonStop>,
}

/// `POST /v1/tenants/{tenant}/andon/clear`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ClearRequest {
    /// The Andon signal to clear.
    signal: SignalName,
    /// Who acknowledged it (`user:…`, `serviceAccount:…`), for the receipt.
    principal: Option<Principal>,
    /// What they found or did, for the receipt.
    note: Option<String>,
}

/// What is still stopped after a clear, and the receipts the clear wrote.
#[derive(Serialize, JsonSchema)]
pub(super) struct AndonCleared {
    tenant_id: TenantId,
    andon: Vec<AndonStop>,
    receipts: Vec<Receipt>,
}

/// Adds the Andon routes.
pub(super) fn declare(router: ApiRouter<AppState>) -> ApiRouter<AppState> {
    router
        .api_route(
            "/v1/tenants/{tenant}/andon",
            get_with(show, |op| {
                op.id("show_andon")
                    .summary("The critical Andons stopping the tenant's packs")
                    .with(ok::<AndonView>)
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/andon/clear",
            post_with(clear, |op| {
                op.id("clear_andon")
                    .summary(
                        "Acknowledge a critical Andon: the packs it stopped run again (recorded \
                         as an `andon_cleared` receipt)",
                    )
                    .with(ok::<AndonCleared>)
                    .with(errors(&[ErrorCode::NoSuchAndon]))
            }),
        )
}

async fn show(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<AndonView>, ApiError> {
    let andon = for_tenant(&s, tenant.clone(), |ws, t| Ok(ws.view(t)?.andon)).await?;
    Ok(Json(AndonView {
        tenant_id: tenant,
        andon,
    }))
}

async fn clear(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    JsonBody(req): JsonBody<ClearRequest>,
) -> Result<Json<AndonCleared>, ApiError> {
    let (receipts, andon) = for_tenant(&s, tenant.clone(), move |ws, t| {
        let ack = Acknowledgement {
            principal: req.principal,
            note: req.note,
        };
        let receipts = ws.clear_andon(t, &req.signal, &ack)?;
        Ok((receipts, ws.view(t)?.andon))
    })
    .await?;
    Ok(Json(AndonCleared {
        tenant_id: tenant,
        andon,
        receipts,
    }))
}
