//! Tool surfaces: the tools a set of packs exposes, and what a set of roles may run.

use serde::Serialize;

use crate::catalog::{Catalog, Sku};
use crate::ids::{ActionId, PackId, Role, ToolName};

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
