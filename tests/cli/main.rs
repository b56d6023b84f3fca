//! The `tai` command as a user runs it: the real binary, its exit codes and output, over
//! temporary directories and the fixtures in `tests/fixtures/`.

#[path = "../common/mod.rs"]
mod common;

mod bounded_input;
mod browse;
mod containment;
mod golden;
mod receipts;
mod shipped_suite;
mod simulate;
mod test_command;
mod validate;
mod workspace;
