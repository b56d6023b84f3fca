//! `tai iam`: a tenant's IAM policy in the local workspace — set it from a file, show it,
//! clear it. Every change is a receipt in the tenant's chain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::governor::IamSetting;
use crate::iam::IamPolicy;
use crate::ids::TenantId;
use crate::intake::{self, Reading};
use crate::workspace::Workspace;

use super::common::{input_error, open, print_receipts};
use super::style::emit_json;
use super::tenant::require_known;
use super::workspace::TenantArgs;
use super::{Exit, Format, GlobalArgs, load_catalog};

/// Set, show or clear a tenant's IAM policy.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai iam set --tenant acme policy.yaml
  tai iam show --tenant acme
  tai call ac_deployment_validator --tenant acme --principal user:bob@acme.com \\
      --arg deployment=checkout-api

A policy binds roles to members (user:EMAIL, serviceAccount:EMAIL, group:NAME, allUsers),
each binding optionally under a CEL condition over `principal` and `request`:

  bindings:
    - role: write_rollback
      members: [group:oncall]
      condition:
        title: business hours
        expression: request.time.getHours() >= 9 && request.time.getHours() < 17
  groups:
    oncall: [user:alice@acme.com, user:bob@acme.com]")]
pub struct IamArgs {
    #[command(subcommand)]
    pub command: IamCommand,
}

/// What to do with the policy.
#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Set the tenant's policy from a YAML, JSON or TOML file (recorded as a receipt)
    Set {
        #[command(flatten)]
        target: TenantArgs,
        /// The policy file
        file: PathBuf,
    },
    /// Show the tenant's policy, and the receipt that set it
    Show {
        #[command(flatten)]
        target: TenantArgs,
    },
    /// Remove the tenant's policy: callers hold the roles the plan grants again
    Clear {
        #[command(flatten)]
        target: TenantArgs,
    },
}

pub fn run(args: &IamArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (IamCommand::Set { target, .. }
    | IamCommand::Clear { target }
    | IamCommand::Show { target }) = &args.command;
    // Only an entitlement event starts a tenant: a misspelt name writes nothing.
    require_known(global, &target.tenant)?;
    match &args.command {
        IamCommand::Set { target, file } => {
            let ws = open(global)?;
            let text = read_policy(file)?;
            let known = ws.catalog().grantable_roles();
            let policy = IamPolicy::parse(&file.display().to_string(), &text, Some(&known))?;
            change(&ws, target, Some(policy))
        }
        IamCommand::Clear { target } => change(&open(global)?, target, None),
        IamCommand::Show { target } => {
            let catalog = Arc::new(load_catalog(global)?);
            let ws = super::common::open_read_only(global, catalog)?;
            if let Some(exit) =
                super::receipts::check_readable(global, std::slice::from_ref(&target.tenant))?
            {
                return Ok(exit);
            }
            let iam = match ws.tenant(&target.tenant) {
                Ok(t) => t.iam_policy().cloned(),
                Err(e) => return super::common::read_failure(e),
            };
            match target.format {
                Format::Json => emit_json(&Shown {
                    tenant_id: &target.tenant,
                    iam: iam.as_ref(),
                })?,
                Format::Human => print_setting(&target.tenant, iam.as_ref())?,
            }
            Ok(Exit::Success)
        }
    }
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    tenant_id: &'a TenantId,
    iam: Option<&'a IamSetting>,
}

/// How a policy file is read: bounded like every input.
const POLICY_FILE: Reading = Reading {
    regular: "an IAM policy is a regular `.yaml`, `.json` or `.toml` file",
    text: "policy files are YAML, JSON or TOML text in UTF-8",
    size: "a policy is a few kilobytes; check that it is the right file",
    missing: "check the path",
};

fn read_policy(file: &Path) -> anyhow::Result<String> {
    let text = intake::read_text(file, &POLICY_FILE).map_err(input_error)?;
    if text.len() > crate::iam::MAX_POLICY_BYTES {
        bail!(
            "`{}` is {} bytes; a policy file may be at most {} bytes",
            file.display(),
            text.len(),
            crate::iam::MAX_POLICY_BYTES
        );
    }
    Ok(text)
}

fn change(ws: &Workspace, target: &TenantArgs, policy: Option<IamPolicy>) -> anyhow::Result<Exit> {
    let receipts = ws.set_iam_policy(&target.tenant, policy)?;
    let iam = ws.tenant(&target.tenant)?.iam_policy().cloned();
    match target.format {
        Format::Json => emit_json(&serde_json::json!({
            "tenant_id": target.tenant,
            "iam": iam,
            "receipts": receipts,
        }))?,
        Format::Human => {
            print_setting(&target.tenant, iam.as_ref())?;
            print_receipts(&mut std::io::stdout().lock(), &receipts)?;
        }
    }
    Ok(Exit::Success)
}

fn print_setting(tenant: &TenantId, iam: Option<&IamSetting>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(iam) = iam else {
        return writeln!(
            out,
            "tenant `{tenant}` has no IAM policy: whoever calls holds the roles its plan grants"
        );
    };
    writeln!(
        out,
        "IAM policy of `{tenant}` (set at seq {}, {}):",
        iam.seq, iam.since
    )?;
    for (i, b) in iam.policy.bindings.iter().enumerate() {
        let members: Vec<String> = b.members.iter().map(ToString::to_string).collect();
        write!(out, "  [{i}] {} → {}", b.role, members.join(", "))?;
        match &b.condition {
            Some(c) => writeln!(out, "  if {}", c.name())?,
            None => writeln!(out)?,
        }
    }
    for (name, members) in &iam.policy.groups {
        let members: Vec<String> = members.iter().map(ToString::to_string).collect();
        writeln!(out, "  group:{name} = {}", members.join(", "))?;
    }
    Ok(())
}
