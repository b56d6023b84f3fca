//! Turning what happened to a command into an [`Outcome`], with messages a pack author can
//! act on.
//!
//! Precedence: a bound the supervisor enforced (timeout, memory watchdog, output cap) wins
//! over everything the process did afterwards, as the process was killed for it. Then a
//! failed allocation under `RLIMIT_AS` (see [`allocation_failed`]), then any other abnormal
//! end, then the result on stdout, which must be exactly one JSON value.

use std::io;

#[cfg(unix)]
use super::Usage;
use super::{Bound, Limits, Outcome};

#[cfg(unix)]
use super::supervise::{Finished, Stop};

/// The most stderr quoted in a message; the rest is in the command's own logs.
const QUOTED_STDERR: usize = 800;

/// What a process that ran out of memory typically prints before dying, lowercased.
///
/// Under `RLIMIT_AS` an allocation simply fails: nothing kills the process, it reports the
/// failure in its own words and exits or aborts. These are those words for the common
/// runtimes: Python (`MemoryError`), libc's `strerror(ENOMEM)` used by C tools and shells,
/// Rust's allocation error handler, Go, Node and many C programs (`out of memory`), C++
/// (`std::bad_alloc`) and the JVM (`OutOfMemoryError`).
const ALLOCATION_FAILURE_MARKERS: &[&str] = &[
    "memoryerror",
    "cannot allocate memory",
    "memory allocation of",
    "out of memory",
    "bad_alloc",
    "outofmemoryerror",
];

/// Whether a process that ended abnormally did so because an allocation failed.
///
/// A heuristic: the memory limit was in force and the process's last words (the tail of
/// its stderr) name an allocation failure. It is only consulted for a non-zero exit or a
/// death by signal, so a successful program that merely mentions memory is never affected;
/// a failing program that happens to print one of the markers for another reason would be
/// misreported as exceeding memory, which is the lesser error for a bounded action.
pub(super) fn allocation_failed(stderr: &str) -> bool {
    let stderr = stderr.to_lowercase();
    ALLOCATION_FAILURE_MARKERS
        .iter()
        .any(|m| stderr.contains(m))
}

/// The outcome of a supervised run of `program`.
#[cfg(unix)]
pub(super) fn judge(program: &str, run: &Finished, limits: &Limits) -> Outcome {
    use std::os::unix::process::ExitStatusExt;

    match run.stop {
        Stop::Exceeded(Bound::Timeout) => {
            return Outcome::Timeout {
                limit_ms: limits.timeout_ms,
                elapsed_ms: millis(run.elapsed),
            };
        }
        Stop::Exceeded(Bound::Memory) => {
            return Outcome::MemoryExceeded {
                limit_mb: limits.max_memory_mb,
                used_mb: run.peak_bytes.map(mib_ceil),
            };
        }
        Stop::Exceeded(Bound::Output) => {
            return Outcome::OutputExceeded {
                limit_bytes: run.overflowed_cap.unwrap_or(limits.max_output_bytes),
            };
        }
        Stop::Exited => {}
    }
    let stderr = run.stderr.text();
    if !run.status.success() {
        if allocation_failed(&stderr) {
            // The attempted allocation is unknown and the sampled peak would understate it.
            return Outcome::MemoryExceeded {
                limit_mb: limits.max_memory_mb,
                used_mb: None,
            };
        }
        let how = match (run.status.code(), run.status.signal()) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(sig)) => match super::process::signal_name(sig) {
                Some(name) => format!("was killed by signal {sig} ({name})"),
                None => format!("was killed by signal {sig}"),
            },
            (None, None) => "ended abnormally".to_owned(),
        };
        return error(
            format!("`{program}` {how}{}", quoted(&stderr)),
            run.status.code(),
        );
    }
    parse_result(program, &run.stdout, &stderr, millis(run.elapsed))
}

/// What a supervised run used.
#[cfg(unix)]
pub(super) fn usage(run: &Finished) -> Usage {
    Usage {
        wall_ms: millis(run.elapsed),
        cpu_ms: run.cpu_ms,
        peak_memory_mb: run.peak_bytes.map(mib_ceil),
    }
}

/// The outcome of a successful exit with `stdout`.
fn parse_result(program: &str, stdout: &[u8], stderr: &str, elapsed_ms: u64) -> Outcome {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return error(
            format!(
                "`{program}` wrote no result on stdout (expected one JSON value){}",
                quoted(stderr)
            ),
            Some(0),
        );
    }
    match serde_json::from_slice(stdout) {
        Ok(result) => Outcome::Success { result, elapsed_ms },
        Err(e) => error(
            format!(
                "`{program}` wrote invalid JSON on stdout: {e}; output began `{}`{}",
                excerpt(&String::from_utf8_lossy(stdout), 60),
                quoted(stderr)
            ),
            Some(0),
        ),
    }
}

/// The outcome when `program` could not be started at all.
pub(super) fn spawn_failed(program: &str, err: &io::Error, limits: &Limits) -> Outcome {
    let why = match err.kind() {
        io::ErrorKind::NotFound if program.contains('/') => {
            "not found (no such file, or its interpreter is missing)".to_owned()
        }
        io::ErrorKind::NotFound => "not found on PATH".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_owned(),
        // `exec` itself could not fit the program under the address-space limit.
        io::ErrorKind::OutOfMemory => {
            return Outcome::MemoryExceeded {
                limit_mb: limits.max_memory_mb,
                used_mb: None,
            };
        }
        _ => err.to_string(),
    };
    error(format!("cannot run `{program}`: {why}"), None)
}

fn error(message: String, exit_code: Option<i32>) -> Outcome {
    Outcome::Error { message, exit_code }
}

/// `; stderr: …` with the end of `stderr`, or nothing when it is empty.
fn quoted(stderr: &str) -> String {
    if stderr.is_empty() {
        return String::new();
    }
    let start = floor_char_boundary(stderr, stderr.len().saturating_sub(QUOTED_STDERR));
    let prefix = if start > 0 { "…" } else { "" };
    format!("; stderr: {prefix}{}", &stderr[start..])
}

/// The first `max` bytes of `text` (on a char boundary), marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    format!("{}…", &text[..floor_char_boundary(text, max)])
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(unix)]
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(unix)]
fn mib_ceil(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_allocation_failures() {
        for stderr in [
            "Traceback (most recent call last):\n  File \"<string>\", line 1\nMemoryError",
            "memory allocation of 1073741824 bytes failed",
            "fatal error: runtime: out of memory",
            "terminate called after throwing an instance of 'std::bad_alloc'",
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
            "bash: xmalloc: cannot allocate memory",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        ] {
            assert!(allocation_failed(stderr), "{stderr}");
        }
        assert!(!allocation_failed("Error: connection refused"));
        assert!(!allocation_failed(""));
    }

    #[test]
    fn result_must_be_one_json_value() {
        let ok = parse_result("p", b"{\"a\": 1}\n", "", 5);
        assert_eq!(
            ok,
            Outcome::Success {
                result: serde_json::json!({ "a": 1 }),
                elapsed_ms: 5
            }
        );
        let Outcome::Error { message, exit_code } = parse_result("p", b"  \n", "", 5) else {
            panic!("empty output must fail");
        };
        assert!(message.contains("wrote no result"), "{message}");
        assert_eq!(exit_code, Some(0));
        let Outcome::Error { message, .. } = parse_result("p", b"{} {}", "warn", 5) else {
            panic!("two values must fail");
        };
        assert!(message.contains("invalid JSON"), "{message}");
        assert!(message.ends_with("; stderr: warn"), "{message}");
    }

    #[test]
    fn quotes_stay_short_and_on_char_boundaries() {
        let long = "é".repeat(1000);
        let q = quoted(&long);
        assert!(q.starts_with("; stderr: …"));
        assert!(q.len() <= QUOTED_STDERR + 20);
        assert_eq!(excerpt("ééé", 3), "é…");
        assert_eq!(quoted(""), "");
    }

    #[test]
    fn missing_programs_are_named() {
        let limits = Limits::default();
        let not_found = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(
            spawn_failed("nope", &not_found, &limits),
            Outcome::Error {
                message: "cannot run `nope`: not found on PATH".into(),
                exit_code: None
            }
        );
        let oom = io::Error::from(io::ErrorKind::OutOfMemory);
        assert!(matches!(
            spawn_failed("big", &oom, &limits),
            Outcome::MemoryExceeded { used_mb: None, .. }
        ));
    }
}
