//! The `tai` command: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tai::cli::{Cli, Exit};

// The engine allocates many small, short-lived values per decision (receipt metadata, JSON
// encodings); mimalloc serves those far faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match tai::cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            Exit::Usage.into()
        }
    }
}
