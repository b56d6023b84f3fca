//! Tenants named on the command line. Only an entitlement event starts a tenant; every other
//! command refuses one the workspace does not hold, so a typo never leaves a ghost tenant
//! behind, and names the nearest tenant it does hold.

use std::path::Path;

use anyhow::bail;

use crate::diagnostics::closest;
use crate::ids::TenantId;
use crate::receipts::{LedgerDir, Receipt};
use crate::workspace::Workspace;

use super::GlobalArgs;

/// Fails (a usage error: exit 2) unless the state directory holds `tenant`. Asked before the
/// workspace is opened for writing, so a refused name writes nothing at all.
pub(super) fn require_known(global: &GlobalArgs, tenant: &TenantId) -> anyhow::Result<()> {
    let state = global.state.as_path();
    if let Some(ledger) = super::common::database(global)? {
        if ledger.head(tenant)?.next_seq > 0 {
            return Ok(());
        }
        let known = ledger.tenants()?;
        bail!(
            "{}",
            unknown_tenant(tenant, known.iter().map(TenantId::as_str), state)
        )
    }
    let dir = LedgerDir::in_state(state);
    // A tenant the manifest lists but whose ledger is gone was deleted: the workspace says
    // so itself.
    if dir.contains(tenant) || dir.manifest()?.is_some_and(|m| m.tenants.contains(tenant)) {
        return Ok(());
    }
    let known = dir.tenants()?;
    bail!(
        "{}",
        unknown_tenant(tenant, known.iter().map(TenantId::as_str), state)
    )
}

/// "no tenant `acmee`; did you mean `acme`?", with a hint on how tenants come to be.
pub(super) fn unknown_tenant<'a>(
    tenant: &TenantId,
    known: impl Iterator<Item = &'a str> + Clone,
    state: &Path,
) -> String {
    let mut text = format!("no tenant `{tenant}`");
    match closest(tenant.as_str(), known.clone()) {
        Some(near) => text.push_str(&format!("; did you mean `{near}`?")),
        None => {
            let names: Vec<&str> = known.collect();
            text.push_str(&format!(
                " in `{}`; known tenants: {}",
                state.display(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    crate::diagnostics::backticked(names)
                }
            ));
        }
    }
    text.push_str(
        "\nhint: an entitlement event starts a tenant: tai event activate --tenant T --sku SKU",
    );
    text
}

/// Warns on standard error when the receipts just written are stamped earlier than the
/// receipt before them: `--now`/`TAI_NOW` and the real clock were mixed, and
/// `tai receipts verify --strict-time` will fail the chain.
pub(super) fn warn_if_time_goes_back(ws: &Workspace, tenant: &TenantId, written: &[Receipt]) {
    let Some(first) = written.first() else {
        return;
    };
    let Some(prev_seq) = first.seq.checked_sub(1) else {
        return;
    };
    let Ok(before) = ws.ledger().read_from(tenant, prev_seq, 1) else {
        return;
    };
    if let Some(prev) = before.first()
        && first.body.timestamp < prev.body.timestamp
    {
        say!(
            "warning: `{tenant}`'s receipt seq {} is stamped {}, earlier than seq {} at {}: \
             --now/TAI_NOW and the real clock were mixed\n\
             hint: use one clock per state directory; `tai receipts verify --strict-time` \
             fails a chain whose times go backwards",
            first.seq,
            first.body.timestamp,
            prev.seq,
            prev.body.timestamp
        );
    }
}
