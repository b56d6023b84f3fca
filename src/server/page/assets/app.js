// The tai demo page: the plan ladder and plan × tool matrix, one tenant live (plan changes,
// tools, calls, signals, actions), the governor's state diagram, and the receipt stream.
//
// Every decision is the server's: this file only lays out what the API answers. Whatever a
// click changes comes back through the receipt stream, which is what redraws the tenant.

import { ApiError, get, post, tenantPath, whenSignedOut } from "./api.js";
import { $, $$, badge, clock, code, fill, h, prose } from "./dom.js";
import { contextFields, loose, schemaFields } from "./form.js";

const state = {
  /** SKU summaries, cheapest first. */
  skus: [],
  /** sku_id → `GET /v1/skus/{id}` (its tools, each usable or not). */
  details: new Map(),
  /** pack_id → `GET /v1/packs/{id}`. */
  packs: new Map(),
  tenants: [],
  /** The tenant on show, its view and its tools. */
  tenant: null,
  view: null,
  tools: [],
  /** Tool names shown before the latest change, to mark the new ones. */
  shownTools: null,
  receipts: [],
  stream: null,
  /** The tool whose call form is open. */
  selected: null,
  /** The seq of the last receipt whose state change was animated. */
  animated: -1,
};

const DAYS = { monthly: 30, quarterly: 90, annual: 365 };

/** A price per year of its term, so annual and monthly plans share one ladder. */
const yearly = (sku) => (sku.price.amount * 365) / (DAYS[sku.price.period] ?? 30);

const skuTitle = (id) => state.skus.find((s) => s.sku_id === id)?.title ?? id;

// ---------------------------------------------------------------------------------------
// Start, sign-in, tabs

async function start() {
  whenSignedOut(showSignin);
  for (const tab of $$("[data-tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  $("#signin-form").addEventListener("submit", signIn);
  $("#logout").addEventListener("click", signOut);
  $("#new-tenant").addEventListener("submit", createTenant);
  $("#tenant-select").addEventListener("change", (e) => selectTenant(e.target.value));
  $("#receipt-dialog .close").addEventListener("click", () => $("#receipt-dialog").close());
  try {
    await loadCatalog();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return showSignin();
    return fatal(e);
  }
  $("#signin").hidden = true;
  $("#app").hidden = false;
  renderPlans();
  fillPlanSelect();
  await loadDiagram();
  await loadTenants();
  const wanted = hashTenant();
  const first = state.tenants.find((t) => t.tenant_id === wanted) ?? state.tenants[0];
  if (first) await selectTenant(first.tenant_id);
  else renderEmpty();
}

/** The tenant the URL's hash names; a hash that does not decode names none. */
function hashTenant() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return "";
  }
}

function showSignin() {
  state.stream?.close();
  $("#app").hidden = true;
  $("#signin").hidden = false;
  setLive("offline");
  $("#signin-token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("#signin-token").value;
  const note = $("#signin-error");
  note.textContent = "";
  try {
    await post("/login", { token });
    location.reload();
  } catch (e) {
    note.textContent = e.message;
  }
}

async function signOut() {
  try {
    await post("/logout");
  } finally {
    showSignin();
  }
}

function showTab(name) {
  for (const tab of $$("[data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of $$(".tab")) panel.hidden = panel.id !== `tab-${name}`;
}

function fatal(e) {
  console.error(e);
  toast(`Could not load the page: ${e.message}`, "bad");
}

function toast(text, tone = "neutral") {
  const el = h("div", { class: `toast ${tone}`, role: "status" }, prose(text));
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function setLive(mode) {
  const dot = $("#live-dot");
  dot.className = `dot ${mode}`;
  $("#live-text").textContent =
    { live: "live", connecting: "connecting…", offline: "offline" }[mode] ?? mode;
}

// ---------------------------------------------------------------------------------------
// Catalog: the ladder and the matrix

async function loadCatalog() {
  const [{ skus }, { packs }] = await Promise.all([get("/v1/skus"), get("/v1/packs")]);
  state.skus = [...skus].sort((a, b) => yearly(a) - yearly(b) || a.sku_id.localeCompare(b.sku_id));
  const details = await Promise.all(state.skus.map((s) => get(`/v1/skus/${encodeURIComponent(s.sku_id)}`)));
  details.forEach((d) => state.details.set(d.sku_id, d));
  const packDetails = await Promise.all(packs.map((p) => get(`/v1/packs/${encodeURIComponent(p.pack_id)}`)));
  packDetails.forEach((p) => state.packs.set(p.pack_id, p));
}

function chips(items, tone = "neutral") {
  return h("div", { class: "chips" }, items.map((i) => h("span", { class: `chip ${tone}` }, i)));
}

function renderPlans() {
  const current = state.view?.entitlement?.sku_id;
  fill(
    $("#ladder"),
    state.skus.map((s, i) =>
      h(
        "article",
        { class: `plan${s.sku_id === current ? " current" : ""}`, "data-sku": s.sku_id },
        h("div", { class: "step" }, `Step ${i + 1}`),
        h("h3", {}, s.title),
        h("div", { class: "mono muted small" }, s.sku_id),
        h("div", { class: "price" }, s.price_label),
        s.recommended_for ? h("p", { class: "muted" }, s.recommended_for) : null,
        h("div", { class: "kv" }, h("span", {}, "Tools"), h("strong", {}, `${s.usable_tools} usable of ${s.tools}`)),
        h("div", { class: "label" }, "Packs"),
        chips(s.enabled_packs, "pack"),
        h("div", { class: "label" }, "Roles"),
        chips(s.iam_roles, "role"),
      ),
    ),
  );
  renderMatrix(current);
}

function renderMatrix(current) {
  const rows = [];
  for (const pack of state.packs.values()) {
    rows.push(h("tr", { class: "group" }, h("th", { colspan: state.skus.length + 1, scope: "rowgroup" }, pack.pack_id)));
    for (const tool of pack.tools) {
      rows.push(
        h(
          "tr",
          {},
          h("th", { scope: "row", class: "mono" }, tool.name),
          state.skus.map((s) => {
            const access = state.details.get(s.sku_id)?.tools.find((t) => t.name === tool.name);
            const cls = s.sku_id === current ? " current" : "";
            if (!access) return h("td", { class: `cell absent${cls}`, title: "not in this plan" }, "—");
            if (access.usable) return h("td", { class: `cell usable${cls}`, title: "visible and usable" }, "✓ usable");
            return h(
              "td",
              { class: `cell refused${cls}`, title: `visible, refused at gate 2: needs ${access.missing_roles.join(", ")}` },
              "◐ refused",
            );
          }),
        ),
      );
    }
  }
  fill(
    $("#matrix"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Tool"),
        state.skus.map((s) =>
          h(
            "th",
            { scope: "col", class: s.sku_id === current ? "current" : "" },
            h("div", {}, s.title.replace(/^TAI\s+/, "")),
            h("div", { class: "muted small" }, s.price_label),
          ),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function fillPlanSelect() {
  fill($("#new-plan"), state.skus.map((s) => h("option", { value: s.sku_id }, `${shortTitle(s)} · ${s.price_label}`)));
}

// ---------------------------------------------------------------------------------------
// Tenants

async function loadTenants() {
  const { tenants } = await get("/v1/tenants");
  state.tenants = tenants;
  const select = $("#tenant-select");
  fill(
    select,
    tenants.length ? null : h("option", { value: "" }, "no tenants yet"),
    tenants.map((t) => h("option", { value: t.tenant_id }, t.tenant_id)),
  );
  if (state.tenant) select.value = state.tenant;
}

async function createTenant(event) {
  event.preventDefault();
  const id = $("#new-id").value.trim();
  const sku = $("#new-plan").value;
  if (!id) return;
  const outcome = await sendEvent({ event_type: "entitlement.activated", tenant_id: id, sku_id: sku });
  if (!outcome) return;
  $("#new-id").value = "";
  await loadTenants();
  await selectTenant(id, { keepDecision: true });
}

async function selectTenant(id, { keepDecision = false } = {}) {
  if (!id) return;
  state.stream?.close();
  Object.assign(state, { tenant: id, view: null, tools: [], shownTools: null, receipts: [], selected: null, animated: -1 });
  history.replaceState(null, "", `#${encodeURIComponent(id)}`);
  $("#tenant-select").value = id;
  fill($("#timeline"));
  if (!keepDecision) fill($("#decision"));
  fill($("#call-panel"));
  await refresh();
  openStream(id);
}

function renderEmpty() {
  fill(
    $("#tenant-summary"),
    h("p", { class: "muted" }, "No tenant yet. Name one and pick a plan above: that is the purchase."),
  );
}

/** Reads the tenant's state and tools again and redraws everything that shows them. */
async function refresh() {
  const id = state.tenant;
  if (!id) return;
  const [view, tools] = await Promise.all([get(tenantPath(id)), get(tenantPath(id, "/tools"))]);
  if (id !== state.tenant) return;
  state.view = view;
  state.tools = tools.tools;
  state.stopped = tools.stopped ?? {};
  renderTenant();
  renderTools();
  renderSignals();
  renderGovernor();
  renderPlans();
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refresh().catch(fatal);
    verify().catch(fatal);
  }, 120);
}

function standingTone(standing) {
  return { active: "good", suspended: "warn", expired: "bad", cancelled: "bad" }[standing] ?? "neutral";
}

function renderTenant() {
  const v = state.view;
  const e = v.entitlement;
  const sku = e && state.skus.find((s) => s.sku_id === e.sku_id);
  const owned = e && !["cancelled", "expired"].includes(e.standing);
  fill(
    $("#tenant-summary"),
    h(
      "div",
      { class: "summary" },
      h(
        "div",
        {},
        h("div", { class: "label" }, "Plan"),
        h("div", { class: "plan-name" }, e ? skuTitle(e.sku_id) : "none"),
        e ? h("div", { class: "muted small" }, `${sku?.price_label ?? ""} · expires ${e.expiry.slice(0, 10)}`) : null,
      ),
      h(
        "div",
        {},
        h("div", { class: "label" }, "Standing"),
        e ? badge(e.standing, standingTone(e.standing)) : badge("no entitlement", "neutral"),
      ),
      h("div", {}, h("div", { class: "label" }, "Governor"), badge(v.state, `state-${v.state}`)),
      h("div", {}, h("div", { class: "label" }, "Tools"), h("strong", { id: "tool-count" }, String(v.tools.length))),
    ),
    e ? h("div", { class: "roles" }, h("span", { class: "label" }, "Roles"), chips([...e.iam_roles], "role")) : null,
  );
  const current = e?.sku_id;
  const here = sku ? yearly(sku) : 0;
  fill(
    $("#plan-actions"),
    state.skus.map((s) => {
      if (owned && s.sku_id === current) {
        return h(
          "button",
          { class: "plan-btn current", disabled: true, "data-sku": s.sku_id },
          h("span", { class: "verb" }, "Current plan"),
          h("span", { class: "name" }, shortTitle(s)),
          h("span", { class: "price" }, s.price_label),
        );
      }
      const verb = !owned ? "Buy" : yearly(s) >= here ? "Upgrade" : "Downgrade";
      const kind = owned ? "entitlement.plan_changed" : "entitlement.activated";
      return h(
        "button",
        {
          class: `plan-btn ${verb.toLowerCase()}`,
          "data-sku": s.sku_id,
          "data-verb": verb.toLowerCase(),
          title: `${kind} → ${s.sku_id}`,
          onclick: () => sendEvent({ event_type: kind, tenant_id: v.tenant_id, sku_id: s.sku_id }),
        },
        h("span", { class: "verb" }, verb === "Buy" ? "Buy" : `${verb === "Upgrade" ? "↑" : "↓"} ${verb}`),
        h("span", { class: "name" }, shortTitle(s)),
        h("span", { class: "price" }, s.price_label),
      );
    }),
  );
  const lifecycle = [
    ["suspend", "Suspend", "entitlement.suspended", e?.standing === "active"],
    ["reinstate", "Reinstate", "entitlement.reinstated", e?.standing === "suspended"],
    ["renew", "Renew", "entitlement.renewed", owned || e?.standing === "expired"],
    ["cancel", "Cancel", "entitlement.cancelled", owned],
  ];
  fill(
    $("#lifecycle"),
    lifecycle.map(([name, label, kind, on]) =>
      h(
        "button",
        {
          class: `btn ${name === "cancel" ? "danger" : ""}`,
          "data-event": name,
          disabled: !on,
          title: kind,
          onclick: () => sendEvent({ event_type: kind, tenant_id: v.tenant_id }),
        },
        label,
      ),
    ),
    v.state === "boot"
      ? h("button", { class: "btn primary", id: "boot", onclick: () => sendSignal({}) }, "Boot the governor (signal)")
      : null,
  );
}

const shortTitle = (s) => s.title.replace(/^TAI\s+/, "").replace(/^.*—\s*/, "");

/** Posts an entitlement event; the outcome (accepted or refused) goes to "Last decision". */
async function sendEvent(event) {
  try {
    const outcome = await post("/v1/events", event);
    if (outcome.refused) {
      await showDecision(
        { tone: "bad", title: `${event.event_type} refused`, text: outcome.refused.message },
        outcome.receipts,
      );
    } else {
      const { added, removed } = outcome.surface;
      const parts = [];
      if (added.length) parts.push(`+${added.length} tool${added.length > 1 ? "s" : ""}`);
      if (removed.length) parts.push(`−${removed.length} tool${removed.length > 1 ? "s" : ""}`);
      await showDecision({
        tone: "good",
        title: `${event.event_type} accepted`,
        text: `${event.sku_id ? `${skuTitle(event.sku_id)}. ` : ""}${parts.join(", ") || "The tool list is unchanged."}`,
      });
    }
    if (!state.tenants.some((t) => t.tenant_id === event.tenant_id)) await loadTenants();
    return outcome;
  } catch (e) {
    toast(e.message, "bad");
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Tools and calls

function renderTools() {
  const visible = new Map(state.tools.map((t) => [t.name, t]));
  const fresh = new Set(state.shownTools ? [...visible.keys()].filter((n) => !state.shownTools.has(n)) : []);
  state.shownTools = new Set(visible.keys());
  const locked = [];
  for (const pack of state.packs.values()) {
    for (const tool of pack.tools) {
      if (!visible.has(tool.name)) locked.push({ name: tool.name, pack: pack.pack_id });
    }
  }
  const row = (t, status) =>
    h(
      "li",
      {
        class: `tool ${status}${fresh.has(t.name) ? " fresh" : ""}${state.selected === t.name ? " selected" : ""}`,
        "data-tool": t.name,
        "data-status": status,
      },
      h(
        "button",
        { class: "tool-button", onclick: () => openCall(t.name) },
        h("span", { class: "mono name" }, t.name),
        h("span", { class: "pack" }, t.pack),
        state.stopped?.[t.name]
          ? badge(`andon ${state.stopped[t.name]}`, "bad", "its pack is stopped by a critical Andon until it is cleared")
          : status === "usable"
          ? badge("usable", "good")
          : status === "refused"
            ? badge(`needs ${t.missing_roles.join(", ")}`, "warn", "visible, refused at gate 2 (IAM)")
            : badge("not in plan", "neutral"),
      ),
    );
  fill(
    $("#tools"),
    state.tools.length
      ? h("ul", { class: "tool-list" }, state.tools.map((t) => row(t, t.usable ? "usable" : "refused")))
      : h("p", { class: "muted" }, "No tools: the tenant's plan enables no pack."),
    locked.length
      ? h(
          "details",
          { class: "locked" },
          h("summary", {}, `${locked.length} tools outside this plan`),
          h("ul", { class: "tool-list" }, locked.map((t) => row(t, "locked"))),
        )
      : null,
  );
  $("#tools-title-count").textContent = `${state.tools.length} visible`;
  if (state.selected) renderCallPanel();
}

function toolDefinition(name) {
  for (const pack of state.packs.values()) {
    const tool = pack.tools.find((t) => t.name === name);
    if (tool) return { pack, tool, action: pack.actions.find((a) => a.id === tool.action) };
  }
  return null;
}

function openCall(name) {
  state.selected = name;
  for (const li of $$("#tools li.tool")) li.classList.toggle("selected", li.dataset.tool === name);
  renderCallPanel(true);
}

function renderCallPanel(reset = false) {
  const panel = $("#call-panel");
  const name = state.selected;
  const access = state.tools.find((t) => t.name === name);
  // Kept as typed while the tool and whether the plan has it stay the same; a plan change
  // that adds or removes it redraws the form and its badge.
  const inPlan = String(Boolean(access));
  if (!reset && panel.dataset.tool === name && panel.dataset.inPlan === inPlan) return;
  const def = toolDefinition(name);
  if (!def) return;
  panel.dataset.tool = name;
  panel.dataset.inPlan = inPlan;
  const args = schemaFields("arg", def.tool.input_schema);
  const ctx = contextFields("call", def.action?.preconditions);
  fill(
    panel,
    h(
      "form",
      {
        id: "call-form",
        onsubmit: (e) => {
          e.preventDefault();
          callTool(name, args.read(), ctx.read());
        },
      },
      h(
        "div",
        { class: "call-head" },
        h("h3", { class: "mono" }, name),
        access ? null : badge("not in plan", "neutral"),
      ),
      h("p", { class: "muted small" }, def.tool.description),
      h(
        "div",
        { class: "meta-line small" },
        "action ",
        code(def.tool.action),
        def.action?.roles?.length ? [" · roles ", def.action.roles.map((r) => code(r))] : null,
      ),
      h("div", { class: "label" }, "Arguments"),
      args.el,
      ctx.el ? [h("div", { class: "label" }, "Context (checked at gate 3)"), ctx.el] : null,
      h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit", id: "call-button" }, "Call ", code(name))),
    ),
  );
}

async function callTool(tool, args, context) {
  try {
    const outcome = await post(tenantPath(state.tenant, "/calls"), { tool, arguments: args, context });
    const tone = { executed: "good", refused: "warn", failed: "bad", tool_not_found: "neutral" }[outcome.decision];
    await showDecision(
      {
        tone,
        title: `${tool}: ${outcome.decision.replace(/_/g, " ")}`,
        text: outcome.message,
        result: outcome.decision === "executed" ? outcome.result : undefined,
      },
      outcome.receipts,
    );
  } catch (e) {
    toast(e.message, "bad");
  }
}

/**
 * Shows an outcome under "Last decision"; when its last receipt records a refusal, failure or
 * postponement, the server's explanation of it too.
 */
async function showDecision(head, receipts = []) {
  const box = $("#decision");
  const last = receipts[receipts.length - 1];
  let explanation = null;
  if (last && last.reason !== null) {
    try {
      // The receipt's own tenant: an event may name another tenant than the one shown.
      explanation = (await get(tenantPath(last.tenant_id, `/explain?seq=${last.seq}`))).explanation;
    } catch {
      explanation = null;
    }
  }
  fill(
    box,
    h(
      "div",
      { class: `decision ${head.tone}`, "data-decision": head.title },
      h("div", { class: "decision-head" }, badge(head.badge ?? (head.tone === "good" ? "ok" : head.tone === "warn" ? "refused" : head.tone === "bad" ? "failed" : "not found"), head.tone), h("strong", {}, head.title)),
      h("p", {}, prose(head.text)),
      head.result !== undefined ? h("pre", { class: "json" }, JSON.stringify(head.result, null, 2)) : null,
      explanation ? renderExplanation(explanation) : null,
    ),
  );
}

function renderExplanation(x) {
  const e = state.view?.entitlement;
  const owned = e && !["cancelled", "expired"].includes(e.standing);
  return h(
    "div",
    { class: "explanation", id: "explanation" },
    x.gate_label ? h("div", { class: "gate" }, x.gate_label) : null,
    h(
      "dl",
      {},
      h("dt", {}, "What"),
      h("dd", {}, prose(x.what)),
      h("dt", {}, "Why"),
      h("dd", {}, prose(x.why), x.reason ? [" ", badge(x.reason, "warn")] : null),
      h("dt", {}, "To pass"),
      h("dd", { class: "fix" }, prose(x.fix)),
    ),
    x.plans.length
      ? h(
          "div",
          { class: "fix-plans" },
          x.plans
            .filter((p) => !(owned && p.sku_id === e.sku_id))
            .map((p) =>
              h(
                "button",
                {
                  class: "btn primary",
                  "data-sku": p.sku_id,
                  onclick: () =>
                    sendEvent({
                      event_type: owned ? "entitlement.plan_changed" : "entitlement.activated",
                      tenant_id: state.tenant,
                      sku_id: p.sku_id,
                    }),
                },
                `${owned ? "Change to" : "Buy"} ${p.title.replace(/^TAI\s+/, "")}`,
                h("span", { class: "price-tag" }, p.price_label),
              ),
            ),
        )
      : null,
  );
}

// ---------------------------------------------------------------------------------------
// Signals and actions

function renderSignals() {
  const v = state.view;
  const names = new Set();
  for (const id of v.entitlement?.enabled_packs ?? []) {
    // A declared signal is a name, or `{name, andon}` for an Andon cord.
    for (const s of state.packs.get(id)?.signals ?? []) names.add(typeof s === "string" ? s : s.name);
  }
  const panel = $("#signals");
  const keep = panel.dataset.tenant === v.tenant_id && panel.dataset.names === [...names].join(",");
  if (!keep) {
    panel.dataset.tenant = v.tenant_id;
    panel.dataset.names = [...names].join(",");
    fill(
      panel,
      h(
        "form",
        {
          id: "signal-form",
          onsubmit: (e) => {
            e.preventDefault();
            const name = $("#signal-name").value;
            const facts = {};
            const key = $("#fact-key").value.trim();
            if (key) facts[key] = loose($("#fact-value").value) ?? null;
            sendSignal({ ...(name ? { name } : {}), ...(key ? { facts } : {}) });
          },
        },
        h(
          "div",
          { class: "row" },
          h(
            "div",
            { class: "field" },
            h("label", { for: "signal-name" }, "Signal"),
            h("select", { id: "signal-name" }, h("option", { value: "" }, "(bare signal)"), [...names].map((n) => h("option", { value: n }, n))),
          ),
          h("div", { class: "field" }, h("label", { for: "fact-key" }, "Fact"), h("input", { id: "fact-key", placeholder: "deployment_stable", autocomplete: "off" })),
          h("div", { class: "field" }, h("label", { for: "fact-value" }, "Value"), h("input", { id: "fact-value", placeholder: "true", autocomplete: "off" })),
          h("button", { class: "btn", type: "submit", id: "signal-button" }, "Send signal"),
        ),
      ),
    );
  }
  const inFlight = v.in_flight;
  fill(
    $("#in-flight"),
    inFlight
      ? h(
          "div",
          { class: "in-flight" },
          h("p", {}, "In flight: ", code(inFlight.tool), ` (${inFlight.reason}) since ${clock(inFlight.since)}.`),
          h(
            "div",
            { class: "actions" },
            h("button", { class: "btn primary", id: "action-complete", onclick: () => resolve("complete") }, "Action complete → stable"),
            h("button", { class: "btn danger", id: "action-fail", onclick: () => resolve("fail") }, "Action failed → refusing"),
          ),
        )
      : h("p", { class: "muted small" }, "No action in flight. An action that overruns its bounds puts the governor in intervening until it is resolved here."),
  );
  const facts = Object.entries(v.facts ?? {});
  fill(
    $("#facts"),
    facts.length
      ? chips(facts.map(([k, val]) => `${k} = ${JSON.stringify(val)}`), "fact")
      : h("span", { class: "muted small" }, "No facts recorded."),
  );
}

async function sendSignal(body) {
  try {
    const outcome = await post(tenantPath(state.tenant, "/signals"), body);
    const andon = outcome.event === "andon_raised";
    const tone = outcome.event === "signal_processed" ? "good" : outcome.event === "signal_postponed" ? "warn" : "bad";
    await showDecision(
      {
        tone,
        badge: andon ? "line stopped" : undefined,
        title: outcome.event.replace(/_/g, " "),
        text: [outcome.message, `Governor ${outcome.state}.`].filter(Boolean).join(" "),
      },
      outcome.receipts,
    );
  } catch (e) {
    toast(e.message, "bad");
  }
}

async function resolve(how) {
  try {
    const out = await post(tenantPath(state.tenant, `/actions/${how}`), {});
    await showDecision({ tone: how === "complete" ? "good" : "bad", title: `action ${out.resolution}`, text: `Governor ${out.state}.` });
  } catch (e) {
    toast(e.message, "bad");
  }
}

async function clearAndon(signal) {
  try {
    const out = await post(tenantPath(state.tenant, "/andon/clear"), { signal, note: "cleared from the web page" });
    await showDecision(
      { tone: "good", title: "andon cleared", text: `${signal} cleared; ${out.andon.length} Andon stop(s) left.` },
      out.receipts,
    );
  } catch (e) {
    toast(e.message, "bad");
  }
}

// ---------------------------------------------------------------------------------------
// The governor

async function loadDiagram() {
  const response = await fetch("/governor.svg", { credentials: "same-origin" });
  if (!response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return;
  fill($("#diagram"), document.importNode(svg, true));
}

const CAPTIONS = {
  boot: "Waiting for its first signal: calls are refused as not ready.",
  stable: "Normal operation: every call goes through gates 1 · 2 · 3.",
  intervening: "An action overran its bounds: new work waits until it is resolved.",
  refusing: "Refusing all work until an entitlement change recovers it.",
};

function renderGovernor() {
  const now = state.view?.state;
  for (const node of $$("#diagram .state")) node.classList.toggle("current", node.dataset.state === now);
  const moves = state.receipts.filter((r) => r.state_from !== r.state_to);
  const last = moves[moves.length - 1];
  for (const edge of $$("#diagram .edge")) {
    edge.classList.toggle("last", !!last && edge.dataset.from === last.state_from && edge.dataset.to === last.state_to);
  }
  if (last && last.seq > state.animated) {
    state.animated = last.seq;
    pulse(last);
  }
  const record = state.view?.governor;
  fill(
    $("#governor-text"),
    now ? h("p", {}, badge(now, `state-${now}`), " ", CAPTIONS[now] ?? "") : null,
    (state.view?.andon ?? []).map((stop) =>
      h(
        "div",
        { class: "andon", "data-signal": stop.signal },
        h(
          "p",
          {},
          h("strong", {}, "Andon "),
          code(stop.signal),
          " stops ",
          stop.packs.map((p, i) => [i ? ", " : "", code(p)]),
          ` since ${clock(stop.since)} (receipt #${stop.seq}): their actions are refused until it is cleared.`,
        ),
        h("button", { class: "btn danger", onclick: () => clearAndon(stop.signal) }, `Clear ${stop.signal}`),
      ),
    ),
    record
      ? h(
          "dl",
          { class: "record", id: "governor-record" },
          [
            ["calls", record.calls],
            ["refusals", record.refusals],
            ["signals", record.signals_processed],
            ["receipts", record.receipts_written],
          ].map(([k, n]) => h("div", {}, h("dt", {}, k), h("dd", {}, String(n)))),
        )
      : null,
    last
      ? h(
          "p",
          { class: "muted small", id: "last-move" },
          `Last move: ${last.state_from} → ${last.state_to} by `,
          code(last.event_type),
          ` (receipt #${last.seq}, ${clock(last.timestamp)})`,
        )
      : h("p", { class: "muted small" }, "No state change yet."),
  );
}

/** A dot that travels along the arrow of the transition that just happened. */
function pulse(receipt) {
  const edge = $(`#diagram #edge-${receipt.state_from}-${receipt.state_to}`);
  const path = edge?.querySelector("path");
  if (!path) return;
  const svgNs = "http://www.w3.org/2000/svg";
  const dot = document.createElementNS(svgNs, "circle");
  dot.setAttribute("r", "6");
  dot.setAttribute("class", "traveller");
  edge.append(dot);
  const length = path.getTotalLength();
  const started = performance.now();
  const step = (t) => {
    const f = Math.min(1, (t - started) / 900);
    const p = path.getPointAtLength(f * length);
    dot.setAttribute("cx", p.x);
    dot.setAttribute("cy", p.y);
    if (f < 1) requestAnimationFrame(step);
    else setTimeout(() => dot.remove(), 250);
  };
  requestAnimationFrame(step);
}

// ---------------------------------------------------------------------------------------
// Receipts: the stream, the timeline, verification

function openStream(id) {
  setLive("connecting");
  const es = new EventSource(tenantPath(id, "/receipts/stream?from_seq=0"));
  state.stream = es;
  es.onopen = () => setLive("live");
  es.addEventListener("receipt", (ev) => {
    if (state.stream !== es) return;
    const r = JSON.parse(ev.data);
    if (r.seq < state.receipts.length) return;
    state.receipts.push(r);
    addReceipt(r);
    refreshSoon();
  });
  es.addEventListener("error", (ev) => {
    if (state.stream !== es) return;
    if (ev.data) toast(JSON.parse(ev.data)?.error?.message ?? "stream error", "bad");
    if (es.readyState === EventSource.CLOSED) {
      setLive("offline");
      // Signed out, or the server stopped: the next API call tells which.
      get("/v1/tenants").catch(() => {});
    } else {
      setLive("connecting");
    }
  });
}

const EVENT_TONES = {
  action_executed: "good",
  action_refused: "warn",
  tool_not_found: "neutral",
  action_timeout: "bad",
  action_memory_exceeded: "bad",
  action_errored: "bad",
  action_failed: "bad",
  action_completed: "good",
  entitlement_update_refused: "bad",
  signal_refused: "bad",
  signal_postponed: "warn",
  tool_surface_changed: "info",
};

function summary(r) {
  const m = r.metadata ?? {};
  switch (r.event_type) {
    case "tool_surface_changed": {
      const parts = [];
      if (m.added?.length) parts.push(`+${m.added.join(", +")}`);
      if (m.removed?.length) parts.push(`−${m.removed.join(", −")}`);
      return parts.join("  ") || "no change";
    }
    case "entitlement_activated":
    case "entitlement_updated":
      return skuTitle(m.entitlement?.sku_id);
    case "signal_processed":
    case "signal_refused":
    case "signal_postponed":
      return [m.signal, m.facts && Object.keys(m.facts).length ? JSON.stringify(m.facts) : null].filter(Boolean).join(" ") || "bare signal";
    default:
      return [m.tool, r.reason].filter(Boolean).join(" · ");
  }
}

function addReceipt(r) {
  const changed = r.state_from !== r.state_to;
  const li = h(
    "li",
    { class: "receipt fresh", "data-seq": r.seq, "data-event": r.event_type },
    h(
      "button",
      { class: "receipt-button", onclick: () => openReceipt(r) },
      h("span", { class: "seq" }, `#${r.seq}`),
      h("span", { class: "time", title: r.timestamp }, clock(r.timestamp)),
      badge(r.event_type, EVENT_TONES[r.event_type] ?? "neutral"),
      h("span", { class: `move${changed ? " changed" : ""}` }, changed ? `${r.state_from} → ${r.state_to}` : r.state_to),
      h("span", { class: "what" }, summary(r)),
    ),
  );
  $("#timeline").prepend(li);
  setTimeout(() => li.classList.remove("fresh"), 1500);
  $("#receipt-count").textContent = `${state.receipts.length} receipts`;
}

async function verify() {
  if (!state.tenant) return;
  const badgeEl = $("#verify");
  const v = await get(tenantPath(state.tenant, "/verify"));
  if (v.ok) {
    badgeEl.className = "verify ok";
    badgeEl.textContent = `✓ chain verified · ${v.receipts} receipts`;
    badgeEl.title = `head ${v.head?.hash ?? ""}`;
  } else {
    badgeEl.className = "verify broken";
    const p = v.problem ?? {};
    badgeEl.textContent = `✗ chain broken${p.seq !== null && p.seq !== undefined ? ` at #${p.seq}` : ""}: ${(p.kind ?? "problem").replace(/_/g, " ")}`;
    badgeEl.title = JSON.stringify(p);
  }
}

async function openReceipt(r) {
  const dialog = $("#receipt-dialog");
  const rows = [
    ["seq", `#${r.seq}`],
    ["id", r.id],
    ["time", r.timestamp],
    ["event", r.event_type],
    ["state", `${r.state_from} → ${r.state_to}`],
    ["reason", r.reason ?? "—"],
    ["hash", r.hash],
    ["previous hash", r.prev_hash],
    ["catalog hash", r.catalog_hash],
  ];
  fill(
    $("#receipt-body"),
    h("h2", {}, `Receipt #${r.seq} · `, code(r.event_type)),
    h("dl", { class: "receipt-fields" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { class: "mono" }, v)])),
    h("div", { id: "receipt-explanation" }),
    h("div", { class: "label" }, "Metadata"),
    h("pre", { class: "json" }, JSON.stringify(r.metadata, null, 2)),
  );
  dialog.showModal();
  if (r.reason !== null) {
    try {
      const { explanation } = await get(tenantPath(r.tenant_id, `/explain?seq=${r.seq}`));
      if (explanation) fill($("#receipt-explanation"), renderExplanation(explanation));
    } catch {
      // The fields above still say what happened.
    }
  }
}

start().catch(fatal);
