//! Where sealed receipts are kept: the [`Ledger`] trait, its errors, and its
//! implementations: [`FileLedger`] (per-tenant files in a state directory),
//! [`MemoryLedger`] (tests, benchmarks, simulations that keep nothing) and, with the
//! `postgres` feature, `PostgresLedger` (one database shared by several servers).
//!
//! The engine seals receipts ([`ChainHead::seal`]) and hands them to a `Ledger`; the ledger
//! only stores them, refusing a batch that does not continue the tenant's chain. Keeping
//! storage behind this trait lets a database backend be added without touching the engine.

mod dir;
mod durable;
mod file;
mod head;
mod journal;
mod manifest;
mod memory;
mod notice;
#[cfg(feature = "postgres")]
mod postgres;
mod tenant_log;
mod tree;
mod wal;
mod wal_record;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ids::TenantId;

use super::proof::{ConsistencyProof, InclusionProof};
use super::signing::{Checkpoint, CheckpointError, CheckpointSigner};
use super::trust::{TrustAnchors, check_checkpoints};
use super::{ChainHead, Receipt, VerifyReport};

pub use dir::{LedgerDir, ReadOnlyLedger, Salvaged, SignedLine};
pub use file::{FileLedger, LedgerOptions};
pub use head::{HEAD_FILE_LEN, StoredHead};
pub use manifest::{MANIFEST_FILE, Manifest};
pub use memory::MemoryLedger;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresLedger, PostgresOptions, is_postgres_url, redact_url};
pub use wal_record::WAL_FILES;

/// Told of an append to a tenant's chain: the tenant, the batch's first seq and the seq
/// after it.
pub type Appended = dyn Fn(&TenantId, u64, u64) + Send + Sync;

/// A writer's claim on a tenant's command run, released when dropped (see
/// [`Ledger::claim_run`]).
pub struct RunClaim(
    #[expect(dead_code, reason = "held, never read: dropping it releases the claim")] Box<dyn Send>,
);

impl RunClaim {
    /// A claim that holds `guard` until dropped.
    pub fn new(guard: impl Send + 'static) -> RunClaim {
        RunClaim(Box::new(guard))
    }
}

impl std::fmt::Debug for RunClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunClaim")
    }
}

/// Storage for per-tenant receipt chains.
///
/// Appends to different tenants may run in parallel from different threads; appends to one
/// tenant are serialized.
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Stores `receipts` (sealed, in order) at the end of `tenant`'s chain and returns the new
    /// head. The batch must continue the chain: its first receipt has the head's `next_seq`
    /// and links to the head's hash, each following receipt links to the one before, and all
    /// belong to `tenant`. When this returns `Ok`, the receipts are durable.
    fn append(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<ChainHead, LedgerError>;

    /// The first half of an append, for callers that pipeline: stores `receipts` like
    /// [`Ledger::append`] but may return before they are durable. Returns the seq after the
    /// batch; the receipts are acknowledged only once [`Ledger::sync`] for that seq returns.
    fn write(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
        self.append(tenant, receipts).map(|head| head.next_seq)
    }

    /// Returns once every receipt of `tenant` below `next_seq` is durable. Callers waiting at
    /// the same time share one sync (group commit), which is what lets many concurrent calls
    /// be acknowledged for the price of one disk flush.
    fn sync(&self, tenant: &TenantId, next_seq: u64) -> Result<(), LedgerError> {
        let _ = (tenant, next_seq);
        Ok(())
    }

    /// `tenant`'s acknowledged receipts in chain order (empty for an unknown tenant). Hashes
    /// are not checked here; see [`Ledger::verify`].
    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError>;

    /// Up to `limit` of `tenant`'s acknowledged receipts from seq `from` on, in chain order:
    /// a page, or what a listener has not seen yet. Implementations should not decode the
    /// receipts before `from`.
    fn read_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let mut all = self.read(tenant)?;
        let start = all.partition_point(|r| r.seq < from);
        all.truncate(start.saturating_add(limit));
        Ok(all.split_off(start.min(all.len())))
    }

    /// Every tenant with a chain, sorted.
    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError>;

    /// The manifest of every tenant ever created in this ledger, `None` when it keeps none
    /// (or none was made yet): a tenant it lists without a chain was deleted.
    fn manifest(&self) -> Result<Option<Manifest>, LedgerError> {
        Ok(None)
    }

    /// The head the next receipt of `tenant` must be sealed against.
    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError>;

    /// Checks `tenant`'s whole chain: hashes, links, seqs and the stored head.
    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError>;

    /// Reports appends by other writers of a shared ledger (a database several servers use)
    /// to `on_append` until it is dropped, perhaps also this process's own; returns whether
    /// it will. A ledger only one process writes has nothing to report.
    fn watch(&self, on_append: &Arc<Appended>) -> bool {
        let _ = on_append;
        false
    }

    /// Whether reading may wait on the network (a database server) rather than a local
    /// disk: callers that must not block (an async task) then read on a thread that may.
    fn is_remote(&self) -> bool {
        false
    }

    /// Claims `tenant`'s command run for this process, for as long as the returned claim
    /// lives, so the other writers of a shared ledger know a started action is still
    /// running rather than left behind by a writer that is gone. `None` on a ledger one
    /// process writes: its lock already says so.
    fn claim_run(&self, tenant: &TenantId) -> Result<Option<RunClaim>, LedgerError> {
        let _ = tenant;
        Ok(None)
    }

    /// Waits while another writer of a shared ledger holds `tenant`'s run claim (its
    /// command is running). Returns at once on a ledger one process writes.
    fn await_run(&self, tenant: &TenantId) -> Result<(), LedgerError> {
        let _ = tenant;
        Ok(())
    }

    /// The latest signed checkpoint of `tenant`, `None` when nothing was signed.
    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        let _ = tenant;
        Ok(None)
    }

    /// Receipt `seq` of `tenant` with its audit path to the latest checkpoint's root.
    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        let _ = seq;
        Err(LedgerError::NoCheckpoint {
            tenant: tenant.clone(),
        })
    }

    /// The consistency path from `old` to `tenant`'s latest checkpoint.
    fn prove_consistency(
        &self,
        tenant: &TenantId,
        old: Checkpoint,
    ) -> Result<ConsistencyProof, LedgerError> {
        let _ = old;
        Err(LedgerError::NoCheckpoint {
            tenant: tenant.clone(),
        })
    }

    /// [`Ledger::verify`], then the chain checked against its signed checkpoints and
    /// `anchors` (public keys, a kept checkpoint). `deep` also parses every receipt where the
    /// ledger can. A ledger that keeps no checkpoints has none to show: with a key, a chain
    /// with receipts then fails as unsigned.
    fn verify_signed(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> Result<VerifyReport, LedgerError> {
        let _ = deep;
        let mut report = self.verify(tenant)?;
        let lines = crate::receipts::ledger_lines(&self.read(tenant)?);
        check_signed(&mut report, tenant, &lines, &[], anchors);
        Ok(report)
    }
}

/// Completes `report` (of the chain whose lines are `ledger`) with its checkpoints and, when
/// the chain itself verified, the problem [`check_checkpoints`] finds with them.
pub(crate) fn check_signed(
    report: &mut VerifyReport,
    tenant: &TenantId,
    ledger: &[u8],
    checkpoints: &[Checkpoint],
    anchors: TrustAnchors<'_>,
) {
    report.signatures_checked = !anchors.keys.is_empty();
    report.checkpoints = checkpoints.len() as u64;
    report.latest_checkpoint = checkpoints.last().cloned();
    if report.problem.is_some() {
        return;
    }
    let acknowledged = report.head.as_ref().map_or(0, |h| h.next_seq);
    if let Err((seq, kind)) = check_checkpoints(
        tenant,
        ledger,
        report.receipts,
        acknowledged,
        checkpoints,
        anchors,
    ) {
        report.problem = Some(super::Problem {
            seq,
            line: None,
            kind,
        });
    }
}

/// Why the ledger could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A file-system operation failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. `read`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another process holds the tenant's ledger open for writing.
    #[error("ledger `{path}` is in use by another process (one writer per tenant at a time)")]
    Locked {
        /// The ledger file.
        path: PathBuf,
    },
    /// The batch does not start where the chain ends, or is not linked within itself.
    #[error(
        "batch does not continue the chain of tenant `{tenant}`: expected seq {expected_seq} \
         linking to {expected_hash}, got seq {found_seq} linking to {found_prev}\n\
         hint: seal receipts against the ledger's current head"
    )]
    Discontinuous {
        /// The tenant appended to.
        tenant: TenantId,
        /// The seq the chain expected.
        expected_seq: u64,
        /// The hash the chain expected the receipt to link to.
        expected_hash: String,
        /// The receipt's seq.
        found_seq: u64,
        /// The receipt's `prev_hash`.
        found_prev: String,
    },
    /// A receipt in the batch belongs to another tenant.
    #[error("receipt seq {seq} belongs to tenant `{found}`, not to `{tenant}`")]
    WrongTenant {
        /// The tenant appended to.
        tenant: TenantId,
        /// The receipt's tenant.
        found: TenantId,
        /// The receipt's seq.
        seq: u64,
    },
    /// The ledger has receipts but its head file is gone.
    #[error(
        "head file `{path}` is missing but the ledger has receipts\n\
         hint: restore it from a backup; `tai receipts verify` checks the chain"
    )]
    HeadMissing {
        /// The head file.
        path: PathBuf,
    },
    /// The head file is not a valid head.
    #[error("head file `{path}` is unreadable: {detail}")]
    HeadUnreadable {
        /// The head file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The ledger file is shorter than its head says: receipts were cut off the end.
    #[error(
        "ledger `{path}` is shorter than its head ({file_bytes} bytes, the head records \
         {head_bytes}): acknowledged receipts were removed from the end\n\
         hint: `tai receipts verify` names the first missing seq"
    )]
    Truncated {
        /// The ledger file.
        path: PathBuf,
        /// The file's length.
        file_bytes: u64,
        /// The length recorded in the head.
        head_bytes: u64,
    },
    /// The end of the acknowledged chain does not match the head.
    #[error(
        "ledger `{path}` does not match its head: {detail}\n\
         hint: `tai receipts verify` names the first bad seq"
    )]
    HeadMismatch {
        /// The ledger file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The write-ahead log cannot be read back or written.
    #[error(
        "write-ahead log `{path}` is damaged: {detail}\n\
         hint: it holds the newest acknowledged heads and checkpoints; restore it from a \
         backup, or move it aside to work from the head files alone (the next writer \
         then adopts or quarantines what follows them, with a receipt)"
    )]
    WalDamaged {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A failed write to the tenant's ledger took receipts that were not yet durable with it.
    #[error(
        "receipts of tenant `{tenant}` before seq {next_seq} were not made durable: an earlier \
         write to its ledger failed"
    )]
    NotDurable {
        /// The tenant.
        tenant: TenantId,
        /// The seq after the receipts that were waited for.
        next_seq: u64,
    },
    /// The ledger was opened for reading only.
    #[error("the ledger of tenant `{tenant}` is open for reading only")]
    ReadOnly {
        /// The tenant.
        tenant: TenantId,
    },
    /// The manifest lists the tenant but its ledger is gone.
    #[error(
        "the ledger of tenant `{tenant}` was deleted: the workspace manifest `{path}` lists \
         it, and a tenant is not started again from nothing\n\
         hint: restore the ledger from a backup; `tai receipts verify --all` reports it"
    )]
    Deleted {
        /// The tenant.
        tenant: TenantId,
        /// The manifest.
        path: PathBuf,
    },
    /// A ledger the manifest does not list: it was not created by a writer of this
    /// workspace.
    #[error(
        "tenant `{tenant}` has a ledger but the workspace manifest `{path}` does not list it\n\
         hint: `tai receipts verify --all` reports it"
    )]
    NotInManifest {
        /// The tenant.
        tenant: TenantId,
        /// The manifest.
        path: PathBuf,
    },
    /// A signing writer would sign a manifest its key did not sign.
    #[error(
        "workspace manifest `{path}` is not as this key signed it ({detail}): adding a tenant \
         would sign its list as it stands\n\
         hint: restore it from a backup; if the signing key was rotated, give the previous \
         key's public half with --previous-key FILE; if the workspace was written without a \
         key before, check it (`tai receipts verify --all`) and adopt it once with \
         --adopt-unsigned"
    )]
    ManifestNotSigned {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with its signature.
        detail: String,
    },
    /// A signing writer found chains and no manifest.
    #[error(
        "workspace manifest `{path}` is missing beside the chains there: a signing writer makes \
         it before the first chain, so it was deleted, perhaps with a tenant's chain, which a \
         manifest made again now would hide\n\
         hint: restore it from a backup; if the chains were written without a key, or by a tai \
         that kept no manifest, check them (`tai receipts verify --all`) and adopt them once \
         with --adopt-unsigned"
    )]
    ManifestMissing {
        /// Where the manifest belongs.
        path: PathBuf,
    },
    /// The manifest is not a manifest.
    #[error("workspace manifest `{path}` is unreadable: {detail}")]
    ManifestUnreadable {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The tenant's chain has signed checkpoints and this writer has no key.
    #[error(
        "the chain of tenant `{tenant}` is signed; writing to it without the signing key would \
         leave receipts no checkpoint covers\n\
         hint: pass --signing-key FILE or set TAI_SIGNING_KEY"
    )]
    SigningKeyRequired {
        /// The tenant.
        tenant: TenantId,
    },
    /// A signing writer met a chain with receipts its key's checkpoints do not cover: no
    /// checkpoint at all, or receipts after the latest one (every round a signing writer
    /// makes durable is signed with it).
    #[error(
        "tenant `{tenant}` has {}: signing its head now would vouch for history no key \
         signed (had its checkpoints been deleted, a rewritten chain would be signed as it \
         stands)\n\
         hint: restore its checkpoints from a backup if it had any; if it was written without \
         a key before, check it (`tai receipts verify --all`) and adopt it once with \
         --adopt-unsigned",
        unsigned_history(*.receipts, *.covered)
    )]
    UnsignedHistory {
        /// The tenant.
        tenant: TenantId,
        /// How many receipts its chain holds.
        receipts: u64,
        /// The seq its latest signed checkpoint covers, when it has one.
        covered: Option<u64>,
    },
    /// A signing writer met a signature by a key it was not told it continues: on a tenant's
    /// latest checkpoint, or on a round a stopped writer left in the write-ahead log.
    #[error(
        "{what} is signed by key {key_id}, not by this writer's key {own}: writing on would \
         sign history no key it trusts vouches for\n\
         hint: if the signing key was rotated, give the previous key's public half with \
         --previous-key FILE (verifiers then pass both with --public-key)"
    )]
    SignedByOtherKey {
        /// What carries the signature, e.g. "the latest checkpoint of tenant `acme` (seq 4)".
        what: String,
        /// The key id it names.
        key_id: String,
        /// The writer's key id.
        own: String,
    },
    /// The tenant has no signed checkpoint.
    #[error(
        "tenant `{tenant}` has no signed checkpoint\n\
         hint: write to it with a signing key (--signing-key or TAI_SIGNING_KEY)"
    )]
    NoCheckpoint {
        /// The tenant.
        tenant: TenantId,
    },
    /// The latest checkpoint does not cover the receipt.
    #[error(
        "receipt seq {seq} of tenant `{tenant}` is not covered by its latest checkpoint \
         (seq {checkpoint_seq}): there is no such receipt yet, or it was written since and the \
         next signed round covers it"
    )]
    NotCovered {
        /// The tenant.
        tenant: TenantId,
        /// The receipt asked for.
        seq: u64,
        /// The latest checkpoint's seq.
        checkpoint_seq: u64,
    },
    /// The checkpoints file has a line that is not a checkpoint.
    #[error("checkpoints file `{path}` is unreadable: {detail}")]
    CheckpointUnreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The chain in the database does not give the signed root.
    #[error(
        "the receipts of tenant `{tenant}` do not match its latest signed checkpoint: {detail}\n\
         hint: `tai receipts verify --tenant {tenant} --public-key FILE` names the first bad seq"
    )]
    CheckpointMismatch {
        /// The tenant.
        tenant: TenantId,
        /// What did not verify.
        detail: String,
    },
    /// The stored Merkle tree does not give the signed root.
    #[error(
        "the Merkle tree `{path}` does not match the signed checkpoint: {detail}\n\
         hint: the next writer rebuilds it from the ledger; `tai receipts verify` checks the chain"
    )]
    TreeMismatch {
        /// The tree file.
        path: PathBuf,
        /// What did not verify.
        detail: String,
    },
    /// A kept checkpoint that the tenant's signed history does not extend: another
    /// tenant's, ahead of the chain (rolled back since), or of another history.
    #[error(
        "the kept checkpoint (seq {seq}) is not part of tenant `{tenant}`'s signed history: \
         {detail}\nhint: `tai receipts verify --tenant {tenant} --checkpoint FILE` checks the \
         chain against it"
    )]
    NotAnExtension {
        /// The tenant whose history was asked for.
        tenant: TenantId,
        /// The kept checkpoint's seq.
        seq: u64,
        /// Why not.
        detail: String,
    },
    /// The ledger's database URL does not parse.
    #[error("`{url}` is not a usable database URL: {detail}")]
    BadUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The ledger's database did not answer.
    #[error(
        "cannot connect to the ledger database `{url}`: {detail}\n\
         hint: check that the server runs and accepts connections from here, and the URL's \
         user, password and database"
    )]
    Unreachable {
        /// The URL, without its password.
        url: String,
        /// The client's error.
        detail: String,
    },
    /// The ledger's database refused or failed a statement.
    #[error("the ledger database could not {action}: {detail}")]
    Database {
        /// What was being done, e.g. `append receipts`.
        action: &'static str,
        /// The database's message.
        detail: String,
    },
    /// The database was migrated by a newer tai.
    #[error(
        "the ledger database has schema version {found}; this tai knows up to {supported}\n\
         hint: run a tai at least as new as the one that migrated it"
    )]
    SchemaTooNew {
        /// The database's newest version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// A stored line could not be read as a receipt.
    #[error(
        "`{path}` line {line} is not a receipt: {detail}\n\
         hint: `tai receipts verify` names the first bad seq"
    )]
    Corrupt {
        /// The ledger file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parser's message.
        detail: String,
    },
}

/// What [`LedgerError::UnsignedHistory`] says of the chain.
fn unsigned_history(receipts: u64, covered: Option<u64>) -> String {
    let receipts = crate::diagnostics::plural(receipts, "receipt");
    match covered {
        None => format!("{receipts} and no signed checkpoint"),
        Some(seq) => format!("{receipts}, and its latest signed checkpoint covers only seq {seq}"),
    }
}

impl LedgerError {
    /// Whether the stored record itself does not verify (a receipt cut off, rewritten or not
    /// a receipt, a head or ledger gone), as opposed to a failure to read or write it: what
    /// reading commands answer with exit 1, as `tai receipts verify` does.
    pub fn is_broken_record(&self) -> bool {
        matches!(
            self,
            LedgerError::HeadMissing { .. }
                | LedgerError::Truncated { .. }
                | LedgerError::HeadMismatch { .. }
                | LedgerError::WrongTenant { .. }
                | LedgerError::Corrupt { .. }
                | LedgerError::Deleted { .. }
                | LedgerError::NotInManifest { .. }
                | LedgerError::ManifestNotSigned { .. }
                | LedgerError::ManifestMissing { .. }
                | LedgerError::CheckpointMismatch { .. }
                | LedgerError::TreeMismatch { .. }
                | LedgerError::NotAnExtension { .. }
        )
    }

    /// Refuses a consistency proof from `old`, a kept checkpoint, to `new`, `tenant`'s latest,
    /// that cannot exist: `old` is another tenant's, or covers more than `new` does. The one
    /// check for file and database ledgers, before any node is read.
    pub(crate) fn check_extends(
        tenant: &TenantId,
        old: &Checkpoint,
        new: &Checkpoint,
    ) -> Result<(), LedgerError> {
        let refuse = |detail: String| LedgerError::NotAnExtension {
            tenant: tenant.clone(),
            seq: old.seq,
            detail,
        };
        if &old.tenant_id != tenant {
            return Err(refuse(format!("it is tenant `{}`'s", old.tenant_id)));
        }
        if old.seq > new.seq {
            return Err(refuse(format!(
                "it covers seq {}, and the latest checkpoint only seq {}: the chain was \
                 rolled back since, or the kept checkpoint is of another history",
                old.seq, new.seq
            )));
        }
        Ok(())
    }

    /// What a consistency proof from `old` that the chain's own nodes do not prove means.
    pub(crate) fn not_an_extension(tenant: &TenantId, old: &Checkpoint, detail: String) -> Self {
        LedgerError::NotAnExtension {
            tenant: tenant.clone(),
            seq: old.seq,
            detail: format!(
                "the history up to the latest checkpoint does not extend it ({detail})"
            ),
        }
    }

    /// A signature on `what` by `key_id`, a key `signer` neither is nor continues.
    pub(crate) fn other_key(what: String, key_id: String, signer: &CheckpointSigner) -> Self {
        LedgerError::SignedByOtherKey {
            what,
            key_id,
            own: signer.public().key_id().to_owned(),
        }
    }

    /// What a writer signing with `signer` answers when the signature of `tenant`'s latest
    /// checkpoint failed with `err`: another key's (a rotation it was not told of), or not
    /// as it was signed. The one answer for file and database ledgers.
    pub(crate) fn latest_not_trusted(
        tenant: &TenantId,
        err: &CheckpointError,
        signer: &CheckpointSigner,
    ) -> Self {
        match err {
            CheckpointError::UnknownKey { seq, key_id } => LedgerError::other_key(
                format!("the latest checkpoint of tenant `{tenant}` (seq {seq})"),
                key_id.clone(),
                signer,
            ),
            e => LedgerError::CheckpointMismatch {
                tenant: tenant.clone(),
                detail: e.to_string(),
            },
        }
    }
}

/// Checks that `batch` continues the chain at `head` for `tenant`; returns the head after it.
pub(crate) fn check_batch(
    tenant: &TenantId,
    head: &ChainHead,
    batch: &[Receipt],
) -> Result<ChainHead, LedgerError> {
    let mut next = head.clone();
    for r in batch {
        if r.seq != next.next_seq || r.prev_hash != next.hash {
            return Err(LedgerError::Discontinuous {
                tenant: tenant.clone(),
                expected_seq: next.next_seq,
                expected_hash: next.hash.to_string(),
                found_seq: r.seq,
                found_prev: r.prev_hash.to_string(),
            });
        }
        if &r.body.tenant_id != tenant {
            return Err(LedgerError::WrongTenant {
                tenant: tenant.clone(),
                found: r.body.tenant_id.clone(),
                seq: r.seq,
            });
        }
        next.next_seq += 1;
        next.hash.clone_from(&r.hash);
    }
    Ok(next)
}
