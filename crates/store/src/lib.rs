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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nigehban_model::{
    Actor, ApiToken, AuditDraft, AuditEntry, AuditVerification, ChainHead, InstanceId,
    PasswordHash, Role, SecretHash, Session, SessionId, Tenant, TenantId, TenantName, Timestamp,
    TokenId, User, UserId, Username,
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
}
