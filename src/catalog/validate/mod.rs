//! The catalog's consistency rules: everything that parsing alone cannot catch.
//!
//! Rules run over every parsed definition and report every problem at once, each attached
//! to the file and document path of the offending value so it gets a line and column. All
//! rules are linear in the catalog's size (hash lookups, one graph pass for cycles), except
//! the incompatibility check, which walks each pack's requirements and only runs when some
//! pack declares an incompatibility.

mod graph;
mod input_schema;
mod packs;
mod requires;
mod resolve;
mod skus;

use std::collections::HashMap;
use std::path::Path;

use super::input::{Parsed, Scope, SourceFile, Unloaded};
use super::{Pack, Sku};
use crate::diagnostics::{Code, Diagnostic, Note, did_you_mean};
use crate::ids::PackId;
use crate::spans::DocPath;

pub use input_schema::input_schema_problems;
pub use packs::compute_limit_help;

/// Runs every rule. `files` are the files `packs` and `skus` index into.
pub fn validate(
    files: &[SourceFile],
    packs: &[Parsed<Pack>],
    skus: &[Parsed<Sku>],
    scope: Scope,
    unloaded: &Unloaded,
) -> Vec<Diagnostic> {
    let mut v = Validator {
        files,
        packs,
        skus,
        scope,
        unloaded,
        out: Vec::new(),
        pack_index: HashMap::with_capacity(packs.len()),
        suggestions: HashMap::new(),
    };
    v.index_packs();
    for p in packs {
        v.pack_contents(p);
    }
    v.tool_names();
    v.pack_references();
    v.requires_cycles();
    v.incompatible_requirements();
    v.sku_ids();
    v.marketplace_ids();
    for s in skus {
        v.sku(s);
    }
    // A catalog with no plans yet (a pack author's first `packs/`) is checked pack by pack:
    // what the SKUs grant and sell is for when there are SKUs.
    if scope == Scope::Catalog && !unloaded.skus && !skus.is_empty() {
        v.grantable_roles();
        v.packs_sold();
    }
    // Definitions that parsed only in part: their own contents.
    for p in &unloaded.partial_packs {
        v.pack_contents(p);
        v.file_name(p.file, p.doc.pack_id.as_str(), "pack_id");
    }
    for s in &unloaded.partial_skus {
        v.sku_contents(s);
        v.file_name(s.file, s.doc.sku_id.as_str(), "sku_id");
    }
    v.out
}

struct Validator<'a> {
    files: &'a [SourceFile],
    packs: &'a [Parsed<Pack>],
    skus: &'a [Parsed<Sku>],
    scope: Scope,
    /// What did not load: references to it are not reported.
    unloaded: &'a Unloaded,
    out: Vec<Diagnostic>,
    /// First definition of each pack id → index into `packs`.
    pack_index: HashMap<&'a PackId, usize>,
    /// "did you mean" answers for unknown pack ids, computed once per name.
    suggestions: HashMap<String, Option<String>>,
}

fn root() -> DocPath {
    DocPath::root()
}

impl<'a> Validator<'a> {
    fn path(&self, file: usize) -> &'a Path {
        &self.files[file].path
    }

    fn report(
        &mut self,
        file: usize,
        field: DocPath,
        code: Code,
        message: String,
    ) -> &mut Diagnostic {
        let d = Diagnostic::new(code, message)
            .in_file(self.path(file))
            .at(field);
        self.out.push(d);
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn suggest_pack(&mut self, name: &str) -> Option<String> {
        if let Some(s) = self.suggestions.get(name) {
            return s.clone();
        }
        let s = did_you_mean(name, self.pack_index.keys().map(|id| id.as_str()));
        self.suggestions.insert(name.to_owned(), s.clone());
        s
    }

    /// Whether `id` names a pack the catalog lacks: only a whole catalog can tell, and a
    /// pack whose file failed to load is not missing, just broken.
    fn is_unknown_pack(&self, id: &PackId) -> bool {
        self.scope == Scope::Catalog
            && !self.pack_index.contains_key(id)
            && !self.unloaded.packs.contains(id.as_str())
    }
}

/// A note about a place in another (or the same) file.
fn note_at(message: &str, file: &Path, field: DocPath) -> Note {
    Note {
        message: message.to_owned(),
        file: Some(file.to_path_buf()),
        field: Some(field),
        location: None,
    }
}

/// A note about a place in the diagnostic's own file.
fn note_here(message: &str, field: DocPath) -> Note {
    Note {
        message: message.to_owned(),
        file: None,
        field: Some(field),
        location: None,
    }
}
