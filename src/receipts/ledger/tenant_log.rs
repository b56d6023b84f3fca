//! One tenant's open ledger inside a file ledger: opening and checking it against its
//! head, settling what follows the head (adopt or quarantine, with a receipt), writing
//! batches and preparing flushes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::ids::TenantId;

use crate::receipts::signing::{Checkpoint, CheckpointError, CheckpointHead, CheckpointSigner};
use crate::receipts::verify::{head_mismatch, valid_extension};
use crate::receipts::{Receipt, line};

use super::dir::{LedgerDir, read_optional};
use super::durable::{io_err, lock_exclusive, replace_file};
use super::head::{StoredHead, open_head, write_head_synced};
use super::journal::{Journal, append_checkpoint_lines, checkpoint_lines};
use super::notice::{LastReceipt, Notice};
use super::tree::{Derived, last_line, read_range};
use super::wal::Wal;
use super::wal_record::Entry;
use super::{LedgerError, check_batch};

/// What a tenant's log uses of the ledger holding it: the directory, the key that signs
/// checkpoints, and the clock of the receipts the log records itself. (The ledger registers
/// the tenant in its manifest before it opens the log.)
#[derive(Clone, Copy)]
pub(super) struct Host<'a> {
    pub(super) dir: &'a LedgerDir,
    pub(super) signer: Option<&'a Arc<CheckpointSigner>>,
    pub(super) clock: &'a dyn Clock,
    /// See [`super::LedgerOptions::adopt_unsigned`].
    pub(super) adopt_unsigned: bool,
    /// Where checkpoints go when this process holds the round journal.
    pub(super) journal: Option<&'a Mutex<Journal>>,
    /// What makes rounds durable when this process holds the write-ahead log.
    pub(super) wal: Option<&'a Mutex<Wal>>,
}

impl Host<'_> {
    /// `tenant`'s latest checkpoint. This writer knows what of the log or the journal is not
    /// in the tenant's file yet: no need to read them, which a reader must.
    pub(super) fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Checkpoint>, LedgerError> {
        let unfiled = match (self.wal, self.journal) {
            (Some(wal), _) => {
                let latest = crate::sync::lock(wal).latest_of(tenant);
                latest.and_then(|(round, index)| round.checkpoint(index))
            }
            (None, Some(journal)) => crate::sync::lock(journal).latest_of(tenant)?,
            (None, None) => return self.dir.latest_checkpoint(tenant),
        };
        match unfiled {
            Some(latest) => Ok(Some(latest)),
            None => self.dir.filed_checkpoint(tenant),
        }
    }

    /// With a key: `tenant`'s latest checkpoint and whether a key the writer trusts (its own or
    /// one it continues) signed it, looked up and checked once when the tenant is opened, for
    /// the checks there and the tail's adoption.
    fn latest_signed(&self, tenant: &TenantId) -> Result<Option<Latest>, LedgerError> {
        let Some(signer) = self.signer else {
            return Ok(None);
        };
        Ok(self.latest_checkpoint(tenant)?.map(|checkpoint| Latest {
            signed: checkpoint.verify_signature(signer.trusted()),
            checkpoint,
        }))
    }

    /// Refuses to write on `head` with a key unless a checkpoint its keys signed states it
    /// (or runs ahead of it: a crash between a checkpoint and its head, which the tail's
    /// adoption settles); when told to adopt unsigned history, answers the refusal instead,
    /// for the chain to record. A signing writer's every round is signed, so a head past the
    /// latest checkpoint, or no checkpoint at all, means receipts nobody signed: a workspace
    /// written without a key (adopted on purpose, `adopt_unsigned`), or a rewrite whose
    /// newer checkpoints were deleted, which signing now would vouch for.
    fn check_signed_head(
        &self,
        tenant: &TenantId,
        head: &StoredHead,
        latest: Option<&Latest>,
    ) -> Result<Option<LedgerError>, LedgerError> {
        match self.signed_head_problem(tenant, head, latest) {
            Err(refusal) if self.adopt_unsigned => Ok(Some(refusal)),
            Err(refusal) => Err(refusal),
            Ok(()) => Ok(None),
        }
    }

    /// Why a signing writer would refuse `head` (see [`Host::check_signed_head`]).
    fn signed_head_problem(
        &self,
        tenant: &TenantId,
        head: &StoredHead,
        latest: Option<&Latest>,
    ) -> Result<(), LedgerError> {
        let Some(signer) = self.signer else {
            return Ok(());
        };
        let Some(last_seq) = head.next_seq.checked_sub(1) else {
            return Ok(());
        };
        let unsigned = |covered| LedgerError::UnsignedHistory {
            tenant: tenant.clone(),
            receipts: head.next_seq,
            covered,
        };
        let Some(Latest {
            checkpoint: c,
            signed,
        }) = latest
        else {
            return Err(unsigned(None));
        };
        if let Err(e) = signed {
            return Err(LedgerError::latest_not_trusted(tenant, e, signer));
        }
        match c.seq.cmp(&last_seq) {
            // A crash's tail, adopted by `settle_tail`, or receipts removed, which it refuses
            // (`check_not_behind`).
            std::cmp::Ordering::Greater => Ok(()),
            std::cmp::Ordering::Equal if c.head_hash == head.hash => Ok(()),
            std::cmp::Ordering::Equal => Err(LedgerError::CheckpointMismatch {
                tenant: tenant.clone(),
                detail: format!(
                    "it signs seq {last_seq} as {}, the head records {}",
                    c.head_hash, head.hash
                ),
            }),
            std::cmp::Ordering::Less => Err(unsigned(Some(c.seq))),
        }
    }

    /// Refuses to write on `written` with a key when the latest checkpoint signs more than
    /// it holds: receipts a signing writer acknowledged were removed, or the chain was rolled
    /// back. Writing on would fork the signed history. (Checked once a crash's tail has been
    /// adopted, and before anything is quarantined, so the evidence stays where it is.)
    fn check_not_behind(
        &self,
        tenant: &TenantId,
        written: &StoredHead,
        latest: Option<&Latest>,
    ) -> Result<(), LedgerError> {
        if self.signer.is_none() || self.adopt_unsigned {
            return Ok(());
        }
        match latest.map(|l| &l.checkpoint) {
            Some(c) if c.seq >= written.next_seq => Err(LedgerError::CheckpointMismatch {
                tenant: tenant.clone(),
                detail: format!(
                    "its latest checkpoint signs seq {} but the chain ends after {}: \
                     acknowledged receipts were removed or the chain was rolled back",
                    c.seq,
                    crate::diagnostics::plural(written.next_seq, "receipt")
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// A tenant's latest checkpoint as a signing writer found it when opening the tenant.
pub(super) struct Latest {
    checkpoint: Checkpoint,
    /// Whether a key the writer trusts signed it.
    signed: Result<(), CheckpointError>,
}

/// An open tenant ledger: the files (the ledger locked, in append mode) and the heads of
/// what they hold.
#[derive(Debug)]
pub(super) struct TenantLog {
    // Shared with the group's leader, which syncs and rewrites them without holding the log's lock.
    pub(super) file: Arc<File>,
    pub(super) head_file: Arc<File>,
    pub(super) path: PathBuf,
    pub(super) head_path: PathBuf,
    /// Durable and acknowledged: what the head file says.
    pub(super) head: StoredHead,
    /// Written to the ledger file, not necessarily durable yet.
    pub(super) written: StoredHead,
    /// Reused encoding buffer.
    pub(super) buf: Vec<u8>,
    /// The Merkle tree and the seq index.
    pub(super) derived: Derived,
    /// The checkpoints file, open for appends when the ledger signs.
    pub(super) checkpoints: Option<(Arc<File>, PathBuf)>,
    /// What the last written receipt says that the ledger's own receipts repeat.
    pub(super) last: LastReceipt,
    /// With a write-ahead log: the bytes written since the last flush took them, and where
    /// in the file they start (the next round logs them).
    pub(super) ahead: Option<(u64, Vec<u8>)>,
}

impl TenantLog {
    /// Opens and locks the tenant's ledger, checks it against the head, brings the tree and
    /// index up to date, and deals with what a crash (or anyone else) can leave after the
    /// head: see [`TenantLog::settle_tail`].
    pub(super) fn open(ledger: Host<'_>, tenant: &TenantId) -> Result<Self, LedgerError> {
        let dir = ledger.dir;
        let path = dir.ledger_path(tenant);
        let head_path = dir.head_path(tenant);
        let checkpoints_path = dir.checkpoints_path(tenant);
        let signed_before = fs::metadata(&checkpoints_path).is_ok_and(|m| m.len() > 0);
        if signed_before && ledger.signer.is_none() {
            return Err(LedgerError::SigningKeyRequired {
                tenant: tenant.clone(),
            });
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        lock_exclusive(&file, &path)?;
        let file_bytes = file.metadata().map_err(io_err("stat", &path))?.len();
        let filed = match read_optional(&head_path)? {
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
        // The write-ahead log holds heads newer than the head file until a checkpoint (see
        // `wal`): this writer's in memory, another's on disk.
        let logged = match ledger.wal {
            Some(wal) => crate::sync::lock(wal).head_of(tenant),
            None => dir.wal_head(tenant)?,
        };
        let head = match logged {
            Some(logged) if logged.next_seq > filed.next_seq => logged,
            _ => filed,
        };
        let latest = ledger.latest_signed(tenant)?;
        // Adopted on the operator's word: the chain says so, and what was found.
        let adopted = ledger
            .check_signed_head(tenant, &head, latest.as_ref())?
            .map(|refusal| {
                let key_id = ledger.signer.map_or("", |s| s.public().key_id());
                Notice::history_adopted(&refusal, head.next_seq, key_id)
            });
        if file_bytes < head.ledger_bytes {
            return Err(LedgerError::Truncated {
                path,
                file_bytes,
                head_bytes: head.ledger_bytes,
            });
        }
        let last_line = check_last_line(&file, &path, &head)?;
        let last = match &last_line {
            Some((line, _)) => serde_json::from_slice::<Receipt>(line)
                .map(|r| LastReceipt::of(&r))
                .map_err(|e| LedgerError::HeadMismatch {
                    path: path.clone(),
                    detail: format!("the receipt the head points at does not decode: {e}"),
                })?,
            None => LastReceipt::genesis(tenant),
        };
        let derived = Derived::open(
            dir.tree_path(tenant),
            dir.index_path(tenant),
            (&file, &path),
            head.next_seq,
            last_line
                .as_ref()
                .map(|(_, start)| (head.hash.as_str(), *start)),
            head.ledger_bytes,
        )?;
        let checkpoints = match ledger.signer {
            Some(_) => {
                let f = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .open(&checkpoints_path)
                    .map_err(io_err("open", &checkpoints_path))?;
                Some((Arc::new(f), checkpoints_path))
            }
            None => None,
        };
        let head_bytes = head.ledger_bytes;
        let mut log = TenantLog {
            file: Arc::new(file),
            head_file: Arc::new(open_head(&head_path)?),
            path,
            head_path,
            written: head.clone(),
            head,
            buf: Vec::new(),
            derived,
            checkpoints,
            last,
            ahead: ledger.wal.map(|_| (head_bytes, Vec::new())),
        };
        log.settle_tail(ledger, tenant, file_bytes, latest.as_ref(), adopted)?;
        Ok(log)
    }

    /// Whatever follows the head was never acknowledged. Receipts continuing the chain that
    /// the latest checkpoint signed by this ledger's keys covers are adopted (a crash came
    /// between the checkpoint and the head); anything else — a torn write, garbage, receipts
    /// nobody signed — is moved to `<tenant>.quarantine.<seq>` beside the ledger. Either way
    /// the chain records what was done in a receipt of its own, so evidence never goes
    /// silently. A quarantine file for the current head without its receipt (a crash in
    /// between) is recorded now, and so, first, is `adopted`: unsigned history the writer
    /// was told to adopt.
    pub(super) fn settle_tail(
        &mut self,
        ledger: Host<'_>,
        tenant: &TenantId,
        file_bytes: u64,
        latest: Option<&Latest>,
        adopted: Option<Notice>,
    ) -> Result<(), LedgerError> {
        let mut notices = Vec::new();
        if file_bytes > self.head.ledger_bytes {
            let tail = read_range(&self.file, &self.path, self.head.ledger_bytes, file_bytes)?;
            let (extension, valid) = valid_extension(&tail, &self.head, tenant);
            let valid = usize::try_from(valid).unwrap_or(0);
            let adopted = self.adoptable(tenant, &tail[..valid], latest);
            let mut kept = 0;
            if let Some((bytes, checkpoint)) = adopted {
                let from_seq = self.written.next_seq;
                self.derived
                    .push_lines(&tail[..bytes], self.written.ledger_bytes);
                let last_line = tail[..bytes - 1]
                    .rsplit(|&b| b == b'\n')
                    .next()
                    .unwrap_or_default();
                if let Ok(r) = serde_json::from_slice::<Receipt>(last_line) {
                    self.last = LastReceipt::of(&r);
                }
                self.written = StoredHead {
                    next_seq: checkpoint.seq + 1,
                    hash: checkpoint.head_hash.clone(),
                    ledger_bytes: self.written.ledger_bytes + bytes as u64,
                };
                kept = bytes;
                notices.push(Notice::tail_adopted(from_seq, &checkpoint));
            }
            ledger.check_not_behind(tenant, &self.written, latest)?;
            let rest = &tail[kept..];
            if !rest.is_empty() {
                let well_formed = extension.next_seq - self.written.next_seq;
                let reason = if well_formed > 0 && ledger.signer.is_some() {
                    "well-formed receipts after the head that no checkpoint signed by this \
                     ledger's key covers: never acknowledged, and possibly forged"
                } else if well_formed > 0
                    && ledger.wal.is_some_and(|w| crate::sync::lock(w).was_missing)
                {
                    "well-formed receipts after the head, and no write-ahead log beside the \
                     ledger: if one was deleted or moved aside, they may have been \
                     acknowledged through it (restore it to replay them); otherwise never \
                     acknowledged"
                } else if well_formed > 0 {
                    "well-formed receipts after the head: never acknowledged (an interrupted \
                     append, or written by someone else)"
                } else if !rest.contains(&b'\n') {
                    "an incomplete line after the head: a write that never finished"
                } else {
                    "bytes after the head that do not continue the chain"
                };
                let qpath = ledger.dir.quarantine_path(tenant, self.written.next_seq);
                replace_file(&qpath, rest)?;
                self.file
                    .set_len(self.written.ledger_bytes)
                    .and_then(|()| self.file.sync_all())
                    .map_err(io_err("move the tail to quarantine from", &self.path))?;
                notices.push(Notice::quarantined(&qpath, rest, well_formed, reason));
            }
        }
        if file_bytes <= self.head.ledger_bytes {
            ledger.check_not_behind(tenant, &self.written, latest)?;
        }
        if notices.is_empty() {
            let qpath = ledger.dir.quarantine_path(tenant, self.written.next_seq);
            if let Some(bytes) = read_optional(&qpath)? {
                notices.push(Notice::quarantined(
                    &qpath,
                    &bytes,
                    0,
                    "moved to quarantine by a writer that stopped before recording it",
                ));
            }
        }
        if let Some(adopted) = adopted {
            notices.insert(0, adopted);
        }
        if notices.is_empty() {
            return Ok(());
        }
        let mut chain = self.written.chain();
        let now = ledger.clock.now();
        let receipts: Vec<Receipt> = notices
            .into_iter()
            .map(|notice| {
                let body = self.last.notice_body(tenant, chain.next_seq, notice, now);
                chain.seal(body)
            })
            .collect();
        self.write(tenant, &receipts)?;
        self.flush_now(ledger, tenant)
    }

    /// How many bytes of `valid` (complete lines continuing the chain after the head) the
    /// latest checkpoint signed by this ledger's keys covers, exactly up to its seq.
    pub(super) fn adoptable(
        &self,
        tenant: &TenantId,
        valid: &[u8],
        latest: Option<&Latest>,
    ) -> Option<(usize, Checkpoint)> {
        let checkpoint = latest.filter(|l| l.signed.is_ok())?.checkpoint.clone();
        if &checkpoint.tenant_id != tenant || checkpoint.seq < self.head.next_seq {
            return None;
        }
        let mut frontier = self.derived.frontier.clone();
        let mut scratch = Vec::new();
        let mut len = 0;
        for l in valid.split_inclusive(|&b| b == b'\n') {
            len += l.len();
            let frame = line::frame(l.strip_suffix(b"\n").unwrap_or(l))?;
            let hash = std::str::from_utf8(frame.hash).ok()?;
            frontier.push(crate::receipts::merkle::leaf_of_hex(hash)?, &mut scratch);
            if frame.seq == checkpoint.seq {
                let matches =
                    hash == checkpoint.head_hash && Some(frontier.root()) == checkpoint.root();
                return matches.then_some((len, checkpoint));
            }
        }
        None
    }

    /// Appends the tree nodes and index offsets kept in memory to their files, so a reader
    /// of the files finds every receipt written (they are written behind the ledger).
    pub(super) fn derived_written(&mut self) -> Result<(), LedgerError> {
        self.derived.write_pending()
    }

    /// Makes everything written durable, signs a checkpoint and advances the head, outside a
    /// group flush (repairs at open).
    pub(super) fn flush_now(
        &mut self,
        ledger: Host<'_>,
        tenant: &TenantId,
    ) -> Result<(), LedgerError> {
        self.file.sync_data().map_err(io_err("sync", &self.path))?;
        self.derived.write_pending()?;
        self.derived.sync()?;
        if let Some(wal) = ledger.wal {
            // The ledger is synced: the log takes the head alone, and the checkpoint.
            let signed = ledger.signer.and_then(|signer| {
                signer.sign_round(vec![self.checkpoint_head(tenant)], ledger.clock.now())
            });
            let entry = Entry {
                tenant,
                at: self.written.ledger_bytes,
                bytes: &[],
                head: &self.written,
            };
            crate::sync::lock(wal).commit(std::slice::from_ref(&entry), signed)?;
            self.head = self.written.clone();
            self.ahead = Some((self.written.ledger_bytes, Vec::new()));
            return Ok(());
        }
        if let (Some(signer), Some((file, path))) = (ledger.signer, &self.checkpoints) {
            let checkpoint = signer.checkpoint(self.checkpoint_head(tenant), ledger.clock.now());
            match ledger.journal {
                // After the tenant's lines already there, so its history keeps its order.
                Some(journal) => crate::sync::lock(journal).record_synced(&checkpoint)?,
                None => {
                    append_checkpoint(file, path, &checkpoint)?;
                    file.sync_data().map_err(io_err("sync", path))?;
                }
            }
        }
        write_head_synced(&self.head_file, &self.head_path, &self.written)?;
        self.head = self.written.clone();
        Ok(())
    }

    /// What a checkpoint of everything written states.
    pub(super) fn checkpoint_head(&self, tenant: &TenantId) -> CheckpointHead {
        CheckpointHead {
            tenant: tenant.clone(),
            seq: self.written.next_seq.saturating_sub(1),
            head_hash: self.written.hash.clone(),
            merkle_root: self.derived.frontier.root(),
            catalog_hash: self.last.catalog_hash.to_string(),
        }
    }

    /// Puts the batch in the file (not yet durable) and returns the seq after it.
    pub(super) fn write(
        &mut self,
        tenant: &TenantId,
        receipts: &[Receipt],
    ) -> Result<u64, LedgerError> {
        let next = check_batch(tenant, &self.written.chain(), receipts)?;
        self.buf.clear();
        let mut at = self.written.ledger_bytes;
        for r in receipts {
            let start = self.buf.len();
            r.write_line(&mut self.buf);
            self.buf.push(b'\n');
            self.derived.push(&r.hash, at);
            at += (self.buf.len() - start) as u64;
        }
        self.file
            .write_all(&self.buf)
            .map_err(io_err("append to", &self.path))?;
        if let Some((_, ahead)) = &mut self.ahead {
            ahead.extend_from_slice(&self.buf);
        }
        if let Some(r) = receipts.last() {
            self.last = LastReceipt::of(r);
        }
        self.written = StoredHead {
            next_seq: next.next_seq,
            hash: next.hash.to_string(),
            ledger_bytes: self.written.ledger_bytes + self.buf.len() as u64,
        };
        Ok(self.written.next_seq)
    }

    /// What a flush needs, taken under the log lock so the syncs can run without it. The
    /// tree and index get their pending nodes and offsets here once enough have gathered.
    pub(super) fn flush_job(
        &mut self,
        tenant: &TenantId,
        signs: bool,
    ) -> Result<FlushJob, LedgerError> {
        self.derived.write_behind()?;
        let (from, bytes) = match &mut self.ahead {
            Some((from, bytes)) => {
                let taken = (*from, std::mem::take(bytes));
                *from = self.written.ledger_bytes;
                taken
            }
            None => (self.written.ledger_bytes, Vec::new()),
        };
        Ok(FlushJob {
            tenant: tenant.clone(),
            from,
            bytes,
            file: Arc::clone(&self.file),
            head_file: Arc::clone(&self.head_file),
            path: self.path.clone(),
            head_path: self.head_path.clone(),
            target: self.written.clone(),
            checkpoint: signs.then(|| self.checkpoint_head(tenant)),
            checkpoints: self
                .checkpoints
                .as_ref()
                .map(|(f, p)| (Arc::clone(f), p.clone())),
        })
    }
}

/// Checks that the line ending at the head's length is the receipt the head names, and
/// returns it with the byte it starts at (`None` for an empty chain).
pub(super) fn check_last_line(
    file: &File,
    path: &Path,
    head: &StoredHead,
) -> Result<Option<(Vec<u8>, u64)>, LedgerError> {
    let end = head.ledger_bytes;
    if end == 0 {
        return Ok(None);
    }
    let mismatch = |detail: String| LedgerError::HeadMismatch {
        path: path.to_path_buf(),
        detail,
    };
    let Some((line, line_start)) = last_line(file, path, end)? else {
        return Err(mismatch(format!(
            "the head records {end} bytes but the ledger has no line ending there"
        )));
    };
    let frame = line::frame(&line)
        .filter(line::Frame::hash_matches)
        .ok_or_else(|| {
            mismatch(format!(
                "the receipt the head points at (byte {line_start}) is damaged"
            ))
        })?;
    if frame.seq + 1 != head.next_seq {
        return Err(mismatch(format!(
            "the head records {} receipts but the line it points at is seq {}",
            head.next_seq, frame.seq
        )));
    }
    if let Some(detail) = head_mismatch(head, frame.hash, end as usize) {
        return Err(mismatch(detail));
    }
    Ok(Some((line, line_start)))
}

/// Appends a checkpoint line (the caller syncs).
pub(super) fn append_checkpoint(
    file: &File,
    path: &Path,
    checkpoint: &Checkpoint,
) -> Result<(), LedgerError> {
    append_checkpoint_lines(file, path, &checkpoint_lines([checkpoint]))
}

/// One flush: make the ledger durable up to `target`, sign a checkpoint of it, then record
/// `target` as the head. (The tree and index are written behind, never synced.)
pub(super) struct FlushJob {
    pub(super) tenant: TenantId,
    /// With a write-ahead log: what the ledger gained since the last flush, from byte `from`.
    pub(super) from: u64,
    pub(super) bytes: Vec<u8>,
    pub(super) file: Arc<File>,
    pub(super) head_file: Arc<File>,
    pub(super) path: PathBuf,
    pub(super) head_path: PathBuf,
    pub(super) target: StoredHead,
    /// What to sign, when the ledger signs.
    pub(super) checkpoint: Option<CheckpointHead>,
    pub(super) checkpoints: Option<(Arc<File>, PathBuf)>,
}

impl FlushJob {
    /// The files the first sync makes durable.
    pub(super) fn data_files(&self) -> [(&File, &PathBuf); 1] {
        [(&*self.file, &self.path)]
    }

    /// The files the second sync makes durable.
    pub(super) fn meta_files(&self) -> impl Iterator<Item = (&File, &PathBuf)> {
        std::iter::once((&*self.head_file, &self.head_path))
            .chain(self.checkpoints.as_ref().map(|(f, p)| (&**f, p)))
    }
}
