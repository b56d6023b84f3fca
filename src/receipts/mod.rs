//! Receipts: one per state change or decision, hash-chained per tenant.
//!
//! A receipt's `hash` is SHA-256 over its canonical encoding without the hash: compact JSON
//! with the fields in the order declared on [`ReceiptBody`] and object keys sorted. The
//! ledger line is exactly that encoding with `,"hash":"<hex>"` inserted before the closing
//! brace, so a verifier can hash the stored bytes without re-encoding anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::governor::{GovernorState, ReasonCode};
use crate::ids::TenantId;

pub mod export;
mod filter;
pub mod ledger;
mod line;
mod sample;
pub mod verify;

pub use filter::ReceiptFilter;
pub use ledger::{FileLedger, Ledger, LedgerDir, LedgerError, MemoryLedger, StoredHead};
pub use sample::{sample_body, sample_chain};
pub use verify::{Problem, ProblemKind, VerifyReport, verify_ledger, verify_receipts};

/// `prev_hash` of the first receipt in a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a receipt records.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    // Entitlement lifecycle.
    /// A new entitlement was accepted.
    EntitlementActivated,
    /// The plan changed (upgrade or downgrade).
    EntitlementUpdated,
    /// The entitlement was renewed.
    EntitlementRenewed,
    /// The entitlement was suspended.
    EntitlementSuspended,
    /// A suspended entitlement was reinstated.
    EntitlementReinstated,
    /// The entitlement was cancelled.
    EntitlementCancelled,
    /// The entitlement's expiry passed.
    EntitlementExpired,
    /// An entitlement event was refused; nothing changed.
    EntitlementUpdateRefused,
    /// The tenant's visible tools changed.
    ToolSurfaceChanged,
    // Signals.
    /// A signal was processed.
    SignalProcessed,
    /// A signal was refused.
    SignalRefused,
    /// A signal arrived while an action was in flight and was postponed.
    SignalPostponed,
    // Tool calls.
    /// A tool call passed all gates and its action succeeded.
    ActionExecuted,
    /// A tool call was refused by a gate or by the governor's state.
    ActionRefused,
    /// A tool call named a tool outside the tenant's enabled packs.
    ToolNotFound,
    /// An action overran its wall-clock limit.
    ActionTimeout,
    /// An action overran its memory limit.
    ActionMemoryExceeded,
    /// An action failed (non-zero exit, bad output, output too large, declared error).
    ActionErrored,
    // Recovery.
    /// The in-flight action was reported complete.
    ActionCompleted,
    /// The in-flight action was reported failed.
    ActionFailed,
}

impl EventType {
    /// Every event type, in declaration order.
    pub const ALL: [EventType; 20] = [
        EventType::EntitlementActivated,
        EventType::EntitlementUpdated,
        EventType::EntitlementRenewed,
        EventType::EntitlementSuspended,
        EventType::EntitlementReinstated,
        EventType::EntitlementCancelled,
        EventType::EntitlementExpired,
        EventType::EntitlementUpdateRefused,
        EventType::ToolSurfaceChanged,
        EventType::SignalProcessed,
        EventType::SignalRefused,
        EventType::SignalPostponed,
        EventType::ActionExecuted,
        EventType::ActionRefused,
        EventType::ToolNotFound,
        EventType::ActionTimeout,
        EventType::ActionMemoryExceeded,
        EventType::ActionErrored,
        EventType::ActionCompleted,
        EventType::ActionFailed,
    ];

    /// The event type as written in receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::EntitlementActivated => "entitlement_activated",
            EventType::EntitlementUpdated => "entitlement_updated",
            EventType::EntitlementRenewed => "entitlement_renewed",
            EventType::EntitlementSuspended => "entitlement_suspended",
            EventType::EntitlementReinstated => "entitlement_reinstated",
            EventType::EntitlementCancelled => "entitlement_cancelled",
            EventType::EntitlementExpired => "entitlement_expired",
            EventType::EntitlementUpdateRefused => "entitlement_update_refused",
            EventType::ToolSurfaceChanged => "tool_surface_changed",
            EventType::SignalProcessed => "signal_processed",
            EventType::SignalRefused => "signal_refused",
            EventType::SignalPostponed => "signal_postponed",
            EventType::ActionExecuted => "action_executed",
            EventType::ActionRefused => "action_refused",
            EventType::ToolNotFound => "tool_not_found",
            EventType::ActionTimeout => "action_timeout",
            EventType::ActionMemoryExceeded => "action_memory_exceeded",
            EventType::ActionErrored => "action_errored",
            EventType::ActionCompleted => "action_completed",
            EventType::ActionFailed => "action_failed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event type name that is not one of [`EventType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`; known types: {known}", known = known_event_types())]
pub struct UnknownEventType(pub String);

fn known_event_types() -> String {
    EventType::ALL.map(EventType::as_str).join(", ")
}

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// Everything a receipt says, before it is sealed into a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptBody {
    /// Unique id.
    pub id: String,
    /// When the decision was made (by the engine's clock).
    pub timestamp: Timestamp,
    /// The tenant the receipt belongs to.
    pub tenant_id: TenantId,
    /// The governor instance that decided.
    pub governor_id: std::sync::Arc<str>,
    /// Governor state before.
    pub state_from: GovernorState,
    /// Governor state after.
    pub state_to: GovernorState,
    /// What happened.
    pub event_type: EventType,
    /// Why, for refusals and failures.
    pub reason: Option<ReasonCode>,
    /// Event details (tool, gate, result, entitlement snapshot, ...).
    pub metadata: std::sync::Arc<serde_json::Value>,
    /// Hash of the catalog the decision was made under.
    pub catalog_hash: std::sync::Arc<str>,
}

impl ReceiptBody {
    /// `from → to` when the state changed, else the state: the column tables show.
    pub fn state_change(&self) -> String {
        if self.state_from == self.state_to {
            self.state_to.to_string()
        } else {
            format!("{} → {}", self.state_from, self.state_to)
        }
    }
}

/// A sealed receipt: its body plus its place in the tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Position in the tenant's chain, from 0.
    pub seq: u64,
    /// Hash of the previous receipt ([`GENESIS_HASH`] for seq 0).
    pub prev_hash: String,
    /// The receipt's content.
    #[serde(flatten)]
    pub body: ReceiptBody,
    /// SHA-256 (hex) of the canonical encoding without this field.
    pub hash: String,
}

/// The end of a chain: the seq and hash the next receipt links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Seq of the next receipt to be appended (= number of receipts).
    pub next_seq: u64,
    /// Hash of the last receipt, or [`GENESIS_HASH`].
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        ChainHead {
            next_seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// A receipt without its hash: the chain fields, then the body's, in declaration order.
struct Unsealed<'a> {
    seq: u64,
    prev_hash: &'a str,
    body: &'a ReceiptBody,
}

// Written out rather than `#[serde(flatten)]`, which goes through a map serializer and made
// sealing (on every decision) markedly slower. The output is the same bytes.
impl Serialize for Unsealed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let b = self.body;
        let mut s = serializer.serialize_struct("Receipt", 12)?;
        s.serialize_field("seq", &self.seq)?;
        s.serialize_field("prev_hash", self.prev_hash)?;
        s.serialize_field("id", &b.id)?;
        s.serialize_field("timestamp", &b.timestamp)?;
        s.serialize_field("tenant_id", &b.tenant_id)?;
        s.serialize_field("governor_id", &b.governor_id)?;
        s.serialize_field("state_from", &b.state_from)?;
        s.serialize_field("state_to", &b.state_to)?;
        s.serialize_field("event_type", &b.event_type)?;
        s.serialize_field("reason", &b.reason)?;
        s.serialize_field("metadata", &b.metadata)?;
        s.serialize_field("catalog_hash", &b.catalog_hash)?;
        s.end()
    }
}

impl ChainHead {
    /// Seals `body` as the next receipt of this chain and advances the head.
    pub fn seal(&mut self, body: ReceiptBody) -> Receipt {
        let bytes = canonical_unsealed(self.next_seq, &self.hash, &body);
        let hash = hex::encode(Sha256::digest(&bytes));
        let receipt = Receipt {
            seq: self.next_seq,
            prev_hash: std::mem::replace(&mut self.hash, hash.clone()),
            body,
            hash,
        };
        self.next_seq += 1;
        receipt
    }
}

fn canonical_unsealed(seq: u64, prev_hash: &str, body: &ReceiptBody) -> Vec<u8> {
    let unsealed = Unsealed {
        seq,
        prev_hash,
        body,
    };
    // Serializing plain data with string keys cannot fail.
    let mut bytes = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut bytes, &unsealed);
    bytes
}

impl Receipt {
    /// The canonical encoding of the receipt without its hash: the bytes `hash` is over.
    pub fn canonical_unsealed(&self) -> Vec<u8> {
        canonical_unsealed(self.seq, &self.prev_hash, &self.body)
    }

    /// The ledger line (without newline): the unsealed encoding with the hash appended.
    pub fn to_line(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(512);
        self.write_line(&mut bytes);
        bytes
    }

    /// Appends the ledger line (without newline) to `out`, so a batch is encoded into one
    /// buffer without an allocation per receipt.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        let unsealed = Unsealed {
            seq: self.seq,
            prev_hash: &self.prev_hash,
            body: &self.body,
        };
        // Serializing plain data with string keys into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, &unsealed).is_ok() {
            out.pop(); // the closing brace
        }
        out.extend_from_slice(b",\"hash\":\"");
        out.extend_from_slice(self.hash.as_bytes());
        out.extend_from_slice(b"\"}");
    }

    /// The first 12 hex digits of the hash, for tables.
    pub fn short_hash(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }

    /// Whether `hash` matches the content.
    pub fn hash_is_valid(&self) -> bool {
        hex::encode(Sha256::digest(self.canonical_unsealed())) == self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governor::GovernorState;

    fn body(n: u64) -> ReceiptBody {
        ReceiptBody {
            id: format!("r{n}"),
            timestamp: Timestamp::from_secs(n),
            tenant_id: TenantId::new("acme").unwrap(),
            governor_id: "gov-acme".into(),
            state_from: GovernorState::Boot,
            state_to: GovernorState::Stable,
            event_type: EventType::SignalProcessed,
            reason: None,
            metadata: serde_json::json!({"b": 1, "a": [1, 2]}).into(),
            catalog_hash: "c".repeat(64).into(),
        }
    }

    #[test]
    fn the_unsealed_encoding_carries_every_body_field() {
        let b = body(3);
        let unsealed = serde_json::to_value(Unsealed {
            seq: 3,
            prev_hash: GENESIS_HASH,
            body: &b,
        })
        .unwrap();
        let mut want: Vec<String> = serde_json::to_value(&b)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        want.extend(["seq".to_owned(), "prev_hash".to_owned()]);
        want.sort();
        let mut got: Vec<String> = unsealed.as_object().unwrap().keys().cloned().collect();
        got.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn sealing_links_receipts() {
        let mut head = ChainHead::default();
        let r0 = head.seal(body(0));
        let r1 = head.seal(body(1));
        assert_eq!(r0.seq, 0);
        assert_eq!(r0.prev_hash, GENESIS_HASH);
        assert_eq!(r1.prev_hash, r0.hash);
        assert_eq!(head.next_seq, 2);
        assert_eq!(head.hash, r1.hash);
        assert!(r0.hash_is_valid() && r1.hash_is_valid());
    }

    #[test]
    fn line_round_trips_and_starts_with_chain_fields() {
        let mut head = ChainHead::default();
        let r = head.seal(body(7));
        let line = String::from_utf8(r.to_line()).unwrap();
        assert!(line.starts_with("{\"seq\":0,\"prev_hash\":\""));
        assert!(line.ends_with(&format!(",\"hash\":\"{}\"}}", r.hash)));
        let back: Receipt = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert!(back.hash_is_valid());
    }
}
