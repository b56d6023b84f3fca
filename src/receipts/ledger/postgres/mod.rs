//! A ledger in PostgreSQL (or a database speaking its protocol): receipt chains in plain
//! tables, shared by every `tai serve` replica pointed at the same database.
//!
//! Each receipt is stored as the very line the file ledger writes, so the same verification
//! code checks both. An append is one transaction that moves the tenant's head only if it is
//! still where the batch starts (a compare-and-set on `heads`) and inserts the receipts under
//! the `(tenant, seq)` primary key: two replicas deciding on the same head cannot both
//! commit, and the loser is told [`LedgerError::Discontinuous`] with the head it lost to, so
//! it can reload the tenant and decide again. A receipt is acknowledged once its transaction
//! has committed.

mod pool;
mod schema;
mod watch;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Config, IsolationLevel};

use crate::ids::TenantId;
use crate::receipts::verify::Verifier;
use crate::receipts::{ChainHead, GENESIS_HASH, Receipt, VerifyReport};

use super::{Appended, Ledger, LedgerError, StoredHead, check_batch};

use pool::Pool;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// How many connections to keep at most.
    pub pool_size: usize,
    /// How long to wait for a connection before giving up (unless the URL sets
    /// `connect_timeout`).
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
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
        Ok(PostgresLedger { pool, notify })
    }

    /// The database's URL without its password.
    pub fn url(&self) -> &str {
        self.pool.shown()
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

    /// The refusal of a batch that starts at `start` while the chain is at the stored head.
    fn lost_race(&self, tenant: &TenantId, start: &ChainHead) -> LedgerError {
        let head = match self.head(tenant) {
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
}

/// The outcome of one append transaction.
enum Outcome {
    Committed,
    /// The head was not where the batch starts: another writer got there first.
    Lost,
}

fn append_tx(
    client: &mut postgres::Client,
    notify: bool,
    tenant: &TenantId,
    start: &ChainHead,
    end: &ChainHead,
    receipts: &[Receipt],
) -> Result<Outcome, postgres::Error> {
    let mut lines = Vec::with_capacity(receipts.len());
    let mut bytes: i64 = 0;
    for r in receipts {
        let line = String::from_utf8_lossy(&r.to_line()).into_owned();
        bytes += to_db(line.len() as u64 + 1);
        lines.push(line);
    }
    let mut tx = client.transaction()?;
    let t = tenant.as_str();
    let moved = if start.next_seq == 0 {
        tx.execute(
            "INSERT INTO heads (tenant, next_seq, hash, ledger_bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant) DO NOTHING",
            &[&t, &to_db(end.next_seq), &&*end.hash, &bytes],
        )?
    } else {
        tx.execute(
            "UPDATE heads SET next_seq = $2, hash = $3, ledger_bytes = ledger_bytes + $4 \
             WHERE tenant = $1 AND next_seq = $5 AND hash = $6",
            &[
                &t,
                &to_db(end.next_seq),
                &&*end.hash,
                &bytes,
                &to_db(start.next_seq),
                &&*start.hash,
            ],
        )?
    };
    if moved != 1 {
        tx.rollback()?;
        return Ok(Outcome::Lost);
    }
    let insert = tx.prepare(
        "INSERT INTO receipts (tenant, seq, prev_hash, hash, line) VALUES ($1, $2, $3, $4, $5)",
    )?;
    for (r, line) in receipts.iter().zip(&lines) {
        tx.execute(
            &insert,
            &[&t, &to_db(r.seq), &&*r.prev_hash, &&*r.hash, line],
        )?;
    }
    if notify {
        // Delivered on commit, to the other servers' watchers.
        let payload = watch::payload(tenant, start.next_seq, end.next_seq);
        tx.execute("SELECT pg_notify($1, $2)", &[&watch::CHANNEL, &payload])?;
    }
    tx.commit()?;
    Ok(Outcome::Committed)
}

impl Ledger for PostgresLedger {
    fn append(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<ChainHead, LedgerError> {
        self.write(tenant, receipts)?;
        self.head(tenant)
    }

    fn write(&self, tenant: &TenantId, receipts: &[Receipt]) -> Result<u64, LedgerError> {
        let Some(first) = receipts.first() else {
            return Ok(self.head(tenant)?.next_seq);
        };
        let start = ChainHead {
            next_seq: first.seq,
            hash: first.prev_hash.clone(),
        };
        if start.next_seq == 0 && *start.hash != *GENESIS_HASH {
            return Err(self.lost_race(tenant, &start));
        }
        let end = check_batch(tenant, &start, receipts)?;
        let mut client = self.pool.get()?;
        match append_tx(&mut client, self.notify, tenant, &start, &end, receipts) {
            Ok(Outcome::Committed) => Ok(end.next_seq),
            Ok(Outcome::Lost) => Err(self.lost_race(tenant, &start)),
            Err(e) if is_race(&e) => Err(self.lost_race(tenant, &start)),
            Err(e) => Err(db_err("append receipts")(e)),
        }
    }

    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        self.read_from(tenant, 0, usize::MAX)
    }

    fn is_remote(&self) -> bool {
        true
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

    fn head(&self, tenant: &TenantId) -> Result<ChainHead, LedgerError> {
        let head = Self::stored_head(&mut *self.pool.get()?, tenant)?;
        Ok(head.map(|h| h.chain()).unwrap_or_default())
    }

    fn verify(&self, tenant: &TenantId) -> Result<VerifyReport, LedgerError> {
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
        tx.commit().map_err(db_err("finish reading a chain"))?;
        let mut bytes = Vec::new();
        for row in &rows {
            bytes.extend_from_slice(row.get::<_, &str>(0).as_bytes());
            bytes.push(b'\n');
        }
        let head = head.map(|h| h.encode());
        Ok(Verifier::new()
            .tenant(tenant)
            .verify(&bytes, head.as_deref()))
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
