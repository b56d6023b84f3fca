//! `tai schema pack|sku|scenario`: print the JSON Schema of a file format.

use clap::{Args, ValueEnum};

use crate::catalog::schema::{self, SchemaKind};

use super::Exit;
use super::style::emit;

/// Print the JSON Schema of pack, SKU or scenario files, for editor completion and checking.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tai schema pack > pack.schema.json\n  tai schema scenario > scenario.schema.json\n\nThen start a YAML pack file with:\n  # yaml-language-server: $schema=../schemas/pack.schema.json\nand a scenario under tests/scenarios/ with:\n  # yaml-language-server: $schema=../../schemas/scenario.schema.json"
)]
pub struct SchemaArgs {
    /// Which file format
    #[arg(value_enum)]
    pub kind: SchemaTarget,
}

/// The file formats with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaTarget {
    /// Pack files (`packs/*.yaml|toml`)
    Pack,
    /// SKU files (`skus/*.yaml|toml`)
    Sku,
    /// Scenario files (`tests/scenarios/*.yaml`, run by `tai test` and `tai simulate`)
    Scenario,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<Exit> {
    let text = match args.kind {
        SchemaTarget::Pack => schema::schema_text(SchemaKind::Pack),
        SchemaTarget::Sku => schema::schema_text(SchemaKind::Sku),
        SchemaTarget::Scenario => crate::scenario::json_schema_text(),
    };
    emit(&text)?;
    Ok(Exit::Success)
}
