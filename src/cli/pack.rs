//! `tai pack list|show|new`: browse packs and scaffold new ones.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::catalog::load::Syntax;
use crate::catalog::view::{self, UnknownId};
use crate::catalog::{Catalog, ComputeLimits, Handler, Pack, scaffold};
use crate::diagnostics::plural;
use crate::exec::Limits;
use crate::ids::PackId;

use super::style::{Paint, emit, emit_json, inline, lines};
use super::{CatalogSource, Exit, Format, GlobalArgs, load_catalog};

/// Browse packs, or scaffold a new one.
#[derive(Debug, Args)]
pub struct PackArgs {
    #[command(subcommand)]
    pub command: PackCommand,
}

/// The `pack` subcommands.
#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// List every pack with its tools, roles and the SKUs that enable it
    #[command(after_help = "Example:\n  tai pack list --format json")]
    List {
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one pack: tools, actions with roles and preconditions, limits
    #[command(after_help = "Example:\n  tai pack show rollback_guard")]
    Show {
        /// Pack id, e.g. `rollback_guard`
        #[arg(add = super::complete::pack())]
        id: String,
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write a new, commented pack file that passes validation
    #[command(
        after_help = "Examples:\n  tai pack new billing_guard            # writes packs/billing_guard.yaml\n  tai pack new billing_guard --toml --output ./my-catalog/packs\n  tai pack new billing_guard --output -  # print to stdout"
    )]
    New {
        /// Id of the new pack (lowercase letters, digits and `_`)
        id: PackId,
        /// Write TOML instead of YAML
        #[arg(long)]
        toml: bool,
        /// Folder to write `<id>.yaml|toml` into, or `-` for stdout
        #[arg(long, short, value_name = "DIR", default_value = "packs")]
        output: PathBuf,
    },
}

pub fn run(args: &PackArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let paint = Paint::new(global.color);
    if let PackCommand::List { format } | PackCommand::Show { format, .. } = &args.command
        && *format == Format::Human
    {
        // On standard error, so the listing itself stays what scripts read.
        say!("from {}", CatalogSource::resolve(global).describe());
    }
    match &args.command {
        PackCommand::List { format } => {
            let catalog = load_catalog(global)?;
            let summaries = view::pack_summaries(&catalog);
            match format {
                Format::Json => emit_json(&serde_json::json!({ "packs": summaries }))?,
                Format::Human => emit(render_list(&summaries, paint))?,
            }
        }
        PackCommand::Show { id, format } => {
            let catalog = load_catalog(global)?;
            let pack = view::find_pack(&catalog, id).map_err(|e| unknown(e, global))?;
            match format {
                Format::Json => emit_json(&view::pack_detail(&catalog, pack))?,
                Format::Human => emit(render_show(&catalog, pack, paint))?,
            }
        }
        PackCommand::New { id, toml, output } => {
            let syntax = if *toml { Syntax::Toml } else { Syntax::Yaml };
            write_scaffold(id, syntax, output)?;
        }
    }
    Ok(Exit::Success)
}

/// An unknown id as a user error listing the ids that do exist, and in which catalog.
pub fn unknown(err: UnknownId, global: &GlobalArgs) -> anyhow::Error {
    anyhow::anyhow!(
        "{err}\nknown {}s: {}\nlooked in {}",
        err.kind,
        err.known.join(", "),
        CatalogSource::resolve(global).describe()
    )
}

fn render_list(summaries: &[view::PackSummary<'_>], paint: Paint) -> String {
    let mut table = paint.table(&[
        "Pack",
        "Version",
        "Tools",
        "Actions",
        "Roles",
        "Requires",
        "Enabled by",
    ]);
    for s in summaries {
        table.add_row(vec![
            s.pack_id.to_string(),
            s.version.to_owned(),
            s.tools.to_string(),
            s.actions.to_string(),
            lines(s.required_iam_roles),
            lines(s.requires),
            lines(&s.enabled_by),
        ]);
    }
    let tools: usize = summaries.iter().map(|s| s.tools).sum();
    format!(
        "{table}\n{}, {}\n",
        plural(summaries.len(), "pack"),
        plural(tools, "tool")
    )
}

fn duration(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}

fn declared_limits(limits: Option<&ComputeLimits>) -> String {
    let Some(l) = limits else {
        return "defaults".to_owned();
    };
    let parts: Vec<String> = [
        l.timeout_ms.map(|t| format!("timeout {}", duration(t))),
        l.max_memory_mb.map(|m| format!("memory {m} MiB")),
        l.max_cpu_percent.map(|c| format!("cpu {c}%")),
        l.max_output_kb.map(|o| format!("output {o} KiB")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "defaults".to_owned()
    } else {
        parts.join(" · ")
    }
}

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// `point → event` for each domain event the action emits.
fn emits_text(emits: Option<&crate::catalog::Emits>) -> Vec<String> {
    emits
        .map(|e| {
            e.declared()
                .map(|(point, name)| format!("{point} → {name}"))
                .collect()
        })
        .unwrap_or_default()
}

fn handler_text(handler: &Handler) -> String {
    match handler {
        Handler::Simulated(sim) if sim.cases.is_empty() => "simulated".to_owned(),
        Handler::Simulated(sim) => format!(
            "simulated ({} case{})",
            sim.cases.len(),
            if sim.cases.len() == 1 { "" } else { "s" }
        ),
        Handler::Command(cmd) => format!("command `{}`", cmd.program),
        Handler::Builtin(b) => format!("built-in `{}`", b.builtin.as_str()),
    }
}

fn render_show(catalog: &Catalog, pack: &Pack, paint: Paint) -> String {
    let mut out = format!(
        "{} {}\n{}\n\n",
        paint.bold(pack.pack_id.as_str()),
        pack.version,
        pack.description
    );
    let fields = paint.fields(vec![
        ("Storage", view::storage_name(pack.storage).to_owned()),
        ("Requires", inline(&pack.requires)),
        ("Incompatible with", inline(&pack.incompatible_with)),
        ("Required roles", inline(&pack.required_iam_roles)),
        ("Signals", inline(&strings(&pack.signals))),
        ("Receipt events", inline(&pack.receipt_events)),
        ("Limits", declared_limits(pack.compute_limits.as_ref())),
        (
            "Enabled by",
            inline(&view::enabled_by(catalog, &pack.pack_id)),
        ),
    ]);
    out.push_str(&format!("{fields}\n\n{}\n", paint.bold("Tools")));
    let mut tools = paint.table(&["Tool", "Action", "Handler", "Description"]);
    for tool in &pack.tools {
        tools.add_row(vec![
            tool.name.to_string(),
            tool.action.to_string(),
            handler_text(&tool.handler),
            tool.description.clone(),
        ]);
    }
    out.push_str(&format!("{tools}\n\n{}\n", paint.bold("Arguments")));
    let mut arguments = paint.table(&["Tool", "Argument", "Type", "Required", "Description"]);
    let mut any = false;
    for tool in &pack.tools {
        for arg in view::tool_arguments(&tool.input_schema) {
            any = true;
            arguments.add_row(vec![
                tool.name.to_string(),
                arg.name,
                arg.kind,
                if arg.required { "yes" } else { "no" }.to_owned(),
                arg.description.unwrap_or_default(),
            ]);
        }
    }
    if any {
        out.push_str(&format!("{arguments}\n"));
    } else {
        out.push_str("no tool takes arguments\n");
    }
    out.push_str(&format!("\n{}\n", paint.bold("Actions")));
    let mut actions = paint.table(&["Action", "Roles", "Preconditions", "Limits", "Emits"]);
    for action in &pack.actions {
        let checks: Vec<String> = action
            .preconditions
            .iter()
            .map(view::precondition_summary)
            .collect();
        let limits = Limits::resolve(Some(action), pack);
        actions.add_row(vec![
            action.id.to_string(),
            lines(&action.roles),
            lines(&checks),
            format!(
                "{} · {} MiB",
                duration(limits.timeout_ms),
                limits.max_memory_mb
            ),
            lines(&emits_text(action.emits.as_ref())),
        ]);
    }
    out.push_str(&format!("{actions}\n"));
    out
}

fn write_scaffold(id: &PackId, syntax: Syntax, output: &std::path::Path) -> anyhow::Result<()> {
    let text = scaffold::pack(id, syntax);
    if output.as_os_str() == "-" {
        return emit(&text);
    }
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create folder `{}`", output.display()))?;
    let path = output.join(scaffold::file_name(id, syntax));
    // The same id in another syntax would define the pack twice and break the catalog.
    for other in ["yaml", "yml", "toml"].map(|ext| output.join(format!("{id}.{ext}"))) {
        if other != path && other.exists() {
            bail!(
                "`{}` already defines pack `{id}`; a second file would define it twice
                 hint: choose another id, or edit that file",
                other.display()
            );
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "`{}` already exists; refusing to overwrite it\nhint: choose another id or --output folder",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("cannot create `{}`", path.display()))
            }
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    emit(format!(
        "created {}\nnext: enable `{id}` in a SKU under skus/, then run `tai validate`\n",
        path.display()
    ))
}
