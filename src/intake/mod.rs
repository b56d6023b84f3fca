//! Untrusted input, read within bounds: the one gate every loader passes.
//!
//! The catalog, scenario files, entitlement event files, marketplace notifications and
//! records, keys, checkpoints, proofs and the tokens file all read through here, so a FIFO,
//! `/dev/zero`, a huge file or a file of nothing but `[` costs each of them the same clear
//! error, never a hang or unbounded memory: a file must be a regular file of at most
//! [`MAX_FILE_BYTES`] holding UTF-8 text ([`read_text`]), and YAML must not nest flow
//! collections, nor block collections, deeper than [`MAX_YAML_DEPTH`]
//! ([`yaml_depth_exceeded`], checked before any YAML parser sees the text).

mod read;
mod unique_keys;
mod yaml_depth;

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostics::{Code, Diagnostic};
use crate::spans::{LineIndex, Span};
pub use read::{MAX_FILE_BYTES, Reading, io_reason, read_problem, read_stdin_text, read_text};
pub use unique_keys::UniqueKeys;
pub use yaml_depth::{MAX_YAML_DEPTH, yaml_depth_exceeded};

/// Why YAML nested too deep is refused, for every loader's hint.
pub const TOO_DEEP_HELP: &str = "no input nests values this deep; this looks generated or corrupt";

/// A `nesting_too_deep` error for YAML `text` (from `path`) whose collections nest beyond
/// [`MAX_YAML_DEPTH`], located where they do.
pub fn yaml_too_deep(path: &Path, text: &str) -> Option<Diagnostic> {
    let at = yaml_depth_exceeded(text)?;
    let lines = LineIndex::new(text);
    Some(
        Diagnostic::new(Code::TooDeep, "values nest too deeply")
            .in_file(path)
            .located(lines.location(text, Span { offset: at, len: 1 }))
            .label(format!("more than {MAX_YAML_DEPTH} levels deep here"))
            .help(TOO_DEEP_HELP),
    )
}

/// Parses YAML (or JSON) `text` read from `path` into `T`, the depth guard first.
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Box<Diagnostic>> {
    if let Some(d) = yaml_too_deep(path, text) {
        return Err(Box::new(d));
    }
    serde_yaml::from_str(text).map_err(|e| {
        let mut d = Diagnostic::new(Code::Syntax, e.to_string()).in_file(path);
        if let Some(loc) = e.location() {
            let lines = LineIndex::new(text);
            let offset = loc.index().min(text.len());
            d = d.located(lines.location(text, Span { offset, len: 0 }));
        }
        Box::new(d)
    })
}

#[cfg(test)]
mod tests;
