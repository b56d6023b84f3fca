//! tai: entitlement-gated capability packs, simulated.
//!
//! The library is the engine; the `tai` binary and `tai serve` are thin front doors onto it.
//! Data flows catalog → entitlement → registry → governor → exec → receipts. Modules are
//! layered, each using only its own layer and the ones below (`ARCHITECTURE.md`); the
//! shared words (`vocab`, `ids`, `clock`, `sync`) are at the bottom.
//!
//! Without its default features the library is the engine alone; `server` adds the HTTP and
//! MCP adapters (axum, rmcp, tokio) and `cli` the command line (clap), which needs `server`.

pub mod catalog;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod diagnostics;
pub mod engine;
pub mod entitlement;
pub mod exec;
pub mod explain;
pub mod governor;
pub mod iam;
pub mod ids;
pub mod intake;
pub mod marketplace;
pub mod receipts;
pub mod registry;
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
pub mod spans;
pub mod sync;
pub mod vocab;
pub mod workspace;

#[cfg(test)]
mod architecture_tests;
