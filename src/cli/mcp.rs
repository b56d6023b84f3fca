//! `tai mcp`: one tenant's tools over the Model Context Protocol on stdin/stdout, for a
//! desktop MCP client that starts the server itself.
//!
//! The server is [`TaiMcp`] over the local workspace, so calls write the same receipts to the
//! same ledger as `tai call`. stdout carries only protocol messages; notes go to stderr.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rmcp::ServiceExt;

use crate::catalog::view::find_sku;
use crate::entitlement::{EntitlementEvent, EventKind, Standing};
use crate::governor::{GovernorState, Signal};
use crate::ids::{SkuId, TenantId};
use crate::server::Hub;
use crate::server::mcp::TaiMcp;
use crate::workspace::Workspace;

use super::log::{self, LogArgs};
use super::{Exit, GlobalArgs, common};

/// Serve one tenant's tools over MCP (stdio).
#[derive(Debug, Args)]
#[command(after_help = "\
tools/list is the tenant's entitled tools; tools/call runs through its governor and writes a
receipt to the state directory, exactly like `tai call`. A refusal is a tool result with
isError set (decision, gate, reason code, message); a tool outside the tenant's packs is a
protocol error. Precondition values can be sent in the request's _meta as \"tai/context\".

The server holds the tenant's ledger while it runs: `tai event` for that tenant from another
shell is refused until it exits. Change plans live with `tai serve` instead, where connected
clients are told the tool list changed.

Examples:
  tai mcp --tenant acme --sku rollback-guard-base     # activate and boot if needed, then serve
  tai --state \"$PWD/.tai\" mcp --tenant acme     # an existing tenant as it is

An MCP client configuration (clients start servers in a directory of their choosing, so give
--state an absolute path):
  {
    \"mcpServers\": {
      \"tai\": {
        \"command\": \"tai\",
        \"args\": [\"--state\", \"/path/to/tai-state\", \"mcp\",
                 \"--tenant\", \"acme\", \"--sku\", \"rollback-guard-base\"]
      }
    }
  }")]
pub struct McpArgs {
    /// The tenant whose tools to serve
    #[arg(long, short = 't')]
    pub tenant: TenantId,
    /// When the tenant has no active entitlement, activate one on this SKU; then boot the
    /// governor if it is still booting, so tools are callable at once
    #[arg(long, value_name = "SKU")]
    pub sku: Option<SkuId>,
    #[command(flatten)]
    pub log: LogArgs,
}

pub fn run(args: &McpArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    log::install(&args.log, global.color)?;
    // Without --sku no event names the tenant: serving one the workspace does not hold would
    // create it from a call or a signal.
    if args.sku.is_none() {
        super::tenant::require_known(global, &args.tenant)?;
    }
    let hub = Arc::new(Hub::new());
    let ws = Arc::new(common::open(global)?.with_observer(hub.clone()));
    if let Some(sku) = &args.sku
        && let Some(refused) = prepare(&ws, &args.tenant, sku)?
    {
        return Ok(refused);
    }
    if ws.view(&args.tenant)?.tools.is_empty() {
        say!(
            "tai mcp: `{}` has no tools to serve; pass --sku SKU to activate an entitlement",
            args.tenant
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async {
        let server = TaiMcp::for_tenant(ws, hub, args.tenant.clone())
            .serve(rmcp::transport::stdio())
            .await?;
        server.waiting().await?;
        anyhow::Ok(())
    });
    // A read of stdin may still be parked on a blocking thread; every receipt is already
    // durable, so nothing is lost by not waiting for it.
    runtime.shutdown_background();
    served?;
    Ok(Exit::Success)
}

/// Activates the tenant on `sku` unless it has an active entitlement, then boots its
/// governor. Returns the exit code when the activation was refused.
fn prepare(ws: &Workspace, tenant: &TenantId, sku: &SkuId) -> anyhow::Result<Option<Exit>> {
    find_sku(ws.catalog(), sku.as_str())?;
    let view = ws.view(tenant)?;
    match view.entitlement.filter(|e| e.standing == Standing::Active) {
        Some(e) if e.sku_id != *sku => say!(
            "tai mcp: `{tenant}` already has an active entitlement on `{}`; serving that",
            e.sku_id
        ),
        Some(_) => {}
        None => {
            let mut event = EntitlementEvent::new(EventKind::Activated, tenant.clone());
            event.sku_id = Some(sku.clone());
            let outcome = ws.apply_event(&serde_json::to_value(&event)?)?;
            if let Some(r) = outcome.refusal {
                say!(
                    "tai mcp: activating `{tenant}` on `{sku}` was refused: {} — {}",
                    r.code,
                    r.message
                );
                return Ok(Some(Exit::Refused));
            }
            say!("tai mcp: activated `{tenant}` on `{sku}`");
        }
    }
    if ws.view(tenant)?.state == GovernorState::Boot {
        let outcome = ws.signal(tenant, &Signal::default())?;
        say!(
            "tai mcp: booted the governor of `{tenant}` ({})",
            outcome.state
        );
    }
    Ok(None)
}
