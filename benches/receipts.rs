//! Receipt throughput: sealing and in-memory appends, durable file appends by batch size,
//! durable calls from many threads (group commit), and chain verification of a ledger over
//! 100 MB. Receipts are the realistic samples of
//! `tai::receipts::sample_body` (about 900 bytes per line, metadata of a few hundred bytes).
//!
//! Run with `cargo bench --bench receipts`. Targets: durable appends ≥ 50k receipts/s,
//! verification ≥ 300 MB/s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use tai::ids::TenantId;
use tai::receipts::verify::Verifier;
use tai::receipts::{
    ChainHead, FileLedger, Ledger, LedgerDir, MemoryLedger, Receipt, ReceiptBody, sample_body,
    verify_ledger,
};

// The same allocator as the `tai` binary, so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let tenant = TenantId::new("bench").unwrap();
    println!(
        "receipts benchmark ({} cores)\n",
        thread::available_parallelism().map_or(1, |n| n.get())
    );
    sealing(&tenant);
    durable_appends(&tenant);
    group_commit();
    verification(&tenant);
}

fn bodies(tenant: &TenantId, n: u64) -> Vec<ReceiptBody> {
    (0..n).map(|i| sample_body(tenant, i)).collect()
}

fn per_sec(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// (a) Sealing alone, and sealing plus an in-memory append, one receipt at a time.
fn sealing(tenant: &TenantId) {
    const N: u64 = 200_000;
    let mut head = ChainHead::default();
    let input = bodies(tenant, N);
    let mut sealed = Vec::with_capacity(N as usize);
    let start = Instant::now();
    for body in input {
        sealed.push(head.seal(body));
    }
    let seal_only = start.elapsed();
    black_box(sealed);

    let ledger = MemoryLedger::new();
    let mut head = ChainHead::default();
    let mut samples = Vec::with_capacity(N as usize);
    let input = bodies(tenant, N);
    let start = Instant::now();
    for body in input {
        let t0 = Instant::now();
        let r = head.seal(body);
        ledger.append(tenant, std::slice::from_ref(&r)).unwrap();
        samples.push(t0.elapsed());
    }
    let total = start.elapsed();
    samples.sort_unstable();
    let pct = |p: f64| samples[((N as f64 * p) as usize).min(N as usize - 1)].as_secs_f64() * 1e6;
    println!("(a) seal + append in memory, 1 thread, {N} receipts");
    println!(
        "    seal only         {:>9.0} receipts/s  ({:.2} µs each)",
        per_sec(N, seal_only),
        seal_only.as_secs_f64() * 1e6 / N as f64
    );
    println!(
        "    seal + append     {:>9.0} receipts/s  (p50 {:.2} µs, p99 {:.2} µs)\n",
        per_sec(N, total),
        pct(0.5),
        pct(0.99)
    );
}

/// (b) Seal + durable append (data sync, head overwrite + sync) per batch size.
fn durable_appends(tenant: &TenantId) {
    println!("(b) seal + durable FileLedger append (write, sync, head overwrite + sync)");
    println!(
        "    {:>6}  {:>9}  {:>12}  {:>14}",
        "batch", "receipts", "ms/batch", "receipts/s"
    );
    for batch in [1u64, 16, 64, 256, 1024] {
        let receipts = (batch * 200).clamp(400, 61_440);
        let state = tempfile::tempdir().unwrap();
        let ledger = FileLedger::open(state.path()).unwrap();
        let input = bodies(tenant, receipts);
        let mut head = ledger.head(tenant).unwrap();
        let mut sealed: Vec<Receipt> = Vec::with_capacity(batch as usize);
        let start = Instant::now();
        let mut pending = input.into_iter().peekable();
        while pending.peek().is_some() {
            sealed.clear();
            sealed.extend(pending.by_ref().take(batch as usize).map(|b| head.seal(b)));
            ledger.append(tenant, &sealed).unwrap();
        }
        let total = start.elapsed();
        let batches = receipts.div_ceil(batch);
        println!(
            "    {batch:>6}  {receipts:>9}  {:>12.3}  {:>14.0}",
            total.as_secs_f64() * 1e3 / batches as f64,
            per_sec(receipts, total)
        );
    }
    // Two tenants from two threads: the ledger shares no lock between them, so what this
    // shows is how far the file system lets their syncs overlap.
    let state = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open(state.path()).unwrap();
    const PER_THREAD: u64 = 64 * 100;
    let start = Instant::now();
    thread::scope(|s| {
        for name in ["left", "right"] {
            let ledger = &ledger;
            s.spawn(move || {
                let t = TenantId::new(name).unwrap();
                let mut head = ChainHead::default();
                let all = bodies(&t, PER_THREAD);
                for chunk in all.chunks(64) {
                    let batch: Vec<Receipt> = chunk.iter().cloned().map(|b| head.seal(b)).collect();
                    ledger.append(&t, &batch).unwrap();
                }
            });
        }
    });
    let total = start.elapsed();
    println!(
        "    2 tenants × 2 threads, batch 64: {:.0} receipts/s\n",
        per_sec(2 * PER_THREAD, total)
    );
}

/// (c) Durable tool calls through the workspace from many threads: each call's receipt is
/// durable before the call returns, and concurrent calls share flushes (group commit).
fn group_commit() {
    use std::path::Path;
    use std::sync::Arc;
    use tai::catalog::load;
    use tai::clock::{SimClock, Timestamp};
    use tai::governor::{Decision, Signal, ToolCall};
    use tai::workspace::Workspace;

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let catalog = Arc::new(load::build(&load::read_dir(&fixtures).unwrap()).unwrap());
    println!("(c) durable tool calls through the workspace (one receipt each, group commit)");
    println!(
        "    {:>7}  {:>7}  {:>9}  {:>11}",
        "threads", "tenants", "calls", "calls/s"
    );
    for (threads, shared) in [
        (1usize, true),
        (8, true),
        (64, true),
        (8, false),
        (64, false),
    ] {
        let state = tempfile::tempdir().unwrap();
        let clock = Arc::new(SimClock::new(
            Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
        ));
        let ws = Workspace::open(state.path(), catalog.clone(), clock).unwrap();
        let tenants: Vec<TenantId> = (0..if shared { 1 } else { threads })
            .map(|i| TenantId::new(format!("t{i}")).unwrap())
            .collect();
        for t in &tenants {
            let purchase = serde_json::json!({
                "event_type": "entitlement.activated", "tenant_id": t, "sku_id": "seed-demo"
            });
            assert!(ws.apply_event(&purchase).unwrap().accepted);
            ws.signal(t, &Signal::default()).unwrap();
        }
        let per_thread = (4000 / threads).max(50);
        let start = Instant::now();
        thread::scope(|s| {
            for i in 0..threads {
                let (ws, tenant) = (&ws, &tenants[i % tenants.len()]);
                s.spawn(move || {
                    let mut call = ToolCall {
                        tool: "query".into(),
                        ..ToolCall::default()
                    };
                    call.arguments.insert("table".into(), "customers".into());
                    for _ in 0..per_thread {
                        let out = ws.call(tenant, &call).unwrap();
                        assert_eq!(out.decision, Decision::Executed);
                    }
                });
            }
        });
        let calls = (threads * per_thread) as u64;
        println!(
            "    {threads:>7}  {:>7}  {calls:>9}  {:>11.0}",
            tenants.len(),
            per_sec(calls, start.elapsed())
        );
    }
    println!();
}

/// (d) Verification of a ledger over 100 MB.
fn verification(tenant: &TenantId) {
    const N: u64 = 120_000;
    let state = tempfile::tempdir().unwrap();
    {
        let ledger = FileLedger::open(state.path()).unwrap();
        let mut head = ChainHead::default();
        let all = bodies(tenant, N);
        for chunk in all.chunks(4096) {
            let batch: Vec<Receipt> = chunk.iter().cloned().map(|b| head.seal(b)).collect();
            ledger.append(tenant, &batch).unwrap();
        }
    }
    let dir = LedgerDir::in_state(state.path());
    let bytes = dir.read_ledger(tenant).unwrap();
    let head = dir.read_head(tenant).unwrap();
    let mb = bytes.len() as f64 / 1e6;
    println!("(d) verification, {N} receipts, {mb:.1} MB ledger (best of 3)");

    let best = |f: &dyn Fn() -> bool| {
        (0..3)
            .map(|_| {
                let t0 = Instant::now();
                assert!(f());
                t0.elapsed()
            })
            .min()
            .unwrap()
    };
    let rows: [(&str, Duration); 4] = [
        (
            "fast path, bytes in memory",
            best(&|| verify_ledger(&bytes, head.as_deref()).is_ok()),
        ),
        (
            "fast path, reading the file",
            best(&|| dir.verify(tenant, false).unwrap().is_ok()),
        ),
        (
            "deep (parse every receipt)",
            best(&|| {
                Verifier::new()
                    .deep(true)
                    .verify(&bytes, head.as_deref())
                    .is_ok()
            }),
        ),
        (
            "parse all (FileLedger::read)",
            best(&|| {
                let ledger = FileLedger::open(state.path()).unwrap();
                ledger.read(tenant).unwrap().len() as u64 == N
            }),
        ),
    ];
    for (name, t) in rows {
        println!(
            "    {name:<30} {:>8.1} ms  {:>8.0} MB/s",
            t.as_secs_f64() * 1e3,
            mb / t.as_secs_f64()
        );
    }
    // Opening a tenant reads only the line the head points at, whatever the ledger's size.
    let open = best(&|| {
        let ledger = FileLedger::open(state.path()).unwrap();
        ledger.head(tenant).unwrap().next_seq == N
    });
    println!(
        "    {:<30} {:>8.3} ms",
        "open tenant + check head",
        open.as_secs_f64() * 1e3
    );
}
