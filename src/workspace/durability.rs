//! The workspace's durability thread: it writes every decided batch of receipts to the
//! ledger, in the order the batches were decided, makes them durable, and then finishes
//! each operation (answering its caller).
//!
//! Deciding stays with the callers, under each tenant's lock, and takes microseconds; the
//! I/O happens here, on one thread, so no caller (an async worker in particular) ever waits
//! on the disk while holding a tenant, and a write never competes with a flush of the same
//! file. Everything queued while one flush runs is written and covered by the next: the
//! first `sync` of a round flushes every tenant written so far (the ledger's group commit),
//! and the others find their receipts already durable.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::receipts::ledger::{Ledger, LedgerError};
use crate::sync::{lock, wait};

/// An operation whose receipts are decided and sealed, waiting to be stored.
pub(super) trait Job: Send {
    /// The tenant whose chain the receipts continue.
    fn tenant(&self) -> &TenantId;
    /// The receipts, in chain order.
    fn receipts(&self) -> &[Receipt];
    /// The seq below which the tenant's receipts must be durable before the job finishes.
    fn wait_for(&self) -> u64;
    /// Called exactly once, with whether the receipts were written and made durable.
    fn finish(self: Box<Self>, stored: Result<(), LedgerError>);
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn Job>>,
    closing: bool,
}

struct Shared {
    ledger: Arc<dyn Ledger>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Held while jobs taken from the queue are stored, so they are stored in queue order.
    storing: Mutex<()>,
}

/// Started on first use, stopped (after finishing everything queued) when dropped.
pub(super) struct DurabilityThread {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for DurabilityThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurabilityThread").finish_non_exhaustive()
    }
}

impl DurabilityThread {
    pub(super) fn new(ledger: Arc<dyn Ledger>) -> DurabilityThread {
        DurabilityThread {
            shared: Arc::new(Shared {
                ledger,
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
                storing: Mutex::new(()),
            }),
            thread: Mutex::new(None),
        }
    }

    /// Queues `job` behind every job submitted before it. Callers submit while holding the
    /// job's tenant, so each tenant's batches are queued in chain order. Returns `false` when
    /// the durability thread cannot be started: the caller must then [`DurabilityThread::drain`] once
    /// it has released the tenant (finishing a job may need it).
    pub(super) fn submit(&self, job: Box<dyn Job>) -> bool {
        let was_empty = {
            let mut queue = lock(&self.shared.queue);
            queue.jobs.push(job);
            queue.jobs.len() == 1
        };
        let mut thread = lock(&self.thread);
        // Started on first use, and again should it ever have stopped (a bug that panicked
        // there would otherwise leave every later caller waiting).
        if thread.as_ref().is_none_or(JoinHandle::is_finished) {
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new()
                .name("tai-durability".into())
                .spawn(move || run(&shared))
            {
                Ok(handle) => *thread = Some(handle),
                Err(_) => return false,
            }
        }
        // The thread waits only on an empty queue, so only the job that ends one wakes it:
        // a wake is a system call, which every call paid for before.
        if was_empty {
            self.shared.wake.notify_one();
        }
        true
    }

    /// Stores everything queued on the calling thread: slower than the durability thread,
    /// never lost.
    pub(super) fn drain(&self) {
        let _storing = lock(&self.shared.storing);
        let jobs = std::mem::take(&mut lock(&self.shared.queue).jobs);
        store(self.shared.ledger.as_ref(), jobs);
    }
}

fn run(shared: &Shared) {
    loop {
        let mut queue = lock(&shared.queue);
        while queue.jobs.is_empty() && !queue.closing {
            queue = wait(&shared.wake, queue);
        }
        if queue.jobs.is_empty() {
            return;
        }
        drop(queue);
        // Taken under `storing`, so jobs are stored in the order they were queued even if a
        // caller drains at the same time.
        let _storing = lock(&shared.storing);
        let jobs = std::mem::take(&mut lock(&shared.queue).jobs);
        store(shared.ledger.as_ref(), jobs);
    }
}

/// Writes every job's receipts in order, makes them durable, and finishes the jobs. A job
/// whose write fails takes the later jobs of its tenant with it: they no longer continue
/// the chain on disk, and the ledger refuses them.
fn store(ledger: &dyn Ledger, jobs: Vec<Box<dyn Job>>) {
    let written: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let next_seq = match job.receipts() {
                // Nothing to write: wait for what was decided before it.
                [] => Ok(job.wait_for()),
                receipts => ledger.write(job.tenant(), receipts),
            };
            (job, next_seq)
        })
        .collect();
    for (job, next_seq) in written {
        let stored = next_seq.and_then(|next_seq| ledger.sync(job.tenant(), next_seq));
        job.finish(stored);
    }
}

impl Drop for DurabilityThread {
    fn drop(&mut self) {
        lock(&self.shared.queue).closing = true;
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.thread).take() {
            // The thread only runs the queued work; a panic there has already been reported.
            let _ = handle.join();
        }
    }
}
