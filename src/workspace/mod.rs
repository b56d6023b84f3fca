//! A persistent workspace: tenants rebuilt from their ledgers, operated on one at a time, and
//! every receipt made durable before the caller sees the answer.
//!
//! The CLI opens a workspace per invocation; `tai serve` keeps one open and shares it across
//! requests. Each tenant sits behind its own lock, so calls for one tenant are serialized
//! through its governor while different tenants proceed in parallel. Deciding happens under
//! that lock; storing does not: sealed batches go to the durability thread (`flusher`),
//! which writes them in decision order, flushes, and answers each caller.

mod flusher;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::clock::{Clock, Timestamp};
use crate::entitlement::{self, MalformedEvent, Standing, Status};
use crate::governor::{
    CallOutcome, Env, EventOutcome, GovernorState, IdSource, InFlight, NothingInFlight,
    ReplayError, Resolution, Signal, SignalOutcome, Tenant, ToolCall,
};
use crate::ids::{PackId, PlanId, Role, SkuId, TenantId, ToolName};
use crate::receipts::Receipt;
use crate::receipts::ledger::{FileLedger, Ledger, LedgerError};

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
    /// An action resolution arrived while nothing was in flight.
    #[error(transparent)]
    NothingInFlight(#[from] NothingInFlight),
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
}

/// One tenant in memory: its governor, and what has been announced of its receipts.
#[derive(Debug)]
struct Cell {
    tenant: Mutex<Tenant>,
    /// How many times the tenant was rebuilt from its ledger after a failed write or sync.
    /// Read and changed only under the `tenant` lock.
    rebuilds: AtomicU64,
    announcer: Mutex<Announcer>,
}

/// Puts announcements back in chain order: batches are flushed together but their callers
/// return in any order. Whoever brings the batch that comes next announces it, and every
/// waiting batch that follows it; nobody waits for anybody.
#[derive(Debug)]
struct Announcer {
    /// The seq of the next receipt to announce.
    next: u64,
    /// Durable batches that arrived before the ones they follow, by first seq.
    early: BTreeMap<u64, Vec<Receipt>>,
}

impl Announcer {
    fn announce(&mut self, observer: &dyn ReceiptObserver, id: &TenantId, batch: &[Receipt]) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        if first.seq < self.next {
            // The tenant was rebuilt after a failed flush and its chain continues from what
            // is durable: pick up from there.
            self.next = first.seq;
            self.early.clear();
        }
        if first.seq != self.next {
            self.early.insert(first.seq, batch.to_vec());
            return;
        }
        observer.appended(id, batch);
        self.next = last.seq + 1;
        self.release(observer, id);
    }

    /// Skips receipts that will never be announced (their flush failed).
    fn skip_to(&mut self, observer: &dyn ReceiptObserver, id: &TenantId, next: u64) {
        self.next = self.next.max(next);
        self.early.retain(|&seq, _| seq >= next);
        self.release(observer, id);
    }

    fn release(&mut self, observer: &dyn ReceiptObserver, id: &TenantId) {
        while let Some(batch) = self.early.remove(&self.next) {
            observer.appended(id, &batch);
            self.next += batch.len() as u64;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Tenants over a durable ledger.
#[derive(Debug)]
pub struct Workspace {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    ids: IdSource,
    ledger: Arc<dyn Ledger>,
    tenants: Mutex<HashMap<TenantId, Arc<Cell>>>,
    observer: Option<Arc<dyn ReceiptObserver>>,
    flusher: flusher::Flusher,
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
        let ids = IdSource::seeded(load_or_create_seed(state_dir)?);
        let ledger = Arc::new(FileLedger::open(state_dir)?);
        Ok(Workspace::with_ledger(catalog, clock, ids, ledger))
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
            flusher: flusher::Flusher::new(Arc::clone(&ledger)),
            ledger,
            tenants: Mutex::new(HashMap::new()),
            observer: None,
        }
    }

    /// Reports every durable batch of receipts to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn ReceiptObserver>) -> Workspace {
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
        Ok(self.ledger.head(id)?.next_seq > 0)
    }

    fn handle(&self, id: &TenantId) -> Result<Arc<Cell>, WorkspaceError> {
        if let Some(h) = lock(&self.tenants).get(id) {
            return Ok(h.clone());
        }
        // Loaded without holding the map, so other tenants are not held up by this one's
        // disk reads. Two threads may both load a tenant that is not there yet; the first to
        // insert wins, and nothing was written to a tenant before its cell existed.
        let receipts = self.ledger.read(id)?;
        let tenant = Tenant::replay(id.clone(), &receipts)?;
        let loaded = Arc::new(Cell {
            announcer: Mutex::new(Announcer {
                next: tenant.head().next_seq,
                early: BTreeMap::new(),
            }),
            tenant: Mutex::new(tenant),
            rebuilds: AtomicU64::new(0),
        });
        Ok(Arc::clone(
            lock(&self.tenants).entry(id.clone()).or_insert(loaded),
        ))
    }

    /// A snapshot of a tenant (a fresh `boot` tenant when it has no ledger).
    pub fn tenant(&self, id: &TenantId) -> Result<Tenant, WorkspaceError> {
        let h = self.handle(id)?;
        let t = lock(&h.tenant).clone();
        Ok(t)
    }

    /// Runs `op` on the tenant under its lock and returns once the receipts it wrote are
    /// durable. The lock is released as soon as the receipts are sealed and queued, so the
    /// tenant's next operation is decided while this one's receipts reach the disk, and
    /// concurrent operations share one flush (the ledger's group commit); each caller still
    /// hears back only once its own receipts are durable. If writing or flushing fails the
    /// tenant is rebuilt from the ledger, so memory never stays ahead of what is on disk.
    pub fn run<T: Send + 'static>(
        &self,
        id: &TenantId,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Result<T, WorkspaceError> {
        let h = self.handle(id)?;
        let tenant = lock(&h.tenant);
        let deferred = self.decide(&h, id, tenant, op, receipts_of);
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
        let h = lock(&self.tenants)
            .get(id)
            .cloned()
            .ok_or(Declined::WouldBlock)?;
        let tenant = match h.tenant.try_lock() {
            Ok(tenant) => tenant,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(Declined::Busy),
        };
        if tenant.head().next_seq == 0 {
            return Err(Declined::WouldBlock);
        }
        Ok(self.decide(&h, id, tenant, op, receipts_of))
    }

    /// Runs `op` on the locked tenant and queues its receipts for the durability thread,
    /// before the lock is released: that is what keeps each tenant's batches in chain order.
    fn decide<T: Send + 'static>(
        &self,
        h: &Arc<Cell>,
        id: &TenantId,
        mut tenant: MutexGuard<'_, Tenant>,
        op: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: fn(&T) -> &[Receipt],
    ) -> Deferred<T> {
        let (answer, deferred) = futures::channel::oneshot::channel();
        let env = Env {
            catalog: &self.catalog,
            now: self.clock.now(),
            ids: &self.ids,
        };
        let out = op(&mut tenant, &env);
        let mut queued = true;
        if receipts_of(&out).is_empty() {
            let _ = answer.send(Ok(out));
        } else {
            queued = self.flusher.submit(Box::new(Pending {
                tenant: id.clone(),
                cell: Arc::clone(h),
                rebuilds: h.rebuilds.load(Ordering::Relaxed),
                out,
                receipts_of,
                ledger: Arc::clone(&self.ledger),
                observer: self.observer.clone(),
                answer,
            }));
        }
        drop(tenant);
        if !queued {
            self.flusher.drain();
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

    /// Runs a tool call through the tenant's governor.
    pub fn call(&self, tenant: &TenantId, call: &ToolCall) -> Result<CallOutcome, WorkspaceError> {
        self.run(tenant, |t, env| t.call(env, call), |o| &o.receipts)
    }

    /// [`Workspace::call`] through [`Workspace::try_run`], declined also when the tool runs
    /// an external command, which takes as long as the command does.
    pub fn try_call(
        &self,
        tenant: &TenantId,
        call: &ToolCall,
    ) -> Result<Deferred<CallOutcome>, Declined> {
        let runs_command = self
            .catalog
            .tool(&call.tool)
            .is_some_and(|t| matches!(t.tool.handler, crate::catalog::Handler::Command(_)));
        if runs_command {
            return Err(Declined::WouldBlock);
        }
        self.try_run(tenant, |t, env| t.call(env, call), |o| &o.receipts)
    }

    /// Sends a signal to the tenant's governor.
    pub fn signal(
        &self,
        tenant: &TenantId,
        signal: &Signal,
    ) -> Result<SignalOutcome, WorkspaceError> {
        self.run(tenant, |t, env| t.signal(env, signal), |o| &o.receipts)
    }

    /// Reports the end of the tenant's in-flight action.
    pub fn resolve_action(
        &self,
        tenant: &TenantId,
        resolution: Resolution,
        detail: Option<&str>,
    ) -> Result<Vec<Receipt>, WorkspaceError> {
        let resolved = self.run(
            tenant,
            |t, env| t.resolve_action(env, resolution, detail),
            |o| o.as_deref().unwrap_or(&[]),
        )?;
        Ok(resolved?)
    }

    /// A view of the tenant at the clock's now. Reading writes nothing: an expiry the
    /// governor has not yet recorded shows in the entitlement's standing.
    pub fn view(&self, tenant: &TenantId) -> Result<TenantView, WorkspaceError> {
        let t = self.tenant(tenant)?;
        Ok(TenantView::of(&t, self.clock.now()))
    }
}

/// An operation decided and queued: what the durability thread needs to store its receipts
/// and then answer its caller.
struct Pending<T> {
    tenant: TenantId,
    cell: Arc<Cell>,
    /// The cell's rebuild count when this was decided.
    rebuilds: u64,
    out: T,
    receipts_of: fn(&T) -> &[Receipt],
    ledger: Arc<dyn Ledger>,
    observer: Option<Arc<dyn ReceiptObserver>>,
    answer: futures::channel::oneshot::Sender<Result<T, WorkspaceError>>,
}

impl<T: Send> flusher::Job for Pending<T> {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn receipts(&self) -> &[Receipt] {
        (self.receipts_of)(&self.out)
    }

    fn finish(self: Box<Self>, stored: Result<(), LedgerError>) {
        let p = *self;
        let receipts = (p.receipts_of)(&p.out);
        let answer = match stored {
            Ok(()) => {
                if let Some(observer) = &p.observer {
                    lock(&p.cell.announcer).announce(observer.as_ref(), &p.tenant, receipts);
                }
                Ok(p.out)
            }
            Err(e) => {
                let mut tenant = lock(&p.cell.tenant);
                // Memory holds these receipts only if no rebuild has happened since they
                // were decided; after one, it may hold later, sound decisions instead, which
                // must not be thrown away.
                let err = if p.cell.rebuilds.load(Ordering::Relaxed) == p.rebuilds {
                    let rebuilt = rebuild(p.ledger.as_ref(), &p.tenant, &mut tenant);
                    if rebuilt.is_ok() {
                        p.cell.rebuilds.fetch_add(1, Ordering::Relaxed);
                    }
                    rebuilt.err().unwrap_or(e.into())
                } else {
                    e.into()
                };
                drop(tenant);
                // What was lost will never be announced; later batches must not wait on it.
                if let (Some(observer), Some(last)) = (&p.observer, receipts.last()) {
                    lock(&p.cell.announcer).skip_to(observer.as_ref(), &p.tenant, last.seq + 1);
                }
                Err(err)
            }
        };
        // The caller may have gone away; what was stored stays stored all the same.
        let _ = p.answer.send(answer);
    }
}

/// Replaces the in-memory tenant with what its ledger holds.
fn rebuild(ledger: &dyn Ledger, id: &TenantId, tenant: &mut Tenant) -> Result<(), WorkspaceError> {
    let stored = ledger.read(id)?;
    *tenant = Tenant::replay(id.clone(), &stored)?;
    Ok(())
}

/// What a tenant looks like from outside: `tai state --format json` and the server's
/// tenant resource.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TenantView {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its governor state.
    pub state: GovernorState,
    /// Its entitlement, if it ever had one.
    pub entitlement: Option<EntitlementView>,
    /// The tools it can see.
    pub tools: BTreeSet<ToolName>,
    /// Facts recorded by signals.
    pub facts: Map<String, Value>,
    /// The action an intervening governor waits on.
    pub in_flight: Option<InFlight>,
    /// How many receipts its chain holds.
    pub receipts: u64,
    /// The hash of its newest receipt.
    pub head_hash: String,
}

/// A tenant's entitlement and its standing at the time of the view.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EntitlementView {
    /// The SKU.
    pub sku_id: SkuId,
    /// The plan.
    pub plan_id: PlanId,
    /// Active, suspended, expired or cancelled, at the view's time.
    pub standing: Standing,
    /// The lifecycle status (expiry aside).
    pub status: Status,
    /// When it ends.
    pub expiry: Timestamp,
    /// Packs enabled.
    pub enabled_packs: BTreeSet<PackId>,
    /// Roles granted.
    pub iam_roles: BTreeSet<Role>,
}

impl TenantView {
    /// The view of `t` at `now`.
    pub fn of(t: &Tenant, now: Timestamp) -> TenantView {
        TenantView {
            tenant_id: t.id().clone(),
            state: t.state(),
            entitlement: t.entitlement().map(|e| EntitlementView {
                sku_id: e.sku_id.clone(),
                plan_id: e.plan_id.clone(),
                standing: e.standing(now),
                status: e.status,
                expiry: e.expiry,
                enabled_packs: e.enabled_packs.clone(),
                iam_roles: e.iam_roles.clone(),
            }),
            tools: t.tools().clone(),
            facts: t.facts().clone(),
            in_flight: t.in_flight().cloned(),
            receipts: t.head().next_seq,
            head_hash: t.head().hash.clone(),
        }
    }
}

/// A server's claim on its state directory, held for as long as the value lives.
///
/// Each tenant's ledger is already locked by whoever writes it; this lock makes a second
/// `tai serve` on the same directory fail at start with a clear message, rather than start
/// and then answer every request for a busy tenant with an error.
#[derive(Debug)]
pub struct ServerLock {
    _file: std::fs::File,
}

impl ServerLock {
    /// Claims `state_dir` (creating it if needed) for this process.
    pub fn acquire(state_dir: &Path) -> Result<ServerLock, WorkspaceError> {
        let io = io_error(state_dir);
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let path = state_dir.join("server.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if !try_lock(&file).map_err(io)? {
            let pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            return Err(WorkspaceError::Served {
                path: state_dir.to_path_buf(),
                pid,
            });
        }
        use std::io::Write;
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(ServerLock { _file: file })
    }
}

/// Takes an exclusive lock without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// The id seed is chosen once per state directory, so receipt ids differ between workspaces
/// but stay stable within one.
fn load_or_create_seed(dir: &Path) -> Result<u64, WorkspaceError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let path = dir.join("seed");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(seed) = text.trim().parse()
    {
        return Ok(seed);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    #[allow(clippy::cast_possible_truncation)]
    let seed = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    std::fs::write(&path, format!("{seed}\n")).map_err(io_error(&path))?;
    Ok(seed)
}

/// Attaches `path` to an I/O error.
fn io_error(path: &Path) -> impl Fn(std::io::Error) -> WorkspaceError + Copy + '_ {
    move |source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{builtin, load};
    use crate::clock::SimClock;
    use crate::receipts::MemoryLedger;

    fn workspace(catalog: Catalog) -> Workspace {
        Workspace::with_ledger(
            Arc::new(catalog),
            Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
            IdSource::seeded(1),
            Arc::new(MemoryLedger::new()),
        )
    }

    fn purchase(ws: &Workspace, tenant: &str) -> TenantId {
        let out = ws
            .apply_event(&json!({
                "event_type": "entitlement.activated", "tenant_id": tenant,
                "sku_id": "rollback-guard-base",
            }))
            .unwrap();
        assert!(out.accepted);
        TenantId::new(tenant).unwrap()
    }

    /// A call of a tool the tenant sees.
    fn some_call(ws: &Workspace, tenant: &TenantId) -> ToolCall {
        ToolCall {
            tool: ws
                .tenant(tenant)
                .unwrap()
                .tools()
                .iter()
                .next()
                .unwrap()
                .to_string(),
            ..ToolCall::default()
        }
    }

    /// A ledger whose writes or syncs fail on demand.
    #[derive(Debug, Default)]
    struct Flaky {
        inner: MemoryLedger,
        fail_writes: std::sync::atomic::AtomicBool,
        fail_syncs: std::sync::atomic::AtomicBool,
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
        let ws = Workspace::with_ledger(
            Arc::new(load::build(&builtin::sources()).unwrap()),
            Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
            IdSource::seeded(1),
            ledger.clone(),
        )
        .with_observer(heard.clone());
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
        /// ledger's chain verifies, and memory never runs ahead of it.
        #[test]
        fn no_acknowledged_receipt_is_lost_whatever_fails(
            steps in proptest::collection::vec((0..3u8, proptest::bool::ANY, proptest::bool::ANY), 1..40)
        ) {
            use std::sync::atomic::Ordering::SeqCst;
            let ledger = Arc::new(Flaky::default());
            let ws = Workspace::with_ledger(
                Arc::new(load::build(&builtin::sources()).unwrap()),
                Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap())),
                IdSource::seeded(1),
                ledger.clone(),
            );
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
                let in_memory = ws.tenant(&acme).unwrap().head().clone();
                proptest::prop_assert_eq!(in_memory, ledger.head(&acme).unwrap());
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
        let ws = workspace(Catalog::new(packs, base.skus().to_vec()));
        let acme = purchase(&ws, "acme");
        assert_eq!(declined(&ws, &acme), Some(Declined::WouldBlock));
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
            ws.resolve_action(&acme, Resolution::Complete, None),
            Err(WorkspaceError::NothingInFlight(_))
        ));
        // The next operation continues the chain on disk.
        ws.signal(&acme, &Signal::default()).unwrap();
        assert_eq!(
            ws.tenant(&acme).unwrap().head(),
            &ws.ledger().head(&acme).unwrap()
        );
    }
}
