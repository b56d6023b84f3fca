//! Fuzz target `ledger`: see `entry::ledger`.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::ledger(data));
