//! Shared threat intelligence on SQLite: indicators as JSON documents
//! (`intel_indicators`), their sightings (`intel_sightings`) and the intel
//! revision matching nodes poll.

use nigehban_model::indicator::{Indicator, IndicatorValue, Sighting};
use nigehban_model::{IndicatorId, TenantId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{SqliteStore, append, is_unique_violation};
use crate::rows::{
    indicator_document, indicator_draft, indicator_from_document, sighting_document,
    sighting_from_document,
};
use crate::{AuditContext, IndicatorQuery, SightingRecorded, StoreError, StoreResult};

fn get(conn: &Connection, id: IndicatorId) -> StoreResult<Option<Indicator>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM intel_indicators WHERE id = ?1")?
        .query_row(params![id.to_string()], |row| row.get(0))
        .optional()?;
    body.as_deref().map(indicator_from_document).transpose()
}

fn bump_revision(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.prepare_cached("UPDATE intel_revision SET revision = revision + 1 WHERE singleton = 1")?
        .execute([])?;
    Ok(())
}

fn taken(indicator: &Indicator) -> StoreError {
    StoreError::Conflict(format!(
        "the tenant holds an indicator for {} already",
        indicator.value
    ))
}

impl SqliteStore {
    pub(super) async fn indicator_put(
        &self,
        indicator: &Indicator,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<Indicator> {
        let (mut indicator, audit) = (indicator.clone(), audit.cloned());
        self.write(move |tx, instance| {
            indicator.instance = instance;
            let before = get(tx, indicator.id)?;
            match (&before, expected_version) {
                (None, 0) => {}
                (None, _) => return Err(StoreError::not_found("indicator", indicator.id)),
                (Some(_), 0) => {
                    return Err(StoreError::Conflict(format!(
                        "indicator {} exists already",
                        indicator.id
                    )));
                }
                (Some(stored), v) if stored.version != v => {
                    return Err(StoreError::Stale {
                        kind: "indicator",
                        id: indicator.id.to_string(),
                    });
                }
                (Some(stored), _) => {
                    indicator.created_at = stored.created_at;
                    indicator.tenant = stored.tenant;
                }
            }
            indicator.version = expected_version + 1;
            let written = tx
                .prepare_cached(
                    "INSERT INTO intel_indicators (id, instance_id, tenant_id, kind, value, tlp, revoked, body, version, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, value = excluded.value, tlp = excluded.tlp,
                         revoked = excluded.revoked, body = excluded.body, version = excluded.version,
                         updated_at = excluded.updated_at",
                )?
                .execute(params![
                    indicator.id.to_string(),
                    indicator.instance.to_string(),
                    indicator.tenant.to_string(),
                    indicator.value.kind().as_str(),
                    indicator.value.value(),
                    indicator.tlp.as_str(),
                    indicator.revoked,
                    indicator_document(&indicator)?,
                    i64::try_from(indicator.version).unwrap_or(i64::MAX),
                    indicator.updated_at.unix_micros(),
                ]);
            match written {
                Err(e) if is_unique_violation(&e) => return Err(taken(&indicator)),
                other => {
                    other?;
                }
            }
            bump_revision(tx)?;
            if let Some(ctx) = &audit {
                let verb = if before.is_some() { "update" } else { "create" };
                append(
                    tx,
                    indicator_draft(instance, ctx, verb, before.as_ref(), Some(&indicator))?,
                )?;
            }
            Ok(indicator)
        })
        .await
    }

    pub(super) async fn indicator_delete(
        &self,
        id: IndicatorId,
        ctx: &AuditContext,
    ) -> StoreResult<Indicator> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before = get(tx, id)?.ok_or_else(|| StoreError::not_found("indicator", id))?;
            tx.prepare_cached("DELETE FROM intel_indicators WHERE id = ?1")?
                .execute(params![id.to_string()])?;
            bump_revision(tx)?;
            append(
                tx,
                indicator_draft(instance, &ctx, "delete", Some(&before), None)?,
            )?;
            Ok(before)
        })
        .await
    }

    pub(super) async fn indicator_get(&self, id: IndicatorId) -> StoreResult<Option<Indicator>> {
        self.read(move |conn| get(conn, id)).await
    }

    pub(super) async fn indicator_by_value_get(
        &self,
        tenant: TenantId,
        value: &IndicatorValue,
    ) -> StoreResult<Option<Indicator>> {
        let value = value.clone();
        self.read(move |conn| {
            let body: Option<String> = conn
                .prepare_cached(
                    "SELECT body FROM intel_indicators WHERE tenant_id = ?1 AND kind = ?2 AND value = ?3",
                )?
                .query_row(
                    params![tenant.to_string(), value.kind().as_str(), value.value()],
                    |row| row.get(0),
                )
                .optional()?;
            body.as_deref().map(indicator_from_document).transpose()
        })
        .await
    }

    pub(super) async fn indicator_list(
        &self,
        query: &IndicatorQuery,
    ) -> StoreResult<Vec<Indicator>> {
        let query = query.clone();
        self.read(move |conn| {
            let mut clauses = vec!["1 = 1".to_owned()];
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(after) = query.after {
                clauses.push("id > ?".into());
                args.push(after.to_string().into());
            }
            if let Some(kind) = query.kind {
                clauses.push("kind = ?".into());
                args.push(kind.as_str().to_owned().into());
            }
            if let Some(value) = &query.value {
                clauses.push("value = ?".into());
                args.push(value.clone().into());
            }
            if let Some(tenant) = query.tenant {
                clauses.push("tenant_id = ?".into());
                args.push(tenant.to_string().into());
            }
            if let Some(since) = query.changed_since {
                clauses.push("updated_at >= ?".into());
                args.push(since.unix_micros().into());
            }
            if query.active_only {
                clauses.push("revoked = 0".into());
            }
            args.push(i64::from(query.limit.clamp(1, 100_000)).into());
            let sql = format!(
                "SELECT body FROM intel_indicators WHERE {} ORDER BY id LIMIT ?",
                clauses.join(" AND ")
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let body: String = row.get(0)?;
                out.push(indicator_from_document(&body)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn sighting_record(
        &self,
        sighting: &Sighting,
    ) -> StoreResult<SightingRecorded> {
        let sighting = sighting.clone();
        self.write(move |tx, _| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO intel_sightings (id, indicator_id, tenant_id, event_id, seen_at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    sighting.id.to_string(),
                    sighting.indicator.to_string(),
                    sighting.tenant.to_string(),
                    sighting.event_id,
                    sighting.seen_at.unix_micros(),
                    sighting_document(&sighting)?,
                ])?;
            Ok(if inserted == 1 {
                SightingRecorded::New
            } else {
                SightingRecorded::Duplicate
            })
        })
        .await
    }

    pub(super) async fn sightings_of(&self, indicator: IndicatorId) -> StoreResult<Vec<Sighting>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT body FROM intel_sightings WHERE indicator_id = ?1 ORDER BY seen_at, id",
            )?;
            let mut rows = stmt.query(params![indicator.to_string()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let body: String = row.get(0)?;
                out.push(sighting_from_document(&body)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn intel_revision_now(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let revision: Option<i64> = conn
                .prepare_cached("SELECT revision FROM intel_revision WHERE singleton = 1")?
                .query_row([], |row| row.get(0))
                .optional()?;
            Ok(revision.map_or(0, |r| u64::try_from(r).unwrap_or(0)))
        })
        .await
    }
}
