//! Signing keys and checkpoints: keys through PEM, a checkpoint verifying alone and in its
//! round only as signed, and a round stored once giving back its checkpoints.

use super::*;

fn head() -> CheckpointHead {
    CheckpointHead {
        tenant: TenantId::new("acme").unwrap(),
        seq: 4,
        head_hash: "ab".repeat(32),
        merkle_root: [7; 32],
        catalog_hash: "cd".repeat(32),
    }
}

/// A round stored once gives back, whole or one at a time, checkpoints that each verify on
/// their own, whatever its size; a round of one is a checkpoint signed alone.
#[test]
fn a_signed_round_gives_back_its_checkpoints() {
    let signer = CheckpointSigner::from_seed([3; 32]);
    let keys = [signer.public().clone()];
    let time = Timestamp::from_secs(1_700_000_000);
    for size in [1usize, 2, 3, 64] {
        let heads: Vec<CheckpointHead> = (0..size)
            .map(|i| CheckpointHead {
                tenant: TenantId::new(format!("t{i}")).unwrap(),
                seq: i as u64,
                ..head()
            })
            .collect();
        let round = signer.sign_round(heads.clone(), time).unwrap();
        let all = round.checkpoints();
        assert_eq!(all, signer.checkpoints(heads, time), "size {size}");
        assert_eq!(all.len(), size);
        for (i, c) in all.iter().enumerate() {
            assert_eq!(c.verify_signature(&keys), Ok(()), "{i} of {size}");
            assert_eq!(round.checkpoint(i).as_ref(), Some(c));
            assert_eq!(c.round.as_ref().map(|r| (r.index, r.size)), {
                (size > 1).then_some((i as u64, size as u64))
            });
        }
        assert_eq!(round.checkpoint(size), None);
        let text = serde_json::to_string(&round).unwrap();
        assert_eq!(serde_json::from_str::<SignedRound>(&text).unwrap(), round);
    }
    assert_eq!(signer.sign_round(Vec::new(), time), None);
    assert_eq!(signer.checkpoints(Vec::new(), time), Vec::new());
}

#[test]
fn a_checkpoint_verifies_only_unchanged_and_with_its_key() {
    let signer = CheckpointSigner::from_seed([1; 32]);
    let other = CheckpointSigner::from_seed([2; 32]);
    let c = signer.checkpoint(head(), Timestamp::from_secs(1_700_000_000));
    let keys = [signer.public().clone()];
    assert_eq!(c.verify_signature(&keys), Ok(()));
    assert!(matches!(
        c.verify_signature(&[other.public().clone()]),
        Err(CheckpointError::UnknownKey { .. })
    ));
    let mut relabelled = c.clone();
    relabelled.tenant_id = TenantId::new("beta").unwrap();
    assert!(matches!(
        relabelled.verify_signature(&keys),
        Err(CheckpointError::BadSignature { .. })
    ));
    let back: Checkpoint = serde_json::from_slice(&c.to_line()).unwrap();
    assert_eq!(back, c);
    assert_eq!(c.root(), Some([7; 32]));
}

#[test]
fn checkpoints_signed_in_one_round_each_verify_alone_and_only_unchanged() {
    let signer = CheckpointSigner::from_seed([1; 32]);
    let keys = [signer.public().clone()];
    let time = Timestamp::from_secs(1_700_000_000);
    for n in 1..=9u64 {
        let heads = (0..n)
            .map(|i| CheckpointHead {
                tenant: TenantId::new(format!("t{i}")).unwrap(),
                seq: i,
                ..head()
            })
            .collect();
        let round = signer.checkpoints(heads, time);
        assert_eq!(round.len() as u64, n);
        // One signature for the whole round; a round of one is signed alone (v1).
        assert!(round.iter().all(|c| c.signature == round[0].signature));
        assert_eq!(round[0].round.is_none(), n == 1);
        for (i, c) in round.iter().enumerate() {
            assert_eq!(c.verify_signature(&keys), Ok(()), "checkpoint {i} of {n}");
            let back: Checkpoint = serde_json::from_slice(&c.to_line()).unwrap();
            assert_eq!(&back, c);
            let bad = |edit: &dyn Fn(&mut Checkpoint)| {
                let mut c = c.clone();
                edit(&mut c);
                matches!(
                    c.verify_signature(&keys),
                    Err(CheckpointError::BadSignature { .. })
                )
            };
            assert!(bad(&|c| c.seq += 1));
            assert!(bad(&|c| c.tenant_id = TenantId::new("other").unwrap()));
            assert!(bad(&|c| c.merkle_root = "00".repeat(32)));
            if n > 1 {
                assert!(
                    bad(&|c| c.round = None),
                    "a round's signature is not a statement's"
                );
                assert!(bad(&|c| {
                    let r = c.round.as_mut().unwrap();
                    r.index = (r.index + 1) % r.size;
                }));
                assert!(bad(&|c| c
                    .round
                    .as_mut()
                    .unwrap()
                    .path
                    .pop()
                    .map(drop)
                    .unwrap()));
                assert!(bad(&|c| c.round.as_mut().unwrap().path[0] = "zz".into()));
                // Another tenant's path in the same round does not lead to the root.
                let other = round[(i + 1) % round.len()].round.clone();
                assert!(bad(
                    &|c| c.round.as_mut().unwrap().path = other.clone().unwrap().path
                ));
            }
        }
    }
}

#[test]
fn keys_round_trip_through_pem() {
    let dir = tempfile::tempdir().unwrap();
    let signer = CheckpointSigner::from_seed([9; 32]);
    let private = dir.path().join("k.key");
    let public = dir.path().join("k.pub");
    fs::write(&private, signer.private_pem().unwrap()).unwrap();
    fs::write(&public, signer.public().pem().unwrap()).unwrap();
    assert!(
        signer
            .private_pem()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(&PublicKey::load(&public).unwrap(), signer.public());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&private, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            CheckpointSigner::load(&private, None),
            Err(KeyError::Permissions { mode: 0o644, .. })
        ));
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let loaded = CheckpointSigner::load(&private, None).unwrap();
    assert_eq!(loaded.public(), signer.public());
    assert!(matches!(
        CheckpointSigner::load(&private, Some(dir.path())),
        Err(KeyError::InState { .. })
    ));
    let bogus = dir.path().join("bogus.key");
    fs::write(&bogus, "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&bogus, fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(matches!(
        CheckpointSigner::load(&bogus, None),
        Err(KeyError::Format { .. })
    ));
}
