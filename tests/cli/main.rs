//! The `tai` command as a user runs it: the real binary, its exit codes and output, over
//! temporary directories and the fixtures in `tests/fixtures/`.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod andon;
mod bounded_input;
mod browse;
mod builtin_tools;
mod call_timeout;
mod containment;
mod exactly_once;
mod explained;
mod gate_record;
mod golden;
mod governor_record;
mod help_examples;
mod iam;
mod killed_writer;
mod marketplace;
mod marketplace_delivery;
mod postgres_ledger;
mod postgres_signed;
mod receipts;
mod schema_agreement;
mod shipped_suite;
mod simulate;
mod surprises;
mod tables;
mod test_command;
mod trust;
mod validate;
mod validate_hostile;
mod workspace;
mod write_ahead;
