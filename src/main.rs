//! The `tai` command: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tai::cli::{Cli, Exit};

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
