//! Generated files committed to the repository (JSON Schemas, shell completions) must match
//! what the code generates now. After changing the model or the CLI, regenerate them with:
//!
//!     UPDATE_GOLDEN=1 cargo test --test cli golden::

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use tai::catalog::schema::{self, SchemaKind};

use crate::common::root;

const REGENERATE: &str = "UPDATE_GOLDEN=1 cargo test --test cli golden::";

/// Compares `path` with `expected`, or rewrites it under `UPDATE_GOLDEN=1`; returns a
/// message for a stale file.
fn check(path: &Path, expected: &str) -> Option<String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
        return None;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    (actual != expected).then(|| {
        let shown = path.strip_prefix(root()).unwrap_or(path);
        format!("{} is out of date", shown.display())
    })
}

fn assert_fresh(stale: Vec<String>) {
    assert!(
        stale.is_empty(),
        "{}\nregenerate with: {REGENERATE}",
        stale.join("\n")
    );
}

#[test]
fn schemas_are_up_to_date() {
    let stale = SchemaKind::ALL
        .iter()
        .filter_map(|&kind| {
            let path = root().join("schemas").join(kind.file_name());
            check(&path, &schema::schema_text(kind))
        })
        .collect();
    assert_fresh(stale);
}

#[test]
fn scenario_schema_is_up_to_date() {
    let path = root().join("schemas/scenario.schema.json");
    assert_fresh(
        check(&path, &tai::scenario::json_schema_text())
            .into_iter()
            .collect(),
    );
}

#[test]
fn completions_are_up_to_date() {
    let shells = [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ];
    let stale = shells
        .iter()
        .filter_map(|&shell| {
            let mut script = Vec::new();
            tai::cli::generate_completions(shell, &mut script);
            let path = root().join("completions").join(shell.file_name("tai"));
            check(&path, &String::from_utf8(script).unwrap())
        })
        .collect();
    assert_fresh(stale);
}

#[test]
fn cli_definition_is_consistent() {
    tai::cli::Cli::command().debug_assert();
}
