//! Live listeners: every durable batch of receipts is fanned out to whoever listens to its
//! tenant (an SSE stream of receipts, an MCP session waiting for tool-list changes).
//!
//! The workspace calls [`Hub::appended`] once a batch is durable and every earlier batch of
//! the tenant was announced, so listeners see receipts in chain order and never one that
//! could still be lost. Sending
//! never blocks: a listener that falls behind by more than the channel's capacity is told how
//! many it missed (it can re-read them from the ledger by seq).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::workspace::ReceiptObserver;

/// How many receipts a slow listener may fall behind before it lags.
const CAPACITY: usize = 1024;

/// Per-tenant broadcast channels of durable receipts.
#[derive(Debug, Default)]
pub struct Hub {
    tenants: Mutex<HashMap<TenantId, broadcast::Sender<Arc<Receipt>>>>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub::default()
    }

    /// Listens to `tenant`'s receipts from now on.
    pub fn subscribe(&self, tenant: &TenantId) -> broadcast::Receiver<Arc<Receipt>> {
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(tenant.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }
}

impl ReceiptObserver for Hub {
    fn appended(&self, tenant: &TenantId, receipts: &[Receipt]) {
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = map.get(tenant) else {
            return;
        };
        if tx.receiver_count() == 0 {
            // Nobody listens any more: drop the channel rather than keep one per tenant ever seen.
            map.remove(tenant);
            return;
        }
        for r in receipts {
            // An error only means every listener left in the meantime.
            let _ = tx.send(Arc::new(r.clone()));
        }
    }
}
