//! TAXII on SQLite: status resources of POSTs (`taxii_statuses`) and the
//! cursors of subscriptions to outside collections (`taxii_pull_cursors`).

use nigehban_model::{TenantId, Timestamp};
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::{StoreError, StoreResult, TaxiiStatusRecord};

impl SqliteStore {
    pub(super) async fn taxii_status_put(&self, status: &TaxiiStatusRecord) -> StoreResult<()> {
        let status = status.clone();
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO taxii_statuses (id, tenant_id, created_at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![
                    status.id,
                    status.tenant.to_string(),
                    status.created_at.unix_micros(),
                    status.body
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn taxii_status_get(
        &self,
        id: &str,
    ) -> StoreResult<Option<TaxiiStatusRecord>> {
        let id = id.to_owned();
        self.read(move |conn| {
            let row = conn
                .query_row(
                    "SELECT id, tenant_id, created_at, body FROM taxii_statuses WHERE id = ?1",
                    params![id],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(id, tenant, created_at, body)| {
                Ok(TaxiiStatusRecord {
                    id,
                    tenant: tenant
                        .parse::<TenantId>()
                        .map_err(|e| StoreError::corrupt("taxii status", e))?,
                    created_at: Timestamp::from_unix_micros(created_at),
                    body,
                })
            })
            .transpose()
        })
        .await
    }

    pub(super) async fn taxii_cursor_get(&self, subscription: &str) -> StoreResult<Option<String>> {
        let subscription = subscription.to_owned();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT added_last FROM taxii_pull_cursors WHERE subscription = ?1",
                    params![subscription],
                    |row| row.get::<_, String>(0),
                )
                .optional()?)
        })
        .await
    }

    pub(super) async fn taxii_cursor_set(
        &self,
        subscription: &str,
        added_last: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let (subscription, added_last) = (subscription.to_owned(), added_last.to_owned());
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO taxii_pull_cursors (subscription, added_last, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subscription) DO UPDATE SET added_last = excluded.added_last, updated_at = excluded.updated_at",
                params![subscription, added_last, at.unix_micros()],
            )?;
            Ok(())
        })
        .await
    }
}
