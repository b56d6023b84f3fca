//! Property tests over random catalogs, event sequences and calls: the engine's invariants.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tai::catalog::{
    Action, Catalog, Check, Handler, Pack, Precondition, Price, Simulated, Sku, Storage, Term, Tool,
};
use tai::clock::{Clock, SimClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::{EntitlementEvent, EventKind, Standing};
use tai::governor::{Decision, GovernorState, IdSource, Resolution, Signal, Tenant, ToolCall};
use tai::ids::{ActionId, PackId, PlanId, RefusalCode, Role, SkuId, TenantId, ToolName};

const ROLES: [&str; 4] = ["read", "write", "admin", "audit"];
const KEYS: [&str; 3] = ["stable", "approved", "reachable"];

#[derive(Debug, Clone)]
struct PackSpec {
    tools: usize,
    roles: Vec<usize>,
    checks: Vec<usize>,
}

#[derive(Debug, Clone)]
struct SkuSpec {
    packs: Vec<usize>,
    roles: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Op {
    Event {
        kind: usize,
        sku: usize,
        packs: Option<Vec<usize>>,
        roles: Option<Vec<usize>>,
    },
    Call {
        tool: usize,
        context: Vec<(usize, bool)>,
    },
    Signal {
        facts: Vec<(usize, bool)>,
    },
    Resolve {
        complete: bool,
    },
    Advance {
        days: u64,
    },
}

fn pack_spec() -> impl Strategy<Value = PackSpec> {
    (
        1usize..4,
        proptest::collection::vec(0usize..4, 0..3),
        proptest::collection::vec(0usize..3, 0..3),
    )
        .prop_map(|(tools, roles, checks)| PackSpec {
            tools,
            roles,
            checks,
        })
}

fn sku_spec(packs: usize) -> impl Strategy<Value = SkuSpec> {
    (
        proptest::collection::vec(0..packs, 1..=packs),
        proptest::collection::vec(0usize..4, 0..4),
    )
        .prop_map(|(packs, roles)| SkuSpec { packs, roles })
}

fn op(tools: usize, skus: usize, packs: usize) -> impl Strategy<Value = Op> {
    let subset = |n: usize| proptest::option::of(proptest::collection::vec(0..n, 0..=n));
    prop_oneof![
        1 => (0..EventKind::ALL.len(), 0..skus, subset(packs), proptest::option::of(proptest::collection::vec(0usize..4, 0..4)))
            .prop_map(|(kind, sku, packs, roles)| Op::Event { kind, sku, packs, roles }),
        3 => (0..tools + 1, proptest::collection::vec((0usize..3, any::<bool>()), 0..3))
            .prop_map(|(tool, context)| Op::Call { tool, context }),
        1 => (proptest::collection::vec((0usize..3, any::<bool>()), 0..3)).prop_map(|facts| Op::Signal { facts }),
        1 => any::<bool>().prop_map(|complete| Op::Resolve { complete }),
        1 => (0u64..40).prop_map(|days| Op::Advance { days }),
    ]
}

fn role(i: usize) -> Role {
    Role::new(ROLES[i]).unwrap()
}

fn build_catalog(packs: &[PackSpec], skus: &[SkuSpec]) -> Catalog {
    let packs: Vec<Pack> = packs
        .iter()
        .enumerate()
        .map(|(p, spec)| Pack {
            pack_id: PackId::new(format!("p{p}")).unwrap(),
            version: "1.0.0".into(),
            description: "generated".into(),
            tools: (0..spec.tools)
                .map(|t| Tool {
                    name: ToolName::new(format!("p{p}_t{t}")).unwrap(),
                    description: "generated".into(),
                    input_schema: json!({"type": "object"}),
                    action: ActionId::new("act").unwrap(),
                    handler: Handler::Simulated(Simulated {
                        result: json!({"ok": true}),
                        ..Simulated::default()
                    }),
                })
                .collect(),
            signals: vec![],
            actions: vec![Action {
                id: ActionId::new("act").unwrap(),
                description: None,
                roles: spec.roles.iter().map(|&r| role(r)).collect(),
                preconditions: spec
                    .checks
                    .iter()
                    .map(|&k| Precondition {
                        key: KEYS[k].into(),
                        check: Check::Equals(json!(true)),
                        default: None,
                        code: RefusalCode::new(format!("not_{}", KEYS[k])).unwrap(),
                        message: "generated".into(),
                    })
                    .collect(),
                compute_limits: None,
                emits: None,
                resolve: None,
            }],
            required_iam_roles: vec![],
            requires: vec![],
            incompatible_with: vec![],
            receipt_events: vec![],
            storage: Storage::None,
            compute_limits: None,
        })
        .collect();
    let skus: Vec<Sku> = skus
        .iter()
        .enumerate()
        .map(|(s, spec)| Sku {
            sku_id: SkuId::new(format!("sku-{s}")).unwrap(),
            plan_id: PlanId::new(format!("plan-{s}")).unwrap(),
            title: "generated".into(),
            price: Price {
                amount: 1.0,
                currency: "USD".into(),
                period: Term::Monthly,
            },
            enabled_packs: spec
                .packs
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|p| PackId::new(format!("p{p}")).unwrap())
                .collect(),
            iam_roles: spec
                .roles
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|&r| role(r))
                .collect(),
            term: Term::Monthly,
            recommended_for: None,
            marketplace: None,
        })
        .collect();
    Catalog::new(packs, skus)
}

fn facts(pairs: &[(usize, bool)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|&(k, v)| (KEYS[k].to_owned(), Value::Bool(v)))
        .collect()
}

/// The gates as an independent oracle: does this call deserve to execute?
fn all_gates_pass(t: &Tenant, catalog: &Catalog, now: Timestamp, call: &ToolCall) -> bool {
    let Some(tref) = catalog.tool(&call.tool) else {
        return false;
    };
    let Some(ent) = t.entitlement() else {
        return false;
    };
    let Some(action) = tref.action else {
        return false;
    };
    t.state() == GovernorState::Stable
        && t.tools().contains(call.tool.as_str())
        && ent.standing(now) == Standing::Active
        && action.roles.iter().all(|r| ent.iam_roles.contains(r))
        && action.preconditions.iter().all(|p| {
            let v = call.context.get(&p.key).or_else(|| t.facts().get(&p.key));
            v == Some(&json!(true))
        })
}

fn scenario() -> impl Strategy<Value = (Vec<PackSpec>, Vec<SkuSpec>, Vec<Op>)> {
    proptest::collection::vec(pack_spec(), 1..5).prop_flat_map(|packs| {
        let n = packs.len();
        let tools: usize = packs.iter().map(|p| p.tools).sum();
        proptest::collection::vec(sku_spec(n), 1..4).prop_flat_map(move |skus| {
            let ops = proptest::collection::vec(op(tools, skus.len(), n), 1..40);
            (Just(packs.clone()), Just(skus), ops)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn engine_invariants((packs, skus, ops) in scenario()) {
        let catalog = Arc::new(build_catalog(&packs, &skus));
        let all_tools: Vec<String> = catalog.packs().iter().flat_map(|p| p.tools.iter().map(|t| t.name.to_string())).collect();
        let clock = Arc::new(SimClock::new(Timestamp::from_secs(1_800_000_000)));
        let mut engine = MemoryEngine::new(catalog.clone(), clock.clone(), IdSource::seeded(1));
        let tenant = TenantId::new("t").unwrap();
        for op in ops {
            match op {
                Op::Event { kind, sku, packs, roles } => {
                    let mut ev = EntitlementEvent::new(EventKind::ALL[kind], tenant.clone());
                    ev.sku_id = Some(SkuId::new(format!("sku-{sku}")).unwrap());
                    ev.enabled_packs = packs.map(|ps| ps.into_iter().map(|p| PackId::new(format!("p{p}")).unwrap()).collect());
                    ev.iam_roles = roles.map(|rs| rs.into_iter().map(role).collect());
                    engine.apply_event(&ev);
                }
                Op::Call { tool, context } => {
                    let name = all_tools.get(tool).cloned().unwrap_or_else(|| "no_such_tool".into());
                    let call = ToolCall { tool: name, arguments: Map::new(), context: facts(&context), idempotency_key: None, principal: None, timeout_ms: None };
                    let before = engine.tenant(&tenant).cloned();
                    let now = clock.now();
                    let out = engine.call(&tenant, &call);
                    if out.decision == Decision::Executed {
                        // No action executes unless all three gates passed (judged on the
                        // tenant as it was, after expiry bookkeeping).
                        let t = before.expect("an executed call needs a known tenant");
                        prop_assert!(all_gates_pass(&t, &catalog, now, &call), "executed without passing the gates: {call:?}");
                    }
                    if out.decision == Decision::ToolNotFound {
                        prop_assert!(!engine.tenant(&tenant).unwrap().tools().contains(call.tool.as_str()));
                    }
                }
                Op::Signal { facts: f } => {
                    engine.signal(&tenant, &Signal { name: None, facts: facts(&f) });
                }
                Op::Resolve { complete } => {
                    let r = if complete { Resolution::Complete } else { Resolution::Failed };
                    let _ = engine.resolve_action(&tenant, r, None, None);
                }
                Op::Advance { days } => {
                    clock.advance(Duration::from_secs(days * 86_400));
                    engine.tick();
                }
            }
            // A tool is visible iff its pack is enabled (by a live entitlement).
            if let Some(t) = engine.tenant(&tenant) {
                let enabled: BTreeSet<&str> = t.entitlement().into_iter().flat_map(|e| e.visible_packs()).map(PackId::as_str).collect();
                for pack in catalog.packs() {
                    for tool in &pack.tools {
                        prop_assert_eq!(t.tools().contains(&tool.name), enabled.contains(pack.pack_id.as_str()));
                    }
                }
            }
        }
        // Every receipt chain verifies, and replaying it rebuilds the same tenant.
        let receipts = engine.receipts(&tenant);
        let rebuilt = Tenant::replay(tenant.clone(), receipts).unwrap();
        if let Some(live) = engine.tenant(&tenant) {
            prop_assert_eq!(&rebuilt, live);
        }
    }
}
