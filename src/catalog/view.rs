//! Read-only views of a catalog for browsing: summaries, a SKU's tool surface with role
//! coverage, SKU-to-SKU diffs, and price formatting.
//!
//! These answer the questions a sales engineer or pack author asks ("what does this plan
//! unlock, and what can it actually run?"). They live in the library, not the CLI, so the
//! HTTP server and any other front door give the same answers.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::{Catalog, Check, Pack, Precondition, Price, Sku, Storage, Term};
use crate::diagnostics::closest;
use crate::ids::{ActionId, PackId, PlanId, Role, SkuId, ToolName};

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A pack id.
    Pack,
    /// A SKU id.
    Sku,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Pack => "pack",
            IdKind::Sku => "SKU",
        })
    }
}

/// An id that names nothing in the catalog, with the nearest known id as a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownId {
    /// What kind of id it is.
    pub kind: IdKind,
    /// The id as given.
    pub id: String,
    /// The closest known id, when one is close enough to be a likely typo.
    pub suggestion: Option<String>,
    /// Every known id of this kind, sorted.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.id)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

fn unknown<'a>(kind: IdKind, id: &str, known: impl Iterator<Item = &'a str> + Clone) -> UnknownId {
    UnknownId {
        kind,
        id: id.to_owned(),
        suggestion: closest(id, known.clone()).map(str::to_owned),
        known: known.map(str::to_owned).collect(),
    }
}

/// The pack with this id, or an error naming the closest one.
pub fn find_pack<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Pack, UnknownId> {
    catalog.pack(id).ok_or_else(|| {
        let known = catalog.packs().iter().map(|p| p.pack_id.as_str());
        unknown(IdKind::Pack, id, known)
    })
}

/// The SKU with this id, or an error naming the closest one.
pub fn find_sku<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Sku, UnknownId> {
    catalog.sku(id).ok_or_else(|| {
        let known = catalog.skus().iter().map(|s| s.sku_id.as_str());
        unknown(IdKind::Sku, id, known)
    })
}

// ---------------------------------------------------------------------------------------
// Prices

/// The symbol written before an amount, or the code and a space when there is none.
fn currency_prefix(currency: &str) -> String {
    match currency {
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        "JPY" => "¥".to_owned(),
        other => format!("{other} "),
    }
}

/// An amount in minor units as text with thousands separators, e.g. `$2,999.00` or
/// `-$10.50`.
pub fn format_money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!(
        "{sign}{}{grouped}.{:02}",
        currency_prefix(currency),
        abs % 100
    )
}

/// A price as shown in tables, e.g. `$2,999.00/mo`.
pub fn format_price(price: &Price) -> String {
    format!(
        "{}/{}",
        format_money(price.cents(), &price.currency),
        price.period.short()
    )
}

fn months(term: Term) -> i64 {
    match term {
        Term::Monthly => 1,
        Term::Quarterly => 3,
        Term::Annual => 12,
    }
}

/// What moving from one price to another costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceChange {
    /// The old price.
    pub from: Price,
    /// The new price.
    pub to: Price,
    /// `from`, formatted.
    pub from_label: String,
    /// `to`, formatted.
    pub to_label: String,
    /// The difference in minor units per `period`; `None` across currencies.
    pub delta_cents: Option<i64>,
    /// The difference, formatted with its sign, e.g. `+$270.00/mo`.
    pub delta_label: Option<String>,
    /// The difference relative to the old price, in per cent; `None` from a free plan.
    pub percent: Option<f64>,
    /// The period the difference is expressed in; monthly when the two periods differ.
    pub period: Term,
}

/// Compares two prices. Prices billed over different periods are compared per month.
pub fn price_change(from: &Price, to: &Price) -> PriceChange {
    let (a, b, period) = if from.period == to.period {
        (from.cents(), to.cents(), from.period)
    } else {
        (
            from.cents() / months(from.period),
            to.cents() / months(to.period),
            Term::Monthly,
        )
    };
    let same_currency = from.currency == to.currency;
    let delta = same_currency.then_some(b - a);
    #[allow(clippy::cast_precision_loss)] // prices are far below 2^52 cents
    let percent = delta.filter(|_| a != 0).map(|d| {
        let p = d as f64 * 100.0 / a as f64;
        (p * 10.0).round() / 10.0
    });
    PriceChange {
        from_label: format_price(from),
        to_label: format_price(to),
        delta_label: delta.map(|d| {
            let sign = if d >= 0 { "+" } else { "" };
            format!("{sign}{}/{}", format_money(d, &to.currency), period.short())
        }),
        delta_cents: delta,
        percent,
        period,
        from: from.clone(),
        to: to.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Tool surface

/// One tool a set of packs exposes, and whether a set of roles may run its action.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ToolAccess<'a> {
    /// The tool's name.
    pub name: &'a ToolName,
    /// The pack that provides it.
    pub pack: &'a PackId,
    /// The tool's description.
    pub description: &'a str,
    /// JSON Schema of the tool's arguments.
    pub input_schema: &'a serde_json::Value,
    /// The action it performs.
    pub action: &'a ActionId,
    /// The roles the action requires.
    pub required_roles: Vec<&'a Role>,
    /// Refusal codes of the action's preconditions, in evaluation order.
    pub preconditions: Vec<&'a str>,
    /// Whether the granted roles cover the action's roles.
    pub usable: bool,
    /// The required roles that are not granted.
    pub missing_roles: Vec<&'a Role>,
}

/// The `required` roles that `granted` lacks, in declaration order.
pub fn missing_roles<'a>(required: &'a [Role], granted: &[Role]) -> Vec<&'a Role> {
    required.iter().filter(|r| !granted.contains(r)).collect()
}

/// The tools of `packs` (in the order given; unknown ids are skipped) and whether `roles`
/// allow each one's action. An action the pack does not declare is never usable.
pub fn tool_access<'a>(
    catalog: &'a Catalog,
    packs: &[PackId],
    roles: &[Role],
) -> Vec<ToolAccess<'a>> {
    let mut out = Vec::new();
    for pack in packs.iter().filter_map(|id| catalog.pack(id.as_str())) {
        for tool in &pack.tools {
            let action = pack.action(&tool.action);
            let required: &[Role] = action.map(|a| a.roles.as_slice()).unwrap_or_default();
            let missing = missing_roles(required, roles);
            out.push(ToolAccess {
                name: &tool.name,
                pack: &pack.pack_id,
                description: &tool.description,
                input_schema: &tool.input_schema,
                action: &tool.action,
                preconditions: action
                    .map(|a| a.preconditions.iter().map(|p| p.code.as_str()).collect())
                    .unwrap_or_default(),
                usable: action.is_some() && missing.is_empty(),
                required_roles: required.iter().collect(),
                missing_roles: missing,
            });
        }
    }
    out
}

/// The tool surface of a SKU: every tool of its enabled packs, checked against its roles.
pub fn sku_tools<'a>(catalog: &'a Catalog, sku: &Sku) -> Vec<ToolAccess<'a>> {
    tool_access(catalog, &sku.enabled_packs, &sku.iam_roles)
}

/// An action of an enabled pack that a SKU's roles cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct UnusableAction<'a> {
    /// The pack declaring the action.
    pub pack: &'a PackId,
    /// The action.
    pub action: &'a ActionId,
    /// The roles the SKU does not grant.
    pub missing_roles: Vec<&'a Role>,
}

/// Actions of a SKU's enabled packs that its roles leave unusable.
pub fn unusable_actions<'a>(catalog: &'a Catalog, sku: &Sku) -> Vec<UnusableAction<'a>> {
    let mut out = Vec::new();
    for pack in sku
        .enabled_packs
        .iter()
        .filter_map(|id| catalog.pack(id.as_str()))
    {
        for action in &pack.actions {
            let missing = missing_roles(&action.roles, &sku.iam_roles);
            if !missing.is_empty() {
                out.push(UnusableAction {
                    pack: &pack.pack_id,
                    action: &action.id,
                    missing_roles: missing,
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Summaries

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

/// A summary of every SKU, sorted by id.
pub fn sku_summaries(catalog: &Catalog) -> Vec<SkuSummary<'_>> {
    catalog
        .skus()
        .iter()
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

// ---------------------------------------------------------------------------------------
// Diffs

/// What one side has that the other lacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change<T> {
    /// Present in the new plan only.
    pub added: Vec<T>,
    /// Present in the old plan only.
    pub removed: Vec<T>,
}

impl<T> Change<T> {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

fn set_change<'a>(
    from: impl Iterator<Item = &'a str>,
    to: impl Iterator<Item = &'a str>,
) -> Change<&'a str> {
    let a: BTreeSet<&str> = from.collect();
    let b: BTreeSet<&str> = to.collect();
    Change {
        added: b.difference(&a).copied().collect(),
        removed: a.difference(&b).copied().collect(),
    }
}

/// A tool that appears, disappears or changes usability between two plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolChange<'a> {
    /// The tool.
    pub name: &'a ToolName,
    /// Its pack.
    pub pack: &'a PackId,
    /// Whether the plan it is in (the new plan for added tools, the old one for removed
    /// tools) can run it.
    pub usable: bool,
    /// The roles that plan lacks for it.
    pub missing_roles: Vec<&'a Role>,
}

impl<'a> From<&ToolAccess<'a>> for ToolChange<'a> {
    fn from(t: &ToolAccess<'a>) -> Self {
        ToolChange {
            name: t.name,
            pack: t.pack,
            usable: t.usable,
            missing_roles: t.missing_roles.clone(),
        }
    }
}

/// What moving a tenant from one SKU to another adds and removes: the upsell story.
#[derive(Debug, Clone, Serialize)]
pub struct SkuDiff<'a> {
    /// The plan moved from.
    pub from: &'a SkuId,
    /// The plan moved to.
    pub to: &'a SkuId,
    /// Packs enabled and disabled.
    pub packs: Change<&'a str>,
    /// Tools that appear and disappear.
    pub tools: Change<ToolChange<'a>>,
    /// Tools in both plans that the new roles make usable (`added`) or unusable
    /// (`removed`).
    pub usability: Change<ToolChange<'a>>,
    /// Roles granted and withdrawn.
    pub roles: Change<&'a str>,
    /// The price difference.
    pub price: PriceChange,
}

impl SkuDiff<'_> {
    /// Whether the two plans offer the same packs, tools, roles and price.
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
            && self.tools.is_empty()
            && self.usability.is_empty()
            && self.roles.is_empty()
            && self.price.delta_cents == Some(0)
    }
}

/// Compares two SKUs from the point of view of a tenant moving from `from` to `to`.
pub fn sku_diff<'a>(catalog: &'a Catalog, from: &'a Sku, to: &'a Sku) -> SkuDiff<'a> {
    let a = sku_tools(catalog, from);
    let b = sku_tools(catalog, to);
    let find = |list: &[ToolAccess<'a>], name: &ToolName| -> Option<usize> {
        list.iter().position(|t| t.name == name)
    };
    let mut tools = Change {
        added: Vec::new(),
        removed: Vec::new(),
    };
    let mut usability = Change {
        added: Vec::new(),
        removed: Vec::new(),
    };
    for t in &b {
        match find(&a, t.name) {
            None => tools.added.push(ToolChange::from(t)),
            Some(i) if !a[i].usable && t.usable => usability.added.push(ToolChange::from(t)),
            Some(i) if a[i].usable && !t.usable => usability.removed.push(ToolChange::from(t)),
            Some(_) => {}
        }
    }
    for t in &a {
        if find(&b, t.name).is_none() {
            tools.removed.push(ToolChange::from(t));
        }
    }
    SkuDiff {
        from: &from.sku_id,
        to: &to.sku_id,
        packs: set_change(
            from.enabled_packs.iter().map(PackId::as_str),
            to.enabled_packs.iter().map(PackId::as_str),
        ),
        tools,
        usability,
        roles: set_change(
            from.iam_roles.iter().map(Role::as_str),
            to.iam_roles.iter().map(Role::as_str),
        ),
        price: price_change(&from.price, &to.price),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{builtin, load};

    fn shipped() -> Catalog {
        load::build(&builtin::sources()).unwrap()
    }

    #[test]
    fn money_is_grouped_and_signed() {
        assert_eq!(format_money(299_900, "USD"), "$2,999.00");
        assert_eq!(format_money(2_900, "USD"), "$29.00");
        assert_eq!(format_money(-1_050, "EUR"), "-€10.50");
        assert_eq!(format_money(123_456_789, "CHF"), "CHF 1,234,567.89");
        assert_eq!(format_money(0, "USD"), "$0.00");
    }

    #[test]
    fn unknown_ids_suggest_the_nearest() {
        let c = shipped();
        let err = find_sku(&c, "rollback-guard-pro").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown SKU `rollback-guard-pro`; did you mean `rollback-guard-professional`?"
        );
        assert_eq!(err.known.len(), 4);
        let err = find_pack(&c, "nothing_like_it").unwrap_err();
        assert_eq!(err.to_string(), "unknown pack `nothing_like_it`");
    }

    #[test]
    fn professional_cannot_throttle() {
        let c = shipped();
        let sku = c.sku("rollback-guard-professional").unwrap();
        let tools = sku_tools(&c, sku);
        let throttle = tools
            .iter()
            .find(|t| t.name.as_str() == "ac_throttle_config")
            .unwrap();
        assert!(!throttle.usable);
        let missing: Vec<&str> = throttle.missing_roles.iter().map(|r| r.as_str()).collect();
        assert_eq!(missing, ["write_config"]);
        let unusable = unusable_actions(&c, sku);
        let ids: Vec<&str> = unusable.iter().map(|u| u.action.as_str()).collect();
        assert_eq!(ids, ["activate_throttle", "adjust_throttle"]);
    }

    #[test]
    fn base_to_professional_is_the_upsell_story() {
        let c = shipped();
        let base = c.sku("rollback-guard-base").unwrap();
        let pro = c.sku("rollback-guard-professional").unwrap();
        let d = sku_diff(&c, base, pro);
        assert_eq!(d.packs.added, ["rollback_guard", "storm_discipline"]);
        assert!(d.packs.removed.is_empty());
        assert_eq!(d.roles.added, ["read_audit_trail", "write_rollback"]);
        assert_eq!(d.price.delta_cents, Some(27_000));
        assert_eq!(d.price.delta_label.as_deref(), Some("+$270.00/mo"));
        assert_eq!(d.price.percent, Some(931.0));
        let added: Vec<&str> = d.tools.added.iter().map(|t| t.name.as_str()).collect();
        assert!(added.contains(&"ac_rollback_orchestrator"));
        assert!(added.contains(&"ac_storm_detector"));
        let unlocked: Vec<&str> = d.usability.added.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(unlocked, ["ac_audit_trail_export"]);

        let back = sku_diff(&c, pro, base);
        assert_eq!(back.packs.removed, ["rollback_guard", "storm_discipline"]);
        assert_eq!(back.price.delta_label.as_deref(), Some("-$270.00/mo"));
        assert!(sku_diff(&c, pro, pro).is_empty());
    }

    #[test]
    fn prices_over_different_periods_compare_per_month() {
        let monthly = Price {
            amount: 299.0,
            currency: "USD".into(),
            period: Term::Monthly,
        };
        let annual = Price {
            amount: 2400.0,
            currency: "USD".into(),
            period: Term::Annual,
        };
        let change = price_change(&monthly, &annual);
        assert_eq!(change.period, Term::Monthly);
        assert_eq!(change.delta_cents, Some(20_000 - 29_900));
        let euro = Price {
            currency: "EUR".into(),
            ..monthly.clone()
        };
        assert_eq!(price_change(&monthly, &euro).delta_cents, None);
    }

    #[test]
    fn preconditions_read_as_one_line() {
        let c = shipped();
        let pack = c.pack("iam_drift_guard").unwrap();
        let action = pack
            .actions
            .iter()
            .find(|a| a.id.as_str() == "remediate_drift")
            .unwrap();
        let lines: Vec<String> = action
            .preconditions
            .iter()
            .map(precondition_summary)
            .collect();
        assert_eq!(lines[0], "drift_detected = true → drift_not_detected");
        assert_eq!(
            lines[2],
            "iam_service_reachable = true (default true) → iam_service_unreachable"
        );
    }
}
