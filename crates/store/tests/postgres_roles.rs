//! On PostgreSQL the server runs as a member of `nigehban_app`, not as the
//! schema's owner: it works, and it cannot delete or change audit rows, nor
//! drop or disable the triggers that keep the log append-only.
//!
//! Needs `NIGEHBAN_TEST_POSTGRES_URL` naming a role that may create databases
//! and roles (`cargo xtask test` starts such a cluster); skipped when unset,
//! unless `NIGEHBAN_REQUIRE_SERVICES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nigehban_model::{
    Actor, AuditProblem, AuditVerification, DisplayName, PasswordHash, Role, Tenant, TenantId,
    TenantKind, TenantName, Timestamp, User, UserId, Username,
};
use nigehban_store::{AuditContext, AuditKeyFile, PostgresStore, Store, StoreError, UserChange};
use tokio_postgres::error::SqlState;

const POSTGRES_URL: &str = "NIGEHBAN_TEST_POSTGRES_URL";

fn admin_config() -> Option<tokio_postgres::Config> {
    let Ok(url) = std::env::var(POSTGRES_URL) else {
        if std::env::var("NIGEHBAN_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("{POSTGRES_URL} is not set but NIGEHBAN_REQUIRE_SERVICES=1");
        }
        eprintln!("skipped: {POSTGRES_URL} not set (postgres_roles)");
        return None;
    };
    Some(url.parse().unwrap())
}

async fn client(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

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
async fn the_server_role_cannot_undo_the_audit_logs_protection() {
    let Some(admin) = admin_config() else {
        return;
    };
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let dbname = format!("nigehban_roles_{suffix}");
    let server_role = format!("nigehban_server_{suffix}");
    let admin_client = client(&admin).await;
    admin_client
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();

    // The owner migrates (and creates the group role nigehban_app).
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = AuditKeyFile::in_data_dir(key_dir.path());
    let mut owner_config = admin.clone();
    owner_config.dbname(&dbname);
    let owner = PostgresStore::connect_with(owner_config.clone(), 2, &key_file)
        .await
        .unwrap();
    let root = tenant(&owner, None, "National CERT", TenantKind::National);
    owner.insert_tenant(&root, &ctx()).await.unwrap();
    drop(owner);
    admin_client
        .batch_execute(&format!(
            "CREATE ROLE {server_role} LOGIN IN ROLE nigehban_app"
        ))
        .await
        .unwrap();

    // The server's role runs the platform: no migration needed, writes audited.
    let mut server_config = owner_config.clone();
    server_config.user(&server_role);
    let server = PostgresStore::connect_with(server_config.clone(), 2, &key_file)
        .await
        .unwrap();
    assert_eq!(server.migrations_applied_at_open(), 0);
    let org = tenant(
        &server,
        Some(root.id),
        "First Bank",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    server.insert_tenant(&org, &ctx()).await.unwrap();
    let now = Timestamp::now();
    let ayesha = User {
        id: UserId::new(),
        instance: server.instance(),
        tenant: org.id,
        username: Username::parse("ayesha").unwrap(),
        display_name: DisplayName::parse("Ayesha").unwrap(),
        role: Role::Analyst,
        active: true,
        must_change_password: false,
        failed_logins: 0,
        created_at: now,
        updated_at: now,
    };
    let password = PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into());
    server
        .insert_user(&ayesha, &password, &ctx())
        .await
        .unwrap();
    server
        .update_user(ayesha.id, UserChange::Deactivate, &ctx())
        .await
        .unwrap();
    server.purge_sessions(Timestamp::now()).await.unwrap();
    assert!(server.verify_audit().await.unwrap().is_intact());

    // What someone holding the server's credentials might try.
    let attacker = client(&server_config).await;
    let attempts = [
        "DELETE FROM audit_log WHERE seq = 1",
        "UPDATE audit_log SET action = 'tenant.delete' WHERE seq = 1",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "DROP TRIGGER audit_log_no_truncate ON audit_log",
        "DROP FUNCTION audit_log_append_only() CASCADE",
        "DROP TABLE audit_log",
        "ALTER TABLE audit_log RENAME TO old_log",
        "DELETE FROM audit_macs",
        "UPDATE audit_macs SET mac = mac",
        "DROP TRIGGER audit_macs_no_change ON audit_macs",
        "DELETE FROM sensor_health_events",
        "SET session_replication_role = replica",
        "CREATE TRIGGER sneaky BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ];
    for sql in attempts {
        let error = attacker
            .batch_execute(sql)
            .await
            .err()
            .unwrap_or_else(|| panic!("the server's role could run {sql:?}"));
        assert_eq!(
            error.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {error:?}"
        );
    }
    assert!(server.verify_audit().await.unwrap().is_intact());

    // The owner still can (that is why the server must not be the owner):
    // the keyed chain is what detects it then.
    let owner_client = client(&owner_config).await;
    owner_client
        .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; DELETE FROM audit_log WHERE seq = 2; ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
        .await
        .unwrap();
    let AuditVerification::Broken(broken) = server.verify_audit().await.unwrap() else {
        panic!("a deleted entry went unnoticed");
    };
    assert_eq!(broken.seq, 2);
    assert!(matches!(broken.problem, AuditProblem::Missing { .. }));

    // A pending migration is the owner's job: the server's role is told so.
    drop(server);
    owner_client
        .batch_execute("DELETE FROM schema_migrations WHERE version = 3")
        .await
        .unwrap();
    let error = PostgresStore::connect_with(server_config, 2, &key_file)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, StoreError::MigrationNotAllowed { version: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("nigehban migrate"), "{error}");

    drop(attacker);
    drop(owner_client);
    for sql in [
        format!("DROP DATABASE {dbname} WITH (FORCE)"),
        format!("DROP ROLE {server_role}"),
    ] {
        admin_client.batch_execute(&sql).await.unwrap();
    }
}
