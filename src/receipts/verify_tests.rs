//! Tamper tests: every way of changing a ledger or its head is caught at the right seq.

use proptest::prelude::*;

use super::*;
use crate::clock::Timestamp;
use crate::receipts::{EventType, ReceiptBody, sample_body, sample_chain};
use crate::vocab::{GovernorState, ReasonCode};

fn acme() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// The ledger and head file bytes of `receipts`.
fn files(receipts: &[Receipt]) -> (Vec<u8>, Vec<u8>) {
    let mut ledger = Vec::new();
    for r in receipts {
        r.write_line(&mut ledger);
        ledger.push(b'\n');
    }
    let head = StoredHead {
        next_seq: receipts.len() as u64,
        hash: receipts
            .last()
            .map_or(GENESIS_HASH.to_owned(), |r| r.hash.to_string()),
        ledger_bytes: ledger.len() as u64,
    };
    (ledger, head.encode())
}

fn lines(ledger: &[u8]) -> Vec<Vec<u8>> {
    ledger
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn check(ledger: &[u8], head: &[u8]) -> VerifyReport {
    let tenant = acme();
    Verifier::new().tenant(&tenant).verify(ledger, Some(head))
}

/// The first problem's seq, line and kind.
fn problem(report: &VerifyReport) -> (Option<u64>, Option<u64>, &ProblemKind) {
    let p = report.problem.as_ref().expect("verification should fail");
    (p.seq, p.line, &p.kind)
}

fn seq_mismatch(expected: u64, found: u64) -> ProblemKind {
    ProblemKind::SeqMismatch { expected, found }
}

fn replace(line: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(line.to_vec())
        .unwrap()
        .replacen(from, to, 1)
        .into_bytes()
}

#[test]
fn an_intact_chain_verifies() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    let report = check(&ledger, &head);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.receipts, 10);
    assert_eq!(report.bytes, ledger.len() as u64);
    assert_eq!(report.head.unwrap().next_seq, 10);
    assert!(verify_ledger(b"", None).is_ok());
    assert!(check(b"", &StoredHead::default().encode()).is_ok());
}

#[test]
fn a_modified_field_is_a_hash_mismatch_at_its_seq() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    let mut l = lines(&ledger);
    l[3] = replace(&l[3], "v1.4.2", "v1.4.3");
    let report = check(&l.concat(), &head);
    assert!(matches!(
        problem(&report),
        (Some(3), Some(4), ProblemKind::BadHash { .. })
    ));
    assert_eq!(report.receipts, 3);
    let text = report.problem.unwrap().to_string();
    assert!(text.starts_with("seq 3 (line 4): hash mismatch"), "{text}");
}

#[test]
fn a_removed_line_is_a_seq_gap() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    let mut l = lines(&ledger);
    l.remove(4);
    let report = check(&l.concat(), &head);
    assert_eq!(problem(&report), (Some(4), Some(5), &seq_mismatch(4, 5)));
    assert!(report.problem.unwrap().to_string().contains("removed"));
}

#[test]
fn an_inserted_line_is_caught_whether_or_not_it_is_resealed() {
    let chain = sample_chain(&acme(), 10);
    let (ledger, head) = files(&chain);
    let l = lines(&ledger);

    // A copy with an edited field: its hash no longer matches.
    let mut forged = l.clone();
    forged.insert(3, replace(&l[2], "rcpt-acme", "rcpt-evil"));
    let report = check(&forged.concat(), &head);
    assert!(matches!(
        problem(&report),
        (Some(3), Some(4), ProblemKind::BadHash { .. })
    ));

    // A properly sealed receipt spliced in: the original seq 3 no longer fits after it.
    let mut at = ChainHead {
        next_seq: 3,
        hash: chain[2].hash.clone(),
    };
    let mut resealed = l.clone();
    let mut line = at.seal(sample_body(&acme(), 99)).to_line();
    line.push(b'\n');
    resealed.insert(3, line);
    let report = check(&resealed.concat(), &head);
    assert_eq!(problem(&report), (Some(4), Some(5), &seq_mismatch(4, 3)));
}

#[test]
fn swapped_lines_are_a_seq_mismatch_at_the_first() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    let mut l = lines(&ledger);
    l.swap(5, 6);
    let report = check(&l.concat(), &head);
    assert_eq!(problem(&report), (Some(5), Some(6), &seq_mismatch(5, 6)));
}

#[test]
fn a_replaced_line_from_another_chain_breaks_the_link() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    // Same tenant and seq, sealed on a different history.
    let mut other = ChainHead {
        next_seq: 6,
        hash: "1".repeat(64).into(),
    };
    let mut line = other.seal(sample_body(&acme(), 6)).to_line();
    line.push(b'\n');
    let mut l = lines(&ledger);
    l[6] = line;
    let report = check(&l.concat(), &head);
    assert!(matches!(
        problem(&report),
        (Some(6), Some(7), ProblemKind::BrokenLink { .. })
    ));
}

#[test]
fn a_truncated_tail_is_caught_by_the_head() {
    let (ledger, head) = files(&sample_chain(&acme(), 10));
    let l = lines(&ledger);
    let report = check(&l[..8].concat(), &head);
    assert_eq!(
        problem(&report),
        (
            Some(8),
            None,
            &ProblemKind::Truncated {
                found: 8,
                head_next_seq: 10
            }
        )
    );
    // Without its head the shorter chain would look fine.
    assert!(verify_receipts(&sample_chain(&acme(), 8)).is_ok());

    // Cut inside the last line.
    let cut = &ledger[..ledger.len() - 30];
    assert!(matches!(
        problem(&check(cut, &head)),
        (Some(9), Some(10), ProblemKind::NotJson { .. })
    ));
    // Only the final newline removed.
    let cut = &ledger[..ledger.len() - 1];
    assert_eq!(
        problem(&check(cut, &head)),
        (Some(9), Some(10), &ProblemKind::Unterminated)
    );
}

#[test]
fn an_edited_head_is_caught() {
    let chain = sample_chain(&acme(), 10);
    let (ledger, _) = files(&chain);
    let edit = |next_seq: u64, hash: &str, ledger_bytes: u64| {
        StoredHead {
            next_seq,
            hash: hash.to_owned(),
            ledger_bytes,
        }
        .encode()
    };
    let len = ledger.len() as u64;
    let report = check(&ledger, &edit(10, &"a".repeat(64), len));
    assert!(matches!(
        problem(&report),
        (Some(9), Some(10), ProblemKind::HeadMismatch { .. })
    ));
    let report = check(&ledger, &edit(10, &chain[9].hash, len - 1));
    assert!(matches!(
        problem(&report),
        (Some(9), Some(10), ProblemKind::HeadMismatch { .. })
    ));
    let report = check(&ledger, &edit(12, &chain[9].hash, len));
    assert!(matches!(
        problem(&report),
        (Some(10), None, ProblemKind::Truncated { .. })
    ));
    let report = check(&ledger, b"{\"next_seq\":10}\n");
    assert!(matches!(
        problem(&report),
        (None, None, ProblemKind::HeadUnreadable { .. })
    ));
    let report = Verifier::new().verify(&ledger, None);
    assert_eq!(problem(&report), (None, None, &ProblemKind::HeadMissing));
}

#[test]
fn receipts_beyond_the_head_are_unacknowledged_not_broken() {
    let chain = sample_chain(&acme(), 10);
    let (ledger, _) = files(&chain);
    let (prefix, head) = files(&chain[..7]);
    assert!(ledger.starts_with(&prefix));
    let report = check(&ledger, &head);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.receipts, report.unacknowledged), (10, 3));

    // An append in progress (or cut short by a crash) after the head is not part of it.
    let partial = &ledger[..ledger.len() - 100];
    let report = check(partial, &head);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.unacknowledged, 2);
    assert!(report.incomplete_bytes > 0);
    // Before the head, the same cut is a break.
    let (_, full_head) = files(&chain);
    assert!(!check(partial, &full_head).is_ok());
}

#[test]
fn lines_that_are_not_receipts_are_named_precisely() {
    let (ledger, head) = files(&sample_chain(&acme(), 5));
    let mut l = lines(&ledger);
    let with = |i: usize, line: &[u8]| {
        let mut l = lines(&ledger);
        l[i] = [line, b"\n"].concat();
        check(&l.concat(), &head)
    };
    assert!(matches!(
        problem(&with(2, b"garbage")),
        (Some(2), Some(3), ProblemKind::NotJson { .. })
    ));
    assert!(matches!(
        problem(&with(2, b"{\"seq\":2}")),
        (Some(2), Some(3), ProblemKind::NotAReceipt { .. })
    ));
    let spaced = replace(&l[2], "\"seq\":2", "\"seq\": 2");
    assert_eq!(
        problem(&with(2, spaced.strip_suffix(b"\n").unwrap())),
        (Some(2), Some(3), &ProblemKind::NotCanonical)
    );
    // Inside the metadata, too: it is kept as read, so it is checked on its own.
    let spaced = replace(&l[2], "\"tool\":\"", "\"tool\": \"");
    assert_eq!(
        problem(&with(2, spaced.strip_suffix(b"\n").unwrap())),
        (Some(2), Some(3), &ProblemKind::NotCanonical)
    );
    l.insert(2, b"\n".to_vec());
    assert!(matches!(
        problem(&check(&l.concat(), &head)),
        (Some(2), Some(3), ProblemKind::NotJson { .. })
    ));
}

#[test]
fn a_receipt_of_another_tenant_is_caught() {
    let (ledger, head) = files(&sample_chain(&TenantId::new("beta").unwrap(), 3));
    assert_eq!(
        problem(&check(&ledger, &head)),
        (
            Some(0),
            Some(1),
            &ProblemKind::WrongTenant {
                found: "beta".into()
            }
        )
    );
}

#[test]
fn in_memory_chains_verify_and_name_the_first_bad_seq() {
    let chain = sample_chain(&acme(), 6);
    let report = verify_receipts(&chain);
    assert!(report.is_ok());
    assert_eq!(report.head.unwrap().hash, chain[5].hash);

    let mut modified = chain.clone();
    modified[2].body.governor_id = "gov-evil".into();
    assert!(matches!(
        problem(&verify_receipts(&modified)),
        (Some(2), None, ProblemKind::BadHash { .. })
    ));
    let mut swapped = chain.clone();
    swapped.swap(3, 4);
    assert!(matches!(
        problem(&verify_receipts(&swapped)),
        (Some(3), None, ProblemKind::SeqMismatch { .. })
    ));
    let mut removed = chain;
    removed.remove(0);
    assert!(matches!(
        problem(&verify_receipts(&removed)),
        (Some(0), None, ProblemKind::SeqMismatch { .. })
    ));
}

/// Any JSON value, with strings that need escaping and numbers of every kind.
pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,12}|[\"\\\\\n\t|`,]{0,4}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = ReceiptBody> {
    (
        "\\PC{0,16}",
        0u64..253_402_300_799_000,
        "[a-z0-9][a-z0-9_.-]{0,8}",
        (0..4usize, 0..4usize, 0..EventType::ALL.len()),
        prop::option::of(0..ReasonCode::BUILT_IN.len()),
        json_value(),
    )
        .prop_map(
            |(id, ms, tenant, (from, to, event), reason, metadata)| ReceiptBody {
                id: id.into(),
                timestamp: Timestamp::from_millis(ms),
                governor_id: format!("gov-{tenant}").into(),
                tenant_id: TenantId::new(tenant).unwrap(),
                state_from: GovernorState::ALL[from],
                state_to: GovernorState::ALL[to],
                event_type: EventType::ALL[event],
                reason: reason.map(|i| ReasonCode::BUILT_IN[i].clone()),
                metadata: metadata.into(),
                catalog_hash: "c".repeat(64).into(),
            },
        )
}

proptest! {
    #[test]
    fn any_sealed_sequence_verifies(bodies in prop::collection::vec(body(), 0..8)) {
        // One chain per tenant, as the engine writes them.
        let tenant = bodies.first().map(|b| b.tenant_id.clone());
        let mut head = ChainHead::default();
        let receipts: Vec<Receipt> = bodies
            .into_iter()
            .map(|mut b| {
                if let Some(t) = &tenant {
                    b.tenant_id = t.clone();
                }
                head.seal(b)
            })
            .collect();
        let memory = verify_receipts(&receipts);
        prop_assert!(memory.is_ok(), "{:?}", memory);
        let (ledger, head_bytes) = files(&receipts);
        let mut verifier = Verifier::new().deep(true);
        if let Some(t) = &tenant {
            verifier = verifier.tenant(t);
        }
        let report = verifier.verify(&ledger, Some(&head_bytes));
        prop_assert!(report.is_ok(), "{:?}", report);
        prop_assert_eq!(report.receipts, receipts.len() as u64);
    }

    #[test]
    fn flipping_any_ledger_byte_fails(n in 1u64..6, at in any::<prop::sample::Index>(), mask in 1u8..) {
        let (mut ledger, head) = files(&sample_chain(&acme(), n));
        let i = at.index(ledger.len());
        ledger[i] ^= mask;
        prop_assert!(!check(&ledger, &head).is_ok(), "flip at byte {}", i);
    }

    #[test]
    fn flipping_any_head_byte_fails(n in 0u64..6, at in any::<prop::sample::Index>(), mask in 1u8..) {
        let (ledger, mut head) = files(&sample_chain(&acme(), n));
        let i = at.index(head.len());
        head[i] ^= mask;
        prop_assert!(!check(&ledger, &head).is_ok(), "flip at byte {}", i);
    }
}
