//! `tai sku list|show|diff`: browse SKUs and compare plans.

use clap::{Args, Subcommand};

use crate::catalog::Catalog;
use crate::catalog::view::{self, Change, SkuDetail, SkuDiff, ToolChange};

use super::pack::unknown;
use super::style::{Paint, emit, emit_json, inline, lines};
use super::{Exit, Format, GlobalArgs, load_catalog};

/// Browse SKUs and compare plans.
#[derive(Debug, Args)]
pub struct SkuArgs {
    #[command(subcommand)]
    pub command: SkuCommand,
}

/// The `sku` subcommands.
#[derive(Debug, Subcommand)]
pub enum SkuCommand {
    /// List every SKU with its price, packs, tool count and roles
    #[command(after_help = "Example:\n  tai sku list")]
    List {
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one SKU: listing, packs, roles and the tools its roles can run
    #[command(after_help = "Example:\n  tai sku show rollback-guard-professional")]
    Show {
        /// SKU id, e.g. `rollback-guard-professional`
        id: String,
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price
    #[command(
        after_help = "Example:\n  tai sku diff rollback-guard-base rollback-guard-professional"
    )]
    Diff {
        /// The current plan
        from: String,
        /// The plan to move to
        to: String,
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(args: &SkuArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let paint = Paint::new(global.color);
    let catalog = load_catalog(global)?;
    let find = |id: &str| view::find_sku(&catalog, id).map_err(unknown);
    match &args.command {
        SkuCommand::List { format } => {
            let summaries = view::sku_summaries(&catalog);
            match format {
                Format::Json => emit_json(&summaries)?,
                Format::Human => emit(&render_list(&summaries, paint))?,
            }
        }
        SkuCommand::Show { id, format } => {
            let sku = find(id)?;
            let detail = view::sku_detail(&catalog, sku);
            match format {
                Format::Json => emit_json(&detail)?,
                Format::Human => emit(&render_show(&catalog, &detail, paint))?,
            }
        }
        SkuCommand::Diff { from, to, format } => {
            let diff = view::sku_diff(&catalog, find(from)?, find(to)?);
            match format {
                Format::Json => emit_json(&diff)?,
                Format::Human => emit(&render_diff(&diff, paint))?,
            }
        }
    }
    Ok(Exit::Success)
}

fn tool_count(total: usize, usable: usize) -> String {
    if total == usable {
        total.to_string()
    } else {
        format!("{total} ({usable} usable)")
    }
}

fn render_list(summaries: &[view::SkuSummary<'_>], paint: Paint) -> String {
    let mut table = paint.table(&["SKU", "Plan", "Price", "Packs", "Tools", "Roles"]);
    for s in summaries {
        table.add_row(vec![
            s.sku_id.to_string(),
            s.plan_id.to_string(),
            s.price_label.clone(),
            lines(s.enabled_packs),
            tool_count(s.tools, s.usable_tools),
            lines(s.iam_roles),
        ]);
    }
    format!("{table}\n{} SKUs\n", summaries.len())
}

/// `yes`, or `no — missing a, b`.
pub fn usable_text(usable: bool, missing: &[&crate::ids::Role], paint: Paint) -> String {
    if usable {
        paint.green("yes")
    } else if missing.is_empty() {
        paint.red("no — undeclared action")
    } else {
        paint.red(&format!("no — missing {}", inline(missing)))
    }
}

fn render_show(catalog: &Catalog, d: &SkuDetail<'_>, paint: Paint) -> String {
    let sku = d.sku;
    let mut out = format!(
        "{}\n{} · {} · {} · {} term\n",
        paint.bold(&sku.title),
        sku.sku_id,
        sku.plan_id,
        d.price_label,
        view::term_name(sku.term)
    );
    if let Some(r) = &sku.recommended_for {
        out.push_str(&format!("Recommended for: {r}\n"));
    }
    let versions: Vec<String> = sku
        .enabled_packs
        .iter()
        .map(|p| match catalog.pack(p.as_str()) {
            Some(pack) => format!("{p} {}", pack.version),
            None => format!("{p} (unknown)"),
        })
        .collect();
    let usable = d.tools.iter().filter(|t| t.usable).count();
    let fields = paint.fields(vec![
        ("Packs", inline(&versions)),
        ("Roles", inline(&sku.iam_roles)),
        ("Tools", tool_count(d.tools.len(), usable)),
    ]);
    out.push_str(&format!("\n{fields}\n\n{}\n", paint.bold("Tools")));
    let mut table = paint.table(&["Tool", "Pack", "Action", "Usable"]);
    for t in &d.tools {
        table.add_row(vec![
            t.name.to_string(),
            t.pack.to_string(),
            t.action.to_string(),
            usable_text(t.usable, &t.missing_roles, paint),
        ]);
    }
    out.push_str(&format!("{table}\n"));
    for u in &d.unusable_actions {
        out.push_str(&paint.yellow(&format!(
            "warning: action `{}` of pack `{}` needs {}, which this SKU does not grant\n",
            u.action,
            u.pack,
            inline(&u.missing_roles)
        )));
    }
    out
}

fn change_lines<T>(
    out: &mut String,
    paint: Paint,
    title: &str,
    change: &Change<T>,
    item: impl Fn(&T) -> String,
) {
    out.push_str(&format!("\n{}\n", paint.bold(title)));
    if change.is_empty() {
        out.push_str(&paint.dim("  (no change)\n"));
    }
    for a in &change.added {
        out.push_str(&format!("{}\n", paint.green(&format!("  + {}", item(a)))));
    }
    for r in &change.removed {
        out.push_str(&format!("{}\n", paint.red(&format!("  - {}", item(r)))));
    }
}

fn tool_line(t: &ToolChange<'_>) -> String {
    let mut line = format!("{:<28} {}", t.name.as_str(), t.pack);
    if !t.usable {
        line.push_str(&format!(
            "  (not usable: needs {})",
            inline(&t.missing_roles)
        ));
    }
    line
}

fn render_diff(d: &SkuDiff<'_>, paint: Paint) -> String {
    let p = &d.price;
    let mut out = format!(
        "{} → {}\n",
        paint.bold(d.from.as_str()),
        paint.bold(d.to.as_str())
    );
    let delta = match (&p.delta_label, p.percent) {
        (Some(label), Some(pct)) => format!("{label}, {pct:+.1}%"),
        (Some(label), None) => label.clone(),
        (None, _) => "different currencies".to_owned(),
    };
    let per_month = if p.from.period == p.to.period {
        ""
    } else {
        ", compared per month"
    };
    out.push_str(&format!(
        "Price: {} → {}  ({delta}{per_month})\n",
        p.from_label, p.to_label
    ));
    change_lines(&mut out, paint, "Packs", &d.packs, |s| (*s).to_owned());
    change_lines(&mut out, paint, "Tools", &d.tools, tool_line);
    if !d.usability.is_empty() {
        change_lines(
            &mut out,
            paint,
            "Usable with the new roles",
            &d.usability,
            tool_line,
        );
    }
    change_lines(&mut out, paint, "Roles", &d.roles, |s| (*s).to_owned());
    out
}
