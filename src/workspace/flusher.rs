//! The workspace's durability thread: for callers that must not block (the server's async
//! workers), it waits for receipts to become durable on their behalf and then runs what was
//! left to do, so no thread sits parked per request.
//!
//! Everything queued while one flush runs is covered by the next: the first `sync` of a round
//! flushes every tenant written so far (the ledger's group commit), and the others find their
//! receipts already durable.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::ids::TenantId;
use crate::receipts::ledger::{Ledger, LedgerError};

/// What to run once a tenant's receipts below a seq are durable (or could not be made so).
pub(super) type Then = Box<dyn FnOnce(Result<(), LedgerError>) + Send>;

struct Waiter {
    tenant: TenantId,
    next_seq: u64,
    then: Then,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    closing: bool,
}

struct Shared {
    ledger: Arc<dyn Ledger>,
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Started on first use, stopped (after finishing everything queued) when dropped.
pub(super) struct Flusher {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Flusher {
    pub(super) fn new(ledger: Arc<dyn Ledger>) -> Flusher {
        Flusher {
            shared: Arc::new(Shared {
                ledger,
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Runs `then` on the durability thread once `tenant`'s receipts below `next_seq` are
    /// durable, with the ledger's error if they cannot be made so. When the thread cannot be
    /// started, waits here instead: slower, never lost.
    pub(super) fn after_sync(&self, tenant: TenantId, next_seq: u64, then: Then) {
        let mut thread = lock(&self.thread);
        if thread.is_none() {
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new()
                .name("tai-durability".into())
                .spawn(move || run(&shared))
            {
                Ok(handle) => *thread = Some(handle),
                Err(_) => {
                    drop(thread);
                    then(self.shared.ledger.sync(&tenant, next_seq));
                    return;
                }
            }
        }
        drop(thread);
        lock(&self.shared.queue).waiting.push(Waiter {
            tenant,
            next_seq,
            then,
        });
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    loop {
        let batch = {
            let mut queue = lock(&shared.queue);
            while queue.waiting.is_empty() && !queue.closing {
                queue = shared
                    .wake
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if queue.waiting.is_empty() {
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        for w in batch {
            let synced = shared.ledger.sync(&w.tenant, w.next_seq);
            (w.then)(synced);
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        lock(&self.shared.queue).closing = true;
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.thread).take() {
            // The thread only runs the queued work; a panic there has already been reported.
            let _ = handle.join();
        }
    }
}
