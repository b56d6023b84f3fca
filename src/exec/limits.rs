//! The bounds one execution runs under, and how they are chosen.
//!
//! Pack authors set bounds at two levels: a pack's `compute_limits` are the defaults for all
//! its actions, and an action may override any of them. Each field is resolved on its own, so
//! an action that only tightens the timeout still inherits the pack's memory limit.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Action, ComputeLimits, Pack};
use crate::receipts::ObjectWriter;

/// Default wall-clock limit when neither action nor pack sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default memory limit in MiB.
pub const DEFAULT_MEMORY_MB: u64 = 256;
/// Default output cap in KiB.
pub const DEFAULT_OUTPUT_KB: u64 = 1024;

/// The bounds one execution runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit.
    pub timeout_ms: u64,
    /// Memory limit in MiB.
    pub max_memory_mb: u64,
    /// Output cap in bytes.
    pub max_output_bytes: u64,
    /// CPU share in percent of one core, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu_percent: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: DEFAULT_TIMEOUT.as_millis() as u64,
            max_memory_mb: DEFAULT_MEMORY_MB,
            max_output_bytes: DEFAULT_OUTPUT_KB * 1024,
            max_cpu_percent: None,
        }
    }
}

impl Limits {
    /// Limits for `action`: the action's own, else the pack's, else the defaults, per field.
    pub fn resolve(action: Option<&Action>, pack: &Pack) -> Limits {
        let layers: [Option<&ComputeLimits>; 2] = [
            action.and_then(|a| a.compute_limits.as_ref()),
            pack.compute_limits.as_ref(),
        ];
        let pick =
            |f: fn(&ComputeLimits) -> Option<u64>| layers.iter().flatten().find_map(|l| f(l));
        let default = Limits::default();
        Limits {
            timeout_ms: pick(|l| l.timeout_ms).unwrap_or(default.timeout_ms),
            max_memory_mb: pick(|l| l.max_memory_mb).unwrap_or(default.max_memory_mb),
            max_output_bytes: pick(|l| l.max_output_kb)
                .map_or(default.max_output_bytes, |kb| kb.saturating_mul(1024)),
            max_cpu_percent: layers.iter().flatten().find_map(|l| l.max_cpu_percent),
        }
    }

    /// These limits with the wall-clock limit tightened to `timeout_ms` when that is lower;
    /// a caller may shorten an action's timeout, never lengthen it. Also says whether it did.
    pub fn tightened(mut self, timeout_ms: Option<u64>) -> (Limits, bool) {
        match timeout_ms {
            Some(ms) if ms < self.timeout_ms => {
                self.timeout_ms = ms;
                (self, true)
            }
            _ => (self, false),
        }
    }

    /// Where the wall-clock limit of `action` in `pack` comes from: `action`, `pack` or
    /// `default`.
    pub fn timeout_source(action: Option<&Action>, pack: &Pack) -> &'static str {
        let has = |l: Option<&ComputeLimits>| l.is_some_and(|l| l.timeout_ms.is_some());
        if has(action.and_then(|a| a.compute_limits.as_ref())) {
            "action"
        } else if has(pack.compute_limits.as_ref()) {
            "pack"
        } else {
            "default"
        }
    }

    /// The wall-clock limit as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The memory limit in bytes.
    pub fn max_memory_bytes(&self) -> u64 {
        self.max_memory_mb.saturating_mul(1024 * 1024)
    }

    /// Writes the limits as a receipt records them, fields in key order; every call that
    /// runs an action records them, so straight into the metadata text.
    pub fn write(&self, limits: &mut ObjectWriter<'_>) {
        if let Some(cpu) = self.max_cpu_percent {
            limits.serialize("max_cpu_percent", &cpu);
        }
        limits.serialize("max_memory_mb", &self.max_memory_mb);
        limits.serialize("max_output_bytes", &self.max_output_bytes);
        limits.serialize("timeout_ms", &self.timeout_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Handler, builtin, load};

    fn limits(json: serde_json::Value) -> Option<ComputeLimits> {
        Some(serde_json::from_value(json).unwrap())
    }

    fn pack(compute_limits: Option<ComputeLimits>) -> Pack {
        let mut pack: Pack = serde_json::from_value(serde_json::json!({
            "pack_id": "demo",
            "version": "1.0.0",
            "description": "demo pack",
        }))
        .unwrap();
        pack.compute_limits = compute_limits;
        pack
    }

    fn action(compute_limits: Option<ComputeLimits>) -> Action {
        let mut action: Action =
            serde_json::from_value(serde_json::json!({ "id": "run" })).unwrap();
        action.compute_limits = compute_limits;
        action
    }

    #[test]
    fn a_call_may_tighten_the_timeout_never_loosen_it() {
        let pack = pack(limits(serde_json::json!({ "timeout_ms": 5000 })));
        let resolved = Limits::resolve(Some(&action(None)), &pack);
        assert_eq!(Limits::timeout_source(Some(&action(None)), &pack), "pack");
        let (tight, did) = resolved.tightened(Some(2000));
        assert_eq!((tight.timeout_ms, did), (2000, true));
        let (loose, did) = resolved.tightened(Some(9000));
        assert_eq!((loose.timeout_ms, did), (5000, false));
        assert_eq!(resolved.tightened(None), (resolved, false));
        let own = action(limits(serde_json::json!({ "timeout_ms": 10 })));
        assert_eq!(Limits::timeout_source(Some(&own), &pack), "action");
        assert_eq!(
            Limits::timeout_source(None, &super::tests::pack(None)),
            "default"
        );
    }

    #[test]
    fn the_canonical_form_is_the_limits_with_keys_sorted() {
        for cpu in [None, Some(50)] {
            let l = Limits {
                max_cpu_percent: cpu,
                ..Limits::default()
            };
            let sorted = serde_json::to_value(l).unwrap().to_string();
            let mut m = crate::receipts::MetadataBuilder::new();
            m.insert_object("limits", |w| l.write(w));
            assert_eq!(m.finish().as_str(), format!(r#"{{"limits":{sorted}}}"#));
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let resolved = Limits::resolve(Some(&action(None)), &pack(None));
        assert_eq!(resolved, Limits::default());
        assert_eq!(Limits::resolve(None, &pack(None)), Limits::default());
        assert_eq!(
            Limits::default(),
            Limits {
                timeout_ms: 30_000,
                max_memory_mb: 256,
                max_output_bytes: 1024 * 1024,
                max_cpu_percent: None,
            }
        );
    }

    #[test]
    fn pack_overrides_defaults_per_field() {
        let pack = pack(limits(serde_json::json!({ "timeout_ms": 5000 })));
        let resolved = Limits::resolve(None, &pack);
        assert_eq!(resolved.timeout_ms, 5000);
        assert_eq!(resolved.max_memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(resolved.max_output_bytes, DEFAULT_OUTPUT_KB * 1024);
    }

    #[test]
    fn action_overrides_pack_per_field() {
        let pack = pack(limits(serde_json::json!({
            "timeout_ms": 5000, "max_memory_mb": 512, "max_output_kb": 8
        })));
        let action = action(limits(serde_json::json!({ "max_memory_mb": 64 })));
        let resolved = Limits::resolve(Some(&action), &pack);
        assert_eq!(
            resolved,
            Limits {
                timeout_ms: 5000,
                max_memory_mb: 64,
                max_output_bytes: 8 * 1024,
                max_cpu_percent: None,
            }
        );
    }

    #[test]
    fn the_cpu_share_is_resolved_like_the_others() {
        let pack = pack(limits(serde_json::json!({ "max_cpu_percent": 50 })));
        assert_eq!(Limits::resolve(None, &pack).max_cpu_percent, Some(50));
        let action = action(limits(serde_json::json!({ "max_cpu_percent": 10 })));
        assert_eq!(
            Limits::resolve(Some(&action), &pack).max_cpu_percent,
            Some(10)
        );
        let json = serde_json::to_value(Limits::default()).unwrap();
        assert!(json.get("max_cpu_percent").is_none(), "{json}");
    }

    #[test]
    fn action_alone_overrides_defaults() {
        let action = action(limits(serde_json::json!({
            "timeout_ms": 100, "max_output_kb": 1
        })));
        let resolved = Limits::resolve(Some(&action), &pack(None));
        assert_eq!(resolved.timeout_ms, 100);
        assert_eq!(resolved.max_memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(resolved.max_output_bytes, 1024);
    }

    #[test]
    fn huge_values_saturate_instead_of_overflowing() {
        let action = action(limits(serde_json::json!({
            "max_memory_mb": u64::MAX, "max_output_kb": u64::MAX
        })));
        let resolved = Limits::resolve(Some(&action), &pack(None));
        assert_eq!(resolved.max_output_bytes, u64::MAX);
        assert_eq!(resolved.max_memory_bytes(), u64::MAX);
    }

    #[test]
    fn demo_cases_overrun_their_bounds() {
        let catalog = load::build(&builtin::sources()).unwrap();
        let mut timeouts = 0;
        let mut memory = 0;
        for pack in catalog.packs() {
            for tool in &pack.tools {
                let Handler::Simulated(sim) = &tool.handler else {
                    continue;
                };
                let limits = Limits::resolve(pack.action(&tool.action), pack);
                // The default outcome stays within bounds; overruns are opt-in per case.
                assert!(
                    sim.duration_ms.unwrap_or(0) <= limits.timeout_ms,
                    "{}",
                    tool.name
                );
                assert!(
                    sim.memory_mb.unwrap_or(0) <= limits.max_memory_mb,
                    "{}",
                    tool.name
                );
                for case in &sim.cases {
                    timeouts +=
                        usize::from(case.duration_ms.is_some_and(|d| d > limits.timeout_ms));
                    memory += usize::from(case.memory_mb.is_some_and(|m| m > limits.max_memory_mb));
                }
            }
        }
        assert!(timeouts >= 2, "demo timeouts: {timeouts}");
        assert!(memory >= 2, "demo memory overruns: {memory}");
    }
}
