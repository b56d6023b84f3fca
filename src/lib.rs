//! tai: entitlement-gated capability packs, simulated.
//!
//! The library is the engine; the `tai` binary and `tai serve` are thin front doors onto it.
//! Data flows catalog → entitlement → registry → governor → exec → receipts. Modules are
//! layered, each using only its own layer and the ones below (`ARCHITECTURE.md`); the
//! shared words (`vocab`, `ids`, `clock`) are at the bottom.

pub mod catalog;
pub mod cli;
pub mod clock;
pub mod diagnostics;
pub mod engine;
pub mod entitlement;
pub mod exec;
pub mod governor;
pub mod ids;
pub mod receipts;
pub mod registry;
pub mod scenario;
pub mod server;
pub mod source;
pub mod vocab;
pub mod workspace;

#[cfg(test)]
mod architecture_tests;
