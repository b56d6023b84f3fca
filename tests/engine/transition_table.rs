//! The governor transitions coverage counts (`possible_transitions`) are exactly the ones the
//! engine can produce: random operation sequences never produce a transition outside the
//! table, so full coverage never hides a transition and never asks for an impossible one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use tai::clock::{SimClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::{EntitlementEvent, EventKind};
use tai::governor::{IdSource, Resolution, Signal, ToolCall};
use tai::ids::{SkuId, TenantId};
use tai::scenario::coverage::{Observations, possible_transitions};

use crate::common::seed_catalog;

const TOOLS: [&str; 6] = [
    "query",
    "create",
    "scale",
    "timeout_test",
    "memory_test",
    "nope",
];

#[derive(Debug, Clone)]
enum Op {
    Event { kind: usize, known_sku: bool },
    Call { tool: usize },
    Signal,
    Resolve { complete: bool },
    Advance { days: u64 },
}

fn op() -> impl Strategy<Value = (usize, Op)> {
    let op = prop_oneof![
        2 => (0..EventKind::ALL.len(), prop::bool::weighted(0.9)).prop_map(|(kind, known_sku)| Op::Event { kind, known_sku }),
        3 => (0usize..TOOLS.len()).prop_map(|tool| Op::Call { tool }),
        1 => Just(Op::Signal),
        1 => any::<bool>().prop_map(|complete| Op::Resolve { complete }),
        1 => (0u64..40).prop_map(|days| Op::Advance { days }),
    ];
    (0usize..2, op)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_engine_stays_within_the_transition_table(ops in proptest::collection::vec(op(), 1..60)) {
        let catalog = Arc::new(seed_catalog());
        let possible = possible_transitions(&catalog);
        let clock = Arc::new(SimClock::new(Timestamp::parse("2026-01-01").unwrap()));
        let mut engine = MemoryEngine::new(catalog, clock.clone(), IdSource::seeded(1));
        let tenants = [TenantId::new("a").unwrap(), TenantId::new("b").unwrap()];
        for (t, op) in ops {
            let tenant = &tenants[t];
            match op {
                Op::Event { kind, known_sku } => {
                    let mut ev = EntitlementEvent::new(EventKind::ALL[kind], tenant.clone());
                    let sku = if known_sku { "seed-demo" } else { "other" };
                    ev.sku_id = Some(SkuId::new(sku).unwrap());
                    engine.apply_event(&ev);
                }
                Op::Call { tool } => {
                    engine.call(tenant, &ToolCall { tool: TOOLS[tool].into(), ..ToolCall::default() });
                }
                Op::Signal => {
                    engine.signal(tenant, &Signal::default());
                }
                Op::Resolve { complete } => {
                    let r = if complete { Resolution::Complete } else { Resolution::Failed };
                    let _ = engine.resolve_action(tenant, r, None, None);
                }
                Op::Advance { days } => {
                    clock.advance(Duration::from_secs(days * 86_400));
                    engine.tick();
                }
            }
        }
        for t in &tenants {
            let seen = Observations::from_receipts(engine.receipts(t));
            for tr in &seen.transitions {
                prop_assert!(possible.contains(tr), "{tr} is not in the table");
            }
        }
    }
}
