//! Reading a file named by a user: a regular file, bounded in size, holding UTF-8 text.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::diagnostics::{Code, Diagnostic};
use crate::spans::{Location, Span};

/// Files larger than this are refused unread: no input tai reads comes close, and reading
/// an arbitrary file whole would let one bad path exhaust memory.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// What a loader reads, in the words its refusals' hints use.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// What a regular file of this kind is, e.g. "pack and SKU definitions are regular
    /// `.yaml`, `.yml` or `.toml` files".
    pub regular: &'static str,
    /// What its text is, e.g. "pack and SKU files are YAML or TOML text in UTF-8".
    pub text: &'static str,
    /// How large one usually is, and what to do, for a file over the cap.
    pub size: &'static str,
    /// What to check when the path does not exist.
    pub missing: &'static str,
}

/// Reads `path` as UTF-8 text (a leading byte-order mark dropped), refusing anything but a
/// regular file, files over [`MAX_FILE_BYTES`], binary files and other encodings.
pub fn read_text(path: &Path, reading: &Reading) -> Result<String, Box<Diagnostic>> {
    // Look before opening: opening a FIFO blocks until something writes to it.
    let meta = std::fs::metadata(path).map_err(|e| Box::new(read_problem(path, &e, reading)))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "it is a directory"
        } else {
            "it is not a regular file"
        };
        return Err(Box::new(
            Diagnostic::new(
                Code::Io,
                format!("cannot read `{}`: {what}", path.display()),
            )
            .in_file(path)
            .help(reading.regular),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Box::new(too_large(path, meta.len(), reading)));
    }
    let file = File::open(path).map_err(|e| Box::new(read_problem(path, &e, reading)))?;
    // The length can change after the check (or the path be swapped for a special file):
    // never read more than the cap plus one byte.
    read_capped(path, file, reading)
}

/// Reads standard input as UTF-8 text under the same cap as a file; `-` names it in
/// messages. (A pipe has no length to look at first: reading stops one byte past the cap.)
pub fn read_stdin_text(reading: &Reading) -> Result<String, Box<Diagnostic>> {
    read_capped(Path::new("-"), std::io::stdin().lock(), reading)
}

fn read_capped(
    path: &Path,
    input: impl Read,
    reading: &Reading,
) -> Result<String, Box<Diagnostic>> {
    let mut bytes = Vec::new();
    input
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Box::new(read_problem(path, &e, reading)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Box::new(too_large(path, bytes.len() as u64, reading)));
    }
    decode(path, bytes, reading)
}

fn decode(path: &Path, bytes: Vec<u8>, reading: &Reading) -> Result<String, Box<Diagnostic>> {
    if let Some(at) = memchr::memchr(0, &bytes) {
        return Err(Box::new(encoding_problem(
            path,
            &bytes,
            at,
            "the file is binary (it contains a NUL byte)",
            reading,
        )));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(Box::new(encoding_problem(
                path,
                e.as_bytes(),
                at,
                "the file is not UTF-8 text",
                reading,
            )))
        }
    }
}

fn encoding_problem(
    path: &Path,
    bytes: &[u8],
    at: usize,
    message: &str,
    reading: &Reading,
) -> Diagnostic {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Diagnostic::new(Code::InvalidEncoding, message)
        .in_file(path)
        .located(Location {
            line,
            column,
            span: Span { offset: at, len: 1 },
        })
        .help(reading.text)
}

fn too_large(path: &Path, len: u64, reading: &Reading) -> Diagnostic {
    #[allow(clippy::cast_precision_loss)]
    let mib = len as f64 / (1024.0 * 1024.0);
    Diagnostic::new(
        Code::FileTooLarge,
        format!(
            "the file is {mib:.1} MiB, more than the {} MiB limit",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
    .in_file(path)
    .help(reading.size)
}

/// A file or folder that could not be read, as a diagnostic.
pub fn read_problem(path: &Path, e: &std::io::Error, reading: &Reading) -> Diagnostic {
    let help = match e.kind() {
        std::io::ErrorKind::NotFound => Some(reading.missing),
        std::io::ErrorKind::PermissionDenied => Some("check the permissions of the path"),
        _ => None,
    };
    Diagnostic::new(
        Code::Io,
        format!("cannot read `{}`: {}", path.display(), io_reason(e)),
    )
    .in_file(path)
    .maybe_help(help.map(str::to_owned))
}

/// An I/O error in the words of a diagnostic: lowercase, without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = e.to_string();
            // "Is a directory (os error 21)" → "is a directory"
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}
