//! The marketplace webhooks when records are missing or late: `POST /v1/marketplace/{m}`
//! must not end or change an entitlement for want of a record, and must answer so that the
//! marketplace delivers again (422) until the record is there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{self, ADMIN};
use crate::http::{Server, error_code, get, post, state_dir};

fn fixture(rel: &str) -> PathBuf {
    common::fixture("marketplace").join(rel)
}

fn notification(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(rel)).unwrap()).unwrap()
}

/// `tai serve` over the marketplace fixture catalog, mapping through `records`, at `now`.
fn serve_marketplace(state: &std::path::Path, records: &std::path::Path, now: &str) -> Server {
    let catalog = fixture("catalog");
    Server::start(
        state,
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--marketplace-records",
            records.to_str().unwrap(),
            "--now",
            now,
        ],
    )
}

/// An AWS contract bought through `tai event import`, then `tai serve` without records: a
/// contract update cannot be looked up, so it is 422 and the contract stands.
#[tokio::test(flavor = "multi_thread")]
async fn an_aws_contract_update_without_records_ends_nothing() {
    let (_d, state) = state_dir();
    let catalog = fixture("catalog");
    let catalog = catalog.to_str().unwrap();
    common::tai_state(
        &state,
        &[
            "--now",
            "2026-03-01T12:00:00Z",
            "--catalog",
            catalog,
            "event",
            "import",
            "--from",
            "aws",
            "--resources",
            fixture("aws/resources/base_contract.json")
                .to_str()
                .unwrap(),
            fixture("aws/subscribe_success.json").to_str().unwrap(),
        ],
    )
    .ok();
    let s = Server::start(
        &state,
        &["--catalog", catalog, "--now", "2026-03-02T12:00:00Z"],
    );
    let r = post(
        &s,
        Some(ADMIN),
        "/v1/marketplace/aws",
        &notification("aws/entitlement_updated.json"),
    )
    .await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "missing_marketplace_record"
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no AWS GetEntitlements answer for customer `X01CONTRACT7`")
            && message.contains("with --marketplace-records"),
        "{message}"
    );
    let t = get(&s, Some(ADMIN), "/v1/tenants/X01CONTRACT7").await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.body["entitlement"]["standing"], "active", "{}", t.body);
    assert_eq!(t.body["entitlement"]["sku_id"], "rollback-guard-base");
}

/// Routine GCP news that changes nothing (a second word of a pending cancellation, an
/// activation the entitlement resource says is over) is acknowledged with 200, recorded, so
/// that Pub/Sub stops delivering it.
#[tokio::test(flavor = "multi_thread")]
async fn gcp_news_that_changes_nothing_is_acknowledged() {
    let (_d, state) = state_dir();
    let catalog = fixture("catalog");
    let records = fixture("gcp/resources");
    let s = serve_marketplace(&state, &records, "2026-06-16T12:00:00Z");
    let gcp = "/v1/marketplace/gcp";
    for file in [
        "02_entitlement_active",
        "11_entitlement_pending_cancellation",
    ] {
        let r = post(
            &s,
            Some(ADMIN),
            gcp,
            &notification(&format!("gcp/{file}.json")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{file}: {}", r.body);
    }
    let r = post(
        &s,
        Some(ADMIN),
        gcp,
        &notification("gcp/13_entitlement_cancelling.json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "accepted");
    assert!(
        r.body["outcome"]["unchanged"]
            .as_str()
            .unwrap()
            .starts_with("a cancellation is already pending"),
        "{}",
        r.body
    );
    drop(s);

    let (_d2, state2) = state_dir();
    let cancelled = fixture("gcp/resources/ent-0001@2026-07-01T00-00-00.json");
    let s = Server::start(
        &state2,
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--marketplace-records",
            cancelled.to_str().unwrap(),
            "--now",
            "2026-07-02T12:00:00Z",
        ],
    );
    let r = post(
        &s,
        Some(ADMIN),
        gcp,
        &notification("gcp/02_entitlement_active.json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["unchanged"]
            .as_str()
            .unwrap()
            .contains("ENTITLEMENT_CANCELLED"),
        "{}",
        r.body
    );
    let t = get(&s, Some(ADMIN), "/v1/tenants/acct-1001").await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert!(t.body["entitlement"].is_null(), "{}", t.body);
}

/// A record added while the server runs is found by the marketplace's next delivery: a
/// lookup that misses reads the records again when their files changed. A record file that
/// cannot be read is named in the miss, and the records read before stand.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_added_while_serving_is_found_by_the_next_delivery() {
    let (_d, state) = state_dir();
    let records = tempfile::tempdir().unwrap();
    let s = serve_marketplace(&state, records.path(), "2026-03-01T10:00:05Z");
    let gcp = "/v1/marketplace/gcp";
    let sent = notification("gcp/01_entitlement_creation_requested.json");
    let r = post(&s, Some(ADMIN), gcp, &sent).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "missing_marketplace_record"
    );

    // A file that is no record: named, and still a miss.
    std::fs::write(records.path().join("broken.json"), "{").unwrap();
    let r = post(&s, Some(ADMIN), gcp, &sent).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "missing_marketplace_record"
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("read again and could not be") && message.contains("broken.json"),
        "{message}"
    );

    std::fs::remove_file(records.path().join("broken.json")).unwrap();
    let name = "ent-0001@2026-03-01T10-00-00.json";
    std::fs::copy(
        fixture(&format!("gcp/resources/{name}")),
        records.path().join(name),
    )
    .unwrap();
    let r = post(&s, Some(ADMIN), gcp, &sent).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "accepted", "{}", r.body);
}

/// A record that is there but unusable (an account name whose last segment is no tenant id)
/// is not "missing": it is answered as invalid, naming the record, and nothing is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_record_is_invalid_not_missing() {
    let (_d, state) = state_dir();
    let records = tempfile::tempdir().unwrap();
    let name = "ent-0001@2026-03-01T10-00-00.json";
    let mut resource: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("gcp/resources/{name}"))).unwrap(),
    )
    .unwrap();
    resource["account"] = "providers/acme-provider/accounts/..".into();
    std::fs::write(records.path().join(name), resource.to_string()).unwrap();
    let s = serve_marketplace(&state, records.path(), "2026-03-01T10:00:05Z");
    let sent = notification("gcp/01_entitlement_creation_requested.json");
    let r = post(&s, Some(ADMIN), "/v1/marketplace/gcp", &sent).await;
    assert_eq!(
        error_code(&r, StatusCode::UNPROCESSABLE_ENTITY),
        "invalid_marketplace_record"
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("GCP entitlement"), "{message}");
    let t = get(&s, Some(ADMIN), "/v1/tenants").await;
    assert_eq!(t.body["tenants"], serde_json::json!([]), "{}", t.body);
}

/// A webhook body that gives one key twice is ambiguous (a proxy in front may read the first
/// value, a JSON library the last): refused as a bad body, nothing recorded for either tenant.
#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_body_with_a_key_given_twice_is_refused() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    let body = r#"{"event_type":"entitlement.activated","tenant_id":"beta","tenant_id":"acme","sku_id":"rollback-guard-base"}"#;
    let r = crate::http::send(
        reqwest::Client::new()
            .post(s.url("/v1/events"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the key `tenant_id` is given twice"),
        "{message}"
    );
    let text = notification("azure/subscribe.json").to_string().replacen(
        "\"subscriptionId\"",
        "\"subscriptionId\":\"other\",\"subscriptionId\"",
        1,
    );
    let r = crate::http::send(
        reqwest::Client::new()
            .post(s.url("/v1/marketplace/azure"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(text),
    )
    .await;
    assert_eq!(error_code(&r, StatusCode::BAD_REQUEST), "invalid_body");
    let t = get(&s, Some(ADMIN), "/v1/tenants").await;
    assert_eq!(t.body["tenants"], serde_json::json!([]), "{}", t.body);
}
