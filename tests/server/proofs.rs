//! Inclusion proofs from a signing `tai serve`: an MCP tool result carries the proof of the
//! receipt that decided the call when its `_meta` asks for it, the same proof HTTP serves,
//! and `tai receipts verify-proof` checks it with the public key alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::ADMIN;
use crate::common::{self, ACME, Run};
use crate::http::{OpenApi, Server, call_tool, client, get, onboard, state_dir};

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
    let (key, public) = common::new_keys(d.path(), "signer");
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
    common::verify_proof(&file, &public)
        .ok()
        .has(&format!("receipt seq {seq}"));

    // A retry is answered from the same receipt, and proves it.
    let retried = client.call_tool(params.clone()).await.unwrap();
    let retried_meta = retried.meta.unwrap().0;
    assert_eq!(&retried_meta["tai/proof"], proof);
    // It wrote nothing, and says which receipt answered it.
    assert_eq!(retried_meta["tai/receipts"], json!([]), "{retried_meta:?}");
    assert_eq!(retried_meta["tai/repeat_of"], seq, "{retried_meta:?}");
    // The key given to another request: an error result, nothing run.
    let mut other = params;
    other.arguments = json!({ "seq": 0 }).as_object().cloned();
    let reused = client.call_tool(other).await.unwrap();
    assert_eq!(reused.is_error, Some(true), "{reused:?}");
    let summary = reused.structured_content.unwrap();
    assert_eq!(summary["reason"], "idempotency_key_reused", "{summary}");

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

/// Calls to many tenants at once are flushed, and signed, in shared rounds: a checkpoint
/// served over HTTP then carries its place in the round, and still verifies on its own with
/// the public key, both as a kept checkpoint (`verify --checkpoint`) and inside a proof.
#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_signed_in_one_round_verify_one_by_one() {
    let (d, state) = state_dir();
    let (key, public) = common::new_keys(d.path(), "signer");
    let s = Server::start(&state, &["--signing-key", key.to_str().unwrap()]);
    let tenants: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    for t in &tenants {
        onboard(&s, t, ADMIN, "rollback-guard-base").await;
    }

    // Bursts of one call per tenant until a round signed more than one of them.
    let mut found = None;
    for _ in 0..50 {
        let burst = tenants.iter().map(|t| {
            let (url, t) = (s.url(&format!("/v1/tenants/{t}/calls")), t.clone());
            async move {
                let body = json!({ "tool": "ac_receipt_verify", "arguments": {}, "context": {} });
                let r = crate::http::send(client().post(url).bearer_auth(ADMIN).json(&body)).await;
                assert_eq!(r.status, 200, "{t}: {}", r.body);
            }
        });
        futures::future::join_all(burst).await;
        for t in &tenants {
            let c = get(&s, Some(ADMIN), &format!("/v1/tenants/{t}/checkpoint")).await;
            if c.body["round"]["size"].as_u64().is_some_and(|n| n > 1) {
                found = Some((t.clone(), c.body));
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    let (tenant, checkpoint) = found.expect("no round signed two tenants in 50 bursts");
    let seq = checkpoint["seq"].as_u64().unwrap();
    let served = get(&s, Some(ADMIN), &format!("/v1/tenants/{tenant}/checkpoint")).await;
    // The verify route reads the record as `tai receipts verify` does: the checkpoints the
    // server holds in its log are counted and compared with the chain.
    let verified = get(&s, Some(ADMIN), &format!("/v1/tenants/{tenant}/verify")).await;
    assert_eq!(verified.body["ok"], true, "{}", verified.body);
    assert!(
        verified.body["checkpoints"].as_u64().unwrap() > 0,
        "{}",
        verified.body
    );
    assert_eq!(
        verified.body["latest_checkpoint"]["seq"], served.body["seq"],
        "{}",
        verified.body
    );
    let proof = get(
        &s,
        Some(ADMIN),
        &format!("/v1/tenants/{tenant}/receipts/{seq}/proof"),
    )
    .await;
    // Both as the OpenAPI document describes them, round and all.
    let api = OpenApi::fetch(&s).await;
    api.check("get", "/v1/tenants/{tenant}/checkpoint", &served);
    api.check("get", "/v1/tenants/{tenant}/receipts/{seq}/proof", &proof);
    assert!(
        proof.body["checkpoint"]["round"].is_object(),
        "{}",
        proof.body
    );
    let proof_file = d.path().join("proof.json");
    std::fs::write(&proof_file, proof.body.to_string()).unwrap();
    let kept = d.path().join("kept.json");
    std::fs::write(&kept, checkpoint.to_string()).unwrap();
    // The chain grows past the kept checkpoint.
    call_tool(&s, ADMIN, &tenant, "ac_receipt_verify").await;
    s.stop().await;

    common::verify_proof(&proof_file, &public)
        .ok()
        .has(&format!("receipt seq {seq}"));
    // Against the kept checkpoint: the chain only grew since.
    let verify_kept = || -> Run {
        common::tai()
            .arg("--state")
            .arg(&state)
            .args(["receipts", "verify", "--tenant", &tenant, "--public-key"])
            .arg(&public)
            .arg("--checkpoint")
            .arg(&kept)
            .output()
            .unwrap()
            .into()
    };
    verify_kept().ok();
    // A kept checkpoint whose leaf was moved in its round is refused.
    let mut forged = checkpoint.clone();
    forged["round"]["index"] = json!(
        (checkpoint["round"]["index"].as_u64().unwrap() + 1)
            % checkpoint["round"]["size"].as_u64().unwrap()
    );
    std::fs::write(&kept, forged.to_string()).unwrap();
    verify_kept().exits(1).has("bad signature");
}

/// A signing server killed mid-run leaves its latest heads in the write-ahead log, not yet
/// in the tenant's head file: `tai receipts verify --public-key` reads them there (and the
/// checkpoints the log made durable with them), and the next server files them before it
/// serves.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_signing_server_leaves_its_heads_where_verify_finds_them() {
    let (d, state) = state_dir();
    let (key, public) = common::new_keys(d.path(), "signer");
    let key_arg = ["--signing-key", key.to_str().unwrap()];
    let mut s = Server::start(&state, &key_arg);
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    call_tool(&s, ADMIN, "acme", "ac_receipt_verify").await;
    s.signal(rustix::process::Signal::KILL);
    while s.exit_status().is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(s);
    let ledger = state.join("ledger");
    let head_file = || -> u64 {
        let head: Value =
            serde_json::from_slice(&std::fs::read(ledger.join("acme.head")).unwrap()).unwrap();
        head["next_seq"].as_u64().unwrap()
    };
    let verify = || -> Run {
        common::tai()
            .arg("--state")
            .arg(&state)
            .args(["receipts", "verify", "--tenant", "acme", "--public-key"])
            .arg(&public)
            .output()
            .unwrap()
            .into()
    };
    let acknowledged = |run: &Run| -> u64 {
        let text = run.stdout.split("acme: ok, ").nth(1).unwrap_or_default();
        text.split(' ')
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or(0)
    };
    let before = verify().ok();
    let stale = head_file();
    assert!(
        acknowledged(&before) > stale,
        "the head file ({stale}) lags the log: {}",
        before.stdout
    );

    let s = Server::start(&state, &key_arg);
    assert_eq!(head_file(), acknowledged(&before), "filed at start");
    call_tool(&s, ADMIN, "acme", "ac_receipt_verify").await;
    s.stop().await;
    let after = verify().ok();
    assert!(
        acknowledged(&after) > acknowledged(&before),
        "{}",
        after.stdout
    );
}

/// `GET /v1/manifest` serves the manifest `tai receipts manifest` prints (admin only, 404
/// before any tenant): a witness keeping it turns a deleted tenant into a failed verification.
#[tokio::test(flavor = "multi_thread")]
async fn the_manifest_served_over_http_is_the_one_a_witness_keeps() {
    let (d, state) = state_dir();
    let (key, public) = common::new_keys(d.path(), "signer");
    let s = Server::start(&state, &["--signing-key", key.to_str().unwrap()]);
    let none = get(&s, Some(ADMIN), "/v1/manifest").await;
    assert_eq!(
        crate::http::error_code(&none, reqwest::StatusCode::NOT_FOUND),
        "no_manifest"
    );
    onboard(&s, "acme", ACME, "rollback-guard-base").await;
    onboard(&s, "globex", common::GLOBEX, "rollback-guard-base").await;
    let tenant = get(&s, Some(ACME), "/v1/manifest").await;
    assert_eq!(
        crate::http::error_code(&tenant, reqwest::StatusCode::FORBIDDEN),
        "admin_only"
    );
    let served = get(&s, Some(ADMIN), "/v1/manifest").await;
    assert_eq!(
        served.body["tenants"],
        json!(["acme", "globex"]),
        "{}",
        served.body
    );
    assert!(served.body["signature"].is_string(), "{}", served.body);
    drop(s);

    let printed = common::tai_state(&state, &["receipts", "manifest"]).ok();
    assert_eq!(printed.json(), served.body);
    let kept = d.path().join("kept.json");
    std::fs::write(&kept, served.body.to_string()).unwrap();
    let verify = |state: &std::path::Path| {
        common::tai_state(
            state,
            &[
                "receipts",
                "verify",
                "--all",
                "--public-key",
                public.to_str().unwrap(),
                "--manifest",
                kept.to_str().unwrap(),
            ],
        )
    };
    verify(&state).ok();
    for entry in std::fs::read_dir(state.join("ledger")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("globex.")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    verify(&state).exits(1).has("globex: BROKEN");
}
