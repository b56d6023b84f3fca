//! `tai demo`: a sales engineer's whole set-up in one command — `tai serve` on loopback over
//! a fresh temporary workspace with a demo tenant already on the cheapest plan, and the
//! page's login link printed (or opened in the browser).
//!
//! The workspace lives only as long as the command: Ctrl-C stops the server and removes it,
//! so every demo starts from the same clean slate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use crate::catalog::view::plans_by_price;
use crate::governor::Signal;
use crate::ids::{SkuId, TenantId};
use crate::server::ServeOptions;
use crate::server::session::random_token;
use crate::workspace::Workspace;

use super::log::LogArgs;
use super::serve::{AdminToken, BrowserLogin, ServeArgs, launch};
use super::{Exit, GlobalArgs};

/// Start the demo: the server and its page on loopback, a fresh workspace, a demo tenant
#[derive(Debug, Args)]
#[command(after_help = "\
The workspace is a new temporary directory, removed when the server stops (Ctrl-C). The demo
tenant is bought on --sku (default: the cheapest plan) and its governor booted, so its tools
answer at once. The printed login link signs one browser in, once, within 10 minutes; --open
hands it to xdg-open.

Examples:
  tai demo
  tai demo --open
  tai demo --tenant globex --sku rollback-guard-professional --addr 127.0.0.1:7878
  tai --catalog ./my-catalog demo")]
pub struct DemoArgs {
    /// Address to listen on: a loopback IP and a port (0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// The demo tenant
    #[arg(long, default_value = "acme")]
    pub tenant: TenantId,
    /// The plan the demo tenant starts on [default: the cheapest]
    #[arg(long, value_name = "SKU")]
    pub sku: Option<SkuId>,
    /// Open the login link in the default browser (with xdg-open)
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub admin: AdminToken,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The temporary workspace, removed when dropped.
struct TempState(PathBuf);

impl TempState {
    fn create() -> anyhow::Result<TempState> {
        let suffix = random_token().context("cannot name the temporary workspace")?;
        let dir = std::env::temp_dir().join(format!("tai-demo-{}", &suffix[..12]));
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot create the workspace `{}`", dir.display()))?;
        Ok(TempState(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempState {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => say!("removed the demo workspace {}", self.0.display()),
            Err(e) => say!(
                "warning: cannot remove the demo workspace {}: {e}",
                self.0.display()
            ),
        }
    }
}

pub fn run(args: &DemoArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if !args.addr.ip().is_loopback() {
        bail!(
            "`tai demo` listens on loopback only (got {}); use `tai serve` to listen elsewhere",
            args.addr.ip()
        );
    }
    let temp = TempState::create()?;
    let global = GlobalArgs {
        state: temp.path().to_owned(),
        ..global.clone()
    };
    let defaults = ServeOptions::default();
    let serve = ServeArgs {
        addr: args.addr,
        admin: args.admin.clone(),
        tenant_tokens: Vec::new(),
        tokens_file: None,
        marketplace_records: None,
        max_body: u64::try_from(defaults.max_body).unwrap_or(u64::MAX),
        request_timeout: defaults.request_timeout,
        connections: defaults.connections.into(),
        browser_login: BrowserLogin::On,
        log: args.log.clone(),
    };
    say!(
        "demo workspace: {} (removed when the server stops)",
        temp.path().display()
    );
    let exit = launch(
        &serve,
        &global,
        |ws| onboard(ws, &args.tenant, args.sku.as_ref()),
        |link| {
            if args.open {
                open_browser(link);
            }
            say!("Ctrl-C stops the demo.");
        },
    );
    drop(temp);
    exit
}

/// The demo tenant: bought on `sku` (or the cheapest plan) and booted.
fn onboard(ws: &Workspace, tenant: &TenantId, sku: Option<&SkuId>) -> anyhow::Result<()> {
    let catalog = ws.catalog();
    let sku = match sku {
        Some(s) => crate::catalog::view::find_sku(catalog, s.as_str())?,
        None => match plans_by_price(catalog).first() {
            Some(s) => *s,
            None => bail!("the catalog has no SKU to start the demo tenant on"),
        },
    };
    let outcome = ws.apply_event(&json!({
        "event_type": "entitlement.activated",
        "tenant_id": tenant,
        "sku_id": sku.sku_id,
    }))?;
    if let Some(r) = outcome.refusal {
        bail!(
            "cannot start tenant `{tenant}` on `{}`: {}",
            sku.sku_id,
            r.message
        );
    }
    let booted = ws.signal(tenant, &Signal::default())?;
    say!(
        "demo tenant: `{tenant}` on `{}` ({}), governor {}",
        sku.sku_id,
        sku.title,
        booted.state
    );
    Ok(())
}

/// Hands `link` to the desktop's browser; says so when there is none.
fn open_browser(link: &str) {
    let opened = Command::new("xdg-open")
        .arg(link)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match opened {
        // Reaped in the background: xdg-open returns once the browser has the link.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => say!("cannot run xdg-open ({e}): open the link above in a browser"),
    }
}
