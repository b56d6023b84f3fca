//! The words receipts and answers are written in: governor states, gates, decisions, reason
//! codes and receipt event types.
//!
//! Every layer speaks this vocabulary, so it sits at the bottom and uses nothing of tai's but
//! the identifier a pack's own reason code is spelled in. Each name is written once, in the
//! `vocabulary!` list that declares its variant, and serves as its serde name, its
//! `as_str`, its `FromStr` and its place in `ALL`: the four cannot disagree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{InvalidId, RefusalCode};

/// A name that is not in a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`; known types: {known}", known = known.join(", "))]
pub struct UnknownName {
    /// What was being named, e.g. `event type`.
    pub kind: &'static str,
    /// The name given.
    pub name: String,
    /// Every name the vocabulary has.
    pub known: &'static [&'static str],
}

/// Declares an enum whose variants are written once with their names. `ALL` (or `BUILT_IN`)
/// lists the variants in declaration order, and `as_str`, `Display`, `FromStr` and serde use
/// the same names. A closed enum derives what every such enum needs (serde and schemars among
/// it); further attributes pass through. An open enum (`else { Variant(Code) }`) carries any
/// other name as a `Code`, parsed with `Code::new`, and is serialized as its name.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
            ::schemars::JsonSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($name::$variant),+].len()] = [$($name::$variant),+];

            /// Every name, in declaration order.
            const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name as written on the wire and in output.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::vocab::UnknownName {
                        kind: $kind,
                        name: s.to_owned(),
                        known: Self::NAMES,
                    }),
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        } else {
            $(#[$ometa:meta])* $open:ident($code:ty),
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            $(#[$ometa])* $open($code),
        }

        impl $name {
            /// Every built-in variant, in declaration order.
            pub const BUILT_IN: [$name; [$($name::$variant),+].len()] = [$($name::$variant),+];

            /// The name as written in receipts and output.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::$open(code) => code.as_str(),
                }
            }

            /// Parses a name: a built-in one, else the other kind's spelling.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => <$code>::new(text).map($name::$open),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

// Other layers name their own closed enums the same way (`entitlement::EventKind`).
pub(crate) use vocabulary;

vocabulary! {
    /// The per-tenant governor state: `boot → stable → intervening ↔ refusing`.
    #[derive(PartialOrd, Ord, Default)]
    pub enum GovernorState ("governor state") {
        /// Waiting for the first entitlement or signal to prove the tenant can run.
        #[default]
        Boot = "boot",
        /// Normal operation: signals are processed and tool calls run through the gates.
        Stable = "stable",
        /// An action overran its bounds and is being resolved; no new work is accepted.
        Intervening = "intervening",
        /// Unable to accept work until an entitlement change recovers it.
        Refusing = "refusing",
    }
}

vocabulary! {
    /// The three gates a tool call passes, in order.
    #[derive(PartialOrd, Ord)]
    pub enum Gate ("gate") {
        /// Gate 1: the tenant's entitlement exists, is not suspended and has not expired.
        Entitlement = "entitlement",
        /// Gate 2: the tenant holds every role the action requires.
        Iam = "iam",
        /// Gate 3: the action's declarative preconditions hold.
        Preconditions = "preconditions",
    }
}

vocabulary! {
    /// What became of a tool call.
    pub enum Decision ("decision") {
        /// All gates passed and the action ran to success.
        Executed = "executed",
        /// A gate or the governor's state refused the call; nothing ran.
        Refused = "refused",
        /// The tool is not in the tenant's enabled packs; it never reached the gates.
        ToolNotFound = "tool_not_found",
        /// All gates passed but the action failed or overran a bound.
        Failed = "failed",
    }
}

vocabulary! {
    /// What a receipt records.
    #[derive(PartialOrd, Ord)]
    pub enum EventType ("event type") {
        // Entitlement lifecycle.
        /// A new entitlement was accepted.
        EntitlementActivated = "entitlement_activated",
        /// The plan changed (upgrade or downgrade).
        EntitlementUpdated = "entitlement_updated",
        /// The entitlement was renewed.
        EntitlementRenewed = "entitlement_renewed",
        /// The entitlement was suspended.
        EntitlementSuspended = "entitlement_suspended",
        /// A suspended entitlement was reinstated.
        EntitlementReinstated = "entitlement_reinstated",
        /// The entitlement was cancelled.
        EntitlementCancelled = "entitlement_cancelled",
        /// The entitlement's expiry passed.
        EntitlementExpired = "entitlement_expired",
        /// An entitlement event was refused; nothing changed.
        EntitlementUpdateRefused = "entitlement_update_refused",
        /// The tenant's visible tools changed.
        ToolSurfaceChanged = "tool_surface_changed",
        // Signals.
        /// A signal was processed.
        SignalProcessed = "signal_processed",
        /// A signal was refused.
        SignalRefused = "signal_refused",
        /// A signal arrived while an action was in flight and was postponed.
        SignalPostponed = "signal_postponed",
        // Tool calls.
        /// A tool call passed all gates and its action succeeded.
        ActionExecuted = "action_executed",
        /// A tool call was refused by a gate or by the governor's state.
        ActionRefused = "action_refused",
        /// A tool call named a tool outside the tenant's enabled packs.
        ToolNotFound = "tool_not_found",
        /// An action overran its wall-clock limit.
        ActionTimeout = "action_timeout",
        /// An action overran its memory limit.
        ActionMemoryExceeded = "action_memory_exceeded",
        /// An action failed (non-zero exit, bad output, output too large, declared error).
        ActionErrored = "action_errored",
        // Recovery.
        /// The in-flight action was reported complete, or its status tool said it is done
        /// (`resolved_by` says which).
        ActionCompleted = "action_completed",
        /// The in-flight action was reported failed, its status tool said it failed, or its
        /// deadline passed (`resolved_by` says which).
        ActionFailed = "action_failed",
        // The tenant's own settings.
        /// The tenant's IAM policy was set (or cleared): who holds which role.
        IamPolicySet = "iam_policy_set",
        // The record itself.
        /// Bytes found after the head were moved to a quarantine file beside the ledger.
        LedgerTailQuarantined = "ledger_tail_quarantined",
        /// Receipts found after the head were adopted: a signed checkpoint covers them.
        LedgerTailAdopted = "ledger_tail_adopted",
        /// A signing writer told to adopt unsigned history (`--adopt-unsigned`) found a chain
        /// its keys' checkpoints do not vouch for, and signed it as it stands from here on:
        /// what it found, and why it would otherwise have refused.
        LedgerHistoryAdopted = "ledger_history_adopted",
        // Write-ahead actions.
        /// A tool call passed its gates and its command is about to run: written durably
        /// before the program starts, so no side effect can happen unrecorded.
        ActionStarted = "action_started",
        /// A started action has no outcome: the writer stopped (crashed, was killed) while
        /// the program ran, or its outcome could not be stored. Whether the program's side
        /// effects happened is unknown; the governor intervenes.
        ActionInterrupted = "action_interrupted",
        // Andon.
        /// A signal a pack declares as Andon was processed: a `critical` one stops the line
        /// (the actions of the packs that declare it) until it is cleared; a `warning` one is
        /// recorded and stops nothing.
        AndonRaised = "andon_raised",
        /// Someone acknowledged a critical Andon: the line it stopped runs again.
        AndonCleared = "andon_cleared",
        // Actions that resolve themselves.
        /// The governor polled the status tool of the in-flight action; the result is in the
        /// receipt, and one that means done or failed is followed by the resolution.
        ActionPolled = "action_polled",
    }
}

vocabulary! {
    /// How serious an Andon signal is.
    #[derive(PartialOrd, Ord)]
    pub enum AndonSeverity ("Andon severity") {
        /// Recorded as `andon_raised`; stops nothing.
        Warning = "warning",
        /// Stops the line: the actions of the packs that declare the signal are refused
        /// (`andon_stopped`) until someone clears it.
        Critical = "critical",
    }
}

impl EventType {
    /// Whether a receipt of this type carries the entitlement as the event left it (its
    /// `entitlement` metadata): the lifecycle changes, not an expiry or a refusal.
    pub fn changes_entitlement(self) -> bool {
        matches!(
            self,
            EventType::EntitlementActivated
                | EventType::EntitlementUpdated
                | EventType::EntitlementRenewed
                | EventType::EntitlementSuspended
                | EventType::EntitlementReinstated
                | EventType::EntitlementCancelled
        )
    }
}

vocabulary! {
    /// Why something was refused or failed. Built-in codes are variants; codes declared by a
    /// pack's preconditions are carried as [`ReasonCode::Precondition`].
    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, schemars::JsonSchema)]
    #[schemars(
        with = "String",
        description = "A reason code: built in (`tool_not_found`, `unknown_sku`, …) or declared by a \
                       pack's precondition."
    )]
    pub enum ReasonCode ("reason code") {
        // Gate 1: entitlement.
        /// The tenant has no entitlement.
        NoEntitlement = "no_entitlement",
        /// The entitlement's expiry has passed.
        EntitlementExpired = "entitlement_expired",
        /// The entitlement is suspended.
        EntitlementSuspended = "entitlement_suspended",
        /// The entitlement was cancelled.
        EntitlementCancelled = "entitlement_cancelled",
        // Gate 2: IAM.
        /// The caller lacks a role the action requires: the plan does not grant it, or (under
        /// an IAM policy) no binding whose condition holds gives it to the principal.
        InsufficientPrivilege = "insufficient_privilege",
        // Gate 3 is pack-defined: see `Precondition` below.
        // Governor state.
        /// Tool call while the governor is booting.
        GovernorNotReady = "governor_not_ready",
        /// Tool call while an action is being resolved.
        ActionInFlight = "action_in_flight",
        /// Tool call or signal while the governor refuses work.
        GovernorRefusing = "governor_refusing",
        // Registry.
        /// The tool is not in the tenant's enabled packs.
        ToolNotFound = "tool_not_found",
        /// The call's arguments do not match the tool's input schema.
        InvalidArguments = "invalid_arguments",
        /// A built-in tool was asked for a receipt the tenant's chain does not have.
        ReceiptNotFound = "receipt_not_found",
        /// A call's idempotency key was first used for another request (another tool,
        /// arguments, context or principal): not a retry, and nothing ran.
        IdempotencyKeyReused = "idempotency_key_reused",
        // Execution.
        /// The action overran its wall-clock limit.
        Timeout = "timeout",
        /// The action overran its memory limit.
        MemoryExceeded = "memory_exceeded",
        /// The action wrote more output than allowed.
        OutputLimitExceeded = "output_limit_exceeded",
        /// The action exited unsuccessfully or returned invalid output.
        ActionError = "action_error",
        // Entitlement events.
        /// The event is not well-formed.
        MalformedEvent = "malformed_event",
        /// An event's `event_id` was first given to another event (another SKU, plan,
        /// packs, roles, expiry or quantity): not a redelivery, and nothing was applied.
        EventIdReused = "event_id_reused",
        /// The event names a SKU the catalog does not have.
        UnknownSku = "unknown_sku",
        /// The event names a pack the catalog does not have.
        UnknownPack = "unknown_pack",
        /// The event's plan does not match the SKU's plan.
        PlanMismatch = "plan_mismatch",
        /// The event enables a pack its SKU does not include.
        PackNotInSku = "pack_not_in_sku",
        /// The event grants a role its SKU does not allow (never escalate).
        RoleNotInSku = "role_not_in_sku",
        /// An enabled pack requires a pack that is not enabled.
        MissingRequiredPack = "missing_required_pack",
        /// Two enabled packs are incompatible.
        IncompatiblePacks = "incompatible_packs",
        /// The event's expiry is already past.
        ExpiryInPast = "expiry_in_past",
        /// The event's expiry is past 9999-12-31T23:59:59.999Z, the last time a receipt can
        /// record.
        ExpiryOutOfRange = "expiry_out_of_range",
        /// The lifecycle event does not apply to the entitlement's current status.
        InvalidTransition = "invalid_transition",
        /// The marketplace reports that the purchase or operation failed (AWS
        /// `subscribe-fail`, an Azure operation `Failed` or `Conflict`): nothing to grant.
        MarketplaceOperationFailed = "marketplace_operation_failed",
        /// The marketplace's records name several SKUs at once.
        AmbiguousPlan = "ambiguous_plan",
        /// A started action has no recorded outcome (see `action_interrupted`).
        ActionInterrupted = "action_interrupted",
        // Signals and Andon.
        /// A named signal that none of the tenant's enabled packs declares.
        UnknownSignal = "unknown_signal",
        /// The action's pack is stopped by a critical Andon that nobody has cleared yet.
        AndonStopped = "andon_stopped",
    } else {
        /// Gate 3: a pack precondition's refusal code.
        Precondition(RefusalCode),
    }
}

#[cfg(test)]
pub(crate) mod tests;
