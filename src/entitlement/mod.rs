//! Entitlements: the marketplace's lifecycle events and the resolver that turns them into a
//! tenant's enabled packs, granted roles and expiry.
//!
//! The resolver is a pure function of (catalog, current entitlement, event, now): it either
//! returns the new entitlement or a refusal with a reason code, and never escalates: an event
//! may grant at most the packs and roles its SKU includes.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::diagnostics::Diagnostic;
use crate::ids::{EventId, PackId, PlanId, Role, SkuId, TenantId};
use crate::intake::{self, Reading};
use crate::vocab::{ReasonCode, vocabulary};

mod resolve;
#[cfg(test)]
mod tests;

pub use resolve::{resolve, unchanged};

vocabulary! {
    /// The lifecycle events a marketplace sends.
    pub enum EventKind ("entitlement event type") {
        /// A purchase: a new entitlement (or a new one after cancellation or expiry). It also
        /// completes a purchase awaiting approval, and confirms one the provider approved.
        Activated = "entitlement.activated",
        /// An upgrade or downgrade to another SKU.
        PlanChanged = "entitlement.plan_changed",
        /// A renewal: the expiry moves forward by a term (or to the given expiry).
        Renewed = "entitlement.renewed",
        /// A suspension (e.g. payment failed): tools stay listed but every call is refused.
        Suspended = "entitlement.suspended",
        /// A suspended entitlement is reinstated.
        Reinstated = "entitlement.reinstated",
        /// A cancellation: every pack is disabled.
        Cancelled = "entitlement.cancelled",
        /// A purchase or plan change that awaits the provider's approval: recorded as pending,
        /// nothing is granted yet.
        Requested = "entitlement.requested",
        /// The provider approves the pending request. An approved purchase is in force at once
        /// (the marketplace's activation then confirms it); an approved plan change takes effect
        /// when the marketplace says it did (`entitlement.plan_changed`).
        Approved = "entitlement.approved",
        /// The pending request is withdrawn by the customer or rejected by the provider.
        Withdrawn = "entitlement.withdrawn",
        /// The customer cancelled; the entitlement stays in force until the marketplace ends it.
        CancellationPending = "entitlement.cancellation_pending",
        /// A pending cancellation is taken back.
        CancellationReverted = "entitlement.cancellation_reverted",
        /// The marketplace's current record: the SKU (and expiry, quantity) the tenant holds.
        /// The resolver moves the entitlement there: a purchase when there is none in force, a
        /// plan change when the SKU differs, else a new expiry or quantity.
        Synced = "entitlement.synced",
        /// The marketplace says the entitlement ended (at `expiry`, default now): tools stay
        /// listed and every call is refused as expired.
        Expired = "entitlement.expired",
    }
}

impl EventKind {
    /// What an accepted event of this kind did, given the entitlement before and after: the
    /// kind a receipt is named after. A sync that bought the tenant its first entitlement
    /// was a purchase; an approval that put a purchase in force was one too; an activation
    /// that only confirmed an approved purchase changed nothing but the record.
    pub fn effect(
        self,
        before: Option<&Entitlement>,
        after: &Entitlement,
        now: Timestamp,
    ) -> EventKind {
        let was_in_force = before.is_some_and(|b| b.in_force(now));
        match self {
            EventKind::Synced | EventKind::Approved if !was_in_force && after.in_force(now) => {
                EventKind::Activated
            }
            EventKind::Synced => match before {
                Some(b) if b.sku_id != after.sku_id => EventKind::PlanChanged,
                Some(b) if after.expiry > b.expiry && after.expiry > now => EventKind::Renewed,
                _ => EventKind::Synced,
            },
            EventKind::Activated if was_in_force => EventKind::Synced,
            kind => kind,
        }
    }
}

vocabulary! {
    /// The marketplace an event came from, when it came through one of tai's adapters.
    pub enum Marketplace ("marketplace") {
        /// Google Cloud Marketplace (Pub/Sub notifications, Procurement API).
        Gcp = "gcp",
        /// AWS Marketplace (SNS notifications, Entitlement Service).
        Aws = "aws",
        /// Microsoft commercial marketplace (SaaS fulfillment webhook).
        Azure = "azure",
    }
}

impl Marketplace {
    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Marketplace::Gcp => "Google Cloud Marketplace",
            Marketplace::Aws => "AWS Marketplace",
            Marketplace::Azure => "Azure Marketplace",
        }
    }
}

/// An entitlement event in the marketplace's JSON shape. Everything but `event_type` and
/// `tenant_id` is optional: packs and roles default to the SKU's, expiry to one term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementEvent {
    /// What happened.
    pub event_type: EventKind,
    /// The tenant it happened to.
    pub tenant_id: TenantId,
    /// The SKU purchased (required for activation, plan changes, requests and syncs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<SkuId>,
    /// The marketplace plan; must match the SKU's when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<PlanId>,
    /// Packs to enable; at most the SKU's. Defaults to all of the SKU's packs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_packs: Option<Vec<PackId>>,
    /// Roles granted; at most the SKU's. Defaults to all of the SKU's roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_roles: Option<Vec<Role>>,
    /// When the entitlement ends (RFC 3339 or epoch seconds). Defaults to now plus one term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Timestamp>,
    /// How many units (seats, licences) the marketplace sold, when it counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// The marketplace the event came from, when an adapter mapped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Marketplace>,
    /// The marketplace's own id of the notification (its event or message id), so a
    /// redelivery can be recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// When the marketplace made the change (GCP's `updateTime`). A marketplace event older
    /// than the latest change applied to the entitlement is stale: accepted, nothing changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<Timestamp>,
}

impl EntitlementEvent {
    /// An event of `kind` for `tenant` with every optional field unset.
    pub fn new(kind: EventKind, tenant: TenantId) -> Self {
        EntitlementEvent {
            event_type: kind,
            tenant_id: tenant,
            sku_id: None,
            plan_id: None,
            enabled_packs: None,
            iam_roles: None,
            expiry: None,
            quantity: None,
            source: None,
            event_id: None,
            changed_at: None,
        }
    }
}

/// Where an entitlement stands, before time is taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In force (unless expired).
    Active,
    /// Temporarily suspended.
    Suspended,
    /// Ended by cancellation.
    Cancelled,
    /// A purchase awaiting the provider's approval: nothing is granted yet.
    Pending,
}

vocabulary! {
    /// Where an entitlement stands at a given time.
    pub enum Standing ("standing") {
        /// In force: gate 1 passes.
        Active = "active",
        /// Suspended.
        Suspended = "suspended",
        /// Past its expiry.
        Expired = "expired",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Requested, awaiting the provider's approval.
        Pending = "pending",
    }
}

impl Standing {
    /// The gate-1 refusal reason for this standing, or `None` when active.
    pub fn refusal(self) -> Option<ReasonCode> {
        match self {
            Standing::Active => None,
            Standing::Suspended => Some(ReasonCode::EntitlementSuspended),
            Standing::Expired => Some(ReasonCode::EntitlementExpired),
            Standing::Cancelled => Some(ReasonCode::EntitlementCancelled),
            Standing::Pending => Some(ReasonCode::NoEntitlement),
        }
    }
}

/// A change the marketplace announced that is not (wholly) in force yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// The provider approved the purchase, which is in force; the marketplace has yet to
    /// confirm that it is active.
    Confirmation,
    /// A move to another plan: awaiting the provider's approval, or (approved) the
    /// marketplace's word that it took effect.
    PlanChange {
        /// The SKU asked for.
        sku_id: SkuId,
        /// Its plan.
        plan_id: PlanId,
        /// Whether the provider approved it.
        approved: bool,
    },
    /// The customer cancelled: in force until the marketplace ends it, unless reverted.
    Cancellation,
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::Confirmation => {
                f.write_str("purchase approved; awaiting the marketplace's confirmation")
            }
            Pending::PlanChange {
                sku_id,
                approved: false,
                ..
            } => write!(f, "plan change to `{sku_id}` awaiting approval"),
            Pending::PlanChange { sku_id, .. } => write!(
                f,
                "plan change to `{sku_id}` approved; takes effect when the marketplace changes the plan"
            ),
            Pending::Cancellation => {
                f.write_str("cancellation; in force until the marketplace ends it")
            }
        }
    }
}

/// The end of an entitlement the marketplace renews on its own, without telling anyone
/// (subscriptions without a term): it lasts until the marketplace ends it.
pub const OPEN_ENDED: Timestamp = Timestamp::MAX;

/// A tenant's entitlement: what it bought and what that grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    /// The SKU.
    pub sku_id: SkuId,
    /// The SKU's plan.
    pub plan_id: PlanId,
    /// Packs enabled by this entitlement.
    pub enabled_packs: BTreeSet<PackId>,
    /// Roles granted.
    pub iam_roles: BTreeSet<Role>,
    /// When it ends.
    pub expiry: Timestamp,
    /// Lifecycle status.
    pub status: Status,
    /// Units sold (seats, licences), when the marketplace counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// A change announced but not in force yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The marketplace's time of the latest change applied (the newest `changed_at` of the
    /// events that made it), against which a late notification is found stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<Timestamp>,
}

impl Entitlement {
    /// The standing at `now`: cancellation beats a pending purchase beats expiry beats
    /// suspension.
    pub fn standing(&self, now: Timestamp) -> Standing {
        match self.status {
            Status::Cancelled => Standing::Cancelled,
            Status::Pending => Standing::Pending,
            _ if self.expiry <= now => Standing::Expired,
            Status::Suspended => Standing::Suspended,
            Status::Active => Standing::Active,
        }
    }

    /// Whether the tenant holds it at `now`: bought (not merely requested), neither
    /// cancelled nor expired. Suspension does not end an entitlement.
    pub fn in_force(&self, now: Timestamp) -> bool {
        matches!(self.standing(now), Standing::Active | Standing::Suspended)
    }

    /// Packs whose tools are visible: every enabled pack once bought and until cancelled. A
    /// suspended or expired entitlement keeps its tools listed so a call gets a clear gate-1
    /// refusal.
    pub fn visible_packs(&self) -> impl Iterator<Item = &PackId> {
        let live = matches!(self.status, Status::Active | Status::Suspended);
        self.enabled_packs.iter().filter(move |_| live)
    }
}

/// Why the resolver refused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, schemars::JsonSchema)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The reason code.
    pub code: ReasonCode,
    /// What exactly was wrong.
    pub message: String,
}

fn refuse<T>(code: ReasonCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

fn invalid<T>(message: impl Into<String>) -> Result<T, Refusal> {
    refuse(ReasonCode::InvalidTransition, message)
}

/// An event that could not be read. When its tenant is known the refusal is still recorded
/// in that tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed entitlement event: {message}")]
pub struct MalformedEvent {
    /// The tenant, when the event named a valid one.
    pub tenant: Option<TenantId>,
    /// What is wrong.
    pub message: String,
}

/// What an event file's refusals say about it.
const READING: Reading = Reading {
    regular: "an entitlement event is a regular JSON or YAML file",
    text: "event files are JSON or YAML text in UTF-8",
    size: "an entitlement event is a few hundred bytes; check that it is the right file",
    missing: "check the path",
};

/// Reads an entitlement event file (JSON or YAML) as the raw value [`parse_event`] takes,
/// bounded like every input (a regular file, a size cap, the YAML depth guard).
pub fn read_event_file(path: &Path) -> Result<serde_json::Value, Box<Diagnostic>> {
    let text = intake::read_text(path, &READING)?;
    intake::parse_yaml(path, &text)
}

/// Reads an event from JSON, keeping the tenant id when the rest is malformed.
pub fn parse_event(value: &serde_json::Value) -> Result<EntitlementEvent, MalformedEvent> {
    serde_json::from_value::<EntitlementEvent>(value.clone()).map_err(|e| MalformedEvent {
        tenant: value
            .get("tenant_id")
            .and_then(|t| t.as_str())
            .and_then(|t| TenantId::new(t).ok()),
        message: e.to_string(),
    })
}
