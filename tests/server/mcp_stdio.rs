//! The MCP surface over stdio, as a client launching the real `tai mcp` binary sees it: one
//! tenant, its receipts written to the state directory, both protocol versions, logs only
//! on stderr, an unknown SKU refused before anything is written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

use rmcp::model::ProtocolVersion;
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientServiceExt, ServiceExt};
use serde_json::{Value, json};

use crate::common;
use crate::mcp::*;

fn tai(dir: &std::path::Path) -> Command {
    let mut c = common::tai();
    c.current_dir(dir);
    c
}

/// `tai --state st mcp --tenant acme --sku SKU` in `dir`.
fn tai_mcp(dir: &std::path::Path, sku: &str) -> Command {
    let mut c = tai(dir);
    c.args(["--state", "st", "mcp", "--tenant", "acme", "--sku", sku]);
    c
}

fn stdio_transport(dir: &std::path::Path) -> TokioChildProcess {
    let command = tokio::process::Command::from(tai_mcp(dir, "rollback-guard-base"));
    let (transport, _stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    transport
}

/// What `tai mcp --sku` writes before serving: activation and boot.
const BOOTED: [&str; 3] = [
    "entitlement_activated",
    "tool_surface_changed",
    "signal_processed",
];

/// The event types of acme's verified chain, through the CLI.
fn exported_events(dir: &std::path::Path) -> Vec<String> {
    let out = tai(dir)
        .args(["--state", "st", "receipts", "verify", "--tenant", "acme"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = tai(dir)
        .args([
            "--state", "st", "receipts", "export", "--tenant", "acme", "--format", "jsonl",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event_type"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_one_tenant_and_writes_its_receipts() {
    let d = tempfile::tempdir().unwrap();
    let client = Recorder::new()
        .0
        .serve(stdio_transport(d.path()))
        .await
        .unwrap();
    let mut names = names(&client).await;
    names.sort();
    assert_eq!(
        names,
        [
            "ac_audit_trail_export",
            "ac_receipt_lookup",
            "ac_receipt_verify"
        ]
    );
    let ok = executed(&client, "ac_receipt_verify", json!({})).await;
    assert_eq!(ok["valid"], true);
    refused_audit_export(&client).await;
    // Ends the child and waits for it, releasing the tenant's ledger.
    client.cancel().await.unwrap();

    assert_eq!(
        exported_events(d.path()),
        [&BOOTED[..], &["action_executed", "action_refused"]].concat()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_2026_07_28_clients_and_reuses_an_active_entitlement() {
    let d = tempfile::tempdir().unwrap();
    // A first run activates and boots; the second finds the entitlement and serves it.
    for _ in 0..2 {
        let client = Recorder::new()
            .0
            .serve_with_lifecycle(stdio_transport(d.path()), discover())
            .await
            .unwrap();
        assert_eq!(
            client.peer_info().unwrap().protocol_version,
            ProtocolVersion::V_2026_07_28
        );
        executed(&client, "ac_receipt_lookup", json!({ "seq": 0 })).await;
        client.cancel().await.unwrap();
    }
    assert_eq!(
        exported_events(d.path()),
        [&BOOTED[..], &["action_executed", "action_executed"]].concat()
    );
}

/// Whatever is logged goes to stderr: with every library tracing, the protocol on stdout is
/// untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_logs_only_to_stderr() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("stderr.log");
    let mut command = tai_mcp(d.path(), "rollback-guard-base");
    command.env("RUST_LOG", "trace");
    let (transport, _stderr) = TokioChildProcess::builder(tokio::process::Command::from(command))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = Recorder::new().0.serve(transport).await.unwrap();
    let ok = executed(&client, "ac_receipt_verify", json!({})).await;
    assert_eq!(ok["valid"], true);
    client.cancel().await.unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
        "{logged}"
    );
}

#[test]
fn stdio_refuses_an_unknown_sku_before_writing_anything() {
    let d = tempfile::tempdir().unwrap();
    let out = tai_mcp(d.path(), "rollback-guard-bse")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "stdout is for protocol only");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rollback-guard-base"), "did you mean: {err}");
    assert!(!d.path().join("st/ledger/acme.jsonl").exists());
}
