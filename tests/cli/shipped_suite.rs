//! The shipped scenario suite (`tests/scenarios/`, the demo scripts too) passes against the
//! shipped catalog and covers every tool, action, refusal code and governor transition.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

#[test]
fn the_shipped_suite_passes_with_full_coverage() {
    let root = common::root();
    let out = common::tai()
        .args([
            "test",
            "--coverage",
            "--min-coverage",
            "100",
            "--format",
            "json",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let scenarios = std::fs::read_dir(root.join("tests/scenarios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(scenarios >= 15, "{scenarios} scenario files");
    assert_eq!(report["summary"]["passed"], scenarios);
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["coverage"]["percent"], 100.0);
    assert_eq!(report["coverage"]["covered"], report["coverage"]["total"]);
}
