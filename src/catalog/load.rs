//! Reading pack and SKU files (YAML or TOML) from a directory or from the built-in catalog.
//!
//! (Minimal first version: parses files; rich diagnostics and validation come next.)

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{Catalog, Pack, Sku};

/// Which kind of definition a file holds, decided by the folder it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A file under `packs/`.
    Pack,
    /// A file under `skus/`.
    Sku,
}

/// File syntax, decided by the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `.yaml` / `.yml`
    Yaml,
    /// `.toml`
    Toml,
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

/// A problem found while loading.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads every `*.yaml`, `*.yml` and `*.toml` under `dir/packs` and `dir/skus`.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let mut files = Vec::new();
    for (sub, kind) in [("packs", DocKind::Pack), ("skus", DocKind::Sku)] {
        let folder = dir.join(sub);
        let entries = std::fs::read_dir(&folder).map_err(|e| LoadError {
            path: folder.display().to_string(),
            message: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Some(syntax) = syntax_of(&path) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| LoadError {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            files.push(SourceFile {
                path,
                kind,
                syntax,
                text,
            });
        }
    }
    Ok(files)
}

/// The syntax a path's extension implies, if it is a definition file.
pub fn syntax_of(path: &Path) -> Option<Syntax> {
    match path.extension()?.to_str()? {
        "yaml" | "yml" => Some(Syntax::Yaml),
        "toml" => Some(Syntax::Toml),
        _ => None,
    }
}

/// Parses and indexes `files` into a catalog.
pub fn build(files: &[SourceFile]) -> Result<Catalog, Vec<LoadError>> {
    let mut packs = Vec::new();
    let mut skus = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let res = match file.kind {
            DocKind::Pack => parse::<Pack>(file).map(|p| packs.push(p)),
            DocKind::Sku => parse::<Sku>(file).map(|s| skus.push(s)),
        };
        if let Err(e) = res {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(Catalog::new(packs, skus))
    } else {
        Err(errors)
    }
}

fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, LoadError> {
    let res = match file.syntax {
        Syntax::Yaml => serde_yaml::from_str(&file.text).map_err(|e| e.to_string()),
        Syntax::Toml => toml::from_str(&file.text).map_err(|e| e.to_string()),
    };
    res.map_err(|message| LoadError {
        path: file.path.display().to_string(),
        message,
    })
}
