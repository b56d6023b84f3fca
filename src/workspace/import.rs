//! Marketplace notifications applied to tenants: `marketplace` reads and maps each one, and
//! the workspace applies the event or records why there is none. `tai event import` and
//! `POST /v1/marketplace/{marketplace}` both come here.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Workspace, WorkspaceError};
use crate::entitlement::Refusal;
use crate::governor::EventOutcome;
use crate::ids::TenantId;
use crate::marketplace::{
    self, Context, Mapped, MappedOutcome, Marketplace, NotificationError, Resources, Unmappable,
    UnmappableReason,
};
use crate::vocab::ReasonCode;

/// What became of a notification that was read and mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Mapped and accepted (or acknowledged as changing nothing).
    Accepted,
    /// Mapped, and refused by the lifecycle (recorded in the tenant's chain).
    Refused,
    /// Read, but it maps to no event (recorded in the tenant's chain).
    Unmappable,
}

/// A notification applied: what it mapped to and what the tenant's governor recorded.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Imported {
    /// Accepted, refused or unmappable.
    pub status: ImportStatus,
    /// Who it is about and the event it maps to (or why none).
    #[serde(flatten)]
    pub mapped: Mapped,
    /// The tenant's outcome, receipts included.
    pub outcome: EventOutcome,
}

impl Imported {
    /// The recorded refusal, when the notification was not accepted.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.outcome.refusal.as_ref()
    }
}

/// Why a notification was not applied and nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not in the marketplace's shape, or its marketplace records are missing.
    #[error(transparent)]
    Notification(#[from] NotificationError),
    /// The tenant's ledger could not be read or written.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The mapped event could not be encoded for the ledger (never silently dropped).
    #[error("cannot encode the mapped event: {0}")]
    Encode(serde_json::Error),
}

impl Workspace {
    /// What [`Workspace::import`] maps through: this workspace's catalog listings, indexed
    /// once for as many notifications as the caller has, and `resources`.
    pub fn marketplace_context<'a>(&'a self, resources: &'a dyn Resources) -> Context<'a> {
        Context::new(self.catalog(), resources)
    }

    /// Records, in `tenant`'s chain, a marketplace notification accepted as changing
    /// nothing (its marketplace's record contradicts it), with `note` saying why.
    fn acknowledge_event(
        &self,
        tenant: &TenantId,
        raw: &Value,
        note: String,
    ) -> Result<EventOutcome, WorkspaceError> {
        self.run(
            tenant,
            move |t, env| t.acknowledge_raw(env, raw, note.clone()),
            |o| &o.receipts,
        )
    }

    /// Reads `raw` as a notification from `marketplace`, maps it through `ctx` (from
    /// [`Workspace::marketplace_context`]), and applies the event it maps to. One that maps
    /// to no event is recorded as a refusal in its tenant's chain, never dropped.
    pub fn import(
        &self,
        marketplace: Marketplace,
        raw: &Value,
        ctx: &Context<'_>,
    ) -> Result<Imported, ImportError> {
        let mapped = marketplace::map(marketplace, raw, ctx)?;
        let (status, outcome) = match &mapped.outcome {
            MappedOutcome::Event(event) => {
                let value = serde_json::to_value(event).map_err(ImportError::Encode)?;
                let outcome = self.apply_event(&value)?;
                let status = if outcome.accepted {
                    ImportStatus::Accepted
                } else {
                    ImportStatus::Refused
                };
                (status, outcome)
            }
            MappedOutcome::Unmappable(u) => {
                let outcome = self.refuse_event(&mapped.tenant_id, &record(&mapped), refusal(u))?;
                (ImportStatus::Unmappable, outcome)
            }
            MappedOutcome::Unchanged(note) => {
                let outcome =
                    self.acknowledge_event(&mapped.tenant_id, &record(&mapped), note.clone())?;
                (ImportStatus::Accepted, outcome)
            }
        };
        Ok(Imported {
            status,
            mapped,
            outcome,
        })
    }
}

/// What the chain records of a notification that maps to no event.
fn record(mapped: &Mapped) -> Value {
    json!({
        "source": mapped.marketplace,
        "notification": mapped.notification,
        "event_id": mapped.event_id,
        "tenant_id": mapped.tenant_id,
    })
}

/// How a notification that maps to no event is recorded.
fn refusal(u: &Unmappable) -> Refusal {
    let code = match u.reason {
        UnmappableReason::UnknownPlan => ReasonCode::UnknownSku,
        UnmappableReason::AmbiguousPlan => ReasonCode::AmbiguousPlan,
        UnmappableReason::NotCompleted => ReasonCode::MarketplaceOperationFailed,
    };
    Refusal {
        code,
        message: u.message.clone(),
    }
}
