//! Signing keys and signed checkpoints: what lets a holder of the public key tell the chain a
//! writer acknowledged from one rewritten by anyone with write access to the state directory.
//!
//! Keys are Ed25519, stored as PEM the way OpenSSL writes them (`PRIVATE KEY`: PKCS #8;
//! `PUBLIC KEY`: SubjectPublicKeyInfo), so `openssl pkey` reads them and `openssl pkeyutl`
//! verifies a checkpoint without tai. A key's id is the first 16 hex digits of the SHA-256 of
//! its 32 public-key bytes.
//!
//! A [`Checkpoint`] states a tenant's head: the seq and hash of its last receipt, the Merkle
//! root of all its receipts, the catalog hash the last receipt was decided under, when it was
//! signed and by which key. The signature is over [`Checkpoint::signed_text`], a fixed list of
//! lines, so nothing about JSON encodings matters to it.
//!
//! The tenants one flush round writes are signed together ([`CheckpointSigner::checkpoints`]):
//! each tenant's statement is a leaf of a Merkle tree of the round, and one signature covers
//! the round's root. Each checkpoint carries its leaf's [`Round`] path, so it still verifies
//! on its own; the round costs one signature however many tenants it wrote.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::ids::TenantId;
use crate::intake::{self, Reading};

use super::merkle::{self, Hash};

/// What a key file's refusals say about it.
const KEY_FILE: Reading = Reading {
    regular: "a key is a regular PEM file, as `tai keys new` writes",
    text: "a key file is PEM text",
    size: "a key file is a few hundred bytes; check that it is the right file",
    missing: "check the path, or write a key pair with `tai keys new --out PREFIX`",
};

/// A key file's text, bounded like every input (a FIFO or a huge file is refused unread).
fn read_key(path: &Path) -> Result<String, KeyError> {
    intake::read_text(path, &KEY_FILE).map_err(|d| KeyError::Read(d.message))
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be read as text (missing, not a regular file, too large, binary).
    #[error("{0}")]
    Read(String),
    /// The file is not a key of the expected kind.
    #[error("`{path}` is not an Ed25519 {kind} key in PEM: {detail}")]
    Format {
        /// The key file.
        path: PathBuf,
        /// `private` or `public`.
        kind: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// The private key file may be read by other users.
    #[error(
        "signing key `{path}` is readable by group or others (mode {mode:o})\n\
         hint: chmod 600 `{path}`"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The private key file is inside the state directory it would sign.
    #[error(
        "signing key `{path}` is inside the state directory `{state}`: anyone who can rewrite \
         the ledger could then re-sign it\nhint: keep the key outside the state directory"
    )]
    InState {
        /// The key file.
        path: PathBuf,
        /// The state directory.
        state: PathBuf,
    },
    /// Creating a key failed.
    #[error("cannot create a key: {0}")]
    Create(String),
}

/// The key that signs checkpoints (and the workspace manifest).
#[derive(Clone)]
pub struct CheckpointSigner {
    key: SigningKey,
    public: PublicKey,
    /// Its own public half first, then the previous keys it continues (see
    /// [`CheckpointSigner::continuing`]).
    trusted: Vec<PublicKey>,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.public().key_id)
            .finish_non_exhaustive()
    }
}

/// A key that checks checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: String,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyError {
    let path = path.to_path_buf();
    move |source| KeyError::Io {
        action,
        path,
        source,
    }
}

impl CheckpointSigner {
    /// The key whose 32 secret bytes are `seed` (from a secure random source).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = PublicKey::new(key.verifying_key());
        CheckpointSigner {
            key,
            trusted: vec![public.clone()],
            public,
        }
    }

    /// Reads a private key file, refusing one that group or others may read, or one inside
    /// `state` (the directory whose ledgers it signs).
    pub fn load(path: &Path, state: Option<&Path>) -> Result<Self, KeyError> {
        let meta = fs::metadata(path).map_err(io("read", path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        if let Some(state) = state {
            let key = fs::canonicalize(path).map_err(io("resolve", path))?;
            // A state directory not created yet holds nothing.
            if let Ok(state) = fs::canonicalize(state)
                && key.starts_with(&state)
            {
                return Err(KeyError::InState {
                    path: path.to_path_buf(),
                    state,
                });
            }
        }
        let text = read_key(path)?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::Format {
            path: path.to_path_buf(),
            kind: "private",
            detail: e.to_string(),
        })?;
        let public = PublicKey::new(key.verifying_key());
        Ok(CheckpointSigner {
            key,
            trusted: vec![public.clone()],
            public,
        })
    }

    /// This key, taking over from `previous` (keys it replaced): a writer accepts what they
    /// signed — the latest checkpoint, a crashed writer's logged rounds, the workspace
    /// manifest — as it accepts what this key signed, so a rotated key continues a signed
    /// history instead of refusing it. Only public halves: the old private key may be
    /// destroyed.
    pub fn continuing(mut self, previous: impl IntoIterator<Item = PublicKey>) -> Self {
        for key in previous {
            if !self.trusted.contains(&key) {
                self.trusted.push(key);
            }
        }
        self
    }

    /// The keys whose signatures this writer accepts: its own, then the previous ones.
    pub fn trusted(&self) -> &[PublicKey] {
        &self.trusted
    }

    /// The private key as PEM (PKCS #8).
    pub fn private_pem(&self) -> Result<String, KeyError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .map_err(|e| KeyError::Create(e.to_string()))
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The signature of `message`, base64.
    pub fn sign(&self, message: &[u8]) -> String {
        BASE64.encode(self.key.sign(message).to_bytes())
    }

    /// Signs a checkpoint of `head` alone.
    pub fn checkpoint(&self, head: CheckpointHead, time: Timestamp) -> Checkpoint {
        let mut c = Checkpoint {
            tenant_id: head.tenant,
            seq: head.seq,
            head_hash: head.head_hash,
            merkle_root: merkle::to_hex(&head.merkle_root),
            catalog_hash: head.catalog_hash,
            time,
            key_id: self.public().key_id.clone(),
            round: None,
            signature: String::new(),
        };
        c.signature = self.sign(c.statement().as_bytes());
        c
    }

    /// Signs checkpoints of `heads` (a round's, one per tenant) with one signature over the
    /// Merkle root of their statements; a round of one is signed alone.
    pub fn checkpoints(&self, heads: Vec<CheckpointHead>, time: Timestamp) -> Vec<Checkpoint> {
        self.sign_round(heads, time)
            .map(|round| round.checkpoints())
            .unwrap_or_default()
    }

    /// Signs a round as [`CheckpointSigner::checkpoints`] does, without making each
    /// checkpoint and its path: what a writer that stores the round once keeps (a flush
    /// round's cost is then its leaves, its root and one signature). `None` for no heads.
    pub fn sign_round(&self, heads: Vec<CheckpointHead>, time: Timestamp) -> Option<SignedRound> {
        if heads.is_empty() {
            return None;
        }
        let mut round = SignedRound {
            time,
            key_id: self.public().key_id.clone(),
            signature: String::new(),
            heads: heads
                .into_iter()
                .map(|h| {
                    let root = merkle::to_hex(&h.merkle_root);
                    (h.tenant, h.seq, h.head_hash, root, h.catalog_hash)
                })
                .collect(),
        };
        round.signature = self.sign(round.signed_text().as_bytes());
        Some(round)
    }
}

impl PublicKey {
    fn new(key: VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        PublicKey {
            key,
            key_id: hex::encode(&digest[..8]),
        }
    }

    /// Reads a public key file (a private key file is accepted too: its public half).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_key(path)?;
        if let Ok(key) = VerifyingKey::from_public_key_pem(&text) {
            return Ok(PublicKey::new(key));
        }
        SigningKey::from_pkcs8_pem(&text)
            .map(|k| PublicKey::new(k.verifying_key()))
            .map_err(|e| KeyError::Format {
                path: path.to_path_buf(),
                kind: "public",
                detail: e.to_string(),
            })
    }

    /// The key as PEM (SubjectPublicKeyInfo).
    pub fn pem(&self) -> Result<String, KeyError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Create(e.to_string()))
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = BASE64.decode(signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// What a checkpoint states, before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointHead {
    /// The tenant.
    pub tenant: TenantId,
    /// Seq of the last receipt covered.
    pub seq: u64,
    /// Its hash.
    pub head_hash: String,
    /// The Merkle root of receipts 0 ..= seq.
    pub merkle_root: Hash,
    /// The catalog hash of the last receipt.
    pub catalog_hash: String,
}

/// A signed statement of a tenant's head. Stored one per line in `<tenant>.checkpoints`
/// beside the ledger, exported by `tai receipts checkpoint`, served over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Seq of the last receipt covered (the tree has `seq + 1` leaves).
    pub seq: u64,
    /// Hash of receipt `seq`.
    pub head_hash: String,
    /// Merkle root (RFC 6962 shape) of receipts `0 ..= seq`, hex.
    pub merkle_root: String,
    /// The catalog hash receipt `seq` was decided under.
    pub catalog_hash: String,
    /// When the checkpoint was signed.
    pub time: Timestamp,
    /// Id of the signing key: the first 16 hex digits of SHA-256 of its public key bytes.
    pub key_id: String,
    /// Where this checkpoint sits in the round it was signed with, when it was signed together
    /// with other tenants' (absent: signed alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<Round>,
    /// Ed25519 signature of [`Checkpoint::signed_text`], base64.
    pub signature: String,
}

/// A checkpoint's place in a round signed together: leaf `index` of a Merkle tree of `size`
/// leaves, each `SHA-256(0x00 ‖ statement)` of one checkpoint (RFC 6962 leaf and node shapes),
/// with `path` its audit path, hex, deepest sibling first (RFC 9162 §2.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// The leaf's position in the round.
    pub index: u64,
    /// How many checkpoints the round signed.
    pub size: u64,
    /// The audit path from this checkpoint's leaf to the round's root.
    pub path: Vec<String>,
}

/// A round's checkpoints stored once: what each says of its own tenant, and the time, key
/// and signature they share. A round's paths are derived from its statements, so this is
/// about a quarter of its checkpoint lines' bytes; [`SignedRound::checkpoints`] gives back
/// the checkpoints it was signed as (what [`CheckpointSigner::checkpoints`] returns). What a
/// file ledger's write-ahead log keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRound {
    /// When the round was signed.
    pub time: Timestamp,
    /// The signing key's id.
    pub key_id: String,
    /// The round's signature (of a checkpoint's statement for a round of one).
    pub signature: String,
    /// Each checkpoint's own part, in round order: tenant, seq, head hash, Merkle root,
    /// catalog hash.
    pub heads: Vec<(TenantId, u64, String, String, String)>,
}

impl SignedRound {
    /// The round's checkpoints, paths recomputed.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let mut checkpoints: Vec<Checkpoint> = (0..self.heads.len())
            .filter_map(|i| self.unsigned(i))
            .collect();
        if checkpoints.len() > 1 {
            let (_, paths) = merkle::root_and_paths(&self.leaves());
            for (c, path) in checkpoints.iter_mut().zip(paths) {
                if let Some(round) = &mut c.round {
                    round.path = path.iter().map(merkle::to_hex).collect();
                }
            }
        }
        checkpoints
    }

    /// The checkpoint of the round's head `index`, path recomputed (`None`: no such head).
    pub fn checkpoint(&self, index: usize) -> Option<Checkpoint> {
        let mut c = self.unsigned(index)?;
        if let Some(round) = &mut c.round {
            let (_, mut paths) = merkle::root_and_paths(&self.leaves());
            round.path = paths
                .swap_remove(index)
                .iter()
                .map(merkle::to_hex)
                .collect();
        }
        Some(c)
    }

    /// Head `index` as a checkpoint without its path: in a round of two or more it carries
    /// its `round` place (so its statement is v2), with the path left empty.
    fn unsigned(&self, index: usize) -> Option<Checkpoint> {
        let (tenant, seq, head_hash, merkle_root, catalog_hash) = self.heads.get(index)?;
        let size = self.heads.len() as u64;
        Some(Checkpoint {
            tenant_id: tenant.clone(),
            seq: *seq,
            head_hash: head_hash.clone(),
            merkle_root: merkle_root.clone(),
            catalog_hash: catalog_hash.clone(),
            time: self.time,
            key_id: self.key_id.clone(),
            round: (size > 1).then(|| Round {
                index: index as u64,
                size,
                path: Vec::new(),
            }),
            signature: self.signature.clone(),
        })
    }

    /// Every head's leaf, `SHA-256(0x00 ‖ statement)`, in round order, each statement written
    /// into one buffer with the time's text made once: a flush round's signer runs this for
    /// every tenant the round wrote.
    fn leaves(&self) -> Vec<Hash> {
        let time = self.time.to_string();
        let in_round = self.heads.len() > 1;
        let mut text = String::with_capacity(512);
        self.heads
            .iter()
            .map(|head| {
                text.clear();
                StatementHead::of(head).write(&mut text, in_round, &time, &self.key_id);
                leaf_of(&text)
            })
            .collect()
    }

    /// The text the round's signature is over: a lone checkpoint's statement, or the round's
    /// root with its size, time and key.
    fn signed_text(&self) -> String {
        match self.heads.as_slice() {
            [] => String::new(),
            [head] => {
                let mut text = String::with_capacity(512);
                let time = self.time.to_string();
                StatementHead::of(head).write(&mut text, false, &time, &self.key_id);
                text
            }
            heads => {
                let root = merkle::root_of(&self.leaves());
                round_text(heads.len() as u64, &root, self.time, &self.key_id)
            }
        }
    }
}

/// What one checkpoint's statement says of its own tenant.
struct StatementHead<'a> {
    tenant: &'a str,
    seq: u64,
    head: &'a str,
    root: &'a str,
    catalog: &'a str,
}

impl StatementHead<'_> {
    /// A round's head as its statement's own part.
    fn of(head: &(TenantId, u64, String, String, String)) -> StatementHead<'_> {
        let (tenant, seq, head, root, catalog) = head;
        StatementHead {
            tenant: tenant.as_str(),
            seq: *seq,
            head,
            root,
            catalog,
        }
    }

    /// Appends the statement (see [`Checkpoint::statement`]) to `out`: version 2 for a leaf of
    /// a round, 1 for a checkpoint signed alone.
    fn write(&self, out: &mut String, in_round: bool, time: &str, key_id: &str) {
        let version = if in_round { "2" } else { "1" };
        let seq = self.seq.to_string();
        for part in [
            "tai-checkpoint/v",
            version,
            "\ntenant ",
            self.tenant,
            "\nseq ",
            &seq,
            "\nhead ",
            self.head,
            "\nroot ",
            self.root,
            "\ncatalog ",
            self.catalog,
            "\ntime ",
            time,
            "\nkey ",
            key_id,
            "\n",
        ] {
            out.push_str(part);
        }
    }
}

/// A statement's leaf in its round: `SHA-256(0x00 ‖ statement)`.
fn leaf_of(statement: &str) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(statement.as_bytes());
    h.finalize().into()
}

/// The text a round's signature is over.
fn round_text(size: u64, root: &Hash, time: Timestamp, key_id: &str) -> String {
    format!(
        "tai-checkpoint-round/v1\nsize {size}\nroot {}\ntime {time}\nkey {key_id}\n",
        merkle::to_hex(root)
    )
}

/// Why a checkpoint was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// No given key has the checkpoint's key id.
    #[error("the checkpoint at seq {seq} is signed by key {key_id}, which is not a given key")]
    UnknownKey {
        /// The checkpoint's seq.
        seq: u64,
        /// The key id it names.
        key_id: String,
    },
    /// The signature does not verify.
    #[error(
        "the checkpoint at seq {seq} has a bad signature: it was not signed by key {key_id} \
         as it stands"
    )]
    BadSignature {
        /// The checkpoint's seq.
        seq: u64,
        /// The key id it names.
        key_id: String,
    },
}

impl Checkpoint {
    /// How many receipts the checkpoint covers.
    pub fn tree_size(&self) -> u64 {
        self.seq + 1
    }

    /// What the checkpoint states: one field per line after a fixed first line
    /// (`tai-checkpoint/v1` signed alone, `tai-checkpoint/v2` as a leaf of a round).
    pub fn statement(&self) -> String {
        let mut text = String::with_capacity(512);
        let head = StatementHead {
            tenant: self.tenant_id.as_str(),
            seq: self.seq,
            head: &self.head_hash,
            root: &self.merkle_root,
            catalog: &self.catalog_hash,
        };
        head.write(
            &mut text,
            self.round.is_some(),
            &self.time.to_string(),
            &self.key_id,
        );
        text
    }

    /// The bytes the signature is over: the statement of a checkpoint signed alone; for one
    /// signed in a round, the round's text with the root its path leads to (`None` when the
    /// path is malformed or does not fit its position).
    pub fn signed_text(&self) -> Option<String> {
        let Some(round) = &self.round else {
            return Some(self.statement());
        };
        let path = round
            .path
            .iter()
            .map(|h| {
                let mut node = [0u8; 32];
                hex::decode_to_slice(h, &mut node).ok().map(|()| node)
            })
            .collect::<Option<Vec<Hash>>>()?;
        let root = merkle::root_from_path(round.index, round.size, &self.leaf(), &path)?;
        Some(round_text(round.size, &root, self.time, &self.key_id))
    }

    /// The checkpoint's leaf in its round: `SHA-256(0x00 ‖ statement)`.
    fn leaf(&self) -> Hash {
        leaf_of(&self.statement())
    }

    /// The Merkle root as bytes, `None` when it is not 64 hex digits.
    pub fn root(&self) -> Option<Hash> {
        let mut root = [0u8; 32];
        hex::decode_to_slice(&self.merkle_root, &mut root).ok()?;
        Some(root)
    }

    /// Checks the signature with whichever of `keys` has the checkpoint's key id.
    pub fn verify_signature(&self, keys: &[PublicKey]) -> Result<(), CheckpointError> {
        let key = keys
            .iter()
            .find(|k| k.key_id == self.key_id)
            .ok_or_else(|| CheckpointError::UnknownKey {
                seq: self.seq,
                key_id: self.key_id.clone(),
            })?;
        if self
            .signed_text()
            .is_some_and(|text| key.verifies(text.as_bytes(), &self.signature))
        {
            Ok(())
        } else {
            Err(CheckpointError::BadSignature {
                seq: self.seq,
                key_id: self.key_id.clone(),
            })
        }
    }

    /// The stored line (without newline).
    pub fn to_line(&self) -> Vec<u8> {
        // Strings, integers and a timestamp: encoding cannot fail, and an empty line in
        // place of a checkpoint would be a record that lies.
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: a checkpoint is never written as a stand-in"
        )]
        serde_json::to_vec(self).expect("a checkpoint encodes as JSON")
    }
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
