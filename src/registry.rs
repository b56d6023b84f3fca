//! The tool registry: which tools a tenant can see, and how that set changes.
//!
//! Visibility is derived, never stored separately from the entitlement: a tool is visible
//! exactly when its pack is among the entitlement's visible packs.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::entitlement::Entitlement;
use crate::ids::ToolName;

/// The tools visible under `entitlement` (none without one).
pub fn visible_tools(catalog: &Catalog, entitlement: Option<&Entitlement>) -> BTreeSet<ToolName> {
    entitlement
        .into_iter()
        .flat_map(Entitlement::visible_packs)
        .filter_map(|id| catalog.pack(id.as_str()))
        .flat_map(|pack| pack.tools.iter().map(|t| t.name.clone()))
        .collect()
}

/// How a tool surface changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SurfaceDiff {
    /// Tools that became visible.
    pub added: Vec<ToolName>,
    /// Tools that disappeared.
    pub removed: Vec<ToolName>,
}

impl SurfaceDiff {
    /// The difference from `old` to `new`, each list sorted.
    pub fn between(old: &BTreeSet<ToolName>, new: &BTreeSet<ToolName>) -> Self {
        SurfaceDiff {
            added: new.difference(old).cloned().collect(),
            removed: old.difference(new).cloned().collect(),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}
