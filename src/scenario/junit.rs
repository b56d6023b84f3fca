//! JUnit XML for a suite: the format CI systems (GitLab, Jenkins, GitHub test reporters)
//! render as a test report. One `<testsuite>`, one `<testcase>` per scenario; a failed
//! scenario carries a `<failure>` with the same text `tai test` prints, and a scenario that
//! `--fail-fast` never started is `<skipped>`.

use std::fmt::Write as _;
use std::time::Duration;

use super::suite::{ScenarioResult, Status, SuiteReport, describe};
use crate::diagnostics::escape_markup as escape;

/// The report as a JUnit XML document named `name`.
pub fn to_junit(report: &SuiteReport, name: &str) -> String {
    let tests = report.results.len() + report.not_run.len();
    let failures = report
        .results
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    let errors = report.errors();
    let skipped = report.not_run.len();
    let time = secs(report.elapsed);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\""
    );
    let _ = writeln!(x, "<testsuites name=\"{}\" {counts}>", escape(name));
    let _ = writeln!(x, "  <testsuite name=\"{}\" {counts}>", escape(name));
    for r in &report.results {
        testcase(&mut x, r);
    }
    for n in &report.not_run {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"0.000\">\n      <skipped message=\"not run: --fail-fast stopped the suite after a failure\"/>\n    </testcase>",
            escape(&n.name),
            escape(&n.file),
            escape(&n.file),
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn testcase(x: &mut String, r: &ScenarioResult) {
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{}\"",
        escape(&r.name),
        escape(&r.file),
        escape(&r.file),
        secs(r.elapsed)
    );
    let (tag, message) = match r.status {
        Status::Passed => {
            x.push_str("/>\n");
            return;
        }
        Status::Failed => ("failure", first_line(r)),
        Status::Error => ("error", r.error.clone().unwrap_or_default()),
    };
    let _ = write!(
        x,
        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
        escape(&message),
        if tag == "failure" {
            "expectation"
        } else {
            "scenario_error"
        },
        escape(&describe(r))
    );
}

/// A one-line summary of the first failure: `file:line: step 3: state: expected stable, got
/// refusing`.
fn first_line(r: &ScenarioResult) -> String {
    let Some(f) = r.failures.first() else {
        return "failed".into();
    };
    let at = match f.field_line.or(f.line) {
        Some(l) => format!("{}:{l}", r.file),
        None => r.file.clone(),
    };
    let step = f
        .step
        .map_or_else(|| "end of run".to_owned(), |n| format!("step {n}"));
    let m = &f.mismatch;
    let more = match r.failures.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    format!(
        "{at}: {step}: {}: expected {}, got {}{more}",
        m.field, m.expected, m.actual
    )
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}
