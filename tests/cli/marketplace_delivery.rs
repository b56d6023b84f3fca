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

// ---------------------------------------------------------------- GCP: late and repeated news

const GCP_RES: &str = "gcp/resources";

/// A Pub/Sub push body for GCP entitlement `ent` as Google sends it.
pub(crate) fn gcp_push(event_id: &str, kind: &str, ent: &str, update_time: &str) -> Value {
    use base64::Engine as _;
    let data = json!({
        "eventId": event_id,
        "eventType": kind,
        "entitlement": {"id": ent, "updateTime": update_time}
    });
    json!({
        "message": {
            "data": base64::engine::general_purpose::STANDARD.encode(data.to_string()),
            "messageId": format!("m-{event_id}"),
            "publishTime": update_time
        },
        "subscription": "projects/p/subscriptions/s"
    })
}

/// Writes `value` into the workspace's directory as `name`; its path.
fn write(ws: &Ws, name: &str, value: &Value) -> String {
    let path = ws.dir.path().join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.display().to_string()
}

fn statuses(report: &Value) -> Vec<&str> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

#[test]
fn a_gcp_activation_whose_resource_is_cancelled_grants_nothing() {
    let ws = Ws::new();
    let now = "2026-07-02T12:00:00Z";
    let (c, report) = ws.import(
        now,
        "gcp",
        Some("gcp/resources/ent-0001@2026-07-01T00-00-00.json"),
        &["gcp/02_entitlement_active.json"],
    );
    assert_eq!(c, 0, "{report:#}");
    let r = only(&report);
    assert_eq!(r["status"], "accepted");
    assert!(r.get("event").is_none(), "{r:#}");
    let note = r["unchanged"].as_str().unwrap();
    assert!(
        note.contains("ENTITLEMENT_ACTIVE for GCP entitlement `ent-0001`")
            && note.contains("`ENTITLEMENT_CANCELLED`"),
        "{note}"
    );
    assert_eq!(r["outcome"]["unchanged"], note);
    assert_eq!(
        r["outcome"]["receipts"][0]["event_type"],
        "entitlement_updated"
    );
    let s = ws.state(now, "acct-1001");
    assert!(s["entitlement"].is_null(), "{s:#}");
    assert!(super::marketplace::tools(&s).is_empty());
    // Said so in the human report too.
    let out = ws.tai(
        now,
        &[
            "event",
            "import",
            "--from",
            "gcp",
            "--resources",
            &fixture("gcp/resources/ent-0001@2026-07-01T00-00-00.json"),
            &fixture("gcp/02_entitlement_active.json"),
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(
        text(&out).contains(": accepted, unchanged — ENTITLEMENT_ACTIVE"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_gcp_activation_delivered_after_the_cancellation_does_not_resurrect() {
    let ws = Ws::new();
    let now = "2026-07-02T12:00:00Z";
    let files = [
        "gcp/01_entitlement_creation_requested.json",
        "gcp/14_entitlement_cancelled.json",
        "gcp/02_entitlement_active.json",
    ];
    let (c, report) = ws.import(now, "gcp", Some(GCP_RES), &files);
    assert_eq!(c, 0, "{report:#}");
    assert_eq!(statuses(&report), ["accepted"; 3]);
    let late = &report["results"][2];
    assert_eq!(late["event"]["event_type"], "entitlement.activated");
    let note = late["outcome"]["unchanged"].as_str().unwrap();
    assert!(
        note.contains("older than the latest one applied") && note.contains("stale"),
        "{note}"
    );
    let s = ws.state(now, "acct-1001");
    assert_eq!(s["entitlement"]["standing"], "cancelled", "{s:#}");
    assert!(super::marketplace::tools(&s).is_empty());
    // Delivered again: the same answer, nothing written.
    let (c, again) = ws.import(now, "gcp", Some(GCP_RES), &[files[2]]);
    assert_eq!(c, 0, "{again:#}");
    assert_eq!(only(&again)["outcome"]["unchanged"], note);
    assert_eq!(only(&again)["outcome"]["receipts"], json!([]));
    ws.ok(now, &["receipts", "verify", "--tenant", "acct-1001"]);
}

#[test]
fn a_gcp_deletion_after_the_cancellation_is_accepted_and_changes_nothing() {
    let ws = Ws::new();
    let now = "2026-07-02T12:00:00Z";
    let deleted = write(
        &ws,
        "del.json",
        &gcp_push(
            "del-1",
            "ENTITLEMENT_DELETED",
            "ent-0001",
            "2026-07-02T00:00:00Z",
        ),
    );
    let (c, report) = ws.import(
        now,
        "gcp",
        Some(GCP_RES),
        &[
            "gcp/02_entitlement_active.json",
            "gcp/14_entitlement_cancelled.json",
            &deleted,
        ],
    );
    assert_eq!(c, 0, "{report:#}");
    assert_eq!(statuses(&report), ["accepted"; 3]);
    let del = &report["results"][2];
    assert_eq!(del["event"]["event_type"], "entitlement.cancelled");
    assert!(
        del["outcome"]["unchanged"]
            .as_str()
            .unwrap()
            .starts_with("the entitlement is already cancelled"),
        "{del:#}"
    );
    assert_eq!(
        del["outcome"]["receipts"][0]["event_type"],
        "entitlement_updated"
    );
    assert_eq!(
        ws.state(now, "acct-1001")["entitlement"]["standing"],
        "cancelled"
    );
}

#[test]
fn a_gcp_cancelling_after_a_pending_cancellation_is_accepted_and_changes_nothing() {
    let ws = Ws::new();
    let now = "2026-06-16T12:00:00Z";
    let (c, report) = ws.import(
        now,
        "gcp",
        Some(GCP_RES),
        &[
            "gcp/02_entitlement_active.json",
            "gcp/11_entitlement_pending_cancellation.json",
            "gcp/13_entitlement_cancelling.json",
        ],
    );
    assert_eq!(c, 0, "{report:#}");
    assert_eq!(statuses(&report), ["accepted"; 3]);
    assert!(
        report["results"][2]["outcome"]["unchanged"]
            .as_str()
            .unwrap()
            .starts_with("a cancellation is already pending"),
        "{report:#}"
    );
    let s = ws.state(now, "acct-1001");
    assert_eq!(
        (
            &s["entitlement"]["standing"],
            &s["entitlement"]["pending"]["kind"]
        ),
        (&json!("active"), &json!("cancellation"))
    );
    ws.ok(now, &["receipts", "verify", "--tenant", "acct-1001"]);
}

#[test]
fn tai_s_own_events_are_still_refused_when_they_change_nothing() {
    // Only marketplace notifications, delivered at least once and in no order, are taken as
    // they stand; an operator's own second cancellation is a mistake worth saying.
    let ws = Ws::new();
    let now = "2026-03-01T12:00:00Z";
    ws.accept(now, "gcp", Some(GCP_RES), "gcp/02_entitlement_active.json");
    ws.accept(
        now,
        "gcp",
        Some(GCP_RES),
        "gcp/14_entitlement_cancelled.json",
    );
    let event = write(
        &ws,
        "cancel.json",
        &json!({"event_type": "entitlement.cancelled", "tenant_id": "acct-1001"}),
    );
    let out = ws.tai(now, &["event", "--file", &event, "--format", "json"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert_eq!(json(&out)["refusal"]["code"], "no_entitlement");
}

// ---------------------------------------------------------------- Azure: failed operations

const AZ_TENANT: &str = "37f9dea2-4345-438f-b0bd-03d40d28c7e0";

fn azure_with_status(ws: &Ws, file: &str, status: &str) -> String {
    let mut body = super::marketplace::read_fixture(&format!("azure/{file}.json"));
    body["status"] = json!(status);
    write(ws, &format!("{file}_{status}.json"), &body)
}

#[test]
fn an_azure_plan_change_that_fails_after_it_was_applied_is_undone() {
    let ws = Ws::new();
    let now = "2026-03-10T12:00:00Z";
    let failed = azure_with_status(&ws, "change_plan", "Failed");
    let (c, report) = ws.import(
        now,
        "azure",
        None,
        &["azure/subscribe.json", "azure/change_plan.json", &failed],
    );
    assert_eq!(c, 0, "{report:#}");
    assert_eq!(statuses(&report), ["accepted"; 3]);
    let undo = &report["results"][2];
    assert_eq!(
        (&undo["event"]["event_type"], &undo["event"]["sku_id"]),
        (&json!("entitlement.synced"), &json!("rollback-guard-base")),
        "{undo:#}"
    );
    let s = ws.state(now, AZ_TENANT);
    assert_eq!(
        (&s["entitlement"]["sku_id"], &s["entitlement"]["quantity"]),
        (&json!("rollback-guard-base"), &json!(5)),
        "back on the plan Azure kept: {s:#}"
    );
    assert!(!super::marketplace::tools(&s).contains(&"ac_rollback_orchestrator".to_owned()));

    // A failure of a change that was never applied leaves the plan as it is.
    let ws = Ws::new();
    let failed = azure_with_status(&ws, "change_plan", "Conflict");
    let (c, report) = ws.import(now, "azure", None, &["azure/subscribe.json", &failed]);
    assert_eq!(c, 0, "{report:#}");
    assert_eq!(
        ws.state(now, AZ_TENANT)["entitlement"]["sku_id"],
        "rollback-guard-base"
    );
}

#[test]
fn another_failed_azure_operation_says_an_applied_change_stands() {
    let ws = Ws::new();
    let now = "2026-03-25T00:00:00Z";
    let failed = azure_with_status(&ws, "suspend", "Failed");
    let (c, report) = ws.import(
        now,
        "azure",
        None,
        &["azure/subscribe.json", "azure/suspend.json", &failed],
    );
    assert_eq!(c, 3, "{report:#}");
    let u = &report["results"][2]["unmappable"];
    assert_eq!(u["reason"], "not_completed");
    assert_eq!(
        report["results"][2]["outcome"]["refusal"]["code"], "marketplace_operation_failed",
        "{report:#}"
    );
    assert!(
        u["message"]
            .as_str()
            .unwrap()
            .contains("a change applied earlier on its `InProgress` stands (it is not undone)"),
        "{u:#}"
    );
}

/// Notifications as the documentation shows them, pretty-printed, one after another in a
/// file: each is read and named by the line it starts on; a syntax error is reported once,
/// at its line and column, after what was read before it.
#[test]
fn pretty_printed_notifications_one_after_another_are_read_each_by_its_line() {
    let ws = Ws::new();
    let read = |rel: &str| std::fs::read_to_string(fixture(rel)).unwrap();
    let first = read("gcp/01_entitlement_creation_requested.json");
    let second = read("gcp/02_entitlement_active.json");
    assert!(first.lines().count() > 3, "the fixture is pretty-printed");
    let both = ws.dir.path().join("both.json");
    std::fs::write(&both, format!("{first}{second}")).unwrap();
    let now = "2026-03-01T10:00:05Z";
    let resources = Some("gcp/resources");
    let (status, report) = ws.import(now, "gcp", resources, &[both.to_str().unwrap()]);
    assert_eq!(status, 0, "{report}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{report}");
    let second_line = first.lines().count() + 1;
    assert!(
        results[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("both.json:1"),
        "{report}"
    );
    assert!(
        results[1]["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("both.json:{second_line}")),
        "{report}"
    );

    let broken = ws.dir.path().join("broken.json");
    let damaged = second.replacen("\"subscription\"", "\"subscription\" x", 1);
    std::fs::write(&broken, format!("{first}{damaged}")).unwrap();
    let ws = Ws::new();
    let (status, report) = ws.import(now, "gcp", resources, &[broken.to_str().unwrap()]);
    assert_eq!(status, 2, "{report}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        2,
        "one result per notification read, then the error: {report}"
    );
    assert_eq!(results[0]["status"], "accepted", "{report}");
    assert_eq!(results[1]["status"], "invalid", "{report}");
    let message = results[1]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("not JSON: expected `:` at line"),
        "{message}"
    );
}

/// A plan change request that names no new plan (no `newPlan`, and a resource without
/// `newPendingPlan`) says which plan is missing: the new one, not the entitlement's own.
#[test]
fn a_gcp_plan_change_request_without_a_new_plan_says_the_new_plan_is_missing() {
    let ws = Ws::new();
    let now = "2026-03-01T10:06:00Z";
    let request = write(
        &ws,
        "change.json",
        &gcp_push(
            "chg-1",
            "ENTITLEMENT_PLAN_CHANGE_REQUESTED",
            "ent-0001",
            "2026-03-01T10:05:00Z",
        ),
    );
    let (c, report) = ws.import(
        now,
        "gcp",
        Some("gcp/resources/ent-0001@2026-03-01T10-05-00.json"),
        &[&request],
    );
    assert_eq!(c, 3, "{report:#}");
    let message = only(&report)["unmappable"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "GCP entitlement `providers/acme-provider/entitlements/ent-0001` names no new plan \
         (neither the notification's `newPlan` nor the resource's `newPendingPlan`)"
    );
}

/// A notification line that gives one key twice is ambiguous: that line is invalid, saying
/// so, and the other lines are applied.
#[test]
fn a_notification_with_a_key_given_twice_is_invalid() {
    let ws = Ws::new();
    let good = std::fs::read_to_string(fixture("azure/subscribe.json")).unwrap();
    let good: Value = serde_json::from_str(&good).unwrap();
    let doubled = good
        .to_string()
        .replacen("\"planId\"", "\"planId\":\"other\",\"planId\"", 1);
    let file = ws.dir.path().join("two.jsonl");
    std::fs::write(&file, format!("{doubled}\n{good}\n")).unwrap();
    let (status, report) = ws.import(
        "2026-03-10T12:00:00Z",
        "azure",
        None,
        &[file.to_str().unwrap()],
    );
    assert_eq!(status, 2, "{report:#}");
    assert_eq!(statuses(&report), ["invalid", "accepted"], "{report:#}");
    let message = report["results"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the key `planId` is given twice in one object"),
        "{message}"
    );
}
