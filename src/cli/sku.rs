//! `tai sku list|show|diff|compare`: browse SKUs and compare plans.

use clap::{Args, Subcommand, ValueEnum};

use crate::catalog::Catalog;
use crate::catalog::view::{self, Change, PlanAccess, PlanMatrix, SkuDetail, SkuDiff, ToolChange};

use super::complete;
use super::pack::unknown;
use super::report::{ReportFormat, compare_html, compare_markdown};
use super::style::{Paint, emit, emit_json, inline, lines, output_width, paragraph};
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
    /// List every SKU with its title, price, packs, tool count and roles: the price ladder
    #[command(after_help = "\
Cheapest first (plans with other billing terms compared by their price per year), numbered
as steps of the ladder; --sort id lists them by id. On a terminal narrower than 120 columns
the packs and roles are counted rather than listed (tai sku show lists them).

Examples:
  tai sku list
  tai sku list --sort id --format json")]
    List {
        /// Order: by price (the ladder) or by id
        #[arg(long, value_enum, default_value_t)]
        sort: SkuOrder,
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show one SKU: listing, packs, roles and the tools its roles can run
    #[command(after_help = "\
The Usable column says which role a refused tool lacks. --warnings adds the pack author's
view: each action of an enabled pack that the plan's roles can never run (the warnings
tai validate reports for the SKU). JSON always lists them as unusable_actions.

Examples:
  tai sku show rollback-guard-professional
  tai sku show rollback-guard-professional --warnings")]
    Show {
        /// SKU id, e.g. `rollback-guard-professional`
        #[arg(add = complete::sku())]
        id: String,
        /// Also list the actions this plan's roles cannot run, as warnings for pack authors
        #[arg(long)]
        warnings: bool,
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
        #[arg(add = complete::sku())]
        from: String,
        /// The plan to move to
        #[arg(add = complete::sku())]
        to: String,
        /// Output format
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Plans side by side: for every tool, whether each plan makes it usable, shows it but
    /// refuses the call (a role is missing), or does not have it
    #[command(after_help = "\
Examples:
  tai sku compare rollback-guard-base rollback-guard-professional governance-suite-enterprise
  tai sku compare rollback-guard-base rollback-guard-professional --format json
  tai sku compare rollback-guard-base rollback-guard-professional --format html > plans.html
  tai sku compare rollback-guard-base rollback-guard-professional --format markdown")]
    Compare {
        /// Two or more SKU ids, in the order to show them
        #[arg(required = true, num_args = 2.., value_name = "SKU", add = complete::sku())]
        ids: Vec<String>,
        /// Output format: the matrix, JSON, or a report (an HTML page or a Markdown table)
        #[arg(long, value_enum, default_value_t)]
        format: ReportFormat,
    },
}

/// The order of `tai sku list`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SkuOrder {
    /// Cheapest first, by price per year: the ladder.
    #[default]
    Price,
    /// By SKU id.
    Id,
}

pub fn run(args: &SkuArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let paint = Paint::new(global.color);
    let catalog = load_catalog(global)?;
    let find = |id: &str| view::find_sku(&catalog, id).map_err(|e| unknown(e, global));
    match &args.command {
        SkuCommand::List { sort, format } => {
            let summaries: Vec<_> = match sort {
                SkuOrder::Price => view::sku_summaries(&catalog),
                SkuOrder::Id => catalog
                    .skus()
                    .iter()
                    .map(|s| view::sku_summary(&catalog, s))
                    .collect(),
            };
            match format {
                Format::Json => emit_json(&serde_json::json!({ "skus": summaries }))?,
                Format::Human => emit(render_list(&summaries, *sort, paint))?,
            }
        }
        SkuCommand::Compare { ids, format } => {
            let skus = ids
                .iter()
                .map(|id| find(id))
                .collect::<Result<Vec<_>, _>>()?;
            let matrix = view::plan_matrix(&catalog, &skus);
            match format {
                ReportFormat::Json => emit_json(&matrix)?,
                ReportFormat::Human => emit(render_matrix(&matrix, paint))?,
                ReportFormat::Html => emit(compare_html(&matrix))?,
                ReportFormat::Markdown => emit(compare_markdown(&matrix))?,
            }
        }
        SkuCommand::Show {
            id,
            warnings,
            format,
        } => {
            let sku = find(id)?;
            let detail = view::sku_detail(&catalog, sku);
            match format {
                Format::Json => emit_json(&detail)?,
                Format::Human => emit(render_show(&catalog, &detail, *warnings, paint))?,
            }
        }
        SkuCommand::Diff { from, to, format } => {
            let diff = view::sku_diff(&catalog, find(from)?, find(to)?);
            match format {
                Format::Json => emit_json(&diff)?,
                Format::Human => emit(render_diff(&diff, paint))?,
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

/// Below this many columns the ladder counts packs and roles instead of listing them.
const WIDE: u16 = 120;

fn render_list(summaries: &[view::SkuSummary<'_>], sort: SkuOrder, paint: Paint) -> String {
    let wide = output_width().is_none_or(|w| w >= WIDE);
    let ladder = sort == SkuOrder::Price;
    let mut header = vec!["SKU", "Price", "Packs", "Tools", "Roles"];
    if ladder {
        header.insert(0, "#");
    }
    let mut table = paint.table(&header);
    for (i, s) in summaries.iter().enumerate() {
        let (packs, roles) = if wide {
            (lines(s.enabled_packs), lines(s.iam_roles))
        } else {
            (
                s.enabled_packs.len().to_string(),
                s.iam_roles.len().to_string(),
            )
        };
        let mut row = vec![
            format!(
                "{}\n{}\n{}",
                s.sku_id,
                paint.dim(s.title),
                paint.dim(s.plan_id.as_str())
            ),
            s.price_label.clone(),
            packs,
            tool_count(s.tools, s.usable_tools),
            roles,
        ];
        if ladder {
            row.insert(0, (i + 1).to_string());
        }
        table.add_row(row);
    }
    format!(
        "{table}\n{}\n",
        crate::diagnostics::plural(summaries.len(), "SKU")
    )
}

/// The matrix: a numbered legend of the plans, then one row per tool.
fn render_matrix(m: &PlanMatrix<'_>, paint: Paint) -> String {
    let mut out = String::new();
    for (i, p) in m.plans.iter().enumerate() {
        out.push_str(&format!(
            "{}  {}  {}  {}\n",
            paint.bold(&(i + 1).to_string()),
            paint.bold(p.sku_id.as_str()),
            p.price_label,
            paint.dim(p.title)
        ));
    }
    let numbers: Vec<String> = (1..=m.plans.len()).map(|n| n.to_string()).collect();
    let mut header = vec!["Tool", "Pack"];
    header.extend(numbers.iter().map(String::as_str));
    let mut table = paint.table(&header);
    for row in &m.tools {
        let mut cells = vec![row.tool.to_string(), row.pack.to_string()];
        cells.extend(row.access.iter().map(|a| match a {
            PlanAccess::Usable => paint.green("usable"),
            PlanAccess::Refused => paint.yellow("refused"),
            PlanAccess::Absent => paint.dim("—"),
        }));
        table.add_row(cells);
    }
    out.push_str(&format!("\n{table}\n"));
    out.push_str(&paragraph(
        "usable: shown and allowed · refused: shown, but the plan lacks a role the action \
         needs · —: not in the plan",
        |l| paint.dim(l),
    ));
    out
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

fn render_show(catalog: &Catalog, d: &SkuDetail<'_>, warnings: bool, paint: Paint) -> String {
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
    // A sales engineer reads the Usable column; the author's warnings are asked for.
    let shown = if warnings {
        &d.unusable_actions[..]
    } else {
        &[]
    };
    for u in shown {
        let warning = format!(
            "warning: action `{}` of pack `{}` needs {}, which this SKU does not grant",
            u.action,
            u.pack,
            inline(&u.missing_roles)
        );
        out.push_str(&paragraph(&warning, |l| paint.yellow(l)));
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
        out.push_str(&format!("{}\n", paint.dim("  (no change)")));
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

/// A tool in both plans whose roles now let it be called (`+`) or no longer do (`-`).
fn usability_line(t: &ToolChange<'_>) -> String {
    let line = format!("{:<28} {}", t.name.as_str(), t.pack);
    if t.usable {
        format!("{line}  (now usable)")
    } else {
        format!(
            "{line}  (no longer usable: needs {})",
            inline(&t.missing_roles)
        )
    }
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
            "Usability with the new roles",
            &d.usability,
            usability_line,
        );
    }
    change_lines(&mut out, paint, "Roles", &d.roles, |s| (*s).to_owned());
    out
}
