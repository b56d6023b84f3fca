//! `tai simulate`: run a scenario (or the built-in demo) and print its timeline.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::diagnostics::plural;
use crate::scenario::{self, Run, Scenario};

use super::report::{ReportFormat, simulation_html, simulation_markdown};
use super::style::Paint;
use super::{Exit, GlobalArgs, load_catalog, timeline};

/// Run a scenario and print a timeline of its receipts.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai simulate                       # the built-in demo story
  tai simulate tests/scenarios/02_upgrade_and_downgrade.yaml
  tai simulate story.yaml --format json > run.json
  tai simulate story.yaml --seed 7 | head -n 5
  tai simulate --ledger demo-state && tai --state demo-state receipts verify --all
  tai simulate --print-story > story.yaml && tai simulate story.yaml
  tai simulate --step                # one step at a time: Enter shows the next
  tai simulate --format html > report.html   # one self-contained page to share
  tai simulate --format markdown > report.md

The simulation keeps its own clock, from the scenario's `start` (or its default) on: the
global --now (TAI_NOW) does not move it, and is only checked.")]
pub struct SimulateArgs {
    /// Scenario file (YAML or JSON) [default: the built-in demo]
    pub file: Option<PathBuf>,
    /// Output format: the timeline, JSON, or a report (HTML page or Markdown) with the plans,
    /// the governor's diagram, the timeline and every receipt
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Seed for receipt ids (overrides the scenario's)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep every tenant's receipts in DIR as a state directory (a fresh one), e.g. to run
    /// `tai --state DIR receipts verify --all` afterwards
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<PathBuf>,
    /// Pause after each step until Enter is pressed (a prompt on stderr), to walk an
    /// audience through the story; end of input shows the rest without pausing
    #[arg(long, conflicts_with = "format")]
    pub step: bool,
    /// Print the built-in demo story as an editable scenario file and exit
    #[arg(long, conflicts_with_all = ["file", "format", "seed", "ledger", "step"])]
    pub print_story: bool,
}

/// The built-in demo story.
pub const DEMO: &str = include_str!("../scenario/demo.yaml");

pub fn run(args: &SimulateArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if args.print_story {
        let mut out = std::io::stdout().lock();
        out.write_all(DEMO.as_bytes())?;
        out.flush()?;
        return Ok(Exit::Success);
    }
    let (path, text) = match &args.file {
        Some(p) => {
            let shown = p.display().to_string();
            let text = scenario::read(p, &shown)?;
            (shown, text)
        }
        None => ("<built-in demo>".to_owned(), DEMO.to_owned()),
    };
    if let Some(dir) = &args.ledger {
        refuse_used_ledger(dir)?;
    }
    // Not this command's clock (see the help), but a bad value is still a usage error, so a
    // pipeline setting TAI_NOW wrong hears of it here too.
    super::common::clock(global)?;
    let catalog = Arc::new(load_catalog(global)?);
    // Checked as `tai test` checks it: a typo (an event type, a SKU) is an error here too,
    // not a recorded refusal a demo or a pipeline would take for the story.
    let mut scenario = match scenario::suite::SuiteFile::from_text(&path, text, &catalog) {
        Ok(file) => file.scenario,
        Err(errors) => {
            let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!("{}", shown.join("\n"));
        }
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let total = scenario.steps.len();
    let bar = (std::io::stderr().is_terminal() && total >= 200).then(|| {
        indicatif::ProgressBar::new(total as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    });
    let run = scenario::run_with_progress(&scenario, &path, Arc::clone(&catalog), &mut |done| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(dir) = &args.ledger {
        let chains: Vec<_> = run
            .engine
            .tenants()
            .map(|t| (t.id(), run.engine.receipts(t.id())))
            .collect();
        super::workspace::persist_receipts(dir, &chains)?;
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Human => {
            let paint = Paint::new(global.color);
            let mut stdin = std::io::stdin().lock();
            let mut pause = |out: &mut dyn Write| wait_for_enter(out, &mut stdin);
            let pause: Option<Pause<'_>> = if args.step { Some(&mut pause) } else { None };
            render_human(&mut out, &scenario, &run, paint, pause)?;
        }
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &run.report())?;
            writeln!(out)?;
        }
        ReportFormat::Html => {
            out.write_all(simulation_html(&scenario, &run, &catalog).as_bytes())?
        }
        ReportFormat::Markdown => {
            out.write_all(simulation_markdown(&scenario, &run, &catalog).as_bytes())?;
        }
    }
    Ok(if run.passed() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `--ledger` writes a fresh state directory: one that already holds chains would be asked to
/// continue them with a run that starts again at seq 0.
fn refuse_used_ledger(dir: &std::path::Path) -> anyhow::Result<()> {
    let tenants = crate::receipts::LedgerDir::in_state(dir).tenants()?;
    if tenants.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "`{}` already holds a ledger ({}); a simulation writes a fresh one\n\
         hint: give --ledger a new directory, or remove `{}` first",
        dir.display(),
        crate::diagnostics::plural(tenants.len(), "tenant"),
        dir.display()
    )
}

/// Flushes what was shown, prompts on stderr and waits for a line on stdin; false once
/// stdin has ended, so the rest is shown without pausing.
fn wait_for_enter(out: &mut dyn Write, stdin: &mut dyn BufRead) -> std::io::Result<bool> {
    out.flush()?;
    let mut err = std::io::stderr().lock();
    write!(err, "  [Enter: next step] ")?;
    err.flush()?;
    let mut line = String::new();
    let more = stdin.read_line(&mut line)? > 0;
    if !more {
        writeln!(err)?;
    }
    Ok(more)
}

/// The pause between steps of `--step`: given the output so far, false to stop pausing.
type Pause<'a> = &'a mut dyn FnMut(&mut dyn Write) -> std::io::Result<bool>;

fn render_human(
    out: &mut dyn Write,
    scenario: &Scenario,
    run: &Run,
    paint: Paint,
    mut pause: Option<Pause<'_>>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        paint.bold(&format!("Scenario: {}", scenario.name))
    )?;
    if let Some(d) = &scenario.description {
        for l in d.lines() {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)?;
    for (i, step) in run.steps.iter().enumerate() {
        if i > 0
            && let Some(p) = pause.as_mut()
            && !p(out)?
        {
            pause = None;
        }
        let title = step.name.clone().unwrap_or_else(|| step.kind.to_owned());
        writeln!(
            out,
            "{:>3}. {} — {}",
            step.index,
            paint.bold(&title),
            step.summary
        )?;
        for r in &step.receipts {
            let line = timeline::line(r);
            // A refusal or failure is what the audience should notice.
            let line = if r.body.reason.is_some() {
                paint.red(&line)
            } else {
                paint.dim(&line)
            };
            writeln!(out, "     {line}")?;
        }
        for m in &step.mismatches {
            writeln!(out, "     {}", paint.red(&format!("✗ {m}")))?;
        }
    }
    for m in &run.end_mismatches {
        writeln!(out, "{}", paint.red(&format!("✗ {m}")))?;
    }
    let receipts = run.receipts().count();
    let tenants = run.engine.tenants().count();
    let failed = run
        .steps
        .iter()
        .filter(|s| !s.mismatches.is_empty())
        .count()
        + usize::from(!run.end_mismatches.is_empty());
    writeln!(out)?;
    let verdict = if failed == 0 {
        "all expectations held".to_owned()
    } else {
        format!("{} with failed expectations", plural(failed, "step"))
    };
    writeln!(
        out,
        "{}, {}, {}: {verdict}",
        plural(run.steps.len(), "step"),
        plural(receipts, "receipt"),
        plural(tenants, "tenant")
    )
}
