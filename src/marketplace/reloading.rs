//! Marketplace records that a running server reads again: a lookup that misses re-reads the
//! records' files when they changed since they were read.
//!
//! A marketplace delivers a notification again until it is acknowledged, and a provider adds
//! the record it names (a GCP entitlement resource, an AWS GetEntitlements answer) when it
//! learns of it: `tai serve --marketplace-records` then finds it on the next delivery,
//! without a restart. Only misses look at the files, so a found record costs nothing more,
//! and a flood of unknown ids costs one listing of the files each, nothing kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::offline::{Offline, OfflineError};
use super::{ResourceError, Resources, aws, gcp};
use crate::clock::Timestamp;
use crate::sync::lock;

/// What the records' files were when they were read: each file's path, length and
/// modification time, in name order.
type Stamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Records read from a file or directory, read again when a lookup misses and the files
/// changed.
#[derive(Debug)]
pub struct Reloading {
    path: PathBuf,
    option: &'static str,
    read: Mutex<(Arc<Offline>, Stamp)>,
}

impl Reloading {
    /// Reads `path`, given with `option`, as [`Offline::load`] does.
    pub fn load(path: &Path, option: &'static str) -> Result<Self, OfflineError> {
        let stamp = stamp(path);
        let records = Offline::load(path, option)?;
        Ok(Reloading {
            path: path.to_path_buf(),
            option,
            read: Mutex::new((Arc::new(records), stamp)),
        })
    }

    fn current(&self) -> Arc<Offline> {
        Arc::clone(&lock(&self.read).0)
    }

    /// After a miss: the records read again when their files changed since (`Ok(None)`
    /// when they did not), or why they could not be (the records read before stay).
    fn reread(&self) -> Result<Option<Arc<Offline>>, OfflineError> {
        let stamp = stamp(&self.path);
        let mut read = lock(&self.read);
        if read.1 == stamp {
            return Ok(None);
        }
        let records = Arc::new(Offline::load(&self.path, self.option)?);
        *read = (Arc::clone(&records), stamp);
        Ok(Some(records))
    }

    /// `lookup` in the records; on a miss, in the records read again if they changed. A
    /// reading that fails is told in the miss, so the operator learns why a record added is
    /// not taken.
    fn find<T>(
        &self,
        lookup: impl Fn(&Offline) -> Result<T, ResourceError>,
    ) -> Result<T, ResourceError> {
        match lookup(&self.current()) {
            Err(ResourceError::NotFound { what, id, hint }) => match self.reread() {
                Ok(Some(records)) => lookup(&records),
                Ok(None) => Err(ResourceError::NotFound { what, id, hint }),
                Err(e) => Err(ResourceError::NotFound {
                    what,
                    id,
                    hint: format!("{hint} (the records were read again and could not be: {e})"),
                }),
            },
            found => found,
        }
    }
}

impl Resources for Reloading {
    fn gcp_entitlement(
        &self,
        id: &str,
        updated: Option<Timestamp>,
    ) -> Result<gcp::Entitlement, ResourceError> {
        self.find(|records| records.gcp_entitlement(id, updated))
    }

    fn aws_entitlements(
        &self,
        product_code: &str,
        customer: &str,
    ) -> Result<Vec<aws::Entitlement>, ResourceError> {
        self.find(|records| records.aws_entitlements(product_code, customer))
    }
}

/// The files under `path` now (a file, or a directory's `*.json` files); what cannot be read
/// counts as changed, and [`Offline::load`] then says why.
fn stamp(path: &Path) -> Stamp {
    let one = |p: PathBuf| {
        let meta = std::fs::metadata(&p).ok();
        let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
        let modified = meta.and_then(|m| m.modified().ok());
        (p, len, modified)
    };
    let Ok(entries) = std::fs::read_dir(path) else {
        return vec![one(path.to_path_buf())];
    };
    let mut files: Stamp = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(one)
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
