// The JSON API of `tai serve`, as this page calls it: same origin, signed in by the session
// cookie, and every write marked with the CSRF header the server asks of cookie requests.

/** An answer that is not a success, with the server's error code and message. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? "http_error";
    this.body = body;
  }
}

let onSignedOut = () => {};

/** Called whenever the server says the browser is not signed in. */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/**
 * `GET` (or `method`) `path`, JSON in and out. Recorded refusals (`tool_not_found`, a refused
 * entitlement event) carry their outcome beside the error: those resolve with `refused` set,
 * since the page shows them as outcomes rather than failures.
 */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-Tai-Csrf"] = "1";
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.status === 401) {
    onSignedOut();
  }
  if (response.ok) return json;
  const recorded = json && Array.isArray(json.receipts);
  if (recorded && (response.status === 404 || response.status === 422)) {
    return { ...json, refused: json.error };
  }
  throw new ApiError(response.status, json);
}

export const get = (path) => api(path);
export const post = (path, body) => api(path, { method: "POST", body: body ?? {} });

/** A tenant's route: `/v1/tenants/{id}/…`. */
export const tenantPath = (tenant, rest = "") =>
  `/v1/tenants/${encodeURIComponent(tenant)}${rest}`;
