//! The duty roster on SQLite: versioned JSON documents (`duty_records`,
//! `duty_record_versions`).

use nigehban_model::duty::{DutyRecord, DutyRecordKind};
use nigehban_model::{DutyRecordId, Timestamp};
use rusqlite::{Connection, Row, Transaction, params};

use super::{SUBTREE, SqliteStore, append, is_unique_violation};
use crate::rows::{duty_document, duty_draft, duty_from_document, parse_text};
use crate::{AuditContext, DutyQuery, StoreError, StoreResult};

const COLUMNS: &str = "id, instance_id, tenant_id, kind, name, status, due_at, unique_key, body, version, created_at, updated_at, updated_by";

fn from_row(row: &Row<'_>) -> StoreResult<DutyRecord> {
    let kind: String = row.get(3)?;
    let body: String = row.get(8)?;
    Ok(DutyRecord {
        id: parse_text("duty record id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        kind: DutyRecordKind::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("duty record kind", &kind))?,
        name: row.get(4)?,
        status: row.get(5)?,
        due_at: row
            .get::<_, Option<i64>>(6)?
            .map(Timestamp::from_unix_micros),
        unique_key: row.get(7)?,
        body: serde_json::from_str(&body).map_err(|e| StoreError::corrupt("duty record", e))?,
        version: u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
        created_at: Timestamp::from_unix_micros(row.get(10)?),
        updated_at: Timestamp::from_unix_micros(row.get(11)?),
        updated_by: row
            .get::<_, Option<String>>(12)?
            .map(|t| parse_text("user id", &t))
            .transpose()?,
    })
}

fn get(conn: &Connection, id: DutyRecordId) -> StoreResult<Option<DutyRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM duty_records WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(from_row).transpose()
}

fn keep_version(
    tx: &Transaction<'_>,
    record: &DutyRecord,
    at: Timestamp,
    deleted: bool,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO duty_record_versions (record_id, version, tenant_id, kind, valid_from, deleted, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        record.id.to_string(),
        i64::try_from(record.version).unwrap_or(i64::MAX),
        record.tenant.to_string(),
        record.kind.as_str(),
        at.unix_micros(),
        deleted,
        duty_document(record)?,
    ])?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn duty_put(
        &self,
        record: &DutyRecord,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<DutyRecord> {
        let (mut record, audit) = (record.clone(), audit.cloned());
        self.write(move |tx, instance| {
            record.instance = instance;
            let before = get(tx, record.id)?;
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
                .prepare_cached(&format!(
                    "INSERT INTO duty_records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status,
                         due_at = excluded.due_at, unique_key = excluded.unique_key, body = excluded.body,
                         version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
                ))?
                .execute(params![
                    record.id.to_string(),
                    record.instance.to_string(),
                    record.tenant.to_string(),
                    record.kind.as_str(),
                    record.name,
                    record.status,
                    record.due_at.map(Timestamp::unix_micros),
                    record.unique_key,
                    body,
                    i64::try_from(record.version).unwrap_or(i64::MAX),
                    record.created_at.unix_micros(),
                    record.updated_at.unix_micros(),
                    record.updated_by.map(|u| u.to_string()),
                ]);
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
            keep_version(tx, &record, record.updated_at, false)?;
            if let Some(ctx) = &audit {
                let verb = if before.is_some() { "update" } else { "create" };
                append(
                    tx,
                    duty_draft(instance, ctx, verb, before.as_ref(), Some(&record))?,
                )?;
            }
            Ok(record)
        })
        .await
    }

    pub(super) async fn duty_delete(
        &self,
        id: DutyRecordId,
        ctx: &AuditContext,
    ) -> StoreResult<DutyRecord> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get(tx, id)?.ok_or_else(|| StoreError::not_found("duty record", id))?;
            tx.prepare_cached("DELETE FROM duty_records WHERE id = ?1")?
                .execute(params![id.to_string()])?;
            let mut gone = before.clone();
            gone.version += 1;
            keep_version(tx, &gone, ctx.at, true)?;
            append(
                tx,
                duty_draft(instance, &ctx, "delete", Some(&before), None)?,
            )?;
            Ok(before)
        })
        .await
    }

    pub(super) async fn duty_get(&self, id: DutyRecordId) -> StoreResult<Option<DutyRecord>> {
        self.read(move |conn| get(conn, id)).await
    }

    pub(super) async fn duty_by_key(&self, key: &str) -> StoreResult<Option<DutyRecord>> {
        let key = key.to_owned();
        self.read(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM duty_records WHERE unique_key = ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![key])?;
            rows.next()?.map(from_row).transpose()
        })
        .await
    }

    pub(super) async fn duty_versions(
        &self,
        id: DutyRecordId,
    ) -> StoreResult<Vec<(Timestamp, bool, DutyRecord)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT valid_from, deleted, document FROM duty_record_versions WHERE record_id = ?1 ORDER BY version",
            )?;
            let mut rows = stmt.query(params![id.to_string()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let document: String = row.get(2)?;
                out.push((
                    Timestamp::from_unix_micros(row.get(0)?),
                    row.get(1)?,
                    duty_from_document(&document)?,
                ));
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn duty_list(&self, query: &DutyQuery) -> StoreResult<Vec<DutyRecord>> {
        let query = query.clone();
        self.read(move |conn| {
            let mut sql = String::new();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut clauses = vec!["kind = ?".to_owned()];
            if let Some(subtree) = query.subtree {
                sql.push_str(SUBTREE);
                args.push(subtree.to_string().into());
                clauses.push("tenant_id IN (SELECT id FROM subtree)".to_owned());
            }
            args.push(query.kind.as_str().to_owned().into());
            if let Some(status) = &query.status {
                clauses.push("status = ?".to_owned());
                args.push(status.clone().into());
            }
            let order = if let Some(due) = query.due_by {
                clauses.push("due_at IS NOT NULL AND due_at <= ?".to_owned());
                args.push(due.unix_micros().into());
                "due_at, id"
            } else {
                "id"
            };
            args.push(i64::from(query.limit.clamp(1, 10_000)).into());
            // `?1` in SUBTREE is the first positional argument either way.
            let sql = format!(
                "{sql} SELECT {COLUMNS} FROM duty_records WHERE {} ORDER BY {order} LIMIT ?",
                clauses.join(" AND ")
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(from_row(row)?);
            }
            Ok(out)
        })
        .await
    }
}
