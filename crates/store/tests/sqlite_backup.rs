//! Online backups of the embedded SQLite store, and restoring them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nigehban_model::{
    Actor, AuditVerification, Sector, Tenant, TenantId, TenantKind, TenantName, Timestamp,
};
use nigehban_store::{
    AuditContext, AuditKeyFile, AuditQuery, PageRequest, SqliteStore, Store, StoreError,
    TenantChange, restore_sqlite_backup,
};

fn ctx() -> AuditContext {
    AuditContext::now(Actor::SYSTEM, Some("192.0.2.1".into()))
}

fn tenant(store: &dyn Store, parent: Option<TenantId>, name: &str, kind: TenantKind) -> Tenant {
    let now = Timestamp::now();
    Tenant {
        id: TenantId::new(),
        instance: store.instance(),
        parent,
        name: TenantName::parse(name).unwrap(),
        kind,
        active: true,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_restores_to_a_verifiable_database() {
    let live_dir = tempfile::tempdir().unwrap();
    let key_file = AuditKeyFile::in_data_dir(live_dir.path());
    let store = Arc::new(SqliteStore::open(live_dir.path(), &key_file).await.unwrap());
    let root = tenant(store.as_ref(), None, "National CERT", TenantKind::National);
    store.insert_tenant(&root, &ctx()).await.unwrap();
    let sector = tenant(
        store.as_ref(),
        Some(root.id),
        "CERT Energy",
        TenantKind::Sectoral {
            sector: Sector::Energy,
        },
    );
    store.insert_tenant(&sector, &ctx()).await.unwrap();

    // A writer that never pauses: creates and renames organisations until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let store = Arc::clone(&store);
        let stop = Arc::clone(&stop);
        let written = Arc::clone(&written);
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let org = tenant(
                    store.as_ref(),
                    Some(sector.id),
                    &format!("Plant {n}"),
                    TenantKind::Organisation {
                        critical_infrastructure: true,
                    },
                );
                store.insert_tenant(&org, &ctx()).await.unwrap();
                store
                    .update_tenant(
                        org.id,
                        TenantChange::Rename(
                            TenantName::parse(&format!("Power Plant {n}")).unwrap(),
                        ),
                        &ctx(),
                    )
                    .await
                    .unwrap();
                n += 1;
                written.store(n, Ordering::Relaxed);
            }
        })
    };

    while written.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let backup_dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for n in 0..3 {
        let before = written.load(Ordering::Relaxed);
        let path = backup_dir.path().join(format!("nigehban-{n}.db"));
        reports.push(store.backup_to(&path, &ctx()).await.unwrap());
        while written.load(Ordering::Relaxed) < before + 10 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let live_head = store.audit_head().await.unwrap();

    for report in reports {
        assert!(report.bytes > 0);
        assert!(
            report.audit_head.seq < live_head.seq,
            "writes went on after the backup"
        );
        let restored_dir = tempfile::tempdir().unwrap();
        restore_sqlite_backup(&report.path, restored_dir.path(), false)
            .await
            .unwrap();
        // The key is kept apart from backups: the restored log opens with the live one's.
        let restored = SqliteStore::open(restored_dir.path(), &key_file)
            .await
            .unwrap();
        assert_eq!(restored.instance(), store.instance());
        match restored.verify_audit().await.unwrap() {
            AuditVerification::Intact { entries, head } => {
                assert_eq!(entries, report.audit_head.seq);
                assert_eq!(head, report.audit_head.hash);
            }
            broken => panic!("restored backup does not verify: {broken:?}"),
        }
        // The backup records its own making.
        let newest = restored
            .list_audit(
                AuditQuery {
                    subtree: None,
                    newest_first: true,
                },
                &PageRequest::first(50),
            )
            .await
            .unwrap();
        assert!(
            newest
                .items
                .iter()
                .any(|e| e.action.as_str() == "backup.create"
                    && e.record_id == report.path.display().to_string())
        );
        // And it is a working database: it takes new writes.
        let org = tenant(
            &restored,
            Some(sector.id),
            "After Restore",
            TenantKind::Organisation {
                critical_infrastructure: false,
            },
        );
        restored.insert_tenant(&org, &ctx()).await.unwrap();
        assert!(restored.verify_audit().await.unwrap().is_intact());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_and_restores_refuse_to_overwrite() {
    let live_dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(live_dir.path(), &AuditKeyFile::in_data_dir(live_dir.path()))
        .await
        .unwrap();
    let backup_dir = tempfile::tempdir().unwrap();
    let path = backup_dir.path().join("backup.db");
    let error = store.backup_to(&path, &ctx()).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(_)),
        "before bootstrap: {error}"
    );

    let root = tenant(&store, None, "National CERT", TenantKind::National);
    store.insert_tenant(&root, &ctx()).await.unwrap();
    store.backup_to(&path, &ctx()).await.unwrap();
    let error = store.backup_to(&path, &ctx()).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");

    // The live data directory already has a database.
    let error = restore_sqlite_backup(&path, live_dir.path(), false)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");

    let target = tempfile::tempdir().unwrap();
    restore_sqlite_backup(&path, target.path(), false)
        .await
        .unwrap();
    restore_sqlite_backup(&path, target.path(), true)
        .await
        .unwrap();

    let garbage = backup_dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, it is a shopping list").unwrap();
    let empty = tempfile::tempdir().unwrap();
    assert!(
        restore_sqlite_backup(&garbage, empty.path(), false)
            .await
            .is_err()
    );
    assert!(!empty.path().join(nigehban_store::DATABASE_FILE).exists());
    let missing = backup_dir.path().join("missing.db");
    let error = restore_sqlite_backup(&missing, empty.path(), false)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
}
