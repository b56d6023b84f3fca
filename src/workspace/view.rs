//! What a tenant looks like from outside, for `tai state` and the server.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::entitlement::{Standing, Status};
use crate::governor::{
    AndonStop, GovernorRecord, GovernorState, IamSetting, InFlight, Running, Tenant,
};
use crate::ids::{PackId, PlanId, Role, SkuId, TenantId, ToolName};

/// What a tenant looks like from outside: `tai state --format json` and the server's
/// tenant resource.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TenantView {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its governor state.
    pub state: GovernorState,
    /// Its entitlement, if it ever had one.
    pub entitlement: Option<EntitlementView>,
    /// The tools it can see.
    pub tools: BTreeSet<ToolName>,
    /// Facts recorded by signals.
    pub facts: Map<String, Value>,
    /// The action an intervening governor waits on.
    pub in_flight: Option<InFlight>,
    /// A command recorded as started (`action_started`) whose outcome is not recorded yet:
    /// running now, or — when read while no writer has the tenant — left by a writer that
    /// stopped; the next writer records it as interrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Running>,
    /// The tenant's IAM policy and the receipt that set it; absent when it has none
    /// (whoever calls holds the roles the plan grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam: Option<IamSetting>,
    /// Critical Andons nobody has cleared yet: the packs each stops, and when it was raised.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub andon: Vec<AndonStop>,
    /// How many receipts its chain holds.
    pub receipts: u64,
    /// The governor's counters and times, rebuilt from the ledger on every start.
    pub governor: GovernorRecord,
    /// The hash of its newest receipt.
    pub head_hash: String,
}

/// A tenant's entitlement and its standing at the time of the view.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EntitlementView {
    /// The SKU.
    pub sku_id: SkuId,
    /// The plan.
    pub plan_id: PlanId,
    /// Active, suspended, expired or cancelled, at the view's time.
    pub standing: Standing,
    /// The lifecycle status (expiry aside).
    pub status: Status,
    /// When it ends.
    pub expiry: Timestamp,
    /// Packs enabled.
    pub enabled_packs: BTreeSet<PackId>,
    /// Roles granted.
    pub iam_roles: BTreeSet<Role>,
    /// Units sold (seats, licences), when the marketplace counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// A change announced but not in force yet (a plan change awaiting approval, a pending
    /// cancellation, an approved purchase awaiting the marketplace's confirmation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<crate::entitlement::Pending>,
}

impl TenantView {
    /// The view of `t` at `now`.
    pub fn of(t: &Tenant, now: Timestamp) -> TenantView {
        TenantView {
            tenant_id: t.id().clone(),
            state: t.state(),
            entitlement: t.entitlement().map(|e| EntitlementView {
                sku_id: e.sku_id.clone(),
                plan_id: e.plan_id.clone(),
                standing: e.standing(now),
                status: e.status,
                expiry: e.expiry,
                enabled_packs: e.enabled_packs.clone(),
                iam_roles: e.iam_roles.clone(),
                quantity: e.quantity,
                pending: e.pending.clone(),
            }),
            tools: t.tools().clone(),
            facts: t.facts().clone(),
            in_flight: t.in_flight().cloned(),
            running: t.running().cloned(),
            iam: t.iam_policy().cloned(),
            andon: t.andon().values().cloned().collect(),
            receipts: t.head().next_seq,
            governor: *t.record(),
            head_hash: t.head().hash.to_string(),
        }
    }
}
