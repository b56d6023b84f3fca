//! Receipt export formats, one file each behind the [`Exporter`] trait.
//!
//! JSON and JSONL are for machines (JSONL lines are exactly the ledger's lines, so an
//! unfiltered JSONL export verifies like the ledger itself), CSV for spreadsheets, Markdown
//! for reports.

mod csv;
mod json;
mod jsonl;
mod markdown;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use super::Receipt;

pub use self::csv::Csv;
pub use self::json::Json;
pub use self::jsonl::Jsonl;
pub use self::markdown::Markdown;

/// Writes receipts in one format.
pub trait Exporter: fmt::Debug + Send + Sync {
    /// Writes `receipts`, in order, to `out`.
    fn export(&self, receipts: &[&Receipt], out: &mut dyn Write) -> Result<(), ExportError>;
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing to the output failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] io::Error),
    /// Encoding JSON failed.
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Encoding CSV failed.
    #[error("cannot encode CSV: {0}")]
    Csv(#[from] ::csv::Error),
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// A JSON array of receipts.
    Json,
    /// One receipt per line, as in the ledger.
    Jsonl,
    /// Flat columns with a header row.
    Csv,
    /// A Markdown table.
    Markdown,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Json,
        ExportFormat::Jsonl,
        ExportFormat::Csv,
        ExportFormat::Markdown,
    ];

    /// The format's name, also its usual file extension (`md` for Markdown).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Markdown => "markdown",
        }
    }

    /// The exporter for this format.
    pub fn exporter(self) -> &'static dyn Exporter {
        match self {
            ExportFormat::Json => &Json,
            ExportFormat::Jsonl => &Jsonl,
            ExportFormat::Csv => &Csv,
            ExportFormat::Markdown => &Markdown,
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`ExportFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format `{0}`; use json, jsonl, csv or markdown")]
pub struct UnknownFormat(pub String);

impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = if s == "md" { "markdown" } else { s };
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Writes `receipts` to `out` in `format`.
pub fn export(
    format: ExportFormat,
    receipts: &[&Receipt],
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    format.exporter().export(receipts, out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::TenantId;
    use crate::receipts::{ChainHead, sample_body};
    use crate::vocab::ReasonCode;

    /// Three receipts, the last with awkward text in its metadata.
    pub(crate) fn receipts() -> Vec<Receipt> {
        let acme = TenantId::new("acme").unwrap();
        let mut head = ChainHead::default();
        let mut out: Vec<_> = (0..2).map(|n| head.seal(sample_body(&acme, n))).collect();
        let mut awkward = sample_body(&acme, 2);
        awkward.reason = Some(ReasonCode::InsufficientPrivilege);
        awkward.metadata = serde_json::json!({"note": "a, \"quoted\" | piped `tick`\nline"}).into();
        out.push(head.seal(awkward));
        out
    }

    pub(crate) fn render(format: ExportFormat, receipts: &[Receipt]) -> String {
        let refs: Vec<&Receipt> = receipts.iter().collect();
        let mut out = Vec::new();
        export(format, &refs, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_parse_by_name() {
        for f in ExportFormat::ALL {
            assert_eq!(f.as_str().parse::<ExportFormat>().unwrap(), f);
        }
        assert_eq!(
            "md".parse::<ExportFormat>().unwrap(),
            ExportFormat::Markdown
        );
        assert!("xml".parse::<ExportFormat>().is_err());
    }
}
