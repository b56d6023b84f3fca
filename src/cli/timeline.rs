//! Rendering receipts as a readable timeline: one line per receipt.

use std::fmt::Write as _;

use crate::diagnostics::plural;
use crate::governor::GovernorState;
use crate::receipts::{EventType, Receipt};

/// The state change column: `boot → stable`, or just `stable` when unchanged.
pub fn state_change(from: GovernorState, to: GovernorState) -> String {
    if from == to {
        to.to_string()
    } else {
        format!("{from} → {to}")
    }
}

/// What the receipt decided, in a few words: tools added/removed, the gate and reason, the
/// SKU, the signal.
pub fn detail(r: &Receipt) -> String {
    let m = r.body.metadata.to_value();
    let s = |k: &str| {
        m.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let names = |k: &str| -> Vec<String> {
        m.get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let reason = r
        .body
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    match r.body.event_type {
        EventType::ToolSurfaceChanged => {
            let mut out = String::new();
            for t in names("added") {
                let _ = write!(out, "+{t} ");
            }
            for t in names("removed") {
                let _ = write!(out, "-{t} ");
            }
            out.trim_end().to_owned()
        }
        EventType::EntitlementActivated
        | EventType::EntitlementUpdated
        | EventType::EntitlementRenewed
        | EventType::EntitlementSuspended
        | EventType::EntitlementReinstated
        | EventType::EntitlementCancelled => {
            let ent = m.get("entitlement");
            let sku = ent
                .and_then(|e| e.get("sku_id"))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let expiry = ent
                .and_then(|e| e.get("expiry"))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            match r.body.event_type {
                // A cancelled plan runs until nothing: say what happened to it.
                EventType::EntitlementCancelled => format!("{sku} cancelled"),
                EventType::EntitlementSuspended => format!("{sku} suspended (term ends {expiry})"),
                _ => format!("{sku} until {expiry}"),
            }
        }
        EventType::EntitlementUpdateRefused => format!("{reason}: {}", s("message")),
        EventType::EntitlementExpired => format!("expired at {}", s("expiry")),
        EventType::SignalProcessed | EventType::SignalPostponed => {
            let name = s("signal");
            if name.is_empty() {
                "signal".into()
            } else {
                name
            }
        }
        EventType::SignalRefused => format!("{}: {reason}", s("signal")),
        EventType::AndonRaised => format!("{} ({})", s("signal"), s("severity")),
        EventType::AndonCleared => format!("{} cleared", s("signal")),
        EventType::ActionExecuted => match m.get("principal").and_then(|p| p.as_str()) {
            Some(who) => format!("{} ok as {who}", s("tool")),
            None => format!("{} ok", s("tool")),
        },
        EventType::ActionRefused => {
            let gate = s("gate");
            let roles = names("missing_roles");
            let mut out = format!("{} ", s("tool"));
            if !gate.is_empty() {
                let _ = write!(out, "{gate}: ");
            }
            out.push_str(&reason);
            if !roles.is_empty() {
                let _ = write!(out, " (missing {})", roles.join(", "));
            }
            out
        }
        EventType::ToolNotFound => s("tool"),
        EventType::ActionTimeout
        | EventType::ActionMemoryExceeded
        | EventType::ActionErrored
        | EventType::ActionInterrupted => {
            format!("{} {reason}", s("tool"))
        }
        EventType::ActionStarted => format!("{} running", s("tool")),
        EventType::ActionPolled => {
            let verdict = m
                .get("verdict")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            format!("{} {verdict}", s("status_tool"))
        }
        EventType::ActionCompleted | EventType::ActionFailed => {
            let tool = m
                .get("in_flight")
                .and_then(|f| f.get("tool"))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            tool.to_owned()
        }
        EventType::IamPolicySet => match m.get("iam_policy").and_then(|p| p.get("bindings")) {
            Some(b) => plural(b.as_array().map_or(0, Vec::len), "binding"),
            None => "cleared".into(),
        },
        EventType::LedgerTailQuarantined => format!("{} bytes to {}", m["bytes"], s("file")),
        EventType::LedgerTailAdopted => format!("seq {} to {}", m["from_seq"], m["to_seq"]),
        EventType::LedgerHistoryAdopted => {
            format!("seq {} to {} unsigned", m["from_seq"], m["to_seq"])
        }
    }
}

/// One timeline line for a receipt.
pub fn line(r: &Receipt) -> String {
    format!(
        "{}  {:<10} #{:<3} {:<24} {:<26} {}",
        r.body.timestamp,
        r.body.tenant_id.as_str(),
        r.seq,
        state_change(r.body.state_from, r.body.state_to),
        r.body.event_type.as_str(),
        detail(r)
    )
    .trim_end()
    .to_owned()
}
