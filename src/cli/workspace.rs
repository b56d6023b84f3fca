//! The local workspace commands: `tai event`, `tai call`, `tai signal`, `tai action`,
//! `tai state`. Each invocation rebuilds the tenant from its ledger in the state directory,
//! applies one operation, and makes the receipts durable before printing.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::catalog::view;
use crate::clock::{Timestamp, parse_duration};
use crate::diagnostics::{closest, plural};
use crate::entitlement::{self, EntitlementEvent, EventKind, Standing, Status};
use crate::governor::{Decision, Resolution, Signal, ToolCall};
use crate::iam::Principal;
use crate::ids::{ActionRunId, PackId, PlanId, Role, SignalName, SkuId, TenantId};
use crate::receipts::Receipt;
use crate::workspace::TenantView;

use super::common::{clock, input_error, open, print_explanation, print_receipts};
use super::complete;
use super::load_catalog;
use super::style::emit_json;
use super::tenant::{require_known, warn_if_time_goes_back};
use super::{Exit, Format, GlobalArgs};

/// Which tenant, and how to print.
#[derive(Debug, Clone, Args)]
pub struct TenantArgs {
    /// The tenant
    #[arg(long, short = 't', add = complete::tenant())]
    pub tenant: TenantId,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Send an entitlement event (a lifecycle shortcut, or the marketplace's raw JSON/YAML).
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Examples:
  tai event activate --tenant globex --sku rollback-guard-base
  tai event change --tenant globex --sku rollback-guard-professional
  tai event change --tenant globex --sku governance-suite-enterprise --role read_deployment
  tai event renew --tenant globex
  tai event suspend --tenant globex
  tai event reinstate --tenant globex
  tai event --file purchase.json
  tai event import --from gcp --resources gcp/resources gcp/01_entitlement_creation_requested.json
  tai event approve --tenant acct-1001               # a pending purchase or plan change

Only an entitlement event starts a tenant: `activate` (or a raw event) names a new one; the
other shortcuts need a tenant the workspace holds."
)]
pub struct EventArgs {
    #[command(subcommand)]
    pub kind: Option<EventCommand>,
    /// A raw entitlement event (JSON or YAML) in the marketplace's shape
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// The lifecycle shortcuts.
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// A purchase: entitlement.activated
    Activate(LifecycleArgs),
    /// An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)
    #[command(visible_alias = "plan-change")]
    Change(LifecycleArgs),
    /// entitlement.renewed (expiry moves forward one term, or to --expires)
    Renew(LifecycleArgs),
    /// entitlement.suspended (tools stay listed; every call is refused)
    Suspend(LifecycleArgs),
    /// entitlement.reinstated
    Reinstate(LifecycleArgs),
    /// entitlement.cancelled (every pack is disabled)
    Cancel(LifecycleArgs),
    /// entitlement.approved: the provider approves a pending purchase or plan change
    Approve(LifecycleArgs),
    /// entitlement.withdrawn: the provider rejects a pending purchase or plan change
    Reject(LifecycleArgs),
    /// Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent
    Import(super::import::ImportArgs),
}

/// Fields of a lifecycle event.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    #[command(flatten)]
    pub target: TenantArgs,
    /// The SKU (required for activate and change)
    #[arg(long, add = complete::sku())]
    pub sku: Option<SkuId>,
    /// The marketplace plan (checked against the SKU's)
    #[arg(long)]
    pub plan: Option<PlanId>,
    /// Enable only these packs [default: all of the SKU's]
    #[arg(long = "pack", value_name = "PACK")]
    pub packs: Vec<PackId>,
    /// Grant only these roles [default: all of the SKU's]
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<Role>,
    /// Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
}

/// Call a tool as a tenant.
#[derive(Debug, Args)]
#[command(after_help = "\
Each `--arg` is read as the type the tool's input schema gives it: text for a string
argument (`--arg deployment=1234` is the text 1234), JSON for a number, boolean, array or object.
`--context` values are JSON when they parse (true, 3, [1,2], {\"a\":1}), else text.
`tai pack show PACK` lists each tool's arguments. `--timeout` may shorten the action's
wall-clock limit, never lengthen it.

Examples:
  tai call ac_rollback_status --tenant acme --arg deployment=checkout-api
  tai call ac_receipt_verify --tenant acme --timeout 2s
  tai call ac_rollback_orchestrator --tenant acme --arg deployment=checkout-api \\
      --arg target_version=v41 --context deployment_stable=true \\
      --context rollback_target_version=v41 --context rollback_policy_approved=true")]
pub struct CallArgs {
    /// The tool's name
    #[arg(add = complete::tool())]
    pub tool: String,
    #[command(flatten)]
    pub target: TenantArgs,
    /// A tool argument, KEY=VALUE (repeatable), typed by the tool's input schema
    #[arg(long = "arg", visible_alias = "argument", value_name = "KEY=VALUE", value_parser = parse_text_pair)]
    pub args: Vec<(String, String)>,
    /// Call context for preconditions, KEY=VALUE (repeatable)
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub context: Vec<(String, Value)>,
    /// A key for this call: run again with the same key, it answers the first outcome and
    /// runs nothing (also across restarts; the key is kept in the receipt)
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<crate::ids::IdempotencyKey>,
    /// Who calls (user:EMAIL or serviceAccount:EMAIL); under the tenant's IAM policy the
    /// action's roles must be bound to this principal
    #[arg(long, value_name = "PRINCIPAL")]
    pub principal: Option<Principal>,
    /// A wall-clock limit for this call (e.g. 2s, 500ms): it may tighten the action's
    /// timeout, never loosen it; the receipt says which limit was in force and why
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
}

/// A call's `--timeout`: a duration of at least 1 ms.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.as_millis() >= 1 => Ok(d),
        Ok(_) => Err("a timeout must be at least 1ms".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Send a signal to a tenant's governor.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai signal --tenant acme                      # boots a new tenant's governor
  tai signal --tenant acme --name storm_detected --fact storm_detected=true")]
pub struct SignalArgs {
    #[command(flatten)]
    pub target: TenantArgs,
    /// The signal's name
    #[arg(long)]
    pub name: Option<SignalName>,
    /// A fact the signal records, KEY=VALUE (repeatable)
    #[arg(long = "fact", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub facts: Vec<(String, Value)>,
}

/// Report the end of a tenant's in-flight action.
#[derive(Debug, Args)]
#[command(after_help = "\
An action that overran a bound leaves the governor `intervening` until it is resolved:
`complete` returns it to `stable`, `fail` to `refusing` (until an entitlement event).
`--action` names the action resolved (its id is in `tai state` and in its receipts); an id
that is not the one in flight is refused and nothing is written. Without `--action`,
whatever action is in flight is resolved.

Example:
  tai action complete --tenant hooli --detail \"the canary finished after all\"")]
pub struct ActionArgs {
    /// complete (back to stable) or fail (to refusing)
    #[arg(value_enum)]
    pub outcome: ActionOutcome,
    #[command(flatten)]
    pub target: TenantArgs,
    /// The id of the action resolved (`act_…`, as `tai state` shows it)
    #[arg(long = "action", value_name = "ACTION_ID")]
    pub action: Option<ActionRunId>,
    /// A note recorded in the receipt
    #[arg(long)]
    pub detail: Option<String>,
}

/// How the in-flight action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ActionOutcome {
    /// The action finished: intervening → stable (scenario step `action_complete`)
    #[value(alias = "completed")]
    Complete,
    /// The action failed: intervening → refusing (scenario step `action_failed`)
    #[value(alias = "failed")]
    Fail,
}

/// Show a tenant's governor state, entitlement and visible tools.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai state                             # every tenant
  tai state --tenant acme
  tai state --tenant acme --format json")]
pub struct StateArgs {
    /// The tenant [default: list every tenant]
    #[arg(long, short = 't', add = complete::tenant())]
    pub tenant: Option<TenantId>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

fn parse_text_pair(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))?;
    if k.is_empty() {
        return Err(format!("empty key in `{text}`"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let (k, v) = parse_text_pair(text)?;
    let value = serde_json::from_str(&v).unwrap_or(Value::String(v));
    Ok((k, value))
}

pub fn event(args: &EventArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if let Some(EventCommand::Import(import)) = &args.kind {
        return super::import::run(import, global);
    }
    let now = clock(global)?.now();
    if let Some(cmd) = &args.kind {
        check_shortcut(cmd, global)?;
    }
    let raw: Value = match (&args.kind, &args.file) {
        (_, Some(path)) => entitlement::read_event_file(path).map_err(input_error)?,
        (Some(cmd), None) => serde_json::to_value(lifecycle_event(cmd, now)?)?,
        (None, None) => bail!("name a lifecycle event (activate, change, ...) or pass --file"),
    };
    let ws = open(global)?;
    let outcome = ws.apply_event(&raw)?;
    let tenant = raw
        .get("tenant_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Ok(id) = TenantId::new(tenant) {
        warn_if_time_goes_back(&ws, &id, &outcome.receipts);
    }
    let format = match args.kind.as_ref().and_then(lifecycle_args) {
        Some(a) => a.target.format,
        None => args.format,
    };
    match format {
        Format::Json => emit_json(&outcome)?,
        Format::Human => {
            let mut out = std::io::stdout().lock();
            let kind = raw
                .get("event_type")
                .and_then(Value::as_str)
                .unwrap_or("event");
            match &outcome.refusal {
                None => writeln!(out, "{kind} accepted for `{tenant}`")?,
                Some(r) => writeln!(
                    out,
                    "{kind} refused for `{tenant}`: {} — {}",
                    r.code, r.message
                )?,
            }
            if let Some(seq) = outcome.repeat_of {
                writeln!(
                    out,
                    "already applied: recorded at seq {seq}; nothing changed"
                )?;
            }
            print_receipts(&mut out, &outcome.receipts)?;
        }
    }
    Ok(if outcome.accepted {
        Exit::Success
    } else {
        Exit::Refused
    })
}

fn lifecycle_args(cmd: &EventCommand) -> Option<&LifecycleArgs> {
    match cmd {
        EventCommand::Activate(a)
        | EventCommand::Change(a)
        | EventCommand::Renew(a)
        | EventCommand::Suspend(a)
        | EventCommand::Reinstate(a)
        | EventCommand::Cancel(a)
        | EventCommand::Approve(a)
        | EventCommand::Reject(a) => Some(a),
        EventCommand::Import(_) => None,
    }
}

/// What a shortcut needs before anything is written: `activate` and `change` name a SKU, and
/// only `activate` may name a tenant the workspace does not hold yet.
fn check_shortcut(cmd: &EventCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let Some(a) = lifecycle_args(cmd) else {
        return Ok(());
    };
    let name = match cmd {
        EventCommand::Activate(_) => "activate",
        EventCommand::Change(_) => "change",
        _ => "",
    };
    if !name.is_empty() && a.sku.is_none() {
        bail!("`tai event {name}` needs --sku SKU\nhint: `tai sku list` lists the SKUs");
    }
    if !matches!(cmd, EventCommand::Activate(_)) {
        require_known(global, &a.target.tenant)?;
    }
    Ok(())
}

fn lifecycle_event(cmd: &EventCommand, now: Timestamp) -> anyhow::Result<EntitlementEvent> {
    let kind = match cmd {
        EventCommand::Activate(_) => EventKind::Activated,
        EventCommand::Change(_) => EventKind::PlanChanged,
        EventCommand::Renew(_) => EventKind::Renewed,
        EventCommand::Suspend(_) => EventKind::Suspended,
        EventCommand::Reinstate(_) => EventKind::Reinstated,
        EventCommand::Cancel(_) => EventKind::Cancelled,
        EventCommand::Approve(_) => EventKind::Approved,
        EventCommand::Reject(_) => EventKind::Withdrawn,
        EventCommand::Import(_) => bail!("`tai event import` reads notifications, not flags"),
    };
    let Some(a) = lifecycle_args(cmd) else {
        bail!("`tai event import` reads notifications, not flags");
    };
    let mut ev = EntitlementEvent::new(kind, a.target.tenant.clone());
    ev.sku_id = a.sku.clone();
    ev.plan_id = a.plan.clone();
    ev.enabled_packs = (!a.packs.is_empty()).then(|| a.packs.clone());
    ev.iam_roles = (!a.roles.is_empty()).then(|| a.roles.clone());
    ev.expiry = a
        .expires
        .as_deref()
        .map(|w| parse_when(w, now))
        .transpose()?;
    Ok(ev)
}

/// A time, or a duration from now.
fn parse_when(text: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(t);
    }
    match parse_duration(text) {
        Ok(d) => Ok(now.plus(d)),
        Err(_) => bail!(
            "invalid --expires `{text}`: use a time (2026-03-01, RFC 3339, epoch seconds) or a duration (45d)"
        ),
    }
}

pub fn call(args: &CallArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    require_known(global, &args.target.tenant)?;
    let ws = open(global)?;
    let schema = ws.catalog().tool(&args.tool).map(|t| &t.tool.input_schema);
    let call = ToolCall {
        tool: args.tool.clone(),
        arguments: args
            .args
            .iter()
            .map(|(k, v)| {
                let value = match schema {
                    Some(schema) => view::argument_value(schema, k, v),
                    None => parse_pair(&format!("{k}={v}")).map_or(Value::Null, |(_, v)| v),
                };
                (k.clone(), value)
            })
            .collect(),
        context: args.context.iter().cloned().collect(),
        idempotency_key: args.idempotency_key.clone(),
        principal: args.principal.clone(),
        timeout_ms: args
            .timeout
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    };
    let outcome = ws.call(&args.target.tenant, &call)?;
    warn_if_time_goes_back(&ws, &args.target.tenant, &outcome.receipts);
    match args.target.format {
        Format::Json => emit_json(&outcome)?,
        Format::Human => {
            let mut out = std::io::stdout().lock();
            let gate = outcome
                .gate
                .map(|g| format!(" at the {g} gate"))
                .unwrap_or_default();
            match &outcome.reason {
                // The message says it all: "`ac_receipt_verify` executed".
                None => writeln!(out, "{}", outcome.message)?,
                Some(r) if r.as_str() == outcome.decision.as_str() => {
                    writeln!(out, "{}{gate}: {}", outcome.decision, outcome.message)?;
                }
                Some(r) => writeln!(out, "{}{gate}: {r} — {}", outcome.decision, outcome.message)?,
            }
            // A near miss among the tenant's own tools is the whole answer; otherwise the
            // explanation says where the tool is (which plans) or that it exists nowhere.
            let near = if outcome.decision == Decision::ToolNotFound {
                let visible = ws.view(&args.target.tenant)?.tools;
                closest(&args.tool, visible.iter().map(|t| t.as_str())).map(str::to_owned)
            } else {
                None
            };
            match near {
                Some(near) => writeln!(out, "did you mean `{near}`?")?,
                None => {
                    print_explanation(&mut out, ws.catalog(), &outcome.receipts, &outcome.message)?
                }
            }
            if let Some(result) = &outcome.result {
                writeln!(out, "{}", serde_json::to_string_pretty(result)?)?;
            }
            // A reused key's refusal says which seq holds the key in its message.
            if let Some(seq) = outcome.repeat_of
                && outcome.reason != Some(crate::vocab::ReasonCode::IdempotencyKeyReused)
            {
                writeln!(out, "already decided: recorded at seq {seq}; nothing ran")?;
            }
            print_receipts(&mut out, &outcome.started)?;
            print_receipts(&mut out, &outcome.receipts)?;
        }
    }
    Ok(match outcome.decision {
        Decision::Executed => Exit::Success,
        Decision::Refused => Exit::Refused,
        Decision::ToolNotFound => Exit::NotFound,
        Decision::Failed => Exit::ActionFailed,
    })
}

pub fn signal(args: &SignalArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    require_known(global, &args.target.tenant)?;
    let ws = open(global)?;
    let signal = Signal {
        name: args.name.clone(),
        facts: args.facts.iter().cloned().collect(),
    };
    let outcome = ws.signal(&args.target.tenant, &signal)?;
    warn_if_time_goes_back(&ws, &args.target.tenant, &outcome.receipts);
    match args.target.format {
        Format::Json => emit_json(&outcome)?,
        Format::Human => {
            let mut out = std::io::stdout().lock();
            match &outcome.reason {
                None => writeln!(out, "{} (governor {})", outcome.event, outcome.state)?,
                Some(r) => writeln!(out, "{}: {r} (governor {})", outcome.event, outcome.state)?,
            }
            if let Some(message) = &outcome.message {
                writeln!(out, "{message}")?;
            }
            let said = outcome.message.as_deref().unwrap_or_default();
            print_explanation(&mut out, ws.catalog(), &outcome.receipts, said)?;
            print_receipts(&mut out, &outcome.receipts)?;
        }
    }
    Ok(if outcome.reason.is_some() {
        Exit::Refused
    } else {
        Exit::Success
    })
}

pub fn action(args: &ActionArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    require_known(global, &args.target.tenant)?;
    let ws = open(global)?;
    let resolution = match args.outcome {
        ActionOutcome::Complete => Resolution::Complete,
        ActionOutcome::Fail => Resolution::Failed,
    };
    let receipts = ws.resolve_action(
        &args.target.tenant,
        resolution,
        args.action.as_ref(),
        args.detail.as_deref(),
    )?;
    warn_if_time_goes_back(&ws, &args.target.tenant, &receipts);
    match args.target.format {
        Format::Json => emit_json(&receipts)?,
        Format::Human => {
            let mut out = std::io::stdout().lock();
            print_receipts(&mut out, &receipts)?;
        }
    }
    Ok(Exit::Success)
}

pub fn state(args: &StateArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    // Reading changes nothing: no repair, no quarantine, no files created.
    let catalog = Arc::new(load_catalog(global)?);
    let ws = super::common::open_read_only(global, catalog)?;
    let ids = match &args.tenant {
        Some(t) => {
            require_known(global, t)?;
            vec![t.clone()]
        }
        None => ws.tenant_ids()?,
    };
    if let Some(exit) = super::receipts::check_readable(global, &ids)? {
        return Ok(exit);
    }
    let mut tenants: Vec<TenantView> = Vec::with_capacity(ids.len());
    for id in &ids {
        match ws.view(id) {
            Ok(view) => tenants.push(view),
            Err(e) => return super::common::read_failure(e),
        }
    }
    match args.format {
        Format::Json => {
            if args.tenant.is_some() {
                emit_json(&tenants[0])?;
            } else {
                emit_json(&serde_json::json!({ "tenants": tenants }))?;
            }
        }
        Format::Human => {
            let mut out = std::io::stdout().lock();
            for t in &tenants {
                render_state(&mut out, t)?;
            }
            if tenants.is_empty() {
                writeln!(out, "no tenants in `{}`", global.state.display())?;
            }
        }
    }
    Ok(Exit::Success)
}

/// One tenant as `tai state` shows it: a label column as wide as its widest label
/// (`entitlement`), then the value.
fn render_state(out: &mut dyn Write, t: &TenantView) -> std::io::Result<()> {
    writeln!(out, "tenant      {}", t.tenant_id)?;
    writeln!(out, "governor    {}", t.state)?;
    match &t.entitlement {
        None => writeln!(out, "entitlement none")?,
        Some(e) => {
            writeln!(
                out,
                "entitlement {} ({}), {}",
                e.sku_id,
                e.plan_id,
                standing_text(e.standing, &e.expiry.to_string())
            )?;
            let packs: Vec<&str> = e.enabled_packs.iter().map(PackId::as_str).collect();
            let roles: Vec<&str> = e.iam_roles.iter().map(Role::as_str).collect();
            writeln!(out, "packs       {}", packs.join(", "))?;
            writeln!(out, "roles       {}", roles.join(", "))?;
            if let Some(q) = e.quantity {
                writeln!(out, "quantity    {q}")?;
            }
            if e.status == Status::Pending {
                writeln!(
                    out,
                    "pending     purchase awaiting approval (tai event approve)"
                )?;
            }
            if let Some(p) = &e.pending {
                writeln!(out, "pending     {p}")?;
            }
        }
    }
    let tools: Vec<&str> = t.tools.iter().map(|x| x.as_str()).collect();
    writeln!(
        out,
        "tools       {}",
        if tools.is_empty() {
            "none".into()
        } else {
            tools.join(", ")
        }
    )?;
    if !t.facts.is_empty() {
        writeln!(out, "facts       {}", Value::Object(t.facts.clone()))?;
    }
    if let Some(f) = &t.in_flight {
        writeln!(
            out,
            "in flight   {} {} ({}) since {}",
            f.action_id, f.tool, f.reason, f.since
        )?;
        if let Some(p) = &f.polling {
            writeln!(
                out,
                "polling     {}: {} poll(s) so far, next at {}, fails at {}",
                p.status_tool, p.polls, p.next_poll_at, p.deadline_at
            )?;
        }
    }
    if let Some(r) = &t.running {
        writeln!(
            out,
            "running     {} {} since {} (action_started at seq {}, no outcome yet)",
            r.action_id, r.tool, r.since, r.started_seq
        )?;
    }
    for stop in &t.andon {
        writeln!(
            out,
            "stopped     {} (tai andon clear --tenant {} {})",
            stop, t.tenant_id, stop.signal
        )?;
    }
    writeln!(
        out,
        "receipts    {} (head {})",
        t.receipts,
        &t.head_hash[..16]
    )?;
    let g = &t.governor;
    let at = |t: Option<crate::clock::Timestamp>| {
        t.map_or_else(|| "never".to_owned(), |t| t.to_string())
    };
    writeln!(
        out,
        "counted     {}, {}, {} processed",
        plural(g.calls, "call"),
        plural(g.refusals, "refusal"),
        plural(g.signals_processed, "signal")
    )?;
    writeln!(
        out,
        "since       {}, last transition {}",
        at(g.created_at),
        at(g.last_transition_at)
    )?;
    writeln!(out)
}

/// An entitlement's standing with its expiry, worded for the standing: "active until …",
/// "cancelled (the term was to end …)".
fn standing_text(standing: Standing, expiry: &str) -> String {
    match standing {
        Standing::Active | Standing::Pending => format!("{standing} until {expiry}"),
        Standing::Suspended => format!("suspended (the term ends {expiry})"),
        Standing::Expired => format!("expired at {expiry}"),
        Standing::Cancelled => format!("cancelled (the term was to end {expiry})"),
    }
}

/// Writes every tenant's receipts from a run to a ledger directory.
pub fn persist_receipts(
    dir: &std::path::Path,
    runs: &[(&TenantId, &[Receipt])],
) -> anyhow::Result<()> {
    let ledger = crate::receipts::ledger::FileLedger::open(dir)
        .with_context(|| format!("cannot open ledger directory `{}`", dir.display()))?;
    for (tenant, receipts) in runs {
        crate::receipts::ledger::Ledger::append(&ledger, tenant, receipts)?;
    }
    Ok(())
}
