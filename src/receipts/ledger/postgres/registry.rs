//! The tenant manifest in the database: every tenant a writer ever created, so a chain
//! deleted from the database (its receipts, head and checkpoints) is a verification failure
//! and is not started again from nothing. The same [`Manifest`] a state directory keeps, held
//! in the one row of table `manifest` and signed when the writer has a key.

use std::path::PathBuf;

use postgres::GenericClient;

use crate::ids::TenantId;
use crate::receipts::GENESIS_HASH;
use crate::receipts::signing::CheckpointSigner;

use super::super::LedgerError;
use super::super::manifest::{Manifest, admit, may_sign_over, signs_over};
use super::{PostgresLedger, db_err};
use crate::sync::lock;

/// The manifest's row, made empty (`line` null: no manifest yet) so that it can be locked.
const ROW: &str = "INSERT INTO manifest (id, line) VALUES (1, NULL) ON CONFLICT (id) DO NOTHING";

impl PostgresLedger {
    /// Lists `tenant` in the manifest before its first receipts are committed, and gives it
    /// an empty head in the same transaction (a chain that exists and holds nothing yet), so
    /// a stop before the first commit leaves a tenant listed and present, never one that
    /// looks deleted. Refuses a tenant listed whose head is gone (see [`admit`]). Once per
    /// tenant per process; the manifest's row lock orders writers adding tenants at once.
    pub(super) fn register(&self, tenant: &TenantId) -> Result<(), LedgerError> {
        if lock(&self.registered).contains(tenant) {
            return Ok(());
        }
        let signer = self.signing.as_ref().map(|s| &*s.signer);
        let mut client = self.pool.get()?;
        let mut tx = client
            .transaction()
            .map_err(db_err("begin registering a tenant"))?;
        let place = self.manifest_place();
        let (manifest, stored) = locked(&mut tx, &place)?;
        let exists = tx
            .query_opt("SELECT 1 FROM heads WHERE tenant = $1", &[&tenant.as_str()])
            .map_err(db_err("read a chain head"))?
            .is_some();
        if let Some(manifest) = admit(manifest, stored, &place, tenant, exists, signer)? {
            store(&mut tx, &manifest)?;
        }
        if !exists {
            tx.execute(
                "INSERT INTO heads (tenant, next_seq, hash, ledger_bytes) VALUES ($1, 0, $2, 0) \
                 ON CONFLICT (tenant) DO NOTHING",
                &[&tenant.as_str(), &GENESIS_HASH],
            )
            .map_err(db_err("create a chain head"))?;
        }
        tx.commit().map_err(db_err("register a tenant"))?;
        lock(&self.registered).insert(tenant.clone());
        Ok(())
    }

    /// Lists `tenant` in the manifest inside `tx`, the transaction that copies its chain in
    /// (`tai ledger migrate`), unless it is listed already (see [`Self::copy_manifest`]):
    /// the copy and its listing commit together.
    pub(super) fn register_copied(
        &self,
        tx: &mut impl GenericClient,
        tenant: &TenantId,
    ) -> Result<(), LedgerError> {
        let signer = self.signing.as_ref().map(|s| &*s.signer);
        let (mut manifest, stored) = locked(tx, &self.manifest_place())?;
        if !(stored && manifest.tenants.contains(tenant)) {
            manifest.tenants.insert(tenant.clone());
            store(tx, &manifest.signed_by(signer))?;
        }
        Ok(())
    }

    /// Stores `manifest` (a state directory's, as signed) in place of the database's when
    /// both list the same tenants: `tai ledger migrate` into an empty database carries the
    /// signed tenant list over, as it carries the signed checkpoints. Whether it was stored.
    pub fn copy_manifest(&self, manifest: &Manifest) -> Result<bool, LedgerError> {
        let mut client = self.pool.get()?;
        let mut tx = client
            .transaction()
            .map_err(db_err("begin copying the manifest"))?;
        let (current, stored) = locked(&mut tx, &self.manifest_place())?;
        if !stored || current.tenants != manifest.tenants {
            return Ok(false);
        }
        store(&mut tx, manifest)?;
        tx.commit().map_err(db_err("copy the manifest"))?;
        Ok(true)
    }

    /// Re-signs the manifest with the writer's key when a key it continues signed it, or,
    /// when it adopts unsigned history, whatever signed it (see
    /// [`super::super::manifest::sign_over`], the same for a state directory).
    pub(super) fn sign_manifest_over(
        &self,
        signer: &CheckpointSigner,
        adopt: bool,
    ) -> Result<(), LedgerError> {
        if !may_sign_over(signer, adopt) {
            return Ok(());
        }
        let mut client = self.pool.get()?;
        let mut tx = client
            .transaction()
            .map_err(db_err("begin signing the manifest"))?;
        let (manifest, stored) = locked(&mut tx, &self.manifest_place())?;
        if (stored || adopt) && signs_over(&manifest, signer, adopt) {
            store(&mut tx, &manifest.signed_by(Some(signer)))?;
        }
        tx.commit().map_err(db_err("sign the manifest"))
    }

    /// Where the manifest is, for messages that name a path.
    pub(super) fn manifest_place(&self) -> PathBuf {
        PathBuf::from(format!("{} (table manifest)", self.url()))
    }
}

/// The stored manifest, `None` when there is none.
pub(super) fn read(
    client: &mut impl GenericClient,
    place: &std::path::Path,
) -> Result<Option<Manifest>, LedgerError> {
    let row = client
        .query_opt("SELECT line FROM manifest WHERE id = 1", &[])
        .map_err(db_err("read the manifest"))?;
    match row.and_then(|r| r.get::<_, Option<String>>(0)) {
        Some(line) => parse(&line, place).map(Some),
        None => Ok(None),
    }
}

fn parse(line: &str, place: &std::path::Path) -> Result<Manifest, LedgerError> {
    serde_json::from_str(line).map_err(|e| LedgerError::ManifestUnreadable {
        path: place.to_path_buf(),
        detail: e.to_string(),
    })
}

/// The manifest, its row locked until the transaction ends, and whether one was stored;
/// for a database written before manifests, one listing the tenants with receipts.
fn locked(
    tx: &mut impl GenericClient,
    place: &std::path::Path,
) -> Result<(Manifest, bool), LedgerError> {
    tx.execute(ROW, &[])
        .map_err(db_err("create the manifest"))?;
    let line: Option<String> = tx
        .query_one("SELECT line FROM manifest WHERE id = 1 FOR UPDATE", &[])
        .map_err(db_err("lock the manifest"))?
        .get(0);
    if let Some(line) = line {
        return parse(&line, place).map(|m| (m, true));
    }
    let rows = tx
        .query("SELECT tenant FROM heads WHERE next_seq > 0", &[])
        .map_err(db_err("list tenants"))?;
    let tenants = rows
        .iter()
        .filter_map(|row| TenantId::new(row.get::<_, String>(0)).ok())
        .collect();
    Ok((
        Manifest {
            tenants,
            ..Manifest::default()
        },
        false,
    ))
}

fn store(tx: &mut impl GenericClient, manifest: &Manifest) -> Result<(), LedgerError> {
    let line = String::from_utf8_lossy(&manifest.to_bytes()).into_owned();
    tx.execute("UPDATE manifest SET line = $1 WHERE id = 1", &[&line])
        .map_err(db_err("store the manifest"))?;
    Ok(())
}
