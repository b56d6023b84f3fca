//! The file ledger signing checkpoints: a crash's tail adopted when a checkpoint covers it,
//! one checkpoint per flush, and a round's checkpoints verified as the README documents.

use super::*;

#[test]
fn receipts_a_signed_checkpoint_covers_are_adopted_on_open() {
    // A writer without the write-ahead log (which logs a checkpoint and its head together).
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let held = hold_wal(state.path());
    let ledger = FileLedger::open_with(state.path(), signed(1)).unwrap();
    let acme = tenant("acme");
    let full = sample_chain(&acme, 8);
    {
        ledger.append(&acme, &full[..5]).unwrap();
        let head = fs::read(dir.head_path(&acme)).unwrap();
        ledger.append(&acme, &full[5..]).unwrap();
        // The crash: checkpoint of seq 7 written, head still at seq 4.
        drop((ledger, held));
        fs::write(dir.head_path(&acme), head).unwrap();
    }
    // Another key's writer does not trust the checkpoint.
    assert!(matches!(
        FileLedger::open(state.path()).unwrap().head(&acme),
        Err(LedgerError::SigningKeyRequired { .. })
    ));
    let ledger = FileLedger::open_with(state.path(), signed(1)).unwrap();
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 9);
    assert_eq!(ledger.read(&acme).unwrap()[..8], full[..]);
    let meta = notice(&ledger, &acme, EventType::LedgerTailAdopted);
    assert_eq!(
        (meta["from_seq"].as_u64(), meta["to_seq"].as_u64()),
        (Some(5), Some(7))
    );
    let latest = dir.latest_checkpoint(&acme).unwrap().unwrap();
    assert_eq!(latest.seq, 8);
    let proof = dir.prove(&acme, 6).unwrap();
    assert_eq!(proof.receipt, full[6]);
    proof
        .verify(&[CheckpointSigner::from_seed([1; 32]).public().clone()])
        .unwrap();
}

/// The same crash after a flush that signed several tenants in one round: each tenant's
/// checkpoint, checked through its round path, tells its tail apart from a forged one.
#[test]
fn receipts_a_round_checkpoint_covers_are_adopted_on_open() {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let names = ["acme", "beta", "gamma"];
    let chains: Vec<Vec<Receipt>> = names.iter().map(|n| sample_chain(&tenant(n), 8)).collect();
    {
        let _held = hold_wal(state.path());
        let ledger = FileLedger::open_with(state.path(), signed(1)).unwrap();
        for (n, chain) in names.iter().zip(&chains) {
            ledger.append(&tenant(n), &chain[..5]).unwrap();
        }
        let heads: Vec<Vec<u8>> = names
            .iter()
            .map(|n| fs::read(dir.head_path(&tenant(n))).unwrap())
            .collect();
        for (n, chain) in names.iter().zip(&chains) {
            ledger.write(&tenant(n), &chain[5..]).unwrap();
        }
        ledger.sync(&tenant("acme"), 8).unwrap();
        // The crash: the round's checkpoints written, every head still at seq 4.
        drop(ledger);
        for (n, head) in names.iter().zip(heads) {
            fs::write(dir.head_path(&tenant(n)), head).unwrap();
        }
    }
    // A forged tail after gamma's real one is not covered by anything.
    let forged = crate::receipts::ledger_lines(&sample_chain(&tenant("gamma"), 9)[8..]);
    append_raw(&dir.ledger_path(&tenant("gamma")), &forged);

    let ledger = FileLedger::open_with(state.path(), signed(1)).unwrap();
    for (n, chain) in names.iter().zip(&chains) {
        let t = tenant(n);
        let latest = dir.latest_checkpoint(&t).unwrap().unwrap();
        assert_eq!(latest.round.as_ref().map(|r| r.size), Some(3), "{n}");
        if *n == "gamma" {
            // Not adopted: the forged receipt follows the covered ones.
            notice(&ledger, &t, EventType::LedgerTailQuarantined);
            assert_eq!(ledger.read(&t).unwrap()[..5], chain[..5]);
        } else {
            let meta = notice(&ledger, &t, EventType::LedgerTailAdopted);
            assert_eq!(meta["to_seq"].as_u64(), Some(7), "{n}");
            assert_eq!(ledger.read(&t).unwrap()[..8], chain[..], "{n}");
        }
    }
}

#[test]
fn signed_appends_keep_a_tree_an_index_and_a_checkpoint_per_flush() {
    let (state, dir, ledger) = signed_dir(3);
    let acme = tenant("acme");
    let chain = sample_chain(&acme, 10);
    for batch in chain.chunks(4) {
        ledger.append(&acme, batch).unwrap();
    }
    let checkpoints = dir.checkpoints(&acme).unwrap().unwrap();
    let seqs: Vec<u64> = checkpoints.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [3, 7, 9]);
    let key = CheckpointSigner::from_seed([3; 32]).public().clone();
    for seq in 0..10 {
        let proof = dir.prove(&acme, seq).unwrap();
        assert_eq!(proof.receipt, chain[seq as usize]);
        proof.verify(std::slice::from_ref(&key)).unwrap();
    }
    // Deleting the derived files loses nothing: readers compute, the next writer rebuilds.
    drop(ledger);
    fs::remove_file(dir.tree_path(&acme)).unwrap();
    fs::remove_file(dir.index_path(&acme)).unwrap();
    dir.prove(&acme, 4)
        .unwrap()
        .verify(std::slice::from_ref(&key))
        .unwrap();
    assert_eq!(dir.read_page(&acme, 3, 2, u64::MAX).unwrap(), chain[3..5]);
    let ledger = FileLedger::open_with(state.path(), signed(3)).unwrap();
    assert_eq!(ledger.read_from(&acme, 8, 5).unwrap(), chain[8..]);
    assert!(dir.tree_path(&acme).exists() && dir.index_path(&acme).exists());
    let old = checkpoints[0].clone();
    let consistency = dir.prove_consistency(&acme, old).unwrap();
    consistency.verify(std::slice::from_ref(&key)).unwrap();
}

/// Tenants written before one flush are signed in one round: one signature, and each
/// checkpoint verifies on its own by the steps the README gives a customer (checked here from
/// the stored JSON with SHA-256 and Ed25519 alone, not through `Checkpoint`).
#[test]
fn a_flush_signs_its_tenants_in_one_round_that_verifies_as_documented() {
    use base64::Engine as _;
    use ed25519_dalek::Verifier as _;

    let (_state, dir, ledger) = signed_dir(6);
    let signer = CheckpointSigner::from_seed([6; 32]);
    let names = ["acme", "beta", "gamma"];
    for name in names {
        ledger
            .write(&tenant(name), &sample_chain(&tenant(name), 3))
            .unwrap();
    }
    ledger.sync(&tenant("acme"), 3).unwrap();

    let public = ed25519_dalek::SigningKey::from_bytes(&[6; 32]).verifying_key();
    let mut signatures = Vec::new();
    for name in names {
        // The lines as stored (the round journal's, while the writer runs).
        let lines = dir.signed_lines(&tenant(name)).unwrap().unwrap();
        assert_eq!(lines.len(), 1, "{name}: one checkpoint for one flush");
        let c: serde_json::Value = serde_json::from_str(&lines[0].1).unwrap();
        let field = |k: &str| {
            c[k].as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| c[k].to_string())
        };
        let statement = format!(
            "tai-checkpoint/v2\ntenant {}\nseq {}\nhead {}\nroot {}\ncatalog {}\ntime {}\nkey {}\n",
            field("tenant_id"),
            field("seq"),
            field("head_hash"),
            field("merkle_root"),
            field("catalog_hash"),
            field("time"),
            field("key_id"),
        );
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        leaf.update(statement.as_bytes());
        let path: Vec<[u8; 32]> = c["round"]["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        let (index, size) = (
            c["round"]["index"].as_u64().unwrap(),
            c["round"]["size"].as_u64().unwrap(),
        );
        assert_eq!(size, 3);
        let root =
            crate::receipts::merkle::root_from_path(index, size, &leaf.finalize().into(), &path)
                .unwrap();
        let signed = format!(
            "tai-checkpoint-round/v1\nsize {size}\nroot {}\ntime {}\nkey {}\n",
            hex::encode(root),
            field("time"),
            field("key_id"),
        );
        let sig = base64::engine::general_purpose::STANDARD
            .decode(field("signature"))
            .unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        assert!(public.verify(signed.as_bytes(), &sig).is_ok(), "{name}");
        signatures.push(field("signature"));
        // And through tai's own checks: the chain's latest checkpoint, a proof.
        let key = std::slice::from_ref(signer.public());
        dir.prove(&tenant(name), 1).unwrap().verify(key).unwrap();
    }
    signatures.dedup();
    assert_eq!(signatures.len(), 1, "one signature for the round");
}

/// The latest checkpoint is read from the end of its file, which grows by a line per flush
/// round: a file of any length costs its last line. (Here a terabyte hole stands for years of
/// rounds; reading the whole file, as before, could not even allocate it.)
#[test]
fn the_latest_checkpoint_is_read_from_the_end_of_a_file_of_any_length() {
    use std::os::unix::fs::FileExt;

    let (_state, dir, ledger) = signed_dir(2);
    let acme = tenant("acme");
    ledger.append(&acme, &sample_chain(&acme, 3)).unwrap();
    drop(ledger);
    let latest = dir.latest_checkpoint(&acme).unwrap().unwrap();
    let path = dir.checkpoints_path(&acme);
    let mut line = b"\n".to_vec();
    line.extend(fs::read(&path).unwrap());
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&line, 1 << 40).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        (1 << 40) + line.len() as u64
    );
    assert_eq!(dir.latest_checkpoint(&acme).unwrap(), Some(latest));
}

/// Rounds write their checkpoints to the round journal; once a journal file fills it is
/// copied to the tenants' files, an eighth of its tenants per round: every round's checkpoint
/// ends up in its tenant's file, once and in order, no round appends to every tenant's file,
/// and no journal file grows much past its limit.
#[test]
fn the_round_journal_is_copied_to_each_tenants_file_as_it_fills() {
    use crate::receipts::ledger::journal::{JOURNAL_FILES, JOURNAL_LIMIT};

    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    // Rounds of 64 tenants fill a journal file in about 20 rounds.
    const ROUNDS: usize = 80;
    let names: Vec<TenantId> = (0..64).map(|i| tenant(&format!("t{i}"))).collect();
    let chains: Vec<Vec<Receipt>> = names
        .iter()
        .map(|t| sample_chain(t, ROUNDS as u64))
        .collect();
    let _held = hold_wal(state.path());
    let ledger = FileLedger::open_with(state.path(), signed(7)).unwrap();
    let journal = JOURNAL_FILES.map(|f| dir.path().join(f));
    let len = |p: &std::path::PathBuf| fs::metadata(p).map_or(0, |m| m.len());
    let filed = |t: &TenantId| len(&dir.checkpoints_path(t));
    let (mut largest, mut emptied, mut most_copied) = (0, 0, 0);
    let mut last = [0, 0];
    for round in 0..ROUNDS {
        let before: Vec<u64> = names.iter().map(filed).collect();
        for (t, chain) in names.iter().zip(&chains) {
            ledger.write(t, &chain[round..=round]).unwrap();
        }
        ledger.sync(&names[0], round as u64 + 1).unwrap();
        let copied = names
            .iter()
            .zip(&before)
            .filter(|(t, b)| filed(t) != **b)
            .count();
        most_copied = most_copied.max(copied);
        for (i, path) in journal.iter().enumerate() {
            let now = len(path);
            largest = largest.max(now);
            emptied += u32::from(now < last[i]);
            last[i] = now;
        }
    }
    // The writer knows each tenant's latest without reading the journal; readers read it.
    for t in &names {
        let latest = ledger.latest_checkpoint(t).unwrap().unwrap();
        assert_eq!(latest.seq, ROUNDS as u64 - 1, "{t}");
        assert_eq!(Some(latest), dir.latest_checkpoint(t).unwrap(), "{t}");
    }
    assert!(emptied >= 2, "emptied {emptied} times");
    assert!(largest < JOURNAL_LIMIT + 64 * 1024, "{largest} bytes");
    assert!(
        most_copied <= 8,
        "{most_copied} files appended to in one round"
    );
    for t in &names {
        let lines = dir.signed_lines(t).unwrap().unwrap();
        let seqs: Vec<u64> = lines.iter().map(|(c, _)| c.seq).collect();
        assert_eq!(seqs, (0..ROUNDS as u64).collect::<Vec<_>>(), "{t}");
    }
    // (Two checked against the key: each checks every signature, slow unoptimised.)
    for t in &names[..2] {
        assert!(verify_signed_by(&dir, t, 7).is_ok());
    }
    // Every tenant has some in its file already, and some tenants' latest are still only
    // in the journal. (Which tenants a round copies varies; how many does not.)
    let filed: Vec<u64> = names
        .iter()
        .map(|t| dir.filed_checkpoint(t).unwrap().unwrap().seq)
        .collect();
    assert!(filed.iter().all(|&s| s > 0), "{filed:?}");
    assert!(filed.iter().any(|&s| s < ROUNDS as u64 - 1), "{filed:?}");
    // Closing the ledger leaves every checkpoint in its tenant's file and the journal empty.
    drop(ledger);
    assert_eq!(journal.iter().map(len).sum::<u64>(), 0);
    for t in &names {
        let text = fs::read_to_string(dir.checkpoints_path(t)).unwrap();
        assert_eq!(text.lines().count(), ROUNDS, "{t}");
    }
}

/// What a writer that stopped without closing left in the journal counts for readers at once,
/// and the next writer moves it to the tenants' files, skipping lines a file already has
/// (a stop between copying and emptying).
#[test]
fn checkpoints_a_stopped_writer_left_in_the_journal_are_kept() {
    use crate::receipts::ledger::journal::JOURNAL_FILES;

    let running = tempfile::tempdir().unwrap();
    let acme = tenant("acme");
    let chain = sample_chain(&acme, 6);
    let held = hold_wal(running.path());
    let ledger = FileLedger::open_with(running.path(), signed(8)).unwrap();
    ledger.append(&acme, &chain[..3]).unwrap();
    ledger.append(&acme, &chain[3..]).unwrap();
    // Stopped without closing (the checkpoints only in the journal).
    let stopped = snapshot(&ledger);
    let dir = LedgerDir::in_state(stopped.path());
    drop((ledger, held));
    let state = stopped;
    let journal = dir.path().join(JOURNAL_FILES[0]);
    let journaled = fs::read(&journal).unwrap();
    assert_eq!(fs::read(dir.checkpoints_path(&acme)).unwrap(), b"");
    assert_eq!(dir.latest_checkpoint(&acme).unwrap().unwrap().seq, 5);
    assert!(verify_signed_by(&dir, &acme, 8).is_ok());
    // Deleting the journal deletes the latest checkpoints: caught like deleting them anywhere.
    fs::remove_file(&journal).unwrap();
    let report = verify_signed_by(&dir, &acme, 8);
    assert!(report.problem.is_some(), "{report:?}");
    fs::write(&journal, &journaled).unwrap();
    // As if copied before the stop but not emptied: the first line is in the file too.
    let first = journaled.split_inclusive(|&b| b == b'\n').next().unwrap();
    fs::write(dir.checkpoints_path(&acme), first).unwrap();
    let ledger = FileLedger::open_with(state.path(), signed(8)).unwrap();
    for f in JOURNAL_FILES {
        assert_eq!(fs::metadata(dir.path().join(f)).unwrap().len(), 0);
    }
    let text = fs::read_to_string(dir.checkpoints_path(&acme)).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|l| serde_json::from_str::<Checkpoint>(l).unwrap().seq)
        .collect();
    assert_eq!(seqs, [2, 5]);
    drop(ledger);
}

/// A state directory whose write-ahead log another holder keeps (see `hold_wal`), so a
/// signing ledger opened on it keeps a round journal.
fn journaled_dir() -> (HeldState, LedgerDir) {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let held = hold_wal(state.path());
    (HeldState { state, _held: held }, dir)
}

/// A state directory and the write-ahead log held on it.
struct HeldState {
    state: tempfile::TempDir,
    _held: Vec<fs::File>,
}

impl HeldState {
    fn path(&self) -> &Path {
        self.state.path()
    }
}

/// A line in the journal that is not a checkpoint fails verification loudly, naming the
/// journal, rather than being skipped.
#[test]
fn a_damaged_journal_fails_verification_and_says_where() {
    use crate::receipts::ledger::journal::JOURNAL_FILES;
    const JOURNAL_FILE: &str = JOURNAL_FILES[0];

    let (state, dir) = journaled_dir();
    let ledger = FileLedger::open_with(state.path(), signed(9)).unwrap();
    let acme = tenant("acme");
    ledger.append(&acme, &sample_chain(&acme, 2)).unwrap();
    let journal = dir.path().join(JOURNAL_FILE);
    let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(b"{\"not\":\"a checkpoint\"}\n").unwrap();
    let err = dir.latest_checkpoint(&acme).unwrap_err().to_string();
    assert!(
        err.contains(JOURNAL_FILE) && err.contains("line 2"),
        "{err}"
    );
    // A torn last line (a stop during an append) is not a checkpoint yet: left out.
    let (state2, dir) = journaled_dir();
    let ledger2 = FileLedger::open_with(state2.path(), signed(9)).unwrap();
    ledger2.append(&acme, &sample_chain(&acme, 2)).unwrap();
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join(JOURNAL_FILE))
        .unwrap();
    f.write_all(b"{\"tenant_id\":\"acme\",\"seq\":9").unwrap();
    assert_eq!(dir.latest_checkpoint(&acme).unwrap().unwrap().seq, 1);
    drop((ledger, ledger2));
}

/// A second writer on the directory (here a second ledger in this process; another process
/// is the same to the lock) finds the journal held and appends its checkpoints to the
/// tenants' files itself; readers see both writers' checkpoints.
#[test]
fn a_second_writer_appends_checkpoints_directly() {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    let _held = hold_wal(state.path());
    let first = FileLedger::open_with(state.path(), signed(4)).unwrap();
    let second = FileLedger::open_with(state.path(), signed(4)).unwrap();
    first.append(&acme, &sample_chain(&acme, 3)).unwrap();
    second.append(&beta, &sample_chain(&beta, 2)).unwrap();
    assert_eq!(fs::read(dir.checkpoints_path(&acme)).unwrap(), b"");
    let beta_file = fs::read_to_string(dir.checkpoints_path(&beta)).unwrap();
    assert_eq!(beta_file.lines().count(), 1);
    for t in [&acme, &beta] {
        assert!(verify_signed_by(&dir, t, 4).is_ok(), "{t}");
    }
    drop((first, second));
}
