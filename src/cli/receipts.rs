//! `tai receipts`: verify, show, export and prove the receipt chains kept in the state
//! directory or the `--ledger` database.
//!
//! These commands only read: they neither lock nor repair a ledger, so they can run while
//! another `tai` process is writing. A chain that does not verify makes every one of them
//! exit 1 (`show` and `export` read it anyway with `--allow-broken`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use crate::clock::Timestamp;
use crate::diagnostics::plural;
use crate::ids::TenantId;
use crate::intake::{self, Reading};
use crate::receipts::export::{self, ExportFormat};
use crate::receipts::ledger::Ledger;
use crate::receipts::trust::TrustAnchors;
use crate::receipts::{
    ChainHead, Checkpoint, ConsistencyProof, EventType, InclusionProof, LedgerDir, LedgerError,
    ProofFile, PublicKey, Receipt, ReceiptFilter, VerifyReport,
};

use super::common::input_error;
use super::style::{Paint, TextTable};
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
pub struct CheckpointArgs {
    /// The tenant
    #[arg(long, value_name = "TENANT")]
    tenant: TenantId,
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

/// Where the chains are read from: the state directory's ledgers, or the database that
/// `--ledger` names.
enum Chains {
    Dir(LedgerDir),
    /// The ledger and its URL without the password.
    Database(Arc<dyn Ledger>, String),
}

impl Chains {
    fn open(global: &GlobalArgs) -> anyhow::Result<Chains> {
        Ok(match super::common::database(global)? {
            Some(ledger) => {
                Chains::Database(ledger, redact(global.ledger.as_deref().unwrap_or_default()))
            }
            None => Chains::Dir(LedgerDir::in_state(&global.state)),
        })
    }

    fn latest_checkpoint(&self, tenant: &TenantId) -> Result<Option<Checkpoint>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.latest_checkpoint(tenant),
            Chains::Database(db, _) => db.latest_checkpoint(tenant),
        }
    }

    fn prove(&self, tenant: &TenantId, seq: u64) -> Result<InclusionProof, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.prove(tenant, seq),
            Chains::Database(db, _) => db.prove(tenant, seq),
        }
    }

    fn prove_consistency(
        &self,
        tenant: &TenantId,
        old: Checkpoint,
    ) -> Result<ConsistencyProof, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.prove_consistency(tenant, old),
            Chains::Database(db, _) => db.prove_consistency(tenant, old),
        }
    }

    fn contains(&self, tenant: &TenantId) -> Result<bool, LedgerError> {
        match self {
            Chains::Dir(dir) => Ok(dir.contains(tenant)),
            Chains::Database(db, _) => Ok(db.head(tenant)?.next_seq > 0),
        }
    }

    fn tenants(&self) -> Result<Vec<TenantId>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.tenants(),
            Chains::Database(db, _) => db.tenants(),
        }
    }

    /// Tenants the manifest lists (the state directory's, or the database's).
    fn listed(&self) -> Result<std::collections::BTreeSet<TenantId>, LedgerError> {
        let manifest = match self {
            Chains::Dir(dir) => dir.manifest()?,
            Chains::Database(db, _) => db.manifest()?,
        };
        Ok(manifest.map(|m| m.tenants).unwrap_or_default())
    }

    fn verify_with(
        &self,
        tenant: &TenantId,
        deep: bool,
        anchors: TrustAnchors<'_>,
    ) -> anyhow::Result<VerifyReport> {
        match self {
            Chains::Dir(dir) => Ok(dir.verify_with(tenant, deep, anchors)?),
            Chains::Database(db, _) => Ok(db.verify_signed(tenant, deep, anchors)?),
        }
    }

    fn receipts(&self, tenant: &TenantId) -> Result<Vec<Receipt>, LedgerError> {
        match self {
            Chains::Dir(dir) => dir.receipts(tenant),
            Chains::Database(db, _) => db.read(tenant),
        }
    }

    /// Where the chains are, for messages.
    fn place(&self) -> String {
        match self {
            Chains::Dir(dir) => dir.path().display().to_string(),
            Chains::Database(_, url) => url.clone(),
        }
    }
}

#[cfg(feature = "postgres")]
use crate::receipts::ledger::redact_url as redact;
#[cfg(not(feature = "postgres"))]
fn redact(url: &str) -> String {
    url.to_owned()
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
        ReceiptsCommand::Prove(a) => prove(&dir, a),
        ReceiptsCommand::VerifyProof(a) => verify_proof(a),
    }
}

fn public_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
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

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
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

fn checkpoint(dir: &Chains, args: &CheckpointArgs) -> anyhow::Result<Exit> {
    require_tenant(dir, &args.tenant)?;
    let Some(c) = dir.latest_checkpoint(&args.tenant)? else {
        bail!(LedgerError::NoCheckpoint {
            tenant: args.tenant.clone()
        });
    };
    write_json(&c, args.out.as_deref())?;
    Ok(Exit::Success)
}

fn prove(dir: &Chains, args: &ProveArgs) -> anyhow::Result<Exit> {
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

fn verify_proof(args: &VerifyProofArgs) -> anyhow::Result<Exit> {
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

/// Fails with the known tenants listed unless `tenant` has a ledger.
fn require_tenant(dir: &Chains, tenant: &TenantId) -> anyhow::Result<()> {
    if dir.contains(tenant)? {
        return Ok(());
    }
    let known = dir.tenants()?;
    let near = crate::diagnostics::closest(tenant.as_str(), known.iter().map(TenantId::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    let known = if known.is_empty() {
        "none yet".to_owned()
    } else {
        known
            .iter()
            .map(TenantId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    bail!(
        "no ledger for tenant `{tenant}` in {}; known tenants: {known}{near}",
        dir.place()
    )
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
    let tenants = match &args.tenant {
        Some(t) => {
            // A tenant the manifest lists is verified even without a ledger: it was deleted.
            if !listed.contains(t) {
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
        let report = dir.verify_with(t, args.deep, anchors)?;
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

/// Writes to stdout; a closed pipe (`… | head`) is not an error.
fn emit(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn emit_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    emit(&text)
}
