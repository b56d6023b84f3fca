//! The engine's decisions shown to people: a refusal in words ([`explain`]: the gate, the
//! reason, what would make it pass, the plans that would) and the governor's state machine as
//! a picture ([`diagram`]).
//!
//! Both read only receipts and the catalog, so `tai serve`'s page, the command line and a
//! report give the same answer for the same receipt.

pub mod diagram;
mod refusal;

pub use diagram::governor_svg;
pub use refusal::{Explanation, PlanOption, explain, gate_label};
