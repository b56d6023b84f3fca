//! The edge of the binary: parsing the command line with the user's colour choice, and
//! telling a closed stdout from a real failure.

use std::ffi::OsString;
use std::io;

use clap::{CommandFactory, FromArgMatches};

use super::{Cli, ColorChoice};

/// Parses the command line. `--color` is honoured by clap's own messages too (usage errors,
/// `--help`), which clap would otherwise colour by its own guess; on a parse error this
/// prints the message and exits 2 (0 for `--help` and `--version`).
pub fn parse() -> Cli {
    // `COMPLETE=bash tai …` (set by the script `source <(COMPLETE=bash tai)` installs)
    // answers the shell's completion request and exits; otherwise this does nothing.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    parse_from(std::env::args_os())
}

/// [`parse`] over the given arguments (the first is the program name).
pub fn parse_from(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> Cli {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let color = match color_choice(&args) {
        Some(ColorChoice::Always) => clap::ColorChoice::Always,
        Some(ColorChoice::Never) => clap::ColorChoice::Never,
        Some(ColorChoice::Auto) | None => clap::ColorChoice::Auto,
    };
    let mut command = Cli::command().color(color);
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    match parsed {
        Ok(cli) => cli,
        Err(e) => e.with_cmd(&command).exit(),
    }
}

/// The `--color` the arguments ask for, read before clap parses them (so the parse's own
/// errors can follow it); the last one wins, as clap would have it.
fn color_choice(args: &[OsString]) -> Option<ColorChoice> {
    let mut choice = None;
    let mut iter = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        let value = if arg == "--color" {
            iter.next().map(|v| v.into_owned())
        } else if let Some(v) = arg.strip_prefix("--color=") {
            Some(v.to_owned())
        } else {
            continue;
        };
        choice = match value.as_deref() {
            Some("always") => Some(ColorChoice::Always),
            Some("never") => Some(ColorChoice::Never),
            Some("auto") => Some(ColorChoice::Auto),
            _ => choice,
        };
    }
    choice
}

/// What `tai` prints for `err`: its message, then each cause the text so far does not
/// already say. Library errors often name their cause in their own message (`cannot read
/// `x`: No such file or directory`) and also keep it as their source, which anyhow's
/// alternate form would print twice.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
    }
    text
}

/// Whether `err` is a write to a pipe whose reader has gone (`tai simulate | head`): the
/// output was not wanted any more, which is not a failure worth a message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = if let Some(e) = cause.downcast_ref::<io::Error>() {
            Some(e.kind())
        } else {
            cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_last_color_flag_wins_and_values_after_double_dash_are_not_flags() {
        assert_eq!(
            color_choice(&args(&["tai", "--color", "never"])),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            color_choice(&args(&["tai", "--color=always", "sku", "--color", "never"])),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            color_choice(&args(&["tai", "--", "--color", "never"])),
            None
        );
    }

    #[test]
    fn a_cause_the_message_already_names_is_not_repeated() {
        let io = io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
        let named = anyhow::Error::new(crate::workspace::WorkspaceError::Io {
            path: "s".into(),
            source: io,
        });
        assert_eq!(
            error_text(&named),
            "cannot use state directory `s`: No such file or directory"
        );
        let unnamed = anyhow::Error::new(io::Error::other("disk on fire")).context("writing `x`");
        assert_eq!(error_text(&unnamed), "writing `x`: disk on fire");
    }

    #[test]
    fn broken_pipes_are_found_through_context_and_json() {
        let io = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&io));
        let json = serde_json::Error::io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::new(json)));
        assert!(!is_broken_pipe(&anyhow::anyhow!("no such file")));
    }
}
