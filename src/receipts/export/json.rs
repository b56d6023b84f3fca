//! JSON: one array of receipts, pretty-printed, each with every field including its hash.

use std::io::Write;

use super::{ExportError, Exporter, Receipt};

/// A JSON array of receipts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Exporter for Json {
    fn export(&self, receipts: &[&Receipt], out: &mut dyn Write) -> Result<(), ExportError> {
        serde_json::to_writer_pretty(&mut *out, receipts)?;
        out.write_all(b"\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::ExportFormat;
    use super::super::tests::{receipts, render};
    use crate::receipts::Receipt;

    #[test]
    fn round_trips() {
        let receipts = receipts();
        let text = render(ExportFormat::Json, &receipts);
        let back: Vec<Receipt> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, receipts);
    }
}
