//! The write-ahead log's records: how a round is framed and checksummed, read back whole
//! by the writer that replays it, and searched for a tenant's newest head by readers (see
//! `wal` for what the log is for).
//!
//! A record is a fixed header — magic, the file's epoch, the round number, the lengths of
//! its three parts, a checksum of the header and heads, a checksum of the rest — then the
//! heads (a JSON line per tenant: where its bytes go, how many, its new head), the tenants'
//! bytes in the same order, and the round's checkpoint lines.
//!
//! The checksums find a record that was never finished (a torn write, a crash mid-round);
//! they are not what makes the receipts trustworthy (each receipt's hash, the chain and the
//! signed checkpoints are, and are checked when a record is replayed). So they are CRC32C,
//! as PostgreSQL's and RocksDB's logs use, computed by the processor's own instruction: a
//! SHA-256 of every receipt byte again cost the writer about a tenth of its time. Records of
//! the first format (`tai-wal1`, SHA-256) are still read, so a log an earlier release left
//! behind is replayed.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::TenantId;
use crate::receipts::signing::{Checkpoint, CheckpointError, CheckpointSigner, SignedRound};

use super::LedgerError;
use super::dir::{LedgerDir, SignedLine, read_optional};
use super::durable::{io_err, read_at};
use super::head::StoredHead;

/// The write-ahead log's two files in the ledger directory (`wal` is no extension of a
/// tenant's files).
pub const WAL_FILES: [&str; 2] = ["receipts.0.wal", "receipts.1.wal"];

/// The largest log file a reader takes in: a writer keeps each under the limit plus a step.
pub(super) const WAL_MAX: u64 = 64 << 20;

/// The magic of records this release writes: CRC32C checksums.
const MAGIC: &[u8; 8] = b"tai-wal2";
/// The magic of the first format's records: SHA-256 checksums.
const MAGIC_V1: &[u8; 8] = b"tai-wal1";
/// Magic, epoch, round, three lengths, padding.
const FIELDS_LEN: usize = 48;
/// Room for one checksum in the header: a SHA-256, or a CRC32C (little-endian) and zeros.
const SUM_LEN: usize = 32;
/// The fields, the checksum of the fields and heads, the checksum of the rest.
pub(super) const HEADER_LEN: usize = FIELDS_LEN + 2 * SUM_LEN;

/// How a record's checksums are made, told by its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sums {
    /// `tai-wal1`.
    Sha256,
    /// `tai-wal2`.
    Crc32c,
}

impl Sums {
    /// The magic that starts a record with these checksums.
    fn magic(self) -> &'static [u8; 8] {
        match self {
            Sums::Sha256 => MAGIC_V1,
            Sums::Crc32c => MAGIC,
        }
    }

    /// The checksums a record starting with `magic` has (`None`: not a record).
    fn of_magic(magic: &[u8]) -> Option<Sums> {
        [Sums::Crc32c, Sums::Sha256]
            .into_iter()
            .find(|s| s.magic()[..] == *magic)
    }

    /// The checksum slot of `parts`, one after the other.
    fn of<'a>(self, parts: impl IntoIterator<Item = &'a [u8]>) -> [u8; SUM_LEN] {
        let mut slot = [0u8; SUM_LEN];
        match self {
            Sums::Sha256 => {
                let mut h = Sha256::new();
                for part in parts {
                    h.update(part);
                }
                slot.copy_from_slice(&h.finalize());
            }
            Sums::Crc32c => {
                let crc = parts.into_iter().fold(0, crc32c::crc32c_append);
                slot[..4].copy_from_slice(&crc.to_le_bytes());
            }
        }
        slot
    }
}

/// How every entry line starts (`EntryLine` serializes its tenant first).
const ENTRY_START: &[u8] = br#"{"tenant":""#;

/// One tenant's part of a round: the bytes its ledger gained from `at` on, and its new head.
/// Empty `bytes`: the ledger was synced itself (a repair, or a round too large to log).
pub(super) struct Entry<'a> {
    pub(super) tenant: &'a TenantId,
    pub(super) at: u64,
    pub(super) bytes: &'a [u8],
    pub(super) head: &'a StoredHead,
}

/// An entry's line in a record's heads block; its bytes follow in the data block.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine {
    tenant: String,
    at: u64,
    len: u64,
    next_seq: u64,
    hash: String,
}

impl EntryLine {
    /// An entry line of round `round`'s heads: its tenant, where its bytes go, its head.
    fn parse(
        path: &Path,
        round: u64,
        line: &[u8],
    ) -> Result<(TenantId, u64, StoredHead), LedgerError> {
        let entry: EntryLine =
            serde_json::from_slice(line).map_err(|e| LedgerError::WalDamaged {
                path: path.to_path_buf(),
                detail: format!("an entry of round {round}: {e}"),
            })?;
        let (tenant, head) = entry.head(path)?;
        Ok((tenant, entry.at, head))
    }

    fn head(&self, path: &Path) -> Result<(TenantId, StoredHead), LedgerError> {
        let damaged = |detail: String| LedgerError::WalDamaged {
            path: path.to_path_buf(),
            detail,
        };
        let tenant =
            TenantId::new(&self.tenant).map_err(|e| damaged(format!("an entry's tenant: {e}")))?;
        let end = self.at.checked_add(self.len).ok_or_else(|| {
            damaged(format!(
                "tenant `{tenant}`'s bytes end past the largest file"
            ))
        })?;
        let head = StoredHead {
            next_seq: self.next_seq,
            hash: self.hash.clone(),
            ledger_bytes: end,
        };
        // The same checks as a head file's.
        StoredHead::decode(&head.encode())
            .map_err(|e| damaged(format!("the head of tenant `{tenant}`: {e}")))?;
        Ok((tenant, head))
    }
}

/// A record's fixed fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    sums: Sums,
    pub(super) epoch: u64,
    pub(super) round: u64,
    heads_len: usize,
    data_len: usize,
    checkpoints_len: usize,
}

impl Frame {
    /// The frame of the record whose header is `header`, when it continues a file whose
    /// first record was `first` and which has `read` records before it: the same epoch and
    /// the next round (`None`: this is where the file's current records end).
    fn continuing(header: &[u8], first: Option<Frame>, read: u64) -> Option<Frame> {
        let frame = Frame::parse(header.get(..FIELDS_LEN)?)?;
        match first {
            Some(first) if frame.epoch != first.epoch || frame.round != first.round + read => None,
            _ => Some(frame),
        }
    }

    /// Whether `heads` are what `header`'s first checksum covers.
    fn heads_hold(&self, header: &[u8], heads: &[u8]) -> bool {
        let sum = self.sums.of([&header[..FIELDS_LEN], heads]);
        sum[..] == header[FIELDS_LEN..FIELDS_LEN + SUM_LEN]
    }

    /// Whether `rest` (the receipts and checkpoints) is what `header`'s second checksum
    /// covers.
    fn rest_holds(&self, header: &[u8], rest: &[u8]) -> bool {
        self.sums.of([rest])[..] == header[FIELDS_LEN + SUM_LEN..HEADER_LEN]
    }

    pub(super) fn len(&self) -> u64 {
        (HEADER_LEN + self.heads_len + self.data_len + self.checkpoints_len) as u64
    }

    fn fields(&self) -> [u8; FIELDS_LEN] {
        let mut f = [0u8; FIELDS_LEN];
        f[..8].copy_from_slice(self.sums.magic());
        f[8..16].copy_from_slice(&self.epoch.to_le_bytes());
        f[16..24].copy_from_slice(&self.round.to_le_bytes());
        for (i, len) in [self.heads_len, self.data_len, self.checkpoints_len]
            .into_iter()
            .enumerate()
        {
            let at = 24 + 4 * i;
            f[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
        }
        f
    }

    fn parse(fields: &[u8]) -> Option<Frame> {
        let sums = Sums::of_magic(fields.get(..8)?)?;
        let u64_at = |at: usize| Some(u64::from_le_bytes(fields.get(at..at + 8)?.try_into().ok()?));
        let len_at =
            |at: usize| Some(u32::from_le_bytes(fields.get(at..at + 4)?.try_into().ok()?) as usize);
        Some(Frame {
            sums,
            epoch: u64_at(8)?,
            round: u64_at(16)?,
            heads_len: len_at(24)?,
            data_len: len_at(28)?,
            checkpoints_len: len_at(32)?,
        })
    }
}

/// A record: its header, then the entry lines, the entries' bytes, the checkpoint lines.
pub(super) fn encode(epoch: u64, round: u64, entries: &[Entry<'_>], checkpoints: &[u8]) -> Vec<u8> {
    encode_as(Sums::Crc32c, epoch, round, entries, checkpoints)
}

/// [`encode`] with `sums` checksums (tests write the first format with it).
fn encode_as(
    sums: Sums,
    epoch: u64,
    round: u64,
    entries: &[Entry<'_>],
    checkpoints: &[u8],
) -> Vec<u8> {
    let mut heads = Vec::new();
    for e in entries {
        let line = EntryLine {
            tenant: e.tenant.to_string(),
            at: e.at,
            len: e.bytes.len() as u64,
            next_seq: e.head.next_seq,
            hash: e.head.hash.clone(),
        };
        // Strings and integers: encoding cannot fail, and a record written without its
        // heads would lose them.
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: an entry is never written as a stand-in"
        )]
        serde_json::to_writer(&mut heads, &line).expect("an entry encodes as JSON");
        heads.push(b'\n');
    }
    let data_len: usize = entries.iter().map(|e| e.bytes.len()).sum();
    let frame = Frame {
        sums,
        epoch,
        round,
        heads_len: heads.len(),
        data_len,
        checkpoints_len: checkpoints.len(),
    };
    let fields = frame.fields();
    let mut record = Vec::with_capacity(frame.len() as usize);
    record.extend_from_slice(&fields);
    record.extend_from_slice(&sums.of([&fields[..], &heads]));
    let rest = entries.iter().map(|e| e.bytes).chain([checkpoints]);
    record.extend_from_slice(&sums.of(rest));
    record.extend_from_slice(&heads);
    for e in entries {
        record.extend_from_slice(e.bytes);
    }
    record.extend_from_slice(checkpoints);
    record
}

/// The size of the record [`encode`] makes, without making it.
pub(super) fn encoded_len(entries: &[Entry<'_>], checkpoints: usize) -> u64 {
    // An entry line is its tenant, two hashes' worth of text at most, and four numbers.
    let line = |e: &Entry<'_>| 120 + e.tenant.as_str().len() + e.head.hash.len();
    let heads: usize = entries.iter().map(line).sum();
    let data: usize = entries.iter().map(|e| e.bytes.len()).sum();
    (HEADER_LEN + heads + data + checkpoints) as u64
}

/// A record read back from a log file.
pub(super) struct Record<'a> {
    pub(super) frame: Frame,
    /// Each entry: tenant, where its bytes go, its head.
    pub(super) entries: Vec<(TenantId, u64, StoredHead)>,
    pub(super) data: &'a [u8],
    pub(super) checkpoints: &'a [u8],
}

/// The records of a log file's bytes, from its start while each carries the first one's
/// epoch and the next round, whole and with its checksums. The first that does not is where
/// the last use of the file (or a round that never finished) ends.
pub(super) fn records<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<Record<'a>>, LedgerError> {
    let mut out: Vec<Record<'a>> = Vec::new();
    let mut at = 0usize;
    // Each round is synced before the next is written, so only the last can be torn: a
    // whole later round of this use of the file where the records stop means the record
    // there was damaged after it was written, and the rounds after it hold acknowledged
    // receipts a reader must not drop.
    let damaged = |at: usize, out: &[Record<'_>]| {
        // The file's first record of this use: the one read, or this one's own fields.
        let first = match out.first() {
            Some(r) => r.frame,
            None => Frame::parse(bytes.get(at..at + FIELDS_LEN)?)?,
        };
        let round = first.round + out.len() as u64;
        let later = whole_round_after(bytes, at + 1, first.epoch, round + 1)?;
        Some(LedgerError::WalDamaged {
            path: path.to_path_buf(),
            detail: format!(
                "round {round} does not match its checksum, yet round {later} is whole after \
                 it: the log was changed after it was written (only a last round can be \
                 torn), and replaying it would drop what the rounds after it acknowledged"
            ),
        })
    };
    while let Some(header) = bytes.get(at..at + HEADER_LEN) {
        let first = out.first().map(|r| r.frame);
        let whole = Frame::continuing(header, first, out.len() as u64).and_then(|frame| {
            let body = bytes.get(at + HEADER_LEN..at + frame.len() as usize)?;
            let (heads, rest) = body.split_at(frame.heads_len);
            (frame.heads_hold(header, heads) && frame.rest_holds(header, rest))
                .then_some((frame, heads, rest))
        });
        let Some((frame, heads, rest)) = whole else {
            match damaged(at, &out) {
                Some(e) => return Err(e),
                None => break,
            }
        };
        let (data, checkpoints) = rest.split_at(frame.data_len);
        let entries = heads
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|line| EntryLine::parse(path, frame.round, line))
            .collect::<Result<Vec<_>, _>>()?;
        let data_len: u64 = entries.iter().map(|(_, at, h)| h.ledger_bytes - at).sum();
        if data_len != frame.data_len as u64 {
            return Err(LedgerError::WalDamaged {
                path: path.to_path_buf(),
                detail: format!(
                    "round {} holds {} bytes of receipts but its entries add up to {data_len}",
                    frame.round, frame.data_len
                ),
            });
        }
        out.push(Record {
            frame,
            entries,
            data,
            checkpoints,
        });
        at += frame.len() as usize;
    }
    Ok(out)
}

/// The round of the first whole record of `epoch` from round `from` on that starts in
/// `bytes` at or after `start` (found by its magic, so even a record whose lengths were
/// damaged does not hide the ones after it).
fn whole_round_after(bytes: &[u8], start: usize, epoch: u64, from: u64) -> Option<u64> {
    let mut at = start;
    while let Some(rest) = bytes.get(at..) {
        let found = [MAGIC, MAGIC_V1]
            .iter()
            .filter_map(|m| memchr::memmem::find(rest, &m[..]))
            .min()?;
        at += found;
        let whole = bytes.get(at..at + HEADER_LEN).and_then(|header| {
            let frame = Frame::parse(&header[..FIELDS_LEN])?;
            if frame.epoch != epoch || frame.round < from {
                return None;
            }
            let body = bytes.get(at + HEADER_LEN..at + usize::try_from(frame.len()).ok()?)?;
            let (heads, rest) = body.split_at(frame.heads_len);
            (frame.heads_hold(header, heads) && frame.rest_holds(header, rest)).then_some(frame)
        });
        if let Some(frame) = whole {
            return Some(frame.round);
        }
        at += 1;
    }
    None
}

/// A round's checkpoints as a record's checkpoints part holds them: one line, the round stored
/// once (see [`SignedRound`]).
pub(super) fn round_line(path: &Path, round: &SignedRound) -> Result<Vec<u8>, LedgerError> {
    let mut line = serde_json::to_vec(round).map_err(|e| LedgerError::WalDamaged {
        path: path.to_path_buf(),
        detail: format!("a round's checkpoints: {e}"),
    })?;
    line.push(b'\n');
    Ok(line)
}

/// The checkpoints of records' checkpoint parts, each round's in round order.
pub(super) fn round_checkpoints<'a>(
    path: &Path,
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Checkpoint>, LedgerError> {
    signed_round_checkpoints(path, parts, None)
}

/// [`round_checkpoints`], for a writer with `signer`: every round whose signature does not
/// verify under a key it trusts is left out (one check per round, whose signature binds all
/// its checkpoints), and a round signed by a key it does not know is refused, since its
/// rounds are then neither vouched for nor forged (a rotated key not told its predecessor).
pub(super) fn signed_round_checkpoints<'a>(
    path: &Path,
    parts: impl IntoIterator<Item = &'a [u8]>,
    signer: Option<&CheckpointSigner>,
) -> Result<Vec<Checkpoint>, LedgerError> {
    let mut out = Vec::new();
    for part in parts {
        for line in part.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let round: SignedRound =
                serde_json::from_slice(line).map_err(|e| LedgerError::WalDamaged {
                    path: path.to_path_buf(),
                    detail: format!("a round's checkpoints: {e}"),
                })?;
            let checkpoints = round.checkpoints();
            if let (Some(signer), Some(first)) = (signer, checkpoints.first()) {
                match first.verify_signature(signer.trusted()) {
                    Ok(()) => {}
                    Err(CheckpointError::UnknownKey { key_id, .. }) => {
                        let what = format!("a round in the write-ahead log `{}`", path.display());
                        return Err(LedgerError::other_key(what, key_id, signer));
                    }
                    Err(_) => continue,
                }
            }
            out.extend(checkpoints);
        }
    }
    Ok(out)
}

/// The records of both log files of `dir` as they are now: each file's bytes, read whole.
pub(super) fn read_files(dir: &LedgerDir) -> Result<Vec<(PathBuf, Vec<u8>)>, LedgerError> {
    let mut files = Vec::new();
    for name in WAL_FILES {
        let path = dir.path().join(name);
        if let Some(bytes) = read_bounded(&path)? {
            files.push((path, bytes));
        }
    }
    Ok(files)
}

/// A log file's bytes, refusing one far larger than a writer leaves; `None` when it is
/// missing or holds no record (a closed writer's or a replayed log: its first header is
/// cleared), so that case costs one small read, not the file.
pub(super) fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, LedgerError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    if len > WAL_MAX {
        return Err(too_large(path, len));
    }
    let mut header = [0u8; FIELDS_LEN];
    if len < HEADER_LEN as u64 {
        return Ok(None);
    }
    read_at(&file, &mut header, 0).map_err(io_err("read", path))?;
    if Frame::parse(&header).is_none() {
        return Ok(None);
    }
    read_optional(path)
}

fn too_large(path: &Path, len: u64) -> LedgerError {
    LedgerError::WalDamaged {
        path: path.to_path_buf(),
        detail: format!("{len} bytes, more than a writer ever leaves ({WAL_MAX} at most)"),
    }
}

/// A tenant's head as the log and its head file hold it, read.
impl LedgerDir {
    /// `tenant`'s newest head in the write-ahead log (see `wal`), `None` when it has none.
    /// Only the records' heads are read, not the receipts they carry.
    pub(super) fn wal_head(&self, tenant: &TenantId) -> Result<Option<StoredHead>, LedgerError> {
        let mut prefix = ENTRY_START.to_vec();
        prefix.extend_from_slice(tenant.as_str().as_bytes());
        prefix.push(b'"');
        let mut newest: Option<StoredHead> = None;
        for name in WAL_FILES {
            let path = self.path().join(name);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("open", &path)(e)),
            };
            let len = file.metadata().map_err(io_err("stat", &path))?.len();
            if len > WAL_MAX {
                return Err(too_large(&path, len));
            }
            let mut at = 0u64;
            let mut first: Option<Frame> = None;
            let mut count = 0u64;
            let mut header = [0u8; HEADER_LEN];
            // Each record read: where it starts, its fields, its header, and the tenant's
            // head in it.
            let mut found: Vec<(u64, Frame, [u8; HEADER_LEN], Option<StoredHead>)> = Vec::new();
            while at + HEADER_LEN as u64 <= len {
                read_at(&file, &mut header, at).map_err(io_err("read", &path))?;
                let Some(frame) = Frame::continuing(&header, first, count) else {
                    break;
                };
                if at + frame.len() > len {
                    break;
                }
                let mut heads = vec![0u8; frame.heads_len];
                read_at(&file, &mut heads, at + HEADER_LEN as u64)
                    .map_err(io_err("read", &path))?;
                // A record whose heads do not hold together was never finished: what
                // follows it is not read either.
                if !frame.heads_hold(&header, &heads) {
                    break;
                }
                let mut mine = None;
                for line in heads
                    .split(|&b| b == b'\n')
                    .filter(|l| l.starts_with(&prefix))
                {
                    mine = Some(EntryLine::parse(&path, frame.round, line)?.2);
                }
                found.push((at, frame, header, mine));
                first.get_or_insert(frame);
                count += 1;
                at += frame.len();
            }
            // Each record is synced before the next is written, so only the last can be torn
            // (or still being written): its receipts are checked too, the others' are not
            // read.
            if let Some(&(at, frame, header, _)) = found.last() {
                let start = at + (HEADER_LEN + frame.heads_len) as u64;
                let mut rest = vec![0u8; frame.data_len + frame.checkpoints_len];
                read_at(&file, &mut rest, start).map_err(io_err("read", &path))?;
                if !frame.rest_holds(&header, &rest) {
                    found.pop();
                }
            }
            for head in found.into_iter().filter_map(|(.., head)| head) {
                if newest.as_ref().is_none_or(|n| head.next_seq > n.next_seq) {
                    newest = Some(head);
                }
            }
        }
        Ok(newest)
    }

    /// `tenant`'s checkpoints in the write-ahead log (see `wal`), by seq: the rounds a writer
    /// made durable there and has not yet copied to the tenant's checkpoints file.
    pub(super) fn wal_checkpoints(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<SignedLine>, LedgerError> {
        let mut out: Vec<SignedLine> = Vec::new();
        for (path, bytes) in read_files(self)? {
            let records = records(&path, &bytes)?;
            let parts = records.iter().map(|r| r.checkpoints);
            for c in round_checkpoints(&path, parts)? {
                if &c.tenant_id == tenant {
                    let line = String::from_utf8_lossy(&c.to_line()).into_owned();
                    out.push((c, line));
                }
            }
        }
        out.sort_by_key(|(c, _)| c.seq);
        out.dedup_by_key(|(c, _)| c.seq);
        Ok(out)
    }

    /// `tenant`'s acknowledged head, encoded as a head file holds it (`None`: neither a head
    /// file nor the log has one): the newer of its head file and its newest head in the
    /// write-ahead log.
    pub fn read_head(&self, tenant: &TenantId) -> Result<Option<Vec<u8>>, LedgerError> {
        // The log first: a writer writes a head file before it reuses a log file.
        let logged = self.wal_head(tenant)?;
        let filed = self.read_head_file(tenant)?;
        Ok(match (logged, filed) {
            (Some(logged), Some(filed)) => match StoredHead::decode(&filed) {
                Ok(f) if f.next_seq < logged.next_seq => Some(logged.encode()),
                // The file's head is as new (a checkpoint wrote it), or it does not decode
                // and is reported as it is.
                _ => Some(filed),
            },
            (logged, None) => logged.map(|h| h.encode()),
            (None, filed) => filed,
        })
    }
}

#[cfg(test)]
#[path = "wal_record_tests.rs"]
mod tests;
