//! A ledger in PostgreSQL (or a database speaking its protocol): receipt chains in plain
//! tables, shared by every `tai serve` replica pointed at the same database.
//!
//! Each receipt is stored as the very line the file ledger writes, so the same verification
//! code checks both. An append is one transaction that moves the tenant's head only if it is
//! still where the batch starts (a compare-and-set on `heads`) and inserts the receipts under
//! the `(tenant, seq)` primary key: two replicas deciding on the same head cannot both
//! commit, and the loser is told [`LedgerError::Discontinuous`] with the head it lost to, so
//! it can reload the tenant and decide again. A receipt is acknowledged once its transaction
//! has committed. A writer given a signing key signs a checkpoint of each tenant's head
//! after every commit round (see `sign`), as a file ledger does after every flush.

mod claim;
mod commit;
mod import;
mod pool;
mod registry;
mod schema;
mod sign;
mod watch;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Config, IsolationLevel};

use crate::clock::{Clock, SystemClock};
use crate::ids::TenantId;
use crate::receipts::proof::{ConsistencyProof, InclusionProof};
use crate::receipts::signing::{Checkpoint, CheckpointSigner};
use crate::receipts::trust::TrustAnchors;
use crate::receipts::verify::Verifier;
use crate::receipts::{ChainHead, GENESIS_HASH, ProblemKind, Receipt, VerifyReport};

use super::notice::{LastReceipt, Notice};
use super::{
    Appended, Ledger, LedgerError, Manifest, RunClaim, StoredHead, check_batch, check_signed,
};

use commit::{Round, Settled};
use pool::Pool;
use sign::Signing;

use crate::sync::lock;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// How many connections to keep at most.
    pub pool_size: usize,
    /// How long to wait for a connection before giving up (unless the URL sets
    /// `connect_timeout`).
    pub connect_timeout: Duration,
    /// The key each commit round's checkpoints are signed with; none are signed without one.
    pub signer: Option<Arc<CheckpointSigner>>,
    /// The clock of checkpoints.
    pub clock: Arc<dyn Clock>,
    /// Whether a signing writer may sign receipts no checkpoint covers: a chain written
    /// without a key (see [`crate::receipts::ledger::LedgerOptions::adopt_unsigned`]).
    /// Commits store their checkpoints with their receipts, so any such receipts are refused
    /// otherwise, also after a chain's latest checkpoint.
    pub adopt_unsigned: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            signer: None,
            clock: Arc::new(SystemClock),
            adopt_unsigned: false,
        }
    }
}

/// Receipt chains in a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresLedger {
    pool: Arc<Pool>,
    /// Whether the database has `NOTIFY` (appends announce themselves to other servers);
    /// without it they poll.
    notify: bool,
    /// What was written and not yet committed, and what the last commits settled.
    round: Mutex<Round>,
    /// How checkpoints are signed, when they are.
    signing: Option<Signing>,
    /// Tenants an unsigning writer found without checkpoints, so may write to.
    unsigned: Mutex<std::collections::HashSet<TenantId>>,
    /// Tenants this writer listed in the manifest (or found listed).
    registered: Mutex<std::collections::HashSet<TenantId>>,
}

/// Whether `location` names a PostgreSQL database rather than a directory.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `url` with its password (if any) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl PostgresLedger {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and migrates the
    /// schema.
    pub fn connect(url: &str) -> Result<PostgresLedger, LedgerError> {
        Self::connect_with(url, &PostgresOptions::default())
    }

    /// [`PostgresLedger::connect`] with explicit options.
    pub fn connect_with(
        url: &str,
        options: &PostgresOptions,
    ) -> Result<PostgresLedger, LedgerError> {
        let shown = redact_url(url);
        let mut config = Config::from_str(url).map_err(|e| LedgerError::BadUrl {
            url: shown.clone(),
            detail: describe(&e),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("tai");
        }
        let pool = Arc::new(Pool::new(config, shown, options.pool_size));
        let notify = {
            let mut client = pool.get()?;
            schema::migrate(&mut client)?;
            client
                .execute("SELECT pg_notify($1, '')", &[&watch::CHANNEL])
                .is_ok()
        };
        let ledger = PostgresLedger {
            pool,
            notify,
            round: Mutex::new(Round::default()),
            signing: options.signer.as_ref().map(|signer| Signing {
                signer: Arc::clone(signer),
                clock: Arc::clone(&options.clock),
                adopt_unsigned: options.adopt_unsigned,
            }),
            unsigned: Mutex::default(),
            registered: Mutex::default(),
        };
        if let Some(signer) = &options.signer {
            ledger.sign_manifest_over(signer, options.adopt_unsigned)?;
        }
        Ok(ledger)
    }

    /// The database's URL without its password.
    pub fn url(&self) -> &str {
        self.pool.shown()
    }

    /// Refuses a writer without the key a chain with checkpoints: what it wrote would be
    /// covered by none (asked once per tenant).
    fn check_key(&self, tenant: &TenantId) -> Result<(), LedgerError> {
        if self.signing.is_some() || lock(&self.unsigned).contains(tenant) {
            return Ok(());
        }
        if sign::latest(&mut *self.pool.get()?, tenant)?.is_some() {
            return Err(LedgerError::SigningKeyRequired {
                tenant: tenant.clone(),
            });
        }
        lock(&self.unsigned).insert(tenant.clone());
        Ok(())
    }

    /// On a signing writer's first read of `tenant`: checks that its latest checkpoint is
    /// signed by a key the writer trusts and states the receipt at its seq (a chain rewritten
    /// or rolled back under it is not written on), and that checkpoints cover its head.
    /// Commits store their checkpoints with their receipts, so receipts no checkpoint covers
    /// were written without a key, or their checkpoints were deleted (perhaps to get a
    /// rewritten chain signed), and only the operator can tell: a writer told to adopt such
    /// history (never a chain rolled back under its checkpoint) records that it did, in a
    /// `ledger_history_adopted` receipt committed with its checkpoint, and answers it.
    /// `receipts` are the whole committed chain.
    fn sign_uncovered(
        &self,
        tenant: &TenantId,
        receipts: &[Receipt],
    ) -> Result<Option<Receipt>, LedgerError> {
        let Some(signing) = &self.signing else {
            return Ok(None);
        };
        let mut round = lock(&self.round);
        if !round.frontiers.first_use(tenant) {
            return Ok(None);
        }
        let result = (|| {
            let Some(last) = receipts.last() else {
                return Ok(None);
            };
            let latest = sign::latest(&mut *self.pool.get()?, tenant)?;
            let checked = match &latest {
                Some(c) => sign::check_latest(&mut *self.pool.get()?, &signing.signer, c, receipts),
                None => Ok(()),
            };
            let refusal = match (&latest, checked) {
                (_, Err(e @ LedgerError::Database { .. })) => return Err(e),
                // Behind its checkpoint: adopting would fork the signed history.
                (Some(c), Err(e)) if c.seq > last.seq => return Err(e),
                (Some(c), Ok(())) if c.seq >= last.seq => return Ok(None),
                (_, Err(e)) => e,
                (latest, Ok(())) => LedgerError::UnsignedHistory {
                    tenant: tenant.clone(),
                    receipts: last.seq + 1,
                    covered: latest.as_ref().map(|c| c.seq),
                },
            };
            // Adopted only on a tenant nothing is staged for yet (its first read comes before
            // any write): the adoption's receipt must follow the committed chain.
            if !signing.adopt_unsigned || round.staged_end(tenant).is_some() {
                return Err(refusal);
            }
            let key_id = signing.signer.public().key_id();
            let notice = Notice::history_adopted(&refusal, last.seq + 1, key_id);
            let start = ChainHead {
                next_seq: last.seq + 1,
                hash: last.hash.clone(),
            };
            let mut end = start.clone();
            let body = LastReceipt::of(last).notice_body(
                tenant,
                start.next_seq,
                notice,
                signing.clock.now(),
            );
            let adopted = end.seal(body);
            round.stage(tenant, start.clone(), end, std::slice::from_ref(&adopted));
            round.commit(&self.pool, self.notify, Some(signing));
            match round.settled.get(tenant).cloned() {
                Some(Settled::Durable(durable)) if durable > adopted.seq => Ok(Some(adopted)),
                Some(Settled::Lost(start, head)) => Err(self.lost_race(tenant, &start, head)),
                Some(Settled::Failed(_, detail)) => Err(LedgerError::Database {
                    action: "commit receipts",
                    detail,
                }),
                _ => Err(LedgerError::NotDurable {
                    tenant: tenant.clone(),
                    next_seq: adopted.seq + 1,
                }),
            }
        })();
        if result.is_err() {
            round.frontiers.forget(tenant);
        }
        result
    }

    /// Where a tenant's receipts are, for messages that name a path.
    fn place(&self, tenant: &TenantId) -> PathBuf {
        PathBuf::from(format!("{} (receipts of `{tenant}`)", self.url()))
    }

    /// The head as a file ledger would store it, with the byte length of its lines.
    fn stored_head(
        client: &mut impl postgres::GenericClient,
        tenant: &TenantId,
    ) -> Result<Option<StoredHead>, LedgerError> {
        let row = client
            .query_opt(
                "SELECT next_seq, hash, ledger_bytes FROM heads WHERE tenant = $1",
                &[&tenant.as_str()],
            )
            .map_err(db_err("read a chain head"))?;
        Ok(row.map(|row| StoredHead {
            next_seq: from_db(row.get(0)),
            hash: row.get(1),
            ledger_bytes: from_db(row.get(2)),
        }))
    }

    /// The refusal of a batch that starts at `start` while the chain is at `head` (read from
    /// the database when the commit could not tell).
    fn lost_race(
        &self,
        tenant: &TenantId,
        start: &ChainHead,
        head: Option<ChainHead>,
    ) -> LedgerError {
        let head = match head.map_or_else(|| self.head(tenant), Ok) {
            Ok(head) => head,
            Err(e) => return e,
        };
        LedgerError::Discontinuous {
            tenant: tenant.clone(),
            expected_seq: head.next_seq,
            expected_hash: head.hash.to_string(),
            found_seq: start.next_seq,
            found_prev: start.hash.to_string(),
        }
    }

    /// The chain (and, with `anchors`, its checkpoints) as one snapshot of the database.
    fn check(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: Option<TrustAnchors<'_>>,
    ) -> Result<VerifyReport, LedgerError> {
        let mut client = self.pool.get()?;
        // One snapshot: the head and the lines as one commit left them.
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db_err("begin reading a chain"))?;
        let head = Self::stored_head(&mut tx, tenant)?;
        let rows = tx
            .query(
                "SELECT line FROM receipts WHERE tenant = $1 ORDER BY seq",
                &[&tenant.as_str()],
            )
            .map_err(db_err("read receipts"))?;
        let (checkpoints, manifest) = match anchors {
            Some(_) => (
                Some(sign::all(&mut tx, tenant)?),
                registry::read(&mut tx, &self.manifest_place())?,
            ),
            None => (None, None),
        };
        tx.commit().map_err(db_err("finish reading a chain"))?;
        let mut bytes = Vec::new();
        for row in &rows {
            bytes.extend_from_slice(row.get::<_, &str>(0).as_bytes());
            bytes.push(b'\n');
        }
        let head = head.map(|h| h.encode());
        let exists = head.is_some();
        let mut report = Verifier::new()
            .tenant(tenant)
            .deep(deep)
            .verify(&bytes, head.as_deref());
        if let Some(anchors) = anchors
            && report.problem.is_none()
            && let Some(kind) = Manifest::problem(manifest.as_ref(), tenant, exists, anchors.keys)
        {
            report.problem = Some(crate::receipts::Problem {
                seq: None,
                line: None,
                kind,
            });
            return Ok(report);
        }
        match (checkpoints, anchors) {
            (Some(Ok(checkpoints)), Some(anchors)) => {
                check_signed(&mut report, tenant, &bytes, &checkpoints, anchors);
            }
            (Some(Err((seq, detail))), _) if report.problem.is_none() => {
                report.problem = Some(crate::receipts::Problem {
                    seq: Some(seq),
                    line: None,
                    kind: ProblemKind::CheckpointMismatch {
                        detail: format!("the checkpoint row at seq {seq}: {detail}"),
                    },
                });
            }
            _ => {}
        }
        Ok(report)
    }
}

impl Ledger for PostgresLedger {
    fn append(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<ChainHead, LedgerError> {
        let next_seq = self.write(tenant, receipts)?;
        self.sync(tenant, next_seq)?;
        self.head(tenant)
    }

    /// Stages the batch for the next commit (see [`Ledger::sync`]).
    fn write(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
        let Some(first) = receipts.first() else {
            return Ok(self.head(tenant)?.next_seq);
        };
        let start = ChainHead {
            next_seq: first.seq,
            hash: first.prev_hash.clone(),
        };
        if start.next_seq == 0 && *start.hash != *GENESIS_HASH {
            return Err(self.lost_race(tenant, &start, None));
        }
        let end = check_batch(tenant, &start, receipts)?;
        self.check_key(tenant)?;
        if start.next_seq == 0 {
            self.register(tenant)?;
        }
        let mut round = lock(&self.round);
        if let Some(staged) = round.staged_end(tenant)
            && *staged != start
        {
            return Err(LedgerError::Discontinuous {
                tenant: tenant.clone(),
                expected_seq: staged.next_seq,
                expected_hash: staged.hash.to_string(),
                found_seq: start.next_seq,
                found_prev: start.hash.to_string(),
            });
        }
        let next_seq = end.next_seq;
        round.stage(tenant, start, end, receipts);
        Ok(next_seq)
    }

    /// Commits everything staged (every tenant's, in one transaction), then answers for
    /// `tenant` from what that commit, or an earlier one, settled.
    fn sync(&self, tenant: &TenantId, next_seq: u64) -> Result<(), LedgerError> {
        let mut round = lock(&self.round);
        if !round.staged.is_empty() {
            round.commit(&self.pool, self.notify, self.signing.as_ref());
        }
        match round.settled.get(tenant).cloned() {
            Some(Settled::Durable(durable)) if durable < next_seq => Err(LedgerError::NotDurable {
                tenant: tenant.clone(),
                next_seq,
            }),
            Some(Settled::Lost(start, head)) if next_seq > start.next_seq => {
                drop(round);
                Err(self.lost_race(tenant, &start, head))
            }
            Some(Settled::Failed(from, detail)) if next_seq > from => Err(LedgerError::Database {
                action: "commit receipts",
                detail,
            }),
            _ => Ok(()),
        }
    }

    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        let mut receipts = self.read_from(tenant, 0, usize::MAX)?;
        receipts.extend(self.sign_uncovered(tenant, &receipts)?);
        Ok(receipts)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn claim_run(&self, tenant: &TenantId) -> Result<Option<RunClaim>, LedgerError> {
        claim::claim(&self.pool, tenant)
    }

    fn await_run(&self, tenant: &TenantId) -> Result<(), LedgerError> {
        claim::wait(&self.pool, tenant)
    }

    fn watch(&self, on_append: &Arc<Appended>) -> bool {
        watch::spawn(Arc::clone(&self.pool), self.notify, on_append)
    }

    fn read_from(
        &self,
        tenant: &TenantId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Receipt>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .pool
            .get()?
            .query(
                "SELECT seq, line FROM receipts WHERE tenant = $1 AND seq >= $2 \
                 ORDER BY seq LIMIT $3",
                &[&tenant.as_str(), &to_db(from), &limit],
            )
            .map_err(db_err("read receipts"))?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.get(0);
                let line: &str = row.get(1);
                serde_json::from_str(line).map_err(|e| LedgerError::Corrupt {
                    path: self.place(tenant),
                    line: from_db(seq) + 1,
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        let rows = self
            .pool
            .get()?
            .query("SELECT tenant FROM heads WHERE next_seq > 0", &[])
            .map_err(db_err("list tenants"))?;
        let mut tenants: Vec<TenantId> = rows
            .iter()
            .filter_map(|row| TenantId::new(row.get::<_, String>(0)).ok())
            .collect();
        tenants.sort();
        Ok(tenants)
    }

    fn manifest(&self) -> Result<Option<Manifest>, LedgerError> {
        registry::read(&mut *self.pool.get()?, &self.manifest_place())
    }

    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError> {
        let head = Self::stored_head(&mut *self.pool.get()?, tenant)?;
        Ok(head.map(|h| h.chain()).unwrap_or_default())
    }

    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError> {
        self.check(tenant, false, None)
    }

    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        sign::latest(&mut *self.pool.get()?, tenant)
    }

    /// Computed from every receipt hash up to the checkpoint: O(n) per proof.
    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        let checkpoint =
            self.latest_checkpoint(tenant)?
                .ok_or_else(|| LedgerError::NoCheckpoint {
                    tenant: tenant.clone(),
                })?;
        let not_covered = || LedgerError::NotCovered {
            tenant: tenant.clone(),
            seq,
            checkpoint_seq: checkpoint.seq,
        };
        if seq > checkpoint.seq {
            return Err(not_covered());
        }
        let receipt = self
            .read_from(tenant, seq, 1)?
            .into_iter()
            .next()
            .filter(|r| r.seq == seq)
            .ok_or_else(not_covered)?;
        sign::prove(&mut *self.pool.get()?, receipt, checkpoint)
    }

    fn prove_consistency(
        &self,
        tenant: &TenantId,
        old: Checkpoint,
    ) -> Result<ConsistencyProof, LedgerError> {
        let new = self
            .latest_checkpoint(tenant)?
            .ok_or_else(|| LedgerError::NoCheckpoint {
                tenant: tenant.clone(),
            })?;
        sign::prove_consistency(&mut *self.pool.get()?, old, new)
    }

    /// One snapshot of the head, the receipts and the checkpoints: a round commits its
    /// checkpoints with its receipts, so a head seen is a head signed (unless its writer had
    /// no key, which is what this reports).
    fn verify_signed(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> Result<VerifyReport, LedgerError> {
        self.check(tenant, deep, Some(anchors))
    }
}

/// Whether the database refused a transaction because another one got there first.
fn is_race(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// A database error with what was being done.
fn db_err(action: &'static str) -> impl FnOnce(postgres::Error) -> LedgerError {
    move |e| LedgerError::Database {
        action,
        detail: describe(&e),
    }
}

/// The error and its causes on one line: the client's own message is often only "db error".
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Seqs and byte counts are `u64`; the database's integers are signed. A chain never comes
/// near 2^63 receipts or bytes.
fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://tai:secret@db:5432/tai?sslmode=disable"),
            "postgres://tai:***@db:5432/tai?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://tai@db/tai"), "postgres://tai@db/tai");
        assert!(is_postgres_url("postgresql://localhost/x"));
        assert!(!is_postgres_url(".tai"));
    }
}
