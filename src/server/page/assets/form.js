// A form for a tool's arguments, generated from its JSON Schema, and the context values its
// action's preconditions look up. Only what a person filled in is sent: the server checks the
// arguments against the schema (gate 3) and says exactly what is wrong.

import { h } from "./dom.js";

/** Parses `text` as JSON when it is JSON (`true`, `3`, `[1]`), else keeps it as text. */
export function loose(text) {
  const t = text.trim();
  if (t === "") return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

function fieldId(prefix, name) {
  return `${prefix}-${name}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** One input for property `name` with schema `prop`, and how to read its value. */
function input(prefix, name, prop) {
  const id = fieldId(prefix, name);
  const types = [].concat(prop.type ?? []);
  if (Array.isArray(prop.enum)) {
    const el = h(
      "select",
      { id, name },
      h("option", { value: "" }, "—"),
      prop.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))),
    );
    return { el, read: () => (el.value === "" ? undefined : JSON.parse(el.value)) };
  }
  if (types.includes("boolean")) {
    const el = h(
      "select",
      { id, name },
      h("option", { value: "" }, "—"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"),
    );
    return { el, read: () => (el.value === "" ? undefined : el.value === "true") };
  }
  if (types.includes("integer") || types.includes("number")) {
    const el = h("input", {
      id,
      name,
      type: "number",
      step: types.includes("integer") ? "1" : "any",
      min: prop.minimum,
      max: prop.maximum,
      inputmode: "numeric",
    });
    return { el, read: () => (el.value === "" ? undefined : Number(el.value)) };
  }
  if (types.includes("array")) {
    const el = h("input", { id, name, type: "text", placeholder: "a, b, c" });
    return {
      el,
      read: () => {
        const items = el.value.split(",").map((s) => s.trim()).filter(Boolean);
        return items.length ? items.map((s) => loose(s)) : undefined;
      },
    };
  }
  if (types.includes("string") || types.length === 0) {
    const placeholder =
      prop.format === "date-time" ? "2026-01-01T00:00:00Z" : prop.examples?.[0] ?? "";
    const el = h("input", { id, name, type: "text", placeholder, autocomplete: "off" });
    return {
      el,
      read: () => (el.value.trim() === "" ? undefined : types.length ? el.value : loose(el.value)),
    };
  }
  const el = h("textarea", { id, name, rows: 2, placeholder: "JSON" });
  return { el, read: () => loose(el.value) };
}

/**
 * The fields of an object schema. Returns `{ el, read }`: the fieldset and a function giving
 * the arguments object of the filled-in fields.
 */
export function schemaFields(prefix, schema) {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  const readers = [];
  const rows = Object.entries(props).map(([name, prop]) => {
    const { el, read } = input(prefix, name, prop ?? {});
    readers.push([name, read]);
    return h(
      "div",
      { class: "field" },
      h(
        "label",
        { for: el.id },
        h("span", { class: "mono" }, name),
        required.has(name) ? h("span", { class: "req", title: "required" }, "*") : null,
      ),
      el,
      prop?.description ? h("small", {}, prop.description) : null,
    );
  });
  const el = rows.length
    ? h("div", { class: "fields" }, rows)
    : h("p", { class: "muted small" }, "This tool takes no arguments.");
  const read = () => {
    const out = {};
    for (const [name, r] of readers) {
      const v = r();
      if (v !== undefined) out[name] = v;
    }
    return out;
  };
  return { el, read };
}

/**
 * Inputs for the keys an action's preconditions look up (the call's context), each with the
 * check it must pass.
 */
export function contextFields(prefix, preconditions) {
  const readers = [];
  const rows = (preconditions ?? []).map((p) => {
    const id = fieldId(`${prefix}-ctx`, p.key);
    const el = h("input", { id, type: "text", placeholder: hint(p), autocomplete: "off" });
    readers.push([p.key, () => loose(el.value)]);
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, h("span", { class: "mono" }, p.key)),
      el,
      h("small", {}, `${p.message} — refused as ${p.code}`),
    );
  });
  const read = () => {
    const out = {};
    for (const [key, r] of readers) {
      const v = r();
      if (v !== undefined) out[key] = v;
    }
    return out;
  };
  return { el: rows.length ? h("div", { class: "fields" }, rows) : null, read };
}

function hint(p) {
  const c = p.check;
  if (c === "present") return "any value";
  const [kind, v] = Object.entries(c ?? {})[0] ?? [];
  switch (kind) {
    case "equals":
      return JSON.stringify(v);
    case "not_equals":
      return `not ${JSON.stringify(v)}`;
    case "one_of":
      return v.map((x) => JSON.stringify(x)).join(" | ");
    case "at_least":
      return `≥ ${v}`;
    case "at_most":
      return `≤ ${v}`;
    default:
      return "";
  }
}
