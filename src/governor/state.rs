//! Governor states, gates, decisions and reason codes: the vocabulary receipts are written in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::RefusalCode;

/// The per-tenant governor state: `boot → stable → intervening ↔ refusing`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GovernorState {
    /// Waiting for the first entitlement or signal to prove the tenant can run.
    #[default]
    Boot,
    /// Normal operation: signals are processed and tool calls run through the gates.
    Stable,
    /// An action overran its bounds and is being resolved; no new work is accepted.
    Intervening,
    /// Unable to accept work until an entitlement change recovers it.
    Refusing,
}

impl GovernorState {
    /// All states, in lifecycle order.
    pub const ALL: [GovernorState; 4] = [
        GovernorState::Boot,
        GovernorState::Stable,
        GovernorState::Intervening,
        GovernorState::Refusing,
    ];

    /// The state's name as written in receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            GovernorState::Boot => "boot",
            GovernorState::Stable => "stable",
            GovernorState::Intervening => "intervening",
            GovernorState::Refusing => "refusing",
        }
    }
}

impl fmt::Display for GovernorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three gates a tool call passes, in order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// Gate 1: the tenant's entitlement exists, is not suspended and has not expired.
    Entitlement,
    /// Gate 2: the tenant holds every role the action requires.
    Iam,
    /// Gate 3: the action's declarative preconditions hold.
    Preconditions,
}

impl Gate {
    /// The gate's name as written in receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Entitlement => "entitlement",
            Gate::Iam => "iam",
            Gate::Preconditions => "preconditions",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// All gates passed and the action ran to success.
    Executed,
    /// A gate or the governor's state refused the call; nothing ran.
    Refused,
    /// The tool is not in the tenant's enabled packs; it never reached the gates.
    ToolNotFound,
    /// All gates passed but the action failed or overran a bound.
    Failed,
}

impl Decision {
    /// The decision's name as written in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Executed => "executed",
            Decision::Refused => "refused",
            Decision::ToolNotFound => "tool_not_found",
            Decision::Failed => "failed",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why something was refused or failed. Built-in codes are variants; codes declared by a
/// pack's preconditions are carried as [`ReasonCode::Precondition`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, schemars::JsonSchema)]
#[schemars(
    with = "String",
    description = "A reason code: built in (`tool_not_found`, `unknown_sku`, …) or declared by a \
                   pack's precondition."
)]
pub enum ReasonCode {
    // Gate 1: entitlement.
    /// The tenant has no entitlement.
    NoEntitlement,
    /// The entitlement's expiry has passed.
    EntitlementExpired,
    /// The entitlement is suspended.
    EntitlementSuspended,
    /// The entitlement was cancelled.
    EntitlementCancelled,
    // Gate 2: IAM.
    /// The tenant lacks a role the action requires.
    InsufficientPrivilege,
    // Gate 3 is pack-defined.
    /// A pack precondition's refusal code.
    Precondition(RefusalCode),
    // Governor state.
    /// Tool call while the governor is booting.
    GovernorNotReady,
    /// Tool call while an action is being resolved.
    ActionInFlight,
    /// Tool call or signal while the governor refuses work.
    GovernorRefusing,
    // Registry.
    /// The tool is not in the tenant's enabled packs.
    ToolNotFound,
    /// The call's arguments do not match the tool's input schema.
    InvalidArguments,
    // Execution.
    /// The action overran its wall-clock limit.
    Timeout,
    /// The action overran its memory limit.
    MemoryExceeded,
    /// The action wrote more output than allowed.
    OutputLimitExceeded,
    /// The action exited unsuccessfully or returned invalid output.
    ActionError,
    // Entitlement events.
    /// The event is not well-formed.
    MalformedEvent,
    /// The event names a SKU the catalog does not have.
    UnknownSku,
    /// The event names a pack the catalog does not have.
    UnknownPack,
    /// The event's plan does not match the SKU's plan.
    PlanMismatch,
    /// The event enables a pack its SKU does not include.
    PackNotInSku,
    /// The event grants a role its SKU does not allow (never escalate).
    RoleNotInSku,
    /// An enabled pack requires a pack that is not enabled.
    MissingRequiredPack,
    /// Two enabled packs are incompatible.
    IncompatiblePacks,
    /// The event's expiry is already past.
    ExpiryInPast,
    /// The lifecycle event does not apply to the entitlement's current status.
    InvalidTransition,
}

impl ReasonCode {
    /// The code as written in receipts and output.
    pub fn as_str(&self) -> &str {
        match self {
            ReasonCode::NoEntitlement => "no_entitlement",
            ReasonCode::EntitlementExpired => "entitlement_expired",
            ReasonCode::EntitlementSuspended => "entitlement_suspended",
            ReasonCode::EntitlementCancelled => "entitlement_cancelled",
            ReasonCode::InsufficientPrivilege => "insufficient_privilege",
            ReasonCode::Precondition(code) => code.as_str(),
            ReasonCode::GovernorNotReady => "governor_not_ready",
            ReasonCode::ActionInFlight => "action_in_flight",
            ReasonCode::GovernorRefusing => "governor_refusing",
            ReasonCode::ToolNotFound => "tool_not_found",
            ReasonCode::InvalidArguments => "invalid_arguments",
            ReasonCode::Timeout => "timeout",
            ReasonCode::MemoryExceeded => "memory_exceeded",
            ReasonCode::OutputLimitExceeded => "output_limit_exceeded",
            ReasonCode::ActionError => "action_error",
            ReasonCode::MalformedEvent => "malformed_event",
            ReasonCode::UnknownSku => "unknown_sku",
            ReasonCode::UnknownPack => "unknown_pack",
            ReasonCode::PlanMismatch => "plan_mismatch",
            ReasonCode::PackNotInSku => "pack_not_in_sku",
            ReasonCode::RoleNotInSku => "role_not_in_sku",
            ReasonCode::MissingRequiredPack => "missing_required_pack",
            ReasonCode::IncompatiblePacks => "incompatible_packs",
            ReasonCode::ExpiryInPast => "expiry_in_past",
            ReasonCode::InvalidTransition => "invalid_transition",
        }
    }

    /// Every built-in code (pack precondition codes excluded).
    pub const BUILT_IN: [ReasonCode; 24] = [
        ReasonCode::NoEntitlement,
        ReasonCode::EntitlementExpired,
        ReasonCode::EntitlementSuspended,
        ReasonCode::EntitlementCancelled,
        ReasonCode::InsufficientPrivilege,
        ReasonCode::GovernorNotReady,
        ReasonCode::ActionInFlight,
        ReasonCode::GovernorRefusing,
        ReasonCode::ToolNotFound,
        ReasonCode::InvalidArguments,
        ReasonCode::Timeout,
        ReasonCode::MemoryExceeded,
        ReasonCode::OutputLimitExceeded,
        ReasonCode::ActionError,
        ReasonCode::MalformedEvent,
        ReasonCode::UnknownSku,
        ReasonCode::UnknownPack,
        ReasonCode::PlanMismatch,
        ReasonCode::PackNotInSku,
        ReasonCode::RoleNotInSku,
        ReasonCode::MissingRequiredPack,
        ReasonCode::IncompatiblePacks,
        ReasonCode::ExpiryInPast,
        ReasonCode::InvalidTransition,
    ];

    /// Parses a code: a built-in name, else a pack refusal code.
    pub fn parse(text: &str) -> Result<Self, crate::ids::InvalidId> {
        if let Some(code) = Self::BUILT_IN.iter().find(|c| c.as_str() == text) {
            return Ok(code.clone());
        }
        RefusalCode::new(text).map(ReasonCode::Precondition)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReasonCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for code in ReasonCode::BUILT_IN {
            assert_eq!(ReasonCode::parse(code.as_str()).unwrap(), code);
        }
        assert_eq!(
            ReasonCode::parse("deployment_not_stable").unwrap().as_str(),
            "deployment_not_stable"
        );
    }
}
