//! STIX objects on SQLite (`stix_objects`): every version of every object
//! a tenant imported, kept whole.

use nigehban_model::{TenantId, Timestamp, Tlp};
use rusqlite::params;

use super::{SqliteStore, append};
use crate::rows::{stix_added_per_tenant, stix_import_draft};
use crate::{AuditContext, StixObjectQuery, StixObjectRecord, StoreError, StoreResult};

fn record(row: &rusqlite::Row<'_>) -> StoreResult<StixObjectRecord> {
    let tenant: String = row.get(0)?;
    let tlp: String = row.get(5)?;
    Ok(StixObjectRecord {
        tenant: tenant
            .parse::<TenantId>()
            .map_err(|e| StoreError::corrupt("stix object", e))?,
        object_id: row.get(1)?,
        modified: row.get(2)?,
        object_type: row.get(3)?,
        spec_version: row.get(4)?,
        tlp: tlp
            .parse::<Tlp>()
            .map_err(|e| StoreError::corrupt("stix object", e))?,
        date_added: Timestamp::from_unix_micros(row.get(6)?),
        body: row.get(7)?,
    })
}

impl SqliteStore {
    pub(super) async fn stix_put(
        &self,
        objects: &[StixObjectRecord],
        audit: Option<&AuditContext>,
    ) -> StoreResult<Vec<bool>> {
        let (objects, audit) = (objects.to_vec(), audit.cloned());
        self.write(move |tx, instance| {
            let mut new = Vec::with_capacity(objects.len());
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO stix_objects (tenant_id, object_id, modified, object_type, spec_version, tlp, date_added, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (tenant_id, object_id, modified) DO NOTHING",
                )?;
                for object in &objects {
                    let written = insert.execute(params![
                        object.tenant.to_string(),
                        object.object_id,
                        object.modified,
                        object.object_type,
                        object.spec_version,
                        object.tlp.as_str(),
                        object.date_added.unix_micros(),
                        object.body,
                    ])?;
                    new.push(written == 1);
                }
            }
            if let Some(ctx) = &audit {
                for (tenant, added) in stix_added_per_tenant(&objects, &new) {
                    append(tx, stix_import_draft(instance, ctx, tenant, added)?)?;
                }
            }
            Ok(new)
        })
        .await
    }

    pub(super) async fn stix_list(
        &self,
        query: &StixObjectQuery,
    ) -> StoreResult<Vec<StixObjectRecord>> {
        let query = query.clone();
        self.read(move |conn| {
            let mut clauses = vec!["1 = 1".to_owned()];
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(tenant) = query.tenant {
                clauses.push("tenant_id = ?".into());
                args.push(tenant.to_string().into());
            }
            if let Some(after) = query.added_after {
                clauses.push("date_added > ?".into());
                args.push(after.unix_micros().into());
            }
            if let Some(object_id) = &query.object_id {
                clauses.push("object_id = ?".into());
                args.push(object_id.clone().into());
            }
            if let Some(cursor) = &query.after {
                clauses.push("(date_added, tenant_id, object_id, modified) > (?, ?, ?, ?)".into());
                args.push(cursor.date_added.unix_micros().into());
                args.push(cursor.tenant.to_string().into());
                args.push(cursor.object_id.clone().into());
                args.push(cursor.modified.clone().into());
            }
            args.push(i64::from(query.limit.clamp(1, 100_000)).into());
            let sql = format!(
                "SELECT tenant_id, object_id, modified, object_type, spec_version, tlp, date_added, body
                 FROM stix_objects WHERE {} ORDER BY date_added, tenant_id, object_id, modified LIMIT ?",
                clauses.join(" AND ")
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(record(row)?);
            }
            Ok(out)
        })
        .await
    }
}
