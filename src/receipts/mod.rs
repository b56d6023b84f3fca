//! Receipts: one per state change or decision, hash-chained per tenant.
//!
//! A receipt's `hash` is SHA-256 over its canonical encoding without the hash: compact JSON
//! with the fields in the order declared on [`ReceiptBody`] and object keys sorted. The
//! ledger line is exactly that encoding with `,"hash":"<hex>"` inserted before the closing
//! brace, so a verifier can hash the stored bytes without re-encoding anything.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::ids::TenantId;
use crate::vocab::{GovernorState, ReasonCode};

mod evidence;
pub mod export;
mod filter;
mod id;
pub mod ledger;
mod line;
pub mod merkle;
mod metadata;
pub mod proof;
mod sample;
pub mod signing;
pub mod trust;
pub mod verify;

pub use crate::vocab::EventType;
pub use evidence::{Evidence, EvidenceError, InMemory};
pub use filter::ReceiptFilter;
pub use id::IdSource;
pub use ledger::{
    FileLedger, Ledger, LedgerDir, LedgerError, LedgerOptions, Manifest, MemoryLedger, StoredHead,
};
pub use metadata::{Metadata, MetadataBuilder, ObjectWriter};
pub use proof::{ConsistencyProof, InclusionProof, ProofFile};
pub use sample::{sample_body, sample_chain};
pub use signing::{Checkpoint, CheckpointSigner, PublicKey};
pub use verify::{Problem, ProblemKind, VerifyReport, check_next, verify_ledger, verify_receipts};

/// `prev_hash` of the first receipt in a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything a receipt says, before it is sealed into a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReceiptBody {
    /// Unique id.
    pub id: Arc<str>,
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
    pub metadata: Metadata,
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
///
/// Encoded flat (the body's fields beside the chain fields), in the canonical field order.
#[derive(Debug, Clone, PartialEq, schemars::JsonSchema)]
pub struct Receipt {
    /// Position in the tenant's chain, from 0.
    pub seq: u64,
    /// Hash of the previous receipt ([`GENESIS_HASH`] for seq 0): the same text as that
    /// receipt's `hash`, shared.
    pub prev_hash: Arc<str>,
    /// The receipt's content.
    #[schemars(flatten)]
    pub body: ReceiptBody,
    /// SHA-256 (hex) of the canonical encoding without this field.
    pub hash: Arc<str>,
}

/// The end of a chain: the seq and hash the next receipt links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainHead {
    /// Seq of the next receipt to be appended (= number of receipts).
    pub next_seq: u64,
    /// Hash of the last receipt, or [`GENESIS_HASH`].
    pub hash: Arc<str>,
}

impl Default for ChainHead {
    fn default() -> Self {
        ChainHead {
            next_seq: 0,
            hash: GENESIS_HASH.into(),
        }
    }
}

// Serialized as its ledger line, so the field order lives in one place (`write_unsealed`) and
// the metadata's text is carried through as it is. (A derived `#[serde(flatten)]` buffers
// every field and cannot carry raw text.)
impl Serialize for Receipt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let line = String::from_utf8(self.to_line()).map_err(serde::ser::Error::custom)?;
        let raw =
            serde_json::value::RawValue::from_string(line).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A receipt as stored: every field side by side.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatReceipt {
    seq: u64,
    prev_hash: Arc<str>,
    id: Arc<str>,
    timestamp: Timestamp,
    tenant_id: TenantId,
    governor_id: std::sync::Arc<str>,
    state_from: GovernorState,
    state_to: GovernorState,
    event_type: EventType,
    reason: Option<ReasonCode>,
    metadata: Metadata,
    catalog_hash: std::sync::Arc<str>,
    hash: Arc<str>,
}

impl<'de> Deserialize<'de> for Receipt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = FlatReceipt::deserialize(deserializer)?;
        Ok(Receipt {
            seq: f.seq,
            prev_hash: f.prev_hash,
            body: ReceiptBody {
                id: f.id,
                timestamp: f.timestamp,
                tenant_id: f.tenant_id,
                governor_id: f.governor_id,
                state_from: f.state_from,
                state_to: f.state_to,
                event_type: f.event_type,
                reason: f.reason,
                metadata: f.metadata,
                catalog_hash: f.catalog_hash,
            },
            hash: f.hash,
        })
    }
}

/// Appends the canonical encoding of a receipt without its hash to `out`: the chain fields,
/// then the body's in declaration order, the metadata copied as the text it already is.
fn write_unsealed(out: &mut Vec<u8>, seq: u64, prev_hash: &str, b: &ReceiptBody) {
    fn field(out: &mut Vec<u8>, key: &[u8], value: &impl Serialize) {
        out.extend_from_slice(key);
        // Plain data with string keys encodes into a Vec without error.
        let _ = serde_json::to_writer(&mut *out, value);
    }
    fn string(out: &mut Vec<u8>, key: &[u8], value: &str) {
        out.extend_from_slice(key);
        metadata::write_str(out, value);
    }
    field(out, b"{\"seq\":", &seq);
    string(out, b",\"prev_hash\":", prev_hash);
    string(out, b",\"id\":", &b.id);
    field(out, b",\"timestamp\":", &b.timestamp);
    string(out, b",\"tenant_id\":", b.tenant_id.as_str());
    string(out, b",\"governor_id\":", &b.governor_id);
    // A vocabulary's name is its serde name (both come from one list).
    string(out, b",\"state_from\":", b.state_from.as_str());
    string(out, b",\"state_to\":", b.state_to.as_str());
    string(out, b",\"event_type\":", b.event_type.as_str());
    field(out, b",\"reason\":", &b.reason);
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(b.metadata.as_str().as_bytes());
    string(out, b",\"catalog_hash\":", &b.catalog_hash);
    out.push(b'}');
}

impl ChainHead {
    /// Seals `body` as the next receipt of this chain and advances the head.
    pub fn seal(&mut self, body: ReceiptBody) -> Receipt {
        let hex = SCRATCH.with_borrow_mut(|bytes| {
            bytes.clear();
            write_unsealed(bytes, self.next_seq, &self.hash, &body);
            sha256_hex_digits(bytes)
        });
        // Hex digits are ASCII.
        let hash: Arc<str> = std::str::from_utf8(&hex).unwrap_or_default().into();
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

thread_local! {
    /// The buffer a receipt is encoded into to be hashed: sealing allocates only what the
    /// receipt keeps.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `receipts` as a ledger file holds them: each one's line and a newline.
pub fn ledger_lines(receipts: &[Receipt]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for r in receipts {
        r.write_line(&mut bytes);
        bytes.push(b'\n');
    }
    bytes
}

/// SHA-256 of `bytes` in lowercase hex digits.
fn sha256_hex_digits(bytes: &[u8]) -> [u8; 64] {
    merkle::hex_digits(&Sha256::digest(bytes).into())
}

/// SHA-256 of `bytes` in lowercase hex, the form every hash in a receipt takes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    merkle::to_hex(&Sha256::digest(bytes).into())
}

fn canonical_unsealed(seq: u64, prev_hash: &str, body: &ReceiptBody) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256 + body.metadata.as_str().len());
    write_unsealed(&mut bytes, seq, prev_hash, body);
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
        write_unsealed(out, self.seq, &self.prev_hash, &self.body);
        out.pop(); // the closing brace
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
        sha256_hex_digits(&self.canonical_unsealed()) == self.hash.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: u64) -> ReceiptBody {
        ReceiptBody {
            id: format!("r{n}").into(),
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
        let unsealed: serde_json::Value =
            serde_json::from_slice(&canonical_unsealed(3, GENESIS_HASH, &b)).unwrap();
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
    fn states_and_events_are_written_as_serde_writes_them() {
        for state in GovernorState::ALL {
            let want = serde_json::to_string(&state).unwrap();
            assert_eq!(want, format!("\"{}\"", state.as_str()));
        }
        for event in EventType::ALL {
            let want = serde_json::to_string(&event).unwrap();
            assert_eq!(want, format!("\"{}\"", event.as_str()));
        }
    }

    #[test]
    fn serde_and_the_canonical_encoding_agree() {
        let r = ChainHead::default().seal(body(4));
        assert_eq!(serde_json::to_vec(&r).unwrap(), r.to_line());
    }

    #[test]
    fn sealing_links_receipts() {
        let mut head = ChainHead::default();
        let r0 = head.seal(body(0));
        let r1 = head.seal(body(1));
        assert_eq!(r0.seq, 0);
        assert_eq!(&*r0.prev_hash, GENESIS_HASH);
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
