//! Command runs across servers: the server running a tenant's command holds a session-level
//! advisory lock named after the tenant until the outcome is committed, so another server
//! that sees the `action_started` receipt can tell a command still running (wait) from one
//! whose server is gone (record it as interrupted).
//!
//! The lock lives in a connection of its own, outside the pool: when the server dies its
//! session ends and the database releases the lock. Keepalives on that session bound how
//! long a vanished machine (no FIN) keeps it.

use std::time::{Duration, Instant};

use postgres::Client;
use sha2::{Digest, Sha256};

use crate::ids::TenantId;

use super::super::{LedgerError, RunClaim};
use super::db_err;
use super::pool::Pool;

/// How often a server waiting for another's run asks again.
const POLL: Duration = Duration::from_millis(50);

/// The longest wait for another server's run: far beyond any command's timeout plus the
/// keepalive's detection of a vanished server, so reaching it means something is wrong.
const PATIENCE: Duration = Duration::from_secs(3600);

/// The advisory lock key of `tenant`'s run: 8 bytes of a hash, so tenants do not collide
/// in practice, nor with the migration lock.
fn key(tenant: &TenantId) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"tai run ")
        .chain_update(tenant.as_str().as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Takes `tenant`'s run lock on a new connection, waiting while another server holds it.
/// `None` where the database has no advisory locks: runs are then not coordinated.
pub(super) fn claim(pool: &Pool, tenant: &TenantId) -> Result<Option<RunClaim>, LedgerError> {
    let mut client = pool.connect()?;
    // Found out within about half a minute when the server holding it vanishes.
    let _ = client.batch_execute(
        "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
         SET tcp_keepalives_count = 3",
    );
    match client.query_one("SELECT pg_advisory_lock($1)", &[&key(tenant)]) {
        Ok(_) => Ok(Some(RunClaim::new(Held(client)))),
        Err(e) if e.as_db_error().is_some() => Ok(None),
        Err(e) => Err(db_err("claim a command run")(e)),
    }
}

/// Returns once no server holds `tenant`'s run lock.
pub(super) fn wait(pool: &Pool, tenant: &TenantId) -> Result<(), LedgerError> {
    let key = key(tenant);
    let since = Instant::now();
    loop {
        {
            let mut client = pool.get()?;
            let free = match client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]) {
                Ok(row) => row.get::<_, bool>(0),
                // No advisory locks here: nothing to wait for.
                Err(e) if e.as_db_error().is_some() => return Ok(()),
                Err(e) => return Err(db_err("look for a running command")(e)),
            };
            if free {
                client
                    .query_one("SELECT pg_advisory_unlock($1)", &[&key])
                    .map_err(db_err("look for a running command"))?;
                return Ok(());
            }
        }
        if since.elapsed() > PATIENCE {
            return Err(LedgerError::Database {
                action: "wait for a command another server runs",
                detail: format!(
                    "tenant `{tenant}`'s command has held its run for over {} s",
                    PATIENCE.as_secs()
                ),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// The connection holding a run lock: closing it releases the lock.
struct Held(Client);

impl Drop for Held {
    fn drop(&mut self) {
        // Closing the session releases it as well, should unlocking fail.
        let _ = self.0.batch_execute("SELECT pg_advisory_unlock_all()");
    }
}
