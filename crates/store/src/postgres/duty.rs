//! The duty roster on PostgreSQL: versioned JSON documents (`duty_records`,
//! `duty_record_versions`). Audited changes lock the audit head first, as
//! every audited write does.

use deadpool_postgres::{GenericClient, Transaction};
use nigehban_model::duty::{DutyRecord, DutyRecordKind};
use nigehban_model::{DutyRecordId, InstanceId, TenantId, Timestamp, UserId};
use tokio_postgres::Row;

use super::{PostgresStore, SUBTREE, from_ts, is_unique_violation, lock_head, ts};
use crate::rows::{duty_document, duty_draft, duty_from_document};
use crate::{AuditContext, DutyQuery, StoreError, StoreResult};

const COLUMNS: &str = "id, instance_id, tenant_id, kind, name, status, due_at, unique_key, body, version, created_at, updated_at, updated_by";

fn from_row(row: &Row) -> StoreResult<DutyRecord> {
    let kind: &str = row.try_get(3)?;
    let body: &str = row.try_get(8)?;
    Ok(DutyRecord {
        id: DutyRecordId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        kind: DutyRecordKind::parse(kind)
            .ok_or_else(|| StoreError::corrupt("duty record kind", kind))?,
        name: row.try_get(4)?,
        status: row.try_get(5)?,
        due_at: row
            .try_get::<_, Option<time::OffsetDateTime>>(6)?
            .map(from_ts),
        unique_key: row.try_get(7)?,
        body: serde_json::from_str(body).map_err(|e| StoreError::corrupt("duty record", e))?,
        version: u64::try_from(row.try_get::<_, i64>(9)?).unwrap_or(0),
        created_at: from_ts(row.try_get(10)?),
        updated_at: from_ts(row.try_get(11)?),
        updated_by: row
            .try_get::<_, Option<uuid::Uuid>>(12)?
            .map(UserId::from_uuid),
    })
}

async fn get(client: &impl GenericClient, id: DutyRecordId) -> StoreResult<Option<DutyRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM duty_records WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

async fn keep_version(
    tx: &Transaction<'_>,
    record: &DutyRecord,
    at: Timestamp,
    deleted: bool,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO duty_record_versions (record_id, version, tenant_id, kind, valid_from, deleted, document)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &record.id.as_uuid(),
            &i64::try_from(record.version).unwrap_or(i64::MAX),
            &record.tenant.as_uuid(),
            &record.kind.as_str(),
            &ts(at),
            &deleted,
            &duty_document(record)?,
        ],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn duty_put(
        &self,
        record: &DutyRecord,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<DutyRecord> {
        let mut record = record.clone();
        record.instance = self.instance;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = match audit {
            Some(_) => Some(lock_head(&tx).await?),
            None => None,
        };
        let before = match get(&tx, record.id).await? {
            Some(_) => {
                let sql = format!("SELECT {COLUMNS} FROM duty_records WHERE id = $1 FOR UPDATE");
                tx.query_opt(&sql, &[&record.id.as_uuid()])
                    .await?
                    .as_ref()
                    .map(from_row)
                    .transpose()?
            }
            None => None,
        };
        match (&before, expected_version) {
            (None, 0) => {}
            (None, _) => return Err(StoreError::not_found("duty record", record.id)),
            (Some(_), 0) => {
                return Err(StoreError::Conflict(format!(
                    "duty record {} exists already",
                    record.id
                )));
            }
            (Some(stored), v) if stored.version != v => {
                return Err(StoreError::Stale {
                    kind: "duty record",
                    id: record.id.to_string(),
                });
            }
            (Some(stored), _) => {
                record.created_at = stored.created_at;
                record.tenant = stored.tenant;
                record.kind = stored.kind;
            }
        }
        record.version = expected_version + 1;
        let body = serde_json::to_string(&record.body)
            .map_err(|e| StoreError::corrupt("duty record", e))?;
        let written = tx
            .execute(
                &format!(
                    "INSERT INTO duty_records ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status,
                         due_at = excluded.due_at, unique_key = excluded.unique_key, body = excluded.body,
                         version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
                ),
                &[
                    &record.id.as_uuid(),
                    &record.instance.as_uuid(),
                    &record.tenant.as_uuid(),
                    &record.kind.as_str(),
                    &record.name,
                    &record.status,
                    &record.due_at.map(ts),
                    &record.unique_key,
                    &body,
                    &i64::try_from(record.version).unwrap_or(i64::MAX),
                    &ts(record.created_at),
                    &ts(record.updated_at),
                    &record.updated_by.map(|u| u.as_uuid()),
                ],
            )
            .await;
        match written {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "a duty record with key {:?} exists already",
                    record.unique_key.as_deref().unwrap_or("")
                )));
            }
            other => {
                other?;
            }
        }
        keep_version(&tx, &record, record.updated_at, false).await?;
        if let (Some(ctx), Some(head)) = (audit, head) {
            let verb = if before.is_some() { "update" } else { "create" };
            let draft = duty_draft(self.instance, ctx, verb, before.as_ref(), Some(&record))?;
            self.append(&tx, head, draft).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    pub(super) async fn duty_delete(
        &self,
        id: DutyRecordId,
        ctx: &AuditContext,
    ) -> StoreResult<DutyRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("duty record", id))?;
        tx.execute("DELETE FROM duty_records WHERE id = $1", &[&id.as_uuid()])
            .await?;
        let mut gone = before.clone();
        gone.version += 1;
        keep_version(&tx, &gone, ctx.at, true).await?;
        let draft = duty_draft(self.instance, ctx, "delete", Some(&before), None)?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(before)
    }

    pub(super) async fn duty_get(&self, id: DutyRecordId) -> StoreResult<Option<DutyRecord>> {
        let client = self.client().await?;
        get(&client, id).await
    }

    pub(super) async fn duty_by_key(&self, key: &str) -> StoreResult<Option<DutyRecord>> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM duty_records WHERE unique_key = $1");
        client
            .query_opt(&sql, &[&key])
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub(super) async fn duty_versions(
        &self,
        id: DutyRecordId,
    ) -> StoreResult<Vec<(Timestamp, bool, DutyRecord)>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT valid_from, deleted, document FROM duty_record_versions WHERE record_id = $1 ORDER BY version",
                &[&id.as_uuid()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let document: &str = row.try_get(2)?;
                Ok((
                    from_ts(row.try_get(0)?),
                    row.try_get(1)?,
                    duty_from_document(document)?,
                ))
            })
            .collect()
    }

    pub(super) async fn duty_list(&self, query: &DutyQuery) -> StoreResult<Vec<DutyRecord>> {
        let client = self.client().await?;
        let order = if query.due_by.is_some() {
            "due_at, id"
        } else {
            "id"
        };
        let sql = format!(
            "{SUBTREE} SELECT {COLUMNS} FROM duty_records WHERE kind = $2
                 AND ($1::uuid IS NULL OR tenant_id IN (SELECT id FROM subtree))
                 AND ($3::text IS NULL OR status = $3)
                 AND ($4::timestamptz IS NULL OR (due_at IS NOT NULL AND due_at <= $4))
             ORDER BY {order} LIMIT $5"
        );
        let rows = client
            .query(
                &sql,
                &[
                    &query.subtree.map(|t| t.as_uuid()),
                    &query.kind.as_str(),
                    &query.status,
                    &query.due_by.map(ts),
                    &i64::from(query.limit.clamp(1, 10_000)),
                ],
            )
            .await?;
        rows.iter().map(from_row).collect()
    }
}
