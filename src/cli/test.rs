//! `tai test`: run scenario suites, report per scenario and in total, with coverage of the
//! pack surface and JUnit XML for CI.

use std::io::{IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::diagnostics::plural;
use crate::scenario::coverage::{CoverageReport, CoverageScope, Items};
use crate::scenario::junit::to_junit;
use crate::scenario::suite::{
    self, NotRun, ScenarioResult, Status, SuiteObserver, SuiteOptions, SuiteReport, describe,
};

use super::style::Paint;
use super::{CatalogSource, ColorChoice, Exit, Format, GlobalArgs, load_catalog};

/// Styling for a decision already taken (`color` from `use_color`).
fn paint_for(color: bool) -> Paint {
    Paint::new(if color {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    })
}

/// Run scenario suites.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai test                                   # every scenario under tests/scenarios/
  tai test tests/scenarios/02_upgrade_and_downgrade.yaml
  tai test --filter rollback --fail-fast
  tai test --junit report.xml --format json > results.json
  tai test --coverage --min-coverage 95
  tai test tests/scenarios/03_rollback_guard.yaml --coverage-scope packs

Exit codes: 0 all passed, 1 a scenario failed (or coverage below --min-coverage),
2 usage or load error (bad YAML, unknown step, field, tool or SKU).")]
pub struct TestArgs {
    /// Scenario files or directories (searched for *.yaml, *.yml, *.json) [default:
    /// tests/scenarios]
    pub paths: Vec<PathBuf>,
    /// Only run scenarios whose name or file path contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Start no new scenario after the first failure
    #[arg(long)]
    pub fail_fast: bool,
    /// Report which tools, actions, precondition checks and governor transitions ran
    #[arg(long)]
    pub coverage: bool,
    /// Fail when overall coverage is below P percent (implies --coverage)
    #[arg(long, value_name = "P", value_parser = parse_percent)]
    pub min_coverage: Option<f64>,
    /// What overall coverage counts: the packs' tools, actions and preconditions, or also
    /// the governor's transitions (implies --coverage)
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub coverage_scope: Option<ScopeArg>,
    /// Worker threads [default: one per core]
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

/// `--coverage-scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// Tools, actions and preconditions of the packs
    Packs,
    /// Those and the governor's transitions
    All,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage (e.g. 90 or 99.5)"))?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("`{text}` is not between 0 and 100"))
    }
}

/// Suites that have many scenarios get a progress bar (on a terminal only).
const PROGRESS_FROM: usize = 50;

pub fn run(args: &TestArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let catalog = Arc::new(load_catalog(global)?);
    if args.format == Format::Human {
        // Which packs the scenarios meet is not obvious from the folder: say it.
        say!(
            "testing against {}",
            CatalogSource::resolve(global).describe()
        );
    }
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from("tests/scenarios")]
    } else {
        args.paths.clone()
    };
    let jobs = args
        .jobs
        .map_or_else(suite::default_jobs, NonZeroUsize::get);
    let paths = match suite::discover(&roots) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    if paths.is_empty() {
        let shown: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
        return usage(&format!(
            "no scenario files (*.yaml, *.yml, *.json) under {}",
            shown.join(", ")
        ));
    }
    // A scenario that does not load is reported (and is an `<error>` case in the JUnit
    // report); the others still run.
    let (mut files, load_errors) = suite::load_each(&paths, &catalog, jobs);
    for e in &load_errors {
        say!("error: {e}");
    }
    if !load_errors.is_empty() {
        say!(
            "{} not loaded; the other scenarios run",
            plural(load_errors.len(), "scenario")
        );
    }
    if let Some(filter) = &args.filter {
        let found = files.len();
        files.retain(|f| f.matches(filter));
        if files.is_empty() && load_errors.is_empty() {
            return usage(&format!(
                "no scenario name or file contains `{filter}` ({} found)",
                plural(found, "scenario")
            ));
        }
    }
    let coverage = args.coverage || args.min_coverage.is_some() || args.coverage_scope.is_some();
    let scope = match args.coverage_scope {
        Some(ScopeArg::Packs) => CoverageScope::Packs,
        Some(ScopeArg::All) | None => CoverageScope::All,
    };
    let options = SuiteOptions {
        jobs,
        fail_fast: args.fail_fast,
        coverage,
    };
    let color = use_color(global.color);
    let mut printer = Printer::new(args.format, color, files.len());
    let mut report = suite::run_suite(&files, &catalog, &options, &mut printer);
    printer.finish();
    for e in &load_errors {
        let result = ScenarioResult::load_error(e);
        printer.result(&result);
        report.results.push(result);
    }
    report.results.sort_by(|a, b| a.file.cmp(&b.file));
    let cov =
        coverage.then(|| CoverageReport::compute(&catalog, &report.observations()).scoped(scope));
    if let Some(path) = &args.junit {
        std::fs::write(path, to_junit(&report, "tai test"))
            .with_context(|| format!("cannot write the JUnit report to `{}`", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Human => render_human(&mut out, &report, cov.as_ref(), color)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &JsonReport::new(&report, cov.as_ref()))?;
            writeln!(out)?;
            say!("{}", report.summary());
        }
    }
    if report.errors() > 0 {
        return Ok(Exit::Usage);
    }
    if report.failed() > 0 {
        return Ok(Exit::Failure);
    }
    if let (Some(min), Some(c)) = (args.min_coverage, &cov)
        && c.percent < min
    {
        say!("coverage {:.1}% is below --min-coverage {min}%", c.percent);
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

fn usage(message: &str) -> anyhow::Result<Exit> {
    say!("error: {message}");
    Ok(Exit::Usage)
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Prints each result as it arrives (in file order) and drives the progress bar.
struct Printer {
    format: Format,
    color: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Printer {
    fn new(format: Format, color: bool, total: usize) -> Self {
        let bar = (format == Format::Human
            && total >= PROGRESS_FROM
            && std::io::stderr().is_terminal())
        .then(|| {
            indicatif::ProgressBar::new(total as u64).with_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scenarios {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            )
        });
        Printer { format, color, bar }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl SuiteObserver for Printer {
    fn progress(&mut self, done: usize, _total: usize) {
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
        }
    }

    fn result(&mut self, r: &ScenarioResult) {
        if self.format != Format::Human {
            return;
        }
        let (word, code) = match r.status {
            Status::Passed => ("PASS", "32"),
            Status::Failed => ("FAIL", "31"),
            Status::Error => ("ERROR", "31"),
        };
        let mut text = format!(
            "{} {} ({})\n",
            paint(self.color, code, word),
            r.name,
            r.file
        );
        text.push_str(&describe(r));
        let print = || {
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. piped into `head`) is not worth failing the suite over.
            let _ = out.write_all(text.as_bytes());
        };
        match &self.bar {
            Some(b) => b.suspend(print),
            None => print(),
        }
    }
}

fn render_human(
    out: &mut dyn Write,
    report: &SuiteReport,
    cov: Option<&CoverageReport>,
    color: bool,
) -> std::io::Result<()> {
    if !report.not_run.is_empty() {
        writeln!(
            out,
            "{} not run: --fail-fast stopped the suite after a failure",
            plural(report.not_run.len(), "scenario")
        )?;
    }
    if let Some(c) = cov {
        writeln!(out)?;
        render_coverage(out, c, paint_for(color))?;
    }
    writeln!(out)?;
    let summary = report.summary();
    let code = if report.failed() == 0 { "32" } else { "31" };
    writeln!(out, "{}", paint(color, code, &summary))
}

fn render_coverage(out: &mut dyn Write, c: &CoverageReport, paint: Paint) -> std::io::Result<()> {
    // The one table mechanism: laid out in the terminal's width or `COLUMNS`, by visible width.
    let mut table = paint.table(&[
        "pack",
        "tools",
        "actions",
        "precondition passes",
        "refusal codes",
        "transitions",
        "covered",
    ]);
    for p in &c.packs {
        table.add_row(vec![
            p.pack.clone(),
            p.tools.ratio(),
            p.actions.ratio(),
            p.precondition_passes.ratio(),
            p.precondition_refusals.ratio(),
            "–".into(),
            format!("{:.1}%", p.percent),
        ]);
    }
    let t = &c.transitions;
    table.add_row(vec![
        "(governor)".into(),
        "–".into(),
        "–".into(),
        "–".into(),
        "–".into(),
        t.ratio(),
        format!("{:.1}%", t.percent()),
    ]);
    writeln!(out, "Coverage")?;
    writeln!(out, "{table}")?;
    let mut missing: Vec<(String, &str, &String)> = Vec::new();
    for p in &c.packs {
        let kinds: [(&str, &Items); 4] = [
            ("tool", &p.tools),
            ("action", &p.actions),
            ("precondition pass", &p.precondition_passes),
            ("refusal code", &p.precondition_refusals),
        ];
        for (kind, items) in kinds {
            missing.extend(items.missing.iter().map(|m| (p.pack.clone(), kind, m)));
        }
    }
    missing.extend(
        c.transitions
            .missing
            .iter()
            .map(|m| ("(governor)".to_owned(), "transition", m)),
    );
    if !missing.is_empty() {
        writeln!(out, "Never exercised:")?;
        for (pack, kind, item) in &missing {
            writeln!(out, "  {pack:<22} {kind:<18} {item}")?;
        }
    }
    for t in &c.unexpected_transitions {
        writeln!(
            out,
            "warning: transition {t} is not in the governor's state table"
        )?;
    }
    writeln!(
        out,
        "Overall: {}/{} items ({:.1}%)",
        c.covered, c.total, c.percent
    )
}

/// What `--format json` prints.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    scenarios: &'a [ScenarioResult],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    not_run: &'a [NotRun],
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a CoverageReport>,
}

#[derive(Debug, Serialize)]
struct Summary {
    passed: usize,
    failed: usize,
    not_run: usize,
}

impl<'a> JsonReport<'a> {
    fn new(report: &'a SuiteReport, coverage: Option<&'a CoverageReport>) -> Self {
        JsonReport {
            scenarios: &report.results,
            not_run: &report.not_run,
            summary: Summary {
                passed: report.passed(),
                failed: report.failed(),
                not_run: report.not_run.len(),
            },
            coverage,
        }
    }
}
