//! Group commit: the batches written to many tenants while one commit runs are committed
//! together by the next, in one transaction, so a round of calls costs one flush of the
//! database's log instead of one per batch.
//!
//! [`Ledger::write`](super::super::Ledger::write) stages a batch (checked against what is
//! staged for the tenant already); the first [`Ledger::sync`](super::super::Ledger::sync)
//! commits everything staged, and every later one reads what that commit settled. Inside the
//! transaction each tenant's head moves only if it is still where the tenant's batches
//! start; a tenant that lost its race is left out and told so, the others commit.

use std::collections::HashMap;

use postgres::Client;

use crate::ids::TenantId;
use crate::receipts::{ChainHead, Receipt};

use super::{to_db, watch};

/// One tenant's batches staged since the last commit, merged into one.
#[derive(Debug)]
pub(super) struct Staged {
    pub(super) start: ChainHead,
    pub(super) end: ChainHead,
    pub(super) receipts: Vec<Receipt>,
}

/// What the last commit that included a tenant settled for it.
#[derive(Debug, Clone)]
pub(super) enum Settled {
    /// Everything below this seq is committed.
    Durable(u64),
    /// The batches from this head on were refused: another writer moved the head first.
    Lost(ChainHead),
    /// The batches from this seq on failed with the database's error; they may or may not
    /// have been committed.
    Failed(u64, String),
}

/// Staged batches, in the order their tenants were first written, and what was settled.
#[derive(Debug, Default)]
pub(super) struct Round {
    pub(super) staged: Vec<Staged>,
    pub(super) index: HashMap<TenantId, usize>,
    pub(super) settled: HashMap<TenantId, Settled>,
}

impl Round {
    /// Where `tenant`'s staged batches end, if any are staged.
    pub(super) fn staged_end(&self, tenant: &TenantId) -> Option<&ChainHead> {
        self.index.get(tenant).map(|&i| &self.staged[i].end)
    }

    /// Stages a checked batch from `start` to `end`.
    pub(super) fn stage(
        &mut self,
        tenant: &TenantId,
        start: ChainHead,
        end: ChainHead,
        receipts: &[Receipt],
    ) {
        match self.index.get(tenant) {
            Some(&i) => {
                let staged = &mut self.staged[i];
                staged.end = end;
                staged.receipts.extend_from_slice(receipts);
            }
            None => {
                self.index.insert(tenant.clone(), self.staged.len());
                self.staged.push(Staged {
                    start,
                    end,
                    receipts: receipts.to_vec(),
                });
            }
        }
    }

    /// Commits everything staged in one transaction and records what it settled.
    pub(super) fn commit(&mut self, client: &mut Client, notify: bool) {
        let staged = std::mem::take(&mut self.staged);
        let tenants: Vec<TenantId> = {
            let mut by_slot: Vec<(usize, TenantId)> =
                self.index.drain().map(|(t, i)| (i, t)).collect();
            by_slot.sort_by_key(|(i, _)| *i);
            by_slot.into_iter().map(|(_, t)| t).collect()
        };
        let outcome = commit_all(client, notify, &tenants, &staged);
        for ((tenant, batch), moved) in tenants.into_iter().zip(&staged).zip(outcome.moved) {
            let settled = match (&outcome.failed, moved) {
                (Some((true, _)), _) | (None, false) => Settled::Lost(batch.start.clone()),
                (Some((false, detail)), _) => Settled::Failed(batch.start.next_seq, detail.clone()),
                (None, true) => Settled::Durable(batch.end.next_seq),
            };
            self.settled.insert(tenant, settled);
        }
    }
}

impl Round {
    /// Settles everything staged as failed: no connection could be had.
    pub(super) fn fail_all(&mut self, detail: &str) {
        for (tenant, i) in self.index.drain() {
            let from = self.staged[i].start.next_seq;
            self.settled
                .insert(tenant, Settled::Failed(from, detail.to_owned()));
        }
        self.staged.clear();
    }
}

struct Outcome {
    /// Per staged batch: whether its tenant's head moved.
    moved: Vec<bool>,
    /// Whether the transaction failed, and whether because another writer raced it.
    failed: Option<(bool, String)>,
}

fn commit_all(
    client: &mut Client,
    notify: bool,
    tenants: &[TenantId],
    staged: &[Staged],
) -> Outcome {
    let mut moved = Vec::with_capacity(staged.len());
    let result = (|| -> Result<(), postgres::Error> {
        let mut tx = client.transaction()?;
        let first = tx.prepare(
            "INSERT INTO heads (tenant, next_seq, hash, ledger_bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant) DO NOTHING",
        )?;
        let next = tx.prepare(
            "UPDATE heads SET next_seq = $2, hash = $3, ledger_bytes = ledger_bytes + $4 \
             WHERE tenant = $1 AND next_seq = $5 AND hash = $6",
        )?;
        let insert = tx.prepare(
            "INSERT INTO receipts (tenant, seq, prev_hash, hash, line) \
             SELECT $1, s, p, h, l FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) \
             AS r(s, p, h, l)",
        )?;
        let mut announced = Vec::new();
        for (tenant, batch) in tenants.iter().zip(staged) {
            let t = tenant.as_str();
            let lines: Vec<String> = batch
                .receipts
                .iter()
                .map(|r| String::from_utf8_lossy(&r.to_line()).into_owned())
                .collect();
            let bytes: i64 = lines.iter().map(|l| to_db(l.len() as u64 + 1)).sum();
            let (end_seq, end_hash) = (to_db(batch.end.next_seq), &*batch.end.hash);
            let rows = if batch.start.next_seq == 0 {
                tx.execute(&first, &[&t, &end_seq, &end_hash, &bytes])?
            } else {
                let (start_seq, start_hash) = (to_db(batch.start.next_seq), &*batch.start.hash);
                tx.execute(
                    &next,
                    &[&t, &end_seq, &end_hash, &bytes, &start_seq, &start_hash],
                )?
            };
            moved.push(rows == 1);
            if rows != 1 {
                continue;
            }
            let seqs: Vec<i64> = batch.receipts.iter().map(|r| to_db(r.seq)).collect();
            let prevs: Vec<&str> = batch.receipts.iter().map(|r| &*r.prev_hash).collect();
            let hashes: Vec<&str> = batch.receipts.iter().map(|r| &*r.hash).collect();
            tx.execute(&insert, &[&t, &seqs, &prevs, &hashes, &lines])?;
            announced.push(watch::payload(
                tenant,
                batch.start.next_seq,
                batch.end.next_seq,
            ));
        }
        if notify && !announced.is_empty() {
            // Delivered on commit, to the other servers' watchers.
            tx.execute(
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS n(p)",
                &[&watch::CHANNEL, &announced],
            )?;
        }
        tx.commit()
    })();
    let failed = result
        .err()
        .map(|e| (super::is_race(&e), super::describe(&e)));
    moved.resize(staged.len(), false);
    Outcome { moved, failed }
}
