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
    use tai::catalog::{Catalog, builtin, load};
    use tai::clock::{SimClock, Timestamp};
    use tai::governor::{Decision, Signal, Tenant, ToolCall};
    use tai::receipts::IdSource;
    use tai::receipts::ledger::{Ledger, PostgresLedger};
    use tai::vocab::EventType;
    use tai::workspace::Workspace;

    use crate::common::tenant;

    fn server(url: &str, seed: u64) -> Workspace {
        server_with(
            url,
            seed,
            Arc::new(load::build(&builtin::sources()).unwrap()),
        )
    }

    fn server_with(url: &str, seed: u64, catalog: Arc<Catalog>) -> Workspace {
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

    #[test]
    fn a_command_running_on_one_server_is_waited_for_not_taken_for_interrupted() {
        let Some(url) = crate::common::test_database("runs") else {
            return;
        };
        let d = tempfile::tempdir().unwrap();
        let (catalog, started, release) = crate::common::slow_catalog(d.path());
        let catalog = Arc::new(load::build(&load::read_dir(&catalog).unwrap()).unwrap());
        let (a, b) = (
            server_with(&url, 1, Arc::clone(&catalog)),
            server_with(&url, 2, catalog),
        );
        let acme = tenant("acme");
        a.apply_event(
            &json!({"event_type": "entitlement.activated", "tenant_id": "acme",
                              "sku_id": "slow-plan"}),
        )
        .unwrap();
        a.signal(&acme, &Signal::default()).unwrap();
        // B holds the tenant as it was before the run.
        b.tenant(&acme).unwrap();
        let call = ToolCall {
            tool: "slow_call".into(),
            ..ToolCall::default()
        };
        std::thread::scope(|s| {
            let running = s.spawn(|| a.call(&acme, &call));
            let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !started.exists() {
                assert!(std::time::Instant::now() < end, "the command never started");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // B's signal finds A's `action_started` (on the retry after its stale decision
            // lost the race) and waits for the run instead of recording it as interrupted.
            let signalled = s.spawn(|| b.signal(&acme, &Signal::default()));
            std::thread::sleep(std::time::Duration::from_millis(500));
            assert!(!signalled.is_finished(), "B decided while A's command ran");
            std::fs::write(&release, "").unwrap();
            let ran = running.join().unwrap().unwrap();
            assert_eq!(ran.decision, Decision::Executed, "{}", ran.message);
            let signal = signalled.join().unwrap().unwrap();
            assert!(signal.receipts[0].seq > ran.receipts.last().unwrap().seq);
        });
        let chain = a.ledger().read(&acme).unwrap();
        let count = |e: EventType| chain.iter().filter(|r| r.body.event_type == e).count();
        assert_eq!(count(EventType::ActionInterrupted), 0);
        assert_eq!(count(EventType::ActionStarted), 1);
        assert_eq!(count(EventType::ActionExecuted), 1);
        assert!(a.ledger().verify(&acme).unwrap().is_ok());
    }

    /// Listens to nobody's receipts: the server follows the other lazily.
    #[derive(Debug)]
    struct NobodyListens;

    impl tai::workspace::ReceiptObserver for NobodyListens {
        fn appended(&self, _: &tai::ids::TenantId, _: &[tai::receipts::Receipt]) {}
        fn listens(&self, _: &tai::ids::TenantId) -> bool {
            false
        }
    }

    #[test]
    fn a_server_reads_what_the_other_wrote_when_it_next_shows_the_tenant() {
        let Some(url) = crate::common::test_database("follow") else {
            return;
        };
        let acme = tenant("acme");
        let quiet = || Arc::new(NobodyListens);
        let a = server(&url, 1).with_observer(quiet());
        let b = server(&url, 2).with_observer(quiet());
        a.apply_event(
            &json!({"event_type": "entitlement.activated", "tenant_id": "acme",
                              "sku_id": "rollback-guard-professional"}),
        )
        .unwrap();
        a.signal(&acme, &Signal::default()).unwrap();
        assert_eq!(
            b.tenant(&acme).unwrap().state(),
            a.tenant(&acme).unwrap().state()
        );
        a.apply_event(&json!({"event_type": "entitlement.suspended", "tenant_id": "acme"}))
            .unwrap();
        let written = a.tenant(&acme).unwrap();
        // Announced to B (LISTEN/NOTIFY) soon after; B reads it when it next shows the tenant.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let seen = b.tenant(&acme).unwrap();
            if seen.head() == written.head() {
                assert_eq!(seen, written);
                break;
            }
            assert!(std::time::Instant::now() < end, "B never caught up");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = b.call(&acme, &status_call()).unwrap();
        assert_eq!(out.decision, Decision::Refused, "{}", out.message);
        assert!(a.ledger().verify(&acme).unwrap().is_ok());
    }
}
