//! Inclusion proofs from a signing `tai serve`: an MCP tool result carries the proof of the
//! receipt that decided the call when its `_meta` asks for it, the same proof HTTP serves,
//! and `tai receipts verify-proof` checks it with the public key alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::{self, ACME, Run};
use crate::http::{Server, get, onboard, state_dir};

/// An MCP client of `s` as acme.
async fn connect(s: &Server) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")).auth_header(ACME),
    );
    ().serve(transport).await.unwrap()
}

/// A call of `ac_receipt_verify` asking for its receipt's proof.
fn proof_call() -> CallToolRequestParams {
    let mut meta = RequestMetaObject::default();
    meta.insert("tai/proof".into(), json!(true));
    let mut params = CallToolRequestParams::new("ac_receipt_verify");
    params.meta = Some(meta);
    params
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_result_carries_the_inclusion_proof_of_its_receipt() {
    let (d, state) = state_dir();
    let prefix = d.path().join("signer");
    let made: Run = common::tai()
        .args(["keys", "new", "--out"])
        .arg(&prefix)
        .output()
        .unwrap()
        .into();
    made.ok();
    let (key, public) = (prefix.with_extension("key"), prefix.with_extension("pub"));
    let s = Server::start(&state, &["--signing-key", key.to_str().unwrap()]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;

    let client = connect(&s).await;
    let mut params = proof_call();
    if let Some(meta) = params.meta.as_mut() {
        meta.insert("tai/idempotency_key".into(), json!("k-1"));
    }
    let first = client.call_tool(params.clone()).await.unwrap();
    let first_meta = first.meta.clone().unwrap().0;
    let cited = first_meta["tai/receipts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    let proof = &first_meta["tai/proof"];
    assert_eq!(proof["receipt"]["seq"], cited["seq"], "{proof}");
    assert_eq!(proof["receipt"]["hash"], cited["hash"], "{proof}");

    // The same proof HTTP serves; checked offline with the public key.
    let seq = cited["seq"].as_u64().unwrap();
    let served = get(
        &s,
        Some(ACME),
        &format!("/v1/tenants/acme/receipts/{seq}/proof"),
    )
    .await;
    assert_eq!(&served.body, proof);
    let file = d.path().join("proof.json");
    std::fs::write(&file, proof.to_string()).unwrap();
    let checked: Run = common::tai()
        .args(["receipts", "verify-proof"])
        .arg(&file)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap()
        .into();
    checked.ok().has(&format!("receipt seq {seq}"));

    // A retry is answered from the same receipt, and proves it.
    let retried = client.call_tool(params).await.unwrap();
    let retried_meta = retried.meta.unwrap().0;
    assert_eq!(&retried_meta["tai/proof"], proof);

    // Without the request, no proof.
    let plain = client
        .call_tool(CallToolRequestParams::new("ac_receipt_verify"))
        .await
        .unwrap();
    assert_eq!(plain.meta.unwrap().0.get("tai/proof"), None::<&Value>);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_signing_key_the_result_says_why_there_is_no_proof() {
    let (_d, state) = state_dir();
    let s = Server::start(&state, &[]);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    let client = connect(&s).await;
    let r = client.call_tool(proof_call()).await.unwrap();
    assert_eq!(r.is_error, Some(false));
    let meta = r.meta.unwrap().0;
    assert!(meta.get("tai/proof").is_none());
    let why = meta["tai/proof_error"].as_str().unwrap();
    assert!(why.contains("no signed checkpoint"), "{why}");
    client.cancel().await.unwrap();
}
