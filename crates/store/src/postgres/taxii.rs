//! TAXII on PostgreSQL: status resources of POSTs (`taxii_statuses`) and
//! the cursors of subscriptions to outside collections (`taxii_pull_cursors`).

use nigehban_model::{TenantId, Timestamp};

use super::{PostgresStore, from_ts, ts};
use crate::{StoreResult, TaxiiStatusRecord};

impl PostgresStore {
    pub(super) async fn taxii_status_put(&self, status: &TaxiiStatusRecord) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO taxii_statuses (id, tenant_id, created_at, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                &[
                    &status.id,
                    &status.tenant.as_uuid(),
                    &ts(status.created_at),
                    &status.body,
                ],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn taxii_status_get(
        &self,
        id: &str,
    ) -> StoreResult<Option<TaxiiStatusRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, tenant_id, created_at, body FROM taxii_statuses WHERE id = $1",
                &[&id],
            )
            .await?;
        row.map(|row| {
            Ok(TaxiiStatusRecord {
                id: row.try_get(0)?,
                tenant: TenantId::from_uuid(row.try_get(1)?),
                created_at: from_ts(row.try_get(2)?),
                body: row.try_get(3)?,
            })
        })
        .transpose()
    }

    pub(super) async fn taxii_cursor_get(&self, subscription: &str) -> StoreResult<Option<String>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT added_last FROM taxii_pull_cursors WHERE subscription = $1",
                &[&subscription],
            )
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    pub(super) async fn taxii_cursor_set(
        &self,
        subscription: &str,
        added_last: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO taxii_pull_cursors (subscription, added_last, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (subscription) DO UPDATE SET added_last = excluded.added_last, updated_at = excluded.updated_at",
                &[&subscription, &added_last, &ts(at)],
            )
            .await?;
        Ok(())
    }
}
