//! `tai schema pack|sku`: print the JSON Schema of a definition file format.

use clap::{Args, ValueEnum};

use crate::catalog::schema::{self, SchemaKind};

use super::Exit;
use super::style::emit;

/// Print the JSON Schema of pack or SKU files, for editor completion and checking.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tai schema pack > schemas/pack.schema.json\n\nThen start a YAML pack file with:\n  # yaml-language-server: $schema=../schemas/pack.schema.json"
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
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<Exit> {
    let kind = match args.kind {
        SchemaTarget::Pack => SchemaKind::Pack,
        SchemaTarget::Sku => SchemaKind::Sku,
    };
    emit(&schema::schema_text(kind))?;
    Ok(Exit::Success)
}
