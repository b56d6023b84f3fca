//! The workspace's durability threads: they write every decided batch of receipts to the
//! ledger, in the order the batches were decided, make them durable, and then finish each
//! operation (answering its caller).
//!
//! Deciding stays with the callers, under each tenant's lock, and takes microseconds; the
//! I/O happens here, so no caller (an async worker in particular) ever waits on the disk
//! while holding a tenant. Two threads share it as a pipeline: the writer puts each batch in
//! the ledger (page cache) and lets the ledger take and sign the next flush round
//! ([`Ledger::prepare`]); the syncer waits for each batch to be durable and answers it. So
//! the next round is written and signed while the disk makes the last one durable, instead
//! of after it. Everything written while one flush runs is covered by the next: the first
//! `sync` of a round flushes every tenant written so far (the ledger's group commit), and
//! the others find their receipts already durable.

use std::collections::VecDeque;
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

/// A batch the writer has put in the ledger: each job with the seq after its receipts, or
/// why they could not be written.
type Written = Vec<(Box<dyn Job>, Result<u64, LedgerError>)>;

/// Written batches waiting for their sync, oldest first.
#[derive(Default)]
struct ToSync {
    batches: VecDeque<Written>,
    /// The writer has stopped: the syncer finishes what is here, then stops too.
    closing: bool,
}

struct Shared {
    ledger: Arc<dyn Ledger>,
    queue: Mutex<Queue>,
    wake: Condvar,
    to_sync: Mutex<ToSync>,
    wake_syncer: Condvar,
    /// Held while jobs taken from the queue are written, so they are written in queue order.
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
                to_sync: Mutex::new(ToSync::default()),
                wake_syncer: Condvar::new(),
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
        let written = write(self.shared.ledger.as_ref(), jobs);
        finish(self.shared.ledger.as_ref(), written);
    }
}

/// The writer: takes what was queued, writes it, and hands it to the syncer (started here;
/// without one, the writer syncs each batch itself).
fn run(shared: &Arc<Shared>) {
    let syncer = {
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .name("tai-sync".into())
            .spawn(move || run_syncer(&shared))
            .ok()
    };
    let ledger = shared.ledger.as_ref();
    loop {
        let mut queue = lock(&shared.queue);
        while queue.jobs.is_empty() && !queue.closing {
            queue = wait(&shared.wake, queue);
        }
        if queue.jobs.is_empty() {
            break;
        }
        drop(queue);
        // Taken under `storing`, so jobs are written in the order they were queued even if a
        // caller drains at the same time.
        let storing = lock(&shared.storing);
        let jobs = std::mem::take(&mut lock(&shared.queue).jobs);
        let written = write(ledger, jobs);
        drop(storing);
        if syncer.is_none() {
            finish(ledger, written);
            continue;
        }
        ledger.prepare();
        let was_empty = {
            let mut to_sync = lock(&shared.to_sync);
            to_sync.batches.push_back(written);
            to_sync.batches.len() == 1
        };
        if was_empty {
            shared.wake_syncer.notify_one();
        }
    }
    if let Some(syncer) = syncer {
        lock(&shared.to_sync).closing = true;
        shared.wake_syncer.notify_one();
        // The syncer only finishes the written batches; a panic there has been reported.
        let _ = syncer.join();
    }
}

/// The syncer: waits for each written batch to be durable and finishes its jobs, in order.
fn run_syncer(shared: &Shared) {
    loop {
        let mut to_sync = lock(&shared.to_sync);
        while to_sync.batches.is_empty() && !to_sync.closing {
            to_sync = wait(&shared.wake_syncer, to_sync);
        }
        let Some(written) = to_sync.batches.pop_front() else {
            return;
        };
        drop(to_sync);
        finish(shared.ledger.as_ref(), written);
    }
}

/// Writes every job's receipts in order (not yet durable). A job whose write fails takes the
/// later jobs of its tenant with it: they no longer continue the chain on disk, and the
/// ledger refuses them.
fn write(ledger: &dyn Ledger, jobs: Vec<Box<dyn Job>>) -> Written {
    jobs.into_iter()
        .map(|job| {
            let next_seq = match job.receipts() {
                // Nothing to write: wait for what was decided before it.
                [] => Ok(job.wait_for()),
                receipts => ledger.write(job.tenant(), receipts),
            };
            (job, next_seq)
        })
        .collect()
}

/// Waits until each written job's receipts are durable, then finishes it.
fn finish(ledger: &dyn Ledger, written: Written) {
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
