//! Proof files: what a customer or a witness keeps to check the record without the ledger.
//!
//! An [`InclusionProof`] holds one receipt, its audit path and the signed checkpoint whose
//! root the path leads to: it proves the receipt is in the history the key holder signed. A
//! [`ConsistencyProof`] holds two checkpoints and the path between their roots: it proves the
//! newer history extends the older one (nothing was rewritten or removed in between). Both
//! are checked with the public key alone.

use serde::{Deserialize, Serialize};

use super::merkle::{self, Hash};
use super::signing::{Checkpoint, CheckpointError, PublicKey};
use super::{Metadata, Receipt};

/// `format` of an inclusion proof.
pub const INCLUSION_FORMAT: &str = "tai-inclusion-proof/v1";
/// `format` of a consistency proof.
pub const CONSISTENCY_FORMAT: &str = "tai-consistency-proof/v1";

/// One receipt, its audit path, and the signed checkpoint the path leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// `tai-inclusion-proof/v1`.
    pub format: String,
    /// The receipt, exactly as stored.
    pub receipt: Receipt,
    /// The receipt's leaf index (its seq).
    pub leaf_index: u64,
    /// Leaves in the signed tree (the checkpoint's seq + 1).
    pub tree_size: u64,
    /// Sibling hashes from the leaf up (RFC 9162 §2.1.3), hex.
    pub audit_path: Vec<String>,
    /// The signed checkpoint whose `merkle_root` the path leads to.
    pub checkpoint: Checkpoint,
}

/// Two checkpoints of one tenant and the path that proves the newer extends the older.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// `tai-consistency-proof/v1`.
    pub format: String,
    /// The older checkpoint (the one kept).
    pub old: Checkpoint,
    /// The newer checkpoint.
    pub new: Checkpoint,
    /// The consistency path from the old root to the new (RFC 9162 §2.1.4), hex.
    pub consistency_path: Vec<String>,
}

/// Either kind of proof file.
#[derive(Debug, Clone, PartialEq)]
pub enum ProofFile {
    /// A receipt's inclusion.
    Inclusion(Box<InclusionProof>),
    /// One checkpoint's extension of another.
    Consistency(Box<ConsistencyProof>),
}

impl ProofFile {
    /// Reads a proof file of either kind, told apart by its `format`. (Decoded straight from
    /// the bytes: a receipt's metadata must keep the exact text its hash is over.)
    pub fn from_json(bytes: &[u8]) -> Result<ProofFile, serde_json::Error> {
        #[derive(Deserialize)]
        struct Format {
            format: String,
        }
        let Format { format } = serde_json::from_slice(bytes)?;
        if format == CONSISTENCY_FORMAT {
            serde_json::from_slice(bytes).map(|p| ProofFile::Consistency(Box::new(p)))
        } else {
            serde_json::from_slice(bytes).map(|p| ProofFile::Inclusion(Box::new(p)))
        }
    }
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The file's `format` is not one this version checks.
    #[error("unknown proof format `{0}`")]
    Format(String),
    /// The receipt's hash does not match its content.
    #[error("the receipt was modified: its hash does not match its content")]
    ReceiptModified,
    /// The receipt is not the one the proof is about.
    #[error("the proof is about {what}, but {found}")]
    Mismatch {
        /// What the proof claims.
        what: String,
        /// What it holds.
        found: String,
    },
    /// A hash in the proof is not 64 hex digits.
    #[error("`{0}` is not a SHA-256 hash in hex")]
    BadHash(String),
    /// The path does not lead to the signed root.
    #[error("the {0} path does not lead to the signed Merkle root")]
    Path(&'static str),
    /// The checkpoint's signature.
    #[error(transparent)]
    Signature(#[from] CheckpointError),
}

fn hashes(hex_list: &[String]) -> Result<Vec<Hash>, ProofError> {
    hex_list.iter().map(|h| unhex(h)).collect()
}

fn unhex(h: &str) -> Result<Hash, ProofError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).map_err(|_| ProofError::BadHash(h.to_owned()))?;
    Ok(out)
}

/// Whether `receipt`'s hash matches its content, its metadata taken as the JSON it is: a
/// proof file is a document people reformat (`jq .` indents the metadata too), and the
/// hash is over the canonical encoding, which encoding the metadata again gives back.
fn hash_holds(receipt: &Receipt) -> bool {
    if receipt.hash_is_valid() {
        return true;
    }
    let metadata = &receipt.body.metadata;
    if metadata.is_canonical() {
        return false;
    }
    let mut canonical = receipt.clone();
    canonical.body.metadata = Metadata::from(metadata.to_value());
    canonical.hash_is_valid()
}

impl InclusionProof {
    /// The proof of `receipt` with `path` under `checkpoint`.
    pub fn new(receipt: Receipt, path: Vec<Hash>, checkpoint: Checkpoint) -> Self {
        InclusionProof {
            format: INCLUSION_FORMAT.to_owned(),
            leaf_index: receipt.seq,
            tree_size: checkpoint.tree_size(),
            receipt,
            audit_path: path.iter().map(hex::encode).collect(),
            checkpoint,
        }
    }

    /// Checks everything but the signature: the receipt's own hash, that it is the leaf and
    /// tenant the proof names, and that the path leads to the checkpoint's root.
    pub fn check_tree(&self) -> Result<(), ProofError> {
        if self.format != INCLUSION_FORMAT {
            return Err(ProofError::Format(self.format.clone()));
        }
        if !hash_holds(&self.receipt) {
            return Err(ProofError::ReceiptModified);
        }
        if self.receipt.seq != self.leaf_index {
            return Err(ProofError::Mismatch {
                what: format!("leaf {}", self.leaf_index),
                found: format!("the receipt is seq {}", self.receipt.seq),
            });
        }
        if self.receipt.body.tenant_id != self.checkpoint.tenant_id {
            return Err(ProofError::Mismatch {
                what: format!("tenant `{}`", self.checkpoint.tenant_id),
                found: format!("the receipt is tenant `{}`'s", self.receipt.body.tenant_id),
            });
        }
        if self.tree_size != self.checkpoint.tree_size() {
            return Err(ProofError::Mismatch {
                what: format!("a tree of {} receipts", self.tree_size),
                found: format!("the checkpoint covers {}", self.checkpoint.tree_size()),
            });
        }
        let leaf = unhex(&self.receipt.hash).map(|h| merkle::leaf_hash(&h))?;
        let root = unhex(&self.checkpoint.merkle_root)?;
        let path = hashes(&self.audit_path)?;
        if merkle::verify_inclusion(self.leaf_index, self.tree_size, &leaf, &path, &root) {
            Ok(())
        } else {
            Err(ProofError::Path("audit"))
        }
    }

    /// Checks the proof completely with `keys`.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<(), ProofError> {
        self.check_tree()?;
        Ok(self.checkpoint.verify_signature(keys)?)
    }
}

impl ConsistencyProof {
    /// The proof that `new` extends `old` with `path`.
    pub fn new(old: Checkpoint, new: Checkpoint, path: Vec<Hash>) -> Self {
        ConsistencyProof {
            format: CONSISTENCY_FORMAT.to_owned(),
            old,
            new,
            consistency_path: path.iter().map(hex::encode).collect(),
        }
    }

    /// Checks everything but the signatures.
    pub fn check_tree(&self) -> Result<(), ProofError> {
        if self.format != CONSISTENCY_FORMAT {
            return Err(ProofError::Format(self.format.clone()));
        }
        if self.old.tenant_id != self.new.tenant_id {
            return Err(ProofError::Mismatch {
                what: format!("tenant `{}`", self.old.tenant_id),
                found: format!("the newer checkpoint is tenant `{}`'s", self.new.tenant_id),
            });
        }
        let (m, n) = (self.old.tree_size(), self.new.tree_size());
        let same_point = m == n && self.old.head_hash != self.new.head_hash;
        let old_root = unhex(&self.old.merkle_root)?;
        let new_root = unhex(&self.new.merkle_root)?;
        let path = hashes(&self.consistency_path)?;
        if !same_point && merkle::verify_consistency(m, n, &old_root, &new_root, &path) {
            Ok(())
        } else {
            Err(ProofError::Path("consistency"))
        }
    }

    /// Checks the proof completely with `keys`: both checkpoints must be signed.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<(), ProofError> {
        self.check_tree()?;
        self.old.verify_signature(keys)?;
        Ok(self.new.verify_signature(keys)?)
    }
}
