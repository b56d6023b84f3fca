//! Where a value sits in a YAML or TOML document: document paths such as `tools[2].action`
//! mapped to line, column and byte span.
//!
//! serde deserializes without positions, so anything that reports on a value after parsing
//! (catalog validation, scenario steps) names the value by its [`DocPath`] and asks a
//! [`SpanIndex`] where it is. The index is built from the text on demand, only for files that
//! have something to report, so loading a clean catalog never pays for it. It is built
//! iteratively from the parsers' event streams and never expands YAML aliases, so hostile
//! input (deep nesting, alias bombs) costs time and memory linear in the text's size.
//!
//! This module imports nothing of tai's: catalog loading, diagnostics and scenarios all
//! stand on it.

mod builder;
mod index;
mod lines;
mod path;
mod repeated;
mod toml_index;
mod yaml_index;

pub use builder::NodeSpan;
pub use index::SpanIndex;
pub use lines::{LineIndex, Location, Span};
pub use path::{DocPath, Segment};
pub use repeated::repeated_key;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// YAML (`.yaml` / `.yml`).
    Yaml,
    /// TOML (`.toml`).
    Toml,
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
