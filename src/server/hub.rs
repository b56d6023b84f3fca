//! Live listeners: every durable batch of receipts is fanned out to whoever listens to its
//! tenant (an SSE stream of receipts, an MCP session waiting for tool-list changes).
//!
//! The workspace calls [`Hub::appended`] once a batch is durable and every earlier batch of
//! the tenant was announced, so listeners see receipts in chain order and never one that
//! could still be lost. Sending
//! never blocks: a listener that falls behind by more than the channel's capacity is told how
//! many it missed (it can re-read them from the ledger by seq).
//!
//! Closing the hub (on shutdown) ends every listener's stream, so long-lived responses let a
//! graceful shutdown finish instead of holding it open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::sync::lock;
use crate::workspace::ReceiptObserver;

/// How many receipts a slow listener may fall behind before it lags.
const CAPACITY: usize = 1024;

/// Per-tenant broadcast channels of durable receipts.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<Channels>,
}

#[derive(Debug, Default)]
struct Channels {
    tenants: HashMap<TenantId, broadcast::Sender<Arc<Receipt>>>,
    closed: bool,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Hub {
        Hub::default()
    }

    /// Listens to `tenant`'s receipts from now on. After [`Hub::close`] the receiver is
    /// already closed.
    pub fn subscribe(&self, tenant: &TenantId) -> broadcast::Receiver<Arc<Receipt>> {
        let mut channels = lock(&self.channels);
        if channels.closed {
            return broadcast::channel(1).1;
        }
        channels
            .tenants
            .entry(tenant.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Ends every listener's stream, now and for later subscribers.
    pub fn close(&self) {
        let mut channels = lock(&self.channels);
        channels.closed = true;
        // Dropping the senders is what closes the receivers.
        channels.tenants.clear();
    }
}

impl ReceiptObserver for Hub {
    fn listens(&self, tenant: &TenantId) -> bool {
        lock(&self.channels)
            .tenants
            .get(tenant)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    fn appended(&self, tenant: &TenantId, receipts: &[Receipt]) {
        let tx = {
            let mut channels = lock(&self.channels);
            let map = &mut channels.tenants;
            let Some(tx) = map.get(tenant) else {
                return;
            };
            if tx.receiver_count() == 0 {
                // Nobody listens any more: drop the channel rather than keep one per tenant
                // ever seen.
                map.remove(tenant);
                return;
            }
            tx.clone()
        };
        // Sent without the hub's lock, so other tenants' listeners are not held up; the
        // caller holds this tenant's announcer, which keeps its batches in order.
        for r in receipts {
            // An error only means every listener left in the meantime.
            let _ = tx.send(Arc::new(r.clone()));
        }
    }
}
