//! The file ledger with its write-ahead log: a round is acknowledged by the log alone,
//! readers take heads from it, and the next writer replays what a stopped one left.

use super::*;
use crate::receipts::ledger::ReadOnlyLedger;
use crate::receipts::ledger::wal_record::{WAL_FILES, encode, records};

/// `names`' chains of `rounds` receipts, one receipt per tenant per flush round.
fn write_rounds(ledger: &FileLedger, names: &[TenantId], rounds: u64) -> Vec<Vec<Receipt>> {
    let chains: Vec<Vec<Receipt>> = names.iter().map(|t| sample_chain(t, rounds)).collect();
    for round in 0..rounds as usize {
        for (t, chain) in names.iter().zip(&chains) {
            ledger.write(t, &chain[round..=round]).unwrap();
        }
        ledger.sync(&names[0], round as u64 + 1).unwrap();
    }
    chains
}

/// A state directory as a writer with `options` left it when it stopped (a kill, or a crash
/// that kept the page cache) after `rounds` rounds over `n` tenants: its directory, the
/// tenants and their chains.
fn stopped_writer(
    options: LedgerOptions,
    n: usize,
    rounds: u64,
) -> (
    tempfile::TempDir,
    LedgerDir,
    Vec<TenantId>,
    Vec<Vec<Receipt>>,
) {
    let running = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open_with(running.path(), options).unwrap();
    let names = names(n);
    let chains = write_rounds(&ledger, &names, rounds);
    let stopped = snapshot(&ledger);
    let dir = LedgerDir::in_state(stopped.path());
    (stopped, dir, names, chains)
}

fn names(n: usize) -> Vec<TenantId> {
    (0..n).map(|i| tenant(&format!("t{i}"))).collect()
}

fn head_file(dir: &LedgerDir, t: &TenantId) -> StoredHead {
    StoredHead::decode(&fs::read(dir.head_path(t)).unwrap()).unwrap()
}

fn head(dir: &LedgerDir, t: &TenantId) -> StoredHead {
    StoredHead::decode(&dir.read_head(t).unwrap().unwrap()).unwrap()
}

#[test]
fn rounds_are_acknowledged_by_the_log_and_readers_find_their_heads_there() {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let ledger = FileLedger::open(state.path()).unwrap();
    let names = names(8);
    let chains = write_rounds(&ledger, &names, 5);
    let reader = ReadOnlyLedger::new(state.path());
    for (t, chain) in names.iter().zip(&chains) {
        // No round wrote a head file: the log holds the heads.
        assert_eq!(head_file(&dir, t).next_seq, 0, "{t}");
        assert_eq!(head(&dir, t).next_seq, 5, "{t}");
        let report = dir.verify(t, true).unwrap();
        assert!(report.is_ok(), "{t}: {report:?}");
        assert_eq!((report.receipts, report.unacknowledged), (5, 0), "{t}");
        assert_eq!(reader.read(t).unwrap(), *chain, "{t}");
    }
    // Closing files every head; the log is then no longer read.
    drop(ledger);
    for t in &names {
        assert_eq!(head_file(&dir, t).next_seq, 5, "{t}");
        assert_eq!(dir.wal_head(t).unwrap(), None, "{t}");
    }
}

#[test]
fn a_stopped_writers_log_is_replayed_by_the_next() {
    let (stopped, dir, names, chains) = stopped_writer(signed(11), 4, 6);
    // Readers verify the stopped writer's chains against its checkpoints at once: every
    // round's, in the log.
    for t in &names {
        assert_eq!(head_file(&dir, t).next_seq, 0, "{t}");
        let report = verify_signed_by(&dir, t, 11);
        assert!(report.is_ok(), "{t}: {report:?}");
        assert_eq!(report.receipts, 6, "{t}");
        assert_eq!(checkpoint_seqs(&dir, t), (0..6).collect::<Vec<_>>(), "{t}");
    }
    let ledger = FileLedger::open_with(stopped.path(), signed(11)).unwrap();
    for (t, chain) in names.iter().zip(&chains) {
        assert_eq!(head_file(&dir, t).next_seq, 6, "{t}");
        // Applied, then cleared: readers no longer read the replayed records.
        assert_eq!(dir.wal_head(t).unwrap(), None, "{t}");
        // Each tenant's newest checkpoint filed, which covers every receipt before it.
        assert_eq!(checkpoint_seqs(&dir, t), [5], "{t}");
        assert!(verify_signed_by(&dir, t, 11).is_ok(), "{t}");
        // Nothing quarantined or adopted: the chain is exactly what was acknowledged.
        assert_eq!(ledger.read(t).unwrap(), *chain, "{t}");
    }
}

#[test]
fn bytes_a_crash_of_the_machine_lost_are_restored_from_the_log() {
    let (stopped, dir, names, _) = stopped_writer(signed(12), 3, 6);
    let whole: Vec<Vec<u8>> = names
        .iter()
        .map(|t| fs::read(dir.ledger_path(t)).unwrap())
        .collect();
    // The page cache lost: t0's ledger cut mid-line, t1's last blocks never written (zeros).
    // (The checkpoints are in the log alone: a running writer files them when a log file
    // fills or it closes.)
    let cut = whole[0].len() / 3;
    fs::write(dir.ledger_path(&names[0]), &whole[0][..cut]).unwrap();
    let mut zeroed = whole[1].clone();
    let n = zeroed.len();
    zeroed[n / 2..].fill(0);
    fs::write(dir.ledger_path(&names[1]), &zeroed).unwrap();
    for t in &names {
        assert_eq!(fs::read(dir.checkpoints_path(t)).unwrap(), b"", "{t}");
    }
    assert!(verify_signed_by(&dir, &names[0], 12).problem.is_some());

    let ledger = FileLedger::open_with(stopped.path(), signed(12)).unwrap();
    for (t, ledger_bytes) in names.iter().zip(&whole) {
        assert_eq!(&fs::read(dir.ledger_path(t)).unwrap(), ledger_bytes, "{t}");
        let text = fs::read_to_string(dir.checkpoints_path(t)).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<Checkpoint>(l).unwrap().seq)
            .collect();
        assert_eq!(seqs, [5], "{t}");
        assert!(verify_signed_by(&dir, t, 12).is_ok(), "{t}");
    }
    drop(ledger);
}

#[test]
fn a_ledger_that_differs_from_the_log_is_refused_and_the_log_named() {
    let (stopped, dir, names, _) = stopped_writer(LedgerOptions::default(), 2, 4);
    let path = dir.ledger_path(&names[1]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[10] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let err = FileLedger::open(stopped.path()).unwrap_err();
    assert!(matches!(err, LedgerError::HeadMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("t1.jsonl") && text.contains(WAL_FILES[0]),
        "{text}"
    );
}

/// A round torn by a crash (its record incomplete) was never acknowledged: readers and the
/// next writer leave it out, and its receipts, after the head, are quarantined with a
/// receipt saying so.
#[test]
fn a_torn_round_is_not_acknowledged() {
    let (stopped, dir, names, _) = stopped_writer(LedgerOptions::default(), 2, 4);
    // The last byte of the last record (a receipt's newline) never reached the disk.
    let wal = dir.path().join(WAL_FILES[0]);
    let mut bytes = fs::read(&wal).unwrap();
    let last = bytes.iter().rposition(|&b| b != 0).unwrap();
    bytes[last] = 0;
    fs::write(&wal, &bytes).unwrap();
    for t in &names {
        assert_eq!(head(&dir, t).next_seq, 3, "{t}");
        assert_eq!(dir.verify(t, false).unwrap().unacknowledged, 1, "{t}");
    }
    let ledger = FileLedger::open(stopped.path()).unwrap();
    for t in &names {
        let meta = notice(&ledger, t, EventType::LedgerTailQuarantined);
        assert_eq!(meta["receipts"], 1, "{t}");
        assert_eq!(ledger.head(t).unwrap().next_seq, 4, "{t}");
    }
}

/// A round damaged after it was written (a flipped bit, not a torn write: rounds after it
/// are whole) is refused by the next writer, naming the log and the round, instead of
/// ending the log there and dropping what the later rounds acknowledged; the same with the
/// machine's page cache lost too, where those rounds are all that is left of the receipts.
#[test]
fn a_round_damaged_in_the_middle_of_the_log_is_refused_not_taken_as_its_end() {
    for lost_cache in [false, true] {
        let (stopped, dir, names, _) = stopped_writer(LedgerOptions::default(), 2, 5);
        let wal = dir.path().join(WAL_FILES[0]);
        let mut bytes = fs::read(&wal).unwrap();
        let (second, len) = {
            let recs = records(&wal, &bytes).unwrap();
            assert_eq!(recs.len(), 5);
            let first = recs[0].frame.len() as usize;
            (first, recs[1].frame.len() as usize)
        };
        // A bit of round 1's receipts flipped.
        bytes[second + len - 20] ^= 1;
        fs::write(&wal, &bytes).unwrap();
        if lost_cache {
            for t in &names {
                let keep = head_file(&dir, t).ledger_bytes as usize;
                let ledger = fs::read(dir.ledger_path(t)).unwrap();
                fs::write(dir.ledger_path(t), &ledger[..keep]).unwrap();
            }
        }
        let before: Vec<Vec<u8>> = names
            .iter()
            .map(|t| fs::read(dir.ledger_path(t)).unwrap())
            .collect();
        let err = FileLedger::open(stopped.path()).unwrap_err();
        assert!(matches!(err, LedgerError::WalDamaged { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(WAL_FILES[0]) && text.contains("round 1 does not match its checksum"),
            "{text}"
        );
        for (t, bytes) in names.iter().zip(&before) {
            assert_eq!(
                &fs::read(dir.ledger_path(t)).unwrap(),
                bytes,
                "{t}: changed"
            );
        }
    }
}

/// The log deleted after a stop: what it acknowledged is after the heads the head files
/// hold, and the next writer sets it aside saying the log is missing, so the operator knows
/// to look for it instead of reading "never acknowledged".
#[test]
fn receipts_a_deleted_log_acknowledged_are_quarantined_saying_the_log_is_missing() {
    let (stopped, dir, names, _) = stopped_writer(LedgerOptions::default(), 1, 4);
    let filed = head_file(&dir, &names[0]).next_seq;
    assert!(filed < 4, "the head file lags the log: {filed}");
    for name in WAL_FILES {
        fs::remove_file(dir.path().join(name)).unwrap();
    }
    let ledger = FileLedger::open(stopped.path()).unwrap();
    let meta = notice(&ledger, &names[0], EventType::LedgerTailQuarantined);
    let reason = meta["reason"].as_str().unwrap();
    assert!(
        reason.contains("no write-ahead log beside the ledger") && reason.contains("restore it"),
        "{reason}"
    );
}

/// With small log files, rounds move between the two many times: each full file's heads
/// reach the head files in the background before the file is written again, readers find
/// every acknowledged head throughout, the files stay bounded, and a stop at the end is
/// replayed exactly. Each full file leaves each tenant's newest checkpoint in its file.
#[test]
fn log_files_are_reused_once_their_heads_are_filed() {
    const ROUNDS: u64 = 60;
    let (running, dir, ledger) = signed_dir(13);
    // Several rounds to a file (a round of six tenants is ~5 KiB).
    ledger.set_wal_limit(24 * 1024);
    let names = names(6);
    let chains: Vec<Vec<Receipt>> = names.iter().map(|t| sample_chain(t, ROUNDS)).collect();
    let mut filed_while_running = 0;
    for round in 0..ROUNDS as usize {
        for (t, chain) in names.iter().zip(&chains) {
            ledger.write(t, &chain[round..=round]).unwrap();
        }
        ledger.sync(&names[0], round as u64 + 1).unwrap();
        for t in &names {
            assert_eq!(
                head(&dir, t).next_seq,
                round as u64 + 1,
                "{t} round {round}"
            );
            // The writer's latest (from memory) and a reader's (from the files) agree.
            let latest = ledger.latest_checkpoint(t).unwrap().unwrap();
            assert_eq!(latest.seq, round as u64, "{t} round {round}");
            assert_eq!(Some(latest), dir.latest_checkpoint(t).unwrap(), "{t}");
        }
        filed_while_running = filed_while_running.max(head_file(&dir, &names[0]).next_seq);
    }
    assert!(filed_while_running >= ROUNDS / 2, "{filed_while_running}");
    for name in WAL_FILES {
        let len = fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(len <= 1 << 20, "{name}: {len} bytes");
    }
    let stopped = snapshot(&ledger);
    drop(ledger);
    let ledger = FileLedger::open_with(stopped.path(), signed(13)).unwrap();
    let stopped_dir = LedgerDir::in_state(stopped.path());
    for (t, chain) in names.iter().zip(&chains) {
        assert_eq!(ledger.read(t).unwrap(), *chain, "{t}");
        // One checkpoint per full file, the newest last; the latest covers the whole chain.
        let seqs = checkpoint_seqs(&stopped_dir, t);
        assert!(seqs.is_sorted_by(|a, b| a < b), "{t}: {seqs:?}");
        assert_eq!(seqs.last(), Some(&(ROUNDS - 1)), "{t}: {seqs:?}");
        assert!(
            (4..=ROUNDS as usize / 3).contains(&seqs.len()),
            "{t}: {seqs:?}"
        );
        assert!(verify_signed_by(&stopped_dir, t, 13).is_ok(), "{t}");
    }
    drop(running);
}

/// A batch too large for a log file is synced in its ledger and only its head logged; a
/// round whose checkpoints alone are larger than a file gets a record of its own. Both are
/// acknowledged, read and replayed like any round.
#[test]
fn rounds_larger_than_a_log_file_are_still_logged() {
    let (running, dir, ledger) = signed_dir(14);
    ledger.set_wal_limit(4 * 1024);
    let big = tenant("big");
    let chain = sample_chain(&big, 30);
    ledger.append(&big, &chain).unwrap();
    assert!(crate::receipts::ledger_lines(&chain).len() > 4 * 1024);
    // 40 tenants in one round: their checkpoints stored once are ~9 KiB.
    let names = names(40);
    let chains = write_rounds(&ledger, &names, 1);
    assert_eq!(head(&dir, &big).next_seq, 30);
    for t in &names {
        assert_eq!(head(&dir, t).next_seq, 1, "{t}");
    }
    let stopped = snapshot(&ledger);
    drop((ledger, running));
    let stopped_dir = LedgerDir::in_state(stopped.path());
    for t in names.iter().chain([&big]) {
        assert!(verify_signed_by(&stopped_dir, t, 14).is_ok(), "{t}");
    }
    let ledger = FileLedger::open_with(stopped.path(), signed(14)).unwrap();
    assert_eq!(ledger.read(&big).unwrap(), chain);
    for (t, chain) in names.iter().zip(&chains) {
        assert_eq!(ledger.read(t).unwrap(), *chain, "{t}");
        assert_eq!(head_file(&stopped_dir, t).next_seq, 1, "{t}");
        assert_eq!(stopped_dir.checkpoints(t).unwrap().unwrap().len(), 1, "{t}");
    }
}

/// Logs that a killed `tai serve` of this release left (`tests/fixtures/wal`: tenants `acme`
/// and `beta`, four receipts each, one log signed): the next writer replays them into empty
/// ledgers, and the chains verify, the signed one against its key. A change of the record
/// format that stops reading what a writer already left fails here.
#[test]
fn logs_a_killed_writer_left_are_replayed_by_the_next() {
    let signed_pub = include_bytes!("../../../tests/fixtures/wal/killed-signed.pub");
    for (log, public) in [
        (
            &include_bytes!("../../../tests/fixtures/wal/killed-unsigned.wal")[..],
            None,
        ),
        (
            &include_bytes!("../../../tests/fixtures/wal/killed-signed.wal")[..],
            Some(&signed_pub[..]),
        ),
    ] {
        let state = tempfile::tempdir().unwrap();
        let dir = LedgerDir::in_state(state.path());
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(dir.path().join(WAL_FILES[0]), log).unwrap();
        let names = [tenant("acme"), tenant("beta")];
        for t in &names {
            fs::write(dir.ledger_path(t), b"").unwrap();
            // Before the replay a reader finds the log's heads past what the files hold.
            assert!(!dir.verify(t, false).unwrap().is_ok(), "{t}");
        }
        drop(FileLedger::open(state.path()).unwrap());
        for t in &names {
            let report = dir.verify(t, true).unwrap();
            assert!(report.is_ok(), "{t}: {report:?}");
            assert_eq!(report.receipts, 4, "{t}");
            if let Some(pem) = public {
                // The workspace manifest the writer signed (what the files beside the log
                // held): a key's check requires it.
                let manifest =
                    include_bytes!("../../../tests/fixtures/wal/killed-signed.manifest.json");
                fs::write(dir.manifest_path(), manifest).unwrap();
                let path = state.path().join("key.pub");
                fs::write(&path, pem).unwrap();
                let key = crate::receipts::signing::PublicKey::load(&path).unwrap();
                let anchors = crate::receipts::trust::TrustAnchors {
                    keys: std::slice::from_ref(&key),
                    kept: None,
                };
                let report = dir.verify_with(t, true, anchors).unwrap();
                assert!(
                    report.is_ok() && report.signatures_checked,
                    "{t}: {report:?}"
                );
            }
        }
    }
}

/// Someone with write access but not the key appends a record to a stopped signing writer's
/// log, continuing a tenant's chain (valid hashes and links, a head in the log, no
/// checkpoint the key signed): the next signing writer does not take that head, and the
/// receipt, restored after the tenant's head, is quarantined with a receipt saying so,
/// instead of being adopted and signed into the history. The rest of the log replays.
#[test]
fn a_logged_head_the_key_never_signed_is_not_taken_and_its_receipts_are_quarantined() {
    let options = signed(7);
    let (state, dir, names, chains) = stopped_writer(options.clone(), 2, 3);
    let (t, other) = (&names[0], &names[1]);
    let acknowledged = head(&dir, t);
    let mut chain = ChainHead {
        next_seq: 3,
        hash: chains[0][2].hash.clone(),
    };
    let forged = chain.seal(sample_body(t, 3));
    let bytes = crate::receipts::ledger_lines(std::slice::from_ref(&forged));
    let forged_head = StoredHead {
        next_seq: 4,
        hash: forged.hash.to_string(),
        ledger_bytes: acknowledged.ledger_bytes + bytes.len() as u64,
    };
    let wal = dir.path().join(WAL_FILES[0]);
    let mut log = fs::read(&wal).unwrap();
    let last = records(&wal, &log).unwrap().last().unwrap().frame;
    let end = records(&wal, &log)
        .unwrap()
        .iter()
        .map(|r| r.frame.len() as usize)
        .sum::<usize>();
    let entry = Entry {
        tenant: t,
        at: acknowledged.ledger_bytes,
        bytes: &bytes,
        head: &forged_head,
    };
    let record = encode(last.epoch, last.round + 1, &[entry], &[]);
    log.splice(end..end + record.len(), record);
    fs::write(&wal, &log).unwrap();
    // A reader sees the log's head past the ledger: not a chain that verifies.
    assert!(!dir.verify(t, false).unwrap().is_ok());

    let ledger = FileLedger::open_with(state.path(), options).unwrap();
    let read = ledger.read(t).unwrap();
    assert_eq!(read[..3], chains[0][..]);
    assert!(!read.contains(&forged));
    let meta = notice(&ledger, t, EventType::LedgerTailQuarantined);
    assert_eq!(meta["receipts"], 1);
    assert_eq!(fs::read(dir.quarantine_path(t, 3)).unwrap(), bytes);
    assert_eq!(ledger.read(other).unwrap(), chains[1]);
    drop(ledger);
    for n in &names {
        assert!(verify_signed_by(&dir, n, 7).is_ok(), "{n}");
    }
}

/// The operator rotates the signing key while a stopped writer's rounds, signed by the old
/// key, are still in the log. A writer with the new key alone refuses before it touches
/// anything (those rounds are neither vouched for nor forged: quarantining them would set
/// acknowledged receipts aside, signing on would vouch for what it cannot check); told the
/// previous key, it replays them as its own and signs on, and the history verifies against
/// both keys.
#[test]
fn a_rotated_key_replays_what_its_previous_key_signed_and_refuses_without_it() {
    let (state, dir, names, chains) = stopped_writer(signed(7), 2, 3);
    let files = |dir: &LedgerDir| {
        let mut all: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                (path.clone(), fs::read(&path).unwrap())
            })
            .collect();
        all.sort();
        all
    };
    let before = files(&dir);
    let rotated = CheckpointSigner::from_seed([9; 32]);
    let alone = LedgerOptions {
        signer: Some(Arc::new(rotated.clone())),
        ..LedgerOptions::default()
    };
    let err = FileLedger::open_with(state.path(), alone).unwrap_err();
    assert!(matches!(err, LedgerError::SignedByOtherKey { .. }), "{err}");
    assert!(err.to_string().contains("--previous-key"), "{err}");
    assert_eq!(files(&dir), before, "nothing was changed");

    let previous = CheckpointSigner::from_seed([7; 32]).public().clone();
    let continuing = LedgerOptions {
        signer: Some(Arc::new(rotated.continuing([previous.clone()]))),
        ..LedgerOptions::default()
    };
    let ledger = FileLedger::open_with(state.path(), continuing).unwrap();
    for (t, chain) in names.iter().zip(&chains) {
        assert_eq!(&ledger.read(t).unwrap(), chain, "{t}");
        let mut head = ChainHead {
            next_seq: 3,
            hash: chain[2].hash.clone(),
        };
        ledger.append(t, &[head.seal(sample_body(t, 3))]).unwrap();
    }
    drop(ledger);
    let both = [
        previous,
        CheckpointSigner::from_seed([9; 32]).public().clone(),
    ];
    for t in &names {
        assert!(!dir.quarantine_path(t, 3).exists(), "{t}");
        let anchors = crate::receipts::trust::TrustAnchors {
            keys: &both,
            kept: None,
        };
        let report = dir.verify_with(t, true, anchors).unwrap();
        assert!(report.is_ok() && report.receipts == 4, "{t}: {report:?}");
        let latest = dir.checkpoints(t).unwrap().unwrap().pop().unwrap();
        assert_eq!((latest.seq, latest.key_id.as_str()), (3, both[1].key_id()));
        // The new key alone does not vouch for what the old one signed.
        assert!(!verify_signed_by(&dir, t, 9).is_ok(), "{t}");
    }
}
