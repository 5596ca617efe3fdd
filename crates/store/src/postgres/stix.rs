//! STIX objects on PostgreSQL (`stix_objects`): every version of every
//! object a tenant imported, kept whole. Audited imports lock the audit
//! head first, as every audited write does.

use nigehban_model::{TenantId, Tlp};
use tokio_postgres::types::ToSql;

use super::{PostgresStore, from_ts, lock_head, ts};
use crate::rows::{stix_added_per_tenant, stix_import_draft};
use crate::{AuditContext, StixObjectQuery, StixObjectRecord, StoreError, StoreResult};

fn record(row: &tokio_postgres::Row) -> StoreResult<StixObjectRecord> {
    let tlp: String = row.try_get(5)?;
    Ok(StixObjectRecord {
        tenant: TenantId::from_uuid(row.try_get(0)?),
        object_id: row.try_get(1)?,
        modified: row.try_get(2)?,
        object_type: row.try_get(3)?,
        spec_version: row.try_get(4)?,
        tlp: tlp
            .parse::<Tlp>()
            .map_err(|e| StoreError::corrupt("stix object", e))?,
        date_added: from_ts(row.try_get(6)?),
        body: row.try_get(7)?,
    })
}

impl PostgresStore {
    pub(super) async fn stix_put(
        &self,
        objects: &[StixObjectRecord],
        audit: Option<&AuditContext>,
    ) -> StoreResult<Vec<bool>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = match audit {
            Some(_) => Some(lock_head(&tx).await?),
            None => None,
        };
        let insert = tx
            .prepare(
                "INSERT INTO stix_objects (tenant_id, object_id, modified, object_type, spec_version, tlp, date_added, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant_id, object_id, modified) DO NOTHING",
            )
            .await?;
        let mut new = Vec::with_capacity(objects.len());
        for object in objects {
            let written = tx
                .execute(
                    &insert,
                    &[
                        &object.tenant.as_uuid(),
                        &object.object_id,
                        &object.modified,
                        &object.object_type,
                        &object.spec_version,
                        &object.tlp.as_str(),
                        &ts(object.date_added),
                        &object.body,
                    ],
                )
                .await?;
            new.push(written == 1);
        }
        if let (Some(ctx), Some(mut head)) = (audit, head) {
            for (tenant, added) in stix_added_per_tenant(objects, &new) {
                let draft = stix_import_draft(self.instance, ctx, tenant, added)?;
                head = self.append(&tx, head, draft).await?.head();
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    pub(super) async fn stix_list(
        &self,
        query: &StixObjectQuery,
    ) -> StoreResult<Vec<StixObjectRecord>> {
        let tenant = query.tenant.map(|t| t.as_uuid());
        let added_after = query.added_after.map(ts);
        let cursor = query.after.as_ref().map(|c| {
            (
                ts(c.date_added),
                c.tenant.as_uuid(),
                c.object_id.clone(),
                c.modified.clone(),
            )
        });
        let limit = i64::from(query.limit.clamp(1, 100_000));
        let mut clauses = vec!["TRUE".to_owned()];
        let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(tenant) = &tenant {
            args.push(tenant);
            clauses.push(format!("tenant_id = ${}", args.len()));
        }
        if let Some(after) = &added_after {
            args.push(after);
            clauses.push(format!("date_added > ${}", args.len()));
        }
        if let Some(object_id) = &query.object_id {
            args.push(object_id);
            clauses.push(format!("object_id = ${}", args.len()));
        }
        if let Some((date_added, tenant, object_id, modified)) = &cursor {
            args.push(date_added);
            args.push(tenant);
            args.push(object_id);
            args.push(modified);
            let n = args.len();
            clauses.push(format!(
                "(date_added, tenant_id, object_id, modified) > (${}, ${}, ${}, ${n})",
                n - 3,
                n - 2,
                n - 1
            ));
        }
        args.push(&limit);
        let sql = format!(
            "SELECT tenant_id, object_id, modified, object_type, spec_version, tlp, date_added, body
             FROM stix_objects WHERE {} ORDER BY date_added, tenant_id, object_id, modified LIMIT ${}",
            clauses.join(" AND "),
            args.len()
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &args).await?;
        rows.iter().map(record).collect()
    }
}
