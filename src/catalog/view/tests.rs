//! The views over the shipped catalog: lookups, prices, tool surfaces, summaries and diffs.

use super::*;
use crate::catalog::{Catalog, Price, Term, builtin, load};

fn shipped() -> Catalog {
    load::build(&builtin::sources()).unwrap()
}

#[test]
fn money_is_grouped_and_signed() {
    assert_eq!(format_money(299_900, "USD"), "$2,999.00");
    assert_eq!(format_money(2_900, "USD"), "$29.00");
    assert_eq!(format_money(-1_050, "EUR"), "-€10.50");
    assert_eq!(format_money(123_456_789, "CHF"), "CHF 1,234,567.89");
    assert_eq!(format_money(0, "USD"), "$0.00");
}

#[test]
fn unknown_ids_suggest_the_nearest() {
    let c = shipped();
    let err = find_sku(&c, "rollback-guard-pro").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown SKU `rollback-guard-pro`; did you mean `rollback-guard-professional`?"
    );
    assert_eq!(err.known.len(), 4);
    let err = find_pack(&c, "nothing_like_it").unwrap_err();
    assert_eq!(err.to_string(), "unknown pack `nothing_like_it`");
}

#[test]
fn professional_cannot_throttle() {
    let c = shipped();
    let sku = c.sku("rollback-guard-professional").unwrap();
    let tools = sku_tools(&c, sku);
    let throttle = tools
        .iter()
        .find(|t| t.name.as_str() == "ac_throttle_config")
        .unwrap();
    assert!(!throttle.usable);
    let missing: Vec<&str> = throttle.missing_roles.iter().map(|r| r.as_str()).collect();
    assert_eq!(missing, ["write_config"]);
    let unusable = unusable_actions(&c, sku);
    let ids: Vec<&str> = unusable.iter().map(|u| u.action.as_str()).collect();
    assert_eq!(ids, ["activate_throttle", "adjust_throttle"]);
}

#[test]
fn base_to_professional_is_the_upsell_story() {
    let c = shipped();
    let base = c.sku("rollback-guard-base").unwrap();
    let pro = c.sku("rollback-guard-professional").unwrap();
    let d = sku_diff(&c, base, pro);
    assert_eq!(d.packs.added, ["rollback_guard", "storm_discipline"]);
    assert!(d.packs.removed.is_empty());
    assert_eq!(d.roles.added, ["read_audit_trail", "write_rollback"]);
    assert_eq!(d.price.delta_cents, Some(27_000));
    assert_eq!(d.price.delta_label.as_deref(), Some("+$270.00/mo"));
    assert_eq!(d.price.percent, Some(931.0));
    let added: Vec<&str> = d.tools.added.iter().map(|t| t.name.as_str()).collect();
    assert!(added.contains(&"ac_rollback_orchestrator"));
    assert!(added.contains(&"ac_storm_detector"));
    let unlocked: Vec<&str> = d.usability.added.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(unlocked, ["ac_audit_trail_export"]);

    let back = sku_diff(&c, pro, base);
    assert_eq!(back.packs.removed, ["rollback_guard", "storm_discipline"]);
    assert_eq!(back.price.delta_label.as_deref(), Some("-$270.00/mo"));
    assert!(sku_diff(&c, pro, pro).is_empty());
}

#[test]
fn prices_over_different_periods_compare_per_month() {
    let monthly = Price {
        amount: 299.0,
        currency: "USD".into(),
        period: Term::Monthly,
    };
    let annual = Price {
        amount: 2400.0,
        currency: "USD".into(),
        period: Term::Annual,
    };
    let change = price_change(&monthly, &annual);
    assert_eq!(change.period, Term::Monthly);
    assert_eq!(change.delta_cents, Some(20_000 - 29_900));
    let euro = Price {
        currency: "EUR".into(),
        ..monthly.clone()
    };
    assert_eq!(price_change(&monthly, &euro).delta_cents, None);
}

#[test]
fn preconditions_read_as_one_line() {
    let c = shipped();
    let pack = c.pack("iam_drift_guard").unwrap();
    let action = pack
        .actions
        .iter()
        .find(|a| a.id.as_str() == "remediate_drift")
        .unwrap();
    let lines: Vec<String> = action
        .preconditions
        .iter()
        .map(precondition_summary)
        .collect();
    assert_eq!(lines[0], "drift_detected = true → drift_not_detected");
    assert_eq!(
        lines[2],
        "iam_service_reachable = true (default true) → iam_service_unreachable"
    );
}
