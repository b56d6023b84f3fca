//! Helpers every command shares: finding and loading the catalog.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::catalog::{Catalog, builtin, load};
use crate::diagnostics::Severity;

use super::GlobalArgs;

/// Where the catalog comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// A directory with `packs/` and `skus/`.
    Dir(PathBuf),
    /// The catalog compiled into the binary.
    BuiltIn,
}

impl CatalogSource {
    /// `--catalog` / `TAI_CATALOG` when given; else the current directory when it has both
    /// `packs/` and `skus/`; else the built-in catalog.
    pub fn resolve(global: &GlobalArgs) -> CatalogSource {
        if let Some(dir) = &global.catalog {
            return CatalogSource::Dir(dir.clone());
        }
        let here = Path::new(".");
        if here.join("packs").is_dir() && here.join("skus").is_dir() {
            CatalogSource::Dir(here.to_path_buf())
        } else {
            CatalogSource::BuiltIn
        }
    }

    /// The definition files of this source.
    pub fn files(&self) -> anyhow::Result<Vec<load::SourceFile>> {
        match self {
            CatalogSource::Dir(dir) => Ok(load::read_dir(dir)?),
            CatalogSource::BuiltIn => Ok(builtin::sources()),
        }
    }
}

/// Loads the catalog the global options point at; a catalog with errors is refused with a
/// pointer to `tai validate` (warnings are allowed).
pub fn load_catalog(global: &GlobalArgs) -> anyhow::Result<Catalog> {
    let source = CatalogSource::resolve(global);
    let files = source.files()?;
    match load::build(&files) {
        Ok(catalog) => Ok(catalog),
        Err(report) => {
            let first = report
                .diagnostics()
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(ToString::to_string)
                .unwrap_or_default();
            bail!(
                "the catalog has {} error(s), first: {first}\nhint: run `tai validate` for details",
                report.errors()
            )
        }
    }
}
