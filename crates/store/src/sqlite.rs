//! The embedded backend: SQLite in a data directory, WAL mode.
//!
//! One writer connection behind a mutex serialises every change (and so
//! every audit append); readers use a small pool of their own connections,
//! which WAL lets run beside the writer. All SQLite work runs on tokio's
//! blocking pool, never on the async runtime's threads. `synchronous=FULL`
//! makes every acknowledged commit survive a power cut.
//!
//! The audit key lives in the writer connection only, as two SQL functions
//! (`nigehban_audit_entry_mac(seq, hash)`, `nigehban_audit_head_mac(seq,
//! hash)`) registered at open: every audit append inside any write
//! transaction computes its MACs there, and a connection without the key
//! (a reader, a read-only store) cannot write audit entries at all.
//!
//! [`SqliteStore::open_read_only`] opens the database file with
//! `SQLITE_OPEN_READ_ONLY`, runs no migration and sets no pragma that
//! writes: `nigehban audit verify` checks a database without changing it.

mod alerts;
mod duty;
mod incidents;
mod intel;
mod rules;
mod sensors;
mod stix;
mod taxii;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use nigehban_model::{
    Actor, ActorKind, Alert, AlertChange, AlertComment, AlertId, AlertTriage, ApiToken,
    AuditAction, AuditDraft, AuditEntry, AuditEntryId, AuditKey, AuditMac, AuditVerification,
    CertificateFingerprint, ChainHash, ChainHead, ChainVerifier, InstanceId, JsonText,
    KeyFingerprint, PasswordHash, RecordedChain, SecretHash, Sensor, SensorHealthEvent, SensorId,
    SensorToken, SensorTokenId, Session, SessionId, SignalFate, SourceNetwork, SubjectCommonName,
    Tenant, TenantId, TenantName, Timestamp, TokenId, TokenName, User, UserId, Username,
};
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use crate::DutyQuery;
use crate::audit_key::{AuditKeyFile, KeyDecision};
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE, Migration};
use crate::rows::{
    change_draft, kind_columns, kind_from_columns, parse_role, parse_text, to_i64, to_seq, to_u32,
};
use crate::{AlertHourCount, IndicatorQuery, SightingRecorded};
use crate::{
    AlertPruning, AlertQuery, AlertRaise, AuditContext, AuditQuery, Backend, BackupReport, Page,
    PageRequest, SensorChange, SensorHealthScope, Store, StoreError, StoreResult, TenantChange,
    UserChange,
};
use crate::{EvidenceOf, IncidentScope, IncidentWrite, IncidentWritten, SimilarIncident};
use nigehban_model::DutyRecordId;
use nigehban_model::IndicatorId;
use nigehban_model::duty::DutyRecord;
use nigehban_model::indicator::{Indicator, IndicatorValue, Sighting};
use nigehban_model::{
    Evidence, EvidenceId, Incident, IncidentId, IncidentNotification, IncidentReport,
    IncidentReportId, ReadableId, Sha256Digest, TimelineEntry,
};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "nigehban.db";

/// How many idle reader connections to keep.
const READER_POOL: usize = 4;

struct Inner {
    path: PathBuf,
    instance: InstanceId,
    applied_at_open: usize,
    key: AuditKey,
    read_only: bool,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves SQLite itself consistent (the
    // transaction rolls back when dropped), so the connection stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    plan_once(&conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Makes a cached statement keep its query plan whatever values are bound.
///
/// Without the query planner stability guarantee, SQLite marks a statement
/// to be compiled again when the value bound to one of its parameters might
/// change the plan, which it assumes of most `column = ?` terms; and every
/// statement the cache hands back has had its bindings cleared, which
/// counts as such a change. So each use of a cached statement compiled it
/// anew: two thirds of the time the alert store spent looking up the alert a
/// signal folds into. The plans that matter name their index (`INDEXED BY`).
fn plan_once(conn: &Connection) -> StoreResult<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// A connection that cannot write: the file is opened read-only and no pragma is set.
fn open_read_only_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    plan_once(&conn)?;
    Ok(conn)
}

/// Gives the writer connection the audit key, as the SQL functions that compute MACs.
fn install_mac_functions(conn: &Connection, key: &AuditKey) -> StoreResult<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, head) in [
        ("nigehban_audit_entry_mac", false),
        ("nigehban_audit_head_mac", true),
    ] {
        let key = key.clone();
        conn.create_scalar_function(name, 2, flags, move |ctx| {
            let seq: i64 = ctx.get(0)?;
            let hash: Vec<u8> = ctx.get(1)?;
            // A hash that is not 32 bytes only comes from tampering: no MAC for it.
            let (Ok(seq), Some(hash)) = (u64::try_from(seq), ChainHash::from_slice(&hash)) else {
                return Ok(None);
            };
            let mac = if head {
                key.head_mac(ChainHead { seq, hash })
            } else {
                key.entry_mac(seq, &hash)
            };
            Ok(Some(mac.as_bytes().to_vec()))
        })?;
    }
    Ok(())
}

/// The key fingerprint the database records, if a key was installed.
fn recorded_key(conn: &Connection) -> StoreResult<Option<KeyFingerprint>> {
    let text: Option<String> = conn.query_row(
        "SELECT key_fingerprint FROM audit_chain_head WHERE singleton = 1",
        [],
        |row| row.get(0),
    )?;
    text.map(|text| {
        KeyFingerprint::from_hex(&text)
            .ok_or_else(|| StoreError::corrupt("audit key fingerprint", text))
    })
    .transpose()
}

/// Seals the entries that have no MAC yet (written before the key existed)
/// and the head, and records the key's fingerprint: once, when a key is first
/// installed. The writer connection must have the MAC functions.
fn install_key(conn: &mut Connection, key: &AuditKey, instance: InstanceId) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have installed a key since this one looked.
    if let Some(recorded) = recorded_key(&tx)? {
        if recorded == key.fingerprint() {
            return Ok(());
        }
        return Err(StoreError::Conflict(format!(
            "another process installed the audit key of fingerprint {recorded} at the same moment; copy its key file here"
        )));
    }
    let sealed = tx.execute(
        "INSERT INTO audit_macs (seq, mac)
         SELECT seq, nigehban_audit_entry_mac(seq, hash) FROM audit_log
         WHERE seq NOT IN (SELECT seq FROM audit_macs) AND nigehban_audit_entry_mac(seq, hash) IS NOT NULL",
        [],
    )?;
    tx.execute(
        "UPDATE audit_chain_head SET mac = nigehban_audit_head_mac(seq, hash), key_fingerprint = ?1 WHERE singleton = 1",
        params![key.fingerprint().to_string()],
    )?;
    let root: Option<String> = tx
        .query_row(
            "SELECT id FROM tenants WHERE parent_id IS NULL",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(root) = root {
        // A platform upgraded from a schema without keys: say so in the log itself.
        let details = serde_json::json!({
            "key_fingerprint": key.fingerprint().to_string(),
            "entries_sealed": sealed,
        });
        let draft = change_draft(
            instance,
            &AuditContext::now(Actor::SYSTEM, None),
            parse_text("tenant id", &root)?,
            AuditAction::AUDIT_KEY_INSTALL,
            "audit log",
            key.fingerprint().to_string(),
            None,
            Some(&details),
        )?;
        append(&tx, draft)?;
    }
    tx.commit()?;
    tracing::info!(fingerprint = %key.fingerprint(), sealed, "audit key installed: existing entries sealed");
    Ok(())
}

/// The newest migration applied, or `None` if the database has no Nigehban schema.
fn schema_version(conn: &Connection) -> StoreResult<Option<i64>> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    Ok(Some(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Backend {
            backend: "sqlite",
            source: Box::new(e),
        })?
}

/// The migrations a database has recorded (numbers may have gaps).
fn recorded_versions(conn: &Connection) -> StoreResult<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
    let rows = stmt.query_map([], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn apply_migrations(conn: &mut Connection, list: &[Migration]) -> StoreResult<usize> {
    conn.execute(CREATE_MIGRATIONS_TABLE, [])?;
    let recorded = recorded_versions(conn)?;
    let pending = migrations::pending(list, &recorded)?;
    let mut applied = 0;
    for migration in pending {
        let wrap = |source: rusqlite::Error| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source: Box::new(source),
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(wrap)?;
        tx.execute_batch(migration.sql).map_err(wrap)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_micros) VALUES (?1, ?2, ?3)",
            params![
                migration.version,
                migration.name,
                Timestamp::now().unix_micros()
            ],
        )
        .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "sqlite migration applied"
        );
        applied += 1;
    }
    Ok(applied)
}

fn instance_id(conn: &Connection) -> StoreResult<InstanceId> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT instance_id FROM instance WHERE singleton = 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match existing {
        Some(text) => parse_text("instance id", &text),
        None => {
            let id = InstanceId::new();
            conn.execute(
                "INSERT INTO instance (singleton, instance_id) VALUES (1, ?1)",
                params![id.to_string()],
            )?;
            Ok(id)
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir`, in WAL mode,
    /// applies pending migrations, and takes the audit key from `key_file`
    /// (created if the log has no key yet; see [`AuditKeyFile`]).
    pub async fn open(data_dir: &Path, key_file: &AuditKeyFile) -> StoreResult<Self> {
        let data_dir = data_dir.to_path_buf();
        let key_file = key_file.clone();
        blocking(move || {
            std::fs::create_dir_all(&data_dir).map_err(|source| StoreError::Io {
                context: format!("cannot create data directory {}", data_dir.display()),
                source,
            })?;
            let path = data_dir.join(DATABASE_FILE);
            let mut writer = open_connection(&path)?;
            let applied_at_open = apply_migrations(&mut writer, migrations::SQLITE)?;
            let instance = instance_id(&writer)?;
            let key = match key_file.decide(recorded_key(&writer)?)? {
                KeyDecision::Use(key) => {
                    install_mac_functions(&writer, &key)?;
                    key
                }
                KeyDecision::Install(key) => {
                    install_mac_functions(&writer, &key)?;
                    install_key(&mut writer, &key, instance)?;
                    key
                }
            };
            tracing::info!(path = %path.display(), %instance, audit_key = %key.fingerprint(), "sqlite store opened");
            Ok(SqliteStore {
                inner: Arc::new(Inner {
                    path,
                    instance,
                    applied_at_open,
                    key,
                    read_only: false,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                }),
            })
        })
        .await
    }

    /// Opens the database in `data_dir` without changing it: read-only, no
    /// migration (a database of another schema version is refused), audit
    /// verification with `key`. Every change is refused by SQLite.
    pub async fn open_read_only(data_dir: &Path, key: AuditKey) -> StoreResult<Self> {
        let path = data_dir.join(DATABASE_FILE);
        blocking(move || {
            if !path.is_file() {
                return Err(StoreError::NoDatabase(path.display().to_string()));
            }
            let conn = open_read_only_connection(&path)?;
            let known = migrations::SQLITE.last().map_or(0, |m| m.version);
            match schema_version(&conn)? {
                None => return Err(StoreError::NoDatabase(path.display().to_string())),
                Some(found) if found < known => {
                    return Err(StoreError::SchemaTooOld { found, known });
                }
                Some(found) if found > known => {
                    return Err(StoreError::SchemaTooNew { found, known });
                }
                Some(_) => {}
            }
            // Numbers may have gaps: the schema is current only when every migration is recorded.
            let recorded = recorded_versions(&conn)?;
            if let Some(missing) = migrations::pending(migrations::SQLITE, &recorded)?.first() {
                return Err(StoreError::SchemaTooOld {
                    found: missing.version - 1,
                    known,
                });
            }
            let instance: Option<String> = conn
                .query_row(
                    "SELECT instance_id FROM instance WHERE singleton = 1",
                    [],
                    |row| row.get(0),
                )
                .optional()?;
            let instance = instance
                .ok_or_else(|| StoreError::NoDatabase(path.display().to_string()))
                .and_then(|text| parse_text("instance id", &text))?;
            tracing::info!(path = %path.display(), %instance, "sqlite store opened read-only");
            Ok(SqliteStore {
                inner: Arc::new(Inner {
                    path,
                    instance,
                    applied_at_open: 0,
                    key,
                    read_only: true,
                    writer: Mutex::new(conn),
                    readers: Mutex::new(Vec::new()),
                }),
            })
        })
        .await
    }

    /// The database file.
    pub fn database_path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer connection.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>, InstanceId) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let mut conn = lock(&inner.writer);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let result = work(&tx, inner.instance)?;
            tx.commit()?;
            Ok(result)
        })
        .await
    }

    /// Runs `work` on a reader connection.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let pooled = lock(&inner.readers).pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None if inner.read_only => open_read_only_connection(&inner.path)?,
                None => open_connection(&inner.path)?,
            };
            let result = work(&mut conn);
            let mut readers = lock(&inner.readers);
            if readers.len() < READER_POOL {
                readers.push(conn);
            }
            result
        })
        .await
    }

    /// Runs raw SQL on the writer connection, outside any audit. For tests
    /// that play an attacker with direct database access; only built with
    /// the `test-support` feature, which only tests enable.
    #[cfg(feature = "test-support")]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> StoreResult<()> {
        let sql = sql.to_owned();
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            lock(&inner.writer).execute_batch(&sql)?;
            Ok(())
        })
        .await
    }
}

// ---- row decoding ----

const TENANT_COLUMNS: &str = "id, instance_id, parent_id, name, kind, sector, critical_infrastructure, active, created_at, updated_at";

fn tenant_from_row(row: &Row<'_>) -> StoreResult<Tenant> {
    let sector: Option<String> = row.get(5)?;
    let parent: Option<String> = row.get(2)?;
    Ok(Tenant {
        id: parse_text("tenant id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        parent: parent.map(|p| parse_text("tenant id", &p)).transpose()?,
        name: TenantName::parse(&row.get::<_, String>(3)?)
            .map_err(|e| StoreError::corrupt("tenant name", e))?,
        kind: kind_from_columns(&row.get::<_, String>(4)?, sector.as_deref(), row.get(6)?)?,
        active: row.get(7)?,
        created_at: Timestamp::from_unix_micros(row.get(8)?),
        updated_at: Timestamp::from_unix_micros(row.get(9)?),
    })
}

const USER_COLUMNS: &str = "id, instance_id, tenant_id, username, display_name, role, active, must_change_password, failed_logins, created_at, updated_at, password_hash";

fn user_from_row(row: &Row<'_>) -> StoreResult<User> {
    Ok(User {
        id: parse_text("user id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        username: Username::parse(&row.get::<_, String>(3)?)
            .map_err(|e| StoreError::corrupt("user name", e))?,
        display_name: nigehban_model::DisplayName::parse(&row.get::<_, String>(4)?)
            .map_err(|e| StoreError::corrupt("display name", e))?,
        role: parse_role(&row.get::<_, String>(5)?)?,
        active: row.get(6)?,
        must_change_password: row.get(7)?,
        failed_logins: to_u32("failed logins", row.get(8)?)?,
        created_at: Timestamp::from_unix_micros(row.get(9)?),
        updated_at: Timestamp::from_unix_micros(row.get(10)?),
    })
}

const TOKEN_COLUMNS: &str = "id, instance_id, tenant_id, role, owner_id, name, created_at, expires_at, last_used_at, revoked_at, sensor";

fn token_from_row(row: &Row<'_>) -> StoreResult<ApiToken> {
    let owner: Option<String> = row.get(4)?;
    let micros = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .map(Timestamp::from_unix_micros))
    };
    Ok(ApiToken {
        id: parse_text("token id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        role: parse_role(&row.get::<_, String>(3)?)?,
        owner: owner.map(|o| parse_text("user id", &o)).transpose()?,
        name: TokenName::parse(&row.get::<_, String>(5)?)
            .map_err(|e| StoreError::corrupt("token name", e))?,
        created_at: Timestamp::from_unix_micros(row.get(6)?),
        expires_at: micros(7)?,
        last_used_at: micros(8)?,
        revoked_at: micros(9)?,
        sensor: row.get(10)?,
    })
}

const SESSION_COLUMNS: &str = "id, instance_id, user_id, tenant_id, csrf_secret, created_at, expires_at, last_seen_at, revoked_at, remote_addr";

fn session_from_row(row: &Row<'_>) -> StoreResult<Session> {
    let revoked_at: Option<i64> = row.get(8)?;
    Ok(Session {
        id: parse_text("session id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        user: parse_text("user id", &row.get::<_, String>(2)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(3)?)?,
        csrf_secret: row.get(4)?,
        created_at: Timestamp::from_unix_micros(row.get(5)?),
        expires_at: Timestamp::from_unix_micros(row.get(6)?),
        last_seen_at: Timestamp::from_unix_micros(row.get(7)?),
        revoked_at: revoked_at.map(Timestamp::from_unix_micros),
        remote_addr: row.get(9)?,
    })
}

const AUDIT_COLUMNS: &str = "seq, id, instance_id, tenant_id, at_micros, actor_kind, actor_user, actor_token, actor_tenant, action, record_kind, record_id, before_json, after_json, remote_addr, prev_hash, hash";

fn audit_from_row(row: &Row<'_>) -> StoreResult<AuditEntry> {
    let optional_id = |index: usize| -> StoreResult<Option<String>> { Ok(row.get(index)?) };
    let hash = |index: usize| -> StoreResult<ChainHash> {
        let bytes: Vec<u8> = row.get(index)?;
        ChainHash::from_slice(&bytes)
            .ok_or_else(|| StoreError::corrupt("audit hash", "not 32 bytes"))
    };
    let actor_kind: String = row.get(5)?;
    Ok(AuditEntry {
        seq: to_seq(row.get(0)?)?,
        id: parse_text("audit entry id", &row.get::<_, String>(1)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(2)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(3)?)?,
        at: Timestamp::from_unix_micros(row.get(4)?),
        actor: Actor {
            kind: ActorKind::from_word(&actor_kind)
                .ok_or_else(|| StoreError::corrupt("actor kind", &actor_kind))?,
            user: optional_id(6)?
                .map(|t| parse_text("user id", &t))
                .transpose()?,
            token: optional_id(7)?
                .map(|t| parse_text("token id", &t))
                .transpose()?,
            tenant: optional_id(8)?
                .map(|t| parse_text("tenant id", &t))
                .transpose()?,
        },
        action: AuditAction::named(row.get::<_, String>(9)?),
        record_kind: row.get(10)?,
        record_id: row.get(11)?,
        before: row.get::<_, Option<String>>(12)?.map(JsonText::from_stored),
        after: row.get::<_, Option<String>>(13)?.map(JsonText::from_stored),
        remote_addr: row.get(14)?,
        prev_hash: hash(15)?,
        hash: hash(16)?,
    })
}

// ---- queries used inside transactions ----

fn get_tenant(conn: &Connection, id: TenantId) -> StoreResult<Option<Tenant>> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(tenant_from_row).transpose()
}

fn tenant_path(conn: &Connection, id: TenantId) -> StoreResult<Vec<Tenant>> {
    // Depth is bounded so that corrupt data (a cycle) cannot loop forever.
    let sql = format!(
        "WITH RECURSIVE path(id, parent_id, depth) AS (
             SELECT id, parent_id, 0 FROM tenants WHERE id = ?1
             UNION ALL
             SELECT t.id, t.parent_id, p.depth + 1 FROM tenants t JOIN path p ON t.id = p.parent_id
             WHERE p.depth < 1000
         )
         SELECT {} FROM path JOIN tenants t ON t.id = path.id ORDER BY path.depth DESC",
        prefixed("t", TENANT_COLUMNS)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    let mut path = Vec::new();
    while let Some(row) = rows.next()? {
        path.push(tenant_from_row(row)?);
    }
    Ok(path)
}

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const SUBTREE: &str = "WITH RECURSIVE subtree(id, depth) AS (
    SELECT id, 0 FROM tenants WHERE id = ?1
    UNION ALL
    SELECT t.id, s.depth + 1 FROM tenants t JOIN subtree s ON t.parent_id = s.id WHERE s.depth < 1000
)";

fn get_user(conn: &Connection, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(user_from_row).transpose()
}

fn get_token(conn: &Connection, id: TokenId) -> StoreResult<Option<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(token_from_row).transpose()
}

fn get_session(conn: &Connection, id: SessionId) -> StoreResult<Option<Session>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(session_from_row).transpose()
}

/// Revokes every usable API token the user owns, each audited as `token.revoke`
/// (their credentials end with the password or the account).
fn revoke_owned_tokens(
    tx: &Transaction<'_>,
    instance: InstanceId,
    ctx: &AuditContext,
    owner: UserId,
) -> StoreResult<()> {
    let ids: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM api_tokens WHERE owner_id = ?1 AND revoked_at IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map(params![owner.to_string()], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in ids {
        let id: TokenId = parse_text("token id", &id)?;
        let before = get_token(tx, id)?.ok_or_else(|| StoreError::not_found("token", id))?;
        let mut after = before.clone();
        after.revoked_at = Some(ctx.at);
        tx.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![id.to_string(), ctx.at.unix_micros()],
        )?;
        let draft = change_draft(
            instance,
            ctx,
            after.tenant,
            AuditAction::TOKEN_REVOKE,
            "token",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        append(tx, draft)?;
    }
    Ok(())
}

fn read_head(conn: &Connection) -> StoreResult<ChainHead> {
    let (seq, hash): (i64, Vec<u8>) = conn.query_row(
        "SELECT seq, hash FROM audit_chain_head WHERE singleton = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(ChainHead {
        seq: to_seq(seq)?,
        hash: ChainHash::from_slice(&hash)
            .ok_or_else(|| StoreError::corrupt("audit chain head", "hash is not 32 bytes"))?,
    })
}

/// What the database records beside the log, for verification.
fn read_recorded_chain(conn: &Connection) -> StoreResult<RecordedChain> {
    let head = read_head(conn)?;
    let mac: Option<Vec<u8>> = conn.query_row(
        "SELECT mac FROM audit_chain_head WHERE singleton = 1",
        [],
        |row| row.get(0),
    )?;
    let platform_set_up: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tenants WHERE parent_id IS NULL)",
        [],
        |row| row.get(0),
    )?;
    Ok(RecordedChain {
        head,
        head_mac: mac.as_deref().and_then(AuditMac::from_slice),
        key: recorded_key(conn)?,
        platform_set_up,
    })
}

/// Appends an entry to the chain inside the caller's (IMMEDIATE) transaction,
/// with its MAC and the head's (computed by the writer connection's key).
fn append(tx: &Transaction<'_>, draft: AuditDraft) -> StoreResult<AuditEntry> {
    let head = read_head(tx)?;
    let entry = draft.seal(head.seq + 1, head.hash);
    let seq = to_i64(entry.seq)?;
    tx.prepare_cached(
        "INSERT INTO audit_log (seq, id, instance_id, tenant_id, at_micros, actor_kind, actor_user, actor_token, actor_tenant, action, record_kind, record_id, before_json, after_json, remote_addr, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        seq,
        entry.id.to_string(),
        entry.instance.to_string(),
        entry.tenant.to_string(),
        entry.at.unix_micros(),
        entry.actor.kind.as_str(),
        entry.actor.user.map(|u| u.to_string()),
        entry.actor.token.map(|t| t.to_string()),
        entry.actor.tenant.map(|t| t.to_string()),
        entry.action.as_str(),
        entry.record_kind,
        entry.record_id,
        entry.before.as_ref().map(JsonText::as_str),
        entry.after.as_ref().map(JsonText::as_str),
        entry.remote_addr,
        entry.prev_hash.as_bytes().as_slice(),
        entry.hash.as_bytes().as_slice(),
    ])?;
    tx.prepare_cached(
        "INSERT INTO audit_macs (seq, mac) VALUES (?1, nigehban_audit_entry_mac(?1, ?2))",
    )?
    .execute(params![seq, entry.hash.as_bytes().as_slice()])?;
    tx.prepare_cached(
        "UPDATE audit_chain_head SET seq = ?1, hash = ?2, mac = nigehban_audit_head_mac(?1, ?2) WHERE singleton = 1",
    )?
    .execute(params![seq, entry.hash.as_bytes().as_slice()])?;
    Ok(entry)
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn page_rows<T>(
    rows: &mut rusqlite::Rows<'_>,
    decode: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(decode(row)?);
    }
    Ok(items)
}

/// The id after which a page starts: the cursor's key, or "" (before every id).
fn after_key(page: &PageRequest, list: &str) -> StoreResult<String> {
    let Some(cursor) = &page.after else {
        return Ok(String::new());
    };
    let key = cursor.decode(list)?;
    uuid::Uuid::parse_str(&key)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| {
            StoreError::BadCursor(format!("{cursor} is not a cursor from this {list} list"))
        })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn instance(&self) -> InstanceId {
        self.inner.instance
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let inner = Arc::clone(&self.inner);
        blocking(move || apply_migrations(&mut lock(&inner.writer), migrations::SQLITE)).await
    }

    fn migrations_applied_at_open(&self) -> usize {
        self.inner.applied_at_open
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn insert_tenant(&self, tenant: &Tenant, ctx: &AuditContext) -> StoreResult<()> {
        let tenant = tenant.clone();
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            if let Some(parent) = tenant.parent
                && get_tenant(tx, parent)?.is_none()
            {
                return Err(StoreError::not_found("tenant", parent));
            }
            let (kind, sector, cii) = kind_columns(&tenant.kind);
            let inserted = tx.execute(
                &format!("INSERT INTO tenants ({TENANT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    tenant.id.to_string(),
                    tenant.instance.to_string(),
                    tenant.parent.map(|p| p.to_string()),
                    tenant.name.as_str(),
                    kind,
                    sector,
                    cii,
                    tenant.active,
                    tenant.created_at.unix_micros(),
                    tenant.updated_at.unix_micros(),
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(if tenant.parent.is_none() {
                        "a root tenant (the national CERT) already exists".into()
                    } else {
                        format!("tenant {} already exists", tenant.id)
                    }));
                }
                other => {
                    other?;
                }
            }
            let draft = change_draft(instance, &ctx, tenant.id, AuditAction::TENANT_CREATE, "tenant", tenant.id.to_string(), None, Some(&tenant))?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    async fn update_tenant(
        &self,
        id: TenantId,
        change: TenantChange,
        ctx: &AuditContext,
    ) -> StoreResult<Tenant> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get_tenant(tx, id)?.ok_or_else(|| StoreError::not_found("tenant", id))?;
            let mut after = before.clone();
            after.updated_at = ctx.at;
            let action = match change {
                TenantChange::Rename(name) => {
                    after.name = name;
                    AuditAction::TENANT_RENAME
                }
                TenantChange::Move(new_parent) => {
                    let path = tenant_path(tx, new_parent)?;
                    if path.is_empty() {
                        return Err(StoreError::not_found("tenant", new_parent));
                    }
                    if path.iter().any(|t| t.id == id) {
                        return Err(StoreError::Cycle {
                            tenant: id.to_string(),
                            new_parent: new_parent.to_string(),
                        });
                    }
                    after.parent = Some(new_parent);
                    AuditAction::TENANT_MOVE
                }
                TenantChange::Deactivate => {
                    after.active = false;
                    AuditAction::TENANT_DEACTIVATE
                }
            };
            tx.execute(
                "UPDATE tenants SET name = ?2, parent_id = ?3, active = ?4, updated_at = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    after.name.as_str(),
                    after.parent.map(|p| p.to_string()),
                    after.active,
                    after.updated_at.unix_micros()
                ],
            )?;
            let draft = change_draft(instance, &ctx, id, action, "tenant", id.to_string(), Some(&before), Some(&after))?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        self.read(move |conn| get_tenant(conn, id)).await
    }

    async fn root_tenant(&self) -> StoreResult<Option<Tenant>> {
        self.read(|conn| {
            let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE parent_id IS NULL");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query([])?;
            rows.next()?.map(tenant_from_row).transpose()
        })
        .await
    }

    async fn tenant_path(&self, id: TenantId) -> StoreResult<Vec<Tenant>> {
        self.read(move |conn| tenant_path(conn, id)).await
    }

    async fn list_tenants(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Tenant>> {
        let after = after_key(page, "tenants")?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT {TENANT_COLUMNS} FROM tenants WHERE id IN (SELECT id FROM subtree) AND id > ?2 ORDER BY id LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), after, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, tenant_from_row)?;
            Ok(Page::from_rows(items, limit, |t| t.id.to_string(), "tenants"))
        })
        .await
    }

    async fn insert_user(
        &self,
        user: &User,
        password: &PasswordHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let user = user.clone();
        let password = password.clone();
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            if get_tenant(tx, user.tenant)?.is_none() {
                return Err(StoreError::not_found("tenant", user.tenant));
            }
            let inserted = tx.execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    user.id.to_string(),
                    user.instance.to_string(),
                    user.tenant.to_string(),
                    user.username.as_str(),
                    user.display_name.as_str(),
                    user.role.as_str(),
                    user.active,
                    user.must_change_password,
                    i64::from(user.failed_logins),
                    user.created_at.unix_micros(),
                    user.updated_at.unix_micros(),
                    password.as_phc(),
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!("the user name {} is already taken", user.username)));
                }
                other => {
                    other?;
                }
            }
            let draft = change_draft(instance, &ctx, user.tenant, AuditAction::USER_CREATE, "user", user.id.to_string(), None, Some(&user))?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    async fn update_user(
        &self,
        id: UserId,
        change: UserChange,
        ctx: &AuditContext,
    ) -> StoreResult<User> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get_user(tx, id)?.ok_or_else(|| StoreError::not_found("user", id))?;
            let mut after = before.clone();
            after.updated_at = ctx.at;
            let mut end_sessions = None;
            let mut revoke_tokens = false;
            let action = match change {
                UserChange::SetRole(role) => {
                    after.role = role;
                    AuditAction::USER_SET_ROLE
                }
                UserChange::Deactivate => {
                    after.active = false;
                    end_sessions = Some(None);
                    revoke_tokens = true;
                    AuditAction::USER_DEACTIVATE
                }
                UserChange::SetPassword { hash, must_change, keep_session, revoke_tokens: revoke } => {
                    revoke_tokens = revoke;
                    after.must_change_password = must_change;
                    after.failed_logins = 0;
                    tx.execute(
                        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                        params![id.to_string(), hash.as_phc()],
                    )?;
                    end_sessions = Some(keep_session);
                    AuditAction::USER_SET_PASSWORD
                }
            };
            tx.execute(
                "UPDATE users SET role = ?2, active = ?3, must_change_password = ?4, failed_logins = ?5, updated_at = ?6 WHERE id = ?1",
                params![
                    id.to_string(),
                    after.role.as_str(),
                    after.active,
                    after.must_change_password,
                    i64::from(after.failed_logins),
                    after.updated_at.unix_micros(),
                ],
            )?;
            if let Some(keep) = end_sessions {
                tx.execute(
                    "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL AND id IS NOT ?3",
                    params![id.to_string(), ctx.at.unix_micros(), keep.map(|k| k.to_string())],
                )?;
            }
            let draft = change_draft(instance, &ctx, after.tenant, action, "user", id.to_string(), Some(&before), Some(&after))?;
            append(tx, draft)?;
            if revoke_tokens {
                revoke_owned_tokens(tx, instance, &ctx, id)?;
            }
            Ok(after)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.read(move |conn| get_user(conn, id)).await
    }

    async fn user_credentials(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(User, PasswordHash)>> {
        let username = username.clone();
        self.read(move |conn| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![username.as_str()])?;
            match rows.next()? {
                None => Ok(None),
                Some(row) => {
                    let user = user_from_row(row)?;
                    let hash: String = row.get(11)?;
                    Ok(Some((user, PasswordHash::from_phc(hash))))
                }
            }
        })
        .await
    }

    async fn record_login_failure(&self, id: UserId, ctx: &AuditContext) -> StoreResult<User> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get_user(tx, id)?.ok_or_else(|| StoreError::not_found("user", id))?;
            let mut after = before.clone();
            after.failed_logins = before.failed_logins.saturating_add(1);
            tx.execute(
                "UPDATE users SET failed_logins = ?2 WHERE id = ?1",
                params![id.to_string(), i64::from(after.failed_logins)],
            )?;
            let draft = change_draft(
                instance,
                &ctx,
                after.tenant,
                AuditAction::USER_LOGIN_FAILED,
                "user",
                id.to_string(),
                Some(&before),
                Some(&after),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    async fn list_users(&self, subtree: TenantId, page: &PageRequest) -> StoreResult<Page<User>> {
        let after = after_key(page, "users")?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT {USER_COLUMNS} FROM users WHERE tenant_id IN (SELECT id FROM subtree) AND id > ?2 ORDER BY id LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), after, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, user_from_row)?;
            Ok(Page::from_rows(items, limit, |u| u.id.to_string(), "users"))
        })
        .await
    }

    async fn insert_token(
        &self,
        token: &ApiToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let token = token.clone();
        let secret = *secret;
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            if get_tenant(tx, token.tenant)?.is_none() {
                return Err(StoreError::not_found("tenant", token.tenant));
            }
            tx.execute(
                &format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    token.id.to_string(),
                    token.instance.to_string(),
                    token.tenant.to_string(),
                    token.role.as_str(),
                    token.owner.map(|o| o.to_string()),
                    token.name.as_str(),
                    token.created_at.unix_micros(),
                    token.expires_at.map(Timestamp::unix_micros),
                    token.last_used_at.map(Timestamp::unix_micros),
                    token.revoked_at.map(Timestamp::unix_micros),
                    token.sensor,
                    secret.as_bytes().as_slice(),
                ],
            )?;
            let draft = change_draft(instance, &ctx, token.tenant, AuditAction::TOKEN_CREATE, "token", token.id.to_string(), None, Some(&token))?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    async fn token(&self, id: TokenId) -> StoreResult<Option<ApiToken>> {
        self.read(move |conn| get_token(conn, id)).await
    }

    async fn token_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<ApiToken>> {
        let secret = *secret;
        self.read(move |conn| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![secret.as_bytes().as_slice()])?;
            rows.next()?.map(token_from_row).transpose()
        })
        .await
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id.to_string(), at.unix_micros()],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_token(&self, id: TokenId, ctx: &AuditContext) -> StoreResult<ApiToken> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get_token(tx, id)?.ok_or_else(|| StoreError::not_found("token", id))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let mut after = before.clone();
            after.revoked_at = Some(ctx.at);
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
                params![id.to_string(), ctx.at.unix_micros()],
            )?;
            let draft = change_draft(
                instance,
                &ctx,
                after.tenant,
                AuditAction::TOKEN_REVOKE,
                "token",
                id.to_string(),
                Some(&before),
                Some(&after),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    async fn list_tokens(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiToken>> {
        let after = after_key(page, "tokens")?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id IN (SELECT id FROM subtree) AND id > ?2 ORDER BY id LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), after, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, token_from_row)?;
            Ok(Page::from_rows(items, limit, |t| t.id.to_string(), "tokens"))
        })
        .await
    }

    async fn insert_session(
        &self,
        session: &Session,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let session = session.clone();
        let secret = *secret;
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let user = get_user(tx, session.user)?.ok_or_else(|| StoreError::not_found("user", session.user))?;
            tx.execute(
                &format!("INSERT INTO sessions ({SESSION_COLUMNS}, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    session.id.to_string(),
                    session.instance.to_string(),
                    session.user.to_string(),
                    session.tenant.to_string(),
                    session.csrf_secret,
                    session.created_at.unix_micros(),
                    session.expires_at.unix_micros(),
                    session.last_seen_at.unix_micros(),
                    session.revoked_at.map(Timestamp::unix_micros),
                    session.remote_addr,
                    secret.as_bytes().as_slice(),
                ],
            )?;
            if user.failed_logins != 0 {
                tx.execute(
                    "UPDATE users SET failed_logins = 0 WHERE id = ?1",
                    params![user.id.to_string()],
                )?;
            }
            let draft = change_draft(instance, &ctx, session.tenant, AuditAction::SESSION_CREATE, "session", session.id.to_string(), None, Some(&session))?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.read(move |conn| get_session(conn, id)).await
    }

    async fn session_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<Session>> {
        let secret = *secret;
        self.read(move |conn| {
            let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE secret_hash = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![secret.as_bytes().as_slice()])?;
            rows.next()?.map(session_from_row).transpose()
        })
        .await
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id = ?1",
                params![
                    id.to_string(),
                    last_seen.unix_micros(),
                    expires_at.unix_micros()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_session(&self, id: SessionId, ctx: &AuditContext) -> StoreResult<Session> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before =
                get_session(tx, id)?.ok_or_else(|| StoreError::not_found("session", id))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let mut after = before.clone();
            after.revoked_at = Some(ctx.at);
            tx.execute(
                "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1",
                params![id.to_string(), ctx.at.unix_micros()],
            )?;
            let draft = change_draft(
                instance,
                &ctx,
                after.tenant,
                AuditAction::SESSION_REVOKE,
                "session",
                id.to_string(),
                Some(&before),
                Some(&after),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |tx, _| {
            let deleted = tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?1 OR revoked_at IS NOT NULL",
                params![now.unix_micros()],
            )?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn append_audit(&self, draft: AuditDraft) -> StoreResult<AuditEntry> {
        self.write(move |tx, _| append(tx, draft)).await
    }

    async fn list_audit(
        &self,
        query: AuditQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let after: Option<i64> = page
            .after
            .as_ref()
            .map(|cursor| {
                cursor
                    .decode("audit")
                    .and_then(|key| parse_text("audit cursor", &key))
            })
            .transpose()?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let (order, compare, start) = if query.newest_first {
                ("DESC", "<", after.unwrap_or(i64::MAX))
            } else {
                ("ASC", ">", after.unwrap_or(0))
            };
            let scope = if query.subtree.is_some() {
                "tenant_id IN (SELECT id FROM subtree) AND"
            } else {
                "?1 IS NULL AND"
            };
            let sql = format!(
                "{SUBTREE} SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {scope} seq {compare} ?2 ORDER BY seq {order} LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                query.subtree.map(|s| s.to_string()),
                start,
                i64::from(limit) + 1
            ])?;
            let items = page_rows(&mut rows, audit_from_row)?;
            Ok(Page::from_rows(items, limit, |e| e.seq.to_string(), "audit"))
        })
        .await
    }

    async fn audit_head(&self) -> StoreResult<ChainHead> {
        self.read(|conn| read_head(conn)).await
    }

    fn audit_key_fingerprint(&self) -> KeyFingerprint {
        self.inner.key.fingerprint()
    }

    async fn verify_audit_against(&self, anchors: &[ChainHead]) -> StoreResult<AuditVerification> {
        let key = self.inner.key.clone();
        let anchors = anchors.to_vec();
        self.read(move |conn| {
            // One read transaction: what is recorded and the entries come from the same snapshot.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let mut verifier = ChainVerifier::new(&key, read_recorded_chain(&tx)?, &anchors);
            {
                let sql = format!(
                    "SELECT {}, m.mac FROM audit_log a LEFT JOIN audit_macs m ON m.seq = a.seq ORDER BY a.seq",
                    prefixed("a", AUDIT_COLUMNS)
                );
                let mut stmt = tx.prepare(&sql)?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    match audit_from_row(row) {
                        Ok(entry) => {
                            let mac: Option<Vec<u8>> = row.get(17)?;
                            // A MAC of the wrong length verifies as a wrong MAC.
                            let mac = mac.map(|bytes| {
                                AuditMac::from_slice(&bytes).unwrap_or(AuditMac::from_bytes([0; 32]))
                            });
                            if verifier.check(&entry, mac.as_ref()).is_err() {
                                break;
                            }
                        }
                        Err(_) => {
                            let seq = to_seq(row.get(0)?)?;
                            let id = row
                                .get::<_, String>(1)
                                .ok()
                                .and_then(|text| text.parse::<AuditEntryId>().ok());
                            verifier.unreadable(seq, id);
                            break;
                        }
                    }
                }
            }
            tx.finish()?;
            Ok(verifier.finish())
        })
        .await
    }

    async fn backup_to(&self, dest: &Path, ctx: &AuditContext) -> StoreResult<BackupReport> {
        if dest.exists() {
            return Err(StoreError::Conflict(format!(
                "backup file {} already exists; choose a new name",
                dest.display()
            )));
        }
        let root = self.root_tenant().await?.ok_or_else(|| {
            StoreError::Conflict(
                "nothing to back up: the platform has not been bootstrapped".into(),
            )
        })?;
        let ctx = ctx.clone();
        let dest_text = dest.display().to_string();
        // Audit first, so the backup contains the record of its own making.
        self.write(move |tx, instance| {
            let draft = change_draft::<()>(
                instance,
                &ctx,
                root.id,
                AuditAction::BACKUP_CREATE,
                "backup",
                dest_text,
                None,
                None,
            )?;
            append(tx, draft)?;
            Ok(())
        })
        .await?;
        let dest = dest.to_path_buf();
        self.read(move |conn| {
            // VACUUM INTO reads in one transaction: a consistent snapshot, while the writer goes on.
            let dest_text = dest
                .to_str()
                .ok_or_else(|| StoreError::Conflict(format!("backup path {} is not UTF-8", dest.display())))?;
            conn.execute("VACUUM INTO ?1", params![dest_text])?;
            let backup = Connection::open_with_flags(&dest, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let audit_head = read_head(&backup)?;
            let bytes = std::fs::metadata(&dest)
                .map_err(|source| StoreError::Io {
                    context: format!("cannot read backup file {}", dest.display()),
                    source,
                })?
                .len();
            tracing::info!(path = %dest.display(), bytes, audit_seq = audit_head.seq, "sqlite backup written");
            Ok(BackupReport {
                path: dest,
                bytes,
                audit_head,
            })
        })
        .await
    }

    async fn insert_sensor(
        &self,
        sensor: &Sensor,
        token: &SensorToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        self.sensors_insert(sensor, token, secret, ctx).await
    }

    async fn update_sensor(
        &self,
        id: SensorId,
        change: SensorChange,
        ctx: &AuditContext,
    ) -> StoreResult<Sensor> {
        self.sensors_update(id, change, ctx).await
    }

    async fn sensor(&self, id: SensorId) -> StoreResult<Option<Sensor>> {
        self.sensors_get(id).await
    }

    async fn list_sensors(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        self.sensors_list(subtree, page).await
    }

    async fn list_active_sensors(&self, page: &PageRequest) -> StoreResult<Page<Sensor>> {
        self.sensors_list_active(page).await
    }

    async fn sensors_by_address(
        &self,
        address: IpAddr,
    ) -> StoreResult<Vec<(Sensor, SourceNetwork)>> {
        self.sensors_at_address(address).await
    }

    async fn sensor_by_fingerprint(
        &self,
        fingerprint: &CertificateFingerprint,
    ) -> StoreResult<Option<Sensor>> {
        self.sensors_by_fingerprint(fingerprint).await
    }

    async fn sensor_by_subject_cn(
        &self,
        subject_cn: &SubjectCommonName,
    ) -> StoreResult<Option<Sensor>> {
        self.sensors_by_subject_cn(subject_cn).await
    }

    async fn rotate_sensor_token(
        &self,
        token: &SensorToken,
        secret: &SecretHash,
        old_until: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<SensorToken>> {
        self.sensors_rotate_token(token, secret, old_until, ctx)
            .await
    }

    async fn revoke_sensor_token(
        &self,
        id: SensorTokenId,
        ctx: &AuditContext,
    ) -> StoreResult<SensorToken> {
        self.sensors_revoke_token(id, ctx).await
    }

    async fn sensor_token(&self, id: SensorTokenId) -> StoreResult<Option<SensorToken>> {
        self.sensors_token(id).await
    }

    async fn sensor_token_by_secret(
        &self,
        secret: &SecretHash,
    ) -> StoreResult<Option<SensorToken>> {
        self.sensors_token_by_secret(secret).await
    }

    async fn touch_sensor_token(
        &self,
        id: SensorTokenId,
        at: Timestamp,
        from: Option<String>,
    ) -> StoreResult<()> {
        self.sensors_touch_token(id, at, from).await
    }

    async fn list_sensor_tokens(&self, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
        self.sensors_tokens(sensor).await
    }

    async fn insert_sensor_health(&self, event: &SensorHealthEvent) -> StoreResult<()> {
        self.sensors_insert_health(event).await
    }

    async fn list_sensor_health(
        &self,
        scope: SensorHealthScope,
        page: &PageRequest,
    ) -> StoreResult<Page<SensorHealthEvent>> {
        self.sensors_health(scope, page).await
    }

    // ---- alerts ----

    async fn import_rules(
        &self,
        import: &crate::RuleImport,
        ctx: &AuditContext,
    ) -> StoreResult<crate::RulesImported> {
        self.rules_import(import, ctx).await
    }

    async fn set_rule_enabled(
        &self,
        id: &str,
        enabled: bool,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<nigehban_model::RuleDocument> {
        self.rules_set_enabled(id, enabled, tenant, ctx).await
    }

    async fn rule(&self, id: &str) -> StoreResult<Option<nigehban_model::RuleDocument>> {
        self.rules_get(id).await
    }

    async fn list_rules(
        &self,
        query: &crate::RuleQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<nigehban_model::RuleDocument>> {
        self.rules_list(query, page).await
    }

    async fn set_rule_override(
        &self,
        change: &nigehban_model::RuleOverride,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        self.rules_set_override(change, ctx).await
    }

    async fn clear_rule_override(
        &self,
        rule_id: &str,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<Option<nigehban_model::RuleOverride>> {
        self.rules_clear_override(rule_id, tenant, ctx).await
    }

    async fn rule_overrides(
        &self,
        rule_id: Option<&str>,
    ) -> StoreResult<Vec<nigehban_model::RuleOverride>> {
        self.rules_overrides(rule_id).await
    }

    async fn insert_rule_filter(
        &self,
        filter: &nigehban_model::RuleFilter,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        self.rules_insert_filter(filter, ctx).await
    }

    async fn delete_rule_filter(
        &self,
        id: nigehban_model::RuleFilterId,
        ctx: &AuditContext,
    ) -> StoreResult<nigehban_model::RuleFilter> {
        self.rules_delete_filter(id, ctx).await
    }

    async fn rule_filter(
        &self,
        id: nigehban_model::RuleFilterId,
    ) -> StoreResult<Option<nigehban_model::RuleFilter>> {
        self.rules_filter(id).await
    }

    async fn list_rule_filters(
        &self,
        subtree: Option<TenantId>,
    ) -> StoreResult<Vec<nigehban_model::RuleFilter>> {
        self.rules_filters(subtree).await
    }

    async fn rules_revision(&self) -> StoreResult<u64> {
        self.rules_revision_now().await
    }

    async fn put_duty_record(
        &self,
        record: &DutyRecord,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<DutyRecord> {
        self.duty_put(record, expected_version, audit).await
    }

    async fn delete_duty_record(
        &self,
        id: DutyRecordId,
        ctx: &AuditContext,
    ) -> StoreResult<DutyRecord> {
        self.duty_delete(id, ctx).await
    }

    async fn duty_record(&self, id: DutyRecordId) -> StoreResult<Option<DutyRecord>> {
        self.duty_get(id).await
    }

    async fn duty_record_by_key(&self, key: &str) -> StoreResult<Option<DutyRecord>> {
        self.duty_by_key(key).await
    }

    async fn duty_record_at(
        &self,
        id: DutyRecordId,
        at: Timestamp,
    ) -> StoreResult<Option<DutyRecord>> {
        let versions = self.duty_versions(id).await?;
        Ok(crate::duty_version_at(versions, at))
    }

    async fn duty_record_versions(
        &self,
        id: DutyRecordId,
    ) -> StoreResult<Vec<(Timestamp, Option<DutyRecord>)>> {
        let versions = self.duty_versions(id).await?;
        Ok(versions
            .into_iter()
            .map(|(at, deleted, record)| (at, (!deleted).then_some(record)))
            .collect())
    }

    async fn list_duty_records(&self, query: &DutyQuery) -> StoreResult<Vec<DutyRecord>> {
        self.duty_list(query).await
    }

    async fn put_indicator(
        &self,
        indicator: &Indicator,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<Indicator> {
        self.indicator_put(indicator, expected_version, audit).await
    }

    async fn delete_indicator(
        &self,
        id: IndicatorId,
        ctx: &AuditContext,
    ) -> StoreResult<Indicator> {
        self.indicator_delete(id, ctx).await
    }

    async fn indicator(&self, id: IndicatorId) -> StoreResult<Option<Indicator>> {
        self.indicator_get(id).await
    }

    async fn indicator_by_value(
        &self,
        tenant: TenantId,
        value: &IndicatorValue,
    ) -> StoreResult<Option<Indicator>> {
        self.indicator_by_value_get(tenant, value).await
    }

    async fn list_indicators(&self, query: &IndicatorQuery) -> StoreResult<Vec<Indicator>> {
        self.indicator_list(query).await
    }

    async fn record_sighting(&self, sighting: &Sighting) -> StoreResult<SightingRecorded> {
        self.sighting_record(sighting).await
    }

    async fn sightings(&self, indicator: IndicatorId) -> StoreResult<Vec<Sighting>> {
        self.sightings_of(indicator).await
    }

    async fn intel_revision(&self) -> StoreResult<u64> {
        self.intel_revision_now().await
    }

    async fn put_stix_objects(
        &self,
        objects: &[crate::StixObjectRecord],
        audit: Option<&AuditContext>,
    ) -> StoreResult<Vec<bool>> {
        self.stix_put(objects, audit).await
    }

    async fn list_stix_objects(
        &self,
        query: &crate::StixObjectQuery,
    ) -> StoreResult<Vec<crate::StixObjectRecord>> {
        self.stix_list(query).await
    }

    async fn put_taxii_status(&self, status: &crate::TaxiiStatusRecord) -> StoreResult<()> {
        self.taxii_status_put(status).await
    }

    async fn taxii_status(&self, id: &str) -> StoreResult<Option<crate::TaxiiStatusRecord>> {
        self.taxii_status_get(id).await
    }

    async fn taxii_pull_cursor(&self, subscription: &str) -> StoreResult<Option<String>> {
        self.taxii_cursor_get(subscription).await
    }

    async fn set_taxii_pull_cursor(
        &self,
        subscription: &str,
        added_last: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.taxii_cursor_set(subscription, added_last, at).await
    }

    async fn raise_alerts(&self, raise: &AlertRaise) -> StoreResult<Vec<SignalFate>> {
        self.alerts_raise(raise).await
    }

    async fn alert(&self, id: AlertId) -> StoreResult<Option<Alert>> {
        self.alerts_get(id).await
    }

    async fn alerts_by_id(&self, ids: &[AlertId]) -> StoreResult<Vec<Alert>> {
        SqliteStore::alerts_by_id(self, ids).await
    }

    async fn list_alerts(
        &self,
        query: &AlertQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<Alert>> {
        self.alerts_list(query, page).await
    }

    async fn alert_counts_per_hour(
        &self,
        under: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<AlertHourCount>> {
        self.alerts_counts_per_hour(under, from, to).await
    }

    async fn triage_alert(
        &self,
        id: AlertId,
        change: &AlertTriage,
        ctx: &AuditContext,
    ) -> StoreResult<Alert> {
        self.alerts_triage(id, change, ctx).await
    }

    async fn insert_alert_comment(
        &self,
        comment: &AlertComment,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        self.alerts_comment(comment, ctx).await
    }

    async fn alert_comments(&self, alert: AlertId) -> StoreResult<Vec<AlertComment>> {
        self.alerts_comments(alert).await
    }

    async fn alert_changes(&self, after: u64, limit: u32) -> StoreResult<Vec<AlertChange>> {
        self.alerts_changes(after, limit).await
    }

    async fn alert_changes_head(&self) -> StoreResult<u64> {
        self.alerts_changes_head().await
    }

    async fn prune_alert_records(
        &self,
        deliveries_before: Timestamp,
        changes_before: Timestamp,
    ) -> StoreResult<AlertPruning> {
        self.alerts_prune(deliveries_before, changes_before).await
    }

    // ---- incidents and coordination (sqlite/incidents.rs) ----

    async fn write_incidents(
        &self,
        write: IncidentWrite,
        ctx: &AuditContext,
    ) -> StoreResult<IncidentWritten> {
        self.incidents_write(write, ctx).await
    }

    async fn similar_incidents(
        &self,
        of: IncidentId,
        touching: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<SimilarIncident>> {
        self.incidents_similar(of, touching, limit).await
    }

    async fn incident(&self, id: IncidentId) -> StoreResult<Option<Incident>> {
        self.incidents_get(id).await
    }

    async fn incident_by_readable_id(&self, id: &ReadableId) -> StoreResult<Option<Incident>> {
        self.incidents_by_readable_id(id).await
    }

    async fn list_incidents(
        &self,
        scope: IncidentScope,
        page: &PageRequest,
    ) -> StoreResult<Page<Incident>> {
        self.incidents_list(scope, page).await
    }

    async fn incident_report(&self, id: IncidentReportId) -> StoreResult<Option<IncidentReport>> {
        self.incidents_report(id).await
    }

    async fn list_incident_reports(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentReport>> {
        self.incidents_reports(subtree, page).await
    }

    async fn incident_timeline(&self, incident: IncidentId) -> StoreResult<Vec<TimelineEntry>> {
        self.incidents_timeline(incident).await
    }

    async fn evidence(&self, id: EvidenceId) -> StoreResult<Option<Evidence>> {
        self.incidents_evidence(id).await
    }

    async fn list_evidence(&self, of: EvidenceOf) -> StoreResult<Vec<Evidence>> {
        self.incidents_list_evidence(of).await
    }

    async fn put_evidence_content(&self, content: Vec<u8>) -> StoreResult<Sha256Digest> {
        self.incidents_put_content(content).await
    }

    async fn evidence_content(&self, digest: Sha256Digest) -> StoreResult<Option<Vec<u8>>> {
        self.incidents_content(digest).await
    }

    async fn insert_incident_notifications(
        &self,
        notifications: Vec<IncidentNotification>,
    ) -> StoreResult<Vec<IncidentNotification>> {
        self.incidents_insert_notifications(notifications).await
    }

    async fn list_incident_notifications(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentNotification>> {
        self.incidents_notifications(subtree, page).await
    }

    async fn audit_of_record(
        &self,
        record_kind: &str,
        record_id: &str,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.incidents_audit_of(record_kind, record_id).await
    }
}

/// Restores a backup file made by [`Store::backup_to`] into `data_dir`.
///
/// The server must not be running on that data directory. The backup is
/// checked first (SQLite integrity check, a Nigehban schema); an existing
/// database is only replaced when `overwrite` is set. The copy is written
/// beside the target and renamed into place, so a failed restore leaves the
/// old database untouched.
pub async fn restore_sqlite_backup(
    backup: &Path,
    data_dir: &Path,
    overwrite: bool,
) -> StoreResult<()> {
    let backup = backup.to_path_buf();
    let data_dir = data_dir.to_path_buf();
    blocking(move || {
        let io = |context: String| move |source| StoreError::Io { context, source };
        if !backup.is_file() {
            return Err(StoreError::not_found("backup file", backup.display()));
        }
        {
            let conn = Connection::open_with_flags(&backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
            if check != "ok" {
                return Err(StoreError::corrupt("backup file", format!("{}: {check}", backup.display())));
            }
            let has_schema: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
                [],
                |row| row.get(0),
            )?;
            if !has_schema {
                return Err(StoreError::corrupt("backup file", format!("{} is not a Nigehban database", backup.display())));
            }
        }
        std::fs::create_dir_all(&data_dir).map_err(io(format!("cannot create data directory {}", data_dir.display())))?;
        let target = data_dir.join(DATABASE_FILE);
        if target.exists() && !overwrite {
            return Err(StoreError::Conflict(format!(
                "{} already holds a database; restore into an empty data directory or allow overwriting",
                data_dir.display()
            )));
        }
        let staging = data_dir.join(format!("{DATABASE_FILE}.restoring"));
        std::fs::copy(&backup, &staging).map_err(io(format!("cannot copy {} to {}", backup.display(), staging.display())))?;
        std::fs::File::open(&staging)
            .and_then(|file| file.sync_all())
            .map_err(io(format!("cannot sync {}", staging.display())))?;
        for suffix in ["-wal", "-shm"] {
            let side = data_dir.join(format!("{DATABASE_FILE}{suffix}"));
            if side.exists() {
                std::fs::remove_file(&side).map_err(io(format!("cannot remove {}", side.display())))?;
            }
        }
        std::fs::rename(&staging, &target).map_err(io(format!("cannot move {} into place", staging.display())))?;
        tracing::info!(backup = %backup.display(), data_dir = %data_dir.display(), "sqlite backup restored");
        Ok(())
    })
    .await
}
