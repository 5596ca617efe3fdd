//! The sensor registry on SQLite: sensors, their lookup indexes, ingest
//! tokens and health events.
//!
//! Every change runs on the writer connection in one `BEGIN IMMEDIATE`
//! transaction, so the collision checks below cannot race another writer.

use std::net::IpAddr;

use nigehban_model::{
    AuditAction, CertificateFingerprint, SecretHash, Sensor, SensorHealthEvent, SensorId,
    SensorToken, SensorTokenId, SourceNetwork, SubjectCommonName, TenantId, Timestamp,
};
use rusqlite::{Connection, Row, Transaction, params};

use super::{SUBTREE, SqliteStore, after_key, append, get_tenant, is_unique_violation, page_rows};
use crate::rows::{
    SensorColumns, StoredSensor, address_key, change_draft, health_columns, health_from_columns,
    network_row, overlaps_another_tenant, parse_text, rank_by_specificity, registration_record,
    rotation_records, taken,
};
use crate::{
    AuditContext, Page, PageRequest, SensorChange, SensorHealthScope, StoreError, StoreResult,
};

const SENSOR_COLUMNS: &str = "id, instance_id, tenant_id, name, kind, expected_formats, expected_interval_secs, source_addresses, tls_fingerprints, tls_subject_cn, host_os_type, utc_offset_minutes, active, created_at, updated_at";

fn sensor_from_row(row: &Row<'_>) -> StoreResult<Sensor> {
    StoredSensor {
        id: parse_text("sensor id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        name: row.get(3)?,
        kind: row.get(4)?,
        formats: row.get(5)?,
        interval: row.get(6)?,
        addresses: row.get(7)?,
        fingerprints: row.get(8)?,
        subject_cn: row.get(9)?,
        os: row.get(10)?,
        offset: row.get(11)?,
        active: row.get(12)?,
        created_at: Timestamp::from_unix_micros(row.get(13)?),
        updated_at: Timestamp::from_unix_micros(row.get(14)?),
    }
    .decode()
}

const TOKEN_COLUMNS: &str = "id, instance_id, sensor_id, tenant_id, created_at, expires_at, last_used_at, last_used_from, revoked_at";

fn token_from_row(row: &Row<'_>) -> StoreResult<SensorToken> {
    let micros = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .map(Timestamp::from_unix_micros))
    };
    Ok(SensorToken {
        id: parse_text("sensor token id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        sensor: parse_text("sensor id", &row.get::<_, String>(2)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(3)?)?,
        created_at: Timestamp::from_unix_micros(row.get(4)?),
        expires_at: micros(5)?,
        last_used_at: micros(6)?,
        last_used_from: row.get(7)?,
        revoked_at: micros(8)?,
    })
}

const HEALTH_COLUMNS: &str = "id, instance_id, sensor_id, tenant_id, kind, since, seconds, at";

fn health_from_row(row: &Row<'_>) -> StoreResult<SensorHealthEvent> {
    Ok(SensorHealthEvent {
        id: parse_text("sensor health event id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        sensor: parse_text("sensor id", &row.get::<_, String>(2)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(3)?)?,
        kind: health_from_columns(
            &row.get::<_, String>(4)?,
            Timestamp::from_unix_micros(row.get(5)?),
            row.get(6)?,
        )?,
        at: Timestamp::from_unix_micros(row.get(7)?),
    })
}

fn get_sensor(conn: &Connection, id: SensorId) -> StoreResult<Option<Sensor>> {
    let sql = format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(sensor_from_row).transpose()
}

fn get_token(conn: &Connection, id: SensorTokenId) -> StoreResult<Option<SensorToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(token_from_row).transpose()
}

fn tokens_of(conn: &Connection, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE sensor_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![sensor.to_string()])?;
    page_rows(&mut rows, token_from_row)
}

fn exists(conn: &Connection, sql: &str, values: impl rusqlite::Params) -> StoreResult<bool> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.exists(values)?)
}

/// Refuses a sensor whose name, networks, fingerprints or subject CN another
/// active sensor holds (inside the writer's transaction, so without races).
fn check_free(tx: &Transaction<'_>, sensor: &Sensor) -> StoreResult<()> {
    let id = sensor.id.to_string();
    if exists(
        tx,
        "SELECT 1 FROM sensors WHERE tenant_id = ?1 AND name = ?2 AND active = 1 AND id <> ?3",
        params![sensor.tenant.to_string(), sensor.name.as_str(), id],
    )? {
        return Err(StoreError::Conflict(format!(
            "the tenant already has an active sensor named {:?}",
            sensor.name.as_str()
        )));
    }
    for network in &sensor.source_addresses {
        let (family, prefix, first, last) = network_row(network);
        // Another tenant's network that contains, lies inside or equals this
        // one would let one tenant capture the other's syslog.
        if exists(
            tx,
            "SELECT 1 FROM sensor_networks n JOIN sensors s ON s.id = n.sensor_id
             WHERE n.family = ?1 AND n.first_address <= ?2 AND n.last_address >= ?3
               AND s.active = 1 AND s.tenant_id <> ?4",
            params![family, last, first, sensor.tenant.to_string()],
        )? {
            return Err(overlaps_another_tenant(network));
        }
        if exists(
            tx,
            "SELECT 1 FROM sensor_networks WHERE family = ?1 AND first_address = ?2 AND prefix_len = ?3 AND sensor_id <> ?4",
            params![family, first, prefix, id],
        )? {
            return Err(taken(&format!("source address {network}")));
        }
    }
    for fingerprint in &sensor.tls_client_fingerprints {
        if exists(
            tx,
            "SELECT 1 FROM sensor_fingerprints WHERE fingerprint = ?1 AND sensor_id <> ?2",
            params![fingerprint.to_hex(), id],
        )? {
            return Err(taken(&format!("TLS client certificate {fingerprint}")));
        }
    }
    if let Some(cn) = &sensor.tls_subject_cn
        && exists(
            tx,
            "SELECT 1 FROM sensors WHERE tls_subject_cn = ?1 AND active = 1 AND id <> ?2",
            params![cn.as_str(), id],
        )?
    {
        return Err(taken(&format!("TLS subject common name {:?}", cn.as_str())));
    }
    Ok(())
}

/// Rewrites the lookup rows of a sensor: its networks and fingerprints while
/// it is active, nothing once it is deactivated.
fn write_index(tx: &Transaction<'_>, sensor: &Sensor) -> StoreResult<()> {
    let id = sensor.id.to_string();
    tx.execute(
        "DELETE FROM sensor_networks WHERE sensor_id = ?1",
        params![id],
    )?;
    tx.execute(
        "DELETE FROM sensor_fingerprints WHERE sensor_id = ?1",
        params![id],
    )?;
    if !sensor.active {
        return Ok(());
    }
    for network in &sensor.source_addresses {
        let (family, prefix, first, last) = network_row(network);
        tx.prepare_cached(
            "INSERT INTO sensor_networks (sensor_id, family, prefix_len, first_address, last_address) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, family, prefix, first, last])
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&format!("source address {network}"))
            } else {
                e.into()
            }
        })?;
    }
    for fingerprint in &sensor.tls_client_fingerprints {
        tx.prepare_cached(
            "INSERT INTO sensor_fingerprints (fingerprint, sensor_id) VALUES (?1, ?2)",
        )?
        .execute(params![fingerprint.to_hex(), id])
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&format!("TLS client certificate {fingerprint}"))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

/// Maps a unique violation on the sensors table to the collision it means.
fn sensor_write_error(error: rusqlite::Error, sensor: &Sensor) -> StoreError {
    if is_unique_violation(&error) {
        let message = error.to_string();
        if message.contains("tls_subject_cn") {
            return taken("the TLS subject common name");
        }
        return StoreError::Conflict(format!(
            "the tenant already has an active sensor named {:?}",
            sensor.name.as_str()
        ));
    }
    error.into()
}

fn insert_token(tx: &Transaction<'_>, token: &SensorToken, secret: &SecretHash) -> StoreResult<()> {
    let inserted = tx.execute(
        &format!("INSERT INTO sensor_tokens ({TOKEN_COLUMNS}, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            token.id.to_string(),
            token.instance.to_string(),
            token.sensor.to_string(),
            token.tenant.to_string(),
            token.created_at.unix_micros(),
            token.expires_at.map(Timestamp::unix_micros),
            token.last_used_at.map(Timestamp::unix_micros),
            token.last_used_from,
            token.revoked_at.map(Timestamp::unix_micros),
            secret.as_bytes().as_slice(),
        ],
    );
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "sensor token {} already exists",
            token.id
        ))),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

fn write_sensor_row(tx: &Transaction<'_>, sensor: &Sensor, insert: bool) -> StoreResult<()> {
    let c = SensorColumns::of(sensor)?;
    let sql = if insert {
        format!(
            "INSERT INTO sensors ({SENSOR_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        )
    } else {
        "UPDATE sensors SET instance_id = ?2, tenant_id = ?3, name = ?4, kind = ?5, expected_formats = ?6, expected_interval_secs = ?7, source_addresses = ?8, tls_fingerprints = ?9, tls_subject_cn = ?10, host_os_type = ?11, utc_offset_minutes = ?12, active = ?13, created_at = ?14, updated_at = ?15 WHERE id = ?1".to_owned()
    };
    tx.execute(
        &sql,
        params![
            sensor.id.to_string(),
            sensor.instance.to_string(),
            sensor.tenant.to_string(),
            sensor.name.as_str(),
            c.kind,
            c.formats,
            c.interval,
            c.addresses,
            c.fingerprints,
            c.subject_cn,
            c.os,
            c.offset,
            sensor.active,
            sensor.created_at.unix_micros(),
            sensor.updated_at.unix_micros(),
        ],
    )
    .map_err(|e| sensor_write_error(e, sensor))?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn sensors_insert(
        &self,
        sensor: &Sensor,
        token: &SensorToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let (sensor, token, secret, ctx) = (sensor.clone(), token.clone(), *secret, ctx.clone());
        self.write(move |tx, instance| {
            if get_tenant(tx, sensor.tenant)?.is_none() {
                return Err(StoreError::not_found("tenant", sensor.tenant));
            }
            if get_sensor(tx, sensor.id)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "sensor {} already exists",
                    sensor.id
                )));
            }
            check_free(tx, &sensor)?;
            write_sensor_row(tx, &sensor, true)?;
            write_index(tx, &sensor)?;
            insert_token(tx, &token, &secret)?;
            let record = registration_record(&sensor, &token)?;
            let draft = change_draft(
                instance,
                &ctx,
                sensor.tenant,
                AuditAction::SENSOR_REGISTER,
                "sensor",
                sensor.id.to_string(),
                None,
                Some(&record),
            )?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn sensors_update(
        &self,
        id: SensorId,
        change: SensorChange,
        ctx: &AuditContext,
    ) -> StoreResult<Sensor> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get_sensor(tx, id)?.ok_or_else(|| StoreError::not_found("sensor", id))?;
            let (after, action) = match change {
                SensorChange::Update(update) => {
                    if !before.active {
                        return Err(StoreError::Conflict(format!("sensor {id} is deactivated and cannot be changed")));
                    }
                    let after = update
                        .apply(&before, ctx.at)
                        .map_err(|e| StoreError::Conflict(e.to_string()))?;
                    check_free(tx, &after)?;
                    (after, AuditAction::SENSOR_UPDATE)
                }
                SensorChange::Deactivate => {
                    if !before.active {
                        return Ok(before);
                    }
                    let mut after = before.clone();
                    after.active = false;
                    after.updated_at = ctx.at;
                    tx.execute(
                        "UPDATE sensor_tokens SET revoked_at = ?2 WHERE sensor_id = ?1 AND revoked_at IS NULL",
                        params![id.to_string(), ctx.at.unix_micros()],
                    )?;
                    (after, AuditAction::SENSOR_DEACTIVATE)
                }
            };
            write_sensor_row(tx, &after, false)?;
            write_index(tx, &after)?;
            let draft = change_draft(instance, &ctx, after.tenant, action, "sensor", id.to_string(), Some(&before), Some(&after))?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn sensors_get(&self, id: SensorId) -> StoreResult<Option<Sensor>> {
        self.read(move |conn| get_sensor(conn, id)).await
    }

    pub(super) async fn sensors_list(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        let after = after_key(page, "sensors")?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT {SENSOR_COLUMNS} FROM sensors WHERE tenant_id IN (SELECT id FROM subtree) AND id > ?2 ORDER BY id LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), after, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, sensor_from_row)?;
            Ok(Page::from_rows(items, limit, |s| s.id.to_string(), "sensors"))
        })
        .await
    }

    pub(super) async fn sensors_list_active(
        &self,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        let after = after_key(page, "active sensors")?;
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {SENSOR_COLUMNS} FROM sensors WHERE active = 1 AND id > ?1 ORDER BY id LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![after, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, sensor_from_row)?;
            Ok(Page::from_rows(items, limit, |s| s.id.to_string(), "active sensors"))
        })
        .await
    }

    pub(super) async fn sensors_at_address(
        &self,
        address: IpAddr,
    ) -> StoreResult<Vec<(Sensor, SourceNetwork)>> {
        let (family, key) = address_key(address);
        let sensors = self
            .read(move |conn| {
                let sql = format!(
                    "SELECT {} FROM sensor_networks n JOIN sensors s ON s.id = n.sensor_id
                     WHERE n.family = ?1 AND n.first_address <= ?2 AND n.last_address >= ?2 AND s.active = 1
                     ORDER BY n.prefix_len DESC, s.id",
                    super::prefixed("s", SENSOR_COLUMNS)
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params![family, key])?;
                page_rows(&mut rows, sensor_from_row)
            })
            .await?;
        Ok(rank_by_specificity(sensors, address))
    }

    pub(super) async fn sensors_by_fingerprint(
        &self,
        fingerprint: &CertificateFingerprint,
    ) -> StoreResult<Option<Sensor>> {
        let hex = fingerprint.to_hex();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {} FROM sensor_fingerprints f JOIN sensors s ON s.id = f.sensor_id WHERE f.fingerprint = ?1 AND s.active = 1",
                super::prefixed("s", SENSOR_COLUMNS)
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![hex])?;
            rows.next()?.map(sensor_from_row).transpose()
        })
        .await
    }

    pub(super) async fn sensors_by_subject_cn(
        &self,
        subject_cn: &SubjectCommonName,
    ) -> StoreResult<Option<Sensor>> {
        let cn = subject_cn.as_str().to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {SENSOR_COLUMNS} FROM sensors WHERE tls_subject_cn = ?1 AND active = 1"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![cn])?;
            rows.next()?.map(sensor_from_row).transpose()
        })
        .await
    }

    pub(super) async fn sensors_rotate_token(
        &self,
        token: &SensorToken,
        secret: &SecretHash,
        old_until: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<SensorToken>> {
        let (token, secret, ctx) = (token.clone(), *secret, ctx.clone());
        self.write(move |tx, instance| {
            let sensor = get_sensor(tx, token.sensor)?
                .ok_or_else(|| StoreError::not_found("sensor", token.sensor))?;
            if !sensor.active {
                return Err(StoreError::Conflict(format!(
                    "sensor {} is deactivated: its tokens cannot be rotated",
                    sensor.id
                )));
            }
            let before: Vec<SensorToken> = tokens_of(tx, sensor.id)?
                .into_iter()
                .filter(|t| t.is_usable_at(ctx.at))
                .collect();
            let mut after = Vec::with_capacity(before.len());
            for old in &before {
                let mut ended = old.clone();
                if old_until <= ctx.at {
                    ended.revoked_at = Some(ctx.at);
                } else {
                    ended.expires_at = Some(old.expires_at.map_or(old_until, |e| e.min(old_until)));
                }
                tx.execute(
                    "UPDATE sensor_tokens SET expires_at = ?2, revoked_at = ?3 WHERE id = ?1",
                    params![
                        ended.id.to_string(),
                        ended.expires_at.map(Timestamp::unix_micros),
                        ended.revoked_at.map(Timestamp::unix_micros)
                    ],
                )?;
                after.push(ended);
            }
            let token = SensorToken {
                tenant: sensor.tenant,
                ..token
            };
            insert_token(tx, &token, &secret)?;
            let (before_record, after_record) = rotation_records(&before, &after, &token)?;
            let draft = change_draft(
                instance,
                &ctx,
                sensor.tenant,
                AuditAction::SENSOR_ROTATE_TOKEN,
                "sensor",
                sensor.id.to_string(),
                Some(&before_record),
                Some(&after_record),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn sensors_revoke_token(
        &self,
        id: SensorTokenId,
        ctx: &AuditContext,
    ) -> StoreResult<SensorToken> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before =
                get_token(tx, id)?.ok_or_else(|| StoreError::not_found("sensor token", id))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let mut after = before.clone();
            after.revoked_at = Some(ctx.at);
            tx.execute(
                "UPDATE sensor_tokens SET revoked_at = ?2 WHERE id = ?1",
                params![id.to_string(), ctx.at.unix_micros()],
            )?;
            let draft = change_draft(
                instance,
                &ctx,
                after.tenant,
                AuditAction::SENSOR_REVOKE_TOKEN,
                "sensor_token",
                id.to_string(),
                Some(&before),
                Some(&after),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn sensors_token(
        &self,
        id: SensorTokenId,
    ) -> StoreResult<Option<SensorToken>> {
        self.read(move |conn| get_token(conn, id)).await
    }

    pub(super) async fn sensors_token_by_secret(
        &self,
        secret: &SecretHash,
    ) -> StoreResult<Option<SensorToken>> {
        let secret = *secret;
        self.read(move |conn| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE secret_hash = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![secret.as_bytes().as_slice()])?;
            rows.next()?.map(token_from_row).transpose()
        })
        .await
    }

    pub(super) async fn sensors_touch_token(
        &self,
        id: SensorTokenId,
        at: Timestamp,
        from: Option<String>,
    ) -> StoreResult<()> {
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE sensor_tokens SET last_used_at = ?2, last_used_from = ?3 WHERE id = ?1",
                params![id.to_string(), at.unix_micros(), from],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn sensors_tokens(&self, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
        self.read(move |conn| tokens_of(conn, sensor)).await
    }

    pub(super) async fn sensors_insert_health(&self, event: &SensorHealthEvent) -> StoreResult<()> {
        let event = event.clone();
        self.write(move |tx, _| {
            let sensor = get_sensor(tx, event.sensor)?
                .ok_or_else(|| StoreError::not_found("sensor", event.sensor))?;
            if sensor.tenant != event.tenant {
                return Err(StoreError::Conflict(format!(
                    "sensor {} does not belong to tenant {}",
                    sensor.id, event.tenant
                )));
            }
            let (kind, since, seconds) = health_columns(&event.kind)?;
            let inserted = tx.execute(
                &format!("INSERT INTO sensor_health_events ({HEALTH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    event.id.to_string(),
                    event.instance.to_string(),
                    event.sensor.to_string(),
                    event.tenant.to_string(),
                    kind,
                    since.unix_micros(),
                    seconds,
                    event.at.unix_micros(),
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                    "sensor health event {} already exists",
                    event.id
                ))),
                other => other.map(|_| ()).map_err(Into::into),
            }
        })
        .await
    }

    pub(super) async fn sensors_health(
        &self,
        scope: SensorHealthScope,
        page: &PageRequest,
    ) -> StoreResult<Page<SensorHealthEvent>> {
        let before = match &page.after {
            Some(_) => Some(after_key(page, "sensor health")?),
            None => None,
        };
        let limit = page.effective_limit();
        self.read(move |conn| {
            let (sql, key) = match scope {
                SensorHealthScope::Sensor(sensor) => (
                    format!("SELECT {HEALTH_COLUMNS} FROM sensor_health_events WHERE sensor_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"),
                    sensor.to_string(),
                ),
                SensorHealthScope::Subtree(tenant) => (
                    format!("{SUBTREE} SELECT {HEALTH_COLUMNS} FROM sensor_health_events WHERE tenant_id IN (SELECT id FROM subtree) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"),
                    tenant.to_string(),
                ),
            };
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![key, before, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, health_from_row)?;
            Ok(Page::from_rows(items, limit, |e| e.id.to_string(), "sensor health"))
        })
        .await
    }
}
