//! `tai doctor`: which protections command handlers get on this machine.

use clap::Args;

use crate::exec::{self, Protections, Status};

use super::style::{Paint, emit, emit_json};
use super::{Exit, Format, GlobalArgs};

/// Report which protections command handlers get on this machine: how their descendants are
/// killed, the file-system sandbox, no_new_privs, the user they run as, the CPU limit
/// mechanism and the resource limits.
#[derive(Debug, Args)]
#[command(
    after_help = "A protection is `active` (the intended mechanism), `fallback` (a weaker one \
                  stands in) or `missing`.\nExit code 0 when every protection is active, 1 \
                  otherwise.\n\nEnvironment:\n  TAI_HANDLER_USER  user handlers run as when \
                  tai runs as root [default: nobody]\n  TAI_CGROUPS=off   use no cgroups \
                  (subreaper and CPU-time watchdog instead)"
)]
pub struct DoctorArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: &DoctorArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let report = exec::protections();
    match args.format {
        Format::Json => emit_json(&report)?,
        Format::Human => emit(render(&report, Paint::new(global.color)))?,
    }
    Ok(if report.shortfalls().next().is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn render(report: &Protections, paint: Paint) -> String {
    let mut table = paint.table(&["protection", "status", "mechanism", "detail"]);
    for p in &report.protections {
        let status = match p.status {
            Status::Active => paint.green(p.status.as_str()),
            Status::Fallback => paint.yellow(p.status.as_str()),
            Status::Missing => paint.red(p.status.as_str()),
        };
        table.add_row(vec![
            p.name.to_owned(),
            status,
            p.mechanism.clone(),
            p.detail.clone(),
        ]);
    }
    format!("{table}\n")
}

/// Tells, once at start-up, which protections are weaker than intended on this machine.
pub fn warn_shortfalls() {
    for p in exec::protections().shortfalls() {
        say!(
            "warning: command handlers: {} is {} ({}): {}",
            p.name,
            p.status.as_str(),
            p.mechanism,
            p.detail
        );
    }
}
