//! Where a reading command finds the receipt chains: the state directory's ledgers, or the
//! database `--ledger` names, behind one set of reads.

use std::sync::Arc;

use crate::ids::TenantId;
use crate::receipts::ledger::Ledger;
use crate::receipts::trust::TrustAnchors;
use crate::receipts::{
    Checkpoint, ConsistencyProof, InclusionProof, LedgerDir, LedgerError, Manifest, Receipt,
    VerifyReport,
};

use anyhow::bail;

use super::GlobalArgs;

/// Where the chains are read from: the state directory's ledgers, or the database that
/// `--ledger` names.
pub(super) enum Chains {
    Dir(LedgerDir),
    /// The ledger and its URL without the password.
    Database(Arc<dyn Ledger>, String),
}

impl Chains {
    pub(super) fn open(global: &GlobalArgs) -> anyhow::Result<Chains> {
        Ok(match super::common::database(global)? {
            Some(ledger) => {
                Chains::Database(ledger, redact(global.ledger.as_deref().unwrap_or_default()))
            }
            None => Chains::Dir(LedgerDir::in_state(&global.state)),
        })
    }

    pub(super) fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Checkpoint>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.latest_checkpoint(tenant),
            Chains::Database(db, _) => db.latest_checkpoint(tenant),
        }
    }

    pub(super) fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.prove(tenant, seq),
            Chains::Database(db, _) => db.prove(tenant, seq),
        }
    }

    pub(super) fn prove_consistency(
        &self,
        tenant: &TenantId,
        old: Checkpoint,
    ) -> Result<ConsistencyProof, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.prove_consistency(tenant, old),
            Chains::Database(db, _) => db.prove_consistency(tenant, old),
        }
    }

    pub(super) fn contains(&self, tenant: &TenantId) -> Result<bool, LedgerError> {
        match self {
            Chains::Dir(dir) => Ok(dir.contains(tenant)),
            Chains::Database(db, _) => Ok(db.head(tenant)?.next_seq > 0),
        }
    }

    pub(super) fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.tenants(),
            Chains::Database(db, _) => db.tenants(),
        }
    }

    /// The workspace manifest (the state directory's, or the database's).
    pub(super) fn manifest(&self) -> Result<Option<Manifest>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.manifest(),
            Chains::Database(db, _) => db.manifest(),
        }
    }

    /// Tenants the manifest lists.
    pub(super) fn listed(&self) -> Result<std::collections::BTreeSet<TenantId>, LedgerError> {
        Ok(self.manifest()?.map(|m| m.tenants).unwrap_or_default())
    }

    pub(super) fn verify_with(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> anyhow::Result<VerifyReport> {
        match self {
            Chains::Dir(dir) => Ok(dir.verify_with(tenant, deep, anchors)?),
            Chains::Database(db, _) => Ok(db.verify_signed(tenant, deep, anchors)?),
        }
    }

    pub(super) fn receipts(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.receipts(tenant),
            Chains::Database(db, _) => db.read(tenant),
        }
    }

    /// Where the chains are, for messages.
    pub(super) fn place(&self) -> String {
        match self {
            Chains::Dir(dir) => dir.path().display().to_string(),
            Chains::Database(_, url) => url.clone(),
        }
    }
}

#[cfg(feature = "postgres")]
use crate::receipts::ledger::redact_url as redact;
#[cfg(not(feature = "postgres"))]
fn redact(url: &str) -> String {
    url.to_owned()
}

/// Fails with the known tenants listed unless `tenant` has a ledger.
pub(super) fn require_tenant(dir: &Chains, tenant: &TenantId) -> anyhow::Result<()> {
    if dir.contains(tenant)? {
        return Ok(());
    }
    let known = dir.tenants()?;
    let near = crate::diagnostics::closest(tenant.as_str(), known.iter().map(TenantId::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    let known = if known.is_empty() {
        "none yet".to_owned()
    } else {
        known
            .iter()
            .map(TenantId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    bail!(
        "no ledger for tenant `{tenant}` in {}; known tenants: {known}{near}",
        dir.place()
    )
}
