//! Read-only views of a catalog for browsing: summaries, a SKU's tool surface with role
//! coverage, SKU-to-SKU diffs, plans side by side, and price formatting.
//!
//! These answer the questions a sales engineer or pack author asks ("what does this plan
//! unlock, and what can it actually run?"). They live in the library, not the CLI, so the
//! HTTP server and any other front door give the same answers.

mod access;
mod arguments;
mod diff;
mod lookup;
mod matrix;
mod price;
mod summary;

pub use access::{
    ToolAccess, UnusableAction, missing_roles, sku_tools, tool_access, unusable_actions,
};
pub use arguments::{ArgumentView, argument_value, tool_arguments};
pub use diff::{Change, SkuDiff, ToolChange, sku_diff};
pub use lookup::{IdKind, UnknownId, find_pack, find_sku};
pub use matrix::{MatrixPlan, MatrixRow, PlanAccess, PlanMatrix, plan_matrix};
pub use price::{PriceChange, format_money, format_price, plans_by_price, price_change};
pub use summary::{
    PackDetail, PackSummary, SkuDetail, SkuSummary, enabled_by, pack_detail, pack_summaries,
    precondition_summary, sku_detail, sku_summaries, sku_summary, storage_name, term_name,
};

#[cfg(test)]
mod tests;
