//! The workspace manifest: every tenant whose ledger was ever created in a state directory.
//!
//! A hash chain cannot notice that it was deleted whole, and a directory listing cannot
//! notice a file that is no longer there. The manifest can: a tenant listed without a ledger
//! was deleted, and a writer refuses to start such a tenant again from nothing. It is
//! replaced atomically whenever a tenant is added and signed when the writer has a key.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ids::TenantId;
use crate::receipts::signing::{CheckpointSigner, PublicKey};

use super::LedgerError;
use super::durable::{io_err, replace_file};

/// `<state>/ledger/manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Every tenant ever created, sorted.
    pub tenants: BTreeSet<TenantId>,
    /// The key that signed the manifest, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Ed25519 signature of [`Manifest::signed_text`], base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The manifest's file name in the ledger directory.
pub const MANIFEST_FILE: &str = "manifest.json";

impl Manifest {
    /// The bytes the signature is over.
    pub fn signed_text(&self, key_id: &str) -> String {
        let mut text = String::from("tai-manifest/v1\n");
        for t in &self.tenants {
            text.push_str(&format!("tenant {t}\n"));
        }
        text.push_str(&format!("key {key_id}\n"));
        text
    }

    /// Reads the manifest, `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<Manifest>, LedgerError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                LedgerError::ManifestUnreadable {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", path)(e)),
        }
    }

    /// Whether a given key signed the manifest as it stands: `Err` says why not.
    pub fn check_signature(&self, keys: &[PublicKey]) -> Result<(), String> {
        let (Some(key_id), Some(signature)) = (&self.key_id, &self.signature) else {
            return Err("the workspace manifest is not signed".to_owned());
        };
        let key = keys
            .iter()
            .find(|k| k.key_id() == key_id)
            .ok_or_else(|| format!("the workspace manifest is signed by unknown key {key_id}"))?;
        if key.verifies(self.signed_text(key_id).as_bytes(), signature) {
            Ok(())
        } else {
            Err("the workspace manifest's signature does not verify: it was edited".to_owned())
        }
    }

    /// The manifest signed by `signer`, or unsigned without one.
    pub(super) fn signed_by(mut self, signer: Option<&CheckpointSigner>) -> Manifest {
        match signer {
            Some(s) => {
                let key_id = s.public().key_id().to_owned();
                self.signature = Some(s.sign(self.signed_text(&key_id).as_bytes()));
                self.key_id = Some(key_id);
            }
            None => {
                self.key_id = None;
                self.signature = None;
            }
        }
        self
    }

    /// The manifest as it is stored: pretty JSON and a newline.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    fn write(self, path: &Path, signer: Option<&CheckpointSigner>) -> Result<(), LedgerError> {
        replace_file(path, &self.signed_by(signer).to_bytes())
    }

    /// What a verifier finds wrong with `tenant` against this manifest (`None`: there is
    /// none), given whether its chain `exists` and the keys it checks signatures with (none:
    /// not checked). The one rule for files and databases.
    pub fn problem(
        manifest: Option<&Manifest>,
        tenant: &TenantId,
        exists: bool,
        keys: &[PublicKey],
    ) -> Option<crate::receipts::ProblemKind> {
        use crate::receipts::ProblemKind;
        let Some(m) = manifest else {
            return exists.then(|| ProblemKind::Manifest {
                detail: "the workspace manifest is missing: deleted tenants cannot be told apart"
                    .to_owned(),
            });
        };
        match (m.tenants.contains(tenant), exists) {
            (true, false) => Some(ProblemKind::LedgerDeleted),
            (false, true) => Some(ProblemKind::NotInManifest),
            (false, false) => None,
            (true, true) if keys.is_empty() => None,
            (true, true) => m
                .check_signature(keys)
                .err()
                .map(|detail| ProblemKind::Manifest { detail }),
        }
    }
}

/// What admitting `tenant` to `manifest` (as stored at `place`, `stored` when it is; else
/// made from the chains there) does: the manifest to store, `None` when the tenant is listed
/// already. Refuses a tenant listed whose chain is gone (it was deleted), a chain the stored
/// manifest does not list (not created by a writer of this ledger), and, for a signing
/// writer, a stored manifest its keys did not sign (one edited, say to take a deleted tenant
/// off it, would be signed as it stands) or none beside chains (one deleted with a tenant
/// would be made again without it); adopting unsigned history signs the manifest first (see
/// [`sign_over`]). The one rule for files and databases.
pub(super) fn admit(
    manifest: Manifest,
    stored: bool,
    place: &Path,
    tenant: &TenantId,
    exists: bool,
    signer: Option<&CheckpointSigner>,
) -> Result<Option<Manifest>, LedgerError> {
    let listed = manifest.tenants.contains(tenant);
    if listed && !exists {
        return Err(LedgerError::Deleted {
            tenant: tenant.clone(),
            path: place.to_path_buf(),
        });
    }
    if !listed && exists && stored {
        return Err(LedgerError::NotInManifest {
            tenant: tenant.clone(),
            path: place.to_path_buf(),
        });
    }
    if listed && stored {
        return Ok(None);
    }
    if let Some(signer) = signer {
        // No manifest beside chains: a signing writer always made one before the first
        // chain, so it was deleted (perhaps with a tenant's chain), and one made now from
        // the chains left would hide that tenant under a fresh signature.
        if !stored && (exists || !manifest.tenants.is_empty()) {
            return Err(LedgerError::ManifestMissing {
                path: place.to_path_buf(),
            });
        }
        if stored && let Err(detail) = manifest.check_signature(signer.trusted()) {
            return Err(LedgerError::ManifestNotSigned {
                path: place.to_path_buf(),
                detail,
            });
        }
    }
    let mut manifest = manifest;
    manifest.tenants.insert(tenant.clone());
    Ok(Some(manifest.signed_by(signer)))
}

/// Whether a writer with `signer` may have a manifest to re-sign at all: only one that
/// continues previous keys or adopts unsigned history (the manifest need not be read
/// otherwise).
pub(super) fn may_sign_over(signer: &CheckpointSigner, adopt: bool) -> bool {
    adopt || signer.trusted().len() > 1
}

/// Whether a writer with `signer` re-signs `manifest` as it stands (see [`sign_over`]).
pub(super) fn signs_over(manifest: &Manifest, signer: &CheckpointSigner, adopt: bool) -> bool {
    let own = manifest.check_signature(std::slice::from_ref(signer.public()));
    let continued = || manifest.check_signature(signer.trusted()).is_ok();
    own.is_err() && !manifest.tenants.is_empty() && (adopt || continued())
}

/// Records `tenant` in the manifest of the ledger directory `dir` (open as `dir_handle`)
/// before its ledger is created, and refuses a tenant that was created before and whose
/// ledger is gone. `existing` lists the tenants with a ledger, for a directory written before
/// manifests existed. Holds an exclusive lock on the directory while it reads and replaces
/// the manifest, so writers in other processes do not lose each other's tenants.
pub(super) fn register(
    dir: &Path,
    dir_handle: &File,
    tenant: &TenantId,
    ledger_exists: bool,
    existing: impl FnOnce() -> Result<Vec<TenantId>, LedgerError>,
    signer: Option<&CheckpointSigner>,
) -> Result<(), LedgerError> {
    let _lock = DirLock::acquire(dir_handle, dir)?;
    let path = dir.join(MANIFEST_FILE);
    let manifest = current(&path, existing)?;
    match admit(
        manifest,
        path.exists(),
        &path,
        tenant,
        ledger_exists,
        signer,
    )? {
        Some(manifest) => replace_file(&path, &manifest.to_bytes()),
        None => Ok(()),
    }
}

/// Signs the manifest of `dir` with `signer` as it stands, unless that key signed it
/// already, when a key the signer continues signed it (a rotated key takes the list over, so
/// the previous key is needed once) or when `adopt_unsigned` (the operator adopting a
/// workspace written before signing was turned on vouches for its tenant list as for its
/// chains; made from the tenants with a ledger when there is none). Anything else is left
/// as it is, for [`register`] to refuse. Nothing is written for a directory without tenants.
pub(super) fn sign_over(
    dir: &Path,
    dir_handle: &File,
    existing: impl FnOnce() -> Result<Vec<TenantId>, LedgerError>,
    signer: &CheckpointSigner,
    adopt_unsigned: bool,
) -> Result<(), LedgerError> {
    if !may_sign_over(signer, adopt_unsigned) {
        return Ok(());
    }
    let _lock = DirLock::acquire(dir_handle, dir)?;
    let path = dir.join(MANIFEST_FILE);
    if !adopt_unsigned && !path.exists() {
        return Ok(());
    }
    let manifest = current(&path, existing)?;
    if !signs_over(&manifest, signer, adopt_unsigned) {
        return Ok(());
    }
    manifest.write(&path, Some(signer))
}

/// The manifest at `path`, or for a directory written before manifests existed, one listing
/// the tenants with a ledger (`existing`).
fn current(
    path: &Path,
    existing: impl FnOnce() -> Result<Vec<TenantId>, LedgerError>,
) -> Result<Manifest, LedgerError> {
    Ok(match Manifest::read(path)? {
        Some(m) => m,
        None => Manifest {
            tenants: existing()?.into_iter().collect(),
            ..Manifest::default()
        },
    })
}

/// An exclusive `flock` on the ledger directory, released when dropped.
struct DirLock<'a> {
    #[cfg_attr(not(unix), allow(dead_code))]
    file: &'a File,
}

impl<'a> DirLock<'a> {
    fn acquire(file: &'a File, dir: &Path) -> Result<Self, LedgerError> {
        #[cfg(unix)]
        rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err("lock", dir)(e.into()))?;
        #[cfg(not(unix))]
        let _ = dir;
        Ok(DirLock { file })
    }
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = rustix::fs::flock(self.file, rustix::fs::FlockOperation::Unlock);
    }
}
