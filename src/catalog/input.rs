//! The catalog's input types: definition files, their kinds, a check's scope, what parsed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{Pack, Sku};
use crate::diagnostics::Diagnostic;
pub use crate::spans::Syntax;

/// Which kind of definition a file holds, decided by the folder it is in (or, for a file
/// given on its own, by whether it has a `pack_id` or a `sku_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A file under `packs/`.
    Pack,
    /// A file under `skus/`.
    Sku,
}

impl DocKind {
    /// The folder name for this kind.
    pub fn folder(self) -> &'static str {
        match self {
            DocKind::Pack => "packs",
            DocKind::Sku => "skus",
        }
    }

    /// The kind a folder name implies.
    pub fn from_folder(name: &str) -> Option<Self> {
        match name {
            "packs" => Some(DocKind::Pack),
            "skus" => Some(DocKind::Sku),
            _ => None,
        }
    }

    /// The kind the folder holding `path` implies.
    pub fn of_parent(path: &Path) -> Option<Self> {
        path.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(DocKind::from_folder)
    }
}

/// One definition file's text and where it came from.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path shown in messages (relative as given, or `<built-in>/packs/x.yaml`).
    pub path: PathBuf,
    /// What the file defines.
    pub kind: DocKind,
    /// How it is written.
    pub syntax: Syntax,
    /// The file's contents.
    pub text: String,
}

/// Files read for checking, and the problems met reading them.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files read successfully.
    pub files: Vec<SourceFile>,
    /// Files or folders that could not be used (unreadable, too large, binary, ...).
    pub problems: Vec<Diagnostic>,
    /// How many paths were looked at, readable or not.
    pub paths_seen: usize,
}

/// Whether the files are a whole catalog or a fragment of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// All packs and SKUs: every cross-reference must resolve.
    Catalog,
    /// Some files checked on their own: references to packs or SKUs outside them are not
    /// reported, since they may well exist in the catalog the files belong to.
    Fragment,
}

/// A parsed definition and the index of the file it came from.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// Index into the file list.
    pub file: usize,
    /// The definition.
    pub doc: T,
}

/// What is known of definition files that did not load (unreadable, or not parsed). Their
/// own errors are reported already; the rules must not also report what their absence
/// implies.
#[derive(Debug, Clone, Default)]
pub struct Unloaded {
    /// Ids of packs whose files did not load (the `pack_id` if that much reads, else the
    /// file name): references to them are not reported as unknown.
    pub packs: HashSet<String>,
    /// Whether some SKU file did not load: "no SKU grants this role" and "no SKU enables
    /// this pack" are then guesses, and not reported.
    pub skus: bool,
    /// Packs that parsed only once values with errors were left out: their own contents are
    /// checked, but not how they relate to the rest of the catalog.
    pub partial_packs: Vec<Parsed<Pack>>,
    /// SKUs that parsed only once values with errors were left out, likewise.
    pub partial_skus: Vec<Parsed<Sku>>,
}
