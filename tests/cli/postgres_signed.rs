//! Signed checkpoints and proofs on a PostgreSQL ledger (`--ledger` with `--signing-key`):
//! the record against someone who can write the database but has no key. Against the server
//! `TAI_TEST_POSTGRES` names; without it each test says why and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tai::receipts::merkle::{Frontier, leaf_of_hex};
use tai::receipts::{ChainHead, Checkpoint, Receipt};

use crate::common::{self, Run, test_database};

/// A database, a state directory, a key pair outside it and a second public key.
struct Fixture {
    url: String,
    dir: tempfile::TempDir,
    key: PathBuf,
    public: PathBuf,
    other_public: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Option<Fixture> {
        let url = test_database(name)?;
        let dir = tempfile::tempdir().unwrap();
        let (key, public) = common::new_keys(dir.path(), "signing");
        let (_, other_public) = common::new_keys(dir.path(), "other");
        Some(Fixture {
            url,
            dir,
            key,
            public,
            other_public,
        })
    }

    /// `tai` on the database with the signing key and a fixed clock.
    fn tai(&self, args: &[&str]) -> Run {
        common::tai()
            .env("TAI_LEDGER", &self.url)
            .env("TAI_SIGNING_KEY", &self.key)
            .arg("--state")
            .arg(self.dir.path().join("state"))
            .args(["--now", "2026-03-01T00:00:00Z"])
            .args(args)
            .output()
            .unwrap()
            .into()
    }

    fn verify(&self, key: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["receipts", "verify", "--public-key", key.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.tai(&args)
    }

    fn db(&self) -> ::postgres::Client {
        ::postgres::Client::connect(&self.url, ::postgres::NoTls).unwrap()
    }

    /// `tenant`'s checkpoints as stored, oldest first.
    fn checkpoints(&self, tenant: &str) -> Vec<Checkpoint> {
        self.db()
            .query(
                "SELECT line FROM checkpoints WHERE tenant = $1 ORDER BY seq",
                &[&tenant],
            )
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row.get(0)).unwrap())
            .collect()
    }

    /// `tenant`'s receipts as stored.
    fn receipts(&self, tenant: &str) -> Vec<Receipt> {
        self.db()
            .query(
                "SELECT line FROM receipts WHERE tenant = $1 ORDER BY seq",
                &[&tenant],
            )
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row.get(0)).unwrap())
            .collect()
    }
}

/// `acme` and `beta` activated and signalled three times each, through `tai`.
fn populate(tai: impl Fn(&[&str]) -> Run) {
    for t in ["acme", "beta"] {
        tai(&[
            "event",
            "activate",
            "--tenant",
            t,
            "--sku",
            "rollback-guard-base",
        ])
        .ok();
        for _ in 0..3 {
            tai(&["signal", "--tenant", t]).ok();
        }
    }
}

/// `acme` and `beta` activated and signalled, each write signed.
fn fixture(name: &str) -> Option<Fixture> {
    let f = Fixture::new(name)?;
    populate(|args| f.tai(args));
    Some(f)
}

/// The Merkle root of the first `size` of `chain`.
fn root(chain: &[Receipt], size: u64) -> String {
    let mut frontier = Frontier::default();
    let mut scratch = Vec::new();
    for r in chain.iter().take(size as usize) {
        frontier.push(leaf_of_hex(&r.hash).unwrap(), &mut scratch);
    }
    hex::encode(frontier.root())
}

#[test]
fn each_signed_command_on_a_database_leaves_one_checkpoint_per_tenant_it_wrote() {
    let Some(f) = fixture("signed_cli") else {
        return;
    };
    let (acme, beta) = (f.checkpoints("acme"), f.checkpoints("beta"));
    // One per command: the activation and three signals.
    assert_eq!(acme.len(), 4);
    assert_eq!(beta.len(), 4);
    f.tai(&["signal", "--tenant", "acme"]).ok();
    let after = f.checkpoints("acme");
    assert_eq!(after.len(), 5);
    assert_eq!(f.checkpoints("beta").len(), 4, "beta was not written");
    let chain = f.receipts("acme");
    let latest = after.last().unwrap();
    assert_eq!(latest.seq + 1, chain.len() as u64, "the head is covered");
    for c in &after {
        assert_eq!(c.merkle_root, root(&chain, c.tree_size()), "seq {}", c.seq);
        assert_eq!(c.head_hash, *chain[c.seq as usize].hash);
    }
    // `tai receipts checkpoint` prints the latest.
    let printed = f.tai(&["receipts", "checkpoint", "--tenant", "acme"]).ok();
    let printed: Checkpoint = serde_json::from_str(&printed.stdout).unwrap();
    assert_eq!(&printed, latest);
    f.verify(&f.public, &["--all"])
        .ok()
        .has("signatures verified");
}

#[test]
fn a_rewritten_and_relinked_chain_in_the_database_fails_against_the_key() {
    let Some(f) = fixture("signed_rewrite") else {
        return;
    };
    f.verify(&f.public, &["--tenant", "acme"])
        .ok()
        .has("signatures verified");
    // A key that did not sign it.
    f.verify(&f.other_public, &["--tenant", "acme"]).exits(1);

    // Receipt 2 rewritten, and every later one sealed again to link to it, with a head that
    // matches: a chain consistent in itself.
    let mut chain = f.receipts("acme");
    chain[2].body.governor_id = "gov-evil".into();
    let mut head = ChainHead {
        next_seq: 2,
        hash: chain[1].hash.clone(),
    };
    for r in &mut chain[2..] {
        *r = head.seal(r.body.clone());
    }
    let mut db = f.db();
    for r in &chain[2..] {
        let line = String::from_utf8(r.to_line()).unwrap();
        db.execute(
            "UPDATE receipts SET line = $1, hash = $2, prev_hash = $3 \
             WHERE tenant = 'acme' AND seq = $4",
            &[&line, &&*r.hash, &&*r.prev_hash, &(r.seq as i64)],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE heads SET hash = $1, ledger_bytes = \
         (SELECT sum(octet_length(line) + 1) FROM receipts WHERE tenant = 'acme') \
         WHERE tenant = 'acme'",
        &[&&*head.hash],
    )
    .unwrap();
    f.verify(&f.public, &["--tenant", "acme"])
        .exits(1)
        .has("does not match its signed checkpoint");
    // The other tenant is untouched.
    f.verify(&f.public, &["--tenant", "beta"]).ok();
    // Removing the checkpoints too leaves a chain only the key tells apart.
    db.execute("DELETE FROM checkpoints WHERE tenant = 'acme'", &[])
        .unwrap();
    f.tai(&["receipts", "verify", "--tenant", "acme", "--deep"])
        .ok();
    f.verify(&f.public, &["--tenant", "acme"])
        .exits(1)
        .has("no signed checkpoint");
}

#[test]
fn a_proof_from_a_database_ledger_checks_with_the_public_key_alone() {
    let Some(f) = fixture("signed_proof") else {
        return;
    };
    let check = common::verify_proof;
    let proof = f.dir.path().join("acme-2.proof.json");
    let out = proof.to_str().unwrap();
    f.tai(&[
        "receipts", "prove", "--tenant", "acme", "--seq", "2", "--out", out,
    ])
    .ok();
    check(&proof, &f.public).ok().has("receipt seq 2");
    check(&proof, &f.other_public).exits(1);

    // A kept checkpoint, a later write, and the proof that the history only grew.
    let kept = f.dir.path().join("kept.json");
    let kept_path = kept.to_str().unwrap();
    f.tai(&[
        "receipts",
        "checkpoint",
        "--tenant",
        "acme",
        "--out",
        kept_path,
    ])
    .ok();
    f.tai(&["signal", "--tenant", "acme"]).ok();
    f.verify(&f.public, &["--tenant", "acme", "--checkpoint", kept_path])
        .ok();
    let grew = f.dir.path().join("grew.json");
    f.tai(&[
        "receipts",
        "prove",
        "--tenant",
        "acme",
        "--from-checkpoint",
        kept_path,
        "--out",
        grew.to_str().unwrap(),
    ])
    .ok();
    check(&grew, &f.public)
        .ok()
        .has("extends the one signed at seq");

    // A receipt the database no longer has as signed is not proved.
    f.db()
        .execute(
            "UPDATE receipts SET hash = repeat('0', 64) WHERE tenant = 'acme' AND seq = 1",
            &[],
        )
        .unwrap();
    let refused = f.tai(&[
        "receipts", "prove", "--tenant", "acme", "--seq", "2", "--out", out,
    ]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("do not match its latest signed checkpoint"),
        "{}",
        refused.stderr
    );
}

/// `tai --state FILES ARGS` on a file ledger signed with `key`, at a fixed clock.
fn on_files(files: &Path, key: &Path, args: &[&str]) -> Run {
    common::tai()
        .env("TAI_SIGNING_KEY", key)
        .arg("--state")
        .arg(files)
        .args(["--now", "2026-03-01T00:00:00Z"])
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// `tai ledger migrate --from FILES --to TO EXTRA`.
fn migrate(files: &Path, to: &str, extra: &[&str]) -> Run {
    common::tai()
        .args(["ledger", "migrate", "--from"])
        .arg(files)
        .args(["--to", to])
        .args(extra)
        .output()
        .unwrap()
        .into()
}

/// How many rows of `table` `url`'s database holds (none before the schema is made).
fn rows(url: &str, table: &str) -> i64 {
    let mut db = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let missing: bool = db
        .query_one("SELECT to_regclass($1) IS NULL", &[&table])
        .unwrap()
        .get(0);
    if missing {
        return 0;
    }
    db.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn ledger_migrate_copies_the_signed_checkpoints_with_their_chains() {
    let Some(url) = test_database("signed_migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = common::new_keys(dir.path(), "signing");
    let (_, other_public) = common::new_keys(dir.path(), "other");
    let files = dir.path().join("files");
    // A signed file ledger: one checkpoint per command.
    let at = |args: &[&str]| on_files(&files, &key, args);
    populate(at);
    let public = public.to_str().unwrap();
    at(&["receipts", "verify", "--all", "--public-key", public]).ok();
    let kept = dir.path().join("kept.json");
    std::fs::write(
        &kept,
        at(&["receipts", "checkpoint", "--tenant", "acme"])
            .ok()
            .stdout,
    )
    .unwrap();
    let signed_file = files.join("ledger").join("acme.checkpoints");
    let signed = std::fs::read_to_string(&signed_file).unwrap();
    assert_eq!(signed.lines().count(), 4);

    let migrate = |to: &str, extra: &[&str]| migrate(&files, to, extra);
    // Checked against a key that signed nothing here, every chain is refused: nothing copied.
    let other = test_database("signed_migrate_other_key").unwrap();
    migrate(&other, &["--public-key", other_public.to_str().unwrap()])
        .exits(1)
        .errs("acme: BROKEN: the workspace manifest is signed by unknown key")
        .errs("beta: BROKEN")
        .errs("nothing was copied");
    assert_eq!(rows(&other, "receipts"), 0);
    assert_eq!(rows(&other, "checkpoints"), 0);

    // The checkpoints go in with the receipts or nothing does.
    let refusing = test_database("signed_migrate_refusing").unwrap();
    tai::receipts::ledger::PostgresLedger::connect(&refusing).unwrap();
    ::postgres::Client::connect(&refusing, ::postgres::NoTls)
        .unwrap()
        .batch_execute(common::REFUSE_CHECKPOINTS)
        .unwrap();
    migrate(&refusing, &[]).exits(2).errs(
        "cannot copy tenant `acme`: nothing of it was copied: the ledger database could not \
         copy signed checkpoints: ERROR: checkpoints refused",
    );
    assert_eq!(rows(&refusing, "heads"), 0);
    assert_eq!(rows(&refusing, "receipts"), 0);

    migrate(&url, &["--public-key", public])
        .ok()
        .has("acme: 5 receipts copied and verified (4 signed checkpoints)")
        .has("beta: 5 receipts copied and verified (4 signed checkpoints)")
        .has("migrated 2 tenants, 10 receipts");
    // The very lines that were signed, in order.
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    let copied: Vec<String> = db
        .query(
            "SELECT line FROM checkpoints WHERE tenant = 'acme' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(copied, signed.lines().collect::<Vec<_>>());

    // The database's chains verify against the key, and extend what was kept before.
    let state = dir.path().join("replica");
    // With the signing key when `signing`.
    let on = |signing: bool, args: &[&str]| -> Run {
        let mut tai = common::tai();
        if signing {
            tai.env("TAI_SIGNING_KEY", &key);
        }
        tai.env("TAI_LEDGER", &url)
            .arg("--state")
            .arg(&state)
            .args(["--now", "2026-03-01T00:00:00Z"])
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    on(
        false,
        &["receipts", "verify", "--all", "--public-key", public],
    )
    .ok()
    .has("signatures verified");
    // What was kept before the migration, checked with and without the key.
    let kept = kept.to_str().unwrap();
    let verify_kept = |key: &[&str]| -> Run {
        let mut args = vec![
            "receipts",
            "verify",
            "--tenant",
            "acme",
            "--checkpoint",
            kept,
        ];
        args.extend_from_slice(key);
        on(false, &args)
    };
    verify_kept(&["--public-key", public])
        .ok()
        .has("signatures verified");
    verify_kept(&[]).ok();

    // Signed before, the chain stays refused to a writer without the key; one with it
    // continues the signed history.
    on(false, &["signal", "--tenant", "acme"])
        .exits(2)
        .errs("signing key");
    on(true, &["signal", "--tenant", "acme"]).ok();
    verify_kept(&["--public-key", public])
        .ok()
        .has("signatures verified");

    // A checkpoint that does not match its chain is refused even without a key.
    let first = signed.lines().next().unwrap();
    let c: Checkpoint = serde_json::from_str(first).unwrap();
    std::fs::write(
        &signed_file,
        signed.replacen(&c.head_hash, &"0".repeat(64), 1),
    )
    .unwrap();
    let empty = test_database("signed_migrate_mismatch").unwrap();
    migrate(&empty, &[])
        .exits(1)
        .errs("acme: BROKEN at seq 1: the chain does not match its signed checkpoint")
        .errs("nothing was copied");
    assert_eq!(rows(&empty, "heads"), 0);
    assert_eq!(rows(&empty, "checkpoints"), 0);
}

#[test]
fn a_checkpoint_the_database_refuses_fails_the_call_with_nothing_committed() {
    let Some(f) = fixture("signed_refused") else {
        return;
    };
    f.db().batch_execute(common::REFUSE_CHECKPOINTS).unwrap();
    f.tai(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("the ledger database could not commit receipts: ERROR: checkpoints refused");
    // Receipts and their checkpoint commit together: neither is there.
    assert_eq!(f.receipts("acme").len(), 5);
    assert_eq!(f.checkpoints("acme").last().unwrap().seq, 4);

    f.db().batch_execute(common::ALLOW_CHECKPOINTS).unwrap();
    f.tai(&["signal", "--tenant", "acme"]).ok();
    let signed: Vec<u64> = f.checkpoints("acme").iter().map(|c| c.seq).collect();
    assert_eq!(signed, [1, 2, 3, 4, 5]);
    f.verify(&f.public, &["--all"])
        .ok()
        .has("signatures verified");
}

#[test]
fn ledger_migrate_refuses_checkpoints_of_receipts_after_the_head() {
    let Some(url) = test_database("signed_migrate_ahead") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = common::new_keys(dir.path(), "signing");
    let files = dir.path().join("files");
    let at = |args: &[&str]| on_files(&files, &key, args);
    populate(at);
    // A writer stopped after signing its receipts and before moving the head.
    let head = files.join("ledger").join("acme.head");
    let before = std::fs::read(&head).unwrap();
    at(&["signal", "--tenant", "acme"]).ok();
    std::fs::write(&head, before).unwrap();
    let public = public.to_str().unwrap();
    at(&["receipts", "verify", "--all", "--public-key", public])
        .ok()
        .has("1 unacknowledged receipt after the head");
    let migrate = || migrate(&files, &url, &[]);
    migrate().exits(1).errs(
        "acme: BROKEN at seq 5: the chain does not match its signed checkpoint: the checkpoint \
         at seq 5 signs receipts after the head (5 receipts acknowledged) that were never \
         answered; write to the tenant once with the signing key, which adopts them, then \
         migrate",
    );
    assert_eq!(rows(&url, "heads"), 0);
    // As it says: the next signed write adopts them, and the chain migrates whole (with a
    // checkpoint per writing command: each files its newest, covering its adoption too).
    at(&["signal", "--tenant", "acme"]).ok();
    migrate()
        .ok()
        .has("acme: 8 receipts copied and verified (6 signed checkpoints)");
}
