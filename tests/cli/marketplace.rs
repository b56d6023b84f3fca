//! Marketplace notifications as the marketplaces send them, through `tai event import`: every
//! event type of every marketplace from `tests/fixtures/marketplace/`, one customer's whole
//! life per marketplace, unreadable and unmappable input, and parsers that never panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::{Value, json};

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/marketplace")
}

/// A fixture's path (`rel` may also be an absolute path, kept as it is).
pub(crate) fn fixture(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

pub(crate) fn read_fixture(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(rel)).unwrap()).unwrap()
}

/// A workspace over the marketplace fixture catalog, in a temporary directory.
pub(crate) struct Ws {
    pub(crate) dir: tempfile::TempDir,
}

impl Ws {
    pub(crate) fn new() -> Ws {
        Ws {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn tai(&self, now: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tai"))
            .args(["--state", "st", "--now", now, "--catalog"])
            .arg(fixtures().join("catalog"))
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("TAI_CATALOG")
            .env_remove("TAI_STATE")
            .env_remove("TAI_NOW")
            .output()
            .unwrap()
    }

    /// `tai event import --format json`; the exit code and the report.
    pub(crate) fn import(
        &self,
        now: &str,
        from: &str,
        resources: Option<&str>,
        files: &[&str],
    ) -> (i32, Value) {
        let mut args = vec!["event", "import", "--from", from, "--format", "json"];
        let res;
        if let Some(r) = resources {
            res = fixture(r);
            args.extend(["--resources", &res]);
        }
        let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
        args.extend(paths.iter().map(String::as_str));
        let out = self.tai(now, &args);
        (code(&out), json(&out))
    }

    /// Imports a fixture that must be accepted.
    pub(crate) fn accept(
        &self,
        now: &str,
        from: &str,
        resources: Option<&str>,
        file: &str,
    ) -> Value {
        let (code, report) = self.import(now, from, resources, &[file]);
        assert_eq!(code, 0, "{file}: {report:#}");
        report["results"][0].clone()
    }

    /// `tai event VERB --tenant TENANT --format json` (approve, reject, ...).
    pub(crate) fn lifecycle(&self, now: &str, verb: &str, tenant: &str) -> Output {
        self.tai(
            now,
            &["event", verb, "--tenant", tenant, "--format", "json"],
        )
    }

    pub(crate) fn state(&self, now: &str, tenant: &str) -> Value {
        let out = self.tai(now, &["state", "--tenant", tenant, "--format", "json"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        json(&out)
    }

    pub(crate) fn ok(&self, now: &str, args: &[&str]) -> Output {
        let out = self.tai(now, args);
        assert_eq!(
            code(&out),
            0,
            "{args:?}: {}{}",
            text(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

pub(crate) fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(o), String::from_utf8_lossy(&o.stderr)))
}

pub(crate) fn tools(state: &Value) -> Vec<String> {
    state["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- Google Cloud Marketplace

const GCP_NOW: &str = "2026-03-01T12:00:00Z";
const GCP_RES: &str = "gcp/resources";

/// Every GCP event type: the fixtures imported first, the fixture, the tai event it maps to.
#[rustfmt::skip]
const GCP_CASES: &[(&[&str], &str, &str)] = &[
    (&[], "01_entitlement_creation_requested", "entitlement.requested"),
    (&[], "02_entitlement_active", "entitlement.activated"),
    (&["02_entitlement_active"], "03_entitlement_plan_change_requested", "entitlement.requested"),
    (&["02_entitlement_active", "03_entitlement_plan_change_requested"], "04_entitlement_plan_change_cancelled", "entitlement.withdrawn"),
    (&["02_entitlement_active"], "05_entitlement_plan_changed", "entitlement.plan_changed"),
    (&["02_entitlement_active"], "06_entitlement_suspended", "entitlement.suspended"),
    (&["02_entitlement_active", "06_entitlement_suspended"], "07_entitlement_reinstated", "entitlement.reinstated"),
    (&["02_entitlement_active"], "08_entitlement_renewed", "entitlement.renewed"),
    (&["02_entitlement_active", "05_entitlement_plan_changed"], "09_entitlement_offer_accepted", "entitlement.synced"),
    (&["02_entitlement_active", "05_entitlement_plan_changed"], "10_entitlement_offer_ended", "entitlement.synced"),
    (&["02_entitlement_active"], "11_entitlement_pending_cancellation", "entitlement.cancellation_pending"),
    (&["02_entitlement_active", "11_entitlement_pending_cancellation"], "12_entitlement_cancellation_reverted", "entitlement.cancellation_reverted"),
    (&["02_entitlement_active"], "13_entitlement_cancelling", "entitlement.cancellation_pending"),
    (&["02_entitlement_active"], "14_entitlement_cancelled", "entitlement.cancelled"),
    (&[], "15_entitlement_creation_requested", "entitlement.requested"),
    (&["15_entitlement_creation_requested"], "16_entitlement_deleted", "entitlement.withdrawn"),
];

#[test]
fn every_gcp_event_type_maps_and_applies() {
    for (before, file, maps_to) in GCP_CASES {
        let ws = Ws::new();
        for b in *before {
            ws.accept(GCP_NOW, "gcp", Some(GCP_RES), &format!("gcp/{b}.json"));
        }
        let r = ws.accept(GCP_NOW, "gcp", Some(GCP_RES), &format!("gcp/{file}.json"));
        assert_eq!(r["status"], "accepted", "{file}: {r:#}");
        assert_eq!(r["event"]["event_type"], *maps_to, "{file}");
        assert_eq!(r["event"]["source"], "gcp");
        let name = file.split_once('_').unwrap().1.to_uppercase();
        assert_eq!(r["notification"], name, "{file}");
        // The tenant is the account the Procurement API resource names.
        let tenant = if file.starts_with("15") || file.starts_with("16") {
            "acct-1002"
        } else {
            "acct-1001"
        };
        assert_eq!(r["tenant_id"], tenant);
        // The event carries the marketplace's own event id: the `eventId` of the payload.
        let id = r["event"]["event_id"].as_str().unwrap();
        assert_eq!(r["event_id"], id);
        assert!(id.starts_with("6f1e2d3c-"), "{id}");
    }
    assert_eq!(
        GCP_CASES.len(),
        std::fs::read_dir(fixtures().join("gcp")).unwrap().count() - 1
    );
}

#[test]
fn gcp_customer_life_purchase_upgrade_suspension_cancellation() {
    let ws = Ws::new();
    let gcp =
        |now: &str, file: &str| ws.accept(now, "gcp", Some(GCP_RES), &format!("gcp/{file}.json"));

    // The customer picks the base plan: recorded as a request, nothing granted yet.
    let r = gcp("2026-03-01T10:00:01Z", "01_entitlement_creation_requested");
    assert_eq!(r["event"]["sku_id"], "rollback-guard-base");
    let s = ws.state("2026-03-01T10:00:02Z", "acct-1001");
    assert_eq!(s["entitlement"]["standing"], "pending");
    assert!(tools(&s).is_empty());
    let human = text(&ws.tai("2026-03-01T10:00:02Z", &["state", "--tenant", "acct-1001"]));
    assert!(human.contains("purchase awaiting approval"), "{human}");

    // The provider approves: the purchase is in force; Google's ENTITLEMENT_ACTIVE confirms it.
    let out = ws.lifecycle("2026-03-01T10:01:00Z", "approve", "acct-1001");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let approval = json(&out);
    assert_eq!(
        approval["receipts"][0]["event_type"],
        "entitlement_activated"
    );
    let s = ws.state("2026-03-01T10:01:01Z", "acct-1001");
    assert_eq!(s["entitlement"]["pending"]["kind"], "confirmation");
    assert!(tools(&s).contains(&"ac_receipt_verify".to_owned()));
    // Approved, it has no end of its own either: a late ENTITLEMENT_ACTIVE does not let it
    // run out at a SKU term's end meanwhile.
    assert_eq!(
        s["entitlement"]["expiry"], "9999-12-31T23:59:59.999Z",
        "{s:#}"
    );
    let r = gcp("2026-03-01T10:05:01Z", "02_entitlement_active");
    assert_eq!(
        r["outcome"]["receipts"][0]["event_type"],
        "entitlement_updated"
    );
    let s = ws.state("2026-03-01T10:05:02Z", "acct-1001");
    assert!(s["entitlement"].get("pending").is_none(), "{s:#}");
    assert_eq!(
        s["entitlement"]["expiry"], "9999-12-31T23:59:59.999Z",
        "Google ends it, not a term"
    );
    ws.ok("2026-03-01T10:06:00Z", &["signal", "--tenant", "acct-1001"]);

    // An upgrade: requested, approved, and in force once Google changes the plan.
    gcp(
        "2026-03-10T09:00:01Z",
        "03_entitlement_plan_change_requested",
    );
    ws.ok(
        "2026-03-10T09:05:00Z",
        &["event", "approve", "--tenant", "acct-1001"],
    );
    let s = ws.state("2026-03-10T09:05:01Z", "acct-1001");
    assert_eq!(s["entitlement"]["sku_id"], "rollback-guard-base");
    assert_eq!(s["entitlement"]["pending"]["approved"], true);
    assert!(!tools(&s).contains(&"ac_rollback_orchestrator".to_owned()));
    gcp("2026-03-12T00:00:01Z", "05_entitlement_plan_changed");
    let s = ws.state("2026-03-12T00:00:02Z", "acct-1001");
    assert_eq!(s["entitlement"]["sku_id"], "rollback-guard-professional");
    assert!(tools(&s).contains(&"ac_rollback_orchestrator".to_owned()));

    // Suspended: tools stay listed, calls are refused at gate 1; reinstated: they run again.
    gcp("2026-04-01T00:00:01Z", "06_entitlement_suspended");
    let call = ws.tai(
        "2026-04-01T00:00:02Z",
        &[
            "call",
            "ac_receipt_verify",
            "--tenant",
            "acct-1001",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&call), 3);
    assert_eq!(json(&call)["reason"], "entitlement_suspended");
    gcp("2026-04-03T00:00:01Z", "07_entitlement_reinstated");
    assert_eq!(
        ws.state("2026-04-03T00:00:02Z", "acct-1001")["entitlement"]["standing"],
        "active"
    );

    // Cancellation: pending until Google ends the plan, then every tool is gone.
    gcp(
        "2026-06-01T00:00:01Z",
        "11_entitlement_pending_cancellation",
    );
    let s = ws.state("2026-06-01T00:00:02Z", "acct-1001");
    assert_eq!(
        (
            &s["entitlement"]["standing"],
            &s["entitlement"]["pending"]["kind"]
        ),
        (&json!("active"), &json!("cancellation"))
    );
    gcp("2026-07-01T00:00:01Z", "14_entitlement_cancelled");
    let s = ws.state("2026-07-01T00:00:02Z", "acct-1001");
    assert_eq!(s["entitlement"]["standing"], "cancelled");
    assert!(tools(&s).is_empty());

    // The whole life is one verifiable chain.
    ws.ok(
        "2026-07-01T00:00:03Z",
        &["receipts", "verify", "--tenant", "acct-1001"],
    );
}

#[test]
fn the_provider_can_reject_a_request_and_nothing_awaits_approval_then() {
    let ws = Ws::new();
    for f in [
        "02_entitlement_active",
        "03_entitlement_plan_change_requested",
    ] {
        ws.accept(GCP_NOW, "gcp", Some(GCP_RES), &format!("gcp/{f}.json"));
    }
    let human = text(&ws.tai(GCP_NOW, &["state", "--tenant", "acct-1001"]));
    assert!(
        human
            .contains("pending     plan change to `rollback-guard-professional` awaiting approval"),
        "{human}"
    );
    let out = ws.ok(GCP_NOW, &["event", "reject", "--tenant", "acct-1001"]);
    assert!(
        text(&out).contains("entitlement.withdrawn accepted"),
        "{}",
        text(&out)
    );
    let s = ws.state(GCP_NOW, "acct-1001");
    assert!(s["entitlement"].get("pending").is_none(), "{s:#}");
    let again = ws.lifecycle(GCP_NOW, "approve", "acct-1001");
    assert_eq!(code(&again), 3);
    assert_eq!(
        json(&again)["refusal"]["message"],
        "nothing awaits approval"
    );
}

#[test]
fn a_gcp_stream_reads_each_resource_as_of_its_notification() {
    let ws = Ws::new();
    let stream = ws.dir.path().join("stream.jsonl");
    let mut lines = String::new();
    for f in [
        "02_entitlement_active",
        "05_entitlement_plan_changed",
        "14_entitlement_cancelled",
    ] {
        lines.push_str(&read_fixture(&format!("gcp/{f}.json")).to_string());
        lines.push('\n');
    }
    std::fs::write(&stream, lines).unwrap();
    let (code, r) = ws.import(GCP_NOW, "gcp", Some(GCP_RES), &[stream.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    let skus: Vec<&Value> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["event"]["sku_id"])
        .collect();
    assert_eq!(
        skus,
        [
            &json!("rollback-guard-base"),
            &json!("rollback-guard-professional"),
            &Value::Null
        ]
    );
    assert!(
        r["results"][1]["source"]
            .as_str()
            .unwrap()
            .ends_with("stream.jsonl:2")
    );
    assert_eq!(r["accepted"], 3);
}

// ---------------------------------------------------------------- AWS Marketplace

const AWS_NOW: &str = "2026-03-01T12:00:00Z";

#[test]
fn every_aws_action_maps_and_applies() {
    let base = Some("aws/resources/base_contract.json");
    // subscribe-success for a contract: the GetEntitlements record names the SKU.
    let ws = Ws::new();
    let r = ws.accept(AWS_NOW, "aws", base, "aws/subscribe_success.json");
    assert_eq!(
        (&r["event"]["event_type"], &r["event"]["sku_id"]),
        (&json!("entitlement.synced"), &json!("rollback-guard-base"))
    );
    assert_eq!(r["event"]["quantity"], 1);
    assert_eq!(
        r["event"]["event_id"], "2b7c4e10-a9d3-4f5c-8e61-d0f3a4b5c6d8",
        "the SNS MessageId"
    );
    assert_eq!(
        r["outcome"]["receipts"][0]["event_type"],
        "entitlement_activated"
    );
    assert_eq!(
        ws.state(AWS_NOW, "X01CONTRACT7")["entitlement"]["expiry"],
        "2027-03-02T00:00:00.000Z"
    );

    // entitlement-updated: the new record is an upgrade; no record left means it ended.
    let r = ws.accept(
        AWS_NOW,
        "aws",
        Some("aws/resources/professional_contract.json"),
        "aws/entitlement_updated.json",
    );
    assert_eq!(
        (&r["event"]["event_type"], &r["event"]["sku_id"]),
        (
            &json!("entitlement.synced"),
            &json!("rollback-guard-professional")
        )
    );
    assert_eq!(
        r["outcome"]["receipts"][0]["event_type"],
        "entitlement_updated"
    );
    let r = ws.accept(
        AWS_NOW,
        "aws",
        Some("aws/resources/no_contract.json"),
        "aws/entitlement_updated.json",
    );
    assert_eq!(r["event"]["event_type"], "entitlement.expired");
    assert_eq!(
        ws.state(AWS_NOW, "X01CONTRACT7")["entitlement"]["standing"],
        "expired"
    );

    for (file, maps_to) in [
        ("unsubscribe_pending", "entitlement.cancellation_pending"),
        ("unsubscribe_success", "entitlement.cancelled"),
    ] {
        let ws = Ws::new();
        ws.accept(AWS_NOW, "aws", base, "aws/subscribe_success.json");
        let r = ws.accept(AWS_NOW, "aws", None, &format!("aws/{file}.json"));
        assert_eq!(r["event"]["event_type"], maps_to, "{file}");
        assert_eq!(r["tenant_id"], "X01CONTRACT7", "the customer identifier");
    }

    // A subscription product has no entitlement records: its product code is listed.
    let ws = Ws::new();
    let r = ws.accept(
        AWS_NOW,
        "aws",
        base,
        "aws/subscribe_success_subscription.json",
    );
    assert_eq!(
        (&r["event"]["event_type"], &r["event"]["sku_id"]),
        (
            &json!("entitlement.activated"),
            &json!("rollback-guard-metered")
        )
    );

    // subscribe-fail grants nothing, and says so in the customer's chain.
    let (code, report) = ws.import(AWS_NOW, "aws", None, &["aws/subscribe_fail.json"]);
    assert_eq!(code, 3, "{report:#}");
    let r = &report["results"][0];
    assert_eq!(
        (&r["status"], &r["unmappable"]["reason"]),
        (&json!("unmappable"), &json!("not_completed"))
    );
    // Recorded under its own code, not as a lifecycle mistake.
    assert_eq!(
        r["outcome"]["refusal"]["code"], "marketplace_operation_failed",
        "{report:#}"
    );
    let s = ws.state(AWS_NOW, "X01DECLINED9");
    assert!(s["entitlement"].is_null());
    let out = ws.ok(AWS_NOW, &["receipts", "show", "--tenant", "X01DECLINED9"]);
    assert!(
        text(&out).contains("entitlement_update_refused")
            && text(&out).contains("marketplace_operation_failed"),
        "{}",
        text(&out)
    );
}

#[test]
fn aws_customer_life_purchase_upgrade_cancellation() {
    let ws = Ws::new();
    let aws = |now: &str, resources: Option<&str>, file: &str| {
        ws.accept(now, "aws", resources, &format!("aws/{file}.json"))
    };
    let customer = "X01CONTRACT7";
    aws(
        "2026-03-01T10:00:01Z",
        Some("aws/resources/base_contract.json"),
        "subscribe_success",
    );
    let s = ws.state("2026-03-01T10:00:02Z", customer);
    assert_eq!(s["entitlement"]["sku_id"], "rollback-guard-base");
    assert!(tools(&s).contains(&"ac_receipt_verify".to_owned()));

    // The contract is upgraded: AWS says only "entitlement-updated"; GetEntitlements says what.
    let upgraded = Some("aws/resources/professional_contract.json");
    aws("2026-03-15T12:00:01Z", upgraded, "entitlement_updated");
    let s = ws.state("2026-03-15T12:00:02Z", customer);
    assert_eq!(s["entitlement"]["sku_id"], "rollback-guard-professional");
    assert!(tools(&s).contains(&"ac_rollback_orchestrator".to_owned()));

    // AWS has no suspension: the customer unsubscribes, which is pending for the hour AWS
    // leaves for the last usage report, then final.
    aws("2026-06-01T09:00:01Z", None, "unsubscribe_pending");
    let s = ws.state("2026-06-01T09:00:02Z", customer);
    assert_eq!(s["entitlement"]["pending"]["kind"], "cancellation");
    assert!(!tools(&s).is_empty());
    aws("2026-06-01T10:00:01Z", None, "unsubscribe_success");
    let s = ws.state("2026-06-01T10:00:02Z", customer);
    assert_eq!(s["entitlement"]["standing"], "cancelled");
    assert!(tools(&s).is_empty());
    ws.ok(
        "2026-06-01T10:00:03Z",
        &["receipts", "verify", "--tenant", customer],
    );
}

// ---------------------------------------------------------------- Azure Marketplace

const AZ_TENANT: &str = "37f9dea2-4345-438f-b0bd-03d40d28c7e0";

#[test]
fn every_azure_action_maps_and_applies() {
    #[rustfmt::skip]
    let cases: &[(&[&str], &str, &str)] = &[
        (&[], "subscribe", "entitlement.activated"),
        (&["subscribe"], "change_plan", "entitlement.plan_changed"),
        (&["subscribe", "change_plan"], "change_quantity", "entitlement.synced"),
        (&["subscribe"], "suspend", "entitlement.suspended"),
        (&["subscribe", "suspend"], "reinstate", "entitlement.reinstated"),
        (&["subscribe"], "renew", "entitlement.renewed"),
        (&["subscribe"], "unsubscribe", "entitlement.cancelled"),
    ];
    let now = "2026-03-25T00:00:00Z";
    for (before, file, maps_to) in cases {
        let ws = Ws::new();
        for b in *before {
            ws.accept(now, "azure", None, &format!("azure/{b}.json"));
        }
        let r = ws.accept(now, "azure", None, &format!("azure/{file}.json"));
        assert_eq!(r["event"]["event_type"], *maps_to, "{file}: {r:#}");
        assert_eq!(r["tenant_id"], AZ_TENANT, "the SaaS subscription id");
        assert!(
            r["event"]["event_id"]
                .as_str()
                .unwrap()
                .starts_with("8fcf2a4e-"),
            "the webhook's id"
        );
    }
    assert_eq!(
        cases.len(),
        std::fs::read_dir(fixtures().join("azure")).unwrap().count()
    );
}

#[test]
fn azure_customer_life_purchase_upgrade_suspension_cancellation() {
    let ws = Ws::new();
    let az = |now: &str, file: &str| ws.accept(now, "azure", None, &format!("azure/{file}.json"));
    // Bought with 5 seats for the first month's term; Azure's plan id is the SKU's plan id.
    az("2026-03-01T10:00:05Z", "subscribe");
    let s = ws.state("2026-03-01T10:00:06Z", AZ_TENANT);
    assert_eq!(
        (&s["entitlement"]["sku_id"], &s["entitlement"]["quantity"]),
        (&json!("rollback-guard-base"), &json!(5))
    );
    assert_eq!(s["entitlement"]["expiry"], "2026-04-01T00:00:00.000Z");

    az("2026-03-10T18:49:00Z", "change_plan");
    az("2026-03-12T18:54:01Z", "change_quantity");
    let s = ws.state("2026-03-12T18:54:02Z", AZ_TENANT);
    assert_eq!(
        (&s["entitlement"]["sku_id"], &s["entitlement"]["quantity"]),
        (&json!("rollback-guard-professional"), &json!(25))
    );

    az("2026-03-20T08:49:02Z", "suspend");
    assert_eq!(
        ws.state("2026-03-20T08:49:03Z", AZ_TENANT)["entitlement"]["standing"],
        "suspended"
    );
    az("2026-03-22T11:38:11Z", "reinstate");
    // The term ran out a few seconds before Azure's renewal arrived; the renewal carries on.
    az("2026-04-01T00:00:05Z", "renew");
    let s = ws.state("2026-04-01T00:00:06Z", AZ_TENANT);
    assert_eq!(
        (&s["entitlement"]["standing"], &s["entitlement"]["expiry"]),
        (&json!("active"), &json!("2026-05-01T00:00:00.000Z"))
    );

    az("2026-04-15T08:49:02Z", "unsubscribe");
    let s = ws.state("2026-04-15T08:49:03Z", AZ_TENANT);
    assert_eq!(s["entitlement"]["standing"], "cancelled");
    assert!(tools(&s).is_empty());
    ws.ok(
        "2026-04-15T08:49:04Z",
        &["receipts", "verify", "--tenant", AZ_TENANT],
    );
}

// ---------------------------------------------------------------- what goes wrong

#[test]
fn unreadable_notifications_and_missing_resources_are_input_errors() {
    let ws = Ws::new();
    let bad = ws.dir.path().join("bad.json");
    let mut body = read_fixture("gcp/02_entitlement_active.json");
    body["message"]["data"] = json!("%%% not base64 %%%");
    std::fs::write(&bad, body.to_string()).unwrap();
    let out = ws.tai(
        GCP_NOW,
        &["event", "import", "--from", "gcp", bad.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("invalid: `message.data`: not valid base64"),
        "{}",
        text(&out)
    );

    // A directory named as notifications: said once, with what to give instead.
    let dir = ws.dir.path().join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    let named = dir.to_str().unwrap();
    let out = ws.tai(GCP_NOW, &["event", "import", "--from", "gcp", named]);
    assert_eq!(code(&out), 2);
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "{named}: invalid: cannot read `{named}`: it is a directory\n  help: notifications are a regular JSON file"
        )),
        "{said}"
    );
    assert_eq!(said.matches(named).count(), 2, "{said}");

    // The resource the notification needs is not given.
    let (c, r) = ws.import(GCP_NOW, "gcp", None, &["gcp/02_entitlement_active.json"]);
    assert_eq!(c, 2);
    assert!(
        r["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no GCP entitlement `ent-0001`"),
        "{r:#}"
    );

    // A notification from another marketplace than --from says so, field and all.
    let (c, r) = ws.import(GCP_NOW, "azure", None, &["aws/subscribe_success.json"]);
    assert_eq!(c, 2);
    assert_eq!(r["results"][0]["error"]["field"], "action");
    assert_eq!(r["results"][0]["error"]["problem"], "missing");
    // Nothing was recorded for anyone.
    assert_eq!(
        json(&ws.tai(GCP_NOW, &["state", "--format", "json"])),
        json!({ "tenants": [] })
    );
}

#[test]
fn a_plan_no_sku_sells_is_refused_and_recorded() {
    let ws = Ws::new();
    let dir = ws.dir.path().join("res");
    std::fs::create_dir(&dir).unwrap();
    let mut r = read_fixture("gcp/resources/ent-0001@2026-03-01T10-05-00.json");
    r["plan"] = json!("platinum");
    std::fs::write(dir.join("ent.json"), r.to_string()).unwrap();
    let (code, report) = ws.import(
        GCP_NOW,
        "gcp",
        dir.to_str(),
        &["gcp/02_entitlement_active.json"],
    );
    assert_eq!(code, 3, "{report:#}");
    let u = &report["results"][0]["unmappable"];
    assert_eq!(u["reason"], "unknown_plan");
    assert!(
        u["message"]
            .as_str()
            .unwrap()
            .starts_with("no SKU is listed under GCP product"),
        "{u:#}"
    );
    let shown = text(&ws.ok(GCP_NOW, &["receipts", "show", "--tenant", "acct-1001"]));
    assert!(
        shown.contains("entitlement_update_refused") && shown.contains("unknown_sku"),
        "{shown}"
    );
}

#[test]
fn a_refused_lifecycle_event_is_exit_3_and_the_rest_still_applies() {
    let ws = Ws::new();
    // Reinstating an entitlement that is not suspended, then a valid suspension.
    let (c, r) = ws.import(
        GCP_NOW,
        "gcp",
        Some(GCP_RES),
        &[
            "gcp/02_entitlement_active.json",
            "gcp/07_entitlement_reinstated.json",
            "gcp/06_entitlement_suspended.json",
        ],
    );
    assert_eq!(c, 3, "{r:#}");
    let statuses: Vec<&Value> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!("accepted"), &json!("refused"), &json!("accepted")]
    );
    assert_eq!(
        r["results"][1]["outcome"]["refusal"]["code"],
        "invalid_transition"
    );
}

#[test]
fn the_fixture_catalog_validates_and_duplicate_listings_do_not() {
    let ws = Ws::new();
    ws.ok(GCP_NOW, &["validate", &fixture("catalog")]);
    let cat = ws.dir.path().join("cat");
    for sub in ["packs", "skus"] {
        std::fs::create_dir_all(cat.join(sub)).unwrap();
        for e in std::fs::read_dir(fixtures().join("catalog").join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), cat.join(sub).join(e.file_name())).unwrap();
        }
    }
    let metered = cat.join("skus/rollback-guard-metered.toml");
    let t = std::fs::read_to_string(&metered).unwrap();
    std::fs::write(
        &metered,
        t.replace(
            "8h2kq0subscription5zz1y\"",
            "4jt6ebkoa2q9r7contract1x\"\ndimension = \"BaseTier\"",
        ),
    )
    .unwrap();
    let out = ws.tai(
        GCP_NOW,
        &["validate", "--format", "json", cat.to_str().unwrap()],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let report = json(&out);
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap();
    assert_eq!(d["code"], "duplicate_marketplace_id");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("AWS product code `4jt6ebkoa2q9r7contract1x` dimension `BaseTier`"),
        "{d:#}"
    );
    assert!(
        d["file"]
            .as_str()
            .unwrap()
            .ends_with("rollback-guard-metered.toml")
    );
    assert_eq!(d["line"], 17, "the `dimension` the second listing claims");
}

#[test]
fn the_readme_maps_every_event_type_of_every_marketplace() {
    use tai::marketplace::{aws, azure, gcp};
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split("**The mapping.**")
        .nth(1)
        .unwrap()
        .split("**Output")
        .next()
        .unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
    let mentioned = |marketplace: &str, name: &str| {
        let short = name.strip_prefix("ENTITLEMENT").unwrap_or(name);
        rows.iter().any(|r| {
            r.starts_with(&format!("| {marketplace} "))
                && (r.contains(&format!("`{name}`")) || r.contains(&format!("`{short}`")))
        })
    };
    let missing: Vec<String> = gcp::EventType::ALL
        .iter()
        .map(|t| ("GCP", t.as_str()))
        .chain(aws::Action::ALL.iter().map(|a| ("AWS", a.as_str())))
        .chain(azure::Action::ALL.iter().map(|a| ("Azure", a.as_str())))
        .filter(|(m, n)| !mentioned(m, n))
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the README's mapping table: {missing:?}"
    );
}

// ---------------------------------------------------------------- the parsers never panic

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("ENTITLEMENT_ACTIVE"),
            Just("subscribe-success"),
            Just("ChangePlan"),
            Just("Notification"),
            Just("InProgress"),
            Just("2026-01-01T00:00:00Z"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("message".to_owned()),
            Just("data".to_owned()),
            Just("eventType".to_owned()),
            Just("entitlement".to_owned()),
            Just("id".to_owned()),
            Just("Type".to_owned()),
            Just("Message".to_owned()),
            Just("action".to_owned()),
            Just("status".to_owned()),
            Just("subscriptionId".to_owned()),
            Just("quantity".to_owned()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics_the_parsers(raw in arb_json(), payload in arb_json(), text in ".{0,40}") {
        use base64::Engine as _;
        use tai::marketplace::{self, Context, Marketplace, Offline};
        let catalog = tai::catalog::load::build(&tai::catalog::load::read_dir(&fixtures().join("catalog")).unwrap()).unwrap();
        let resources = Offline::empty("--resources");
        let ctx = Context::new(&catalog, &resources);
        let encoded = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
        let shaped = [
            raw.clone(),
            json!({"message": {"data": encoded, "messageId": "1"}, "subscription": "s"}),
            json!({"message": {"data": text, "messageId": "1"}}),
            json!({"Type": "Notification", "MessageId": "m", "Message": payload.to_string()}),
            json!({"Type": "Notification", "MessageId": "m", "Message": text}),
            payload.clone(),
        ];
        for value in &shaped {
            for m in Marketplace::ALL {
                let _ = marketplace::map(m, value, &ctx);
            }
        }
    }
}
