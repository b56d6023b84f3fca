//! Unit tests of the workspace: ledgers that fail on demand, deferred and declined calls.

use serde_json::json;

use super::*;
use crate::catalog::{builtin, load};
use crate::clock::{SimClock, Timestamp};
use crate::receipts::MemoryLedger;
use crate::vocab::{EventType, GovernorState};

fn workspace(catalog: Catalog) -> Workspace {
    Workspace::with_ledger(
        Arc::new(catalog),
        Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
        IdSource::seeded(1),
        Arc::new(MemoryLedger::new()),
    )
}

/// The built-in catalog on `ledger`, under the simulated clock and seed the tests share.
fn on_ledger(ledger: Arc<dyn Ledger>) -> Workspace {
    Workspace::with_ledger(
        Arc::new(load::build(&builtin::sources()).unwrap()),
        Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
        IdSource::seeded(1),
        ledger,
    )
}

fn purchase(ws: &Workspace, tenant: &str) -> TenantId {
    let out = ws
        .apply_event(&json!({
            "event_type": "entitlement.activated", "tenant_id": tenant,
            "sku_id": "rollback-guard-professional",
        }))
        .unwrap();
    assert!(out.accepted);
    TenantId::new(tenant).unwrap()
}

/// A call of a tool the tenant sees whose handler is simulated: decided at once.
fn some_call(ws: &Workspace, tenant: &TenantId) -> ToolCall {
    let tenant = ws.tenant(tenant).unwrap();
    let simulated = |name: &&crate::ids::ToolName| {
        ws.catalog()
            .tool(name.as_str())
            .is_some_and(|t| matches!(t.tool.handler, Handler::Simulated(_)))
    };
    ToolCall {
        tool: tenant.tools().iter().find(simulated).unwrap().to_string(),
        ..ToolCall::default()
    }
}

/// A ledger whose writes or syncs fail on demand.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryLedger,
    fail_writes: std::sync::atomic::AtomicBool,
    fail_syncs: std::sync::atomic::AtomicBool,
    /// Held by a test to keep every sync waiting.
    syncs: Mutex<()>,
    /// Whether it claims other servers write it too (the workspace then keeps each
    /// tenant's durable base and rebuilds from it).
    shared: bool,
}

impl Ledger for Flaky {
    fn append(
        &self,
        tenant: &TenantId,
        receipts: &[Receipt],
    ) -> Result<crate::receipts::ChainHead, LedgerError> {
        if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LedgerError::Io {
                action: "write",
                path: "ledger".into(),
                source: std::io::Error::other("disk full"),
            });
        }
        self.inner.append(tenant, receipts)
    }
    fn sync(&self, tenant: &TenantId, next_seq: u64) -> Result<(), LedgerError> {
        drop(lock(&self.syncs));
        if self.fail_syncs.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LedgerError::NotDurable {
                tenant: tenant.clone(),
                next_seq,
            });
        }
        Ok(())
    }
    fn read(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        self.inner.read(tenant)
    }
    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        self.inner.tenants()
    }
    fn is_remote(&self) -> bool {
        self.shared
    }
    fn head(&self, tenant: &TenantId) -> Result<crate::receipts::ChainHead, LedgerError> {
        self.inner.head(tenant)
    }
    fn verify(&self, tenant: &TenantId) -> Result<crate::receipts::VerifyReport, LedgerError> {
        self.inner.verify(tenant)
    }
}

/// Records what the observer hears, as (tenant, seq).
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<u64>>);

impl ReceiptObserver for Heard {
    fn appended(&self, _: &TenantId, receipts: &[Receipt]) {
        lock(&self.0).extend(receipts.iter().map(|r| r.seq));
    }
}

#[test]
fn a_failed_write_or_sync_is_an_error_and_memory_follows_the_ledger() {
    use std::sync::atomic::Ordering::SeqCst;
    let ledger = Arc::new(Flaky::default());
    let heard = Arc::new(Heard::default());
    let ws = on_ledger(ledger.clone()).with_observer(heard.clone());
    let acme = purchase(&ws, "acme");
    let call = some_call(&ws, &acme);
    let stored = ws.ledger().head(&acme).unwrap();

    // Nothing reached the ledger: the tenant is as it was, and nothing is announced.
    ledger.fail_writes.store(true, SeqCst);
    assert!(matches!(
        ws.call(&acme, &call),
        Err(WorkspaceError::Ledger(LedgerError::Io { .. }))
    ));
    let deferred = ws.try_call(&acme, &call).unwrap();
    assert!(futures::executor::block_on(deferred.durable()).is_err());
    assert_eq!(ws.tenant(&acme).unwrap().head(), &stored);
    ledger.fail_writes.store(false, SeqCst);

    // Written but not known to be durable: an error all the same, and memory is what
    // the ledger holds.
    ledger.fail_syncs.store(true, SeqCst);
    assert!(matches!(
        ws.call(&acme, &call),
        Err(WorkspaceError::Ledger(LedgerError::NotDurable { .. }))
    ));
    assert_eq!(
        ws.tenant(&acme).unwrap().head(),
        &ws.ledger().head(&acme).unwrap()
    );
    ledger.fail_syncs.store(false, SeqCst);

    // The chain goes on from what is stored, and announcements resume after the gap.
    let out = ws.call(&acme, &call).unwrap();
    let last = out.receipts.last().unwrap().seq;
    assert_eq!(ws.ledger().head(&acme).unwrap().next_seq, last + 1);
    assert!(ws.ledger().verify(&acme).unwrap().is_ok());
    let heard = lock(&heard.0).clone();
    assert_eq!(heard.last(), Some(&last));
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "in order: {heard:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever fails along the way, every acknowledged receipt is in the ledger, the
    /// ledger's chain verifies, and memory is the ledger's chain replayed (rebuilt from the
    /// whole chain, or, on a shared ledger, from the tenant's durable base).
    #[test]
    fn no_acknowledged_receipt_is_lost_whatever_fails(
        steps in proptest::collection::vec((0..3u8, proptest::bool::ANY, proptest::bool::ANY), 1..40),
        shared in proptest::bool::ANY,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        let ledger = Arc::new(Flaky { shared, ..Flaky::default() });
        let ws = on_ledger(ledger.clone());
        let acme = purchase(&ws, "acme");
        let call = some_call(&ws, &acme);
        let mut acknowledged = Vec::new();
        for (op, fail_write, fail_sync) in steps {
            ledger.fail_writes.store(fail_write, SeqCst);
            ledger.fail_syncs.store(fail_sync, SeqCst);
            let receipts = match op {
                0 => ws.call(&acme, &call).map(|o| o.receipts),
                1 => ws.signal(&acme, &Signal::default()).map(|o| o.receipts),
                _ => futures::executor::block_on(ws.try_call(&acme, &call).unwrap().durable())
                    .map(|o| o.receipts),
            };
            if let Ok(receipts) = receipts {
                acknowledged.extend(receipts);
            }
            let stored = ledger.read(&acme).unwrap();
            for r in &acknowledged {
                proptest::prop_assert_eq!(stored.get(r.seq as usize), Some(r));
            }
            proptest::prop_assert!(ledger.verify(&acme).unwrap().is_ok());
            let in_memory = ws.tenant(&acme).unwrap();
            proptest::prop_assert_eq!(in_memory.head(), &ledger.head(&acme).unwrap());
            proptest::prop_assert_eq!(in_memory, Tenant::replay(acme.clone(), &stored).unwrap());
        }
    }
}

#[test]
fn try_call_decides_now_and_answers_once_durable() {
    let ws = workspace(load::build(&builtin::sources()).unwrap());
    let acme = purchase(&ws, "acme");
    let call = some_call(&ws, &acme);
    let before = ws.tenant(&acme).unwrap().head().next_seq;
    let out = futures::executor::block_on(ws.try_call(&acme, &call).unwrap().durable());
    let out = out.unwrap();
    assert_eq!(out.receipts.len(), 1);
    assert_eq!(out.receipts[0].seq, before);
    assert_eq!(ws.ledger().head(&acme).unwrap().next_seq, before + 1);
    assert_eq!(ws.ledger().read(&acme).unwrap().last(), out.receipts.last());
}

#[test]
fn try_call_declines_whatever_could_block() {
    let ws = workspace(load::build(&builtin::sources()).unwrap());
    let acme = purchase(&ws, "acme");
    let call = some_call(&ws, &acme);
    // A tenant with no chain (or not yet in memory) is left to the blocking path, which
    // loads it or says it does not exist.
    let nobody = TenantId::new("nobody").unwrap();
    let declined = |ws: &Workspace, t: &TenantId| ws.try_call(t, &call).err();
    assert_eq!(declined(&ws, &nobody), Some(Declined::WouldBlock));
    ws.tenant(&nobody).unwrap();
    assert_eq!(declined(&ws, &nobody), Some(Declined::WouldBlock));
    // A tenant another operation holds.
    let cell = ws.handle(&acme).unwrap();
    let held = lock(&cell.tenant);
    assert_eq!(declined(&ws, &acme), Some(Declined::Busy));
    drop(held);
    assert_eq!(declined(&ws, &acme), None);

    // A tool that runs a program.
    let ws = workspace(commands_catalog());
    let acme = purchase(&ws, "acme");
    assert_eq!(declined(&ws, &acme), Some(Declined::WouldBlock));
}

/// A caller that found the tenant's turn taken awaits its release, and is woken by it: the
/// wait taken before the attempt resolves even when the release came first.
#[test]
fn a_busy_caller_is_woken_when_the_turn_is_released() {
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll};

    struct Count(AtomicUsize);
    impl futures::task::ArcWake for Count {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let ws = workspace(load::build(&builtin::sources()).unwrap());
    let acme = purchase(&ws, "acme");
    let call = some_call(&ws, &acme);
    let woken = Arc::new(Count(AtomicUsize::new(0)));
    let waker = futures::task::waker(Arc::clone(&woken));
    let mut cx = Context::from_waker(&waker);
    let cell = ws.handle(&acme).unwrap();

    let turn = cell.op.take();
    let mut released = ws.turn_released(&acme);
    assert_eq!(ws.try_call(&acme, &call).err(), Some(Declined::Busy));
    assert_eq!(
        std::pin::Pin::new(&mut released).poll(&mut cx),
        Poll::Pending
    );
    drop(turn);
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        std::pin::Pin::new(&mut released).poll(&mut cx),
        Poll::Ready(())
    );

    // Released between taking the wait and awaiting it: not missed.
    let mut released = ws.turn_released(&acme);
    drop(cell.op.take());
    assert_eq!(
        std::pin::Pin::new(&mut released).poll(&mut cx),
        Poll::Ready(())
    );
    // A tenant not loaded has nothing to wait for.
    let nobody = TenantId::new("nobody").unwrap();
    let mut released = ws.turn_released(&nobody);
    assert_eq!(
        std::pin::Pin::new(&mut released).poll(&mut cx),
        Poll::Ready(())
    );
}

/// The built-in catalog with every tool's handler a program.
fn commands_catalog() -> Catalog {
    let base = load::build(&builtin::sources()).unwrap();
    let mut packs = base.packs().to_vec();
    for tool in packs.iter_mut().flat_map(|p| p.tools.iter_mut()) {
        tool.handler = crate::catalog::Handler::Command(crate::catalog::Command {
            program: "true".into(),
            args: Vec::new(),
            env: Default::default(),
            sandbox: Default::default(),
        });
    }
    Catalog::new(packs, base.skus().to_vec())
}

/// A tenant whose chain ends with a command's start and no outcome (its writer died while
/// the program ran), loaded by one thread while another reads it: the reader is answered
/// only once the interruption the load records is durable, so it never sees a state the
/// ledger does not hold (nor the command still running).
#[test]
fn a_tenant_left_running_is_read_only_once_its_interruption_is_durable() {
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering::SeqCst;
    let ledger = Arc::new(Flaky::default());
    let catalog = Arc::new(commands_catalog());
    let clock = Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap()));
    let acme = {
        let ws = Workspace::with_ledger(
            Arc::clone(&catalog),
            clock.clone(),
            IdSource::seeded(1),
            ledger.clone(),
        );
        let acme = purchase(&ws, "acme");
        ws.signal(&acme, &Signal::default()).unwrap();
        let arguments = json!({ "deployment": "checkout-api" });
        let call = ToolCall {
            tool: "ac_rollback_status".into(),
            arguments: arguments.as_object().unwrap().clone(),
            ..ToolCall::default()
        };
        // The start is durable; the program never reports back.
        let h = ws.handle(&acme).unwrap();
        let mut t = lock(&h.tenant);
        let started = match t.begin_call(&ws.env(), &call) {
            Begun::Started(started) => started,
            Begun::Decided(o) => panic!("the call did not start its command: {o:?}"),
        };
        let ahead = ws.queue(&h, &acme, t, started.receipts.clone(), Vec::as_slice);
        futures::executor::block_on(ahead.durable()).unwrap();
        acme
    };
    let started_at = ledger.head(&acme).unwrap().next_seq;

    let ws = Arc::new(Workspace::with_ledger(
        catalog,
        clock,
        IdSource::seeded(2),
        ledger.clone(),
    ));
    let released = Arc::new(AtomicBool::new(false));
    let syncs = lock(&ledger.syncs);
    let loader = {
        let ws = Arc::clone(&ws);
        std::thread::spawn(move || ws.load_all())
    };
    // The interruption is written, not yet durable.
    while ledger.head(&acme).unwrap().next_seq == started_at {
        std::thread::yield_now();
    }
    // Nothing is decided on it meanwhile either, not even by a caller that must not block.
    assert!(matches!(
        ws.try_run(
            &acme,
            |t, env| t.signal(env, &Signal::default()),
            |o| &o.receipts
        ),
        Err(Declined::WouldBlock)
    ));
    let reader = {
        let (ws, acme, released) = (Arc::clone(&ws), acme.clone(), Arc::clone(&released));
        std::thread::spawn(move || {
            let view = ws.view(&acme).unwrap();
            (view, released.load(SeqCst))
        })
    };
    let cell = lock(&ws.tenants).get(&acme).cloned().unwrap();
    while !reader.is_finished() && cell.waited_for_load.load(SeqCst) == 0 {
        std::thread::yield_now();
    }
    released.store(true, SeqCst);
    drop(syncs);
    loader.join().unwrap().unwrap();
    let (view, after_release) = reader.join().unwrap();
    assert!(
        after_release,
        "the reader was answered before the interruption was durable"
    );
    assert_eq!(view.state, GovernorState::Intervening);
    assert!(view.running.is_none());
    assert_eq!(view.receipts, started_at + 1);
    let stored = ledger.read(&acme).unwrap();
    assert_eq!(
        stored.last().unwrap().body.event_type,
        EventType::ActionInterrupted
    );
    assert_eq!(*view.head_hash, *stored.last().unwrap().hash);
}

#[test]
fn a_refused_resolution_after_an_expiry_leaves_memory_and_ledger_agreeing() {
    let clock = Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap()));
    let ws = Workspace::with_ledger(
        Arc::new(load::build(&builtin::sources()).unwrap()),
        clock.clone(),
        IdSource::seeded(1),
        Arc::new(MemoryLedger::new()),
    );
    let acme = TenantId::new("acme").unwrap();
    ws.apply_event(&json!({
        "event_type": "entitlement.activated", "tenant_id": "acme",
        "sku_id": "rollback-guard-base", "expiry": "2026-01-10T00:00:00Z",
    }))
    .unwrap();
    clock.advance(std::time::Duration::from_secs(30 * 86_400));
    assert!(matches!(
        ws.resolve_action(&acme, Resolution::Complete, None, None),
        Err(WorkspaceError::Unresolvable(Unresolvable::NothingInFlight(
            _
        )))
    ));
    // The next operation continues the chain on disk.
    ws.signal(&acme, &Signal::default()).unwrap();
    assert_eq!(
        ws.tenant(&acme).unwrap().head(),
        &ws.ledger().head(&acme).unwrap()
    );
}

/// A keyed call whose receipt is decided but still on its way to disk, and a retry of it
/// (the same key) arriving meanwhile: the retry runs nothing, and is answered only once the
/// first outcome is durable, or with an error when it never becomes durable.
#[test]
fn a_retry_is_never_answered_before_the_first_outcome_is_durable() {
    use std::sync::atomic::Ordering::SeqCst;
    for fails in [false, true] {
        let ledger = Arc::new(Flaky::default());
        let ws = Arc::new(on_ledger(ledger.clone()));
        let acme = purchase(&ws, "acme");
        let call = ToolCall {
            idempotency_key: Some(crate::ids::IdempotencyKey::new("k-1").unwrap()),
            ..some_call(&ws, &acme)
        };
        let before = ws.tenant(&acme).unwrap().head().next_seq;
        let syncs = lock(&ledger.syncs);
        let first = {
            let (ws, acme, call) = (Arc::clone(&ws), acme.clone(), call.clone());
            std::thread::spawn(move || ws.call(&acme, &call))
        };
        while ws.tenant(&acme).unwrap().head().next_seq == before {
            std::thread::yield_now();
        }
        let mut retry = loop {
            match ws.try_call(&acme, &call) {
                Ok(d) => break d,
                Err(Declined::Busy) => std::thread::yield_now(),
                Err(Declined::WouldBlock) => panic!("the tenant is loaded"),
            }
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(
            matches!(retry.0.try_recv(), Ok(None)),
            "the retry was answered before the first outcome was durable"
        );
        ledger.fail_syncs.store(fails, SeqCst);
        drop(syncs);
        let first = first.join().unwrap();
        let retried = futures::executor::block_on(retry.durable());
        if fails {
            assert!(first.is_err());
            assert!(retried.is_err(), "a lost outcome was given to the retry");
        } else {
            let first = first.unwrap();
            let retried = retried.unwrap();
            assert_eq!(retried.repeat_of, Some(first.receipts[0].seq));
            assert_eq!(retried.decision, first.decision);
            assert!(retried.receipts.is_empty());
            assert_eq!(ws.ledger().head(&acme).unwrap().next_seq, before + 1);
        }
    }
}

/// A caller checking whether a loaded tenant has settled (`Cell::settled`, run by every
/// blocking operation) is not its loader: a caller that must not block is not declined
/// while one checks. (Taking the check's momentary hold of the lock for a load in progress
/// made `try_call` decline at random under load.)
#[test]
fn a_caller_checking_the_load_does_not_make_others_decline() {
    let state = tempfile::tempdir().unwrap();
    let ws = on_ledger(Arc::new(
        crate::receipts::FileLedger::open(state.path()).unwrap(),
    ));
    let acme = purchase(&ws, "acme");
    let call = some_call(&ws, &acme);
    let cell = lock(&ws.tenants).get(&acme).cloned().unwrap();
    // As a checker holds it, for an instant.
    let _checking = lock(&cell.loading);
    let deferred = ws.try_call(&acme, &call).map_err(|d| format!("{d:?}"));
    assert!(deferred.is_ok(), "declined: {deferred:?}");
}

/// Many callers at once on a file ledger, their receipts stored in shared flushes: every
/// answer is durable when given, each tenant's receipts are announced in chain order with
/// none missing, and memory is the ledger's chain replayed.
#[test]
fn many_callers_are_answered_durable_and_announced_in_chain_order() {
    let state = tempfile::tempdir().unwrap();
    let ledger = Arc::new(crate::receipts::FileLedger::open(state.path()).unwrap());
    let heard = Arc::new(HeardByTenant::default());
    let ws = on_ledger(ledger.clone()).with_observer(heard.clone());
    let tenants: Vec<TenantId> = (0..3).map(|i| purchase(&ws, &format!("t{i}"))).collect();
    std::thread::scope(|s| {
        for caller in 0..6 {
            let (ws, tenants, ledger) = (&ws, &tenants, &ledger);
            s.spawn(move || {
                for n in 0..40 {
                    let t = &tenants[(caller + n) % tenants.len()];
                    let call = some_call(ws, t);
                    let out = if n.is_multiple_of(2) {
                        ws.call(t, &call).unwrap()
                    } else {
                        let deferred = loop {
                            match ws.try_call(t, &call) {
                                Ok(d) => break d,
                                Err(Declined::Busy) => std::thread::yield_now(),
                                Err(Declined::WouldBlock) => panic!("the tenant is loaded"),
                            }
                        };
                        futures::executor::block_on(deferred.durable()).unwrap()
                    };
                    let last = out.receipts.last().unwrap().seq;
                    assert!(
                        ledger.head(t).unwrap().next_seq > last,
                        "answered before durable"
                    );
                }
            });
        }
    });
    let heard = lock(&heard.0);
    for t in &tenants {
        let stored = ledger.read(t).unwrap();
        let seqs: Vec<u64> = heard.get(t).cloned().unwrap_or_default();
        let want: Vec<u64> = (0..stored.len() as u64).collect();
        assert_eq!(
            seqs, want,
            "{t}: announced out of chain order or with a gap"
        );
        assert!(ledger.verify(t).unwrap().is_ok());
        assert_eq!(
            ws.tenant(t).unwrap(),
            Tenant::replay(t.clone(), &stored).unwrap()
        );
    }
}

/// Records what the observer hears, per tenant.
#[derive(Debug, Default)]
struct HeardByTenant(Mutex<std::collections::HashMap<TenantId, Vec<u64>>>);

impl ReceiptObserver for HeardByTenant {
    fn appended(&self, tenant: &TenantId, receipts: &[Receipt]) {
        lock(&self.0)
            .entry(tenant.clone())
            .or_default()
            .extend(receipts.iter().map(|r| r.seq));
    }
}
