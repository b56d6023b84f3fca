//! Scenario suites, as `tai test` runs them: find the scenario files under some paths, load
//! and check every one against the catalog, run them in parallel (each on its own engine and
//! simulated clock), and report the results in file order whatever order they finished in.
//!
//! A file that cannot be loaded is a load error, never a pass or a fail: the suite does not
//! run until every file loads. A failed expectation is reported with the step, the file and
//! line of the step and of the expectation, and what was expected and what happened.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::spans::DocPath;

use super::coverage::Observations;
use super::text::{ScenarioText, keys, step};
use super::{Mismatch, Scenario, ScenarioError, check, run};

/// File extensions of scenario files.
pub const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// One loaded, checked scenario file.
#[derive(Debug, Clone)]
pub struct SuiteFile {
    /// The path as shown in reports.
    pub path: String,
    /// The file's text (kept to find lines when something fails).
    pub text: String,
    /// The parsed scenario.
    pub scenario: Scenario,
}

impl SuiteFile {
    /// Parses and checks a scenario given as text (`path` is used in messages).
    pub fn from_text(
        path: &str,
        text: String,
        catalog: &Catalog,
    ) -> Result<SuiteFile, Vec<ScenarioError>> {
        let scenario = Scenario::parse(path, &text).map_err(|e| vec![e])?;
        let errors = check::check(&scenario, path, &text, catalog);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SuiteFile {
            path: path.to_owned(),
            text,
            scenario,
        })
    }

    /// Whether `filter` is part of the scenario's name or file path.
    pub fn matches(&self, filter: &str) -> bool {
        self.scenario.name.contains(filter) || self.path.contains(filter)
    }
}

/// Every scenario file under `roots`, sorted and without duplicates. A root that is a file is
/// taken as is; a directory is searched recursively for `*.yaml`, `*.yml` and `*.json`,
/// skipping hidden entries.
pub fn discover(roots: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut found = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|e| read_error(root, &e))?;
        if meta.is_dir() {
            walk(root, &mut found)?;
        } else {
            found.push(root.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| read_error(dir, &e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            found.push(path);
        }
    }
    Ok(())
}

fn read_error(path: &Path, e: &std::io::Error) -> ScenarioError {
    ScenarioError::Read {
        path: shown(path),
        message: e.to_string(),
    }
}

/// A path as reports show it: `x.yaml` rather than `./x.yaml` when searching `.`.
fn shown(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}

/// Reads, parses and checks `paths` (in parallel on `jobs` threads). Either every file
/// loads, or every error found is returned, in file order.
pub fn load(
    paths: &[PathBuf],
    catalog: &Catalog,
    jobs: usize,
) -> Result<Vec<SuiteFile>, Vec<ScenarioError>> {
    let loaded = par_map(paths, jobs, &AtomicBool::new(false), |p| {
        let shown = shown(p);
        let text = super::read(p, &shown).map_err(|e| vec![e])?;
        SuiteFile::from_text(&shown, text, catalog)
    });
    let mut files = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for r in loaded.into_iter().flatten() {
        match r {
            Ok(f) => files.push(f),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// How to run a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteOptions {
    /// Worker threads (at least one).
    pub jobs: usize,
    /// Stop starting scenarios after the first one fails.
    pub fail_fast: bool,
    /// Record what each run exercised, for coverage.
    pub coverage: bool,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            jobs: default_jobs(),
            fail_fast: false,
            coverage: false,
        }
    }
}

/// One worker per available core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// At least one expectation did not hold.
    Failed,
    /// The scenario could not run to the end (a step the engine could not apply).
    Error,
}

/// One expectation that did not hold, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// 1-based step number; `None` for the end-of-run checks.
    pub step: Option<usize>,
    /// The step's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
    /// The step's kind (`call`, `event`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// 1-based line of the step (or of `end:`).
    pub line: Option<usize>,
    /// What the step did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub happened: Option<String>,
    /// 1-based line of the failed expectation.
    pub field_line: Option<usize>,
    /// What did not hold.
    #[serde(flatten)]
    pub mismatch: Mismatch,
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// How it ended.
    pub status: Status,
    /// Number of steps.
    pub steps: usize,
    /// Expectations that did not hold, in step order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Why it could not run, for [`Status::Error`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took (not serialized: reports stay byte-for-byte reproducible).
    #[serde(skip)]
    pub elapsed: Duration,
    /// What it exercised, when coverage was asked for.
    #[serde(skip)]
    pub observations: Option<Observations>,
}

impl ScenarioResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.status == Status::Passed
    }
}

/// A scenario the suite did not start (`--fail-fast` stopped it first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRun {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: String,
}

/// A finished suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteReport {
    /// Results of the scenarios that ran, in file order.
    pub results: Vec<ScenarioResult>,
    /// Scenarios not started because of `fail_fast`, in file order.
    pub not_run: Vec<NotRun>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl SuiteReport {
    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    /// Scenarios that failed or could not run.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Scenarios that could not run to the end.
    pub fn errors(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == Status::Error)
            .count()
    }

    /// The summary line CI parses: `N passed, N failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// Everything the suite exercised, merged.
    pub fn observations(&self) -> Observations {
        let mut all = Observations::default();
        for o in self.results.iter().filter_map(|r| r.observations.as_ref()) {
            all.merge(o);
        }
        all
    }
}

/// Hears about a suite while it runs.
pub trait SuiteObserver {
    /// A scenario finished (in completion order): `done` of `total`.
    fn progress(&mut self, _done: usize, _total: usize) {}
    /// A result, delivered in file order.
    fn result(&mut self, _result: &ScenarioResult) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl SuiteObserver for Quiet {}

/// Runs every file on its own engine over `catalog`, in parallel.
pub fn run_suite(
    files: &[SuiteFile],
    catalog: &Arc<Catalog>,
    options: &SuiteOptions,
    observer: &mut dyn SuiteObserver,
) -> SuiteReport {
    let start = Instant::now();
    let stop = AtomicBool::new(false);
    let mut slots: Vec<Option<ScenarioResult>> = vec![None; files.len()];
    let mut next_out = 0;
    let mut done = 0;
    par_for_each(
        files,
        options.jobs,
        &stop,
        |file| {
            let result = run_file(file, catalog, options.coverage);
            if options.fail_fast && !result.passed() {
                stop.store(true, Ordering::Relaxed);
            }
            result
        },
        |i, result| {
            done += 1;
            observer.progress(done, files.len());
            slots[i] = Some(result);
            while let Some(Some(r)) = slots.get(next_out) {
                observer.result(r);
                next_out += 1;
            }
        },
    );
    // With fail-fast, later slots may stay empty: deliver what did run, still in order.
    for r in slots.iter().skip(next_out).flatten() {
        observer.result(r);
    }
    let mut report = SuiteReport {
        elapsed: start.elapsed(),
        ..SuiteReport::default()
    };
    for (file, slot) in files.iter().zip(slots) {
        match slot {
            Some(r) => report.results.push(r),
            None => report.not_run.push(NotRun {
                name: file.scenario.name.clone(),
                file: file.path.clone(),
            }),
        }
    }
    report
}

/// Runs one scenario and turns its run into a result with located failures.
pub fn run_file(file: &SuiteFile, catalog: &Arc<Catalog>, coverage: bool) -> ScenarioResult {
    let start = Instant::now();
    let mut result = ScenarioResult {
        name: file.scenario.name.clone(),
        file: file.path.clone(),
        status: Status::Passed,
        steps: file.scenario.steps.len(),
        failures: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
        observations: None,
    };
    match run(&file.scenario, &file.path, Arc::clone(catalog)) {
        Err(e) => {
            result.status = Status::Error;
            result.error = Some(match e {
                ScenarioError::Step {
                    path,
                    step,
                    message,
                    ..
                } => ScenarioError::Step {
                    line: ScenarioText::new(&file.text).step_line(step.saturating_sub(1)),
                    path,
                    step,
                    message,
                }
                .to_string(),
                other => other.to_string(),
            });
        }
        Ok(run) => {
            if coverage {
                result.observations = Some(Observations::from_receipts(run.receipts()));
            }
            if !run.passed() {
                result.status = Status::Failed;
                result.failures = locate_failures(file, &run);
            }
        }
    }
    result.elapsed = start.elapsed();
    result
}

fn locate_failures(file: &SuiteFile, run: &super::Run) -> Vec<Failure> {
    let text = ScenarioText::new(&file.text);
    let mut out = Vec::new();
    for report in run.steps.iter().filter(|s| !s.mismatches.is_empty()) {
        let i = report.index - 1;
        let line = text.step_line(i);
        for m in &report.mismatches {
            let path = keys(step(i).key("expect"), &m.field);
            out.push(Failure {
                step: Some(report.index),
                step_name: report.name.clone(),
                kind: Some(report.kind),
                line,
                happened: Some(report.summary.clone()),
                field_line: text.locate_nearest(&path).map(|l| l.line),
                mismatch: m.clone(),
            });
        }
    }
    let end_line = text
        .locate_nearest(&DocPath::root().key("end"))
        .map(|l| l.line);
    for m in &run.end_mismatches {
        let path = keys(DocPath::root(), &m.field);
        out.push(Failure {
            step: None,
            step_name: None,
            kind: None,
            line: end_line,
            happened: None,
            field_line: text.locate_nearest(&path).map(|l| l.line),
            mismatch: m.clone(),
        });
    }
    // In the order they are written: by step, then by line within the step.
    out.sort_by_key(|f| (f.step.is_none(), f.step, f.field_line));
    out
}

/// The failures of a result as indented text, grouped by step:
///
/// ```text
///   step 3 "Call the orchestrator" at upgrade.yaml:27 — ac_rollback_orchestrator refused: deployment_not_stable
///     state (line 31): expected stable, got refusing
/// ```
pub fn describe(result: &ScenarioResult) -> String {
    let mut out = String::new();
    if let Some(e) = &result.error {
        let _ = writeln!(out, "  error: {e}");
    }
    let mut groups: BTreeMap<Option<usize>, Vec<&Failure>> = BTreeMap::new();
    for f in &result.failures {
        groups.entry(f.step).or_default().push(f);
    }
    // End-of-run checks (`None`) sort first in the map; show them last.
    let (end, steps): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(s, _)| s.is_none());
    for (_, failures) in steps.into_iter().chain(end) {
        let Some(first) = failures.first() else {
            continue;
        };
        let at = match first.line {
            Some(l) => format!("{}:{l}", result.file),
            None => result.file.clone(),
        };
        let _ = match (first.step, &first.step_name) {
            (Some(n), Some(name)) => write!(out, "  step {n} \"{name}\" at {at}"),
            (Some(n), None) => write!(out, "  step {n} ({}) at {at}", first.kind.unwrap_or("step")),
            (None, _) => write!(out, "  end of run at {at}"),
        };
        match &first.happened {
            Some(h) => {
                let _ = writeln!(out, " — {h}");
            }
            None => out.push('\n'),
        }
        for f in failures {
            let _ = write!(out, "{}", MismatchText(f));
        }
    }
    out
}

struct MismatchText<'a>(&'a Failure);

impl fmt::Display for MismatchText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fail = self.0;
        let m = &fail.mismatch;
        let line = fail
            .field_line
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        let short = m.expected.len() + m.actual.len() < 60;
        if short && m.missing.is_empty() && m.extra.is_empty() {
            return writeln!(
                f,
                "    {}{line}: expected {}, got {}",
                m.field, m.expected, m.actual
            );
        }
        writeln!(f, "    {}{line}:", m.field)?;
        writeln!(f, "      expected {}", m.expected)?;
        writeln!(f, "      got      {}", m.actual)?;
        for x in &m.missing {
            writeln!(f, "      - {x} (expected, missing)")?;
        }
        for x in &m.extra {
            writeln!(f, "      + {x} (not expected)")?;
        }
        Ok(())
    }
}

/// Maps `f` over `items` on `jobs` threads; items not started once `stop` is set are `None`.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    stop: &AtomicBool,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    par_for_each(items, jobs, stop, f, |i, r| out[i] = Some(r));
    out
}

/// Runs `work` over `items` on `jobs` threads, handing each result with its index to `sink`
/// on the calling thread as it arrives. Workers stop taking items once `stop` is set.
fn par_for_each<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    stop: &AtomicBool,
    work: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(usize, R),
) {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    if tx.send((i, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            sink(i, r);
        }
    });
}
