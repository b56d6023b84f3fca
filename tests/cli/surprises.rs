//! The CLI never surprises: a misspelt tenant or tool, a missing flag, a closed pipe, a used
//! ledger directory, mixed clocks and colour choices each get a plain answer and the exit
//! code the README promises, and nothing is written that the user did not ask for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Stdio;

use crate::common::{self, Run};

const NOW: &str = "2026-03-01T00:00:00Z";

fn tai(dir: &Path, args: &[&str]) -> Run {
    common::tai()
        .args(["--state", "st", "--now", NOW])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .into()
}

/// A workspace where `acme` holds the professional plan and its governor is booted.
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    tai(
        p,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
        ],
    )
    .ok();
    tai(p, &["signal", "--tenant", "acme"]).ok();
    d
}

fn ledgers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("st/ledger"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".jsonl"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_misspelt_tenant_is_a_usage_error_with_a_suggestion_and_writes_nothing() {
    let d = workspace();
    let p = d.path();
    let before = std::fs::read(p.join("st/ledger/acme.jsonl")).unwrap();
    for args in [
        &["call", "ac_receipt_verify", "--tenant", "acmee"][..],
        &["signal", "--tenant", "acmee"],
        &["action", "complete", "--tenant", "acmee"],
        &["state", "--tenant", "acmee"],
        &["event", "suspend", "--tenant", "acmee"],
        &["event", "renew", "--tenant", "acmee"],
        &["iam", "clear", "--tenant", "acmee"],
        &["iam", "show", "--tenant", "acmee"],
        &["andon", "show", "--tenant", "acmee"],
    ] {
        let run = tai(p, args).exits(2);
        run.errs("no tenant `acmee`; did you mean `acme`?");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    // A name close to none lists the tenants there are.
    tai(p, &["signal", "--tenant", "ghost2"])
        .exits(2)
        .errs("no tenant `ghost2` in `st`; known tenants: `acme`");
    assert_eq!(ledgers(p), ["acme.jsonl"]);
    assert_eq!(
        std::fs::read(p.join("st/ledger/acme.jsonl")).unwrap(),
        before
    );
    // In a folder with no workspace at all, nothing is created either.
    let empty = tempfile::tempdir().unwrap();
    tai(
        empty.path(),
        &["call", "ac_receipt_verify", "--tenant", "acme"],
    )
    .exits(2);
    assert!(!empty.path().join("st").exists());
    // An entitlement event is what starts a tenant.
    tai(
        p,
        &[
            "event",
            "activate",
            "--tenant",
            "beta",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .ok();
    assert_eq!(ledgers(p), ["acme.jsonl", "beta.jsonl"]);
}

#[test]
fn receipts_commands_suggest_the_nearest_tenant() {
    let d = workspace();
    tai(d.path(), &["receipts", "show", "--tenant", "acmee"])
        .exits(2)
        .errs("did you mean `acme`?");
}

#[test]
fn activate_and_change_without_a_sku_are_usage_errors_that_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    tai(p, &["event", "activate", "--tenant", "bob"])
        .exits(2)
        .errs("`tai event activate` needs --sku SKU");
    assert!(ledgers(p).is_empty());
    let d = workspace();
    tai(d.path(), &["event", "change", "--tenant", "acme"])
        .exits(2)
        .errs("`tai event change` needs --sku SKU");
    // `plan-change` is the same command, named after the event it sends.
    tai(
        d.path(),
        &[
            "event",
            "plan-change",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .ok()
    .has("entitlement.plan_changed accepted for `acme`");
}

#[test]
fn a_misspelt_tool_suggests_the_closest_visible_tool() {
    let d = workspace();
    let run = tai(d.path(), &["call", "ac_receipt_verfy", "--tenant", "acme"]).exits(4);
    run.has("tool_not_found: tool `ac_receipt_verfy` is not available to tenant `acme`")
        .has("did you mean `ac_receipt_verify`?");
    assert!(
        !run.stdout.contains("tool_not_found: tool_not_found"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_successful_call_says_so_once() {
    let d = workspace();
    let run = tai(d.path(), &["call", "ac_receipt_verify", "--tenant", "acme"]).ok();
    assert!(
        run.stdout.starts_with("`ac_receipt_verify` executed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn arg_values_take_the_type_the_input_schema_gives_them() {
    let d = workspace();
    let run = tai(
        d.path(),
        &[
            "call",
            "ac_rollback_status",
            "--tenant",
            "acme",
            "--arg",
            "deployment=1234",
            "--format",
            "json",
        ],
    )
    .ok();
    assert_eq!(run.json()["decision"], "executed");
    let receipts = std::fs::read_to_string(d.path().join("st/ledger/acme.jsonl")).unwrap();
    let last = receipts.lines().last().unwrap();
    assert!(last.contains(r#""deployment":"1234""#), "{last}");
}

/// Errors and warnings with standard error closed (`2>&-`, or piped to a reader that went
/// away): the exit code still says what happened, never a panic's 101.
#[test]
fn a_closed_standard_error_does_not_change_the_exit_code() {
    let d = workspace();
    for (args, code) in [
        (&["receipts", "show", "--tenant", "nosuch"][..], 2),
        (&["state", "--tenant", "acme", "--bogus"], 2),
        (&["call", "--tenant", "acme", "no_such_tool"], 4),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = common::tai()
            .args(["--state", "st", "--now", NOW])
            .args(args)
            .current_dir(d.path())
            .stdout(Stdio::null())
            .stderr(writer)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["simulate"][..],
        &["simulate", "--format", "json"],
        &["pack", "list"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["sku", "list"],
        &["schema", "pack"],
    ] {
        let mut child = common::tai()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read nothing and close the pipe, as `| head -c 0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn simulate_refuses_a_ledger_directory_that_already_holds_one() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    tai(p, &["simulate", "--ledger", "demo-state"]).ok();
    let first = std::fs::read(p.join("demo-state/ledger/acme.jsonl")).unwrap();
    tai(p, &["simulate", "--ledger", "demo-state"])
        .exits(2)
        .errs("`demo-state` already holds a ledger (1 tenant)");
    assert_eq!(
        std::fs::read(p.join("demo-state/ledger/acme.jsonl")).unwrap(),
        first
    );
}

#[test]
fn color_never_reaches_clap_errors_and_help() {
    for args in [
        &["--color", "never", "sku", "shw"][..],
        &["--color=never", "--bogus"],
    ] {
        let out = common::tai()
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains('\x1b'), "{args:?}: {stderr:?}");
    }
    let out = common::tai()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never", "call", "--help"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    // And `always` colours them.
    let out = common::tai()
        .args(["--color", "always", "sku", "shw"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains('\x1b'));
}

#[test]
fn export_infers_the_format_from_the_output_extension() {
    let d = workspace();
    let p = d.path();
    let run = tai(
        p,
        &[
            "receipts", "export", "--tenant", "acme", "--output", "x.csv",
        ],
    )
    .ok();
    run.errs("as csv to x.csv");
    let csv = std::fs::read_to_string(p.join("x.csv")).unwrap();
    assert!(csv.starts_with("seq,"), "{csv}");
    tai(p, &["receipts", "export", "--tenant", "acme", "-o", "x.md"])
        .ok()
        .errs("as markdown to x.md");
    tai(
        p,
        &[
            "receipts", "export", "--tenant", "acme", "--output", "x.txt",
        ],
    )
    .exits(2)
    .errs("cannot tell the export format from the extension `.txt`");
    tai(p, &["receipts", "export", "--tenant", "acme"])
        .exits(2)
        .errs("pass --format");
    assert!(!p.join("x.txt").exists());
}

#[test]
fn mixed_clocks_warn_and_strict_time_fails_the_chain() {
    let d = workspace();
    let p = d.path();
    // The workspace was written at 2026-03-01; now an earlier --now.
    let run = common::tai()
        .args(["--state", "st", "--now", "2026-02-01T00:00:00Z"])
        .args(["signal", "--tenant", "acme"])
        .current_dir(p)
        .output()
        .unwrap();
    let run = Run::from(run).ok();
    run.errs("warning: `acme`'s receipt seq")
        .errs("--now/TAI_NOW and the real clock were mixed");
    tai(p, &["receipts", "verify", "--tenant", "acme"]).ok();
    tai(p, &["receipts", "verify", "--all", "--strict-time"])
        .exits(1)
        .has("acme: TIME GOES BACKWARDS at seq");
    // A chain written on one clock passes.
    let fine = workspace();
    tai(
        fine.path(),
        &["receipts", "verify", "--all", "--strict-time"],
    )
    .ok();
}

#[test]
fn wording_counts_and_standings_read_as_english() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    tai(p, &["simulate"])
        .ok()
        .has("1 tenant: all expectations held");
    let only = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(only.path().join("packs")).unwrap();
    tai(only.path(), &["pack", "new", "billing_guard"]).ok();
    tai(only.path(), &["pack", "list"])
        .ok()
        .has("1 pack, 2 tools");
    tai(
        p,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .ok();
    tai(
        p,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .exits(3)
    .has("tenant already has an active entitlement");
    tai(p, &["event", "cancel", "--tenant", "acme"])
        .ok()
        .has("rollback-guard-base cancelled");
    let state = tai(p, &["state", "--tenant", "acme"]).ok();
    state.has("cancelled (the term was to end");
    assert!(
        !state.stdout.contains("cancelled until"),
        "{}",
        state.stdout
    );
}

#[test]
fn a_folder_with_only_packs_is_a_catalog_and_commands_say_which_catalog_they_use() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    tai(p, &["pack", "new", "billing_guard"]).ok();
    tai(p, &["pack", "show", "billing_guard"])
        .ok()
        .has("billing_guard")
        .errs("from the catalog in ./packs (no ./skus)");
    tai(p, &["validate"]).errs("checking the catalog in ./packs (no ./skus)");
    tai(p, &["test"])
        .exits(2)
        .errs("testing against the catalog in ./packs (no ./skus)");
    std::fs::create_dir(p.join("skus")).unwrap();
    tai(p, &["pack", "list"]).errs("from the catalog in ./packs and ./skus");
    let empty = tempfile::tempdir().unwrap();
    tai(empty.path(), &["pack", "show", "billing_guard"])
        .exits(2)
        .errs("looked in the built-in catalog");
    tai(empty.path(), &["validate"])
        .ok()
        .errs("checking the built-in catalog");
    tai(empty.path(), &["pack", "list"])
        .ok()
        .errs("from the built-in catalog");
}

#[test]
fn pack_show_lists_each_tool_s_arguments() {
    let d = tempfile::tempdir().unwrap();
    let run = tai(d.path(), &["pack", "show", "rollback_guard"]).ok();
    run.has("Arguments");
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("ac_rollback_status") && l.contains("string"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        line.contains("deployment") && line.contains("yes"),
        "{line}"
    );
}

#[test]
fn sku_diff_rounds_a_price_across_terms() {
    let d = tempfile::tempdir().unwrap();
    tai(
        d.path(),
        &[
            "sku",
            "diff",
            "rollback-guard-professional",
            "partner-observability-edition",
        ],
    )
    .ok()
    .has("+$450.17/mo");
}

#[test]
fn validate_on_a_scenario_suggests_tai_test() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("story.yaml"),
        "name: story\nsteps:\n  - advance: 1d\n",
    )
    .unwrap();
    let run = tai(d.path(), &["validate", "story.yaml"]);
    assert_ne!(run.code, 0);
    run.has("this file is a scenario")
        .has("tai test story.yaml");
}

#[test]
fn schema_scenario_checks_the_shipped_scenarios() {
    let d = tempfile::tempdir().unwrap();
    let run = tai(d.path(), &["schema", "scenario"]).ok();
    let schema = run.json();
    assert_eq!(schema["title"], "tai scenario");
    let validator = jsonschema::draft7::new(&schema).unwrap();
    for entry in std::fs::read_dir(common::root().join("tests/scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let doc: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn completion_offers_the_ids_of_the_catalog_and_the_tenants_of_the_workspace() {
    let d = workspace();
    let complete = |words: &[&str]| -> String {
        let out = common::tai()
            .env("COMPLETE", "fish")
            .env("TAI_STATE", "st")
            .arg("--")
            .arg("tai")
            .args(words)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::text(&out.stderr));
        common::text(&out.stdout)
    };
    let skus = complete(&["sku", "show", "rollback"]);
    assert!(skus.contains("rollback-guard-base\t"), "{skus}");
    assert!(!skus.contains("governance-suite-enterprise"), "{skus}");
    assert!(complete(&["pack", "show", "roll"]).contains("rollback_guard"));
    assert!(complete(&["call", "ac_receipt_v"]).contains("ac_receipt_verify"));
    assert!(complete(&["signal", "--tenant", "ac"]).contains("acme"));
    // The registration script for a shell's start-up file.
    let out = common::tai().env("COMPLETE", "bash").output().unwrap();
    assert!(
        common::text(&out.stdout).contains("complete"),
        "{}",
        common::text(&out.stdout)
    );
}

#[test]
fn deliberate_warnings_are_allowed_by_flag_or_by_the_file_itself() {
    let d = tempfile::tempdir().unwrap();
    let catalog = d.path().join("cat");
    for folder in ["packs", "skus"] {
        let from = common::fixture(&format!("validate/unusable_action/{folder}"));
        std::fs::create_dir_all(catalog.join(folder)).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), catalog.join(folder).join(entry.file_name())).unwrap();
        }
    }
    let validate = |extra: &[&str]| -> Run {
        common::tai()
            .args(["validate", "cat", "--deny-warnings"])
            .args(extra)
            .current_dir(d.path())
            .output()
            .unwrap()
            .into()
    };
    validate(&[]).exits(1);
    validate(&["--allow", "unusable_action"])
        .ok()
        .errs("1 allowed warning not shown");
    // Errors cannot be allowed, and a misspelt rule is named.
    validate(&["--allow", "invalid_price"])
        .exits(2)
        .errs("`invalid_price` is an error, which cannot be allowed");
    validate(&["--allow", "unusable_actoin"])
        .exits(2)
        .errs("did you mean `unusable_action`?");
    // The SKU file allows it for itself.
    let sku = catalog.join("skus/basic.yaml");
    let text = std::fs::read_to_string(&sku).unwrap();
    std::fs::write(
        &sku,
        format!("{text}# tai: allow unusable_action (the plan shows what it cannot run)\n"),
    )
    .unwrap();
    validate(&[]).ok();
}

#[test]
fn the_older_spellings_still_work() {
    let d = workspace();
    let p = d.path();
    tai(
        p,
        &[
            "call",
            "ac_rollback_status",
            "--tenant",
            "acme",
            "--argument",
            "deployment=billing-api",
        ],
    )
    .ok()
    .has("billing-api");
    tai(
        p,
        &[
            "event",
            "plan-change",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
        ],
    )
    .ok();
    // `completed` is `complete`: refused here only because nothing is in flight.
    tai(p, &["action", "completed", "--tenant", "acme"])
        .exits(2)
        .errs("no action is in flight for tenant `acme`");

    // Scenario steps: `args` for `arguments`, `action_fail` for `action_failed`.
    std::fs::write(
        p.join("old.yaml"),
        "name: older spellings\ntenant: shop\nsteps:\n\
         \x20 - event: { event_type: entitlement.activated, sku_id: rollback-guard-professional }\n\
         \x20 - signal: {}\n\
         \x20 - call:\n\
         \x20     tool: ac_rollback_orchestrator\n\
         \x20     args: { deployment: checkout-api, strategy: canary }\n\
         \x20     context: { deployment_stable: true, rollback_target_version: 2.4.0, rollback_policy_approved: true }\n\
         \x20   expect: { decision: failed, state: intervening }\n\
         \x20 - action_fail: { detail: gave up }\n\
         \x20   expect: { state: refusing }\n",
    )
    .unwrap();
    tai(p, &["test", "old.yaml"])
        .ok()
        .has("PASS older spellings");
}

/// A file that cannot be read is named once, with the operating system's reason once: not
/// `x: cannot read `x`: …`, nor the reason repeated from the error's cause.
#[test]
fn an_unreadable_file_is_named_once_with_its_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = tai(dir.path(), &["--catalog", "no-such-catalog", "state"]).exits(2);
    assert_eq!(
        run.stderr.trim(),
        "error: cannot read `no-such-catalog`: no such file or directory"
    );
    let run = tai(
        dir.path(),
        &[
            "--signing-key",
            "no-such.key",
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .exits(2);
    let said = run.stderr.trim();
    assert!(
        said.starts_with("error: cannot read `no-such.key`: "),
        "{said}"
    );
    assert_eq!(said.matches("os error 2").count(), 1, "{said}");
    tai(
        dir.path(),
        &[
            "--previous-key",
            "old.pub",
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    )
    .exits(2)
    .errs("--previous-key names keys a signing key continues, but no --signing-key");
}

/// `tai mcp` for a tenant the workspace does not hold, without `--sku` to activate it: a
/// usage error naming the known tenants, and no ledger made for the misspelt name.
#[test]
fn mcp_for_an_unknown_tenant_is_refused_before_anything_is_written() {
    let d = workspace();
    let run = tai(d.path(), &["mcp", "--tenant", "acmee"]).exits(2);
    run.errs("acmee");
    let ledger = d.path().join("st/ledger");
    assert!(!ledger.join("acmee.jsonl").exists());
    assert!(!ledger.join("acmee.head").exists());
}
