//! Fuzz target `catalog`: see `entry::catalog`.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::catalog(data));
