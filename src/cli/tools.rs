//! `tai tools --sku ID`: the tool surface a SKU exposes and what its roles allow.

use clap::Args;

use crate::catalog::view;

use super::pack::unknown;
use super::sku::usable_text;
use super::style::{Paint, emit, emit_json, lines};
use super::{Exit, Format, GlobalArgs, load_catalog};

/// Show the tools a SKU exposes and whether its roles allow each one's action.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tai tools --sku rollback-guard-professional\n  tai tools --sku governance-suite-enterprise --format json | jq '.tools[].name'"
)]
pub struct ToolsArgs {
    /// SKU whose tool surface to show
    #[arg(long, value_name = "ID", add = super::complete::sku())]
    pub sku: String,
    /// Output format (JSON: name, pack, description, input_schema, action, usable,
    /// missing_roles, ...)
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: &ToolsArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let paint = Paint::new(global.color);
    let catalog = load_catalog(global)?;
    let sku = view::find_sku(&catalog, &args.sku).map_err(|e| unknown(e, global))?;
    let tools = view::sku_tools(&catalog, sku);
    if args.format == Format::Json {
        emit_json(&serde_json::json!({ "sku_id": sku.sku_id, "tools": tools }))?;
        return Ok(Exit::Success);
    }
    let mut table = paint.table(&["Tool", "Pack", "Action", "Roles", "Usable", "Description"]);
    for t in &tools {
        table.add_row(vec![
            t.name.to_string(),
            t.pack.to_string(),
            t.action.to_string(),
            lines(&t.required_roles),
            usable_text(t.usable, &t.missing_roles, paint),
            t.description.to_owned(),
        ]);
    }
    let usable = tools.iter().filter(|t| t.usable).count();
    emit(format!(
        "{table}\n{} tools, {usable} usable with the roles of {}\n",
        tools.len(),
        sku.sku_id
    ))?;
    Ok(Exit::Success)
}
