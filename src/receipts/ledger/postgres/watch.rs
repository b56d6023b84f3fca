//! Telling a server what the other servers on the same database appended: `LISTEN` on one
//! channel, which every append notifies in its transaction, or, on a database without
//! `LISTEN`/`NOTIFY`, polling the heads table.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;

use crate::ids::TenantId;

use super::super::Appended;
use super::pool::Pool;

/// The channel every append notifies: `tenant first_seq next_seq`.
pub(super) const CHANNEL: &str = "tai_receipts";

/// How often heads are polled where `LISTEN` is not available, and how long a lost
/// connection waits before it is opened again.
const POLL: Duration = Duration::from_millis(250);

/// Parses a notification's text, `tenant first_seq next_seq`, as the commit statement
/// (`commit::COMMIT_ROUND`) composes it.
fn parse(payload: &str) -> Option<(TenantId, u64, u64)> {
    let mut parts = payload.split(' ');
    let tenant = TenantId::new(parts.next()?).ok()?;
    let first = parts.next()?.parse().ok()?;
    let next = parts.next()?.parse().ok()?;
    Some((tenant, first, next))
}

/// Runs until `on_append` is dropped by everyone else: reports every append to a tenant's
/// chain (possibly also this server's own) as `(tenant, first seq, next seq)`.
pub(super) fn run(pool: &Pool, listen: bool, on_append: &Weak<Appended>) {
    let mut heads: Option<HashMap<String, i64>> = None;
    while on_append.strong_count() > 0 {
        let Ok(mut client) = pool.connect() else {
            std::thread::sleep(POLL);
            continue;
        };
        if listen && client.batch_execute(&format!("LISTEN {CHANNEL}")).is_ok() {
            listened(&mut client, on_append);
        } else {
            polled(&mut client, &mut heads, on_append);
        }
        std::thread::sleep(POLL);
    }
}

/// Until the connection fails or nobody listens any more.
fn listened(client: &mut Client, on_append: &Weak<Appended>) {
    loop {
        let Some(report) = on_append.upgrade() else {
            return;
        };
        let mut notifications = client.notifications();
        let mut batch = notifications.timeout_iter(Duration::from_secs(1));
        loop {
            match batch.next() {
                Ok(Some(n)) => {
                    if let Some((tenant, first, next)) = parse(n.payload()) {
                        report(&tenant, first, next);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        drop(batch);
        drop(notifications);
        if client.is_closed() {
            return;
        }
    }
}

/// Compares the heads with the last poll's until the connection fails.
fn polled(
    client: &mut Client,
    heads: &mut Option<HashMap<String, i64>>,
    on_append: &Weak<Appended>,
) {
    loop {
        let Some(report) = on_append.upgrade() else {
            return;
        };
        let Ok(rows) = client.query("SELECT tenant, next_seq FROM heads", &[]) else {
            return;
        };
        let now: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        if let Some(before) = heads.as_ref() {
            for (tenant, next) in &now {
                let first = before.get(tenant).copied().unwrap_or(0);
                if *next > first
                    && let Ok(t) = TenantId::new(tenant.as_str())
                {
                    report(&t, super::from_db(first), super::from_db(*next));
                }
            }
        }
        *heads = Some(now);
        drop(report);
        std::thread::sleep(POLL);
    }
}

/// Starts the watcher thread.
pub(super) fn spawn(pool: Arc<Pool>, listen: bool, on_append: &Arc<Appended>) -> bool {
    let weak = Arc::downgrade(on_append);
    std::thread::Builder::new()
        .name("tai-ledger-watch".into())
        .spawn(move || run(&pool, listen, &weak))
        .is_ok()
}
