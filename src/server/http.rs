//! The JSON API: catalog browsing, the entitlement and marketplace webhooks, and per-tenant state, tools,
//! calls, signals, action resolutions, receipts and chain verification.
//!
//! Handlers only translate: HTTP in, a [`Workspace`](crate::workspace::Workspace) call on the
//! blocking pool, JSON out. Status codes follow one rule: a request the engine *decided* is
//! 200 with the decision in the body (a call refused by a gate or the governor was still
//! answered), except the two outcomes that mean the thing asked for is not there or not
//! allowed — `tool_not_found` (404) and a refused entitlement event (422) — which carry the
//! error shape with the outcome beside it. A marketplace's notification is 200 once recorded,
//! refused or not: the marketplace would deliver anything else again, to the same answer. The README's "Serve over HTTP" section is the
//! table of every route and status.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::catalog::view::{self, ToolAccess};
use crate::entitlement::{EntitlementEvent, Marketplace};
use crate::governor::{
    CallOutcome, Decision, EventOutcome, GovernorState, ReasonCode, Resolution, Signal,
    SignalOutcome, ToolCall,
};
use crate::iam::Principal;
use crate::ids::{ActionRunId, PackId, Role, SignalName, SkuId, TenantId};
use crate::intake::UniqueKeys;
use crate::receipts::{Checkpoint, InclusionProof, LedgerError, Manifest, Receipt, VerifyReport};
use crate::workspace::{Imported, TenantView};

use super::AppState;
use super::error::{ApiError, ErrorCode, refused};
use super::extract::{
    Admin, Caller, IdempotencyKey, JsonBody, PathParam, QueryParams, TenantScope, TenantSeq,
    for_tenant, with_workspace,
};
use super::openapi::{self, Health, PackList, SkuList, body, errors, ok, path, refusal, started};
use super::{explain, stream};

/// Receipts per page when the client does not say.
const DEFAULT_PAGE: usize = 100;
/// The most receipts one page may hold.
const MAX_PAGE: usize = 1000;

/// Every route of the JSON API, with no fallbacks or limits: [`super::app`] adds those
/// after merging the MCP routes, so they cover every route.
pub fn routes(state: AppState) -> Router {
    openapi::assemble(declare).with_state(state)
}

/// The routes of [`routes`], each declared with its documentation: the OpenAPI document
/// served at `/openapi.json` is built from these declarations.
pub(super) fn declare() -> ApiRouter<AppState> {
    let router = ApiRouter::new()
        .api_route(
            "/healthz",
            get_with(healthz, |op| {
                op.id("healthz")
                    .summary("Whether the server is up (no token needed)")
                    .with(ok::<Health>)
            }),
        )
        .api_route(
            "/v1/packs",
            get_with(list_packs, |op| {
                op.id("list_packs")
                    .summary("Every pack, as `tai pack list --format json`")
                    .with(ok::<PackList<'static>>)
            }),
        )
        .api_route(
            "/v1/packs/{id}",
            get_with(show_pack, |op| {
                op.id("show_pack")
                    .summary("One pack, as `tai pack show --format json`")
                    .with(path::<PackId>("id"))
                    .with(ok::<view::PackDetail<'static>>)
                    .with(errors(&[ErrorCode::UnknownPack]))
            }),
        )
        .api_route(
            "/v1/skus",
            get_with(list_skus, |op| {
                op.id("list_skus")
                    .summary("Every SKU, as `tai sku list --format json`")
                    .with(ok::<SkuList<'static>>)
            }),
        )
        .api_route(
            "/v1/skus/{id}",
            get_with(show_sku, |op| {
                op.id("show_sku")
                    .summary("One SKU with its tools, as `tai sku show --format json`")
                    .with(path::<SkuId>("id"))
                    .with(ok::<view::SkuDetail<'static>>)
                    .with(errors(&[ErrorCode::UnknownSku]))
            }),
        )
        .api_route(
            "/v1/marketplace/{marketplace}",
            post_with(post_marketplace, |op| {
                op.id("post_marketplace")
                    .summary(
                        "A marketplace's notification as it sends it (GCP Pub/Sub push body, \
                         AWS SNS notification, Azure fulfillment webhook), mapped onto an \
                         entitlement event and applied (admin)",
                    )
                    .with(path::<Marketplace>("marketplace"))
                    .with(body::<Value>)
                    .description(
                        "200 whenever the notification was recorded, refused or unmappable \
                         ones included (`status` and `outcome.refusal` say which and why): \
                         a marketplace delivers again whatever is not answered 2xx, and a \
                         redelivery is answered with the recorded outcome, so only an \
                         answer that nothing was recorded asks for one.",
                    )
                    .with(ok::<Imported>)
                    .with(errors(&[
                        ErrorCode::NotFound,
                        ErrorCode::MalformedNotification,
                        ErrorCode::MissingMarketplaceRecord,
                        ErrorCode::InvalidMarketplaceRecord,
                        ErrorCode::LedgerBusy,
                    ]))
                    .with(refusal::<Imported>(
                        ReasonCode::EventIdReused,
                        "The notification's id was first given to another notification; \
                         nothing recorded, the outcome (with `repeat_of`) is beside the error.",
                    ))
            }),
        )
        .api_route(
            "/v1/events",
            post_with(post_event, |op| {
                op.id("post_event")
                    .summary("The marketplace webhook: apply an entitlement event (admin)")
                    .with(body::<EntitlementEvent>)
                    .with(ok::<EventOutcome>)
                    .with(errors(&[ErrorCode::MalformedEvent, ErrorCode::LedgerBusy]))
                    .with(refusal::<EventOutcome>(
                        ReasonCode::UnknownSku,
                        "The resolver refused the event; the code is its reason (`unknown_sku`, \
                         `role_not_in_sku`, `invalid_transition`, …). Recorded: the outcome is \
                         beside the error. (`event_id_reused`: the `event_id` was given to \
                         another event; nothing recorded.)",
                    ))
            }),
        )
        .api_route(
            "/v1/tenants",
            get_with(list_tenants, |op| {
                op.id("list_tenants")
                    .summary("Every tenant (admin)")
                    .with(errors(&[ErrorCode::LedgerBusy]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}",
            get_with(show_tenant, |op| {
                op.id("show_tenant")
                    .summary("A tenant's state, as `tai state --format json`")
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/tools",
            get_with(tenant_tools, |op| {
                op.id("tenant_tools")
                    .summary("The tools a tenant sees, and whether its roles may run each")
                    .with(ok::<Tools<'static>>)
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/calls",
            post_with(call_tool, |op| {
                op.id("call_tool")
                    .summary(
                        "Call a tool: every decided call is 200, `decision` says which; one \
                         asked to run in the background is 202 once started",
                    )
                    .with(ok::<CallOutcome>)
                    .with(started)
                    .with(refusal::<CallOutcome>(
                        ReasonCode::ToolNotFound,
                        "`tool_not_found`: the tool is not in the tenant's enabled packs. \
                         Recorded: the call's outcome is beside the error.",
                    ))
                    .with(refusal::<CallOutcome>(
                        ReasonCode::IdempotencyKeyReused,
                        "`idempotency_key_reused`: the `Idempotency-Key` was first used for \
                         another request. Nothing recorded; the outcome, with `repeat_of`, is \
                         beside the error.",
                    ))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/signals",
            post_with(send_signal, |op| {
                op.id("send_signal")
                    .summary("Send a signal (an empty body is a bare signal: it boots a governor)")
                    .with(ok::<SignalOutcome>)
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/actions/complete",
            post_with(complete_action, |op| {
                op.id("complete_action")
                    .summary("Report that the action in flight finished")
                    .with(errors(&[
                        ErrorCode::NothingInFlight,
                        ErrorCode::UnknownAction,
                        ErrorCode::ActionAlreadyResolved,
                    ]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/actions/fail",
            post_with(fail_action, |op| {
                op.id("fail_action")
                    .summary("Report that the action in flight failed for good")
                    .with(errors(&[
                        ErrorCode::NothingInFlight,
                        ErrorCode::UnknownAction,
                        ErrorCode::ActionAlreadyResolved,
                    ]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/receipts",
            get_with(receipts_page, |op| {
                op.id("receipts_page")
                    .summary("A page of a tenant's receipts")
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/receipts/stream",
            get_with(stream::receipts, |op| {
                op.id("receipt_stream")
                    .summary("A tenant's receipts as server-sent events, stored then live")
            }),
        )
        .api_route(
            "/v1/manifest",
            get_with(workspace_manifest, |op| {
                op.id("manifest")
                    .summary(
                        "The workspace manifest, as `tai receipts manifest`: every tenant ever \
                         created, signed when the server signs; kept outside tai, it makes a \
                         deleted tenant a failed `tai receipts verify --manifest` (admin)",
                    )
                    .with(ok::<Manifest>)
                    .with(errors(&[ErrorCode::AdminOnly, ErrorCode::NoManifest]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/checkpoint",
            get_with(latest_checkpoint, |op| {
                op.id("checkpoint")
                    .summary("The tenant's latest signed checkpoint, as `tai receipts checkpoint`")
                    .with(ok::<Checkpoint>)
                    .with(errors(&[ErrorCode::NoCheckpoint]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/receipts/{seq}/proof",
            get_with(receipt_proof, |op| {
                op.id("receipt_proof")
                    .summary(
                        "A receipt, its audit path and the signed checkpoint: a proof file \
                         `tai receipts verify-proof` checks without the ledger",
                    )
                    .with(ok::<InclusionProof>)
                    .with(errors(&[ErrorCode::NoCheckpoint, ErrorCode::NotCovered]))
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/verify",
            get_with(verify, |op| {
                op.id("verify")
                    .summary("Verify a tenant's chain, as `tai receipts verify`")
            }),
        )
        .api_route(
            "/v1/tenants/{tenant}/explain",
            get_with(explain::handler, |op| {
                op.id("explain").summary(
                    "Why a receipt's call, signal or event did not go through, and what would \
                     make it pass",
                )
            }),
        );
    super::andon::declare(super::iam::declare(router))
}

async fn healthz() -> Response {
    Json(Health { status: "ok" }).into_response()
}

fn catalog(state: &AppState) -> &Catalog {
    state.workspace.catalog()
}

async fn list_packs(State(s): State<AppState>, _: Caller) -> Response {
    Json(PackList {
        packs: view::pack_summaries(catalog(&s)),
    })
    .into_response()
}

async fn show_pack(
    State(s): State<AppState>,
    _: Caller,
    PathParam(id): PathParam,
) -> Result<Response, ApiError> {
    let catalog = catalog(&s);
    let pack = view::find_pack(catalog, &id)?;
    Ok(Json(view::pack_detail(catalog, pack)).into_response())
}

async fn list_skus(State(s): State<AppState>, _: Caller) -> Response {
    Json(SkuList {
        skus: view::sku_summaries(catalog(&s)),
    })
    .into_response()
}

async fn show_sku(
    State(s): State<AppState>,
    _: Caller,
    PathParam(id): PathParam,
) -> Result<Response, ApiError> {
    let catalog = catalog(&s);
    let sku = view::find_sku(catalog, &id)?;
    Ok(Json(view::sku_detail(catalog, sku)).into_response())
}

/// The marketplace webhook: the raw event, exactly as `tai event --file` reads it.
async fn post_event(
    State(s): State<AppState>,
    _: Admin,
    JsonBody(UniqueKeys(raw)): JsonBody<UniqueKeys>,
) -> Result<Response, ApiError> {
    let outcome = with_workspace(&s, move |ws| Ok(ws.apply_event(&raw)?)).await?;
    Ok(match &outcome.refusal {
        Some(r) => refused(r.code.clone(), &r.message, &outcome),
        None => Json(outcome).into_response(),
    })
}

async fn post_marketplace(
    State(s): State<AppState>,
    _: Admin,
    PathParam(name): PathParam,
    JsonBody(UniqueKeys(raw)): JsonBody<UniqueKeys>,
) -> Result<Response, ApiError> {
    let marketplace: Marketplace = name.parse().map_err(|e: crate::vocab::UnknownName| {
        ApiError::new(ErrorCode::NotFound, e.to_string())
    })?;
    let records = std::sync::Arc::clone(&s.marketplace);
    let imported = with_workspace(&s, move |ws| {
        Ok(ws.import(marketplace, &raw, &ws.marketplace_context(records.as_ref()))?)
    })
    .await?;
    Ok(match imported.refusal() {
        // Nothing recorded: the id is another notification's, which no redelivery changes
        // but the sender must hear of.
        Some(r) if r.code == ReasonCode::EventIdReused => {
            refused(r.code.clone(), &r.message, &imported)
        }
        // Recorded, refused or not: acknowledged (see the route's description).
        _ => Json(imported).into_response(),
    })
}

/// Every tenant.
#[derive(Serialize, JsonSchema)]
struct Tenants {
    tenants: Vec<TenantView>,
}

async fn list_tenants(State(s): State<AppState>, _: Admin) -> Result<Json<Tenants>, ApiError> {
    let tenants = with_workspace(&s, |ws| {
        let views = ws
            .tenant_ids()?
            .iter()
            .map(|id| ws.view(id))
            .collect::<Result<_, _>>()?;
        Ok(views)
    })
    .await?;
    Ok(Json(Tenants { tenants }))
}

async fn show_tenant(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<TenantView>, ApiError> {
    let view = for_tenant(&s, tenant, |ws, t| ws.view(t)).await?;
    Ok(Json(view))
}

/// The tools a tenant sees.
#[derive(Serialize, JsonSchema)]
struct Tools<'a> {
    tenant_id: TenantId,
    tools: Vec<ToolAccess<'a>>,
    /// Tools whose pack a critical Andon stops (a call is refused, `andon_stopped`, until it
    /// is cleared), each with the Andon's signal.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    stopped: std::collections::BTreeMap<String, SignalName>,
}

/// The tools a tenant sees: the catalog's description of each, and whether the roles it was
/// granted cover the tool's action (a call still goes through all three gates).
fn visible_tools<'a>(catalog: &'a Catalog, tenant: &TenantView) -> Vec<ToolAccess<'a>> {
    let Some(e) = &tenant.entitlement else {
        return Vec::new();
    };
    let packs: Vec<PackId> = e.enabled_packs.iter().cloned().collect();
    let roles: Vec<Role> = e.iam_roles.iter().cloned().collect();
    view::tool_access(catalog, &packs, &roles)
        .into_iter()
        .filter(|t| tenant.tools.contains(t.name))
        .collect()
}

async fn tenant_tools(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Response, ApiError> {
    let view = for_tenant(&s, tenant, |ws, t| ws.view(t)).await?;
    let tools = visible_tools(catalog(&s), &view);
    let stopped = tools
        .iter()
        .filter_map(|t| {
            let stop = view.andon.iter().find(|a| a.packs.contains(t.pack))?;
            Some((t.name.to_string(), stop.signal.clone()))
        })
        .collect();
    Ok(Json(Tools {
        tenant_id: view.tenant_id,
        tools,
        stopped,
    })
    .into_response())
}

/// A tool call (`POST /v1/tenants/{tenant}/calls`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CallRequest {
    /// The tool's name.
    tool: String,
    /// Arguments for the tool, checked against its `input_schema`.
    #[serde(default)]
    arguments: Map<String, Value>,
    /// Facts about the call that preconditions may check (e.g. `deployment_stable`).
    #[serde(default)]
    context: Map<String, Value>,
    /// Who calls (`user:…` or `serviceAccount:…`); under the tenant's IAM policy the roles
    /// the action needs must be bound to this principal.
    #[serde(default)]
    principal: Option<Principal>,
    /// A wall-clock limit for this call in milliseconds (at least 1): it may tighten the
    /// action's `timeout_ms`, never loosen it.
    #[serde(default)]
    #[schemars(range(min = 1))]
    timeout_ms: Option<std::num::NonZeroU64>,
    /// Answer once the action is started (`202 Accepted` with its `action_id` and links to
    /// follow) instead of when it ends; only a command takes time to run, so any other call
    /// answers as usual. Default `false`.
    #[serde(default)]
    background: bool,
}

async fn call_tool(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    JsonBody(req): JsonBody<CallRequest>,
) -> Result<Response, ApiError> {
    let call = ToolCall {
        tool: req.tool,
        arguments: req.arguments,
        context: req.context,
        idempotency_key,
        principal: req.principal,
        timeout_ms: req.timeout_ms.map(std::num::NonZeroU64::get),
    };
    let outcome = match super::try_call(&s.workspace, &tenant, &call).await {
        Some(decided) => decided?,
        None if req.background => match super::background::call(&s, tenant, call).await? {
            Ok(started) => return Ok(started.into_response()),
            Err(outcome) => outcome,
        },
        None => for_tenant(&s, tenant, move |ws, t| ws.call(t, &call)).await?,
    };
    Ok(match (outcome.decision, &outcome.reason) {
        (Decision::ToolNotFound, _) => {
            refused(ReasonCode::ToolNotFound, &outcome.message, &outcome)
        }
        // Not a decision of this request: the key belongs to another (nothing recorded).
        (_, Some(ReasonCode::IdempotencyKeyReused)) => {
            refused(ReasonCode::IdempotencyKeyReused, &outcome.message, &outcome)
        }
        (Decision::Executed | Decision::Refused | Decision::Failed, _) => {
            Json(outcome).into_response()
        }
    })
}

/// `POST /v1/tenants/{tenant}/signals`; an empty body is a bare signal (it boots a governor).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SignalRequest {
    /// The signal's name, if it has one (e.g. `storm_detected`).
    name: Option<SignalName>,
    /// Facts to record for the tenant.
    #[serde(default)]
    facts: Map<String, Value>,
}

async fn send_signal(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    JsonBody(req): JsonBody<SignalRequest>,
) -> Result<Response, ApiError> {
    let signal = Signal {
        name: req.name,
        facts: req.facts,
    };
    let outcome = for_tenant(&s, tenant, move |ws, t| ws.signal(t, &signal)).await?;
    Ok(Json(outcome).into_response())
}

/// `POST /v1/tenants/{tenant}/actions/{complete|fail}`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    /// The id of the action resolved (`act_…`); without it, whichever is in flight.
    action_id: Option<ActionRunId>,
    /// What happened, for the receipt.
    detail: Option<String>,
}

/// The resolution, the governor state after it, and the receipts written.
#[derive(Serialize, JsonSchema)]
struct ActionResolved {
    resolution: Resolution,
    state: Option<GovernorState>,
    receipts: Vec<Receipt>,
}

async fn resolve(
    s: &AppState,
    tenant: TenantId,
    resolution: Resolution,
    req: ActionRequest,
) -> Result<Json<ActionResolved>, ApiError> {
    let receipts = for_tenant(s, tenant, move |ws, t| {
        ws.resolve_action(t, resolution, req.action_id.as_ref(), req.detail.as_deref())
    })
    .await?;
    Ok(Json(ActionResolved {
        resolution,
        state: receipts.last().map(|r| r.body.state_to),
        receipts,
    }))
}

async fn complete_action(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    JsonBody(req): JsonBody<ActionRequest>,
) -> Result<Json<ActionResolved>, ApiError> {
    resolve(&s, tenant, Resolution::Complete, req).await
}

async fn fail_action(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    JsonBody(req): JsonBody<ActionRequest>,
) -> Result<Json<ActionResolved>, ApiError> {
    resolve(&s, tenant, Resolution::Failed, req).await
}

/// `?from_seq=&limit=` of the receipts page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// The first seq of the page (default 0).
    from_seq: Option<u64>,
    /// How many receipts at most, 1 to 1000 (default 100).
    #[schemars(range(min = 1, max = MAX_PAGE))]
    limit: Option<usize>,
}

/// A page of receipts.
#[derive(Serialize, JsonSchema)]
struct Page {
    tenant_id: TenantId,
    receipts: Vec<Receipt>,
    /// Where the next page starts; also where to poll from once `has_more` is false.
    next_from_seq: u64,
    has_more: bool,
}

async fn receipts_page(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let from = q.from_seq.unwrap_or(0);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let page = for_tenant(&s, tenant, move |ws, t| {
        // One more than the page tells whether there is more.
        let mut receipts = ws.ledger().read_from(t, from, limit + 1)?;
        let has_more = receipts.len() > limit;
        receipts.truncate(limit);
        Ok(Page {
            tenant_id: t.clone(),
            next_from_seq: receipts.last().map_or(from, |r| r.seq + 1),
            has_more,
            receipts,
        })
    })
    .await?;
    Ok(Json(page))
}

async fn workspace_manifest(
    State(s): State<AppState>,
    _: Admin,
) -> Result<Json<Manifest>, ApiError> {
    let manifest = with_workspace(&s, |ws| Ok(ws.ledger().manifest()?)).await?;
    let m = manifest.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NoManifest,
            "there is no workspace manifest yet: a writer makes one with its first tenant",
        )
    })?;
    Ok(Json(m))
}

async fn latest_checkpoint(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<Checkpoint>, ApiError> {
    let checkpoint = for_tenant(&s, tenant, |ws, t| {
        ws.ledger()
            .latest_checkpoint(t)?
            .ok_or_else(|| LedgerError::NoCheckpoint { tenant: t.clone() }.into())
    })
    .await?;
    Ok(Json(checkpoint))
}

async fn receipt_proof(
    State(s): State<AppState>,
    TenantSeq(tenant, seq): TenantSeq,
) -> Result<Json<InclusionProof>, ApiError> {
    let proof = for_tenant(&s, tenant, move |ws, t| Ok(ws.ledger().prove(t, seq)?)).await?;
    Ok(Json(proof))
}

/// The `tai receipts verify` report.
#[derive(Serialize, JsonSchema)]
struct Verified {
    tenant_id: TenantId,
    ok: bool,
    #[serde(flatten)]
    report: VerifyReport,
}

async fn verify(
    State(s): State<AppState>,
    TenantScope(tenant): TenantScope,
) -> Result<Json<Verified>, ApiError> {
    let verified = for_tenant(&s, tenant, |ws, t| {
        // The whole record, as `tai receipts verify` reads it: checkpoints included.
        let anchors = crate::receipts::trust::TrustAnchors::default();
        let report = ws.ledger().verify_signed(t, false, anchors)?;
        Ok(Verified {
            tenant_id: t.clone(),
            ok: report.is_ok(),
            report,
        })
    })
    .await?;
    Ok(Json(verified))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::catalog::{builtin, load};
    use crate::clock::{SimClock, Timestamp};
    use crate::governor::IdSource;
    use crate::receipts::MemoryLedger;
    use crate::workspace::Workspace;
    use serde_json::json;

    #[test]
    fn visible_tools_are_exactly_the_tenants_tools() {
        let catalog = Arc::new(load::build(&builtin::sources()).unwrap());
        let clock = Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap()));
        let ws = Workspace::with_ledger(
            catalog.clone(),
            clock,
            IdSource::seeded(1),
            Arc::new(MemoryLedger::new()),
        );
        let acme = TenantId::new("acme").unwrap();
        assert!(visible_tools(&catalog, &ws.view(&acme).unwrap()).is_empty());
        ws.apply_event(&json!({
            "event_type": "entitlement.activated",
            "tenant_id": "acme",
            "sku_id": "rollback-guard-professional",
        }))
        .unwrap();
        let view = ws.view(&acme).unwrap();
        let tools = visible_tools(&catalog, &view);
        let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
        let expected: BTreeSet<String> = view.tools.iter().map(ToString::to_string).collect();
        assert!(!expected.is_empty());
        assert_eq!(names, expected);
    }
}
