//! Read access to a tenant's own receipts, for the built-in tools that verify, look up and
//! export them: one trait the in-memory engine and the file ledger both serve, so the
//! governor reads evidence without knowing where it is kept.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::ids::TenantId;

use super::Receipt;
use super::ledger::Ledger;

/// Where a tenant's chain can be read, as decided before the operation in progress: a
/// built-in tool reads it before its own receipt is sealed.
pub trait Evidence: fmt::Debug + Send + Sync {
    /// Up to `limit` of `tenant`'s receipts from seq `from` on, in chain order (empty past
    /// the end or for an unknown tenant).
    fn receipts_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, EvidenceError>;
}

/// The evidence could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the receipts of tenant `{tenant}`: {detail}")]
pub struct EvidenceError {
    /// The tenant whose chain was read.
    pub tenant: TenantId,
    /// What went wrong.
    pub detail: String,
}

impl Evidence for Arc<dyn Ledger> {
    fn receipts_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, EvidenceError> {
        self.read_from(tenant, from, limit)
            .map_err(|e| EvidenceError {
                tenant: tenant.clone(),
                detail: e.to_string(),
            })
    }
}

/// Chains held in memory, each a tenant's receipts from seq 0 on.
#[derive(Debug, Clone, Copy)]
pub struct InMemory<'a>(pub &'a BTreeMap<TenantId, Vec<Receipt>>);

impl Evidence for InMemory<'_> {
    fn receipts_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, EvidenceError> {
        let chain = self.0.get(tenant).map_or(&[][..], Vec::as_slice);
        let start = usize::try_from(from).unwrap_or(usize::MAX).min(chain.len());
        let end = start.saturating_add(limit).min(chain.len());
        Ok(chain[start..end].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::{MemoryLedger, sample_chain};

    #[test]
    fn memory_and_ledger_answer_the_same_pages() {
        let acme = TenantId::new("acme").unwrap();
        let chain = sample_chain(&acme, 7);
        let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::default());
        ledger.append(&acme, &chain).unwrap();
        let map = BTreeMap::from([(acme.clone(), chain.clone())]);
        let memory = InMemory(&map);
        for (from, limit) in [(0, 3), (5, 10), (7, 1), (99, 2)] {
            let seqs = |e: &dyn Evidence| {
                e.receipts_from(&acme, from, limit)
                    .unwrap()
                    .iter()
                    .map(|r| r.seq)
                    .collect::<Vec<_>>()
            };
            assert_eq!(seqs(&memory), seqs(&ledger), "from {from} limit {limit}");
        }
        let beta = TenantId::new("beta").unwrap();
        assert!(memory.receipts_from(&beta, 0, 5).unwrap().is_empty());
    }
}
