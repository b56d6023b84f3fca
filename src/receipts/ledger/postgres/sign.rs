//! Signed checkpoints in the database: one per tenant per commit round, signed once the
//! round has committed, from a per-tenant Merkle frontier kept in memory; and the proofs and
//! verification that read them back.
//!
//! A checkpoint row holds the very line the file ledger's checkpoints file would, so the
//! same [`check_checkpoints`](crate::receipts::trust::check_checkpoints) checks both.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use postgres::GenericClient;

use crate::clock::Clock;
use crate::ids::TenantId;
use crate::receipts::merkle::{Frontier, consistency_path, inclusion_path, leaf_of_hex};
use crate::receipts::proof::{ConsistencyProof, InclusionProof, ProofError};
use crate::receipts::signing::{Checkpoint, CheckpointHead, CheckpointSigner};
use crate::receipts::{ChainHead, Receipt};

use super::super::LedgerError;
use super::super::dir::InMemoryNodes;
use super::{db_err, from_db, to_db};

/// The key checkpoints are signed with and the clock that dates them.
#[derive(Debug, Clone)]
pub(super) struct Signing {
    pub(super) signer: Arc<CheckpointSigner>,
    pub(super) clock: Arc<dyn Clock>,
    /// See [`super::PostgresOptions::adopt_unsigned`].
    pub(super) adopt_unsigned: bool,
}

/// The Merkle frontier of each tenant's committed chain as far as this writer has seen it,
/// and the tenants whose checkpoints it has checked against their head.
#[derive(Debug, Default)]
pub(super) struct Frontiers {
    trees: HashMap<TenantId, Frontier>,
    checked: HashSet<TenantId>,
}

impl Frontiers {
    /// `tenant`'s frontier over its first `size` committed receipts: the cached one, extended
    /// with only the hashes it is missing (appended by another writer, or never read).
    fn at(
        &mut self,
        client: &mut impl GenericClient,
        tenant: &TenantId,
        size: u64,
    ) -> Result<Frontier, LedgerError> {
        let mut frontier = self
            .trees
            .remove(tenant)
            .filter(|f| f.size() <= size)
            .unwrap_or_default();
        if frontier.size() < size {
            let rows = client
                .query(
                    "SELECT hash FROM receipts WHERE tenant = $1 AND seq >= $2 AND seq < $3 \
                     ORDER BY seq",
                    &[&tenant.as_str(), &to_db(frontier.size()), &to_db(size)],
                )
                .map_err(db_err("read receipt hashes"))?;
            let mut scratch = Vec::new();
            for row in &rows {
                frontier.push(leaf_of_hex(row.get(0)).unwrap_or_default(), &mut scratch);
                scratch.clear();
            }
            if frontier.size() != size {
                return Err(LedgerError::Database {
                    action: "read receipt hashes",
                    detail: format!(
                        "tenant `{tenant}` has {} committed receipts, its head says {size}",
                        frontier.size()
                    ),
                });
            }
        }
        Ok(frontier)
    }

    /// Keeps `frontier` as `tenant`'s unless a longer one is kept already.
    fn keep(&mut self, tenant: &TenantId, frontier: Frontier) {
        let slot = self.trees.entry(tenant.clone()).or_default();
        if frontier.size() >= slot.size() {
            *slot = frontier;
        }
    }

    /// Forgets `tenant` (a failed signing leaves what was committed unknown to this writer).
    pub(super) fn forget(&mut self, tenant: &TenantId) {
        self.trees.remove(tenant);
        self.checked.remove(tenant);
    }

    /// What a checkpoint of `tenant`'s chain after `receipts`, committed from `start` on,
    /// states.
    pub(super) fn head(
        &mut self,
        client: &mut impl GenericClient,
        tenant: &TenantId,
        start: &ChainHead,
        receipts: &[Receipt],
    ) -> Result<Option<CheckpointHead>, LedgerError> {
        let Some(last) = receipts.last() else {
            return Ok(None);
        };
        let mut frontier = self.at(client, tenant, start.next_seq)?;
        let mut scratch = Vec::new();
        for r in receipts {
            frontier.push(leaf_of_hex(&r.hash).unwrap_or_default(), &mut scratch);
            scratch.clear();
        }
        let head = CheckpointHead {
            tenant: tenant.clone(),
            seq: last.seq,
            head_hash: last.hash.to_string(),
            merkle_root: frontier.root(),
            catalog_hash: last.body.catalog_hash.to_string(),
        };
        self.keep(tenant, frontier);
        Ok(Some(head))
    }

    /// Whether `tenant` still has to be checked for a head no checkpoint covers; marks it
    /// checked.
    pub(super) fn first_use(&mut self, tenant: &TenantId) -> bool {
        self.checked.insert(tenant.clone())
    }
}

/// The columns `checkpoints` are stored as: tenants, seqs and lines.
pub(super) fn columns(checkpoints: &[Checkpoint]) -> (Vec<&str>, Vec<i64>, Vec<String>) {
    let tenants = checkpoints.iter().map(|c| c.tenant_id.as_str()).collect();
    let seqs = checkpoints.iter().map(|c| to_db(c.seq)).collect();
    let lines = checkpoints
        .iter()
        .map(|c| String::from_utf8_lossy(&c.to_line()).into_owned())
        .collect();
    (tenants, seqs, lines)
}

/// Every checkpoint of `tenant`, oldest first: `Err` names the first row that is not one.
pub(super) fn all(
    client: &mut impl GenericClient,
    tenant: &TenantId,
) -> Result<Result<Vec<Checkpoint>, (u64, String)>, LedgerError> {
    let rows = client
        .query(
            "SELECT seq, line FROM checkpoints WHERE tenant = $1 ORDER BY seq",
            &[&tenant.as_str()],
        )
        .map_err(db_err("read checkpoints"))?;
    let mut all = Vec::with_capacity(rows.len());
    for row in &rows {
        match serde_json::from_str(row.get(1)) {
            Ok(c) => all.push(c),
            Err(e) => return Ok(Err((from_db(row.get(0)), e.to_string()))),
        }
    }
    Ok(Ok(all))
}

/// The checkpoint with the highest seq.
pub(super) fn latest(
    client: &mut impl GenericClient,
    tenant: &TenantId,
) -> Result<Option<Checkpoint>, LedgerError> {
    let row = client
        .query_opt(
            "SELECT seq, line FROM checkpoints WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
            &[&tenant.as_str()],
        )
        .map_err(db_err("read checkpoints"))?;
    row.map(|row| {
        serde_json::from_str(row.get(1)).map_err(|e| LedgerError::CheckpointUnreadable {
            path: format!("checkpoints row ({tenant}, {})", row.get::<_, i64>(0)).into(),
            detail: e.to_string(),
        })
    })
    .transpose()
}

/// Checks `latest`, `tenant`'s latest checkpoint, for a writer signing with `signer` that
/// read `receipts` (the whole committed chain, from seq 0): a key the writer trusts signed
/// it, and the receipt at its seq is the one it states. Another writer may have committed
/// past `receipts` since (its receipt is then read from the database); none there means
/// acknowledged receipts were removed. Writing on a chain that fails either would sign a
/// rewritten or forked history.
pub(super) fn check_latest(
    client: &mut impl GenericClient,
    signer: &CheckpointSigner,
    latest: &Checkpoint,
    receipts: &[Receipt],
) -> Result<(), LedgerError> {
    let tenant = &latest.tenant_id;
    let mismatch = |detail: String| LedgerError::CheckpointMismatch {
        tenant: tenant.clone(),
        detail,
    };
    if let Err(e) = latest.verify_signature(signer.trusted()) {
        return Err(LedgerError::latest_not_trusted(tenant, &e, signer));
    }
    let stated = match receipts.get(latest.seq as usize) {
        Some(r) => Some(r.hash.to_string()),
        None => client
            .query_opt(
                "SELECT hash FROM receipts WHERE tenant = $1 AND seq = $2",
                &[&tenant.as_str(), &to_db(latest.seq)],
            )
            .map_err(db_err("read a receipt's hash"))?
            .map(|row| row.get(0)),
    };
    match stated {
        Some(hash) if hash == latest.head_hash => Ok(()),
        Some(hash) => Err(mismatch(format!(
            "it signs seq {} as {}, the chain's receipt there is {hash}",
            latest.seq, latest.head_hash
        ))),
        None => Err(mismatch(format!(
            "its latest checkpoint signs seq {} but the chain ends after {}: acknowledged \
             receipts were removed or the chain was rolled back",
            latest.seq,
            crate::diagnostics::plural(receipts.len() as u64, "receipt")
        ))),
    }
}

/// The nodes of the tree over `tenant`'s first `size` receipts, computed from their hashes:
/// O(size) per proof, since the database keeps no tree.
fn nodes(
    client: &mut impl GenericClient,
    tenant: &TenantId,
    size: u64,
) -> Result<InMemoryNodes, LedgerError> {
    let rows = client
        .query(
            "SELECT hash FROM receipts WHERE tenant = $1 AND seq < $2 ORDER BY seq",
            &[&tenant.as_str(), &to_db(size)],
        )
        .map_err(db_err("read receipt hashes"))?;
    Ok(InMemoryNodes::of_hashes(
        rows.iter().map(|row| row.get::<_, &str>(0)),
    ))
}

/// Receipt `receipt` with its audit path to `checkpoint`'s root, checked against it.
pub(super) fn prove(
    client: &mut impl GenericClient,
    receipt: Receipt,
    checkpoint: Checkpoint,
) -> Result<InclusionProof, LedgerError> {
    let tenant = checkpoint.tenant_id.clone();
    let size = checkpoint.tree_size();
    let path = inclusion_path(&nodes(client, &tenant, size)?, receipt.seq, size)?;
    let proof = InclusionProof::new(receipt, path, checkpoint);
    proof.check_tree().map_err(mismatch(tenant))?;
    Ok(proof)
}

/// The consistency path from `old` to `new`, checked against both roots.
pub(super) fn prove_consistency(
    client: &mut impl GenericClient,
    old: Checkpoint,
    new: Checkpoint,
) -> Result<ConsistencyProof, LedgerError> {
    let tenant = new.tenant_id.clone();
    LedgerError::check_extends(&tenant, &old, &new)?;
    let (m, n) = (old.tree_size(), new.tree_size());
    let path = consistency_path(&nodes(client, &tenant, n)?, m, n)?;
    let proof = ConsistencyProof::new(old.clone(), new, path);
    proof
        .check_tree()
        .map_err(|e| LedgerError::not_an_extension(&tenant, &old, e.to_string()))?;
    Ok(proof)
}

/// A proof computed from the chain that does not give the signed root: the chain was
/// changed after it was signed.
fn mismatch(tenant: TenantId) -> impl FnOnce(ProofError) -> LedgerError {
    move |e| LedgerError::CheckpointMismatch {
        tenant,
        detail: e.to_string(),
    }
}
