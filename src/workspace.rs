//! A persistent workspace: tenants rebuilt from their ledgers, operated on one at a time, and
//! every receipt made durable before the caller sees the answer.
//!
//! The CLI opens a workspace per invocation; `tai serve` keeps one open and shares it across
//! requests. Each tenant sits behind its own lock, so calls for one tenant are serialized
//! through its governor while different tenants proceed in parallel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::governor::{Env, IdSource, ReplayError, Tenant};
use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::receipts::ledger::{FileLedger, Ledger, LedgerError};

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A ledger does not replay into a tenant.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The state directory could not be prepared.
    #[error("cannot use state directory `{path}`: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Tenants over a durable ledger.
#[derive(Debug)]
pub struct Workspace {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    ids: IdSource,
    ledger: Arc<dyn Ledger>,
    tenants: Mutex<HashMap<TenantId, Arc<Mutex<Tenant>>>>,
}

impl Workspace {
    /// Opens (creating if needed) the workspace in `state_dir`.
    pub fn open(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
    ) -> Result<Workspace, WorkspaceError> {
        let ids = IdSource::seeded(load_or_create_seed(state_dir)?);
        let ledger = Arc::new(FileLedger::open(state_dir)?);
        Ok(Workspace::with_ledger(catalog, clock, ids, ledger))
    }

    /// A workspace over any ledger (e.g. an in-memory one in tests).
    pub fn with_ledger(
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
        ids: IdSource,
        ledger: Arc<dyn Ledger>,
    ) -> Workspace {
        Workspace {
            catalog,
            clock,
            ids,
            ledger,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The catalog in force.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// Tenants that have a ledger.
    pub fn tenant_ids(&self) -> Result<Vec<TenantId>, WorkspaceError> {
        Ok(self.ledger.tenants()?)
    }

    /// Whether the tenant has any receipts.
    pub fn exists(&self, id: &TenantId) -> Result<bool, WorkspaceError> {
        Ok(self.tenant_ids()?.contains(id))
    }

    fn handle(&self, id: &TenantId) -> Result<Arc<Mutex<Tenant>>, WorkspaceError> {
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = map.get(id) {
            return Ok(h.clone());
        }
        let receipts = self.ledger.read(id)?;
        let tenant = Tenant::replay(id.clone(), &receipts)?;
        let handle = Arc::new(Mutex::new(tenant));
        map.insert(id.clone(), handle.clone());
        Ok(handle)
    }

    /// A snapshot of a tenant (a fresh `boot` tenant when it has no ledger).
    pub fn tenant(&self, id: &TenantId) -> Result<Tenant, WorkspaceError> {
        let h = self.handle(id)?;
        let t = h.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(t)
    }

    /// Runs `op` on the tenant under its lock and makes the receipts it wrote durable before
    /// returning. If the append fails the tenant is rebuilt from the ledger, so memory never
    /// runs ahead of what is on disk.
    pub fn run<T>(
        &self,
        id: &TenantId,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: impl Fn(&T) -> &[Receipt],
    ) -> Result<T, WorkspaceError> {
        let h = self.handle(id)?;
        let mut tenant = h.lock().unwrap_or_else(PoisonError::into_inner);
        let env = Env {
            catalog: &self.catalog,
            now: self.clock.now(),
            ids: &self.ids,
        };
        let out = op(&mut tenant, &env);
        let receipts = receipts_of(&out);
        if !receipts.is_empty()
            && let Err(e) = self.ledger.append(id, receipts)
        {
            let stored = self.ledger.read(id)?;
            *tenant = Tenant::replay(id.clone(), &stored)?;
            return Err(e.into());
        }
        Ok(out)
    }
}

/// The id seed is chosen once per state directory, so receipt ids differ between workspaces
/// but stay stable within one.
fn load_or_create_seed(dir: &Path) -> Result<u64, WorkspaceError> {
    let io = |source| WorkspaceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join("seed");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(seed) = text.trim().parse()
    {
        return Ok(seed);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    #[allow(clippy::cast_possible_truncation)]
    let seed = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    std::fs::write(&path, format!("{seed}\n")).map_err(|source| WorkspaceError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(seed)
}
