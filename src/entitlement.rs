//! Entitlements: the marketplace's lifecycle events and the resolver that turns them into a
//! tenant's enabled packs, granted roles and expiry.
//!
//! The resolver is a pure function of (catalog, current entitlement, event, now): it either
//! returns the new entitlement or a refusal with a reason code, and never escalates: an event
//! may grant at most the packs and roles its SKU includes.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Sku};
use crate::clock::Timestamp;
use crate::governor::ReasonCode;
use crate::ids::{EventId, PackId, PlanId, Role, SkuId, TenantId};

/// The lifecycle events a marketplace sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum EventKind {
    /// A purchase: a new entitlement (or a new one after cancellation or expiry). It also
    /// completes a purchase awaiting approval, and confirms one the provider approved.
    #[serde(rename = "entitlement.activated")]
    Activated,
    /// An upgrade or downgrade to another SKU.
    #[serde(rename = "entitlement.plan_changed")]
    PlanChanged,
    /// A renewal: the expiry moves forward by a term (or to the given expiry).
    #[serde(rename = "entitlement.renewed")]
    Renewed,
    /// A suspension (e.g. payment failed): tools stay listed but every call is refused.
    #[serde(rename = "entitlement.suspended")]
    Suspended,
    /// A suspended entitlement is reinstated.
    #[serde(rename = "entitlement.reinstated")]
    Reinstated,
    /// A cancellation: every pack is disabled.
    #[serde(rename = "entitlement.cancelled")]
    Cancelled,
    /// A purchase or plan change that awaits the provider's approval: recorded as pending,
    /// nothing is granted yet.
    #[serde(rename = "entitlement.requested")]
    Requested,
    /// The provider approves the pending request. An approved purchase is in force at once
    /// (the marketplace's activation then confirms it); an approved plan change takes effect
    /// when the marketplace says it did (`entitlement.plan_changed`).
    #[serde(rename = "entitlement.approved")]
    Approved,
    /// The pending request is withdrawn by the customer or rejected by the provider.
    #[serde(rename = "entitlement.withdrawn")]
    Withdrawn,
    /// The customer cancelled; the entitlement stays in force until the marketplace ends it.
    #[serde(rename = "entitlement.cancellation_pending")]
    CancellationPending,
    /// A pending cancellation is taken back.
    #[serde(rename = "entitlement.cancellation_reverted")]
    CancellationReverted,
    /// The marketplace's current record: the SKU (and expiry, quantity) the tenant holds.
    /// The resolver moves the entitlement there: a purchase when there is none in force, a
    /// plan change when the SKU differs, else a new expiry or quantity.
    #[serde(rename = "entitlement.synced")]
    Synced,
    /// The marketplace says the entitlement ended (at `expiry`, default now): tools stay
    /// listed and every call is refused as expired.
    #[serde(rename = "entitlement.expired")]
    Expired,
}

impl EventKind {
    /// All kinds, in lifecycle order.
    pub const ALL: [EventKind; 13] = [
        EventKind::Activated,
        EventKind::PlanChanged,
        EventKind::Renewed,
        EventKind::Suspended,
        EventKind::Reinstated,
        EventKind::Cancelled,
        EventKind::Requested,
        EventKind::Approved,
        EventKind::Withdrawn,
        EventKind::CancellationPending,
        EventKind::CancellationReverted,
        EventKind::Synced,
        EventKind::Expired,
    ];

    /// The wire name, e.g. `entitlement.activated`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Activated => "entitlement.activated",
            EventKind::PlanChanged => "entitlement.plan_changed",
            EventKind::Renewed => "entitlement.renewed",
            EventKind::Suspended => "entitlement.suspended",
            EventKind::Reinstated => "entitlement.reinstated",
            EventKind::Cancelled => "entitlement.cancelled",
            EventKind::Requested => "entitlement.requested",
            EventKind::Approved => "entitlement.approved",
            EventKind::Withdrawn => "entitlement.withdrawn",
            EventKind::CancellationPending => "entitlement.cancellation_pending",
            EventKind::CancellationReverted => "entitlement.cancellation_reverted",
            EventKind::Synced => "entitlement.synced",
            EventKind::Expired => "entitlement.expired",
        }
    }

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

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The marketplace an event came from, when it came through one of tai's adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Marketplace {
    /// Google Cloud Marketplace (Pub/Sub notifications, Procurement API).
    Gcp,
    /// AWS Marketplace (SNS notifications, Entitlement Service).
    Aws,
    /// Microsoft commercial marketplace (SaaS fulfillment webhook).
    Azure,
}

impl Marketplace {
    /// Every marketplace.
    pub const ALL: [Marketplace; 3] = [Marketplace::Gcp, Marketplace::Aws, Marketplace::Azure];

    /// The short name, e.g. `gcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Marketplace::Gcp => "gcp",
            Marketplace::Aws => "aws",
            Marketplace::Azure => "azure",
        }
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Marketplace::Gcp => "Google Cloud Marketplace",
            Marketplace::Aws => "AWS Marketplace",
            Marketplace::Azure => "Azure Marketplace",
        }
    }
}

impl fmt::Display for Marketplace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// Where an entitlement stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// In force: gate 1 passes.
    Active,
    /// Suspended.
    Suspended,
    /// Past its expiry.
    Expired,
    /// Cancelled.
    Cancelled,
    /// Requested, awaiting the provider's approval.
    Pending,
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

    /// The standing's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Suspended => "suspended",
            Standing::Expired => "expired",
            Standing::Cancelled => "cancelled",
            Standing::Pending => "pending",
        }
    }
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// Applies `event` to `current` at `now`, returning the new entitlement or a refusal.
pub fn resolve(
    catalog: &Catalog,
    current: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    let live = current.filter(|e| !matches!(e.standing(now), Standing::Cancelled));
    // An entitlement the tenant holds (or held until it expired): bought, not cancelled.
    let bought = live.filter(|e| e.status != Status::Pending);
    let kind = event.event_type;
    match kind {
        EventKind::Activated => {
            if let Some(cur) = bought.filter(|e| e.in_force(now)) {
                return confirm(catalog, cur, event, now);
            }
            let sku = required_sku(catalog, event)?;
            let expiry = event.expiry.unwrap_or_else(|| term_end(sku, now));
            grant(catalog, sku, event, expiry, Status::Active, now)
        }
        EventKind::PlanChanged => {
            let cur = require_live(bought, now, kind)?;
            let sku = required_sku(catalog, event)?;
            let expiry = event.expiry.unwrap_or(cur.expiry);
            let mut new = grant(catalog, sku, event, expiry, cur.status, now)?;
            new.quantity = event.quantity.or(cur.quantity);
            new.pending = cur.pending.clone().filter(|p| *p == Pending::Cancellation);
            Ok(new)
        }
        EventKind::Renewed => {
            let cur = require(bought, kind)?;
            let sku = same_sku(catalog, cur, event)?;
            let from = cur.expiry.max(now);
            let expiry = event.expiry.unwrap_or_else(|| term_end(sku, from));
            check_expiry(expiry, now)?;
            Ok(Entitlement {
                expiry,
                ..cur.clone()
            })
        }
        EventKind::Suspended => {
            let cur = require_live(bought, now, kind)?;
            same_sku(catalog, cur, event)?;
            if cur.status == Status::Suspended {
                return invalid("entitlement is already suspended");
            }
            Ok(Entitlement {
                status: Status::Suspended,
                ..cur.clone()
            })
        }
        EventKind::Reinstated => {
            let cur = require(bought, kind)?;
            same_sku(catalog, cur, event)?;
            if cur.status != Status::Suspended {
                return invalid("only a suspended entitlement can be reinstated");
            }
            Ok(Entitlement {
                status: Status::Active,
                ..cur.clone()
            })
        }
        EventKind::Cancelled => {
            let cur = require(live, kind)?;
            same_sku(catalog, cur, event)?;
            Ok(Entitlement {
                status: Status::Cancelled,
                pending: None,
                ..cur.clone()
            })
        }
        EventKind::Requested => request(catalog, bought.filter(|e| e.in_force(now)), event, now),
        EventKind::Approved => approve(catalog, live, event, now),
        EventKind::Withdrawn => {
            let cur = require(live, kind)?;
            if cur.status == Status::Pending {
                same_sku(catalog, cur, event)?;
                return Ok(Entitlement {
                    status: Status::Cancelled,
                    pending: None,
                    ..cur.clone()
                });
            }
            match &cur.pending {
                Some(Pending::PlanChange { sku_id, .. }) => {
                    if let Some(id) = event.sku_id.as_ref().filter(|id| *id != sku_id) {
                        return refuse(
                            ReasonCode::PlanMismatch,
                            format!(
                                "{kind} names SKU `{id}` but the pending request is for `{sku_id}`"
                            ),
                        );
                    }
                    Ok(Entitlement {
                        pending: None,
                        ..cur.clone()
                    })
                }
                _ => invalid("no purchase or plan change is pending to withdraw"),
            }
        }
        EventKind::CancellationPending => {
            let cur = require_live(bought, now, kind)?;
            same_sku(catalog, cur, event)?;
            if cur.pending == Some(Pending::Cancellation) {
                return invalid("a cancellation is already pending");
            }
            // A plan change the customer asked for is moot once they cancel.
            Ok(Entitlement {
                pending: Some(Pending::Cancellation),
                ..cur.clone()
            })
        }
        EventKind::CancellationReverted => {
            let cur = require(bought, kind)?;
            same_sku(catalog, cur, event)?;
            if cur.pending != Some(Pending::Cancellation) {
                return invalid("no cancellation is pending to revert");
            }
            Ok(Entitlement {
                pending: None,
                ..cur.clone()
            })
        }
        EventKind::Synced => {
            let sku = required_sku(catalog, event)?;
            let Some(cur) = bought.filter(|e| e.in_force(now)) else {
                let expiry = event.expiry.unwrap_or_else(|| term_end(sku, now));
                return grant(catalog, sku, event, expiry, Status::Active, now);
            };
            let keep = cur.pending.clone().filter(|p| *p == Pending::Cancellation);
            if sku.sku_id != cur.sku_id {
                let expiry = event.expiry.unwrap_or(cur.expiry);
                let mut new = grant(catalog, sku, event, expiry, cur.status, now)?;
                new.quantity = event.quantity.or(cur.quantity);
                new.pending = keep;
                return Ok(new);
            }
            // The same SKU: the marketplace's expiry stands even when it is already past
            // (the entitlement ended). The record confirms an approved purchase; a plan change
            // still pending stays pending.
            Ok(Entitlement {
                expiry: event.expiry.unwrap_or(cur.expiry),
                quantity: event.quantity.or(cur.quantity),
                pending: cur.pending.clone().filter(|p| *p != Pending::Confirmation),
                ..cur.clone()
            })
        }
        EventKind::Expired => {
            let cur = require(bought, kind)?;
            same_sku(catalog, cur, event)?;
            if cur.standing(now) == Standing::Expired {
                return invalid("the entitlement has already expired");
            }
            Ok(Entitlement {
                expiry: cur.expiry.min(event.expiry.unwrap_or(now)),
                ..cur.clone()
            })
        }
    }
}

/// An activation for an entitlement the tenant already holds: accepted only as the
/// marketplace's confirmation of a purchase the provider approved.
fn confirm(
    catalog: &Catalog,
    cur: &Entitlement,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    if cur.pending == Some(Pending::Confirmation)
        && event.sku_id.as_ref().is_none_or(|id| *id == cur.sku_id)
    {
        same_sku(catalog, cur, event)?;
        return Ok(Entitlement {
            expiry: event.expiry.unwrap_or(cur.expiry),
            quantity: event.quantity.or(cur.quantity),
            pending: None,
            ..cur.clone()
        });
    }
    invalid(format!(
        "tenant already has a {} entitlement for `{}`; send entitlement.plan_changed to change plans",
        cur.standing(now),
        cur.sku_id
    ))
}

/// Records a purchase (nothing in force) or a plan change (something in force) as pending.
fn request(
    catalog: &Catalog,
    in_force: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    let sku = required_sku(catalog, event)?;
    let Some(cur) = in_force else {
        // The grant is worked out now so a request that could never be granted is refused
        // at once; its term runs from the request.
        let expiry = event.expiry.unwrap_or_else(|| term_end(sku, now));
        let mut new = grant(catalog, sku, event, expiry, Status::Pending, now)?;
        new.quantity = event.quantity;
        return Ok(new);
    };
    if cur.pending == Some(Pending::Cancellation) {
        return invalid("a cancellation is pending; revert it before changing plans");
    }
    if sku.sku_id == cur.sku_id {
        return invalid(format!("the tenant is already on SKU `{}`", cur.sku_id));
    }
    grant(catalog, sku, event, cur.expiry, cur.status, now)?;
    // A newer request replaces an earlier one, approved or not.
    Ok(Entitlement {
        pending: Some(Pending::PlanChange {
            sku_id: sku.sku_id.clone(),
            plan_id: sku.plan_id.clone(),
            approved: false,
        }),
        ..cur.clone()
    })
}

/// The provider's approval of the pending request.
fn approve(
    catalog: &Catalog,
    live: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    let cur = require(live, event.event_type)?;
    if cur.status == Status::Pending {
        let sku = same_sku(catalog, cur, event)?;
        // The request's grant is checked again: the catalog may have changed since.
        let asked = EntitlementEvent {
            enabled_packs: Some(cur.enabled_packs.iter().cloned().collect()),
            iam_roles: Some(cur.iam_roles.iter().cloned().collect()),
            ..event.clone()
        };
        // The term runs from the request unless the approval says otherwise (or the request
        // is so old that its term has passed).
        let expiry = event.expiry.unwrap_or_else(|| {
            if cur.expiry > now {
                cur.expiry
            } else {
                term_end(sku, now)
            }
        });
        let mut new = grant(catalog, sku, &asked, expiry, Status::Active, now)?;
        new.quantity = cur.quantity;
        new.pending = Some(Pending::Confirmation);
        return Ok(new);
    }
    match &cur.pending {
        Some(Pending::PlanChange {
            sku_id,
            plan_id,
            approved: false,
        }) => {
            if let Some(id) = event.sku_id.as_ref().filter(|id| *id != sku_id) {
                return refuse(
                    ReasonCode::PlanMismatch,
                    format!(
                        "the approval names SKU `{id}` but the pending request is for `{sku_id}`"
                    ),
                );
            }
            Ok(Entitlement {
                pending: Some(Pending::PlanChange {
                    sku_id: sku_id.clone(),
                    plan_id: plan_id.clone(),
                    approved: true,
                }),
                ..cur.clone()
            })
        }
        Some(Pending::PlanChange { sku_id, .. }) => invalid(format!(
            "the change to `{sku_id}` is already approved; it takes effect when the marketplace changes the plan"
        )),
        _ => invalid("nothing awaits approval"),
    }
}

fn term_end(sku: &Sku, from: Timestamp) -> Timestamp {
    from.plus(Duration::from_secs(sku.term.days() * 86_400))
}

fn require(live: Option<&Entitlement>, kind: EventKind) -> Result<&Entitlement, Refusal> {
    match live {
        Some(e) => Ok(e),
        None => refuse(
            ReasonCode::NoEntitlement,
            format!("{kind} needs an entitlement; the tenant has none (or it was cancelled)"),
        ),
    }
}

fn require_live(
    live: Option<&Entitlement>,
    now: Timestamp,
    kind: EventKind,
) -> Result<&Entitlement, Refusal> {
    let cur = require(live, kind)?;
    if cur.standing(now) == Standing::Expired {
        return refuse(
            ReasonCode::EntitlementExpired,
            format!("{kind} does not apply to an expired entitlement; renew or activate instead"),
        );
    }
    Ok(cur)
}

fn known_sku<'c>(catalog: &'c Catalog, id: &SkuId) -> Result<&'c Sku, Refusal> {
    catalog.sku(id.as_str()).map_or_else(
        || refuse(ReasonCode::UnknownSku, format!("unknown SKU `{id}`")),
        Ok,
    )
}

fn required_sku<'c>(catalog: &'c Catalog, event: &EntitlementEvent) -> Result<&'c Sku, Refusal> {
    let Some(id) = &event.sku_id else {
        return refuse(
            ReasonCode::MalformedEvent,
            format!("{} needs `sku_id`", event.event_type),
        );
    };
    let sku = known_sku(catalog, id)?;
    check_plan(sku, event)?;
    Ok(sku)
}

/// Lifecycle events other than purchase and plan change may name the SKU; if they do, it
/// must be the one the tenant holds.
fn same_sku<'c>(
    catalog: &'c Catalog,
    cur: &Entitlement,
    event: &EntitlementEvent,
) -> Result<&'c Sku, Refusal> {
    if let Some(id) = &event.sku_id
        && id != &cur.sku_id
    {
        known_sku(catalog, id)?;
        return refuse(
            ReasonCode::PlanMismatch,
            format!(
                "{} names SKU `{id}` but the tenant's entitlement is for `{}`",
                event.event_type, cur.sku_id
            ),
        );
    }
    let sku = known_sku(catalog, &cur.sku_id)?;
    check_plan(sku, event)?;
    Ok(sku)
}

fn check_plan(sku: &Sku, event: &EntitlementEvent) -> Result<(), Refusal> {
    match &event.plan_id {
        Some(plan) if plan != &sku.plan_id => refuse(
            ReasonCode::PlanMismatch,
            format!(
                "plan `{plan}` does not match SKU `{}` (plan `{}`)",
                sku.sku_id, sku.plan_id
            ),
        ),
        _ => Ok(()),
    }
}

fn check_expiry(expiry: Timestamp, now: Timestamp) -> Result<(), Refusal> {
    if expiry <= now {
        return refuse(
            ReasonCode::ExpiryInPast,
            format!("expiry {expiry} is not after now ({now})"),
        );
    }
    Ok(())
}

/// Builds the entitlement an activation or plan change grants, checking least privilege and
/// pack dependencies.
fn grant(
    catalog: &Catalog,
    sku: &Sku,
    event: &EntitlementEvent,
    expiry: Timestamp,
    status: Status,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    check_expiry(expiry, now)?;
    let packs: BTreeSet<PackId> = match &event.enabled_packs {
        Some(list) => list.iter().cloned().collect(),
        None => sku.enabled_packs.iter().cloned().collect(),
    };
    for pack in &packs {
        if catalog.pack(pack.as_str()).is_none() {
            return refuse(ReasonCode::UnknownPack, format!("unknown pack `{pack}`"));
        }
        if !sku.enabled_packs.contains(pack) {
            return refuse(
                ReasonCode::PackNotInSku,
                format!("pack `{pack}` is not part of SKU `{}`", sku.sku_id),
            );
        }
    }
    for pack in &packs {
        let Some(def) = catalog.pack(pack.as_str()) else {
            continue;
        };
        if let Some(missing) = def.requires.iter().find(|r| !packs.contains(*r)) {
            return refuse(
                ReasonCode::MissingRequiredPack,
                format!("pack `{pack}` requires `{missing}`, which is not enabled"),
            );
        }
        if let Some(clash) = def.incompatible_with.iter().find(|r| packs.contains(*r)) {
            return refuse(
                ReasonCode::IncompatiblePacks,
                format!("packs `{pack}` and `{clash}` cannot be enabled together"),
            );
        }
    }
    let roles: BTreeSet<Role> = match &event.iam_roles {
        Some(list) => list.iter().cloned().collect(),
        None => sku.iam_roles.iter().cloned().collect(),
    };
    if let Some(extra) = roles.iter().find(|r| !sku.iam_roles.contains(*r)) {
        return refuse(
            ReasonCode::RoleNotInSku,
            format!(
                "role `{extra}` is beyond what SKU `{}` grants (never escalate)",
                sku.sku_id
            ),
        );
    }
    Ok(Entitlement {
        sku_id: sku.sku_id.clone(),
        plan_id: sku.plan_id.clone(),
        enabled_packs: packs,
        iam_roles: roles,
        expiry,
        status,
        quantity: event.quantity,
        pending: None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Pack, Price, Sku, Storage, Term};

    fn pack(id: &str, requires: &[&str]) -> Pack {
        Pack {
            pack_id: PackId::new(id).unwrap(),
            version: "1.0.0".into(),
            description: id.into(),
            tools: vec![],
            signals: vec![],
            actions: vec![],
            required_iam_roles: vec![],
            requires: requires.iter().map(|r| PackId::new(*r).unwrap()).collect(),
            incompatible_with: vec![],
            receipt_events: vec![],
            storage: Storage::None,
            compute_limits: None,
        }
    }

    fn catalog() -> Catalog {
        let sku = Sku {
            sku_id: SkuId::new("pro").unwrap(),
            plan_id: PlanId::new("pro-tier").unwrap(),
            title: "Pro".into(),
            price: Price {
                amount: 299.0,
                currency: "USD".into(),
                period: Term::Monthly,
            },
            enabled_packs: vec![PackId::new("base").unwrap(), PackId::new("extra").unwrap()],
            iam_roles: vec![Role::new("read").unwrap()],
            term: Term::Monthly,
            recommended_for: None,
            marketplace: None,
        };
        Catalog::new(vec![pack("base", &[]), pack("extra", &["base"])], vec![sku])
    }

    /// `pro` plus a second SKU, `max`, with the same packs.
    fn two_skus() -> Catalog {
        let base = catalog();
        let pro = base.sku("pro").unwrap().clone();
        let max = Sku {
            sku_id: SkuId::new("max").unwrap(),
            plan_id: PlanId::new("max-tier").unwrap(),
            ..pro.clone()
        };
        Catalog::new(base.packs().to_vec(), vec![pro, max])
    }

    fn activate() -> EntitlementEvent {
        let mut e = EntitlementEvent::new(EventKind::Activated, TenantId::new("t").unwrap());
        e.sku_id = Some(SkuId::new("pro").unwrap());
        e
    }

    const NOW: Timestamp = Timestamp::from_secs(1_000_000);

    #[test]
    fn activation_defaults_to_sku_grants_and_one_term() {
        let e = resolve(&catalog(), None, &activate(), NOW).unwrap();
        assert_eq!(e.enabled_packs.len(), 2);
        assert_eq!(e.expiry, NOW.plus(Duration::from_secs(30 * 86_400)));
        assert_eq!(e.standing(NOW), Standing::Active);
    }

    #[test]
    fn refuses_escalation_and_dependency_gaps() {
        let cat = catalog();
        let mut ev = activate();
        ev.iam_roles = Some(vec![Role::new("admin").unwrap()]);
        assert_eq!(
            resolve(&cat, None, &ev, NOW).unwrap_err().code,
            ReasonCode::RoleNotInSku
        );
        let mut ev = activate();
        ev.enabled_packs = Some(vec![PackId::new("extra").unwrap()]);
        assert_eq!(
            resolve(&cat, None, &ev, NOW).unwrap_err().code,
            ReasonCode::MissingRequiredPack
        );
        let mut ev = activate();
        ev.expiry = Some(Timestamp::from_secs(5));
        assert_eq!(
            resolve(&cat, None, &ev, NOW).unwrap_err().code,
            ReasonCode::ExpiryInPast
        );
    }

    #[test]
    fn lifecycle_transitions() {
        let cat = catalog();
        let t = TenantId::new("t").unwrap();
        let e = resolve(&cat, None, &activate(), NOW).unwrap();
        let sus = resolve(
            &cat,
            Some(&e),
            &EntitlementEvent::new(EventKind::Suspended, t.clone()),
            NOW,
        )
        .unwrap();
        assert_eq!(sus.standing(NOW), Standing::Suspended);
        let again = resolve(
            &cat,
            Some(&sus),
            &EntitlementEvent::new(EventKind::Suspended, t.clone()),
            NOW,
        );
        assert_eq!(again.unwrap_err().code, ReasonCode::InvalidTransition);
        let back = resolve(
            &cat,
            Some(&sus),
            &EntitlementEvent::new(EventKind::Reinstated, t.clone()),
            NOW,
        )
        .unwrap();
        assert_eq!(back.standing(NOW), Standing::Active);
        let gone = resolve(
            &cat,
            Some(&back),
            &EntitlementEvent::new(EventKind::Cancelled, t.clone()),
            NOW,
        )
        .unwrap();
        assert_eq!(gone.visible_packs().count(), 0);
        let renew = resolve(
            &cat,
            Some(&gone),
            &EntitlementEvent::new(EventKind::Renewed, t),
            NOW,
        );
        assert_eq!(renew.unwrap_err().code, ReasonCode::NoEntitlement);
    }

    fn ev(kind: EventKind, sku: Option<&str>) -> EntitlementEvent {
        let mut e = EntitlementEvent::new(kind, TenantId::new("t").unwrap());
        e.sku_id = sku.map(|s| SkuId::new(s).unwrap());
        e
    }

    /// Applies each event in turn, failing on a refusal.
    fn run(cat: &Catalog, events: &[EntitlementEvent]) -> Entitlement {
        let mut cur: Option<Entitlement> = None;
        for e in events {
            cur = Some(resolve(cat, cur.as_ref(), e, NOW).unwrap_or_else(|r| panic!("{e:?}: {r}")));
        }
        cur.unwrap()
    }

    #[test]
    fn a_requested_purchase_grants_nothing_until_approved_and_is_then_confirmed() {
        let cat = two_skus();
        let pending = run(&cat, &[ev(EventKind::Requested, Some("pro"))]);
        assert_eq!(pending.standing(NOW), Standing::Pending);
        assert_eq!(pending.visible_packs().count(), 0);
        let approved = resolve(&cat, Some(&pending), &ev(EventKind::Approved, None), NOW).unwrap();
        assert_eq!(approved.standing(NOW), Standing::Active);
        assert_eq!(approved.pending, Some(Pending::Confirmation));
        assert_eq!(
            EventKind::Approved.effect(Some(&pending), &approved, NOW),
            EventKind::Activated
        );
        // The marketplace's activation confirms it rather than being refused as a repurchase.
        let confirmed = resolve(
            &cat,
            Some(&approved),
            &ev(EventKind::Activated, Some("pro")),
            NOW,
        )
        .unwrap();
        assert_eq!(confirmed.pending, None);
        assert_eq!(
            EventKind::Activated.effect(Some(&approved), &confirmed, NOW),
            EventKind::Synced
        );
        // Once confirmed, another activation is an invalid transition again.
        let again = resolve(
            &cat,
            Some(&confirmed),
            &ev(EventKind::Activated, Some("pro")),
            NOW,
        );
        assert_eq!(again.unwrap_err().code, ReasonCode::InvalidTransition);
    }

    #[test]
    fn the_marketplace_may_activate_a_request_nobody_approved_here() {
        let cat = two_skus();
        let e = run(
            &cat,
            &[
                ev(EventKind::Requested, Some("pro")),
                ev(EventKind::Activated, Some("pro")),
            ],
        );
        assert_eq!((e.standing(NOW), e.pending), (Standing::Active, None));
    }

    #[test]
    fn a_plan_change_request_takes_effect_when_the_marketplace_changes_the_plan() {
        let cat = two_skus();
        let e = run(
            &cat,
            &[
                ev(EventKind::Activated, Some("pro")),
                ev(EventKind::Requested, Some("max")),
            ],
        );
        assert_eq!(e.sku_id.as_str(), "pro");
        assert!(matches!(
            e.pending,
            Some(Pending::PlanChange {
                approved: false,
                ..
            })
        ));
        let approved = resolve(&cat, Some(&e), &ev(EventKind::Approved, None), NOW).unwrap();
        assert!(matches!(
            approved.pending,
            Some(Pending::PlanChange { approved: true, .. })
        ));
        assert_eq!(
            approved.sku_id.as_str(),
            "pro",
            "approval alone changes no plan"
        );
        let twice = resolve(&cat, Some(&approved), &ev(EventKind::Approved, None), NOW);
        assert_eq!(twice.unwrap_err().code, ReasonCode::InvalidTransition);
        let changed = resolve(
            &cat,
            Some(&approved),
            &ev(EventKind::PlanChanged, Some("max")),
            NOW,
        )
        .unwrap();
        assert_eq!((changed.sku_id.as_str(), changed.pending), ("max", None));
    }

    #[test]
    fn requests_can_be_withdrawn_and_approval_needs_a_request() {
        let cat = two_skus();
        let purchase = run(&cat, &[ev(EventKind::Requested, Some("pro"))]);
        let gone = resolve(&cat, Some(&purchase), &ev(EventKind::Withdrawn, None), NOW).unwrap();
        assert_eq!(gone.standing(NOW), Standing::Cancelled);
        let change = run(
            &cat,
            &[
                ev(EventKind::Activated, Some("pro")),
                ev(EventKind::Requested, Some("max")),
            ],
        );
        let kept = resolve(&cat, Some(&change), &ev(EventKind::Withdrawn, None), NOW).unwrap();
        assert_eq!((kept.sku_id.as_str(), &kept.pending), ("pro", &None));
        let nothing = resolve(&cat, Some(&kept), &ev(EventKind::Approved, None), NOW);
        assert_eq!(nothing.unwrap_err().code, ReasonCode::InvalidTransition);
        let none = resolve(&cat, None, &ev(EventKind::Approved, None), NOW);
        assert_eq!(none.unwrap_err().code, ReasonCode::NoEntitlement);
        let same = resolve(
            &cat,
            Some(&kept),
            &ev(EventKind::Requested, Some("pro")),
            NOW,
        );
        assert_eq!(same.unwrap_err().code, ReasonCode::InvalidTransition);
    }

    #[test]
    fn a_pending_cancellation_keeps_the_entitlement_until_the_marketplace_ends_it() {
        let cat = two_skus();
        let e = run(
            &cat,
            &[
                ev(EventKind::Activated, Some("pro")),
                ev(EventKind::CancellationPending, None),
            ],
        );
        assert_eq!(
            (e.standing(NOW), e.visible_packs().count()),
            (Standing::Active, 2)
        );
        let blocked = resolve(&cat, Some(&e), &ev(EventKind::Requested, Some("max")), NOW);
        assert_eq!(blocked.unwrap_err().code, ReasonCode::InvalidTransition);
        let back = resolve(
            &cat,
            Some(&e),
            &ev(EventKind::CancellationReverted, None),
            NOW,
        )
        .unwrap();
        assert_eq!(back.pending, None);
        let again = resolve(
            &cat,
            Some(&back),
            &ev(EventKind::CancellationReverted, None),
            NOW,
        );
        assert_eq!(again.unwrap_err().code, ReasonCode::InvalidTransition);
        let ended = resolve(&cat, Some(&e), &ev(EventKind::Cancelled, None), NOW).unwrap();
        assert_eq!(
            (ended.standing(NOW), ended.pending),
            (Standing::Cancelled, None)
        );
    }

    #[test]
    fn a_sync_buys_changes_renews_or_ends_whatever_the_tenant_holds() {
        let cat = two_skus();
        let later = NOW.plus(Duration::from_secs(90 * 86_400));
        let mut sync = ev(EventKind::Synced, Some("pro"));
        sync.quantity = Some(5);
        let bought = resolve(&cat, None, &sync, NOW).unwrap();
        assert_eq!(
            (bought.standing(NOW), bought.quantity),
            (Standing::Active, Some(5))
        );
        assert_eq!(
            EventKind::Synced.effect(None, &bought, NOW),
            EventKind::Activated
        );
        let same = resolve(
            &cat,
            Some(&bought),
            &ev(EventKind::Synced, Some("pro")),
            NOW,
        )
        .unwrap();
        assert_eq!(same, bought);
        assert_eq!(
            EventKind::Synced.effect(Some(&bought), &same, NOW),
            EventKind::Synced
        );
        let mut renew = ev(EventKind::Synced, Some("pro"));
        renew.expiry = Some(later);
        let renewed = resolve(&cat, Some(&bought), &renew, NOW).unwrap();
        assert_eq!(
            EventKind::Synced.effect(Some(&bought), &renewed, NOW),
            EventKind::Renewed
        );
        let moved = resolve(
            &cat,
            Some(&renewed),
            &ev(EventKind::Synced, Some("max")),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (moved.sku_id.as_str(), moved.expiry, moved.quantity),
            ("max", later, Some(5))
        );
        assert_eq!(
            EventKind::Synced.effect(Some(&renewed), &moved, NOW),
            EventKind::PlanChanged
        );
        let mut end = ev(EventKind::Synced, Some("max"));
        end.expiry = Some(Timestamp::from_secs(5));
        let ended = resolve(&cat, Some(&moved), &end, NOW).unwrap();
        assert_eq!(ended.standing(NOW), Standing::Expired);
        let mut stale = ev(EventKind::Synced, Some("max"));
        stale.expiry = Some(Timestamp::from_secs(5));
        assert_eq!(
            resolve(&cat, None, &stale, NOW).unwrap_err().code,
            ReasonCode::ExpiryInPast
        );
    }

    #[test]
    fn the_marketplace_can_end_an_entitlement_now() {
        let cat = two_skus();
        let e = run(
            &cat,
            &[
                ev(EventKind::Activated, Some("pro")),
                ev(EventKind::Expired, None),
            ],
        );
        assert_eq!((e.standing(NOW), e.expiry), (Standing::Expired, NOW));
        let again = resolve(&cat, Some(&e), &ev(EventKind::Expired, None), NOW);
        assert_eq!(again.unwrap_err().code, ReasonCode::InvalidTransition);
        let renewed = resolve(&cat, Some(&e), &ev(EventKind::Renewed, None), NOW).unwrap();
        assert_eq!(renewed.standing(NOW), Standing::Active);
    }

    #[test]
    fn open_ended_entitlements_renew_without_overflowing() {
        let cat = two_skus();
        let mut open = ev(EventKind::Activated, Some("pro"));
        open.expiry = Some(OPEN_ENDED);
        let e = run(&cat, &[open, ev(EventKind::Renewed, None)]);
        assert_eq!(e.expiry, OPEN_ENDED);
        assert_eq!(e.expiry.to_string(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn old_records_without_the_new_fields_still_read() {
        let e: Entitlement = serde_json::from_value(serde_json::json!({
            "sku_id": "pro", "plan_id": "pro-tier", "enabled_packs": [], "iam_roles": [],
            "expiry": "2026-01-01T00:00:00.000Z", "status": "active"
        }))
        .unwrap();
        assert_eq!((e.quantity, &e.pending), (None, &None));
        let back = serde_json::to_value(&e).unwrap();
        assert!(back.get("pending").is_none() && back.get("quantity").is_none());
    }

    #[test]
    fn malformed_event_keeps_tenant() {
        let v = serde_json::json!({"event_type": "entitlement.exploded", "tenant_id": "acme"});
        let err = parse_event(&v).unwrap_err();
        assert_eq!(err.tenant.unwrap().as_str(), "acme");
    }
}
