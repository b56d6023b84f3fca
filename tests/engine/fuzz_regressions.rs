//! The fuzzers' findings, kept: every input under `fuzz/regressions/<target>/` goes through
//! the same entry point its cargo-fuzz target uses (`fuzz/entry.rs`), on the stable
//! toolchain, on every `cargo test`. Each must finish without a panic, and quickly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

#[path = "../../fuzz/entry.rs"]
#[allow(dead_code, reason = "each target is one entry point")]
mod entry;

/// A target's name and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 8] = [
    ("catalog", entry::catalog),
    ("scenario", entry::scenario),
    ("event", entry::event),
    ("ledger", entry::ledger),
    ("http_body", entry::http_body),
    ("marketplace", entry::marketplace),
    ("proof", entry::proof),
    ("wal", entry::wal),
];

#[test]
fn every_kept_fuzz_input_is_handled_quickly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for (target, run) in TARGETS {
        // Every target runs at least on the empty input.
        run(b"");
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let start = Instant::now();
            run(&data);
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{}: {:?}",
                path.display(),
                start.elapsed()
            );
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} kept fuzz inputs");
}
