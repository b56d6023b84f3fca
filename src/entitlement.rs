//! Entitlements: the marketplace's lifecycle events and the resolver that turns them into a
//! tenant's enabled packs, granted roles and expiry.
//!
//! The resolver is a pure function of (catalog, current entitlement, event, now): it either
//! returns the new entitlement or a refusal with a reason code, and never escalates: an event
//! may grant at most the packs and roles its SKU includes.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Sku};
use crate::clock::Timestamp;
use crate::diagnostics::Diagnostic;
use crate::ids::{PackId, PlanId, Role, SkuId, TenantId};
use crate::intake::{self, Reading};
use crate::vocab::{ReasonCode, vocabulary};

vocabulary! {
    /// The lifecycle events a marketplace sends.
    pub enum EventKind ("entitlement event type") {
        /// A purchase: a new entitlement (or a new one after cancellation or expiry).
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
    /// The SKU purchased (required for activation and plan changes).
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
        }
    }
}

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
}

impl Entitlement {
    /// The standing at `now`: cancellation beats expiry beats suspension.
    pub fn standing(&self, now: Timestamp) -> Standing {
        match self.status {
            Status::Cancelled => Standing::Cancelled,
            _ if self.expiry <= now => Standing::Expired,
            Status::Suspended => Standing::Suspended,
            Status::Active => Standing::Active,
        }
    }

    /// Packs whose tools are visible: every enabled pack unless cancelled. A suspended or
    /// expired entitlement keeps its tools listed so a call gets a clear gate-1 refusal.
    pub fn visible_packs(&self) -> impl Iterator<Item = &PackId> {
        let live = self.status != Status::Cancelled;
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

/// Applies `event` to `current` at `now`, returning the new entitlement or a refusal.
pub fn resolve(
    catalog: &Catalog,
    current: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    let live = current.filter(|e| !matches!(e.standing(now), Standing::Cancelled));
    match event.event_type {
        EventKind::Activated => {
            if let Some(cur) = live.filter(|e| e.standing(now) != Standing::Expired) {
                return refuse(
                    ReasonCode::InvalidTransition,
                    format!(
                        "tenant already has a {} entitlement for `{}`; send entitlement.plan_changed to change plans",
                        cur.standing(now),
                        cur.sku_id
                    ),
                );
            }
            let sku = required_sku(catalog, event)?;
            let expiry = event.expiry.unwrap_or_else(|| term_end(sku, now));
            grant(catalog, sku, event, expiry, Status::Active, now)
        }
        EventKind::PlanChanged => {
            let cur = require_live(live, now, event.event_type)?;
            let sku = required_sku(catalog, event)?;
            let expiry = event.expiry.unwrap_or(cur.expiry);
            grant(catalog, sku, event, expiry, cur.status, now)
        }
        EventKind::Renewed => {
            let cur = require(live, event.event_type)?;
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
            let cur = require_live(live, now, event.event_type)?;
            same_sku(catalog, cur, event)?;
            if cur.status == Status::Suspended {
                return refuse(
                    ReasonCode::InvalidTransition,
                    "entitlement is already suspended",
                );
            }
            Ok(Entitlement {
                status: Status::Suspended,
                ..cur.clone()
            })
        }
        EventKind::Reinstated => {
            let cur = require(live, event.event_type)?;
            same_sku(catalog, cur, event)?;
            if cur.status != Status::Suspended {
                return refuse(
                    ReasonCode::InvalidTransition,
                    "only a suspended entitlement can be reinstated",
                );
            }
            Ok(Entitlement {
                status: Status::Active,
                ..cur.clone()
            })
        }
        EventKind::Cancelled => {
            let cur = require(live, event.event_type)?;
            same_sku(catalog, cur, event)?;
            Ok(Entitlement {
                status: Status::Cancelled,
                ..cur.clone()
            })
        }
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
    if !expiry.in_range() {
        return refuse(
            ReasonCode::ExpiryOutOfRange,
            format!(
                "expiry {expiry} is past {}, the last time a receipt can record",
                Timestamp::MAX
            ),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Pack, Price, Sku, Storage, Term};

    #[test]
    fn event_kinds_and_standings_round_trip() {
        crate::vocab::tests::round_trips(&EventKind::ALL, EventKind::as_str);
        crate::vocab::tests::round_trips(&Standing::ALL, Standing::as_str);
    }

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
        };
        Catalog::new(vec![pack("base", &[]), pack("extra", &["base"])], vec![sku])
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
        for late in [
            Timestamp::from_secs(253_402_300_800),
            Timestamp::from_millis(u64::MAX),
        ] {
            let mut ev = activate();
            ev.expiry = Some(late);
            assert_eq!(
                resolve(&cat, None, &ev, NOW).unwrap_err().code,
                ReasonCode::ExpiryOutOfRange
            );
        }
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

    #[test]
    fn malformed_event_keeps_tenant() {
        let v = serde_json::json!({"event_type": "entitlement.exploded", "tenant_id": "acme"});
        let err = parse_event(&v).unwrap_err();
        assert_eq!(err.tenant.unwrap().as_str(), "acme");
    }
}
