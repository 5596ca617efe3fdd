//! Storage for Nigehban's records behind traits, with SQLite (embedded) and PostgreSQL backends.
//!
//! Only this crate knows SQL. The app crate reaches storage through the
//! [`Store`] trait, so the embedded default and the scale-out deployment run
//! the same services; a backend is supported exactly when the conformance
//! suite (`tests/conformance.rs`, every test instantiated for each backend)
//! passes.
//!
//! # API
//!
//! - [`open`] a [`StoreConfig`] → `Arc<dyn Store>`; or directly
//!   [`SqliteStore::open`] (a data directory, WAL mode) and
//!   [`PostgresStore::connect`] (a URL, a connection pool). Both run pending
//!   migrations at open; [`Store::migrate`] runs them explicitly.
//! - [`Store`]: tenants (a tree; insert, [`TenantChange`] rename / move —
//!   cycles refused — / deactivate; never deleted), users ([`UserChange`],
//!   sign-in failures and lockout), API tokens and browser sessions (stored by
//!   the SHA-256 of their secret), the audit log (append, list, verify), and
//!   backups.
//! - Every mutation writes its record change **and** its audit entry in one
//!   transaction; the [`AuditContext`] says who, when and from where. Appends
//!   to the audit chain are serialised (SQLite: one writer connection and
//!   `BEGIN IMMEDIATE`; PostgreSQL: `SELECT ... FOR UPDATE` on the chain-head
//!   row), so the chain is linear under any concurrency.
//! - List calls take a [`PageRequest`] and return a [`Page`] with an opaque
//!   [`Cursor`] to the next page, in a stable order (record id, or audit `seq`).
//! - Backups: [`Store::backup_to`] writes a consistent snapshot of a SQLite
//!   database while it is in use (`VACUUM INTO`); [`restore_sqlite_backup`]
//!   puts one into a data directory. On PostgreSQL backups are `pg_dump`'s
//!   job (`pg_dump --format=custom`, restored with `pg_restore`), so
//!   [`Store::backup_to`] returns [`StoreError::Unsupported`] there.
//!
//! # Tests
//!
//! `cargo test -p nigehban-store` runs the conformance suite on SQLite and,
//! when `NIGEHBAN_TEST_POSTGRES_URL` names a PostgreSQL server (e.g.
//! `postgres://nigehban@127.0.0.1:55432/postgres`, a role allowed to
//! `CREATE DATABASE`: every test makes its own database), on PostgreSQL.
//! Without the URL those tests print `skipped: NIGEHBAN_TEST_POSTGRES_URL not
//! set`, unless `NIGEHBAN_REQUIRE_SERVICES=1` makes them fail. `cargo xtask
//! test` starts a throwaway cluster and sets both. The suite includes
//! tampering with audit rows directly in the database (every column,
//! deleting and reordering rows) and checks that verification names the
//! entry; `tests/sqlite_backup.rs` backs up under continuous writes and
//! verifies the restored copy.
//!
//! # Migrations
//!
//! Numbered `.sql` files per backend in `migrations/sqlite/` and
//! `migrations/postgres/`, compiled into the binary and recorded in a
//! `schema_migrations` table. A database newer than the program is refused
//! ([`StoreError::SchemaTooNew`]).

mod error;
mod migrations;
mod page;
pub mod postgres;
mod rows;
pub mod sqlite;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nigehban_model::{
    Actor, ApiToken, AuditDraft, AuditEntry, AuditVerification, CertificateFingerprint, ChainHead,
    InstanceId, PasswordHash, Role, SecretHash, Sensor, SensorHealthEvent, SensorId, SensorToken,
    SensorTokenId, SensorUpdate, Session, SessionId, SourceNetwork, SubjectCommonName, Tenant,
    TenantId, TenantName, Timestamp, TokenId, User, UserId, Username,
};

pub use error::{StoreError, StoreResult};
pub use page::{Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, PageRequest};
pub use postgres::PostgresStore;
pub use sqlite::{DATABASE_FILE, SqliteStore, restore_sqlite_backup};

/// Which storage to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded default: a SQLite database in a local data directory.
    Sqlite {
        /// The data directory (created if missing); the database is `nigehban.db` in it.
        data_dir: PathBuf,
    },
    /// PostgreSQL, for running the platform on many machines.
    Postgres {
        /// A connection URL, e.g. `postgres://nigehban@db.example:5432/nigehban`.
        url: String,
        /// How many connections to keep at most.
        pool_size: usize,
    },
}

/// Opens the configured storage and runs pending migrations.
pub async fn open(config: &StoreConfig) -> StoreResult<Arc<dyn Store>> {
    match config {
        StoreConfig::Sqlite { data_dir } => Ok(Arc::new(SqliteStore::open(data_dir).await?)),
        StoreConfig::Postgres { url, pool_size } => {
            Ok(Arc::new(PostgresStore::connect(url, *pool_size).await?))
        }
    }
}

/// The storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend's name, as in logs and errors.
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Who makes a change, when and from where: what the audit entry for it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    /// Who acts.
    pub actor: Actor,
    /// When.
    pub at: Timestamp,
    /// The network address the request came from, if any.
    pub remote_addr: Option<String>,
}

impl AuditContext {
    /// A context for `actor` acting now from `remote_addr`.
    pub fn now(actor: Actor, remote_addr: Option<String>) -> Self {
        Self {
            actor,
            at: Timestamp::now(),
            remote_addr,
        }
    }
}

/// A change to a tenant. Tenants are never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantChange {
    /// Give it a new name.
    Rename(TenantName),
    /// Move it (with everything below it) under another parent; refused with
    /// [`StoreError::Cycle`] if the new parent is the tenant itself or below it.
    Move(TenantId),
    /// Deactivate it.
    Deactivate,
}

/// A change to a user account. Users are never deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Act in another role.
    SetRole(Role),
    /// Deactivate the account and end its sessions.
    Deactivate,
    /// Set a new password hash, clear the lockout and end the user's sessions.
    SetPassword {
        /// The new Argon2id hash.
        hash: PasswordHash,
        /// Whether the user must choose another password at next sign-in.
        must_change: bool,
        /// A session to keep (the user's own, when changing their own password).
        keep_session: Option<SessionId>,
    },
}

/// How sign-in failures lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Lock after this many consecutive failures.
    pub max_failures: u32,
    /// For this long.
    pub lock_for: Duration,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only entries concerning this tenant and those below it; `None` for all.
    pub subtree: Option<TenantId>,
    /// Newest entries first (otherwise oldest first, in chain order).
    pub newest_first: bool,
}

/// A change to a sensor. Sensors are never deleted and never change tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorChange {
    /// Replace the fields the update names (the update's lists already normalised).
    Update(SensorUpdate),
    /// Deactivate it: intake no longer knows it, its ingest tokens are revoked,
    /// and its addresses, fingerprints, common name and name are free for
    /// other sensors. Deactivating twice changes nothing.
    Deactivate,
}

/// Which sensor health events to list (always newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorHealthScope {
    /// One sensor's.
    Sensor(SensorId),
    /// Those of the sensors of this tenant and every tenant below it.
    Subtree(TenantId),
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The audit chain head it contains.
    pub audit_head: ChainHead,
}

/// Storage for every record of the platform.
///
/// Methods that change a record take an [`AuditContext`] and write the
/// change and its audit entry in one transaction. Reads of records that do
/// not exist return `Ok(None)`; changes to them return
/// [`StoreError::NotFound`]. Authorisation is not this trait's job: callers
/// go through `nigehban_app`, which decides with its one policy.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// The id of this installation, created with the database; stamped on every record.
    fn instance(&self) -> InstanceId;

    /// Applies pending schema migrations; returns how many were applied.
    async fn migrate(&self) -> StoreResult<usize>;

    /// How many migrations opening the store applied (0 if the schema was current).
    fn migrations_applied_at_open(&self) -> usize;

    /// One cheap round trip to the database: proves it is reachable.
    async fn ping(&self) -> StoreResult<()>;

    /// Inserts a tenant. A second root (no parent) is a [`StoreError::Conflict`];
    /// an unknown parent is [`StoreError::NotFound`].
    async fn insert_tenant(&self, tenant: &Tenant, ctx: &AuditContext) -> StoreResult<()>;

    /// Renames, moves or deactivates a tenant; returns it as changed.
    async fn update_tenant(
        &self,
        id: TenantId,
        change: TenantChange,
        ctx: &AuditContext,
    ) -> StoreResult<Tenant>;

    /// One tenant.
    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>>;

    /// The root tenant (the national CERT), once bootstrapped.
    async fn root_tenant(&self) -> StoreResult<Option<Tenant>>;

    /// The tenants from the root down to `id` inclusive; empty if `id` does not exist.
    async fn tenant_path(&self, id: TenantId) -> StoreResult<Vec<Tenant>>;

    /// The tenant `subtree` and every tenant below it, ordered by id.
    async fn list_tenants(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Tenant>>;

    /// Inserts a user with a password hash. A user name already taken is a [`StoreError::Conflict`].
    async fn insert_user(
        &self,
        user: &User,
        password: &PasswordHash,
        ctx: &AuditContext,
    ) -> StoreResult<()>;

    /// Changes a user's role, deactivates it or sets its password; returns it as changed.
    async fn update_user(
        &self,
        id: UserId,
        change: UserChange,
        ctx: &AuditContext,
    ) -> StoreResult<User>;

    /// One user.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// A user and its password hash, by sign-in name.
    async fn user_credentials(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(User, PasswordHash)>>;

    /// Counts a failed sign-in and locks the account if the policy says so; audited.
    async fn record_login_failure(
        &self,
        id: UserId,
        policy: LockoutPolicy,
        ctx: &AuditContext,
    ) -> StoreResult<User>;

    /// The users of the tenant `subtree` and every tenant below it, ordered by id.
    async fn list_users(&self, subtree: TenantId, page: &PageRequest) -> StoreResult<Page<User>>;

    /// Inserts an API token with the hash of its secret.
    async fn insert_token(
        &self,
        token: &ApiToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()>;

    /// One API token.
    async fn token(&self, id: TokenId) -> StoreResult<Option<ApiToken>>;

    /// The API token whose secret has this hash.
    async fn token_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<ApiToken>>;

    /// Records that a token was used (not audited: it is not a change of the record's meaning).
    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()>;

    /// Revokes an API token; returns it as revoked (revoking twice keeps the first time).
    async fn revoke_token(&self, id: TokenId, ctx: &AuditContext) -> StoreResult<ApiToken>;

    /// The API tokens of the tenant `subtree` and every tenant below it, ordered by id.
    async fn list_tokens(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiToken>>;

    /// Inserts a browser session with the hash of its cookie value, and resets
    /// the user's sign-in failures (a successful sign-in); audited.
    async fn insert_session(
        &self,
        session: &Session,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()>;

    /// One session.
    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>>;

    /// The session whose cookie value has this hash.
    async fn session_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<Session>>;

    /// Records that a session was used and extends it (not audited).
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;

    /// Ends a session (sign-out); returns it as revoked.
    async fn revoke_session(&self, id: SessionId, ctx: &AuditContext) -> StoreResult<Session>;

    /// Deletes sessions that expired or were revoked before `now`; returns how many.
    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    /// Appends a stand-alone audit entry (e.g. a read of TLP:AMBER material).
    async fn append_audit(&self, draft: AuditDraft) -> StoreResult<AuditEntry>;

    /// Audit entries, ordered by `seq`.
    async fn list_audit(
        &self,
        query: AuditQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;

    /// The last entry of the audit chain as recorded.
    async fn audit_head(&self) -> StoreResult<ChainHead>;

    /// Recomputes the whole chain; names the first entry that does not match.
    async fn verify_audit(&self) -> StoreResult<AuditVerification>;

    /// Writes a consistent snapshot of the database to `dest` (which must not
    /// exist) while the store stays in use; audited.
    async fn backup_to(&self, dest: &Path, ctx: &AuditContext) -> StoreResult<BackupReport>;

    /// Registers a sensor with its first ingest token (audited as
    /// `sensor.register`). An unknown tenant is [`StoreError::NotFound`]; a
    /// name taken by another active sensor of the tenant, or a source
    /// network, fingerprint or common name registered exactly so by another
    /// active sensor (of any tenant), is a [`StoreError::Conflict`] that does
    /// not say whose.
    async fn insert_sensor(
        &self,
        sensor: &Sensor,
        token: &SensorToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let _ = (sensor, token, secret, ctx);
        Err(not_yet("insert_sensor"))
    }

    /// Updates or deactivates a sensor (audited as `sensor.update` /
    /// `sensor.deactivate`); returns it as changed. Updating a deactivated
    /// sensor is a [`StoreError::Conflict`]; collisions as for
    /// [`Store::insert_sensor`].
    async fn update_sensor(
        &self,
        id: SensorId,
        change: SensorChange,
        ctx: &AuditContext,
    ) -> StoreResult<Sensor> {
        let _ = (id, change, ctx);
        Err(not_yet("update_sensor"))
    }

    /// One sensor.
    async fn sensor(&self, id: SensorId) -> StoreResult<Option<Sensor>> {
        let _ = id;
        Err(not_yet("sensor"))
    }

    /// The sensors of tenant `subtree` and every tenant below it, ordered by id.
    async fn list_sensors(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        let _ = (subtree, page);
        Err(not_yet("list_sensors"))
    }

    /// Every active sensor of the instance, ordered by id (whatever its tenant's state).
    async fn list_active_sensors(&self, page: &PageRequest) -> StoreResult<Page<Sensor>> {
        let _ = page;
        Err(not_yet("list_active_sensors"))
    }

    /// The active sensors one of whose source networks contains `address`,
    /// each with that network, most specific (longest prefix) first.
    /// IPv4-mapped IPv6 addresses are looked up as IPv4.
    async fn sensors_by_address(
        &self,
        address: IpAddr,
    ) -> StoreResult<Vec<(Sensor, SourceNetwork)>> {
        let _ = address;
        Err(not_yet("sensors_by_address"))
    }

    /// The active sensor that registered this TLS client certificate fingerprint.
    async fn sensor_by_fingerprint(
        &self,
        fingerprint: &CertificateFingerprint,
    ) -> StoreResult<Option<Sensor>> {
        let _ = fingerprint;
        Err(not_yet("sensor_by_fingerprint"))
    }

    /// The active sensor that registered this TLS subject common name.
    async fn sensor_by_subject_cn(
        &self,
        subject_cn: &SubjectCommonName,
    ) -> StoreResult<Option<Sensor>> {
        let _ = subject_cn;
        Err(not_yet("sensor_by_subject_cn"))
    }

    /// Issues a new ingest token for an active sensor and ends its other
    /// usable tokens at `old_until` (revoked now when `old_until` is not
    /// after `ctx.at`, else expiring then); audited as `sensor.rotate_token`.
    /// Returns the previous tokens as changed.
    async fn rotate_sensor_token(
        &self,
        token: &SensorToken,
        secret: &SecretHash,
        old_until: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<SensorToken>> {
        let _ = (token, secret, old_until, ctx);
        Err(not_yet("rotate_sensor_token"))
    }

    /// Revokes one ingest token (audited as `sensor.revoke_token`); revoking twice keeps the first time.
    async fn revoke_sensor_token(
        &self,
        id: SensorTokenId,
        ctx: &AuditContext,
    ) -> StoreResult<SensorToken> {
        let _ = (id, ctx);
        Err(not_yet("revoke_sensor_token"))
    }

    /// One ingest token.
    async fn sensor_token(&self, id: SensorTokenId) -> StoreResult<Option<SensorToken>> {
        let _ = id;
        Err(not_yet("sensor_token"))
    }

    /// The ingest token whose secret has this hash.
    async fn sensor_token_by_secret(
        &self,
        secret: &SecretHash,
    ) -> StoreResult<Option<SensorToken>> {
        let _ = secret;
        Err(not_yet("sensor_token_by_secret"))
    }

    /// Records that an ingest token was used, and from where (not audited).
    async fn touch_sensor_token(
        &self,
        id: SensorTokenId,
        at: Timestamp,
        from: Option<String>,
    ) -> StoreResult<()> {
        let _ = (id, at, from);
        Err(not_yet("touch_sensor_token"))
    }

    /// A sensor's ingest tokens, oldest first.
    async fn list_sensor_tokens(&self, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
        let _ = sensor;
        Err(not_yet("list_sensor_tokens"))
    }

    /// Appends a sensor health event to its append-only table. Health events
    /// are generated by the platform, not made by a person, so they are not
    /// written to the audit log. An unknown sensor is [`StoreError::NotFound`].
    async fn insert_sensor_health(&self, event: &SensorHealthEvent) -> StoreResult<()> {
        let _ = event;
        Err(not_yet("insert_sensor_health"))
    }

    /// Sensor health events, newest first.
    async fn list_sensor_health(
        &self,
        scope: SensorHealthScope,
        page: &PageRequest,
    ) -> StoreResult<Page<SensorHealthEvent>> {
        let _ = (scope, page);
        Err(not_yet("list_sensor_health"))
    }
}

/// The error of a sensor registry call this backend does not implement yet.
fn not_yet(call: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "the sensor registry ({call}) is not implemented on this backend yet"
    ))
}
