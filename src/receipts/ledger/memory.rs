//! A ledger in memory: the same continuity checks as on disk, nothing kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::ids::TenantId;
use crate::receipts::{ChainHead, Receipt, VerifyReport, verify_receipts};
use crate::sync::{lock, read, write};

use super::{Ledger, LedgerError, check_batch};

/// A ledger in memory, for tests, benchmarks and simulations that keep nothing.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    chains: RwLock<HashMap<TenantId, Arc<Mutex<MemoryChain>>>>,
}

#[derive(Debug, Default)]
struct MemoryChain {
    head: ChainHead,
    receipts: Vec<Receipt>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn chain(&self, tenant: &TenantId) -> Option<Arc<Mutex<MemoryChain>>> {
        let chains = read(&self.chains);
        chains.get(tenant).cloned()
    }

    fn chain_or_new(&self, tenant: &TenantId) -> Arc<Mutex<MemoryChain>> {
        if let Some(chain) = self.chain(tenant) {
            return chain;
        }
        let mut chains = write(&self.chains);
        Arc::clone(chains.entry(tenant.clone()).or_default())
    }
}

impl Ledger for MemoryLedger {
    fn append(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<ChainHead, LedgerError> {
        let chain = self.chain_or_new(tenant);
        let mut chain = lock(&chain);
        let next = check_batch(tenant, &chain.head, receipts)?;
        chain.receipts.extend_from_slice(receipts);
        chain.head = next;
        Ok(chain.head.clone())
    }

    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        Ok(self
            .chain(tenant)
            .map(|c| lock(&c).receipts.clone())
            .unwrap_or_default())
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        let chains = read(&self.chains);
        let mut tenants: Vec<TenantId> = chains.keys().cloned().collect();
        tenants.sort();
        Ok(tenants)
    }

    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError> {
        Ok(self
            .chain(tenant)
            .map(|c| lock(&c).head.clone())
            .unwrap_or_default())
    }

    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError> {
        let Some(chain) = self.chain(tenant) else {
            return Ok(verify_receipts(&[]));
        };
        let chain = lock(&chain);
        Ok(verify_receipts(&chain.receipts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::sample_body;

    fn tenant(name: &str) -> TenantId {
        TenantId::new(name).unwrap()
    }

    #[test]
    fn appends_continue_the_chain_and_refuse_gaps() {
        let ledger = MemoryLedger::new();
        let acme = tenant("acme");
        let mut head = ledger.head(&acme).unwrap();
        let batch: Vec<_> = (0..3).map(|n| head.seal(sample_body(&acme, n))).collect();
        assert_eq!(ledger.append(&acme, &batch).unwrap(), head);
        assert_eq!(ledger.read(&acme).unwrap(), batch);
        assert!(ledger.verify(&acme).unwrap().is_ok());

        // Replaying the same batch does not continue the chain.
        let err = ledger.append(&acme, &batch[1..]).unwrap_err();
        assert!(matches!(
            err,
            LedgerError::Discontinuous {
                expected_seq: 3,
                found_seq: 1,
                ..
            }
        ));
        // A receipt of another tenant is refused.
        let other = head.seal(sample_body(&tenant("beta"), 3));
        let err = ledger.append(&acme, &[other]).unwrap_err();
        assert!(err.to_string().contains("belongs to tenant `beta`"));
        assert_eq!(ledger.tenants().unwrap(), vec![acme]);
    }
}
