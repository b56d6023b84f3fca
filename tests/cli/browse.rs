//! The browsing commands run as a user runs them: the real binary, no colour, from a folder
//! without a catalog (so the built-in one is used) unless `--catalog` says otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;

use crate::common::{self, Run};

fn tai_in(dir: &Path, args: &[&str]) -> Run {
    common::tai()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .into()
}

fn tai(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    tai_in(dir.path(), args)
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

const PACKS: [&str; 6] = [
    "advanced_analytics",
    "iam_drift_guard",
    "policy_engine",
    "receipt_verifier",
    "rollback_guard",
    "storm_discipline",
];

#[test]
fn pack_list_shows_every_pack() {
    let run = tai(&["pack", "list"]).ok();
    for id in PACKS {
        run.has(id);
    }
    run.has("6 packs, 21 tools");
    let json = tai(&["pack", "list", "--format", "json"]).ok().json();
    // The same shape as `GET /v1/packs`.
    let json = &json["packs"];
    assert_eq!(names(json, "pack_id"), PACKS);
    assert_eq!(json[4]["tools"], 3);
    assert_eq!(json[4]["requires"], serde_json::json!(["receipt_verifier"]));
}

#[test]
fn pack_show_lists_tools_actions_and_preconditions() {
    let run = tai(&["pack", "show", "rollback_guard"]).ok();
    run.has("rollback_guard 1.0.0")
        .has("ac_rollback_orchestrator")
        .has("ac_deployment_validator")
        .has("ac_rollback_status")
        .has("deployment_stable = true → deployment_not_stable")
        .has("rollback_target_version is present → rollback_target_unknown")
        .has("rollback_policy_approved = true → rollback_policy_not_approved")
        .has("timeout 5m · memory 256 MiB · cpu 25%");

    let json = tai(&["pack", "show", "iam_drift_guard", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["pack_id"], "iam_drift_guard");
    let remediate = &json["actions"][1];
    assert_eq!(remediate["id"], "remediate_drift");
    assert_eq!(
        remediate["preconditions"][2]["code"],
        "iam_service_unreachable"
    );
    assert_eq!(remediate["preconditions"][2]["default"], true);
    assert_eq!(
        json["enabled_by"],
        serde_json::json!(["governance-suite-enterprise"])
    );
}

#[test]
fn unknown_ids_exit_2_with_a_suggestion_and_the_known_ids() {
    let run = tai(&["pack", "show", "rollback_gaurd"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown pack `rollback_gaurd`; did you mean `rollback_guard`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("known packs: advanced_analytics, iam_drift_guard")
    );

    for args in [
        &["sku", "show", "rollback-guard-pro"][..],
        &["sku", "diff", "rollback-guard-base", "rollback-guard-pro"],
        &["tools", "--sku", "rollback-guard-pro"],
    ] {
        let run = tai(args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.stderr.contains(
                "unknown SKU `rollback-guard-pro`; did you mean `rollback-guard-professional`?"
            ),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("known SKUs: governance-suite-enterprise")
        );
    }
}

#[test]
fn sku_list_shows_prices_packs_and_tool_counts() {
    tai(&["sku", "list"])
        .ok()
        .has("$2,999.00/mo")
        .has("$299.00/mo")
        .has("$29.00/mo")
        .has("$8,990.00/yr")
        .has("11 (9 usable)")
        .has("4 SKUs");
    // The ladder, cheapest first, is the default order.
    let ladder = tai(&["sku", "list", "--format", "json"]).ok().json();
    assert_eq!(
        names(&ladder["skus"], "sku_id"),
        [
            "rollback-guard-base",
            "rollback-guard-professional",
            "partner-observability-edition",
            "governance-suite-enterprise"
        ]
    );
    let json = tai(&["sku", "list", "--sort", "id", "--format", "json"])
        .ok()
        .json();
    // The same shape as `GET /v1/skus`.
    let json = &json["skus"];
    assert_eq!(
        names(json, "sku_id"),
        [
            "governance-suite-enterprise",
            "partner-observability-edition",
            "rollback-guard-base",
            "rollback-guard-professional"
        ]
    );
    assert_eq!(json[0]["price_label"], "$2,999.00/mo");
    assert_eq!(json[0]["enabled_packs"].as_array().unwrap().len(), 6);
    assert_eq!(json[0]["iam_roles"].as_array().unwrap().len(), 9);
    assert_eq!(json[3]["tools"], 11);
    assert_eq!(json[3]["usable_tools"], 9);
}

#[test]
fn sku_show_flags_actions_its_roles_cannot_run_and_warns_authors_when_asked() {
    let run = tai(&["sku", "show", "rollback-guard-professional"]).ok();
    run.has("TAI Rollback Guard — Professional")
        .has("$299.00/mo")
        .has("Recommended for: Production rollback management")
        .has("no — missing write_config")
        .lacks("warning:");
    tai(&["sku", "show", "rollback-guard-professional", "--warnings"])
        .ok()
        .has("no — missing write_config")
        .has("warning: action `activate_throttle` of pack `storm_discipline` needs write_config");
    let json = tai(&[
        "sku",
        "show",
        "rollback-guard-professional",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(json["plan_id"], "professional-tier");
    assert_eq!(json["price"]["amount"], 299.0);
    assert_eq!(json["unusable_actions"][0]["action"], "activate_throttle");
    assert_eq!(json["tools"].as_array().unwrap().len(), 11);
}

/// A downgrade: a tool both plans have that the new roles no longer let anyone call is said
/// to be no longer usable, under a heading that does not claim otherwise.
#[test]
fn sku_diff_of_a_downgrade_says_what_is_no_longer_usable() {
    tai(&[
        "sku",
        "diff",
        "governance-suite-enterprise",
        "rollback-guard-base",
    ])
    .ok()
    .has("Usability with the new roles\n  - ac_audit_trail_export")
    .has("(no longer usable: needs read_audit_trail)")
    .lacks("Usable with");
    tai(&[
        "sku",
        "diff",
        "rollback-guard-base",
        "governance-suite-enterprise",
    ])
    .ok()
    .has("  + ac_audit_trail_export        receipt_verifier  (now usable)");
}

#[test]
fn sku_diff_tells_the_upsell_story() {
    let run = tai(&[
        "sku",
        "diff",
        "rollback-guard-base",
        "rollback-guard-professional",
    ])
    .ok();
    run.has("rollback-guard-base → rollback-guard-professional")
        .has("Price: $29.00/mo → $299.00/mo  (+$270.00/mo, +931.0%)")
        .has("  + rollback_guard\n")
        .has("  + storm_discipline\n")
        .has("  + ac_rollback_orchestrator")
        .has("  + ac_storm_detector")
        .has("  + write_rollback\n")
        .has("  + read_audit_trail\n")
        .has("(not usable: needs write_config)");
    assert!(!run.stdout.contains("  - "), "nothing is removed");

    let json = tai(&[
        "sku",
        "diff",
        "rollback-guard-base",
        "rollback-guard-professional",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(
        json["packs"]["added"],
        serde_json::json!(["rollback_guard", "storm_discipline"])
    );
    assert_eq!(json["packs"]["removed"], serde_json::json!([]));
    assert_eq!(
        json["roles"]["added"],
        serde_json::json!(["read_audit_trail", "write_rollback"])
    );
    assert_eq!(json["price"]["delta_cents"], 27000);
    assert_eq!(json["price"]["delta_label"], "+$270.00/mo");
    let added = names(&json["tools"]["added"], "name");
    for tool in [
        "ac_rollback_orchestrator",
        "ac_deployment_validator",
        "ac_rollback_status",
        "ac_storm_detector",
        "ac_throttle_config",
        "ac_throttle_adjust",
        "ac_storm_clear",
        "ac_storm_status",
    ] {
        assert!(added.contains(&tool.to_owned()), "{tool} not added");
    }
    assert_eq!(added.len(), 8);
    assert_eq!(
        names(&json["usability"]["added"], "name"),
        ["ac_audit_trail_export"]
    );
}

#[test]
fn sku_diff_downgrade_removes() {
    tai(&[
        "sku",
        "diff",
        "rollback-guard-professional",
        "rollback-guard-base",
    ])
    .ok()
    .has("  - rollback_guard\n")
    .has("  - write_rollback\n")
    .has("-$270.00/mo, -90.3%");
}

#[test]
fn tools_json_has_the_mcp_fields_and_role_coverage() {
    let json = tai(&[
        "tools",
        "--sku",
        "rollback-guard-professional",
        "--format",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(json["sku_id"], "rollback-guard-professional");
    let tools = json["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 11);
    for t in tools {
        for key in [
            "name",
            "pack",
            "description",
            "input_schema",
            "action",
            "usable",
            "missing_roles",
        ] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
        assert_eq!(t["input_schema"]["type"], "object");
    }
    let throttle = tools
        .iter()
        .find(|t| t["name"] == "ac_throttle_config")
        .unwrap();
    assert_eq!(throttle["usable"], false);
    assert_eq!(
        throttle["missing_roles"],
        serde_json::json!(["write_config"])
    );
    assert_eq!(throttle["pack"], "storm_discipline");

    tai(&["tools", "--sku", "governance-suite-enterprise"])
        .ok()
        .has("21 tools, 21 usable with the roles of governance-suite-enterprise");
    assert_eq!(tai(&["tools"]).code, 2, "--sku is required");
}

#[test]
fn pack_new_scaffolds_a_file_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    for sub in ["packs", "skus"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    tai_in(dir.path(), &["pack", "new", "billing_guard"])
        .ok()
        .has("created packs/billing_guard.yaml");
    tai_in(dir.path(), &["pack", "new", "export_guard", "--toml"])
        .ok()
        .has("created packs/export_guard.toml");
    // The current folder holds packs/ and skus/, so it is the catalog now.
    tai_in(dir.path(), &["pack", "show", "billing_guard"])
        .ok()
        .has("billing_guard_status")
        .has("change_window_open = true → change_window_closed");
    tai_in(dir.path(), &["pack", "show", "export_guard"]).ok();

    let again = tai_in(dir.path(), &["pack", "new", "billing_guard"]);
    assert_eq!(again.code, 2);
    assert!(
        again
            .stderr
            .contains("already exists; refusing to overwrite")
    );
    // The same id in the other syntax: it would define the pack twice.
    let twice = tai_in(dir.path(), &["pack", "new", "billing_guard", "--toml"]);
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    assert!(
        twice
            .stderr
            .contains("`packs/billing_guard.yaml` already defines pack `billing_guard`"),
        "{}",
        twice.stderr
    );
    assert!(!dir.path().join("packs/billing_guard.toml").exists());
    tai_in(dir.path(), &["validate"]).ok();

    tai(&["pack", "new", "x_pack", "--output", "-"])
        .ok()
        .has("# yaml-language-server: $schema=../schemas/pack.schema.json\n")
        .has("pack_id: x_pack\n");
    let bad = tai(&["pack", "new", "Bad-Id"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("invalid pack id `Bad-Id`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn schema_prints_the_committed_schemas() {
    let root = common::root();
    for kind in ["pack", "sku"] {
        let run = tai(&["schema", kind]).ok();
        let committed =
            std::fs::read_to_string(root.join(format!("schemas/{kind}.schema.json"))).unwrap();
        assert_eq!(run.stdout, committed);
        assert_eq!(
            run.json()["$schema"],
            "http://json-schema.org/draft-07/schema#"
        );
    }
    // Scenarios have a schema too now; an unknown kind is still a usage error.
    let scenario = tai(&["schema", "scenario"]).ok();
    let committed = std::fs::read_to_string(root.join("schemas/scenario.schema.json")).unwrap();
    assert_eq!(scenario.stdout, committed);
    assert_eq!(tai(&["schema", "storyboard"]).code, 2);
}

#[test]
fn completions_print_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = tai(&["completions", shell]).ok();
        assert!(run.stdout.contains("tai"), "{shell}");
    }
}

#[test]
fn colour_only_when_asked() {
    let args = [
        "sku",
        "diff",
        "rollback-guard-base",
        "rollback-guard-professional",
    ];
    assert!(!tai(&args).ok().stdout.contains('\x1b'));
    let mut always = vec!["--color", "always"];
    always.extend(args);
    assert!(
        tai(&always)
            .ok()
            .stdout
            .contains("\x1b[32m  + rollback_guard")
    );
}

#[test]
fn a_missing_catalog_folder_is_a_usage_error() {
    let run = tai(&["--catalog", "does-not-exist", "pack", "list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does-not-exist"), "{}", run.stderr);
}
