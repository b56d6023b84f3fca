//! `GET`/`PUT`/`DELETE /v1/tenants/{tenant}/iam`: a tenant's IAM policy, read and set over
//! HTTP as `tai iam show|set|clear` do on the command line.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;

use crate::governor::IamSetting;
use crate::iam::IamPolicy;
use crate::ids::TenantId;
use crate::receipts::Receipt;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{JsonBody, TenantScope, for_tenant};
use super::openapi::{body, errors, ok};

/// A tenant's IAM policy.
#[derive(Serialize, JsonSchema)]
pub(super) struct IamView {
    tenant_id: TenantId,
    /// The policy in force and the receipt that set it; `null` when the tenant has none
    /// (whoever calls holds the roles the plan grants).
    iam: Option<IamSetting>,
}

/// The policy after a change, and the receipts the change wrote.
#[derive(Serialize, JsonSchema)]
pub(super) struct IamChanged {
    tenant_id: TenantId,
    iam: Option<IamSetting>,
    receipts: Vec<Receipt>,
}

/// Adds the IAM routes.
pub(super) fn declare(router: ApiRouter<AppState>) -> ApiRouter<AppState> {
    router.api_route(
        "/v1/tenants/{tenant}/iam",
        get_with(show, |op| {
            op.id("show_iam")
                .summary("The tenant's IAM policy, as `tai iam show --format json`")
                .with(ok::<IamView>)
        })
        .put_with(set, |op| {
            op.id("set_iam")
                .summary(
                    "Set the tenant's IAM policy: bindings of roles to members, each with an \
                     optional CEL condition (recorded as an `iam_policy_set` receipt)",
                )
                .with(body::<IamPolicy>)
                .with(ok::<IamChanged>)
                .with(errors(&[ErrorCode::InvalidPolicy]))
        })
        .delete_with(clear, |op| {
            op.id("clear_iam")
                .summary("Remove the tenant's IAM policy: callers hold the plan's roles again")
                .with(ok::<IamChanged>)
        }),
    )
}

async fn show(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<IamView>, ApiError> {
    let iam = for_tenant(&s, tenant.clone(), |ws, t| {
        Ok(ws.tenant(t)?.iam_policy().cloned())
    })
    .await?;
    Ok(Json(IamView {
        tenant_id: tenant,
        iam,
    }))
}

async fn set(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    JsonBody(policy): JsonBody<IamPolicy>,
) -> Result<Json<IamChanged>, ApiError> {
    let known = s.workspace.catalog().grantable_roles();
    policy
        .check(Some(&known))
        .map_err(|e| ApiError::new(ErrorCode::InvalidPolicy, e.to_string()))?;
    change(&s, tenant, Some(policy)).await
}

async fn clear(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<IamChanged>, ApiError> {
    change(&s, tenant, None).await
}

async fn change(
    s: &AppState,
    tenant: TenantId,
    policy: Option<IamPolicy>,
) -> Result<Json<IamChanged>, ApiError> {
    let (receipts, iam) = for_tenant(s, tenant.clone(), move |ws, t| {
        let receipts = ws.set_iam_policy(t, policy)?;
        Ok((receipts, ws.tenant(t)?.iam_policy().cloned()))
    })
    .await?;
    Ok(Json(IamChanged {
        tenant_id: tenant,
        iam,
        receipts,
    }))
}
