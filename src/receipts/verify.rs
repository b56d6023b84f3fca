//! Chain verification: is every stored receipt the one that was sealed, in its place, and is
//! the chain as long as its head says?
//!
//! The fast path hashes the stored bytes of each line and reads `seq`, `prev_hash` and
//! `hash` by position (see the `line` module); only a line that fails is parsed as JSON, to say
//! precisely what is wrong with it. Verification stops at the first problem and reports its
//! seq, because everything after a break is unanchored.

use std::fmt;

use serde::Serialize;
use serde::de::IgnoredAny;

use crate::diagnostics::plural;
use crate::ids::TenantId;

use super::line::{self, HASH_HEX_LEN};
use super::{ChainHead, GENESIS_HASH, Receipt, StoredHead};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// Receipts that verified, up to the first problem (all of them when there is none).
    pub receipts: u64,
    /// Size of the ledger in bytes (0 for an in-memory chain).
    pub bytes: u64,
    /// The stored head, when it could be read.
    pub head: Option<ChainHead>,
    /// Valid receipts after the stored head: written by an append that was interrupted before
    /// its head was updated, so never acknowledged. The next append adopts them.
    pub unacknowledged: u64,
    /// Length of an unterminated last line after the stored head: an append in progress, or
    /// one a crash interrupted. Never acknowledged, so not part of the chain; the next writer
    /// cuts it off.
    pub incomplete_bytes: u64,
    /// The first problem, if any.
    pub problem: Option<Problem>,
    /// Signed checkpoints stored beside the ledger.
    #[serde(default)]
    pub checkpoints: u64,
    /// The latest of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_checkpoint: Option<super::signing::Checkpoint>,
    /// Whether their signatures (and the manifest's) were checked with a public key.
    #[serde(default)]
    pub signatures_checked: bool,
}

impl VerifyReport {
    /// Whether the chain verified.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first problem in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// The seq where the chain breaks: the position of the bad line (its expected seq), or
    /// the first missing seq. `None` for problems of the head file itself.
    pub seq: Option<u64>,
    /// 1-based line of the ledger file, when the problem is on a line.
    pub line: Option<u64>,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

/// The kinds of problem verification tells apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    /// The line is not JSON.
    NotJson {
        /// The parser's message.
        detail: String,
    },
    /// The line is JSON but not a receipt.
    NotAReceipt {
        /// The parser's message.
        detail: String,
    },
    /// The line is a receipt but not in the canonical encoding its hash is defined over.
    NotCanonical,
    /// The stored hash does not match the content: the receipt was modified.
    BadHash {
        /// The hash stored in the line.
        stored: String,
        /// The hash of the line's content.
        computed: String,
    },
    /// The receipt belongs to another tenant.
    WrongTenant {
        /// The tenant the receipt names.
        found: String,
    },
    /// The receipt's seq is not the next one: receipts were removed, inserted or reordered.
    SeqMismatch {
        /// The seq this position should hold.
        expected: u64,
        /// The seq found there.
        found: u64,
    },
    /// `prev_hash` is not the previous receipt's hash.
    BrokenLink {
        /// The previous receipt's hash.
        expected: String,
        /// The stored `prev_hash`.
        found: String,
    },
    /// The last line has no newline.
    Unterminated,
    /// The ledger ends before the seq its head records.
    Truncated {
        /// Receipts present.
        found: u64,
        /// Receipts the head records.
        head_next_seq: u64,
    },
    /// The receipt the head points at is not where, or what, the head says.
    HeadMismatch {
        /// What differs.
        detail: String,
    },
    /// The ledger has receipts but no head file.
    HeadMissing,
    /// The head file is not a valid head.
    HeadUnreadable {
        /// What is wrong with it.
        detail: String,
    },
    /// The workspace manifest lists the tenant but its ledger is gone.
    LedgerDeleted,
    /// The ledger is not in the workspace manifest.
    NotInManifest,
    /// The workspace manifest is missing, unsigned or edited.
    Manifest {
        /// What is wrong.
        detail: String,
    },
    /// A public key was given but the chain has no signed checkpoint.
    CheckpointMissing,
    /// A checkpoint is not signed by a given key as it stands.
    CheckpointSignature {
        /// What is wrong.
        detail: String,
    },
    /// A checkpoint does not match the chain (its seq, hash or Merkle root).
    CheckpointMismatch {
        /// What differs.
        detail: String,
    },
    /// Acknowledged receipts after the latest signed checkpoint.
    NotCheckpointed {
        /// Seq of the latest checkpoint.
        checkpoint_seq: u64,
        /// Seq of the head.
        head_seq: u64,
    },
    /// The chain does not extend a kept checkpoint.
    NotAnExtension {
        /// What differs.
        detail: String,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::NotJson { detail } => write!(f, "not valid JSON ({detail})"),
            ProblemKind::NotAReceipt { detail } => {
                write!(f, "valid JSON but not a receipt ({detail})")
            }
            ProblemKind::NotCanonical => f.write_str(
                "a receipt, but not in the canonical encoding its hash is defined over \
                 (edited by hand?)",
            ),
            ProblemKind::BadHash { stored, computed } => write!(
                f,
                "hash mismatch: the receipt was modified after it was sealed (stored {}, \
                 content hashes to {})",
                short(stored),
                short(computed)
            ),
            ProblemKind::WrongTenant { found } => {
                write!(
                    f,
                    "the receipt belongs to tenant `{found}`, not to this ledger"
                )
            }
            ProblemKind::SeqMismatch { expected, found } if found > expected => write!(
                f,
                "found seq {found} where {expected} belongs: {} removed",
                plural(found - expected, "receipt")
            ),
            ProblemKind::SeqMismatch { expected, found } => write!(
                f,
                "found seq {found} where {expected} belongs: receipts reordered, duplicated or \
                 inserted"
            ),
            ProblemKind::BrokenLink { expected, found } => write!(
                f,
                "prev_hash {} is not the previous receipt's hash {}: a receipt was inserted, \
                 removed or replaced",
                short(found),
                short(expected)
            ),
            ProblemKind::Unterminated => {
                f.write_str("the last line has no newline: the file was cut or edited")
            }
            ProblemKind::Truncated {
                found,
                head_next_seq,
            } => write!(
                f,
                "the ledger ends after {} but its head records {head_next_seq}: receipts were \
                 removed from the end",
                plural(*found, "receipt")
            ),
            ProblemKind::HeadMismatch { detail } => write!(f, "head mismatch: {detail}"),
            ProblemKind::HeadMissing => {
                f.write_str("the head file is missing although the ledger has receipts")
            }
            ProblemKind::HeadUnreadable { detail } => {
                write!(f, "the head file is unreadable: {detail}")
            }
            ProblemKind::LedgerDeleted => f.write_str(
                "the ledger is missing although the workspace manifest lists the tenant: it was \
                 deleted",
            ),
            ProblemKind::NotInManifest => f.write_str(
                "the workspace manifest does not list this tenant: its ledger was not created \
                 by a writer of this workspace",
            ),
            ProblemKind::Manifest { detail } => write!(f, "{detail}"),
            ProblemKind::CheckpointMissing => f.write_str(
                "no signed checkpoint: the chain cannot be told apart from one rewritten by \
                 anyone with write access",
            ),
            ProblemKind::CheckpointSignature { detail } => write!(f, "{detail}"),
            ProblemKind::CheckpointMismatch { detail } => {
                write!(
                    f,
                    "the chain does not match its signed checkpoint: {detail}"
                )
            }
            ProblemKind::NotCheckpointed {
                checkpoint_seq,
                head_seq,
            } => write!(
                f,
                "receipts {} to {head_seq} are not covered by a signed checkpoint (the latest \
                 is at seq {checkpoint_seq}): written without the signing key, or forged",
                checkpoint_seq + 1
            ),
            ProblemKind::NotAnExtension { detail } => {
                write!(f, "the chain does not extend the kept checkpoint: {detail}")
            }
        }
    }
}

impl Problem {
    /// The one-line verdict on a chain with this problem: where it breaks, when that is a
    /// seq, and why.
    pub fn verdict(&self) -> String {
        match self.seq {
            Some(_) => format!("BROKEN at {self}"),
            None => format!("BROKEN: {self}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.seq, self.line) {
            (Some(seq), Some(line)) => write!(f, "seq {seq} (line {line}): {}", self.kind),
            (Some(seq), None) => write!(f, "seq {seq}: {}", self.kind),
            (None, _) => write!(f, "{}", self.kind),
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// How thoroughly to verify.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verifier<'a> {
    tenant: Option<&'a TenantId>,
    deep: bool,
}

impl<'a> Verifier<'a> {
    /// Checks hashes, seqs, links and the head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also checks that every receipt names `tenant`.
    pub fn tenant(self, tenant: &'a TenantId) -> Self {
        Verifier {
            tenant: Some(tenant),
            ..self
        }
    }

    /// Also parses every receipt and checks it is in canonical form (several times slower).
    /// The fast checks already catch any change to a sealed receipt; this also rejects lines
    /// forged with a recomputed hash that are not well-formed receipts.
    pub fn deep(self, deep: bool) -> Self {
        Verifier { deep, ..self }
    }

    /// Verifies a ledger file's bytes against its head file's bytes (`None`: no head file).
    pub fn verify(&self, ledger: &[u8], head: Option<&[u8]>) -> VerifyReport {
        let head = head.map(StoredHead::decode);
        let stored = head.as_ref().and_then(|h| h.as_ref().ok());
        let mut report = VerifyReport {
            receipts: 0,
            bytes: ledger.len() as u64,
            head: stored.map(StoredHead::chain),
            unacknowledged: 0,
            incomplete_bytes: 0,
            problem: None,
            checkpoints: 0,
            latest_checkpoint: None,
            signatures_checked: false,
        };
        let mut cursor = Cursor::new(*self, &StoredHead::default());
        let mut start = 0;
        let mut line_no = 0;
        while start < ledger.len() {
            line_no += 1;
            let (line, end) = split_line(ledger, start);
            let terminated = end > start + line.len();
            let seq = cursor.next_seq;
            if !terminated && stored.is_some_and(|h| seq >= h.next_seq) {
                report.incomplete_bytes = line.len() as u64;
                break;
            }
            let at = |kind| Problem {
                seq: Some(seq),
                line: Some(line_no),
                kind,
            };
            if let Err(kind) = cursor.check(line, terminated) {
                report.problem = Some(at(kind));
                return report;
            }
            report.receipts += 1;
            let at_head = stored.filter(|h| h.next_seq == cursor.next_seq);
            if let Some(detail) = at_head.and_then(|h| head_mismatch(h, &cursor.prev, end)) {
                report.problem = Some(at(ProblemKind::HeadMismatch { detail }));
                return report;
            }
            start = end;
        }
        let problem = match &head {
            None if ledger.is_empty() => None,
            None => Some(ProblemKind::HeadMissing),
            Some(Err(e)) => Some(ProblemKind::HeadUnreadable {
                detail: e.to_string(),
            }),
            Some(Ok(h)) if report.receipts < h.next_seq => {
                report.problem = Some(Problem {
                    seq: Some(report.receipts),
                    line: None,
                    kind: ProblemKind::Truncated {
                        found: report.receipts,
                        head_next_seq: h.next_seq,
                    },
                });
                return report;
            }
            Some(Ok(h)) => {
                report.unacknowledged = report.receipts - h.next_seq;
                None
            }
        };
        report.problem = problem.map(|kind| Problem {
            seq: None,
            line: None,
            kind,
        });
        report
    }
}

/// Verifies a ledger file's bytes against its head file's bytes (`None`: no head file).
pub fn verify_ledger(ledger: &[u8], head: Option<&[u8]>) -> VerifyReport {
    Verifier::new().verify(ledger, head)
}

/// Verifies an in-memory chain: each receipt's hash, seq and link, all of one tenant.
pub fn verify_receipts(receipts: &[Receipt]) -> VerifyReport {
    let mut report = VerifyReport {
        receipts: 0,
        bytes: 0,
        head: None,
        unacknowledged: 0,
        incomplete_bytes: 0,
        problem: None,
        checkpoints: 0,
        latest_checkpoint: None,
        signatures_checked: false,
    };
    let mut head = ChainHead::default();
    let tenant = receipts.first().map(|r| &r.body.tenant_id);
    for (i, r) in receipts.iter().enumerate() {
        let kind = tenant.and_then(|t| check_next(&head, t, r));
        if let Some(kind) = kind {
            report.problem = Some(Problem {
                seq: Some(head.next_seq),
                line: None,
                kind,
            });
            break;
        }
        report.receipts = i as u64 + 1;
        head.next_seq += 1;
        head.hash.clone_from(&r.hash);
    }
    report.head = Some(head);
    report
}

/// What is wrong with `r` as the receipt after `head` in `tenant`'s chain: its hash, its
/// tenant, its seq or its link, checked in that order; `None` when it is the next link.
pub fn check_next(head: &ChainHead, tenant: &TenantId, r: &Receipt) -> Option<ProblemKind> {
    let computed = super::sha256_hex(&r.canonical_unsealed());
    if *computed != *r.hash {
        Some(ProblemKind::BadHash {
            stored: r.hash.to_string(),
            computed,
        })
    } else if r.body.tenant_id != *tenant {
        Some(ProblemKind::WrongTenant {
            found: r.body.tenant_id.to_string(),
        })
    } else if r.seq != head.next_seq {
        Some(ProblemKind::SeqMismatch {
            expected: head.next_seq,
            found: r.seq,
        })
    } else if r.prev_hash != head.hash {
        Some(ProblemKind::BrokenLink {
            expected: head.hash.to_string(),
            found: r.prev_hash.to_string(),
        })
    } else {
        None
    }
}

/// The valid continuation of the chain at `from` in `bytes` (the ledger after `from`'s
/// end): the head after the last complete valid line, and how many bytes those lines take.
pub(crate) fn valid_extension(
    bytes: &[u8],
    from: &StoredHead,
    tenant: &TenantId,
) -> (StoredHead, u64) {
    let mut cursor = Cursor::new(Verifier::new().tenant(tenant), from);
    let mut start = 0;
    while start < bytes.len() {
        let (line, end) = split_line(bytes, start);
        if end == start + line.len() || cursor.check(line, true).is_err() {
            break;
        }
        start = end;
    }
    let head = StoredHead {
        next_seq: cursor.next_seq,
        hash: String::from_utf8_lossy(&cursor.prev).into_owned(),
        ledger_bytes: from.ledger_bytes + start as u64,
    };
    (head, start as u64)
}

/// Checks one line of the chain the head says ends at `line` (already verified):
/// `Some(why)` when the head does not point exactly at it.
pub(crate) fn head_mismatch(head: &StoredHead, hash: &[u8], end: usize) -> Option<String> {
    if head.hash.as_bytes() != hash {
        Some(format!(
            "the head records hash {} for seq {}, the receipt's hash is {}",
            short(&head.hash),
            head.next_seq.saturating_sub(1),
            short(&String::from_utf8_lossy(hash))
        ))
    } else if head.ledger_bytes != end as u64 {
        Some(format!(
            "the head records {} bytes up to seq {}, the ledger has {end}",
            head.ledger_bytes,
            head.next_seq.saturating_sub(1)
        ))
    } else {
        None
    }
}

/// The line starting at `start` (without newline) and where the next one starts.
fn split_line(bytes: &[u8], start: usize) -> (&[u8], usize) {
    let rest = &bytes[start..];
    match memchr::memchr(b'\n', rest) {
        Some(i) => (&rest[..i], start + i + 1),
        None => (rest, bytes.len()),
    }
}

/// Walks a chain line by line.
struct Cursor<'a> {
    verifier: Verifier<'a>,
    next_seq: u64,
    /// Hash of the previous receipt, hex.
    prev: [u8; HASH_HEX_LEN],
}

impl<'a> Cursor<'a> {
    fn new(verifier: Verifier<'a>, from: &StoredHead) -> Self {
        let prev = <[u8; HASH_HEX_LEN]>::try_from(from.hash.as_bytes())
            .or_else(|_| <[u8; HASH_HEX_LEN]>::try_from(GENESIS_HASH.as_bytes()))
            .unwrap_or([b'0'; HASH_HEX_LEN]);
        Cursor {
            verifier,
            next_seq: from.next_seq,
            prev,
        }
    }

    /// Checks `line` as the next receipt and advances past it.
    fn check(&mut self, line: &[u8], terminated: bool) -> Result<(), ProblemKind> {
        let frame = line::frame(line)
            .filter(line::Frame::hash_matches)
            .ok_or_else(|| diagnose(line))?;
        let found = frame.tenant();
        if self
            .verifier
            .tenant
            .is_some_and(|t| found != Some(t.as_str().as_bytes()))
        {
            return Err(ProblemKind::WrongTenant {
                found: String::from_utf8_lossy(found.unwrap_or_default()).into_owned(),
            });
        }
        if frame.seq != self.next_seq {
            return Err(ProblemKind::SeqMismatch {
                expected: self.next_seq,
                found: frame.seq,
            });
        }
        if frame.prev_hash != self.prev {
            return Err(ProblemKind::BrokenLink {
                expected: String::from_utf8_lossy(&self.prev).into_owned(),
                found: String::from_utf8_lossy(frame.prev_hash).into_owned(),
            });
        }
        if self.verifier.deep {
            let receipt: Receipt =
                serde_json::from_slice(line).map_err(|e| ProblemKind::NotAReceipt {
                    detail: e.to_string(),
                })?;
            if !is_canonical(&receipt, line) {
                return Err(ProblemKind::NotCanonical);
            }
        }
        if !terminated {
            return Err(ProblemKind::Unterminated);
        }
        self.next_seq += 1;
        self.prev.copy_from_slice(frame.hash);
        Ok(())
    }
}

/// Whether `line` is exactly how the engine would have written `receipt`. Metadata is kept as
/// the text it was read as, so its own encoding is checked separately.
fn is_canonical(receipt: &Receipt, line: &[u8]) -> bool {
    receipt.to_line() == line && receipt.body.metadata.is_canonical()
}

/// Says precisely why a line failed the fast checks.
fn diagnose(line: &[u8]) -> ProblemKind {
    if let Err(e) = serde_json::from_slice::<IgnoredAny>(line) {
        return ProblemKind::NotJson {
            detail: e.to_string(),
        };
    }
    match serde_json::from_slice::<Receipt>(line) {
        Err(e) => ProblemKind::NotAReceipt {
            detail: e.to_string(),
        },
        Ok(r) if !is_canonical(&r, line) => ProblemKind::NotCanonical,
        Ok(r) => ProblemKind::BadHash {
            computed: super::sha256_hex(&r.canonical_unsealed()),
            stored: r.hash.to_string(),
        },
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
pub(crate) mod tests;
