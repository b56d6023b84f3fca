//! Receipt ids: a deterministic function of a seed, the tenant and the seq.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::ids::TenantId;

/// Deterministic receipt ids: a function of a seed, the tenant and the seq, so a run under a
/// fixed seed and a simulated clock is reproducible byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdSource {
    seed: u64,
}

impl IdSource {
    /// Ids derived from `seed`.
    pub fn seeded(seed: u64) -> Self {
        IdSource { seed }
    }

    /// The id of receipt `seq` of `tenant`.
    pub fn receipt_id(&self, tenant: &TenantId, seq: u64) -> Arc<str> {
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(tenant.as_str().as_bytes());
        h.update(seq.to_le_bytes());
        let digest = h.finalize();
        let mut id = *b"rcpt_000000000000000000000000";
        // 12 bytes always fill the 24 hex digits after the prefix.
        let _ = hex::encode_to_slice(&digest[..12], &mut id[5..]);
        // The prefix and hex digits are ASCII.
        std::str::from_utf8(&id).unwrap_or_default().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_seed_tenant_and_seq_only() {
        let acme = TenantId::new("acme").unwrap();
        let ids = IdSource::seeded(1);
        let id = ids.receipt_id(&acme, 0);
        assert!(id.starts_with("rcpt_") && id.len() == 29, "{id}");
        assert_eq!(IdSource::seeded(1).receipt_id(&acme, 0), id);
        assert_ne!(ids.receipt_id(&acme, 1), id);
        assert_ne!(IdSource::seeded(2).receipt_id(&acme, 0), id);
        assert_ne!(ids.receipt_id(&TenantId::new("globex").unwrap(), 0), id);
    }
}
