//! Deterministic sample receipts of realistic size (metadata of a few hundred bytes), shared
//! by tests, benchmarks and documentation so that figures are measured on what an engine
//! really writes.

use serde_json::json;

use crate::clock::Timestamp;
use crate::ids::TenantId;
use crate::vocab::{GovernorState, ReasonCode};

use super::{ChainHead, EventType, Receipt, ReceiptBody};

/// 2026-01-01T00:00:00Z: sample receipts start here, one second apart.
const START: Timestamp = Timestamp::from_secs(1_767_225_600);

/// The `n`-th sample receipt body of `tenant`: an entitlement activation at 0, then a cycle
/// of executed, refused and timed-out tool calls with tool-call metadata.
pub fn sample_body(tenant: &TenantId, n: u64) -> ReceiptBody {
    let (state_from, state_to, event_type, reason) = match n {
        0 => (
            GovernorState::Boot,
            GovernorState::Stable,
            EventType::EntitlementActivated,
            None,
        ),
        _ => match n % 4 {
            0 => (
                GovernorState::Stable,
                GovernorState::Intervening,
                EventType::ActionTimeout,
                Some(ReasonCode::Timeout),
            ),
            1 => (
                GovernorState::Intervening,
                GovernorState::Stable,
                EventType::ActionCompleted,
                None,
            ),
            2 => (
                GovernorState::Stable,
                GovernorState::Stable,
                EventType::ActionRefused,
                Some(ReasonCode::InsufficientPrivilege),
            ),
            _ => (
                GovernorState::Stable,
                GovernorState::Stable,
                EventType::ActionExecuted,
                None,
            ),
        },
    };
    let gate = if reason.is_some() { "iam" } else { "passed" };
    ReceiptBody {
        id: format!("rcpt-{tenant}-{n:08}").into(),
        timestamp: START.plus(std::time::Duration::from_secs(n)),
        tenant_id: tenant.clone(),
        governor_id: format!("gov-{tenant}").into(),
        state_from,
        state_to,
        event_type,
        reason,
        metadata: json!({
            "tool": "ac_rollback-orchestrator",
            "action": "create_rollback_plan",
            "gate": gate,
            "arguments": {
                "deployment_id": format!("dep-{:05}", n % 100_000),
                "target_version": "v1.4.2",
                "strategy": "blue_green",
            },
            "result": {"status": "ok", "plan_id": format!("plan-{n}"), "steps": ["drain", "switch", "verify"]},
            "entitlement": {
                "sku_id": "rollback-guard-professional",
                "plan_id": "professional-tier",
                "packs": ["rollback_guard", "storm_governor"],
                "roles": ["read:deployment", "write_rollback"],
            },
            "duration_ms": 40 + n % 17,
        })
        .into(),
        catalog_hash: "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f1a3c5e7b9d0f".into(),
    }
}

/// The first `n` sample receipts of `tenant`, sealed into a chain from genesis.
pub fn sample_chain(tenant: &TenantId, n: u64) -> Vec<Receipt> {
    let mut head = ChainHead::default();
    (0..n).map(|i| head.seal(sample_body(tenant, i))).collect()
}
