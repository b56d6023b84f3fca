//! The per-tenant governor: a state machine that gates every tool call and signal.

mod state;

pub use state::*;
