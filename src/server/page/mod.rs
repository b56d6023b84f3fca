//! The demo page on `tai serve`: a small hand-written ES-module app compiled into the binary
//! (no CDN, nothing fetched at run time), the governor's state diagram, and browser sign-in.
//!
//! The page holds no logic of its own beyond layout: it reads and writes through the JSON
//! API (catalog, tenants, calls, signals, the receipt stream, chain verification,
//! explanations), signed in by the session cookie that a login link sets ([`super::session`]).
//!
//! - `GET /`: the page; `GET /assets/{file}`: its scripts, styles and icon.
//! - `GET /governor.svg`: the state diagram drawn for the catalog ([`governor_svg`]).
//! - `GET /login?code=…`: redeems a one-time login link and sets the session cookie.
//! - `POST /login` (`{"token"}`): signs in with the admin token, from the page itself.
//! - `POST /logout`: ends the session.

use axum::extract::State;
use axum::http::header;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, extract};
use serde::Deserialize;

use crate::explain::governor_svg;

use super::AppState;
use super::auth::Principal;
use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, JsonBody, QueryParams};
use super::session::{self, LoginError};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything the page loads besides the API.
const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: JS,
        bytes: include_bytes!("assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        bytes: include_bytes!("assets/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JS,
        bytes: include_bytes!("assets/dom.js"),
    },
    Asset {
        name: "form.js",
        content_type: JS,
        bytes: include_bytes!("assets/form.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("assets/app.css"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("assets/icon.svg"),
    },
];

const INDEX: &str = include_str!("assets/index.html");

/// Scripts and styles only from this server, no framing, no forms posting elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The page's routes (kept out of the JSON API's OpenAPI document).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/governor.svg", get(governor))
        .route("/login", get(login_link).post(login_token))
        .route("/logout", post(logout))
        .with_state(state)
}

/// Headers every page response carries: no sniffing, no framing, no referrer (a login link's
/// code must never travel on in a `Referer`).
fn hardened(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn html(status: StatusCode, body: String) -> Response {
    hardened(
        (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
    )
}

async fn index() -> Response {
    html(StatusCode::OK, INDEX.to_owned())
}

async fn asset(extract::Path(file): extract::Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => hardened(
            (
                [
                    (header::CONTENT_TYPE, a.content_type),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                a.bytes,
            )
                .into_response(),
        ),
        None => ApiError::new(ErrorCode::NotFound, format!("no asset `{file}`")).into_response(),
    }
}

async fn governor(State(s): State<AppState>, _: Caller) -> Response {
    let svg = governor_svg(s.workspace.catalog());
    hardened(
        (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            svg,
        )
            .into_response(),
    )
}

/// A small page of its own for the sign-in outcomes a person lands on.
fn notice(status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>tai · {title}</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
             </head><body class=\"notice\"><main><h1>{title}</h1><p>{text}</p>\
             <p><a href=\"/\">Open the page</a></p></main></body></html>"
        ),
    )
}

fn browser_login_off() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Browser sign-in is off",
        "This server was started without browser sign-in (it is on by default only on a \
         loopback address; see <code>tai serve --browser-login</code>).",
    )
}

/// `Set-Cookie` for a new session, and where to go next.
fn signed_in(cookie: &str, status: StatusCode) -> Response {
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")]).into_response();
    if status == StatusCode::SEE_OTHER {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    hardened(response)
}

/// `?code=` of a login link.
#[derive(Debug, Deserialize)]
struct LoginQuery {
    code: String,
}

async fn login_link(
    State(s): State<AppState>,
    method: axum::http::Method,
    QueryParams(q): QueryParams<LoginQuery>,
) -> Response {
    let Some(sessions) = s.auth.browser() else {
        return browser_login_off();
    };
    // Link previews, mail scanners and chat unfurlers fetch with HEAD: that signs nobody
    // in and leaves the link for the person who clicks it.
    if method == axum::http::Method::HEAD {
        return StatusCode::OK.into_response();
    }
    match sessions.redeem(&q.code) {
        Ok(id) => signed_in(&sessions.set_cookie(&id), StatusCode::SEE_OTHER),
        Err(e @ (LoginError::Unknown | LoginError::Expired)) => notice(
            StatusCode::UNAUTHORIZED,
            "This login link cannot be used",
            &format!(
                "{e}. Each link signs in one browser, once, within {} minutes. Sign in on the \
                 page with the admin token, or restart <code>tai demo</code> or \
                 <code>tai serve</code> for a new link.",
                session::LOGIN_TTL.as_secs() / 60
            ),
        ),
        Err(e @ LoginError::Random(_)) => ApiError::internal(&e).into_response(),
    }
}

/// `POST /login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenLogin {
    token: String,
}

async fn login_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<TokenLogin>,
) -> Result<Response, ApiError> {
    let Some(sessions) = s.auth.browser() else {
        return Ok(browser_login_off());
    };
    // Else another site could sign a visitor's browser in to this server.
    session::same_origin(&headers)?;
    match s.auth.authenticate(Some(req.token.trim()))? {
        Principal::Admin => {}
        Principal::Tenant(_) => {
            return Err(ApiError::new(
                ErrorCode::AdminOnly,
                "the page signs in with the admin token",
            ));
        }
    }
    let id = sessions.open().map_err(|e| ApiError::internal(&e))?;
    Ok(signed_in(&sessions.set_cookie(&id), StatusCode::NO_CONTENT))
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(sessions) = s.auth.browser() else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    session::same_origin(&headers)?;
    sessions.close(&headers);
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&sessions.clear_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}
