//! The ledger directory read without locking or repairing anything: paths, pages, proofs,
//! verification, and the read-only [`Ledger`] that `tai state` rebuilds tenants from.

use std::fs::{self, File};
use std::io::{self};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ids::TenantId;

use crate::receipts::proof::InclusionProof;
use crate::receipts::signing::Checkpoint;
use crate::receipts::trust::{TrustAnchors, check_checkpoints};
use crate::receipts::verify::Verifier;
use crate::receipts::{ChainHead, Receipt, VerifyReport, line};

use super::durable::io_err;
use super::head::StoredHead;
use super::manifest::{MANIFEST_FILE, Manifest};
use super::{Ledger, LedgerError};

/// The ledger directory of a state directory, read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDir {
    dir: PathBuf,
}

pub(super) const LEDGER_EXT: &str = "jsonl";
pub(super) const HEAD_EXT: &str = "head";
pub(super) const TREE_EXT: &str = "tree";
pub(super) const INDEX_EXT: &str = "idx";
pub(super) const CHECKPOINTS_EXT: &str = "checkpoints";

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
    /// one (its file and 1-based number) and why.
    pub fn checkpoints(
        &self,
        tenant: &TenantId,
    ) -> Result<Result<Vec<Checkpoint>, String>, LedgerError> {
        Ok(self
            .signed_lines(tenant)?
            .map(|all| all.into_iter().map(|(c, _)| c).collect()))
    }

    /// The last checkpoint in `tenant`'s checkpoints file (see [`unterminated`]).
    pub(super) fn filed_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Checkpoint>, LedgerError> {
        let path = self.checkpoints_path(tenant);
        // Only the last line is read: the file grows by a line per log file (per flush round
        // for a writer without the log).
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let len = file.metadata().map_err(io_err("stat", &path))?.len();
        // After the last newline: a checkpoint whose newline a stop lost, or part of a line.
        let tail = super::tree::after_last_newline(&file, &path, len)?;
        if let Some(c) = unterminated(&tail) {
            return Ok(Some(c));
        }
        match super::tree::last_line(&file, &path, len - tail.len() as u64)? {
            None => Ok(None),
            Some((line, _)) => serde_json::from_slice(&line).map(Some).map_err(|e| {
                LedgerError::CheckpointUnreadable {
                    path,
                    detail: e.to_string(),
                }
            }),
        }
    }

    /// Receipt `seq` and its audit path in the tree the latest checkpoint signs.
    pub fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        self.prove_against(tenant, seq, self.latest_checkpoint(tenant)?)
    }

    /// [`LedgerDir::prove`] in the tree of `latest`, the tenant's latest checkpoint as its
    /// writer knows it.
    pub(super) fn prove_against(
        &self,
        tenant: &TenantId,
        seq: u64,
        latest: Option<Checkpoint>,
    ) -> Result<InclusionProof, LedgerError> {
        let checkpoint = latest.ok_or_else(|| LedgerError::NoCheckpoint {
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
        let size = checkpoint.tree_size();
        let path = |src: &NodeLookup<'_>| crate::receipts::merkle::inclusion_path(src, seq, size);
        let proof = InclusionProof::new(
            receipt.clone(),
            self.nodes(tenant, size, path)?,
            checkpoint.clone(),
        );
        if proof.check_tree().is_ok() {
            return Ok(proof);
        }
        // The tree file may be what is damaged (it is derived): the ledger decides.
        let proof = InclusionProof::new(
            receipt,
            self.computed_nodes(tenant, size, path)?,
            checkpoint,
        );
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
        LedgerError::check_extends(tenant, &old, &new)?;
        let (m, n) = (old.tree_size(), new.tree_size());
        let path = |src: &NodeLookup<'_>| crate::receipts::merkle::consistency_path(src, m, n);
        let proof = crate::receipts::proof::ConsistencyProof::new(
            old.clone(),
            new.clone(),
            self.nodes(tenant, n, path)?,
        );
        if proof.check_tree().is_ok() {
            return Ok(proof);
        }
        // As for an inclusion proof: a damaged tree file does not decide, the ledger does.
        let proof = crate::receipts::proof::ConsistencyProof::new(
            old.clone(),
            new,
            self.computed_nodes(tenant, n, path)?,
        );
        proof
            .check_tree()
            .map_err(|e| LedgerError::not_an_extension(tenant, &old, e.to_string()))?;
        Ok(proof)
    }

    pub(super) fn tree_mismatch(&self, tenant: &TenantId, detail: String) -> LedgerError {
        LedgerError::TreeMismatch {
            path: self.tree_path(tenant),
            detail,
        }
    }

    /// Runs `f` on the stored nodes of a tree of `size` leaves: the tree file when it has
    /// them, else nodes computed from the ledger (a reader never writes the file).
    pub(super) fn nodes<T>(
        &self,
        tenant: &TenantId,
        size: u64,
        f: impl for<'a> Fn(&NodeLookup<'a>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        use crate::receipts::merkle::stored_nodes;
        let path = self.tree_path(tenant);
        if let Ok(file) = File::open(&path)
            && file.metadata().map(|m| m.len()).unwrap_or(0) >= stored_nodes(size) * 32
        {
            return f(&super::tree::TreeFile {
                file: &file,
                path: &path,
            });
        }
        self.computed_nodes(tenant, size, f)
    }

    /// Runs `f` on the stored nodes of a tree of `size` leaves computed from the ledger.
    fn computed_nodes<T>(
        &self,
        tenant: &TenantId,
        size: u64,
        f: impl for<'a> Fn(&NodeLookup<'a>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let ledger = self.read_ledger(tenant)?;
        let hashes = ledger
            .split(|&b| b == b'\n')
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .map(|l| {
                line::frame(l)
                    .and_then(|f| std::str::from_utf8(f.hash).ok())
                    .unwrap_or_default()
            });
        f(&InMemoryNodes::of_hashes(hashes))
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
    pub(super) fn indexed_range(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
        end: u64,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        use super::durable::read_at;
        use super::tree::INDEX_LEN;
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
        let indexed_stop = entry(from.saturating_add(limit as u64));
        let stop = indexed_stop.unwrap_or(file_len).min(end).min(file_len);
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
        // Where the index says the page ends must be where line `from + limit` starts:
        // exactly `limit` whole lines before it. An entry pointing inside an earlier line
        // would otherwise cut the page short, a page that looks whole.
        if indexed_stop == Some(stop)
            && (bytes.len() as u64 != stop - start
                || memchr::memchr_iter(b'\n', &bytes).count() != limit)
        {
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

    /// The head file's bytes, `None` when it does not exist (the acknowledged head is
    /// [`LedgerDir::read_head`]: the log may hold a newer one).
    pub(super) fn read_head_file(&self, tenant: &TenantId) -> Result<Option<Vec<u8>>, LedgerError> {
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
            return match Manifest::problem(manifest.as_ref(), tenant, false, anchors.keys) {
                Some(kind) => fail(empty, None, kind),
                None => Ok(empty),
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
            Err(detail) => {
                return fail(report, None, ProblemKind::CheckpointMismatch { detail });
            }
        };
        report.checkpoints = checkpoints.len() as u64;
        report.latest_checkpoint = checkpoints.last().cloned();
        if report.problem.is_some() {
            return Ok(report);
        }
        if let Some(kind) = Manifest::problem(manifest.as_ref(), tenant, true, anchors.keys) {
            return fail(report, None, kind);
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

    /// Every line of `tenant`'s ledger up to its acknowledged head as a receipt, hashes
    /// unchecked (verification checks them). A final line without newline is skipped.
    pub fn receipts(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        parse_lines(&self.ledger_path(tenant), &self.acknowledged_bytes(tenant)?)
    }

    /// What can still be read of a chain that does not verify (`--allow-broken`): every line
    /// up to the head that is a receipt, and for each line that is not, its 1-based number
    /// and why. Hashes unchecked: verification says what is wrong with what is read.
    pub fn salvage(&self, tenant: &TenantId) -> Result<Salvaged, LedgerError> {
        let bytes = self.acknowledged_bytes(tenant)?;
        let (mut receipts, mut skipped) = (Vec::new(), Vec::new());
        let lines = bytes.split_inclusive(|&b| b == b'\n');
        for (i, line) in lines.enumerate() {
            // A last line without its newline was never written whole.
            let Some(line) = line.strip_suffix(b"\n") else {
                break;
            };
            match serde_json::from_slice::<Receipt>(line) {
                Ok(r) => receipts.push(r),
                Err(e) => skipped.push((i as u64 + 1, e.to_string())),
            }
        }
        Ok(Salvaged { receipts, skipped })
    }

    /// `tenant`'s ledger up to its acknowledged head.
    fn acknowledged_bytes(&self, tenant: &TenantId) -> Result<Vec<u8>, LedgerError> {
        // The head first: an append between the two reads then only adds bytes after it.
        let head = self.read_head(tenant)?;
        let mut ledger = self.read_ledger(tenant)?;
        // What follows the head was never acknowledged (an interrupted append, or bytes
        // anyone could have written there): not part of the chain a reader is shown. A head
        // that does not decode leaves the ledger whole, for `--allow-broken` readers.
        if let Some(head) = head.as_deref().and_then(|h| StoredHead::decode(h).ok()) {
            ledger.truncate(usize::try_from(head.ledger_bytes).unwrap_or(usize::MAX));
        }
        Ok(ledger)
    }
}

/// The checkpoint a checkpoints file holds after its last newline: one whose newline a stop
/// mid-append lost. Anything else there (part of a line) never was a checkpoint.
pub(super) fn unterminated(tail: &[u8]) -> Option<Checkpoint> {
    (!tail.is_empty())
        .then(|| serde_json::from_slice(tail).ok())
        .flatten()
}

/// What [`LedgerDir::salvage`] could read of a chain that does not verify.
#[derive(Debug)]
pub struct Salvaged {
    /// The lines that are receipts, in order.
    pub receipts: Vec<Receipt>,
    /// Each line that is not: its 1-based number, and why.
    pub skipped: Vec<(u64, String)>,
}

/// A checkpoint with the line it is stored as (without the newline): the exact signed text.
pub type SignedLine = (Checkpoint, String);

/// The stored nodes of a tree, however they are read.
pub(super) type NodeLookup<'a> = dyn crate::receipts::merkle::NodeSource<Error = LedgerError> + 'a;

/// Nodes computed in memory from the ledger, when the tree file does not have them (or the
/// ledger keeps none).
pub(super) struct InMemoryNodes(Vec<crate::receipts::merkle::Hash>);

impl InMemoryNodes {
    /// The nodes of the tree over the receipts whose hashes (hex) are `hashes`.
    pub(super) fn of_hashes<'a>(hashes: impl IntoIterator<Item = &'a str>) -> Self {
        InMemoryNodes(crate::receipts::merkle::nodes_of_hashes(hashes))
    }
}

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

pub(super) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, LedgerError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

pub(super) fn parse_lines(path: &Path, bytes: &[u8]) -> Result<Vec<Receipt>, LedgerError> {
    parse_lines_from(path, bytes, 0, usize::MAX)
}

/// Decodes up to `limit` lines, starting after the first `skip`, which are only counted.
pub(super) fn parse_lines_from(
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

    pub(super) fn stored_head(&self, tenant: &TenantId) -> Result<Option<StoredHead>, LedgerError> {
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

    /// Fails when `page` (receipts `from ..` of at most `limit`, read under `head`) is not
    /// what the acknowledged chain holds there: the ledger shorter than its head, or a page
    /// that should end at the head ending elsewhere or on another receipt. A reader never
    /// rebuilds a tenant from part of its chain, or from a last receipt rewritten after the
    /// head was written; the writer makes the same checks when it opens a tenant.
    fn reaches_head(
        &self,
        tenant: &TenantId,
        head: &StoredHead,
        from: u64,
        limit: usize,
        page: &[Receipt],
    ) -> Result<(), LedgerError> {
        let path = self.dir.ledger_path(tenant);
        let file_bytes = fs::metadata(&path).map_or(0, |m| m.len());
        if file_bytes < head.ledger_bytes {
            return Err(LedgerError::Truncated {
                path,
                file_bytes,
                head_bytes: head.ledger_bytes,
            });
        }
        let Some(last_seq) = head.next_seq.checked_sub(1) else {
            return Ok(());
        };
        // A full page may stop before the head; one that is not full must end at it.
        let ends_at_head = page.last().is_some_and(|r| r.seq == last_seq);
        if from > last_seq || (page.len() == limit && !ends_at_head) {
            return Ok(());
        }
        match page.last() {
            Some(r) if ends_at_head && *r.hash == head.hash => Ok(()),
            Some(r) if ends_at_head => Err(LedgerError::HeadMismatch {
                path,
                detail: format!(
                    "receipt seq {} has hash {}, the head records {}",
                    r.seq, r.hash, head.hash
                ),
            }),
            last => Err(LedgerError::HeadMismatch {
                path,
                detail: format!(
                    "the acknowledged receipts end at seq {}, the head records seq {last_seq}",
                    last.map_or_else(|| "(none)".to_owned(), |r| r.seq.to_string())
                ),
            }),
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
        let Some(head) = self.stored_head(tenant)? else {
            return Ok(Vec::new());
        };
        let page = self.dir.read_page(tenant, from, limit, head.ledger_bytes)?;
        self.reaches_head(tenant, &head, from, limit, &page)?;
        Ok(page)
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
