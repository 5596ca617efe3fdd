//! The sensor registry on PostgreSQL: sensors, their lookup indexes, ingest
//! tokens and health events.
//!
//! Every change locks the audit chain head first, as every other change
//! does, so the collision checks below cannot race another writer; the
//! unique indexes stand behind them.

use std::net::IpAddr;

use deadpool_postgres::{GenericClient, Transaction};
use nigehban_model::{
    AuditAction, CertificateFingerprint, InstanceId, SecretHash, Sensor, SensorHealthEvent,
    SensorHealthEventId, SensorId, SensorToken, SensorTokenId, SourceNetwork, SubjectCommonName,
    TenantId, Timestamp,
};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{
    PostgresStore, SUBTREE, after_uuid, from_ts, get_tenant, is_unique_violation, lock_head, ts,
};
use crate::rows::{
    SensorColumns, StoredSensor, address_key, change_draft, health_columns, health_from_columns,
    network_row, overlaps_another_tenant, rank_by_specificity, registration_record,
    rotation_records, taken,
};
use crate::{
    AuditContext, Page, PageRequest, SensorChange, SensorHealthScope, StoreError, StoreResult,
};

const SENSOR_COLUMNS: &str = "id, instance_id, tenant_id, name, kind, expected_formats, expected_interval_secs, source_addresses, tls_fingerprints, tls_subject_cn, host_os_type, utc_offset_minutes, active, created_at, updated_at";

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sensor_from_row(row: &Row) -> StoreResult<Sensor> {
    StoredSensor {
        id: SensorId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        name: row.try_get(3)?,
        kind: row.try_get(4)?,
        formats: row.try_get(5)?,
        interval: row.try_get(6)?,
        addresses: row.try_get(7)?,
        fingerprints: row.try_get(8)?,
        subject_cn: row.try_get(9)?,
        os: row.try_get(10)?,
        offset: row.try_get(11)?,
        active: row.try_get(12)?,
        created_at: from_ts(row.try_get(13)?),
        updated_at: from_ts(row.try_get(14)?),
    }
    .decode()
}

const TOKEN_COLUMNS: &str = "id, instance_id, sensor_id, tenant_id, created_at, expires_at, last_used_at, last_used_from, revoked_at";

fn token_from_row(row: &Row) -> StoreResult<SensorToken> {
    let optional = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .try_get::<_, Option<OffsetDateTime>>(index)?
            .map(from_ts))
    };
    Ok(SensorToken {
        id: SensorTokenId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        sensor: SensorId::from_uuid(row.try_get(2)?),
        tenant: TenantId::from_uuid(row.try_get(3)?),
        created_at: from_ts(row.try_get(4)?),
        expires_at: optional(5)?,
        last_used_at: optional(6)?,
        last_used_from: row.try_get(7)?,
        revoked_at: optional(8)?,
    })
}

const HEALTH_COLUMNS: &str = "id, instance_id, sensor_id, tenant_id, kind, since, seconds, at";

fn health_from_row(row: &Row) -> StoreResult<SensorHealthEvent> {
    let kind: String = row.try_get(4)?;
    Ok(SensorHealthEvent {
        id: SensorHealthEventId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        sensor: SensorId::from_uuid(row.try_get(2)?),
        tenant: TenantId::from_uuid(row.try_get(3)?),
        kind: health_from_columns(&kind, from_ts(row.try_get(5)?), row.try_get(6)?)?,
        at: from_ts(row.try_get(7)?),
    })
}

async fn get_sensor(client: &impl GenericClient, id: SensorId) -> StoreResult<Option<Sensor>> {
    let sql = format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(sensor_from_row)
        .transpose()
}

async fn get_token(
    client: &impl GenericClient,
    id: SensorTokenId,
) -> StoreResult<Option<SensorToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
}

async fn tokens_of(client: &impl GenericClient, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE sensor_id = $1 ORDER BY id");
    client
        .query(&sql, &[&sensor.as_uuid()])
        .await?
        .iter()
        .map(token_from_row)
        .collect()
}

/// Refuses a sensor whose name, networks, fingerprints or subject CN another
/// active sensor holds (under the chain-head lock, so without races).
async fn check_free(tx: &Transaction<'_>, sensor: &Sensor) -> StoreResult<()> {
    let id = sensor.id.as_uuid();
    if tx
        .query_opt(
            "SELECT 1 FROM sensors WHERE tenant_id = $1 AND name = $2 AND active AND id <> $3",
            &[&sensor.tenant.as_uuid(), &sensor.name.as_str(), &id],
        )
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict(format!(
            "the tenant already has an active sensor named {:?}",
            sensor.name.as_str()
        )));
    }
    for network in &sensor.source_addresses {
        let (family, prefix, first, last) = network_row(network);
        // Another tenant's network that contains, lies inside or equals this
        // one would let one tenant capture the other's syslog.
        if tx
            .query_opt(
                "SELECT 1 FROM sensor_networks n JOIN sensors s ON s.id = n.sensor_id
                 WHERE n.family = $1 AND n.first_address <= $2 AND n.last_address >= $3
                   AND s.active AND s.tenant_id <> $4 LIMIT 1",
                &[&family, &last, &first, &sensor.tenant.as_uuid()],
            )
            .await?
            .is_some()
        {
            return Err(overlaps_another_tenant(network));
        }
        if tx
            .query_opt(
                "SELECT 1 FROM sensor_networks WHERE family = $1 AND first_address = $2 AND prefix_len = $3 AND sensor_id <> $4",
                &[&family, &first, &prefix, &id],
            )
            .await?
            .is_some()
        {
            return Err(taken(&format!("source address {network}")));
        }
    }
    for fingerprint in &sensor.tls_client_fingerprints {
        if tx
            .query_opt(
                "SELECT 1 FROM sensor_fingerprints WHERE fingerprint = $1 AND sensor_id <> $2",
                &[&fingerprint.to_hex(), &id],
            )
            .await?
            .is_some()
        {
            return Err(taken(&format!("TLS client certificate {fingerprint}")));
        }
    }
    if let Some(cn) = &sensor.tls_subject_cn
        && tx
            .query_opt(
                "SELECT 1 FROM sensors WHERE tls_subject_cn = $1 AND active AND id <> $2",
                &[&cn.as_str(), &id],
            )
            .await?
            .is_some()
    {
        return Err(taken(&format!("TLS subject common name {:?}", cn.as_str())));
    }
    Ok(())
}

/// Rewrites the lookup rows of a sensor: its networks and fingerprints while
/// it is active, nothing once it is deactivated.
async fn write_index(tx: &Transaction<'_>, sensor: &Sensor) -> StoreResult<()> {
    let id = sensor.id.as_uuid();
    tx.execute("DELETE FROM sensor_networks WHERE sensor_id = $1", &[&id])
        .await?;
    tx.execute(
        "DELETE FROM sensor_fingerprints WHERE sensor_id = $1",
        &[&id],
    )
    .await?;
    if !sensor.active {
        return Ok(());
    }
    for network in &sensor.source_addresses {
        let (family, prefix, first, last) = network_row(network);
        tx.execute(
            "INSERT INTO sensor_networks (sensor_id, family, prefix_len, first_address, last_address) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &family, &prefix, &first, &last],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&format!("source address {network}"))
            } else {
                e.into()
            }
        })?;
    }
    for fingerprint in &sensor.tls_client_fingerprints {
        tx.execute(
            "INSERT INTO sensor_fingerprints (fingerprint, sensor_id) VALUES ($1, $2)",
            &[&fingerprint.to_hex(), &id],
        )
        .await
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

async fn write_sensor_row(tx: &Transaction<'_>, sensor: &Sensor, insert: bool) -> StoreResult<()> {
    let c = SensorColumns::of(sensor)?;
    let sql = if insert {
        format!(
            "INSERT INTO sensors ({SENSOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )
    } else {
        "UPDATE sensors SET instance_id = $2, tenant_id = $3, name = $4, kind = $5, expected_formats = $6, expected_interval_secs = $7, source_addresses = $8, tls_fingerprints = $9, tls_subject_cn = $10, host_os_type = $11, utc_offset_minutes = $12, active = $13, created_at = $14, updated_at = $15 WHERE id = $1".to_owned()
    };
    tx.execute(
        &sql,
        &[
            &sensor.id.as_uuid(),
            &sensor.instance.as_uuid(),
            &sensor.tenant.as_uuid(),
            &sensor.name.as_str(),
            &c.kind,
            &c.formats,
            &c.interval,
            &c.addresses,
            &c.fingerprints,
            &c.subject_cn,
            &c.os,
            &c.offset,
            &sensor.active,
            &ts(sensor.created_at),
            &ts(sensor.updated_at),
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            if e.to_string().contains("subject_cn")
                || e.as_db_error()
                    .and_then(|db| db.constraint())
                    .is_some_and(|c| c.contains("subject_cn"))
            {
                taken("the TLS subject common name")
            } else {
                StoreError::Conflict(format!(
                    "the tenant already has an active sensor named {:?}",
                    sensor.name.as_str()
                ))
            }
        } else {
            e.into()
        }
    })?;
    Ok(())
}

async fn insert_token(
    tx: &Transaction<'_>,
    token: &SensorToken,
    secret: &SecretHash,
) -> StoreResult<()> {
    let inserted = tx
        .execute(
            &format!("INSERT INTO sensor_tokens ({TOKEN_COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            &[
                &token.id.as_uuid(),
                &token.instance.as_uuid(),
                &token.sensor.as_uuid(),
                &token.tenant.as_uuid(),
                &ts(token.created_at),
                &token.expires_at.map(ts),
                &token.last_used_at.map(ts),
                &token.last_used_from,
                &token.revoked_at.map(ts),
                &secret.as_bytes().as_slice(),
            ],
        )
        .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "sensor token {} already exists",
            token.id
        ))),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

impl PostgresStore {
    pub(super) async fn sensors_insert(
        &self,
        sensor: &Sensor,
        token: &SensorToken,
        secret: &SecretHash,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        if get_tenant(&tx, sensor.tenant).await?.is_none() {
            return Err(StoreError::not_found("tenant", sensor.tenant));
        }
        if get_sensor(&tx, sensor.id).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "sensor {} already exists",
                sensor.id
            )));
        }
        check_free(&tx, sensor).await?;
        write_sensor_row(&tx, sensor, true).await?;
        write_index(&tx, sensor).await?;
        insert_token(&tx, token, secret).await?;
        let record = registration_record(sensor, token)?;
        let draft = change_draft(
            self.instance,
            ctx,
            sensor.tenant,
            AuditAction::SENSOR_REGISTER,
            "sensor",
            sensor.id.to_string(),
            None,
            Some(&record),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn sensors_update(
        &self,
        id: SensorId,
        change: SensorChange,
        ctx: &AuditContext,
    ) -> StoreResult<Sensor> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_sensor(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("sensor", id))?;
        let (after, action) = match change {
            SensorChange::Update(update) => {
                if !before.active {
                    return Err(StoreError::Conflict(format!(
                        "sensor {id} is deactivated and cannot be changed"
                    )));
                }
                let after = update
                    .apply(&before, ctx.at)
                    .map_err(|e| StoreError::Conflict(e.to_string()))?;
                check_free(&tx, &after).await?;
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
                    "UPDATE sensor_tokens SET revoked_at = $2 WHERE sensor_id = $1 AND revoked_at IS NULL",
                    &[&id.as_uuid(), &ts(ctx.at)],
                )
                .await?;
                (after, AuditAction::SENSOR_DEACTIVATE)
            }
        };
        write_sensor_row(&tx, &after, false).await?;
        write_index(&tx, &after).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            action,
            "sensor",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn sensors_get(&self, id: SensorId) -> StoreResult<Option<Sensor>> {
        get_sensor(&self.client().await?, id).await
    }

    pub(super) async fn sensors_list(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        let after = after_uuid(page, "sensors")?;
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT {SENSOR_COLUMNS} FROM sensors WHERE tenant_id IN (SELECT id FROM subtree) AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&subtree.as_uuid(), &after, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(sensor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |s| s.id.to_string(),
            "sensors",
        ))
    }

    pub(super) async fn sensors_list_active(
        &self,
        page: &PageRequest,
    ) -> StoreResult<Page<Sensor>> {
        let after = after_uuid(page, "active sensors")?;
        let limit = page.effective_limit();
        let sql = format!(
            "SELECT {SENSOR_COLUMNS} FROM sensors WHERE active AND id > $1 ORDER BY id LIMIT $2"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&after, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(sensor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |s| s.id.to_string(),
            "active sensors",
        ))
    }

    pub(super) async fn sensors_at_address(
        &self,
        address: IpAddr,
    ) -> StoreResult<Vec<(Sensor, SourceNetwork)>> {
        let (family, key) = address_key(address);
        let sql = format!(
            "SELECT {} FROM sensor_networks n JOIN sensors s ON s.id = n.sensor_id
             WHERE n.family = $1 AND n.first_address <= $2 AND n.last_address >= $2 AND s.active
             ORDER BY n.prefix_len DESC, s.id",
            prefixed("s", SENSOR_COLUMNS)
        );
        let rows = self.client().await?.query(&sql, &[&family, &key]).await?;
        let sensors = rows
            .iter()
            .map(sensor_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(rank_by_specificity(sensors, address))
    }

    pub(super) async fn sensors_by_fingerprint(
        &self,
        fingerprint: &CertificateFingerprint,
    ) -> StoreResult<Option<Sensor>> {
        let sql = format!(
            "SELECT {} FROM sensor_fingerprints f JOIN sensors s ON s.id = f.sensor_id WHERE f.fingerprint = $1 AND s.active",
            prefixed("s", SENSOR_COLUMNS)
        );
        self.client()
            .await?
            .query_opt(&sql, &[&fingerprint.to_hex()])
            .await?
            .as_ref()
            .map(sensor_from_row)
            .transpose()
    }

    pub(super) async fn sensors_by_subject_cn(
        &self,
        subject_cn: &SubjectCommonName,
    ) -> StoreResult<Option<Sensor>> {
        let sql =
            format!("SELECT {SENSOR_COLUMNS} FROM sensors WHERE tls_subject_cn = $1 AND active");
        self.client()
            .await?
            .query_opt(&sql, &[&subject_cn.as_str()])
            .await?
            .as_ref()
            .map(sensor_from_row)
            .transpose()
    }

    pub(super) async fn sensors_rotate_token(
        &self,
        token: &SensorToken,
        secret: &SecretHash,
        old_until: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<Vec<SensorToken>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let sensor = get_sensor(&tx, token.sensor)
            .await?
            .ok_or_else(|| StoreError::not_found("sensor", token.sensor))?;
        if !sensor.active {
            return Err(StoreError::Conflict(format!(
                "sensor {} is deactivated: its tokens cannot be rotated",
                sensor.id
            )));
        }
        let before: Vec<SensorToken> = tokens_of(&tx, sensor.id)
            .await?
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
                "UPDATE sensor_tokens SET expires_at = $2, revoked_at = $3 WHERE id = $1",
                &[
                    &ended.id.as_uuid(),
                    &ended.expires_at.map(ts),
                    &ended.revoked_at.map(ts),
                ],
            )
            .await?;
            after.push(ended);
        }
        let token = SensorToken {
            tenant: sensor.tenant,
            ..token.clone()
        };
        insert_token(&tx, &token, secret).await?;
        let (before_record, after_record) = rotation_records(&before, &after, &token)?;
        let draft = change_draft(
            self.instance,
            ctx,
            sensor.tenant,
            AuditAction::SENSOR_ROTATE_TOKEN,
            "sensor",
            sensor.id.to_string(),
            Some(&before_record),
            Some(&after_record),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn sensors_revoke_token(
        &self,
        id: SensorTokenId,
        ctx: &AuditContext,
    ) -> StoreResult<SensorToken> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get_token(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("sensor token", id))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.revoked_at = Some(ctx.at);
        tx.execute(
            "UPDATE sensor_tokens SET revoked_at = $2 WHERE id = $1",
            &[&id.as_uuid(), &ts(ctx.at)],
        )
        .await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            AuditAction::SENSOR_REVOKE_TOKEN,
            "sensor_token",
            id.to_string(),
            Some(&before),
            Some(&after),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn sensors_token(
        &self,
        id: SensorTokenId,
    ) -> StoreResult<Option<SensorToken>> {
        get_token(&self.client().await?, id).await
    }

    pub(super) async fn sensors_token_by_secret(
        &self,
        secret: &SecretHash,
    ) -> StoreResult<Option<SensorToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM sensor_tokens WHERE secret_hash = $1");
        self.client()
            .await?
            .query_opt(&sql, &[&secret.as_bytes().as_slice()])
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    pub(super) async fn sensors_touch_token(
        &self,
        id: SensorTokenId,
        at: Timestamp,
        from: Option<String>,
    ) -> StoreResult<()> {
        self.client()
            .await?
            .execute(
                "UPDATE sensor_tokens SET last_used_at = $2, last_used_from = $3 WHERE id = $1",
                &[&id.as_uuid(), &ts(at), &from],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn sensors_tokens(&self, sensor: SensorId) -> StoreResult<Vec<SensorToken>> {
        tokens_of(&self.client().await?, sensor).await
    }

    pub(super) async fn sensors_insert_health(&self, event: &SensorHealthEvent) -> StoreResult<()> {
        let client = self.client().await?;
        let sensor = get_sensor(&client, event.sensor)
            .await?
            .ok_or_else(|| StoreError::not_found("sensor", event.sensor))?;
        if sensor.tenant != event.tenant {
            return Err(StoreError::Conflict(format!(
                "sensor {} does not belong to tenant {}",
                sensor.id, event.tenant
            )));
        }
        let (kind, since, seconds) = health_columns(&event.kind)?;
        let inserted = client
            .execute(
                &format!("INSERT INTO sensor_health_events ({HEALTH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[
                    &event.id.as_uuid(),
                    &event.instance.as_uuid(),
                    &event.sensor.as_uuid(),
                    &event.tenant.as_uuid(),
                    &kind,
                    &ts(since),
                    &seconds,
                    &ts(event.at),
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "sensor health event {} already exists",
                event.id
            ))),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    pub(super) async fn sensors_health(
        &self,
        scope: SensorHealthScope,
        page: &PageRequest,
    ) -> StoreResult<Page<SensorHealthEvent>> {
        let before: Option<Uuid> = match &page.after {
            Some(_) => Some(after_uuid(page, "sensor health")?),
            None => None,
        };
        let limit = page.effective_limit();
        let (sql, key) = match scope {
            SensorHealthScope::Sensor(sensor) => (
                format!(
                    "SELECT {HEALTH_COLUMNS} FROM sensor_health_events WHERE sensor_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
                ),
                sensor.as_uuid(),
            ),
            SensorHealthScope::Subtree(tenant) => (
                format!(
                    "{SUBTREE} SELECT {HEALTH_COLUMNS} FROM sensor_health_events WHERE tenant_id IN (SELECT id FROM subtree) AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
                ),
                tenant.as_uuid(),
            ),
        };
        let rows = self
            .client()
            .await?
            .query(&sql, &[&key, &before, &(i64::from(limit) + 1)])
            .await?;
        let items = rows
            .iter()
            .map(health_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |e| e.id.to_string(),
            "sensor health",
        ))
    }
}
