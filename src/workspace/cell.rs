//! One tenant in memory, and how it settles once the durability thread has stored (or failed
//! to store) the receipts decided on it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::governor::Tenant;
use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::receipts::ledger::{Ledger, LedgerError};
use crate::sync::lock;

use super::announcer::Announcer;
use super::durability::Job;
use super::turn::Turns;
use super::{ReceiptObserver, WorkspaceError};

/// One tenant in memory: its governor, and what has been announced of its receipts.
///
/// Three locks, always taken in this order: `loading` is held by whoever loaded the tenant
/// from its ledger while it settles what the last writer left there ([`Cell::settled`]);
/// `op` serializes the tenant's operations and is held by a command call from its
/// `action_started` until its outcome is sealed, so nothing else is decided in between;
/// `tenant` is held only while deciding or copying, never while a program runs or a write
/// is awaited, so reads answer at once from the last decided state and the durability
/// thread can rebuild the tenant after a failed write.
#[derive(Debug)]
pub(super) struct Cell {
    /// Held from before the cell is shared until a start the ledger holds without an outcome
    /// is durably recorded as interrupted (or failed to be): whoever finds the cell meanwhile
    /// waits, so nothing is read or decided on a tenant its load has not settled.
    pub(super) loading: Mutex<()>,
    /// Whether the loader holds `loading`: set before the cell is shared, cleared before the
    /// lock is released. Checked instead of trying the lock, so callers checking at the same
    /// time never take each other for the loader.
    pub(super) settling: AtomicBool,
    /// How many callers found the cell still loading and waited for it.
    #[cfg(test)]
    pub(super) waited_for_load: std::sync::atomic::AtomicUsize,
    /// Serializes the tenant's operations (see `turn`).
    pub(super) op: Arc<Turns>,
    pub(super) tenant: Mutex<Tenant>,
    /// The seq below which the tenant's receipts are durable.
    pub(super) durable: AtomicU64,
    /// How many times the tenant was rebuilt from its ledger after a failed write or sync.
    /// Read and changed only under the `tenant` lock.
    pub(super) rebuilds: AtomicU64,
    pub(super) announcer: Mutex<Announcer>,
    /// On a ledger shared with other servers, the tenant as of its durable head (kept up
    /// with each stored batch): a race lost to another server is then rebuilt from it and
    /// the receipts written since, not from the whole chain, and costs what the other
    /// server wrote rather than the chain's length. `None` on a ledger of one writer, where
    /// a rebuild follows only a failed write and reads the chain once.
    pub(super) base: Mutex<Option<Tenant>>,
    /// The end of the tenant's chain as the ledger last announced it (another server's
    /// appends, or this one's): when it is past the head held here, the tenant is caught up
    /// before it is next decided on or read (`shared::catch_up`).
    pub(super) announced: AtomicU64,
}

impl Cell {
    /// `tenant`, as loaded from its ledger, with nothing announced past its head; `shared`
    /// when other servers write the same ledger.
    pub(super) fn new(tenant: Tenant, shared: bool) -> Cell {
        Cell {
            base: Mutex::new(shared.then(|| tenant.clone())),
            announced: AtomicU64::new(tenant.head().next_seq),
            announcer: Mutex::new(Announcer::new(tenant.head().next_seq)),
            loading: Mutex::new(()),
            settling: AtomicBool::new(false),
            #[cfg(test)]
            waited_for_load: std::sync::atomic::AtomicUsize::new(0),
            op: Arc::default(),
            durable: AtomicU64::new(tenant.head().next_seq),
            tenant: Mutex::new(tenant),
            rebuilds: AtomicU64::new(0),
        }
    }
}

/// An operation decided and queued: what the durability thread needs to store its receipts
/// and then answer its caller.
pub(super) struct Pending<T> {
    pub(super) tenant: TenantId,
    pub(super) cell: Arc<Cell>,
    /// The cell's rebuild count when this was decided.
    pub(super) rebuilds: u64,
    pub(super) out: T,
    pub(super) receipts_of: fn(&T) -> &[Receipt],
    /// The seq after the last receipt decided on the tenant so far: the answer waits until
    /// everything before it is durable, also when it wrote nothing itself (a repeat must not
    /// be answered from a receipt that may yet be lost).
    pub(super) wait_for: u64,
    pub(super) ledger: Arc<dyn Ledger>,
    pub(super) observer: Option<Arc<dyn ReceiptObserver>>,
    pub(super) answer: futures::channel::oneshot::Sender<Result<T, WorkspaceError>>,
}

impl<T: Send> Job for Pending<T> {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn receipts(&self) -> &[Receipt] {
        (self.receipts_of)(&self.out)
    }

    fn wait_for(&self) -> u64 {
        self.wait_for
    }

    fn finish(self: Box<Self>, stored: Result<(), LedgerError>) {
        let p = *self;
        let receipts = (p.receipts_of)(&p.out);
        let answer = match stored {
            Ok(()) => {
                // The base first: a catch-up that sees these receipts durable must find the
                // base past them, or it drops the base (slower rebuilds, never wrong ones).
                p.cell.advance_base(receipts);
                p.cell.durable.fetch_max(p.wait_for, Ordering::AcqRel);
                if let Some(observer) = &p.observer
                    && !receipts.is_empty()
                {
                    lock(&p.cell.announcer).announce(observer.as_ref(), &p.tenant, receipts);
                }
                Ok(p.out)
            }
            Err(e) => {
                let mut tenant = lock(&p.cell.tenant);
                // Memory holds these receipts only if no rebuild has happened since they
                // were decided; after one, it may hold later, sound decisions instead, which
                // must not be thrown away.
                let mut stored = None;
                let err = if p.cell.rebuilds.load(Ordering::Relaxed) == p.rebuilds {
                    match p.cell.rebuild(p.ledger.as_ref(), &p.tenant, &mut tenant) {
                        Ok(receipts) => {
                            stored = Some(receipts);
                            e.into()
                        }
                        Err(rebuilt) => rebuilt,
                    }
                } else {
                    e.into()
                };
                drop(tenant);
                if let Some(observer) = &p.observer {
                    let mut announcer = lock(&p.cell.announcer);
                    match (&stored, receipts.last()) {
                        // Another writer's receipts may be what took this batch's place.
                        (Some(stored), _) => {
                            announcer.catch_up(observer.as_ref(), &p.tenant, stored);
                        }
                        // What was lost will never be announced; later batches must not
                        // wait on it.
                        (None, Some(last)) => {
                            announcer.skip_to(observer.as_ref(), &p.tenant, last.seq + 1);
                        }
                        (None, None) => {}
                    }
                }
                Err(err)
            }
        };
        // The caller may have gone away; what was stored stays stored all the same.
        let _ = p.answer.send(answer);
    }
}

impl Cell {
    /// Returns once the load that put the cell in memory has settled the tenant: at once,
    /// unless the loader is still recording a start left without an outcome as interrupted.
    /// Until that receipt is durable the tenant in memory is either still running a command
    /// nobody runs or ahead of its ledger, and neither may be shown or decided on.
    pub(super) fn settled(&self) {
        if !self.settling.load(Ordering::Acquire) {
            return;
        }
        #[cfg(test)]
        self.waited_for_load.fetch_add(1, Ordering::Relaxed);
        drop(lock(&self.loading));
    }

    /// Carries the durable base (if one is kept) over `stored`, receipts just made durable
    /// or written by another server. A base that does not continue into them is dropped:
    /// the next rebuild reads the whole chain instead, which is slower, never wrong.
    pub(super) fn advance_base(&self, stored: &[Receipt]) {
        let mut base = lock(&self.base);
        if let Some(b) = base.as_mut()
            && let Some(first) = stored.first()
            && (first.seq != b.head().next_seq || b.replay_more(stored).is_err())
        {
            *base = None;
        }
    }

    /// Counts `tenant` (under its lock) as what the ledger holds: everything in it is
    /// durable, and operations decided before now are told memory was replaced.
    pub(super) fn now_stored(&self, tenant: &Tenant) {
        self.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.durable
            .store(tenant.head().next_seq, Ordering::Release);
    }

    /// Replaces the in-memory tenant with what its ledger holds ([`Cell::now_stored`]),
    /// and returns the receipts read to do so (from the durable base's head, or the whole
    /// chain).
    pub(super) fn rebuild(
        &self,
        ledger: &dyn Ledger,
        id: &TenantId,
        tenant: &mut Tenant,
    ) -> Result<Vec<Receipt>, WorkspaceError> {
        let mut base = lock(&self.base);
        if let Some(b) = base.as_ref() {
            let newer = ledger.read_from(id, b.head().next_seq, usize::MAX)?;
            let mut rebuilt = b.clone();
            if rebuilt.replay_more(&newer).is_ok() {
                *tenant = rebuilt.clone();
                *base = Some(rebuilt);
                self.now_stored(tenant);
                return Ok(newer);
            }
        }
        let stored = ledger.read(id)?;
        *tenant = Tenant::replay(id.clone(), &stored)?;
        if base.is_some() {
            *base = Some(tenant.clone());
        }
        self.now_stored(tenant);
        Ok(stored)
    }
}
