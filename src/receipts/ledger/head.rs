//! The chain head file: the seq, hash and byte length the ledger had after its last
//! acknowledged append.
//!
//! A hash chain proves that every receipt follows its predecessor, but not that the newest
//! receipts are still there: cutting lines off the end leaves a shorter chain that is still
//! valid. The head, written after each durable append, is what verification compares the end
//! of the chain against. Its bytes are exactly [`StoredHead::encode`], so any edit of the file
//! is detected, not only edits that change a value.
//!
//! The encoding has a fixed length ([`HEAD_FILE_LEN`]: the JSON padded with spaces) that fits
//! in one disk sector, so the head can be overwritten in place and synced with a single
//! `fdatasync`: a sector write is all-or-nothing, the same property PostgreSQL relies on for
//! its control file. The compact form earlier versions wrote is still accepted.

use std::fs::{File, OpenOptions};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::receipts::line::HASH_HEX_LEN;
use crate::receipts::{ChainHead, GENESIS_HASH};

use super::LedgerError;
use super::durable::io_err;

/// The contents of `<tenant>.head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredHead {
    /// Seq of the next receipt (= number of acknowledged receipts).
    pub next_seq: u64,
    /// Hash of the last acknowledged receipt, or the genesis hash.
    pub hash: String,
    /// Length of the ledger file up to and including the last acknowledged line.
    pub ledger_bytes: u64,
}

/// The length of an encoded head: one sector, newline included.
pub const HEAD_FILE_LEN: usize = 256;

/// Why a head file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidHead(String);

impl Default for StoredHead {
    fn default() -> Self {
        StoredHead {
            next_seq: 0,
            hash: GENESIS_HASH.to_owned(),
            ledger_bytes: 0,
        }
    }
}

impl StoredHead {
    /// The chain head the next receipt is sealed against.
    pub fn chain(&self) -> ChainHead {
        ChainHead {
            next_seq: self.next_seq,
            hash: self.hash.as_str().into(),
        }
    }

    /// The file's bytes: compact JSON padded with spaces to [`HEAD_FILE_LEN`], ending in a
    /// newline. (A head is at most ~150 bytes of JSON: two `u64`s and 64 hex digits.)
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.encode_compact();
        bytes.pop();
        if bytes.len() < HEAD_FILE_LEN {
            bytes.resize(HEAD_FILE_LEN - 1, b' ');
        }
        bytes.push(b'\n');
        bytes
    }

    /// The unpadded form: compact JSON and a newline.
    fn encode_compact(&self) -> Vec<u8> {
        // Two integers and a string: encoding cannot fail, and a head written as empty bytes
        // would lose the chain's tip.
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: a chain head is never written as a stand-in"
        )]
        let mut bytes = serde_json::to_vec(self).expect("a chain head encodes as JSON");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a head file, accepting only the exact bytes [`StoredHead::encode`] writes.
    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidHead> {
        let head: StoredHead = serde_json::from_slice(bytes)
            .map_err(|e| InvalidHead(format!("not a chain head: {e}")))?;
        let hex_ok = head.hash.len() == HASH_HEX_LEN
            && head
                .hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(InvalidHead(format!(
                "hash `{}` is not 64 lowercase hex digits",
                head.hash
            )));
        }
        if head.next_seq == 0 && (head.hash != GENESIS_HASH || head.ledger_bytes != 0) {
            return Err(InvalidHead(
                "an empty chain must have the genesis hash and 0 bytes".to_owned(),
            ));
        }
        if head.encode() != bytes && head.encode_compact() != bytes {
            return Err(InvalidHead(
                "not in canonical form (the file was edited)".to_owned(),
            ));
        }
        Ok(head)
    }
}

/// Opens the head file for in-place overwrites.
pub(super) fn open_head(path: &Path) -> Result<File, LedgerError> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open", path))
}

/// Overwrites the head in place (the caller syncs it). Every encoding has the same length
/// and fits in one sector, so the write replaces the old head whole or not at all.
#[cfg(unix)]
pub(super) fn write_head(file: &File, path: &Path, head: &StoredHead) -> Result<(), LedgerError> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(&head.encode(), 0)
        .map_err(io_err("write", path))
}

/// Overwrites the head in place and syncs it, for repairs outside a group flush.
pub(super) fn write_head_synced(
    file: &File,
    path: &Path,
    head: &StoredHead,
) -> Result<(), LedgerError> {
    write_head(file, path, head)?;
    file.sync_data().map_err(io_err("sync", path))
}

#[cfg(not(unix))]
pub(super) fn write_head(_file: &File, path: &Path, head: &StoredHead) -> Result<(), LedgerError> {
    super::durable::replace_file(path, &head.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_any_other_spelling() {
        let head = StoredHead {
            next_seq: 3,
            hash: "ab".repeat(32),
            ledger_bytes: 1234,
        };
        let bytes = head.encode();
        assert_eq!(StoredHead::decode(&bytes).unwrap(), head);
        assert_eq!(bytes.len(), HEAD_FILE_LEN);
        let spaced = String::from_utf8(bytes).unwrap().replacen(':', ": ", 1);
        assert!(StoredHead::decode(spaced.as_bytes()).is_err());
        let mut short = head.encode();
        short.truncate(HEAD_FILE_LEN - 2);
        short.push(b'\n');
        assert!(StoredHead::decode(&short).is_err());
        assert_eq!(StoredHead::decode(&head.encode_compact()).unwrap(), head);
        assert!(StoredHead::decode(&StoredHead::default().encode()).is_ok());
        let bad_genesis = StoredHead {
            ledger_bytes: 5,
            ..StoredHead::default()
        };
        assert!(StoredHead::decode(&bad_genesis.encode()).is_err());
    }
}
