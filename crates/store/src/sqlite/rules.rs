//! Detection rules per tenant on SQLite: stored Sigma documents, per-tenant
//! overrides and filters, and the revision detecting nodes poll.

use nigehban_model::{
    AuditAction, RuleDocument, RuleFilter, RuleFilterId, RuleOverride, TenantId, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{SUBTREE, SqliteStore, append, get_tenant, page_rows};
use crate::rows::{
    RuleImportRecord, change_draft, contains_pattern, parse_text, same_rule_content,
};
use crate::{
    AuditContext, Page, PageRequest, RuleImport, RuleQuery, RulesImported, StoreError, StoreResult,
};

const RULE_COLUMNS: &str = "id, instance_id, title, kind, level, origin, source_name, body, enabled, imported_by, imported_at, updated_at";
const FILTER_COLUMNS: &str =
    "id, instance_id, tenant_id, title, rules, body, created_by, created_at";

fn rule_from_row(row: &Row<'_>) -> StoreResult<RuleDocument> {
    Ok(RuleDocument {
        id: row.get(0)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        title: row.get(2)?,
        kind: parse_text("rule kind", &row.get::<_, String>(3)?)?,
        level: row.get(4)?,
        origin: parse_text("rule origin", &row.get::<_, String>(5)?)?,
        source_name: row.get(6)?,
        text: row.get(7)?,
        enabled: row.get(8)?,
        imported_by: row
            .get::<_, Option<String>>(9)?
            .map(|t| parse_text("user id", &t))
            .transpose()?,
        imported_at: Timestamp::from_unix_micros(row.get(10)?),
        updated_at: Timestamp::from_unix_micros(row.get(11)?),
    })
}

fn override_from_row(row: &Row<'_>) -> StoreResult<RuleOverride> {
    Ok(RuleOverride {
        rule_id: row.get(0)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(1)?)?,
        enabled: row.get(2)?,
        set_by: row
            .get::<_, Option<String>>(3)?
            .map(|t| parse_text("user id", &t))
            .transpose()?,
        at: Timestamp::from_unix_micros(row.get(4)?),
    })
}

fn filter_from_row(row: &Row<'_>) -> StoreResult<RuleFilter> {
    let rules: String = row.get(4)?;
    Ok(RuleFilter {
        id: parse_text("rule filter id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        title: row.get(3)?,
        rules: serde_json::from_str(&rules).map_err(|e| StoreError::corrupt("filter rules", e))?,
        text: row.get(5)?,
        created_by: row
            .get::<_, Option<String>>(6)?
            .map(|t| parse_text("user id", &t))
            .transpose()?,
        created_at: Timestamp::from_unix_micros(row.get(7)?),
    })
}

fn get_rule(conn: &Connection, id: &str) -> StoreResult<Option<RuleDocument>> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id])?;
    rows.next()?.map(rule_from_row).transpose()
}

fn get_filter(conn: &Connection, id: RuleFilterId) -> StoreResult<Option<RuleFilter>> {
    let sql = format!("SELECT {FILTER_COLUMNS} FROM rule_filters WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(filter_from_row).transpose()
}

fn get_override(
    conn: &Connection,
    rule_id: &str,
    tenant: TenantId,
) -> StoreResult<Option<RuleOverride>> {
    let mut stmt = conn.prepare_cached(
        "SELECT rule_id, tenant_id, enabled, set_by, at FROM rule_overrides WHERE rule_id = ?1 AND tenant_id = ?2",
    )?;
    let mut rows = stmt.query(params![rule_id, tenant.to_string()])?;
    rows.next()?.map(override_from_row).transpose()
}

fn bump_revision(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.prepare_cached("UPDATE rules_revision SET revision = revision + 1 WHERE singleton = 1")?
        .execute([])?;
    Ok(())
}

fn write_rule(tx: &Transaction<'_>, rule: &RuleDocument) -> StoreResult<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO rules ({RULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, kind = excluded.kind, level = excluded.level,
             origin = excluded.origin, source_name = excluded.source_name, body = excluded.body,
             enabled = excluded.enabled, updated_at = excluded.updated_at"
    ))?
    .execute(params![
        rule.id,
        rule.instance.to_string(),
        rule.title,
        rule.kind.as_str(),
        rule.level,
        rule.origin.as_str(),
        rule.source_name,
        rule.text,
        rule.enabled,
        rule.imported_by.map(|u| u.to_string()),
        rule.imported_at.unix_micros(),
        rule.updated_at.unix_micros(),
    ])?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn rules_import(
        &self,
        import: &RuleImport,
        ctx: &AuditContext,
    ) -> StoreResult<RulesImported> {
        let (import, ctx) = (import.clone(), ctx.clone());
        self.write(move |tx, instance| {
            let mut outcome = RulesImported::default();
            let mut record = RuleImportRecord::default();
            for rule in &import.rules {
                let mut rule = rule.clone();
                rule.instance = instance;
                match get_rule(tx, &rule.id)? {
                    None => {
                        write_rule(tx, &rule)?;
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
                        write_rule(tx, &rule)?;
                        outcome.replaced += 1;
                        record.replaced.push(rule.id.clone());
                    }
                }
            }
            if outcome.added + outcome.replaced == 0 {
                return Ok(outcome);
            }
            record.enabled = import.rules.first().map(|r| r.enabled);
            bump_revision(tx)?;
            let draft = change_draft(
                instance,
                &ctx,
                import.tenant,
                AuditAction::named("rule.import"),
                "rule_import",
                nigehban_model::AuditEntryId::new().to_string(),
                None,
                Some(&record),
            )?;
            append(tx, draft)?;
            Ok(outcome)
        })
        .await
    }

    pub(super) async fn rules_set_enabled(
        &self,
        id: &str,
        enabled: bool,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<RuleDocument> {
        let (id, ctx) = (id.to_owned(), ctx.clone());
        self.write(move |tx, instance| {
            let before = get_rule(tx, &id)?.ok_or_else(|| StoreError::not_found("rule", &id))?;
            if before.enabled == enabled {
                return Ok(before);
            }
            let mut after = before.clone();
            after.enabled = enabled;
            after.updated_at = ctx.at;
            tx.prepare_cached("UPDATE rules SET enabled = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, enabled, ctx.at.unix_micros()])?;
            bump_revision(tx)?;
            let flag = |r: &RuleDocument| serde_json::json!({"id": r.id, "enabled": r.enabled});
            let draft = change_draft(
                instance,
                &ctx,
                tenant,
                AuditAction::named(if enabled {
                    "rule.enable"
                } else {
                    "rule.disable"
                }),
                "rule",
                id.clone(),
                Some(&flag(&before)),
                Some(&flag(&after)),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn rules_get(&self, id: &str) -> StoreResult<Option<RuleDocument>> {
        let id = id.to_owned();
        self.read(move |conn| get_rule(conn, &id)).await
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
        let query = query.clone();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {RULE_COLUMNS} FROM rules WHERE id > ?1
                 AND (?2 IS NULL OR id LIKE ?2 ESCAPE '\\' OR title LIKE ?2 ESCAPE '\\')
                 AND (?3 IS NULL OR level = ?3)
                 AND (?4 IS NULL OR kind = ?4)
                 ORDER BY id LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                after,
                query.text.as_deref().map(contains_pattern),
                query.level,
                query.kind.map(|k| k.as_str()),
                i64::from(limit) + 1,
            ])?;
            let items = page_rows(&mut rows, rule_from_row)?;
            Ok(Page::from_rows(items, limit, |r| r.id.clone(), "rules"))
        })
        .await
    }

    pub(super) async fn rules_set_override(
        &self,
        change: &RuleOverride,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let (change, ctx) = (change.clone(), ctx.clone());
        self.write(move |tx, instance| {
            get_rule(tx, &change.rule_id)?
                .ok_or_else(|| StoreError::not_found("rule", &change.rule_id))?;
            get_tenant(tx, change.tenant)?
                .ok_or_else(|| StoreError::not_found("tenant", change.tenant))?;
            let before = get_override(tx, &change.rule_id, change.tenant)?;
            if before.as_ref().is_some_and(|b| b.enabled == change.enabled) {
                return Ok(());
            }
            tx.prepare_cached(
                "INSERT INTO rule_overrides (rule_id, tenant_id, enabled, set_by, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (rule_id, tenant_id) DO UPDATE SET enabled = excluded.enabled, set_by = excluded.set_by, at = excluded.at",
            )?
            .execute(params![
                change.rule_id,
                change.tenant.to_string(),
                change.enabled,
                change.set_by.map(|u| u.to_string()),
                change.at.unix_micros(),
            ])?;
            bump_revision(tx)?;
            let draft = change_draft(
                instance,
                &ctx,
                change.tenant,
                AuditAction::named("rule.override"),
                "rule",
                change.rule_id.clone(),
                before.as_ref(),
                Some(&change),
            )?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn rules_clear_override(
        &self,
        rule_id: &str,
        tenant: TenantId,
        ctx: &AuditContext,
    ) -> StoreResult<Option<RuleOverride>> {
        let (rule_id, ctx) = (rule_id.to_owned(), ctx.clone());
        self.write(move |tx, instance| {
            let Some(before) = get_override(tx, &rule_id, tenant)? else {
                return Ok(None);
            };
            tx.prepare_cached("DELETE FROM rule_overrides WHERE rule_id = ?1 AND tenant_id = ?2")?
                .execute(params![rule_id, tenant.to_string()])?;
            bump_revision(tx)?;
            let draft = change_draft(
                instance,
                &ctx,
                tenant,
                AuditAction::named("rule.inherit"),
                "rule",
                rule_id.clone(),
                Some(&before),
                None,
            )?;
            append(tx, draft)?;
            Ok(Some(before))
        })
        .await
    }

    pub(super) async fn rules_overrides(
        &self,
        rule_id: Option<&str>,
    ) -> StoreResult<Vec<RuleOverride>> {
        let rule_id = rule_id.map(str::to_owned);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rule_id, tenant_id, enabled, set_by, at FROM rule_overrides
                 WHERE (?1 IS NULL OR rule_id = ?1) ORDER BY rule_id, tenant_id",
            )?;
            let mut rows = stmt.query(params![rule_id])?;
            page_rows(&mut rows, override_from_row)
        })
        .await
    }

    pub(super) async fn rules_insert_filter(
        &self,
        filter: &RuleFilter,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let (filter, ctx) = (filter.clone(), ctx.clone());
        self.write(move |tx, instance| {
            get_tenant(tx, filter.tenant)?
                .ok_or_else(|| StoreError::not_found("tenant", filter.tenant))?;
            let rules = serde_json::to_string(&filter.rules)
                .map_err(|e| StoreError::corrupt("filter rules", e))?;
            let inserted = tx.execute(
                &format!("INSERT INTO rule_filters ({FILTER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    filter.id.to_string(),
                    instance.to_string(),
                    filter.tenant.to_string(),
                    filter.title,
                    rules,
                    filter.text,
                    filter.created_by.map(|u| u.to_string()),
                    filter.created_at.unix_micros(),
                ],
            );
            if let Err(error) = inserted {
                return Err(if super::is_unique_violation(&error) {
                    StoreError::Conflict(format!("rule filter {} already exists", filter.id))
                } else {
                    error.into()
                });
            }
            bump_revision(tx)?;
            let draft = change_draft(
                instance,
                &ctx,
                filter.tenant,
                AuditAction::named("rule.filter_add"),
                "rule_filter",
                filter.id.to_string(),
                None,
                Some(&filter),
            )?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn rules_delete_filter(
        &self,
        id: RuleFilterId,
        ctx: &AuditContext,
    ) -> StoreResult<RuleFilter> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let before =
                get_filter(tx, id)?.ok_or_else(|| StoreError::not_found("rule filter", id))?;
            tx.prepare_cached("DELETE FROM rule_filters WHERE id = ?1")?
                .execute(params![id.to_string()])?;
            bump_revision(tx)?;
            let draft = change_draft(
                instance,
                &ctx,
                before.tenant,
                AuditAction::named("rule.filter_remove"),
                "rule_filter",
                id.to_string(),
                Some(&before),
                None,
            )?;
            append(tx, draft)?;
            Ok(before)
        })
        .await
    }

    pub(super) async fn rules_filter(&self, id: RuleFilterId) -> StoreResult<Option<RuleFilter>> {
        self.read(move |conn| get_filter(conn, id)).await
    }

    pub(super) async fn rules_filters(
        &self,
        subtree: Option<TenantId>,
    ) -> StoreResult<Vec<RuleFilter>> {
        self.read(move |conn| match subtree {
            Some(tenant) => {
                let sql = format!(
                    "{SUBTREE} SELECT {FILTER_COLUMNS} FROM rule_filters WHERE tenant_id IN (SELECT id FROM subtree) ORDER BY id"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params![tenant.to_string()])?;
                page_rows(&mut rows, filter_from_row)
            }
            None => {
                let sql = format!("SELECT {FILTER_COLUMNS} FROM rule_filters ORDER BY id");
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query([])?;
                page_rows(&mut rows, filter_from_row)
            }
        })
        .await
    }

    pub(super) async fn rules_revision_now(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let revision: Option<i64> = conn
                .prepare_cached("SELECT revision FROM rules_revision WHERE singleton = 1")?
                .query_row([], |row| row.get(0))
                .optional()?;
            Ok(revision.map_or(0, |r| u64::try_from(r).unwrap_or(0)))
        })
        .await
    }
}
