//! Shared threat intelligence on PostgreSQL: indicators as JSON documents
//! (`intel_indicators`), their sightings (`intel_sightings`) and the intel
//! revision matching nodes poll. Audited changes lock the audit head first,
//! as every audited write does.

use deadpool_postgres::{GenericClient, Transaction};
use nigehban_model::indicator::{Indicator, IndicatorValue, Sighting};
use nigehban_model::{IndicatorId, TenantId};
use tokio_postgres::types::ToSql;

use super::{PostgresStore, is_unique_violation, lock_head, ts};
use crate::rows::{
    indicator_document, indicator_draft, indicator_from_document, sighting_document,
    sighting_from_document,
};
use crate::{AuditContext, IndicatorQuery, SightingRecorded, StoreError, StoreResult};

async fn get(
    client: &impl GenericClient,
    id: IndicatorId,
    for_update: bool,
) -> StoreResult<Option<Indicator>> {
    let sql = if for_update {
        "SELECT body FROM intel_indicators WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM intel_indicators WHERE id = $1"
    };
    match client.query_opt(sql, &[&id.as_uuid()]).await? {
        Some(row) => Ok(Some(indicator_from_document(row.try_get(0)?)?)),
        None => Ok(None),
    }
}

async fn bump_revision(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute(
        "UPDATE intel_revision SET revision = revision + 1 WHERE singleton = 1",
        &[],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn indicator_put(
        &self,
        indicator: &Indicator,
        expected_version: u64,
        audit: Option<&AuditContext>,
    ) -> StoreResult<Indicator> {
        let mut indicator = indicator.clone();
        indicator.instance = self.instance;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = match audit {
            Some(_) => Some(lock_head(&tx).await?),
            None => None,
        };
        let before = get(&tx, indicator.id, true).await?;
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
            .execute(
                "INSERT INTO intel_indicators (id, instance_id, tenant_id, kind, value, tlp, revoked, body, version, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, value = excluded.value, tlp = excluded.tlp,
                     revoked = excluded.revoked, body = excluded.body, version = excluded.version,
                     updated_at = excluded.updated_at",
                &[
                    &indicator.id.as_uuid(),
                    &indicator.instance.as_uuid(),
                    &indicator.tenant.as_uuid(),
                    &indicator.value.kind().as_str(),
                    &indicator.value.value(),
                    &indicator.tlp.as_str(),
                    &indicator.revoked,
                    &indicator_document(&indicator)?,
                    &i64::try_from(indicator.version).unwrap_or(i64::MAX),
                    &ts(indicator.updated_at),
                ],
            )
            .await;
        match written {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "the tenant holds an indicator for {} already",
                    indicator.value
                )));
            }
            other => {
                other?;
            }
        }
        bump_revision(&tx).await?;
        if let (Some(ctx), Some(head)) = (audit, head) {
            let verb = if before.is_some() { "update" } else { "create" };
            let draft =
                indicator_draft(self.instance, ctx, verb, before.as_ref(), Some(&indicator))?;
            self.append(&tx, head, draft).await?;
        }
        tx.commit().await?;
        Ok(indicator)
    }

    pub(super) async fn indicator_delete(
        &self,
        id: IndicatorId,
        ctx: &AuditContext,
    ) -> StoreResult<Indicator> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        let before = get(&tx, id, true)
            .await?
            .ok_or_else(|| StoreError::not_found("indicator", id))?;
        tx.execute(
            "DELETE FROM intel_indicators WHERE id = $1",
            &[&id.as_uuid()],
        )
        .await?;
        bump_revision(&tx).await?;
        let draft = indicator_draft(self.instance, ctx, "delete", Some(&before), None)?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(before)
    }

    pub(super) async fn indicator_get(&self, id: IndicatorId) -> StoreResult<Option<Indicator>> {
        let client = self.client().await?;
        get(&client, id, false).await
    }

    pub(super) async fn indicator_by_value_get(
        &self,
        tenant: TenantId,
        value: &IndicatorValue,
    ) -> StoreResult<Option<Indicator>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT body FROM intel_indicators WHERE tenant_id = $1 AND kind = $2 AND value = $3",
                &[&tenant.as_uuid(), &value.kind().as_str(), &value.value()],
            )
            .await?;
        match row {
            Some(row) => Ok(Some(indicator_from_document(row.try_get(0)?)?)),
            None => Ok(None),
        }
    }

    pub(super) async fn indicator_list(
        &self,
        query: &IndicatorQuery,
    ) -> StoreResult<Vec<Indicator>> {
        let after = query.after.map(|id| id.as_uuid());
        let kind = query.kind.map(|k| k.as_str().to_owned());
        let tenant = query.tenant.map(|t| t.as_uuid());
        let since = query.changed_since.map(ts);
        let limit = i64::from(query.limit.clamp(1, 100_000));
        let mut clauses = vec!["TRUE".to_owned()];
        let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(after) = &after {
            args.push(after);
            clauses.push(format!("id > ${}", args.len()));
        }
        if let Some(kind) = &kind {
            args.push(kind);
            clauses.push(format!("kind = ${}", args.len()));
        }
        if let Some(value) = &query.value {
            args.push(value);
            clauses.push(format!("value = ${}", args.len()));
        }
        if let Some(tenant) = &tenant {
            args.push(tenant);
            clauses.push(format!("tenant_id = ${}", args.len()));
        }
        if let Some(since) = &since {
            args.push(since);
            clauses.push(format!("updated_at >= ${}", args.len()));
        }
        if query.active_only {
            clauses.push("NOT revoked".to_owned());
        }
        args.push(&limit);
        let sql = format!(
            "SELECT body FROM intel_indicators WHERE {} ORDER BY id LIMIT ${}",
            clauses.join(" AND "),
            args.len()
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &args).await?;
        rows.iter()
            .map(|row| indicator_from_document(row.try_get(0)?))
            .collect()
    }

    pub(super) async fn sighting_record(
        &self,
        sighting: &Sighting,
    ) -> StoreResult<SightingRecorded> {
        let client = self.client().await?;
        let inserted = client
            .execute(
                "INSERT INTO intel_sightings (id, indicator_id, tenant_id, event_id, seen_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &sighting.id.as_uuid(),
                    &sighting.indicator.as_uuid(),
                    &sighting.tenant.as_uuid(),
                    &sighting.event_id,
                    &ts(sighting.seen_at),
                    &sighting_document(sighting)?,
                ],
            )
            .await?;
        Ok(if inserted == 1 {
            SightingRecorded::New
        } else {
            SightingRecorded::Duplicate
        })
    }

    pub(super) async fn sightings_of(&self, indicator: IndicatorId) -> StoreResult<Vec<Sighting>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT body FROM intel_sightings WHERE indicator_id = $1 ORDER BY seen_at, id",
                &[&indicator.as_uuid()],
            )
            .await?;
        rows.iter()
            .map(|row| sighting_from_document(row.try_get(0)?))
            .collect()
    }

    pub(super) async fn intel_revision_now(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT revision FROM intel_revision WHERE singleton = 1",
                &[],
            )
            .await?;
        let revision: i64 = match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        };
        Ok(u64::try_from(revision).unwrap_or(0))
    }
}
