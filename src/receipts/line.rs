//! The ledger line read by position, without a JSON parser.
//!
//! Every line the ledger writes has the same frame: `{"seq":N,"prev_hash":"<64 hex>",` at
//! the start and `,"hash":"<64 hex>"}` at the end, with the hashed bytes being the line with
//! that suffix replaced by `}`. Reading the chain fields from fixed places and hashing the
//! stored bytes directly is what lets verification run at disk speed; anything that does not
//! fit the frame is handed to a real JSON parser only to say precisely what is wrong.

use memchr::memmem;
use sha2::{Digest, Sha256};

/// Length of a SHA-256 digest in lowercase hex.
pub(crate) const HASH_HEX_LEN: usize = 64;

const PREFIX: &[u8] = b"{\"seq\":";
const PREV_KEY: &[u8] = b",\"prev_hash\":\"";
const HASH_KEY: &[u8] = b",\"hash\":\"";
/// `,"hash":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = HASH_KEY.len() + HASH_HEX_LEN + 2;
const TENANT_KEY: &[u8] = b",\"tenant_id\":\"";
/// The longest decimal u64.
const MAX_SEQ_DIGITS: usize = 20;

/// The chain fields of a line that fits the frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub seq: u64,
    /// The stored `prev_hash`, 64 lowercase hex digits.
    pub prev_hash: &'a [u8],
    /// The stored `hash`, 64 lowercase hex digits.
    pub hash: &'a [u8],
    /// The line up to (not including) the hash suffix.
    body: &'a [u8],
}

/// Reads the chain fields of `line` (without its newline) by position, or `None` when the
/// line does not fit the frame.
pub(crate) fn frame(line: &[u8]) -> Option<Frame<'_>> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest
        .iter()
        .take(MAX_SEQ_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > MAX_SEQ_DIGITS || (digits > 1 && rest[0] == b'0') {
        return None;
    }
    let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(PREV_KEY)?;
    let prev_hash = rest.get(..HASH_HEX_LEN).filter(|h| is_lower_hex(h))?;
    let rest = rest[HASH_HEX_LEN..].strip_prefix(b"\",")?;
    // The frame's start and suffix must not overlap.
    if rest.len() < SUFFIX_LEN + 1 {
        return None;
    }
    let body_len = line.len() - SUFFIX_LEN;
    let suffix = &line[body_len..];
    let hash = suffix
        .strip_prefix(HASH_KEY)?
        .strip_suffix(b"\"}")
        .filter(|h| is_lower_hex(h))?;
    Some(Frame {
        seq,
        prev_hash,
        hash,
        body: &line[..body_len],
    })
}

impl Frame<'_> {
    /// The SHA-256 of the receipt's canonical encoding, taken from the stored bytes, in hex.
    pub fn computed_hash(&self) -> [u8; HASH_HEX_LEN] {
        let mut hasher = Sha256::new();
        hasher.update(self.body);
        hasher.update(b"}");
        let mut hex = [0u8; HASH_HEX_LEN];
        // A 32-byte digest always fits 64 hex digits.
        let _ = hex::encode_to_slice(hasher.finalize(), &mut hex);
        hex
    }

    /// Whether the stored hash matches the stored content.
    pub fn hash_matches(&self) -> bool {
        self.computed_hash() == self.hash
    }

    /// The `tenant_id` value. The key cannot occur inside an earlier string value (a quote
    /// there would be escaped), so its first occurrence is the field itself.
    pub fn tenant(&self) -> Option<&[u8]> {
        let at = memmem::find(self.body, TENANT_KEY)? + TENANT_KEY.len();
        let value = &self.body[at..];
        let end = memchr::memchr(b'"', value)?;
        Some(&value[..end])
    }
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;
    use crate::receipts::sample_chain;

    #[test]
    fn reads_a_sealed_line_by_position() {
        let tenant = TenantId::new("acme").unwrap();
        let r = &sample_chain(&tenant, 2)[1];
        let line = r.to_line();
        let f = frame(&line).unwrap();
        assert_eq!(f.seq, 1);
        assert_eq!(f.prev_hash, r.prev_hash.as_bytes());
        assert_eq!(f.hash, r.hash.as_bytes());
        assert!(f.hash_matches());
        assert_eq!(f.tenant(), Some(&b"acme"[..]));
    }

    #[test]
    fn rejects_lines_outside_the_frame() {
        for bad in [
            &b""[..],
            b"{}",
            b"{\"seq\":01,\"prev_hash\":\"",
            b"{\"seq\":-1}",
            b"{\"seq\":99999999999999999999999}",
        ] {
            assert!(frame(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
