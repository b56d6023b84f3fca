//! Unit tests of the lifecycle vocabulary and the resolver.

use super::*;
use std::time::Duration;

use crate::catalog::{Catalog, Pack, Price, Sku, Storage, Term};

#[test]
fn event_kinds_standings_and_marketplaces_round_trip() {
    crate::vocab::tests::round_trips(&EventKind::ALL, EventKind::as_str);
    crate::vocab::tests::round_trips(&Standing::ALL, Standing::as_str);
    crate::vocab::tests::round_trips(&Marketplace::ALL, Marketplace::as_str);
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

#[test]
fn a_marketplace_event_that_changes_nothing_says_why_and_tai_s_own_does_not() {
    let cat = catalog();
    let at = |secs| Some(Timestamp::from_secs(secs));
    let from_gcp = |kind, changed| {
        let mut e = ev(kind, None);
        e.source = Some(Marketplace::Gcp);
        e.changed_at = changed;
        e
    };
    let mut bought = activate();
    bought.changed_at = at(500);
    let active = resolve(&cat, None, &bought, NOW).unwrap();
    assert_eq!(active.changed_at, at(500), "the change applied is kept");
    let approve = resolve(&cat, Some(&active), &ev(EventKind::Renewed, None), NOW).unwrap();
    assert_eq!(
        approve.changed_at,
        at(500),
        "an event without a time keeps it"
    );

    // Older than the latest change applied: stale, whatever it says.
    let late = from_gcp(EventKind::Suspended, at(400));
    let note = unchanged(Some(&active), &late, NOW).unwrap();
    assert!(note.contains("stale"), "{note}");
    assert_eq!(
        unchanged(Some(&active), &from_gcp(EventKind::Suspended, at(600)), NOW),
        None
    );

    // Already where it would take it.
    let cancel = from_gcp(EventKind::Cancelled, at(700));
    let cancelled = resolve(&cat, Some(&active), &cancel, NOW).unwrap();
    let again = from_gcp(EventKind::Cancelled, at(800));
    assert!(
        unchanged(Some(&cancelled), &again, NOW)
            .unwrap()
            .starts_with("the entitlement is already cancelled")
    );
    // tai's own event (no `source`) is decided by the resolver, which refuses it.
    let own = ev(EventKind::Cancelled, None);
    assert_eq!(unchanged(Some(&cancelled), &own, NOW), None);
    assert!(resolve(&cat, Some(&cancelled), &own, NOW).is_err());
    // Nothing to compare with: the resolver decides.
    assert_eq!(unchanged(None, &again, NOW), None);
}
