//! What the chain is checked against beyond itself: its signed checkpoints, a checkpoint kept
//! outside tai, and the workspace manifest.
//!
//! A hash chain only shows that each receipt follows the one before; whoever can write the
//! state directory can rewrite a chain and recompute every hash. A checkpoint signed by a key
//! kept elsewhere pins the chain's seq, head hash and Merkle root at the moment of signing,
//! so a rewrite, a rollback or a relabelled chain no longer matches, and receipts appended
//! without the key are not covered.

use crate::diagnostics::plural;
use crate::ids::TenantId;

use super::line;
use super::merkle::{Frontier, leaf_of_hex};
use super::signing::{Checkpoint, PublicKey};
use super::verify::ProblemKind;

/// What a chain is checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrustAnchors<'a> {
    /// Public keys whose checkpoints are accepted; when empty, signatures are not checked
    /// (checkpoints still have to match the chain) and a missing checkpoint is no problem.
    pub keys: &'a [PublicKey],
    /// A checkpoint kept outside tai: the chain must extend it.
    pub kept: Option<&'a Checkpoint>,
}

/// One point of the chain a checkpoint pins.
struct Pin<'a> {
    checkpoint: &'a Checkpoint,
    kept: bool,
}

/// Checks `checkpoints` (oldest first) and the kept checkpoint against the chain in `ledger`
/// (already verified: `receipts` valid lines, of which `acknowledged` are under the head).
/// Returns the first problem with the seq it concerns.
pub fn check_checkpoints(
    tenant: &TenantId,
    ledger: &[u8],
    receipts: u64,
    acknowledged: u64,
    checkpoints: &[Checkpoint],
    anchors: TrustAnchors<'_>,
) -> Result<(), (Option<u64>, ProblemKind)> {
    let signed = !anchors.keys.is_empty();
    let mut pins: Vec<Pin<'_>> = Vec::with_capacity(checkpoints.len() + 1);
    let mut previous: Option<u64> = None;
    for c in checkpoints {
        let at = Some(c.seq);
        if &c.tenant_id != tenant {
            return Err((
                at,
                ProblemKind::CheckpointMismatch {
                    detail: format!(
                        "the checkpoint at seq {} names tenant `{}`",
                        c.seq, c.tenant_id
                    ),
                },
            ));
        }
        if previous.is_some_and(|p| c.seq < p) {
            return Err((
                at,
                ProblemKind::CheckpointMismatch {
                    detail: format!(
                        "the checkpoint at seq {} follows one at seq {}: checkpoints only grow",
                        c.seq,
                        previous.unwrap_or_default()
                    ),
                },
            ));
        }
        previous = Some(c.seq);
        if signed {
            c.verify_signature(anchors.keys).map_err(|e| {
                (
                    at,
                    ProblemKind::CheckpointSignature {
                        detail: e.to_string(),
                    },
                )
            })?;
        }
        pins.push(Pin {
            checkpoint: c,
            kept: false,
        });
    }
    if let Some(kept) = anchors.kept {
        let at = Some(kept.seq);
        if &kept.tenant_id != tenant {
            return Err((
                at,
                ProblemKind::NotAnExtension {
                    detail: format!("the kept checkpoint is tenant `{}`'s", kept.tenant_id),
                },
            ));
        }
        if signed {
            kept.verify_signature(anchors.keys).map_err(|e| {
                (
                    at,
                    ProblemKind::CheckpointSignature {
                        detail: format!("kept checkpoint: {e}"),
                    },
                )
            })?;
        }
        pins.push(Pin {
            checkpoint: kept,
            kept: true,
        });
    }
    if signed && acknowledged > 0 {
        match checkpoints.last() {
            None => return Err((None, ProblemKind::CheckpointMissing)),
            Some(latest) if latest.seq + 1 < acknowledged => {
                return Err((
                    Some(latest.seq + 1),
                    ProblemKind::NotCheckpointed {
                        checkpoint_seq: latest.seq,
                        head_seq: acknowledged - 1,
                    },
                ));
            }
            Some(_) => {}
        }
    }
    pins.sort_by_key(|p| p.checkpoint.seq);
    let problem = |pin: &Pin<'_>, detail: String| {
        let kind = if pin.kept {
            ProblemKind::NotAnExtension { detail }
        } else {
            ProblemKind::CheckpointMismatch { detail }
        };
        (Some(pin.checkpoint.seq), kind)
    };
    // The history checkpoints are matched against: the acknowledged receipts, and those
    // after the head that a stored checkpoint covers (a writer stopped between signing them
    // and moving the head; the next writer adopts them). Other receipts after the head were
    // never acknowledged, and anyone can write them: a kept checkpoint found only there
    // does not show that the chain grew.
    let history = checkpoints
        .last()
        .map_or(acknowledged, |c| acknowledged.max(c.seq.saturating_add(1)))
        .min(receipts);
    let mut pins = pins.into_iter().peekable();
    let mut frontier = Frontier::default();
    let mut scratch = Vec::new();
    for (seq, l) in ledger
        .split(|&b| b == b'\n')
        .take(usize::try_from(history).unwrap_or(usize::MAX))
        .enumerate()
    {
        let seq = seq as u64;
        let Some(frame) = line::frame(l) else { break };
        let hash = std::str::from_utf8(frame.hash).unwrap_or_default();
        frontier.push(leaf_of_hex(hash).unwrap_or_default(), &mut scratch);
        scratch.clear();
        while let Some(pin) = pins.next_if(|p| p.checkpoint.seq == seq) {
            let c = pin.checkpoint;
            if c.head_hash != hash {
                return Err(problem(
                    &pin,
                    format!(
                        "the checkpoint records hash {} for seq {seq}, the chain has {}",
                        short(&c.head_hash),
                        short(hash)
                    ),
                ));
            }
            if c.root() != Some(frontier.root()) {
                return Err(problem(
                    &pin,
                    format!(
                        "the checkpoint's Merkle root for seqs 0 to {seq} is {}, the chain's is {}",
                        short(&c.merkle_root),
                        short(&hex::encode(frontier.root()))
                    ),
                ));
            }
        }
    }
    if let Some(pin) = pins.next() {
        return Err(problem(
            &pin,
            format!(
                "the checkpoint covers seq {} but the chain ends after {}: receipts were \
                 removed or the chain was rolled back",
                pin.checkpoint.seq,
                plural(history, "receipt")
            ),
        ));
    }
    Ok(())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
