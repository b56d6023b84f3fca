//! `tai serve` and `tai mcp` as clients see them: HTTP against the real binary, MCP through
//! rmcp's client over streamable HTTP and stdio, and the demo page in headless Chromium.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod andon;
mod browser;
mod builtin_tools;
mod call_timeout;
mod gate_record;
mod governor_record;
mod hardening;
mod http;
mod marketplace;
mod mcp;
mod mcp_stdio;
mod proofs;
mod replicas;
mod write_ahead;
