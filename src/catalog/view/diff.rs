//! SKU-to-SKU diffs: what a tenant moving from one plan to another gains and loses.

use std::collections::BTreeSet;

use serde::Serialize;

use super::access::{ToolAccess, sku_tools};
use super::price::{PriceChange, price_change};
use crate::catalog::{Catalog, Sku};
use crate::ids::{PackId, Role, SkuId, ToolName};

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
