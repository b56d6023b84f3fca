//! The database schema and its migrations, applied when a ledger is opened.
//!
//! Every replica runs the migrations at start-up; an advisory lock keeps two that start at
//! once from racing. A database without advisory locks (some PostgreSQL-protocol
//! distributed databases) migrates without one: each step runs in its own transaction, is
//! idempotent (`IF NOT EXISTS`), and records its version with `ON CONFLICT DO NOTHING`.

use postgres::Client;

use super::super::LedgerError;
use super::db_err;

/// An arbitrary key naming the migration lock among the database's advisory locks.
const MIGRATION_LOCK: i64 = 0x7461_695f_6d69_6772; // "tai_migr"

/// Each version's statements, in order. Never edit a released step: add the next one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "receipts and heads",
        "CREATE TABLE IF NOT EXISTS receipts (
         tenant TEXT NOT NULL,
         seq BIGINT NOT NULL,
         prev_hash TEXT NOT NULL,
         hash TEXT NOT NULL,
         line TEXT NOT NULL,
         PRIMARY KEY (tenant, seq)
     );
     CREATE TABLE IF NOT EXISTS heads (
         tenant TEXT PRIMARY KEY,
         next_seq BIGINT NOT NULL,
         hash TEXT NOT NULL,
         ledger_bytes BIGINT NOT NULL
     );",
    ),
    (
        2,
        "signed checkpoints",
        // Each row is the checkpoint's line as the file ledger's checkpoints file holds it.
        "CREATE TABLE IF NOT EXISTS checkpoints (
             tenant TEXT NOT NULL,
             seq BIGINT NOT NULL,
             line TEXT NOT NULL,
             PRIMARY KEY (tenant, seq)
         );",
    ),
    (
        3,
        "the tenant manifest",
        // One row: the manifest as a state directory's manifest.json holds it, null until
        // the first tenant is registered.
        "CREATE TABLE IF NOT EXISTS manifest (
             id SMALLINT PRIMARY KEY CHECK (id = 1),
             line TEXT
         );",
    ),
];

/// The schema version this build writes.
pub(super) const CURRENT: i64 = 3;

/// Brings the database's schema up to [`CURRENT`]; refuses one a newer build migrated.
pub(super) fn migrate(client: &mut Client) -> Result<(), LedgerError> {
    let locked = client
        .query_one("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .is_ok();
    let result = apply(client);
    if locked {
        // Closing the session would release it as well.
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    }
    result
}

fn apply(client: &mut Client) -> Result<(), LedgerError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 description TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .map_err(db_err("create the schema_migrations table"))?;
    let newest: Option<i64> = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .map_err(db_err("read the schema version"))?
        .get(0);
    if let Some(v) = newest.filter(|v| *v > CURRENT) {
        return Err(LedgerError::SchemaTooNew {
            found: v,
            supported: CURRENT,
        });
    }
    for (version, description, sql) in MIGRATIONS {
        if newest.is_some_and(|v| v >= *version) {
            continue;
        }
        let mut tx = client.transaction().map_err(db_err("begin a migration"))?;
        tx.batch_execute(sql)
            .map_err(db_err("migrate the schema"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, description) VALUES ($1, $2) \
             ON CONFLICT (version) DO NOTHING",
            &[version, description],
        )
        .map_err(db_err("record a schema version"))?;
        tx.commit().map_err(db_err("commit a migration"))?;
    }
    Ok(())
}
