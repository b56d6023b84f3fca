//! The round journal: the checkpoints each flush round signs, written with one append per
//! round and copied to their tenants' checkpoints files behind.
//!
//! A round signs the head of every tenant it wrote. Appending each checkpoint to its own
//! tenant's file dirties a page (and a file size) per tenant per round: across many tenants
//! that is as much disk work as the receipts themselves, and signing cost a third of durable
//! throughput. Instead the round's lines go to `<dir>/rounds.journal` in one write, made
//! durable with the heads. Once the journal holds [`JOURNAL_LIMIT`] bytes, its lines are
//! appended to their tenants' files (many rounds in one write per tenant) and made durable,
//! and only then is the journal emptied.
//!
//! So a tenant's checkpoints are its file's lines followed by its lines in the journal with a
//! greater seq (a crash between copying and emptying leaves lines in both). Readers take both
//! ([`lines_of`]; the journal first, so a concurrent copy-and-empty cannot hide a line), and
//! the next writer copies what a crash left in the journal before it uses any tenant.
//!
//! One writer process holds the journal (an exclusive lock, on Linux, where one `syncfs`
//! makes it durable with the heads); another writer on the same directory appends to
//! tenants' files directly.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ids::TenantId;
use crate::receipts::signing::Checkpoint;

use super::LedgerError;
use super::dir::{LedgerDir, SignedLine, read_optional};
use super::durable::io_err;

/// The journal's file name: `journal` is no extension of a tenant's files.
pub(super) const JOURNAL_FILE: &str = "rounds.journal";

/// How many bytes the journal gathers before its lines are copied to their tenants' files:
/// about 15 rounds of 64 tenants, and what a reader scans at most to find a tenant's latest.
pub(super) const JOURNAL_LIMIT: u64 = 1 << 20;

/// The largest journal a reader takes in. A writer empties it at [`JOURNAL_LIMIT`] (plus one
/// round), so a larger one was not left by tai.
const JOURNAL_MAX: u64 = 64 << 20;

/// The journal, held by this process's writer.
#[derive(Debug)]
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
    /// The seq of each tenant's last checkpoint in its file, as far as this writer knows
    /// (each copy would otherwise read every tenant's file).
    filed: HashMap<TenantId, u64>,
}

/// How every checkpoint line starts (`Checkpoint` serializes its tenant first).
const LINE_START: &[u8] = br#"{"tenant_id":""#;

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
        let path = dir.path().join(JOURNAL_FILE);
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
        match super::tenant_log::lock_exclusive(&file, &path) {
            Ok(()) => {}
            Err(LedgerError::Locked { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        let mut journal = Journal {
            file,
            path,
            len,
            filed: HashMap::new(),
        };
        if len > 0 {
            journal.copy_out(dir)?;
            sync()?;
            journal.clear()?;
        }
        Ok(Some(journal))
    }

    /// Appends a round's lines (the caller syncs); true when the journal is now full enough
    /// to be copied out.
    pub(super) fn append(&mut self, lines: &[u8]) -> Result<bool, LedgerError> {
        (&self.file)
            .write_all(lines)
            .map_err(io_err("append to", &self.path))?;
        self.len += lines.len() as u64;
        Ok(self.len >= JOURNAL_LIMIT)
    }

    /// Appends one checkpoint and makes it durable (a repair outside a flush round).
    pub(super) fn append_synced(&mut self, checkpoint: &Checkpoint) -> Result<(), LedgerError> {
        self.append(&checkpoint_lines([checkpoint]))?;
        self.file.sync_data().map_err(io_err("sync", &self.path))
    }

    /// Appends each tenant's lines to its checkpoints file, skipping those the file already
    /// ends beyond (the caller syncs, then [`Journal::clear`]s).
    pub(super) fn copy_out(&mut self, dir: &LedgerDir) -> Result<(), LedgerError> {
        let bytes = read_bounded(&self.path)?;
        let mut by_tenant: BTreeMap<&str, Vec<(u64, &[u8])>> = BTreeMap::new();
        for (n, line) in complete_lines(&bytes) {
            let whose = whose(&self.path, n, line)?;
            by_tenant
                .entry(whose.tenant_id)
                .or_default()
                .push((whose.seq, line));
        }
        for (tenant, lines) in by_tenant {
            let tenant = TenantId::new(tenant).map_err(|e| unreadable(&self.path, 0, &e))?;
            let path = dir.checkpoints_path(&tenant);
            let filed = match self.filed.get(&tenant) {
                Some(&seq) => Some(seq),
                None => dir.filed_checkpoint(&tenant)?.map(|c| c.seq),
            };
            let mut out = Vec::new();
            let mut last = filed;
            for (seq, line) in lines {
                if last.is_none_or(|f| seq > f) {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                    last = Some(seq);
                }
            }
            let Some(last) = last.filter(|_| !out.is_empty()) else {
                continue;
            };
            let mut file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            file.write_all(&out).map_err(io_err("append to", &path))?;
            self.filed.insert(tenant, last);
        }
        Ok(())
    }

    /// Whether the journal holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the journal, once what it held is durable in the tenants' files.
    pub(super) fn clear(&mut self) -> Result<(), LedgerError> {
        self.file.set_len(0).map_err(io_err("empty", &self.path))?;
        self.len = 0;
        Ok(())
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

/// `tenant`'s lines in the journal of `dir`, oldest first (none when there is no journal).
/// A torn last line (a crash during an append) is not a checkpoint yet and is left out.
pub(super) fn lines_of(dir: &LedgerDir, tenant: &TenantId) -> Result<Vec<SignedLine>, LedgerError> {
    let path = dir.path().join(JOURNAL_FILE);
    let Some(bytes) = read_optional_bounded(&path)? else {
        return Ok(Vec::new());
    };
    let mut prefix = LINE_START.to_vec();
    prefix.extend_from_slice(tenant.as_str().as_bytes());
    prefix.push(b'"');
    let mut out = Vec::new();
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

fn whose<'a>(path: &Path, n: u64, line: &'a [u8]) -> Result<Whose<'a>, LedgerError> {
    serde_json::from_slice(line).map_err(|e| unreadable(path, n, &e))
}

fn unreadable(path: &Path, line: u64, detail: &dyn std::fmt::Display) -> LedgerError {
    LedgerError::CheckpointUnreadable {
        path: path.to_path_buf(),
        detail: format!("line {line}: {detail}"),
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, LedgerError> {
    read_optional_bounded(path).map(Option::unwrap_or_default)
}

/// The journal's bytes, refusing one far larger than a writer leaves.
fn read_optional_bounded(path: &Path) -> Result<Option<Vec<u8>>, LedgerError> {
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
