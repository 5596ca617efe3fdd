//! The backends the conformance suite runs against, and helpers to fill them.

use std::sync::Arc;
use std::time::Duration;

use nigehban_model::{
    Actor, ActorKind, DisplayName, ExpectedInterval, PasswordHash, Role, SecretHash, Sector,
    Sensor, SensorFormat, SensorId, SensorKind, SensorName, SensorToken, SensorTokenId,
    SourceNetwork, Tenant, TenantId, TenantKind, TenantName, Timestamp, User, UserId, Username,
};
use nigehban_store::{AuditContext, AuditKeyFile, PostgresStore, SqliteStore, Store};

/// A store under test, with what is needed to play an attacker on it.
pub enum TestBackend {
    /// SQLite in a temporary data directory (deleted when dropped).
    Sqlite(SqliteStore, tempfile::TempDir),
    /// PostgreSQL in a fresh database of its own (named here), its audit key
    /// file in a temporary directory.
    Postgres(PostgresStore, String, tempfile::TempDir),
}

impl TestBackend {
    /// The store.
    pub fn store(&self) -> &dyn Store {
        match self {
            TestBackend::Sqlite(store, _) => store,
            TestBackend::Postgres(store, ..) => store,
        }
    }

    /// Where the store's audit key is kept (outside the database).
    pub fn key_file(&self) -> AuditKeyFile {
        match self {
            TestBackend::Sqlite(_, dir) => AuditKeyFile::in_data_dir(dir.path()),
            TestBackend::Postgres(_, _, dir) => AuditKeyFile::in_data_dir(dir.path()),
        }
    }

    /// The configuration of this test's PostgreSQL database.
    fn postgres_config(dbname: &str) -> tokio_postgres::Config {
        let url = std::env::var(POSTGRES_URL).unwrap();
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        config.dbname(dbname);
        config
    }

    /// Opens the same database read-only, with the audit key, as `audit verify` does.
    pub async fn reopen_read_only(&self) -> nigehban_store::StoreResult<Arc<dyn Store>> {
        let key = self.key_file().load_existing()?;
        Ok(match self {
            TestBackend::Sqlite(_, dir) => {
                Arc::new(SqliteStore::open_read_only(dir.path(), key).await?)
            }
            TestBackend::Postgres(_, dbname, _) => Arc::new(
                PostgresStore::connect_read_only_with(Self::postgres_config(dbname), key).await?,
            ),
        })
    }

    /// Runs raw SQL, as someone with direct database access would.
    pub async fn raw(&self, sql: &str) {
        match self {
            TestBackend::Sqlite(store, _) => store.execute_raw_for_tests(sql).await,
            TestBackend::Postgres(store, ..) => store.execute_raw_for_tests(sql).await,
        }
        .unwrap_or_else(|e| panic!("raw SQL {sql:?} failed: {e}"))
    }

    /// Runs raw SQL and returns whether it succeeded.
    pub async fn try_raw(&self, sql: &str) -> bool {
        match self {
            TestBackend::Sqlite(store, _) => store.execute_raw_for_tests(sql).await,
            TestBackend::Postgres(store, ..) => store.execute_raw_for_tests(sql).await,
        }
        .is_ok()
    }

    /// Drops the triggers that make the audit log (and its MACs)
    /// append-only, as an attacker with database access could.
    pub async fn drop_audit_guards(&self) {
        match self {
            TestBackend::Sqlite(..) => {
                self.raw("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_macs_no_update; DROP TRIGGER audit_macs_no_delete;")
                    .await
            }
            TestBackend::Postgres(..) => {
                self.raw("DROP TRIGGER audit_log_no_change ON audit_log; DROP TRIGGER audit_log_no_truncate ON audit_log; DROP TRIGGER audit_macs_no_change ON audit_macs; DROP TRIGGER audit_macs_no_truncate ON audit_macs;")
                    .await
            }
        }
    }

    /// Bytes as an SQL literal of this backend.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            TestBackend::Sqlite(..) => format!("X'{hex}'"),
            TestBackend::Postgres(..) => format!("decode('{hex}', 'hex')"),
        }
    }

    /// Opens the same database again, as a restarted process would.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        self.open_with_key_file(&self.key_file()).await.unwrap()
    }

    /// Opens the same database again with the audit key kept in `key_file`.
    pub async fn open_with_key_file(
        &self,
        key_file: &AuditKeyFile,
    ) -> nigehban_store::StoreResult<Arc<dyn Store>> {
        Ok(match self {
            TestBackend::Sqlite(_, dir) => Arc::new(SqliteStore::open(dir.path(), key_file).await?),
            TestBackend::Postgres(_, dbname, _) => Arc::new(
                PostgresStore::connect_with(Self::postgres_config(dbname), 2, key_file).await?,
            ),
        })
    }
}

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL: &str = "NIGEHBAN_TEST_POSTGRES_URL";

/// A fresh SQLite store.
pub async fn sqlite() -> TestBackend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), &AuditKeyFile::in_data_dir(dir.path()))
        .await
        .unwrap();
    TestBackend::Sqlite(store, dir)
}

/// A fresh PostgreSQL store in a database of its own, or `None` (skipped)
/// when no server is configured and services are not required.
pub async fn postgres() -> Option<TestBackend> {
    let url = nigehban_testkit::postgres_url()?;
    let admin_config: tokio_postgres::Config = url
        .parse()
        .unwrap_or_else(|e| panic!("{POSTGRES_URL}: {e}"));
    let (client, connection) = admin_config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL}: {e}"));
    let connection = tokio::spawn(connection);
    let dbname = format!("nigehban_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();
    drop(client);
    let _ = connection.await;
    let mut config = admin_config;
    config.dbname(&dbname);
    let key_dir = tempfile::tempdir().unwrap();
    let store = PostgresStore::connect_with(config, 4, &AuditKeyFile::in_data_dir(key_dir.path()))
        .await
        .unwrap();
    Some(TestBackend::Postgres(store, dbname, key_dir))
}

/// Instantiates every listed test once per backend: `sqlite::name` and `postgres::name`.
macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::harness::sqlite().await;
                    super::$name(&backend).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(backend) = $crate::harness::postgres().await else {
                        return;
                    };
                    super::$name(&backend).await;
                }
            )*
        }
    };
}

/// An audit context for a user acting from a documentation address.
pub fn ctx() -> AuditContext {
    AuditContext {
        actor: Actor {
            kind: ActorKind::User,
            user: Some(UserId::new()),
            token: None,
            tenant: None,
        },
        at: Timestamp::now(),
        remote_addr: Some("192.0.2.10".into()),
    }
}

/// A tenant record ready to insert.
pub fn tenant(store: &dyn Store, parent: Option<TenantId>, name: &str, kind: TenantKind) -> Tenant {
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

/// A small tree: national CERT, two sectoral CERTs, one organisation under each.
pub struct Tree {
    pub national: Tenant,
    pub telecom: Tenant,
    pub banking: Tenant,
    pub operator: Tenant,
    pub bank: Tenant,
}

/// Inserts [`Tree`].
pub async fn tree(store: &dyn Store) -> Tree {
    let national = tenant(store, None, "National CERT", TenantKind::National);
    store.insert_tenant(&national, &ctx()).await.unwrap();
    let telecom = tenant(
        store,
        Some(national.id),
        "CERT Telecom",
        TenantKind::Sectoral {
            sector: Sector::Telecom,
        },
    );
    store.insert_tenant(&telecom, &ctx()).await.unwrap();
    let banking = tenant(
        store,
        Some(national.id),
        "CERT Banking",
        TenantKind::Sectoral {
            sector: Sector::Banking,
        },
    );
    store.insert_tenant(&banking, &ctx()).await.unwrap();
    let operator = tenant(
        store,
        Some(telecom.id),
        "Mobile Operator",
        TenantKind::Organisation {
            critical_infrastructure: true,
        },
    );
    store.insert_tenant(&operator, &ctx()).await.unwrap();
    let bank = tenant(
        store,
        Some(banking.id),
        "First Bank",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    store.insert_tenant(&bank, &ctx()).await.unwrap();
    Tree {
        national,
        telecom,
        banking,
        operator,
        bank,
    }
}

/// A user record ready to insert.
pub fn user(store: &dyn Store, tenant: TenantId, username: &str, role: Role) -> User {
    let now = Timestamp::now();
    User {
        id: UserId::new(),
        instance: store.instance(),
        tenant,
        username: Username::parse(username).unwrap(),
        display_name: DisplayName::parse(username).unwrap(),
        role,
        active: true,
        must_change_password: false,
        failed_logins: 0,
        created_at: now,
        updated_at: now,
    }
}

/// A stand-in password hash (the store does not interpret it).
pub fn hash(text: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1${text}"))
}

/// Fifteen minutes.
pub const QUARTER_HOUR: Duration = Duration::from_secs(15 * 60);

/// A sensor record ready to insert: a firewall of `tenant` sending syslog.
pub fn sensor(store: &dyn Store, tenant: TenantId, name: &str) -> Sensor {
    let now = Timestamp::now();
    Sensor {
        id: SensorId::new(),
        instance: store.instance(),
        tenant,
        name: SensorName::parse(name).unwrap(),
        kind: SensorKind::Firewall,
        expected_formats: vec![SensorFormat::Syslog, SensorFormat::Cef],
        expected_interval: Some(ExpectedInterval::from_secs(300).unwrap()),
        source_addresses: Vec::new(),
        tls_client_fingerprints: Vec::new(),
        tls_subject_cn: None,
        host_os_type: None,
        utc_offset: None,
        active: true,
        created_at: now,
        updated_at: now,
    }
}

/// A fresh ingest token record for `sensor`.
pub fn sensor_token(sensor: &Sensor) -> SensorToken {
    SensorToken {
        id: SensorTokenId::new(),
        instance: sensor.instance,
        sensor: sensor.id,
        tenant: sensor.tenant,
        created_at: Timestamp::now(),
        expires_at: None,
        last_used_at: None,
        last_used_from: None,
        revoked_at: None,
    }
}

/// Parses a source network.
pub fn net(text: &str) -> SourceNetwork {
    SourceNetwork::parse(text).unwrap()
}

/// Inserts `sensor` with a token whose secret is `secret`; returns the token.
pub async fn register(store: &dyn Store, sensor: &Sensor, secret: &str) -> SensorToken {
    let token = sensor_token(sensor);
    store
        .insert_sensor(sensor, &token, &SecretHash::of(secret), &ctx())
        .await
        .unwrap();
    token
}
