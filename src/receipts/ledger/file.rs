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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::clock::{Clock, SystemClock};
use crate::governor::GovernorState;
use crate::ids::TenantId;
use crate::sync::{lock, wait};

use crate::receipts::proof::InclusionProof;
use crate::receipts::signing::{Checkpoint, CheckpointHead, CheckpointSigner};
use crate::receipts::trust::{TrustAnchors, check_checkpoints};
use crate::receipts::verify::{Verifier, head_mismatch, valid_extension};
use crate::receipts::{ChainHead, EventType, Receipt, ReceiptBody, VerifyReport, line};

use super::durable::{create_dir, io_err, replace_file};
use super::head::StoredHead;
use super::manifest::{MANIFEST_FILE, Manifest, register};
use super::tree::Derived;
use super::{Ledger, LedgerError, check_batch};

/// The ledger directory of a state directory, read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDir {
    dir: PathBuf,
}

const LEDGER_EXT: &str = "jsonl";
const HEAD_EXT: &str = "head";
const TREE_EXT: &str = "tree";
const INDEX_EXT: &str = "idx";
const CHECKPOINTS_EXT: &str = "checkpoints";

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

    /// `<dir>/<tenant>.tree`: the stored nodes of the tenant's Merkle tree.
    pub fn tree_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{TREE_EXT}"))
    }

    /// `<dir>/<tenant>.idx`: the byte offset of each seq's line.
    pub fn index_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{INDEX_EXT}"))
    }

    /// `<dir>/<tenant>.checkpoints`: the signed checkpoints, one per line, oldest first.
    pub fn checkpoints_path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{CHECKPOINTS_EXT}"))
    }

    /// `<dir>/<tenant>.quarantine.<seq>`: bytes found after the head when the chain was at
    /// `seq`, moved out of the ledger by a writer.
    pub fn quarantine_path(&self, tenant: &TenantId, seq: u64) -> PathBuf {
        self.dir.join(format!("{tenant}.quarantine.{seq}"))
    }

    /// `<dir>/manifest.json`: every tenant ever created.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// The workspace manifest, `None` when there is none.
    pub fn manifest(&self) -> Result<Option<Manifest>, LedgerError> {
        Manifest::read(&self.manifest_path())
    }

    /// Every checkpoint of `tenant`, oldest first: `Err` names the first line that is not
    /// one (with its 1-based number).
    pub fn checkpoints(
        &self,
        tenant: &TenantId,
    ) -> Result<Result<Vec<Checkpoint>, (u64, String)>, LedgerError> {
        let bytes = read_optional(&self.checkpoints_path(tenant))?.unwrap_or_default();
        let mut all = Vec::new();
        for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
            if l.is_empty() {
                continue;
            }
            match serde_json::from_slice(l) {
                Ok(c) => all.push(c),
                Err(e) => return Ok(Err((i as u64 + 1, e.to_string()))),
            }
        }
        Ok(Ok(all))
    }

    /// The latest checkpoint of `tenant`: the last complete line of its checkpoints file.
    pub fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        let path = self.checkpoints_path(tenant);
        let bytes = read_optional(&path)?.unwrap_or_default();
        let last = bytes
            .strip_suffix(b"\n")
            .and_then(|b| b.split(|&c| c == b'\n').next_back());
        match last {
            None => Ok(None),
            Some(l) => {
                serde_json::from_slice(l)
                    .map(Some)
                    .map_err(|e| LedgerError::CheckpointUnreadable {
                        path,
                        detail: e.to_string(),
                    })
            }
        }
    }

    /// Receipt `seq` and its audit path in the tree the latest checkpoint signs.
    pub fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        let checkpoint =
            self.latest_checkpoint(tenant)?
                .ok_or_else(|| LedgerError::NoCheckpoint {
                    tenant: tenant.clone(),
                })?;
        if seq > checkpoint.seq {
            return Err(LedgerError::NotCovered {
                tenant: tenant.clone(),
                seq,
                checkpoint_seq: checkpoint.seq,
            });
        }
        let receipt = self
            .read_page(tenant, seq, 1, u64::MAX)?
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::NotCovered {
                tenant: tenant.clone(),
                seq,
                checkpoint_seq: checkpoint.seq,
            })?;
        let path = self.nodes(tenant, checkpoint.tree_size(), |src| {
            crate::receipts::merkle::inclusion_path(src, seq, checkpoint.tree_size())
        })?;
        let proof = InclusionProof::new(receipt, path, checkpoint);
        proof
            .check_tree()
            .map_err(|e| self.tree_mismatch(tenant, e.to_string()))?;
        Ok(proof)
    }

    /// The consistency path from `old` to the latest checkpoint.
    pub fn prove_consistency(
        &self,
        tenant: &TenantId,
        old: Checkpoint,
    ) -> Result<crate::receipts::proof::ConsistencyProof, LedgerError> {
        let new = self
            .latest_checkpoint(tenant)?
            .ok_or_else(|| LedgerError::NoCheckpoint {
                tenant: tenant.clone(),
            })?;
        let (m, n) = (old.tree_size(), new.tree_size());
        let path = self.nodes(tenant, n, |src| {
            crate::receipts::merkle::consistency_path(src, m, n)
        })?;
        let proof = crate::receipts::proof::ConsistencyProof::new(old, new, path);
        proof
            .check_tree()
            .map_err(|e| self.tree_mismatch(tenant, e.to_string()))?;
        Ok(proof)
    }

    fn tree_mismatch(&self, tenant: &TenantId, detail: String) -> LedgerError {
        LedgerError::TreeMismatch {
            path: self.tree_path(tenant),
            detail,
        }
    }

    /// Runs `f` on the stored nodes of a tree of `size` leaves: the tree file when it has
    /// them, else nodes computed from the ledger (a reader never writes the file).
    fn nodes<T>(
        &self,
        tenant: &TenantId,
        size: u64,
        f: impl for<'a> Fn(&NodeLookup<'a>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        use crate::receipts::merkle::{Frontier, stored_nodes};
        let path = self.tree_path(tenant);
        if let Ok(file) = File::open(&path)
            && file.metadata().map(|m| m.len()).unwrap_or(0) >= stored_nodes(size) * 32
        {
            return f(&super::tree::TreeFile {
                file: &file,
                path: &path,
            });
        }
        let ledger = self.read_ledger(tenant)?;
        let mut frontier = Frontier::default();
        let mut bytes = Vec::new();
        for l in ledger
            .split(|&b| b == b'\n')
            .take(usize::try_from(size).unwrap_or(usize::MAX))
        {
            let leaf = line::frame(l)
                .and_then(|f| std::str::from_utf8(f.hash).ok())
                .and_then(crate::receipts::merkle::leaf_of_hex)
                .unwrap_or_default();
            frontier.push(leaf, &mut bytes);
        }
        let nodes: Vec<crate::receipts::merkle::Hash> = bytes
            .chunks_exact(32)
            .filter_map(|c| c.try_into().ok())
            .collect();
        f(&InMemoryNodes(nodes))
    }

    /// Up to `limit` receipts from seq `from`, reading only their bytes through the index
    /// when it points at them (checked against the ledger), else by scanning the ledger.
    /// Only lines ending before byte `end` are read.
    pub fn read_page(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
        end: u64,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let path = self.ledger_path(tenant);
        if limit == 0 {
            return Ok(Vec::new());
        }
        if let Some(bytes) = self.indexed_range(tenant, from, limit, end)? {
            return parse_lines(&path, &bytes).map(|mut v| {
                v.truncate(limit);
                v
            });
        }
        let mut bytes = self.read_ledger(tenant)?;
        bytes.truncate(usize::try_from(end).unwrap_or(usize::MAX));
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

    /// The bytes of lines `from .. from + limit` found through the index, `None` when the
    /// index does not reach `from` or does not point at its line.
    fn indexed_range(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
        end: u64,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        use super::tree::{INDEX_LEN, read_at};
        let (Ok(index), Ok(ledger)) = (
            File::open(self.index_path(tenant)),
            File::open(self.ledger_path(tenant)),
        ) else {
            return Ok(None);
        };
        let entry = |seq: u64| {
            let mut b = [0u8; 8];
            let at = seq.checked_mul(INDEX_LEN)?;
            read_at(&index, &mut b, at)
                .ok()
                .map(|()| u64::from_le_bytes(b))
        };
        let Some(start) = entry(from) else {
            return Ok(None);
        };
        let file_len = ledger
            .metadata()
            .map_err(io_err("stat", &self.ledger_path(tenant)))?
            .len();
        let stop = entry(from.saturating_add(limit as u64))
            .unwrap_or(file_len)
            .min(end)
            .min(file_len);
        if stop <= start {
            return Ok(None);
        }
        let mut bytes = vec![0u8; usize::try_from(stop - start).unwrap_or(0)];
        if read_at(&ledger, &mut bytes, start).is_err() {
            return Ok(None);
        }
        // Complete lines only.
        let Some(last_newline) = memchr::memrchr(b'\n', &bytes) else {
            return Ok(None);
        };
        bytes.truncate(last_newline + 1);
        let mut before = [0u8; 1];
        let at_line_start =
            start == 0 || (read_at(&ledger, &mut before, start - 1).is_ok() && before[0] == b'\n');
        let first = bytes.split(|&b| b == b'\n').next().and_then(line::frame);
        if !at_line_start || first.is_none_or(|f| f.seq != from) {
            return Ok(None);
        }
        Ok(Some(bytes))
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

    /// Verifies `tenant`'s chain, then checks it against the workspace manifest, its
    /// checkpoints and `anchors` (public keys, a kept checkpoint). A tenant the manifest lists
    /// without a ledger is reported as deleted.
    pub fn verify_with(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> Result<VerifyReport, LedgerError> {
        use crate::receipts::ProblemKind;
        let manifest = self.manifest()?;
        let fail = |mut report: VerifyReport, seq: Option<u64>, kind: ProblemKind| {
            report.problem = Some(crate::receipts::Problem {
                seq,
                line: None,
                kind,
            });
            Ok(report)
        };
        let empty = crate::receipts::verify_receipts(&[]);
        if !self.contains(tenant) {
            return match &manifest {
                Some(m) if m.tenants.contains(tenant) => {
                    fail(empty, None, ProblemKind::LedgerDeleted)
                }
                _ => Ok(empty),
            };
        }
        // Head, then checkpoints, then ledger: a writer makes receipts durable before it
        // signs them and signs before it moves the head, so each read sees at least what the
        // one before it promised.
        let head = self.read_head(tenant)?;
        let checkpoints = self.checkpoints(tenant)?;
        let ledger = self.read_ledger(tenant)?;
        let mut report = Verifier::new()
            .tenant(tenant)
            .deep(deep)
            .verify(&ledger, head.as_deref());
        report.signatures_checked = !anchors.keys.is_empty();
        let checkpoints = match checkpoints {
            Ok(c) => c,
            Err((line, detail)) => {
                let detail = format!("line {line} of the checkpoints file: {detail}");
                return fail(report, None, ProblemKind::CheckpointMismatch { detail });
            }
        };
        report.checkpoints = checkpoints.len() as u64;
        report.latest_checkpoint = checkpoints.last().cloned();
        if report.problem.is_some() {
            return Ok(report);
        }
        match &manifest {
            None => {
                let detail = "the workspace manifest is missing: deleted tenants cannot be \
                              told apart"
                    .to_owned();
                return fail(report, None, ProblemKind::Manifest { detail });
            }
            Some(m) if !m.tenants.contains(tenant) => {
                return fail(report, None, ProblemKind::NotInManifest);
            }
            Some(m) if !anchors.keys.is_empty() => {
                if let Err(detail) = m.check_signature(anchors.keys) {
                    return fail(report, None, ProblemKind::Manifest { detail });
                }
            }
            Some(_) => {}
        }
        let acknowledged = report.head.as_ref().map_or(0, |h| h.next_seq);
        if let Err((seq, kind)) = check_checkpoints(
            tenant,
            &ledger,
            report.receipts,
            acknowledged,
            &checkpoints,
            anchors,
        ) {
            return fail(report, seq, kind);
        }
        Ok(report)
    }

    /// Every complete line of `tenant`'s ledger as a receipt, hashes unchecked. A final line
    /// without newline (an interrupted append) is skipped.
    pub fn receipts(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        let path = self.ledger_path(tenant);
        parse_lines(&path, &self.read_ledger(tenant)?)
    }
}

/// The stored nodes of a tree, however they are read.
type NodeLookup<'a> = dyn crate::receipts::merkle::NodeSource<Error = LedgerError> + 'a;

/// Nodes computed in memory from the ledger, when the tree file does not have them.
struct InMemoryNodes(Vec<crate::receipts::merkle::Hash>);

impl crate::receipts::merkle::NodeSource for InMemoryNodes {
    type Error = LedgerError;
    fn node(&self, level: u32, index: u64) -> Result<crate::receipts::merkle::Hash, LedgerError> {
        self.0
            .as_slice()
            .node(level, index)
            .map_err(|e| LedgerError::TreeMismatch {
                path: PathBuf::new(),
                detail: e.to_string(),
            })
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

/// The ledger directory as a [`Ledger`] that never writes: what read-only commands (`tai
/// state`) rebuild tenants from. It takes the acknowledged receipts (those under the head)
/// and leaves whatever follows them for a writer to deal with; an append is refused.
#[derive(Debug, Clone)]
pub struct ReadOnlyLedger {
    dir: LedgerDir,
}

impl ReadOnlyLedger {
    /// The ledger directory of `state`.
    pub fn new(state: impl AsRef<Path>) -> Self {
        ReadOnlyLedger {
            dir: LedgerDir::in_state(state),
        }
    }

    fn stored_head(&self, tenant: &TenantId) -> Result<Option<StoredHead>, LedgerError> {
        let path = self.dir.head_path(tenant);
        match self.dir.read_head(tenant)? {
            None if self.dir.contains(tenant)
                && fs::metadata(self.dir.ledger_path(tenant)).is_ok_and(|m| m.len() > 0) =>
            {
                Err(LedgerError::HeadMissing { path })
            }
            None => Ok(None),
            Some(bytes) => {
                StoredHead::decode(&bytes)
                    .map(Some)
                    .map_err(|e| LedgerError::HeadUnreadable {
                        path,
                        detail: e.to_string(),
                    })
            }
        }
    }
}

impl Ledger for ReadOnlyLedger {
    fn append(&self, tenant: &TenantId, _: &[Receipt]) -> Result<ChainHead, LedgerError> {
        Err(LedgerError::ReadOnly {
            tenant: tenant.clone(),
        })
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
        match self.stored_head(tenant)? {
            Some(head) => self.dir.read_page(tenant, from, limit, head.ledger_bytes),
            None => Ok(Vec::new()),
        }
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        self.dir.tenants()
    }

    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError> {
        Ok(self
            .stored_head(tenant)?
            .map(|h| h.chain())
            .unwrap_or_default())
    }

    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError> {
        self.dir.verify(tenant, false)
    }

    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        self.dir.latest_checkpoint(tenant)
    }

    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        self.dir.prove(tenant, seq)
    }
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
    /// Signs a checkpoint of each written tenant per flush, and the manifest.
    signer: Option<Arc<CheckpointSigner>>,
    /// The time of checkpoints and of the receipts the ledger writes itself.
    clock: Arc<dyn Clock>,
    /// Tenants known to be in the manifest; held while the manifest is changed.
    manifest: Mutex<HashSet<TenantId>>,
}

/// How a [`FileLedger`] signs and tells the time.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// The key that signs checkpoints and the manifest; `None`: nothing is signed.
    pub signer: Option<Arc<CheckpointSigner>>,
    /// The clock of checkpoints and of the receipts the ledger records itself (a quarantined
    /// or adopted tail).
    pub clock: Arc<dyn Clock>,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            signer: None,
            clock: Arc::new(SystemClock),
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
    /// The Merkle tree and the seq index.
    derived: Derived,
    /// The checkpoints file, open for appends when the ledger signs.
    checkpoints: Option<(Arc<File>, PathBuf)>,
    /// What the last written receipt says that the ledger's own receipts repeat.
    last: LastReceipt,
}

/// The governor and catalog of the last receipt written: a checkpoint names the catalog, and
/// a receipt the ledger records itself keeps the governor's state.
#[derive(Debug, Clone)]
struct LastReceipt {
    governor_id: Arc<str>,
    state: GovernorState,
    catalog_hash: Arc<str>,
}

impl LastReceipt {
    fn of(r: &Receipt) -> Self {
        LastReceipt {
            governor_id: Arc::clone(&r.body.governor_id),
            state: r.body.state_to,
            catalog_hash: Arc::clone(&r.body.catalog_hash),
        }
    }

    fn genesis(tenant: &TenantId) -> Self {
        LastReceipt {
            governor_id: format!("gov-{tenant}").into(),
            state: GovernorState::Boot,
            catalog_hash: crate::receipts::GENESIS_HASH.into(),
        }
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
        Ok(FileLedger {
            dir,
            dir_handle,
            tenants: Mutex::new(HashMap::new()),
            group: Group::default(),
            signer: options.signer,
            clock: options.clock,
            manifest: Mutex::new(HashSet::new()),
        })
    }

    /// Whether checkpoints are signed.
    pub fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// Records `tenant` in the manifest before its ledger is first created; refuses one
    /// whose ledger was deleted.
    fn register(&self, tenant: &TenantId, ledger_exists: bool) -> Result<(), LedgerError> {
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
        let flushed = self.sync_all(jobs.iter().flat_map(|(_, job)| job.data_files()));
        let flushed = flushed.and_then(|()| {
            // Signed once the receipts are durable, so a checkpoint never covers receipts a
            // crash could take back; made durable with the heads.
            if let Some(signer) = &self.signer {
                let now = self.clock.now();
                for (_, job) in &jobs {
                    if let (Some(head), Some((file, path))) = (&job.checkpoint, &job.checkpoints) {
                        append_checkpoint(file, path, &signer.checkpoint(head.clone(), now))?;
                    }
                }
            }
            for (_, job) in &jobs {
                write_head(&job.head_file, &job.head_path, &job.target)?;
            }
            self.sync_all(jobs.iter().flat_map(|(_, job)| job.meta_files()))
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
            *slot = Some(TenantLog::open(self, tenant)?);
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
    /// Opens and locks the tenant's ledger, checks it against the head, brings the tree and
    /// index up to date, and deals with what a crash (or anyone else) can leave after the
    /// head: see [`TenantLog::settle_tail`].
    fn open(ledger: &FileLedger, tenant: &TenantId) -> Result<Self, LedgerError> {
        let dir = &ledger.dir;
        let path = dir.ledger_path(tenant);
        let head_path = dir.head_path(tenant);
        ledger.register(tenant, path.exists())?;
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
            &file,
            head.next_seq,
            last_line
                .as_ref()
                .map(|(_, start)| (head.hash.as_str(), *start)),
            head.ledger_bytes,
        )?;
        let checkpoints = match &ledger.signer {
            Some(_) => {
                let f = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&checkpoints_path)
                    .map_err(io_err("open", &checkpoints_path))?;
                Some((Arc::new(f), checkpoints_path))
            }
            None => None,
        };
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
        };
        log.settle_tail(ledger, tenant, file_bytes)?;
        Ok(log)
    }

    /// Whatever follows the head was never acknowledged. Receipts continuing the chain that
    /// the latest checkpoint signed by this ledger's key covers are adopted (a crash came
    /// between the checkpoint and the head); anything else — a torn write, garbage, receipts
    /// nobody signed — is moved to `<tenant>.quarantine.<seq>` beside the ledger. Either way
    /// the chain records what was done in a receipt of its own, so evidence never goes
    /// silently. A quarantine file for the current head without its receipt (a crash in
    /// between) is recorded now.
    fn settle_tail(
        &mut self,
        ledger: &FileLedger,
        tenant: &TenantId,
        file_bytes: u64,
    ) -> Result<(), LedgerError> {
        let mut notices = Vec::new();
        if file_bytes > self.head.ledger_bytes {
            let tail = read_range(&self.file, &self.path, self.head.ledger_bytes, file_bytes)?;
            let (extension, valid) = valid_extension(&tail, &self.head, tenant);
            let valid = usize::try_from(valid).unwrap_or(0);
            let adopted = self.adoptable(ledger, tenant, &tail[..valid]);
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
                notices.push(serde_json::json!({
                    "action": "adopted",
                    "reason": "receipts after the head that the latest checkpoint signed by \
                               this ledger's key covers: written and signed, but the head was \
                               not updated before the writer stopped",
                    "from_seq": from_seq,
                    "to_seq": checkpoint.seq,
                    "receipts": checkpoint.seq + 1 - from_seq,
                    "checkpoint_key_id": checkpoint.key_id,
                }));
            }
            let rest = &tail[kept..];
            if !rest.is_empty() {
                let well_formed = extension.next_seq - self.written.next_seq;
                let reason = if well_formed > 0 {
                    "well-formed receipts after the head that no checkpoint signed by this \
                     ledger's key covers: never acknowledged, and possibly forged"
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
                notices.push(quarantine_notice(&qpath, rest, well_formed, reason));
            }
        }
        if notices.is_empty() {
            let qpath = ledger.dir.quarantine_path(tenant, self.written.next_seq);
            if let Some(bytes) = read_optional(&qpath)? {
                notices.push(quarantine_notice(
                    &qpath,
                    &bytes,
                    0,
                    "moved to quarantine by a writer that stopped before recording it",
                ));
            }
        }
        if notices.is_empty() {
            return Ok(());
        }
        let mut chain = self.written.chain();
        let now = ledger.clock.now();
        let receipts: Vec<Receipt> = notices
            .into_iter()
            .map(|meta| {
                let event = if meta["action"] == "adopted" {
                    EventType::LedgerTailAdopted
                } else {
                    EventType::LedgerTailQuarantined
                };
                let body = self.notice_body(tenant, chain.next_seq, event, meta, now);
                chain.seal(body)
            })
            .collect();
        self.write(tenant, &receipts)?;
        self.flush_now(ledger, tenant)
    }

    /// How many bytes of `valid` (complete lines continuing the chain after the head) the
    /// latest checkpoint signed by this ledger's key covers, exactly up to its seq.
    fn adoptable(
        &self,
        ledger: &FileLedger,
        tenant: &TenantId,
        valid: &[u8],
    ) -> Option<(usize, Checkpoint)> {
        let signer = ledger.signer.as_ref()?;
        let checkpoint = ledger.dir.latest_checkpoint(tenant).ok()??;
        if &checkpoint.tenant_id != tenant
            || checkpoint.seq < self.head.next_seq
            || checkpoint
                .verify_signature(std::slice::from_ref(signer.public()))
                .is_err()
        {
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

    /// A receipt the ledger records about itself: the governor's state does not change.
    fn notice_body(
        &self,
        tenant: &TenantId,
        seq: u64,
        event_type: EventType,
        metadata: serde_json::Value,
        now: crate::clock::Timestamp,
    ) -> ReceiptBody {
        let mut h = Sha256::new();
        h.update(b"tai-ledger-notice");
        h.update(tenant.as_str().as_bytes());
        h.update(seq.to_le_bytes());
        let digest = h.finalize();
        ReceiptBody {
            id: format!("rcpt_{}", hex::encode(&digest[..12])),
            timestamp: now,
            tenant_id: tenant.clone(),
            governor_id: Arc::clone(&self.last.governor_id),
            state_from: self.last.state,
            state_to: self.last.state,
            event_type,
            reason: None,
            metadata: metadata.into(),
            catalog_hash: Arc::clone(&self.last.catalog_hash),
        }
    }

    /// Makes everything written durable, signs a checkpoint and advances the head, outside a
    /// group flush (repairs at open).
    fn flush_now(&mut self, ledger: &FileLedger, tenant: &TenantId) -> Result<(), LedgerError> {
        self.file.sync_data().map_err(io_err("sync", &self.path))?;
        self.derived.write_pending()?;
        self.derived.sync()?;
        if let (Some(signer), Some((file, path))) = (&ledger.signer, &self.checkpoints) {
            let checkpoint = signer.checkpoint(self.checkpoint_head(tenant), ledger.clock.now());
            append_checkpoint(file, path, &checkpoint)?;
            file.sync_data().map_err(io_err("sync", path))?;
        }
        write_head_synced(&self.head_file, &self.head_path, &self.written)?;
        self.head = self.written.clone();
        Ok(())
    }

    /// What a checkpoint of everything written states.
    fn checkpoint_head(&self, tenant: &TenantId) -> CheckpointHead {
        CheckpointHead {
            tenant: tenant.clone(),
            seq: self.written.next_seq.saturating_sub(1),
            head_hash: self.written.hash.clone(),
            merkle_root: self.derived.frontier.root(),
            catalog_hash: self.last.catalog_hash.to_string(),
        }
    }

    /// Puts the batch in the file (not yet durable) and returns the seq after it.
    fn write(&mut self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
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
        if let Some(r) = receipts.last() {
            self.last = LastReceipt::of(r);
        }
        self.written = StoredHead {
            next_seq: next.next_seq,
            hash: next.hash,
            ledger_bytes: self.written.ledger_bytes + self.buf.len() as u64,
        };
        Ok(self.written.next_seq)
    }

    /// What a flush needs, taken under the log lock so the syncs can run without it. The
    /// tree and index get their pending nodes and offsets here.
    fn flush_job(&mut self, tenant: &TenantId, signs: bool) -> Result<FlushJob, LedgerError> {
        self.derived.write_pending()?;
        Ok(FlushJob {
            file: Arc::clone(&self.file),
            head_file: Arc::clone(&self.head_file),
            tree: Arc::clone(&self.derived.tree),
            index: Arc::clone(&self.derived.index),
            path: self.path.clone(),
            head_path: self.head_path.clone(),
            tree_path: self.derived.tree_path.clone(),
            index_path: self.derived.index_path.clone(),
            target: self.written.clone(),
            checkpoint: signs.then(|| self.checkpoint_head(tenant)),
            checkpoints: self
                .checkpoints
                .as_ref()
                .map(|(f, p)| (Arc::clone(f), p.clone())),
        })
    }
}

/// The metadata of a `ledger_tail_quarantined` receipt.
fn quarantine_notice(path: &Path, bytes: &[u8], receipts: u64, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "quarantined",
        "reason": reason,
        "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "bytes": bytes.len(),
        "sha256": hex::encode(Sha256::digest(bytes)),
        "receipts": receipts,
    })
}

/// Checks that the line ending at the head's length is the receipt the head names, and
/// returns it with the byte it starts at (`None` for an empty chain).
fn check_last_line(
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
    let mut window = 4096u64;
    let (line, line_start) = loop {
        let start = end.saturating_sub(window);
        let bytes = read_range(file, path, start, end)?;
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

fn read_range(file: &File, path: &Path, start: u64, end: u64) -> Result<Vec<u8>, LedgerError> {
    let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(0)];
    super::tree::read_at(file, &mut bytes, start).map_err(io_err("read", path))?;
    Ok(bytes)
}

/// Appends a checkpoint line (the caller syncs).
fn append_checkpoint(file: &File, path: &Path, checkpoint: &Checkpoint) -> Result<(), LedgerError> {
    let mut line = checkpoint.to_line();
    line.push(b'\n');
    (&*file).write_all(&line).map_err(io_err("append to", path))
}

/// One flush: make the ledger, tree and index durable up to `target`, sign a checkpoint of
/// it, then record `target` as the head.
struct FlushJob {
    file: Arc<File>,
    head_file: Arc<File>,
    tree: Arc<File>,
    index: Arc<File>,
    path: PathBuf,
    head_path: PathBuf,
    tree_path: PathBuf,
    index_path: PathBuf,
    target: StoredHead,
    /// What to sign, when the ledger signs.
    checkpoint: Option<CheckpointHead>,
    checkpoints: Option<(Arc<File>, PathBuf)>,
}

impl FlushJob {
    /// The files the first sync makes durable.
    fn data_files(&self) -> [(&File, &PathBuf); 3] {
        [
            (&*self.file, &self.path),
            (&*self.tree, &self.tree_path),
            (&*self.index, &self.index_path),
        ]
    }

    /// The files the second sync makes durable.
    fn meta_files(&self) -> impl Iterator<Item = (&File, &PathBuf)> {
        std::iter::once((&*self.head_file, &self.head_path))
            .chain(self.checkpoints.as_ref().map(|(f, p)| (&**f, p)))
    }
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
        // Only acknowledged receipts, found through the index.
        self.dir.read_page(tenant, from, limit, len)
    }

    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        self.dir.latest_checkpoint(tenant)
    }

    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        self.dir.prove(tenant, seq)
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
