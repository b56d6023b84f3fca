//! Suite throughput: 1,000 scenarios of 20 steps each, parsed, checked against the catalog
//! and run through the suite runner on every core (each on its own engine and clock).
//!
//! Run with `cargo bench --bench scenarios`. Target: the whole suite in under 2 s on 2 cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tai::catalog::load;
use tai::scenario::suite::{self, Quiet, SuiteFile, SuiteOptions};

const SCENARIOS: usize = 1_000;
const STEPS: usize = 20;

/// A scenario of `STEPS` steps: a purchase, a signal, then calls, signals, a refused event
/// and a clock step, most with expectations.
fn scenario(n: usize) -> String {
    let mut s = format!(
        "name: generated {n}\ntenant: t{n}\nseed: {n}\nsteps:\n  - name: buy\n    event: {{ event_type: entitlement.activated, sku_id: seed-demo }}\n    expect: {{ accepted: true, tools: {{ includes: [query, create] }} }}\n  - signal: {{ name: cpu_usage, facts: {{ cpu: {n} }} }}\n    expect: {{ state: stable }}\n"
    );
    for i in 2..STEPS {
        let step = match i % 6 {
            0 => {
                "  - call: { tool: query, args: { table: customers } }\n    expect: { decision: executed, result: { rows: 42 } }\n"
            }
            1 => "  - call: { tool: create }\n    expect: { decision: executed, gate: none }\n",
            2 => {
                "  - signal: { name: memory_usage, facts: { mem: 72 } }\n    expect: { state: stable }\n"
            }
            3 => {
                "  - event: { event_type: entitlement.renewed, plan_id: gold-tier }\n    expect: { accepted: false, reason: plan_mismatch }\n"
            }
            4 => "  - advance: 1h\n",
            _ => {
                "  - call: { tool: scale }\n    expect: { state: stable, receipts: [action_executed] }\n"
            }
        };
        s.push_str(step);
    }
    let _ = writeln!(s, "end:\n  chain_verifies: true");
    s
}

// The same allocator as the `tai` binary, so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let catalog = Arc::new(load::build(&load::read_dir(&dir).unwrap()).unwrap());
    let texts: Vec<String> = (0..SCENARIOS).map(scenario).collect();
    let options = SuiteOptions::default();

    let t0 = Instant::now();
    let files: Vec<SuiteFile> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            SuiteFile::from_text(&format!("gen/{i:04}.yaml"), t.clone(), &catalog).unwrap()
        })
        .collect();
    let loaded = t0.elapsed();

    let t1 = Instant::now();
    let report = suite::run_suite(&files, &catalog, &options, &mut Quiet);
    let ran = t1.elapsed();
    let total = t0.elapsed();

    let t2 = Instant::now();
    let with_coverage = SuiteOptions {
        coverage: true,
        ..options
    };
    let cov_report = suite::run_suite(&files, &catalog, &with_coverage, &mut Quiet);
    let _ = tai::scenario::coverage::CoverageReport::compute(&catalog, &cov_report.observations());
    let ran_cov = t2.elapsed();

    let steps = SCENARIOS * STEPS;
    println!(
        "{SCENARIOS} scenarios × {STEPS} steps on {} worker thread(s)",
        options.jobs
    );
    println!(
        "  load (parse + catalog check, 1 thread)  {:>8.1} ms",
        loaded.as_secs_f64() * 1e3
    );
    println!(
        "  run                                     {:>8.1} ms",
        ran.as_secs_f64() * 1e3
    );
    println!(
        "  load + run                              {:>8.1} ms",
        total.as_secs_f64() * 1e3
    );
    println!(
        "  run with --coverage                     {:>8.1} ms",
        ran_cov.as_secs_f64() * 1e3
    );
    println!(
        "  throughput                              {:>8.0} steps/s",
        steps as f64 / ran.as_secs_f64()
    );
    println!("  {}", report.summary());
}
