//! The write-ahead log: each flush round's receipts, heads and checkpoints in one record,
//! made durable by one `fdatasync` of one file.
//!
//! Without it a round makes every written tenant's ledger durable, then overwrites and
//! syncs each one's head: two `syncfs` that write back a page and an inode per tenant, so
//! across many tenants the disk, not the calls, set the pace. With it a round appends one
//! record — per tenant the bytes its ledger gained and its new head, then the round's
//! checkpoint lines — to a log file whose blocks are already allocated, and syncs that file
//! alone. The tenants' ledgers and checkpoint files are written as before, to the page cache;
//! their head files only when a log file fills.
//!
//! The log is two files, `receipts.0.wal` and `receipts.1.wal`. Rounds append to the active
//! one; when a record would take it past [`SEGMENT_LIMIT`] the other becomes active, and a
//! background thread writes the full one's heads to the head files and syncs the file system:
//! only then may the full file be written again. A file is reused from its start under a new
//! random epoch, so what the last use left behind is never read as new (a record is read only
//! while it carries the epoch of the file's first record and the next round number, and its
//! checksums hold).
//!
//! A tenant's head is the newest of its head file and its heads in the log (greatest
//! `next_seq`): [`LedgerDir::read_head`] reads the log first, then the file, so a head file
//! written and a log file reused between the two reads hides nothing. A writer opening the
//! directory first replays what a stopped writer left: it restores ledger bytes a crash of
//! the machine lost (and fails if the ledger holds other bytes where acknowledged receipts
//! were), files the checkpoint lines, writes the heads, and syncs. Records already applied
//! can be applied again: acknowledged bytes never change, and a head never goes back.
//!
//! One writer process holds the log (an exclusive lock; Linux only, where one `syncfs` covers
//! a full file's checkpoint); another writer on the same directory syncs its tenants' files
//! and heads itself, as without a log.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::ids::TenantId;

use super::LedgerError;
use super::dir::LedgerDir;
use super::durable::{io_err, lock_exclusive, read_at, sync_file_system, write_at};
use super::head::{StoredHead, open_head, write_head};
use super::journal::file_tenant_lines;
use super::wal_record::{
    Entry, HEADER_LEN, WAL_FILES, encode, encoded_len, read_bounded, records, round_line,
    signed_round_checkpoints,
};
use crate::receipts::signing::{Checkpoint, CheckpointSigner, SignedRound};

/// How many bytes a log file takes before rounds move to the other: about a hundred rounds
/// of 64 tenants. The background checkpoint's `syncfs` then writes back about as much of
/// the tenants' files; larger files made for longer stalls of the rounds syncing meanwhile
/// (p99 over HTTP 16–17 ms at 32 MiB, 8–9 ms at 8 MiB, 6–8 ms at 1–2 MiB, same throughput).
pub(super) const SEGMENT_LIMIT: u64 = 2 << 20;

/// How far ahead of the records a log file's blocks are written (as zeros), so a round's
/// `fdatasync` writes the record and nothing about the file itself.
const PREPARE_STEP: u64 = 1 << 20;

/// The log, held by this process's writer.
#[derive(Debug)]
pub(super) struct Wal {
    dir: LedgerDir,
    /// The ledger directory, open: what a checkpoint's `syncfs` is called on.
    dir_handle: Arc<File>,
    files: [Segment; 2],
    /// Which of `files` rounds append to.
    active: usize,
    /// The next record's round number: one more than any record in either file.
    round: u64,
    /// The other file's checkpoint, while it runs.
    checkpoint: Option<JoinHandle<Result<(), LedgerError>>>,
    /// When a file is full: [`SEGMENT_LIMIT`] (smaller in tests).
    pub(super) limit: u64,
    /// A round's record was written but could not be made durable or taken back: no later
    /// round may be acknowledged after it.
    broken: bool,
    /// The checkpoints of the file whose checkpoint runs (or ran last): until it is done,
    /// some tenants' files lack them.
    filing: Arc<Newest>,
    /// Neither log file was there when this writer opened the directory: a log a writer
    /// left was deleted or moved aside (or the directory never had one), so receipts found
    /// after a head may have been acknowledged through it.
    pub(super) was_missing: bool,
}

/// Each tenant's newest checkpoint among a log file's rounds: its round, stored once, and its
/// place in it. A file's checkpoint files these, one per tenant (see [`file_checkpoints`]).
type Newest = HashMap<TenantId, (Arc<SignedRound>, usize)>;

#[derive(Debug)]
struct Segment {
    file: File,
    path: PathBuf,
    /// Where the next record goes.
    len: u64,
    /// How far the file's blocks are written.
    prepared: u64,
    epoch: u64,
    /// The newest head of each tenant with a record in this file.
    heads: HashMap<TenantId, StoredHead>,
    /// Each tenant's newest checkpoint its rounds signed: its checkpoint files them.
    signed: Newest,
}

impl Wal {
    /// Opens and locks the log of `dir`, creating it, after replaying what a previous writer
    /// left in it: ledger bytes restored, checkpoints filed, heads written, all made durable
    /// by `sync`. `None` when another process holds it.
    ///
    /// A writer with a key (`signer`) takes only what it and the previous keys it continues
    /// vouch for (a round signed by a key it does not know is refused): of a tenant whose chain is signed, a head the log holds
    /// no checkpoint of signed by one of them is not written, and its bytes, restored after the tenant's head, are then
    /// quarantined with a receipt when the tenant is opened, as any tail nobody signed. A
    /// signing writer's rounds always carry their checkpoints, so this leaves out only what
    /// someone without the key put in the log.
    pub(super) fn open(
        dir: &LedgerDir,
        sync: impl Fn() -> Result<(), LedgerError>,
        signer: Option<&CheckpointSigner>,
    ) -> Result<Option<Wal>, LedgerError> {
        let mut files = Vec::with_capacity(2);
        let was_missing = WAL_FILES.iter().all(|name| !dir.path().join(name).exists());
        for name in WAL_FILES {
            let path = dir.path().join(name);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err("open", &path))?;
            match lock_exclusive(&file, &path) {
                Ok(()) => {}
                Err(LedgerError::Locked { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
            let prepared = file.metadata().map_err(io_err("stat", &path))?.len();
            files.push(Segment {
                file,
                path,
                len: 0,
                prepared,
                epoch: 0,
                heads: HashMap::new(),
                signed: HashMap::new(),
            });
        }
        let dir_handle = File::open(dir.path()).map_err(io_err("open", dir.path()))?;
        let mut round = 0;
        let contents: Vec<Vec<u8>> = files
            .iter()
            .map(|f| read_bounded(&f.path).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        let mut left = Vec::new();
        for (f, bytes) in files.iter().zip(&contents) {
            for r in records(&f.path, bytes)? {
                left.push((r, f.path.as_path()));
            }
        }
        if !left.is_empty() {
            left.sort_by_key(|(r, _)| r.frame.round);
            round = left.last().map_or(0, |(r, _)| r.frame.round + 1);
            let path = dir.path().join(WAL_FILES[0]);
            let parts = left.iter().map(|(r, _)| r.checkpoints);
            let checkpoints = signed_round_checkpoints(&path, parts, signer)?;
            let vouched = signer.map(|_| Vouched::new(dir, &checkpoints));
            let mut heads: HashMap<TenantId, StoredHead> = HashMap::new();
            for (record, path) in &left {
                let mut data = record.data;
                for (tenant, at, head) in &record.entries {
                    let (bytes, rest) = data.split_at((head.ledger_bytes - at) as usize);
                    data = rest;
                    restore(dir, tenant, *at, bytes, path)?;
                    if vouched.as_ref().is_none_or(|v| v.head(tenant, head)) {
                        newest(&mut heads, tenant, head);
                    }
                }
            }
            file_checkpoints(dir, &checkpoints)?;
            write_heads(dir, &heads)?;
            sync()?;
            // Applied: readers need not read them again (a crash that brings them back has
            // them applied again, harmlessly).
            for f in &files {
                if f.prepared >= HEADER_LEN as u64 {
                    write_at(&f.file, &[0u8; HEADER_LEN], 0).map_err(io_err("write", &f.path))?;
                }
            }
        }
        let [first, second]: [Segment; 2] =
            files.try_into().map_err(|_| LedgerError::WalDamaged {
                path: dir.path().join(WAL_FILES[0]),
                detail: "two log files expected".to_owned(),
            })?;
        let mut wal = Wal {
            dir: dir.clone(),
            dir_handle: Arc::new(dir_handle),
            files: [first, second],
            active: 0,
            round,
            checkpoint: None,
            limit: SEGMENT_LIMIT,
            broken: false,
            filing: Arc::default(),
            was_missing,
        };
        wal.files[0].epoch = new_epoch()?;
        Ok(Some(wal))
    }

    /// `tenant`'s newest head in the log, when it is newer than what its head file may hold.
    pub(super) fn head_of(&self, tenant: &TenantId) -> Option<StoredHead> {
        self.files
            .iter()
            .filter_map(|f| f.heads.get(tenant))
            .max_by_key(|h| h.next_seq)
            .cloned()
    }

    /// `tenant`'s latest checkpoint, when its file may not hold it yet (`None`: it does): its
    /// round and place, for the caller to make the checkpoint (`SignedRound::checkpoint`)
    /// after it lets go of the log, which the durability thread waits on.
    pub(super) fn latest_of(&self, tenant: &TenantId) -> Option<(Arc<SignedRound>, usize)> {
        self.files[self.active]
            .signed
            .get(tenant)
            .or_else(|| self.filing.get(tenant))
            .cloned()
    }

    /// Whether each of `entries` fits in a record; if not, the caller syncs the ledgers
    /// itself and logs the heads alone (entries without bytes).
    pub(super) fn fits(&self, entries: &[Entry<'_>]) -> bool {
        entries
            .iter()
            .all(|e| encoded_len(std::slice::from_ref(e), 0) <= self.limit)
    }

    /// Makes a round durable: its entries and its checkpoints (stored once, see
    /// `SignedRound`) in as few records as fit, each written and synced. Once this returns,
    /// the round is acknowledged; its checkpoints are kept for the checkpoint of the file that
    /// holds them.
    pub(super) fn commit(
        &mut self,
        entries: &[Entry<'_>],
        signed: Option<SignedRound>,
    ) -> Result<(), LedgerError> {
        let Some(round) = signed else {
            return self.append_round(entries, &[]);
        };
        let line = round_line(&self.files[self.active].path, &round)?;
        self.append_round(entries, &line)?;
        let round = Arc::new(round);
        let kept = &mut self.files[self.active].signed;
        for (index, (tenant, ..)) in round.heads.iter().enumerate() {
            // A tenant written before in this file (the usual case) keeps its key: no copy
            // of its id per round.
            let newest = (Arc::clone(&round), index);
            match kept.get_mut(tenant) {
                Some(kept) => *kept = newest,
                None => {
                    kept.insert(tenant.clone(), newest);
                }
            }
        }
        Ok(())
    }

    /// [`Wal::commit`]'s records.
    fn append_round(
        &mut self,
        entries: &[Entry<'_>],
        checkpoints: &[u8],
    ) -> Result<(), LedgerError> {
        if self.broken {
            return Err(LedgerError::WalDamaged {
                path: self.files[self.active].path.clone(),
                detail: "an earlier round could not be made durable or taken back; the \
                         writer must be restarted"
                    .to_owned(),
            });
        }
        let mut rest = entries;
        let mut lines = checkpoints;
        loop {
            // As many entries as fit, then as many whole checkpoint lines.
            let mut size = encoded_len(&[], 0);
            let mut take = 0;
            while let Some(e) = rest.get(take) {
                let more = encoded_len(std::slice::from_ref(e), 0) - HEADER_LEN as u64;
                if size + more > self.limit {
                    break;
                }
                size += more;
                take += 1;
            }
            // Checkpoint lines only after every entry: a line never reaches the disk before
            // the receipts it covers.
            let room = if take == rest.len() {
                self.limit.saturating_sub(size).min(lines.len() as u64) as usize
            } else {
                0
            };
            let mut cut = if room == lines.len() {
                room
            } else {
                lines[..room]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
            };
            if take == 0 && cut == 0 {
                // A part larger than a file's limit (a huge batch or round): it goes alone,
                // into a file of its own.
                if rest.is_empty() {
                    cut = lines
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(lines.len(), |i| i + 1);
                } else {
                    take = 1;
                }
            }
            let done = take == rest.len() && cut == lines.len();
            self.append(&rest[..take], &lines[..cut])?;
            if done {
                return Ok(());
            }
            rest = &rest[take..];
            lines = &lines[cut..];
        }
    }

    /// Writes one record to the active file (moving to the other first when it is full)
    /// and syncs it.
    fn append(&mut self, entries: &[Entry<'_>], checkpoints: &[u8]) -> Result<(), LedgerError> {
        let active = &self.files[self.active];
        if active.len > 0 && active.len + encoded_len(entries, checkpoints.len()) > self.limit {
            self.switch()?;
        }
        let active = &mut self.files[self.active];
        let record = encode(active.epoch, self.round, entries, checkpoints);
        let end = active.len + record.len() as u64;
        let written = prepare(active, end).and_then(|()| {
            write_at(&active.file, &record, active.len).map_err(io_err("write", &active.path))?;
            active
                .file
                .sync_data()
                .map_err(io_err("sync", &active.path))
        });
        if let Err(e) = written {
            // Not acknowledged: taken back, so no later record follows it and a replay never
            // finds it. If that fails too, nothing more is acknowledged.
            let header = [0u8; HEADER_LEN];
            let undone =
                write_at(&active.file, &header, active.len).and_then(|()| active.file.sync_data());
            if undone.is_err() {
                self.broken = true;
            }
            return Err(e);
        }
        active.len = end;
        self.round += 1;
        for e in entries {
            newest(&mut active.heads, e.tenant, e.head);
        }
        Ok(())
    }

    /// Moves rounds to the other file, once its own checkpoint is done, and starts the full
    /// file's checkpoint in the background.
    fn switch(&mut self) -> Result<(), LedgerError> {
        self.finish_checkpoint()?;
        let full = self.active;
        let heads = self.files[full].heads.clone();
        self.filing = Arc::new(std::mem::take(&mut self.files[full].signed));
        let dir = self.dir.clone();
        let handle = Arc::clone(&self.dir_handle);
        let signed = Arc::clone(&self.filing);
        let spawned = std::thread::Builder::new()
            .name("tai-wal-checkpoint".into())
            .spawn(move || checkpoint(&dir, &handle, &signed, &heads));
        match spawned {
            Ok(thread) => self.checkpoint = Some(thread),
            // No thread: done here, the round waits.
            Err(_) => {
                let heads = &self.files[full].heads;
                checkpoint(&self.dir, &self.dir_handle, &self.filing, heads)?;
            }
        }
        let next = &mut self.files[1 - full];
        next.epoch = new_epoch()?;
        next.len = 0;
        next.heads.clear();
        next.signed.clear();
        self.active = 1 - full;
        Ok(())
    }

    /// Waits for the background checkpoint, doing it again here if it failed: until one
    /// succeeds, the file it covers keeps the only durable copy of its heads.
    fn finish_checkpoint(&mut self) -> Result<(), LedgerError> {
        let Some(thread) = self.checkpoint.take() else {
            return Ok(());
        };
        let other = 1 - self.active;
        match thread.join() {
            Ok(Ok(())) => Ok(()),
            // What it filed before failing is not filed twice.
            _ => {
                let heads = &self.files[other].heads;
                checkpoint(&self.dir, &self.dir_handle, &self.filing, heads)
            }
        }
    }

    /// Writes every head the log holds to its head file and syncs: a writer closing. The
    /// files' first records are then overwritten, so readers need not read what follows.
    pub(super) fn close(&mut self) -> Result<(), LedgerError> {
        self.finish_checkpoint()?;
        let mut heads = HashMap::new();
        for f in &self.files {
            for (tenant, head) in &f.heads {
                newest(&mut heads, tenant, head);
            }
        }
        // The other file's checkpoints were filed by its own checkpoint.
        let signed = &self.files[self.active].signed;
        checkpoint(&self.dir, &self.dir_handle, signed, &heads)?;
        for f in &mut self.files {
            // Not synced: records a crash brings back are applied again, harmlessly.
            if f.prepared >= HEADER_LEN as u64 {
                write_at(&f.file, &[0u8; HEADER_LEN], 0).map_err(io_err("write", &f.path))?;
            }
            f.len = 0;
            f.heads.clear();
            f.signed.clear();
        }
        Ok(())
    }
}

/// What a writer's keys vouch for among the heads a log holds (see [`Wal::open`]).
struct Vouched<'a> {
    dir: &'a LedgerDir,
    /// Each tenant's checkpoints in the log that the keys signed: seq and head hash.
    signed: HashMap<&'a TenantId, Vec<(u64, &'a str)>>,
}

impl<'a> Vouched<'a> {
    fn new(dir: &'a LedgerDir, checkpoints: &'a [Checkpoint]) -> Self {
        let mut signed: HashMap<&TenantId, Vec<(u64, &str)>> = HashMap::new();
        for c in checkpoints {
            signed
                .entry(&c.tenant_id)
                .or_default()
                .push((c.seq, c.head_hash.as_str()));
        }
        Vouched { dir, signed }
    }

    /// Whether `tenant`'s `head` may be taken: a checkpoint the keys signed states it, or the
    /// tenant's chain is not signed at all (no checkpoint in the log or beside its ledger).
    fn head(&self, tenant: &TenantId, head: &StoredHead) -> bool {
        match self.signed.get(tenant) {
            Some(signed) => signed
                .iter()
                .any(|&(seq, hash)| seq + 1 == head.next_seq && hash == head.hash),
            None => {
                !std::fs::metadata(self.dir.checkpoints_path(tenant)).is_ok_and(|m| m.len() > 0)
            }
        }
    }
}

/// Keeps the newer of `head` and what `heads` holds for `tenant`.
fn newest(heads: &mut HashMap<TenantId, StoredHead>, tenant: &TenantId, head: &StoredHead) {
    match heads.get_mut(tenant) {
        Some(h) if h.next_seq >= head.next_seq => {}
        Some(h) => *h = head.clone(),
        None => {
            heads.insert(tenant.clone(), head.clone());
        }
    }
}

/// A full log file's checkpoint: each tenant's newest checkpoint its rounds signed to the
/// tenant's checkpoints file, its heads to the head files, then everything durable.
fn checkpoint(
    dir: &LedgerDir,
    dir_handle: &File,
    signed: &Newest,
    heads: &HashMap<TenantId, StoredHead>,
) -> Result<(), LedgerError> {
    // Each round's checkpoints made once, however many tenants' newest it holds; filing
    // keeps each tenant's newest of them.
    let mut rounds: Vec<&Arc<SignedRound>> = signed.values().map(|(round, _)| round).collect();
    rounds.sort_by_key(|r| Arc::as_ptr(r));
    rounds.dedup_by_key(|r| Arc::as_ptr(r));
    let newest: Vec<Checkpoint> = rounds.iter().flat_map(|r| r.checkpoints()).collect();
    file_checkpoints(dir, &newest)?;
    write_heads(dir, heads)?;
    sync_file_system(dir_handle, dir.path())
}

/// Appends each tenant's newest of `checkpoints` to its file, unless the file already ends
/// at or beyond it (the caller syncs): one append per tenant.
///
/// Only the newest: a tenant's file keeps the latest checkpoint of each log file (at least one
/// every [`SEGMENT_LIMIT`] the workspace writes, and always the latest), not one per round.
/// Every round's is in the log until its file is reused, and any checkpoint handed out (over
/// HTTP, in a proof) still verifies against the chain on its own: the latest covers every
/// receipt before it, and `verify --checkpoint` proves the chain extends a kept one. Filing
/// every round's cost as much again as the receipts themselves under many tenants.
fn file_checkpoints(dir: &LedgerDir, checkpoints: &[Checkpoint]) -> Result<(), LedgerError> {
    let mut newest: HashMap<&TenantId, &Checkpoint> = HashMap::new();
    for c in checkpoints {
        match newest.get(&c.tenant_id) {
            Some(kept) if kept.seq >= c.seq => {}
            _ => {
                newest.insert(&c.tenant_id, c);
            }
        }
    }
    for (tenant, c) in newest {
        file_tenant_lines(dir, tenant, vec![(c.seq, c.to_line())])?;
    }
    Ok(())
}

/// Overwrites each tenant's head file with its head from the log, unless the file already
/// holds that head or a newer one (the caller syncs). A head file that does not decode is
/// an error: it is evidence, not to be overwritten.
fn write_heads(dir: &LedgerDir, heads: &HashMap<TenantId, StoredHead>) -> Result<(), LedgerError> {
    for (tenant, head) in heads {
        let path = dir.head_path(tenant);
        match dir.read_head_file(tenant)? {
            Some(bytes) => {
                let filed =
                    StoredHead::decode(&bytes).map_err(|e| LedgerError::HeadUnreadable {
                        path: path.clone(),
                        detail: e.to_string(),
                    })?;
                if filed.next_seq >= head.next_seq {
                    continue;
                }
                write_head(&open_head(&path)?, &path, head)?;
            }
            // A tenant whose files were deleted is not brought back by its heads.
            None if !dir.contains(tenant) => {}
            None => super::durable::replace_file(&path, &head.encode())?,
        }
    }
    Ok(())
}

/// Puts back the bytes a round logged for `tenant`'s ledger, where the ledger lacks them (a
/// crash of the machine before the page cache reached the disk). Bytes already there must
/// be the same: acknowledged receipts never change.
fn restore(
    dir: &LedgerDir,
    tenant: &TenantId,
    at: u64,
    bytes: &[u8],
    wal_path: &Path,
) -> Result<(), LedgerError> {
    let path = dir.ledger_path(tenant);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(file) => file,
        // Deleted: the manifest reports it; nothing is recreated here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("open", &path)(e)),
    };
    let len = file.metadata().map_err(io_err("stat", &path))?.len();
    if len < at {
        return Err(LedgerError::Truncated {
            path,
            file_bytes: len,
            head_bytes: at,
        });
    }
    let have = (len.min(at + bytes.len() as u64) - at) as usize;
    let mut there = vec![0u8; have];
    read_at(&file, &mut there, at).map_err(io_err("read", &path))?;
    let from = if there == bytes[..have] {
        have
    } else if there.iter().zip(bytes).all(|(&t, &b)| t == b || t == 0) {
        // Blocks allocated but never written before the crash: zeros, which no receipt
        // line holds.
        0
    } else {
        return Err(LedgerError::HeadMismatch {
            path,
            detail: format!(
                "bytes {at}..{} differ from the acknowledged receipts `{}` holds for them",
                at + have as u64,
                wal_path.display()
            ),
        });
    };
    if from < bytes.len() {
        write_at(&file, &bytes[from..], at + from as u64).map_err(io_err("write", &path))?;
    }
    Ok(())
}

/// Writes zeros ahead of `end` in whole steps, so the file's size and blocks change once per
/// step rather than with each round.
fn prepare(segment: &mut Segment, end: u64) -> Result<(), LedgerError> {
    if end <= segment.prepared {
        return Ok(());
    }
    let target = end.div_ceil(PREPARE_STEP) * PREPARE_STEP;
    let zeros = vec![0u8; (target - segment.prepared) as usize];
    write_at(&segment.file, &zeros, segment.prepared).map_err(io_err("write", &segment.path))?;
    segment.prepared = target;
    Ok(())
}

/// A fresh epoch: records a file's earlier use left behind never carry it.
fn new_epoch() -> Result<u64, LedgerError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| LedgerError::Io {
        action: "draw a random epoch for",
        path: PathBuf::from(WAL_FILES[0]),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(u64::from_le_bytes(bytes))
}
