//! In-process engine throughput: a gated tool call with a simulated handler, including its
//! receipt (hashed and appended in memory), on one thread.
//!
//! Run with `cargo bench --bench engine`. Targets: p50 ≤ 2 µs, ≥ 300k calls/s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tai::catalog::load;
use tai::clock::{SimClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::{EntitlementEvent, EventKind};
use tai::governor::{Decision, IdSource, Signal, ToolCall};
use tai::ids::{SkuId, TenantId};

// The same allocator as the `tai` binary, so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let catalog = load::build(&load::read_dir(&dir).unwrap()).unwrap();
    let clock = Arc::new(SimClock::new(
        Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
    ));
    let mut engine = MemoryEngine::new(Arc::new(catalog), clock, IdSource::seeded(1));
    let tenant = TenantId::new("bench").unwrap();
    let mut ev = EntitlementEvent::new(EventKind::Activated, tenant.clone());
    ev.sku_id = Some(SkuId::new("seed-demo").unwrap());
    engine.apply_event(&ev);
    engine.signal(&tenant, &Signal::default());
    let mut call = ToolCall {
        tool: "query".into(),
        ..ToolCall::default()
    };
    call.arguments.insert("table".into(), "customers".into());

    // Warm up, then measure each call.
    for _ in 0..10_000 {
        black_box(engine.call(&tenant, &call));
    }
    const N: usize = 200_000;
    let mut samples = Vec::with_capacity(N);
    let start = Instant::now();
    for _ in 0..N {
        let t0 = Instant::now();
        let out = engine.call(&tenant, &call);
        samples.push(t0.elapsed().as_nanos() as u64);
        assert_eq!(out.decision, Decision::Executed);
    }
    let total = start.elapsed();
    samples.sort_unstable();
    let pct = |p: f64| samples[((N as f64 * p) as usize).min(N - 1)] as f64 / 1000.0;
    println!("gated tool call (simulated handler, receipt sealed + appended in memory), 1 thread");
    println!("  calls        {N}");
    println!("  p50          {:.2} µs", pct(0.50));
    println!("  p90          {:.2} µs", pct(0.90));
    println!("  p99          {:.2} µs", pct(0.99));
    println!("  p99.9        {:.2} µs", pct(0.999));
    println!("  max          {:.2} µs", samples[N - 1] as f64 / 1000.0);
    println!(
        "  mean         {:.2} µs",
        samples.iter().sum::<u64>() as f64 / N as f64 / 1000.0
    );
    println!(
        "  throughput   {:.0} calls/s",
        N as f64 / total.as_secs_f64()
    );
}
