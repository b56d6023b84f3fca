//! Group commit: the batches written to many tenants while one commit runs are committed
//! together by the next, in one transaction, so a round of calls costs one flush of the
//! database's log instead of one per batch.
//!
//! [`Ledger::write`](super::super::Ledger::write) stages a batch (checked against what is
//! staged for the tenant already); the first [`Ledger::sync`](super::super::Ledger::sync)
//! commits everything staged, and every later one reads what that commit settled. Inside the
//! transaction each tenant's head moves only if it is still where the tenant's batches
//! start; a tenant that lost its race is left out and told so, the others commit. A signing
//! writer signs a checkpoint of every staged tenant's new head first (one signature for the
//! round), and the statement stores those of the tenants that commit: receipts and their
//! checkpoint are committed together or not at all.

use std::collections::{HashMap, HashSet};

use postgres::{Client, Statement};

use crate::ids::TenantId;
use crate::receipts::signing::Checkpoint;
use crate::receipts::{ChainHead, Receipt};

use super::pool::Pool;
use super::sign::{self, Frontiers, Signing};
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
    /// The batches from this head on were refused: another writer moved the head first,
    /// to the second head (when the commit could tell).
    Lost(ChainHead, Option<ChainHead>),
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
    /// The connection rounds are committed on, opened by the first commit.
    pub(super) committer: Option<Committer>,
    /// What checkpoints are signed from.
    pub(super) frontiers: Frontiers,
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

    /// Commits everything staged in one transaction, signs the committed heads when
    /// `signing`, and records what it settled.
    pub(super) fn commit(&mut self, pool: &Pool, notify: bool, signing: Option<&Signing>) {
        if self.committer.as_ref().is_none_or(Committer::is_closed) {
            self.committer = None;
            match pool.connect().and_then(|client| {
                Committer::new(client).map_err(super::db_err("prepare the commit statement"))
            }) {
                Ok(committer) => self.committer = Some(committer),
                Err(e) => return self.fail_all(&e.to_string()),
            }
        }
        let Some(committer) = self.committer.as_mut() else {
            return;
        };
        let mut staged = std::mem::take(&mut self.staged);
        let mut tenants: Vec<TenantId> = {
            let mut by_slot: Vec<(usize, TenantId)> =
                self.index.drain().map(|(t, i)| (i, t)).collect();
            by_slot.sort_by_key(|(i, _)| *i);
            by_slot.into_iter().map(|(_, t)| t).collect()
        };
        // Signed before the commit and stored by it, so a committed receipt is covered and an
        // acknowledged one was never without its checkpoint. A tenant that then loses its race
        // keeps a leaf in the round's tree but no stored checkpoint: its statement is never
        // published, and the others' paths show only its hash.
        let mut checkpoints = Vec::new();
        if let Some(signing) = signing {
            let mut heads = Vec::with_capacity(staged.len());
            let (mut signable, mut batches) = (Vec::new(), Vec::new());
            for (tenant, batch) in tenants.into_iter().zip(staged) {
                let head = self.frontiers.head(
                    &mut committer.client,
                    &tenant,
                    &batch.start,
                    &batch.receipts,
                );
                match head {
                    Ok(head) => {
                        heads.extend(head);
                        signable.push(tenant);
                        batches.push(batch);
                    }
                    // Not committed: a receipt is never committed without its checkpoint.
                    Err(e) => {
                        let failed = Settled::Failed(batch.start.next_seq, e.to_string());
                        self.settled.insert(tenant, failed);
                    }
                }
            }
            (tenants, staged) = (signable, batches);
            checkpoints = signing.signer.checkpoints(heads, signing.clock.now());
        }
        let outcome = commit_all(committer, notify, &tenants, &staged, &checkpoints);
        for ((tenant, batch), moved) in tenants.into_iter().zip(&staged).zip(outcome.moved) {
            if signing.is_some() {
                // The frontier was advanced for the checkpoint: right only if it committed.
                if moved {
                    self.frontiers.first_use(&tenant);
                } else {
                    self.frontiers.forget(&tenant);
                }
            }
            let settled = match (&outcome.failed, moved) {
                (Some((true, _)), _) => Settled::Lost(batch.start.clone(), None),
                (None, false) => Settled::Lost(
                    batch.start.clone(),
                    outcome.heads.get(tenant.as_str()).cloned(),
                ),
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
    /// The heads of the tenants whose head did not move, as the commit found them.
    heads: HashMap<String, ChainHead>,
    /// Whether the transaction failed, and whether because another writer raced it.
    failed: Option<(bool, String)>,
}

/// The whole round in one statement, so one round trip and one flush of the database's log:
/// lock the heads the batches continue (in tenant order, so two servers committing rounds
/// that share tenants wait for each other instead of deadlocking), create the chains that
/// start at seq 0 (or fill the empty head their registration made), move every other head that is still where its batch starts, insert the
/// receipts of the tenants whose head moved and their signed checkpoints (`$13`–`$15`, empty
/// when not signing), and answer which those were (and, for the others, where their head
/// is). `$12` names the channel the batches are announced on, or is null where the database
/// has no `NOTIFY`.
const COMMIT_ROUND: &str = "\
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
        AS b(tenant, start_seq, start_hash, end_seq, end_hash, bytes)
), locked AS (
    SELECT h.tenant, h.next_seq, h.hash FROM heads h WHERE h.tenant = ANY($1::text[])
    ORDER BY h.tenant FOR UPDATE
), created AS (
    INSERT INTO heads (tenant, next_seq, hash, ledger_bytes)
    SELECT b.tenant, b.end_seq, b.end_hash, b.bytes FROM batch b WHERE b.start_seq = 0
    ON CONFLICT (tenant) DO UPDATE
    SET next_seq = EXCLUDED.next_seq, hash = EXCLUDED.hash, ledger_bytes = EXCLUDED.ledger_bytes
    WHERE heads.next_seq = 0
    RETURNING tenant
), moved AS (
    UPDATE heads h
    SET next_seq = b.end_seq, hash = b.end_hash, ledger_bytes = h.ledger_bytes + b.bytes
    FROM batch b
    WHERE b.start_seq > 0 AND h.tenant = b.tenant AND h.tenant IN (SELECT tenant FROM locked)
        AND h.next_seq = b.start_seq AND h.hash = b.start_hash
    RETURNING h.tenant
), won AS (
    SELECT tenant FROM created UNION ALL SELECT tenant FROM moved
), stored AS (
    INSERT INTO receipts (tenant, seq, prev_hash, hash, line)
    SELECT r.tenant, r.seq, r.prev_hash, r.hash, r.line
    FROM unnest($7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[])
        AS r(tenant, seq, prev_hash, hash, line)
    WHERE r.tenant IN (SELECT tenant FROM won)
), signed AS (
    INSERT INTO checkpoints (tenant, seq, line)
    SELECT c.tenant, c.seq, c.line
    FROM unnest($13::text[], $14::bigint[], $15::text[]) AS c(tenant, seq, line)
    WHERE c.tenant IN (SELECT tenant FROM won)
    ON CONFLICT (tenant, seq) DO NOTHING
)
SELECT b.tenant, w.tenant IS NOT NULL, l.next_seq, l.hash,
    CASE WHEN w.tenant IS NULL OR $12::text IS NULL THEN ''
         ELSE pg_notify($12::text, b.tenant || ' ' || b.start_seq || ' ' || b.end_seq)::text END
FROM batch b LEFT JOIN won w ON w.tenant = b.tenant LEFT JOIN locked l ON l.tenant = b.tenant";

/// The connection rounds are committed on, with the round's statement prepared once.
pub(super) struct Committer {
    client: Client,
    statement: Statement,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Committer")
    }
}

impl Committer {
    pub(super) fn new(mut client: Client) -> Result<Committer, postgres::Error> {
        let statement = client.prepare(COMMIT_ROUND)?;
        Ok(Committer { client, statement })
    }

    /// Whether the connection is gone (the next round needs a new one).
    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

fn commit_all(
    committer: &mut Committer,
    notify: bool,
    tenants: &[TenantId],
    staged: &[Staged],
    checkpoints: &[Checkpoint],
) -> Outcome {
    let n = staged.len();
    let (mut names, mut start_seqs, mut start_hashes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut end_seqs, mut end_hashes, mut byte_counts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let count: usize = staged.iter().map(|b| b.receipts.len()).sum();
    let (mut owners, mut seqs, mut prevs, mut hashes, mut lines) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::with_capacity(count),
    );
    for (tenant, batch) in tenants.iter().zip(staged) {
        let t = tenant.as_str();
        let mut bytes = 0;
        for r in &batch.receipts {
            let line = String::from_utf8_lossy(&r.to_line()).into_owned();
            bytes += to_db(line.len() as u64 + 1);
            owners.push(t);
            seqs.push(to_db(r.seq));
            prevs.push(&*r.prev_hash);
            hashes.push(&*r.hash);
            lines.push(line);
        }
        names.push(t);
        start_seqs.push(to_db(batch.start.next_seq));
        start_hashes.push(&*batch.start.hash);
        end_seqs.push(to_db(batch.end.next_seq));
        end_hashes.push(&*batch.end.hash);
        byte_counts.push(bytes);
    }
    let (signed, signed_seqs, signed_lines) = sign::columns(checkpoints);
    let channel = notify.then_some(watch::CHANNEL);
    let result = committer.client.query(
        &committer.statement,
        &[
            &names,
            &start_seqs,
            &start_hashes,
            &end_seqs,
            &end_hashes,
            &byte_counts,
            &owners,
            &seqs,
            &prevs,
            &hashes,
            &lines,
            &channel,
            &signed,
            &signed_seqs,
            &signed_lines,
        ],
    );
    match result {
        Ok(rows) => {
            let mut won = HashSet::new();
            let mut heads = HashMap::new();
            for row in &rows {
                let tenant: String = row.get(0);
                if row.get::<_, bool>(1) {
                    won.insert(tenant);
                } else if let (Some(next_seq), Some(hash)) = (
                    row.get::<_, Option<i64>>(2),
                    row.get::<_, Option<String>>(3),
                ) {
                    let head = ChainHead {
                        next_seq: super::from_db(next_seq),
                        hash: hash.into(),
                    };
                    heads.insert(tenant, head);
                }
            }
            Outcome {
                moved: tenants.iter().map(|t| won.contains(t.as_str())).collect(),
                heads,
                failed: None,
            }
        }
        Err(e) => Outcome {
            moved: vec![false; n],
            heads: HashMap::new(),
            failed: Some((super::is_race(&e), super::describe(&e))),
        },
    }
}
