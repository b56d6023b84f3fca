//! The record format: round trips, where a reader stops, and that no damage makes a reader
//! take a record that was not written whole.

use proptest::prelude::*;

use super::*;

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn head(next_seq: u64, ledger_bytes: u64) -> StoredHead {
    StoredHead {
        next_seq,
        hash: format!("{next_seq:064x}"),
        ledger_bytes,
    }
}

/// Record `round` of epoch 7: tenants `a` and `b` gain `round + 1` bytes each from
/// `10 * round` on, and one checkpoint-like line.
fn record(epoch: u64, round: u64) -> Vec<u8> {
    record_as(Sums::Crc32c, epoch, round)
}

/// [`record`] with `sums` checksums.
fn record_as(sums: Sums, epoch: u64, round: u64) -> Vec<u8> {
    let (a, b) = (tenant("a"), tenant("b"));
    let at = 10 * round;
    let (ha, hb) = (
        head(round + 1, at + round + 1),
        head(round + 1, at + round + 1),
    );
    let bytes = vec![b'x'; round as usize + 1];
    let entries = [
        Entry {
            tenant: &a,
            at,
            bytes: &bytes,
            head: &ha,
        },
        Entry {
            tenant: &b,
            at,
            bytes: &bytes,
            head: &hb,
        },
    ];
    let line = format!("{{\"round\":{round}}}\n");
    let record = encode_as(sums, epoch, round, &entries, line.as_bytes());
    assert!(record.len() as u64 <= encoded_len(&entries, line.len()));
    record
}

fn rounds(bytes: &[u8]) -> Vec<u64> {
    records(Path::new("test.wal"), bytes)
        .unwrap()
        .iter()
        .map(|r| r.frame.round)
        .collect()
}

#[test]
fn records_read_back_as_written() {
    let mut bytes: Vec<u8> = (3..6).flat_map(|r| record(7, r)).collect();
    bytes.resize(bytes.len() + 4096, 0);
    let read = records(Path::new("test.wal"), &bytes).unwrap();
    assert_eq!(read.len(), 3);
    let last = &read[2];
    assert_eq!(last.frame.round, 5);
    assert_eq!(last.entries[0], (tenant("a"), 50, head(6, 56)));
    assert_eq!(last.entries[1].0, tenant("b"));
    assert_eq!(last.data, b"xxxxxxxxxxxx");
    assert_eq!(last.checkpoints, b"{\"round\":5}\n");
}

#[test]
fn a_reader_stops_at_another_epoch_a_gap_in_rounds_or_a_damaged_record() {
    let (r0, r1, r2) = (record(7, 0), record(7, 1), record(7, 2));
    // What an earlier use of the file left after this use's records.
    let stale = [r0.clone(), r1.clone(), record(8, 2)].concat();
    assert_eq!(rounds(&stale), [0, 1]);
    let gap = [r0.clone(), r2.clone()].concat();
    assert_eq!(rounds(&gap), [0]);
    // Any byte of the last record changed, in its heads or its receipts: not read.
    for at in [60, r1.len() - 1] {
        let mut torn = [r0.clone(), r1.clone()].concat();
        torn[r0.len() + at] ^= 0x20;
        assert_eq!(rounds(&torn), [0], "byte {at}");
    }
    let mut cut = [r0.clone(), r1.clone()].concat();
    cut.truncate(cut.len() - 1);
    assert_eq!(rounds(&cut), [0]);
}

#[test]
fn readers_take_a_tenants_newest_head_and_skip_a_torn_last_record() {
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    std::fs::create_dir_all(dir.path()).unwrap();
    let path = dir.path().join(WAL_FILES[1]);
    let mut bytes: Vec<u8> = (0..3).flat_map(|r| record(7, r)).collect();
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(dir.wal_head(&tenant("a")).unwrap(), Some(head(3, 23)));
    assert_eq!(dir.wal_head(&tenant("c")).unwrap(), None);
    let last = bytes.len() - 1;
    bytes[last] = 0;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(dir.wal_head(&tenant("a")).unwrap(), Some(head(2, 12)));
    // The head a reader reports is the newer of the log's and the file's.
    std::fs::write(dir.head_path(&tenant("a")), head(9, 90).encode()).unwrap();
    assert_eq!(
        dir.read_head(&tenant("a")).unwrap(),
        Some(head(9, 90).encode())
    );
    std::fs::write(dir.head_path(&tenant("a")), head(1, 1).encode()).unwrap();
    assert_eq!(
        dir.read_head(&tenant("a")).unwrap(),
        Some(head(2, 12).encode())
    );
}

#[test]
fn records_are_written_with_crc32c_and_a_log_of_the_first_format_is_still_read() {
    let new = record(7, 0);
    assert_eq!(&new[..8], b"tai-wal2");
    // The receipts-and-checkpoints checksum: the CRC32C of the record's last part (two
    // tenants' one byte each, one line), little-endian, then zeros.
    let rest = &new[new.len() - (2 + "{\"round\":0}\n".len())..];
    let slot = &new[FIELDS_LEN + SUM_LEN..HEADER_LEN];
    assert_eq!(slot[..4], crc32c::crc32c(rest).to_le_bytes());
    assert!(slot[4..].iter().all(|&b| b == 0), "{slot:?}");

    // What an earlier release left: SHA-256 checksums, read as before, and a damaged last
    // record still not taken.
    let old: Vec<u8> = (0..3)
        .map(|r| record_as(Sums::Sha256, 7, r))
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(&old[..8], b"tai-wal1");
    assert_eq!(rounds(&old), [0, 1, 2]);
    let mut torn = old.clone();
    let last = torn.len() - 1;
    torn[last] ^= 1;
    assert_eq!(rounds(&torn), [0, 1]);
    let state = tempfile::tempdir().unwrap();
    let dir = LedgerDir::in_state(state.path());
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(dir.path().join(WAL_FILES[0]), &old).unwrap();
    assert_eq!(dir.wal_head(&tenant("b")).unwrap(), Some(head(3, 23)));
}

proptest! {
    /// Whatever happens to a log file's bytes — cut anywhere, any byte changed — a reader
    /// takes a prefix of the records written, never a record that was not written whole,
    /// and never panics.
    #[test]
    fn damage_never_yields_a_record_not_written(
        n in 1u64..6,
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let written: Vec<Vec<u8>> = (0..n).map(|r| record(9, r)).collect();
        let mut bytes = written.concat();
        let at = flip.index(bytes.len());
        bytes[at] ^= 1 << bit;
        let end = cut.index(bytes.len() + 1);
        bytes.truncate(end);
        let read = records(Path::new("test.wal"), &bytes);
        // Which record the changed byte is in, and whether a whole one follows it.
        let ends: Vec<usize> = written
            .iter()
            .scan(0, |end, w| {
                *end += w.len();
                Some(*end)
            })
            .collect();
        let damaged = ends.iter().position(|&e| at < e).unwrap_or(written.len());
        let whole_after = ends.get(damaged + 1).is_some_and(|&e| e <= end);
        // The first record's magic, epoch or round changed: nothing tells which use of the
        // file the records after it belong to, so they cannot show it was damaged.
        let unknowable = damaged == 0 && at < 24;
        // A changed byte inside an entry's JSON with its checksum still holding cannot
        // happen (a CRC catches every single changed bit): reading stops there, or, when a
        // whole later record shows it was no torn end, refuses.
        let read = match read {
            Err(LedgerError::WalDamaged { detail, .. }) => {
                prop_assert!(whole_after, "refused without a whole record after the damage: {}", detail);
                return Ok(());
            }
            read => read.unwrap(),
        };
        prop_assert!(!whole_after || unknowable, "damage before a whole record read as the log's end");
        let mut start = 0;
        for (i, r) in read.iter().enumerate() {
            let whole = &written[i];
            prop_assert_eq!(r.frame.round, i as u64);
            prop_assert!(start + whole.len() <= end);
            prop_assert!(!(start..start + whole.len()).contains(&at), "a damaged record was read");
            start += whole.len();
        }
    }
}
