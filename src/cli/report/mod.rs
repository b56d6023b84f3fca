//! Shareable reports: a simulation or a plan comparison as one self-contained HTML file or as
//! Markdown to paste into a document.
//!
//! Both are built from the same facts as the terminal views (the scenario run, the catalog's
//! plan matrix), so a report says exactly what `tai simulate` and `tai sku compare` print.
//! Nothing in a report depends on the machine or the time it was written: the same inputs
//! give the same bytes, like every other output under a simulated clock.

mod html;
mod markdown;

use clap::ValueEnum;

use crate::catalog::view::{self, PlanAccess, PlanMatrix, SkuSummary};
use crate::catalog::{Catalog, Sku};
use crate::governor::GovernorState;
use crate::ids::TenantId;
use crate::receipts::Receipt;
use crate::scenario::Run;

pub use html::{compare_html, simulation_html};
pub use markdown::{compare_markdown, simulation_markdown};

/// Output format of the commands that also write reports (`simulate`, `sku compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReportFormat {
    /// Tables and text for people.
    #[default]
    Human,
    /// JSON for machines.
    Json,
    /// One self-contained HTML page (inline CSS and SVG, no scripts).
    Html,
    /// Markdown, to paste into a document.
    Markdown,
}

/// Tenants whose state diagram a report draws; the rest are named, their receipts listed.
const DIAGRAMS: usize = 6;

/// What a simulation report shows, gathered once for both formats.
struct Simulation<'a> {
    run: &'a Run,
    catalog: &'a Catalog,
    /// The plans the run's tenants held, in the order they first appear.
    plans: Vec<SkuSummary<'a>>,
    /// Each tenant's end state and last change of state, in the order tenants first appear.
    tenants: Vec<TenantEnd>,
}

/// Where a tenant's governor ended.
struct TenantEnd {
    tenant: TenantId,
    state: GovernorState,
    last_change: Option<(GovernorState, GovernorState)>,
}

impl<'a> Simulation<'a> {
    fn new(run: &'a Run, catalog: &'a Catalog) -> Self {
        let mut plans: Vec<&'a Sku> = Vec::new();
        let mut tenants: Vec<TenantEnd> = Vec::new();
        for r in run.receipts() {
            if let Some(sku) = held_plan(r).and_then(|id| catalog.sku(&id))
                && !plans.iter().any(|p| p.sku_id == sku.sku_id)
            {
                plans.push(sku);
            }
            let b = &r.body;
            let end = match tenants.iter_mut().find(|t| t.tenant == b.tenant_id) {
                Some(end) => end,
                None => {
                    tenants.push(TenantEnd {
                        tenant: b.tenant_id.clone(),
                        state: b.state_to,
                        last_change: None,
                    });
                    let last = tenants.len() - 1;
                    &mut tenants[last]
                }
            };
            end.state = b.state_to;
            if b.state_from != b.state_to {
                end.last_change = Some((b.state_from, b.state_to));
            }
        }
        Simulation {
            run,
            catalog,
            plans: plans
                .into_iter()
                .map(|s| view::sku_summary(catalog, s))
                .collect(),
            tenants,
        }
    }

    /// `N steps, N receipts, N tenants: verdict`, as the terminal timeline ends.
    fn verdict(&self) -> String {
        let failed = self
            .run
            .steps
            .iter()
            .filter(|s| !s.mismatches.is_empty())
            .count()
            + usize::from(!self.run.end_mismatches.is_empty());
        let verdict = if failed == 0 {
            "all expectations held".to_owned()
        } else {
            format!(
                "{} with failed expectations",
                crate::diagnostics::plural(failed, "step")
            )
        };
        format!(
            "{}, {}, {}: {verdict}",
            crate::diagnostics::plural(self.run.steps.len(), "step"),
            crate::diagnostics::plural(self.run.receipts().count(), "receipt"),
            crate::diagnostics::plural(self.tenants.len(), "tenant"),
        )
    }
}

/// The SKU an entitlement receipt says the tenant holds.
fn held_plan(r: &Receipt) -> Option<String> {
    let m = r.body.metadata.to_value();
    m.get("entitlement")?
        .get("sku_id")?
        .as_str()
        .map(str::to_owned)
}

/// A matrix cell in words: `usable`, `refused: needs ROLE`, or `—`.
fn access_text(access: PlanAccess, missing: &[&crate::ids::Role]) -> String {
    match access {
        PlanAccess::Usable => "usable".to_owned(),
        PlanAccess::Refused => format!(
            "refused: needs {}",
            missing
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        PlanAccess::Absent => "—".to_owned(),
    }
}

/// How many tools each plan of `m` makes usable.
fn usable_counts(m: &PlanMatrix<'_>) -> Vec<usize> {
    (0..m.plans.len())
        .map(|i| {
            m.tools
                .iter()
                .filter(|t| t.access[i] == PlanAccess::Usable)
                .count()
        })
        .collect()
}
