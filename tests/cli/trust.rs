//! The record against someone with write access to the state directory: signed checkpoints,
//! inclusion and consistency proofs, quarantine of what follows a head, the manifest.
//!
//! Each attack first shows what an unkeyed check still accepts, then that the check with the
//! public key (or the writer) refuses it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use tai::receipts::{ChainHead, LedgerDir, Receipt, StoredHead};

use crate::common::{self, Run, tenant};

/// A state directory, a key pair outside it, and a second key pair.
struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    public: PathBuf,
    other_public: PathBuf,
}

impl Fixture {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn ledger(&self) -> LedgerDir {
        LedgerDir::in_state(self.state())
    }

    /// `tai` with the state directory, a fixed clock and the signing key.
    fn tai(&self, args: &[&str]) -> Run {
        common::tai()
            .arg("--state")
            .arg(self.state())
            .args(["--now", "2026-03-01T00:00:00Z"])
            .env("TAI_SIGNING_KEY", &self.key)
            .args(args)
            .output()
            .unwrap()
            .into()
    }

    fn verify(&self, extra: &[&str]) -> Run {
        let mut args = vec!["receipts", "verify", "--public-key"];
        args.push(self.public.to_str().unwrap());
        args.extend_from_slice(extra);
        self.tai(&args)
    }

    /// `tai event activate` of tenant `name` on the base plan.
    fn activate(&self, name: &str) -> Run {
        self.tai(&[
            "event",
            "activate",
            "--tenant",
            name,
            "--sku",
            "rollback-guard-base",
        ])
    }

    /// `tai receipts checkpoint` of `name`, kept outside the state directory.
    fn keep_checkpoint(&self, name: &str) -> PathBuf {
        let kept = self.dir.path().join("kept.json");
        let out = kept.to_str().unwrap();
        self.tai(&["receipts", "checkpoint", "--tenant", name, "--out", out])
            .ok();
        kept
    }

    fn lines(&self, name: &str) -> Vec<String> {
        let text = fs::read_to_string(self.ledger().ledger_path(&tenant(name))).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// Rewrites `name`'s ledger as `receipts`, with a head that matches: what someone with
    /// write access but no key can do.
    fn rewrite(&self, name: &str, receipts: &[Receipt]) {
        let mut bytes = Vec::new();
        for r in receipts {
            r.write_line(&mut bytes);
            bytes.push(b'\n');
        }
        let head = StoredHead {
            next_seq: receipts.len() as u64,
            hash: receipts.last().unwrap().hash.to_string(),
            ledger_bytes: bytes.len() as u64,
        };
        let dir = self.ledger();
        fs::write(dir.ledger_path(&tenant(name)), bytes).unwrap();
        fs::write(dir.head_path(&tenant(name)), head.encode()).unwrap();
    }
}

/// `acme` and `beta` activated and signalled, each write signed.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = common::new_keys(dir.path(), "signing");
    let (_, other_public) = common::new_keys(dir.path(), "other");
    let f = Fixture {
        dir,
        key,
        public,
        other_public,
    };
    for t in ["acme", "beta"] {
        f.activate(t).ok();
        for _ in 0..5 {
            f.tai(&["signal", "--tenant", t]).ok();
        }
    }
    f.verify(&["--all"]).ok().has("signatures verified");
    f
}

fn receipts(lines: &[String]) -> Vec<Receipt> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Seals `bodies` again from `seq` on, as a forger recomputing every hash would.
fn reseal(mut chain: Vec<Receipt>, from: usize) -> Vec<Receipt> {
    let mut head = ChainHead {
        next_seq: from as u64,
        hash: if from == 0 {
            tai::receipts::GENESIS_HASH.into()
        } else {
            chain[from - 1].hash.clone()
        },
    };
    for r in &mut chain[from..] {
        *r = head.seal(r.body.clone());
    }
    chain
}

#[test]
fn keys_are_private_and_kept_outside_the_state_directory() {
    let f = fixture();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&f.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::set_permissions(&f.key, fs::Permissions::from_mode(0o640)).unwrap();
        f.tai(&["signal", "--tenant", "acme"])
            .exits(2)
            .errs("readable by group or others");
        fs::set_permissions(&f.key, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let inside = f.state().join("signing.key");
    fs::copy(&f.key, &inside).unwrap();
    Run::from(
        common::tai()
            .arg("--state")
            .arg(f.state())
            .arg("--signing-key")
            .arg(&inside)
            .args(["signal", "--tenant", "acme"])
            .output()
            .unwrap(),
    )
    .exits(2)
    .errs("inside the state directory");
    // A signed chain is not written without the key.
    Run::from(
        common::tai()
            .arg("--state")
            .arg(f.state())
            .args(["signal", "--tenant", "acme"])
            .output()
            .unwrap(),
    )
    .exits(2)
    .errs("is signed");
    // Refusing to overwrite a key.
    let out: Run = common::tai()
        .args(["keys", "new", "--out"])
        .arg(f.key.with_extension(""))
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 2);
    // A pair is written whole or not at all, and to a prefix, not into a folder.
    let keys = f.dir.path().join("keys");
    fs::create_dir(&keys).unwrap();
    fs::write(keys.join("only.pub"), "").unwrap();
    let new_keys = |out: &Path| -> Run {
        common::tai()
            .args(["keys", "new", "--out"])
            .arg(out)
            .output()
            .unwrap()
            .into()
    };
    new_keys(&keys.join("only"))
        .exits(2)
        .errs("only.pub`: it exists")
        .errs("nothing was written");
    assert!(!keys.join("only.key").exists());
    new_keys(&keys).exits(2).errs("is a folder");
    assert_eq!(fs::read_dir(&keys).unwrap().count(), 1);
}

#[test]
fn a_rewritten_and_rehashed_chain_fails_against_the_key() {
    let f = fixture();
    let mut chain = receipts(&f.lines("acme"));
    chain[3].body.governor_id = "gov-evil".into();
    f.rewrite("acme", &reseal(chain, 3));
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has("does not match its signed checkpoint");
    // Removing the checkpoints too leaves a chain consistent in itself, which only the key
    // tells apart.
    fs::remove_file(f.ledger().checkpoints_path(&tenant("acme"))).unwrap();
    f.tai(&["receipts", "verify", "--tenant", "acme", "--deep"])
        .ok();
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has("no signed checkpoint");
    // Nor does the next writer with the key sign the rewrite as it stands: a chain with
    // receipts and no checkpoint is refused, and stays unsigned.
    f.tai(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("tenant `acme` has 7 receipts and no signed checkpoint")
        .errs("--adopt-unsigned");
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has("no signed checkpoint");
    // The other tenant is written as before.
    f.tai(&["signal", "--tenant", "beta"]).ok();
}

/// Keeping an old genuine checkpoint line (its signature holds) while rewriting what came
/// after it does not get the rewrite signed either: a signing writer opening a tenant
/// requires its latest checkpoint to state the head it finds (or to be ahead of it, a crash's
/// tail), and refuses a chain that runs past it.
#[test]
fn a_rewrite_after_a_kept_old_checkpoint_is_not_signed_by_the_next_writer() {
    let f = fixture();
    let cps = f.ledger().checkpoints_path(&tenant("acme"));
    let first = fs::read_to_string(&cps)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let kept: tai::receipts::Checkpoint = serde_json::from_str(&first).unwrap();
    let from = kept.seq as usize + 1;
    let mut chain = receipts(&f.lines("acme"));
    chain[from].body.governor_id = "gov-evil".into();
    f.rewrite("acme", &reseal(chain, from));
    fs::write(&cps, format!("{first}\n")).unwrap();
    f.verify(&["--tenant", "acme"]).exits(1);
    f.tai(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("latest signed checkpoint covers only seq");
    f.verify(&["--tenant", "acme"]).exits(1);
}

/// A workspace written before signing was turned on: its chains have receipts and no
/// checkpoint, which a signing writer signs only when told to, once.
#[test]
fn chains_written_without_a_key_are_signed_only_when_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = common::new_keys(dir.path(), "signing");
    let state = dir.path().join("state");
    common::onboard_acme(&state, "rollback-guard-base", &[]);
    let signed = |args: &[&str]| -> Run {
        let mut cmd = common::tai();
        cmd.arg("--state").arg(&state).env("TAI_SIGNING_KEY", &key);
        // The clock `onboard_acme` wrote with.
        cmd.args(["--now", "2026-03-01T00:00:00Z"]);
        cmd.args(args).output().unwrap().into()
    };
    signed(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("has 3 receipts and no signed checkpoint");
    signed(&["--adopt-unsigned", "signal", "--tenant", "acme"]).ok();
    // The chain records the adoption, on the operator's word, and what was found, once.
    signed(&["--adopt-unsigned", "signal", "--tenant", "acme"]).ok();
    let shown = common::tai_at(
        &state,
        &["receipts", "show", "--tenant", "acme", "--format", "json"],
    )
    .ok()
    .json();
    let shown = &shown["receipts"];
    let events: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "ledger_history_adopted")
            .count(),
        1,
        "{events:?}"
    );
    let adopted = &shown[3];
    assert_eq!(adopted["event_type"], "ledger_history_adopted", "{shown}");
    assert_eq!(adopted["metadata"]["to_seq"], 2);
    assert!(
        adopted["metadata"]["reason"]
            .as_str()
            .unwrap()
            .contains("has 3 receipts and no signed checkpoint"),
        "{adopted}"
    );
    // Signed from then on: the flag is needed no more, and the chain verifies with the key.
    signed(&["signal", "--tenant", "acme"]).ok();
    let public = public.to_str().unwrap();
    common::tai_at(
        &state,
        &["receipts", "verify", "--all", "--public-key", public],
    )
    .ok()
    .has("signatures verified");
}

/// The operator replaces the signing key. The new key alone refuses a chain the old key
/// signed (its checkpoints are not ones it can vouch for) without changing anything; told the
/// old public key, it continues each chain and takes the workspace manifest over, and the
/// history verifies against both keys.
#[test]
fn a_rotated_key_continues_the_signed_history_once_told_the_previous_key() {
    let f = fixture();
    let (new_key, new_public) = common::new_keys(f.dir.path(), "rotated");
    let rotated = |args: &[&str]| -> Run {
        common::tai()
            .arg("--state")
            .arg(f.state())
            .args(["--now", "2026-03-01T00:00:00Z"])
            .env("TAI_SIGNING_KEY", &new_key)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let cps = f.ledger().checkpoints_path(&tenant("acme"));
    let signed = fs::read(&cps).unwrap();
    rotated(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("the latest checkpoint of tenant `acme` (seq 6) is signed by key")
        .errs("--previous-key FILE");
    assert_eq!(fs::read(&cps).unwrap(), signed);
    let old = f.public.to_str().unwrap();
    rotated(&["--previous-key", old, "signal", "--tenant", "acme"]).ok();
    // acme's latest checkpoint is the new key's now, and so is the manifest: a tenant is
    // added with the new key alone. beta's is still the old key's until it is written.
    rotated(&["signal", "--tenant", "acme"]).ok();
    rotated(&[
        "event",
        "activate",
        "--tenant",
        "gamma",
        "--sku",
        "rollback-guard-base",
    ])
    .ok();
    rotated(&["signal", "--tenant", "beta"]).exits(2);
    common::tai()
        .arg("--state")
        .arg(f.state())
        .args(["--now", "2026-03-01T00:00:00Z"])
        .env("TAI_SIGNING_KEY", &new_key)
        .env("TAI_PREVIOUS_KEYS", old)
        .args(["signal", "--tenant", "beta"])
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
    let new = new_public.to_str().unwrap();
    let both = [
        "receipts",
        "verify",
        "--all",
        "--public-key",
        old,
        "--public-key",
        new,
    ];
    f.tai(&both).ok().has("signatures verified");
    // The new key alone does not vouch for what the old one signed.
    f.tai(&["receipts", "verify", "--all", "--public-key", new])
        .exits(1)
        .has("which is not a given key");
    // A previous key is only meaningful beside a signing key.
    common::tai()
        .arg("--state")
        .arg(f.state())
        .args(["--previous-key", old, "signal", "--tenant", "acme"])
        .output()
        .map(Run::from)
        .unwrap()
        .exits(2)
        .errs("no --signing-key");
}

#[test]
fn a_rolled_back_chain_fails_against_the_key_and_a_kept_checkpoint() {
    let f = fixture();
    let kept = f.keep_checkpoint("acme");
    let chain = receipts(&f.lines("acme"));
    assert!(chain.len() > 5);
    f.rewrite("acme", &chain[..5]);
    f.verify(&["--tenant", "acme"]).exits(1).has("rolled back");
    // Nor does the next writer with the key write on it, which would fork the signed
    // history: the checkpoints stay as they were.
    let cps = f.ledger().checkpoints_path(&tenant("acme"));
    let signed = fs::read(&cps).unwrap();
    f.tai(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("the chain ends after 5 receipts")
        .errs("rolled back");
    assert_eq!(fs::read(&cps).unwrap(), signed);
    // Rolling the checkpoints back too is what only a kept checkpoint catches.
    let cps = f.ledger().checkpoints_path(&tenant("acme"));
    let text = fs::read_to_string(&cps).unwrap();
    let kept_lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64() <= Some(4)
        })
        .collect();
    fs::write(&cps, kept_lines.join("\n") + "\n").unwrap();
    f.verify(&["--tenant", "acme"]).ok();
    f.verify(&["--tenant", "acme", "--checkpoint", kept.to_str().unwrap()])
        .exits(1)
        .has("does not extend the kept checkpoint");
    // The same with the rolled-back receipts left after the head: never acknowledged there,
    // and no checkpoint covers them, so they are not the history the kept one is matched to.
    let mut bytes = Vec::new();
    for r in &chain {
        r.write_line(&mut bytes);
        bytes.push(b'\n');
    }
    fs::write(f.ledger().ledger_path(&tenant("acme")), bytes).unwrap();
    f.verify(&["--tenant", "acme"])
        .ok()
        .has("that no checkpoint covers");
    f.verify(&["--tenant", "acme", "--checkpoint", kept.to_str().unwrap()])
        .exits(1)
        .has("does not extend the kept checkpoint")
        .has("the chain ends after 5 receipts");
}

#[test]
fn a_relabelled_chain_of_another_tenant_fails_against_the_key() {
    let f = fixture();
    let mut chain = receipts(&f.lines("beta"));
    for r in &mut chain {
        r.body.tenant_id = tenant("acme");
        r.body.governor_id = "gov-acme".into();
    }
    f.rewrite("acme", &reseal(chain, 0));
    assert_eq!(f.verify(&["--tenant", "acme"]).code, 1);
    // With beta's checkpoints beside it: they are beta's, and relabelling breaks them.
    let dir = f.ledger();
    fs::copy(
        dir.checkpoints_path(&tenant("beta")),
        dir.checkpoints_path(&tenant("acme")),
    )
    .unwrap();
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has("names tenant `beta`");
    let relabelled = fs::read_to_string(dir.checkpoints_path(&tenant("acme")))
        .unwrap()
        .replace("\"tenant_id\":\"beta\"", "\"tenant_id\":\"acme\"");
    fs::write(dir.checkpoints_path(&tenant("acme")), relabelled).unwrap();
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has("bad signature");
}

#[test]
fn a_garbage_tail_survives_reading_and_is_quarantined_with_a_receipt_by_the_next_writer() {
    let f = fixture();
    let path = f.ledger().ledger_path(&tenant("acme"));
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"not\":\"a receipt\"}\n");
    fs::write(&path, &bytes).unwrap();
    assert_eq!(f.verify(&["--tenant", "acme"]).code, 1);
    f.tai(&["state", "--tenant", "acme"]).exits(1);
    f.tai(&["receipts", "verify", "--tenant", "acme"]);
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "a read-only command changed the ledger"
    );
    assert_eq!(f.verify(&["--tenant", "acme"]).code, 1);

    let before = f.lines("acme").len() - 1;
    f.tai(&["signal", "--tenant", "acme"]).ok();
    let chain = receipts(&f.lines("acme"));
    let notice = &chain[before];
    assert_eq!(notice.body.event_type.as_str(), "ledger_tail_quarantined");
    let meta = notice.body.metadata.to_value();
    assert_eq!(meta["bytes"], 20);
    let file = f.ledger().path().join(meta["file"].as_str().unwrap());
    assert_eq!(fs::read(file).unwrap(), b"{\"not\":\"a receipt\"}\n");
    f.verify(&["--tenant", "acme"]).ok();
}

#[test]
fn a_forged_receipt_after_the_head_is_never_adopted() {
    let f = fixture();
    let chain = receipts(&f.lines("acme"));
    let last = chain.last().unwrap();
    let mut head = ChainHead {
        next_seq: last.seq + 1,
        hash: last.hash.clone(),
    };
    let mut body = last.body.clone();
    body.id = "rcpt_forged".into();
    let forged = head.seal(body);
    let path = f.ledger().ledger_path(&tenant("acme"));
    let mut bytes = fs::read(&path).unwrap();
    forged.write_line(&mut bytes);
    bytes.push(b'\n');
    fs::write(&path, &bytes).unwrap();

    let receipts_shown = |run: Run| run.ok().json()["receipts"].as_u64().unwrap();
    let n = chain.len() as u64;
    assert_eq!(
        receipts_shown(f.tai(&["state", "--tenant", "acme", "--format", "json"])),
        n
    );
    // Readers show the acknowledged chain only, and verification says what the tail is.
    let shown = f
        .tai(&["receipts", "show", "--tenant", "acme", "--format", "json"])
        .ok()
        .json();
    assert_eq!(shown["chain_length"], n, "{shown}");
    let exported = f
        .tai(&[
            "receipts", "export", "--tenant", "acme", "--format", "jsonl",
        ])
        .ok()
        .stdout;
    assert!(!exported.contains("rcpt_forged"), "{exported}");
    assert_eq!(exported.lines().count() as u64, n);
    f.verify(&["--tenant", "acme", "--deep"])
        .ok()
        .has("1 unacknowledged receipt after the head that no checkpoint covers")
        .has("the next write moves them to quarantine");
    f.tai(&["signal", "--tenant", "acme"]).ok();
    let after = receipts(&f.lines("acme"));
    assert!(after.iter().all(|r| &*r.body.id != "rcpt_forged"));
    let notice = &after[chain.len()];
    assert_eq!(notice.body.event_type.as_str(), "ledger_tail_quarantined");
    assert_eq!(notice.body.metadata.to_value()["receipts"], 1);
    f.verify(&["--tenant", "acme"]).ok();
}

#[test]
fn a_deleted_ledger_fails_verification_and_is_not_recreated() {
    for keep_head in [true, false] {
        let f = fixture();
        let dir = f.ledger();
        fs::remove_file(dir.ledger_path(&tenant("acme"))).unwrap();
        if !keep_head {
            fs::remove_file(dir.head_path(&tenant("acme"))).unwrap();
        }
        f.tai(&["receipts", "verify", "--all"])
            .exits(1)
            .has("acme: BROKEN: ")
            .has("deleted")
            .has("beta: ok");
        f.tai(&["signal", "--tenant", "acme"])
            .exits(2)
            .errs("was deleted");
        assert!(!dir.contains(&tenant("acme")));
    }
}

/// Deleting a tenant's files and taking it off the manifest breaks the manifest's
/// signature, which `verify` reports; the next signing writer adding a tenant does not sign
/// the edited list (which would hide the deletion), nor one stripped of its signature.
#[test]
fn a_manifest_edited_to_hide_a_deleted_tenant_is_not_signed_again() {
    let f = fixture();
    let dir = f.ledger();
    let beta = tenant("beta");
    for path in [
        dir.ledger_path(&beta),
        dir.head_path(&beta),
        dir.checkpoints_path(&beta),
    ] {
        fs::remove_file(path).unwrap();
    }
    let manifest = dir.manifest_path();
    let edited = fs::read_to_string(&manifest)
        .unwrap()
        .replace(",\n    \"beta\"", "");
    assert!(!edited.contains("beta"), "{edited}");
    fs::write(&manifest, &edited).unwrap();
    f.verify(&["--all"]).exits(1).has("manifest");
    f.activate("gamma")
        .exits(2)
        .errs("is not as this key signed it")
        .errs("--adopt-unsigned");
    f.verify(&["--all"]).exits(1).has("manifest");
    // Stripped of its signature: the same.
    let stripped: serde_json::Value = serde_json::from_str(&edited).unwrap();
    let stripped = serde_json::json!({ "tenants": stripped["tenants"] });
    fs::write(&manifest, stripped.to_string()).unwrap();
    f.activate("gamma").exits(2).errs("not signed");
    assert!(!dir.contains(&tenant("gamma")));
    // Deleted outright: a signing writer does not make one again from the chains left,
    // which would list acme alone under a fresh signature.
    fs::remove_file(&manifest).unwrap();
    f.activate("gamma")
        .exits(2)
        .errs("is missing beside the chains there")
        .errs("--adopt-unsigned");
    f.tai(&["signal", "--tenant", "acme"])
        .exits(2)
        .errs("is missing");
    assert!(!manifest.exists());
    f.verify(&["--all"]).exits(1).has("manifest is missing");
    // Adopting what is there is the operator's call, made on purpose.
    f.tai(&["--adopt-unsigned", "signal", "--tenant", "acme"])
        .ok();
    f.verify(&["--all"]).ok();
}

#[test]
fn a_proof_proves_one_receipt_without_the_ledger() {
    let f = fixture();
    let proof = f.dir.path().join("acme-3.proof.json");
    f.tai(&[
        "receipts",
        "prove",
        "--tenant",
        "acme",
        "--seq",
        "3",
        "--out",
        proof.to_str().unwrap(),
    ])
    .ok();
    // Checked with the public key alone: no state directory.
    let check = common::verify_proof;
    check(&proof, &f.public).ok().has("receipt seq 3");
    assert_eq!(check(&proof, &f.other_public).code, 1);
    // Reformatted as people do (`jq .`): the same proof, metadata indented too.
    let value: serde_json::Value = serde_json::from_slice(&fs::read(&proof).unwrap()).unwrap();
    let pretty = f.dir.path().join("pretty.json");
    fs::write(&pretty, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    check(&pretty, &f.public).ok().has("receipt seq 3");

    let original: serde_json::Value = serde_json::from_slice(&fs::read(&proof).unwrap()).unwrap();
    let tampered = f.dir.path().join("tampered.json");
    let mut edits: Vec<(&str, serde_json::Value)> = Vec::new();
    let mut v = original.clone();
    v["receipt"]["governor_id"] = "gov-evil".into();
    edits.push(("modified receipt", v));
    let mut v = original.clone();
    v["leaf_index"] = 2.into();
    edits.push(("wrong seq", v));
    let mut v = original.clone();
    v["audit_path"][0] = "00".repeat(32).into();
    edits.push(("changed path", v));
    let mut v = original.clone();
    v["checkpoint"]["seq"] = 99.into();
    v["tree_size"] = 100.into();
    edits.push(("changed checkpoint", v));
    for (what, v) in edits {
        fs::write(&tampered, serde_json::to_vec(&v).unwrap()).unwrap();
        let out = check(&tampered, &f.public);
        assert_eq!(out.code, 1, "{what}: {}", out.stdout);
        assert!(out.stdout.starts_with("INVALID"), "{what}: {}", out.stdout);
        // For machines too: the message says what was found, never the proof's claim.
        let out = common::tai()
            .args([
                "receipts",
                "verify-proof",
                "--format",
                "json",
                "--public-key",
            ])
            .arg(&f.public)
            .arg(&tampered)
            .output()
            .unwrap();
        let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: {verdict}");
        assert_eq!(verdict["ok"], false, "{what}: {verdict}");
        let message = verdict["message"].as_str().unwrap();
        assert!(
            message.starts_with("INVALID inclusion proof: "),
            "{what}: {verdict}"
        );
        assert!(!message.contains("is in the history"), "{what}: {verdict}");
    }

    // A kept checkpoint, later writes, and the proof that the history only grew.
    let kept = f.keep_checkpoint("acme");
    f.tai(&["signal", "--tenant", "acme"]).ok();
    f.verify(&["--tenant", "acme", "--checkpoint", kept.to_str().unwrap()])
        .ok();
    let grew = f.dir.path().join("grew.json");
    f.tai(&[
        "receipts",
        "prove",
        "--tenant",
        "acme",
        "--from-checkpoint",
        kept.to_str().unwrap(),
        "--out",
        grew.to_str().unwrap(),
    ])
    .ok();
    check(&grew, &f.public)
        .ok()
        .has("extends the one signed at seq");
    // No such proof from a checkpoint that is not of this history: said so, a failed check.
    let prove_from = |kept: &Path| {
        f.tai(&[
            "receipts",
            "prove",
            "--tenant",
            "acme",
            "--from-checkpoint",
            kept.to_str().unwrap(),
        ])
    };
    let beta = f.dir.path().join("beta.json");
    fs::copy(f.keep_checkpoint("beta"), &beta).unwrap();
    prove_from(&beta)
        .exits(1)
        .errs("is not part of tenant `acme`'s signed history: it is tenant `beta`'s");
    let kept = f.keep_checkpoint("acme");
    let mut ahead: serde_json::Value = serde_json::from_slice(&fs::read(&kept).unwrap()).unwrap();
    ahead["seq"] = 1000.into();
    fs::write(&kept, ahead.to_string()).unwrap();
    prove_from(&kept)
        .exits(1)
        .errs("it covers seq 1000, and the latest checkpoint only seq");
    let mut other: serde_json::Value = serde_json::from_slice(&fs::read(&grew).unwrap()).unwrap();
    other = other["old"].take();
    other["merkle_root"] = "ab".repeat(32).into();
    fs::write(&kept, other.to_string()).unwrap();
    let run = prove_from(&kept).exits(1);
    run.errs("the history up to the latest checkpoint does not extend it");
    assert!(!run.stderr.contains(".tree"), "{}", run.stderr);
}

#[test]
fn reading_commands_exit_1_on_a_broken_chain() {
    let f = fixture();
    let path = f.ledger().ledger_path(&tenant("acme"));
    let text = fs::read_to_string(&path)
        .unwrap()
        .replacen("gov-acme", "gov-evil", 1);
    fs::write(&path, text).unwrap();
    f.tai(&["state", "--tenant", "acme"])
        .exits(1)
        .errs("the receipt chain of `acme` does not verify");
    f.tai(&["state"]).exits(1);
    f.tai(&["receipts", "show", "--tenant", "acme"])
        .exits(1)
        .errs("--allow-broken");
    f.tai(&["receipts", "show", "--tenant", "acme", "--allow-broken"])
        .ok()
        .errs("warning: the receipt chain of `acme` does not verify");

    // The chain itself intact, its checkpoints file not: every reader says so alike.
    let beta = f.ledger().checkpoints_path(&tenant("beta"));
    let mut bytes = fs::read(&beta).unwrap();
    bytes.extend_from_slice(b"garbage\n");
    fs::write(&beta, bytes).unwrap();
    f.verify(&["--tenant", "beta"]).exits(1);
    for args in [
        &["state", "--tenant", "beta"][..],
        &["iam", "show", "--tenant", "beta"],
        &["receipts", "show", "--tenant", "beta"],
        &[
            "receipts", "export", "--tenant", "beta", "--format", "jsonl",
        ],
    ] {
        let run = f.tai(args).exits(1);
        run.errs("the receipt chain of `beta` does not verify")
            .errs("beta.checkpoints");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

/// A chain cut short (at a line's end, so every receipt left still links), or whose last
/// receipt was rewritten and resealed while the head was left alone, still replays into a
/// tenant: `tai state` refuses both as `verify` does (exit 1) instead of showing a state made
/// from part of the chain or from the rewrite.
#[test]
fn tai_state_exits_1_on_a_chain_cut_short_or_its_last_receipt_resealed() {
    let f = fixture();
    let path = f.ledger().ledger_path(&tenant("acme"));
    let lines = f.lines("acme");
    let text = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();

    fs::write(&path, text(&lines[..lines.len() - 1])).unwrap();
    f.verify(&["--tenant", "acme"]).exits(1);
    f.tai(&["state", "--tenant", "acme"])
        .exits(1)
        .errs("receipts were removed from the end");
    f.tai(&["state"]).exits(1);

    let mut chain = receipts(&lines);
    let last = chain.len() - 1;
    chain[last].body.governor_id = "gov-evil".into();
    let resealed = reseal(chain, last);
    let mut forged = lines.clone();
    forged[last] = String::from_utf8(resealed[last].to_line()).unwrap();
    fs::write(&path, text(&forged)).unwrap();
    f.verify(&["--tenant", "acme"]).exits(1);
    f.tai(&["state", "--tenant", "acme", "--format", "json"])
        .exits(1)
        .errs("head mismatch: the head records hash");
    f.tai(&["iam", "show", "--tenant", "acme"])
        .exits(1)
        .errs("head mismatch: the head records hash");

    // Put back, the chain reads as before.
    fs::write(&path, text(&lines)).unwrap();
    f.tai(&["state", "--tenant", "acme"]).ok();
}

/// A write-ahead log no writer could have left (far over its size) is named, with what to
/// do, by readers and writers alike: exit 2.
#[test]
fn a_damaged_write_ahead_log_is_named_by_readers_and_writers() {
    let state = tempfile::tempdir().unwrap();
    common::onboard_acme(state.path(), "rollback-guard-base", &[]);
    let wal = LedgerDir::in_state(state.path())
        .path()
        .join(tai::receipts::ledger::WAL_FILES[0]);
    fs::File::options()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(70 << 20)
        .unwrap();
    for args in [
        &["receipts", "verify", "--all"][..],
        &["state"][..],
        &["signal", "--tenant", "acme"][..],
    ] {
        common::tai_at(state.path(), args)
            .exits(2)
            .errs("write-ahead log")
            .errs("receipts.0.wal")
            .errs("move it aside");
    }
}

/// A stop in the middle of appending to a checkpoints file leaves a line without its newline:
/// the checkpoints before it still count, a whole checkpoint missing only its newline counts,
/// and the next writer finishes the file instead of appending after the torn bytes.
#[test]
fn a_torn_last_line_of_a_checkpoints_file_is_not_the_end_of_its_checkpoints() {
    let f = fixture();
    let path = f.ledger().checkpoints_path(&tenant("acme"));
    let whole = fs::read(&path).unwrap();
    let latest = |f: &Fixture| -> serde_json::Value {
        f.tai(&["receipts", "checkpoint", "--tenant", "acme"])
            .ok()
            .json()
    };
    let kept = latest(&f);

    // Only the newline lost: the checkpoint is whole, and the next write completes the line.
    fs::write(&path, &whole[..whole.len() - 1]).unwrap();
    assert_eq!(latest(&f), kept);
    f.verify(&["--tenant", "acme"]).ok();
    f.tai(&["signal", "--tenant", "acme"]).ok();
    f.verify(&["--tenant", "acme"]).ok();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    assert!(
        text.starts_with(std::str::from_utf8(&whole).unwrap()),
        "{text}"
    );

    // Part of a line: not a checkpoint, and the ones before it stand (the head it signed is
    // then not covered, which is what a reader and a writer say).
    let whole = fs::read(&path).unwrap();
    let previous: serde_json::Value = serde_json::from_str(
        std::str::from_utf8(&whole)
            .unwrap()
            .lines()
            .rev()
            .nth(1)
            .unwrap(),
    )
    .unwrap();
    fs::write(&path, &whole[..whole.len() - 5]).unwrap();
    assert_eq!(latest(&f)["seq"], previous["seq"]);
    let break_seq = previous["seq"].as_u64().unwrap() + 1;
    f.verify(&["--tenant", "acme"])
        .exits(1)
        .has(&format!("acme: BROKEN at seq {break_seq}: "))
        .has(&format!("(the latest is at seq {})", previous["seq"]))
        .has(&format!(
            "  {break_seq} receipts verified before the break\n"
        ));
    f.tai(&["--adopt-unsigned", "signal", "--tenant", "acme"])
        .ok();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "a torn line was left inside the file:\n{text}"
    );
    f.verify(&["--tenant", "acme"]).ok();
}

/// `--allow-broken` is for getting out what survives: a line that is not a receipt any more
/// (zeroed by the disk, edited) is named and skipped, and the receipts around it are read.
#[test]
fn allow_broken_reads_the_receipts_around_a_damaged_line() {
    let f = fixture();
    let lines = f.lines("acme");
    let n = lines.len();
    let mut damaged = lines.clone();
    damaged[3] = "\0".repeat(damaged[3].len());
    fs::write(
        f.ledger().ledger_path(&tenant("acme")),
        damaged.join("\n") + "\n",
    )
    .unwrap();
    f.tai(&["receipts", "show", "--tenant", "acme"]).exits(1);
    let run = f.tai(&[
        "receipts",
        "show",
        "--tenant",
        "acme",
        "--allow-broken",
        "--format",
        "json",
    ]);
    let run = run.ok();
    run.errs("warning: line 4 of `acme`'s ledger is not a receipt, skipped");
    let shown = run.json();
    assert_eq!(shown["chain_length"], n - 1, "{shown}");
    let seqs: Vec<u64> = shown["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(
        !seqs.contains(&3) && seqs.contains(&2) && seqs.contains(&4),
        "{seqs:?}"
    );
    let exported = f
        .tai(&[
            "receipts",
            "export",
            "--tenant",
            "acme",
            "--allow-broken",
            "--format",
            "jsonl",
        ])
        .ok()
        .stdout;
    assert_eq!(exported.lines().count(), n - 1);
}

/// A tenant deleted with the manifest put back to an older one signed by the same key (or
/// another workspace's) verifies as a whole workspace: only a manifest kept outside tai
/// tells, as a kept checkpoint does for a chain.
#[test]
fn a_kept_manifest_catches_a_tenant_deleted_with_the_manifest_put_back() {
    let f = fixture();
    let kept = f.dir.path().join("manifest-kept.json");
    f.tai(&["receipts", "manifest", "--out", kept.to_str().unwrap()])
        .ok();
    let listed: serde_json::Value = serde_json::from_slice(&fs::read(&kept).unwrap()).unwrap();
    assert_eq!(listed["tenants"], serde_json::json!(["acme", "beta"]));
    assert!(listed["signature"].is_string(), "{listed}");

    // Another workspace under the same key, with acme alone: its signed manifest.
    let other = f.dir.path().join("other");
    Run::from(
        common::tai()
            .arg("--state")
            .arg(&other)
            .args(["--now", "2026-03-01T00:00:00Z"])
            .env("TAI_SIGNING_KEY", &f.key)
            .args([
                "event",
                "activate",
                "--tenant",
                "acme",
                "--sku",
                "rollback-guard-base",
            ])
            .output()
            .unwrap(),
    )
    .ok();
    let dir = f.ledger();
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("beta.")
        {
            fs::remove_file(path).unwrap();
        }
    }
    fs::copy(
        LedgerDir::in_state(&other).manifest_path(),
        dir.manifest_path(),
    )
    .unwrap();
    f.verify(&["--all"]).ok();
    let kept_arg = kept.to_str().unwrap();
    f.verify(&["--all", "--manifest", kept_arg])
        .exits(1)
        .has("acme: ok")
        .has("beta: BROKEN: the kept manifest lists it and the workspace's manifest does not");
    f.verify(&["--tenant", "beta", "--manifest", kept_arg])
        .exits(1);

    // A kept manifest is checked with the keys too.
    let mut forged = listed.clone();
    forged["tenants"] = serde_json::json!(["acme"]);
    fs::write(&kept, forged.to_string()).unwrap();
    f.verify(&["--all", "--manifest", kept_arg])
        .exits(1)
        .has("the kept manifest does not verify");
}
