//! The signed evidence a customer or a witness keeps outside tai: a tenant's latest
//! checkpoint, the workspace manifest, inclusion and consistency proofs, and the check of a
//! proof with nothing but the public key.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{ArgGroup, Args};
use serde::Serialize;

use crate::ids::TenantId;
use crate::intake::{self, Reading};
use crate::receipts::{Checkpoint, LedgerError, ProofFile, PublicKey};

use super::chains::Chains;
use super::chains::require_tenant;
use super::common::input_error;
use super::style::{emit, emit_json};
use super::{Exit, Format};

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The tenant
    #[arg(long, value_name = "TENANT")]
    tenant: TenantId,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["seq", "from_checkpoint"])))]
pub struct ProveArgs {
    /// The tenant
    #[arg(long, value_name = "TENANT")]
    tenant: TenantId,
    /// The receipt to prove included in the latest signed checkpoint
    #[arg(long, value_name = "N")]
    seq: Option<u64>,
    /// Prove instead that the latest checkpoint extends this kept one (consistency)
    #[arg(long, value_name = "FILE")]
    from_checkpoint: Option<PathBuf>,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyProofArgs {
    /// The proof file (from `tai receipts prove` or the HTTP API)
    file: PathBuf,
    /// The public key the checkpoints must be signed with (repeatable)
    #[arg(long = "public-key", value_name = "FILE", required = true)]
    public_keys: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub(super) fn public_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    paths
        .iter()
        .map(|p| PublicKey::load(p).map_err(Into::into))
        .collect()
}

/// What a checkpoint or proof file's refusals say about it.
const EVIDENCE_FILE: Reading = Reading {
    regular: "checkpoints and proofs are regular JSON files, as `tai receipts checkpoint` and `tai receipts prove` write them",
    text: "checkpoint and proof files are JSON text in UTF-8",
    size: "a checkpoint or proof is a few kilobytes; check that it is the right file",
    missing: "check the path",
};

/// A checkpoint or proof file's text, bounded like every input.
fn read_evidence(path: &Path) -> anyhow::Result<String> {
    intake::read_text(path, &EVIDENCE_FILE).map_err(input_error)
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> anyhow::Result<T> {
    let text = read_evidence(path)?;
    serde_json::from_str(&text).with_context(|| format!("`{}` is not {what}", path.display()))
}

/// Writes `value` as pretty JSON to `out` or standard output.
fn write_json<T: Serialize>(value: &T, out: Option<&Path>) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            say!("wrote {}", path.display());
            Ok(())
        }
        None => emit(&text),
    }
}

pub(super) fn checkpoint(dir: &Chains, args: &CheckpointArgs) -> anyhow::Result<Exit> {
    require_tenant(dir, &args.tenant)?;
    let Some(c) = dir.latest_checkpoint(&args.tenant)? else {
        bail!(LedgerError::NoCheckpoint {
            tenant: args.tenant.clone()
        });
    };
    write_json(&c, args.out.as_deref())?;
    Ok(Exit::Success)
}

pub(super) fn manifest(dir: &Chains, args: &ManifestArgs) -> anyhow::Result<Exit> {
    let Some(m) = dir.manifest()? else {
        bail!(
            "there is no workspace manifest in {}: a writer makes one with its first tenant",
            dir.place()
        );
    };
    write_json(&m, args.out.as_deref())?;
    Ok(Exit::Success)
}

pub(super) fn prove(dir: &Chains, args: &ProveArgs) -> anyhow::Result<Exit> {
    require_tenant(dir, &args.tenant)?;
    let out = args.out.as_deref();
    let written = match (&args.from_checkpoint, args.seq) {
        (Some(path), _) => {
            let old: Checkpoint = read_json(path, "a checkpoint")?;
            dir.prove_consistency(&args.tenant, old)
                .map(|p| write_json(&p, out))
        }
        (None, Some(seq)) => dir.prove(&args.tenant, seq).map(|p| write_json(&p, out)),
        (None, None) => bail!("give --seq or --from-checkpoint"),
    };
    match written {
        Ok(written) => written?,
        // No proof because the record does not verify, or the kept checkpoint is not part of
        // its history: a failed check (exit 1), as `verify` answers it.
        Err(e) if e.is_broken_record() => {
            say!("error: {e}");
            return Ok(Exit::Failure);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct ProofVerdict {
    ok: bool,
    kind: &'static str,
    tenant_id: TenantId,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) fn verify_proof(args: &VerifyProofArgs) -> anyhow::Result<Exit> {
    let keys = public_keys(&args.public_keys)?;
    let text = read_evidence(&args.file)?;
    let proof = ProofFile::from_json(text.as_bytes())
        .with_context(|| format!("`{}` is not a proof file", args.file.display()))?;
    // What the proof claims, and whether it holds.
    let (kind, tenant_id, claim, result) = match &proof {
        ProofFile::Inclusion(p) => (
            "inclusion",
            p.checkpoint.tenant_id.clone(),
            format!(
                "receipt seq {} ({}, {}) of tenant `{}` is in the history signed by key {} \
                 at seq {} ({})",
                p.receipt.seq,
                p.receipt.body.event_type,
                p.receipt.short_hash(),
                p.checkpoint.tenant_id,
                p.checkpoint.key_id,
                p.checkpoint.seq,
                p.checkpoint.time
            ),
            p.verify(&keys).map_err(|e| e.to_string()),
        ),
        ProofFile::Consistency(p) => (
            "consistency",
            p.new.tenant_id.clone(),
            format!(
                "the history of tenant `{}` signed at seq {} extends the one signed at seq {}: \
                 nothing before seq {} was changed or removed",
                p.new.tenant_id, p.new.seq, p.old.seq, p.old.seq
            ),
            p.verify(&keys).map_err(|e| e.to_string()),
        ),
    };
    // The message states what was shown: the claim only when it holds.
    let verdict = ProofVerdict {
        ok: result.is_ok(),
        kind,
        tenant_id,
        message: match &result {
            Ok(()) => claim,
            Err(e) => format!("INVALID {kind} proof: {e}"),
        },
        error: result.err(),
    };
    match args.format {
        Format::Json => emit_json(&verdict)?,
        Format::Human if verdict.ok => emit(format!("ok: {}\n", verdict.message).as_bytes())?,
        Format::Human => emit(format!("{}\n", verdict.message).as_bytes())?,
    }
    Ok(if verdict.ok {
        Exit::Success
    } else {
        Exit::Failure
    })
}
