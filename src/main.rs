//! The `tai` command: parse arguments, run the command, map the outcome to an exit code.

use std::io::Write as _;
use std::process::ExitCode;

use tai::cli::Exit;

// The engine allocates many small, short-lived values per decision (receipt metadata, JSON
// encodings); mimalloc serves those far faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tai::cli::parse();
    match tai::cli::run(cli) {
        Ok(exit) => exit.into(),
        // The reader went away (`tai … | head`): nothing is left to say, and no one to say it to.
        Err(err) if tai::cli::is_broken_pipe(&err) => Exit::Success.into(),
        Err(err) => {
            // Not `eprintln!`: a closed standard error is no reason to panic.
            let _ = writeln!(std::io::stderr(), "error: {}", tai::cli::error_text(&err));
            Exit::Usage.into()
        }
    }
}
