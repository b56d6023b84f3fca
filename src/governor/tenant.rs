//! One tenant's governor: its state, entitlement, visible tools, facts and chain head, and the
//! sealing of every receipt it writes. Each operation lives in a sibling file and returns the
//! receipts it wrote, in order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::clock::Timestamp;
use crate::entitlement::{Entitlement, Standing};
use crate::exec::Leftovers;
use crate::ids::{ActionRunId, SignalName, TenantId, ToolName};
use crate::receipts::{ChainHead, Evidence, IdSource, MetadataBuilder, Receipt, ReceiptBody};
use crate::registry::{self, SurfaceDiff};
use crate::vocab::{EventType, GovernorState, ReasonCode};

use super::once::Seen;
use super::{AndonStop, GovernorRecord, IamSetting, InFlight, Running};

/// The metadata key naming the action a receipt is about.
pub(super) const ACTION_ID: &str = "action_id";

/// How many resolved actions a tenant remembers, so that resolving one again is refused as
/// resolved (`action_already_resolved`) rather than unknown.
pub(super) const RESOLVED_KEPT: usize = 64;

/// What every operation needs from outside the tenant.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The catalog in force.
    pub catalog: &'a Catalog,
    /// The clock's now.
    pub now: Timestamp,
    /// Receipt id source.
    pub ids: &'a IdSource,
    /// The tenants' chains as decided before the operation, for built-in tools.
    pub evidence: &'a dyn Evidence,
    /// Kills what a started action left running when its tai died, and says what that was;
    /// called before the action is recorded as interrupted. `None` where actions run in
    /// this process only (scenarios, the memory engine): nothing can be left of them.
    pub clean_up: Option<fn(&ActionRunId) -> Leftovers>,
}

/// One tenant's governor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub(super) id: TenantId,
    governor_id: Arc<str>,
    pub(super) state: GovernorState,
    pub(super) entitlement: Option<Entitlement>,
    pub(super) expiry_noted: Option<Timestamp>,
    pub(super) tools: BTreeSet<ToolName>,
    pub(super) facts: Map<String, Value>,
    pub(super) in_flight: Option<InFlight>,
    /// A command recorded as started whose outcome is not recorded yet.
    pub(super) running: Option<Running>,
    pub(super) iam: Option<IamSetting>,
    /// Critical Andons nobody has cleared, by signal.
    pub(super) andon: BTreeMap<SignalName, AndonStop>,
    /// The actions resolved lately (newest last): id, the resolving event and its seq.
    pub(super) resolved: VecDeque<(ActionRunId, EventType, u64)>,
    pub(super) head: ChainHead,
    pub(super) record: GovernorRecord,
    surface_checked: CheckedCatalog,
    /// Events and keyed calls already decided.
    pub(super) seen: Seen,
}

/// The hash of the catalog the tool surface was last checked against. A cache, not state:
/// recomputing the surface on every call only matters when the catalog changed, and two
/// tenants with the same chain are equal whatever they have cached.
#[derive(Debug, Clone, Default)]
struct CheckedCatalog(Option<Arc<str>>);

impl PartialEq for CheckedCatalog {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A receipt id taken ahead of sealing, and the seq it belongs to.
pub(super) struct NextId {
    seq: u64,
    id: Arc<str>,
}

impl NextId {
    /// The id of the action whose start this receipt records.
    pub(super) fn action_id(&self) -> ActionRunId {
        ActionRunId::of_receipt(&self.id)
    }
}

/// The receipt being written: everything but the chain fields and the common ones.
pub(super) struct Draft {
    pub(super) event: EventType,
    pub(super) to: GovernorState,
    pub(super) reason: Option<ReasonCode>,
    pub(super) metadata: MetadataBuilder,
}

impl Tenant {
    /// A new tenant in `boot`, with an empty chain.
    pub fn new(id: TenantId) -> Self {
        Tenant {
            governor_id: format!("gov-{id}").into(),
            id,
            state: GovernorState::Boot,
            entitlement: None,
            expiry_noted: None,
            tools: BTreeSet::new(),
            facts: Map::new(),
            in_flight: None,
            running: None,
            iam: None,
            andon: BTreeMap::new(),
            resolved: VecDeque::new(),
            head: ChainHead::default(),
            record: GovernorRecord::default(),
            surface_checked: CheckedCatalog::default(),
            seen: Seen::default(),
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &TenantId {
        &self.id
    }

    /// The governor's state.
    pub fn state(&self) -> GovernorState {
        self.state
    }

    /// The current entitlement, if any.
    pub fn entitlement(&self) -> Option<&Entitlement> {
        self.entitlement.as_ref()
    }

    /// The tools the tenant can see.
    pub fn tools(&self) -> &BTreeSet<ToolName> {
        &self.tools
    }

    /// Facts recorded by processed signals.
    pub fn facts(&self) -> &Map<String, Value> {
        &self.facts
    }

    /// The action being resolved while `intervening`.
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.in_flight.as_ref()
    }

    /// A command recorded as started (`action_started`) whose outcome is not recorded yet.
    pub fn running(&self) -> Option<&Running> {
        self.running.as_ref()
    }

    /// The tenant's IAM policy and when it was set; `None` when it has none (whoever calls
    /// holds the roles the plan grants).
    pub fn iam_policy(&self) -> Option<&IamSetting> {
        self.iam.as_ref()
    }

    /// What the governor has counted and when it changed.
    pub fn record(&self) -> &GovernorRecord {
        &self.record
    }

    /// The end of the tenant's receipt chain.
    pub fn head(&self) -> &ChainHead {
        &self.head
    }

    /// The entitlement's standing at `now` (`None` without an entitlement).
    pub fn standing(&self, now: Timestamp) -> Option<Standing> {
        self.entitlement.as_ref().map(|e| e.standing(now))
    }

    /// The id of the next receipt, for an action whose start that receipt records: the
    /// receipt is then sealed with it ([`Tenant::seal_as`]) rather than derived twice.
    pub(super) fn next_receipt_id(&self, env: &Env<'_>) -> NextId {
        let seq = self.head.next_seq;
        NextId {
            seq,
            id: env.ids.receipt_id(&self.id, seq),
        }
    }

    /// The id of an action whose start receipt `seq` records.
    pub(super) fn action_id_at(&self, env: &Env<'_>, seq: u64) -> ActionRunId {
        ActionRunId::of_receipt(&env.ids.receipt_id(&self.id, seq))
    }

    /// Remembers a resolved action, forgetting the oldest beyond [`RESOLVED_KEPT`].
    pub(super) fn remember_resolved(&mut self, id: ActionRunId, event: EventType, seq: u64) {
        if self.resolved.len() >= RESOLVED_KEPT {
            self.resolved.pop_front();
        }
        self.resolved.push_back((id, event, seq));
    }

    /// Moves to the draft's state and seals its receipt as the next link of the chain: the
    /// one place a receipt is made, so every decision writes exactly one.
    pub(super) fn seal(&mut self, env: &Env<'_>, draft: Draft) -> Receipt {
        let id = self.next_receipt_id(env);
        self.seal_as(env, draft, id)
    }

    /// [`Tenant::seal`] with the receipt's id computed ahead (for the action it names).
    pub(super) fn seal_as(&mut self, env: &Env<'_>, draft: Draft, id: NextId) -> Receipt {
        // Anything sealed since the id was taken would make it another receipt's.
        let id = if id.seq == self.head.next_seq {
            id.id
        } else {
            env.ids.receipt_id(&self.id, self.head.next_seq)
        };
        let from = self.state;
        self.state = draft.to;
        let body = ReceiptBody {
            id,
            timestamp: env.now,
            tenant_id: self.id.clone(),
            governor_id: self.governor_id.clone(),
            state_from: from,
            state_to: draft.to,
            event_type: draft.event,
            reason: draft.reason,
            metadata: draft.metadata.finish(),
            catalog_hash: env.catalog.shared_hash(),
        };
        self.record.count(&body);
        self.head.seal(body)
    }

    /// Records what time and the catalog changed on their own: an expiry that has passed, a
    /// tool surface that no longer matches the catalog, and a poll of the action in flight
    /// that is due (see [`super::Polling`]). Every operation starts here.
    pub fn tick(&mut self, env: &Env<'_>) -> Vec<Receipt> {
        let mut out = self.interrupt(env);
        if let Some(ent) = &self.entitlement
            && ent.standing(env.now) == Standing::Expired
            && self.expiry_noted != Some(ent.expiry)
        {
            let expiry = ent.expiry;
            let mut metadata = MetadataBuilder::new();
            metadata.insert("expiry", &expiry);
            metadata.insert_struct("entitlement", &ent);
            self.expiry_noted = Some(expiry);
            let to = self.state;
            out.push(self.seal(
                env,
                Draft {
                    event: EventType::EntitlementExpired,
                    to,
                    reason: Some(ReasonCode::EntitlementExpired),
                    metadata,
                },
            ));
        }
        if self.surface_checked.0.as_deref() != Some(env.catalog.hash())
            && let Some(r) = self.sync_surface(env, "catalog_changed")
        {
            out.push(r);
        }
        out.extend(self.poll(env));
        out
    }

    /// Recomputes the visible tools and writes `tool_surface_changed` if they differ.
    pub(super) fn sync_surface(&mut self, env: &Env<'_>, cause: &str) -> Option<Receipt> {
        let now_visible = registry::visible_tools(env.catalog, self.entitlement.as_ref());
        self.surface_checked.0 = Some(env.catalog.shared_hash());
        let diff = SurfaceDiff::between(&self.tools, &now_visible);
        if diff.is_empty() {
            return None;
        }
        self.tools = now_visible;
        let mut metadata = MetadataBuilder::new();
        metadata.insert("cause", cause);
        metadata.insert("added", &diff.added);
        metadata.insert("removed", &diff.removed);
        metadata.insert("tools", &self.tools);
        let to = self.state;
        Some(self.seal(
            env,
            Draft {
                event: EventType::ToolSurfaceChanged,
                to,
                reason: None,
                metadata,
            },
        ))
    }
}
