//! `tai validate`: check pack and SKU files and report every problem with its position.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::catalog::builtin;
use crate::catalog::load::{self, Inputs, Scope};
use crate::diagnostics::{Code, Severity, check_allowances, closest, plural, render};

use super::{CatalogSource, ColorChoice, Exit, GlobalArgs};

/// Check pack and SKU definitions: syntax, fields, references, cycles, roles, limits.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Without PATH, checks the catalog the other commands use: --catalog DIR, else ./packs and
./skus (or ./packs alone) when present, else the built-in catalog; it says which. A PATH may be a catalog directory (with
packs/ and skus/), a packs/ or skus/ folder, or single files; a file's kind comes from its
folder's name, else from its top-level `pack_id` or `sku_id`. Single files are checked on
their own: references to packs and SKUs outside them are not reported.

Every problem is reported at once, each with a stable rule code:
  human   source snippets with labels and hints (colour on a terminal; NO_COLOR, --color)
  json    {\"files\", \"errors\", \"warnings\", \"diagnostics\": [{\"severity\", \"code\",
          \"message\", \"file\", \"line\", \"column\", \"span\", \"field\", \"help\", ...}]}
  github  ::error file=…,line=…,col=…,title=CODE::message workflow annotations

Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with --deny-warnings),
2 a path could not be read or is not a catalog. A warning that is deliberate is accepted
with --allow CODE, or by the file itself with a comment line `# tai: allow CODE (why)`.

Examples:
  tai validate                          # the resolved catalog
  tai validate ./my-catalog             # a catalog directory
  tai validate packs/rollback_guard.yaml   # one file, on its own
  tai validate --format github --deny-warnings --allow unusable_action   # in CI
  tai validate --format json | jq '.diagnostics[] | select(.code == \"unknown_field\")'")]
pub struct ValidateArgs {
    /// Catalog directories, packs/ or skus/ folders, or pack and SKU files [default: the
    /// resolved catalog]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    pub format: ValidateFormat,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// Accept warnings with this rule code (repeatable); a file can also allow codes for
    /// itself with a comment line `# tai: allow CODE, CODE (why)`
    #[arg(long, value_name = "CODE", value_parser = warning_code)]
    pub allow: Vec<Code>,
    /// List the rule codes with what each checks, and exit
    #[arg(long)]
    pub list_rules: bool,
}

/// How `tai validate` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Source snippets with labels and hints.
    Human,
    /// One JSON document with counts and diagnostics.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

pub fn run(args: &ValidateArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    if args.list_rules {
        for code in crate::diagnostics::Code::ALL {
            writeln!(
                out,
                "{:<28} {:<8} {}",
                code.as_str(),
                code.severity().as_str(),
                code.summary()
            )?;
        }
        return Ok(Exit::Success);
    }
    let (inputs, scope) = if args.paths.is_empty() {
        let source = CatalogSource::resolve(global);
        if args.format == ValidateFormat::Human {
            say!("checking {}", source.describe());
        }
        match source {
            CatalogSource::Dir(dir) => load::read_paths(&[dir]),
            CatalogSource::BuiltIn => {
                let files = builtin::sources();
                let paths_seen = files.len();
                let inputs = Inputs {
                    files,
                    problems: Vec::new(),
                    paths_seen,
                };
                (inputs, Scope::Catalog)
            }
        }
    } else {
        load::read_paths(&args.paths)
    };
    let mut report = load::check_inputs(&inputs, scope).report;
    let mut per_file: HashMap<&Path, Vec<Code>> = HashMap::new();
    for f in &inputs.files {
        let (codes, unknown) = check_allowances(&f.path, &f.text);
        per_file.insert(f.path.as_path(), codes);
        report.extend(unknown);
    }
    let allowed = report.allow(|d| {
        args.allow.contains(&d.code)
            || d.file
                .as_deref()
                .and_then(|f| per_file.get(f))
                .is_some_and(|codes| codes.contains(&d.code))
    });
    if allowed > 0 && args.format == ValidateFormat::Human {
        say!(
            "{} not shown (--allow, `# tai: allow`)",
            plural(allowed, "allowed warning")
        );
    }
    let text = match args.format {
        ValidateFormat::Human => render::human(
            &report,
            color_enabled(global.color, std::io::stdout().is_terminal()),
        ),
        ValidateFormat::Json => render::json(&report),
        ValidateFormat::Github => render::github(&report),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if report.has_io_errors() {
        Exit::Usage
    } else if report.has_errors() || (args.deny_warnings && report.warnings() > 0) {
        Exit::Failure
    } else {
        Exit::Success
    })
}

fn warning_code(name: &str) -> Result<Code, String> {
    match Code::from_name(name) {
        Some(code) if code.severity() == Severity::Warning => Ok(code),
        Some(_) => Err(format!("`{name}` is an error, which cannot be allowed")),
        None => {
            let warnings = Code::ALL
                .iter()
                .filter(|c| c.severity() == Severity::Warning)
                .map(|c| c.as_str());
            let hint = closest(name, warnings)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| "; `tai validate --list-rules` lists them".to_owned());
            Err(format!("no rule `{name}`{hint}"))
        }
    }
}

/// Whether to colour output written to a stream: `--color`, then `NO_COLOR`, then whether
/// the stream is a terminal.
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}
