//! Rebuilding a tenant's governor from its receipts: the ledger is the event log.

use serde_json::Value;

use crate::entitlement::Entitlement;
use crate::ids::TenantId;
use crate::receipts::{ChainHead, Receipt};
use crate::vocab::{EventType, GovernorState};

use super::Tenant;

/// A ledger that does not replay into a consistent tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot rebuild tenant `{tenant}` from its ledger at seq {seq}: {problem}")]
pub struct ReplayError {
    /// The tenant.
    pub tenant: TenantId,
    /// The first receipt that did not fit.
    pub seq: u64,
    /// What did not fit.
    pub problem: String,
}

impl Tenant {
    /// Rebuilds a tenant from its receipts (the ledger is the event log), checking that they
    /// form an unbroken chain for this tenant.
    pub fn replay(id: TenantId, receipts: &[Receipt]) -> Result<Tenant, ReplayError> {
        let mut t = Tenant::new(id);
        t.replay_more(receipts)?;
        Ok(t)
    }

    /// Continues the replay with `receipts`, which must continue the tenant's chain: what
    /// another writer of a shared ledger appended after this tenant's head.
    pub fn replay_more(&mut self, receipts: &[Receipt]) -> Result<(), ReplayError> {
        let t = self;
        for r in receipts {
            let tenant = t.id.clone();
            let fail = |problem: String| ReplayError {
                tenant,
                seq: r.seq,
                problem,
            };
            if r.body.tenant_id != t.id {
                return Err(fail(format!(
                    "receipt belongs to tenant `{}`",
                    r.body.tenant_id
                )));
            }
            if r.seq != t.head.next_seq || r.prev_hash != t.head.hash || !r.hash_is_valid() {
                return Err(fail(
                    "the receipt chain is broken; run `tai receipts verify`".into(),
                ));
            }
            t.apply_receipt(r).map_err(fail)?;
            t.record.count(&r.body);
            t.head = ChainHead {
                next_seq: r.seq + 1,
                hash: r.hash.clone(),
            };
        }
        Ok(())
    }

    fn apply_receipt(&mut self, r: &Receipt) -> Result<(), String> {
        // Parsed only for the receipts whose metadata replay needs: most (tool calls) don't.
        let meta = std::cell::OnceCell::new();
        let field = |name: &str| {
            meta.get_or_init(|| r.body.metadata.to_value())
                .get(name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        let decode = |name: &str| -> Result<Option<Entitlement>, String> {
            serde_json::from_value(field(name))
                .map_err(|e| format!("bad `{name}` in metadata: {e}"))
        };
        match r.body.event_type {
            event if event.changes_entitlement() => {
                self.entitlement = decode("entitlement")?;
            }
            EventType::EntitlementExpired => {
                self.expiry_noted = self.entitlement.as_ref().map(|e| e.expiry);
            }
            EventType::ToolSurfaceChanged => {
                self.tools = serde_json::from_value(field("tools"))
                    .map_err(|e| format!("bad `tools` in metadata: {e}"))?;
            }
            EventType::IamPolicySet => {
                self.iam = serde_json::from_value::<Option<crate::iam::IamPolicy>>(field(
                    super::iam::POLICY,
                ))
                .map_err(|e| format!("bad `{}` in metadata: {e}", super::iam::POLICY))?
                .map(|policy| super::IamSetting {
                    policy,
                    seq: r.seq,
                    since: r.body.timestamp,
                });
            }
            EventType::SignalProcessed | EventType::AndonRaised => {
                if let Value::Object(facts) = field("facts") {
                    self.facts.extend(facts);
                }
                self.replay_andon(r, &field)?;
            }
            EventType::AndonCleared => self.replay_andon(r, &field)?,
            _ => {}
        }
        if matches!(
            r.body.event_type,
            EventType::ActionCompleted | EventType::ActionFailed
        ) && let Some(f) = &self.in_flight
        {
            self.remember_resolved(f.action_id.clone(), r.body.event_type, r.seq);
        }
        self.in_flight = if r.body.state_to == GovernorState::Intervening {
            match field("in_flight") {
                Value::Null => self.in_flight.take(),
                Value::Object(mut v) => {
                    // A ledger written before actions had ids: the receipt that put the
                    // action in flight names it.
                    if !v.contains_key(super::tenant::ACTION_ID) {
                        let id = crate::ids::ActionRunId::of_receipt(&r.body.id);
                        v.insert(super::tenant::ACTION_ID.into(), id.as_str().into());
                    }
                    Some(
                        serde_json::from_value(Value::Object(v))
                            .map_err(|e| format!("bad `in_flight` in metadata: {e}"))?,
                    )
                }
                v => Some(
                    serde_json::from_value(v)
                        .map_err(|e| format!("bad `in_flight` in metadata: {e}"))?,
                ),
            }
        } else {
            None
        };
        self.replay_running(r, &field);
        self.remember_stored(r, &field);
        self.state = r.body.state_to;
        Ok(())
    }
}
