//! Marketplace notifications as they are really delivered, through `tai event import`: records
//! that are missing, notifications out of order or repeated, operations that fail after they
//! were applied. None of them may end, resurrect or change an entitlement by accident.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::marketplace::{Ws, code, fixture, json, text};

const CUSTOMER: &str = "X01CONTRACT7";

/// A contract bought on the base dimension.
fn aws_contract() -> Ws {
    let ws = Ws::new();
    ws.accept(
        "2026-03-01T12:00:00Z",
        "aws",
        Some("aws/resources/base_contract.json"),
        "aws/subscribe_success.json",
    );
    ws
}

fn only(report: &Value) -> &Value {
    assert_eq!(report["results"].as_array().unwrap().len(), 1, "{report:#}");
    &report["results"][0]
}

fn message(result: &Value) -> &str {
    result["error"]["message"].as_str().unwrap()
}

#[test]
fn an_aws_contract_update_without_its_records_is_invalid_and_the_contract_stands() {
    let ws = aws_contract();
    let now = "2026-03-02T12:00:00Z";
    let dir = ws.dir.path();
    // Records for another customer, and an answer that names nobody: neither says that this
    // customer has nothing left.
    let other = dir.join("other.json");
    std::fs::write(
        &other,
        json!({"Entitlements": [{"ProductCode": "4jt6ebkoa2q9r7contract1x",
            "CustomerIdentifier": "X01SOMEONE", "Dimension": "BaseTier"}]})
        .to_string(),
    )
    .unwrap();
    let nobody = dir.join("nobody.json");
    std::fs::write(&nobody, json!({"Entitlements": []}).to_string()).unwrap();
    for resources in [None, other.to_str(), nobody.to_str()] {
        let (c, report) = ws.import(now, "aws", resources, &["aws/entitlement_updated.json"]);
        assert_eq!(c, 2, "{resources:?}: {report:#}");
        let r = only(&report);
        assert_eq!(r["status"], "invalid", "{r:#}");
        assert!(
            message(r).contains(&format!(
                "no AWS GetEntitlements answer for customer `{CUSTOMER}` of product `4jt6ebkoa2q9r7contract1x`"
            )) && message(r).contains("with --resources"),
            "{r:#}"
        );
        let s = ws.state(now, CUSTOMER);
        assert_eq!(
            (&s["entitlement"]["standing"], &s["entitlement"]["sku_id"]),
            (&json!("active"), &json!("rollback-guard-base")),
            "{s:#}"
        );
    }
    // Nothing was recorded for the failed lookups: the purchase is the last receipt.
    let shown = text(&ws.ok(now, &["receipts", "show", "--tenant", CUSTOMER]));
    assert!(!shown.contains("entitlement_update_refused"), "{shown}");

    // An answer naming the customer with no record: the contract ended.
    let r = ws.accept(
        now,
        "aws",
        Some("aws/resources/no_contract.json"),
        "aws/entitlement_updated.json",
    );
    assert_eq!(r["event"]["event_type"], "entitlement.expired");
    assert_eq!(
        ws.state(now, CUSTOMER)["entitlement"]["standing"],
        "expired"
    );
}

#[test]
fn the_human_report_of_a_missing_aws_answer_names_what_to_give() {
    let ws = aws_contract();
    let out = ws.tai(
        "2026-03-02T12:00:00Z",
        &[
            "event",
            "import",
            "--from",
            "aws",
            &fixture("aws/entitlement_updated.json"),
        ],
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    let said = text(&out);
    assert!(
        !said.contains("accepted:") && !said.contains("expired accepted"),
        "{said}"
    );
    assert!(
        said.contains(": invalid: no AWS GetEntitlements answer"),
        "{said}"
    );
    assert!(
        said.contains("0 accepted, 0 refused, 0 unmappable, 1 invalid"),
        "{said}"
    );
}

#[test]
fn a_contract_purchase_without_its_record_says_the_record_is_missing() {
    for (resources, said) in [
        (
            None,
            "no AWS GetEntitlements answer for customer `X01CONTRACT7`",
        ),
        (
            Some("aws/resources/no_contract.json"),
            "no AWS entitlement record for customer `X01CONTRACT7` of product \
             `4jt6ebkoa2q9r7contract1x`: GetEntitlements answers none",
        ),
    ] {
        let ws = Ws::new();
        let (c, report) = ws.import(
            "2026-03-01T12:00:00Z",
            "aws",
            resources,
            &["aws/subscribe_success.json"],
        );
        assert_eq!(c, 2, "{resources:?}: {report:#}");
        let r = only(&report);
        assert_eq!(r["status"], "invalid");
        let m = message(r);
        assert!(m.contains(said) && !m.contains("add the listing"), "{m}");
        let all = json(&ws.tai("2026-03-01T12:00:00Z", &["state", "--format", "json"]));
        assert_eq!(all, json!({ "tenants": [] }), "nothing recorded");
    }
}
