//! Dynamic shell completion: SKU, pack, tool and tenant ids completed from the catalog and
//! the state directory in use (`source <(COMPLETE=bash tai)`), where the static scripts of
//! `tai completions` can only offer flags.
//!
//! A completer sees only the word being completed, not the rest of the line, so it finds
//! the catalog and state directory the way the commands do by default: `TAI_CATALOG` and
//! `TAI_STATE`, else the current directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::catalog::{Catalog, builtin, load};
use crate::receipts::LedgerDir;

fn catalog() -> Option<Catalog> {
    let files = match std::env::var_os("TAI_CATALOG") {
        Some(dir) => load::read_dir(Path::new(&dir)).ok()?,
        None if load::is_catalog_dir(Path::new(".")) => load::read_dir(Path::new(".")).ok()?,
        None => builtin::sources(),
    };
    Some(load::check(&files, load::Scope::Catalog).catalog)
}

fn candidates<'a>(
    current: &OsStr,
    items: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy();
    items
        .filter(|(id, _)| id.starts_with(prefix.as_ref()))
        .map(|(id, help)| CompletionCandidate::new(id).help(Some(help.to_owned().into())))
        .collect()
}

fn skus(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(c) = catalog() else {
        return Vec::new();
    };
    candidates(
        current,
        c.skus()
            .iter()
            .map(|s| (s.sku_id.as_str(), s.title.as_str())),
    )
}

fn packs(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(c) = catalog() else {
        return Vec::new();
    };
    candidates(
        current,
        c.packs()
            .iter()
            .map(|p| (p.pack_id.as_str(), p.description.as_str())),
    )
}

fn tools(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(c) = catalog() else {
        return Vec::new();
    };
    candidates(
        current,
        c.packs().iter().flat_map(|p| {
            p.tools
                .iter()
                .map(|t| (t.name.as_str(), t.description.as_str()))
        }),
    )
}

fn tenants(current: &OsStr) -> Vec<CompletionCandidate> {
    let state = std::env::var_os("TAI_STATE").map_or_else(|| PathBuf::from(".tai"), PathBuf::from);
    let ids = LedgerDir::in_state(state).tenants().unwrap_or_default();
    candidates(current, ids.iter().map(|t| (t.as_str(), "tenant")))
}

/// Completes SKU ids.
pub fn sku() -> ArgValueCompleter {
    ArgValueCompleter::new(skus)
}

/// Completes pack ids.
pub fn pack() -> ArgValueCompleter {
    ArgValueCompleter::new(packs)
}

/// Completes tool names.
pub fn tool() -> ArgValueCompleter {
    ArgValueCompleter::new(tools)
}

/// Completes the tenants of the state directory.
pub fn tenant() -> ArgValueCompleter {
    ArgValueCompleter::new(tenants)
}
