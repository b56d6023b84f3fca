//! Receipt chains on disk: one append-only JSONL file and one head file per tenant.
//!
//! Layout under the state directory:
//!
//! ```text
//! <state>/ledger/<tenant>.jsonl   one receipt per line, exactly Receipt::to_line + "\n"
//! <state>/ledger/<tenant>.head    {"next_seq":N,"hash":"<hex>","ledger_bytes":L} + "\n"
//! ```
//!
//! An append writes its whole batch with one `write`; it is acknowledged once the batch and
//! the head after it are durable. What follows the head when a writer opens a tenant was
//! never acknowledged: valid receipts a signed checkpoint covers are adopted, anything else
//! (a torn line, unsigned receipts) is quarantined, either way with a receipt. A ledger
//! shorter than its head is never accepted: that is how truncation is caught.
//!
//! Appends are group-committed across tenants: [`Ledger::write`] puts a batch in the file and
//! returns, and [`Ledger::sync`] waits until it is durable. A waiter finding no flush under
//! way becomes the group's leader for every tenant written since the last flush, makes all
//! their batches durable at once, then wakes everyone whose receipts that covered. The writer
//! holding the write-ahead log (on Linux; see `wal`) does that with one record synced by one
//! `fdatasync`, and writes head files only when a log file fills and at close, so an
//! acknowledged head is the newer of the head file and the log. Another writer on the same
//! directory (and every writer elsewhere) makes the ledgers durable, overwrites their heads,
//! and makes those durable: on Linux each step one `syncfs`, elsewhere one sync per file.
//!
//! [`LedgerDir`] reads these files without locking or repairing anything (for `tai receipts`);
//! [`FileLedger`] is the writer, holding an exclusive lock on each tenant file it opens.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use std::collections::HashSet;

use crate::clock::{Clock, SystemClock};
use crate::ids::TenantId;
use crate::sync::{lock, wait};

use crate::receipts::proof::InclusionProof;
use crate::receipts::signing::{Checkpoint, CheckpointSigner};
use crate::receipts::trust::TrustAnchors;
use crate::receipts::{ChainHead, Receipt, VerifyReport};

use super::dir::LedgerDir;
use super::durable::{create_dir, io_err};
use super::head::write_head;
use super::journal::Journal;
use super::manifest::register;
use super::tenant_log::{FlushJob, Host, TenantLog, append_checkpoint};
use super::wal::Wal;
use super::wal_record::Entry;
use super::{Ledger, LedgerError};

/// The ledger writer: durable, continuity-checked appends to per-tenant files.
///
/// Each tenant's files are opened, checked against the head and repaired the first time
/// the tenant is used, and locked against other processes while this ledger holds them.
/// Appends to different tenants proceed in parallel; only the map of open tenants is shared,
/// and it is never held across I/O.
#[derive(Debug)]
pub struct FileLedger {
    pub(super) dir: LedgerDir,
    /// The ledger directory, open: what `syncfs` is called on.
    pub(super) dir_handle: File,
    tenants: Mutex<HashMap<TenantId, Arc<Slot>>>,
    group: Group,
    /// Signs a checkpoint of each written tenant per flush, and the manifest.
    pub(super) signer: Option<Arc<CheckpointSigner>>,
    /// The time of checkpoints and of the receipts the ledger writes itself.
    pub(super) clock: Arc<dyn Clock>,
    /// See [`LedgerOptions::adopt_unsigned`].
    adopt_unsigned: bool,
    /// Tenants known to be in the manifest; held while the manifest is changed.
    pub(super) manifest: Mutex<HashSet<TenantId>>,
    /// Where flush rounds write their checkpoints, when this process holds it (see
    /// `journal`) but not the write-ahead log; otherwise each goes to its tenant's file.
    journal: Option<Mutex<Journal>>,
    /// What makes a flush round durable, when this process holds it (see `wal`); otherwise
    /// each round syncs its tenants' ledgers, then their heads.
    wal: Option<Mutex<Wal>>,
}

/// How a [`FileLedger`] signs and tells the time.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// The key that signs checkpoints and the manifest; `None`: nothing is signed.
    pub signer: Option<Arc<CheckpointSigner>>,
    /// The clock of checkpoints and of the receipts the ledger records itself (a quarantined
    /// or adopted tail).
    pub clock: Arc<dyn Clock>,
    /// Whether a signing writer may sign the head of a chain whose latest checkpoint does not
    /// state it (written, or partly written, before signing was turned on). Off, such a chain
    /// is refused ([`LedgerError::UnsignedHistory`]): its checkpoints may have been deleted so
    /// that a rewritten history gets signed, and only the operator can tell.
    pub adopt_unsigned: bool,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            signer: None,
            clock: Arc::new(SystemClock),
            adopt_unsigned: false,
        }
    }
}

/// A tenant's open log, and how much of it is durable.
///
/// Lock order: the group's state before any `log`, and neither is held across a sync.
/// Writers take only `log`, briefly; the group's leader takes it only to read and then advance the
/// head, so writers keep appending while the disk works.
#[derive(Debug, Default)]
struct Slot {
    log: Mutex<Option<TenantLog>>,
    /// Every receipt below this seq is durable.
    durable: AtomicU64,
}

/// The one flush (or verification) under way, and the tenants the next flush must cover.
#[derive(Debug, Default)]
struct Group {
    state: Mutex<GroupState>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct GroupState {
    /// A thread is flushing or verifying: head files are not to be touched by others.
    busy: bool,
    /// Tenants written since the last flush took its list.
    dirty: HashMap<TenantId, Arc<Slot>>,
}

impl Group {
    /// Waits until no flush (or verification) is under way and claims the role for this
    /// thread, unless `done` holds first: then there is nothing left to do and `None` is
    /// returned. The claim ends when the returned guard is dropped.
    fn claim(&self, done: impl Fn() -> bool) -> Option<Claim<'_>> {
        let mut state = lock(&self.state);
        loop {
            if done() {
                return None;
            }
            if !state.busy {
                state.busy = true;
                return Some(Claim { group: self });
            }
            state = wait(&self.finished, state);
        }
    }

    /// Notes that `slot` has writes the next flush must cover.
    fn mark_dirty(&self, tenant: &TenantId, slot: &Arc<Slot>) {
        lock(&self.state)
            .dirty
            .entry(tenant.clone())
            .or_insert_with(|| Arc::clone(slot));
    }
}

/// The group's leader role (flushing or verifying), held by one thread at a time; dropping
/// it wakes the waiters.
struct Claim<'a> {
    group: &'a Group,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        lock(&self.group.state).busy = false;
        self.group.finished.notify_all();
    }
}

impl FileLedger {
    /// Opens (creating when missing) the ledger directory of `state`.
    pub fn open(state: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::open_with(state, LedgerOptions::default())
    }

    /// [`FileLedger::open`], signing with `options.signer` when it is set.
    pub fn open_with(state: impl AsRef<Path>, options: LedgerOptions) -> Result<Self, LedgerError> {
        let dir = LedgerDir::in_state(state);
        create_dir(dir.path())?;
        let dir_handle = File::open(dir.path()).map_err(io_err("open", dir.path()))?;
        let mut ledger = FileLedger {
            dir,
            dir_handle,
            tenants: Mutex::new(HashMap::new()),
            group: Group::default(),
            signer: options.signer,
            clock: options.clock,
            adopt_unsigned: options.adopt_unsigned,
            manifest: Mutex::new(HashSet::new()),
            journal: None,
            wal: None,
        };
        // Only where one `syncfs` covers a log file's checkpoint; before any tenant is
        // opened, so each starts from its complete checkpoints file and newest head. What a
        // stopped writer left in the round journal is filed first: its checkpoints are older
        // than those in the log.
        if let Some(signer) = &ledger.signer {
            super::manifest::sign_over(
                ledger.dir.path(),
                &ledger.dir_handle,
                || ledger.dir.tenants(),
                signer,
                options.adopt_unsigned,
            )?;
        }
        if cfg!(target_os = "linux") {
            let sync = || ledger.sync_all(std::iter::empty());
            drop(Journal::open(&ledger.dir, false, sync)?);
            match Wal::open(&ledger.dir, sync, ledger.signer.as_deref())? {
                Some(wal) => ledger.wal = Some(Mutex::new(wal)),
                None if ledger.signs() => {
                    let journal = Journal::open(&ledger.dir, true, sync)?;
                    ledger.journal = journal.map(Mutex::new);
                }
                None => {}
            }
        }
        Ok(ledger)
    }

    /// Fills the write-ahead log's files at `limit` bytes instead (tests).
    #[cfg(test)]
    pub(super) fn set_wal_limit(&self, limit: u64) {
        if let Some(wal) = &self.wal {
            lock(wal).limit = limit;
        }
    }

    /// Whether checkpoints are signed.
    pub fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// What a tenant's log uses of this ledger.
    fn host(&self) -> Host<'_> {
        Host {
            dir: &self.dir,
            signer: self.signer.as_ref(),
            clock: &*self.clock,
            adopt_unsigned: self.adopt_unsigned,
            journal: self.journal.as_ref(),
            wal: self.wal.as_ref(),
        }
    }

    /// Records `tenant` in the manifest before its ledger is first created; refuses one
    /// whose ledger was deleted.
    pub(super) fn register(
        &self,
        tenant: &TenantId,
        ledger_exists: bool,
    ) -> Result<(), LedgerError> {
        let mut known = lock(&self.manifest);
        if ledger_exists && known.contains(tenant) {
            return Ok(());
        }
        register(
            self.dir.path(),
            &self.dir_handle,
            tenant,
            ledger_exists,
            || self.dir.tenants(),
            self.signer.as_deref(),
        )?;
        known.insert(tenant.clone());
        Ok(())
    }

    /// The directory's read-only view.
    pub fn dir(&self) -> &LedgerDir {
        &self.dir
    }

    fn slot(&self, tenant: &TenantId) -> Arc<Slot> {
        let mut tenants = lock(&self.tenants);
        Arc::clone(tenants.entry(tenant.clone()).or_default())
    }

    /// Runs `f` on `tenant`'s open log, opening it first (creating it only when `create`).
    /// `f` gets `None` for a tenant without a ledger when not creating.
    fn with_log<T>(
        &self,
        tenant: &TenantId,
        create: bool,
        f: impl FnOnce(Option<&mut TenantLog>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        // Looking up a tenant that has no ledger leaves nothing behind, so asking about
        // made-up tenant ids cannot grow this ledger's memory.
        if !create && !lock(&self.tenants).contains_key(tenant) && !self.dir.contains(tenant) {
            return f(None);
        }
        self.with_slot_log(&self.slot(tenant), tenant, create, f)
    }

    /// One flush, run by the one flushing thread: makes everything written so far to every
    /// dirty tenant durable, then their heads. A tenant whose flush failed is reopened (and
    /// repaired) on next use, since what reached its file is unknown.
    fn flush_dirty(&self) -> Result<(), LedgerError> {
        let dirty = std::mem::take(&mut lock(&self.group.state).dirty);
        let mut jobs = Vec::with_capacity(dirty.len());
        let signs = self.signer.is_some();
        for (tenant, slot) in dirty {
            let job = self.with_slot_log(&slot, &tenant, false, |log| match log {
                Some(log) if log.written.next_seq > log.head.next_seq => {
                    log.flush_job(&tenant, signs).map(Some)
                }
                _ => Ok(None),
            });
            // A tenant whose log cannot be reopened is left out; its own waiters meet the
            // error when they look at its log.
            if let Ok(Some(job)) = job {
                jobs.push((slot, job));
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let flushed = match &self.wal {
            Some(wal) => self.commit_logged(wal, &jobs),
            None => self.commit_synced(&jobs),
        };
        for (slot, job) in &jobs {
            let mut log = lock(&slot.log);
            match (&flushed, log.as_mut()) {
                (Ok(()), Some(l)) => {
                    if l.head.next_seq < job.target.next_seq {
                        l.head = job.target.clone();
                    }
                    slot.durable
                        .fetch_max(job.target.next_seq, Ordering::AcqRel);
                }
                // Reopened meanwhile: reopening read the head this flush wrote.
                (Ok(()), None) => {
                    slot.durable
                        .fetch_max(job.target.next_seq, Ordering::AcqRel);
                }
                (Err(_), _) => *log = None,
            }
        }
        flushed
    }

    /// A round without a write-ahead log: the tenants' ledgers made durable, then their
    /// checkpoints and heads.
    fn commit_synced(&self, jobs: &[(Arc<Slot>, FlushJob)]) -> Result<(), LedgerError> {
        self.sync_all(jobs.iter().flat_map(|(_, job)| job.data_files()))?;
        // Signed once the receipts are durable, so a checkpoint never covers receipts a
        // crash could take back; made durable with the heads.
        // One signature covers the round (see `signing`).
        if let Some(signer) = &self.signer {
            let (heads, files): (Vec<_>, Vec<_>) = jobs
                .iter()
                .filter_map(|(_, job)| job.checkpoint.clone().zip(job.checkpoints.as_ref()))
                .unzip();
            let signed = signer.checkpoints(heads, self.clock.now());
            match &self.journal {
                Some(journal) => {
                    let mut journal = lock(journal);
                    journal.record(&signed)?;
                    journal.copy_some(&self.dir)?;
                }
                None => {
                    for (checkpoint, (file, path)) in signed.iter().zip(files) {
                        append_checkpoint(file, path, checkpoint)?;
                    }
                }
            }
            // Durable before any head moves: a head is never on disk without the checkpoint
            // that states it, which a signing writer requires when it next opens the tenant.
            self.sync_all(jobs.iter().flat_map(|(_, job)| job.meta_files()))?;
        }
        for (_, job) in jobs {
            write_head(&job.head_file, &job.head_path, &job.target)?;
        }
        self.sync_all(jobs.iter().flat_map(|(_, job)| job.meta_files()))?;
        if let Some(journal) = &self.journal {
            // A journal file whose copies this sync made durable is emptied. If that
            // fails it is tried again next round: the heads are durable, so this round
            // stands.
            let _ = lock(journal).synced();
        }
        Ok(())
    }

    /// A round with the write-ahead log: what each tenant's ledger gained, its head and its
    /// checkpoint in the log, synced once. The round's checkpoints are stored once (see
    /// `SignedRound`), and reach the tenants' files when the log file's checkpoint copies them.
    fn commit_logged(
        &self,
        wal: &Mutex<Wal>,
        jobs: &[(Arc<Slot>, FlushJob)],
    ) -> Result<(), LedgerError> {
        // Signed with the receipts they cover in the same round: a torn round leaves
        // neither, so a checkpoint never covers receipts a crash could take back.
        let signed = self.signer.as_ref().and_then(|signer| {
            let heads = jobs.iter().filter_map(|(_, j)| j.checkpoint.clone());
            signer.sign_round(heads.collect(), self.clock.now())
        });
        let mut entries: Vec<Entry<'_>> = jobs
            .iter()
            .map(|(_, job)| Entry {
                tenant: &job.tenant,
                at: job.from,
                bytes: &job.bytes,
                head: &job.target,
            })
            .collect();
        let mut wal = lock(wal);
        if !wal.fits(&entries) {
            // A batch too large to log: the ledgers are synced here, the log takes the heads.
            self.sync_all(jobs.iter().flat_map(|(_, job)| job.data_files()))?;
            for e in &mut entries {
                e.at = e.head.ledger_bytes;
                e.bytes = &[];
            }
        }
        wal.commit(&entries, signed)
    }

    /// Makes `files` durable: on Linux one `syncfs` covers them all (they share the ledger
    /// directory's file system); elsewhere each is synced.
    #[cfg(target_os = "linux")]
    fn sync_all<'a>(
        &self,
        _files: impl Iterator<Item = (&'a File, &'a PathBuf)>,
    ) -> Result<(), LedgerError> {
        super::durable::sync_file_system(&self.dir_handle, self.dir.path())
    }

    #[cfg(not(target_os = "linux"))]
    fn sync_all<'a>(
        &self,
        files: impl Iterator<Item = (&'a File, &'a PathBuf)>,
    ) -> Result<(), LedgerError> {
        for (file, path) in files {
            file.sync_data().map_err(io_err("sync", path))?;
        }
        Ok(())
    }

    fn with_slot_log<T>(
        &self,
        slot: &Slot,
        tenant: &TenantId,
        create: bool,
        f: impl FnOnce(Option<&mut TenantLog>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let mut slot = lock(&slot.log);
        if slot.is_none() && (create || self.dir.contains(tenant)) {
            self.register(tenant, self.dir.ledger_path(tenant).exists())?;
            *slot = Some(TenantLog::open(self.host(), tenant)?);
        }
        let result = f(slot.as_mut());
        if matches!(result, Err(LedgerError::Io { .. })) {
            // The file may hold a partial batch: reopen (and repair) on next use.
            *slot = None;
        }
        result
    }
}

impl Ledger for FileLedger {
    fn append(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<ChainHead, LedgerError> {
        let next_seq = self.write(tenant, receipts)?;
        self.sync(tenant, next_seq)?;
        self.with_log(tenant, false, |log| {
            Ok(log.map(|l| l.head.chain()).unwrap_or_default())
        })
    }

    fn write(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
        let slot = self.slot(tenant);
        let next_seq =
            self.with_slot_log(&slot, tenant, !receipts.is_empty(), |log| match log {
                Some(log) => log.write(tenant, receipts),
                None => Ok(0),
            })?;
        if !receipts.is_empty() {
            self.group.mark_dirty(tenant, &slot);
        }
        Ok(next_seq)
    }

    fn sync(&self, tenant: &TenantId, next_seq: u64) -> Result<(), LedgerError> {
        let slot = self.slot(tenant);
        let covered = || slot.durable.load(Ordering::Acquire) >= next_seq;
        loop {
            if let Some(_leader) = self.group.claim(covered) {
                self.flush_dirty()?;
            }
            if covered() {
                return Ok(());
            }
            // Not covered by the flush that ran: reopened after a failure, or written after
            // that flush took its list.
            let pending = self.with_slot_log(&slot, tenant, false, |log| match log {
                Some(log) if log.head.next_seq >= next_seq => {
                    slot.durable.fetch_max(log.head.next_seq, Ordering::AcqRel);
                    Ok(false)
                }
                Some(log) if log.written.next_seq >= next_seq => Ok(true),
                // What a failed write took with it is gone.
                _ => Err(LedgerError::NotDurable {
                    tenant: tenant.clone(),
                    next_seq,
                }),
            })?;
            if pending {
                self.group.mark_dirty(tenant, &slot);
            }
        }
    }

    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        self.read_from(tenant, 0, usize::MAX)
    }

    fn read_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let len = self.with_log(tenant, false, |log| {
            log.map(|l| l.derived_written().map(|()| l.head.ledger_bytes))
                .transpose()
        })?;
        let Some(len) = len else {
            return Ok(Vec::new());
        };
        // Only acknowledged receipts, found through the index.
        self.dir.read_page(tenant, from, limit, len)
    }

    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        self.host().latest_checkpoint(tenant)
    }

    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        self.with_log(tenant, false, |log| {
            log.map_or(Ok(()), TenantLog::derived_written)
        })?;
        self.dir
            .prove_against(tenant, seq, self.latest_checkpoint(tenant)?)
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        self.dir.tenants()
    }

    fn manifest(&self) -> Result<Option<super::Manifest>, LedgerError> {
        self.dir.manifest()
    }

    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError> {
        self.with_log(tenant, false, |log| {
            Ok(log.map(|l| l.head.chain()).unwrap_or_default())
        })
    }

    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError> {
        // Keeps this process's writes and flushes out while reading.
        let slot = self.slot(tenant);
        let _leader = self.group.claim(|| false);
        let mut log = lock(&slot.log);
        if let Some(log) = log.as_mut() {
            log.derived_written()?;
        }
        self.dir.verify(tenant, false)
    }

    /// As `tai receipts verify` does: the chain, its head, the manifest's word on it and its
    /// checkpoints (those this writer has in the write-ahead log or the journal too), their
    /// signatures with `anchors`' keys.
    fn verify_signed(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> Result<VerifyReport, LedgerError> {
        let slot = self.slot(tenant);
        let _leader = self.group.claim(|| false);
        let mut log = lock(&slot.log);
        if let Some(log) = log.as_mut() {
            log.derived_written()?;
        }
        self.dir.verify_with(tenant, deep, anchors)
    }
}

impl Drop for FileLedger {
    /// Leaves every tenant's tree and index complete, so the next writer need not extend
    /// them from the ledger (best effort: it would, and a reader computes what is missing).
    fn drop(&mut self) {
        let slots: Vec<Arc<Slot>> = lock(&self.tenants).values().cloned().collect();
        for slot in slots {
            if let Some(log) = lock(&slot.log).as_mut() {
                let _ = log.derived_written();
            }
        }
        // Leaves every head in its head file (best effort too: the next writer replays the
        // log, and readers read it).
        if let Some(wal) = &self.wal {
            let _ = lock(wal).close();
        }
        // Leaves each tenant's checkpoints in its own file (best effort too: the next writer
        // copies what is left, and readers read the journal).
        if let Some(journal) = &self.journal {
            let mut journal = lock(journal);
            if journal.is_empty() {
                return;
            }
            let copied = journal
                .copy_all(&self.dir)
                .and_then(|()| self.sync_all(std::iter::empty()));
            if copied.is_ok() {
                let _ = journal.clear();
            }
        }
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
