//! JSONL: the ledger's own lines, so an unfiltered export can be verified like the ledger.

use std::io::Write;

use super::{ExportError, Exporter, Receipt};

/// One receipt per line, byte-identical to the ledger line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jsonl;

impl Exporter for Jsonl {
    fn export(&self, receipts: &[&Receipt], out: &mut dyn Write) -> Result<(), ExportError> {
        let mut buf = Vec::with_capacity(1024);
        for r in receipts {
            buf.clear();
            r.write_line(&mut buf);
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::ExportFormat;
    use super::super::tests::{receipts, render};

    #[test]
    fn lines_are_ledger_lines() {
        let receipts = receipts();
        let text = render(ExportFormat::Jsonl, &receipts);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        for (line, r) in lines.iter().zip(&receipts) {
            assert_eq!(line.as_bytes(), r.to_line());
        }
    }
}
