//! The library without its front doors: bounded execution, the governor's invariants under
//! random operations, the seed's examples and the transition table.

#[path = "../common/mod.rs"]
mod common;

mod exec;
mod fuzz_regressions;
mod invariants;
mod ledger_contract;
mod postgres_checkpoints;
mod seed_examples;
mod transition_table;
