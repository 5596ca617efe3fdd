//! The scale-out backend: PostgreSQL through a connection pool.
//!
//! Every change runs in one transaction that first locks the audit chain
//! head (`SELECT ... FOR UPDATE`), so changes — and the audit entries they
//! write — are serialised across every process sharing the database, and the
//! chain stays linear. Reads run without that lock.
//!
//! Backups are `pg_dump`'s job: `pg_dump --format=custom --file=nigehban.dump
//! URL`, restored with `pg_restore --dbname=URL nigehban.dump`; run `nigehban
//! audit verify` after a restore.
//!
//! Connections are made without TLS; run PostgreSQL on the same host or a
//! private network until TLS support is added.

mod alerts;
mod duty;
mod incidents;
mod intel;
mod rules;
mod sensors;
mod stix;
mod taxii;

use std::net::IpAddr;
use std::path::Path;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction,
};
use nigehban_model::{
    Actor, ActorKind, Alert, AlertChange, AlertComment, AlertId, AlertTriage, ApiToken,
    AuditAction, AuditDraft, AuditEntry, AuditEntryId, AuditKey, AuditMac, AuditVerification,
    CertificateFingerprint, ChainHash, ChainHead, ChainVerifier, InstanceId, JsonText,
    KeyFingerprint, PasswordHash, RecordedChain, SecretHash, Sensor, SensorHealthEvent, SensorId,
    SensorToken, SensorTokenId, Session, SessionId, SignalFate, SourceNetwork, SubjectCommonName,
    Tenant, TenantId, TenantName, Timestamp, TokenId, TokenName, User, UserId, Username,
};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use crate::DutyQuery;
use crate::audit_key::{AuditKeyFile, KeyDecision};
use crate::migrations::{self, CREATE_MIGRATIONS_TABLE};
use crate::rows::{
    change_draft, kind_columns, kind_from_columns, parse_role, to_i64, to_seq, to_u32,
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

/// Advisory lock key held while migrating, so concurrent starts migrate once.
const MIGRATION_LOCK: i64 = 0x6e69_6765_6862_616e; // "nigehban"

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    instance: InstanceId,
    applied_at_open: usize,
    key: AuditKey,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("instance", &self.instance)
            .field("audit_key", &self.key)
            .finish_non_exhaustive()
    }
}

fn ts(at: Timestamp) -> OffsetDateTime {
    at.to_datetime()
}

fn from_ts(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_datetime(at)
}

fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn parse_url(url: &str) -> StoreResult<tokio_postgres::Config> {
    url.parse().map_err(|e| StoreError::Backend {
        backend: "postgresql",
        source: Box::new(e),
    })
}

fn pool_for(config: tokio_postgres::Config, pool_size: usize) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(pool_size.max(1))
        .build()
        .map_err(|e| StoreError::Backend {
            backend: "postgresql",
            source: Box::new(e),
        })
}

impl PostgresStore {
    /// Connects to the database at `url` with a pool of at most `pool_size`
    /// connections, applies pending migrations, and takes the audit key from
    /// `key_file` (created if the log has no key yet; see [`AuditKeyFile`]).
    pub async fn connect(
        url: &str,
        pool_size: usize,
        key_file: &AuditKeyFile,
    ) -> StoreResult<Self> {
        Self::connect_with(parse_url(url)?, pool_size, key_file).await
    }

    /// Like [`PostgresStore::connect`], with a parsed configuration.
    pub async fn connect_with(
        config: tokio_postgres::Config,
        pool_size: usize,
        key_file: &AuditKeyFile,
    ) -> StoreResult<Self> {
        let pool = pool_for(config, pool_size)?;
        let client = pool.get().await?;
        let applied_at_open = apply_migrations(&client).await?;
        let instance = instance_id(&client).await?;
        warn_if_owner(&client).await;
        let key = match key_file.decide(recorded_key(&client).await?)? {
            KeyDecision::Use(key) => key,
            KeyDecision::Install(key) => {
                let mut client = client;
                install_key(&mut client, &key, instance).await?;
                key
            }
        };
        tracing::info!(%instance, audit_key = %key.fingerprint(), "postgresql store connected");
        Ok(Self {
            pool,
            instance,
            applied_at_open,
            key,
        })
    }

    /// Connects without changing the database: every transaction is
    /// read-only (`default_transaction_read_only`), no migration runs (a
    /// database of another schema version is refused), and the audit log is
    /// verified with `key`.
    pub async fn connect_read_only(url: &str, key: AuditKey) -> StoreResult<Self> {
        Self::connect_read_only_with(parse_url(url)?, key).await
    }

    /// Like [`PostgresStore::connect_read_only`], with a parsed configuration.
    pub async fn connect_read_only_with(
        mut config: tokio_postgres::Config,
        key: AuditKey,
    ) -> StoreResult<Self> {
        let database = format!(
            "the PostgreSQL database {}",
            config.get_dbname().unwrap_or("(default)")
        );
        config.options("-c default_transaction_read_only=on");
        let pool = pool_for(config, 2)?;
        let client = pool.get().await?;
        let known = migrations::POSTGRES.last().map_or(0, |m| m.version);
        match schema_version(&client).await? {
            None => return Err(StoreError::NoDatabase(database.clone())),
            Some(found) if found < known => return Err(StoreError::SchemaTooOld { found, known }),
            Some(found) if found > known => return Err(StoreError::SchemaTooNew { found, known }),
            Some(_) => {}
        }
        // Numbers may have gaps: the schema is current only when every migration is recorded.
        let recorded: Vec<i64> = recorded_versions(&client).await?;
        if let Some(missing) = migrations::pending(migrations::POSTGRES, &recorded)?.first() {
            return Err(StoreError::SchemaTooOld {
                found: missing.version - 1,
                known,
            });
        }
        let row = client
            .query_opt("SELECT instance_id FROM instance WHERE singleton = 1", &[])
            .await?
            .ok_or_else(|| StoreError::NoDatabase(database.clone()))?;
        let instance = InstanceId::from_uuid(row.try_get(0)?);
        drop(client);
        tracing::info!(%instance, "postgresql store connected read-only");
        Ok(Self {
            pool,
            instance,
            applied_at_open: 0,
            key,
        })
    }

    async fn client(&self) -> StoreResult<Object> {
        Ok(self.pool.get().await?)
    }

    /// Appends an entry after `head` (locked by [`lock_head`] in the same
    /// transaction), with its MAC and the new head's.
    pub(crate) async fn append(
        &self,
        tx: &Transaction<'_>,
        head: ChainHead,
        draft: AuditDraft,
    ) -> StoreResult<AuditEntry> {
        append(tx, &self.key, head, draft).await
    }

    /// Revokes every usable API token the user owns, each audited as
    /// `token.revoke` after `head` (their credentials end with the password
    /// or the account).
    async fn revoke_owned_tokens(
        &self,
        tx: &Transaction<'_>,
        mut head: ChainHead,
        ctx: &AuditContext,
        owner: UserId,
    ) -> StoreResult<()> {
        let rows = tx
            .query(
                "SELECT id FROM api_tokens WHERE owner_id = $1 AND revoked_at IS NULL ORDER BY id",
                &[&owner.as_uuid()],
            )
            .await?;
        for row in rows {
            let id = TokenId::from_uuid(row.try_get(0)?);
            let before = get_token(tx, id)
                .await?
                .ok_or_else(|| StoreError::not_found("token", id))?;
            let mut after = before.clone();
            after.revoked_at = Some(ctx.at);
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1",
                &[&id.as_uuid(), &ts(ctx.at)],
            )
            .await?;
            let draft = change_draft(
                self.instance,
                ctx,
                after.tenant,
                AuditAction::TOKEN_REVOKE,
                "token",
                id.to_string(),
                Some(&before),
                Some(&after),
            )?;
            head = self.append(tx, head, draft).await?.head();
        }
        Ok(())
    }

    /// Runs raw SQL outside any audit. For tests that play an attacker with
    /// direct database access; only built with the `test-support` feature,
    /// which only tests enable.
    #[cfg(feature = "test-support")]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> StoreResult<()> {
        self.client().await?.batch_execute(sql).await?;
        Ok(())
    }
}

/// Appends an entry after `head`, with its MAC and the new head's.
async fn append(
    tx: &Transaction<'_>,
    key: &AuditKey,
    head: ChainHead,
    draft: AuditDraft,
) -> StoreResult<AuditEntry> {
    let entry = draft.seal(head.seq + 1, head.hash);
    let seq = to_i64(entry.seq)?;
    tx.execute(
        "INSERT INTO audit_log (seq, id, instance_id, tenant_id, at_micros, actor_kind, actor_user, actor_token, actor_tenant, action, record_kind, record_id, before_json, after_json, remote_addr, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        &[
            &seq,
            &entry.id.as_uuid(),
            &entry.instance.as_uuid(),
            &entry.tenant.as_uuid(),
            &entry.at.unix_micros(),
            &entry.actor.kind.as_str(),
            &entry.actor.user.map(|u| u.as_uuid()),
            &entry.actor.token.map(|t| t.as_uuid()),
            &entry.actor.tenant.map(|t| t.as_uuid()),
            &entry.action.as_str(),
            &entry.record_kind,
            &entry.record_id,
            &entry.before.as_ref().map(JsonText::as_str),
            &entry.after.as_ref().map(JsonText::as_str),
            &entry.remote_addr,
            &entry.prev_hash.as_bytes().as_slice(),
            &entry.hash.as_bytes().as_slice(),
        ],
    )
    .await?;
    let (entry_mac, head_mac) = macs_of(key, &entry);
    tx.execute(
        "INSERT INTO audit_macs (seq, mac) VALUES ($1, $2)",
        &[&seq, &entry_mac.as_bytes().as_slice()],
    )
    .await?;
    tx.execute(
        "UPDATE audit_chain_head SET seq = $1, hash = $2, mac = $3 WHERE singleton = 1",
        &[
            &seq,
            &entry.hash.as_bytes().as_slice(),
            &head_mac.as_bytes().as_slice(),
        ],
    )
    .await?;
    Ok(entry)
}

/// The key fingerprint the database records, if a key was installed.
async fn recorded_key(client: &impl GenericClient) -> StoreResult<Option<KeyFingerprint>> {
    let row = client
        .query_one(
            "SELECT key_fingerprint FROM audit_chain_head WHERE singleton = 1",
            &[],
        )
        .await?;
    let text: Option<String> = row.try_get(0)?;
    text.map(|text| {
        KeyFingerprint::from_hex(&text)
            .ok_or_else(|| StoreError::corrupt("audit key fingerprint", text))
    })
    .transpose()
}

/// Seals the entries that have no MAC yet (written before the key existed)
/// and the head, and records the key's fingerprint: once, when a key is
/// first installed.
async fn install_key(client: &mut Object, key: &AuditKey, instance: InstanceId) -> StoreResult<()> {
    let tx = client.transaction().await?;
    let head = lock_head(&tx).await?;
    // Another process may have installed a key since this one looked.
    if let Some(recorded) = recorded_key(&tx).await? {
        if recorded == key.fingerprint() {
            return Ok(());
        }
        return Err(StoreError::Conflict(format!(
            "another process installed the audit key of fingerprint {recorded} at the same moment; copy its key file here"
        )));
    }
    let rows = tx
        .query(
            "SELECT a.seq, a.hash FROM audit_log a LEFT JOIN audit_macs m ON m.seq = a.seq WHERE m.seq IS NULL ORDER BY a.seq",
            &[],
        )
        .await?;
    let mut sealed = 0u64;
    for row in rows {
        let seq: i64 = row.try_get(0)?;
        let hash: Vec<u8> = row.try_get(1)?;
        // A hash that is not 32 bytes only comes from tampering: left unsealed, verification names it.
        let (Ok(seq_u), Some(hash)) = (u64::try_from(seq), ChainHash::from_slice(&hash)) else {
            continue;
        };
        let mac = key.entry_mac(seq_u, &hash);
        tx.execute(
            "INSERT INTO audit_macs (seq, mac) VALUES ($1, $2)",
            &[&seq, &mac.as_bytes().as_slice()],
        )
        .await?;
        sealed += 1;
    }
    tx.execute(
        "UPDATE audit_chain_head SET mac = $1, key_fingerprint = $2 WHERE singleton = 1",
        &[
            &key.head_mac(head).as_bytes().as_slice(),
            &key.fingerprint().to_string(),
        ],
    )
    .await?;
    let root = tx
        .query_opt("SELECT id FROM tenants WHERE parent_id IS NULL", &[])
        .await?;
    if let Some(root) = root {
        // A platform upgraded from a schema without keys: say so in the log itself.
        let details = serde_json::json!({
            "key_fingerprint": key.fingerprint().to_string(),
            "entries_sealed": sealed,
        });
        let draft = change_draft(
            instance,
            &AuditContext::now(Actor::SYSTEM, None),
            TenantId::from_uuid(root.try_get(0)?),
            AuditAction::AUDIT_KEY_INSTALL,
            "audit log",
            key.fingerprint().to_string(),
            None,
            Some(&details),
        )?;
        append(&tx, key, head, draft).await?;
    }
    tx.commit().await?;
    tracing::info!(fingerprint = %key.fingerprint(), sealed, "audit key installed: existing entries sealed");
    Ok(())
}

/// Warns when the server's role could undo the audit log's protection: it
/// owns the audit table (and so may drop or disable its triggers) or is a superuser.
async fn warn_if_owner(client: &Object) {
    let row = client
        .query_opt(
            "SELECT current_user::text, r.rolsuper OR pg_has_role(current_user, c.relowner, 'MEMBER')
             FROM pg_class c JOIN pg_roles r ON r.rolname = current_user
             WHERE c.oid = 'audit_log'::regclass",
            &[],
        )
        .await;
    if let Ok(Some(row)) = row
        && let (Ok(role), Ok(true)) = (row.try_get::<_, String>(0), row.try_get::<_, bool>(1))
    {
        tracing::warn!(
            role,
            "the server's database role owns the audit tables or is a superuser, so it could drop the audit log's triggers: serve as a login role that is a member of nigehban_app (README: PostgreSQL roles)"
        );
    }
}

/// The newest migration applied, or `None` if the database has no Nigehban schema.
async fn schema_version(client: &impl GenericClient) -> StoreResult<Option<i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    Ok(Some(
        client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?,
    ))
}

/// The migrations a database has recorded (numbers may have gaps).
async fn recorded_versions(client: &impl GenericClient) -> StoreResult<Vec<i64>> {
    Ok(client
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

async fn apply_migrations(client: &Object) -> StoreResult<usize> {
    // Nothing pending: no lock and no DDL, which the server's role may not be allowed.
    // Numbers may have gaps: nothing is pending only when every migration is recorded.
    if schema_version(client).await?.is_some() {
        let recorded: Vec<i64> = recorded_versions(client).await?;
        if migrations::pending(migrations::POSTGRES, &recorded)?.is_empty() {
            return Ok(0);
        }
    }
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply_migrations_locked(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

/// Whether PostgreSQL refused for want of privileges (e.g. the server's role migrating).
fn is_privilege_error(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
}

async fn apply_migrations_locked(client: &Object) -> StoreResult<usize> {
    // PostgreSQL checks the right to create before it sees that the table exists.
    if schema_version(client).await?.is_none()
        && let Err(error) = client.batch_execute(CREATE_MIGRATIONS_TABLE).await
    {
        if is_privilege_error(&error) {
            let (version, name) = migrations::POSTGRES
                .first()
                .map_or((1, "initial"), |m| (m.version, m.name));
            return Err(StoreError::MigrationNotAllowed { version, name });
        }
        return Err(error.into());
    }
    let recorded: Vec<i64> = recorded_versions(client).await?;
    let pending = migrations::pending(migrations::POSTGRES, &recorded)?;
    let mut applied = 0;
    for migration in pending {
        let wrap = |source: tokio_postgres::Error| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source: Box::new(source),
        };
        // The whole migration and its record in one transaction.
        let sql = format!(
            "BEGIN; {} ; INSERT INTO schema_migrations (version, name, applied_at_micros) VALUES ({}, '{}', {}); COMMIT;",
            migration.sql,
            migration.version,
            migration.name,
            Timestamp::now().unix_micros()
        );
        if let Err(error) = client.batch_execute(&sql).await {
            let _ = client.batch_execute("ROLLBACK").await;
            if is_privilege_error(&error) {
                return Err(StoreError::MigrationNotAllowed {
                    version: migration.version,
                    name: migration.name,
                });
            }
            return Err(wrap(error));
        }
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "postgresql migration applied"
        );
        applied += 1;
    }
    Ok(applied)
}

async fn instance_id(client: &Object) -> StoreResult<InstanceId> {
    let candidate = InstanceId::new();
    client
        .execute(
            "INSERT INTO instance (singleton, instance_id) VALUES (1, $1) ON CONFLICT (singleton) DO NOTHING",
            &[&candidate.as_uuid()],
        )
        .await?;
    let row = client
        .query_one("SELECT instance_id FROM instance WHERE singleton = 1", &[])
        .await?;
    Ok(InstanceId::from_uuid(row.try_get(0)?))
}

// ---- row decoding ----

const TENANT_COLUMNS: &str = "id, instance_id, parent_id, name, kind, sector, critical_infrastructure, active, created_at, updated_at";

fn tenant_from_row(row: &Row) -> StoreResult<Tenant> {
    let sector: Option<String> = row.try_get(5)?;
    let parent: Option<Uuid> = row.try_get(2)?;
    let kind: String = row.try_get(4)?;
    let name: String = row.try_get(3)?;
    Ok(Tenant {
        id: TenantId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        parent: parent.map(TenantId::from_uuid),
        name: TenantName::parse(&name).map_err(|e| StoreError::corrupt("tenant name", e))?,
        kind: kind_from_columns(&kind, sector.as_deref(), row.try_get(6)?)?,
        active: row.try_get(7)?,
        created_at: from_ts(row.try_get(8)?),
        updated_at: from_ts(row.try_get(9)?),
    })
}

const USER_COLUMNS: &str = "id, instance_id, tenant_id, username, display_name, role, active, must_change_password, failed_logins, created_at, updated_at, password_hash";

fn user_from_row(row: &Row) -> StoreResult<User> {
    let username: String = row.try_get(3)?;
    let display_name: String = row.try_get(4)?;
    let role: String = row.try_get(5)?;
    Ok(User {
        id: UserId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        username: Username::parse(&username).map_err(|e| StoreError::corrupt("user name", e))?,
        display_name: nigehban_model::DisplayName::parse(&display_name)
            .map_err(|e| StoreError::corrupt("display name", e))?,
        role: parse_role(&role)?,
        active: row.try_get(6)?,
        must_change_password: row.try_get(7)?,
        failed_logins: to_u32("failed logins", i64::from(row.try_get::<_, i32>(8)?))?,
        created_at: from_ts(row.try_get(9)?),
        updated_at: from_ts(row.try_get(10)?),
    })
}

const TOKEN_COLUMNS: &str = "id, instance_id, tenant_id, role, owner_id, name, created_at, expires_at, last_used_at, revoked_at, sensor";

fn token_from_row(row: &Row) -> StoreResult<ApiToken> {
    let role: String = row.try_get(3)?;
    let owner: Option<Uuid> = row.try_get(4)?;
    let name: String = row.try_get(5)?;
    let optional = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .try_get::<_, Option<OffsetDateTime>>(index)?
            .map(from_ts))
    };
    Ok(ApiToken {
        id: TokenId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        role: parse_role(&role)?,
        owner: owner.map(UserId::from_uuid),
        name: TokenName::parse(&name).map_err(|e| StoreError::corrupt("token name", e))?,
        created_at: from_ts(row.try_get(6)?),
        expires_at: optional(7)?,
        last_used_at: optional(8)?,
        revoked_at: optional(9)?,
        sensor: row.try_get(10)?,
    })
}

const SESSION_COLUMNS: &str = "id, instance_id, user_id, tenant_id, csrf_secret, created_at, expires_at, last_seen_at, revoked_at, remote_addr";

fn session_from_row(row: &Row) -> StoreResult<Session> {
    let revoked_at: Option<OffsetDateTime> = row.try_get(8)?;
    Ok(Session {
        id: SessionId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        user: UserId::from_uuid(row.try_get(2)?),
        tenant: TenantId::from_uuid(row.try_get(3)?),
        csrf_secret: row.try_get(4)?,
        created_at: from_ts(row.try_get(5)?),
        expires_at: from_ts(row.try_get(6)?),
        last_seen_at: from_ts(row.try_get(7)?),
        revoked_at: revoked_at.map(from_ts),
        remote_addr: row.try_get(9)?,
    })
}

const AUDIT_COLUMNS: &str = "seq, id, instance_id, tenant_id, at_micros, actor_kind, actor_user, actor_token, actor_tenant, action, record_kind, record_id, before_json, after_json, remote_addr, prev_hash, hash";

fn audit_from_row(row: &Row) -> StoreResult<AuditEntry> {
    let hash = |index: usize| -> StoreResult<ChainHash> {
        let bytes: Vec<u8> = row.try_get(index)?;
        ChainHash::from_slice(&bytes)
            .ok_or_else(|| StoreError::corrupt("audit hash", "not 32 bytes"))
    };
    let actor_kind: String = row.try_get(5)?;
    let action: String = row.try_get(9)?;
    Ok(AuditEntry {
        seq: to_seq(row.try_get(0)?)?,
        id: AuditEntryId::from_uuid(row.try_get(1)?),
        instance: InstanceId::from_uuid(row.try_get(2)?),
        tenant: TenantId::from_uuid(row.try_get(3)?),
        at: Timestamp::from_unix_micros(row.try_get(4)?),
        actor: Actor {
            kind: ActorKind::from_word(&actor_kind)
                .ok_or_else(|| StoreError::corrupt("actor kind", &actor_kind))?,
            user: row.try_get::<_, Option<Uuid>>(6)?.map(UserId::from_uuid),
            token: row.try_get::<_, Option<Uuid>>(7)?.map(TokenId::from_uuid),
            tenant: row.try_get::<_, Option<Uuid>>(8)?.map(TenantId::from_uuid),
        },
        action: AuditAction::named(action),
        record_kind: row.try_get(10)?,
        record_id: row.try_get(11)?,
        before: row
            .try_get::<_, Option<String>>(12)?
            .map(JsonText::from_stored),
        after: row
            .try_get::<_, Option<String>>(13)?
            .map(JsonText::from_stored),
        remote_addr: row.try_get(14)?,
        prev_hash: hash(15)?,
        hash: hash(16)?,
    })
}

// ---- queries ----

async fn get_tenant(client: &impl GenericClient, id: TenantId) -> StoreResult<Option<Tenant>> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(tenant_from_row)
        .transpose()
}

async fn tenant_path(client: &impl GenericClient, id: TenantId) -> StoreResult<Vec<Tenant>> {
    let columns = TENANT_COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Depth is bounded so that corrupt data (a cycle) cannot loop forever.
    let sql = format!(
        "WITH RECURSIVE path(id, parent_id, depth) AS (
             SELECT id, parent_id, 0 FROM tenants WHERE id = $1
             UNION ALL
             SELECT t.id, t.parent_id, p.depth + 1 FROM tenants t JOIN path p ON t.id = p.parent_id
             WHERE p.depth < 1000
         )
         SELECT {columns} FROM path JOIN tenants t ON t.id = path.id ORDER BY path.depth DESC"
    );
    client
        .query(&sql, &[&id.as_uuid()])
        .await?
        .iter()
        .map(tenant_from_row)
        .collect()
}

const SUBTREE: &str = "WITH RECURSIVE subtree(id, depth) AS (
    SELECT id, 0 FROM tenants WHERE id = $1
    UNION ALL
    SELECT t.id, s.depth + 1 FROM tenants t JOIN subtree s ON t.parent_id = s.id WHERE s.depth < 1000
)";

async fn get_user(client: &impl GenericClient, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

async fn get_token(client: &impl GenericClient, id: TokenId) -> StoreResult<Option<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
}

async fn get_session(client: &impl GenericClient, id: SessionId) -> StoreResult<Option<Session>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
}

fn head_from_row(row: &Row) -> StoreResult<ChainHead> {
    let hash: Vec<u8> = row.try_get(1)?;
    Ok(ChainHead {
        seq: to_seq(row.try_get(0)?)?,
        hash: ChainHash::from_slice(&hash)
            .ok_or_else(|| StoreError::corrupt("audit chain head", "hash is not 32 bytes"))?,
    })
}

/// Locks the chain head for this transaction: from here on, this
/// transaction is the only writer until it commits.
async fn lock_head(tx: &Transaction<'_>) -> StoreResult<ChainHead> {
    let row = tx
        .query_one(
            "SELECT seq, hash FROM audit_chain_head WHERE singleton = 1 FOR UPDATE",
            &[],
        )
        .await?;
    head_from_row(&row)
}

/// The MACs of an appended entry and of the new head, as stored.
fn macs_of(key: &AuditKey, entry: &AuditEntry) -> (AuditMac, AuditMac) {
    (
        key.entry_mac(entry.seq, &entry.hash),
        key.head_mac(entry.head()),
    )
}

fn after_uuid(page: &PageRequest, list: &str) -> StoreResult<Uuid> {
    match &page.after {
        None => Ok(Uuid::nil()),
        Some(cursor) => {
            let key = cursor.decode(list)?;
            Uuid::parse_str(&key).map_err(|_| {
                StoreError::BadCursor(format!("{cursor} is not a cursor from this {list} list"))
            })
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn instance(&self) -> InstanceId {
        self.instance
    }

    async fn migrate(&self) -> StoreResult<usize> {
        apply_migrations(&self.client().await?).await
    }

    fn migrations_applied_at_open(&self) -> usize {
        self.applied_at_open
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn insert_tenant(&self, tenant: &Tenant, ctx: &AuditContext) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        if let Some(parent) = tenant.parent
            && get_tenant(&tx, parent).await?.is_none()
        {
            return Err(StoreError::not_found("tenant", parent));
        }
        let (kind, sector, cii) = kind_columns(&tenant.kind);
        let inserted = tx
            .execute(
                &format!("INSERT INTO tenants ({TENANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
                &[
                    &tenant.id.as_uuid(),
                    &tenant.instance.as_uuid(),
                    &tenant.parent.map(|p| p.as_uuid()),
                    &tenant.name.as_str(),
                    &kind,
                    &sector,
                    &cii,
                    &tenant.active,
                    &ts(tenant.created_at),
                    &ts(tenant.updated_at),
                ],
            )
            .await;
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
        let draft = change_draft(
            self.instance,
            ctx,
            tenant.id,
            AuditAction::TENANT_CREATE,
            "tenant",
            tenant.id.to_string(),
            None,
            Some(tenant),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_tenant(
        &self,
        id: TenantId,
        change: TenantChange,
        ctx: &AuditContext,
    ) -> StoreResult<Tenant> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_tenant(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", id))?;
        let mut after = before.clone();
        after.updated_at = ctx.at;
        let action = match change {
            TenantChange::Rename(name) => {
                after.name = name;
                AuditAction::TENANT_RENAME
            }
            TenantChange::Move(new_parent) => {
                let path = tenant_path(&tx, new_parent).await?;
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
            "UPDATE tenants SET name = $2, parent_id = $3, active = $4, updated_at = $5 WHERE id = $1",
            &[
                &id.as_uuid(),
                &after.name.as_str(),
                &after.parent.map(|p| p.as_uuid()),
                &after.active,
                &ts(after.updated_at),
            ],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            id,
            action,
            "tenant",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        get_tenant(&self.client().await?, id).await
    }

    async fn root_tenant(&self) -> StoreResult<Option<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE parent_id IS NULL");
        self.client()
            .await?
            .query_opt(&sql, &[])
            .await?
            .as_ref()
            .map(tenant_from_row)
            .transpose()
    }

    async fn tenant_path(&self, id: TenantId) -> StoreResult<Vec<Tenant>> {
        tenant_path(&self.client().await?, id).await
    }

    async fn list_tenants(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Tenant>> {
        let after = after_uuid(page, "tenants")?;
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT {TENANT_COLUMNS} FROM tenants WHERE id IN (SELECT id FROM subtree) AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&subtree.as_uuid(), &after, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(tenant_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |t| t.id.to_string(),
            "tenants",
        ))
    }

    async fn insert_user(
        &self,
        user: &User,
        password: &PasswordHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        if get_tenant(&tx, user.tenant).await?.is_none() {
            return Err(StoreError::not_found("tenant", user.tenant));
        }
        let failed_logins = i32::try_from(user.failed_logins).unwrap_or(i32::MAX);
        let inserted = tx
            .execute(
                &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
                &[
                    &user.id.as_uuid(),
                    &user.instance.as_uuid(),
                    &user.tenant.as_uuid(),
                    &user.username.as_str(),
                    &user.display_name.as_str(),
                    &user.role.as_str(),
                    &user.active,
                    &user.must_change_password,
                    &failed_logins,
                    &ts(user.created_at),
                    &ts(user.updated_at),
                    &password.as_phc(),
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "the user name {} is already taken",
                    user.username
                )));
            }
            other => {
                other?;
            }
        }
        let draft = change_draft(
            self.instance,
            ctx,
            user.tenant,
            AuditAction::USER_CREATE,
            "user",
            user.id.to_string(),
            None,
            Some(user),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_user(
        &self,
        id: UserId,
        change: UserChange,
        ctx: &AuditContext,
    ) -> StoreResult<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_user(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id))?;
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
            UserChange::SetPassword {
                hash,
                must_change,
                keep_session,
                revoke_tokens: revoke,
            } => {
                revoke_tokens = revoke;
                after.must_change_password = must_change;
                after.failed_logins = 0;
                tx.execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1",
                    &[&id.as_uuid(), &hash.as_phc()],
                )
                .await?;
                end_sessions = Some(keep_session);
                AuditAction::USER_SET_PASSWORD
            }
        };
        let failed_logins = i32::try_from(after.failed_logins).unwrap_or(i32::MAX);
        tx.execute(
            "UPDATE users SET role = $2, active = $3, must_change_password = $4, failed_logins = $5, updated_at = $6 WHERE id = $1",
            &[
                &id.as_uuid(),
                &after.role.as_str(),
                &after.active,
                &after.must_change_password,
                &failed_logins,
                &ts(after.updated_at),
            ],
        )
        .await?;
        if let Some(keep) = end_sessions {
            tx.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
                &[&id.as_uuid(), &ts(ctx.at), &keep.map(|k| k.as_uuid())],
            )
            .await?;
        }
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            action,
            "user",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        let entry = self.append(&tx, head, draft).await?;
        if revoke_tokens {
            self.revoke_owned_tokens(&tx, entry.head(), ctx, id).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        get_user(&self.client().await?, id).await
    }

    async fn user_credentials(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(User, PasswordHash)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row = self
            .client()
            .await?
            .query_opt(&sql, &[&username.as_str()])
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let user = user_from_row(&row)?;
                let hash: String = row.try_get(11)?;
                Ok(Some((user, PasswordHash::from_phc(hash))))
            }
        }
    }

    async fn record_login_failure(&self, id: UserId, ctx: &AuditContext) -> StoreResult<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_user(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id))?;
        let mut after = before.clone();
        after.failed_logins = before.failed_logins.saturating_add(1);
        let failed_logins = i32::try_from(after.failed_logins).unwrap_or(i32::MAX);
        tx.execute(
            "UPDATE users SET failed_logins = $2 WHERE id = $1",
            &[&id.as_uuid(), &failed_logins],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            AuditAction::USER_LOGIN_FAILED,
            "user",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn list_users(&self, subtree: TenantId, page: &PageRequest) -> StoreResult<Page<User>> {
        let after = after_uuid(page, "users")?;
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT {USER_COLUMNS} FROM users WHERE tenant_id IN (SELECT id FROM subtree) AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&subtree.as_uuid(), &after, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |u| u.id.to_string(), "users"))
    }

    async fn insert_token(
        &self,
        token: &ApiToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        if get_tenant(&tx, token.tenant).await?.is_none() {
            return Err(StoreError::not_found("tenant", token.tenant));
        }
        tx.execute(
            &format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
            &[
                &token.id.as_uuid(),
                &token.instance.as_uuid(),
                &token.tenant.as_uuid(),
                &token.role.as_str(),
                &token.owner.map(|o| o.as_uuid()),
                &token.name.as_str(),
                &ts(token.created_at),
                &token.expires_at.map(ts),
                &token.last_used_at.map(ts),
                &token.revoked_at.map(ts),
                &token.sensor,
                &secret.as_bytes().as_slice(),
            ],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            token.tenant,
            AuditAction::TOKEN_CREATE,
            "token",
            token.id.to_string(),
            None,
            Some(token),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token(&self, id: TokenId) -> StoreResult<Option<ApiToken>> {
        get_token(&self.client().await?, id).await
    }

    async fn token_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1");
        self.client()
            .await?
            .query_opt(&sql, &[&secret.as_bytes().as_slice()])
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                &[&id.as_uuid(), &ts(at)],
            )
            .await?;
        Ok(())
    }

    async fn revoke_token(&self, id: TokenId, ctx: &AuditContext) -> StoreResult<ApiToken> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_token(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("token", id))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.revoked_at = Some(ctx.at);
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1",
            &[&id.as_uuid(), &ts(ctx.at)],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            AuditAction::TOKEN_REVOKE,
            "token",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn list_tokens(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<ApiToken>> {
        let after = after_uuid(page, "tokens")?;
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id IN (SELECT id FROM subtree) AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&subtree.as_uuid(), &after, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(token_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |t| t.id.to_string(),
            "tokens",
        ))
    }

    async fn insert_session(
        &self,
        session: &Session,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        if get_user(&tx, session.user).await?.is_none() {
            return Err(StoreError::not_found("user", session.user));
        }
        tx.execute(
            &format!("INSERT INTO sessions ({SESSION_COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
            &[
                &session.id.as_uuid(),
                &session.instance.as_uuid(),
                &session.user.as_uuid(),
                &session.tenant.as_uuid(),
                &session.csrf_secret,
                &ts(session.created_at),
                &ts(session.expires_at),
                &ts(session.last_seen_at),
                &session.revoked_at.map(ts),
                &session.remote_addr,
                &secret.as_bytes().as_slice(),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE users SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0",
            &[&session.user.as_uuid()],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            session.tenant,
            AuditAction::SESSION_CREATE,
            "session",
            session.id.to_string(),
            None,
            Some(session),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        get_session(&self.client().await?, id).await
    }

    async fn session_by_secret(&self, secret: &SecretHash) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE secret_hash = $1");
        self.client()
            .await?
            .query_opt(&sql, &[&secret.as_bytes().as_slice()])
            .await?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1",
                &[&id.as_uuid(), &ts(last_seen), &ts(expires_at)],
            )
            .await?;
        Ok(())
    }

    async fn revoke_session(&self, id: SessionId, ctx: &AuditContext) -> StoreResult<Session> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_session(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("session", id))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.revoked_at = Some(ctx.at);
        tx.execute(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1",
            &[&id.as_uuid(), &ts(ctx.at)],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            AuditAction::SESSION_REVOKE,
            "session",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        Ok(self
            .client()
            .await?
            .execute(
                "DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL",
                &[&ts(now)],
            )
            .await?)
    }

    async fn append_audit(&self, draft: AuditDraft) -> StoreResult<AuditEntry> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let entry = self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(entry)
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
                cursor.decode("audit").and_then(|key| {
                    key.parse::<i64>().map_err(|_| {
                        StoreError::BadCursor(format!(
                            "{cursor} is not a cursor from this audit list"
                        ))
                    })
                })
            })
            .transpose()?;
        let limit = page.effective_limit();
        let (order, compare, start) = if query.newest_first {
            ("DESC", "<", after.unwrap_or(i64::MAX))
        } else {
            ("ASC", ">", after.unwrap_or(0))
        };
        let scope = "tenant_id IN (SELECT id FROM subtree) AND";
        let client = self.client().await?;
        let rows = match query.subtree {
            Some(subtree) => {
                let sql = format!(
                    "{SUBTREE} SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {scope} seq {compare} $2 ORDER BY seq {order} LIMIT $3"
                );
                client
                    .query(&sql, &[&subtree.as_uuid(), &start, &(i64::from(limit) + 1)])
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq {compare} $1 ORDER BY seq {order} LIMIT $2"
                );
                client
                    .query(&sql, &[&start, &(i64::from(limit) + 1)])
                    .await?
            }
        };
        let items = rows
            .iter()
            .map(audit_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |e| e.seq.to_string(),
            "audit",
        ))
    }

    async fn audit_head(&self) -> StoreResult<ChainHead> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT seq, hash FROM audit_chain_head WHERE singleton = 1",
                &[],
            )
            .await?;
        head_from_row(&row)
    }

    fn audit_key_fingerprint(&self) -> KeyFingerprint {
        self.key.fingerprint()
    }

    async fn verify_audit_against(&self, anchors: &[ChainHead]) -> StoreResult<AuditVerification> {
        const BATCH: i64 = 1000;
        let mut client = self.client().await?;
        // One snapshot for what is recorded and every entry.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let head_row = tx
            .query_one(
                "SELECT seq, hash, mac, EXISTS (SELECT 1 FROM tenants WHERE parent_id IS NULL) FROM audit_chain_head WHERE singleton = 1",
                &[],
            )
            .await?;
        let head_mac: Option<Vec<u8>> = head_row.try_get(2)?;
        let recorded = RecordedChain {
            head: head_from_row(&head_row)?,
            head_mac: head_mac.as_deref().and_then(AuditMac::from_slice),
            key: recorded_key(&tx).await?,
            platform_set_up: head_row.try_get(3)?,
        };
        let mut verifier = ChainVerifier::new(&self.key, recorded, anchors);
        let columns = AUDIT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, m.mac FROM audit_log a LEFT JOIN audit_macs m ON m.seq = a.seq WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"
        );
        let mut after: i64 = i64::MIN;
        'batches: loop {
            let rows = tx.query(&sql, &[&after, &BATCH]).await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get(0)?;
                after = seq;
                match audit_from_row(row) {
                    Ok(entry) => {
                        let mac: Option<Vec<u8>> = row.try_get(17)?;
                        // A MAC of the wrong length verifies as a wrong MAC.
                        let mac = mac.map(|bytes| {
                            AuditMac::from_slice(&bytes).unwrap_or(AuditMac::from_bytes([0; 32]))
                        });
                        if verifier.check(&entry, mac.as_ref()).is_err() {
                            break 'batches;
                        }
                    }
                    Err(_) => {
                        let id = row.try_get::<_, Uuid>(1).ok().map(AuditEntryId::from_uuid);
                        verifier.unreadable(u64::try_from(seq).unwrap_or(0), id);
                        break 'batches;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(verifier.finish())
    }

    async fn backup_to(&self, _dest: &Path, _ctx: &AuditContext) -> StoreResult<BackupReport> {
        Err(StoreError::Unsupported(
            "online backup is for the embedded SQLite store; on PostgreSQL use pg_dump --format=custom (and pg_restore to restore)".into(),
        ))
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
        PostgresStore::alerts_by_id(self, ids).await
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

    // ---- incidents and coordination (postgres/incidents.rs) ----

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
