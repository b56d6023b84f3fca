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

/// Two servers on one PostgreSQL ledger, in one process: what one decides after the other
/// wrote is decided on what the other wrote.
#[cfg(feature = "postgres")]
mod replicated {
    use std::sync::Arc;

    use serde_json::{Map, json};
    use tai::catalog::{builtin, load};
    use tai::clock::{SimClock, Timestamp};
    use tai::governor::{Decision, Tenant, ToolCall};
    use tai::receipts::IdSource;
    use tai::receipts::ledger::{Ledger, PostgresLedger};
    use tai::workspace::Workspace;

    use crate::common::tenant;

    fn server(url: &str, seed: u64) -> Workspace {
        let catalog = Arc::new(load::build(&builtin::sources()).unwrap());
        let clock = Arc::new(SimClock::new(
            Timestamp::parse("2026-01-10T00:00:00Z").unwrap(),
        ));
        let ledger: Arc<dyn Ledger> = Arc::new(PostgresLedger::connect(url).unwrap());
        Workspace::with_ledger(catalog, clock, IdSource::seeded(seed), ledger)
    }

    fn status_call() -> ToolCall {
        ToolCall {
            tool: "ac_storm_status".into(),
            arguments: Map::new(),
            context: Map::new(),
            idempotency_key: None,
            principal: None,
            timeout_ms: None,
        }
    }

    #[test]
    fn a_server_that_lost_the_race_decides_again_on_what_the_other_wrote() {
        let Some(url) = crate::common::test_database("lost_race") else {
            return;
        };
        let acme = tenant("acme");
        let (a, b) = (server(&url, 1), server(&url, 2));
        a.apply_event(
            &json!({"event_type": "entitlement.activated", "tenant_id": "acme",
                              "sku_id": "rollback-guard-professional"}),
        )
        .unwrap();
        a.signal(&acme, &Default::default()).unwrap();
        for _ in 0..3 {
            assert_eq!(
                a.call(&acme, &status_call()).unwrap().decision,
                Decision::Executed
            );
        }
        // B picks the tenant up from the database, calls, and suspends it; A, which follows
        // nothing here, still holds the tenant as it left it.
        assert_eq!(
            b.call(&acme, &status_call()).unwrap().decision,
            Decision::Executed
        );
        b.apply_event(&json!({"event_type": "entitlement.suspended", "tenant_id": "acme"}))
            .unwrap();
        let held = a.tenant(&acme).unwrap().head().next_seq;
        // A's call is decided on its stale tenant, refused by the database, and decided again
        // on the tenant rebuilt with B's receipts: the suspension refuses it.
        let out = a.call(&acme, &status_call()).unwrap();
        assert_eq!(out.decision, Decision::Refused, "{}", out.message);
        let chain = a.ledger().read(&acme).unwrap();
        assert!(chain.len() as u64 > held + 2);
        assert_eq!(out.receipts.last().unwrap().seq + 1, chain.len() as u64);
        assert!(a.ledger().verify(&acme).unwrap().is_ok());
        // A's memory is the chain's replay, receipt for receipt.
        assert_eq!(
            a.tenant(&acme).unwrap(),
            Tenant::replay(acme.clone(), &chain).unwrap()
        );
        // And it keeps going from there, with B again.
        assert_eq!(
            b.call(&acme, &status_call()).unwrap().decision,
            Decision::Refused
        );
        assert!(a.ledger().verify(&acme).unwrap().is_ok());
    }
}
