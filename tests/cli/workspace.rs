//! The local workspace as a user drives it: `tai event`, `call`, `signal`, `action`, `state`,
//! with state rebuilt from the ledger on every invocation and exit codes per decision.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

use crate::common;

fn tai(dir: &Path, args: &[&str]) -> Output {
    common::tai()
        .args(["--state", "st", "--now", "2026-03-01T00:00:00Z"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn lifecycle_through_the_cli() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let out = tai(
        p,
        &[
            "event",
            "activate",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-base",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("entitlement.activated accepted"));

    // Booting: a call is refused until the first signal.
    let out = tai(
        p,
        &[
            "call",
            "ac_receipt_verify",
            "--tenant",
            "acme",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["reason"], "governor_not_ready");
    assert_eq!(code(&tai(p, &["signal", "--tenant", "acme"])), 0);

    let out = tai(
        p,
        &[
            "call",
            "ac_receipt_verify",
            "--tenant",
            "acme",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["decision"], "executed");

    // Not entitled: exit 4.
    let out = tai(
        p,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--arg",
            "deployment=api",
        ],
    );
    assert_eq!(code(&out), 4);

    // Upgrade, then gate 3 and success with context.
    let out = tai(
        p,
        &[
            "event",
            "change",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("+ac_rollback_orchestrator"));
    let out = tai(
        p,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--arg",
            "deployment=api",
            "--context",
            "deployment_stable=false",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 3);
    let v = json(&out);
    assert_eq!(v["gate"], "preconditions");
    assert_eq!(v["reason"], "deployment_not_stable");
    let out = tai(
        p,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--arg",
            "deployment=api",
            "--context",
            "deployment_stable=true",
            "--context",
            "rollback_target_version=2.4.0",
            "--context",
            "rollback_policy_approved=true",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));

    // Overrun a bound: exit 5, then recover.
    let out = tai(
        p,
        &[
            "call",
            "ac_rollback_orchestrator",
            "--tenant",
            "acme",
            "--arg",
            "deployment=api",
            "--arg",
            "strategy=canary",
            "--context",
            "rollback_target_version=2.4.0",
            "--context",
            "deployment_stable=true",
            "--context",
            "rollback_policy_approved=true",
        ],
    );
    assert_eq!(code(&out), 5);
    let state = json(&tai(p, &["state", "--tenant", "acme", "--format", "json"]));
    assert_eq!(state["state"], "intervening");
    assert_eq!(
        code(&tai(p, &["action", "complete", "--tenant", "acme"])),
        0
    );
    // Nothing in flight any more: a usage error, no receipt.
    assert_eq!(
        code(&tai(p, &["action", "complete", "--tenant", "acme"])),
        2
    );

    // Escalation is refused with exit 3 and recorded.
    let out = tai(
        p,
        &[
            "event",
            "change",
            "--tenant",
            "acme",
            "--sku",
            "rollback-guard-professional",
            "--role",
            "admin_dashboard",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["refusal"]["code"], "role_not_in_sku");

    let state = json(&tai(p, &["state", "--tenant", "acme", "--format", "json"]));
    assert_eq!(state["state"], "stable");
    assert_eq!(
        state["entitlement"]["sku_id"],
        "rollback-guard-professional"
    );
    assert!(
        state["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "ac_storm_detector")
    );

    // Every invocation appended to one verifiable chain.
    let out = tai(p, &["receipts", "verify", "--tenant", "acme"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn raw_event_file_and_malformed_events() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("purchase.json"),
        r#"{"event_type":"entitlement.activated","tenant_id":"cust-12345","sku_id":"rollback-guard-professional","plan_id":"professional-tier","enabled_packs":["receipt_verifier","rollback_guard","storm_discipline"],"iam_roles":["read_deployment","write_rollback","read_audit_trail"],"expiry":1803945600}"#,
    )
    .unwrap();
    let out = tai(p, &["event", "--file", "purchase.json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        p.join("bad.yaml"),
        "event_type: entitlement.activated\ntenant_id: cust-12345\nsku: typo\n",
    )
    .unwrap();
    let out = tai(p, &["event", "--file", "bad.yaml", "--format", "json"]);
    assert_eq!(code(&out), 3);
    assert_eq!(json(&out)["refusal"]["code"], "malformed_event");
    std::fs::write(
        p.join("past.yaml"),
        "event_type: entitlement.renewed\ntenant_id: cust-12345\nexpiry: 2020-01-01\n",
    )
    .unwrap();
    let out = tai(p, &["event", "--file", "past.yaml", "--format", "json"]);
    assert_eq!(json(&out)["refusal"]["code"], "expiry_in_past");
    // No tenant at all: nothing to record it against, a usage error.
    std::fs::write(
        p.join("anon.json"),
        r#"{"event_type":"entitlement.activated"}"#,
    )
    .unwrap();
    assert_eq!(code(&tai(p, &["event", "--file", "anon.json"])), 2);
}

#[test]
fn bad_input_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let out = tai(p, &["call", "x", "--tenant", "../etc"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid tenant id"));
    let out = tai(p, &["state", "--tenant", "nobody"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant `nobody`"));
    let out = tai(p, &["call", "x", "--tenant", "a", "--arg", "novalue"]);
    assert_eq!(code(&out), 2);
}

/// Records what the workspace announces, to check order and completeness.
#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<(tai::ids::TenantId, u64)>>);

impl Recorder {
    fn seqs(&self, tenant: &tai::ids::TenantId) -> Vec<u64> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|(t, _)| t == tenant)
            .map(|(_, s)| *s)
            .collect()
    }
}

impl tai::workspace::ReceiptObserver for Recorder {
    fn appended(&self, tenant: &tai::ids::TenantId, receipts: &[tai::receipts::Receipt]) {
        let mut seen = self.0.lock().unwrap();
        seen.extend(receipts.iter().map(|r| (tenant.clone(), r.seq)));
    }
}

#[test]
fn concurrent_calls_for_one_tenant_are_all_durable_and_announced_in_order() {
    concurrent_calls_are_durable_and_announced_in_order(1, Door::Blocking);
}

#[test]
fn concurrent_calls_for_many_tenants_share_flushes_and_stay_apart() {
    concurrent_calls_are_durable_and_announced_in_order(8, Door::Blocking);
}

#[test]
fn deferred_calls_for_one_tenant_are_all_durable_and_announced_in_order() {
    concurrent_calls_are_durable_and_announced_in_order(1, Door::Deferred);
}

#[test]
fn deferred_calls_for_many_tenants_share_flushes_and_stay_apart() {
    concurrent_calls_are_durable_and_announced_in_order(8, Door::Deferred);
}

/// How the calls reach the workspace.
#[derive(Clone, Copy, PartialEq)]
enum Door {
    /// `Workspace::call`, which returns once the receipts are durable.
    Blocking,
    /// `Workspace::try_call` as the server uses it, falling back to `call` when declined.
    Deferred,
}

/// Eight threads per tenant call at once; every receipt must be durable when its call
/// returns, every chain must verify from a fresh reader, and the observer must hear each
/// tenant's receipts exactly once, in chain order.
fn concurrent_calls_are_durable_and_announced_in_order(tenants: usize, door: Door) {
    use std::sync::Arc;
    use tai::clock::{SimClock, Timestamp};
    use tai::governor::{Decision, Signal, ToolCall};
    use tai::ids::TenantId;
    use tai::receipts::ledger::{FileLedger, Ledger};
    use tai::workspace::Workspace;

    let d = tempfile::tempdir().unwrap();
    let catalog = Arc::new(common::seed_catalog());
    let clock = Arc::new(SimClock::new(
        Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
    ));
    let recorder = Arc::new(Recorder::default());
    let ws = Arc::new(
        Workspace::open(d.path(), catalog, clock)
            .unwrap()
            .with_observer(recorder.clone()),
    );
    let ids: Vec<TenantId> = (0..tenants)
        .map(|i| TenantId::new(format!("t{i}")).unwrap())
        .collect();
    for t in &ids {
        let purchase = serde_json::json!({
            "event_type": "entitlement.activated", "tenant_id": t, "sku_id": "seed-demo"
        });
        assert!(ws.apply_event(&purchase).unwrap().accepted);
        ws.signal(t, &Signal::default()).unwrap();
    }

    const THREADS: usize = 8;
    const CALLS: usize = 25;
    let workers: Vec<_> = ids
        .iter()
        .flat_map(|t| std::iter::repeat_n(t.clone(), THREADS))
        .map(|tenant| {
            let ws = ws.clone();
            std::thread::spawn(move || {
                let mut call = ToolCall {
                    tool: "query".into(),
                    ..ToolCall::default()
                };
                call.arguments.insert("table".into(), "customers".into());
                let mut deferred = 0;
                for _ in 0..CALLS {
                    let tried = (door == Door::Deferred)
                        .then(|| ws.try_call(&tenant, &call).ok())
                        .flatten();
                    let out = match tried {
                        Some(d) => {
                            deferred += 1;
                            futures::executor::block_on(d.durable()).unwrap()
                        }
                        None => ws.call(&tenant, &call).unwrap(),
                    };
                    assert_eq!(out.decision, Decision::Executed);
                    // Acknowledged means durable: the ledger's head covers the receipt.
                    let seq = out.receipts.last().unwrap().seq;
                    assert!(ws.ledger().head(&tenant).unwrap().next_seq > seq);
                }
                deferred
            })
        })
        .collect();
    let deferred: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    if door == Door::Deferred {
        assert!(deferred > 0, "no call took the deferred path");
    }

    let expected = (3 + THREADS * CALLS) as u64;
    for t in &ids {
        assert_eq!(ws.tenant(t).unwrap().head().next_seq, expected);
    }
    drop(ws);
    let reader = FileLedger::open(d.path()).unwrap();
    for t in &ids {
        let report = reader.verify(t).unwrap();
        assert!(report.is_ok(), "{t}: {report:?}");
        assert_eq!(report.unacknowledged, 0, "{t}: every receipt acknowledged");
        assert_eq!(reader.read(t).unwrap().len() as u64, expected);
        let seen = recorder.seqs(t);
        assert_eq!(seen, (0..expected).collect::<Vec<_>>(), "{t}");
    }
}
