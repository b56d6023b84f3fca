//! Peers and the record's costs, in one run:
//!
//! 1. tai's whole gated call — the shipped `ac_rollback_orchestrator` with its arguments and
//!    its three preconditions in the context, through `MemoryEngine::call` with the built-in
//!    catalog, the receipt sealed — next to Cedar's `is_authorized` on the equivalent role +
//!    precondition policy. Prints both p50s and their ratio.
//! 2. An inclusion proof for a receipt of a 1M-receipt signed chain, and its verification.
//! 3. Durable calls through the workspace with checkpoint signing off and on, on one tenant
//!    and across 64.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityUid, PolicySet, Request,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tai::catalog::{builtin, load};
use tai::clock::{SimClock, SystemClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::{EntitlementEvent, EventKind};
use tai::governor::{Decision, IdSource, Signal, ToolCall};
use tai::ids::{SkuId, TenantId};
use tai::receipts::ledger::{FileLedger, Ledger, LedgerOptions};
use tai::receipts::{ChainHead, CheckpointSigner, sample_body};
use tai::workspace::Workspace;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `-- durable`: the signing comparison alone; `-- durable TENANTS on|off [RUNS]`: one
    // side of it (4 runs), e.g. under a profiler or alternated with another build.
    if args.first().map(String::as_str) == Some("durable") {
        match (args.get(1).and_then(|n| n.parse().ok()), args.get(2)) {
            (Some(tenants), Some(side)) => {
                let signed = side == "on";
                let runs = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(4);
                for _ in 0..runs {
                    println!(
                        "durable {tenants} tenant(s) signing {side}: {:.0} calls/s",
                        durable_rate(tenants, signed)
                    );
                }
            }
            _ => durable_signing(),
        }
        return;
    }
    let call = gated_call_vs_cedar();
    println!(
        "gated call   tai p50 {:.2} µs   cedar is_authorized p50 {:.2} µs   tai/cedar {:.2}",
        call.tai,
        call.cedar,
        call.tai / call.cedar
    );
    println!(
        "             of which hashing the receipt ({} bytes, SHA-256 alone) p50 {:.2} µs = {:.2} of cedar",
        call.receipt_bytes,
        call.hash,
        call.hash / call.cedar
    );
    // `-- call` stops here: the comparison alone, e.g. under a profiler.
    if args.first().map(String::as_str) == Some("call") {
        return;
    }
    proofs();
    durable_signing();
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn p50(mut samples: Vec<u64>) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2] as f64 / 1000.0
}

/// The p50s of one run of [`gated_call_vs_cedar`], in µs.
struct CallFigures {
    tai: f64,
    cedar: f64,
    /// SHA-256 of the call's receipt alone: the floor of sealing it, whatever else the call
    /// costs.
    hash: f64,
    receipt_bytes: usize,
}

/// The p50 of tai's call, of Cedar's decision and of hashing the call's receipt, interleaved
/// in rounds so all see the same machine.
fn gated_call_vs_cedar() -> CallFigures {
    let catalog = Arc::new(load::build(&builtin::sources()).unwrap());
    let clock = Arc::new(SimClock::new(
        Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
    ));
    let mut engine = MemoryEngine::new(catalog, clock, IdSource::seeded(1));
    let tenant = TenantId::new("bench").unwrap();
    let mut ev = EntitlementEvent::new(EventKind::Activated, tenant.clone());
    ev.sku_id = Some(SkuId::new("rollback-guard-professional").unwrap());
    assert!(engine.apply_event(&ev).accepted);
    engine.signal(&tenant, &Signal::default());
    let call = ToolCall {
        tool: "ac_rollback_orchestrator".into(),
        arguments: object(json!({
            "deployment": "checkout-api", "target_version": "2.4.0",
            "strategy": "instant", "reason": "error rate above 5% since 2.4.1",
        })),
        context: object(json!({
            "deployment_stable": true, "rollback_target_version": "2.4.0",
            "rollback_policy_approved": true,
        })),
        idempotency_key: None,
        principal: None,
        timeout_ms: None,
    };
    assert_eq!(engine.call(&tenant, &call).decision, Decision::Executed);

    let policies = PolicySet::from_str(
        r#"permit(principal, action == Action::"trigger_rollback", resource)
           when {
             principal.roles.contains("read_deployment") &&
             principal.roles.contains("write_rollback") &&
             context.deployment_stable == true &&
             context has rollback_target_version &&
             context.rollback_policy_approved == true
           };"#,
    )
    .unwrap();
    let entities = Entities::from_json_value(
        json!([{
            "uid": { "type": "Tenant", "id": "bench" },
            "attrs": { "roles": ["read_deployment", "write_rollback", "read_audit_trail"] },
            "parents": []
        }]),
        None,
    )
    .unwrap();
    let request = Request::new(
        EntityUid::from_str(r#"Tenant::"bench""#).unwrap(),
        EntityUid::from_str(r#"Action::"trigger_rollback""#).unwrap(),
        EntityUid::from_str(r#"Deployment::"checkout-api""#).unwrap(),
        Context::from_json_value(
            json!({
                "deployment_stable": true, "rollback_target_version": "2.4.0",
                "rollback_policy_approved": true,
            }),
            None,
        )
        .unwrap(),
        None,
    )
    .unwrap();
    let authorizer = Authorizer::new();
    assert_eq!(
        authorizer
            .is_authorized(&request, &policies, &entities)
            .decision(),
        CedarDecision::Allow
    );

    const ROUNDS: usize = 10;
    const PER_ROUND: usize = 20_000;
    let receipt = engine
        .receipts(&tenant)
        .last()
        .unwrap()
        .canonical_unsealed();
    let (mut ours, mut theirs, mut hashing) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // A fresh engine per round keeps the receipts held in memory (and the pages they
        // touch) what one tenant's chain holds in a real run, not millions.
        let mut e = MemoryEngine::new(
            Arc::new(load::build(&builtin::sources()).unwrap()),
            Arc::new(SimClock::new(
                Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
            )),
            IdSource::seeded(1),
        );
        e.apply_event(&ev);
        e.signal(&tenant, &Signal::default());
        for _ in 0..1000 {
            black_box(e.call(&tenant, &call));
            black_box(authorizer.is_authorized(&request, &policies, &entities));
        }
        for _ in 0..PER_ROUND {
            let t0 = Instant::now();
            let out = e.call(&tenant, &call);
            ours.push(t0.elapsed().as_nanos() as u64);
            black_box(out);
        }
        for _ in 0..PER_ROUND {
            let t0 = Instant::now();
            let r = authorizer.is_authorized(&request, &policies, &entities);
            theirs.push(t0.elapsed().as_nanos() as u64);
            black_box(r);
        }
        for _ in 0..PER_ROUND {
            let t0 = Instant::now();
            let digest = Sha256::digest(black_box(&receipt));
            hashing.push(t0.elapsed().as_nanos() as u64);
            black_box(digest);
        }
    }
    CallFigures {
        tai: p50(ours),
        cedar: p50(theirs),
        hash: p50(hashing),
        receipt_bytes: receipt.len(),
    }
}

/// A signed chain of 1M receipts; proofs for receipts spread over it, and their checks.
fn proofs() {
    const N: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(CheckpointSigner::from_seed([7; 32]));
    let options = LedgerOptions {
        signer: Some(Arc::clone(&signer)),
        clock: Arc::new(SystemClock),
        adopt_unsigned: false,
    };
    let tenant = TenantId::new("acme").unwrap();
    let build = Instant::now();
    {
        let ledger = FileLedger::open_with(dir.path(), options.clone()).unwrap();
        let mut head = ChainHead::default();
        let mut n = 0;
        while n < N {
            let batch: Vec<_> = (n..(n + 4096).min(N))
                .map(|i| head.seal(sample_body(&tenant, i)))
                .collect();
            n += batch.len() as u64;
            ledger.append(&tenant, &batch).unwrap();
        }
    }
    println!(
        "chain        {N} receipts written and signed in {:.1} s",
        build.elapsed().as_secs_f64()
    );
    let ledger = FileLedger::open_with(dir.path(), options).unwrap();
    let keys = [signer.public().clone()];
    let (mut proving, mut checking) = (Vec::new(), Vec::new());
    for i in 0..2_000u64 {
        let seq = (i * 7_919 * 131) % N;
        let t0 = Instant::now();
        let proof = ledger.prove(&tenant, seq).unwrap();
        proving.push(t0.elapsed().as_nanos() as u64);
        let t0 = Instant::now();
        proof.verify(&keys).unwrap();
        checking.push(t0.elapsed().as_nanos() as u64);
    }
    println!(
        "proof        generate p50 {:.1} µs   verify p50 {:.1} µs   (1M-receipt chain)",
        p50(proving),
        p50(checking)
    );
}

/// Durable calls through the workspace, 32 threads on one tenant and then spread over 64
/// tenants, signing off then on (alternating, twice each).
fn durable_signing() {
    for tenants in [1usize, 64] {
        let mut rates = Vec::new();
        for signed in [false, true, false, true] {
            rates.push((signed, durable_rate(tenants, signed)));
            std::thread::sleep(Duration::from_millis(200));
        }
        let mean = |s: bool| {
            let r: Vec<f64> = rates.iter().filter(|r| r.0 == s).map(|r| r.1).collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        let (off, on) = (mean(false), mean(true));
        println!(
            "durable      {tenants:>2} tenant(s): signing off {off:.0} calls/s   on {on:.0} calls/s   on/off {:.2}",
            on / off
        );
    }
}

/// Calls per second of 32 threads calling `tenants` tenants round-robin, durably.
fn durable_rate(tenants: usize, signed: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let signer = signed.then(|| Arc::new(CheckpointSigner::from_seed([9; 32])));
    let catalog = Arc::new(load::build(&builtin::sources()).unwrap());
    let ws = Arc::new(
        Workspace::open_signed(dir.path(), catalog, Arc::new(SystemClock), signer).unwrap(),
    );
    let ids: Vec<TenantId> = (0..tenants)
        .map(|i| TenantId::new(format!("t{i}")).unwrap())
        .collect();
    for t in &ids {
        ws.apply_event(&json!({
            "event_type": "entitlement.activated", "tenant_id": t.as_str(),
            "sku_id": "rollback-guard-professional",
        }))
        .unwrap();
        ws.signal(t, &Signal::default()).unwrap();
    }
    let call = ToolCall {
        tool: "ac_storm_status".into(),
        ..ToolCall::default()
    };
    const THREADS: usize = 32;
    const PER_THREAD: usize = 3_000;
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let (ws, ids, call) = (&ws, &ids, &call);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    ws.call(&ids[(thread + i) % ids.len()], call).unwrap();
                }
            });
        }
    });
    (THREADS * PER_THREAD) as f64 / t0.elapsed().as_secs_f64()
}
