//! `tai completions`: shell completion scripts generated from the clap definitions.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Exit};

/// Print a shell completion script.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tai completions bash > ~/.local/share/bash-completion/completions/tai"
)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `shell` to `out`.
pub fn generate(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "tai", out);
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    // clap_complete panics when its writer fails, so the script is made in memory and
    // written here, where a closed pipe (`| head`) is an ordinary error that ends quietly.
    let mut script = Vec::new();
    generate(args.shell, &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(Exit::Success)
}
