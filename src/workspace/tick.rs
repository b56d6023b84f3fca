//! Time acting on tenants nobody is calling: under the real clock, `tai serve` ticks the
//! tenants whose in-flight action is due a poll (or its deadline), so an action that
//! resolves itself does so while no request comes in.

use std::sync::Arc;

use super::{Workspace, WorkspaceError};
use crate::ids::TenantId;
use crate::sync::lock;

impl Workspace {
    /// Loads every tenant with a ledger, so that the ticker sees the actions in flight that
    /// a previous server left (a tenant is otherwise loaded by its first request).
    pub fn load_all(&self) -> Result<(), WorkspaceError> {
        for id in self.tenant_ids()? {
            self.handle(&id)?;
        }
        Ok(())
    }

    /// Ticks each loaded tenant whose in-flight action is due a poll or has passed its
    /// deadline; returns the tenants ticked. Tenants whose operations are held are left to
    /// their next operation, which ticks first anyway.
    pub fn tick_due(&self) -> Result<Vec<TenantId>, WorkspaceError> {
        let now = self.clock.now();
        let loaded: Vec<(TenantId, Arc<super::Cell>)> = lock(&self.tenants)
            .iter()
            .map(|(id, cell)| (id.clone(), Arc::clone(cell)))
            .collect();
        let mut ticked = Vec::new();
        for (id, cell) in loaded {
            let due = lock(&cell.tenant)
                .next_poll_at()
                .is_some_and(|at| at <= now);
            if due {
                self.run_on(&cell, &id, |t, env| t.tick(env), Vec::as_slice)?;
                ticked.push(id);
            }
        }
        Ok(ticked)
    }
}
