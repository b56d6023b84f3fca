//! Copying a whole chain, with its signed checkpoints, into the database in one transaction:
//! what `tai ledger migrate` writes.

use crate::ids::TenantId;
use crate::receipts::{ChainHead, Receipt};

use super::super::{LedgerError, SignedLine, check_batch};
use super::{PostgresLedger, db_err, to_db};

/// Rows per statement: the transaction holds the whole chain, each statement a slice of it.
const CHUNK: usize = 1000;

impl PostgresLedger {
    /// Stores `receipts` (a whole chain, from seq 0) and `checkpoints` (each with its signed
    /// line as a file ledger's checkpoints file holds it, oldest first) as `tenant`'s, in one
    /// transaction: all of it or nothing. Refused when the database holds `tenant` already.
    /// The checkpoints are stored as given: check them against the chain first.
    pub fn import(
        &self,
        tenant: &TenantId,
        receipts: &[Receipt],
        checkpoints: &[SignedLine],
    ) -> Result<ChainHead, LedgerError> {
        let start = ChainHead::default();
        let end = check_batch(tenant, &start, receipts)?;
        // The database keeps one checkpoint per seq; a second one would be dropped or fail
        // the transaction with a bare key violation.
        if let Some(pair) = checkpoints.windows(2).find(|w| w[0].0.seq == w[1].0.seq) {
            return Err(LedgerError::CheckpointMismatch {
                tenant: tenant.clone(),
                detail: format!(
                    "two checkpoints sign seq {}: a database ledger keeps one per seq",
                    pair[0].0.seq
                ),
            });
        }
        let lines: Vec<String> = receipts
            .iter()
            .map(|r| String::from_utf8_lossy(&r.to_line()).into_owned())
            .collect();
        let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
        let mut client = self.pool.get()?;
        let mut tx = client
            .transaction()
            .map_err(db_err("begin copying a chain"))?;
        self.register_copied(&mut tx, tenant)?;
        let created = tx
            .execute(
                "INSERT INTO heads (tenant, next_seq, hash, ledger_bytes) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant) DO NOTHING",
                &[
                    &tenant.as_str(),
                    &to_db(end.next_seq),
                    &&*end.hash,
                    &to_db(bytes),
                ],
            )
            .map_err(db_err("create a chain head"))?;
        if created == 0 {
            drop(tx);
            drop(client);
            return Err(self.lost_race(tenant, &start, None));
        }
        for (batch, lines) in receipts.chunks(CHUNK).zip(lines.chunks(CHUNK)) {
            let seqs: Vec<i64> = batch.iter().map(|r| to_db(r.seq)).collect();
            let prevs: Vec<&str> = batch.iter().map(|r| &*r.prev_hash).collect();
            let hashes: Vec<&str> = batch.iter().map(|r| &*r.hash).collect();
            tx.execute(
                "INSERT INTO receipts (tenant, seq, prev_hash, hash, line) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])",
                &[&tenant.as_str(), &seqs, &prevs, &hashes, &lines],
            )
            .map_err(db_err("copy receipts"))?;
        }
        for batch in checkpoints.chunks(CHUNK) {
            let seqs: Vec<i64> = batch.iter().map(|(c, _)| to_db(c.seq)).collect();
            let lines: Vec<&str> = batch.iter().map(|(_, l)| l.as_str()).collect();
            tx.execute(
                "INSERT INTO checkpoints (tenant, seq, line) \
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[])",
                &[&tenant.as_str(), &seqs, &lines],
            )
            .map_err(db_err("copy signed checkpoints"))?;
        }
        tx.commit().map_err(db_err("commit a copied chain"))?;
        Ok(end)
    }
}
