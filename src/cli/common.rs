//! Helpers every command shares: finding and loading the catalog, opening the workspace,
//! printing JSON and receipt lines.

use std::path::{Path, PathBuf};

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::catalog::{Catalog, builtin, load};
use crate::clock::{Clock, SimClock, SystemClock, Timestamp};
use crate::diagnostics::{Diagnostic, Severity, plural};
use crate::explain::explain;
use crate::receipts::ledger::{Ledger, LedgerOptions};
use crate::receipts::{CheckpointSigner, PublicKey, Receipt};
use crate::workspace::{Workspace, WorkspaceError};

use super::{Exit, GlobalArgs, timeline};

/// A library diagnostic (an unreadable or malformed input) as the command's error, its hint
/// kept.
pub fn input_error(d: Box<Diagnostic>) -> anyhow::Error {
    match &d.help {
        Some(help) => anyhow::anyhow!("{d}\n  help: {help}"),
        None => anyhow::anyhow!("{d}"),
    }
}

/// Where the catalog comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// A directory with `packs/` and `skus/`.
    Dir(PathBuf),
    /// The catalog compiled into the binary.
    BuiltIn,
}

impl CatalogSource {
    /// `--catalog` / `TAI_CATALOG` when given; else the current directory when it has
    /// `packs/` and `skus/` (or `packs/` alone, holding pack files); else the built-in
    /// catalog.
    pub fn resolve(global: &GlobalArgs) -> CatalogSource {
        if let Some(dir) = &global.catalog {
            return CatalogSource::Dir(dir.clone());
        }
        let here = Path::new(".");
        if load::is_catalog_dir(here) {
            CatalogSource::Dir(here.to_path_buf())
        } else {
            CatalogSource::BuiltIn
        }
    }

    /// Which catalog this is, for messages: "the catalog in `./`", "the built-in catalog".
    pub fn describe(&self) -> String {
        match self {
            CatalogSource::Dir(dir) if dir.as_os_str() == "." => {
                if dir.join("skus").is_dir() {
                    "the catalog in ./packs and ./skus".to_owned()
                } else {
                    "the catalog in ./packs (no ./skus)".to_owned()
                }
            }
            CatalogSource::Dir(dir) => format!("the catalog in `{}`", dir.display()),
            CatalogSource::BuiltIn => {
                "the built-in catalog (no ./packs here; --catalog DIR or TAI_CATALOG picks another)"
                    .to_owned()
            }
        }
    }

    /// The definition files of this source.
    pub fn files(&self) -> anyhow::Result<Vec<load::SourceFile>> {
        match self {
            CatalogSource::Dir(dir) => Ok(load::read_dir(dir)?),
            CatalogSource::BuiltIn => Ok(builtin::sources()),
        }
    }
}

/// Loads the catalog the global options point at; a catalog with errors is refused with a
/// pointer to `tai validate` (warnings are allowed).
pub fn load_catalog(global: &GlobalArgs) -> anyhow::Result<Catalog> {
    let source = CatalogSource::resolve(global);
    let files = source.files()?;
    match load::build(&files) {
        Ok(catalog) => Ok(catalog),
        Err(report) => {
            let first = report
                .diagnostics()
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(ToString::to_string)
                .unwrap_or_default();
            bail!(
                "the catalog has {}, first: {first}\nhint: run `tai validate` for details",
                plural(report.errors(), "error")
            )
        }
    }
}

pub(super) fn clock(global: &GlobalArgs) -> anyhow::Result<Arc<dyn Clock>> {
    Ok(match &global.now {
        Some(t) => Arc::new(SimClock::new(Timestamp::parse(t)?)),
        None => Arc::new(SystemClock),
    })
}

/// The database ledger `--ledger`/`TAI_LEDGER` names, connected (and migrated) once per run;
/// `None` when receipts are kept in the state directory.
pub(super) fn database(global: &GlobalArgs) -> anyhow::Result<Option<Arc<dyn Ledger>>> {
    let Some(url) = global.ledger.as_deref() else {
        return Ok(None);
    };
    connect_ledger(url, None, clock(global)?, false).map(Some)
}

/// The database ledger at `url`, connected (and migrated) once per run and signer, signing
/// each commit round's checkpoints with `signer` dated by `clock`.
#[cfg(feature = "postgres")]
pub(super) fn connect_ledger(
    url: &str,
    signer: Option<Arc<CheckpointSigner>>,
    clock: Arc<dyn Clock>,
    adopt_unsigned: bool,
) -> anyhow::Result<Arc<dyn Ledger>> {
    use crate::receipts::ledger::{PostgresLedger, PostgresOptions, is_postgres_url};
    type Connected = (String, Option<String>, Arc<PostgresLedger>);
    static CONNECTED: std::sync::Mutex<Vec<Connected>> = std::sync::Mutex::new(Vec::new());
    let key_id = signer.as_ref().map(|s| s.public().key_id().to_owned());
    let mut connected = crate::sync::lock(&CONNECTED);
    if let Some((_, _, ledger)) = connected.iter().find(|(u, k, _)| u == url && *k == key_id) {
        return Ok(Arc::clone(ledger) as Arc<dyn Ledger>);
    }
    if !is_postgres_url(url) {
        bail!(
            "--ledger `{}` is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)\n\
             hint: without --ledger, receipts are kept in the state directory (--state)",
            crate::receipts::ledger::redact_url(url)
        );
    }
    let options = PostgresOptions {
        signer,
        clock,
        adopt_unsigned,
        ..PostgresOptions::default()
    };
    let ledger = Arc::new(PostgresLedger::connect_with(url, &options)?);
    connected.push((url.to_owned(), key_id, Arc::clone(&ledger)));
    Ok(ledger)
}

#[cfg(not(feature = "postgres"))]
pub(super) fn connect_ledger(
    _url: &str,
    _signer: Option<Arc<CheckpointSigner>>,
    _clock: Arc<dyn Clock>,
    _adopt_unsigned: bool,
) -> anyhow::Result<Arc<dyn Ledger>> {
    bail!("this tai was built without the `postgres` feature: --ledger is not available")
}

/// Opens the workspace for writing, signing with `--signing-key` when given.
pub(super) fn open(global: &GlobalArgs) -> anyhow::Result<Workspace> {
    let catalog = Arc::new(load_catalog(global)?);
    let clock = clock(global)?;
    // The key is kept away from the state directory even with a database ledger: the
    // directory holds the workspace's other files.
    let signer = match &global.signing_key {
        Some(path) => {
            let previous = global
                .previous_keys
                .iter()
                .map(|p| PublicKey::load(p))
                .collect::<Result<Vec<_>, _>>()?;
            let signer = CheckpointSigner::load(path, Some(&global.state))?.continuing(previous);
            Some(Arc::new(signer))
        }
        None if !global.previous_keys.is_empty() => {
            bail!(
                "--previous-key names keys a signing key continues, but no --signing-key \
                 (or TAI_SIGNING_KEY) is given"
            )
        }
        None => None,
    };
    if let Some(url) = global.ledger.as_deref() {
        let ledger = connect_ledger(url, signer, Arc::clone(&clock), global.adopt_unsigned)?;
        return Workspace::open_on(&global.state, catalog, clock, ledger)
            .with_context(|| format!("cannot open the workspace in `{}`", global.state.display()));
    }
    let options = LedgerOptions {
        signer,
        clock,
        adopt_unsigned: global.adopt_unsigned,
    };
    let ws = Workspace::open_with(&global.state, catalog, options)
        .with_context(|| format!("cannot open the workspace in `{}`", global.state.display()))?;
    Ok(ws)
}

pub(super) fn print_receipts(out: &mut dyn Write, receipts: &[Receipt]) -> std::io::Result<()> {
    for r in receipts {
        writeln!(out, "  {}", timeline::line(r))?;
    }
    Ok(())
}

/// What a reading command answers when a tenant cannot be read: a chain that does not
/// replay, or a stored record that does not verify, is a failed check of the record (exit 1,
/// as `tai receipts verify` says), never a state made up from part of it; anything else (an
/// unreadable file, a database away) is the error it is.
pub(super) fn read_failure(e: WorkspaceError) -> anyhow::Result<Exit> {
    match e {
        WorkspaceError::Replay(_) => {}
        WorkspaceError::Ledger(ref l) if l.is_broken_record() => {}
        e => return Err(e.into()),
    }
    say!("error: {e}");
    Ok(Exit::Failure)
}

/// The workspace for reading only: the state directory's ledgers, or the database's.
pub(super) fn open_read_only(
    global: &GlobalArgs,
    catalog: Arc<Catalog>,
) -> anyhow::Result<Workspace> {
    Ok(match database(global)? {
        Some(ledger) => Workspace::with_ledger(
            catalog,
            clock(global)?,
            crate::receipts::IdSource::seeded(0),
            ledger,
        )
        .read_only(),
        None => Workspace::open_read_only(&global.state, catalog, clock(global)?),
    })
}

/// The refusal, failure or postponement among `receipts` in words, after the one-line
/// verdict: why it happened, what would make it pass, and the plans that would (the same
/// explanation the web page and `GET /v1/tenants/{t}/explain` give). `said` is the message
/// already printed, so a "why" that only repeats it is left out. Prints nothing when nothing
/// was refused.
pub(super) fn print_explanation(
    out: &mut dyn Write,
    catalog: &Catalog,
    receipts: &[Receipt],
    said: &str,
) -> std::io::Result<()> {
    let Some(e) = receipts.iter().rev().find_map(|r| explain(catalog, r)) else {
        return Ok(());
    };
    let bare = |s: &str| s.trim().trim_end_matches('.').to_lowercase();
    if bare(&e.why) != bare(said) {
        writeln!(out, "why: {}", e.why)?;
    }
    writeln!(out, "to pass: {}", e.fix)?;
    if !e.plans.is_empty() {
        let plans: Vec<String> = e
            .plans
            .iter()
            .map(|p| format!("{} ({})", p.title, p.price_label))
            .collect();
        writeln!(out, "plans: {}", plans.join(", "))?;
    }
    Ok(())
}
