//! The resolver: (catalog, current entitlement, event, now) → the new entitlement or a
//! refusal, never granting more than the event's SKU includes.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::catalog::{Catalog, Sku};

/// Applies `event` to `current` at `now`, returning the new entitlement or a refusal.
pub fn resolve(
    catalog: &Catalog,
    current: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Result<Entitlement, Refusal> {
    let mut new = transition(catalog, current, event, now)?;
    new.changed_at = current.and_then(|c| c.changed_at).max(event.changed_at);
    Ok(new)
}

/// Why a marketplace's event changes nothing, when it does not: it is older than the latest
/// change applied, or the entitlement already stands where the event would take it (a
/// redelivery under a new id, two notifications for one change). Marketplaces deliver at
/// least once and in no order, and each notification says what the entitlement now is, so
/// such an event is accepted as it stands rather than refused (a refusal makes the
/// marketplace deliver it again, for days). Events sent as tai's own (`tai event`, no
/// `source`) are always decided by [`resolve`].
pub fn unchanged(
    current: Option<&Entitlement>,
    event: &EntitlementEvent,
    now: Timestamp,
) -> Option<String> {
    let source = event.source?;
    let cur = current?;
    let kind = event.event_type;
    if let (Some(at), Some(applied)) = (event.changed_at, cur.changed_at)
        && at < applied
    {
        return Some(format!(
            "{source}'s change of {at} is older than the latest one applied ({applied}): \
             {kind} is stale, nothing changes"
        ));
    }
    let already = match kind {
        EventKind::Cancelled | EventKind::Withdrawn if cur.status == Status::Cancelled => {
            "the entitlement is already cancelled"
        }
        EventKind::CancellationPending
            if cur.status != Status::Cancelled && cur.pending == Some(Pending::Cancellation) =>
        {
            "a cancellation is already pending"
        }
        EventKind::Suspended if cur.status == Status::Suspended => {
            "the entitlement is already suspended"
        }
        EventKind::Expired
            if cur.status != Status::Cancelled && cur.standing(now) == Standing::Expired =>
        {
            "the entitlement has already expired"
        }
        _ => return None,
    };
    Some(format!("{already}: {kind} from {source} changes nothing"))
}

fn transition(
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
            let expiry = match event.expiry {
                Some(expiry) => expiry,
                // One the marketplace ends itself has no term to extend.
                None if cur.expiry == OPEN_ENDED => OPEN_ENDED,
                None => term_end(sku, cur.expiry.max(now)),
            };
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
    let standing = cur.standing(now).to_string();
    let article = if standing.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    invalid(format!(
        "tenant already has {article} {standing} entitlement for `{}`; send \
         entitlement.plan_changed to change plans",
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
        || {
            let hint = crate::diagnostics::did_you_mean(
                id.as_str(),
                catalog.skus().iter().map(|s| s.sku_id.as_str()),
            );
            refuse(
                ReasonCode::UnknownSku,
                match hint {
                    Some(hint) => format!("unknown SKU `{id}`; {hint}"),
                    None => format!("unknown SKU `{id}`"),
                },
            )
        },
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
        quantity: event.quantity,
        pending: None,
        changed_at: None,
    })
}
