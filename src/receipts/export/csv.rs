//! CSV: one row per receipt in flat columns; metadata as compact JSON in one cell.

use std::io::Write;

use super::{ExportError, Exporter, Receipt};

/// The header row.
pub const COLUMNS: [&str; 13] = [
    "seq",
    "id",
    "timestamp",
    "tenant_id",
    "governor_id",
    "state_from",
    "state_to",
    "event_type",
    "reason",
    "metadata",
    "catalog_hash",
    "prev_hash",
    "hash",
];

/// Comma-separated values with a header row, quoted where needed (RFC 4180).
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv;

impl Exporter for Csv {
    fn export(&self, receipts: &[&Receipt], out: &mut dyn Write) -> Result<(), ExportError> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(COLUMNS)?;
        for r in receipts {
            let b = &r.body;
            writer.write_record([
                r.seq.to_string().as_str(),
                &b.id,
                &b.timestamp.to_string(),
                b.tenant_id.as_str(),
                &b.governor_id,
                b.state_from.as_str(),
                b.state_to.as_str(),
                b.event_type.as_str(),
                b.reason.as_ref().map_or("", |c| c.as_str()),
                b.metadata.as_str(),
                &b.catalog_hash,
                &r.prev_hash,
                &r.hash,
            ])?;
        }
        writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::ExportFormat;
    use super::super::tests::{receipts, render};
    use super::COLUMNS;

    #[test]
    fn quotes_awkward_cells_and_keeps_columns() {
        let receipts = receipts();
        let text = render(ExportFormat::Csv, &receipts);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), COLUMNS.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let last = &rows[2];
        assert_eq!(&last[0], "2");
        assert_eq!(&last[8], "insufficient_privilege");
        let metadata: serde_json::Value = serde_json::from_str(&last[9]).unwrap();
        assert_eq!(metadata, receipts[2].body.metadata.to_value());
        assert_eq!(&last[12], &*receipts[2].hash);
    }
}
