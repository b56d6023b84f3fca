//! `tai serve`: the JSON API and MCP over the workspace in `--state`, one process for every
//! tenant.
//!
//! Like `tai mcp`, it runs an async runtime around the synchronous engine: it checks the
//! tokens, opens the same workspace the other workspace commands use, and hands both to
//! `server::serve`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::clock::parse_duration;
use crate::ids::TenantId;
use crate::server::session::{LOGIN_TTL, random_token};
use crate::server::{self, AppState, Auth, Hub, ServeOptions, Sessions};
use crate::workspace::{ServerLock, Workspace};

use super::common::open;
use super::log::{self, LogArgs};
use super::{Exit, GlobalArgs};

/// Serve every tenant over HTTP: the JSON API (catalog, entitlement webhook, tenants, calls,
/// receipts) and the Model Context Protocol at `/mcp`.
#[derive(Debug, Args)]
#[command(after_help = "\
The admin token may post entitlement events (the marketplace webhook) and act for every
tenant; a tenant token acts for its own tenant only. Prefer TAI_ADMIN_TOKEN to --admin-token:
command lines are visible to other users of the machine. Without either, a random admin token
is generated and printed once. Ctrl-C or SIGTERM stops accepting connections and lets
in-flight requests finish; every acknowledged receipt is already durable.

Examples:
  tai serve
  tai --state srv-state serve --addr 0.0.0.0:8080 --request-timeout 2m
  TAI_ADMIN_TOKEN=s3cret tai serve --tenant-token acme=acme-s3cret
  curl -H 'Authorization: Bearer s3cret' -d @purchase.json http://127.0.0.1:7878/v1/events
  curl -H 'Authorization: Bearer acme-s3cret' http://127.0.0.1:7878/v1/tenants/acme/tools

An MCP client reaches a tenant's tools at http://127.0.0.1:7878/mcp with that tenant's token
as `Authorization: Bearer`; the list changes, and the client is told, when its plan does.

The demo page is at http://127.0.0.1:7878/. On a loopback address a one-time login link is
printed at start-up: it signs one browser in, once, within 10 minutes, with the admin token's
rights (an HttpOnly, SameSite=Strict session cookie). Elsewhere browser sign-in is off unless
--browser-login on.")]
pub struct ServeArgs {
    /// Address to listen on, IP:PORT (port 0 picks a free port and prints it)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub admin: AdminToken,
    /// A tenant's token, TENANT=TOKEN (repeatable)
    #[arg(long = "tenant-token", value_name = "TENANT=TOKEN", value_parser = parse_tenant_token)]
    pub tenant_tokens: Vec<(TenantId, String)>,
    /// Largest request body accepted, in bytes (larger is answered 413)
    /// GCP entitlement resources and AWS GetEntitlements responses (a JSON file or a
    /// directory) that `POST /v1/marketplace/{gcp|aws|azure}` maps notifications through
    #[arg(long, value_name = "FILE|DIR")]
    pub marketplace_records: Option<std::path::PathBuf>,
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body: u64,
    /// Longest a request may take before it is answered 503 (30s, 2m, ...)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub request_timeout: Duration,
    /// Browser sign-in (the login link and session cookie of the demo page): auto is on for a
    /// loopback --addr only
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = BrowserLogin::Auto)]
    pub browser_login: BrowserLogin,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The admin token option, shared by `tai serve` and `tai demo`.
#[derive(Debug, Clone, Args)]
pub struct AdminToken {
    /// The admin token [default: generated and printed on stderr]
    #[arg(
        long,
        env = "TAI_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,
}

/// When the page's browser sign-in is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrowserLogin {
    /// On when listening on a loopback address.
    Auto,
    /// On wherever the server listens (put TLS in front: the cookie travels with each request).
    On,
    /// Off: the API takes bearer tokens only.
    Off,
}

impl BrowserLogin {
    fn enabled(self, addr: SocketAddr) -> bool {
        match self {
            BrowserLogin::Auto => addr.ip().is_loopback(),
            BrowserLogin::On => true,
            BrowserLogin::Off => false,
        }
    }
}

fn parse_tenant_token(text: &str) -> Result<(TenantId, String), String> {
    let (tenant, token) = text
        .split_once('=')
        .ok_or_else(|| format!("expected TENANT=TOKEN, got `{text}`"))?;
    let tenant = TenantId::new(tenant).map_err(|e| e.to_string())?;
    check_token(token)?;
    Ok((tenant, token.to_owned()))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("the request timeout must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// A token must survive an `Authorization` header unchanged.
fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err("a token must be non-empty printable ASCII without spaces".into());
    }
    Ok(())
}

/// A fresh admin token: 256 random bits, hex.
fn generate_token() -> anyhow::Result<String> {
    random_token().context("cannot generate an admin token")
}

/// The tokens, checked: each names exactly one principal.
fn auth(args: &ServeArgs, admin: &str) -> anyhow::Result<Auth> {
    check_token(admin).map_err(|e| anyhow::anyhow!("invalid admin token: {e}"))?;
    let mut seen = HashSet::from([admin]);
    for (tenant, token) in &args.tenant_tokens {
        if !seen.insert(token.as_str()) {
            bail!("the token of tenant `{tenant}` is also used by another principal");
        }
    }
    Ok(Auth::new(
        admin,
        args.tenant_tokens
            .iter()
            .map(|(tenant, token)| (tenant.clone(), token.as_str())),
    ))
}

pub fn run(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    launch(args, global, |_| Ok(()), |_| {})
}

/// The page's address as a browser should use it: an unspecified listening address (all
/// interfaces) is reached on loopback.
fn page_base(addr: SocketAddr) -> String {
    let mut shown = addr;
    if addr.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{shown}")
}

/// Serves `global.state` as `args` say until Ctrl-C or SIGTERM: `prepare` runs on the
/// workspace before the server listens, and `on_link` gets the login link once it is printed
/// (`tai demo` opens it in a browser).
pub(super) fn launch(
    args: &ServeArgs,
    global: &GlobalArgs,
    prepare: impl FnOnce(&Workspace) -> anyhow::Result<()>,
    on_link: impl FnOnce(&str),
) -> anyhow::Result<Exit> {
    log::install(&args.log, global.color)?;
    let (admin, generated) = match &args.admin.admin_token {
        Some(token) => (token.clone(), false),
        None => (generate_token()?, true),
    };
    let auth = auth(args, &admin)?;
    let _claim = ServerLock::acquire(&global.state)?;
    let hub = Arc::new(Hub::new());
    let workspace = open(global)?.with_observer(hub.clone());
    prepare(&workspace)?;
    let records = match &args.marketplace_records {
        Some(path) => crate::marketplace::Offline::load(path)?,
        None => crate::marketplace::Offline::empty(),
    };
    let options = ServeOptions {
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        request_timeout: args.request_timeout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = server::bind(args.addr).await?;
        let addr = listener.local_addr()?;
        // Installed before the address is announced: from then on a signal stops us gracefully.
        let stop = server::shutdown_signal();
        let (auth, code) = if args.browser_login.enabled(addr) {
            // The cookie is named for the port: browsers share cookies across a host's ports.
            let sessions = Sessions::new(addr.port());
            let code = sessions
                .issue_code()
                .context("cannot generate a login link")?;
            (auth.with_browser_login(sessions), Some(code))
        } else {
            (auth, None)
        };
        let state = AppState::new(Arc::new(workspace), hub, auth)
            .with_marketplace_records(Arc::new(records));
        if generated {
            eprintln!(
                "admin token: {admin}\n  (generated for this run; set TAI_ADMIN_TOKEN or --admin-token to choose one)"
            );
        }
        eprintln!("listening on http://{addr}");
        if let Some(code) = code {
            let link = format!("{}/login?code={code}", page_base(addr));
            eprintln!(
                "demo page: {link}\n  (signs in one browser, once, within {} minutes)",
                LOGIN_TTL.as_secs() / 60
            );
            on_link(&link);
        }
        server::serve(listener, state, options, async {
            stop.await;
            eprintln!("shutting down: finishing in-flight requests");
        })
        .await?;
        eprintln!("stopped");
        anyhow::Ok(Exit::Success)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_tokens_name_a_valid_tenant_and_a_usable_token() {
        let (t, token) = parse_tenant_token("acme=s3cret").unwrap();
        assert_eq!((t.as_str(), token.as_str()), ("acme", "s3cret"));
        assert!(parse_tenant_token("acme").is_err());
        assert!(parse_tenant_token("../x=s3cret").is_err());
        assert!(parse_tenant_token("acme=").is_err());
        assert!(parse_tenant_token("acme=has space").is_err());
    }

    #[test]
    fn generated_tokens_are_long_and_differ() {
        let a = generate_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, generate_token().unwrap());
    }

    #[test]
    fn browser_login_is_loopback_only_unless_asked() {
        let lo: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        assert!(BrowserLogin::Auto.enabled(lo));
        assert!(!BrowserLogin::Auto.enabled(any));
        assert!(BrowserLogin::On.enabled(any));
        assert!(!BrowserLogin::Off.enabled(lo));
        assert_eq!(page_base(any), "http://127.0.0.1:7878");
    }

    #[test]
    fn timeouts_are_positive_durations() {
        assert_eq!(parse_timeout("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
