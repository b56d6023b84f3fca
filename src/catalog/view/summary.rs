//! Summaries and details of packs and SKUs, as lists and `show` commands present them.

use serde::Serialize;

use super::access::{ToolAccess, UnusableAction, sku_tools, unusable_actions};
use super::price::format_price;
use crate::catalog::{Catalog, Check, Pack, Precondition, Price, Sku, Storage, Term};
use crate::ids::{PackId, PlanId, Role, SkuId};

/// One line of `tai pack list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PackSummary<'a> {
    /// The pack's id.
    pub pack_id: &'a PackId,
    /// Its version.
    pub version: &'a str,
    /// What it does.
    pub description: &'a str,
    /// Number of tools.
    pub tools: usize,
    /// Number of actions.
    pub actions: usize,
    /// Packs it requires.
    pub requires: &'a [PackId],
    /// Packs it cannot be enabled with.
    pub incompatible_with: &'a [PackId],
    /// Roles its full feature set needs.
    pub required_iam_roles: &'a [Role],
    /// Where it keeps state.
    pub storage: Storage,
    /// SKUs that enable it.
    pub enabled_by: Vec<&'a SkuId>,
}

/// The SKUs that enable `pack`, in catalog order.
pub fn enabled_by<'a>(catalog: &'a Catalog, pack: &PackId) -> Vec<&'a SkuId> {
    catalog
        .skus()
        .iter()
        .filter(|s| s.enabled_packs.contains(pack))
        .map(|s| &s.sku_id)
        .collect()
}

/// A summary of every pack, sorted by id.
pub fn pack_summaries(catalog: &Catalog) -> Vec<PackSummary<'_>> {
    catalog
        .packs()
        .iter()
        .map(|p| PackSummary {
            pack_id: &p.pack_id,
            version: &p.version,
            description: &p.description,
            tools: p.tools.len(),
            actions: p.actions.len(),
            requires: &p.requires,
            incompatible_with: &p.incompatible_with,
            required_iam_roles: &p.required_iam_roles,
            storage: p.storage,
            enabled_by: enabled_by(catalog, &p.pack_id),
        })
        .collect()
}

/// One line of `tai sku list`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SkuSummary<'a> {
    /// The SKU's id.
    pub sku_id: &'a SkuId,
    /// Its marketplace plan.
    pub plan_id: &'a PlanId,
    /// Its listing title.
    pub title: &'a str,
    /// Its price.
    pub price: &'a Price,
    /// The price, formatted, e.g. `$299.00/mo`.
    pub price_label: String,
    /// Its billing term.
    pub term: Term,
    /// The packs it enables.
    pub enabled_packs: &'a [PackId],
    /// The roles it may grant.
    pub iam_roles: &'a [Role],
    /// Number of tools its packs expose.
    pub tools: usize,
    /// Number of those its roles can run.
    pub usable_tools: usize,
    /// Who the listing is for.
    pub recommended_for: Option<&'a str>,
}

/// A summary of one SKU.
pub fn sku_summary<'a>(catalog: &'a Catalog, sku: &'a Sku) -> SkuSummary<'a> {
    let tools = sku_tools(catalog, sku);
    SkuSummary {
        sku_id: &sku.sku_id,
        plan_id: &sku.plan_id,
        title: &sku.title,
        price: &sku.price,
        price_label: format_price(&sku.price),
        term: sku.term,
        enabled_packs: &sku.enabled_packs,
        iam_roles: &sku.iam_roles,
        tools: tools.len(),
        usable_tools: tools.iter().filter(|t| t.usable).count(),
        recommended_for: sku.recommended_for.as_deref(),
    }
}

/// A summary of every SKU, cheapest first by price per year: the ladder `tai sku list`
/// shows, and `GET /v1/skus` answers.
pub fn sku_summaries(catalog: &Catalog) -> Vec<SkuSummary<'_>> {
    super::plans_by_price(catalog)
        .into_iter()
        .map(|s| sku_summary(catalog, s))
        .collect()
}

/// Everything about one pack: `tai pack show --format json` and `GET /v1/packs/{id}`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PackDetail<'a> {
    /// The pack as defined.
    #[serde(flatten)]
    pub pack: &'a Pack,
    /// The SKUs that enable it.
    pub enabled_by: Vec<&'a SkuId>,
}

/// The detail of `pack`.
pub fn pack_detail<'a>(catalog: &'a Catalog, pack: &'a Pack) -> PackDetail<'a> {
    PackDetail {
        pack,
        enabled_by: enabled_by(catalog, &pack.pack_id),
    }
}

/// Everything about one SKU: `tai sku show --format json` and `GET /v1/skus/{id}`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SkuDetail<'a> {
    /// The SKU as defined.
    #[serde(flatten)]
    pub sku: &'a Sku,
    /// The price, formatted.
    pub price_label: String,
    /// Its tool surface, checked against its roles.
    pub tools: Vec<ToolAccess<'a>>,
    /// Actions of its packs that its roles leave unusable.
    pub unusable_actions: Vec<UnusableAction<'a>>,
}

/// The detail of `sku`.
pub fn sku_detail<'a>(catalog: &'a Catalog, sku: &'a Sku) -> SkuDetail<'a> {
    SkuDetail {
        sku,
        price_label: format_price(&sku.price),
        tools: sku_tools(catalog, sku),
        unusable_actions: unusable_actions(catalog, sku),
    }
}

/// A billing term as written in files, e.g. `annual`.
pub fn term_name(term: Term) -> &'static str {
    match term {
        Term::Monthly => "monthly",
        Term::Quarterly => "quarterly",
        Term::Annual => "annual",
    }
}

/// A storage kind as written in files, e.g. `object_store`.
pub fn storage_name(storage: Storage) -> &'static str {
    match storage {
        Storage::None => "none",
        Storage::Ledger => "ledger",
        Storage::Firestore => "firestore",
        Storage::Sql => "sql",
        Storage::ObjectStore => "object_store",
    }
}

/// A precondition as one line, e.g. `deployment_stable = true → deployment_not_stable`.
pub fn precondition_summary(p: &Precondition) -> String {
    let test = match &p.check {
        Check::Present => "is present".to_owned(),
        Check::Equals(v) => format!("= {v}"),
        Check::NotEquals(v) => format!("≠ {v}"),
        Check::OneOf(vs) => {
            let items: Vec<String> = vs.iter().map(ToString::to_string).collect();
            format!("in [{}]", items.join(", "))
        }
        Check::AtLeast(n) => format!("≥ {n}"),
        Check::AtMost(n) => format!("≤ {n}"),
    };
    let default = p
        .default
        .as_ref()
        .map(|d| format!(" (default {d})"))
        .unwrap_or_default();
    format!("{} {test}{default} → {}", p.key, p.code)
}
