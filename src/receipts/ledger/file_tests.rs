//! The file ledger on a real directory: durability layout, continuity, parallel tenants,
//! crash repair and refusal of truncated ledgers.

use std::io::Write;
use std::thread;

use super::*;
use std::fs::{self, OpenOptions};

use sha2::{Digest, Sha256};

use crate::receipts::{EventType, StoredHead};
use crate::receipts::{ProblemKind, sample_body, sample_chain};

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Holds the write-ahead log of `state` as another writer process would, so a ledger opened
/// meanwhile syncs its tenants' files and heads itself (and keeps a round journal when it
/// signs): the path a second writer takes. Released when dropped.
fn hold_wal(state: &Path) -> Vec<fs::File> {
    let dir = LedgerDir::in_state(state);
    fs::create_dir_all(dir.path()).unwrap();
    crate::receipts::ledger::wal_record::WAL_FILES
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .unwrap();
            super::super::durable::lock_exclusive(&file, &path).unwrap();
            file
        })
        .collect()
}

/// Checks `tenant`'s chain against key `seed`'s checkpoints, as `verify --public-key` does.
fn verify_signed_by(dir: &LedgerDir, tenant: &TenantId, seed: u8) -> VerifyReport {
    let key = CheckpointSigner::from_seed([seed; 32]).public().clone();
    let anchors = crate::receipts::trust::TrustAnchors {
        keys: std::slice::from_ref(&key),
        kept: None,
    };
    dir.verify_with(tenant, true, anchors).unwrap()
}

/// The seqs of `tenant`'s checkpoints as readers see them (its file, the log, the journal).
fn checkpoint_seqs(dir: &LedgerDir, tenant: &TenantId) -> Vec<u64> {
    let checkpoints = dir.checkpoints(tenant).unwrap().unwrap_or_default();
    checkpoints.iter().map(|c| c.seq).collect()
}

/// A copy of the running `ledger`'s directory as a stop (a kill, or a crash that kept the
/// page cache) would leave it: its files as they are now, without its locks.
fn snapshot(ledger: &FileLedger) -> tempfile::TempDir {
    let stopped = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(stopped.path());
    fs::create_dir(dir.path()).unwrap();
    for entry in fs::read_dir(ledger.dir().path()).unwrap() {
        let entry = entry.unwrap().path();
        fs::copy(&entry, dir.path().join(entry.file_name().unwrap())).unwrap();
    }
    stopped
}

/// A state directory whose `acme` ledger holds the first `n` sample receipts.
fn state_with(n: u64) -> (tempfile::TempDir, Vec<Receipt>) {
    let state = tempfile::tempdir().unwrap();
    let chain = sample_chain(&tenant("acme"), n);
    let ledger = FileLedger::open(state.path()).unwrap();
    for batch in chain.chunks(3) {
        ledger.append(&tenant("acme"), batch).unwrap();
    }
    (state, chain)
}

#[test]
fn appends_are_stored_as_lines_with_a_head() {
    let (state, chain) = state_with(7);
    let dir = LedgerDir::in_state(state.path());
    let acme = tenant("acme");
    assert_eq!(
        dir.read_ledger(&acme).unwrap(),
        crate::receipts::ledger_lines(&chain)
    );
    let head = StoredHead::decode(&dir.read_head(&acme).unwrap().unwrap()).unwrap();
    assert_eq!(head.next_seq, 7);
    assert_eq!(*head.hash, *chain[6].hash);
    assert_eq!(
        head.ledger_bytes,
        crate::receipts::ledger_lines(&chain).len() as u64
    );
    assert_eq!(dir.tenants().unwrap(), vec![acme.clone()]);
    assert!(dir.verify(&acme, true).unwrap().is_ok());

    // A new process continues where the last one stopped.
    let ledger = FileLedger::open(state.path()).unwrap();
    assert_eq!(ledger.read(&acme).unwrap(), chain);
    let mut next = ledger.head(&acme).unwrap();
    assert_eq!(next, head.chain());
    let more = next.seal(sample_body(&acme, 7));
    assert_eq!(ledger.append(&acme, &[more]).unwrap(), next);
    assert!(ledger.verify(&acme).unwrap().is_ok());
}

#[test]
fn unknown_tenants_are_empty_and_leave_no_files() {
    let state = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open(state.path()).unwrap();
    let ghost = tenant("ghost");
    assert!(ledger.read(&ghost).unwrap().is_empty());
    assert_eq!(ledger.head(&ghost).unwrap(), ChainHead::default());
    assert_eq!(ledger.append(&ghost, &[]).unwrap(), ChainHead::default());
    assert!(ledger.verify(&ghost).unwrap().is_ok());
    assert!(ledger.tenants().unwrap().is_empty());
    assert!(!ledger.dir().contains(&ghost));
}

#[test]
fn a_batch_that_does_not_continue_the_chain_is_refused_and_not_written() {
    let (state, chain) = state_with(4);
    let ledger = FileLedger::open(state.path()).unwrap();
    let acme = tenant("acme");
    let err = ledger.append(&acme, &chain[2..]).unwrap_err();
    assert!(matches!(
        err,
        LedgerError::Discontinuous {
            expected_seq: 4,
            found_seq: 2,
            ..
        }
    ));
    assert_eq!(ledger.read(&acme).unwrap(), chain);
}

#[test]
fn a_second_writer_is_locked_out() {
    let (state, _) = state_with(2);
    let first = FileLedger::open(state.path()).unwrap();
    let second = FileLedger::open(state.path()).unwrap();
    first.head(&tenant("acme")).unwrap();
    let err = second.head(&tenant("acme")).unwrap_err();
    assert!(matches!(err, LedgerError::Locked { .. }), "{err}");
    drop(first);
    assert_eq!(second.head(&tenant("acme")).unwrap().next_seq, 2);
}

#[test]
fn tenants_are_appended_in_parallel() {
    let state = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open(state.path()).unwrap();
    let names: Vec<TenantId> = (0..4).map(|i| tenant(&format!("t{i}"))).collect();
    thread::scope(|s| {
        for t in &names {
            let ledger = &ledger;
            s.spawn(move || {
                let mut head = ledger.head(t).unwrap();
                for batch in 0..25 {
                    let receipts: Vec<Receipt> = (0..4)
                        .map(|i| head.seal(sample_body(t, batch * 4 + i)))
                        .collect();
                    assert_eq!(ledger.append(t, &receipts).unwrap(), head);
                }
            });
        }
    });
    assert_eq!(ledger.tenants().unwrap(), names);
    for t in &names {
        let report = ledger.verify(t).unwrap();
        assert!(report.is_ok(), "{t}: {report:?}");
        assert_eq!(report.receipts, 100);
    }
}

/// Many writers syncing at once on a signing ledger, so flushes cover several tenants and
/// sign their checkpoints on a thread of their own: batches are written one writer at a
/// time, in chain order, and each writer then waits for its tenants while the others write
/// theirs. Every acknowledged receipt
/// stays, heads and checkpoints only move forward, the latest checkpoint covers the head,
/// and nothing is left to adopt or quarantine on reopening.
#[test]
fn concurrent_writers_are_acknowledged_and_heads_only_move_forward() {
    let state = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open_with(state.path(), signed(5)).unwrap();
    let names: Vec<TenantId> = (0..8).map(|i| tenant(&format!("t{i}"))).collect();
    let heads = Mutex::new(
        names
            .iter()
            .map(|t| ledger.head(t).unwrap())
            .collect::<Vec<_>>(),
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|s| {
        let lanes: Vec<_> = (0..4)
            .map(|lane| {
                let (ledger, heads, names) = (&ledger, &heads, &names);
                s.spawn(move || {
                    for round in 0..30u64 {
                        // Taken and written under one lock, as a lane takes its round.
                        let written: Vec<(usize, u64)> = {
                            let mut heads = lock(heads);
                            (0..names.len())
                                .filter(|i| (i + lane + round as usize).is_multiple_of(2))
                                .map(|i| {
                                    let t = &names[i];
                                    let receipts: Vec<Receipt> = (0..2)
                                        .map(|k| heads[i].seal(sample_body(t, round * 2 + k)))
                                        .collect();
                                    (i, ledger.write(t, &receipts).unwrap())
                                })
                                .collect()
                        };
                        for (i, next_seq) in written {
                            ledger.sync(&names[i], next_seq).unwrap();
                            assert!(ledger.head(&names[i]).unwrap().next_seq >= next_seq);
                        }
                    }
                })
            })
            .collect();
        let dir = ledger.dir();
        let verifier = s.spawn(|| {
            let mut last = vec![0u64; names.len()];
            while !stop.load(Ordering::Relaxed) {
                for (i, t) in names.iter().enumerate() {
                    let report = ledger.verify(t).unwrap();
                    assert!(report.is_ok(), "{t}: {report:?}");
                    let seqs = checkpoint_seqs(dir, t);
                    assert!(seqs.is_sorted(), "{t}: checkpoints went back: {seqs:?}");
                    assert!(report.receipts >= last[i], "{t}: the head went back");
                    last[i] = report.receipts;
                }
            }
        });
        for lane in lanes {
            lane.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        verifier.join().unwrap();
    });
    let key = CheckpointSigner::from_seed([5; 32]).public().clone();
    let expected: Vec<u64> = lock(&heads).iter().map(|h| h.next_seq).collect();
    drop(ledger);
    let ledger = FileLedger::open_with(state.path(), signed(5)).unwrap();
    for (t, want) in names.iter().zip(expected) {
        assert_eq!(ledger.head(t).unwrap().next_seq, want, "{t}");
        let anchors = crate::receipts::trust::TrustAnchors {
            keys: std::slice::from_ref(&key),
            kept: None,
        };
        let report = ledger.dir().verify_with(t, true, anchors).unwrap();
        assert!(report.is_ok(), "{t}: {report:?}");
        assert_eq!(report.receipts, want);
    }
}

fn signed(seed: u8) -> LedgerOptions {
    LedgerOptions {
        signer: Some(Arc::new(CheckpointSigner::from_seed([seed; 32]))),
        ..LedgerOptions::default()
    }
}

/// A new state directory, its ledger directory, and a ledger on it signing with key `seed`.
fn signed_dir(seed: u8) -> (tempfile::TempDir, LedgerDir, FileLedger) {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    let ledger = FileLedger::open_with(state.path(), signed(seed)).unwrap();
    (state, dir, ledger)
}

/// The receipt the ledger wrote about its tail, checked to be the last one.
fn notice(ledger: &FileLedger, tenant: &TenantId, event: EventType) -> serde_json::Value {
    let receipts = ledger.read(tenant).unwrap();
    let last = receipts.last().unwrap();
    assert_eq!(last.body.event_type, event);
    assert!(ledger.verify(tenant).unwrap().is_ok());
    last.body.metadata.to_value()
}

#[test]
fn receipts_written_but_not_acknowledged_are_quarantined_without_a_covering_checkpoint() {
    // A crash after the ledger was synced but before the head was replaced, or receipts
    // forged after the head: nobody signed them, so they are not adopted.
    let (state, _) = state_with(5);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    let full = sample_chain(&acme, 8);
    let tail = crate::receipts::ledger_lines(&full[5..]);
    append_raw(&dir.ledger_path(&acme), &tail);
    let report = dir.verify(&acme, false).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.unacknowledged, 3);

    let ledger = FileLedger::open(state.path()).unwrap();
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 6);
    assert_eq!(ledger.read(&acme).unwrap()[..5], full[..5]);
    let meta = notice(&ledger, &acme, EventType::LedgerTailQuarantined);
    assert_eq!(meta["receipts"], 3);
    // A ledger without a key says nothing of one.
    let reason = meta["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("well-formed receipts after the head: never acknowledged"),
        "{reason}"
    );
    assert!(!reason.contains("key"), "{reason}");
    assert_eq!(meta["bytes"], tail.len());
    assert_eq!(meta["sha256"], hex::encode(Sha256::digest(&tail)));
    assert_eq!(meta["file"], "acme.quarantine.5");
    assert_eq!(fs::read(dir.quarantine_path(&acme, 5)).unwrap(), tail);
}

#[test]
fn a_torn_last_line_is_quarantined_on_open() {
    // A crash in the middle of writing a batch: one whole line and part of the next.
    let (state, _) = state_with(5);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    let full = sample_chain(&acme, 7);
    let tail = crate::receipts::ledger_lines(&full[5..]);
    append_raw(&dir.ledger_path(&acme), &tail[..tail.len() - 40]);
    // Readers stop at the head (the whole line after it was never acknowledged either);
    // verification sets both apart from the chain.
    assert_eq!(dir.receipts(&acme).unwrap().len(), 5);
    let report = dir.verify(&acme, false).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        (report.unacknowledged, report.incomplete_bytes),
        (
            1,
            tail.len() as u64 - 40 - (crate::receipts::ledger_lines(&full[5..6]).len() as u64)
        )
    );

    let ledger = FileLedger::open(state.path()).unwrap();
    assert_eq!(ledger.head(&acme).unwrap().next_seq, 6);
    let meta = notice(&ledger, &acme, EventType::LedgerTailQuarantined);
    assert_eq!(meta["bytes"], tail.len() - 40);
    assert_eq!(meta["receipts"], 1);
    assert_eq!(
        fs::read(dir.quarantine_path(&acme, 5)).unwrap(),
        &tail[..tail.len() - 40]
    );
    assert_eq!(ledger.read(&acme).unwrap()[..5], full[..5]);
}

#[test]
fn a_quarantine_left_unrecorded_by_a_crash_is_recorded_on_open() {
    let (state, chain) = state_with(5);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    fs::write(dir.quarantine_path(&acme, 5), b"garbage\n").unwrap();
    let ledger = FileLedger::open(state.path()).unwrap();
    let meta = notice(&ledger, &acme, EventType::LedgerTailQuarantined);
    assert_eq!(meta["bytes"], 8);
    assert_eq!(ledger.read(&acme).unwrap()[..5], chain[..]);
}

#[test]
fn a_deleted_ledger_is_not_started_again() {
    let (state, _) = state_with(3);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    assert!(dir.manifest().unwrap().unwrap().tenants.contains(&acme));
    fs::remove_file(dir.ledger_path(&acme)).unwrap();
    fs::remove_file(dir.head_path(&acme)).unwrap();
    let ledger = FileLedger::open(state.path()).unwrap();
    let mut head = ChainHead::default();
    let err = ledger
        .append(&acme, &[head.seal(sample_body(&acme, 0))])
        .unwrap_err();
    assert!(matches!(err, LedgerError::Deleted { .. }), "{err}");
    assert!(!dir.contains(&acme));
}

/// The tree and index are written behind the ledger: a crash leaves them short, and the
/// next writer extends them from where they end (the same files, reading only what they
/// miss) instead of rebuilding them, while a reader in between computes what they lack.
/// Files that do not match the chain are rebuilt.
#[test]
fn a_tree_and_index_left_short_by_a_crash_are_extended_not_rebuilt() {
    use super::super::tree::{INDEX_LEN, NODE_LEN, WRITE_BEHIND};
    use std::os::unix::fs::MetadataExt;
    let (state, dir, ledger) = signed_dir(3);
    let acme = tenant("acme");
    let n = WRITE_BEHIND as u64 * 3 + 5;
    let chain = sample_chain(&acme, n);
    let key = CheckpointSigner::from_seed([3; 32]).public().clone();
    for batch in chain.chunks(7) {
        ledger.append(&acme, batch).unwrap();
    }
    // Written behind: the files lag the chain, and the writer's own reads see everything.
    let indexed = |dir: &LedgerDir| fs::metadata(dir.index_path(&acme)).unwrap().len() / INDEX_LEN;
    assert!(indexed(&dir) < n, "the index was written with every flush");
    assert_eq!(
        ledger.read_from(&acme, n - 3, 10).unwrap(),
        chain[n as usize - 3..]
    );
    assert_eq!(indexed(&dir), n);
    ledger
        .prove(&acme, n - 1)
        .unwrap()
        .verify(std::slice::from_ref(&key))
        .unwrap();
    drop(ledger);

    // A crash that kept only the first receipts' nodes and offsets.
    let held = WRITE_BEHIND as u64 + 1;
    let tree = OpenOptions::new()
        .write(true)
        .open(dir.tree_path(&acme))
        .unwrap();
    tree.set_len(crate::receipts::merkle::stored_nodes(held) * NODE_LEN)
        .unwrap();
    let index = OpenOptions::new()
        .write(true)
        .open(dir.index_path(&acme))
        .unwrap();
    index.set_len(held * INDEX_LEN + 3).unwrap();
    let inode = |p: PathBuf| fs::metadata(p).unwrap().ino();
    let (tree_ino, index_ino) = (inode(dir.tree_path(&acme)), inode(dir.index_path(&acme)));
    // A reader computes what the files lack.
    dir.prove(&acme, n - 2)
        .unwrap()
        .verify(std::slice::from_ref(&key))
        .unwrap();
    assert_eq!(
        dir.read_page(&acme, n - 2, 5, u64::MAX).unwrap(),
        chain[n as usize - 2..]
    );

    let ledger = FileLedger::open_with(state.path(), signed(3)).unwrap();
    assert_eq!(ledger.head(&acme).unwrap().next_seq, n);
    assert_eq!(indexed(&dir), n, "not extended to the chain");
    assert_eq!(
        (inode(dir.tree_path(&acme)), inode(dir.index_path(&acme))),
        (tree_ino, index_ino),
        "rebuilt instead of extended"
    );
    for seq in [0, held - 1, held, n - 1] {
        ledger
            .prove(&acme, seq)
            .unwrap()
            .verify(std::slice::from_ref(&key))
            .unwrap();
        assert_eq!(
            ledger.read_from(&acme, seq, 1).unwrap(),
            [chain[seq as usize].clone()]
        );
    }
    drop(ledger);

    // An index that points elsewhere than the chain: rebuilt whole.
    let index = OpenOptions::new()
        .write(true)
        .open(dir.index_path(&acme))
        .unwrap();
    index.set_len(held * INDEX_LEN).unwrap();
    use std::os::unix::fs::FileExt;
    index
        .write_all_at(&7u64.to_le_bytes(), (held - 1) * INDEX_LEN)
        .unwrap();
    let ledger = FileLedger::open_with(state.path(), signed(3)).unwrap();
    assert_eq!(ledger.head(&acme).unwrap().next_seq, n);
    assert_ne!(
        inode(dir.index_path(&acme)),
        index_ino,
        "a mismatched index was kept"
    );
    assert_eq!(indexed(&dir), n);
    ledger
        .prove(&acme, held - 1)
        .unwrap()
        .verify(std::slice::from_ref(&key))
        .unwrap();
    assert!(ledger.verify(&acme).unwrap().is_ok());
}

#[test]
fn a_ledger_shorter_than_its_head_is_refused() {
    let (state, chain) = state_with(6);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    fs::write(
        dir.ledger_path(&acme),
        crate::receipts::ledger_lines(&chain[..4]),
    )
    .unwrap();

    let ledger = FileLedger::open(state.path()).unwrap();
    let err = ledger.head(&acme).unwrap_err();
    assert!(matches!(err, LedgerError::Truncated { .. }), "{err}");
    let err = ledger.append(&acme, &chain[4..]).unwrap_err();
    assert!(matches!(err, LedgerError::Truncated { .. }), "{err}");
    let report = dir.verify(&acme, false).unwrap();
    assert!(matches!(
        report.problem.unwrap().kind,
        ProblemKind::Truncated {
            found: 4,
            head_next_seq: 6
        }
    ));
}

#[test]
fn a_missing_or_mismatched_head_is_refused() {
    let (state, chain) = state_with(6);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());

    // The last line replaced by one of the same length sealed elsewhere.
    let mut other = ChainHead {
        next_seq: 5,
        hash: "1".repeat(64).into(),
    };
    let mut bytes = crate::receipts::ledger_lines(&chain[..5]);
    bytes.extend(crate::receipts::ledger_lines(&[
        other.seal(sample_body(&acme, 5))
    ]));
    fs::write(dir.ledger_path(&acme), &bytes).unwrap();
    let err = FileLedger::open(state.path())
        .unwrap()
        .head(&acme)
        .unwrap_err();
    assert!(matches!(err, LedgerError::HeadMismatch { .. }), "{err}");

    fs::remove_file(dir.head_path(&acme)).unwrap();
    let err = FileLedger::open(state.path())
        .unwrap()
        .read(&acme)
        .unwrap_err();
    assert!(matches!(err, LedgerError::HeadMissing { .. }), "{err}");
}

/// On disk, through the files themselves; every position of the ledger is covered in memory
/// by the proptests in `verify`, so the ledger is sampled here to keep debug runs quick.
#[test]
fn flipping_a_byte_of_either_file_fails_verification() {
    let (state, _) = state_with(2);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    for (path, step) in [(dir.ledger_path(&acme), 7), (dir.head_path(&acme), 1)] {
        let original = fs::read(&path).unwrap();
        for i in (0..original.len()).step_by(step) {
            let mut flipped = original.clone();
            flipped[i] ^= 0x01 << (i % 8);
            fs::write(&path, &flipped).unwrap();
            let report = dir.verify(&acme, false).unwrap();
            assert!(!report.is_ok(), "{}: flip at byte {i}", path.display());
        }
        fs::write(&path, &original).unwrap();
    }
    assert!(dir.verify(&acme, false).unwrap().is_ok());
}

/// The index says where each line starts; a page read through it ends where the entry after
/// the page points. An entry edited to point inside an earlier line, or at a later line,
/// still gives the whole page (the reader falls back to the ledger), never one cut short.
#[test]
fn a_page_is_whole_whatever_the_index_entry_after_it_says() {
    let (state, chain) = state_with(130);
    let acme = tenant("acme");
    let dir = LedgerDir::in_state(state.path());
    let index = dir.index_path(&acme);
    let entries = fs::read(&index).unwrap();
    assert!(entries.len() >= 8 * 72, "the index covers the page");
    let offset = |seq: usize| u64::from_le_bytes(entries[seq * 8..seq * 8 + 8].try_into().unwrap());
    for wrong in [offset(68) + 5, offset(68), offset(71), offset(69) - 1] {
        let mut edited = entries.clone();
        edited[69 * 8..70 * 8].copy_from_slice(&wrong.to_le_bytes());
        fs::write(&index, &edited).unwrap();
        let ledger = FileLedger::open(state.path()).unwrap();
        assert_eq!(
            ledger.read_from(&acme, 67, 2).unwrap(),
            &chain[67..69],
            "{wrong}"
        );
    }
}

#[test]
fn read_from_returns_a_window_of_the_chain_like_the_default() {
    let (state, chain) = state_with(10);
    let acme = tenant("acme");
    let file = FileLedger::open(state.path()).unwrap();
    let memory = crate::receipts::MemoryLedger::new();
    memory.append(&acme, &chain).unwrap();
    let ledgers: [&dyn Ledger; 2] = [&file, &memory];
    for ledger in ledgers {
        let seqs = |from, limit| -> Vec<u64> {
            let page = ledger.read_from(&acme, from, limit).unwrap();
            page.iter().map(|r| r.seq).collect()
        };
        assert_eq!(seqs(3, 4), [3, 4, 5, 6]);
        assert_eq!(seqs(0, 2), [0, 1]);
        assert_eq!(seqs(8, 5), [8, 9]);
        assert_eq!(seqs(10, 5), [] as [u64; 0]);
        assert_eq!(seqs(99, 5), [] as [u64; 0]);
        assert_eq!(seqs(4, 0), [] as [u64; 0]);
        assert_eq!(ledger.read_from(&acme, 7, usize::MAX).unwrap(), &chain[7..]);
        assert!(
            ledger
                .read_from(&tenant("nobody"), 0, 5)
                .unwrap()
                .is_empty()
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever length a crash leaves the tree and index at, the next writer ends with
    /// exactly the files a rebuild from the ledger makes. Whatever byte a stray edit changes
    /// besides (the writer checks only where the files end, not every entry, when it opens
    /// them), proofs still verify and pages still hold the chain: readers check what they
    /// take from the files against the ledger.
    #[test]
    fn the_tree_and_index_end_as_a_rebuild_makes_them_whatever_they_held(
        n in 1u64..150,
        tree_cut in proptest::option::of(0.0f64..1.0),
        index_cut in proptest::option::of(0.0f64..1.0),
        flip in proptest::option::of((proptest::bool::ANY, 0.0f64..1.0)),
    ) {
        let (state, dir, ledger) = signed_dir(4);
        let acme = tenant("acme");
        let chain = sample_chain(&acme, n);
        for batch in chain.chunks(5) {
            ledger.append(&acme, batch).unwrap();
        }
        drop(ledger);
        let want = (fs::read(dir.tree_path(&acme)).unwrap(), fs::read(dir.index_path(&acme)).unwrap());
        let cut = |path: PathBuf, at: Option<f64>| {
            if let Some(at) = at {
                let len = fs::metadata(&path).unwrap().len();
                let f = OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len((len as f64 * at) as u64).unwrap();
            }
        };
        cut(dir.tree_path(&acme), tree_cut);
        cut(dir.index_path(&acme), index_cut);
        if let Some((tree, at)) = flip {
            let path = if tree { dir.tree_path(&acme) } else { dir.index_path(&acme) };
            let mut bytes = fs::read(&path).unwrap();
            if !bytes.is_empty() {
                let i = ((bytes.len() - 1) as f64 * at) as usize;
                bytes[i] ^= 0x20;
                fs::write(&path, bytes).unwrap();
            }
        }
        let ledger = FileLedger::open_with(state.path(), signed(4)).unwrap();
        proptest::prop_assert_eq!(ledger.head(&acme).unwrap().next_seq, n);
        let key = CheckpointSigner::from_seed([4; 32]).public().clone();
        for seq in [0, n / 2, n - 1] {
            let proof = ledger.prove(&acme, seq).unwrap();
            proptest::prop_assert!(proof.verify(std::slice::from_ref(&key)).is_ok(), "seq {}", seq);
            let page = ledger.read_from(&acme, seq, 2).unwrap();
            proptest::prop_assert_eq!(&page[..], &chain[seq as usize..(seq as usize + 2).min(n as usize)]);
        }
        drop(ledger);
        if flip.is_none() {
            let got = (fs::read(dir.tree_path(&acme)).unwrap(), fs::read(dir.index_path(&acme)).unwrap());
            proptest::prop_assert!(got == want, "the tree or index differs from a rebuild");
        }
    }
}

/// A proof is never made for a receipt the signed tree does not hold: neither from the tree
/// file nor from the ledger, which a damaged tree file falls back to.
#[test]
fn no_proof_is_made_for_a_rewritten_receipt() {
    let (_state, dir, ledger) = signed_dir(6);
    let acme = tenant("acme");
    let chain = sample_chain(&acme, 8);
    ledger.append(&acme, &chain).unwrap();
    drop(ledger);
    let text = fs::read_to_string(dir.ledger_path(&acme)).unwrap();
    let forged = text.replacen(&*chain[3].hash, &"ab".repeat(32), 1);
    fs::write(dir.ledger_path(&acme), forged).unwrap();
    for tree_too in [false, true] {
        if tree_too {
            fs::write(dir.tree_path(&acme), b"garbage").unwrap();
        }
        assert!(
            matches!(dir.prove(&acme, 3), Err(LedgerError::TreeMismatch { .. })),
            "a proof was made for a rewritten receipt (tree file damaged too: {tree_too})"
        );
        if !tree_too {
            // The intact tree file still proves the receipts left alone.
            assert!(dir.prove(&acme, 5).is_ok());
        }
    }
}

#[path = "file_signed_tests.rs"]
mod signing;

#[path = "file_wal_tests.rs"]
mod wal;
