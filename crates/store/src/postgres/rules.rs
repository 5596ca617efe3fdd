//! Detection rules per tenant on PostgreSQL: stored Sigma documents,
//! per-tenant overrides and filters, and the revision detecting nodes poll.
//!
//! Every change bumps `rules_revision` in its transaction; the row lock
//! that takes serialises rule changes.

use deadpool_postgres::{GenericClient, Transaction};
use nigehban_model::{
    AuditAction, AuditEntryId, RuleDocument, RuleFilter, RuleFilterId, RuleOverride, TenantId,
    UserId,
};
use tokio_postgres::Row;

use super::{PostgresStore, SUBTREE, from_ts, get_tenant, is_unique_violation, lock_head, ts};
use crate::rows::{
    RuleImportRecord, change_draft, contains_pattern, parse_text, same_rule_content,
};
use crate::{
    AuditContext, Page, PageRequest, RuleImport, RuleQuery, RulesImported, StoreError, StoreResult,
};

const RULE_COLUMNS: &str = "id, instance_id, title, kind, level, origin, source_name, body, enabled, imported_by, imported_at, updated_at";
const FILTER_COLUMNS: &str =
    "id, instance_id, tenant_id, title, rules, body, created_by, created_at";
const OVERRIDE_COLUMNS: &str = "rule_id, tenant_id, enabled, set_by, at";

fn rule_from_row(row: &Row) -> StoreResult<RuleDocument> {
    Ok(RuleDocument {
        id: row.try_get(0)?,
        instance: nigehban_model::InstanceId::from_uuid(row.try_get(1)?),
        title: row.try_get(2)?,
        kind: parse_text("rule kind", row.try_get::<_, &str>(3)?)?,
        level: row.try_get(4)?,
        origin: parse_text("rule origin", row.try_get::<_, &str>(5)?)?,
        source_name: row.try_get(6)?,
        text: row.try_get(7)?,
        enabled: row.try_get(8)?,
        imported_by: row
            .try_get::<_, Option<uuid::Uuid>>(9)?
            .map(UserId::from_uuid),
        imported_at: from_ts(row.try_get(10)?),
        updated_at: from_ts(row.try_get(11)?),
    })
}

fn override_from_row(row: &Row) -> StoreResult<RuleOverride> {
    Ok(RuleOverride {
        rule_id: row.try_get(0)?,
        tenant: TenantId::from_uuid(row.try_get(1)?),
        enabled: row.try_get(2)?,
        set_by: row
            .try_get::<_, Option<uuid::Uuid>>(3)?
            .map(UserId::from_uuid),
        at: from_ts(row.try_get(4)?),
    })
}

fn filter_from_row(row: &Row) -> StoreResult<RuleFilter> {
    let rules: &str = row.try_get(4)?;
    Ok(RuleFilter {
        id: RuleFilterId::from_uuid(row.try_get(0)?),
        instance: nigehban_model::InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        title: row.try_get(3)?,
        rules: serde_json::from_str(rules).map_err(|e| StoreError::corrupt("filter rules", e))?,
        text: row.try_get(5)?,
        created_by: row
            .try_get::<_, Option<uuid::Uuid>>(6)?
            .map(UserId::from_uuid),
        created_at: from_ts(row.try_get(7)?),
    })
}

async fn get_rule(client: &impl GenericClient, id: &str) -> StoreResult<Option<RuleDocument>> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE id = $1");
    client
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(rule_from_row)
        .transpose()
}

async fn get_filter(
    client: &impl GenericClient,
    id: RuleFilterId,
) -> StoreResult<Option<RuleFilter>> {
    let sql = format!("SELECT {FILTER_COLUMNS} FROM rule_filters WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(filter_from_row)
        .transpose()
}

async fn get_override(
    client: &impl GenericClient,
    rule_id: &str,
    tenant: TenantId,
) -> StoreResult<Option<RuleOverride>> {
    let sql = format!(
        "SELECT {OVERRIDE_COLUMNS} FROM rule_overrides WHERE rule_id = $1 AND tenant_id = $2"
    );
    client
        .query_opt(&sql, &[&rule_id, &tenant.as_uuid()])
        .await?
        .as_ref()
        .map(override_from_row)
        .transpose()
}

async fn bump_revision(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute(
        "UPDATE rules_revision SET revision = revision + 1 WHERE singleton = 1",
        &[],
    )
    .await?;
    Ok(())
}

async fn write_rule(tx: &Transaction<'_>, rule: &RuleDocument) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, kind = excluded.kind, level = excluded.level,
                 origin = excluded.origin, source_name = excluded.source_name, body = excluded.body,
                 enabled = excluded.enabled, updated_at = excluded.updated_at"
        ),
        &[
            &rule.id,
            &rule.instance.as_uuid(),
            &rule.title,
            &rule.kind.as_str(),
            &rule.level,
            &rule.origin.as_str(),
            &rule.source_name,
            &rule.text,
            &rule.enabled,
            &rule.imported_by.map(|u| u.as_uuid()),
            &ts(rule.imported_at),
            &ts(rule.updated_at),
        ],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    pub(super) async fn rules_import(
        &self,
        import: &RuleImport,
        ctx: &AuditContext,
    ) -> StoreResult<RulesImported> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Taken first: concurrent imports of the same ids wait for each other.
        bump_revision(&tx).await?;
        let mut outcome = RulesImported::default();
        let mut record = RuleImportRecord::default();
        for rule in &import.rules {
            let mut rule = rule.clone();
            rule.instance = self.instance;
            match get_rule(&tx, &rule.id).await? {
                None => {
                    write_rule(&tx, &rule).await?;
                    outcome.added += 1;
                    record.added.push(rule.id.clone());
                }
                Some(stored) => {
                    if import.keep_enabled {
                        rule.enabled = stored.enabled;
                    }
                    rule.imported_at = stored.imported_at;
                    rule.imported_by = stored.imported_by;
                    if same_rule_content(&stored, &rule) {
                        outcome.unchanged += 1;
                        continue;
                    }
                    write_rule(&tx, &rule).await?;
                    outcome.replaced += 1;
                    record.replaced.push(rule.id.clone());
                }
            }
        }
        if outcome.added + outcome.replaced == 0 {
            // Nothing changed: the revision bump is rolled back with the rest.
            tx.rollback().await?;
            return Ok(outcome);
        }
        record.enabled = import.rules.first().map(|r| r.enabled);
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            import.tenant,
            AuditAction::named("rule.import"),
            "rule_import",
            AuditEntryId::new().to_string(),
            None,
            Some(&record),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub(super) async fn rules_set_enabled(
        &self,
        id: &str,
        enabled: bool,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<RuleDocument> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump_revision(&tx).await?;
        let before = get_rule(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("rule", id))?;
        if before.enabled == enabled {
            tx.rollback().await?;
            return Ok(before);
        }
        let mut after = before.clone();
        after.enabled = enabled;
        after.updated_at = ctx.at;
        tx.execute(
            "UPDATE rules SET enabled = $2, updated_at = $3 WHERE id = $1",
            &[&id, &enabled, &ts(ctx.at)],
        )
        .await?;
        let flag = |r: &RuleDocument| serde_json::json!({"id": r.id, "enabled": r.enabled});
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            tenant,
            AuditAction::named(if enabled {
                "rule.enable"
            } else {
                "rule.disable"
            }),
            "rule",
            id.to_owned(),
            Some(&flag(&before)),
            Some(&flag(&after)),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn rules_get(&self, id: &str) -> StoreResult<Option<RuleDocument>> {
        get_rule(&self.client().await?, id).await
    }

    pub(super) async fn rules_list(
        &self,
        query: &RuleQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<RuleDocument>> {
        let after = match &page.after {
            Some(cursor) => cursor.decode("rules")?,
            None => String::new(),
        };
        let limit = page.effective_limit();
        // Byte order, as on SQLite, whatever the database's collation.
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE id COLLATE \"C\" > $1
             AND ($2::text IS NULL OR id ILIKE $2 OR title ILIKE $2)
             AND ($3::text IS NULL OR level = $3)
             AND ($4::text IS NULL OR kind = $4)
             ORDER BY id COLLATE \"C\" LIMIT $5"
        );
        let rows = self
            .client()
            .await?
            .query(
                &sql,
                &[
                    &after,
                    &query.text.as_deref().map(contains_pattern),
                    &query.level,
                    &query.kind.map(|k| k.as_str()),
                    &(i64::from(limit) + 1),
                ],
            )
            .await?;
        let items = rows
            .iter()
            .map(rule_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |r| r.id.clone(), "rules"))
    }

    pub(super) async fn rules_set_override(
        &self,
        change: &RuleOverride,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump_revision(&tx).await?;
        get_rule(&tx, &change.rule_id)
            .await?
            .ok_or_else(|| StoreError::not_found("rule", &change.rule_id))?;
        get_tenant(&tx, change.tenant)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", change.tenant))?;
        let before = get_override(&tx, &change.rule_id, change.tenant).await?;
        if before.as_ref().is_some_and(|b| b.enabled == change.enabled) {
            tx.rollback().await?;
            return Ok(());
        }
        tx.execute(
            "INSERT INTO rule_overrides (rule_id, tenant_id, enabled, set_by, at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (rule_id, tenant_id) DO UPDATE SET enabled = excluded.enabled, set_by = excluded.set_by, at = excluded.at",
            &[
                &change.rule_id,
                &change.tenant.as_uuid(),
                &change.enabled,
                &change.set_by.map(|u| u.as_uuid()),
                &ts(change.at),
            ],
        )
        .await?;
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            change.tenant,
            AuditAction::named("rule.override"),
            "rule",
            change.rule_id.clone(),
            before.as_ref(),
            Some(change),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn rules_clear_override(
        &self,
        rule_id: &str,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<Option<RuleOverride>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump_revision(&tx).await?;
        let Some(before) = get_override(&tx, rule_id, tenant).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        tx.execute(
            "DELETE FROM rule_overrides WHERE rule_id = $1 AND tenant_id = $2",
            &[&rule_id, &tenant.as_uuid()],
        )
        .await?;
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            tenant,
            AuditAction::named("rule.inherit"),
            "rule",
            rule_id.to_owned(),
            Some(&before),
            None,
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    pub(super) async fn rules_overrides(
        &self,
        rule_id: Option<&str>,
    ) -> StoreResult<Vec<RuleOverride>> {
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM rule_overrides WHERE ($1::text IS NULL OR rule_id = $1)
             ORDER BY rule_id COLLATE \"C\", tenant_id"
        );
        self.client()
            .await?
            .query(&sql, &[&rule_id])
            .await?
            .iter()
            .map(override_from_row)
            .collect()
    }

    pub(super) async fn rules_insert_filter(
        &self,
        filter: &RuleFilter,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump_revision(&tx).await?;
        get_tenant(&tx, filter.tenant)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", filter.tenant))?;
        let rules = serde_json::to_string(&filter.rules)
            .map_err(|e| StoreError::corrupt("filter rules", e))?;
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO rule_filters ({FILTER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &filter.id.as_uuid(),
                    &self.instance.as_uuid(),
                    &filter.tenant.as_uuid(),
                    &filter.title,
                    &rules,
                    &filter.text,
                    &filter.created_by.map(|u| u.as_uuid()),
                    &ts(filter.created_at),
                ],
            )
            .await;
        if let Err(error) = inserted {
            return Err(if is_unique_violation(&error) {
                StoreError::Conflict(format!("rule filter {} already exists", filter.id))
            } else {
                error.into()
            });
        }
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            filter.tenant,
            AuditAction::named("rule.filter_add"),
            "rule_filter",
            filter.id.to_string(),
            None,
            Some(filter),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn rules_delete_filter(
        &self,
        id: RuleFilterId,
        ctx: &AuditContext,
    ) -> StoreResult<RuleFilter> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        bump_revision(&tx).await?;
        let before = get_filter(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("rule filter", id))?;
        tx.execute("DELETE FROM rule_filters WHERE id = $1", &[&id.as_uuid()])
            .await?;
        let head = lock_head(&tx).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            before.tenant,
            AuditAction::named("rule.filter_remove"),
            "rule_filter",
            id.to_string(),
            Some(&before),
            None,
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(before)
    }

    pub(super) async fn rules_filter(&self, id: RuleFilterId) -> StoreResult<Option<RuleFilter>> {
        get_filter(&self.client().await?, id).await
    }

    pub(super) async fn rules_filters(
        &self,
        subtree: Option<TenantId>,
    ) -> StoreResult<Vec<RuleFilter>> {
        let client = self.client().await?;
        let rows = match subtree {
            Some(tenant) => {
                let sql = format!(
                    "{SUBTREE} SELECT {FILTER_COLUMNS} FROM rule_filters WHERE tenant_id IN (SELECT id FROM subtree) ORDER BY id"
                );
                client.query(&sql, &[&tenant.as_uuid()]).await?
            }
            None => {
                let sql = format!("SELECT {FILTER_COLUMNS} FROM rule_filters ORDER BY id");
                client.query(&sql, &[]).await?
            }
        };
        rows.iter().map(filter_from_row).collect()
    }

    pub(super) async fn rules_revision_now(&self) -> StoreResult<u64> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT revision FROM rules_revision WHERE singleton = 1",
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
