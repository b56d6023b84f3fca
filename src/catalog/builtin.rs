//! The shipped catalog, compiled into the binary so every command works from any directory.
//!
//! The files are embedded verbatim from `packs/` and `skus/`; a test compares this list with
//! the folders so a new or renamed file cannot be left out.

use std::path::PathBuf;

use super::input::{DocKind, SourceFile, Syntax};

macro_rules! shipped {
    ($kind:ident, $syntax:ident, $dir:literal, $name:literal) => {
        (
            DocKind::$kind,
            Syntax::$syntax,
            $name,
            include_str!(concat!("../../", $dir, "/", $name)),
        )
    };
}

/// (kind, syntax, file name, contents) of every shipped definition file.
const FILES: &[(DocKind, Syntax, &str, &str)] = &[
    shipped!(Pack, Toml, "packs", "advanced_analytics.toml"),
    shipped!(Pack, Yaml, "packs", "iam_drift_guard.yaml"),
    shipped!(Pack, Yaml, "packs", "policy_engine.yaml"),
    shipped!(Pack, Yaml, "packs", "receipt_verifier.yaml"),
    shipped!(Pack, Yaml, "packs", "rollback_guard.yaml"),
    shipped!(Pack, Yaml, "packs", "storm_discipline.yaml"),
    shipped!(Sku, Yaml, "skus", "governance-suite-enterprise.yaml"),
    shipped!(Sku, Yaml, "skus", "partner-observability-edition.yaml"),
    shipped!(Sku, Yaml, "skus", "rollback-guard-base.yaml"),
    shipped!(Sku, Yaml, "skus", "rollback-guard-professional.yaml"),
];

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::catalog::load;

    #[test]
    fn embedded_files_match_the_folders_on_disk() {
        let on_disk = load::read_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let summarize = |files: &[SourceFile]| -> Vec<(String, String, String)> {
            let mut v: Vec<_> = files
                .iter()
                .map(|f| {
                    let folder = f.path.parent().and_then(Path::file_name).unwrap();
                    let name = f.path.file_name().unwrap();
                    (
                        folder.to_string_lossy().into_owned(),
                        name.to_string_lossy().into_owned(),
                        f.text.clone(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let embedded = sources();
        let names = |v: &[(String, String, String)]| -> Vec<String> {
            v.iter().map(|(d, n, _)| format!("{d}/{n}")).collect()
        };
        let (disk, built) = (summarize(&on_disk), summarize(&embedded));
        assert_eq!(
            names(&built),
            names(&disk),
            "src/catalog/builtin.rs FILES must list every file in packs/ and skus/"
        );
        assert!(built == disk, "embedded text differs from the file on disk");
        for f in &embedded {
            let disk = on_disk
                .iter()
                .find(|d| d.path.file_name() == f.path.file_name())
                .unwrap();
            assert_eq!((f.kind, f.syntax), (disk.kind, disk.syntax), "{:?}", f.path);
        }
    }

    #[test]
    fn shipped_catalog_loads() {
        let catalog = load::build(&sources()).unwrap_or_else(|errors| {
            panic!("shipped catalog failed to load: {errors:#?}");
        });
        assert_eq!(catalog.packs().len(), 6);
        assert_eq!(catalog.skus().len(), 4);
        assert!(catalog.tool("ac_rollback_orchestrator").is_some());
    }

    #[test]
    fn shipped_catalog_is_consistent() {
        let catalog = load::build(&sources()).unwrap();
        let mut tool_names = std::collections::BTreeSet::new();
        for pack in catalog.packs() {
            for tool in &pack.tools {
                assert!(
                    tool_names.insert(tool.name.clone()),
                    "duplicate {}",
                    tool.name
                );
                assert!(pack.action(&tool.action).is_some(), "{} action", tool.name);
                assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
                assert!(!tool.description.is_empty());
            }
            for action in &pack.actions {
                assert!(!action.roles.is_empty(), "{} declares no roles", action.id);
            }
        }
        let enterprise = catalog.sku("governance-suite-enterprise").unwrap();
        assert_eq!(enterprise.enabled_packs.len(), catalog.packs().len());
        for sku in catalog.skus() {
            for id in &sku.enabled_packs {
                let pack = catalog.pack(id.as_str()).unwrap();
                for req in &pack.requires {
                    assert!(sku.enabled_packs.contains(req), "{}: {req}", sku.sku_id);
                }
            }
        }
        for pack in catalog.packs() {
            for action in &pack.actions {
                for role in &action.roles {
                    assert!(enterprise.iam_roles.contains(role), "{role} not granted");
                }
            }
        }
    }
}
