//! Catalog validation at marketplace scale: 1,000 packs and 1k / 10k / 100k SKUs — the
//! "10,000 variants" of one artifact — parsed with positions and checked with every rule.
//!
//! Run with `cargo bench --bench validate`. Target: 1,000 packs + 10,000 SKUs in under 1 s,
//! with about 17,500 warnings too (checked and rendered for people, as JSON or for GitHub),
//! time growing linearly with the number of SKUs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tai::catalog::load::{self, DocKind, Scope, SourceFile};
use tai::diagnostics::render;
use tai::spans::Syntax;

// The same allocator as the `tai` binary, so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PACKS: usize = 1_000;

/// A pack with three tools and three actions; every tenth pack requires the one before it.
fn pack(i: usize) -> SourceFile {
    let requires = if i % 10 == 9 {
        format!("requires: [pack_{:04}]\n", i - 1)
    } else {
        String::new()
    };
    let mut text = format!(
        "pack_id: pack_{i:04}\nversion: 1.{}.0\ndescription: Generated pack {i}.\n{requires}\
         required_iam_roles: [role_{r}]\ncompute_limits: {{ timeout_ms: 30000, max_memory_mb: 256 }}\ntools:\n",
        i % 7,
        r = i % 50
    );
    for t in 0..3 {
        text.push_str(&format!(
            "  - name: tool_{i:04}_{t}\n    description: Tool {t} of pack {i}.\n    \
             input_schema:\n      type: object\n      properties:\n        target: {{ type: string, description: What to act on. }}\n        \
             limit: {{ type: integer, minimum: 1 }}\n      required: [target]\n    action: act_{t}\n    \
             handler: {{ kind: simulated, result: {{ ok: true, tool: {t} }}, duration_ms: 20 }}\n"
        ));
    }
    text.push_str("actions:\n");
    for t in 0..3 {
        text.push_str(&format!(
            "  - id: act_{t}\n    description: Action {t}.\n    roles: [role_{r}]\n    preconditions:\n      \
             - {{ key: ready, check: {{ equals: true }}, default: true, code: not_ready, message: The target is not ready. }}\n",
            r = i % 50
        ));
    }
    SourceFile {
        path: PathBuf::from(format!("packs/pack_{i:04}.yaml")),
        kind: DocKind::Pack,
        syntax: Syntax::Yaml,
        text,
    }
}

/// A SKU enabling three packs (with what they require) and granting their roles.
fn sku(i: usize) -> SourceFile {
    sku_granting(i, false)
}

/// A SKU as [`sku`]; with `short`, three SKUs in four grant one role too few, so the actions
/// needing it are unusable: about 1.75 `unusable_action` warnings per SKU, as in a large
/// catalog where plans deliberately leave some actions out.
fn sku_granting(i: usize, short: bool) -> SourceFile {
    let first = (i * 7) % (PACKS - 3);
    let mut packs: Vec<usize> = (first..first + 3).collect();
    // Bring in what a pack requires, so every generated SKU is valid.
    let required: Vec<usize> = packs
        .iter()
        .filter(|p| *p % 10 == 9)
        .map(|p| p - 1)
        .collect();
    packs.extend(required);
    packs.sort_unstable();
    packs.dedup();
    let names: Vec<String> = packs.iter().map(|p| format!("pack_{p:04}")).collect();
    let mut roles: Vec<String> = packs.iter().map(|p| format!("role_{}", p % 50)).collect();
    roles.sort();
    roles.dedup();
    if short && !i.is_multiple_of(4) {
        roles.pop();
    }
    let text = format!(
        "sku_id: sku-{i:06}\nplan_id: plan-{i:06}\ntitle: Generated plan {i}\n\
         price: {{ amount: {}, currency: USD, period: monthly }}\nenabled_packs: [{}]\n\
         iam_roles: [{}]\nterm: monthly\nrecommended_for: Benchmarks\n",
        10 + i % 990,
        names.join(", "),
        roles.join(", ")
    );
    SourceFile {
        path: PathBuf::from(format!("skus/sku-{i:06}.yaml")),
        kind: DocKind::Sku,
        syntax: Syntax::Yaml,
        text,
    }
}

/// Checks and renders `files`, whose catalog has warnings but no errors, the three ways the
/// CLI shows a report; the best of `runs` for each (check, then check + render).
fn with_warnings(runs: usize, files: &[SourceFile]) -> (usize, [Duration; 4]) {
    let mut best = [Duration::MAX; 4];
    let mut warnings = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let loaded = load::check(files, Scope::Catalog);
        let checked = t0.elapsed();
        assert!(!loaded.report.has_errors());
        warnings = loaded.report.warnings();
        let renders: [fn(&tai::diagnostics::Report) -> String; 3] =
            [|r| render::human(r, false), render::json, render::github];
        best[0] = best[0].min(checked);
        for (slot, render) in best[1..].iter_mut().zip(renders) {
            let t1 = Instant::now();
            std::hint::black_box(render(&loaded.report));
            *slot = (*slot).min(checked + t1.elapsed());
        }
    }
    (warnings, best)
}

fn best_of(runs: usize, files: &[SourceFile]) -> Duration {
    (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            let loaded = load::check(files, Scope::Catalog);
            let elapsed = t0.elapsed();
            assert!(
                !loaded.report.has_errors(),
                "generated catalog has errors: {:?}",
                loaded.report.diagnostics().first()
            );
            elapsed
        })
        .min()
        .unwrap()
}

fn main() {
    let packs: Vec<SourceFile> = (0..PACKS).map(pack).collect();
    println!("catalog validation: parse with positions + every rule, {PACKS} packs");
    println!(
        "    {:>7}  {:>9}  {:>10}  {:>12}  {:>14}",
        "skus", "files", "MB", "time", "µs per file"
    );
    for skus in [1_000usize, 10_000, 100_000] {
        let mut files = packs.clone();
        files.extend((0..skus).map(sku));
        let mb = files.iter().map(|f| f.text.len()).sum::<usize>() as f64 / 1e6;
        let runs = if skus >= 100_000 { 1 } else { 3 };
        let t = best_of(runs, &files);
        println!(
            "    {skus:>7}  {:>9}  {mb:>10.1}  {:>9.0} ms  {:>14.1}",
            files.len(),
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / files.len() as f64
        );
    }

    let mut files = packs.clone();
    files.extend((0..10_000).map(|i| sku_granting(i, true)));
    let (warnings, [checked, human, json, github]) = with_warnings(3, &files);
    println!(
        "with warnings: {PACKS} packs + 10000 SKUs, {warnings} warnings: check {:.0} ms, \
         + human {:.0} ms, + json {:.0} ms, + github {:.0} ms",
        checked.as_secs_f64() * 1e3,
        human.as_secs_f64() * 1e3,
        json.as_secs_f64() * 1e3,
        github.as_secs_f64() * 1e3,
    );
}
