//! Receipt chains on disk: one append-only JSONL file and one head file per tenant.
//!
//! Layout under the state directory:
//!
//! ```text
//! <state>/ledger/<tenant>.jsonl   one receipt per line, exactly Receipt::to_line + "\n"
//! <state>/ledger/<tenant>.head    {"next_seq":N,"hash":"<hex>","ledger_bytes":L} + "\n"
//! ```
//!
//! An append writes its whole batch with one `write`, syncs the data, then overwrites the
//! head in place and syncs it; only then is it acknowledged. A crash between the two leaves
//! valid receipts beyond the head, which the next writer adopts (they were durable, just
//! unacknowledged); a crash during the write leaves a torn last line, which is cut off. A
//! ledger shorter than its head is never accepted: that is how truncation is caught.
//!
//! Appends are group-committed across tenants: [`Ledger::write`] puts a batch in the file and
//! returns, and [`Ledger::sync`] waits until it is durable. A waiter finding no flush under
//! way becomes the group's leader for every tenant written since the last flush: it makes
//! their ledgers durable, overwrites their heads, makes those durable, then wakes everyone
//! whose receipts that covered. On Linux each of the two steps is one `syncfs` of the
//! ledger's file system, whatever the number of tenants; elsewhere, one sync per file. Under
//! load, two syncs acknowledge many calls of many tenants.
//!
//! [`LedgerDir`] reads these files without locking or repairing anything (for `tai receipts`);
//! [`FileLedger`] is the writer, holding an exclusive lock on each tenant file it opens.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::ids::TenantId;
use crate::sync::{lock, wait};

use crate::receipts::verify::{Verifier, head_mismatch, valid_extension};
use crate::receipts::{ChainHead, Receipt, VerifyReport, line};

use super::durable::{create_dir, io_err, replace_file};
use super::head::StoredHead;
use super::{Ledger, LedgerError, check_batch};

/// The ledger directory of a state directory, read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDir {
    dir: PathBuf,
}

const LEDGER_EXT: &str = "jsonl";
const HEAD_EXT: &str = "head";

impl LedgerDir {
    /// `<state>/ledger`.
    pub fn in_state(state: impl AsRef<Path>) -> Self {
        LedgerDir {
            dir: state.as_ref().join("ledger"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<tenant>.jsonl`.
    pub fn ledger_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{LEDGER_EXT}"))
    }

    /// `<dir>/<tenant>.head`.
    pub fn head_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{HEAD_EXT}"))
    }

    /// Whether `tenant` has a ledger file.
    pub fn contains(&self, tenant: &TenantId) -> bool {
        self.ledger_path(tenant).is_file()
    }

    /// Every tenant with a ledger file, sorted (none when the directory does not exist).
    pub fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &self.dir)(e)),
        };
        let mut tenants = Vec::new();
        for entry in entries {
            let path = entry.map_err(io_err("list", &self.dir))?.path();
            if path.extension().is_some_and(|e| e == LEDGER_EXT) {
                // Files that are not named after a valid tenant are not ledgers.
                if let Some(t) = path
                    .file_stem()
                    .and_then(|s| TenantId::new(s.to_str()?).ok())
                {
                    tenants.push(t);
                }
            }
        }
        tenants.sort();
        Ok(tenants)
    }

    /// The ledger file's bytes (empty when it does not exist).
    pub fn read_ledger(&self, tenant: &TenantId) -> Result<Vec<u8>, LedgerError> {
        let path = self.ledger_path(tenant);
        read_optional(&path).map(Option::unwrap_or_default)
    }

    /// The head file's bytes, `None` when it does not exist.
    pub fn read_head(&self, tenant: &TenantId) -> Result<Option<Vec<u8>>, LedgerError> {
        let path = self.head_path(tenant);
        let mut bytes = read_optional(&path)?;
        // A writer overwrites the head in place; a read racing that write can see a mix of
        // old and new bytes. Such a head never decodes, and reading again shortly after
        // gets the whole new one. A head that stays undecodable is reported as it is.
        for _ in 0..5 {
            match &bytes {
                Some(b) if StoredHead::decode(b).is_err() => {
                    std::thread::sleep(Duration::from_millis(2));
                    bytes = read_optional(&path)?;
                }
                _ => break,
            }
        }
        Ok(bytes)
    }

    /// Verifies `tenant`'s chain against its head; `deep` also parses every receipt.
    pub fn verify(&self, tenant: &TenantId, deep: bool) -> Result<VerifyReport, LedgerError> {
        // The head first: an append between the two reads then only adds bytes after it.
        let head = self.read_head(tenant)?;
        let ledger = self.read_ledger(tenant)?;
        Ok(Verifier::new()
            .tenant(tenant)
            .deep(deep)
            .verify(&ledger, head.as_deref()))
    }

    /// Every complete line of `tenant`'s ledger as a receipt, hashes unchecked. A final line
    /// without newline (an interrupted append) is skipped.
    pub fn receipts(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        let path = self.ledger_path(tenant);
        parse_lines(&path, &self.read_ledger(tenant)?)
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, LedgerError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

fn parse_lines(path: &Path, bytes: &[u8]) -> Result<Vec<Receipt>, LedgerError> {
    parse_lines_from(path, bytes, 0, usize::MAX)
}

/// Decodes up to `limit` lines, starting after the first `skip`, which are only counted.
fn parse_lines_from(
    path: &Path,
    bytes: &[u8],
    skip: u64,
    limit: usize,
) -> Result<Vec<Receipt>, LedgerError> {
    let mut receipts = Vec::with_capacity((bytes.len() / 512).min(limit));
    let mut start = 0;
    for (i, end) in memchr::memchr_iter(b'\n', bytes).enumerate() {
        let line = i as u64;
        if line >= skip {
            if receipts.len() == limit {
                break;
            }
            let receipt =
                serde_json::from_slice(&bytes[start..end]).map_err(|e| LedgerError::Corrupt {
                    path: path.to_path_buf(),
                    line: line + 1,
                    detail: e.to_string(),
                })?;
            receipts.push(receipt);
        }
        start = end + 1;
    }
    Ok(receipts)
}

/// The ledger writer: durable, continuity-checked appends to per-tenant files.
///
/// Each tenant's files are opened, checked against the head and repaired the first time
/// the tenant is used, and locked against other processes while this ledger holds them.
/// Appends to different tenants proceed in parallel; only the map of open tenants is shared,
/// and it is never held across I/O.
#[derive(Debug)]
pub struct FileLedger {
    dir: LedgerDir,
    /// The ledger directory, open: what `syncfs` is called on.
    dir_handle: File,
    tenants: Mutex<HashMap<TenantId, Arc<Slot>>>,
    group: Group,
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

/// An open tenant ledger: the files (the ledger locked, in append mode) and the heads of
/// what they hold.
#[derive(Debug)]
struct TenantLog {
    // Shared with the group's leader, which syncs and rewrites them without holding the log's lock.
    file: Arc<File>,
    head_file: Arc<File>,
    path: PathBuf,
    head_path: PathBuf,
    /// Durable and acknowledged: what the head file says.
    head: StoredHead,
    /// Written to the ledger file, not necessarily durable yet.
    written: StoredHead,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

impl FileLedger {
    /// Opens (creating when missing) the ledger directory of `state`.
    pub fn open(state: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let dir = LedgerDir::in_state(state);
        create_dir(dir.path())?;
        let dir_handle = File::open(dir.path()).map_err(io_err("open", dir.path()))?;
        Ok(FileLedger {
            dir,
            dir_handle,
            tenants: Mutex::new(HashMap::new()),
            group: Group::default(),
        })
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
        for (tenant, slot) in dirty {
            let job = self.with_slot_log(&slot, &tenant, false, |log| match log {
                Some(log) if log.written.next_seq > log.head.next_seq => log.flush_job().map(Some),
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
        let flushed = self.sync_all(jobs.iter().map(|(_, job)| (&*job.file, &job.path)));
        let flushed = flushed.and_then(|()| {
            for (_, job) in &jobs {
                write_head(&job.head_file, &job.head_path, &job.target)?;
            }
            self.sync_all(
                jobs.iter()
                    .map(|(_, job)| (&*job.head_file, &job.head_path)),
            )
        });
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

    /// Makes `files` durable: on Linux one `syncfs` covers them all (they share the ledger
    /// directory's file system); elsewhere each is synced.
    #[cfg(target_os = "linux")]
    fn sync_all<'a>(
        &self,
        _files: impl Iterator<Item = (&'a File, &'a PathBuf)>,
    ) -> Result<(), LedgerError> {
        rustix::fs::syncfs(&self.dir_handle)
            .map_err(|e| io_err("sync the file system of", self.dir.path())(e.into()))
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
            *slot = Some(TenantLog::open(&self.dir, tenant)?);
        }
        let result = f(slot.as_mut());
        if matches!(result, Err(LedgerError::Io { .. })) {
            // The file may hold a partial batch: reopen (and repair) on next use.
            *slot = None;
        }
        result
    }
}

impl TenantLog {
    /// Opens and locks the tenant's ledger, checks it against the head, and repairs what a
    /// crash can leave: valid receipts beyond the head, a torn last line.
    fn open(dir: &LedgerDir, tenant: &TenantId) -> Result<Self, LedgerError> {
        let path = dir.ledger_path(tenant);
        let head_path = dir.head_path(tenant);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        lock_exclusive(&file, &path)?;
        let file_bytes = file.metadata().map_err(io_err("stat", &path))?.len();
        let head = match read_optional(&head_path)? {
            Some(bytes) => StoredHead::decode(&bytes).map_err(|e| LedgerError::HeadUnreadable {
                path: head_path.clone(),
                detail: e.to_string(),
            })?,
            // A new tenant: the ledger file was just created, the head not yet written.
            None if file_bytes == 0 => {
                let head = StoredHead::default();
                replace_file(&head_path, &head.encode())?;
                head
            }
            None => return Err(LedgerError::HeadMissing { path: head_path }),
        };
        let head_file = Arc::new(open_head(&head_path)?);
        let mut log = TenantLog {
            file: Arc::new(file),
            head_file,
            path,
            head_path,
            written: head.clone(),
            head,
            buf: Vec::new(),
        };
        if file_bytes < log.head.ledger_bytes {
            return Err(LedgerError::Truncated {
                path: log.path,
                file_bytes,
                head_bytes: log.head.ledger_bytes,
            });
        }
        log.check_last_line()?;
        if file_bytes > log.head.ledger_bytes {
            log.adopt_tail(tenant, file_bytes)?;
        }
        Ok(log)
    }

    /// Checks that the line ending at the head's length is the receipt the head names.
    fn check_last_line(&mut self) -> Result<(), LedgerError> {
        let end = self.head.ledger_bytes;
        if end == 0 {
            return Ok(());
        }
        let path = self.path.clone();
        let mismatch = |detail: String| LedgerError::HeadMismatch {
            path: path.clone(),
            detail,
        };
        let mut window = 4096u64;
        let (line, line_start) = loop {
            let start = end.saturating_sub(window);
            let bytes = self.read_range(start, end)?;
            if bytes.last() != Some(&b'\n') {
                return Err(mismatch(format!(
                    "the head records {end} bytes but the ledger has no line ending there"
                )));
            }
            let body = &bytes[..bytes.len() - 1];
            match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => break (body[i + 1..].to_vec(), start + i as u64 + 1),
                None if start == 0 => break (body.to_vec(), 0),
                None => window = window.saturating_mul(4),
            }
        };
        let frame = line::frame(&line)
            .filter(line::Frame::hash_matches)
            .ok_or_else(|| {
                mismatch(format!(
                    "the receipt the head points at (byte {line_start}) is damaged"
                ))
            })?;
        if frame.seq + 1 != self.head.next_seq {
            return Err(mismatch(format!(
                "the head records {} receipts but the line it points at is seq {}",
                self.head.next_seq, frame.seq
            )));
        }
        match head_mismatch(&self.head, frame.hash, end as usize) {
            Some(detail) => Err(mismatch(detail)),
            None => Ok(()),
        }
    }

    /// Adopts the valid receipts written after the head and cuts off anything else there.
    fn adopt_tail(&mut self, tenant: &TenantId, file_bytes: u64) -> Result<(), LedgerError> {
        let tail = self.read_range(self.head.ledger_bytes, file_bytes)?;
        let (head, valid) = valid_extension(&tail, &self.head, tenant);
        if valid < tail.len() as u64 {
            // Never acknowledged: the append that wrote it did not complete.
            self.file
                .set_len(head.ledger_bytes)
                .and_then(|()| self.file.sync_all())
                .map_err(io_err("truncate the torn end of", &self.path))?;
        }
        if head != self.head {
            write_head_synced(&self.head_file, &self.head_path, &head)?;
            self.written = head.clone();
            self.head = head;
        }
        Ok(())
    }

    fn read_range(&mut self, start: u64, end: u64) -> Result<Vec<u8>, LedgerError> {
        let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(0)];
        self.file
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(io_err("read", &self.path))?;
        Ok(bytes)
    }

    /// Puts the batch in the file (not yet durable) and returns the seq after it.
    fn write(&mut self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
        let next = check_batch(tenant, &self.written.chain(), receipts)?;
        self.buf.clear();
        for r in receipts {
            r.write_line(&mut self.buf);
            self.buf.push(b'\n');
        }
        self.file
            .write_all(&self.buf)
            .map_err(io_err("append to", &self.path))?;
        self.written = StoredHead {
            next_seq: next.next_seq,
            hash: next.hash,
            ledger_bytes: self.written.ledger_bytes + self.buf.len() as u64,
        };
        Ok(self.written.next_seq)
    }

    /// What a flush needs, taken under the log lock so the syncs can run without it.
    fn flush_job(&self) -> Result<FlushJob, LedgerError> {
        Ok(FlushJob {
            file: Arc::clone(&self.file),
            head_file: Arc::clone(&self.head_file),
            path: self.path.clone(),
            head_path: self.head_path.clone(),
            target: self.written.clone(),
        })
    }
}

/// One flush: make the ledger durable up to `target`, then record `target` as the head.
struct FlushJob {
    file: Arc<File>,
    head_file: Arc<File>,
    path: PathBuf,
    head_path: PathBuf,
    target: StoredHead,
}

/// Opens the head file for in-place overwrites.
fn open_head(path: &Path) -> Result<File, LedgerError> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open", path))
}

/// Overwrites the head in place (the caller syncs it). Every encoding has the same length
/// and fits in one sector, so the write replaces the old head whole or not at all.
#[cfg(unix)]
fn write_head(file: &File, path: &Path, head: &StoredHead) -> Result<(), LedgerError> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(&head.encode(), 0)
        .map_err(io_err("write", path))
}

/// Overwrites the head in place and syncs it, for repairs outside a group flush.
fn write_head_synced(file: &File, path: &Path, head: &StoredHead) -> Result<(), LedgerError> {
    write_head(file, path, head)?;
    file.sync_data().map_err(io_err("sync", path))
}

#[cfg(not(unix))]
fn write_head(_file: &File, path: &Path, head: &StoredHead) -> Result<(), LedgerError> {
    replace_file(path, &head.encode())
}

#[cfg(unix)]
fn lock_exclusive(file: &File, path: &Path) -> Result<(), LedgerError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(LedgerError::Locked {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_err("lock", path)(e.into())),
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File, _path: &Path) -> Result<(), LedgerError> {
    Ok(())
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
        let len = self.with_log(tenant, false, |log| Ok(log.map(|l| l.head.ledger_bytes)))?;
        let Some(len) = len else {
            return Ok(Vec::new());
        };
        let path = self.dir.ledger_path(tenant);
        let mut bytes = self.dir.read_ledger(tenant)?;
        bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        // Line n holds seq n in a chain that starts at 0, so the receipts before `from` are
        // skipped by counting newlines. A ledger where that does not hold (edited by hand)
        // is decoded in full and filtered, like the default.
        let page = parse_lines_from(&path, &bytes, from, limit)?;
        if page.first().is_none_or(|r| r.seq == from) {
            return Ok(page);
        }
        let all = parse_lines(&path, &bytes)?;
        Ok(all
            .into_iter()
            .filter(|r| r.seq >= from)
            .take(limit)
            .collect())
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        self.dir.tenants()
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
        let _log = lock(&slot.log);
        self.dir.verify(tenant, false)
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
