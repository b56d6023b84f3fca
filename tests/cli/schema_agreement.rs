//! The committed JSON Schemas are as strict as `tai validate` on every rule a single file can
//! break: each file of a corpus gets the same verdict from both (the schema through the
//! `jsonschema` crate, `tai validate FILE` on the file alone).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

use crate::common::{self, Run};

const PACK: &str = "\
pack_id: core
version: 1.0.0
description: Core checks.
tools:
  - name: core_check
    description: Run the check.
    action: check
    handler: { kind: simulated }
actions:
  - id: check
    roles: [read_core]
    compute_limits: { timeout_ms: 1000, max_cpu_percent: 50 }
";

const SKU: &str = "\
sku_id: basic
plan_id: basic-tier
title: Basic
price: { amount: 10, currency: USD, period: monthly }
enabled_packs: [core]
iam_roles: [read_core]
";

/// (what, the folder it goes in, the file).
fn corpus() -> Vec<(&'static str, &'static str, String)> {
    let pack = |from: &str, to: &str| {
        assert!(PACK.contains(from), "{from}");
        PACK.replace(from, to)
    };
    let sku = |from: &str, to: &str| {
        assert!(SKU.contains(from), "{from}");
        SKU.replace(from, to)
    };
    vec![
        ("a valid pack", "packs", PACK.to_owned()),
        ("a valid SKU", "skus", SKU.to_owned()),
        (
            "an empty description",
            "packs",
            pack("description: Core checks.", "description: ''"),
        ),
        (
            "version 0.1.x",
            "packs",
            pack("version: 1.0.0", "version: 0.1.x"),
        ),
        (
            "version 1.0",
            "packs",
            pack("version: 1.0.0", "version: '1.0'"),
        ),
        (
            "a pre-release version",
            "packs",
            pack("version: 1.0.0", "version: 1.0.0-rc.1"),
        ),
        (
            "timeout_ms: 0",
            "packs",
            pack("timeout_ms: 1000", "timeout_ms: 0"),
        ),
        (
            "a day-long timeout",
            "packs",
            pack("timeout_ms: 1000", "timeout_ms: 86400000"),
        ),
        (
            "a timeout beyond a day",
            "packs",
            pack("timeout_ms: 1000", "timeout_ms: 86400001"),
        ),
        (
            "max_cpu_percent: 200",
            "packs",
            pack("max_cpu_percent: 50", "max_cpu_percent: 200"),
        ),
        (
            "max_cpu_percent: 100",
            "packs",
            pack("max_cpu_percent: 50", "max_cpu_percent: 100"),
        ),
        (
            "a bad pack id",
            "packs",
            pack("pack_id: core", "pack_id: Core"),
        ),
        (
            "an unknown field",
            "packs",
            pack("description: Core checks.", "description: x\nsummary: y"),
        ),
        ("amount: -5", "skus", sku("amount: 10", "amount: -5")),
        ("amount: 0", "skus", sku("amount: 10", "amount: 0")),
        ("amount: 29.50", "skus", sku("amount: 10", "amount: 29.50")),
        ("amount: 0.07", "skus", sku("amount: 10", "amount: 0.07")),
        (
            "amount: 1234567.89",
            "skus",
            sku("amount: 10", "amount: 1234567.89"),
        ),
        ("amount: 19.99", "skus", sku("amount: 10", "amount: 19.99")),
        ("amount: 4.35", "skus", sku("amount: 10", "amount: 4.35")),
        (
            "currency: dollars",
            "skus",
            sku("currency: USD", "currency: dollars"),
        ),
        (
            "currency: usd",
            "skus",
            sku("currency: USD", "currency: usd"),
        ),
        (
            "enabled_packs: []",
            "skus",
            sku("enabled_packs: [core]", "enabled_packs: []"),
        ),
        (
            "a bad period",
            "skus",
            sku("period: monthly", "period: weekly"),
        ),
    ]
}

#[test]
fn the_schemas_agree_with_tai_validate_on_single_file_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (i, (what, folder, text)) in corpus().into_iter().enumerate() {
        let kind = if folder == "packs" { "pack" } else { "sku" };
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(common::root().join(format!("schemas/{kind}.schema.json")))
                .unwrap(),
        )
        .unwrap();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let schema_ok = validator.is_valid(&doc);
        let sub = dir.path().join(format!("case{i}/{folder}"));
        std::fs::create_dir_all(&sub).unwrap();
        let id = if folder == "packs" { "core" } else { "basic" };
        let file = sub.join(format!("{id}.yaml"));
        std::fs::write(&file, &text).unwrap();
        let run: Run = common::tai()
            .args(["validate", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap()
            .into();
        assert_ne!(run.code, 2, "{what}: {}", run.stderr);
        let tai_ok = run.json()["errors"] == 0;
        if schema_ok != tai_ok {
            let why: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            disagreements.push(format!(
                "{what}: schema says {}, tai validate says {} ({why:?}; {})",
                if schema_ok { "valid" } else { "invalid" },
                if tai_ok { "valid" } else { "invalid" },
                run.stdout
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The one single-file rule the schema leaves to `tai validate`: at most two decimals in a
/// price. `multipleOf: 0.01` would say it, but validators that test it in binary floating
/// point (Python's jsonschema, Ajv) would then flag 19.99 in an editor.
#[test]
fn cents_are_checked_by_tai_validate_alone() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("schemas/sku.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(
        !schema.to_string().contains("multipleOf"),
        "no float-unsafe multipleOf in the SKU schema"
    );
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("skus");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("basic.yaml");
    std::fs::write(&file, SKU.replace("amount: 10", "amount: 29.505")).unwrap();
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(jsonschema::draft7::new(&schema).unwrap().is_valid(&doc));
    let run: Run = common::tai()
        .args(["validate"])
        .arg(&file)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{}", run.stdout);
    run.has("price `29.505` has more than two decimals");
}
