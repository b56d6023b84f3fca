//! The log of the serving commands (`tai serve`, `tai mcp`): `tracing` events written to
//! stderr, never stdout (which `tai mcp` keeps for the protocol).

use std::io::IsTerminal;

use anyhow::Context;
use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

use super::ColorChoice;
use super::style::color_for;

/// The logging option of the serving commands.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// How much tai logs to stderr; other libraries log warnings and errors only
    /// [default: RUST_LOG's directives when set, else info]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
}

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures on the server's side.
    Error,
    /// Also what looks wrong but was handled.
    Warn,
    /// Also notable events.
    Info,
    /// Also one event per request (method, path, status, duration, request id).
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// tai's events at this level, every other crate's at no more than `warn`.
    fn directives(self) -> String {
        let others = self.min(LogLevel::Warn);
        format!("{},tai={}", others.as_str(), self.as_str())
    }
}

/// Installs the subscriber: `--log-level` when given, else `RUST_LOG` when set, else `info`.
pub fn install(args: &LogArgs, color: ColorChoice) -> anyhow::Result<()> {
    let filter = match (args.log_level, std::env::var("RUST_LOG")) {
        (Some(level), _) => EnvFilter::new(level.directives()),
        (None, Ok(directives)) if !directives.trim().is_empty() => EnvFilter::builder()
            .parse(&directives)
            .with_context(|| format!("invalid RUST_LOG `{directives}`"))?,
        (None, _) => EnvFilter::new(LogLevel::Info.directives()),
    };
    // Fails only when a subscriber is already installed, which then keeps logging.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color_for(color, std::io::stderr().is_terminal()))
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_is_tais_and_caps_other_crates_at_warn() {
        assert_eq!(LogLevel::Debug.directives(), "warn,tai=debug");
        assert_eq!(LogLevel::Info.directives(), "warn,tai=info");
        assert_eq!(LogLevel::Error.directives(), "error,tai=error");
        assert_eq!(LogLevel::Off.directives(), "off,tai=off");
        for level in LogLevel::value_variants() {
            assert!(EnvFilter::builder().parse(level.directives()).is_ok());
        }
    }
}
