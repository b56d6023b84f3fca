//! `tai event import`: marketplace notifications, as the marketplace sent them, applied to
//! the workspace one by one through the same entitlement path as `tai event`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use crate::entitlement::EntitlementEvent;
use crate::governor::EventOutcome;
use crate::intake::{self, Reading, UniqueKeys};
use crate::marketplace::{Context, Mapped, MappedOutcome, Marketplace, NotificationError, Offline};
use crate::workspace::{ImportError, ImportStatus, Workspace};

use super::common::{open, print_receipts};
use super::style::emit_json;
use super::{Exit, Format, GlobalArgs};

/// The marketplaces notifications can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// Google Cloud Marketplace: Pub/Sub push bodies
    Gcp,
    /// AWS Marketplace: SNS notifications
    Aws,
    /// Azure Marketplace: SaaS fulfillment webhook bodies
    Azure,
}

impl From<Source> for Marketplace {
    fn from(s: Source) -> Self {
        match s {
            Source::Gcp => Marketplace::Gcp,
            Source::Aws => Marketplace::Aws,
            Source::Azure => Marketplace::Azure,
        }
    }
}

/// Apply marketplace notifications in the shape the marketplace sent them.
#[derive(Debug, Args)]
#[command(after_help = "\
Each FILE holds one notification (JSON) or a stream of them (JSON Lines); `-` reads stdin.
GCP notifications need the entitlement resources they refer to, and AWS subscribe and
entitlement notifications the customer's GetEntitlements response: give them with
--resources (a JSON file, or a directory of them).

Exit codes: 0 every notification applied; 3 some were refused (by the lifecycle, or
because they map to no event); 2 some could not be read or their resources are missing.

Examples:
  tai event import --from gcp --resources gcp/resources gcp/02_entitlement_active.json
  tai event import --from aws --resources aws/resources/base_contract.json \\
      aws/subscribe_success.json
  tai event import --from azure azure/subscribe.json azure/change_plan.json
  cat gcp/05_entitlement_plan_changed.json \\
      | tai event import --from gcp --resources gcp/resources --format json -")]
pub struct ImportArgs {
    /// The marketplace that sent the notifications
    #[arg(long, value_enum)]
    pub from: Source,
    /// GCP entitlement resources or AWS GetEntitlements responses (a JSON file or a directory)
    #[arg(long, value_name = "FILE|DIR")]
    pub resources: Option<PathBuf>,
    /// Notification files: JSON, or JSON Lines (`-` reads stdin)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// What became of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Mapped and accepted.
    Accepted,
    /// Mapped, and refused by the lifecycle (recorded in the tenant's chain).
    Refused,
    /// Read, but it maps to no event (recorded in the tenant's chain).
    Unmappable,
    /// Unreadable, or its resources are missing: nothing recorded.
    Invalid,
}

/// One notification's result, as `--format json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    /// `FILE` or `FILE:LINE`.
    source: String,
    status: Status,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    mapped: Option<Mapped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<EventOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

pub fn run(args: &ImportArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let resources = match &args.resources {
        Some(path) => Offline::load(path, "--resources")?,
        None => Offline::empty("--resources"),
    };
    let ws = open(global)?;
    let ctx = ws.marketplace_context(&resources);
    let marketplace = Marketplace::from(args.from);
    let mut results = Vec::new();
    for file in &args.files {
        for (source, value) in notifications(file) {
            let result = match value {
                Err(message) => invalid(source, json!({ "message": message })),
                Ok(value) => apply(&ws, &ctx, marketplace, source, &value)?,
            };
            if args.format == Format::Human {
                print_human(&result)?;
            }
            results.push(result);
        }
    }
    let worst = results.iter().map(|r| r.status).max();
    let count = |s| results.iter().filter(|r| r.status == s).count();
    match args.format {
        Format::Json => emit_json(&json!({
            "from": marketplace,
            "results": results,
            "accepted": count(Status::Accepted),
            "refused": count(Status::Refused),
            "unmappable": count(Status::Unmappable),
            "invalid": count(Status::Invalid),
        }))?,
        Format::Human => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{} accepted, {} refused, {} unmappable, {} invalid",
                count(Status::Accepted),
                count(Status::Refused),
                count(Status::Unmappable),
                count(Status::Invalid)
            )?;
        }
    }
    Ok(match worst {
        Some(Status::Invalid) => Exit::Usage,
        Some(Status::Refused | Status::Unmappable) => Exit::Refused,
        _ => Exit::Success,
    })
}

/// What a notification file's refusals say about it.
const NOTIFICATIONS: Reading = Reading {
    regular: "notifications are a regular JSON file (one notification, or one per line), or `-` for standard input",
    text: "notifications are JSON text in UTF-8",
    size: "split the stream into files of at most 10 MiB",
    missing: "check the path",
};

/// The notifications in a file: the whole file when it is one JSON value, else one per
/// non-empty line (JSONL), else the JSON values it holds one after another (pretty-printed
/// notifications). Each comes with where it was read.
fn notifications(file: &Path) -> Vec<(String, Result<Value, String>)> {
    let name = file.display().to_string();
    let text = if file == Path::new("-") {
        intake::read_stdin_text(&NOTIFICATIONS)
    } else {
        intake::read_text(file, &NOTIFICATIONS)
    };
    let text = match text {
        Ok(t) => t,
        // Said once, after the file's name the report already starts with.
        Err(d) => {
            let message = match &d.help {
                Some(help) => format!("{}\n  help: {help}", d.message),
                None => d.message,
            };
            return vec![(name, Err(message))];
        }
    };
    if let Ok(UniqueKeys(value)) = serde_json::from_str(&text) {
        return vec![(name, Ok(value))];
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return vec![(name, Err("the file holds no notification".into()))];
    }
    // One notification per line (JSONL), told by a line that is a whole object (no line of
    // a pretty-printed notification is): a bad line is that line's problem, the others
    // stand.
    let whole_object = |l: &str| matches!(serde_json::from_str(l), Ok(Value::Object(_)));
    if lines.iter().any(|(_, l)| whole_object(l)) {
        return lines
            .into_iter()
            .map(|(i, line)| {
                let at = format!("{name}:{}", i + 1);
                let value = serde_json::from_str(line)
                    .map(|UniqueKeys(v)| v)
                    .map_err(|e| json_problem(&e));
                (at, value)
            })
            .collect();
    }
    // Notifications spread over lines (pretty-printed, or several such files concatenated):
    // read one value after another, each named by the line it starts on. After a syntax
    // error nothing further can be told apart, so reading stops there, at its place.
    stream(&name, &text)
}

/// The JSON values of `text` one after another, each with `name:line` of its first line; a
/// syntax error ends the list, with its line and column.
fn stream(name: &str, text: &str) -> Vec<(String, Result<Value, String>)> {
    let mut out = Vec::new();
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<UniqueKeys>();
    loop {
        let rest = &text[values.byte_offset()..];
        let start = text.len() - rest.trim_start().len();
        let line = text[..start].matches('\n').count() + 1;
        match values.next() {
            None => break,
            Some(Ok(UniqueKeys(value))) => out.push((format!("{name}:{line}"), Ok(value))),
            Some(Err(e)) => {
                out.push((format!("{name}:{}", e.line()), Err(json_problem(&e))));
                break;
            }
        }
    }
    out
}

/// What is wrong with a notification's JSON: not JSON at all, or JSON that is ambiguous (a
/// key given twice in one object).
fn json_problem(e: &serde_json::Error) -> String {
    if e.is_data() {
        e.to_string()
    } else {
        format!("not JSON: {e}")
    }
}

fn invalid(source: String, error: Value) -> Report {
    Report {
        source,
        status: Status::Invalid,
        mapped: None,
        outcome: None,
        error: Some(error),
    }
}

fn apply(
    ws: &Workspace,
    ctx: &Context<'_>,
    marketplace: Marketplace,
    source: String,
    value: &Value,
) -> anyhow::Result<Report> {
    match ws.import(marketplace, value, ctx) {
        Ok(imported) => Ok(Report {
            source,
            status: match imported.status {
                ImportStatus::Accepted => Status::Accepted,
                ImportStatus::Refused => Status::Refused,
                ImportStatus::Unmappable => Status::Unmappable,
            },
            mapped: Some(imported.mapped),
            outcome: Some(imported.outcome),
            error: None,
        }),
        Err(ImportError::Notification(NotificationError::Malformed(e))) => {
            let mut error = serde_json::to_value(&e)?;
            error["message"] = Value::from(e.to_string());
            Ok(invalid(source, error))
        }
        Err(ImportError::Notification(NotificationError::Resource(e))) => {
            Ok(invalid(source, json!({ "message": e.to_string() })))
        }
        Err(e) => Err(e.into()),
    }
}

fn describe(event: &EntitlementEvent) -> String {
    match &event.sku_id {
        Some(sku) => format!("{} `{sku}`", event.event_type),
        None => event.event_type.to_string(),
    }
}

fn print_human(r: &Report) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(m) = &r.mapped else {
        let message = r
            .error
            .as_ref()
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        writeln!(out, "{}: invalid: {message}", r.source)?;
        return Ok(());
    };
    let head = format!(
        "{}: {} {} (event {}) for `{}`",
        r.source, m.marketplace, m.notification, m.event_id, m.tenant_id
    );
    match (&m.outcome, &r.outcome) {
        (MappedOutcome::Event(e), Some(o)) => match &o.refusal {
            None => match &o.unchanged {
                None => writeln!(out, "{head}: {} accepted", describe(e))?,
                Some(note) => {
                    writeln!(out, "{head}: {} accepted, unchanged — {note}", describe(e))?
                }
            },
            Some(refusal) => writeln!(
                out,
                "{head}: {} refused: {} — {}",
                describe(e),
                refusal.code,
                refusal.message
            )?,
        },
        (MappedOutcome::Unmappable(u), _) => {
            writeln!(out, "{head}: not mapped: {} — {}", u.reason, u.message)?;
        }
        (MappedOutcome::Unchanged(note), _) => {
            writeln!(out, "{head}: accepted, unchanged — {note}")?;
        }
        (MappedOutcome::Event(e), None) => writeln!(out, "{head}: {}", describe(e))?,
    }
    if let Some(o) = &r.outcome {
        print_receipts(&mut out, &o.receipts)?;
    }
    Ok(())
}
