//! One contract, every ledger: the memory, file and PostgreSQL ledgers append, read, verify
//! and refuse alike, through the same test body over `&dyn Ledger`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tai::ids::TenantId;
use tai::receipts::ledger::{FileLedger, Ledger, LedgerError, MemoryLedger};
use tai::receipts::{ChainHead, sample_body};

use crate::common::tenant;

/// Appends, reads, pages, heads, tenants, verification and the refusal of a batch that does
/// not continue the chain (what a second writer that lost a race is told).
fn contract(ledger: &dyn Ledger) {
    let acme = tenant("acme");
    let globex = tenant("globex");
    assert_eq!(ledger.head(&acme).unwrap(), ChainHead::default());
    assert!(ledger.read(&acme).unwrap().is_empty());
    assert!(ledger.tenants().unwrap().is_empty());
    assert!(ledger.verify(&acme).unwrap().is_ok());

    let mut head = ledger.head(&acme).unwrap();
    let first: Vec<_> = (0..3).map(|n| head.seal(sample_body(&acme, n))).collect();
    assert_eq!(ledger.append(&acme, &first).unwrap(), head);
    let next_seq = ledger
        .write(&acme, &[head.seal(sample_body(&acme, 3))])
        .unwrap();
    assert_eq!(next_seq, 4);
    ledger.sync(&acme, next_seq).unwrap();
    assert_eq!(ledger.head(&acme).unwrap(), head);

    let all = ledger.read(&acme).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[..3], first[..]);
    let page = ledger.read_from(&acme, 1, 2).unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(ledger.read_from(&acme, 9, 5).unwrap().is_empty());

    let report = ledger.verify(&acme).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.receipts, 4);
    assert_eq!(report.head.as_ref(), Some(&head));

    // A batch sealed against an old head: refused, naming where the chain is.
    let mut stale = ChainHead {
        next_seq: 2,
        hash: first[1].hash.clone(),
    };
    let err = ledger
        .append(&acme, &[stale.seal(sample_body(&acme, 9))])
        .unwrap_err();
    assert!(
        matches!(
            &err,
            LedgerError::Discontinuous {
                expected_seq: 4,
                found_seq: 2,
                ..
            }
        ),
        "{err}"
    );
    // A receipt of another tenant.
    let err = ledger
        .append(&acme, &[head.clone().seal(sample_body(&globex, 4))])
        .unwrap_err();
    assert!(
        err.to_string().contains("belongs to tenant `globex`"),
        "{err}"
    );
    // A first receipt that does not start at the genesis.
    let err = ledger
        .append(
            &globex,
            &[ChainHead {
                next_seq: 0,
                hash: head.hash.clone(),
            }
            .seal(sample_body(&globex, 0))],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Discontinuous {
                expected_seq: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(ledger.read(&acme).unwrap().len(), 4);
    assert_eq!(ledger.head(&acme).unwrap(), head);

    let mut g = ChainHead::default();
    ledger
        .append(&globex, &[g.seal(sample_body(&globex, 0))])
        .unwrap();
    let tenants: Vec<TenantId> = ledger.tenants().unwrap();
    assert_eq!(tenants, [acme, globex]);
}

#[test]
fn memory_ledger_keeps_the_contract() {
    contract(&MemoryLedger::new());
}

#[test]
fn file_ledger_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&FileLedger::open(dir.path()).unwrap());
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use tai::receipts::ledger::PostgresLedger;

    #[test]
    fn postgres_ledger_keeps_the_contract() {
        let Some(url) = crate::common::test_database("contract") else {
            return;
        };
        contract(&PostgresLedger::connect(&url).unwrap());
        // Opened again (a restart, or a second replica): migrations are idempotent and the
        // chain continues from the stored head.
        let again = PostgresLedger::connect(&url).unwrap();
        let acme = tenant("acme");
        let mut head = again.head(&acme).unwrap();
        assert_eq!(head.next_seq, 4);
        again
            .append(&acme, &[head.seal(sample_body(&acme, 4))])
            .unwrap();
        assert!(again.verify(&acme).unwrap().is_ok());
        assert_eq!(again.read(&acme).unwrap().len(), 5);
    }

    #[test]
    fn verification_catches_a_row_removed_or_edited_in_the_database() {
        let Some(url) = crate::common::test_database("tamper") else {
            return;
        };
        let ledger = PostgresLedger::connect(&url).unwrap();
        let acme = tenant("acme");
        let mut head = ChainHead::default();
        let batch: Vec<_> = (0..5).map(|n| head.seal(sample_body(&acme, n))).collect();
        ledger.append(&acme, &batch).unwrap();
        let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        db.execute(
            "DELETE FROM receipts WHERE tenant = 'acme' AND seq = 4",
            &[],
        )
        .unwrap();
        let report = ledger.verify(&acme).unwrap();
        assert!(!report.is_ok());
        assert!(report.problem.unwrap().to_string().contains("4"));
        db.execute(
            "UPDATE receipts SET line = replace(line, 'acme', 'acmf') WHERE seq = 2",
            &[],
        )
        .unwrap();
        let report = ledger.verify(&acme).unwrap();
        assert_eq!(report.problem.unwrap().seq, Some(2));
    }

    #[test]
    fn a_bad_url_or_an_unreachable_server_is_an_error_not_a_hang() {
        let err = PostgresLedger::connect("postgres://[::1").unwrap_err();
        assert!(matches!(err, LedgerError::BadUrl { .. }), "{err}");
        let started = std::time::Instant::now();
        // Nothing listens on port 9 of loopback.
        let err = PostgresLedger::connect("postgres://tai:pw@127.0.0.1:9/tai").unwrap_err();
        assert!(matches!(err, LedgerError::Unreachable { .. }), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
