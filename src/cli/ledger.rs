//! `tai ledger migrate`: copies the state directory's receipt chains into a database ledger,
//! with their signed checkpoints, verifying each before and after.
#![cfg_attr(
    not(feature = "postgres"),
    expect(
        dead_code,
        unused_imports,
        reason = "without the database ledger there is nothing to migrate to"
    )
)]

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::diagnostics::plural;
use crate::ids::TenantId;
use crate::receipts::ledger::SignedLine;
use crate::receipts::signing::{Checkpoint, PublicKey};
use crate::receipts::trust::{TrustAnchors, check_checkpoints};
use crate::receipts::{ChainHead, LedgerDir, Problem, ProblemKind, Receipt};

use super::{Exit, Format, GlobalArgs};

/// Move receipt chains between ledgers.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub command: LedgerCommand,
}

/// The `tai ledger` subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Copy every tenant's chain from a state directory into a PostgreSQL ledger
    #[command(after_help = "\
Each chain is verified in the state directory first and in the database after copying; a
tenant the database already holds is refused before anything is copied (exit 2). Each
tenant's signed checkpoints are checked against its chain (their signatures too, with
--public-key) and copied with its receipts, in one transaction, as the very lines that were
signed. Nothing in the state directory is changed.

For instance, `tai ledger migrate --from .tai --to postgres://tai:PASSWORD@db:5432/tai`,
then `tai --ledger postgres://tai:PASSWORD@db:5432/tai serve` on each replica.")]
    Migrate(MigrateArgs),
}

/// Where from and where to.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The state directory holding the ledgers
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The PostgreSQL URL to copy into
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Also require every chain's checkpoints, up to its head, to be signed with this key
    /// before copying (repeatable, as for `tai receipts verify`)
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// What was copied for one tenant.
#[derive(Debug, Serialize)]
struct Copied {
    tenant: TenantId,
    receipts: u64,
    checkpoints: u64,
    head: ChainHead,
}

pub fn run(args: &LedgerArgs, _global: &GlobalArgs) -> anyhow::Result<Exit> {
    match &args.command {
        LedgerCommand::Migrate(a) => migrate(a),
    }
}

#[cfg(not(feature = "postgres"))]
fn migrate(_args: &MigrateArgs) -> anyhow::Result<Exit> {
    bail!("this tai was built without the `postgres` feature: there is no database to migrate to")
}

/// One tenant's chain as it is copied: its acknowledged receipts and its checkpoints, each
/// with the line it was signed as.
type Chain = (Vec<Receipt>, Vec<SignedLine>);

/// `tenant`'s chain up to `head`, with its checkpoints checked against exactly that chain
/// (their signatures too, with `anchors`' keys): `Err` is the problem, as verification says it.
fn read_chain(
    dir: &LedgerDir,
    tenant: &TenantId,
    head: &ChainHead,
    anchors: TrustAnchors<'_>,
) -> anyhow::Result<Result<Chain, Problem>> {
    // Only the acknowledged receipts: what follows the head was never answered.
    let mut receipts = dir.receipts(tenant)?;
    receipts.truncate(usize::try_from(head.next_seq).unwrap_or(usize::MAX));
    let checkpoints = match dir.signed_lines(tenant)? {
        Ok(c) => c,
        Err(detail) => {
            return Ok(Err(Problem {
                seq: None,
                line: None,
                kind: ProblemKind::CheckpointMismatch { detail },
            }));
        }
    };
    let ledger = crate::receipts::ledger_lines(&receipts);
    let signed: Vec<Checkpoint> = checkpoints.iter().map(|(c, _)| c.clone()).collect();
    let n = receipts.len() as u64;
    // A writer stopped between signing and moving the head: its next write adopts them.
    if let Some(c) = signed.iter().find(|c| c.seq >= n) {
        let detail = format!(
            "the checkpoint at seq {} signs receipts after the head ({} acknowledged) that \
             were never answered; write to the tenant once with the signing key, which adopts \
             them, then migrate",
            c.seq,
            plural(n, "receipt")
        );
        return Ok(Err(Problem {
            seq: Some(c.seq),
            line: None,
            kind: ProblemKind::CheckpointMismatch { detail },
        }));
    }
    if let Err((seq, kind)) = check_checkpoints(tenant, &ledger, n, n, &signed, anchors) {
        return Ok(Err(Problem {
            seq,
            line: None,
            kind,
        }));
    }
    Ok(Ok((receipts, checkpoints)))
}

#[cfg(feature = "postgres")]
fn migrate(args: &MigrateArgs) -> anyhow::Result<Exit> {
    use crate::receipts::ledger::{Ledger, PostgresLedger, is_postgres_url, redact_url};

    let keys = args
        .public_keys
        .iter()
        .map(|p| PublicKey::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let anchors = TrustAnchors {
        keys: &keys,
        kept: None,
    };
    let dir = LedgerDir::in_state(&args.from);
    let tenants = dir.tenants()?;
    if tenants.is_empty() {
        bail!("no ledgers in `{}`", args.from.display());
    }
    // Every chain and its checkpoints verified before anything is copied: a broken one is
    // reported, not spread.
    let mut broken = Vec::new();
    let mut heads = Vec::with_capacity(tenants.len());
    for t in &tenants {
        let report = dir.verify_with(t, true, anchors)?;
        match (&report.problem, report.head) {
            (None, Some(head)) => match read_chain(&dir, t, &head, anchors)? {
                Ok(_) => heads.push(head),
                Err(problem) => broken.push(format!("{t}: {}", problem.verdict())),
            },
            (Some(problem), _) => broken.push(format!("{t}: {}", problem.verdict())),
            (None, None) => broken.push(format!("{t}: no chain head")),
        }
    }
    if !broken.is_empty() {
        let keys: String = args
            .public_keys
            .iter()
            .map(|k| format!(" --public-key {}", k.display()))
            .collect();
        say!(
            "error: {} in `{}` did not verify; nothing was copied\n  {}\n\
             hint: `tai --state {} receipts verify --all{keys}` says more",
            plural(broken.len(), "chain"),
            args.from.display(),
            broken.join("\n  "),
            args.from.display()
        );
        return Ok(Exit::Failure);
    }
    if !is_postgres_url(&args.to) {
        bail!(
            "--to `{}` is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)",
            redact_url(&args.to)
        );
    }
    let target = PostgresLedger::connect(&args.to)?;
    let mut present = Vec::new();
    for t in &tenants {
        if target.head(t)?.next_seq > 0 {
            present.push(t.as_str());
        }
    }
    if !present.is_empty() {
        bail!(
            "the database already holds tenant(s) {}: a chain is never overwritten or merged; \
             nothing was copied\nhint: migrate into an empty database",
            crate::diagnostics::backticked(present)
        );
    }
    let mut chains = Vec::with_capacity(tenants.len());
    for (t, head) in tenants.iter().zip(heads) {
        // Read and checked again: what is copied is what was checked.
        let (receipts, checkpoints) = match read_chain(&dir, t, &head, anchors)? {
            Ok(chain) => chain,
            Err(problem) => {
                say!(
                    "error: tenant `{t}` changed while it was being copied: {}; it was not copied",
                    problem.verdict()
                );
                return Ok(Exit::Failure);
            }
        };
        // The receipts and the checkpoints in one transaction: a tenant is copied whole or not
        // at all.
        target
            .import(t, &receipts, &checkpoints)
            .with_context(|| format!("cannot copy tenant `{t}`: nothing of it was copied"))?;
        chains.push((t, head, checkpoints.len() as u64));
    }
    // The directory's tenant list as it was signed, in place of the one the copies made when
    // they list the same tenants (an empty database): its signature still verifies.
    if let Some(manifest) = dir.manifest()? {
        target.copy_manifest(&manifest)?;
    }
    let mut copied = Vec::with_capacity(chains.len());
    for (t, head, checkpoints) in chains {
        let report = target.verify_signed(t, false, anchors)?;
        let problem = match (&report.problem, report.head.as_ref()) {
            (Some(p), _) => Some(p.to_string()),
            (None, h) if h != Some(&head) => Some("its head differs".to_owned()),
            (None, _) if report.checkpoints != checkpoints => {
                Some("its checkpoints differ".to_owned())
            }
            (None, _) => None,
        };
        if let Some(problem) = problem {
            say!("error: the copy of tenant `{t}` does not verify in the database: {problem}");
            return Ok(Exit::Failure);
        }
        copied.push(Copied {
            tenant: t.clone(),
            receipts: head.next_seq,
            checkpoints,
            head,
        });
    }
    let total: u64 = copied.iter().map(|c| c.receipts).sum();
    match args.format {
        Format::Json => super::style::emit_json(&copied)?,
        Format::Human => {
            for c in &copied {
                println!(
                    "{}: {} copied and verified ({}), head {}",
                    c.tenant,
                    plural(c.receipts, "receipt"),
                    plural(c.checkpoints, "signed checkpoint"),
                    c.head.hash.get(..12).unwrap_or(&c.head.hash)
                );
            }
            println!(
                "migrated {}, {} from `{}`",
                plural(copied.len(), "tenant"),
                plural(total, "receipt"),
                args.from.display()
            );
        }
    }
    Ok(Exit::Success)
}
