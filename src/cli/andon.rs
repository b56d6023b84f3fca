//! `tai andon`: the critical Andons stopping a tenant's packs in the local workspace — show
//! them, clear one. A clear is a receipt in the tenant's chain.

use std::io::Write;

use clap::{Args, Subcommand};

use crate::governor::Acknowledgement;
use crate::governor::AndonStop;
use crate::iam::Principal;
use crate::ids::{SignalName, TenantId};

use super::common::{open, print_receipts};
use super::style::emit_json;
use super::tenant::require_known;
use super::workspace::TenantArgs;
use super::{Exit, Format, GlobalArgs};

/// Show or clear the critical Andons stopping a tenant's packs.
#[derive(Debug, Args)]
#[command(after_help = "\
A pack may declare a signal as Andon (`signals: [{name: rollback_failed, andon: critical}]`).
When the signal arrives, a critical Andon stops the line: every action of the packs that
declare it is refused (`andon_stopped`) until someone clears it here; the tenant's other
packs keep running. A `warning` Andon is recorded and stops nothing.

Examples:
  tai signal --tenant acme --name rollback_failed
  tai andon show --tenant acme
  tai andon clear --tenant acme rollback_failed --note \"rolled forward by hand\"")]
pub struct AndonArgs {
    #[command(subcommand)]
    pub command: AndonCommand,
}

/// What to do with the tenant's Andons.
#[derive(Debug, Subcommand)]
pub enum AndonCommand {
    /// Show the critical Andons stopping the tenant's packs
    Show {
        #[command(flatten)]
        target: TenantArgs,
    },
    /// Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)
    Clear {
        #[command(flatten)]
        target: TenantArgs,
        /// The Andon signal to clear
        signal: SignalName,
        /// Who acknowledged it, for the receipt (`user:oncall@acme.com`)
        #[arg(long)]
        principal: Option<Principal>,
        /// What they found or did, for the receipt
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    tenant_id: &'a TenantId,
    andon: &'a [AndonStop],
}

pub fn run(args: &AndonArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    match &args.command {
        AndonCommand::Show { target } => {
            require_known(global, &target.tenant)?;
            let andon = open(global)?.view(&target.tenant)?.andon;
            match target.format {
                Format::Json => emit_json(&Shown {
                    tenant_id: &target.tenant,
                    andon: &andon,
                })?,
                Format::Human => print_stops(&target.tenant, &andon)?,
            }
        }
        AndonCommand::Clear {
            target,
            signal,
            principal,
            note,
        } => {
            require_known(global, &target.tenant)?;
            let ws = open(global)?;
            let receipts = ws.clear_andon(
                &target.tenant,
                signal,
                &Acknowledgement {
                    principal: principal.clone(),
                    note: note.clone(),
                },
            )?;
            let andon = ws.view(&target.tenant)?.andon;
            match target.format {
                Format::Json => emit_json(&serde_json::json!({
                    "tenant_id": target.tenant,
                    "andon": andon,
                    "receipts": receipts,
                }))?,
                Format::Human => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "Andon `{signal}` cleared")?;
                    drop(out);
                    print_stops(&target.tenant, &andon)?;
                    print_receipts(&mut std::io::stdout().lock(), &receipts)?;
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// One line per Andon, or a line saying nothing is stopped.
pub(super) fn print_stops(tenant: &TenantId, andon: &[AndonStop]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if andon.is_empty() {
        return writeln!(out, "no Andon is stopping tenant `{tenant}`");
    }
    for stop in andon {
        writeln!(out, "{stop}")?;
    }
    Ok(())
}
