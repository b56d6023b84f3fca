//! The round journal: the checkpoints each flush round signs, written with one append per
//! round and copied to their tenants' checkpoints files behind.
//!
//! A round signs the head of every tenant it wrote. Appending each checkpoint to its own
//! tenant's file dirties a page (and a file size) per tenant per round: across many tenants
//! that is as much disk work as the receipts themselves, and signing cost a third of durable
//! throughput. Instead the round's lines go to the journal in one write, made durable with
//! the heads, and each tenant's lines are appended to its file many rounds at a time.
//!
//! The journal is two files, `rounds.0.journal` and `rounds.1.journal`. Rounds append to the
//! active one; once it holds [`JOURNAL_LIMIT`] bytes (and the other is empty) it is sealed and
//! the other becomes active. The tenants with lines in the sealed file then have all their
//! pending lines appended to their files, an eighth of those tenants per round, so no one
//! round syncs them all; once all are copied and a round's sync has made the copies durable,
//! the sealed file is emptied. A line leaves the journal only after it is durable in its
//! tenant's file.
//!
//! So a tenant's checkpoints are its file's lines followed by its journal lines with a greater
//! seq (a line can be in both: copied, not yet emptied). Readers take both ([`lines_of`]),
//! and the next writer copies what a stopped writer left before it uses any tenant.
//!
//! It serves a signing writer that syncs its heads itself: one that does not hold the
//! write-ahead log (another process holds it; see `wal`, whose records carry their rounds'
//! checkpoints instead). One such writer holds the journal (an exclusive lock, on Linux,
//! where one `syncfs` makes it durable with the heads); a further writer appends to tenants'
//! files directly. The reading side (`LedgerDir::signed_lines`, `latest_checkpoint`) also
//! takes the checkpoints in the write-ahead log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ids::TenantId;
use crate::receipts::signing::Checkpoint;

use super::LedgerError;
use super::dir::{LedgerDir, SignedLine, read_optional, unterminated};
use super::durable::{append_whole, io_err, lock_exclusive};
use super::tree::after_last_newline;

/// The journal's two files: `journal` is no extension of a tenant's files.
pub(super) const JOURNAL_FILES: [&str; 2] = ["rounds.0.journal", "rounds.1.journal"];

/// How many bytes the active file gathers before it is sealed and copied out: about 19
/// rounds of 64 tenants, and about what a reader scans to find a tenant's latest.
pub(super) const JOURNAL_LIMIT: u64 = 1 << 20;

/// Over how many rounds a sealed file's tenants are copied to their files.
const COPY_ROUNDS: usize = 8;

/// The largest journal file a reader takes in. A writer seals one at [`JOURNAL_LIMIT`] and
/// copies it out within [`COPY_ROUNDS`] rounds, so a far larger one was not left by tai.
const JOURNAL_MAX: u64 = 64 << 20;

/// How every checkpoint line starts (`Checkpoint` serializes its tenant first).
const LINE_START: &[u8] = br#"{"tenant_id":""#;

/// The journal, held by this process's writer.
#[derive(Debug)]
pub(super) struct Journal {
    files: [Segment; 2],
    /// Which of `files` rounds append to.
    active: usize,
    /// What the other file is doing.
    sealed: Sealed,
    /// Each tenant's lines in the journal that its file does not hold yet, oldest first.
    pending: HashMap<TenantId, Vec<u8>>,
    /// When the active file is sealed: [`JOURNAL_LIMIT`] (smaller in tests).
    limit: u64,
}

#[derive(Debug)]
struct Segment {
    file: File,
    path: PathBuf,
    len: u64,
    /// The tenants with lines in this file.
    tenants: HashSet<TenantId>,
}

/// The state of the file rounds do not append to.
#[derive(Debug, PartialEq)]
enum Sealed {
    /// Empty: the active file can be sealed.
    Empty,
    /// Its tenants still to be copied to their files.
    Copying(Vec<TenantId>),
    /// Every line copied; emptied after the next sync.
    Copied,
}

/// The fields of a journal line that say whose it is and where it goes.
#[derive(Deserialize)]
struct Whose<'a> {
    #[serde(borrow)]
    tenant_id: &'a str,
    seq: u64,
}

impl Journal {
    /// Opens and locks the journal of `dir` (creating it when `create`), copying what a
    /// previous writer left in it to the tenants' files first. `None` when there is none or
    /// another process holds it.
    pub(super) fn open(
        dir: &LedgerDir,
        create: bool,
        sync: impl Fn() -> Result<(), LedgerError>,
    ) -> Result<Option<Journal>, LedgerError> {
        let open = |name: &str| -> Result<Option<Segment>, LedgerError> {
            let path = dir.path().join(name);
            let file = match OpenOptions::new()
                .read(true)
                .append(true)
                .create(create)
                .open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err("open", &path)(e)),
            };
            match lock_exclusive(&file, &path) {
                Ok(()) => {}
                Err(LedgerError::Locked { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
            let len = file.metadata().map_err(io_err("stat", &path))?.len();
            Ok(Some(Segment {
                file,
                path,
                len,
                tenants: HashSet::new(),
            }))
        };
        let (Some(first), Some(second)) = (open(JOURNAL_FILES[0])?, open(JOURNAL_FILES[1])?) else {
            return Ok(None);
        };
        let files = [first, second];
        let mut journal = Journal {
            files,
            active: 0,
            sealed: Sealed::Empty,
            pending: HashMap::new(),
            limit: JOURNAL_LIMIT,
        };
        if journal.files.iter().any(|f| f.len > 0) {
            journal.copy_left(dir)?;
            sync()?;
            for f in &mut journal.files {
                f.clear()?;
            }
        }
        Ok(Some(journal))
    }

    /// Appends a round's checkpoints to the active file (the caller syncs).
    pub(super) fn record(&mut self, checkpoints: &[Checkpoint]) -> Result<(), LedgerError> {
        let active = &mut self.files[self.active];
        let lines: Vec<Vec<u8>> = checkpoints.iter().map(|c| checkpoint_lines([c])).collect();
        append_whole(&active.file, &active.path, active.len, &lines.concat())?;
        for (c, line) in checkpoints.iter().zip(lines) {
            let pending = self.pending.entry(c.tenant_id.clone()).or_default();
            pending.extend_from_slice(&line);
            active.len += line.len() as u64;
            active.tenants.insert(c.tenant_id.clone());
        }
        Ok(())
    }

    /// [`Journal::record`] of one checkpoint, made durable (a repair outside a flush round).
    pub(super) fn record_synced(&mut self, checkpoint: &Checkpoint) -> Result<(), LedgerError> {
        self.record(std::slice::from_ref(checkpoint))?;
        let active = &self.files[self.active];
        active
            .file
            .sync_data()
            .map_err(io_err("sync", &active.path))
    }

    /// A round's share of copying the sealed file out: its next tenants' pending lines are
    /// appended to their files (all of them when the active file is full again). The
    /// caller syncs, then calls [`Journal::synced`].
    pub(super) fn copy_some(&mut self, dir: &LedgerDir) -> Result<(), LedgerError> {
        let Sealed::Copying(tenants) = &mut self.sealed else {
            return Ok(());
        };
        let share = if self.files[self.active].len >= self.limit {
            tenants.len()
        } else {
            tenants.len().div_ceil(COPY_ROUNDS)
        };
        for _ in 0..share {
            let Some(tenant) = tenants.last() else { break };
            if let Some(lines) = self.pending.get(tenant) {
                append_lines(dir, tenant, lines)?;
            }
            self.pending.remove(tenant);
            tenants.pop();
        }
        if tenants.is_empty() {
            self.sealed = Sealed::Copied;
        }
        Ok(())
    }

    /// After a round's sync: empties a sealed file whose copies that sync made durable, and
    /// seals the active file once it is full and the other is empty.
    pub(super) fn synced(&mut self) -> Result<(), LedgerError> {
        let other = 1 - self.active;
        if self.sealed == Sealed::Copied {
            self.files[other].clear()?;
            self.sealed = Sealed::Empty;
        }
        if self.sealed == Sealed::Empty && self.files[self.active].len >= self.limit {
            let tenants = std::mem::take(&mut self.files[self.active].tenants);
            self.sealed = Sealed::Copying(tenants.into_iter().collect());
            self.active = other;
        }
        Ok(())
    }

    /// Copies every pending line to its tenant's file (the caller syncs, then
    /// [`Journal::clear`]s): a writer closing.
    pub(super) fn copy_all(&mut self, dir: &LedgerDir) -> Result<(), LedgerError> {
        for (tenant, lines) in &self.pending {
            append_lines(dir, tenant, lines)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// `tenant`'s latest checkpoint when it is still only in the journal: the last of its
    /// pending lines (`None`: its file holds its latest).
    pub(super) fn latest_of(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        let Some(body) = self.pending.get(tenant).and_then(|l| l.strip_suffix(b"\n")) else {
            return Ok(None);
        };
        let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
        serde_json::from_slice(last)
            .map(Some)
            .map_err(|e| LedgerError::CheckpointUnreadable {
                path: self.files[self.active].path.clone(),
                detail: format!("the latest line of tenant `{tenant}`: {e}"),
            })
    }

    /// Whether the journal holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.files.iter().all(|f| f.len == 0)
    }

    /// Empties both files, once everything they held is durable in the tenants' files.
    pub(super) fn clear(&mut self) -> Result<(), LedgerError> {
        for f in &mut self.files {
            f.clear()?;
        }
        self.sealed = Sealed::Empty;
        Ok(())
    }

    /// Appends what a previous writer left in both files to the tenants' files, skipping
    /// the lines a file already ends beyond (a stop between copying and emptying).
    fn copy_left(&self, dir: &LedgerDir) -> Result<(), LedgerError> {
        let contents: Vec<Vec<u8>> = self
            .files
            .iter()
            .map(|f| read_bounded(&f.path).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        let sources: Vec<(&Path, &[u8])> = self
            .files
            .iter()
            .zip(&contents)
            .map(|(f, bytes)| (f.path.as_path(), bytes.as_slice()))
            .collect();
        file_lines(dir, &sources)
    }
}

/// Appends checkpoint lines (each source a file's path and bytes) to their tenants'
/// checkpoints files, in seq order, each once, skipping those a file already ends beyond:
/// what a stopped writer left in its journal.
fn file_lines(dir: &LedgerDir, sources: &[(&Path, &[u8])]) -> Result<(), LedgerError> {
    let mut by_tenant: BTreeMap<&str, Vec<(u64, &[u8])>> = BTreeMap::new();
    for (path, bytes) in sources {
        for (n, line) in complete_lines(bytes) {
            let whose: Whose<'_> =
                serde_json::from_slice(line).map_err(|e| unreadable(path, n, &e))?;
            by_tenant
                .entry(whose.tenant_id)
                .or_default()
                .push((whose.seq, line));
        }
    }
    for (tenant, lines) in by_tenant {
        let tenant = TenantId::new(tenant).map_err(|e| LedgerError::CheckpointUnreadable {
            path: sources
                .first()
                .map_or_else(PathBuf::new, |(p, _)| p.to_path_buf()),
            detail: format!("a line names tenant `{tenant}`: {e}"),
        })?;
        file_tenant_lines(dir, &tenant, lines)?;
    }
    Ok(())
}

/// Appends `tenant`'s checkpoint lines (each with its seq, without its newline) to its
/// checkpoints file: in seq order, each once, skipping those the file already ends beyond
/// (not synced).
pub(super) fn file_tenant_lines<L: AsRef<[u8]>>(
    dir: &LedgerDir,
    tenant: &TenantId,
    mut lines: Vec<(u64, L)>,
) -> Result<(), LedgerError> {
    lines.sort_by_key(|(seq, _)| *seq);
    lines.dedup_by_key(|(seq, _)| *seq);
    let filed = dir.filed_checkpoint(tenant)?.map(|c| c.seq);
    let mut out = Vec::new();
    for (_, line) in lines.iter().filter(|(s, _)| filed.is_none_or(|f| *s > f)) {
        out.extend_from_slice(line.as_ref());
        out.push(b'\n');
    }
    if out.is_empty() {
        return Ok(());
    }
    append_lines(dir, tenant, &out)
}

impl Segment {
    fn clear(&mut self) -> Result<(), LedgerError> {
        self.file.set_len(0).map_err(io_err("empty", &self.path))?;
        self.len = 0;
        self.tenants.clear();
        Ok(())
    }
}

/// Appends `lines` to `tenant`'s checkpoints file (not synced).
fn append_lines(dir: &LedgerDir, tenant: &TenantId, lines: &[u8]) -> Result<(), LedgerError> {
    let path = dir.checkpoints_path(tenant);
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    append_checkpoint_lines(&file, &path, lines)
}

/// Appends `lines` to a tenant's checkpoints `file` (open to read and append), first finishing what a stop mid-append
/// left after its last newline: a whole checkpoint gets its newline, part of a line is cut
/// (it never was a checkpoint; the lines before it stand). Appending after it would have
/// made the file unreadable from that line on.
pub(super) fn append_checkpoint_lines(
    file: &File,
    path: &Path,
    lines: &[u8],
) -> Result<(), LedgerError> {
    let mut len = file.metadata().map_err(io_err("stat", path))?.len();
    let tail = after_last_newline(file, path, len)?;
    if unterminated(&tail).is_some() {
        append_whole(file, path, len, b"\n")?;
        len += 1;
    } else if !tail.is_empty() {
        len -= tail.len() as u64;
        file.set_len(len)
            .map_err(io_err("cut a torn line from", path))?;
    }
    append_whole(file, path, len, lines)
}

/// A tenant's checkpoints, read: its file, then its newer lines in the journal.
impl LedgerDir {
    /// [`LedgerDir::checkpoints`], each with its line as the file holds it (without the
    /// newline): the exact signed text, for copying it elsewhere. The tenant's file, then its
    /// lines in the round journal that follow it (see `journal`). `Err` names the first line
    /// of the file that is not a checkpoint, and why.
    pub fn signed_lines(
        &self,
        tenant: &TenantId,
    ) -> Result<Result<Vec<SignedLine>, String>, LedgerError> {
        // The write-ahead log and the journal first: a writer copies their lines to the file
        // before it reuses or empties them.
        let journal = self.unfiled_lines(tenant)?;
        let bytes = read_optional(&self.checkpoints_path(tenant))?.unwrap_or_default();
        let mut all: Vec<SignedLine> = Vec::new();
        for (i, l) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
            let Some(l) = l.strip_suffix(b"\n") else {
                // After the last newline: a stop mid-append (see `append_checkpoint_lines`).
                if let Some(c) = unterminated(l) {
                    all.push((c, String::from_utf8_lossy(l).into_owned()));
                }
                break;
            };
            if l.is_empty() {
                continue;
            }
            // JSON that parsed is UTF-8: the lossy conversion changes nothing.
            let parsed =
                serde_json::from_slice(l).map(|c| (c, String::from_utf8_lossy(l).into_owned()));
            match parsed {
                Ok(c) => all.push(c),
                Err(e) => {
                    let path = self.checkpoints_path(tenant);
                    return Ok(Err(format!("line {} of `{}`: {e}", i + 1, path.display())));
                }
            }
        }
        let filed = all.last().map(|(c, _)| c.seq);
        all.extend(
            journal
                .into_iter()
                .filter(|(c, _)| filed.is_none_or(|f| c.seq > f)),
        );
        Ok(Ok(all))
    }

    /// `tenant`'s checkpoints a writer has made durable in the write-ahead log or the round
    /// journal, not necessarily in its file yet: by seq, each once.
    fn unfiled_lines(&self, tenant: &TenantId) -> Result<Vec<SignedLine>, LedgerError> {
        let mut lines = self.wal_checkpoints(tenant)?;
        lines.extend(lines_of(self, tenant)?);
        lines.sort_by_key(|(c, _)| c.seq);
        lines.dedup_by_key(|(c, _)| c.seq);
        Ok(lines)
    }

    /// The latest checkpoint of `tenant`: its last line in the write-ahead log or the round
    /// journal, or else the last complete line of its checkpoints file.
    pub fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        let journal = self.unfiled_lines(tenant)?.pop().map(|(c, _)| c);
        let filed = self.filed_checkpoint(tenant)?;
        Ok(match (journal, filed) {
            (Some(j), Some(f)) if f.seq >= j.seq => Some(f),
            (j, f) => j.or(f),
        })
    }
}

/// Checkpoints as the journal and the checkpoints files hold them: a line each.
pub(super) fn checkpoint_lines<'a>(
    checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    for c in checkpoints {
        bytes.extend_from_slice(&c.to_line());
        bytes.push(b'\n');
    }
    bytes
}

/// `tenant`'s lines in the journal of `dir`, by seq (none when there is no journal). A torn
/// last line (a stop during an append) is not a checkpoint yet and is left out.
pub(super) fn lines_of(dir: &LedgerDir, tenant: &TenantId) -> Result<Vec<SignedLine>, LedgerError> {
    let mut prefix = LINE_START.to_vec();
    prefix.extend_from_slice(tenant.as_str().as_bytes());
    prefix.push(b'"');
    let mut out: Vec<SignedLine> = Vec::new();
    for name in JOURNAL_FILES {
        let path = dir.path().join(name);
        let Some(bytes) = read_bounded(&path)? else {
            continue;
        };
        for (n, line) in complete_lines(&bytes) {
            if !line.starts_with(&prefix) {
                // Another tenant's (its readers parse it), unless it is no checkpoint at all.
                if !line.starts_with(LINE_START) {
                    return Err(unreadable(&path, n, &"not a checkpoint"));
                }
                continue;
            }
            let checkpoint: Checkpoint =
                serde_json::from_slice(line).map_err(|e| unreadable(&path, n, &e))?;
            out.push((checkpoint, String::from_utf8_lossy(line).into_owned()));
        }
    }
    // The two files in either order, and a line copied to the other before its file was
    // emptied (a stop in between) counted once.
    out.sort_by_key(|(c, _)| c.seq);
    out.dedup_by_key(|(c, _)| c.seq);
    Ok(out)
}

/// Each newline-ended line with its 1-based number.
fn complete_lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&bytes[..0], |end| &bytes[..end]);
    (1..)
        .zip(complete.split(|&b| b == b'\n'))
        .filter(|(_, l)| !l.is_empty())
}

fn unreadable(path: &Path, line: u64, detail: &dyn std::fmt::Display) -> LedgerError {
    LedgerError::CheckpointUnreadable {
        path: path.to_path_buf(),
        detail: format!("line {line}: {detail}"),
    }
}

/// A journal file's bytes (`None` when missing), refusing one far larger than a writer leaves.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, LedgerError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > JOURNAL_MAX => Err(LedgerError::CheckpointUnreadable {
            path: path.to_path_buf(),
            detail: format!(
                "{} bytes, where a writer keeps at most about {JOURNAL_LIMIT}",
                m.len()
            ),
        }),
        _ => read_optional(path),
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
