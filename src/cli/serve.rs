//! `tai serve`: the JSON API and MCP over the workspace in `--state`, one process for every
//! tenant.
//!
//! Like `tai mcp`, it runs an async runtime around the synchronous engine: it checks the
//! tokens, opens the same workspace the other workspace commands use, and hands both to
//! `server::serve`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::clock::parse_duration;
use crate::diagnostics::plural;
use crate::ids::TenantId;
use crate::server::session::{LOGIN_TTL, random_token};
use crate::server::tokens::{Tokens, check_token, read_tokens_file};
use crate::server::{self, AppState, Auth, ConnLimits, Hub, ServeOptions, Sessions};
use crate::workspace::{ServerLock, Workspace};

use super::common::open;
use super::log::{self, LogArgs};
use super::{Exit, GlobalArgs};

/// Serve every tenant over HTTP: the JSON API (catalog, entitlement webhook, tenants, calls,
/// receipts) and the Model Context Protocol at `/mcp`.
#[derive(Debug, Args)]
#[command(after_help = "\
The admin token may post entitlement events (the marketplace webhook) and act for every
tenant; a tenant token acts for its own tenant only. Prefer --tokens-file (a TOML file of mode
0600: `admin = \"...\"` and a `[tenants]` table) to --admin-token and --tenant-token: command
lines are visible to every user of the machine. Without an admin token, a random one is
generated and printed once. The server makes itself non-dumpable at start-up, so other
processes of its user cannot read its memory or environment. Ctrl-C or SIGTERM stops
accepting connections and lets in-flight requests finish (for at most --shutdown-timeout);
every acknowledged receipt is already durable. A client that does not finish its request
headers within --header-timeout, or leaves its connection idle for --idle-timeout, is
disconnected.

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
    /// Read the admin and tenant tokens from FILE (TOML, mode 0600 or stricter), once
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// GCP entitlement resources and AWS GetEntitlements responses (a JSON file or a
    /// directory) that `POST /v1/marketplace/{gcp|aws|azure}` maps notifications through
    #[arg(long, value_name = "FILE|DIR")]
    pub marketplace_records: Option<PathBuf>,
    /// Largest request body accepted, in bytes (larger is answered 413)
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body: u64,
    /// Longest a request may take before it is answered 503 (30s, 2m, ...)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub request_timeout: Duration,
    #[command(flatten)]
    pub connections: ConnArgs,
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

/// How `tai serve` treats connections (the defaults are [`ConnLimits::default`]).
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Longest a client may take to send a request's headers before it is disconnected
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: Duration,
    /// Longest a connection may sit idle between requests before it is closed
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub idle_timeout: Duration,
    /// Most connections open at once (more are closed as soon as they are accepted)
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Longest shutdown waits for open connections before closing them
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub shutdown_timeout: Duration,
}

impl ConnArgs {
    fn limits(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

impl From<ConnLimits> for ConnArgs {
    fn from(limits: ConnLimits) -> Self {
        ConnArgs {
            header_timeout: limits.header_timeout,
            idle_timeout: limits.idle_timeout,
            max_connections: u32::try_from(limits.max_connections).unwrap_or(u32::MAX),
            shutdown_timeout: limits.shutdown_timeout,
        }
    }
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
        Ok(d) if d.is_zero() => Err("a timeout must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// A fresh admin token: 256 random bits, hex.
fn generate_token() -> anyhow::Result<String> {
    random_token().context("cannot generate an admin token")
}

/// The tokens, checked: each names exactly one principal.
fn auth(admin: &str, tenants: &[(TenantId, String)]) -> anyhow::Result<Auth> {
    check_token(admin).map_err(|e| anyhow::anyhow!("invalid admin token: {e}"))?;
    let mut seen = HashSet::from([admin]);
    let mut named = HashSet::new();
    for (tenant, token) in tenants {
        if !named.insert(tenant) {
            bail!("tenant `{tenant}` is given two tokens");
        }
        if !seen.insert(token.as_str()) {
            bail!("the token of tenant `{tenant}` is also used by another principal");
        }
    }
    Ok(Auth::new(
        admin,
        tenants
            .iter()
            .map(|(tenant, token)| (tenant.clone(), token.as_str())),
    ))
}

/// Every token from the command line, the environment and the tokens file (the admin token
/// always set), and whether the admin token was generated.
fn tokens(args: &ServeArgs) -> anyhow::Result<(Tokens, bool)> {
    let file = match &args.tokens_file {
        Some(path) => read_tokens_file(path)?,
        None => Tokens::default(),
    };
    let mut tenants = args.tenant_tokens.clone();
    tenants.extend(file.tenants);
    let (admin, generated) = match (&args.admin.admin_token, file.admin) {
        (Some(_), Some(_)) => bail!(
            "the admin token is given twice: by the tokens file and by --admin-token or TAI_ADMIN_TOKEN"
        ),
        (Some(token), None) => (token.clone(), false),
        (None, Some(token)) => (token, false),
        (None, None) => (generate_token()?, true),
    };
    let tokens = Tokens {
        admin: Some(admin),
        tenants,
    };
    Ok((tokens, generated))
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
    // Before any secret is read: other processes of this user (a command handler among them)
    // must not read our memory or /proc/<pid>/environ.
    #[cfg(target_os = "linux")]
    crate::exec::make_non_dumpable().context("cannot make the server non-dumpable")?;
    let (tokens, generated) = tokens(args)?;
    let admin = tokens.admin.unwrap_or_default();
    let auth = auth(&admin, &tokens.tenants)?;
    let _claim = ServerLock::acquire(&global.state)?;
    let hub = Arc::new(Hub::new());
    let workspace = open(global)?.with_observer(hub.clone());
    prepare(&workspace)?;
    // Read again when a lookup misses and the files changed: a record added while the
    // server runs is found by the marketplace's next delivery.
    let records: Arc<dyn crate::marketplace::Resources + Send + Sync> =
        match &args.marketplace_records {
            Some(path) => Arc::new(crate::marketplace::Reloading::load(
                path,
                "--marketplace-records",
            )?),
            None => Arc::new(crate::marketplace::Offline::empty("--marketplace-records")),
        };
    let options = ServeOptions {
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        request_timeout: args.request_timeout,
        connections: args.connections.limits(),
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
            .with_marketplace_records(records);
        if generated {
            say!(
                "admin token: {admin}\n  (generated for this run; set one in --tokens-file to choose it)"
            );
        }
        say!("listening on http://{addr}");
        if let Some(code) = code {
            let link = format!("{}/login?code={code}", page_base(addr));
            say!(
                "demo page: {link}\n  (signs in one browser, once, within {} minutes)",
                LOGIN_TTL.as_secs() / 60
            );
            on_link(&link);
        }
        let cut = server::serve(listener, state, options, async {
            stop.await;
            say!("shutting down: finishing in-flight requests");
        })
        .await?;
        if cut > 0 {
            say!(
                "closed {} still open after the {} shutdown deadline",
                plural(cut, "connection"),
                humantime::format_duration(args.connections.shutdown_timeout)
            );
        }
        say!("stopped");
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
