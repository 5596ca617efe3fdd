//! The keyed audit chain on both backends: tampering by someone with the
//! database but not the key, anchored heads, the key file's life, read-only
//! opening, and credentials ended with their owner's password or account.

use nigehban_model::{
    ApiToken, AuditAction, AuditEntry, AuditKey, AuditProblem, AuditVerification, ChainHash,
    ChainHead, Role, SecretHash, TenantName, Timestamp, TokenId, TokenName,
};
use nigehban_store::{
    AuditKeyFile, AuditQuery, PageRequest, Store, StoreError, TenantChange, UserChange,
};

use crate::harness::{TestBackend, ctx, hash, tenant, tree, user};

/// Six entries: the tree (1-5) and a rename (6).
async fn six_entries(store: &dyn Store) -> Vec<AuditEntry> {
    let tree = tree(store).await;
    store
        .update_tenant(
            tree.bank.id,
            TenantChange::Rename(TenantName::parse("Renamed Bank").unwrap()),
            &ctx(),
        )
        .await
        .unwrap();
    let entries = store
        .list_audit(AuditQuery::default(), &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 6);
    assert!(store.verify_audit().await.unwrap().is_intact());
    entries
}

fn broken(outcome: AuditVerification) -> nigehban_model::AuditBreak {
    match outcome {
        AuditVerification::Broken(broken) => broken,
        intact => panic!("tampering went undetected: {intact:?}"),
    }
}

fn token(store: &dyn Store, owner: &nigehban_model::User, name: &str) -> ApiToken {
    ApiToken {
        id: TokenId::new(),
        instance: store.instance(),
        tenant: owner.tenant,
        role: owner.role,
        owner: Some(owner.id),
        name: TokenName::parse(name).unwrap(),
        created_at: Timestamp::now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
        sensor: None,
    }
}

/// An administrator's password reset and a deactivation end the API tokens
/// the user made (each revocation audited); the user's own password change
/// (without `revoke_tokens`) keeps them.
pub async fn resets_and_deactivation_revoke_owned_tokens(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let ayesha = user(store, tree.telecom.id, "ayesha", Role::Analyst);
    let bilal = user(store, tree.telecom.id, "bilal", Role::Analyst);
    for person in [&ayesha, &bilal] {
        store.insert_user(person, &hash("a"), &ctx()).await.unwrap();
    }
    let first = token(store, &ayesha, "siem pull");
    let second = token(store, &ayesha, "script");
    let earlier = token(store, &ayesha, "old");
    let bilals = token(store, &bilal, "bilal's");
    for (t, secret) in [
        (&first, "ngb_1"),
        (&second, "ngb_2"),
        (&earlier, "ngb_3"),
        (&bilals, "ngb_4"),
    ] {
        store
            .insert_token(t, &SecretHash::of(secret), &ctx())
            .await
            .unwrap();
    }
    let earlier_revoked = store.revoke_token(earlier.id, &ctx()).await.unwrap();

    let reset = ctx();
    store
        .update_user(
            ayesha.id,
            UserChange::SetPassword {
                hash: hash("reset"),
                must_change: true,
                keep_session: None,
                revoke_tokens: true,
            },
            &reset,
        )
        .await
        .unwrap();
    for id in [first.id, second.id] {
        let revoked = store.token(id).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(reset.at), "{}", revoked.name);
    }
    // Revoked before: keeps its first revocation.
    assert_eq!(
        store.token(earlier.id).await.unwrap().unwrap().revoked_at,
        earlier_revoked.revoked_at
    );
    assert!(
        store
            .token(bilals.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    let newest = store
        .list_audit(
            AuditQuery {
                subtree: None,
                newest_first: true,
            },
            &PageRequest::first(3),
        )
        .await
        .unwrap()
        .items;
    let revocations: Vec<(&str, &str)> = newest
        .iter()
        .map(|e| (e.action.as_str(), e.record_id.as_str()))
        .collect();
    let (first_id, second_id) = (first.id.to_string(), second.id.to_string());
    let mut expected = vec![
        ("token.revoke", first_id.as_str()),
        ("token.revoke", second_id.as_str()),
    ];
    expected.sort();
    let mut got = revocations[..2].to_vec();
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(revocations[2].0, "user.set_password");

    // Bilal changes his own password: his token stays.
    store
        .update_user(
            bilal.id,
            UserChange::SetPassword {
                hash: hash("mine"),
                must_change: false,
                keep_session: None,
                revoke_tokens: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert!(
        store
            .token(bilals.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    let deactivation = ctx();
    store
        .update_user(bilal.id, UserChange::Deactivate, &deactivation)
        .await
        .unwrap();
    assert_eq!(
        store.token(bilals.id).await.unwrap().unwrap().revoked_at,
        Some(deactivation.at)
    );
    let newest = store
        .list_audit(
            AuditQuery {
                subtree: None,
                newest_first: true,
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        (newest[0].action.as_str(), newest[0].record_id.clone()),
        ("token.revoke", bilals.id.to_string())
    );
    assert!(store.verify_audit().await.unwrap().is_intact());
}

/// Someone with the database but not the key forges entry 3 and recomputes
/// every hash after it (and the head): the MACs name entry 3, whether they
/// leave the MACs, replace them with MACs under a key of their own, or delete them.
pub async fn a_recomputed_chain_is_named_at_the_forged_entry(backend: &TestBackend) {
    let store = backend.store();
    let mut entries = six_entries(store).await;
    backend.drop_audit_guards().await;
    entries[2].record_id = "forged-record".into();
    for index in 2..entries.len() {
        entries[index].prev_hash = entries[index - 1].hash;
        entries[index].hash = entries[index].compute_hash();
    }
    for entry in &entries[2..] {
        backend
            .raw(&format!(
                "UPDATE audit_log SET record_id = '{}', prev_hash = {}, hash = {} WHERE seq = {}",
                entry.record_id,
                backend.blob(entry.prev_hash.as_bytes()),
                backend.blob(entry.hash.as_bytes()),
                entry.seq
            ))
            .await;
    }
    let head = entries[5].head();
    backend
        .raw(&format!(
            "UPDATE audit_chain_head SET hash = {} WHERE singleton = 1",
            backend.blob(head.hash.as_bytes())
        ))
        .await;
    let first = broken(store.verify_audit().await.unwrap());
    assert_eq!(
        (first.seq, first.id, first.problem),
        (3, Some(entries[2].id), AuditProblem::MacMismatch)
    );
    let message = first.to_string();
    assert!(
        message.contains("seq 3") && message.contains("without the key"),
        "{message}"
    );

    // MACs under the forger's own key do not help.
    let forger = AuditKey::from_bytes([0x42; 32]);
    backend.raw("DELETE FROM audit_macs WHERE seq >= 3").await;
    for entry in &entries[2..] {
        backend
            .raw(&format!(
                "INSERT INTO audit_macs (seq, mac) VALUES ({}, {})",
                entry.seq,
                backend.blob(forger.entry_mac(entry.seq, &entry.hash).as_bytes())
            ))
            .await;
    }
    backend
        .raw(&format!(
            "UPDATE audit_chain_head SET mac = {} WHERE singleton = 1",
            backend.blob(forger.head_mac(head).as_bytes())
        ))
        .await;
    let again = broken(store.verify_audit().await.unwrap());
    assert_eq!((again.seq, again.problem), (3, AuditProblem::MacMismatch));

    // Nor does deleting them.
    backend.raw("DELETE FROM audit_macs WHERE seq >= 3").await;
    let missing = broken(store.verify_audit().await.unwrap());
    assert_eq!(
        (missing.seq, missing.problem),
        (3, AuditProblem::MacMissing)
    );
}

/// The last two entries are deleted and the head moved back to entry 4: the
/// head's MAC shows it (even when the attacker copies entry 4's MAC onto the
/// head), and an anchored head names the entries cut off.
pub async fn a_cut_tail_with_a_moved_head_is_detected(backend: &TestBackend) {
    let store = backend.store();
    let entries = six_entries(store).await;
    let anchor = entries[5].head();
    assert!(
        store
            .verify_audit_against(&[anchor])
            .await
            .unwrap()
            .is_intact()
    );
    backend.drop_audit_guards().await;
    backend
        .raw("DELETE FROM audit_log WHERE seq > 4; DELETE FROM audit_macs WHERE seq > 4")
        .await;
    backend
        .raw(&format!(
            "UPDATE audit_chain_head SET seq = 4, hash = {} WHERE singleton = 1",
            backend.blob(entries[3].hash.as_bytes())
        ))
        .await;
    let cut = broken(store.verify_audit().await.unwrap());
    assert_eq!(
        (cut.seq, cut.id, cut.problem),
        (4, Some(entries[3].id), AuditProblem::HeadMacMismatch)
    );
    assert!(
        cut.to_string()
            .contains("after seq 4 may have been deleted"),
        "{cut}"
    );
    backend
        .raw("UPDATE audit_chain_head SET mac = (SELECT mac FROM audit_macs WHERE seq = 4) WHERE singleton = 1")
        .await;
    let copied = broken(store.verify_audit().await.unwrap());
    assert_eq!(copied.problem, AuditProblem::HeadMacMismatch);
    let anchored = broken(store.verify_audit_against(&[anchor]).await.unwrap());
    assert_eq!(
        (anchored.seq, anchored.problem),
        (6, AuditProblem::Truncated { ends_at: 4 })
    );
    assert!(anchored.to_string().contains("seq 6"), "{anchored}");
}

/// Every entry deleted and the head reset to an empty log's: flagged, as the
/// platform is set up.
pub async fn an_emptied_log_is_detected(backend: &TestBackend) {
    let store = backend.store();
    six_entries(store).await;
    backend.drop_audit_guards().await;
    backend
        .raw(&format!(
            "DELETE FROM audit_log; DELETE FROM audit_macs; UPDATE audit_chain_head SET seq = 0, hash = {}, mac = NULL WHERE singleton = 1",
            backend.blob(ChainHash::GENESIS.as_bytes())
        ))
        .await;
    let emptied = broken(store.verify_audit().await.unwrap());
    assert_eq!((emptied.seq, emptied.problem), (1, AuditProblem::EmptyLog));
    assert!(emptied.to_string().contains("empty"), "{emptied}");
}

/// Heads kept outside must be in the log, unchanged.
pub async fn anchored_heads_detect_a_rollback(backend: &TestBackend) {
    let store = backend.store();
    let entries = six_entries(store).await;
    let third = entries[2].head();
    assert!(
        store
            .verify_audit_against(&[entries[5].head(), third])
            .await
            .unwrap()
            .is_intact()
    );
    let other = ChainHead {
        seq: 3,
        hash: entries[4].hash,
    };
    let differs = broken(store.verify_audit_against(&[other]).await.unwrap());
    assert_eq!(
        (differs.seq, differs.id, differs.problem),
        (
            3,
            Some(entries[2].id),
            AuditProblem::AnchorMismatch {
                anchored: entries[4].hash
            }
        )
    );
    // A head anchored later than the log now reaches: it was rolled back or cut.
    let later = ChainHead {
        seq: 9,
        hash: entries[5].hash,
    };
    let rolled_back = broken(store.verify_audit_against(&[later]).await.unwrap());
    assert_eq!(
        (rolled_back.seq, rolled_back.problem),
        (9, AuditProblem::Truncated { ends_at: 6 })
    );
}

/// A writer never seals with another key, and never makes a new key for a
/// sealed log; a verifier with the wrong key is told so.
pub async fn a_wrong_or_missing_key_is_refused(backend: &TestBackend) {
    let store = backend.store();
    six_entries(store).await;
    let key_file = backend.key_file();
    let kept = key_file.path().with_extension("kept");
    std::fs::rename(key_file.path(), &kept).unwrap();
    let missing = backend.open_with_key_file(&key_file).await.err().unwrap();
    assert!(
        matches!(missing, StoreError::AuditKeyMissing { recorded, .. } if recorded == store.audit_key_fingerprint()),
        "{missing}"
    );
    assert!(missing.to_string().contains("audit.key"), "{missing}");
    assert!(!key_file.path().exists(), "no new key was made");

    let elsewhere = tempfile::tempdir().unwrap();
    let other_file = AuditKeyFile::in_data_dir(elsewhere.path());
    let other = other_file.create().unwrap();
    let mismatch = backend.open_with_key_file(&other_file).await.err().unwrap();
    assert!(
        matches!(mismatch, StoreError::AuditKeyMismatch { .. }),
        "{mismatch}"
    );
    let message = mismatch.to_string();
    assert!(
        message.contains(&other.fingerprint().to_string())
            && message.contains(&store.audit_key_fingerprint().to_string()),
        "{message}"
    );

    // Verifying with the wrong key says that, not "forged".
    std::fs::copy(other_file.path(), key_file.path()).unwrap();
    let verifier = backend.reopen_read_only().await.unwrap();
    let wrong = broken(verifier.verify_audit().await.unwrap());
    assert_eq!(
        wrong.problem,
        AuditProblem::WrongKey {
            recorded: store.audit_key_fingerprint(),
            given: other.fingerprint()
        }
    );
    std::fs::rename(&kept, key_file.path()).unwrap();
    let reopened = backend.reopen().await;
    assert!(reopened.verify_audit().await.unwrap().is_intact());
}

/// `audit verify` opens the database read-only: it verifies, and every change is refused.
pub async fn read_only_opening_changes_nothing(backend: &TestBackend) {
    let store = backend.store();
    let entries = six_entries(store).await;
    let database = match backend {
        TestBackend::Sqlite(_, dir) => {
            let path = dir.path().join(nigehban_store::DATABASE_FILE);
            Some((path.clone(), std::fs::read(&path).unwrap()))
        }
        TestBackend::Postgres(..) => None,
    };
    let verifier = backend.reopen_read_only().await.unwrap();
    assert_eq!(
        verifier.verify_audit().await.unwrap(),
        AuditVerification::Intact {
            entries: 6,
            head: entries[5].hash
        }
    );
    assert_eq!(verifier.instance(), store.instance());
    let root = verifier.root_tenant().await.unwrap().unwrap();
    let extra = tenant(
        verifier.as_ref(),
        Some(root.id),
        "Not Written",
        nigehban_model::TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    assert!(verifier.insert_tenant(&extra, &ctx()).await.is_err());
    // The backend's own words are in the error's sources.
    let refused = format!(
        "{:?}",
        verifier.purge_sessions(Timestamp::now()).await.unwrap_err()
    );
    assert!(
        refused.contains("readonly") || refused.contains("read-only"),
        "{refused}"
    );
    assert!(store.tenant(extra.id).await.unwrap().is_none());
    assert_eq!(store.audit_head().await.unwrap(), entries[5].head());
    if let Some((path, before)) = database {
        drop(verifier);
        assert!(
            std::fs::read(&path).unwrap() == before,
            "the database file changed"
        );
    }
    // A database of an older schema is refused, not migrated.
    backend
        .raw("DELETE FROM schema_migrations WHERE version = 3")
        .await;
    for _ in 0..2 {
        let error = backend.reopen_read_only().await.err().unwrap();
        assert!(
            matches!(error, StoreError::SchemaTooOld { found: 2, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("nigehban migrate"), "{error}");
    }
}

/// A log written before keys existed is sealed when a writer first opens it
/// with a key: a new key file is made, every entry gets its MAC, and the log
/// itself says so.
pub async fn schema_2_logs_are_sealed_when_the_key_is_installed(backend: &TestBackend) {
    let store = backend.store();
    let entries = six_entries(store).await;
    match backend {
        TestBackend::Sqlite(..) => {
            backend
                .raw("DROP TABLE audit_macs; ALTER TABLE audit_chain_head DROP COLUMN mac; ALTER TABLE audit_chain_head DROP COLUMN key_fingerprint; DELETE FROM schema_migrations WHERE version = 3;")
                .await
        }
        TestBackend::Postgres(..) => {
            backend
                .raw("DROP TABLE audit_macs; ALTER TABLE audit_chain_head DROP COLUMN mac, DROP COLUMN key_fingerprint; DELETE FROM schema_migrations WHERE version = 3;")
                .await
        }
    }
    let old_key = store.audit_key_fingerprint();
    std::fs::remove_file(backend.key_file().path()).unwrap();
    let upgraded = backend.reopen().await;
    assert_eq!(upgraded.migrations_applied_at_open(), 1);
    let new_key = backend.key_file().load_existing().unwrap();
    assert_ne!(new_key.fingerprint(), old_key);
    assert_eq!(upgraded.audit_key_fingerprint(), new_key.fingerprint());
    let newest = upgraded
        .list_audit(
            AuditQuery {
                subtree: None,
                newest_first: true,
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        (newest.seq, newest.action.clone()),
        (7, AuditAction::AUDIT_KEY_INSTALL)
    );
    assert_eq!(
        newest.after.unwrap().value()["entries_sealed"],
        serde_json::json!(6)
    );
    assert_eq!(newest.prev_hash, entries[5].hash);
    assert!(upgraded.verify_audit().await.unwrap().is_intact());
    let verifier = backend.reopen_read_only().await.unwrap();
    assert!(verifier.verify_audit().await.unwrap().is_intact());
}
