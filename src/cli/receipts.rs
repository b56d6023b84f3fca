//! `tai receipts`: verify, show, export and prove the receipt chains kept in the state
//! directory or the `--ledger` database.
//!
//! These commands only read: they neither lock nor repair a ledger, so they can run while
//! another `tai` process is writing. A chain that does not verify makes every one of them
//! exit 1 (`show` and `export` read it anyway with `--allow-broken`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use crate::clock::Timestamp;
use crate::diagnostics::plural;
use crate::ids::TenantId;
use crate::receipts::export::{self, ExportFormat};
use crate::receipts::trust::TrustAnchors;
use crate::receipts::{
    ChainHead, Checkpoint, EventType, Manifest, Problem, ProblemKind, Receipt, ReceiptFilter,
    VerifyReport,
};

use super::chains::{Chains, require_tenant};
use super::evidence::{
    CheckpointArgs, ManifestArgs, ProveArgs, VerifyProofArgs, checkpoint, manifest, prove,
    public_keys, read_json, verify_proof,
};
use super::style::{Paint, TextTable};
use super::style::{emit, emit_json};
use super::{Exit, Format, GlobalArgs};

/// Verify, show and export receipt chains.
#[derive(Debug, Args)]
pub struct ReceiptsArgs {
    #[command(subcommand)]
    pub command: ReceiptsCommand,
}

/// The `tai receipts` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq
    #[command(after_help = "Examples:\n  tai receipts verify --tenant acme\n  \
                            tai receipts verify --all --format json")]
    Verify(VerifyArgs),
    /// Show a tenant's receipts as a table
    #[command(after_help = "Examples:\n  tai receipts show --tenant acme\n  \
                            tai receipts show --tenant acme --event action_refused \
                            --since 2026-03-01")]
    Show(ShowArgs),
    /// Write a tenant's receipts as JSON, JSONL, CSV or Markdown
    #[command(
        after_help = "Examples:\n  tai receipts export --tenant acme --output acme.csv   \
                            # the format from the extension\n  \
                            tai receipts export --tenant acme --format markdown \
                            --from-seq 2"
    )]
    Export(ExportArgs),
    /// Print a tenant's latest signed checkpoint (JSON), to keep outside tai
    #[command(
        after_help = "Examples:\n  tai receipts checkpoint --tenant acme --out acme-2026-03.json\n  \
                            tai receipts verify --tenant acme --public-key signing.pub \
                            --checkpoint acme-2026-03.json"
    )]
    Checkpoint(CheckpointArgs),
    /// Print the workspace manifest (JSON, signed when writers sign): every tenant ever
    /// created, to keep outside tai
    #[command(
        after_help = "Examples:\n  tai receipts manifest --out manifest-2026-03.json\n  \
                            tai receipts verify --all --public-key signing.pub \
                            --manifest manifest-2026-03.json"
    )]
    Manifest(ManifestArgs),
    /// Write a proof that a receipt is in the signed history (or that the history only grew
    /// since a kept checkpoint), checkable without the ledger
    #[command(
        after_help = "Examples:\n  tai receipts prove --tenant acme --seq 2 --out receipt-2.proof.json\n  \
                            tai receipts prove --tenant acme --from-checkpoint kept.json \
                            --out grew.proof.json\n  \
                            tai receipts verify-proof receipt-2.proof.json --public-key signing.pub"
    )]
    Prove(ProveArgs),
    /// Check a proof file with the public key alone
    VerifyProof(VerifyProofArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["tenant", "all"])))]
pub struct VerifyArgs {
    /// The tenant whose chain to verify
    #[arg(long, value_name = "TENANT", add = super::complete::tenant())]
    tenant: Option<TenantId>,
    /// Verify every tenant in the state directory (or the --ledger database)
    #[arg(long)]
    all: bool,
    /// Also parse every receipt and check its canonical encoding (slower)
    #[arg(long)]
    deep: bool,
    /// Require every chain's checkpoints, up to its head, to be signed with this key
    /// (repeatable, for keys used in turn)
    #[arg(long = "public-key", value_name = "FILE")]
    public_keys: Vec<PathBuf>,
    /// Also require the chain to extend this kept checkpoint (from `tai receipts checkpoint`)
    #[arg(long, value_name = "FILE", requires = "tenant")]
    checkpoint: Option<PathBuf>,
    /// Also require every tenant this kept manifest lists (from `tai receipts manifest`) to
    /// be listed still: a tenant deleted with the manifest put back to an older one fails
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Also fail a chain whose receipt times go backwards (e.g. written partly under
    /// `--now`/`TAI_NOW` and partly on the real clock)
    #[arg(long)]
    strict_time: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Which receipts to include.
#[derive(Debug, Args)]
struct FilterArgs {
    /// Only receipts of this event type (repeat for several)
    #[arg(long = "event", value_name = "TYPE", value_parser = event_type_parser())]
    events: Vec<EventType>,
    /// Only receipts with seq at least N
    #[arg(long, value_name = "N")]
    from_seq: Option<u64>,
    /// Only receipts with seq at most N
    #[arg(long, value_name = "N")]
    to_seq: Option<u64>,
    /// Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)
    #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
    since: Option<Timestamp>,
    /// Only receipts before TIME (RFC 3339, a date, or epoch seconds)
    #[arg(long, value_name = "TIME", value_parser = Timestamp::parse)]
    until: Option<Timestamp>,
}

fn event_type_parser() -> impl TypedValueParser<Value = EventType> {
    PossibleValuesParser::new(EventType::ALL.map(EventType::as_str))
        .try_map(|s| s.parse::<EventType>())
}

impl FilterArgs {
    fn to_filter(&self, tenant: &TenantId) -> ReceiptFilter {
        ReceiptFilter {
            tenant: Some(tenant.clone()),
            event_types: self.events.clone(),
            from_seq: self.from_seq,
            to_seq: self.to_seq,
            since: self.since,
            until: self.until,
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The tenant whose receipts to show
    #[arg(long, value_name = "TENANT", add = super::complete::tenant())]
    tenant: TenantId,
    #[command(flatten)]
    filter: FilterArgs,
    /// Show the receipts even when the chain does not verify (exit 0, with a warning)
    #[arg(long)]
    allow_broken: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant whose receipts to export
    #[arg(long, value_name = "TENANT", add = super::complete::tenant())]
    tenant: TenantId,
    /// Export format [default: from the --output file's extension: .json, .jsonl, .csv, .md]
    #[arg(long, value_name = "FORMAT", value_parser = export_format_parser())]
    format: Option<ExportFormat>,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Export the receipts even when the chain does not verify (exit 0, with a warning)
    #[arg(long)]
    allow_broken: bool,
}

fn export_format_parser() -> impl TypedValueParser<Value = ExportFormat> {
    PossibleValuesParser::new(ExportFormat::ALL.map(ExportFormat::as_str))
        .try_map(|s| s.parse::<ExportFormat>())
}

pub fn run(args: &ReceiptsArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if let ReceiptsCommand::VerifyProof(a) = &args.command {
        return verify_proof(a);
    }
    let dir = Chains::open(global)?;
    match &args.command {
        ReceiptsCommand::Verify(a) => verify(&dir, a),
        ReceiptsCommand::Show(a) => show(&dir, a, Paint::new(global.color)),
        ReceiptsCommand::Export(a) => export_cmd(&dir, a),
        ReceiptsCommand::Checkpoint(a) => checkpoint(&dir, a),
        ReceiptsCommand::Manifest(a) => manifest(&dir, a),
        ReceiptsCommand::Prove(a) => prove(&dir, a),
        ReceiptsCommand::VerifyProof(a) => verify_proof(a),
    }
}

#[derive(Serialize)]
struct TenantVerdict<'a> {
    tenant_id: &'a TenantId,
    ok: bool,
    message: String,
    #[serde(flatten)]
    report: &'a VerifyReport,
}

fn verify(dir: &Chains, args: &VerifyArgs) -> anyhow::Result<Exit> {
    let listed = dir.listed()?;
    // A kept manifest: tenants it lists that the workspace's no longer does were deleted,
    // and the manifest put back to an older one (or another workspace's): only a copy kept
    // outside tai tells, as a kept checkpoint does for a chain.
    let kept_manifest: Option<Manifest> = match &args.manifest {
        Some(path) => Some(read_json(path, "a workspace manifest")?),
        None => None,
    };
    let tenants = match &args.tenant {
        Some(t) => {
            // A tenant the manifest (or the kept one) lists is verified even without a
            // ledger: it was deleted.
            let kept_lists = kept_manifest
                .as_ref()
                .is_some_and(|m| m.tenants.contains(t));
            if !listed.contains(t) && !kept_lists {
                require_tenant(dir, t)?;
            }
            vec![t.clone()]
        }
        None => {
            let mut all: Vec<TenantId> = dir.tenants()?;
            all.extend(listed.iter().cloned());
            all.sort();
            all.dedup();
            if all.is_empty() {
                bail!("no ledgers in {}", dir.place());
            }
            all
        }
    };
    let keys = public_keys(&args.public_keys)?;
    let kept_problem = kept_manifest
        .as_ref()
        .filter(|_| !keys.is_empty())
        .and_then(|m| m.check_signature(&keys).err());
    let dropped: Vec<TenantId> = kept_manifest
        .iter()
        .flat_map(|m| m.tenants.iter())
        .filter(|t| !listed.contains(*t))
        .filter(|t| args.tenant.as_ref().is_none_or(|only| only == *t))
        .cloned()
        .collect();
    let mut tenants = tenants;
    tenants.extend(dropped.iter().cloned());
    tenants.sort();
    tenants.dedup();
    let kept: Option<Checkpoint> = match &args.checkpoint {
        Some(path) => Some(read_json(path, "a checkpoint")?),
        None => None,
    };
    let anchors = TrustAnchors {
        keys: &keys,
        kept: kept.as_ref(),
    };
    let mut reports = Vec::with_capacity(tenants.len());
    let mut reversals = Vec::with_capacity(tenants.len());
    for t in &tenants {
        let mut report = dir.verify_with(t, args.deep, anchors)?;
        let kept_says = if let Some(e) = &kept_problem {
            Some(format!("the kept manifest does not verify: {e}"))
        } else if dropped.contains(t) {
            Some(
                "the kept manifest lists it and the workspace's manifest does not: the tenant \
                 was deleted and the manifest put back to an older one (or another \
                 workspace's)"
                    .to_owned(),
            )
        } else {
            None
        };
        if let Some(detail) = kept_says
            && report.problem.is_none()
        {
            report.problem = Some(Problem {
                seq: None,
                line: None,
                kind: ProblemKind::Manifest { detail },
            });
        }
        // Times are only worth reading on a chain that is otherwise intact.
        reversals.push(if args.strict_time && report.is_ok() {
            time_reversal(&dir.receipts(t)?)
        } else {
            None
        });
        reports.push(report);
    }
    let verdicts: Vec<TenantVerdict> = tenants
        .iter()
        .zip(&reports)
        .zip(&reversals)
        .map(|((tenant, report), reversal)| TenantVerdict {
            tenant_id: tenant,
            ok: report.is_ok() && reversal.is_none(),
            message: match reversal {
                Some(r) => format!("TIME GOES BACKWARDS at {r}"),
                None => verdict(report),
            },
            report,
        })
        .collect();
    match args.format {
        // The shape of `GET /v1/tenants/{t}/verify` for each tenant, under one verdict.
        Format::Json => emit_json(&serde_json::json!({
            "ok": verdicts.iter().all(|v| v.ok),
            "tenants": verdicts,
        }))?,
        Format::Human => {
            let text: String = verdicts
                .iter()
                .map(|v| {
                    let mut line = format!("{}: {}\n", v.tenant_id, v.message);
                    // Up to the seq it breaks at; all of them when the problem is elsewhere
                    // (the head, the manifest, a checkpoint file).
                    match v.report.problem.as_ref().map(|p| p.seq) {
                        Some(Some(seq)) => line.push_str(&format!(
                            "  {} verified before the break\n",
                            plural(seq.min(v.report.receipts), "receipt")
                        )),
                        Some(None) => line.push_str(&format!(
                            "  {} verified\n",
                            plural(v.report.receipts, "receipt")
                        )),
                        None => {}
                    }
                    line
                })
                .collect();
            emit(text.as_bytes())?;
        }
    }
    Ok(if verdicts.iter().all(|v| v.ok) {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The first receipt stamped earlier than the one before it, described; a chain written
/// partly under `--now` and partly on the real clock has one.
pub(super) fn time_reversal(receipts: &[Receipt]) -> Option<String> {
    receipts.windows(2).find_map(|pair| {
        let (before, after) = (&pair[0], &pair[1]);
        (after.body.timestamp < before.body.timestamp).then(|| {
            format!(
                "seq {}: {} is earlier than seq {} at {}",
                after.seq, after.body.timestamp, before.seq, before.body.timestamp
            )
        })
    })
}

/// One line on a chain's state.
fn verdict(report: &VerifyReport) -> String {
    if let Some(problem) = &report.problem {
        return problem.verdict();
    }
    let head = match &report.head {
        Some(ChainHead { next_seq: 0, .. }) | None => "empty chain".to_owned(),
        Some(h) => format!(
            "head seq {} ({})",
            h.next_seq - 1,
            h.hash.get(..12).unwrap_or(&h.hash)
        ),
    };
    let mut text = format!("ok, {}, {head}", plural(report.receipts, "receipt"));
    if let Some(c) = &report.latest_checkpoint {
        text.push_str(&format!(
            "; {}, latest at seq {} by key {}{}",
            plural(report.checkpoints, "checkpoint"),
            c.seq,
            c.key_id,
            if report.signatures_checked {
                ", signatures verified"
            } else {
                " (signatures not checked: pass --public-key)"
            }
        ));
    }
    if report.unacknowledged > 0 {
        // Those a stored checkpoint covers were signed by a writer that stopped before moving
        // the head: the next writer adopts them. The others it moves to quarantine.
        let head = report.receipts - report.unacknowledged;
        let covered = report
            .latest_checkpoint
            .as_ref()
            .map_or(0, |c| (c.seq + 1).saturating_sub(head))
            .min(report.unacknowledged);
        if covered > 0 {
            text.push_str(&format!(
                "; {} after the head that the latest checkpoint covers (signed, but the head \
                 was not moved before the writer stopped; the next write adopts them)",
                plural(covered, "unacknowledged receipt")
            ));
        }
        let uncovered = report.unacknowledged - covered;
        if uncovered > 0 {
            text.push_str(&format!(
                "; {} after the head that no checkpoint covers (never acknowledged: an \
                 interrupted append, or written by someone else; not part of the chain, and \
                 the next write moves them to quarantine)",
                plural(uncovered, "unacknowledged receipt")
            ));
        }
    }
    if report.incomplete_bytes > 0 {
        text.push_str(&format!(
            "; an incomplete last line of {} bytes after the head (an append in progress or \
             interrupted; never acknowledged)",
            report.incomplete_bytes
        ));
    }
    text
}

/// Reads a tenant's receipts. A chain that does not verify is refused (`Err(Exit)`), or with
/// `allow_broken` read all the same with a warning on standard error.
fn load(
    dir: &Chains,
    tenant: &TenantId,
    allow_broken: bool,
) -> anyhow::Result<Result<Vec<Receipt>, Exit>> {
    match check(dir, tenant, Some(allow_broken))? {
        Err(exit) => Ok(Err(exit)),
        // Broken, read anyway: what can be, line by line, each line that cannot be named.
        Ok(true) if let Chains::Dir(d) = dir => {
            let crate::receipts::ledger::Salvaged { receipts, skipped } = d.salvage(tenant)?;
            const NAMED: usize = 10;
            for (line, why) in skipped.iter().take(NAMED) {
                say!(
                    "warning: line {line} of `{tenant}`'s ledger is not a receipt, skipped: {why}"
                );
            }
            if skipped.len() > NAMED {
                say!("warning: {} more lines skipped", skipped.len() - NAMED);
            }
            Ok(Ok(receipts))
        }
        Ok(_) => Ok(Ok(dir.receipts(tenant)?)),
    }
}

/// Verifies `tenant`'s record (its chain, head, checkpoints and the manifest's word on it)
/// before a reading command shows anything of it: `Err(Exit::Failure)` when it does not
/// verify, said on standard error, unless `allow_broken` is `Some(true)` (a warning then).
/// `None`: the command has no `--allow-broken`. `Ok(true)`: broken, and read anyway.
fn check(
    dir: &Chains,
    tenant: &TenantId,
    allow_broken: Option<bool>,
) -> anyhow::Result<Result<bool, Exit>> {
    let report = dir.verify_with(tenant, false, TrustAnchors::default())?;
    let allowed = allow_broken == Some(true);
    if report.problem.is_none() || allowed {
        require_tenant(dir, tenant)?;
    }
    if let Some(problem) = &report.problem {
        if !allowed {
            let anyway = if allow_broken.is_some() {
                "; --allow-broken reads it anyway"
            } else {
                ""
            };
            say!(
                "error: the receipt chain of `{tenant}` does not verify: {problem}\n\
                 hint: run `tai receipts verify --tenant {tenant}`{anyway}"
            );
            return Ok(Err(Exit::Failure));
        }
        say!(
            "warning: the receipt chain of `{tenant}` does not verify: {problem}\n\
             hint: run `tai receipts verify --tenant {tenant}`"
        );
    }
    Ok(Ok(report.problem.is_some()))
}

/// For reading commands without `--allow-broken` (`tai state`, `tai iam show`): checks each
/// of `tenants`' records as `tai receipts show` does, so every reader answers a record that
/// does not verify alike (exit 1, said on standard error).
pub(super) fn check_readable(
    global: &GlobalArgs,
    tenants: &[TenantId],
) -> anyhow::Result<Option<Exit>> {
    let dir = Chains::open(global)?;
    for tenant in tenants {
        if let Err(exit) = check(&dir, tenant, None)? {
            return Ok(Some(exit));
        }
    }
    Ok(None)
}

fn show(dir: &Chains, args: &ShowArgs, paint: Paint) -> anyhow::Result<Exit> {
    let receipts = match load(dir, &args.tenant, args.allow_broken)? {
        Ok(r) => r,
        Err(exit) => return Ok(exit),
    };
    let filter = args.filter.to_filter(&args.tenant);
    let shown: Vec<&Receipt> = filter.apply(&receipts).collect();
    match args.format {
        // The shape of `GET /v1/tenants/{t}/receipts`; `tai receipts export` writes the bare
        // array a file of receipts is.
        Format::Json => emit_json(&serde_json::json!({
            "tenant_id": args.tenant,
            "receipts": shown,
            "chain_length": receipts.len(),
        }))?,
        Format::Human if shown.is_empty() => {
            emit(format!("no receipts match (the chain has {})\n", receipts.len()).as_bytes())?;
        }
        Format::Human => {
            let text = format!(
                "{}\n{} of {}\n",
                table(&shown, paint),
                shown.len(),
                plural(receipts.len(), "receipt")
            );
            emit(text.as_bytes())?;
        }
    }
    Ok(Exit::Success)
}

fn table(receipts: &[&Receipt], paint: Paint) -> TextTable {
    // The one table mechanism: laid out in the terminal's width or `COLUMNS`, by visible width.
    let mut table = paint.table(&["seq", "time", "state", "event", "reason", "hash"]);
    for r in receipts {
        let b = &r.body;
        table.add_row([
            r.seq.to_string(),
            b.timestamp.to_string(),
            b.state_change(),
            b.event_type.to_string(),
            b.reason.as_ref().map_or("—", |c| c.as_str()).to_owned(),
            r.short_hash().to_owned(),
        ]);
    }
    table
}

fn export_cmd(dir: &Chains, args: &ExportArgs) -> anyhow::Result<Exit> {
    let receipts = match load(dir, &args.tenant, args.allow_broken)? {
        Ok(r) => r,
        Err(exit) => return Ok(exit),
    };
    let filter = args.filter.to_filter(&args.tenant);
    let selected: Vec<&Receipt> = filter.apply(&receipts).collect();
    let format = export_format(args)?;
    match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create `{}`", path.display()))?;
            let mut out = BufWriter::new(file);
            export::export(format, &selected, &mut out)
                .and_then(|()| Ok(out.flush()?))
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            say!(
                "wrote {} as {} to {}",
                plural(selected.len(), "receipt"),
                format,
                path.display()
            );
        }
        None => {
            let mut out = Vec::new();
            export::export(format, &selected, &mut out)?;
            emit(&out)?;
        }
    }
    Ok(Exit::Success)
}

/// `--format`, else the one the `--output` file's extension names.
fn export_format(args: &ExportArgs) -> anyhow::Result<ExportFormat> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    let ext = args
        .output
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("md") => Ok(ExportFormat::Markdown),
        Some(e) => e.parse::<ExportFormat>().map_err(|_| {
            anyhow::anyhow!(
                "cannot tell the export format from the extension `.{e}`\n\
                 hint: pass --format json|jsonl|csv|markdown"
            )
        }),
        None => bail!(
            "pass --format json|jsonl|csv|markdown (or --output FILE with one of the \
             extensions .json, .jsonl, .csv, .md)"
        ),
    }
}
