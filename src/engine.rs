//! The engine held in memory: a catalog, a clock, an id source, every tenant's governor and
//! the receipts each has written, kept in memory rather than in a ledger.
//!
//! Scenarios, `tai simulate`, tests and benchmarks run on [`MemoryEngine`]. The workspace is
//! the same engine over durable ledgers: it drives each [`Tenant`] itself, with an [`Env`]
//! built from the same parts, so that it can lock tenants one at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::entitlement::{EntitlementEvent, MalformedEvent, parse_event};
use crate::governor::{
    Acknowledgement, CallOutcome, Env, EventOutcome, IdSource, NoSuchAndon, Resolution, Signal,
    SignalOutcome, Tenant, ToolCall, Unresolvable,
};
use crate::iam::IamPolicy;
use crate::ids::{ActionRunId, SignalName, TenantId};
use crate::receipts::{InMemory, Receipt};

/// Every tenant's governor over one catalog, with the receipts each has written.
#[derive(Debug)]
pub struct MemoryEngine {
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    ids: IdSource,
    tenants: BTreeMap<TenantId, Tenant>,
    receipts: BTreeMap<TenantId, Vec<Receipt>>,
}

impl MemoryEngine {
    /// An engine with no tenants yet.
    pub fn new(catalog: Arc<Catalog>, clock: Arc<dyn Clock>, ids: IdSource) -> Self {
        MemoryEngine {
            catalog,
            clock,
            ids,
            tenants: BTreeMap::new(),
            receipts: BTreeMap::new(),
        }
    }

    /// The catalog in force.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The engine's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Adds a tenant rebuilt elsewhere (e.g. replayed from a ledger) with its receipts.
    pub fn insert(&mut self, tenant: Tenant, receipts: Vec<Receipt>) {
        self.receipts.insert(tenant.id().clone(), receipts);
        self.tenants.insert(tenant.id().clone(), tenant);
    }

    /// A tenant, if it has been seen.
    pub fn tenant(&self, id: &TenantId) -> Option<&Tenant> {
        self.tenants.get(id)
    }

    /// Every tenant, by id.
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    /// A tenant's receipts, oldest first.
    pub fn receipts(&self, id: &TenantId) -> &[Receipt] {
        self.receipts.get(id).map_or(&[], Vec::as_slice)
    }

    /// Runs `f` on the tenant (created in `boot` on first use) and records its receipts.
    fn with_tenant<T>(
        &mut self,
        id: &TenantId,
        f: impl FnOnce(&mut Tenant, &Env<'_>) -> T,
        receipts_of: impl Fn(&T) -> &[Receipt],
    ) -> T {
        let evidence = InMemory(&self.receipts);
        let env = Env {
            catalog: &self.catalog,
            now: self.clock.now(),
            ids: &self.ids,
            evidence: &evidence,
            clean_up: None,
        };
        let tenant = self
            .tenants
            .entry(id.clone())
            .or_insert_with(|| Tenant::new(id.clone()));
        let out = f(tenant, &env);
        self.record(id, receipts_of(&out));
        out
    }

    fn record(&mut self, id: &TenantId, receipts: &[Receipt]) {
        if receipts.is_empty() {
            return;
        }
        match self.receipts.get_mut(id) {
            Some(log) => log.extend_from_slice(receipts),
            None => {
                self.receipts.insert(id.clone(), receipts.to_vec());
            }
        }
    }

    /// Applies an entitlement event to its tenant.
    pub fn apply_event(&mut self, event: &EntitlementEvent) -> EventOutcome {
        self.with_tenant(
            &event.tenant_id,
            |t, env| t.apply_event(env, event),
            |o| &o.receipts,
        )
    }

    /// Applies an event given as raw JSON. A malformed event naming a valid tenant is refused
    /// in that tenant's chain; one without a usable tenant id is returned as an error.
    pub fn apply_event_json(&mut self, raw: &Value) -> Result<EventOutcome, MalformedEvent> {
        match parse_event(raw) {
            Ok(event) => Ok(self.apply_event(&event)),
            Err(err) => match err.tenant.clone() {
                Some(tenant) => Ok(self.with_tenant(
                    &tenant,
                    |t, env| t.refuse_malformed(env, raw, &err),
                    |o| &o.receipts,
                )),
                None => Err(err),
            },
        }
    }

    /// Runs a tool call for a tenant.
    pub fn call(&mut self, tenant: &TenantId, call: &ToolCall) -> CallOutcome {
        // What a command wrote ahead of running comes first in the chain, then the outcome.
        let out = self.with_tenant(tenant, |t, env| t.call(env, call), |o| &o.started);
        self.record(tenant, &out.receipts);
        out
    }

    /// Sends a signal to a tenant.
    pub fn signal(&mut self, tenant: &TenantId, signal: &Signal) -> SignalOutcome {
        self.with_tenant(tenant, |t, env| t.signal(env, signal), |o| &o.receipts)
    }

    /// Reports the end of a tenant's in-flight action (`action`, when named).
    pub fn resolve_action(
        &mut self,
        tenant: &TenantId,
        resolution: Resolution,
        action: Option<&ActionRunId>,
        detail: Option<&str>,
    ) -> Result<Vec<Receipt>, Unresolvable> {
        self.with_tenant(
            tenant,
            |t, env| t.resolve_action(env, resolution, action, detail),
            |o| o.as_deref().unwrap_or(&[]),
        )
    }

    /// Clears a critical Andon of a tenant: the packs it stopped run again.
    pub fn clear_andon(
        &mut self,
        tenant: &TenantId,
        signal: &SignalName,
        ack: &Acknowledgement,
    ) -> Result<Vec<Receipt>, NoSuchAndon> {
        self.with_tenant(
            tenant,
            |t, env| t.clear_andon(env, signal, ack),
            |o| o.as_deref().unwrap_or(&[]),
        )
    }

    /// Sets (or, with `None`, clears) a tenant's IAM policy.
    pub fn set_iam_policy(&mut self, tenant: &TenantId, policy: Option<IamPolicy>) -> Vec<Receipt> {
        self.with_tenant(
            tenant,
            |t, env| t.set_iam_policy(env, policy),
            |o| o.as_slice(),
        )
    }

    /// Lets time act on every tenant (expiries) and returns the receipts written.
    pub fn tick(&mut self) -> Vec<Receipt> {
        let ids: Vec<TenantId> = self.tenants.keys().cloned().collect();
        ids.iter()
            .flat_map(|id| self.with_tenant(id, |t, env| t.tick(env), |o| o.as_slice()))
            .collect()
    }
}
