//! The files derived from a tenant's ledger: its Merkle tree's stored nodes (`<tenant>.tree`)
//! and the byte offset of each seq's line (`<tenant>.idx`, 8 bytes little-endian per seq).
//!
//! Both only grow, and both are written behind the ledger: the writer keeps the nodes and
//! offsets of new receipts in memory and appends them once [`WRITE_BEHIND`] receipts have
//! gathered, before it reads the files itself, and when it closes. They are never synced on
//! their own: a flush that had to write and sync two more files per tenant cost a third of
//! the time of every durable round. A crash can leave them short, and the next writer extends
//! them from the ledger from where they end; they are rebuilt whole when missing or when
//! they do not match the chain. The ledger is the record, these are how it is read quickly.
//! Readers check what they take from them against the ledger (a line at an indexed offset
//! must be that seq's line; a proof must verify against the signed root), and compute from
//! the ledger what the files do not hold yet.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::receipts::line;
use crate::receipts::merkle::{self, Frontier, Hash, NodeSource};

use super::LedgerError;
use super::durable::{io_err, read_at, replace_file};

/// Bytes per stored node.
pub(crate) const NODE_LEN: u64 = 32;
/// Bytes per index entry.
pub(crate) const INDEX_LEN: u64 = 8;

/// How many receipts' nodes and offsets a writer keeps in memory before appending them to
/// the files: about 4.5 KiB per tenant.
pub(crate) const WRITE_BEHIND: usize = 64;

/// A tree file read by position.
#[derive(Debug)]
pub(crate) struct TreeFile<'a> {
    pub file: &'a File,
    pub path: &'a Path,
}

impl NodeSource for TreeFile<'_> {
    type Error = LedgerError;
    fn node(&self, level: u32, index: u64) -> Result<Hash, LedgerError> {
        let mut node = [0u8; 32];
        read_at(
            self.file,
            &mut node,
            merkle::node_position(level, index) * NODE_LEN,
        )
        .map_err(io_err("read", self.path))?;
        Ok(node)
    }
}

/// The tree and index of an open tenant log, and what the next flush appends to them.
#[derive(Debug)]
pub(super) struct Derived {
    pub tree: Arc<File>,
    pub index: Arc<File>,
    pub tree_path: PathBuf,
    pub index_path: PathBuf,
    /// The tree of everything written (not only what is durable).
    pub frontier: Frontier,
    /// Nodes and offsets written to the ledger but not yet to these files.
    pub pending_nodes: Vec<u8>,
    pub pending_index: Vec<u8>,
}

fn open_rw(path: &Path) -> Result<File, LedgerError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open", path))
}

impl Derived {
    /// Opens the tree and index of a chain of `n` receipts whose last one has `last_hash`
    /// and starts at byte `last_start` of `ledger`: extended from the ledger when they hold
    /// a part of the chain that matches it, rebuilt from the ledger's first `ledger_bytes`
    /// bytes otherwise.
    pub fn open(
        tree_path: PathBuf,
        index_path: PathBuf,
        ledger: (&File, &Path),
        n: u64,
        last: Option<(&str, u64)>,
        ledger_bytes: u64,
    ) -> Result<Derived, LedgerError> {
        let tree = Arc::new(open_rw(&tree_path)?);
        let index = Arc::new(open_rw(&index_path)?);
        let mut derived = Derived {
            tree,
            index,
            tree_path,
            index_path,
            frontier: Frontier::default(),
            pending_nodes: Vec::new(),
            pending_index: Vec::new(),
        };
        match derived.load(n, last) {
            Ok(true) => {}
            Ok(false) | Err(_) => match derived.extend(ledger, n, ledger_bytes) {
                Ok(true) => {}
                Ok(false) | Err(_) => derived.rebuild(ledger, ledger_bytes)?,
            },
        }
        Ok(derived)
    }

    /// Takes the files as they are when they hold the first receipts of the chain (a writer
    /// stopped before appending what it kept in memory), and adds the rest from the ledger:
    /// reading only the receipts they miss.
    fn extend(
        &mut self,
        (ledger, ledger_path): (&File, &Path),
        n: u64,
        ledger_bytes: u64,
    ) -> Result<bool, LedgerError> {
        let tree_len = file_len(&self.tree, &self.tree_path)?;
        // The most receipts both files cover (a node count only grows with the receipts).
        let (mut low, mut high) = (
            0,
            (file_len(&self.index, &self.index_path)? / INDEX_LEN).min(n),
        );
        while low < high {
            let mid = high - (high - low) / 2;
            if merkle::stored_nodes(mid) * NODE_LEN <= tree_len {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let held = low;
        if held == 0 {
            return Ok(false);
        }
        // The last receipt they hold must be the ledger's line at the offset they give.
        let mut offset = [0u8; 8];
        read_at(&self.index, &mut offset, (held - 1) * INDEX_LEN)
            .map_err(io_err("read", &self.index_path))?;
        let start = u64::from_le_bytes(offset);
        let Some(line) = line_at(ledger, ledger_path, start, ledger_bytes)? else {
            return Ok(false);
        };
        let tree = TreeFile {
            file: &self.tree,
            path: &self.tree_path,
        };
        let matches = line::frame(&line).is_some_and(|f| {
            f.seq == held - 1
                && std::str::from_utf8(f.hash)
                    .ok()
                    .and_then(merkle::leaf_of_hex)
                    == tree.node(0, held - 1).ok()
        });
        if !matches {
            return Ok(false);
        }
        self.frontier = Frontier::load(&tree, held)?;
        self.tree
            .set_len(merkle::stored_nodes(held) * NODE_LEN)
            .map_err(io_err("truncate", &self.tree_path))?;
        self.index
            .set_len(held * INDEX_LEN)
            .map_err(io_err("truncate", &self.index_path))?;
        let from = start + line.len() as u64 + 1;
        let rest = read_range(ledger, ledger_path, from, ledger_bytes)?;
        self.push_lines(&rest, from);
        self.write_pending()?;
        Ok(true)
    }

    /// Takes the stored files as they are when they cover `n` receipts and end at the last
    /// one; cuts off what they hold beyond it (an unacknowledged batch).
    fn load(&mut self, n: u64, last: Option<(&str, u64)>) -> Result<bool, LedgerError> {
        let nodes = merkle::stored_nodes(n) * NODE_LEN;
        let entries = n * INDEX_LEN;
        if file_len(&self.tree, &self.tree_path)? < nodes
            || file_len(&self.index, &self.index_path)? < entries
        {
            return Ok(false);
        }
        if let Some((hash, start)) = last {
            let tree = TreeFile {
                file: &self.tree,
                path: &self.tree_path,
            };
            let leaf = tree.node(0, n - 1)?;
            let mut offset = [0u8; 8];
            read_at(&self.index, &mut offset, (n - 1) * INDEX_LEN)
                .map_err(io_err("read", &self.index_path))?;
            if merkle::leaf_of_hex(hash) != Some(leaf) || u64::from_le_bytes(offset) != start {
                return Ok(false);
            }
        }
        self.frontier = Frontier::load(
            &TreeFile {
                file: &self.tree,
                path: &self.tree_path,
            },
            n,
        )?;
        self.tree
            .set_len(nodes)
            .map_err(io_err("truncate", &self.tree_path))?;
        self.index
            .set_len(entries)
            .map_err(io_err("truncate", &self.index_path))?;
        Ok(true)
    }

    /// Recomputes both files from the ledger's first `ledger_bytes` bytes.
    fn rebuild(
        &mut self,
        (ledger, ledger_path): (&File, &Path),
        ledger_bytes: u64,
    ) -> Result<(), LedgerError> {
        let mut bytes = vec![0; usize::try_from(ledger_bytes).unwrap_or(0)];
        read_at(ledger, &mut bytes, 0).map_err(io_err("read", ledger_path))?;
        self.frontier = Frontier::default();
        let mut nodes = Vec::new();
        let mut offsets = Vec::new();
        let mut start = 0usize;
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            let body = l.strip_suffix(b"\n").unwrap_or(l);
            self.push_line(body, start as u64, &mut nodes, &mut offsets);
            start += l.len();
        }
        replace_file(&self.tree_path, &nodes)?;
        replace_file(&self.index_path, &offsets)?;
        // The rename left the open handles on the old files.
        self.tree = Arc::new(open_rw(&self.tree_path)?);
        self.index = Arc::new(open_rw(&self.index_path)?);
        Ok(())
    }

    fn push_line(&mut self, line: &[u8], start: u64, nodes: &mut Vec<u8>, offsets: &mut Vec<u8>) {
        let leaf = line::frame(line)
            .and_then(|f| {
                std::str::from_utf8(f.hash)
                    .ok()
                    .and_then(merkle::leaf_of_hex)
            })
            .unwrap_or_default();
        self.frontier.push(leaf, nodes);
        offsets.extend_from_slice(&start.to_le_bytes());
    }

    /// Records a receipt written to the ledger at byte `start`, whose hash is `hash` (hex).
    pub fn push(&mut self, hash: &str, start: u64) {
        let leaf = merkle::leaf_of_hex(hash).unwrap_or_default();
        self.frontier.push(leaf, &mut self.pending_nodes);
        self.pending_index.extend_from_slice(&start.to_le_bytes());
    }

    /// Records the complete lines of `bytes`, which start at byte `start` of the ledger.
    pub fn push_lines(&mut self, bytes: &[u8], mut start: u64) {
        let (mut nodes, mut offsets) = (
            std::mem::take(&mut self.pending_nodes),
            std::mem::take(&mut self.pending_index),
        );
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            let body = l.strip_suffix(b"\n").unwrap_or(l);
            self.push_line(body, start, &mut nodes, &mut offsets);
            start += l.len() as u64;
        }
        self.pending_nodes = nodes;
        self.pending_index = offsets;
    }

    /// Appends what is pending to the files once [`WRITE_BEHIND`] receipts have gathered.
    pub fn write_behind(&mut self) -> Result<(), LedgerError> {
        if self.pending_index.len() < WRITE_BEHIND * INDEX_LEN as usize {
            return Ok(());
        }
        self.write_pending()
    }

    /// Appends what is pending to the files (not synced: see the module's comment).
    pub fn write_pending(&mut self) -> Result<(), LedgerError> {
        append(&self.tree, &self.tree_path, &self.pending_nodes)?;
        append(&self.index, &self.index_path, &self.pending_index)?;
        self.pending_nodes.clear();
        self.pending_index.clear();
        Ok(())
    }

    /// Makes both files durable.
    pub fn sync(&self) -> Result<(), LedgerError> {
        self.tree
            .sync_data()
            .map_err(io_err("sync", &self.tree_path))?;
        self.index
            .sync_data()
            .map_err(io_err("sync", &self.index_path))
    }
}

fn file_len(file: &File, path: &Path) -> Result<u64, LedgerError> {
    file.metadata()
        .map(|m| m.len())
        .map_err(io_err("stat", path))
}

/// Bytes `start..end` of `file`.
pub(super) fn read_range(
    file: &File,
    path: &Path,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, LedgerError> {
    let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(0)];
    read_at(file, &mut bytes, start).map_err(io_err("read", path))?;
    Ok(bytes)
}

/// The last line of `file` before byte `end`, without its newline, and the byte it starts
/// at; `None` when `end` is 0 or byte `end - 1` is not a newline. Read backwards in growing
/// windows, so a long file costs what its last line does, not its length.
pub(super) fn last_line(
    file: &File,
    path: &Path,
    end: u64,
) -> Result<Option<(Vec<u8>, u64)>, LedgerError> {
    let mut window = 4096u64;
    loop {
        let start = end.saturating_sub(window);
        let bytes = read_range(file, path, start, end)?;
        let Some(body) = bytes.strip_suffix(b"\n") else {
            return Ok(None);
        };
        match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => return Ok(Some((body[i + 1..].to_vec(), start + i as u64 + 1))),
            None if start == 0 => return Ok(Some((body.to_vec(), 0))),
            None => window = window.saturating_mul(4),
        }
    }
}

/// The bytes of `file` after its last newline before `end` (all of them when it has none):
/// what a stop in the middle of appending a line leaves.
pub(super) fn after_last_newline(
    file: &File,
    path: &Path,
    end: u64,
) -> Result<Vec<u8>, LedgerError> {
    let mut window = 4096u64;
    loop {
        let start = end.saturating_sub(window);
        let bytes = read_range(file, path, start, end)?;
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(i) => return Ok(bytes[i + 1..].to_vec()),
            None if start == 0 => return Ok(bytes),
            None => window = window.saturating_mul(4),
        }
    }
}

/// The line of `ledger` starting at byte `start` (without its newline), if a complete one
/// does before byte `end`.
fn line_at(
    ledger: &File,
    path: &Path,
    start: u64,
    end: u64,
) -> Result<Option<Vec<u8>>, LedgerError> {
    let mut window = 4096u64;
    loop {
        let stop = start.saturating_add(window).min(end);
        if stop <= start {
            return Ok(None);
        }
        let bytes = read_range(ledger, path, start, stop)?;
        if let Some(at) = bytes.iter().position(|&b| b == b'\n') {
            return Ok(Some(bytes[..at].to_vec()));
        }
        if stop == end {
            return Ok(None);
        }
        window = window.saturating_mul(4);
    }
}

fn append(file: &File, path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut f = file;
    // Opened read-write (readers share the handle), so each append finds the end itself.
    f.seek(SeekFrom::End(0))
        .and_then(|_| f.write_all(bytes))
        .map_err(io_err("append to", path))
}
