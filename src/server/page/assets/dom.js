// Building DOM nodes from data without ever parsing data as HTML.

/** An element: `h("div", {class: "x", onclick: f}, child, "text", [more])`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces `el`'s children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Inline code. */
export const code = (text) => h("code", {}, text);

/**
 * Text with `backticked` spans shown as code, as the engine writes its messages.
 */
export function prose(text) {
  const parts = String(text ?? "").split("`");
  return parts.map((part, i) => (i % 2 === 1 ? code(part) : part));
}

/** A small coloured label. */
export const badge = (text, tone = "neutral", title) =>
  h("span", { class: `badge ${tone}`, title }, text);

/** `2026-01-01T09:00:00.000Z` as `09:00:00` (the date in the tooltip). */
export function clock(ts) {
  const m = /T(\d\d:\d\d:\d\d)/.exec(ts ?? "");
  return m ? m[1] : ts ?? "";
}
