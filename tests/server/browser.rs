//! The demo page as a person uses it: the real `tai serve` (and `tai demo`) on a loopback port,
//! browser sign-in checked over HTTP, and headless Chromium driven over WebDriver
//! (chromedriver + fantoccini) through a sales demo. Screenshots are saved under
//! `target/browser-screenshots/` for review; `TAI_UPDATE_SCREENSHOT=1` also refreshes the
//! README's `docs/demo.png`.
//!
//! Without `chromium` and `chromedriver` on `PATH` the browser test says so and returns
//! (`.ci/run` installs both). Nothing here waits a fixed time: each wait polls for what it
//! needs under a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::common::{self, ADMIN, DEADLINE, Served};

// ---------------------------------------------------------------------------------------
// A running `tai serve` or `tai demo`.

struct Tai {
    served: Served,
    base: String,
    link: String,
}

impl Tai {
    /// `tai serve` with browser sign-in on (the default on loopback).
    fn serve(state: &Path) -> Tai {
        Tai::serve_with(state, &[], true)
    }

    /// `tai serve` with `extra` flags; `link`: whether it prints a login link.
    fn serve_with(state: &Path, extra: &[&str], link: bool) -> Tai {
        let mut cmd = common::tai();
        cmd.arg("--state")
            .arg(state)
            .args(["serve", "--addr", "127.0.0.1:0", "--admin-token", ADMIN])
            .args(extra);
        Tai::start(cmd, state.parent().unwrap(), link)
    }

    fn demo(cwd: &Path, tmp: &Path) -> Tai {
        let mut cmd = common::tai();
        cmd.arg("demo").env("TMPDIR", tmp);
        Tai::start(cmd, cwd, true)
    }

    fn start(mut cmd: Command, cwd: &Path, link: bool) -> Tai {
        cmd.current_dir(cwd);
        let mut served = Served::start(cmd);
        let link = if link {
            served
                .stderr_line("demo page: ")
                .trim()
                .replace("demo page: ", "")
        } else {
            String::new()
        };
        Tai {
            base: served.base.clone(),
            served,
            link,
        }
    }

    /// The next stderr line containing `needle`.
    fn line(&mut self, needle: &str) -> String {
        self.served.stderr_line(needle).trim().to_owned()
    }

    fn url(&self, path: &str) -> String {
        self.served.url(path)
    }

    /// A login link of this server with another code.
    fn link_with(&self, code: &str) -> String {
        self.url(&format!("/login?code={code}"))
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit: its status, and the rest of stderr.
    fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>) {
        self.served.signal(rustix::process::Signal::INT);
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.served.exit_status() {
                return (status, self.served.rest());
            }
            assert!(Instant::now() < end, "tai did not exit after SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// `name=value` of the `Set-Cookie` header, and the whole header.
fn set_cookie(headers: &HeaderMap) -> (String, String) {
    let full = headers
        .get("set-cookie")
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned();
    let pair = full.split(';').next().unwrap().trim().to_owned();
    (pair, full)
}

// ---------------------------------------------------------------------------------------
// Browser sign-in over HTTP.

/// A receipt stream a session cookie opened ends with the session: after sign-out it sends
/// no receipt written later.
#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_receipt_streams_the_session_opened() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let tai = Tai::serve(&dir.path().join("state"));
    let c = http();
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth(ADMIN);
    let r = admin(c.post(tai.url("/v1/events")))
        .json(&json!({"event_type": "entitlement.activated", "tenant_id": "acme", "sku_id": "rollback-guard-base"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(&tai.link).send().await.unwrap();
    let (cookie, _) = set_cookie(r.headers());
    // Open after the activation's two receipts: only what is written later would come.
    let stream = reqwest::Client::new()
        .get(tai.url("/v1/tenants/acme/receipts/stream?from_seq=2"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let r = c
        .post(tai.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", &tai.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = admin(c.post(tai.url("/v1/tenants/acme/signals")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = stream.bytes_stream();
    let mut seen = String::new();
    let ended = tokio::time::timeout(DEADLINE, async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream stayed open: {seen}");
    assert!(!seen.contains("event: receipt"), "{seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_link_signs_one_browser_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let tai = Tai::serve(&dir.path().join("state"));
    let c = http();
    let tenants = tai.url("/v1/tenants");

    // No cookie, no token: 401.
    let r = c.get(&tenants).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");

    // The page itself is public, and locked down.
    let r = c.get(tai.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let html = r.text().await.unwrap();
    assert!(html.contains("/assets/app.js"), "{html}");
    let r = c.get(tai.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );

    // A preview fetching it with HEAD (a chat or mail client) signs nobody in and leaves
    // the link for the person who clicks it.
    let r = c.head(&tai.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none());

    // The link: 303 to the page, with the session cookie.
    let r = c.get(&tai.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let (cookie, full) = set_cookie(r.headers());
    let port = tai.base.rsplit(':').next().unwrap();
    assert!(
        cookie.starts_with(&format!("tai_session_{port}=")),
        "{full}"
    );
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(full.contains(flag), "{flag} missing: {full}");
    }
    assert!(!full.contains("Domain"), "{full}");

    // Only once.
    let r = c.get(&tai.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("already used"));
    let r = c.get(tai.link_with("0123")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The cookie acts as the admin: reads, and the receipt stream (what EventSource needs).
    let with_cookie = |req: reqwest::RequestBuilder| req.header("cookie", &cookie);
    let r = with_cookie(c.get(&tenants)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = with_cookie(c.get(tai.url("/governor.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("state-intervening"));

    // Writes need the page's own origin (or the CSRF header).
    let event = json!({"event_type": "entitlement.activated", "tenant_id": "acme", "sku_id": "rollback-guard-base"});
    let events = tai.url("/v1/events");
    let r = with_cookie(c.post(&events))
        .header("origin", "http://evil.example")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "cross_origin");
    let r = with_cookie(c.post(&events))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "no Origin, no CSRF header"
    );
    // Nothing was recorded by the refused requests.
    let r = with_cookie(c.get(tai.url("/v1/tenants/acme")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = with_cookie(c.post(&events))
        .header("origin", &tai.base)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = with_cookie(c.post(tai.url("/v1/tenants/acme/signals")))
        .header("x-tai-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["state"], "stable");

    // A refusal explained, through the cookie.
    let r = with_cookie(c.post(tai.url("/v1/tenants/acme/calls")))
        .header("origin", &tai.base)
        .json(&json!({"tool": "ac_audit_trail_export"}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["decision"], "refused");
    let seq = body["receipts"][0]["seq"].as_u64().unwrap();
    let r = with_cookie(c.get(tai.url(&format!("/v1/tenants/acme/explain?seq={seq}"))))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let x = &body["explanation"];
    assert_eq!(x["gate"], "iam", "{body}");
    assert_eq!(x["gate_label"], "Gate 2 of 3 · IAM roles held");
    assert!(
        x["fix"].as_str().unwrap().contains("read_audit_trail"),
        "{x}"
    );

    // Signing in with the admin token from the page, and out again.
    let login = tai.url("/login");
    let r = c
        .post(&login)
        .header("origin", &tai.base)
        .json(&json!({"token": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(&login)
        .header("origin", "http://evil.example")
        .json(&json!({"token": ADMIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(&login)
        .header("origin", &tai.base)
        .json(&json!({"token": ADMIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (second, _) = set_cookie(r.headers());
    let r = c
        .post(tai.url("/logout"))
        .header("cookie", &second)
        .header("origin", &tai.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (cleared, full) = set_cookie(r.headers());
    assert!(full.contains("Max-Age=0"), "{full}");
    assert!(cleared.ends_with('='), "{full}");
    let r = c
        .get(&tenants)
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The first browser is still signed in.
    let r = with_cookie(c.get(&tenants)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_login_is_off_away_from_loopback_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let tai = Tai::serve_with(
        &dir.path().join("state"),
        &["--browser-login", "off"],
        false,
    );
    let r = http()
        .get(tai.url("/login?code=whatever"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Browser sign-in is off"));
    let (status, rest) = tai.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(rest.iter().all(|l| !l.contains("/login?code=")), "{rest:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tai_demo_serves_a_fresh_workspace_and_removes_it_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut tai = Tai::demo(dir.path(), &tmp);
    let workspaces: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(workspaces.len(), 1, "{workspaces:?}");
    assert!(tai.base.starts_with("http://127.0.0.1:"), "{}", tai.base);
    assert!(tai.link.starts_with(&format!("{}/login?code=", tai.base)));

    let c = http();
    let r = c.get(&tai.link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = set_cookie(r.headers());
    let r = c
        .get(tai.url("/v1/tenants/acme"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let acme: Value = r.json().await.unwrap();
    assert_eq!(acme["state"], "stable", "{acme}");
    assert_eq!(
        acme["entitlement"]["sku_id"], "rollback-guard-base",
        "{acme}"
    );

    let _ = tai.line("Ctrl-C");
    let (status, rest) = tai.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("removed the demo workspace")),
        "{rest:?}"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the workspace is removed"
    );
}

// ---------------------------------------------------------------------------------------
// Headless Chromium.

/// The first of `names` on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free port and a WebDriver session of headless Chromium.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    /// `None` (with the reason printed) when no browser is installed.
    async fn launch() -> Option<Browser> {
        let Some(chromium) = on_path(&["chromium", "chromium-browser", "google-chrome"]) else {
            eprintln!(
                "skipping the browser test: no chromium on PATH (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let Some(chromedriver) = on_path(&["chromedriver"]) else {
            eprintln!(
                "skipping the browser test: no chromedriver on PATH (apt-get install chromium-driver)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,800",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let end = Instant::now() + DEADLINE;
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < end => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start a WebDriver session: {e}"),
            }
        };
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let browser = Browser {
            client,
            driver,
            _profile: profile,
            shots,
        };
        browser.viewport(1280, 800).await;
        Some(browser)
    }

    /// Sizes the window so that the page itself gets `width` × `height`.
    async fn viewport(&self, width: u32, height: u32) {
        let script = "return [window.outerWidth - window.innerWidth, \
                      window.outerHeight - window.innerHeight];";
        let frame = self.client.execute(script, vec![]).await.unwrap();
        let dw = u32::try_from(frame[0].as_u64().unwrap_or(0)).unwrap();
        let dh = u32::try_from(frame[1].as_u64().unwrap_or(0)).unwrap();
        self.client
            .set_window_size(width + dw, height + dh)
            .await
            .unwrap();
    }

    /// A screenshot of the top of the page.
    async fn shot(&self, name: &str) -> PathBuf {
        let _ = self.client.execute("window.scrollTo(0, 0);", vec![]).await;
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Polls `script` (a function body returning a value) until it returns something truthy.
    async fn until(&self, what: &str, script: &str) -> Value {
        let end = Instant::now() + DEADLINE;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if Instant::now() > end {
                let _ = self.shot("failure").await;
                let text = self
                    .client
                    .execute("return document.body.innerText", vec![])
                    .await
                    .unwrap();
                panic!(
                    "timed out waiting for {what}; the page says:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element `css` matches, once it contains `needle` (in any case:
    /// styles may capitalize what is shown).
    async fn text_with(&self, css: &str, needle: &str) -> String {
        let script = format!(
            "const el = document.querySelector({css:?}); \
             const text = el ? el.innerText : ''; \
             return text.toLowerCase().includes({needle:?}.toLowerCase()) ? text : null;"
        );
        self.until(&format!("`{needle}` in {css}"), &script)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn exists(&self, css: &str) {
        self.until(
            css,
            &format!("return document.querySelector({css:?}) !== null;"),
        )
        .await;
    }

    /// Clicks the element `css` matches, finding it again when the page redrew it in
    /// between (the receipt stream redraws the tenant at any moment).
    async fn click(&self, css: &str) {
        let end = Instant::now() + DEADLINE;
        loop {
            self.exists(css).await;
            // Centred, so the sticky top bar never covers it.
            let centre =
                format!("document.querySelector({css:?})?.scrollIntoView({{block: 'center'}});");
            let _ = self.client.execute(&centre, vec![]).await;
            let clicked = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if Instant::now() < end => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot click {css}: {e}"),
            }
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.exists(css).await;
        let el = self.client.find(Locator::Css(css)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        self.exists(css).await;
        let el = self.client.find(Locator::Css(css)).await.unwrap();
        el.select_by_value(value).await.unwrap();
    }

    async fn count(&self, css: &str) -> u64 {
        let v = self
            .client
            .execute(
                &format!("return document.querySelectorAll({css:?}).length;"),
                vec![],
            )
            .await
            .unwrap();
        v.as_u64().unwrap()
    }

    async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A bad hash in the address (a link cut short) does not leave the page dead, and an
/// expired tenant is offered plans to buy (a plan change no longer applies to it) and a
/// renewal.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_hash_and_an_expired_plan_in_a_real_browser() {
    let Some(b) = Browser::launch().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tai = Tai::serve(&dir.path().join("state"));
    let c = http();
    for event in [
        json!({"event_type": "entitlement.activated", "tenant_id": "acme", "sku_id": "rollback-guard-base"}),
        json!({"event_type": "entitlement.expired", "tenant_id": "acme"}),
    ] {
        let r = c
            .post(tai.url("/v1/events"))
            .bearer_auth(ADMIN)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    b.client.goto(&tai.link).await.unwrap();
    b.client.goto(&tai.url("/#%E0%A4%A")).await.unwrap();
    b.client.refresh().await.unwrap();
    b.text_with("#tenant-summary", "expired").await;
    assert_eq!(b.count("#toasts .toast.bad").await, 0);
    b.text_with("#plan-actions", "Buy").await;
    assert!(
        !b.text_with("#plan-actions", "Buy")
            .await
            .contains("Upgrade"),
        "an expired plan is not changed, it is bought"
    );
    b.exists("#lifecycle button:not([disabled])").await;

    // A tool outside the plan, opened: its form says so, until a plan that has it is bought.
    b.click("#tools details.locked summary").await;
    b.click("#tools li[data-tool=ac_rollback_orchestrator] button")
        .await;
    b.text_with("#call-panel", "not in plan").await;
    b.click("#plan-actions button[data-sku=rollback-guard-professional]")
        .await;
    b.exists("#tools > ul li[data-tool=ac_rollback_orchestrator]")
        .await;
    b.until(
        "the form's badge gone",
        "return !document.querySelector('#call-panel').textContent.includes('not in plan');",
    )
    .await;
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sales_demo_in_a_real_browser() {
    let Some(b) = Browser::launch().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tai = Tai::serve(&dir.path().join("state"));

    // Signed out, the page asks for the link or the token.
    b.client.goto(&tai.url("/")).await.unwrap();
    b.text_with("#signin", "login link").await;

    // The link signs in and lands on the page, with nothing in the address bar to reuse.
    b.client.goto(&tai.link).await.unwrap();
    b.text_with("#tenant-select", "no tenants yet").await;
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/");
    assert!(url.query().is_none(), "{url}");
    let cookies = b.client.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name().starts_with("tai_session_"))
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");
    let script = "return document.cookie";
    assert_eq!(
        b.client.execute(script, vec![]).await.unwrap(),
        json!(""),
        "HttpOnly"
    );

    // Buy a plan for a new tenant: the tools appear from the receipt stream.
    b.type_into("#new-id", "globex").await;
    b.select("#new-plan", "rollback-guard-base").await;
    b.click("#new-buy").await;
    b.text_with("#decision", "entitlement.activated accepted")
        .await;
    b.until(
        "three tools",
        "return document.querySelectorAll('#tools > ul li.tool').length === 3;",
    )
    .await;
    b.exists("#tools li[data-tool=ac_audit_trail_export][data-status=refused]")
        .await;
    b.text_with("#live-text", "live").await;
    b.exists("#timeline li[data-event=tool_surface_changed]")
        .await;
    b.exists("#diagram .state.current[data-state=boot]").await;
    b.shot("01-bought").await;

    // Boot the governor: the diagram moves to stable and animates boot → stable.
    b.click("#boot").await;
    b.exists("#diagram .state.current[data-state=stable]").await;
    b.exists("#diagram .edge.last#edge-boot-stable").await;

    // Call a tool the plan shows but does not allow: the refusal, explained.
    b.click("#tools li[data-tool=ac_audit_trail_export] button")
        .await;
    b.exists("#call-form").await;
    b.click("#call-button").await;
    let why = b.text_with("#explanation", "Gate 2 of 3").await;
    assert!(why.contains("read_audit_trail"), "{why}");
    assert!(why.to_lowercase().contains("to pass"), "{why}");
    b.text_with("#timeline", "action_refused").await;
    let demo = b.shot("02-refused-explained").await;
    if std::env::var_os("TAI_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/demo.png");
        std::fs::copy(&demo, docs).unwrap();
    }

    // Upgrade with the button the explanation offers: the tool unlocks.
    b.click("#explanation button[data-sku=rollback-guard-professional]")
        .await;
    b.exists("#tools li[data-tool=ac_audit_trail_export][data-status=usable]")
        .await;
    b.exists("#tools li[data-tool=ac_rollback_orchestrator]")
        .await;
    b.text_with("#tenant-summary", "Professional").await;

    // Call it again, with its arguments: executed.
    b.click("#tools li[data-tool=ac_audit_trail_export] button")
        .await;
    b.type_into("#arg-since", "2026-01-01T00:00:00Z").await;
    b.click("#call-button").await;
    b.text_with("#decision", "executed").await;

    // An action that overruns its bound: the governor intervenes, then recovers.
    b.click("#tools li[data-tool=ac_rollback_orchestrator] button")
        .await;
    b.type_into("#arg-deployment", "checkout-api").await;
    b.select("#arg-strategy", "\"canary\"").await;
    b.type_into("#call-ctx-deployment_stable", "true").await;
    b.type_into("#call-ctx-rollback_target_version", "2.4.0")
        .await;
    b.type_into("#call-ctx-rollback_policy_approved", "true")
        .await;
    b.click("#call-button").await;
    b.text_with("#decision", "failed").await;
    b.exists("#diagram .state.current[data-state=intervening]")
        .await;
    b.exists("#diagram .edge.last#edge-stable-intervening")
        .await;
    b.exists("#action-complete").await;
    b.text_with("#verify", "chain verified").await;
    b.shot("03-intervening").await;
    b.click("#action-complete").await;
    b.exists("#diagram .state.current[data-state=stable]").await;
    b.exists("#diagram .edge.last#edge-intervening-stable")
        .await;

    // A critical Andon from the signal form stops the rollback pack; the governor card says
    // so and clears it with one click. The governor's record counts what happened.
    b.select("#signal-name", "rollback_failed").await;
    b.click("#signal-button").await;
    let stop = b
        .text_with(
            "#governor-text .andon[data-signal=rollback_failed]",
            "stops",
        )
        .await;
    assert!(stop.contains("rollback_guard"), "{stop}");
    b.text_with("#tools", "andon").await;
    b.shot("04-andon").await;
    b.click("#governor-text .andon button").await;
    b.text_with("#decision", "andon cleared").await;
    b.until(
        "the Andon gone",
        "return !document.querySelector('#governor-text .andon');",
    )
    .await;
    let record = b.text_with("#governor-record", "calls").await;
    assert!(record.contains("refusals"), "{record}");

    // Every receipt streamed in, and the chain verifies.
    let r = http()
        .get(tai.url("/v1/tenants/globex"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let view: Value = r.json().await.unwrap();
    let stored = view["receipts"].as_u64().unwrap();
    b.until(
        "every receipt in the timeline",
        &format!("return document.querySelectorAll('#timeline li.receipt').length === {stored};"),
    )
    .await;
    assert!(stored >= 9, "{stored}");
    assert_eq!(b.count("#timeline li.receipt").await, stored);
    b.text_with("#verify", &format!("chain verified · {stored} receipts"))
        .await;

    // A receipt's details on click.
    b.click("#timeline li[data-event=action_refused] button")
        .await;
    let detail = b.text_with("#receipt-dialog", "Receipt #").await;
    assert!(detail.contains("previous hash"), "{detail}");
    b.text_with("#receipt-explanation", "Gate 2 of 3").await;
    b.shot("05-receipt").await;
    b.click("#receipt-dialog .close").await;

    // The plan ladder and the plan × tool matrix.
    b.click("#tab-button-plans").await;
    b.exists("#matrix td.cell.usable").await;
    b.exists("#matrix td.cell.refused").await;
    b.exists("#matrix td.cell.absent").await;
    let ladder = b.text_with("#ladder", "Step 1").await;
    let base = ladder.find("$29.00").unwrap();
    let pro = ladder.find("$299.00").unwrap();
    assert!(base < pro, "cheapest first: {ladder}");
    b.shot("06-plans").await;

    // Narrow windows get one column.
    b.click("#tab-button-live").await;
    b.viewport(800, 1100).await;
    b.until(
        "one column",
        "const cols = getComputedStyle(document.querySelector('.columns')).gridTemplateColumns; \
         return cols.split(' ').length === 1;",
    )
    .await;
    b.shot("07-narrow").await;

    b.quit().await;
    drop(tai);
}
