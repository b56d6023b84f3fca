//! `tai simulate`: run a scenario (or the built-in demo) and print its timeline.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::scenario::{self, Run, Scenario};

use super::{Exit, Format, GlobalArgs, load_catalog, timeline};

/// Run a scenario and print a timeline of its receipts.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tai simulate                       # the built-in demo story
  tai simulate tests/scenarios/upgrade.yaml
  tai simulate story.yaml --format json > run.json
  tai simulate --ledger demo-state && tai --state demo-state receipts verify --all")]
pub struct SimulateArgs {
    /// Scenario file (YAML or JSON) [default: the built-in demo]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Seed for receipt ids (overrides the scenario's)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep every tenant's receipts in DIR as a state directory (a fresh one), e.g. to run
    /// `tai --state DIR receipts verify --all` afterwards
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<PathBuf>,
}

/// The built-in demo story.
pub const DEMO: &str = include_str!("../scenario/demo.yaml");

pub fn run(args: &SimulateArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (path, text) = match &args.file {
        Some(p) => {
            let shown = p.display().to_string();
            let text = scenario::read(p, &shown)?;
            (shown, text)
        }
        None => ("<built-in demo>".to_owned(), DEMO.to_owned()),
    };
    let mut scenario = Scenario::parse(&path, &text)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let catalog = Arc::new(load_catalog(global)?);
    let total = scenario.steps.len();
    let bar = (std::io::stderr().is_terminal() && total >= 200).then(|| {
        indicatif::ProgressBar::new(total as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} steps {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    });
    let run = scenario::run_with_progress(&scenario, &path, catalog, &mut |done| {
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
        Format::Human => render_human(&mut out, &scenario, &run)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &run.report())?;
            writeln!(out)?;
        }
    }
    Ok(if run.passed() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn render_human(out: &mut dyn Write, scenario: &Scenario, run: &Run) -> std::io::Result<()> {
    writeln!(out, "Scenario: {}", scenario.name)?;
    if let Some(d) = &scenario.description {
        for l in d.lines() {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)?;
    for step in &run.steps {
        let title = step.name.clone().unwrap_or_else(|| step.kind.to_owned());
        writeln!(out, "{:>3}. {title} — {}", step.index, step.summary)?;
        for r in &step.receipts {
            writeln!(out, "     {}", timeline::line(r))?;
        }
        for m in &step.mismatches {
            writeln!(
                out,
                "     ✗ expected {} = {}, got {}",
                m.field, m.expected, m.actual
            )?;
        }
    }
    for m in &run.end_mismatches {
        writeln!(
            out,
            "✗ expected {} = {}, got {}",
            m.field, m.expected, m.actual
        )?;
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
        format!("{failed} step(s) with failed expectations")
    };
    writeln!(
        out,
        "{} steps, {receipts} receipts, {tenants} tenant(s): {verdict}",
        run.steps.len()
    )
}
