//! Reading pack and SKU files (YAML or TOML) from disk or from the built-in catalog, and
//! turning them into a [`Catalog`] plus a [`Report`] of every problem found.
//!
//! Loading never stops at the first problem: each file is parsed on its own (every unknown
//! field is collected, not just the first), the catalog-wide rules run over whatever parsed,
//! and only then are positions looked up, once per file that has something to report.
//! Reading is bounded ([`MAX_FILE_BYTES`]) and the parsers' own depth and alias limits
//! apply, so hostile files cost an error, never a hang or a crash.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

pub use super::input::{DocKind, Inputs, Scope, SourceFile, Syntax};
use super::input::{Parsed, Unloaded};
use super::validate;
use super::{Catalog, Pack, Sku, fields};
use crate::diagnostics::serde_text::{self, UnknownName};
use crate::diagnostics::{Code, Diagnostic, Report, did_you_mean};
use crate::spans::{DocPath, LineIndex, Location, Span, SpanIndex};

/// Files larger than this are refused unread: no definition file comes close, and reading
/// an arbitrary file whole would let one bad path exhaust memory.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// A file or folder that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
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

/// The outcome of loading: the catalog built from whatever parsed, and the report.
#[derive(Debug)]
pub struct Loaded {
    /// Every pack and SKU that parsed (validation problems do not remove them).
    pub catalog: Catalog,
    /// Every problem found.
    pub report: Report,
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
        read_folder(&dir.join(kind.folder()), kind, &mut inputs);
    }
    Ok(inputs)
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
        return Err(Box::new(Diagnostic::new(
            Code::UnknownFileKind,
            "cannot tell whether this file defines a pack or a SKU",
        )
        .in_file(path)
        .help(
            "put it in a `packs/` or `skus/` folder, or give it a top-level `pack_id` or `sku_id`",
        )));
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

/// Reads a file as UTF-8 text, refusing large, binary and non-UTF-8 files.
fn read_text(path: &Path) -> Result<String, Box<Diagnostic>> {
    // Look before opening: opening a FIFO blocks until something writes to it.
    let meta = std::fs::metadata(path).map_err(|e| Box::new(read_problem(path, &e)))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "it is a directory"
        } else {
            "it is not a regular file"
        };
        return Err(Box::new(
            Diagnostic::new(
                Code::Io,
                format!("cannot read `{}`: {what}", path.display()),
            )
            .in_file(path)
            .help("pack and SKU definitions are regular `.yaml`, `.yml` or `.toml` files"),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Box::new(too_large(path, meta.len())));
    }
    let file = File::open(path).map_err(|e| Box::new(read_problem(path, &e)))?;
    // The length can change after the check (or lie, for special files): never read more
    // than the cap plus one byte.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Box::new(read_problem(path, &e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Box::new(too_large(path, bytes.len() as u64)));
    }
    decode(path, bytes)
}

fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Box::new(encoding_problem(
            path,
            &bytes,
            at,
            "the file is binary (it contains a NUL byte)",
        )));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(Box::new(encoding_problem(
                path,
                e.as_bytes(),
                at,
                "the file is not UTF-8 text",
            )))
        }
    }
}

fn encoding_problem(path: &Path, bytes: &[u8], at: usize, message: &str) -> Diagnostic {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Diagnostic::new(Code::InvalidEncoding, message)
        .in_file(path)
        .located(Location {
            line,
            column,
            span: Span { offset: at, len: 1 },
        })
        .help("pack and SKU files are YAML or TOML text in UTF-8")
}

fn too_large(path: &Path, len: u64) -> Diagnostic {
    #[allow(clippy::cast_precision_loss)]
    let mib = len as f64 / (1024.0 * 1024.0);
    Diagnostic::new(
        Code::FileTooLarge,
        format!(
            "the file is {mib:.1} MiB, more than the {} MiB limit",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
    .in_file(path)
    .help("a pack or SKU definition is a few kilobytes; split the file or check that it is the right one")
}

fn read_problem(path: &Path, e: &std::io::Error) -> Diagnostic {
    let help = match e.kind() {
        std::io::ErrorKind::NotFound => {
            Some("check the path; without a PATH, `tai validate` checks the catalog in use")
        }
        std::io::ErrorKind::PermissionDenied => Some("check the permissions of the path"),
        _ => None,
    };
    Diagnostic::new(
        Code::Io,
        format!("cannot read `{}`: {}", path.display(), io_reason(e)),
    )
    .in_file(path)
    .maybe_help(help.map(str::to_owned))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = e.to_string();
            // "Is a directory (os error 21)" → "is a directory"
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// The syntax a path's extension implies, if it is a definition file.
pub fn syntax_of(path: &Path) -> Option<Syntax> {
    match path.extension()?.to_str()? {
        "yaml" | "yml" => Some(Syntax::Yaml),
        "toml" => Some(Syntax::Toml),
        _ => None,
    }
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
    resolve_locations(&mut diagnostics, files);
    let mut report = Report::new(diagnostics, files.len());
    let mut kept = std::collections::HashSet::new();
    let with_problems: Vec<PathBuf> = report
        .diagnostics()
        .iter()
        .flat_map(|d| {
            d.file
                .iter()
                .chain(d.notes.iter().filter_map(|n| n.file.as_ref()))
        })
        .cloned()
        .collect();
    for path in with_problems {
        if kept.insert(path.clone())
            && let Some(file) = files.iter().find(|f| f.path == path)
        {
            report.add_source(&file.path, Arc::from(file.text.as_str()));
        }
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
        Syntax::Yaml if yaml_flow_too_deep(&file.text).is_some() => None,
        Syntax::Yaml => serde_yaml::from_str::<Id>(&file.text).ok(),
        Syntax::Toml => toml::from_str::<Id>(&file.text).ok(),
    };
    let stem = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    id.map(|id| id.pack_id).into_iter().chain(stem)
}

/// How a file parsed.
#[derive(Debug)]
enum Outcome<T> {
    /// As written (unknown fields aside).
    Parsed(T),
    /// Only once values with errors were left out: worth checking on its own, but not
    /// against the rest of the catalog, since it is not what the file says.
    Partial(T),
    /// Not at all.
    Failed,
}

/// Deserializes one file, collecting every unknown field and every value error: after a
/// value error, the value is left out and the file parsed again (see [`recover`]).
fn parse<T: DeserializeOwned>(file: &SourceFile, out: &mut Vec<Diagnostic>) -> Outcome<T> {
    if let Some(message) = blank(file) {
        out.push(
            Diagnostic::new(Code::EmptyFile, message)
                .in_file(&file.path)
                .help(match file.kind {
                    DocKind::Pack => "a pack needs at least `pack_id`, `version` and `description`; `tai pack new ID` writes a starting point",
                    DocKind::Sku => "a SKU needs at least `sku_id`, `plan_id`, `title`, `price` and `enabled_packs`",
                }),
        );
        return Outcome::Failed;
    }
    if let Some(problem) = too_deep_to_parse(file) {
        out.push(problem);
        return Outcome::Failed;
    }
    let mut ignored = Vec::new();
    let result: Result<T, Diagnostic> = match file.syntax {
        Syntax::Yaml => {
            let de = serde_yaml::Deserializer::from_str(&file.text);
            serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)))
                .map_err(|e| yaml_error(file, &e))
        }
        Syntax::Toml => match toml::de::Deserializer::parse(&file.text) {
            Ok(de) => serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)))
                .map_err(|e| toml_error(file, &e, false)),
            Err(e) => Err(toml_error(file, &e, true)),
        },
    };
    let mut seen = HashSet::new();
    push_unknown_fields(file, ignored, &mut seen, out);
    let mut d = match result {
        Ok(doc) => return Outcome::Parsed(doc),
        Err(d) => pinpoint_unknown_field(file, d),
    };
    if d.code == Code::TooManyAliases
        && d.location.is_none()
        && let Some(span) = SpanIndex::first_alias(&file.text)
    {
        d.location = Some(LineIndex::new(&file.text).location(&file.text, span));
        d.label = Some("aliases start expanding here".to_owned());
    }
    let first = d
        .field
        .clone()
        .filter(|_| recoverable(&d) && file.text.len() <= MAX_RECOVERY_BYTES);
    out.push(d);
    match first.and_then(|first| recover(file, first, &mut seen, out)) {
        Some(doc) => Outcome::Partial(doc),
        None => Outcome::Failed,
    }
}

/// At most this many values are left out of one file to find its other problems, and only
/// in files up to this size (each try parses the file again; definitions are a few KiB).
const MAX_RECOVERIES: usize = 32;
const MAX_RECOVERY_BYTES: usize = 256 * 1024;

/// Whether leaving out the value a diagnostic is about may let the file parse: a bad value
/// or an unknown field, stored under a key (leaving out a list item would renumber the rest).
fn recoverable(d: &Diagnostic) -> bool {
    matches!(
        d.code,
        Code::InvalidValue | Code::InvalidComputeLimit | Code::UnknownField
    ) && d.field.as_ref().is_some_and(|f| f.last_key().is_some())
}

/// Parses the file again without the value at `first`, and again without each further bad
/// value found, reporting each problem by its path (located in the file as written). Gives
/// up at a syntax error, a missing required field or a value that cannot be left out.
fn recover<T: DeserializeOwned>(
    file: &SourceFile,
    first: DocPath,
    seen: &mut HashSet<DocPath>,
    out: &mut Vec<Diagnostic>,
) -> Option<T> {
    let mut tree: serde_yaml::Value = match file.syntax {
        Syntax::Yaml => serde_yaml::from_str(&file.text).ok()?,
        Syntax::Toml => {
            serde_yaml::to_value(toml::from_str::<toml::Table>(&file.text).ok()?).ok()?
        }
    };
    let mut left_out = vec![first];
    for _ in 0..MAX_RECOVERIES {
        if !remove_value(&mut tree, left_out.last()?) {
            return None;
        }
        let text = serde_yaml::to_string(&tree).ok()?;
        let mut ignored = Vec::new();
        let de = serde_yaml::Deserializer::from_str(&text);
        let result = serde_ignored::deserialize(de, |p| ignored.push(doc_path(&p)));
        push_unknown_fields(file, ignored, seen, out);
        let e = match result {
            Ok(doc) => return Some(doc),
            Err(e) => e,
        };
        let (message, field) = split_yaml_message(&e);
        let d = pinpoint_unknown_field(
            file,
            finish_parse_error(file, message, None, field, || true),
        );
        let field = d.field.clone().unwrap_or_default();
        if d.code == Code::MissingField {
            // A required field whose bad value was left out is reported already.
            if !left_out.contains(&field) {
                out.push(d);
            }
            return None;
        }
        let more = recoverable(&d);
        if d.code != Code::UnknownField || seen.insert(field.clone()) {
            out.push(d);
        }
        if !more {
            return None;
        }
        left_out.push(field);
    }
    None
}

/// Removes the value at `path` (which ends in a key) from a document; whether it was there.
fn remove_value(tree: &mut serde_yaml::Value, path: &DocPath) -> bool {
    let Some((crate::spans::Segment::Key(key), parents)) = path.segments().split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        let next = match seg {
            crate::spans::Segment::Key(k) => node.get_mut(k.as_str()),
            crate::spans::Segment::Index(i) => node.get_mut(*i),
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    node.as_mapping_mut()
        .and_then(|m| m.remove(key.as_str()))
        .is_some()
}

/// A parser's "unknown field" names only the value the field is in when that value is
/// buffered (a tool's `handler`): find the key itself and report it like any unknown field.
fn pinpoint_unknown_field(file: &SourceFile, d: Diagnostic) -> Diagnostic {
    if d.code != Code::UnknownField {
        return d;
    }
    let Some(name) = serde_text::first_backticked(&d.message) else {
        return d;
    };
    let within = d.field.clone().unwrap_or_default();
    match SpanIndex::build(&file.text, file.syntax).find_key_below(&within, name) {
        Some(path) => unknown_field(file, path),
        None => d,
    }
}

/// Why a file defines nothing, if it does not: no text, or only comments (and, in YAML,
/// document markers).
fn blank(file: &SourceFile) -> Option<&'static str> {
    if file.text.trim().is_empty() {
        return Some("the file is empty");
    }
    let only_comments = file.text.lines().map(str::trim).all(|line| {
        line.is_empty()
            || line.starts_with('#')
            || (file.syntax == Syntax::Yaml && matches!(line, "---" | "..."))
    });
    only_comments.then_some("the file holds only comments")
}

/// YAML flow collections (`[`, `{`) nested deeper than this are refused before parsing: the
/// YAML scanner's work per token grows with the flow depth, so a file of nothing but `[`
/// would take hours, and the deserializer refuses values nested this deep anyway.
const MAX_YAML_FLOW_DEPTH: usize = 128;

/// A `nesting_too_deep` error for a YAML file whose flow collections nest beyond
/// [`MAX_YAML_FLOW_DEPTH`], located where they do; TOML's parser bounds nesting itself.
fn too_deep_to_parse(file: &SourceFile) -> Option<Diagnostic> {
    if file.syntax != Syntax::Yaml {
        return None;
    }
    let at = yaml_flow_too_deep(&file.text)?;
    let lines = LineIndex::new(&file.text);
    let (code, message, help) = classify("recursion limit exceeded", || true);
    Some(
        Diagnostic::new(code, message)
            .in_file(&file.path)
            .located(lines.location(&file.text, Span { offset: at, len: 1 }))
            .label(format!("more than {MAX_YAML_FLOW_DEPTH} levels deep here"))
            .maybe_help(help),
    )
}

/// The byte offset of the first `[` or `{` that opens a flow collection deeper than
/// [`MAX_YAML_FLOW_DEPTH`], by one linear pass that skips comments and quoted scalars and
/// counts only brackets where a value can begin (not those inside plain text).
fn yaml_flow_too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    // Whether a value can begin here: at a line start, after an indicator, in a collection.
    let mut value_start = true;
    let mut after_blank = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => value_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' if after_blank => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'"' | b'\'' if value_start => {
                i = quoted_end(bytes, i);
                value_start = false;
            }
            b'[' | b'{' if value_start => {
                depth += 1;
                if depth > MAX_YAML_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                value_start = false;
            }
            b',' | b':' | b'-' | b'?' => value_start = true,
            // An anchor or tag comes before the value it names.
            b'&' | b'!' if value_start => {
                while i + 1 < bytes.len() && !b" \t\r\n,[]{}".contains(&bytes[i + 1]) {
                    i += 1;
                }
            }
            _ => value_start = false,
        }
        after_blank = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        i += 1;
    }
    None
}

/// The offset of the quote closing the quoted scalar that opens at `start` (the last byte
/// when it is never closed).
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len().saturating_sub(1)
}

/// Reports each field serde ignored, once per file however many parses saw it.
fn push_unknown_fields(
    file: &SourceFile,
    ignored: Vec<DocPath>,
    seen: &mut HashSet<DocPath>,
    out: &mut Vec<Diagnostic>,
) {
    for path in ignored {
        if seen.insert(path.clone()) {
            out.push(unknown_field(file, path));
        }
    }
}

fn unknown_field(file: &SourceFile, path: DocPath) -> Diagnostic {
    let name = path.last_key().unwrap_or_default().to_owned();
    let known = fields::known_fields(file.kind, &path.parent());
    let help = did_you_mean(&name, known.iter().map(String::as_str)).or_else(|| {
        (!known.is_empty()).then(|| format!("known fields here: {}", backticked(&known)))
    });
    let parent = path.parent();
    let message = if parent.is_root() {
        format!("unknown field `{name}`")
    } else {
        format!("unknown field `{name}` in `{parent}`")
    };
    Diagnostic::new(Code::UnknownField, message)
        .in_file(&file.path)
        .at(path)
        .label("not a field of this format")
        .maybe_help(help)
}

fn backticked(names: &[impl AsRef<str>]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn doc_path(p: &serde_ignored::Path<'_>) -> DocPath {
    use serde_ignored::Path as P;
    // serde_ignored's path is a linked list from the leaf up; collect, then reverse.
    let mut steps = Vec::new();
    let mut cur = p;
    loop {
        match cur {
            P::Root => break,
            P::Seq { parent, index } => {
                steps.push(crate::spans::Segment::Index(*index));
                cur = parent;
            }
            P::Map { parent, key } => {
                steps.push(crate::spans::Segment::Key(key.clone()));
                cur = parent;
            }
            P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                cur = parent;
            }
        }
    }
    steps.reverse();
    DocPath::from(steps)
}

fn yaml_error(file: &SourceFile, e: &serde_yaml::Error) -> Diagnostic {
    // The deserializer reads events as the parser produces them, so a type error can come
    // before a syntax error further down; the syntax error is the one to report then, where
    // it is (an unclosed `[` is not a list where a string belongs).
    let syntax = serde_yaml::from_str::<serde::de::IgnoredAny>(&file.text).err();
    let e = syntax.as_ref().unwrap_or(e);
    let location = e.location().map(|loc| {
        let lines = LineIndex::new(&file.text);
        let offset = loc.index().min(file.text.len());
        lines.location(&file.text, token_span(&file.text, offset))
    });
    let (message, field) = split_yaml_message(e);
    // libyaml adds where the construct it was reading began ("…, while parsing a flow
    // sequence at line 4 column 14"): show that place as a note rather than in the text.
    let context = syntax
        .as_ref()
        .and_then(|_| serde_text::syntax_context(&message));
    let mut d = finish_parse_error(
        file,
        context.as_ref().map_or(message, |c| c.0.clone()),
        location,
        field,
        || syntax.is_none(),
    );
    if let Some((_, what, line, column)) = context {
        let lines = LineIndex::new(&file.text);
        let offset = lines.offset(&file.text, line, column.saturating_sub(1));
        d.notes.push(crate::diagnostics::Note {
            message: format!("{what} starts here"),
            file: None,
            field: None,
            location: Some(lines.location(&file.text, token_span(&file.text, offset))),
        });
    }
    d
}

/// serde_yaml's message without its position suffix, and the path it prefixes errors
/// inside the document with.
fn split_yaml_message(e: &serde_yaml::Error) -> (String, Option<DocPath>) {
    let message = e.to_string();
    let message = match e.location() {
        Some(loc) => serde_text::without_position(&message, loc.line(), loc.column()),
        None => message,
    };
    match serde_text::split_path(&message) {
        Some((path, rest)) => (rest.to_owned(), Some(path)),
        None => (message, None),
    }
}

fn toml_error(file: &SourceFile, e: &toml::de::Error, syntax: bool) -> Diagnostic {
    let message = e.message().trim_end().to_owned();
    let mut field = None;
    let mut location = None;
    if let Some(range) = e.span() {
        if !syntax {
            // toml names no path: find the value the error's position falls in.
            let path = SpanIndex::build(&file.text, Syntax::Toml).path_at(range.start);
            field = (!path.is_root()).then_some(path);
        }
        // A missing field's span is its whole table, comments before it included: leave
        // the position to the field's path instead.
        if !message.starts_with("missing field") {
            let span = if range.is_empty() {
                token_span(&file.text, range.start)
            } else {
                Span::from_range(range)
            };
            location = Some(LineIndex::new(&file.text).location(&file.text, span));
        }
    }
    finish_parse_error(file, message, location, field, || !syntax)
}

/// Classifies a deserializer's message into a rule, words it for people and adds a hint.
fn finish_parse_error(
    file: &SourceFile,
    message: String,
    location: Option<Location>,
    field: Option<DocPath>,
    syntax_ok: impl FnOnce() -> bool,
) -> Diagnostic {
    let (mut code, message, mut help) = classify(&message, syntax_ok);
    let mut message = serde_text::plain_types(&message);
    let mut field = field;
    match code {
        Code::MissingField => {
            let name = serde_text::first_backticked(&message)
                .unwrap_or_default()
                .to_owned();
            let parent = field.take().unwrap_or_default();
            help = Some(if parent.is_root() {
                format!("add `{name}`: every {} has one", noun(file.kind))
            } else {
                format!("add `{name}` to `{parent}`")
            });
            field = Some(parent.key(name));
        }
        Code::InvalidValue => {
            let name = field
                .as_ref()
                .and_then(DocPath::last_key)
                .unwrap_or_default();
            let in_limits = field
                .as_ref()
                .is_some_and(|f| f.parent().last_key() == Some("compute_limits"));
            if let Some(limit_help) = validate::compute_limit_help(name).filter(|_| in_limits) {
                // A negative or fractional limit is a bad limit, whatever the parser says.
                code = Code::InvalidComputeLimit;
                let found = message
                    .split_once(": ")
                    .map_or(message.as_str(), |(_, rest)| rest);
                let found = found.split(", expected").next().unwrap_or(found);
                message = format!("`{name}` must be a positive whole number, found {found}");
                help = Some(limit_help);
            } else if field.as_ref().is_none_or(DocPath::is_root)
                && message.starts_with("invalid type")
                && help.is_none()
            {
                help = Some(format!(
                    "a {} file is a mapping of fields, starting with `{}`",
                    noun(file.kind),
                    match file.kind {
                        DocKind::Pack => "pack_id: ...",
                        DocKind::Sku => "sku_id: ...",
                    }
                ));
            }
        }
        Code::Syntax => {
            help = Some(match file.syntax {
                Syntax::Yaml => "check the brackets, quotes and indentation here; quote text that starts with `[`, `{`, `*` or `&`",
                Syntax::Toml => "check the quotes and brackets here; strings are quoted, e.g. `version = \"1.0.0\"`",
            }.to_owned());
        }
        _ => {}
    }
    if code == Code::InvalidValue && help.is_none() {
        let kind = match file.kind {
            DocKind::Pack => "pack",
            DocKind::Sku => "sku",
        };
        help = Some(format!("`tai schema {kind}` shows what each field takes"));
    }
    let mut d = Diagnostic::new(code, message)
        .in_file(&file.path)
        .maybe_help(help);
    if let Some(loc) = location {
        d = d.located(loc);
    }
    d.field = field;
    d
}

fn noun(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Pack => "pack",
        DocKind::Sku => "SKU",
    }
}

fn classify(message: &str, syntax_ok: impl FnOnce() -> bool) -> (Code, String, Option<String>) {
    let first_line = message.lines().next().unwrap_or_default().to_owned();
    if message.contains("recursion limit exceeded") || message.contains("max recursion depth") {
        return (
            Code::TooDeep,
            "values nest too deeply".to_owned(),
            Some("definition files nest a few levels; this looks generated or corrupt".to_owned()),
        );
    }
    if message.contains("repetition limit exceeded") {
        return (
            Code::TooManyAliases,
            "YAML aliases expand to too many values".to_owned(),
            Some("write the values out, or use fewer nested aliases (`*name`)".to_owned()),
        );
    }
    for (prefix, code) in [
        ("unknown field", Code::UnknownField),
        ("unknown variant", Code::InvalidValue),
    ] {
        if message.starts_with(prefix) {
            let unknown = serde_text::unknown_name(message).unwrap_or(UnknownName {
                name: "",
                head: message,
                expected: Vec::new(),
            });
            let expected = &unknown.expected;
            let help = did_you_mean(unknown.name, expected.iter().copied()).or_else(|| {
                (!expected.is_empty()).then(|| format!("expected one of {}", backticked(expected)))
            });
            return (code, unknown.head.to_owned(), help);
        }
    }
    if message.starts_with("missing field") {
        return (Code::MissingField, first_line, None);
    }
    if syntax_ok() {
        (Code::InvalidValue, first_line, None)
    } else {
        (Code::Syntax, first_line, None)
    }
}

/// A short span at `offset`: the token starting there (up to a blank or a delimiter), at
/// least one character, so a label has something to underline.
fn token_span(text: &str, offset: usize) -> Span {
    let rest = text.get(offset..).unwrap_or_default();
    let len = rest
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || matches!(c, ',' | ']' | '}' | ':'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if len == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        len.min(80)
    };
    Span { offset, len }
}

/// Fills in line and column for diagnostics that name a document path, indexing each file
/// at most once and only files that have such diagnostics.
fn resolve_locations(diagnostics: &mut [Diagnostic], files: &[SourceFile]) {
    let by_path: HashMap<&Path, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_path(), i))
        .collect();
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
mod tests {
    use super::*;

    fn file(kind: DocKind, syntax: Syntax, text: &str) -> SourceFile {
        let ext = match syntax {
            Syntax::Yaml => "yaml",
            Syntax::Toml => "toml",
        };
        SourceFile {
            path: PathBuf::from(format!("{}/x.{ext}", kind.folder())),
            kind,
            syntax,
            text: text.to_owned(),
        }
    }

    /// A valid SKU enabling pack `x`.
    const SKU_X: &str =
        "sku_id: x\nplan_id: p\ntitle: t\nprice: { amount: 1 }\nenabled_packs: [x]\n";

    fn codes_of(ds: &[Diagnostic]) -> Vec<Code> {
        ds.iter().map(|d| d.code).collect()
    }

    fn problems(kind: DocKind, syntax: Syntax, text: &str) -> Vec<Diagnostic> {
        check(&[file(kind, syntax, text)], Scope::Fragment)
            .report
            .diagnostics()
            .to_vec()
    }

    #[test]
    fn every_unknown_field_is_reported_with_a_hint() {
        let text =
            "pack_id: x\nversion: 1.0.0\ndescription: d\nrequries: []\ntools: []\nstorgae: none\n";
        let ds = problems(DocKind::Pack, Syntax::Yaml, text);
        let unknown: Vec<_> = ds.iter().filter(|d| d.code == Code::UnknownField).collect();
        assert_eq!(unknown.len(), 2, "{ds:#?}");
        assert_eq!(unknown[0].message, "unknown field `requries`");
        assert_eq!(unknown[0].help.as_deref(), Some("did you mean `requires`?"));
        assert_eq!(
            unknown[0].location.map(|l| (l.line, l.column)),
            Some((4, 1))
        );
        assert_eq!(unknown[1].help.as_deref(), Some("did you mean `storage`?"));
    }

    #[test]
    fn toml_errors_have_positions() {
        let text = "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = 3\n";
        let ds = problems(DocKind::Pack, Syntax::Toml, text);
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(ds[0].code, Code::InvalidValue);
        assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((3, 15)));
        let ds = problems(DocKind::Pack, Syntax::Toml, "pack_id = [1,\n");
        assert_eq!(ds[0].code, Code::Syntax, "{ds:#?}");
    }

    #[test]
    fn yaml_type_errors_are_not_syntax_errors() {
        let ds = problems(
            DocKind::Sku,
            Syntax::Yaml,
            "sku_id: s\nplan_id: p\ntitle: t\nprice: { amount: x }\nenabled_packs: [a]\n",
        );
        assert_eq!(ds[0].code, Code::InvalidValue, "{ds:#?}");
        assert_eq!(ds[0].location.map(|l| l.line), Some(4));
        let ds = problems(DocKind::Sku, Syntax::Yaml, "sku_id: [s\n");
        assert_eq!(ds[0].code, Code::Syntax, "{ds:#?}");
        let ds = problems(DocKind::Sku, Syntax::Yaml, "sku_id: s\n");
        assert_eq!(ds[0].code, Code::MissingField, "{ds:#?}");
    }

    #[test]
    fn yaml_syntax_errors_are_reported_where_they_are() {
        // The type error at `[` comes first in the event stream; the real problem is the
        // unclosed flow sequence, found at `tools:`.
        let text = "pack_id: x\nversion: 1.0.0\ndescription: [d\ntools: []\n";
        let ds = problems(DocKind::Pack, Syntax::Yaml, text);
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(ds[0].code, Code::Syntax);
        assert_eq!(ds[0].message, "did not find expected ',' or ']'");
        assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((4, 6)));
        let note = &ds[0].notes[0];
        assert_eq!(note.message, "a flow sequence starts here");
        assert_eq!(note.location.map(|l| (l.line, l.column)), Some((3, 14)));
    }

    #[test]
    fn deep_yaml_flow_nesting_is_refused_before_parsing() {
        for open in ["[", "{a: ", "[&x "] {
            let text = format!("pack_id: x\nversion: {}", open.repeat(100_000));
            let start = std::time::Instant::now();
            let ds = problems(DocKind::Pack, Syntax::Yaml, &text);
            assert!(
                start.elapsed().as_secs() < 5,
                "{open}: {:?}",
                start.elapsed()
            );
            assert_eq!(ds.len(), 1, "{ds:#?}");
            assert_eq!(ds[0].code, Code::TooDeep);
            let at = ds[0].location.unwrap();
            assert_eq!(at.line, 2);
            assert_eq!(at.column, 10 + MAX_YAML_FLOW_DEPTH * open.len());
        }
        // Brackets in plain text, quoted scalars and comments do not count.
        let words = "a [b ".repeat(500);
        let text = format!(
            "d: {words}\ne: '{}'\nf: \"{}\" # {}\ng: [[[1]]]\n",
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500)
        );
        assert_eq!(yaml_flow_too_deep(&text), None);
        assert_eq!(yaml_flow_too_deep(&"[".repeat(128)), None);
        assert_eq!(yaml_flow_too_deep(&"[".repeat(129)), Some(128));
    }

    #[test]
    fn files_with_only_comments_are_empty() {
        let ds = problems(DocKind::Pack, Syntax::Yaml, "# todo\n---\n\n");
        assert_eq!(ds[0].code, Code::EmptyFile, "{ds:#?}");
        assert_eq!(ds[0].message, "the file holds only comments");
        let ds = problems(DocKind::Sku, Syntax::Toml, " \n");
        assert_eq!(ds[0].message, "the file is empty", "{ds:#?}");
    }

    #[test]
    fn parser_messages_are_worded_for_people() {
        let ds = problems(
            DocKind::Sku,
            Syntax::Yaml,
            "sku_id: s\nplan_id: p\ntitle: t\nprice: { amount: x }\nenabled_packs: [a]\n",
        );
        assert_eq!(
            ds[0].message,
            "invalid type: string \"x\", expected a number"
        );
    }

    #[test]
    fn bad_compute_limit_types_are_compute_limit_errors() {
        let yaml =
            "pack_id: x\nversion: 1.0.0\ndescription: d\ncompute_limits: { timeout_ms: -5 }\n";
        let toml = "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = \"d\"\n[compute_limits]\nmax_memory_mb = 1.5\n";
        for (syntax, text, field, found, at) in [
            (Syntax::Yaml, yaml, "timeout_ms", "integer `-5`", (4, 31)),
            (
                Syntax::Toml,
                toml,
                "max_memory_mb",
                "floating point `1.5`",
                (5, 17),
            ),
        ] {
            let ds = problems(DocKind::Pack, syntax, text);
            assert_eq!(ds.len(), 1, "{ds:#?}");
            assert_eq!(ds[0].code, Code::InvalidComputeLimit);
            assert_eq!(
                ds[0].message,
                format!("`{field}` must be a positive whole number, found {found}")
            );
            assert_eq!(
                ds[0].field.as_ref().map(ToString::to_string),
                Some(format!("compute_limits.{field}"))
            );
            assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some(at));
            assert!(
                ds[0]
                    .help
                    .as_deref()
                    .unwrap()
                    .contains("positive whole number")
            );
        }
    }

    #[test]
    fn missing_fields_name_where_they_belong() {
        let text = "# a pack\npack_id = \"x\"\nversion = \"1.0.0\"\n";
        let ds = problems(DocKind::Pack, Syntax::Toml, text);
        assert_eq!(ds[0].code, Code::MissingField, "{ds:#?}");
        assert_eq!(
            ds[0].help.as_deref(),
            Some("add `description`: every pack has one")
        );
        // At the first entry, not the comment above it.
        assert_eq!(ds[0].location.map(|l| l.line), Some(2));
        let text = "pack_id = \"x\"\nversion = \"1.0.0\"\ndescription = \"d\"\n\n[[tools]]\nname = \"t\"\n";
        let ds = problems(DocKind::Pack, Syntax::Toml, text);
        assert_eq!(
            ds[0].field.as_ref().map(ToString::to_string).as_deref(),
            Some("tools[0].description"),
            "{ds:#?}"
        );
        assert_eq!(ds[0].location.map(|l| l.line), Some(5));
    }

    #[test]
    fn files_that_did_not_load_cause_no_further_errors() {
        let pack = file(
            DocKind::Pack,
            Syntax::Yaml,
            "pack_id: x\nversion: 1.0.0\ndescription: d\nactions: [{ id: a, roles: [r] }]\n",
        );
        // A SKU with a missing field: its roles and packs are unknown, so nothing is
        // "never granted" or "never sold".
        let sku = file(
            DocKind::Sku,
            Syntax::Yaml,
            "sku_id: x\nenabled_packs: [x]\niam_roles: [r]\n",
        );
        let report = check(&[pack.clone(), sku], Scope::Catalog).report;
        let codes = codes_of(report.diagnostics());
        assert_eq!(codes, [Code::MissingField], "{report}");
        // A pack file that could not be read is not reported as an unknown pack.
        let sku = file(
            DocKind::Sku,
            Syntax::Yaml,
            "sku_id: x\nplan_id: p\ntitle: t\nprice: { amount: 1 }\nenabled_packs: [x, gone]\niam_roles: [r]\n",
        );
        let inputs = Inputs {
            files: vec![pack, sku],
            problems: vec![
                Diagnostic::new(Code::InvalidEncoding, "x").in_file("c/packs/gone.yaml"),
            ],
            paths_seen: 3,
        };
        let report = check_inputs(&inputs, Scope::Catalog).report;
        let codes = codes_of(report.diagnostics());
        assert_eq!(codes, [Code::InvalidEncoding], "{report}");
        // A pack whose id is misspelt is known by its file name too.
        let mut pack = file(
            DocKind::Pack,
            Syntax::Yaml,
            "pack_id: X\nversion: 1.0.0\ndescription: d\n",
        );
        pack.path = PathBuf::from("packs/x.yaml");
        let report = check(
            &[pack, file(DocKind::Sku, Syntax::Yaml, SKU_X)],
            Scope::Catalog,
        )
        .report;
        let codes = codes_of(report.diagnostics());
        assert_eq!(codes, [Code::InvalidValue], "{report}");
        assert_eq!(
            report.diagnostics()[0].help.as_deref(),
            Some("`tai schema pack` shows what each field takes")
        );
    }

    #[test]
    fn unknown_handler_fields_point_at_the_field() {
        let text = "pack_id: x\nversion: 1.0.0\ndescription: d\ntools:\n  - name: t\n    description: d\n    action: a\n    handler: { kind: simulated, duraton_ms: 5 }\nactions: [{ id: a }]\n";
        let ds = problems(DocKind::Pack, Syntax::Yaml, text);
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(
            ds[0].message,
            "unknown field `duraton_ms` in `tools[0].handler`"
        );
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `duration_ms`?"));
        assert_eq!(ds[0].location.map(|l| (l.line, l.column)), Some((8, 33)));
    }

    #[test]
    fn a_bad_value_does_not_hide_the_rest_of_the_file() {
        // Each value error is left out in turn, so every problem is reported at once, and
        // the pack's own rules still run.
        let text = "pack_id: x\nversion: one\ndescription: d\ntools:\n  - name: t\n    description: d\n    action: a\n    handler: { kind: simulated, duraton_ms: 5 }\nactions:\n  - id: a\n    compute_limits: { timeout_ms: -5, max_memory_mb: x }\n    rolse: []\n";
        let ds = problems(DocKind::Pack, Syntax::Yaml, text);
        let found: Vec<(Code, usize)> = ds
            .iter()
            .map(|d| (d.code, d.location.map_or(0, |l| l.line)))
            .collect();
        assert_eq!(
            found,
            [
                (Code::InvalidVersion, 2),
                (Code::UnknownField, 8),
                (Code::InvalidComputeLimit, 11),
                (Code::InvalidComputeLimit, 11),
                (Code::UnknownField, 12),
            ],
            "{ds:#?}"
        );
        // A required field with a bad value cannot be left out: the rest still is read.
        let text = "pack_id: x\nversion: [1]\ndescription: d\nrequries: []\n";
        let ds = problems(DocKind::Pack, Syntax::Yaml, text);
        let codes = codes_of(&ds);
        assert_eq!(codes, [Code::InvalidValue, Code::UnknownField], "{ds:#?}");
        // TOML too; and a partly parsed pack is not checked against the catalog.
        let pack = file(
            DocKind::Pack,
            Syntax::Toml,
            "pack_id = \"x\"\nversion = \"1\"\ndescription = \"d\"\nrequires = \"y\"\n",
        );
        let report = check(
            &[pack, file(DocKind::Sku, Syntax::Yaml, SKU_X)],
            Scope::Catalog,
        )
        .report;
        let codes = codes_of(report.diagnostics());
        assert_eq!(
            codes,
            [Code::InvalidVersion, Code::InvalidValue],
            "{report}"
        );
    }

    #[test]
    fn kinds_are_told_from_content() {
        assert_eq!(kind_of_text("pack_id: a\n"), Some(DocKind::Pack));
        assert_eq!(kind_of_text("sku_id = \"a\"\n"), Some(DocKind::Sku));
        assert_eq!(kind_of_text("x:\n  pack_id: a\n"), None);
        assert_eq!(kind_of_text("pack_id: a\nsku_id: b\n"), None);
    }
}
