//! The built-in handlers: verify, look up and export the tenant's own receipts.
//!
//! They read the chain through [`Evidence`] as it stood before the call: the call's own
//! receipt is sealed after the handler has read, so it is never part of what it reports.
//! Reading goes page by page, so memory stays bounded however long the chain is; an export
//! returns at most [`EXPORT_MAX_RECEIPTS`] receipts and [`Limits::max_output_bytes`] of
//! JSON lines, and says where to continue. What the handlers report depends only on the
//! chain, so runs on the simulated clock are repeatable (they report no elapsed time).

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::catalog::BuiltinName;
use crate::clock::Timestamp;
use crate::exec::{Limits, Outcome};
use crate::ids::TenantId;
use crate::receipts::{ChainHead, EventType, Evidence, Receipt, ReceiptFilter, check_next};
use crate::vocab::ReasonCode;

/// Receipts read from the evidence at a time.
const PAGE: usize = 512;

/// The most receipts one export returns; `next_seq` in its result says where to go on.
pub const EXPORT_MAX_RECEIPTS: usize = 1000;

/// A built-in that refused what it was asked: the receipt does not exist, or the arguments
/// make no sense for this chain.
#[derive(Debug)]
pub(super) struct Refused {
    pub(super) reason: ReasonCode,
    pub(super) message: String,
}

/// Runs built-in `name` over `tenant`'s chain.
pub(super) fn run(
    name: BuiltinName,
    evidence: &dyn Evidence,
    tenant: &TenantId,
    args: &Map<String, Value>,
    limits: &Limits,
) -> Result<Outcome, Refused> {
    let answered = match name {
        BuiltinName::VerifyChain => verify_chain(evidence, tenant, args),
        BuiltinName::LookupReceipt => lookup_receipt(evidence, tenant, args),
        BuiltinName::ExportAuditTrail => export_audit_trail(evidence, tenant, args, limits),
    };
    match answered {
        Ok(Ok(result)) => Ok(Outcome::Success {
            result,
            elapsed_ms: 0,
        }),
        Ok(Err(refused)) => Err(refused),
        // tai cannot read its own chain: that is the action failing, for a person to look at.
        Err(e) => Ok(Outcome::Error {
            message: e.to_string(),
            exit_code: None,
        }),
    }
}

/// What the receipt of a built-in's call records as its result, when that is not the result
/// itself: an export's receipt keeps the digest of the lines, not the lines, so the chain
/// does not grow by what it exports.
pub(super) fn recorded(name: BuiltinName, result: &Value) -> Option<Value> {
    match (name, result) {
        (BuiltinName::ExportAuditTrail, Value::Object(fields)) => {
            let mut kept = fields.clone();
            kept.remove("jsonl");
            Some(Value::Object(kept))
        }
        _ => None,
    }
}

type Answered = Result<Result<Value, Refused>, crate::receipts::EvidenceError>;

/// A seq argument: a whole number, however it is written (`3` or `3.0`, as the input
/// schema's `integer` accepts both).
fn seq_arg(args: &Map<String, Value>, key: &str) -> Option<u64> {
    let v = args.get(key)?;
    v.as_u64().or_else(|| {
        let whole = super::requests::whole_number(v.as_f64()?)?;
        u64::try_from(whole).ok()
    })
}

fn refused(reason: ReasonCode, message: String) -> Answered {
    Ok(Err(Refused { reason, message }))
}

/// Recomputes every hash and link from `from_seq` (default 0) to `to_seq` (default the end
/// of the chain), stopping at the first broken receipt.
fn verify_chain(evidence: &dyn Evidence, tenant: &TenantId, args: &Map<String, Value>) -> Answered {
    let from = seq_arg(args, "from_seq").unwrap_or(0);
    let to = seq_arg(args, "to_seq");
    if let Some(to) = to.filter(|&to| to < from) {
        return refused(
            ReasonCode::InvalidArguments,
            format!("to_seq {to} is before from_seq {from}"),
        );
    }
    // The receipt before the range anchors its first link.
    let mut head = ChainHead::default();
    if from > 0 {
        let before = evidence.receipts_from(tenant, from - 1, 1)?;
        match before.first() {
            Some(r) if r.seq == from - 1 => {
                head.next_seq = from;
                head.hash.clone_from(&r.hash);
            }
            _ => return not_found_from(tenant, from),
        }
    }
    let mut checked: u64 = 0;
    let mut problem = None;
    let mut next = from;
    'pages: loop {
        let page = evidence.receipts_from(tenant, next, PAGE)?;
        let last_page = page.len() < PAGE;
        for r in &page {
            if to.is_some_and(|to| r.seq > to) {
                break 'pages;
            }
            if let Some(kind) = check_next(&head, tenant, r) {
                problem = Some((head.next_seq, kind));
                break 'pages;
            }
            checked += 1;
            head.next_seq += 1;
            head.hash.clone_from(&r.hash);
        }
        next = head.next_seq;
        if last_page || page.is_empty() {
            break;
        }
    }
    if checked == 0 && problem.is_none() && from > 0 {
        return not_found_from(tenant, from);
    }
    let mut result = Map::new();
    result.insert("valid".into(), Value::Bool(problem.is_none()));
    result.insert("receipts_checked".into(), checked.into());
    result.insert("from_seq".into(), from.into());
    if checked > 0 {
        result.insert("head_seq".into(), (head.next_seq - 1).into());
        result.insert("head_hash".into(), Value::String(head.hash.to_string()));
    }
    if let Some((seq, kind)) = problem {
        result.insert("first_bad_seq".into(), seq.into());
        result.insert(
            "problem".into(),
            serde_json::to_value(kind).unwrap_or(Value::Null),
        );
    }
    Ok(Ok(Value::Object(result)))
}

/// A seq past the end of the chain.
fn not_found_from(tenant: &TenantId, seq: u64) -> Answered {
    refused(
        ReasonCode::ReceiptNotFound,
        format!("tenant `{tenant}` has no receipt with seq {seq}"),
    )
}

/// One receipt, by `seq` or by receipt `id` (both given: they must name the same receipt).
fn lookup_receipt(
    evidence: &dyn Evidence,
    tenant: &TenantId,
    args: &Map<String, Value>,
) -> Answered {
    let id = args.get("id").and_then(Value::as_str);
    let found = match (seq_arg(args, "seq"), id) {
        (Some(seq), _) => evidence
            .receipts_from(tenant, seq, 1)?
            .into_iter()
            .find(|r| r.seq == seq && id.is_none_or(|id| &*r.body.id == id)),
        (None, Some(id)) => find_by_id(evidence, tenant, id)?,
        (None, None) => {
            return refused(
                ReasonCode::InvalidArguments,
                "name the receipt by `seq` or by `id`".to_owned(),
            );
        }
    };
    match found {
        Some(r) => Ok(Ok(serde_json::to_value(&r).unwrap_or(Value::Null))),
        None => {
            let what = match (seq_arg(args, "seq"), id) {
                (Some(seq), Some(id)) => format!("seq {seq} with id `{id}`"),
                (Some(seq), None) => format!("seq {seq}"),
                (None, id) => format!("id `{}`", id.unwrap_or_default()),
            };
            refused(
                ReasonCode::ReceiptNotFound,
                format!("tenant `{tenant}` has no receipt with {what}"),
            )
        }
    }
}

fn find_by_id(
    evidence: &dyn Evidence,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<Receipt>, crate::receipts::EvidenceError> {
    let mut next = 0;
    loop {
        let page = evidence.receipts_from(tenant, next, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        next = last.seq + 1;
        let done = page.len() < PAGE;
        if let Some(r) = page.into_iter().find(|r| &*r.body.id == id) {
            return Ok(Some(r));
        }
        if done {
            return Ok(None);
        }
    }
}

/// Receipts at or after `since`, before `until`, of `event_types` (default all), as JSON
/// lines, from `from_seq` (default 0) on.
fn export_audit_trail(
    evidence: &dyn Evidence,
    tenant: &TenantId,
    args: &Map<String, Value>,
    limits: &Limits,
) -> Answered {
    let mut filter = ReceiptFilter::default();
    for (key, slot) in [("since", &mut filter.since), ("until", &mut filter.until)] {
        if let Some(text) = args.get(key).and_then(Value::as_str) {
            match Timestamp::parse(text) {
                Ok(t) => *slot = Some(t),
                Err(e) => return refused(ReasonCode::InvalidArguments, format!("{key}: {e}")),
            }
        }
    }
    for name in args
        .get("event_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match EventType::from_str(name) {
            Ok(e) => filter.event_types.push(e),
            Err(_) => {
                let hint = crate::diagnostics::did_you_mean(
                    name,
                    EventType::ALL.into_iter().map(EventType::as_str),
                )
                .map_or_else(String::new, |s| format!(" ({s})"));
                return refused(
                    ReasonCode::InvalidArguments,
                    format!("`{name}` is not a receipt event type{hint}"),
                );
            }
        }
    }
    let mut lines = Vec::new();
    let mut count: u64 = 0;
    let mut next = seq_arg(args, "from_seq").unwrap_or(0);
    let mut more = None;
    'pages: loop {
        let page = evidence.receipts_from(tenant, next, PAGE)?;
        let done = page.len() < PAGE;
        for r in &page {
            next = r.seq + 1;
            if !filter.matches(r) {
                continue;
            }
            let line = r.to_line();
            let full = usize::try_from(count).unwrap_or(usize::MAX) >= EXPORT_MAX_RECEIPTS
                || (lines.len() + line.len() + 1) as u64 > limits.max_output_bytes;
            if full {
                more = Some(r.seq);
                break 'pages;
            }
            lines.extend_from_slice(&line);
            lines.push(b'\n');
            count += 1;
        }
        if done {
            break;
        }
    }
    let jsonl = String::from_utf8(lines).unwrap_or_default();
    let digest = crate::receipts::sha256_hex(jsonl.as_bytes());
    let mut summary = Map::new();
    summary.insert("format".into(), "jsonl".into());
    summary.insert("count".into(), count.into());
    summary.insert("truncated".into(), more.is_some().into());
    if let Some(seq) = more {
        summary.insert("next_seq".into(), seq.into());
    }
    summary.insert("sha256".into(), Value::String(digest));
    summary.insert("jsonl".into(), Value::String(jsonl));
    Ok(Ok(Value::Object(summary)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::receipts::{InMemory, sample_chain};

    fn chains(n: u64) -> (TenantId, BTreeMap<TenantId, Vec<Receipt>>) {
        let acme = TenantId::new("acme").unwrap();
        let chain = sample_chain(&acme, n);
        (acme.clone(), BTreeMap::from([(acme, chain)]))
    }

    fn call(
        name: BuiltinName,
        map: &BTreeMap<TenantId, Vec<Receipt>>,
        tenant: &TenantId,
        args: Value,
    ) -> Result<Value, Refused> {
        let Value::Object(args) = args else {
            unreachable!()
        };
        match run(name, &InMemory(map), tenant, &args, &Limits::default())? {
            Outcome::Success { result, .. } => Ok(result),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verify_counts_what_it_checked_and_names_the_first_bad_seq() {
        let (acme, mut map) = chains(1200);
        let all = call(BuiltinName::VerifyChain, &map, &acme, json!({})).unwrap();
        assert_eq!(all["valid"], true);
        assert_eq!(all["receipts_checked"], 1200);
        assert_eq!(all["head_seq"], 1199);
        assert_eq!(all["head_hash"], &*map[&acme][1199].hash);
        let range = json!({ "from_seq": 600, "to_seq": 700 });
        let part = call(BuiltinName::VerifyChain, &map, &acme, range.clone()).unwrap();
        assert_eq!(part["receipts_checked"], 101);
        assert_eq!(part["head_seq"], 700);

        map.get_mut(&acme).unwrap()[650].body.governor_id = "forged".into();
        let broken = call(BuiltinName::VerifyChain, &map, &acme, range).unwrap();
        assert_eq!(broken["valid"], false);
        assert_eq!(broken["receipts_checked"], 50);
        assert_eq!(broken["first_bad_seq"], 650);
        assert_eq!(broken["problem"]["kind"], "bad_hash");
        let before = json!({ "to_seq": 649 });
        assert_eq!(
            call(BuiltinName::VerifyChain, &map, &acme, before).unwrap()["valid"],
            true
        );
    }

    #[test]
    fn verify_refuses_ranges_outside_the_chain() {
        let (acme, map) = chains(5);
        let past = call(
            BuiltinName::VerifyChain,
            &map,
            &acme,
            json!({ "from_seq": 9 }),
        );
        assert_eq!(past.unwrap_err().reason, ReasonCode::ReceiptNotFound);
        let back = json!({ "from_seq": 3, "to_seq": 1 });
        let err = call(BuiltinName::VerifyChain, &map, &acme, back).unwrap_err();
        assert_eq!(err.reason, ReasonCode::InvalidArguments);
        assert_eq!(err.message, "to_seq 1 is before from_seq 3");
    }

    #[test]
    fn lookup_finds_by_seq_or_id_and_refuses_the_unknown() {
        let (acme, map) = chains(700);
        let by_seq = call(BuiltinName::LookupReceipt, &map, &acme, json!({ "seq": 3 })).unwrap();
        assert_eq!(by_seq["seq"], 3);
        let id = map[&acme][650].body.id.clone();
        let by_id = call(BuiltinName::LookupReceipt, &map, &acme, json!({ "id": id })).unwrap();
        assert_eq!(by_id["seq"], 650);
        let err = call(
            BuiltinName::LookupReceipt,
            &map,
            &acme,
            json!({ "seq": 700 }),
        )
        .unwrap_err();
        assert_eq!(err.reason, ReasonCode::ReceiptNotFound);
        assert_eq!(err.message, "tenant `acme` has no receipt with seq 700");
        let err = call(
            BuiltinName::LookupReceipt,
            &map,
            &acme,
            json!({ "id": "nope" }),
        )
        .unwrap_err();
        assert_eq!(err.message, "tenant `acme` has no receipt with id `nope`");
        let both = json!({ "seq": 2, "id": id });
        assert!(call(BuiltinName::LookupReceipt, &map, &acme, both).is_err());
        let none = call(BuiltinName::LookupReceipt, &map, &acme, json!({})).unwrap_err();
        assert_eq!(none.reason, ReasonCode::InvalidArguments);
    }

    #[test]
    fn export_filters_caps_and_records_a_digest() {
        let (acme, map) = chains(1500);
        let args = json!({ "event_types": ["action_refused"] });
        let Value::Object(args) = args else {
            unreachable!()
        };
        let outcome = run(
            BuiltinName::ExportAuditTrail,
            &InMemory(&map),
            &acme,
            &args,
            &Limits::default(),
        )
        .unwrap();
        let Outcome::Success { result, .. } = outcome else {
            panic!()
        };
        let expected = map[&acme]
            .iter()
            .filter(|r| r.body.event_type == EventType::ActionRefused)
            .count();
        assert_eq!(result["count"], expected);
        let jsonl = result["jsonl"].as_str().unwrap();
        assert_eq!(jsonl.lines().count(), expected);
        let recorded = recorded(BuiltinName::ExportAuditTrail, &result).unwrap();
        assert!(recorded.get("jsonl").is_none());
        assert_eq!(
            recorded["sha256"],
            crate::receipts::sha256_hex(jsonl.as_bytes())
        );

        let all = call(BuiltinName::ExportAuditTrail, &map, &acme, json!({})).unwrap();
        assert_eq!(all["count"], EXPORT_MAX_RECEIPTS);
        assert_eq!(all["truncated"], true);
        assert_eq!(all["next_seq"], EXPORT_MAX_RECEIPTS);
        let rest = json!({ "from_seq": EXPORT_MAX_RECEIPTS });
        let rest = call(BuiltinName::ExportAuditTrail, &map, &acme, rest).unwrap();
        assert_eq!(rest["count"], 500);
        assert_eq!(rest["truncated"], false);

        let bad = json!({ "event_types": ["action_refsued"] });
        let err = call(BuiltinName::ExportAuditTrail, &map, &acme, bad).unwrap_err();
        assert!(err.message.contains("action_refused"), "{}", err.message);
        let bad = json!({ "since": "yesterday" });
        let err = call(BuiltinName::ExportAuditTrail, &map, &acme, bad).unwrap_err();
        assert_eq!(err.reason, ReasonCode::InvalidArguments);
    }
}
