//! Reading pack and SKU files (YAML or TOML) from disk or from the built-in catalog, and
//! turning them into a [`Catalog`] plus a [`Report`] of every problem found.
//!
//! Loading never stops at the first problem: each file is parsed on its own (every unknown
//! field is collected, not just the first), the catalog-wide rules run over whatever parsed,
//! and only then are positions looked up, once per file that has something to report.
//! Reading is bounded by the one reader every loader shares ([`crate::intake`]: size, regular
//! files, YAML flow depth) and the parsers' own depth and alias limits apply, so hostile files
//! cost an error, never a hang or a crash.

mod parse;
mod parse_errors;
mod read;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::input::{DocKind, Inputs, Scope, SourceFile, Syntax};
use super::input::{Parsed, Unloaded};
use super::{Catalog, Pack, Sku, validate};
use crate::diagnostics::{Code, Diagnostic, Report};
pub use crate::intake::MAX_FILE_BYTES;
use crate::intake::yaml_depth_exceeded;
use crate::spans::{DocPath, Location, SpanIndex};
use parse::{Outcome, parse};
pub use read::{
    LoadError, is_catalog_dir, kind_of_text, read_catalog_dir, read_dir, read_file, read_folder,
    read_paths, syntax_of,
};

/// The outcome of loading: the catalog built from whatever parsed, and the report.
#[derive(Debug)]
pub struct Loaded {
    /// Every pack and SKU that parsed (validation problems do not remove them).
    pub catalog: Catalog,
    /// Every problem found.
    pub report: Report,
}

/// Parses, validates and indexes `files` as a whole catalog; any error refuses it (warnings
/// are allowed and dropped: see [`check`] to see them).
pub fn build(files: &[SourceFile]) -> Result<Catalog, Report> {
    let loaded = check(files, Scope::Catalog);
    if loaded.report.has_errors() {
        Err(loaded.report)
    } else {
        Ok(loaded.catalog)
    }
}

/// Parses and validates `files`, reporting every problem; the catalog holds whatever parsed.
pub fn check(files: &[SourceFile], scope: Scope) -> Loaded {
    check_with(files, Unloaded::default(), scope)
}

/// [`check`], knowing of files that could not even be read.
fn check_with(files: &[SourceFile], mut unloaded: Unloaded, scope: Scope) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut packs = Vec::new();
    let mut skus = Vec::new();
    for (i, file) in files.iter().enumerate() {
        match file.kind {
            DocKind::Pack => match parse::<Pack>(file, &mut diagnostics) {
                Outcome::Parsed(doc) => packs.push(Parsed { file: i, doc }),
                Outcome::Partial(doc) => {
                    unloaded.packs.insert(doc.pack_id.to_string());
                    unloaded.partial_packs.push(Parsed { file: i, doc });
                }
                Outcome::Failed => unloaded.packs.extend(ids_of_broken(file)),
            },
            DocKind::Sku => match parse::<Sku>(file, &mut diagnostics) {
                Outcome::Parsed(doc) => skus.push(Parsed { file: i, doc }),
                Outcome::Partial(doc) => {
                    unloaded.skus = true;
                    unloaded.partial_skus.push(Parsed { file: i, doc });
                }
                Outcome::Failed => unloaded.skus = true,
            },
        }
    }
    diagnostics.extend(validate::validate(files, &packs, &skus, scope, &unloaded));
    // Found by path once: a catalog of 10,000 files with a warning in most would otherwise
    // compare paths component by component for every diagnostic against every file.
    let by_path: HashMap<&Path, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_path(), i))
        .collect();
    resolve_locations(&mut diagnostics, files, &by_path);
    let mut report = Report::new(diagnostics, files.len());
    let mut kept = std::collections::HashSet::new();
    let with_problems: Vec<usize> = report
        .diagnostics()
        .iter()
        .flat_map(|d| {
            d.file
                .iter()
                .chain(d.notes.iter().filter_map(|n| n.file.as_ref()))
        })
        .filter_map(|path| by_path.get(path.as_path()).copied())
        .filter(|&i| kept.insert(i))
        .collect();
    for i in with_problems {
        let file = &files[i];
        report.add_source(&file.path, Arc::from(file.text.as_str()));
    }
    let catalog = Catalog::new(
        packs.into_iter().map(|p| p.doc).collect(),
        skus.into_iter().map(|s| s.doc).collect(),
    );
    Loaded { catalog, report }
}

/// Reads `inputs`' files into a checked catalog, adding the reading problems to the report.
pub fn check_inputs(inputs: &Inputs, scope: Scope) -> Loaded {
    // A definition file that could not be read is missing from the catalog: its pack (by
    // file name) or SKU must not be reported missing too. Its kind is its folder's.
    let mut unloaded = Unloaded::default();
    for path in inputs.problems.iter().filter_map(|d| d.file.as_deref()) {
        if syntax_of(path).is_none() {
            continue;
        }
        let kind = DocKind::of_parent(path);
        if kind != Some(DocKind::Sku)
            && let Some(stem) = path.file_stem()
        {
            unloaded.packs.insert(stem.to_string_lossy().into_owned());
        }
        if kind != Some(DocKind::Pack) {
            unloaded.skus = true;
        }
    }
    let mut loaded = check_with(&inputs.files, unloaded, scope);
    loaded.report.extend(inputs.problems.iter().cloned());
    loaded
        .report
        .set_files_checked(inputs.paths_seen.max(inputs.files.len()));
    loaded
}

/// The ids a pack file that failed to load may have meant to define: its `pack_id` if that
/// much parses, and its file name. References to them are not reported as unknown, since
/// the file's own error is the one to fix.
fn ids_of_broken(file: &SourceFile) -> impl Iterator<Item = String> {
    #[derive(serde::Deserialize)]
    struct Id {
        pack_id: String,
    }
    let id = match file.syntax {
        Syntax::Yaml if yaml_depth_exceeded(&file.text).is_some() => None,
        Syntax::Yaml => serde_yaml::from_str::<Id>(&file.text).ok(),
        Syntax::Toml => toml::from_str::<Id>(&file.text).ok(),
    };
    let stem = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    id.map(|id| id.pack_id).into_iter().chain(stem)
}

/// Fills in line and column for diagnostics that name a document path, indexing each file
/// at most once and only files that have such diagnostics.
fn resolve_locations(
    diagnostics: &mut [Diagnostic],
    files: &[SourceFile],
    by_path: &HashMap<&Path, usize>,
) {
    let mut indexes: HashMap<usize, SpanIndex> = HashMap::new();
    let mut locate = |file: Option<&PathBuf>, field: &DocPath, key: bool| -> Option<Location> {
        let &i = by_path.get(file?.as_path())?;
        let f = &files[i];
        let index = indexes
            .entry(i)
            .or_insert_with(|| SpanIndex::build(&f.text, f.syntax));
        Some(if key {
            index.locate_key(&f.text, field)
        } else {
            index.locate(&f.text, field)
        })
    };
    for d in diagnostics.iter_mut() {
        if d.location.is_none()
            && let Some(field) = &d.field
        {
            d.location = locate(d.file.as_ref(), field, d.code == Code::UnknownField);
        }
        for note in &mut d.notes {
            if note.location.is_none()
                && let Some(field) = &note.field
            {
                note.location = locate(note.file.as_ref().or(d.file.as_ref()), field, false);
            }
        }
    }
}

#[cfg(test)]
mod tests;
