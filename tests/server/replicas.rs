//! Two real `tai serve` replicas on one PostgreSQL ledger: calls to one tenant through both
//! at once make one linear chain, killing one under load loses no acknowledged receipt, and
//! a receipt stream on one replica sees what the other wrote, and two replicas signing with
//! one key both leave checkpoints of one chain that verifies.
//!
//! These run against the server `TAI_TEST_POSTGRES` names (`.ci/run` starts one); without it
//! they say why and pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, ACME, ADMIN, DEADLINE, GLOBEX};
use crate::http::{Server, all_receipts, assert_gap_free, client, get, onboard, verify_ok};

/// `tai serve` on `state` (its own receipt-id seed and server lock) over the ledger at `url`.
fn replica(state: &Path, url: &str) -> Server {
    let mut cmd = Server::command(state);
    cmd.env("TAI_LEDGER", url)
        .args(["--admin-token", ADMIN])
        .args(["--tenant-token", &format!("acme={ACME}")])
        .args(["--tenant-token", &format!("globex={GLOBEX}")]);
    Server::launch(cmd)
}

/// A replica signing checkpoints with `key`.
fn signing_replica(state: &Path, url: &str, key: &Path) -> Server {
    let mut cmd = Server::command(state);
    cmd.env("TAI_LEDGER", url)
        .env("TAI_SIGNING_KEY", key)
        .args(["--admin-token", ADMIN])
        .args(["--tenant-token", &format!("acme={ACME}")])
        .args(["--tenant-token", &format!("globex={GLOBEX}")]);
    Server::launch(cmd)
}

/// Two replicas over a fresh database, each with its own state directory.
fn two_replicas(name: &str) -> Option<(tempfile::TempDir, Server, Server)> {
    let url = common::test_database(name)?;
    let dir = tempfile::tempdir().unwrap();
    let a = replica(&dir.path().join("a"), &url);
    let b = replica(&dir.path().join("b"), &url);
    Some((dir, a, b))
}

/// A call as the tenant; `None` when the server did not answer (it was killed).
async fn try_call(base: &str, token: &str, tenant: &str) -> Option<Value> {
    let body = json!({ "tool": "ac_receipt_verify", "arguments": {}, "context": {} });
    let resp = client()
        .post(format!("{base}/v1/tenants/{tenant}/calls"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = resp.status();
    let body: Value = resp.json().await.ok()?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Some(body)
}

/// Every acknowledged receipt, by seq: (hash, the replica that answered).
fn acknowledged(answers: &[(usize, Value)]) -> BTreeMap<u64, (String, usize)> {
    let mut seen = BTreeMap::new();
    for (replica, body) in answers {
        for r in body["receipts"].as_array().unwrap() {
            let seq = r["seq"].as_u64().unwrap();
            let hash = r["hash"].as_str().unwrap().to_owned();
            let before = seen.insert(seq, (hash, *replica));
            assert!(before.is_none(), "seq {seq} acknowledged twice: {before:?}");
        }
    }
    seen
}

/// Asserts every acknowledged receipt is in the chain at its seq.
fn assert_all_present(chain: &[Value], acked: &BTreeMap<u64, (String, usize)>) {
    for (seq, (hash, replica)) in acked {
        let stored = &chain[usize::try_from(*seq).unwrap()];
        assert_eq!(
            stored["hash"].as_str().unwrap(),
            hash,
            "seq {seq}, acknowledged by replica {replica}, is not in the chain"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_through_two_replicas_make_one_linear_chain() {
    let Some((_dir, a, b)) = two_replicas("linear") else {
        return;
    };
    onboard(&a, "acme", ACME, "rollback-guard-professional").await;
    let onboarded = all_receipts(&a, ACME, "acme").await.len();

    let calls = 40;
    let mut tasks = Vec::new();
    for i in 0..calls {
        let (n, base) = if i % 2 == 0 {
            (0, a.base.clone())
        } else {
            (1, b.base.clone())
        };
        tasks.push(tokio::spawn(async move {
            (
                n,
                try_call(&base, ACME, "acme")
                    .await
                    .expect("the replica answers"),
            )
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let acked = acknowledged(&answers);
    assert!(answers.iter().any(|(n, _)| *n == 1));

    for s in [&a, &b] {
        let chain = all_receipts(s, ACME, "acme").await;
        assert_gap_free(&chain);
        assert_eq!(
            chain.len(),
            onboarded + acked.len(),
            "every receipt acknowledged once"
        );
        assert_all_present(&chain, &acked);
        let report = verify_ok(s, "acme").await;
        assert_eq!(
            report["receipts"],
            (onboarded + acked.len()) as u64,
            "{report}"
        );
    }
    // Every call's receipts, from both replicas, sit in one chain, one per seq.
    assert_eq!(
        acked.len() % calls,
        0,
        "each call wrote the same number of receipts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_one_replica_under_load_loses_no_acknowledged_receipt() {
    let Some((_dir, a, mut b)) = two_replicas("kill") else {
        return;
    };
    onboard(&a, "acme", ACME, "rollback-guard-professional").await;
    onboard(&b, "globex", GLOBEX, "rollback-guard-professional").await;

    let mut tasks = Vec::new();
    for i in 0..80 {
        let (n, base) = if i % 2 == 0 {
            (0, a.base.clone())
        } else {
            (1, b.base.clone())
        };
        let (token, tenant) = if i % 4 < 2 {
            (ACME, "acme")
        } else {
            (GLOBEX, "globex")
        };
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for _ in 0..5 {
                match try_call(&base, token, tenant).await {
                    Some(body) => answered.push((tenant, n, body)),
                    None => break,
                }
            }
            answered
        }));
    }
    // Under load: once some calls went through B, kill it without warning.
    let end = std::time::Instant::now() + DEADLINE;
    while all_receipts(&a, ADMIN, "globex").await.len() < 20 {
        assert!(
            std::time::Instant::now() < end,
            "no load reached the database"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b.child.kill().unwrap();
    b.child.wait().unwrap();

    let mut answers: BTreeMap<&str, Vec<(usize, Value)>> = BTreeMap::new();
    for t in tasks {
        for (tenant, n, body) in t.await.unwrap() {
            answers.entry(tenant).or_default().push((n, body));
        }
    }
    // The survivor keeps serving both tenants.
    for (token, tenant) in [(ACME, "acme"), (GLOBEX, "globex")] {
        let body = try_call(&a.base, token, tenant)
            .await
            .expect("A still serves");
        answers.entry(tenant).or_default().push((0, body));
    }
    for (tenant, answered) in &answers {
        let acked = acknowledged(answered);
        let chain = all_receipts(&a, ADMIN, tenant).await;
        assert_gap_free(&chain);
        assert_all_present(&chain, &acked);
        verify_ok(&a, tenant).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_on_one_replica_sees_what_the_other_wrote() {
    let Some((_dir, a, b)) = two_replicas("stream") else {
        return;
    };
    onboard(&a, "acme", ACME, "rollback-guard-professional").await;
    let stored = all_receipts(&a, ACME, "acme").await.len() as u64;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(a.url(&format!(
            "/v1/tenants/acme/receipts/stream?from_seq={stored}"
        )))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = try_call(&b.base, ACME, "acme").await.unwrap();
    let hash = body["receipts"][0]["hash"].as_str().unwrap().to_owned();
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(DEADLINE, async {
        use futures::StreamExt;
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains(&hash) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "replica A's stream never showed B's receipt: {seen}"
    );
}

/// The highest seq among a call's receipts.
fn last_seq(body: &Value) -> u64 {
    body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .max()
        .unwrap()
}

/// The tenant's latest checkpoint's seq, as `s` serves it.
async fn checkpoint_seq(s: &Server, tenant: &str) -> u64 {
    let r = get(s, Some(ACME), &format!("/v1/tenants/{tenant}/checkpoint")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["seq"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_signing_with_one_key_both_leave_checkpoints_of_one_chain() {
    let Some(url) = common::test_database("signed_replicas") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("signing");
    let made = common::tai()
        .args(["keys", "new", "--out"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(made.status.success());
    let (key, public) = (prefix.with_extension("key"), prefix.with_extension("pub"));
    let a = signing_replica(&dir.path().join("a"), &url, &key);
    let b = signing_replica(&dir.path().join("b"), &url, &key);
    onboard(&a, "acme", ACME, "rollback-guard-professional").await;

    // Each replica signs the head it wrote; the other serves that checkpoint.
    let by_a = last_seq(&try_call(&a.base, ACME, "acme").await.unwrap());
    assert_eq!(checkpoint_seq(&b, "acme").await, by_a);
    let by_b = last_seq(&try_call(&b.base, ACME, "acme").await.unwrap());
    assert!(by_b > by_a);
    assert_eq!(checkpoint_seq(&a, "acme").await, by_b);

    // Then both at once.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        tasks.push(tokio::spawn(async move {
            try_call(&base, ACME, "acme")
                .await
                .expect("the replica answers")
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let chain = all_receipts(&a, ACME, "acme").await;
    assert_gap_free(&chain);
    assert_eq!(checkpoint_seq(&b, "acme").await + 1, chain.len() as u64);

    // A proof served by one replica checks with the public key alone.
    let r = get(&b, Some(ACME), "/v1/tenants/acme/receipts/3/proof").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let proof = dir.path().join("proof.json");
    std::fs::write(&proof, r.body.to_string()).unwrap();
    let checked = common::tai()
        .args(["receipts", "verify-proof"])
        .arg(&proof)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    // The whole chain against the public key, as an auditor reads it from the database.
    let audit = dir.path().join("audit");
    let verified = common::tai()
        .env("TAI_LEDGER", &url)
        .arg("--state")
        .arg(&audit)
        .args(["receipts", "verify", "--all", "--public-key"])
        .arg(&public)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{stdout}");
    assert!(stdout.contains("signatures verified"), "{stdout}");
}
