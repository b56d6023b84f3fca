//! Setting a tenant's IAM policy: one receipt that carries the whole policy, so replay
//! rebuilds it and the audit trail shows who was granted what, and when.

use serde::Serialize;

use crate::clock::Timestamp;
use crate::iam::IamPolicy;
use crate::receipts::{MetadataBuilder, Receipt};
use crate::vocab::EventType;

use super::tenant::Draft;
use super::{Env, Tenant};

/// The metadata field that carries the policy (`null` when it was cleared).
pub(super) const POLICY: &str = "iam_policy";

/// A tenant's IAM policy in force, and the receipt that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IamSetting {
    /// The policy.
    pub policy: IamPolicy,
    /// The seq of the `iam_policy_set` receipt that set it.
    pub seq: u64,
    /// When it was set.
    pub since: Timestamp,
}

impl Tenant {
    /// Sets the tenant's IAM policy (`None` clears it: whoever calls holds the plan's roles
    /// again). The governor's state does not change.
    pub fn set_iam_policy(&mut self, env: &Env<'_>, policy: Option<IamPolicy>) -> Vec<Receipt> {
        let mut receipts = self.tick(env);
        let mut metadata = MetadataBuilder::new();
        metadata.insert_struct(POLICY, &policy);
        if let Some(old) = &self.iam {
            metadata.insert("replaces_seq", &old.seq);
        }
        let seq = self.head.next_seq;
        self.iam = policy.map(|policy| IamSetting {
            policy,
            seq,
            since: env.now,
        });
        let to = self.state;
        receipts.push(self.seal(
            env,
            Draft {
                event: EventType::IamPolicySet,
                to,
                reason: None,
                metadata,
            },
        ));
        receipts
    }
}
