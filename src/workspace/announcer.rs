//! Announcing durable receipts in chain order, whatever order their callers return in.

use std::collections::BTreeMap;

use crate::ids::TenantId;
use crate::receipts::Receipt;

use super::ReceiptObserver;

/// Puts announcements back in chain order: batches are flushed together but their callers
/// return in any order. Whoever brings the batch that comes next announces it, and every
/// waiting batch that follows it; nobody waits for anybody.
#[derive(Debug)]
pub(super) struct Announcer {
    /// The seq of the next receipt to announce.
    next: u64,
    /// Durable batches that arrived before the ones they follow, by first seq.
    early: BTreeMap<u64, Vec<Receipt>>,
}

impl Announcer {
    /// Announces from `next` on.
    pub(super) fn new(next: u64) -> Announcer {
        Announcer {
            next,
            early: BTreeMap::new(),
        }
    }

    pub(super) fn announce(
        &mut self,
        observer: &dyn ReceiptObserver,
        id: &TenantId,
        batch: &[Receipt],
    ) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        if first.seq < self.next {
            // The tenant was rebuilt after a failed flush and its chain continues from what
            // is durable: pick up from there.
            self.next = first.seq;
            self.early.clear();
        }
        if first.seq != self.next {
            self.early.insert(first.seq, batch.to_vec());
            return;
        }
        observer.appended(id, batch);
        self.next = last.seq + 1;
        self.release(observer, id);
    }

    /// After the tenant was rebuilt from its ledger (`stored`, the receipts read to do so,
    /// which end at the chain's end): announces what is there and was not announced yet
    /// (written by another server on a shared ledger), and continues from the chain's end.
    pub(super) fn catch_up(
        &mut self,
        observer: &dyn ReceiptObserver,
        id: &TenantId,
        stored: &[Receipt],
    ) {
        let Some(last) = stored.last() else {
            return;
        };
        let unseen = stored.partition_point(|r| r.seq < self.next);
        if let Some(unseen) = stored.get(unseen..).filter(|u| !u.is_empty()) {
            observer.appended(id, unseen);
        }
        self.next = last.seq + 1;
        self.early.clear();
    }

    /// Skips receipts that will never be announced (their flush failed).
    pub(super) fn skip_to(&mut self, observer: &dyn ReceiptObserver, id: &TenantId, next: u64) {
        self.next = self.next.max(next);
        self.early.retain(|&seq, _| seq >= next);
        self.release(observer, id);
    }

    fn release(&mut self, observer: &dyn ReceiptObserver, id: &TenantId) {
        while let Some(batch) = self.early.remove(&self.next) {
            observer.appended(id, &batch);
            self.next += batch.len() as u64;
        }
    }
}
