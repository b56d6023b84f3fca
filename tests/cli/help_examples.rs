//! Every example in every `--help` runs. The examples are read from the help text itself
//! (the lines under `Example:` / `Examples:` up to the next blank line), so the test cannot
//! drift from what users see; each help's examples run in order, through `bash`, in a fresh
//! copy of one prepared workspace, and each must exit 0.
//!
//! The workspace: the shipped catalog as `./packs` + `./skus` (the base and professional
//! plans with their marketplace listings, as in `tests/fixtures/marketplace`), a copy under
//! `my-catalog/`, the shipped scenarios under `tests/scenarios/` and one as `story.yaml`,
//! the marketplace fixtures under `gcp/`, `aws/`, `azure/`, `purchase.json` (a purchase for
//! `initech`), `policy.yaml` (the IAM policy `tai iam --help` shows), a signing key `signing.key` (`TAI_SIGNING_KEY`), tenant `acme` on the
//! professional plan, booted, with a kept checkpoint `kept.json`, and tenant `hooli` with an
//! overrun action in flight. The clock is pinned with `TAI_NOW`. Servers (`serve`, `demo`)
//! listen on a free loopback port instead of the one in the example, and `curl` examples
//! after one are sent to it; `tai mcp` must still be serving its open stdin after a moment;
//! `xdg-open` is a stub.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::common::{self, Served};

const NOW: &str = "2026-03-01T12:00:00Z";

/// Every subcommand path, e.g. `["receipts", "verify"]`, and the top level (`[]`).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        out.push(prefix.to_vec());
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&tai::cli::Cli::command(), &[], &mut out);
    out
}

/// The examples of one help text: the lines after `Example:`/`Examples:` up to a blank
/// line, with `\` continuations joined. A trailing `# comment` is kept: bash ignores it.
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut pending = String::new();
    for line in help.lines() {
        let trimmed = line.trim();
        if trimmed == "Examples:" || trimmed == "Example:" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if trimmed.is_empty() {
            inside = false;
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(trimmed);
        out.push(std::mem::take(&mut pending));
    }
    out
}

fn tai_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tai"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A command as the examples run: bash, with the workspace's environment.
fn shell(ws: &Path, home: &Path, bin: &Path, line: &str) -> Command {
    let mut cmd = Command::new("bash");
    let path = format!(
        "{}:{}:{}",
        tai_bin().parent().unwrap().display(),
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.args(["-c", line])
        .current_dir(ws)
        .env("PATH", path)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TAI_NOW", NOW)
        .env("TAI_SIGNING_KEY", ws.join("signing.key"))
        .env_remove("TAI_CATALOG")
        .env_remove("TAI_STATE")
        .env_remove("TAI_ADMIN_TOKEN")
        .env_remove("RUST_LOG");
    cmd
}

fn run_ok(ws: &Path, home: &Path, bin: &Path, line: &str) {
    let out = shell(ws, home, bin, line).output().unwrap();
    assert!(
        out.status.success(),
        "preparing the workspace: `{line}` failed: {}{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
}

/// Builds the prepared workspace in `root/ws` (and a home in `root/home`).
fn prepare(root: &Path) -> PathBuf {
    let ws = root.join("ws");
    let home = root.join("home");
    let bin = root.join("bin");
    // No ~/.config/tai: `tai keys new --out ~/.config/tai/signing` makes it, as on a fresh
    // machine.
    std::fs::create_dir_all(home.join(".local/share/bash-completion/completions")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("xdg-open");
    std::fs::write(&stub, "#!/bin/sh\nexit 0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let repo = common::root();
    copy_dir(&repo.join("packs"), &ws.join("packs"));
    copy_dir(&repo.join("skus"), &ws.join("skus"));
    let market = repo.join("tests/fixtures/marketplace");
    for sku in ["rollback-guard-base", "rollback-guard-professional"] {
        let listed =
            std::fs::read_to_string(market.join(format!("catalog/skus/{sku}.yaml"))).unwrap();
        let section = &listed[listed.find("\nmarketplace:").unwrap()..];
        let path = ws.join(format!("skus/{sku}.yaml"));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(section.trim_start_matches('\n'));
        std::fs::write(&path, text).unwrap();
    }
    std::fs::copy(
        market.join("catalog/skus/rollback-guard-metered.toml"),
        ws.join("skus/rollback-guard-metered.toml"),
    )
    .unwrap();
    for m in ["gcp", "aws", "azure"] {
        copy_dir(&market.join(m), &ws.join(m));
    }
    copy_dir(&ws.join("packs"), &ws.join("my-catalog/packs"));
    copy_dir(&ws.join("skus"), &ws.join("my-catalog/skus"));
    copy_dir(&repo.join("tests/scenarios"), &ws.join("tests/scenarios"));
    std::fs::copy(
        repo.join("tests/scenarios/02_upgrade_and_downgrade.yaml"),
        ws.join("story.yaml"),
    )
    .unwrap();
    std::fs::write(
        ws.join("purchase.json"),
        r#"{"event_type": "entitlement.activated", "tenant_id": "initech", "sku_id": "rollback-guard-base"}"#,
    )
    .unwrap();
    std::fs::write(
        ws.join("policy.yaml"),
        "bindings:\n  - role: read_deployment\n    members: [group:oncall]\n  \
         - role: write_rollback\n    members: [group:oncall]\n    condition:\n      \
         title: business hours\n      \
         expression: request.time.getHours() >= 9 && request.time.getHours() < 17\n\
         groups:\n  oncall: [user:alice@acme.com, user:bob@acme.com]\n",
    )
    .unwrap();
    for line in [
        "tai keys new --out signing",
        "tai event activate --tenant acme --sku rollback-guard-professional",
        "tai signal --tenant acme",
        "tai receipts checkpoint --tenant acme --out kept.json",
        "tai call ac_receipt_verify --tenant acme",
        "tai event activate --tenant hooli --sku rollback-guard-professional",
        "tai signal --tenant hooli",
        // A canary rollback overruns its bound: exit 5, and the action stays in flight.
        "tai call ac_rollback_orchestrator --tenant hooli --arg deployment=checkout-api \
         --arg strategy=canary --context deployment_stable=true \
         --context rollback_target_version=2.4.0 --context rollback_policy_approved=true; \
         test $? -eq 5",
    ] {
        run_ok(&ws, &home, &bin, line);
    }
    ws
}

/// A `tai mcp` example: serving its stdin, it must still be running after a moment.
fn serves_stdio(mut cmd: Command) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return Err(format!(
                "stopped ({}): {}",
                out.status,
                common::text(&out.stderr)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// The subcommand an example runs (`serve` in `tai --state s serve`).
fn subcommand(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace().skip_while(|w| *w != "tai").skip(1);
    while let Some(w) = words.next() {
        if ["--state", "--catalog", "--color", "--now", "--signing-key"].contains(&w) {
            words.next();
        } else if !w.starts_with('-') {
            return Some(w);
        }
    }
    None
}

/// A `tai serve` or `tai demo` example: it runs until stopped.
fn is_server(line: &str) -> bool {
    matches!(subcommand(line), Some("serve" | "demo"))
}

fn on_free_port(line: &str) -> String {
    let command = line.split(" #").next().unwrap_or(line);
    let mut words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    if let Some(i) = words.iter().position(|w| w == "--addr") {
        words[i + 1] = "127.0.0.1:0".to_owned();
    } else {
        words.push("--addr".to_owned());
        words.push("127.0.0.1:0".to_owned());
    }
    words.join(" ")
}

#[test]
fn every_help_example_runs() {
    let root = tempfile::tempdir().unwrap();
    let base = prepare(root.path());
    let home = root.path().join("home");
    let bin = root.path().join("bin");
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in command_paths() {
        let help = common::tai().args(&path).arg("--help").output().unwrap();
        let examples = examples(&common::text(&help.stdout));
        if examples.is_empty() {
            continue;
        }
        let copy = tempfile::tempdir().unwrap();
        let ws = copy.path().join("ws");
        copy_dir(&base, &ws);
        let mut server: Option<Served> = None;
        for example in examples {
            ran += 1;
            let shown = format!("tai {} --help: `{example}`", path.join(" "));
            if subcommand(&example) == Some("mcp") {
                if let Err(e) = serves_stdio(shell(&ws, &home, &bin, &example)) {
                    failures.push(format!("{shown}: {e}"));
                }
                continue;
            }
            if is_server(&example) {
                drop(server.take());
                match Served::try_start(shell(&ws, &home, &bin, &on_free_port(&example))) {
                    Ok(s) => server = Some(s),
                    Err(e) => failures.push(format!("{shown}: {e}")),
                }
                continue;
            }
            let mut line = example.clone();
            if line.starts_with("curl ") {
                let Some(s) = &server else {
                    failures.push(format!("{shown}: no server to send it to"));
                    continue;
                };
                line = line
                    .replacen("curl ", "curl -sS --fail-with-body ", 1)
                    .replace("http://127.0.0.1:7878", &s.base);
            }
            let out = shell(&ws, &home, &bin, &line)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "{shown}: {}\n{}{}",
                    out.status,
                    common::text(&out.stdout),
                    common::text(&out.stderr)
                ));
            }
        }
    }
    assert!(ran > 40, "only {ran} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_are_read_with_their_continuations() {
    let help = "Usage: x\n\nExamples:\n  tai a --b \\\n      --c\n  tai d   # why\n\nMore text\n  tai not-an-example\n";
    assert_eq!(examples(help), ["tai a --b --c", "tai d   # why"]);
}
