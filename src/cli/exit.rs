//! Exit codes: stable, documented, and the same for every command.

use std::process::ExitCode;

/// How a `tai` run ended. The numeric values are part of the CLI's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (validation clean, tool executed, chain verified, all tests passed).
    Success = 0,
    /// 1: the check failed (validation errors, a failed test, a broken receipt chain).
    Failure = 1,
    /// 2: usage, input or I/O error (bad flags, unreadable files, malformed input).
    Usage = 2,
    /// 3: the engine refused (a gate or the governor's state refused a call; an entitlement
    /// event was refused).
    Refused = 3,
    /// 4: the tool is not in the tenant's enabled packs.
    NotFound = 4,
    /// 5: the action ran but failed (timeout, memory limit, error).
    ActionFailed = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// The exit-code table shown at the end of `tai --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  check failed (validation errors, failed tests, broken receipt chain)
  2  usage, input or I/O error
  3  refused (a gate or the governor refused; an entitlement event was refused)
  4  tool not found (not in the tenant's enabled packs)
  5  action failed (timeout, memory limit, error)";
