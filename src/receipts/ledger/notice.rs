//! Receipts a ledger records about itself: a tail it moved to quarantine or adopted after a
//! crash, and history a signing writer adopted on the operator's word. The file and database
//! ledgers both record them, in the same words.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::ids::TenantId;
use crate::receipts::signing::Checkpoint;
use crate::receipts::{EventType, Receipt, ReceiptBody};
use crate::vocab::GovernorState;

use super::LedgerError;

/// What a ledger records about itself, before it is sealed into the chain.
#[derive(Debug, Clone)]
pub(super) struct Notice {
    pub(super) event: EventType,
    pub(super) metadata: serde_json::Value,
}

impl Notice {
    /// `bytes` found after the head at `path`'s quarantine file, `receipts` of them
    /// well-formed, moved aside because of `reason`.
    pub(super) fn quarantined(path: &Path, bytes: &[u8], receipts: u64, reason: &str) -> Notice {
        Notice {
            event: EventType::LedgerTailQuarantined,
            metadata: serde_json::json!({
                "action": "quarantined",
                "reason": reason,
                "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "bytes": bytes.len(),
                "sha256": crate::receipts::sha256_hex(bytes),
                "receipts": receipts,
            }),
        }
    }

    /// Receipts from `from_seq` on, written and covered by `checkpoint` but never
    /// acknowledged by the head, taken into the chain.
    pub(super) fn tail_adopted(from_seq: u64, checkpoint: &Checkpoint) -> Notice {
        Notice {
            event: EventType::LedgerTailAdopted,
            metadata: serde_json::json!({
                "action": "adopted",
                "reason": "receipts after the head that the latest checkpoint signed by \
                           this ledger's key covers: written and signed, but the head was \
                           not updated before the writer stopped",
                "from_seq": from_seq,
                "to_seq": checkpoint.seq,
                "receipts": checkpoint.seq + 1 - from_seq,
                "checkpoint_key_id": checkpoint.key_id,
            }),
        }
    }

    /// A chain of `receipts` receipts that a signing writer (key `key_id`) would have refused
    /// with `refusal`, taken as it stands because it was told to (`--adopt-unsigned`).
    pub(super) fn history_adopted(refusal: &LedgerError, receipts: u64, key_id: &str) -> Notice {
        let text = refusal.to_string();
        let reason = text.lines().next().unwrap_or_default();
        Notice {
            event: EventType::LedgerHistoryAdopted,
            metadata: serde_json::json!({
                "action": "adopted_unsigned",
                "reason": format!("adopted as it stands (--adopt-unsigned) although {reason}"),
                "from_seq": 0,
                "to_seq": receipts.saturating_sub(1),
                "receipts": receipts,
                "key_id": key_id,
            }),
        }
    }
}

/// The governor and catalog of the last receipt written: a checkpoint names the catalog, and
/// a receipt the ledger records itself keeps the governor's state.
#[derive(Debug, Clone)]
pub(super) struct LastReceipt {
    pub(super) governor_id: Arc<str>,
    pub(super) state: GovernorState,
    pub(super) catalog_hash: Arc<str>,
}

impl LastReceipt {
    pub(super) fn of(r: &Receipt) -> Self {
        LastReceipt {
            governor_id: Arc::clone(&r.body.governor_id),
            state: r.body.state_to,
            catalog_hash: Arc::clone(&r.body.catalog_hash),
        }
    }

    pub(super) fn genesis(tenant: &TenantId) -> Self {
        LastReceipt {
            governor_id: format!("gov-{tenant}").into(),
            state: GovernorState::Boot,
            catalog_hash: crate::receipts::GENESIS_HASH.into(),
        }
    }

    /// `notice` as `tenant`'s receipt at `seq`, to be sealed after this one: the governor's
    /// state does not change. Its id is derived from the tenant and seq, so a writer that
    /// records it again after a crash records the same receipt.
    pub(super) fn notice_body(
        &self,
        tenant: &TenantId,
        seq: u64,
        notice: Notice,
        now: Timestamp,
    ) -> ReceiptBody {
        let mut h = Sha256::new();
        h.update(b"tai-ledger-notice");
        h.update(tenant.as_str().as_bytes());
        h.update(seq.to_le_bytes());
        let digest = h.finalize();
        ReceiptBody {
            id: format!("rcpt_{}", hex::encode(&digest[..12])).into(),
            timestamp: now,
            tenant_id: tenant.clone(),
            governor_id: Arc::clone(&self.governor_id),
            state_from: self.state,
            state_to: self.state,
            event_type: notice.event,
            reason: None,
            metadata: notice.metadata.into(),
            catalog_hash: Arc::clone(&self.catalog_hash),
        }
    }
}
