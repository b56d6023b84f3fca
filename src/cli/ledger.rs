//! `tai ledger migrate`: copies the state directory's receipt chains into a database ledger,
//! verifying each before and after.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::diagnostics::plural;
use crate::ids::TenantId;
use crate::receipts::trust::TrustAnchors;
use crate::receipts::{ChainHead, LedgerDir};

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
tenant the database already holds is refused before anything is copied (exit 2). Signed
checkpoints stay in the state directory. Nothing in the state directory is changed.

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
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// What was copied for one tenant.
#[derive(Debug, Serialize)]
struct Copied {
    tenant: TenantId,
    receipts: u64,
    head: ChainHead,
}

pub fn run(args: &LedgerArgs, _global: &GlobalArgs) -> anyhow::Result<Exit> {
    match &args.command {
        LedgerCommand::Migrate(a) => migrate(a),
    }
}

fn migrate(args: &MigrateArgs) -> anyhow::Result<Exit> {
    let dir = LedgerDir::in_state(&args.from);
    let tenants = dir.tenants()?;
    if tenants.is_empty() {
        bail!("no ledgers in `{}`", args.from.display());
    }
    // Every chain verified before anything is copied: a broken one is reported, not spread.
    let mut broken = Vec::new();
    let mut heads = Vec::with_capacity(tenants.len());
    for t in &tenants {
        let report = dir.verify_with(t, true, TrustAnchors::default())?;
        match (&report.problem, report.head) {
            (None, Some(head)) => heads.push(head),
            (Some(problem), _) => broken.push(format!("{t}: BROKEN at {problem}")),
            (None, None) => broken.push(format!("{t}: no chain head")),
        }
    }
    if !broken.is_empty() {
        eprintln!(
            "error: {} in `{}` did not verify; nothing was copied\n  {}\n\
             hint: `tai --state {} receipts verify --all` says more",
            plural(broken.len(), "chain"),
            args.from.display(),
            broken.join("\n  "),
            args.from.display()
        );
        return Ok(Exit::Failure);
    }
    let target = super::common::connect_ledger(
        &args.to,
        None,
        std::sync::Arc::new(crate::clock::SystemClock),
    )?;
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
    let mut copied = Vec::with_capacity(tenants.len());
    for (t, head) in tenants.iter().zip(heads) {
        // Only the acknowledged receipts: what follows the head was never answered.
        let mut receipts = dir.receipts(t)?;
        receipts.truncate(usize::try_from(head.next_seq).unwrap_or(usize::MAX));
        for batch in receipts.chunks(1000) {
            target.append(t, batch)?;
        }
        let report = target.verify(t)?;
        if !report.is_ok() || report.head.as_ref() != Some(&head) {
            eprintln!(
                "error: the copy of tenant `{t}` does not verify in the database: {}",
                report
                    .problem
                    .map_or_else(|| "its head differs".to_owned(), |p| p.to_string())
            );
            return Ok(Exit::Failure);
        }
        copied.push(Copied {
            tenant: t.clone(),
            receipts: head.next_seq,
            head,
        });
    }
    let total: u64 = copied.iter().map(|c| c.receipts).sum();
    match args.format {
        Format::Json => super::common::print_json(&copied)?,
        Format::Human => {
            for c in &copied {
                println!(
                    "{}: {} copied and verified, head {}",
                    c.tenant,
                    plural(c.receipts, "receipt"),
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
