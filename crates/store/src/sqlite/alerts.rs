//! Alerts on SQLite: raising (folding in the writer's transaction), triage,
//! comments, the change feed and the record of raised signals.
//!
//! Every change runs on the writer connection in one `BEGIN IMMEDIATE`
//! transaction, so a raise and a triage of the same alert never interleave,
//! and change feed entries are numbered in commit order.

use nigehban_model::{
    Alert, AlertChange, AlertChangeKind, AlertComment, AlertId, AlertText, AlertTriage,
    AuditAction, FoldGroup, InstanceId, RaisedAlert, Severity, SignalFate, TenantId, Timestamp,
    fold_batch,
};
use rusqlite::{Connection, Row, Transaction, params};

use super::{SUBTREE, SqliteStore, append, get_tenant, page_rows};
use crate::rows::{
    ALERT_COLUMNS, AlertColumns, COMMENT_COLUMNS, StoredAlert, alert_cursor_key, change_draft,
    contains_pattern, parse_alert_cursor, parse_text, screen_signals, to_i64, to_seq,
    triage_record,
};
use crate::{
    AlertHourCount, AlertPruning, AlertQuery, AlertRaise, AlertScope, AuditContext, Page,
    PageRequest, StoreError, StoreResult,
};

fn optional_id<T: std::str::FromStr>(
    what: &'static str,
    text: Option<String>,
) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    text.map(|t| parse_text(what, &t)).transpose()
}

fn alert_from_row(row: &Row<'_>) -> StoreResult<Alert> {
    let micros = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .get::<_, Option<i64>>(index)?
            .map(Timestamp::from_unix_micros))
    };
    StoredAlert {
        id: parse_text("alert id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        sensor: optional_id("sensor id", row.get(3)?)?,
        source: row.get(4)?,
        rule_id: row.get(5)?,
        rule_title: row.get(6)?,
        rule_level: row.get(7)?,
        rule_author: row.get(8)?,
        references: row.get(9)?,
        tags: row.get(10)?,
        fold_key: row.get(11)?,
        host: row.get(12)?,
        user: row.get(13)?,
        event_ids: row.get(14)?,
        matched_fields: row.get(15)?,
        severity: row.get(16)?,
        first_seen: Timestamp::from_unix_micros(row.get(17)?),
        last_seen: Timestamp::from_unix_micros(row.get(18)?),
        count: row.get(19)?,
        status: row.get(20)?,
        assignee: optional_id("user id", row.get(21)?)?,
        acknowledged_at: micros(22)?,
        closed_at: micros(23)?,
        resolution: row.get(24)?,
        resolution_note: row.get(25)?,
        retrospective: row.get(26)?,
        exercise: row.get(27)?,
        created_at: Timestamp::from_unix_micros(row.get(28)?),
        updated_at: Timestamp::from_unix_micros(row.get(29)?),
        incident: optional_id("incident id", row.get(30)?)?,
    }
    .decode()
}

fn comment_from_row(row: &Row<'_>) -> StoreResult<AlertComment> {
    Ok(AlertComment {
        id: parse_text("alert comment id", &row.get::<_, String>(0)?)?,
        instance: parse_text("instance id", &row.get::<_, String>(1)?)?,
        alert: parse_text("alert id", &row.get::<_, String>(2)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(3)?)?,
        author: optional_id("user id", row.get(4)?)?,
        body: AlertText::parse(&row.get::<_, String>(5)?)
            .map_err(|e| StoreError::corrupt("alert comment", e))?,
        at: Timestamp::from_unix_micros(row.get(6)?),
    })
}

fn change_from_row(row: &Row<'_>) -> StoreResult<AlertChange> {
    Ok(AlertChange {
        seq: to_seq(row.get(0)?)?,
        alert: parse_text("alert id", &row.get::<_, String>(1)?)?,
        tenant: parse_text("tenant id", &row.get::<_, String>(2)?)?,
        kind: parse_text("alert change", &row.get::<_, String>(3)?)?,
        at: Timestamp::from_unix_micros(row.get(4)?),
    })
}

fn get_alert(conn: &Connection, id: AlertId) -> StoreResult<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id.to_string()])?;
    rows.next()?.map(alert_from_row).transpose()
}

/// The query of [`open_alert`].
fn open_alert_sql() -> String {
    // Left to itself, SQLite's planner walks `alerts_by_tenant` to avoid
    // sorting: every alert of the tenant, once per group of every batch,
    // which made raising the bottleneck of live detection. The group's index
    // holds its few open alerts.
    format!(
        "SELECT {ALERT_COLUMNS} FROM alerts INDEXED BY alerts_open_by_group WHERE tenant_id = ?1 AND rule_id = ?2 AND fold_key = ?3 AND exercise = ?4 AND retrospective = ?5 AND status <> 'closed' ORDER BY last_seen DESC, id DESC LIMIT 1"
    )
}

/// The group's most recent alert that is not closed.
fn open_alert(conn: &Connection, group: &FoldGroup) -> StoreResult<Option<Alert>> {
    let mut stmt = conn.prepare_cached(&open_alert_sql())?;
    let mut rows = stmt.query(params![
        group.tenant.to_string(),
        group.rule_id,
        group.fold_key,
        group.exercise,
        group.retrospective
    ])?;
    rows.next()?.map(alert_from_row).transpose()
}

fn insert_alert(tx: &Transaction<'_>, alert: &Alert) -> StoreResult<()> {
    let c = AlertColumns::of(alert)?;
    let sql = format!(
        "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)"
    );
    tx.prepare_cached(&sql)?.execute(params![
        alert.id.to_string(),
        alert.instance.to_string(),
        alert.tenant.to_string(),
        alert.sensor.map(|s| s.to_string()),
        alert.source.as_str(),
        alert.rule.id,
        alert.rule.title,
        alert.rule.level.as_str(),
        alert.rule.author,
        c.references,
        c.tags,
        alert.fold_key,
        alert.host,
        alert.user,
        c.event_ids,
        c.matched_fields,
        alert.severity.rank(),
        alert.first_seen.unix_micros(),
        alert.last_seen.unix_micros(),
        c.count,
        alert.status.as_str(),
        alert.assignee.map(|u| u.to_string()),
        alert.acknowledged_at.map(Timestamp::unix_micros),
        alert.closed_at.map(Timestamp::unix_micros),
        alert.resolution.map(|r| r.as_str()),
        alert.resolution_note.as_ref().map(AlertText::as_str),
        alert.retrospective,
        alert.exercise,
        alert.created_at.unix_micros(),
        alert.updated_at.unix_micros(),
        alert.incident.map(|i| i.to_string()),
    ])?;
    Ok(())
}

/// Writes what folding changes: the count, the times and the event ids.
fn update_folded(tx: &Transaction<'_>, alert: &Alert) -> StoreResult<()> {
    let c = AlertColumns::of(alert)?;
    tx.prepare_cached(
        "UPDATE alerts SET event_count = ?2, first_seen = ?3, last_seen = ?4, event_ids = ?5, updated_at = ?6 WHERE id = ?1",
    )?
    .execute(params![
        alert.id.to_string(),
        c.count,
        alert.first_seen.unix_micros(),
        alert.last_seen.unix_micros(),
        c.event_ids,
        alert.updated_at.unix_micros(),
    ])?;
    Ok(())
}

/// Writes what triage changes.
fn update_triaged(tx: &Transaction<'_>, alert: &Alert) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE alerts SET status = ?2, assignee_id = ?3, acknowledged_at = ?4, closed_at = ?5, resolution = ?6, resolution_note = ?7, updated_at = ?8 WHERE id = ?1",
    )?
    .execute(params![
        alert.id.to_string(),
        alert.status.as_str(),
        alert.assignee.map(|u| u.to_string()),
        alert.acknowledged_at.map(Timestamp::unix_micros),
        alert.closed_at.map(Timestamp::unix_micros),
        alert.resolution.map(|r| r.as_str()),
        alert.resolution_note.as_ref().map(AlertText::as_str),
        alert.updated_at.unix_micros(),
    ])?;
    Ok(())
}

fn record_change(
    tx: &Transaction<'_>,
    alert: &Alert,
    kind: AlertChangeKind,
    at: Timestamp,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO alert_changes (alert_id, tenant_id, kind, at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        alert.id.to_string(),
        alert.tenant.to_string(),
        kind.as_str(),
        at.unix_micros()
    ])?;
    Ok(())
}

/// The whole raise inside the writer's transaction.
fn raise(
    tx: &Transaction<'_>,
    instance: InstanceId,
    raise: &AlertRaise,
) -> StoreResult<Vec<SignalFate>> {
    let (mut fates, keys) = screen_signals(&raise.signals, |tenant| {
        Ok(get_tenant(tx, tenant)?.is_some())
    })?;
    let mut fresh = Vec::with_capacity(keys.len());
    {
        let mut remember = tx.prepare_cached(
            "INSERT INTO alert_deliveries (key, seen_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        )?;
        for (index, key) in keys {
            if remember.execute(params![key.as_slice(), raise.at.unix_micros()])? == 0 {
                if let Some(fate) = fates.get_mut(index) {
                    *fate = Some(SignalFate::Duplicate);
                }
            } else {
                fresh.push(index);
            }
        }
    }
    let signals: Vec<_> = fresh
        .iter()
        .filter_map(|index| raise.signals.get(*index))
        .collect();
    let (written, folded) = fold_batch(&signals, raise.window, instance, raise.at, |group| {
        open_alert(tx, group)
    })?;
    for RaisedAlert { alert, opened } in &written {
        if *opened {
            insert_alert(tx, alert)?;
            record_change(tx, alert, AlertChangeKind::Opened, raise.at)?;
        } else {
            update_folded(tx, alert)?;
            record_change(tx, alert, AlertChangeKind::Folded, raise.at)?;
        }
    }
    for (index, fate) in fresh.into_iter().zip(folded) {
        if let Some(slot) = fates.get_mut(index) {
            *slot = Some(fate);
        }
    }
    Ok(fates
        .into_iter()
        .map(|fate| fate.unwrap_or_else(|| SignalFate::Rejected("not raised".into())))
        .collect())
}

impl SqliteStore {
    pub(super) async fn alerts_raise(&self, batch: &AlertRaise) -> StoreResult<Vec<SignalFate>> {
        let batch = batch.clone();
        self.write(move |tx, instance| raise(tx, instance, &batch))
            .await
    }

    pub(super) async fn alerts_get(&self, id: AlertId) -> StoreResult<Option<Alert>> {
        self.read(move |conn| get_alert(conn, id)).await
    }

    pub(super) async fn alerts_by_id(&self, ids: &[AlertId]) -> StoreResult<Vec<Alert>> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.read(move |conn| {
            let list =
                serde_json::to_string(&ids).map_err(|e| StoreError::corrupt("alert ids", e))?;
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE id IN (SELECT value FROM json_each(?1))"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![list])?;
            page_rows(&mut rows, alert_from_row)
        })
        .await
    }

    pub(super) async fn alerts_list(
        &self,
        query: &AlertQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<Alert>> {
        let after = parse_alert_cursor(page)?;
        let limit = page.effective_limit();
        let query = query.clone();
        self.read(move |conn| {
            let (with, scope, tenant) = match query.scope {
                AlertScope::Subtree(tenant) => (SUBTREE, "tenant_id IN (SELECT id FROM subtree)", tenant),
                AlertScope::Tenant(tenant) => ("", "tenant_id = ?1", tenant),
            };
            let sql = format!(
                "{with} SELECT {ALERT_COLUMNS} FROM alerts WHERE {scope}
                 AND exercise = ?2
                 AND (?3 IS NULL OR status IN (SELECT value FROM json_each(?3)))
                 AND (?4 IS NULL OR severity IN (SELECT value FROM json_each(?4)))
                 AND (?5 IS NULL OR rule_id = ?5)
                 AND (?6 IS NULL OR sensor_id = ?6)
                 AND (?7 IS NULL OR assignee_id = ?7)
                 AND (?8 IS NULL OR first_seen >= ?8)
                 AND (?9 IS NULL OR first_seen < ?9)
                 AND (?10 IS NULL OR last_seen >= ?10)
                 AND (?11 IS NULL OR last_seen < ?11)
                 AND (?12 IS NULL OR rule_title LIKE ?12 ESCAPE '\\' OR rule_id LIKE ?12 ESCAPE '\\' OR host LIKE ?12 ESCAPE '\\' OR user_name LIKE ?12 ESCAPE '\\')
                 AND (?13 IS NULL OR last_seen < ?13 OR (last_seen = ?13 AND id < ?14))
                 ORDER BY last_seen DESC, id DESC LIMIT ?15"
            );
            let json_list = |items: Vec<serde_json::Value>| {
                (!items.is_empty()).then(|| serde_json::Value::Array(items).to_string())
            };
            let statuses = json_list(
                query
                    .statuses
                    .iter()
                    .map(|s| serde_json::Value::from(s.as_str()))
                    .collect(),
            );
            let severities = json_list(
                query
                    .severities
                    .iter()
                    .map(|s| serde_json::Value::from(s.rank()))
                    .collect(),
            );
            let micros = |t: Option<Timestamp>| t.map(Timestamp::unix_micros);
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                tenant.to_string(),
                query.exercise,
                statuses,
                severities,
                query.rule_id,
                query.sensor.map(|s| s.to_string()),
                query.assignee.map(|u| u.to_string()),
                micros(query.first_seen_from),
                micros(query.first_seen_to),
                micros(query.last_seen_from),
                micros(query.last_seen_to),
                query.text.as_deref().map(contains_pattern),
                after.map(|(at, _)| at.unix_micros()),
                after.map(|(_, id)| id.to_string()),
                i64::from(limit) + 1,
            ])?;
            let items = page_rows(&mut rows, alert_from_row)?;
            Ok(Page::from_rows(items, limit, alert_cursor_key, "alerts"))
        })
        .await
    }

    pub(super) async fn alerts_counts_per_hour(
        &self,
        under: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<AlertHourCount>> {
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT tenant_id, severity, first_seen / 3600000000 AS hour, COUNT(*)
                 FROM alerts INDEXED BY alerts_by_first_seen WHERE tenant_id IN (SELECT id FROM subtree)
                 AND exercise = 0 AND first_seen >= ?2 AND first_seen < ?3
                 GROUP BY tenant_id, severity, hour"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                under.to_string(),
                from.unix_micros(),
                to.unix_micros()
            ])?;
            let mut counts = Vec::new();
            while let Some(row) = rows.next()? {
                let rank: i64 = row.get(1)?;
                counts.push(AlertHourCount {
                    tenant: parse_text("tenant id", &row.get::<_, String>(0)?)?,
                    severity: Severity::from_rank(rank).ok_or_else(|| {
                        StoreError::corrupt("alert severity", format!("rank {rank} is unknown"))
                    })?,
                    hour: row.get(2)?,
                    count: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                });
            }
            Ok(counts)
        })
        .await
    }

    pub(super) async fn alerts_triage(
        &self,
        id: AlertId,
        change: &AlertTriage,
        ctx: &AuditContext,
    ) -> StoreResult<Alert> {
        let (change, ctx) = (change.clone(), ctx.clone());
        self.write(move |tx, instance| {
            let before = get_alert(tx, id)?.ok_or_else(|| StoreError::not_found("alert", id))?;
            let after = match before.triage(&change, ctx.at) {
                Ok(Some(after)) => after,
                Ok(None) => return Ok(before),
                Err(error) => return Err(StoreError::Conflict(error.to_string())),
            };
            update_triaged(tx, &after)?;
            record_change(tx, &after, AlertChangeKind::Triaged, ctx.at)?;
            let draft = change_draft(
                instance,
                &ctx,
                after.tenant,
                AuditAction::named(change.action_name()),
                "alert",
                id.to_string(),
                Some(&triage_record(&before)),
                Some(&triage_record(&after)),
            )?;
            append(tx, draft)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn alerts_comment(
        &self,
        comment: &AlertComment,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let (comment, ctx) = (comment.clone(), ctx.clone());
        self.write(move |tx, instance| {
            let alert = get_alert(tx, comment.alert)?
                .ok_or_else(|| StoreError::not_found("alert", comment.alert))?;
            if alert.tenant != comment.tenant {
                return Err(StoreError::Conflict(format!(
                    "alert {} does not belong to tenant {}",
                    alert.id, comment.tenant
                )));
            }
            let inserted = tx.execute(
                &format!("INSERT INTO alert_comments ({COMMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    comment.id.to_string(),
                    comment.instance.to_string(),
                    comment.alert.to_string(),
                    comment.tenant.to_string(),
                    comment.author.map(|a| a.to_string()),
                    comment.body.as_str(),
                    comment.at.unix_micros(),
                ],
            );
            if let Err(error) = inserted {
                return Err(if super::is_unique_violation(&error) {
                    StoreError::Conflict(format!("alert comment {} already exists", comment.id))
                } else {
                    error.into()
                });
            }
            record_change(tx, &alert, AlertChangeKind::Commented, comment.at)?;
            let draft = change_draft(
                instance,
                &ctx,
                alert.tenant,
                AuditAction::named("alert.comment"),
                "alert",
                alert.id.to_string(),
                None,
                Some(&comment),
            )?;
            append(tx, draft)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn alerts_comments(&self, alert: AlertId) -> StoreResult<Vec<AlertComment>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COMMENT_COLUMNS} FROM alert_comments WHERE alert_id = ?1 ORDER BY id"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![alert.to_string()])?;
            page_rows(&mut rows, comment_from_row)
        })
        .await
    }

    pub(super) async fn alerts_changes(
        &self,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<AlertChange>> {
        let after = to_i64(after)?;
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, alert_id, tenant_id, kind, at FROM alert_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let mut rows = stmt.query(params![after, i64::from(limit.max(1))])?;
            page_rows(&mut rows, change_from_row)
        })
        .await
    }

    pub(super) async fn alerts_changes_head(&self) -> StoreResult<u64> {
        self.read(|conn| {
            // The sequence, not the table: entries may all have been pruned.
            let seq: Option<i64> = conn
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'alert_changes'",
                    [],
                    |row| row.get(0),
                )
                .or_else(|error| match error {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })?;
            to_seq(seq.unwrap_or(0))
        })
        .await
    }

    pub(super) async fn alerts_prune(
        &self,
        deliveries_before: Timestamp,
        changes_before: Timestamp,
    ) -> StoreResult<AlertPruning> {
        self.write(move |tx, _| {
            let deliveries = tx.execute(
                "DELETE FROM alert_deliveries WHERE seen_at < ?1",
                params![deliveries_before.unix_micros()],
            )?;
            let changes = tx.execute(
                "DELETE FROM alert_changes WHERE at < ?1",
                params![changes_before.unix_micros()],
            )?;
            Ok(AlertPruning {
                deliveries: deliveries as u64,
                changes: changes as u64,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nigehban_model::AlertStatus;
    use rusqlite::StatementStatus;

    /// Folding looks up a group's open alert for every group of every
    /// batch: the cached statement must not be compiled again at each use
    /// (it was, and that was most of the time live detection spent storing).
    #[test]
    fn looking_up_a_groups_open_alert_reuses_its_compiled_statement() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut conn = super::super::open_connection(&dir.path().join("store.db")).expect("open");
        super::super::apply_migrations(&mut conn, crate::migrations::SQLITE).expect("migrate");
        for n in 0..20 {
            let group = FoldGroup {
                tenant: TenantId::new(),
                rule_id: format!("rule-{n}"),
                fold_key: format!("host-{n}|user-{}", n % 3),
                exercise: n % 2 == 0,
                retrospective: n % 5 == 0,
            };
            assert_eq!(open_alert(&conn, &group).expect("lookup"), None);
        }
        let stmt = conn.prepare_cached(&open_alert_sql()).expect("cached");
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        assert_eq!(
            stmt.get_status(StatementStatus::Run),
            20,
            "the same statement ran each time"
        );
    }

    #[test]
    fn statuses_in_the_schema_match_the_model() {
        let schema = include_str!("../../migrations/sqlite/0005_alerts.sql");
        for status in AlertStatus::ALL {
            assert!(
                schema.contains(&format!("'{}'", status.as_str())),
                "{status}"
            );
        }
        for kind in AlertChangeKind::ALL {
            assert!(schema.contains(&format!("'{}'", kind.as_str())), "{kind:?}");
        }
    }
}
