//! Signed checkpoints on the PostgreSQL ledger: one per tenant per commit round, roots that
//! match the chain, proofs, the head a crashed writer or a refused checkpoint left unsigned,
//! and chains imported with their checkpoints. Against the server
//! `TAI_TEST_POSTGRES` names; without it each test says why and passes.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tai::clock::{SimClock, Timestamp};
use tai::ids::TenantId;
use tai::receipts::ledger::{Ledger, LedgerError, PostgresLedger, PostgresOptions};
use tai::receipts::merkle::{Frontier, leaf_of_hex};
use tai::receipts::trust::TrustAnchors;
use tai::receipts::{Checkpoint, CheckpointSigner, ProblemKind, Receipt, sample_body};

use crate::common::{self, tenant};

fn signer() -> Arc<CheckpointSigner> {
    Arc::new(CheckpointSigner::from_seed([7; 32]))
}

fn signing(url: &str, signer: &Arc<CheckpointSigner>) -> PostgresLedger {
    signing_adopting(url, signer, false)
}

/// [`signing`], signing chains without any checkpoint when `adopt_unsigned`.
fn signing_adopting(
    url: &str,
    signer: &Arc<CheckpointSigner>,
    adopt_unsigned: bool,
) -> PostgresLedger {
    let options = PostgresOptions {
        signer: Some(Arc::clone(signer)),
        clock: Arc::new(SimClock::new(
            Timestamp::parse("2026-03-01T00:00:00Z").unwrap(),
        )),
        adopt_unsigned,
        ..PostgresOptions::default()
    };
    PostgresLedger::connect_with(url, &options).unwrap()
}

/// The next `n` receipts of `tenant` sealed against `ledger`'s head.
fn batch(ledger: &dyn Ledger, tenant: &TenantId, n: u64) -> Vec<Receipt> {
    let mut head = ledger.head(tenant).unwrap();
    let first = head.next_seq;
    (first..first + n)
        .map(|i| head.seal(sample_body(tenant, i)))
        .collect()
}

/// Every stored checkpoint, as (tenant, seq, checkpoint), in table order.
fn stored(url: &str) -> Vec<(String, i64, Checkpoint)> {
    let mut db = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    db.query(
        "SELECT tenant, seq, line FROM checkpoints ORDER BY tenant, seq",
        &[],
    )
    .unwrap()
    .iter()
    .map(|row| {
        let line: String = row.get(2);
        (row.get(0), row.get(1), serde_json::from_str(&line).unwrap())
    })
    .collect()
}

/// The Merkle root of `tenant`'s first `size` receipts.
fn root(ledger: &dyn Ledger, tenant: &TenantId, size: usize) -> String {
    let mut frontier = Frontier::default();
    let mut scratch = Vec::new();
    for r in ledger.read(tenant).unwrap().iter().take(size) {
        frontier.push(leaf_of_hex(&r.hash).unwrap(), &mut scratch);
    }
    hex::encode(frontier.root())
}

#[test]
fn one_commit_round_signs_one_checkpoint_per_committed_tenant() {
    let Some(url) = crate::common::test_database("signed_round") else {
        return;
    };
    let key = signer();
    let ledger = signing(&url, &key);
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    // Both tenants staged, then one sync: one round, one transaction, one checkpoint each.
    let a = ledger.write(&acme, &batch(&ledger, &acme, 3)).unwrap();
    let b = ledger.write(&beta, &batch(&ledger, &beta, 2)).unwrap();
    ledger.sync(&acme, a).unwrap();
    ledger.sync(&beta, b).unwrap();
    let rows = stored(&url);
    let at: Vec<(&str, i64)> = rows.iter().map(|(t, s, _)| (t.as_str(), *s)).collect();
    assert_eq!(at, [("acme", 2), ("beta", 1)]);
    for (t, seq, c) in &rows {
        let t = tenant(t);
        assert_eq!(c.seq, u64::try_from(*seq).unwrap());
        assert_eq!(c.merkle_root, root(&ledger, &t, c.tree_size() as usize));
        assert_eq!(c.head_hash, *ledger.head(&t).unwrap().hash);
        c.verify_signature(std::slice::from_ref(key.public()))
            .unwrap();
    }

    // Another writer appends (its frontier read from the table), then this one again (its
    // cached frontier is behind and reads only what it misses).
    let other = signing(&url, &key);
    other.append(&acme, &batch(&other, &acme, 4)).unwrap();
    ledger.append(&acme, &batch(&ledger, &acme, 2)).unwrap();
    let seqs: Vec<i64> = stored(&url)
        .into_iter()
        .filter(|(t, _, _)| t == "acme")
        .map(|(_, s, _)| s)
        .collect();
    assert_eq!(seqs, [2, 6, 8]);
    let latest = ledger.latest_checkpoint(&acme).unwrap().unwrap();
    assert_eq!(latest.seq, 8);
    assert_eq!(latest.merkle_root, root(&ledger, &acme, 9));

    // Every receipt proves against the latest checkpoint; the chain verifies with the key.
    for seq in 0..9 {
        let proof = ledger.prove(&acme, seq).unwrap();
        proof.verify(std::slice::from_ref(key.public())).unwrap();
    }
    assert!(ledger.prove(&acme, 9).is_err());
    let keys = [key.public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    let report = ledger.verify_signed(&acme, true, anchors).unwrap();
    assert!(report.is_ok(), "{:?}", report.problem);
    assert_eq!(report.checkpoints, 3);
    let consistency = ledger
        .prove_consistency(&acme, stored(&url)[0].2.clone())
        .unwrap();
    consistency.verify(&keys).unwrap();
}

#[test]
fn a_chain_without_checkpoints_is_signed_only_by_a_signing_writer_told_to_adopt_it() {
    let Some(url) = crate::common::test_database("signed_catch_up") else {
        return;
    };
    let acme = tenant("acme");
    // Written without a key (or its checkpoints deleted: the database cannot tell).
    let unsigned = PostgresLedger::connect(&url).unwrap();
    unsigned.append(&acme, &batch(&unsigned, &acme, 3)).unwrap();
    assert!(stored(&url).is_empty());
    let keys = [signer().public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    assert!(
        !unsigned
            .verify_signed(&acme, false, anchors)
            .unwrap()
            .is_ok()
    );

    // A signing writer does not vouch for it on its own.
    let refused = signing(&url, &signer()).read(&acme);
    assert!(
        matches!(
            refused,
            Err(LedgerError::UnsignedHistory { receipts: 3, .. })
        ),
        "{refused:?}"
    );
    assert!(stored(&url).is_empty());

    // Told to, it adopts the chain and says so in it: a `ledger_history_adopted` receipt,
    // committed with the checkpoint that covers it, read back with the chain.
    let ledger = signing_adopting(&url, &signer(), true);
    let read = ledger.read(&acme).unwrap();
    assert_eq!(read.len(), 4);
    let adopted = &read[3];
    assert_eq!(adopted.body.event_type.as_str(), "ledger_history_adopted");
    assert_eq!(adopted.prev_hash, read[2].hash);
    let meta = adopted.body.metadata.to_value();
    assert_eq!(meta["receipts"], 3, "{meta}");
    assert_eq!(meta["to_seq"], 2, "{meta}");
    assert_eq!(meta["key_id"], signer().public().key_id(), "{meta}");
    assert!(
        meta["reason"]
            .as_str()
            .unwrap()
            .contains("has 3 receipts and no signed checkpoint"),
        "{meta}"
    );
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 4);
    let rows = stored(&url);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, 3);
    assert_eq!(rows[0].2.merkle_root, root(&ledger, &acme, 4));
    assert!(ledger.verify_signed(&acme, false, anchors).unwrap().is_ok());
    // Loading it again, or with another writer told to adopt, records nothing more.
    ledger.read(&acme).unwrap();
    assert_eq!(
        signing_adopting(&url, &signer(), true)
            .read(&acme)
            .unwrap()
            .len(),
        4
    );
    assert_eq!(stored(&url).len(), 1);
    // Its newest checkpoint deleted, the receipts after the one left are not signed again
    // by a writer that was not told to adopt them.
    ledger.append(&acme, &batch(&ledger, &acme, 1)).unwrap();
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    db.execute(
        "DELETE FROM checkpoints WHERE tenant = 'acme' AND seq = 4",
        &[],
    )
    .unwrap();
    let refused = signing(&url, &signer()).read(&acme);
    assert!(
        matches!(
            refused,
            Err(LedgerError::UnsignedHistory {
                receipts: 5,
                covered: Some(3),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(stored(&url).len(), 1);
    // Now signed, the chain is refused to a writer without the key.
    let keyless = PostgresLedger::connect(&url).unwrap();
    let refused = keyless.append(&acme, &batch(&keyless, &acme, 1));
    assert!(
        matches!(refused, Err(LedgerError::SigningKeyRequired { .. })),
        "{refused:?}"
    );
    assert_eq!(keyless.head(&acme).unwrap().next_seq, 5);
}

#[test]
fn receipts_are_committed_only_with_their_checkpoint() {
    let Some(url) = crate::common::test_database("signed_unstored") else {
        return;
    };
    let acme = tenant("acme");
    let ledger = signing(&url, &signer());
    ledger.append(&acme, &batch(&ledger, &acme, 2)).unwrap();
    // From now on the database refuses every checkpoint: the round's statement fails whole.
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    db.batch_execute(common::REFUSE_CHECKPOINTS).unwrap();
    let err = ledger.append(&acme, &batch(&ledger, &acme, 3)).unwrap_err();
    assert!(
        matches!(&err, LedgerError::Database { action: "commit receipts", detail } if detail.contains("checkpoints refused")),
        "{err:?}"
    );
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 2);
    assert_eq!(stored(&url).len(), 1);
    let keys = [signer().public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    assert!(ledger.verify_signed(&acme, false, anchors).unwrap().is_ok());

    // Once the database takes them again, the next round commits both.
    db.batch_execute(common::ALLOW_CHECKPOINTS).unwrap();
    ledger.append(&acme, &batch(&ledger, &acme, 3)).unwrap();
    let rows = stored(&url);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1, 4);
    assert_eq!(rows[1].2.merkle_root, root(&ledger, &acme, 5));
    assert!(ledger.verify_signed(&acme, false, anchors).unwrap().is_ok());
}

#[test]
fn an_imported_chain_keeps_its_signed_lines_and_is_stored_whole_or_not_at_all() {
    let (Some(source), Some(target)) = (
        crate::common::test_database("import_source"),
        crate::common::test_database("import_target"),
    ) else {
        return;
    };
    let acme = tenant("acme");
    let signed = signing(&source, &signer());
    for n in [2, 1, 3] {
        signed.append(&acme, &batch(&signed, &acme, n)).unwrap();
    }
    let receipts = signed.read(&acme).unwrap();
    let lines: Vec<(Checkpoint, String)> = stored(&source)
        .into_iter()
        .map(|(_, _, c)| {
            let line = String::from_utf8(c.to_line()).unwrap();
            (c, line)
        })
        .collect();
    assert_eq!(lines.len(), 3);
    let ledger = PostgresLedger::connect(&target).unwrap();
    // Two checkpoints of one seq cannot both be kept: refused, and nothing stored.
    let twice = [lines[0].clone(), lines[0].clone()];
    let refused = ledger.import(&acme, &receipts, &twice);
    assert!(
        matches!(&refused, Err(LedgerError::CheckpointMismatch { detail, .. })
            if detail.contains("two checkpoints sign seq 1")),
        "{refused:?}"
    );
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 0);
    assert!(stored(&target).is_empty());

    let head = ledger.import(&acme, &receipts, &lines).unwrap();
    assert_eq!(head, signed.head(&acme).unwrap());
    // The copy is listed; the signed list of the same tenants then replaces that one, as
    // `tai ledger migrate` copies it.
    let manifest = signed.manifest().unwrap().unwrap();
    assert!(manifest.signature.is_some());
    assert_ne!(ledger.manifest().unwrap().unwrap(), manifest);
    assert!(ledger.copy_manifest(&manifest).unwrap());
    assert_eq!(ledger.manifest().unwrap().unwrap(), manifest);
    let mut db = ::postgres::Client::connect(&target, ::postgres::NoTls).unwrap();
    let copied: Vec<String> = db
        .query("SELECT line FROM checkpoints ORDER BY seq", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let expected: Vec<String> = lines.iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(copied, expected);
    let keys = [signer().public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    assert!(ledger.verify_signed(&acme, true, anchors).unwrap().is_ok());
    // Never over a chain the database holds.
    let again = ledger.import(&acme, &receipts, &lines);
    assert!(
        matches!(again, Err(LedgerError::Discontinuous { .. })),
        "{again:?}"
    );
    assert_eq!(stored(&target).len(), 3);
}

/// Someone with write access to the database but not the key rewrites a signed chain (every
/// hash recomputed, the head moved along) and leaves the checkpoints alone, or adds a
/// checkpoint row of their own over the rewrite: a signing writer does not write on either
/// (its next checkpoint would make the rewrite verify once the old rows are deleted). A
/// writer with another key refuses until told the key it replaced; then it writes on.
#[test]
fn a_signing_writer_checks_the_latest_checkpoint_it_writes_on() {
    let Some(url) = crate::common::test_database("signed_latest_checked") else {
        return;
    };
    let acme = tenant("acme");
    let ledger = signing(&url, &signer());
    ledger.append(&acme, &batch(&ledger, &acme, 4)).unwrap();
    drop(ledger);
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let genuine: Vec<Receipt> = db
        .query(
            "SELECT line FROM receipts WHERE tenant = 'acme' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(row.get(0)).unwrap())
        .collect();
    let rewrite = |db: &mut ::postgres::Client, chain: &[Receipt]| {
        for r in chain {
            let line = String::from_utf8(r.to_line()).unwrap();
            db.execute(
                "UPDATE receipts SET prev_hash = $2, hash = $3, line = $4 \
                 WHERE tenant = 'acme' AND seq = $1",
                &[
                    &(r.seq as i64),
                    &r.prev_hash.to_string(),
                    &r.hash.to_string(),
                    &line,
                ],
            )
            .unwrap();
        }
        let last = chain.last().unwrap();
        db.execute(
            "UPDATE heads SET hash = $1 WHERE tenant = 'acme'",
            &[&last.hash.to_string()],
        )
        .unwrap();
    };
    // seq 1 onwards rewritten and resealed.
    let mut head = tai::receipts::ChainHead {
        next_seq: 1,
        hash: genuine[0].hash.clone(),
    };
    let forged: Vec<Receipt> = genuine[1..]
        .iter()
        .map(|r| {
            let mut body = r.body.clone();
            body.governor_id = "gov-forged".into();
            head.seal(body)
        })
        .collect();
    rewrite(&mut db, &forged);
    let before = stored(&url);
    let refused = signing(&url, &signer()).read(&acme);
    assert!(
        matches!(&refused, Err(LedgerError::CheckpointMismatch { detail, .. })
            if detail.contains("it signs seq 3 as")),
        "{refused:?}"
    );
    // A checkpoint row of the forger's own, over the rewrite, with no valid signature.
    let mut fake = before.last().unwrap().2.clone();
    fake.seq = 3;
    fake.head_hash = forged.last().unwrap().hash.to_string();
    db.execute(
        "UPDATE checkpoints SET line = $1 WHERE tenant = 'acme' AND seq = 3",
        &[&String::from_utf8(fake.to_line()).unwrap()],
    )
    .unwrap();
    let refused = signing(&url, &signer()).read(&acme);
    assert!(
        matches!(&refused, Err(LedgerError::CheckpointMismatch { detail, .. })
            if detail.contains("bad signature")),
        "{refused:?}"
    );
    assert_eq!(stored(&url).len(), before.len(), "nothing was signed");

    // Put back as it was, the chain is written on by its key; a rotated key needs the old one.
    rewrite(&mut db, &genuine[1..]);
    db.execute(
        "UPDATE checkpoints SET line = $1 WHERE tenant = 'acme' AND seq = 3",
        &[&String::from_utf8(before.last().unwrap().2.to_line()).unwrap()],
    )
    .unwrap();
    let rotated = CheckpointSigner::from_seed([9; 32]);
    let refused = signing(&url, &Arc::new(rotated.clone())).read(&acme);
    assert!(
        matches!(&refused, Err(LedgerError::SignedByOtherKey { .. })),
        "{refused:?}"
    );
    let continuing = Arc::new(rotated.continuing([signer().public().clone()]));
    let ledger = signing(&url, &continuing);
    assert_eq!(ledger.read(&acme).unwrap(), genuine);
    ledger.append(&acme, &batch(&ledger, &acme, 1)).unwrap();
    let keys = [signer().public().clone(), continuing.public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    assert!(ledger.verify_signed(&acme, false, anchors).unwrap().is_ok());
    assert_eq!(
        stored(&url).last().unwrap().2.key_id,
        continuing.public().key_id()
    );

    // Rolled back under its latest checkpoint: refused even by a writer told to adopt
    // unsigned history (writing on would fork what was signed).
    db.execute(
        "DELETE FROM receipts WHERE tenant = 'acme' AND seq = 4",
        &[],
    )
    .unwrap();
    db.execute(
        "UPDATE heads SET next_seq = 4, hash = $1 WHERE tenant = 'acme'",
        &[&genuine[3].hash.to_string()],
    )
    .unwrap();
    let before = stored(&url);
    let refused = signing_adopting(&url, &continuing, true).read(&acme);
    assert!(
        matches!(&refused, Err(LedgerError::CheckpointMismatch { detail, .. })
            if detail.contains("rolled back")),
        "{refused:?}"
    );
    assert_eq!(stored(&url).len(), before.len(), "nothing was signed");
}

/// Someone with write access to the database deletes a tenant whole (its receipts, head and
/// checkpoints): the manifest still lists it, so verification reports it deleted and no
/// writer starts it again from nothing; taking it off the manifest breaks the manifest's
/// signature, and a signing writer adds no tenant to such a list. A tenant registered whose
/// first commit never came is present and empty, not deleted, and is created by the next
/// writer as usual.
#[test]
fn a_tenant_deleted_from_the_database_fails_verification_and_is_not_recreated() {
    let Some(url) = crate::common::test_database("signed_manifest") else {
        return;
    };
    let (acme, beta, gamma) = (tenant("acme"), tenant("beta"), tenant("gamma"));
    let ledger = signing(&url, &signer());
    ledger.append(&acme, &batch(&ledger, &acme, 3)).unwrap();
    ledger.append(&beta, &batch(&ledger, &beta, 2)).unwrap();
    // Staged, never committed: the writer stopped first.
    ledger.write(&gamma, &batch(&ledger, &gamma, 1)).unwrap();
    drop(ledger);
    let keys = [signer().public().clone()];
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    let reader = PostgresLedger::connect(&url).unwrap();
    let manifest = reader.manifest().unwrap().unwrap();
    let listed: Vec<&str> = manifest.tenants.iter().map(|t| t.as_str()).collect();
    assert_eq!(listed, ["acme", "beta", "gamma"]);
    assert!(manifest.check_signature(&keys).is_ok());
    for t in [&acme, &beta, &gamma] {
        let report = reader.verify_signed(t, false, anchors).unwrap();
        assert!(report.is_ok(), "{t}: {report:?}");
    }

    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    for table in ["receipts", "heads", "checkpoints"] {
        db.execute(&format!("DELETE FROM {table} WHERE tenant = 'beta'"), &[])
            .unwrap();
    }
    assert_eq!(reader.tenants().unwrap(), std::slice::from_ref(&acme));
    let report = reader.verify_signed(&beta, false, anchors).unwrap();
    assert!(
        matches!(
            report.problem.as_ref().map(|p| &p.kind),
            Some(ProblemKind::LedgerDeleted)
        ),
        "{report:?}"
    );
    let writer = signing(&url, &signer());
    let refused = writer.append(&beta, &batch(&writer, &beta, 1));
    assert!(
        matches!(refused, Err(LedgerError::Deleted { .. })),
        "{refused:?}"
    );
    // The empty tenant is created as any other.
    writer.append(&gamma, &batch(&writer, &gamma, 2)).unwrap();
    assert!(
        writer
            .verify_signed(&gamma, false, anchors)
            .unwrap()
            .is_ok()
    );

    // Taken off the list, with the signature left as it was.
    let mut edited = manifest.clone();
    edited.tenants.remove(&beta);
    let line = serde_json::to_string(&edited).unwrap();
    db.execute("UPDATE manifest SET line = $1", &[&line])
        .unwrap();
    let report = reader.verify_signed(&acme, false, anchors).unwrap();
    assert!(
        matches!(
            report.problem.as_ref().map(|p| &p.kind),
            Some(ProblemKind::Manifest { detail }) if detail.contains("edited")
        ),
        "{report:?}"
    );
    let writer = signing(&url, &signer());
    let delta = tenant("delta");
    let refused = writer.append(&delta, &batch(&writer, &delta, 1));
    assert!(
        matches!(refused, Err(LedgerError::ManifestNotSigned { .. })),
        "{refused:?}"
    );
    assert_eq!(reader.head(&delta).unwrap().next_seq, 0);
    // Deleted outright: not made again from the chains left.
    db.execute("DELETE FROM manifest", &[]).unwrap();
    let writer = signing(&url, &signer());
    let refused = writer.append(&delta, &batch(&writer, &delta, 1));
    assert!(
        matches!(refused, Err(LedgerError::ManifestMissing { .. })),
        "{refused:?}"
    );
    let report = reader.verify_signed(&acme, false, anchors).unwrap();
    assert!(
        matches!(
            report.problem.as_ref().map(|p| &p.kind),
            Some(ProblemKind::Manifest { detail }) if detail.contains("missing")
        ),
        "{report:?}"
    );
}
