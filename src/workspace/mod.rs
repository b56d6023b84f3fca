//! A persistent workspace: tenants rebuilt from their ledgers, operated on one at a time, and
//! every receipt made durable before the caller sees the answer.
//!
//! The CLI opens a workspace per invocation; `tai serve` keeps one open and shares it across
//! requests. Each tenant sits behind its own lock, so calls for one tenant are serialized
//! through its governor while different tenants proceed in parallel. Deciding happens under
//! that lock; storing does not: sealed batches go to the durability thread (`durability`),
//! which writes them in decision order, flushes, and answers each caller.

mod announcer;
mod cell;
mod durability;
mod import;
mod seed;
mod server_lock;
mod shared;
mod tick;
mod turn;
mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::catalog::{Catalog, Handler};
use crate::clock::Clock;
use crate::entitlement::{self, MalformedEvent};
use crate::governor::{
    Acknowledgement, Begun, CallOutcome, Env, EventOutcome, GovernorRecord, IdSource, NoSuchAndon,
    ReplayError, Resolution, Signal, SignalOutcome, Tenant, ToolCall, Unresolvable,
};
use crate::iam::IamPolicy;
use crate::ids::{ActionRunId, SignalName, TenantId};
use crate::receipts::CheckpointSigner;
use crate::receipts::Receipt;
use crate::receipts::ledger::{FileLedger, Ledger, LedgerError, LedgerOptions, ReadOnlyLedger};
use crate::sync::{self, lock};

use cell::{Cell, Pending};
use durability::DurabilityThread;
use seed::load_or_create_seed;

pub use import::{ImportError, ImportStatus, Imported};
pub use server_lock::ServerLock;
pub use turn::TurnReleased;
pub use view::{EntitlementView, TenantView};

/// Why a workspace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A ledger does not replay into a tenant.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// An entitlement event without a usable tenant id (one that names a valid tenant is
    /// refused in that tenant's chain instead).
    #[error(transparent)]
    Malformed(#[from] MalformedEvent),
    /// An action resolution was refused: nothing in flight, or another action is.
    #[error(transparent)]
    Unresolvable(#[from] Unresolvable),
    /// An Andon clear named a signal that is not stopping the tenant.
    #[error(transparent)]
    NoSuchAndon(#[from] NoSuchAndon),
    /// Another server already serves this state directory.
    #[error(
        "state directory `{path}` is already served by another `tai serve`{pid}\n\
         hint: stop it, or give this one another --state"
    )]
    Served {
        /// The state directory.
        path: PathBuf,
        /// ` (pid N)` when the other server wrote its pid, else empty.
        pid: String,
    },
    /// The workspace closed before the receipts were durable; they may or may not be.
    #[error("the workspace closed before the receipts were acknowledged")]
    Closed,
    /// The state directory could not be prepared.
    #[error("cannot use state directory `{path}`: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Told about every batch of receipts once it is durable, in chain order per tenant.
/// `tai serve` uses it to stream receipts and to announce tool-list changes; it must not
/// block.
pub trait ReceiptObserver: Send + Sync + std::fmt::Debug {
    /// `receipts` were appended to `tenant`'s chain and are durable.
    fn appended(&self, tenant: &TenantId, receipts: &[Receipt]);

    /// Whether anyone listens to `tenant` now: another server's receipts for a tenant not
    /// held here are read from the ledger only for someone who does.
    fn listens(&self, _tenant: &TenantId) -> bool {
        true
    }
}

/// Tenants over a durable ledger.
#[derive(Debug)]
pub struct Workspace {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    ids: IdSource,
    ledger: Arc<dyn Ledger>,
    tenants: Arc<shared::Cells>,
    observer: Option<Arc<dyn ReceiptObserver>>,
    durability: DurabilityThread,
    /// Whether this workspace writes (and so settles what a previous writer left unfinished).
    writes: bool,
    /// Called by a shared ledger when another server appends, while this workspace lives.
    follower: Option<shared::Following>,
}

/// Why [`Workspace::try_run`] ran nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declined {
    /// Another operation holds the tenant: trying again shortly may succeed.
    Busy,
    /// Deciding would block: the tenant must first be loaded from disk (or has no chain
    /// yet), or the tool runs an external command.
    WouldBlock,
}

/// The answer to an operation whose receipts are written and on their way to disk: ready
/// once they are durable.
#[derive(Debug)]
pub struct Deferred<T>(futures::channel::oneshot::Receiver<Result<T, WorkspaceError>>);

impl<T> Deferred<T> {
    /// Waits, without blocking a thread, until the receipts are durable.
    pub async fn durable(self) -> Result<T, WorkspaceError> {
        self.0.await.unwrap_or(Err(WorkspaceError::Closed))
    }
}

impl Workspace {
    /// Opens (creating if needed) the workspace in `state_dir`.
    pub fn open(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
    ) -> Result<Workspace, WorkspaceError> {
        Self::open_signed(state_dir, catalog, clock, None)
    }

    /// [`Workspace::open`] with a key that signs a checkpoint of each written tenant per
    /// flush (and the workspace manifest).
    pub fn open_signed(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
        signer: Option<Arc<CheckpointSigner>>,
    ) -> Result<Workspace, WorkspaceError> {
        let options = LedgerOptions {
            signer,
            clock: Arc::clone(&clock),
            adopt_unsigned: false,
        };
        Self::open_with(state_dir, catalog, options)
    }

    /// [`Workspace::open`] on a file ledger opened with `options` (its clock is the
    /// workspace's).
    pub fn open_with(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        options: LedgerOptions,
    ) -> Result<Workspace, WorkspaceError> {
        let ids = IdSource::seeded(load_or_create_seed(state_dir)?);
        let clock = Arc::clone(&options.clock);
        let ledger = Arc::new(FileLedger::open_with(state_dir, options)?);
        Ok(Workspace::with_ledger(catalog, clock, ids, ledger))
    }

    /// A workspace whose receipts live in `ledger` (a database shared with other servers),
    /// with the receipt-id seed of `state_dir`.
    pub fn open_on(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
        ledger: Arc<dyn Ledger>,
    ) -> Result<Workspace, WorkspaceError> {
        let ids = IdSource::seeded(load_or_create_seed(state_dir)?);
        Ok(Workspace::with_ledger(catalog, clock, ids, ledger))
    }

    /// This workspace, for reading only: it settles nothing a previous writer left
    /// unfinished.
    pub fn read_only(mut self) -> Workspace {
        self.writes = false;
        self
    }

    /// The workspace in `state_dir` for reading only: nothing in the state directory is
    /// created or changed, and tenants are rebuilt from their acknowledged receipts (what
    /// follows a head is left for the next writer).
    pub fn open_read_only(
        state_dir: &Path,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
    ) -> Workspace {
        let ledger = Arc::new(ReadOnlyLedger::new(state_dir));
        Workspace::with_ledger(catalog, clock, IdSource::seeded(0), ledger).read_only()
    }

    /// A workspace over any ledger (e.g. an in-memory one in tests).
    pub fn with_ledger(
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
        ids: IdSource,
        ledger: Arc<dyn Ledger>,
    ) -> Workspace {
        Workspace {
            catalog,
            clock,
            ids,
            durability: DurabilityThread::new(Arc::clone(&ledger)),
            ledger,
            tenants: Arc::new(Mutex::new(HashMap::new())),
            observer: None,
            writes: true,
            follower: None,
        }
    }

    /// Reports every durable batch of receipts to `observer`.
    ///
    /// On a ledger other servers write too, their appends are followed: the tenants held
    /// here catch up and `observer` hears of the receipts.
    pub fn with_observer(mut self, observer: Arc<dyn ReceiptObserver>) -> Workspace {
        let follower = shared::follower(&self.tenants, &self.ledger, &observer);
        if self.ledger.watch(&follower) {
            self.follower = Some(shared::Following(follower));
        }
        self.observer = Some(observer);
        self
    }

    /// The clock decisions are made by.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The catalog in force.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// Tenants that have a ledger.
    pub fn tenant_ids(&self) -> Result<Vec<TenantId>, WorkspaceError> {
        Ok(self.ledger.tenants()?)
    }

    /// Whether the tenant has any receipts. Asks the ledger for one head rather than listing
    /// every tenant: the server checks this on each request.
    pub fn exists(&self, id: &TenantId) -> Result<bool, WorkspaceError> {
        // A tenant with a durable receipt never goes away: no need to ask the ledger again.
        let loaded = lock(&self.tenants)
            .get(id)
            .is_some_and(|h| h.durable.load(Ordering::Acquire) > 0);
        Ok(loaded || self.ledger.head(id)?.next_seq > 0)
    }

    fn handle(&self, id: &TenantId) -> Result<Arc<Cell>, WorkspaceError> {
        let held = lock(&self.tenants).get(id).cloned();
        if let Some(h) = held {
            h.settled();
            return Ok(h);
        }
        // Loaded without holding the map, so other tenants are not held up by this one's
        // disk reads. Two threads may both load a tenant that is not there yet; the first to
        // insert wins, and nothing was written to a tenant before its cell existed.
        let receipts = self.ledger.read(id)?;
        let tenant = Tenant::replay(id.clone(), &receipts)?;
        // A command started by an earlier writer and never finished: that writer is gone (it
        // held the ledger's lock while running), so the action is recorded as interrupted
        // before anything else is decided or shown. The cell goes into the map with
        // `loading` held, so whoever finds it before that receipt is durable waits for it
        // (`Cell::settled`).
        let interrupt = self.writes && tenant.running().is_some();
        let loaded = Arc::new(Cell::new(tenant, self.ledger.is_remote()));
        let loading = interrupt.then(|| {
            let guard = lock(&loaded.loading);
            loaded.settling.store(true, Ordering::Release);
            guard
        });
        let h = Arc::clone(
            lock(&self.tenants)
                .entry(id.clone())
                .or_insert_with(|| Arc::clone(&loaded)),
        );
        if !Arc::ptr_eq(&h, &loaded) {
            drop(loading);
            h.settled();
            return Ok(h);
        }
        if loading.is_some() {
            let interrupted = self.run_on(&h, id, |t, env| t.interrupt(env), Vec::as_slice);
            h.settling.store(false, Ordering::Release);
            interrupted?;
        }
        drop(loading);
        Ok(h)
    }

    /// A snapshot of a tenant (a fresh `boot` tenant when it has no ledger).
    pub fn tenant(&self, id: &TenantId) -> Result<Tenant, WorkspaceError> {
        let h = self.handle(id)?;
        // Brought up to what another server wrote, unless an operation here holds it (a
        // running command): a read answers at once from what is held.
        if let Some(_turn) = h.op.try_take() {
            shared::catch_up(&h, self.ledger.as_ref(), self.observer.as_deref(), id);
        }
        let t = lock(&h.tenant).clone();
        Ok(t)
    }

    /// Runs `op` on the tenant under its lock and returns once the receipts it wrote are
    /// durable. The lock is released as soon as the receipts are sealed and queued, so the
    /// tenant's next operation is decided while this one's receipts reach the disk, and
    /// concurrent operations share one flush (the ledger's group commit); each caller still
    /// hears back only once its own receipts are durable. If writing or flushing fails the
    /// tenant is rebuilt from the ledger, so memory never stays ahead of what is on disk.
    ///
    /// Should another writer of a shared ledger (a second server on the same database) have
    /// continued the tenant's chain first, the ledger refuses the receipts; the tenant is
    /// then rebuilt from the ledger and `op` decided again on what it holds, a few times at
    /// most ([`LOST_RACE_RETRIES`]).
    pub fn run<T: Send + 'static>(
        &self,
        id: &TenantId,
        op: impl Fn(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Result<T, WorkspaceError> {
        retry_lost_races(|| {
            let h = self.handle(id)?;
            self.run_on(&h, id, &op, receipts_of)
        })
    }

    fn run_on<T: Send + 'static>(
        &self,
        h: &Arc<Cell>,
        id: &TenantId,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Result<T, WorkspaceError> {
        let turn = h.op.take();
        shared::catch_up(h, self.ledger.as_ref(), self.observer.as_deref(), id);
        self.settle_foreign_run(h, id, false)?;
        let mut tenant = lock(&h.tenant);
        let out = op(&mut tenant, &self.env());
        let deferred = self.queue(h, id, tenant, out, receipts_of);
        drop(turn);
        futures::executor::block_on(deferred.durable())
    }

    /// [`Workspace::run`] for callers that must not block: decides now and answers through
    /// the returned [`Deferred`] once the receipts are durable. Runs nothing when deciding
    /// could block, and says why.
    pub fn try_run<T: Send + 'static>(
        &self,
        id: &TenantId,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Result<Deferred<T>, Declined> {
        self.try_run_when(id, false, op, receipts_of)
    }

    /// [`Workspace::try_run`], declined also when `settled` asks for everything decided on
    /// the tenant to be durable and some of it is still on its way to the ledger.
    fn try_run_when<T: Send + 'static>(
        &self,
        id: &TenantId,
        settled: bool,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Result<Deferred<T>, Declined> {
        let h = lock(&self.tenants)
            .get(id)
            .cloned()
            .ok_or(Declined::WouldBlock)?;
        // Still being loaded (a start left without an outcome is being recorded as
        // interrupted): nothing is decided on it before that, and waiting for it can block.
        if h.settling.load(Ordering::Acquire) {
            return Err(Declined::WouldBlock);
        }
        let turn = h.op.try_take().ok_or(Declined::Busy)?;
        let mut tenant = sync::try_lock(&h.tenant).ok_or(Declined::Busy)?;
        let next_seq = tenant.head().next_seq;
        // Another server's command may be running, or its receipts need reading: either can
        // block.
        let another_server = self.ledger.is_remote()
            && (tenant.running().is_some() || h.announced.load(Ordering::Acquire) > next_seq);
        if next_seq == 0
            || another_server
            || (settled && h.durable.load(Ordering::Acquire) < next_seq)
        {
            return Err(Declined::WouldBlock);
        }
        let out = op(&mut tenant, &self.env());
        let deferred = self.queue(&h, id, tenant, out, receipts_of);
        drop(turn);
        Ok(deferred)
    }

    /// What an operation decides by: the catalog, the clock's now, the id source.
    fn env(&self) -> Env<'_> {
        Env {
            catalog: &self.catalog,
            now: self.clock.now(),
            ids: &self.ids,
            evidence: &self.ledger,
            // A writer is where a killed writer's action is recorded as interrupted; what
            // it left running on this machine is killed first, and the record says so.
            clean_up: self
                .writes
                .then_some(crate::exec::clean_up_after as fn(&_) -> _),
        }
    }

    /// Queues what an operation on the locked tenant decided for the durability thread,
    /// before the lock is released: that is what keeps each tenant's batches in chain order.
    /// An answer that wrote nothing is given at once only when everything decided before it
    /// is durable; otherwise it waits its turn like a write.
    fn queue<T: Send + 'static>(
        &self,
        h: &Arc<Cell>,
        id: &TenantId,
        tenant: MutexGuard<'_, Tenant>,
        out: T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Deferred<T> {
        let (answer, deferred) = futures::channel::oneshot::channel();
        let wait_for = tenant.head().next_seq;
        let mut queued = true;
        if receipts_of(&out).is_empty() && h.durable.load(Ordering::Acquire) >= wait_for {
            let _ = answer.send(Ok(out));
        } else {
            queued = self.durability.submit(Box::new(Pending {
                tenant: id.clone(),
                cell: Arc::clone(h),
                rebuilds: h.rebuilds.load(Ordering::Relaxed),
                out,
                receipts_of,
                wait_for,
                ledger: Arc::clone(&self.ledger),
                observer: self.observer.clone(),
                answer,
            }));
        }
        drop(tenant);
        if !queued {
            self.durability.drain();
        }
        Deferred(deferred)
    }

    /// Applies an entitlement event given as raw JSON (the marketplace's shape). A malformed
    /// event naming a valid tenant is refused in that tenant's chain; one without a usable
    /// tenant id is [`WorkspaceError::Malformed`].
    pub fn apply_event(&self, raw: &Value) -> Result<EventOutcome, WorkspaceError> {
        let event = entitlement::parse_event(raw);
        let tenant = match &event {
            Ok(e) => e.tenant_id.clone(),
            Err(e) => e.tenant.clone().ok_or_else(|| e.clone())?,
        };
        self.run(
            &tenant,
            |t, env| match &event {
                Ok(e) => t.apply_event(env, e),
                Err(err) => t.refuse_malformed(env, raw, err),
            },
            |o| &o.receipts,
        )
    }

    /// Records a refusal of an event that never reached the resolver (a marketplace
    /// notification that maps to no event), in `tenant`'s chain.
    pub fn refuse_event(
        &self,
        tenant: &TenantId,
        raw: &Value,
        refusal: entitlement::Refusal,
    ) -> Result<EventOutcome, WorkspaceError> {
        self.run(
            tenant,
            move |t, env| t.refuse_raw(env, raw, refusal.clone()),
            |o| &o.receipts,
        )
    }

    /// Runs a tool call through the tenant's governor.
    ///
    /// A call that runs a command is written ahead: its `action_started` receipt is durable
    /// before the program starts, and the program runs with the tenant's operations held
    /// (nothing else is decided until its outcome is sealed) but not the tenant itself, so
    /// reads answer meanwhile from the last decided state. Should this process die while
    /// the program runs, the next writer records the action as interrupted.
    ///
    /// A call that lost a race with another writer of a shared ledger is decided again, as
    /// in [`Workspace::run`].
    pub fn call(&self, tenant: &TenantId, call: &ToolCall) -> Result<CallOutcome, WorkspaceError> {
        self.call_then(tenant, call, |_| {})
    }

    /// [`Workspace::call`], telling `on_started` what was made durable ahead of a command once
    /// it is (the last receipt is its `action_started`), before the program runs: a server
    /// answers there and leaves the outcome to the receipt stream. Not told when the call is
    /// decided without running a command. A call that lost a race with another writer of a
    /// shared ledger is decided again; `on_started` is told at most once, when a start was
    /// durable (a lost race is found before anything is).
    pub fn call_then(
        &self,
        tenant: &TenantId,
        call: &ToolCall,
        on_started: impl FnOnce(&[Receipt]),
    ) -> Result<CallOutcome, WorkspaceError> {
        let mut on_started = Some(on_started);
        retry_lost_races(|| {
            self.call_once(tenant, call, |ahead| {
                if let Some(tell) = on_started.take() {
                    tell(ahead);
                }
            })
        })
    }

    fn call_once(
        &self,
        tenant: &TenantId,
        call: &ToolCall,
        on_started: impl FnOnce(&[Receipt]),
    ) -> Result<CallOutcome, WorkspaceError> {
        let h = self.handle(tenant)?;
        // On a shared ledger a command's run is claimed before anything is decided, so the
        // other servers wait for it instead of taking its start for a run left behind.
        let claim = if self.handler_is(call, |h| matches!(h, Handler::Command(_))) {
            self.ledger.claim_run(tenant)?
        } else {
            None
        };
        let turn = h.op.take();
        shared::catch_up(&h, self.ledger.as_ref(), self.observer.as_deref(), tenant);
        self.settle_foreign_run(&h, tenant, claim.is_some())?;
        if self.handler_is(call, |h| matches!(h, Handler::Builtin(_))) {
            // A built-in reads the ledger: everything decided before it must be stored first.
            // Holding the tenant's operations, nothing new is decided meanwhile.
            let t = lock(&h.tenant);
            let settled = self.queue(&h, tenant, t, Vec::new(), Vec::as_slice);
            futures::executor::block_on(settled.durable())?;
        }
        let mut t = lock(&h.tenant);
        let started = match t.begin_call(&self.env(), call) {
            Begun::Decided(outcome) => {
                let deferred = self.queue(&h, tenant, t, outcome, |o| &o.receipts);
                drop(turn);
                return futures::executor::block_on(deferred.durable());
            }
            Begun::Started(started) => started,
        };
        let ahead = self.queue(&h, tenant, t, started.receipts.clone(), Vec::as_slice);
        // Not durable: the program never runs (a failed write has rebuilt the tenant).
        let ahead = futures::executor::block_on(ahead.durable())?;
        on_started(&ahead);
        let run = started.run();
        let mut t = lock(&h.tenant);
        let outcome = t.finish_call(&self.env(), started, run);
        let deferred = self.queue(&h, tenant, t, outcome, |o| &o.receipts);
        drop(turn);
        let outcome = futures::executor::block_on(deferred.durable());
        // Released once the outcome is committed (or known not to be).
        drop(claim);
        outcome.map_err(|e| match e {
            // The program ran: deciding the call again would run it twice. Its start stays
            // without an outcome, which the next operation records as interrupted.
            WorkspaceError::Ledger(LedgerError::Discontinuous { .. }) => {
                WorkspaceError::Ledger(LedgerError::Database {
                    action: "record the outcome of a command that ran",
                    detail: e.to_string(),
                })
            }
            e => e,
        })
    }

    /// On a shared ledger, a started action this server is not running (it would hold the
    /// tenant's turn meanwhile) is another server's: waits until that server is done with
    /// it, unless `claimed` (this server holds the run now), then catches up with what it
    /// recorded. One still running after that was left by a server that is gone, and the
    /// operation that follows records it as interrupted.
    fn settle_foreign_run(
        &self,
        h: &Cell,
        id: &TenantId,
        claimed: bool,
    ) -> Result<(), WorkspaceError> {
        if !self.ledger.is_remote() || lock(&h.tenant).running().is_none() {
            return Ok(());
        }
        if !claimed {
            self.ledger.await_run(id)?;
        }
        let mut t = lock(&h.tenant);
        let stored = h.rebuild(self.ledger.as_ref(), id, &mut t)?;
        drop(t);
        if let Some(observer) = &self.observer {
            lock(&h.announcer).catch_up(observer.as_ref(), id, &stored);
        }
        Ok(())
    }

    /// [`Workspace::call`] through [`Workspace::try_run`], declined also when the tool runs
    /// an external command, which takes as long as the command does, or a built-in while
    /// the ledger does not yet hold everything decided before it.
    pub fn try_call(
        &self,
        tenant: &TenantId,
        call: &ToolCall,
    ) -> Result<Deferred<CallOutcome>, Declined> {
        // A command takes as long as it runs; a built-in reads the ledger, so it runs here
        // only when the ledger already holds everything decided before it.
        if self.handler_is(call, |h| matches!(h, Handler::Command(_))) {
            return Err(Declined::WouldBlock);
        }
        let settled = self.handler_is(call, |h| matches!(h, Handler::Builtin(_)));
        // A database is read over the network: not from a caller that must not block.
        if settled && self.ledger.is_remote() {
            return Err(Declined::WouldBlock);
        }
        self.try_run_when(tenant, settled, |t, env| t.call(env, call), |o| &o.receipts)
    }

    /// Whether the called tool exists and its handler passes `test`.
    fn handler_is(&self, call: &ToolCall, test: impl Fn(&Handler) -> bool) -> bool {
        self.catalog
            .tool(&call.tool)
            .is_some_and(|t| test(&t.tool.handler))
    }

    /// Resolves once `id`'s turn is next released after this call (at once for a tenant not
    /// loaded): taken before [`Workspace::try_call`], awaited when that declines as
    /// [`Declined::Busy`], so a release in between is not missed.
    pub fn turn_released(&self, id: &TenantId) -> TurnReleased {
        let turns = lock(&self.tenants).get(id).map(|h| Arc::clone(&h.op));
        let seen = turns.as_ref().map_or(0, |t| t.releases());
        TurnReleased::new(turns, seen)
    }

    /// Sends a signal to the tenant's governor.
    pub fn signal(
        &self,
        tenant: &TenantId,
        signal: &Signal,
    ) -> Result<SignalOutcome, WorkspaceError> {
        self.run(tenant, |t, env| t.signal(env, signal), |o| &o.receipts)
    }

    /// Reports the end of the tenant's in-flight action (`action`, when named).
    pub fn resolve_action(
        &self,
        tenant: &TenantId,
        resolution: Resolution,
        action: Option<&ActionRunId>,
        detail: Option<&str>,
    ) -> Result<Vec<Receipt>, WorkspaceError> {
        let resolved = self.run(
            tenant,
            |t, env| t.resolve_action(env, resolution, action, detail),
            |o| o.as_deref().unwrap_or(&[]),
        )?;
        Ok(resolved?)
    }

    /// Clears a critical Andon of the tenant: the packs it stopped run again.
    pub fn clear_andon(
        &self,
        tenant: &TenantId,
        signal: &SignalName,
        ack: &Acknowledgement,
    ) -> Result<Vec<Receipt>, WorkspaceError> {
        let cleared = self.run(
            tenant,
            |t, env| t.clear_andon(env, signal, ack),
            |o| o.as_deref().unwrap_or(&[]),
        )?;
        Ok(cleared?)
    }

    /// Sets (or, with `None`, clears) the tenant's IAM policy.
    pub fn set_iam_policy(
        &self,
        tenant: &TenantId,
        policy: Option<IamPolicy>,
    ) -> Result<Vec<Receipt>, WorkspaceError> {
        self.run(
            tenant,
            |t, env| t.set_iam_policy(env, policy.clone()),
            |o| o.as_slice(),
        )
    }

    /// The tenant's governor record (counters and times), as decided so far.
    pub fn record(&self, id: &TenantId) -> Result<GovernorRecord, WorkspaceError> {
        let h = self.handle(id)?;
        let record = *lock(&h.tenant).record();
        Ok(record)
    }

    /// A view of the tenant at the clock's now. Reading writes nothing: an expiry the
    /// governor has not yet recorded shows in the entitlement's standing.
    pub fn view(&self, tenant: &TenantId) -> Result<TenantView, WorkspaceError> {
        let t = self.tenant(tenant)?;
        Ok(TenantView::of(&t, self.clock.now()))
    }
}

/// How many times an operation that lost a race for a tenant's chain is decided again.
/// Under heavy contention (every tenant written through several servers at once) a few
/// losses in a row are ordinary; with the backoff below, this many in a row is not.
pub const LOST_RACE_RETRIES: usize = 32;

/// Runs `attempt` again while it fails only because another writer continued the tenant's
/// chain first (the tenant has been rebuilt from the ledger by then). After the first loss
/// each retry waits a random moment of up to 2^n ms (at most 64): the servers racing for a
/// chain then stop meeting in the same commit.
fn retry_lost_races<T>(
    mut attempt: impl FnMut() -> Result<T, WorkspaceError>,
) -> Result<T, WorkspaceError> {
    let mut tries = 0;
    loop {
        match attempt() {
            Err(e) if e.lost_race() && tries < LOST_RACE_RETRIES => {
                if tries > 0 {
                    std::thread::sleep(backoff(tries));
                }
                tries += 1;
            }
            done => return done,
        }
    }
}

/// A random wait below 2^`tries` ms, capped at 64 ms. The clock's nanoseconds are random
/// enough to keep two servers from waiting alike; nothing recorded depends on it.
fn backoff(tries: usize) -> std::time::Duration {
    let ceiling_us = 1000u64 << tries.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    std::time::Duration::from_micros(nanos % ceiling_us)
}

impl WorkspaceError {
    /// Whether the ledger refused the receipts because another writer had continued the
    /// tenant's chain first: deciding again on the rebuilt tenant may succeed.
    pub fn lost_race(&self) -> bool {
        matches!(
            self,
            WorkspaceError::Ledger(LedgerError::Discontinuous { .. })
        )
    }
}

/// Attaches `path` to an I/O error.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> WorkspaceError + Copy + '_ {
    move |source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
