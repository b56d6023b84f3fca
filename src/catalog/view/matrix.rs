//! Plans side by side: for each tool any of them shows, whether each plan makes it usable,
//! shows it but refuses the call (its roles fall short), or does not have it.

use serde::Serialize;

use crate::catalog::{Catalog, Sku};
use crate::ids::{PackId, Role, SkuId, ToolName};

use super::access::sku_tools;
use super::price::format_price;

/// What a plan does with a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanAccess {
    /// Visible, and the plan's roles let its action run.
    Usable,
    /// Visible, but a call is refused at the IAM gate: the plan lacks a role.
    Refused,
    /// Not among the plan's tools.
    Absent,
}

/// One plan of the comparison.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MatrixPlan<'a> {
    /// The SKU.
    pub sku_id: &'a SkuId,
    /// Its listing title.
    pub title: &'a str,
    /// Its price, formatted, e.g. `$299.00/mo`.
    pub price_label: String,
}

/// One tool across the plans.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MatrixRow<'a> {
    /// The tool.
    pub tool: &'a ToolName,
    /// The pack that provides it.
    pub pack: &'a PackId,
    /// What each plan does with it, in the order of [`PlanMatrix::plans`].
    pub access: Vec<PlanAccess>,
    /// For each plan, the roles it lacks to run the tool (empty unless refused).
    pub missing_roles: Vec<Vec<&'a Role>>,
}

/// A plan × tool matrix.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlanMatrix<'a> {
    /// The plans compared, in the order given.
    pub plans: Vec<MatrixPlan<'a>>,
    /// Every tool any of them shows, in catalog order (by pack, then as the pack lists them).
    pub tools: Vec<MatrixRow<'a>>,
}

/// `skus` side by side.
pub fn plan_matrix<'a>(catalog: &'a Catalog, skus: &[&'a Sku]) -> PlanMatrix<'a> {
    let surfaces: Vec<_> = skus.iter().map(|s| sku_tools(catalog, s)).collect();
    let mut tools = Vec::new();
    for pack in catalog.packs() {
        for tool in &pack.tools {
            let seen: Vec<_> = surfaces
                .iter()
                .map(|surface| surface.iter().find(|t| t.name == &tool.name))
                .collect();
            if seen.iter().all(Option::is_none) {
                continue;
            }
            tools.push(MatrixRow {
                tool: &tool.name,
                pack: &pack.pack_id,
                access: seen
                    .iter()
                    .map(|t| match t {
                        Some(t) if t.usable => PlanAccess::Usable,
                        Some(_) => PlanAccess::Refused,
                        None => PlanAccess::Absent,
                    })
                    .collect(),
                missing_roles: seen
                    .iter()
                    .map(|t| t.map(|t| t.missing_roles.clone()).unwrap_or_default())
                    .collect(),
            });
        }
    }
    PlanMatrix {
        plans: skus
            .iter()
            .map(|s| MatrixPlan {
                sku_id: &s.sku_id,
                title: &s.title,
                price_label: format_price(&s.price),
            })
            .collect(),
        tools,
    }
}
