//! Reading definition files from disk, through the bounded reader every loader shares.

use std::path::{Path, PathBuf};

use super::{DocKind, Inputs, Scope, SourceFile, Syntax};
use crate::diagnostics::{Code, Diagnostic};
use crate::intake::{self, Reading, io_reason};

/// A file or folder that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    /// `path: message`, or the message alone when it names the path already (`cannot read
    /// `x`: …`), which would otherwise say it twice.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.message.contains(&format!("`{}`", self.path)) {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl From<Box<Diagnostic>> for LoadError {
    fn from(d: Box<Diagnostic>) -> Self {
        LoadError {
            path: d
                .file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            message: d.message,
        }
    }
}

/// Reads every `*.yaml`, `*.yml` and `*.toml` under `dir/packs` and `dir/skus`; the first
/// problem (missing folder, unreadable or unusable file) is an error.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let inputs = read_catalog_dir(dir).map_err(LoadError::from)?;
    match inputs.problems.into_iter().next() {
        Some(problem) => Err(Box::new(problem).into()),
        None => Ok(inputs.files),
    }
}

/// Reads a catalog directory: its `packs/` and `skus/` folders. The error is for a
/// directory that is missing or not a catalog; problems with single files are collected.
pub fn read_catalog_dir(dir: &Path) -> Result<Inputs, Box<Diagnostic>> {
    let mut missing = Vec::new();
    for kind in [DocKind::Pack, DocKind::Sku] {
        if !dir.join(kind.folder()).is_dir() {
            missing.push(kind.folder());
        }
    }
    if !dir.is_dir() {
        let why = match std::fs::metadata(dir) {
            Err(e) => io_reason(&e),
            Ok(_) => "not a directory".to_owned(),
        };
        return Err(Box::new(
            Diagnostic::new(Code::Io, format!("cannot read `{}`: {why}", dir.display()))
                .in_file(dir),
        ));
    }
    // A pack author's first folder has packs and no plans yet: it is a catalog of its own.
    if missing == ["skus"] && holds_definitions(&dir.join(DocKind::Pack.folder())) {
        missing.clear();
    }
    if !missing.is_empty() {
        return Err(Box::new(Diagnostic::new(
            Code::NotACatalog,
            format!(
                "`{}` is not a catalog directory: it has no `{}` folder",
                dir.display(),
                missing.join("/` or `")
            ),
        )
        .in_file(dir)
        .help("a catalog directory holds `packs/` and `skus/`; pass single files to check them on their own")));
    }
    let mut inputs = Inputs::default();
    for kind in [DocKind::Pack, DocKind::Sku] {
        let folder = dir.join(kind.folder());
        if kind == DocKind::Pack || folder.is_dir() {
            read_folder(&folder, kind, &mut inputs);
        }
    }
    Ok(inputs)
}

/// Whether `folder` holds at least one definition file (`.yaml`, `.yml`, `.toml`).
fn holds_definitions(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .is_ok_and(|entries| entries.flatten().any(|e| syntax_of(&e.path()).is_some()))
}

/// Whether `dir` is a catalog directory: `packs/` and `skus/`, or `packs/` alone holding
/// pack files.
pub fn is_catalog_dir(dir: &Path) -> bool {
    let packs = dir.join(DocKind::Pack.folder());
    packs.is_dir() && (dir.join(DocKind::Sku.folder()).is_dir() || holds_definitions(&packs))
}

/// Reads every definition file of one folder (not recursively), all of one kind.
pub fn read_folder(folder: &Path, kind: DocKind, inputs: &mut Inputs) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) => {
            inputs.problems.push(read_problem(folder, &e));
            return;
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(e) => inputs.problems.push(read_problem(folder, &e)),
        }
    }
    paths.sort();
    for path in paths {
        let Some(syntax) = syntax_of(&path) else {
            continue;
        };
        inputs.paths_seen += 1;
        match read_text(&path) {
            Ok(text) => inputs.files.push(SourceFile {
                path,
                kind,
                syntax,
                text,
            }),
            Err(problem) => inputs.problems.push(*problem),
        }
    }
}

/// Reads what `paths` name: catalog directories (with `packs/` and `skus/`), `packs`/`skus`
/// folders, or single files. The scope is a whole catalog when a catalog directory is among
/// them, else a fragment. The same file named twice is read once.
pub fn read_paths(paths: &[PathBuf]) -> (Inputs, Scope) {
    let mut inputs = Inputs::default();
    let mut scope = Scope::Fragment;
    for path in paths {
        let folder_kind = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(DocKind::from_folder);
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                inputs.paths_seen += 1;
                inputs.problems.push(read_problem(path, &e));
                continue;
            }
        };
        if meta.is_dir() {
            match (folder_kind, read_catalog_dir(path)) {
                (_, Ok(more)) => {
                    scope = Scope::Catalog;
                    inputs.files.extend(more.files);
                    inputs.problems.extend(more.problems);
                    inputs.paths_seen += more.paths_seen;
                }
                (Some(kind), Err(_)) => read_folder(path, kind, &mut inputs),
                (None, Err(problem)) => inputs.problems.push(*problem),
            }
        } else {
            inputs.paths_seen += 1;
            match read_file(path) {
                Ok(file) => inputs.files.push(file),
                Err(problem) => inputs.problems.push(*problem),
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    inputs
        .files
        .retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));
    (inputs, scope)
}

/// Reads one definition file given by path. Its kind comes from its folder's name
/// (`packs`/`skus`), else from its contents (a top-level `pack_id` or `sku_id`).
pub fn read_file(path: &Path) -> Result<SourceFile, Box<Diagnostic>> {
    let Some(syntax) = syntax_of(path) else {
        return Err(Box::new(
            Diagnostic::new(
                Code::NotACatalog,
                format!("`{}` is not a definition file", path.display()),
            )
            .in_file(path)
            .help("pack and SKU files end in `.yaml`, `.yml` or `.toml`"),
        ));
    };
    let text = read_text(path)?;
    let folder_kind = DocKind::of_parent(path);
    let Some(kind) = folder_kind.or_else(|| kind_of_text(&text)) else {
        let is_scenario = text
            .lines()
            .any(|l| top_level_key(l, "steps") || top_level_key(l, "\"steps\""));
        let help = if is_scenario {
            format!(
                "this is a scenario (it has `steps`): run it with `tai test {0}` or \
                 `tai simulate {0}`",
                path.display()
            )
        } else {
            "put it in a `packs/` or `skus/` folder, or give it a top-level `pack_id` or `sku_id`"
                .to_owned()
        };
        return Err(Box::new(
            Diagnostic::new(
                Code::UnknownFileKind,
                if is_scenario {
                    "this file is a scenario, not a pack or a SKU"
                } else {
                    "cannot tell whether this file defines a pack or a SKU"
                },
            )
            .in_file(path)
            .help(help),
        ));
    };
    Ok(SourceFile {
        path: path.to_path_buf(),
        kind,
        syntax,
        text,
    })
}

/// The kind a file's text implies: a top-level `pack_id` key makes a pack, `sku_id` a SKU
/// (both or neither: unknown).
pub fn kind_of_text(text: &str) -> Option<DocKind> {
    let mut found = None;
    for line in text.lines() {
        let key = line.trim_start_matches(['"', '\'']);
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let kind = if top_level_key(key, "pack_id") {
            DocKind::Pack
        } else if top_level_key(key, "sku_id") {
            DocKind::Sku
        } else {
            continue;
        };
        match found {
            Some(k) if k != kind => return None,
            _ => found = Some(kind),
        }
    }
    found
}

fn top_level_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key).is_some_and(|rest| {
        rest.trim_start_matches(['"', '\''])
            .trim_start()
            .starts_with([':', '='])
    })
}

/// What the catalog's refusals say about its files.
const CATALOG: Reading = Reading {
    regular: "pack and SKU definitions are regular `.yaml`, `.yml` or `.toml` files",
    text: "pack and SKU files are YAML or TOML text in UTF-8",
    size: "a pack or SKU definition is a few kilobytes; split the file or check that it is the right one",
    missing: "check the path; without a PATH, `tai validate` checks the catalog in use",
};

fn read_text(path: &Path) -> Result<String, Box<Diagnostic>> {
    intake::read_text(path, &CATALOG)
}

fn read_problem(path: &Path, e: &std::io::Error) -> Diagnostic {
    intake::read_problem(path, e, &CATALOG)
}

/// The syntax a path's extension implies, if it is a definition file.
pub fn syntax_of(path: &Path) -> Option<Syntax> {
    match path.extension()?.to_str()? {
        "yaml" | "yml" => Some(Syntax::Yaml),
        "toml" => Some(Syntax::Toml),
        _ => None,
    }
}
