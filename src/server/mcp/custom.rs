//! The tenant's governor beyond its tools, as tai's own MCP methods: `tai/signal` sends a
//! signal (as `tai signal` does), `tai/andon/clear` clears a critical Andon (as `tai andon
//! clear`), `tai/action/complete` and `tai/action/fail` resolve the action in flight (as `tai
//! action`), `tai/state` reads the tenant (as `tai state --format json`). And the Andon mark on
//! listed tools: a stopped tool says so in its `_meta` (`tai/stopped`).

use std::collections::BTreeMap;

use rmcp::model::{CustomResult, Tool};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::governor::Acknowledgement;
use crate::governor::{AndonStop, Resolution, Signal};
use crate::iam::Principal;
use crate::ids::{ActionRunId, PackId, SignalName};

/// Sends a signal: params `{ name?, facts? }`; answers the signal's outcome.
pub const SIGNAL_METHOD: &str = "tai/signal";
/// Clears a critical Andon: params `{ signal, note? }`; answers what is still stopped and
/// the receipts written.
pub const ANDON_CLEAR_METHOD: &str = "tai/andon/clear";
/// Reports the action in flight complete: params `{ action_id?, detail? }`.
pub const ACTION_COMPLETE_METHOD: &str = "tai/action/complete";
/// Reports the action in flight failed: params `{ action_id?, detail? }`.
pub const ACTION_FAIL_METHOD: &str = "tai/action/fail";
/// Reads the tenant: its state, entitlement, tools, facts and Andons.
pub const STATE_METHOD: &str = "tai/state";
/// The listed tool's `_meta` key holding the Andon that stops it.
pub const STOPPED_META_KEY: &str = "tai/stopped";

/// What a tai method asks of the workspace.
#[derive(Debug)]
pub enum Method {
    /// `tai/signal`.
    Signal(Signal),
    /// `tai/andon/clear`.
    AndonClear {
        /// The Andon signal.
        signal: SignalName,
        /// Who acknowledged it and why.
        ack: Acknowledgement,
    },
    /// `tai/action/complete` and `tai/action/fail`.
    Resolve {
        /// Complete or failed.
        resolution: Resolution,
        /// The action resolved; without it, whichever is in flight.
        action_id: Option<ActionRunId>,
        /// A note for the receipt.
        detail: Option<String>,
    },
    /// `tai/state`.
    State,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveParams {
    #[serde(default)]
    action_id: Option<ActionRunId>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalParams {
    #[serde(default)]
    name: Option<SignalName>,
    #[serde(default)]
    facts: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearParams {
    signal: SignalName,
    #[serde(default)]
    principal: Option<Principal>,
    #[serde(default)]
    note: Option<String>,
}

/// Reads a tai method's params; `None` for a method tai does not have. Params may carry
/// `_meta` (the protocol's), which is not a parameter.
pub fn parse(method: &str, params: Option<Value>) -> Option<Result<Method, String>> {
    let mut params = match params {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    params.remove("_meta");
    let params = Value::Object(params);
    let parsed = match method {
        SIGNAL_METHOD => serde_json::from_value::<SignalParams>(params).map(|p| {
            Method::Signal(Signal {
                name: p.name,
                facts: p.facts,
            })
        }),
        ANDON_CLEAR_METHOD => {
            serde_json::from_value::<ClearParams>(params).map(|p| Method::AndonClear {
                signal: p.signal,
                ack: Acknowledgement {
                    principal: p.principal,
                    note: p.note,
                },
            })
        }
        ACTION_COMPLETE_METHOD | ACTION_FAIL_METHOD => {
            let resolution = if method == ACTION_COMPLETE_METHOD {
                Resolution::Complete
            } else {
                Resolution::Failed
            };
            serde_json::from_value::<ResolveParams>(params).map(|p| Method::Resolve {
                resolution,
                action_id: p.action_id,
                detail: p.detail,
            })
        }
        STATE_METHOD => Ok(Method::State),
        _ => return None,
    };
    Some(parsed.map_err(|e| format!("`{method}`: {e}")))
}

/// A method's answer as the protocol carries it.
pub fn result(value: &impl serde::Serialize) -> Result<CustomResult, String> {
    serde_json::to_value(value)
        .map(CustomResult::new)
        .map_err(|e| e.to_string())
}

/// Marks each listed tool whose pack a critical Andon stops: `_meta` `tai/stopped` names the
/// signal, when it was raised and the receipt that raised it. A call would be refused
/// (`andon_stopped`) until it is cleared.
pub fn mark_stopped(tools: &mut [Tool], catalog: &Catalog, andon: &[AndonStop]) {
    if andon.is_empty() {
        return;
    }
    let mut by_pack: BTreeMap<&PackId, &AndonStop> = BTreeMap::new();
    for stop in andon {
        for pack in &stop.packs {
            by_pack
                .entry(pack)
                .and_modify(|s| {
                    if stop.seq < s.seq {
                        *s = stop;
                    }
                })
                .or_insert(stop);
        }
    }
    for tool in tools {
        let Some(stop) = catalog
            .tool(&tool.name)
            .and_then(|t| by_pack.get(&t.pack.pack_id))
        else {
            continue;
        };
        let mut meta = tool.meta.take().unwrap_or_default();
        meta.0.insert(
            STOPPED_META_KEY.into(),
            json!({ "andon": stop.signal, "since": stop.since, "seq": stop.seq }),
        );
        tool.meta = Some(meta);
    }
}
