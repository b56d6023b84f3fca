//! The shipped catalog, compiled into the binary so every command works from any directory.

use std::path::PathBuf;

use super::load::{DocKind, SourceFile, Syntax};

/// (kind, syntax, file name, contents) of every shipped definition file.
const FILES: &[(DocKind, Syntax, &str, &str)] = &[];

/// The shipped definition files, as if read from `<built-in>/packs` and `<built-in>/skus`.
pub fn sources() -> Vec<SourceFile> {
    FILES
        .iter()
        .map(|&(kind, syntax, name, text)| {
            let folder = match kind {
                DocKind::Pack => "packs",
                DocKind::Sku => "skus",
            };
            SourceFile {
                path: PathBuf::from("<built-in>").join(folder).join(name),
                kind,
                syntax,
                text: text.to_owned(),
            }
        })
        .collect()
}
