//! Simulated handlers: a declared outcome judged against the limits, never run.
//!
//! Demos, scenarios and golden tests need the seed's `timeout_test` and `memory_test` to
//! behave the same on every machine and to cost nothing, so a simulated handler never sleeps
//! or allocates: its declared duration and memory use are compared with the limits instead.
//!
//! Order of judgement, first match wins:
//! 1. memory: declared `memory_mb` above the limit is `MemoryExceeded`. Memory is checked
//!    before time because an allocation fails the moment it is made, before the clock could
//!    run out (a command under `RLIMIT_AS` behaves the same way);
//! 2. time: declared `duration_ms` above the timeout is `Timeout`, stopped at the limit;
//! 3. a declared `error` is `Error`: a bound stops the action before it could report one;
//! 4. otherwise `Success` with the declared result (its `{{args.NAME}}` templates filled from
//!    the arguments, see [`crate::catalog::template`]) and duration (0 when none is declared).
//!    A governor's poll `n` (from 0) of an action in flight takes the `n`th result of a
//!    declared `sequence` instead (the last repeating), so a status tool reports progress,
//!    then done.
//!
//! A value equal to its limit is within it.

use crate::catalog::{Simulated, SimulatedCase, template};

use super::{Limits, Outcome};

/// What a simulated call declares once its matching case is applied.
#[derive(Debug, Clone, PartialEq)]
struct Effective<'a> {
    result: &'a serde_json::Value,
    sequence: &'a [serde_json::Value],
    duration_ms: Option<u64>,
    memory_mb: Option<u64>,
    error: Option<&'a str>,
}

/// Judges `sim` for `args` under `limits`.
pub(super) fn run(
    sim: &Simulated,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
) -> Outcome {
    run_poll(sim, args, limits, None)
}

/// Judges `sim` for `args` under `limits`, as the governor's poll `poll` when it is one.
pub(super) fn run_poll(
    sim: &Simulated,
    args: &serde_json::Map<String, serde_json::Value>,
    limits: &Limits,
    poll: Option<u64>,
) -> Outcome {
    let mut eff = effective(sim, args);
    if let (Some(n), Some(last)) = (poll, eff.sequence.len().checked_sub(1)) {
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(last);
        if let Some(result) = eff.sequence.get(n) {
            eff.result = result;
        }
    }
    if let Some(used) = eff.memory_mb.filter(|&mb| mb > limits.max_memory_mb) {
        return Outcome::MemoryExceeded {
            limit_mb: limits.max_memory_mb,
            used_mb: Some(used),
        };
    }
    if eff.duration_ms.is_some_and(|ms| ms > limits.timeout_ms) {
        return Outcome::Timeout {
            limit_ms: limits.timeout_ms,
            elapsed_ms: limits.timeout_ms,
        };
    }
    if let Some(message) = eff.error {
        return Outcome::Error {
            message: message.to_owned(),
            exit_code: None,
        };
    }
    Outcome::Success {
        result: template::render(eff.result, args).into_owned(),
        elapsed_ms: eff.duration_ms.unwrap_or(0),
    }
}

/// The defaults with the first matching case's overrides applied.
fn effective<'a>(
    sim: &'a Simulated,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Effective<'a> {
    let base = Effective {
        result: &sim.result,
        sequence: &sim.sequence,
        duration_ms: sim.duration_ms,
        memory_mb: sim.memory_mb,
        error: sim.error.as_deref(),
    };
    match sim.cases.iter().find(|case| matches(case, args)) {
        None => base,
        Some(case) => Effective {
            result: case.result.as_ref().unwrap_or(base.result),
            sequence: if case.sequence.is_empty() {
                base.sequence
            } else {
                &case.sequence
            },
            duration_ms: case.duration_ms.or(base.duration_ms),
            memory_mb: case.memory_mb.or(base.memory_mb),
            error: case.error.as_deref().or(base.error),
        },
    }
}

/// A case applies when every `when` entry equals the argument of that name; a case with no
/// entries always applies, and arguments that are not an object match only such a case.
fn matches(case: &SimulatedCase, args: &serde_json::Map<String, serde_json::Value>) -> bool {
    case.when
        .iter()
        .all(|(key, want)| args.get(key) == Some(want))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// `super::run` with the arguments written as a JSON value.
    fn run(sim: &Simulated, args: &serde_json::Value, limits: &Limits) -> Outcome {
        let empty = serde_json::Map::new();
        super::run(sim, args.as_object().unwrap_or(&empty), limits)
    }

    fn limits(timeout_ms: u64, max_memory_mb: u64) -> Limits {
        Limits {
            timeout_ms,
            max_memory_mb,
            max_output_bytes: 1024,
            max_cpu_percent: None,
        }
    }

    fn sim(json: serde_json::Value) -> Simulated {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn success_returns_the_declared_result_and_duration() {
        let s = sim(json!({ "result": { "rows": 42 }, "duration_ms": 125 }));
        assert_eq!(
            run(&s, &json!({}), &limits(1000, 64)),
            Outcome::Success {
                result: json!({ "rows": 42 }),
                elapsed_ms: 125
            }
        );
        let s = sim(json!({ "result": "ok" }));
        assert_eq!(
            run(&s, &json!(null), &limits(1000, 64)),
            Outcome::Success {
                result: json!("ok"),
                elapsed_ms: 0
            }
        );
    }

    #[test]
    fn overlong_duration_times_out_at_the_limit() {
        let s = sim(json!({ "duration_ms": 5000 }));
        assert_eq!(
            run(&s, &json!({}), &limits(1000, 64)),
            Outcome::Timeout {
                limit_ms: 1000,
                elapsed_ms: 1000
            }
        );
        let at_limit = sim(json!({ "duration_ms": 1000 }));
        assert!(run(&at_limit, &json!({}), &limits(1000, 64)).is_success());
    }

    #[test]
    fn excess_memory_is_reported_with_its_use() {
        let s = sim(json!({ "memory_mb": 1024 }));
        assert_eq!(
            run(&s, &json!({}), &limits(1000, 256)),
            Outcome::MemoryExceeded {
                limit_mb: 256,
                used_mb: Some(1024)
            }
        );
        let at_limit = sim(json!({ "memory_mb": 256 }));
        assert!(run(&at_limit, &json!({}), &limits(1000, 256)).is_success());
    }

    #[test]
    fn memory_is_judged_before_time_and_bounds_before_errors() {
        let s = sim(json!({ "memory_mb": 1024, "duration_ms": 5000, "error": "boom" }));
        assert!(matches!(
            run(&s, &json!({}), &limits(1000, 256)),
            Outcome::MemoryExceeded { .. }
        ));
        let s = sim(json!({ "duration_ms": 5000, "error": "boom" }));
        assert!(matches!(
            run(&s, &json!({}), &limits(1000, 256)),
            Outcome::Timeout { .. }
        ));
    }

    #[test]
    fn declared_error_fails_without_exit_code() {
        let s = sim(json!({ "error": "replica lag too high" }));
        assert_eq!(
            run(&s, &json!({}), &limits(1000, 256)),
            Outcome::Error {
                message: "replica lag too high".into(),
                exit_code: None
            }
        );
    }

    #[test]
    fn first_matching_case_wins_and_overrides_only_what_it_sets() {
        let s = sim(json!({
            "result": { "status": "default" },
            "duration_ms": 10,
            "cases": [
                { "when": { "mode": "slow" }, "duration_ms": 5000 },
                { "when": { "mode": "slow", "size": 3 }, "result": "never reached" },
                { "when": { "mode": "big" }, "memory_mb": 2048, "result": "big" },
                { "when": { "mode": "bad" }, "error": "bad mode" },
                { "when": { "mode": "fast", "size": 3 }, "result": { "status": "three" } }
            ]
        }));
        let l = limits(1000, 256);
        assert!(matches!(
            run(&s, &json!({ "mode": "slow", "size": 3 }), &l),
            Outcome::Timeout { .. }
        ));
        assert!(matches!(
            run(&s, &json!({ "mode": "big" }), &l),
            Outcome::MemoryExceeded {
                used_mb: Some(2048),
                ..
            }
        ));
        assert!(matches!(
            run(&s, &json!({ "mode": "bad" }), &l),
            Outcome::Error { .. }
        ));
        assert_eq!(
            run(&s, &json!({ "mode": "fast", "size": 3 }), &l),
            Outcome::Success {
                result: json!({ "status": "three" }),
                elapsed_ms: 10
            }
        );
        // Every `when` entry must match, and values compare as JSON (3 is not "3").
        assert_eq!(
            run(&s, &json!({ "mode": "fast", "size": "3" }), &l),
            Outcome::Success {
                result: json!({ "status": "default" }),
                elapsed_ms: 10
            }
        );
        assert!(run(&s, &json!({}), &l).is_success());
        assert!(run(&s, &json!("not an object"), &l).is_success());
    }

    #[test]
    fn a_case_without_conditions_always_applies() {
        let s = sim(json!({ "cases": [ { "when": {}, "error": "always" } ] }));
        assert!(matches!(
            run(&s, &json!(null), &limits(1000, 256)),
            Outcome::Error { .. }
        ));
    }

    #[test]
    fn polls_walk_the_sequence_and_stay_on_its_last_result_while_calls_get_the_result() {
        let s = sim(json!({
            "result": { "phase": "idle" },
            "sequence": [{ "phase": "rolling" }, { "phase": "completed" }],
            "cases": [{ "when": { "d": "stuck" }, "sequence": [{ "phase": "rolling" }] }]
        }));
        let l = limits(1000, 64);
        let args = json!({});
        let args = args.as_object().unwrap();
        let result = |o: Outcome| match o {
            Outcome::Success { result, .. } => result["phase"].clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(result(super::run(&s, args, &l)), json!("idle"));
        assert_eq!(result(run_poll(&s, args, &l, Some(0))), json!("rolling"));
        assert_eq!(result(run_poll(&s, args, &l, Some(1))), json!("completed"));
        assert_eq!(result(run_poll(&s, args, &l, Some(9))), json!("completed"));
        let stuck = json!({ "d": "stuck" });
        let stuck = stuck.as_object().unwrap();
        assert_eq!(result(run_poll(&s, stuck, &l, Some(5))), json!("rolling"));
    }

    proptest! {
        #[test]
        fn success_iff_within_every_bound_and_no_error(
            duration in proptest::option::of(0u64..2000),
            memory in proptest::option::of(0u64..2000),
            error in proptest::option::of("[a-z]{1,8}"),
            case_duration in proptest::option::of(0u64..2000),
            case_memory in proptest::option::of(0u64..2000),
            case_applies in any::<bool>(),
            timeout in 0u64..2000,
            max_memory in 0u64..2000,
        ) {
            let s = Simulated {
                result: json!({ "ok": true }),
                duration_ms: duration,
                memory_mb: memory,
                error: error.clone(),
                sequence: Vec::new(),
                cases: vec![SimulatedCase {
                    when: [("go".to_owned(), json!(true))].into_iter().collect(),
                    result: None,
                    duration_ms: case_duration,
                    memory_mb: case_memory,
                    error: None,
                    sequence: Vec::new(),
                }],
            };
            let (d, m) = if case_applies {
                (case_duration.or(duration), case_memory.or(memory))
            } else {
                (duration, memory)
            };
            let outcome = run(&s, &json!({ "go": case_applies }), &limits(timeout, max_memory));
            let within = d.unwrap_or(0) <= timeout && m.unwrap_or(0) <= max_memory;
            prop_assert_eq!(outcome.is_success(), within && error.is_none());
            if outcome.is_success() {
                prop_assert_eq!(
                    outcome,
                    Outcome::Success { result: json!({ "ok": true }), elapsed_ms: d.unwrap_or(0) }
                );
            }
        }
    }
}
