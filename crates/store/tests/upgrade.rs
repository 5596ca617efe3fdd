//! Databases made by the released code of every schema — a SQLite file and a
//! PostgreSQL dump per release, in `tests/data/schema-N/` (README.md there
//! says how they were made) — open with the current code, which upgrades
//! them to the current schema with every record intact: tenants, users and
//! their passwords, API tokens, the audit chain (unchanged and verifying),
//! sensors with their networks, certificates, tokens and health events; and
//! the upgraded database takes new records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use argon2::{Argon2, PasswordVerifier as _};
use nigehban_model::{
    Actor, ActorKind, CertificateFingerprint, SecretHash, Sensor, SensorId, SensorKind, SensorName,
    SourceNetwork, SubjectCommonName, Tenant, TenantId, TenantKind, TenantName, Timestamp, TokenId,
    UserId, Username,
};
use nigehban_store::{
    AuditContext, AuditKeyFile, AuditQuery, PageRequest, PostgresStore, SensorHealthScope,
    SqliteStore, Store,
};
use serde_json::Value;

/// The released schemas that have test databases.
const RELEASED: [u32; 2] = [1, 2];

/// The schema the current code migrates to: the number of migration files.
fn current_schema() -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

fn data(schema: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/schema-{schema}"))
}

fn manifest(schema: u32, backend: &str) -> Value {
    let path = data(schema).join(format!("manifest-{backend}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

fn id<T: FromStr>(value: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    text(value).parse().unwrap()
}

/// Checks every record the manifest lists, then that the database takes new ones.
async fn check_upgraded(store: &dyn Store, manifest: &Value, what: &str) {
    let made_at = usize::try_from(manifest["migrations"].as_u64().unwrap()).unwrap();
    assert_eq!(
        store.migrations_applied_at_open(),
        current_schema() - made_at,
        "{what}: migrations applied on opening"
    );
    assert_eq!(
        store.instance().to_string(),
        text(&manifest["instance"]),
        "{what}"
    );

    // The audit chain: the same head, then (schemas before the audit key) the
    // one entry that records sealing it with the key, and it verifies.
    let head = store.audit_head().await.unwrap();
    let released_seq = manifest["audit"]["head_seq"].as_u64().unwrap();
    let released_hash = text(&manifest["audit"]["head_hash"]).to_owned();
    if made_at < 3 {
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
        let sealed = &newest[0];
        assert_eq!(sealed.action.as_str(), "audit.key_install", "{what}");
        assert_eq!(
            (sealed.seq, sealed.prev_hash.to_string()),
            (released_seq + 1, released_hash),
            "{what}: the key's entry follows the released head"
        );
        assert_eq!(head.seq, released_seq + 1, "{what}: audit chain head");
    } else {
        assert_eq!(
            (head.seq, head.hash.to_string()),
            (released_seq, released_hash),
            "{what}: audit chain head"
        );
    }
    let verification = store.verify_audit().await.unwrap();
    assert!(verification.is_intact(), "{what}: {verification:?}");

    // Tenants.
    let tenants = manifest["tenants"].as_array().unwrap();
    assert!(tenants.len() >= 8, "{what}: {} tenants", tenants.len());
    for expected in tenants {
        let tenant = store
            .tenant(id::<TenantId>(&expected["id"]))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: tenant {expected} is gone"));
        assert_eq!(
            (
                tenant.parent.map(|p| p.to_string()),
                tenant.name.as_str(),
                tenant.kind.word(),
                tenant.active
            ),
            (
                expected["parent"].as_str().map(str::to_owned),
                text(&expected["name"]),
                text(&expected["kind"]),
                expected["active"].as_bool().unwrap()
            ),
            "{what}: tenant {}",
            expected["id"]
        );
    }

    // Users, and their passwords still verify.
    let users = manifest["users"].as_array().unwrap();
    assert!(users.len() >= 6, "{what}");
    for expected in users {
        let username = text(&expected["username"]);
        let (user, hash) = store
            .user_credentials(&Username::parse(username).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: user {username} is gone"));
        assert_eq!(
            (
                user.id,
                user.tenant.to_string(),
                user.role.as_str(),
                user.active,
                u64::from(user.failed_logins)
            ),
            (
                id::<UserId>(&expected["id"]),
                text(&expected["tenant"]).to_owned(),
                text(&expected["role"]),
                expected["active"].as_bool().unwrap(),
                expected["failed_logins"].as_u64().unwrap()
            ),
            "{what}: user {username}"
        );
        let password = text(&manifest["passwords"][username]);
        let phc = argon2::PasswordHash::new(hash.as_phc()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(password.as_bytes(), &phc)
                .is_ok(),
            "{what}: the password of {username} no longer verifies"
        );
    }

    // API tokens, found by their secret.
    for expected in manifest["tokens"].as_array().unwrap() {
        let token = store
            .token_by_secret(&SecretHash::of(text(&expected["secret"])))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: token {} is gone", expected["id"]));
        assert_eq!(
            (
                token.id,
                token.tenant.to_string(),
                token.role.as_str(),
                token.revoked_at.is_some()
            ),
            (
                id::<TokenId>(&expected["id"]),
                text(&expected["tenant"]).to_owned(),
                text(&expected["role"]),
                expected["revoked"].as_bool().unwrap()
            ),
            "{what}: token"
        );
    }

    // Sensors (schema 2 on): networks, certificates, tokens, health events.
    for expected in manifest["sensors"].as_array().unwrap() {
        let sensor_id: SensorId = id(&expected["id"]);
        let sensor = store.sensor(sensor_id).await.unwrap().unwrap();
        assert_eq!(
            (
                sensor.tenant.to_string(),
                sensor.name.as_str(),
                sensor.active
            ),
            (
                text(&expected["tenant"]).to_owned(),
                text(&expected["name"]),
                true
            ),
            "{what}: sensor"
        );
        let address: IpAddr = text(&expected["address"]).parse().unwrap();
        let found = store.sensors_by_address(address).await.unwrap();
        assert!(
            found.iter().any(|(s, network)| s.id == sensor_id
                && network.to_string() == text(&expected["network"])),
            "{what}: sensor by address {address}: {found:?}"
        );
        if let Some(fingerprint) = expected["fingerprint"].as_str() {
            let by_fingerprint = store
                .sensor_by_fingerprint(&CertificateFingerprint::parse(fingerprint).unwrap())
                .await
                .unwrap();
            assert_eq!(by_fingerprint.map(|s| s.id), Some(sensor_id), "{what}");
        }
        if let Some(cn) = expected["subject_cn"].as_str() {
            let by_cn = store
                .sensor_by_subject_cn(&SubjectCommonName::parse(cn).unwrap())
                .await
                .unwrap();
            assert_eq!(by_cn.map(|s| s.id), Some(sensor_id), "{what}");
        }
        let token = store
            .sensor_token_by_secret(&SecretHash::of(text(&expected["secret"])))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (token.sensor, token.revoked_at),
            (sensor_id, None),
            "{what}"
        );
        let revoked = store
            .sensor_token_by_secret(&SecretHash::of(text(&expected["revoked_secret"])))
            .await
            .unwrap()
            .unwrap();
        assert!(revoked.revoked_at.is_some(), "{what}: revoked sensor token");
        let health = store
            .list_sensor_health(
                SensorHealthScope::Sensor(sensor_id),
                &PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            health.items.len() as u64,
            expected["health_events"].as_u64().unwrap(),
            "{what}: health events"
        );
    }

    // The upgraded database takes new records, in the chain.
    let root = store.root_tenant().await.unwrap().unwrap();
    let now = Timestamp::now();
    let context = AuditContext {
        actor: Actor {
            kind: ActorKind::User,
            user: None,
            token: None,
            tenant: None,
        },
        at: now,
        remote_addr: None,
    };
    let organisation = Tenant {
        id: TenantId::new(),
        instance: store.instance(),
        parent: Some(root.id),
        name: TenantName::parse("Upgraded Utility").unwrap(),
        kind: TenantKind::Organisation {
            critical_infrastructure: true,
        },
        active: true,
        created_at: now,
        updated_at: now,
    };
    store.insert_tenant(&organisation, &context).await.unwrap();
    let sensor = Sensor {
        id: SensorId::new(),
        instance: store.instance(),
        tenant: organisation.id,
        name: SensorName::parse("after the upgrade").unwrap(),
        kind: SensorKind::Ids,
        expected_formats: Vec::new(),
        expected_interval: None,
        source_addresses: vec![SourceNetwork::parse("192.0.2.128/25").unwrap()],
        tls_client_fingerprints: Vec::new(),
        tls_subject_cn: None,
        host_os_type: None,
        utc_offset: None,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let token = nigehban_model::SensorToken {
        id: nigehban_model::SensorTokenId::new(),
        instance: store.instance(),
        sensor: sensor.id,
        tenant: organisation.id,
        created_at: now,
        expires_at: None,
        last_used_at: None,
        last_used_from: None,
        revoked_at: None,
    };
    store
        .insert_sensor(
            &sensor,
            &token,
            &SecretHash::of("ngs_after_upgrade"),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(store.sensor(sensor.id).await.unwrap().unwrap(), sensor);
    let after = store.audit_head().await.unwrap();
    assert!(after.seq > head.seq, "{what}: new records are audited");
    assert!(store.verify_audit().await.unwrap().is_intact(), "{what}");
    assert_eq!(store.migrate().await.unwrap(), 0, "{what}: migrated once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_sqlite_databases_upgrade_with_their_data() {
    for schema in RELEASED {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            data(schema).join("nigehban.db"),
            dir.path().join("nigehban.db"),
        )
        .unwrap();
        let store = SqliteStore::open(dir.path(), &AuditKeyFile::in_data_dir(dir.path()))
            .await
            .unwrap();
        check_upgraded(
            &store,
            &manifest(schema, "sqlite"),
            &format!("SQLite schema {schema}"),
        )
        .await;
        drop(store);
        // And it opens again with nothing left to do.
        let store = SqliteStore::open(dir.path(), &AuditKeyFile::in_data_dir(dir.path()))
            .await
            .unwrap();
        assert_eq!(store.migrations_applied_at_open(), 0);
        assert!(store.verify_audit().await.unwrap().is_intact());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_postgresql_dumps_upgrade_with_their_data() {
    let Some(server) = nigehban_testkit::postgres_url() else {
        return;
    };
    let admin: tokio_postgres::Config = server.parse().unwrap();
    for schema in RELEASED {
        let dump = std::fs::read_to_string(data(schema).join("postgres.sql")).unwrap();
        let dbname = format!(
            "nigehban_upgrade_{schema}_{}",
            uuid::Uuid::now_v7().simple()
        );
        let (client, connection) = admin.connect(tokio_postgres::NoTls).await.unwrap();
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {dbname}"))
            .await
            .unwrap();
        let mut config = admin.clone();
        config.dbname(&dbname);
        {
            let (loader, loading) = config.connect(tokio_postgres::NoTls).await.unwrap();
            let loading = tokio::spawn(loading);
            loader
                .batch_execute(&dump)
                .await
                .unwrap_or_else(|e| panic!("loading the schema {schema} dump: {e}"));
            drop(loader);
            let _ = loading.await;
        }
        // The audit key is made on the first opening (the released logs had none).
        let key_dir = tempfile::tempdir().unwrap();
        let store = PostgresStore::connect_with(
            config.clone(),
            2,
            &AuditKeyFile::in_data_dir(key_dir.path()),
        )
        .await
        .unwrap();
        check_upgraded(
            &store,
            &manifest(schema, "postgres"),
            &format!("PostgreSQL schema {schema}"),
        )
        .await;
        drop(store);
        client
            .batch_execute(&format!("DROP DATABASE {dbname} WITH (FORCE)"))
            .await
            .unwrap();
        drop(client);
        let _ = connection.await;
    }
}
