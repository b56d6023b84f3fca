//! The round journal's invariant, over random rounds, file limits and stops: every
//! checkpoint recorded is found by readers while the writer runs, and after a stop at any
//! point the next writer leaves each in its tenant's file exactly once, in order.

use std::collections::BTreeMap;
use std::fs;

use proptest::prelude::*;

use super::*;
use crate::clock::Timestamp;

/// A checkpoint of `tenant` at `seq` (unsigned: the journal only files lines).
fn checkpoint(tenant: &TenantId, seq: u64) -> Checkpoint {
    Checkpoint {
        tenant_id: tenant.clone(),
        seq,
        head_hash: "ab".repeat(32),
        merkle_root: "cd".repeat(32),
        catalog_hash: "ef".repeat(32),
        time: Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
        key_id: "0123456789abcdef".into(),
        round: None,
        signature: "c2ln".into(),
    }
}

fn seqs(lines: &[SignedLine]) -> Vec<u64> {
    lines.iter().map(|(c, _)| c.seq).collect()
}

/// The seqs of the lines in `tenant`'s checkpoints file, as they stand in it.
fn filed_seqs(dir: &LedgerDir, tenant: &TenantId) -> Vec<u64> {
    fs::read_to_string(dir.checkpoints_path(tenant))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Checkpoint>(l).unwrap().seq)
        .collect()
}

/// The files of `from` copied to a new directory: what a writer stopped now leaves.
fn stopped_copy(from: &LedgerDir) -> (tempfile::TempDir, LedgerDir) {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    fs::create_dir_all(dir.path()).unwrap();
    for entry in fs::read_dir(from.path()).unwrap() {
        let entry = entry.unwrap().path();
        fs::copy(&entry, dir.path().join(entry.file_name().unwrap())).unwrap();
    }
    (state, dir)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_checkpoint_is_lost_or_repeated_whatever_the_rounds_and_the_stop(
        rounds in prop::collection::vec(prop::collection::btree_set(0usize..6, 1..6), 1..40),
        limit in 300u64..6000,
        stop in any::<prop::sample::Index>(),
    ) {
        let state = tempfile::tempdir().unwrap();
        let dir = LedgerDir::in_state(state.path());
        fs::create_dir_all(dir.path()).unwrap();
        let mut journal = Journal::open(&dir, true, || Ok(())).unwrap().unwrap();
        journal.limit = limit;
        let tenants: Vec<TenantId> =
            (0..6).map(|i| TenantId::new(format!("t{i}")).unwrap()).collect();
        let mut recorded: BTreeMap<TenantId, Vec<u64>> = BTreeMap::new();
        let stop = stop.index(rounds.len());
        let mut stopped = None;
        for (n, round) in rounds.iter().enumerate() {
            let cps: Vec<Checkpoint> = round
                .iter()
                .map(|&i| {
                    let t = &tenants[i];
                    let seq = recorded.get(t).map_or(0, |s| s.len() as u64 * 3 + 2);
                    recorded.entry(t.clone()).or_default().push(seq);
                    checkpoint(t, seq)
                })
                .collect();
            journal.record(&cps).unwrap();
            journal.copy_some(&dir).unwrap();
            journal.synced().unwrap();
            for (t, want) in &recorded {
                let lines = dir.signed_lines(t).unwrap().unwrap();
                prop_assert_eq!(&seqs(&lines), want, "round {}, tenant {}", n, t);
                let latest = journal.latest_of(t).unwrap().map(|c| c.seq);
                let filed = dir.filed_checkpoint(t).unwrap().map(|c| c.seq);
                prop_assert_eq!(latest.or(filed), want.last().copied());
            }
            for f in &journal.files {
                prop_assert!(f.len < limit + 6 * 400, "{} bytes", f.len);
            }
            if n == stop {
                stopped = Some((stopped_copy(&dir), recorded.clone()));
            }
        }
        // A writer that closes leaves everything in the tenants' files.
        journal.copy_all(&dir).unwrap();
        journal.clear().unwrap();
        for (t, want) in &recorded {
            prop_assert_eq!(&filed_seqs(&dir, t), want);
        }
        // One that stopped: the next writer copies out what it left.
        let ((_state, dir), at_stop) = stopped.unwrap();
        drop(Journal::open(&dir, true, || Ok(())).unwrap().unwrap());
        for name in JOURNAL_FILES {
            prop_assert_eq!(fs::metadata(dir.path().join(name)).unwrap().len(), 0);
        }
        for (t, want) in &at_stop {
            prop_assert_eq!(&filed_seqs(&dir, t), want, "after the stop, tenant {}", t);
        }
    }
}
