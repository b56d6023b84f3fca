//! Looking up packs and SKUs by id, with the nearest known id when one is unknown.

use std::fmt;

use crate::catalog::{Catalog, Pack, Sku};
use crate::diagnostics::closest;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A pack id.
    Pack,
    /// A SKU id.
    Sku,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Pack => "pack",
            IdKind::Sku => "SKU",
        })
    }
}

/// An id that names nothing in the catalog, with the nearest known id as a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownId {
    /// What kind of id it is.
    pub kind: IdKind,
    /// The id as given.
    pub id: String,
    /// The closest known id, when one is close enough to be a likely typo.
    pub suggestion: Option<String>,
    /// Every known id of this kind, sorted.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.id)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

fn unknown<'a>(kind: IdKind, id: &str, known: impl Iterator<Item = &'a str> + Clone) -> UnknownId {
    UnknownId {
        kind,
        id: id.to_owned(),
        suggestion: closest(id, known.clone()).map(str::to_owned),
        known: known.map(str::to_owned).collect(),
    }
}

/// The pack with this id, or an error naming the closest one.
pub fn find_pack<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Pack, UnknownId> {
    catalog.pack(id).ok_or_else(|| {
        let known = catalog.packs().iter().map(|p| p.pack_id.as_str());
        unknown(IdKind::Pack, id, known)
    })
}

/// The SKU with this id, or an error naming the closest one.
pub fn find_sku<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Sku, UnknownId> {
    catalog.sku(id).ok_or_else(|| {
        let known = catalog.skus().iter().map(|s| s.sku_id.as_str());
        unknown(IdKind::Sku, id, known)
    })
}
