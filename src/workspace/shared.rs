//! Keeping up with the other servers of a shared ledger: when another writer appends to a
//! tenant's chain, the tenant here is brought up to date and listeners (receipt streams,
//! MCP sessions) hear of the receipts as if they had been written here.
//!
//! This is only a shortcut: a tenant that falls behind is still never wrong, because an
//! append decided on an old head is refused by the ledger and decided again on the
//! rebuilt tenant (`Workspace::run`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use crate::ids::TenantId;
use crate::receipts::ledger::{Appended, Ledger};
use crate::sync::lock;

use super::ReceiptObserver;
use super::cell::Cell;

/// The tenants a workspace holds in memory.
pub(super) type Cells = Mutex<HashMap<TenantId, Arc<Cell>>>;

/// Keeps the follower alive: the ledger holds it only weakly.
pub(super) struct Following(
    #[expect(
        dead_code,
        reason = "held, never called here: dropping it stops the following"
    )]
    pub(super) Arc<Appended>,
);

impl std::fmt::Debug for Following {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Following")
    }
}

/// What the ledger calls on another writer's append, while the workspace lives.
pub(super) fn follower(
    cells: &Arc<Cells>,
    ledger: &Arc<dyn Ledger>,
    observer: &Arc<dyn ReceiptObserver>,
) -> Arc<Appended> {
    let cells: Weak<Cells> = Arc::downgrade(cells);
    let ledger = Arc::clone(ledger);
    let observer = Arc::clone(observer);
    Arc::new(move |tenant: &TenantId, first: u64, next: u64| {
        if let Some(cells) = cells.upgrade() {
            follow(
                &cells,
                ledger.as_ref(),
                observer.as_ref(),
                tenant,
                first,
                next,
            );
        }
    })
}

/// Brings `tenant` up to `next` after an append of `first..next` (perhaps this server's own).
fn follow(
    cells: &Cells,
    ledger: &dyn Ledger,
    observer: &dyn ReceiptObserver,
    tenant: &TenantId,
    first: u64,
    next: u64,
) {
    let cell = lock(cells).get(tenant).cloned();
    let Some(h) = cell else {
        // Not held here: nothing to bring up to date, but its listeners hear of it.
        if !observer.listens(tenant) {
            return;
        }
        let count = usize::try_from(next.saturating_sub(first)).unwrap_or(usize::MAX);
        if let Ok(receipts) = ledger.read_from(tenant, first, count)
            && !receipts.is_empty()
        {
            observer.appended(tenant, &receipts);
        }
        return;
    };
    h.announced.fetch_max(next, Ordering::AcqRel);
    // Read at once only for whoever listens here; otherwise the tenant is caught up when it
    // is next used, one read for however many appends came meanwhile.
    if !observer.listens(tenant) {
        return;
    }
    // An operation under way here catches up itself, or finds out when the ledger refuses it.
    let Some(_turn) = h.op.try_take() else {
        return;
    };
    catch_up(&h, ledger, Some(observer), tenant);
}

/// Brings the held tenant up to what the ledger announced, if it is behind and everything
/// decided here is durable (otherwise the next append finds out, and is decided again).
/// The caller holds the tenant's turn.
pub(super) fn catch_up(
    h: &Cell,
    ledger: &dyn Ledger,
    observer: Option<&dyn ReceiptObserver>,
    tenant: &TenantId,
) {
    let mut t = lock(&h.tenant);
    let head = t.head().next_seq;
    if head >= h.announced.load(Ordering::Acquire) || h.durable.load(Ordering::Acquire) < head {
        return;
    }
    let Ok(newer) = ledger.read_from(tenant, head, usize::MAX) else {
        return;
    };
    if t.replay_more(&newer).is_err() {
        // Not a continuation of what is held here: the next operation rebuilds the tenant.
        return;
    }
    h.advance_base(&newer);
    h.now_stored(&t);
    drop(t);
    if let Some(observer) = observer {
        lock(&h.announcer).announce(observer, tenant, &newer);
    }
}
