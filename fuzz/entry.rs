//! The fuzz targets' entry points, shared by the cargo-fuzz targets (nightly) and the stable
//! replay of `fuzz/regressions/` (`tests/engine/fuzz_regressions.rs`): each takes arbitrary
//! bytes through the same library functions the CLI and `tai serve` use. A panic or a hang
//! is a finding; every error is an expected answer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use tai::catalog::Catalog;
use tai::catalog::load::{self, DocKind, Scope, SourceFile, Syntax};
use tai::clock::{SimClock, Timestamp};
use tai::engine::MemoryEngine;
use tai::entitlement::Marketplace;
use tai::governor::{Signal, ToolCall};
use tai::ids::TenantId;
use tai::intake::UniqueKeys;
use tai::marketplace::{self, Context, MappedOutcome, Offline};
use tai::receipts::ledger::{FileLedger, LedgerDir, WAL_FILES};
use tai::receipts::signing::{CheckpointSigner, PublicKey};
use tai::receipts::{IdSource, ProofFile, verify_ledger};

/// The built-in catalog, built once.
fn builtin() -> Arc<Catalog> {
    static CATALOG: OnceLock<Option<Arc<Catalog>>> = OnceLock::new();
    let built = CATALOG.get_or_init(|| {
        load::build(&tai::catalog::builtin::sources())
            .ok()
            .map(Arc::new)
    });
    match built {
        Some(c) => Arc::clone(c),
        None => Arc::new(Catalog::new(Vec::new(), Vec::new())),
    }
}

fn engine() -> MemoryEngine {
    let clock = SimClock::new(Timestamp::from_secs(1_767_225_600));
    MemoryEngine::new(builtin(), Arc::new(clock), IdSource::seeded(7))
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Pack and SKU loading and validation: the first byte picks YAML or TOML; the text is a
/// pack, then (after a line `---SKU---`) a SKU, checked as a catalog fragment; what
/// validates is built and every tool's arguments checked against its input schema.
pub fn catalog(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = text(rest) else {
        return;
    };
    let (syntax, ext) = if first % 2 == 0 {
        (Syntax::Yaml, "yaml")
    } else {
        (Syntax::Toml, "toml")
    };
    let (pack, sku) = text.split_once("\n---SKU---\n").unwrap_or((text, ""));
    let file = |kind: DocKind, folder: &str, text: &str| SourceFile {
        path: PathBuf::from(folder).join(format!("x.{ext}")),
        kind,
        syntax,
        text: text.to_owned(),
    };
    let files = vec![
        file(DocKind::Pack, "packs", pack),
        file(DocKind::Sku, "skus", sku),
    ];
    let loaded = load::check(&files, Scope::Fragment);
    let _ = tai::diagnostics::render::json(&loaded.report);
    if let Ok(catalog) = load::build(&files) {
        for pack in catalog.packs() {
            for tool in &pack.tools {
                if let Some(t) = catalog.tool(tool.name.as_str()) {
                    let _ = t.argument_problems(&Map::new());
                }
            }
        }
    }
}

/// Scenario loading, checking against the built-in catalog, and running small ones.
pub fn scenario(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let catalog = builtin();
    let Ok(file) = tai::scenario::suite::SuiteFile::from_text("f.yaml", text.to_owned(), &catalog)
    else {
        return;
    };
    if file.scenario.steps.len() <= 16 {
        let _ = tai::scenario::run(&file.scenario, "f.yaml", catalog);
    }
}

/// Entitlement event files as `tai event --file` reads them, applied to an engine.
pub fn event(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let Ok(raw) = tai::intake::parse_yaml::<Value>(Path::new("e.yaml"), text) else {
        return;
    };
    let _ = engine().apply_event_json(&raw);
}

/// Ledger reading and verification: the first byte is the length of a chain head taken
/// from the end of the input; the rest is the ledger.
pub fn ledger(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let _ = verify_ledger(rest, None);
    let split = rest.len().saturating_sub(usize::from(n));
    let (ledger, head) = rest.split_at(split);
    let _ = verify_ledger(ledger, Some(head));
}

/// A write-ahead log a stopped writer left: the bytes as its first file, beside tenant
/// `acme`'s empty ledger; read as `tai receipts verify` reads it, then replayed as the next
/// writer does (in a directory of its own under the system's temporary directory).
pub fn wal(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let state = std::env::temp_dir().join(format!(
        "tai-fuzz-wal-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = replay_wal(&state, data);
    let _ = std::fs::remove_dir_all(&state);
}

fn replay_wal(state: &Path, data: &[u8]) -> Option<()> {
    let dir = LedgerDir::in_state(state);
    std::fs::create_dir_all(dir.path()).ok()?;
    std::fs::write(dir.path().join(WAL_FILES[0]), data).ok()?;
    let acme = TenantId::new("acme").ok()?;
    std::fs::write(dir.ledger_path(&acme), b"").ok()?;
    let _ = dir.read_head(&acme);
    let _ = dir.verify(&acme, true);
    let _ = FileLedger::open(state).map(drop);
    Some(())
}

/// The JSON bodies `tai serve` takes: an entitlement event (`POST /v1/events`), then the same
/// bytes as a call (`POST /v1/tenants/{t}/calls`) and a signal for an entitled tenant.
pub fn http_body(data: &[u8]) {
    // As the event webhook reads its body: every object's keys unique.
    let Ok(UniqueKeys(raw)) = serde_json::from_slice(data) else {
        return;
    };
    let mut engine = engine();
    let _ = engine.apply_event_json(&raw);
    let Ok(acme) = TenantId::new("acme") else {
        return;
    };
    let activate = serde_json::json!({ "event_type": "entitlement.activated",
        "tenant_id": "acme", "sku_id": "rollback-guard-professional" });
    let _ = engine.apply_event_json(&activate);
    let object = |key: &str| match raw.get(key) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let _ = engine.signal(
        &acme,
        &Signal {
            facts: object("facts"),
            ..Signal::default()
        },
    );
    let call = ToolCall {
        tool: raw
            .get("tool")
            .and_then(Value::as_str)
            .unwrap_or("ac_rollback_status")
            .to_owned(),
        arguments: object("arguments"),
        context: object("context"),
        idempotency_key: raw
            .get("idempotency_key")
            .and_then(Value::as_str)
            .and_then(|k| tai::ids::IdempotencyKey::new(k).ok()),
        principal: raw
            .get("principal")
            .and_then(Value::as_str)
            .and_then(|p| tai::iam::Principal::parse(p).ok()),
        timeout_ms: raw.get("timeout_ms").and_then(Value::as_u64),
    };
    let _ = engine.call(&acme, &call);
}

/// A marketplace's notification, as `tai event import` and `POST /v1/marketplace/...` take it:
/// the first byte picks GCP, AWS or Azure; the rest is the notification, then (after a line
/// `---RECORD---`) an API answer (a GCP entitlement resource or an AWS GetEntitlements
/// response) to map it through. What maps is applied.
pub fn marketplace(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Some(text) = text(rest) else {
        return;
    };
    let which = match first % 3 {
        0 => Marketplace::Gcp,
        1 => Marketplace::Aws,
        _ => Marketplace::Azure,
    };
    let (notification, record) = text.split_once("\n---RECORD---\n").unwrap_or((text, ""));
    let mut records = Offline::empty("--resources");
    if let Ok(record) = serde_json::from_str::<Value>(record) {
        let _ = records.add(Path::new("record.json"), &record);
    }
    let Ok(UniqueKeys(raw)) = serde_json::from_str(notification) else {
        return;
    };
    let catalog = builtin();
    let ctx = Context::new(&catalog, &records);
    if let Ok(mapped) = marketplace::map(which, &raw, &ctx)
        && let MappedOutcome::Event(event) = mapped.outcome
    {
        let _ = engine().apply_event(&event);
    }
}

/// A proof file as `tai receipts verify-proof` reads it: decoded, its tree checked, and its
/// signatures checked against a fixed key.
pub fn proof(data: &[u8]) {
    let Ok(file) = ProofFile::from_json(data) else {
        return;
    };
    let keys: [PublicKey; 1] = [CheckpointSigner::from_seed([7; 32]).public().clone()];
    match file {
        ProofFile::Inclusion(p) => {
            let _ = p.check_tree();
            let _ = p.verify(&keys);
        }
        ProofFile::Consistency(p) => {
            let _ = p.check_tree();
            let _ = p.verify(&keys);
        }
    }
}
