//! Alerts on PostgreSQL: raising (folding in one transaction per batch),
//! triage, comments, the change feed and the record of raised signals.
//!
//! # Ordering of the change feed across processes
//!
//! `alert_changes.seq` is a `BIGSERIAL`, and sequence numbers are handed out
//! when a row is inserted, not when its transaction commits: two writers
//! could commit 7 after 8, and a stream that had read 8 would never see 7.
//! So every transaction that writes to the feed first takes the
//! transaction-scoped advisory lock [`ALERT_FEED_LOCK`] and holds it until it
//! commits: numbers are taken and made visible in one order, in every
//! process sharing the database. The same lock serialises raises, so two
//! detection processes never open two alerts for one group. Triage takes
//! the audit chain head's lock first, then this one; a raise takes only
//! this one, so the two orders never deadlock.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{GenericClient, Transaction};
use futures_util::future::try_join_all;
use nigehban_model::{
    Alert, AlertChange, AlertChangeKind, AlertComment, AlertCommentId, AlertId, AlertText,
    AlertTriage, AuditAction, FoldGroup, IncidentId, InstanceId, RaisedAlert, SensorId, Severity,
    SignalFate, TenantId, Timestamp, UserId, fold_batch,
};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, SUBTREE, from_ts, lock_head, ts};
use crate::rows::{
    ALERT_COLUMNS, AlertColumns, COMMENT_COLUMNS, StoredAlert, alert_cursor_key, change_draft,
    contains_pattern, parse_alert_cursor, parse_text, screen_signals, to_i64, to_seq,
    triage_record,
};
use crate::{
    AlertHourCount, AlertPruning, AlertQuery, AlertRaise, AlertScope, AuditContext, Page,
    PageRequest, StoreError, StoreResult,
};

/// The advisory lock every writer of the alert change feed holds to commit
/// (see the module documentation).
pub(crate) const ALERT_FEED_LOCK: i64 = 0x6e67_625f_616c_6572; // "ngb_aler"

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn alert_from_row(row: &Row) -> StoreResult<Alert> {
    let optional = |index: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row
            .try_get::<_, Option<OffsetDateTime>>(index)?
            .map(from_ts))
    };
    StoredAlert {
        id: AlertId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        sensor: row.try_get::<_, Option<Uuid>>(3)?.map(SensorId::from_uuid),
        source: row.try_get(4)?,
        rule_id: row.try_get(5)?,
        rule_title: row.try_get(6)?,
        rule_level: row.try_get(7)?,
        rule_author: row.try_get(8)?,
        references: row.try_get(9)?,
        tags: row.try_get(10)?,
        fold_key: row.try_get(11)?,
        host: row.try_get(12)?,
        user: row.try_get(13)?,
        event_ids: row.try_get(14)?,
        matched_fields: row.try_get(15)?,
        severity: i64::from(row.try_get::<_, i32>(16)?),
        first_seen: from_ts(row.try_get(17)?),
        last_seen: from_ts(row.try_get(18)?),
        count: row.try_get(19)?,
        status: row.try_get(20)?,
        assignee: row.try_get::<_, Option<Uuid>>(21)?.map(UserId::from_uuid),
        acknowledged_at: optional(22)?,
        closed_at: optional(23)?,
        resolution: row.try_get(24)?,
        resolution_note: row.try_get(25)?,
        retrospective: row.try_get(26)?,
        exercise: row.try_get(27)?,
        created_at: from_ts(row.try_get(28)?),
        updated_at: from_ts(row.try_get(29)?),
        incident: row
            .try_get::<_, Option<Uuid>>(30)?
            .map(IncidentId::from_uuid),
    }
    .decode()
}

fn comment_from_row(row: &Row) -> StoreResult<AlertComment> {
    let body: String = row.try_get(5)?;
    Ok(AlertComment {
        id: AlertCommentId::from_uuid(row.try_get(0)?),
        instance: InstanceId::from_uuid(row.try_get(1)?),
        alert: AlertId::from_uuid(row.try_get(2)?),
        tenant: TenantId::from_uuid(row.try_get(3)?),
        author: row.try_get::<_, Option<Uuid>>(4)?.map(UserId::from_uuid),
        body: AlertText::parse(&body).map_err(|e| StoreError::corrupt("alert comment", e))?,
        at: from_ts(row.try_get(6)?),
    })
}

fn change_from_row(row: &Row) -> StoreResult<AlertChange> {
    let kind: String = row.try_get(3)?;
    Ok(AlertChange {
        seq: to_seq(row.try_get(0)?)?,
        alert: AlertId::from_uuid(row.try_get(1)?),
        tenant: TenantId::from_uuid(row.try_get(2)?),
        kind: parse_text("alert change", &kind)?,
        at: from_ts(row.try_get(4)?),
    })
}

async fn get_alert(client: &impl GenericClient, id: AlertId) -> StoreResult<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
    client
        .query_opt(&sql, &[&id.as_uuid()])
        .await?
        .as_ref()
        .map(alert_from_row)
        .transpose()
}

/// Takes the feed's lock until the transaction ends (see the module documentation).
pub(super) async fn lock_feed(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ALERT_FEED_LOCK])
        .await?;
    Ok(())
}

async fn record_changes(
    tx: &Transaction<'_>,
    alerts: &[(&Alert, AlertChangeKind)],
    at: Timestamp,
) -> StoreResult<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = alerts.iter().map(|(a, _)| a.id.as_uuid()).collect();
    let tenants: Vec<Uuid> = alerts.iter().map(|(a, _)| a.tenant.as_uuid()).collect();
    let kinds: Vec<&str> = alerts.iter().map(|(_, k)| k.as_str()).collect();
    tx.execute(
        "INSERT INTO alert_changes (alert_id, tenant_id, kind, at)
         SELECT a, t, k, $4 FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS c(a, t, k)",
        &[&ids, &tenants, &kinds, &ts(at)],
    )
    .await?;
    Ok(())
}

async fn insert_alert(tx: &Transaction<'_>, alert: &Alert) -> StoreResult<()> {
    let c = AlertColumns::of(alert)?;
    let sql = format!(
        "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
    );
    let statement = tx.prepare_cached(&sql).await?;
    tx.execute(
        &statement,
        &[
            &alert.id.as_uuid(),
            &alert.instance.as_uuid(),
            &alert.tenant.as_uuid(),
            &alert.sensor.map(|s| s.as_uuid()),
            &alert.source.as_str(),
            &alert.rule.id,
            &alert.rule.title,
            &alert.rule.level.as_str(),
            &alert.rule.author,
            &c.references,
            &c.tags,
            &alert.fold_key,
            &alert.host,
            &alert.user,
            &c.event_ids,
            &c.matched_fields,
            &alert.severity.rank(),
            &ts(alert.first_seen),
            &ts(alert.last_seen),
            &c.count,
            &alert.status.as_str(),
            &alert.assignee.map(|u| u.as_uuid()),
            &alert.acknowledged_at.map(ts),
            &alert.closed_at.map(ts),
            &alert.resolution.map(|r| r.as_str()),
            &alert.resolution_note.as_ref().map(AlertText::as_str),
            &alert.retrospective,
            &alert.exercise,
            &ts(alert.created_at),
            &ts(alert.updated_at),
            &alert.incident.map(|i| i.as_uuid()),
        ],
    )
    .await?;
    Ok(())
}

async fn update_folded(tx: &Transaction<'_>, alert: &Alert) -> StoreResult<()> {
    let c = AlertColumns::of(alert)?;
    let statement = tx
        .prepare_cached(
            "UPDATE alerts SET event_count = $2, first_seen = $3, last_seen = $4, event_ids = $5, updated_at = $6 WHERE id = $1",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &alert.id.as_uuid(),
            &c.count,
            &ts(alert.first_seen),
            &ts(alert.last_seen),
            &c.event_ids,
            &ts(alert.updated_at),
        ],
    )
    .await?;
    Ok(())
}

/// The most recent alert that is not closed of each group, in one query.
async fn open_alerts(
    tx: &Transaction<'_>,
    groups: &[FoldGroup],
) -> StoreResult<HashMap<FoldGroup, Alert>> {
    if groups.is_empty() {
        return Ok(HashMap::new());
    }
    let tenants: Vec<Uuid> = groups.iter().map(|g| g.tenant.as_uuid()).collect();
    let rules: Vec<&str> = groups.iter().map(|g| g.rule_id.as_str()).collect();
    let keys: Vec<&str> = groups.iter().map(|g| g.fold_key.as_str()).collect();
    let exercise: Vec<bool> = groups.iter().map(|g| g.exercise).collect();
    let retrospective: Vec<bool> = groups.iter().map(|g| g.retrospective).collect();
    let sql = format!(
        "SELECT DISTINCT ON (a.tenant_id, a.rule_id, a.fold_key, a.exercise, a.retrospective) {}
         FROM alerts a
         JOIN unnest($1::uuid[], $2::text[], $3::text[], $4::bool[], $5::bool[]) AS g(t, r, k, e, x)
           ON a.tenant_id = g.t AND a.rule_id = g.r AND a.fold_key = g.k AND a.exercise = g.e AND a.retrospective = g.x
         WHERE a.status <> 'closed'
         ORDER BY a.tenant_id, a.rule_id, a.fold_key, a.exercise, a.retrospective, a.last_seen DESC, a.id DESC",
        prefixed("a", ALERT_COLUMNS)
    );
    let rows = tx
        .query(&sql, &[&tenants, &rules, &keys, &exercise, &retrospective])
        .await?;
    let mut open = HashMap::with_capacity(rows.len());
    for row in &rows {
        let alert = alert_from_row(row)?;
        open.insert(alert.fold_group(), alert);
    }
    Ok(open)
}

impl PostgresStore {
    pub(super) async fn alerts_raise(&self, raise: &AlertRaise) -> StoreResult<Vec<SignalFate>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_feed(&tx).await?;
        let tenants: Vec<Uuid> = raise
            .signals
            .iter()
            .map(|s| s.tenant.as_uuid())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known: HashSet<Uuid> = tx
            .query("SELECT id FROM tenants WHERE id = ANY($1)", &[&tenants])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        let (mut fates, keys) = screen_signals(&raise.signals, |tenant| {
            Ok(known.contains(&tenant.as_uuid()))
        })?;
        let key_bytes: Vec<&[u8]> = keys.iter().map(|(_, key)| key.as_slice()).collect();
        let remembered: HashSet<Vec<u8>> = if key_bytes.is_empty() {
            HashSet::new()
        } else {
            tx.query(
                "INSERT INTO alert_deliveries (key, seen_at) SELECT k, $2 FROM unnest($1::bytea[]) AS k
                 ON CONFLICT (key) DO NOTHING RETURNING key",
                &[&key_bytes, &ts(raise.at)],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?
        };
        let mut fresh = Vec::with_capacity(keys.len());
        for (index, key) in &keys {
            if remembered.contains(key.as_slice()) {
                fresh.push(*index);
            } else if let Some(fate) = fates.get_mut(*index) {
                *fate = Some(SignalFate::Duplicate);
            }
        }
        let signals: Vec<_> = fresh
            .iter()
            .filter_map(|index| raise.signals.get(*index))
            .collect();
        let groups: Vec<FoldGroup> = signals
            .iter()
            .map(|s| s.fold_group())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut open = open_alerts(&tx, &groups).await?;
        let (written, folded) =
            fold_batch(&signals, raise.window, self.instance, raise.at, |group| {
                Ok::<_, StoreError>(open.remove(group))
            })?;
        // Pipelined on the one connection: one round trip's wait for all of them.
        try_join_all(
            written
                .iter()
                .filter(|raised| raised.opened)
                .map(|raised| insert_alert(&tx, &raised.alert)),
        )
        .await?;
        try_join_all(
            written
                .iter()
                .filter(|raised| !raised.opened)
                .map(|raised| update_folded(&tx, &raised.alert)),
        )
        .await?;
        let changes: Vec<(&Alert, AlertChangeKind)> = written
            .iter()
            .map(|RaisedAlert { alert, opened }| {
                let kind = if *opened {
                    AlertChangeKind::Opened
                } else {
                    AlertChangeKind::Folded
                };
                (alert, kind)
            })
            .collect();
        record_changes(&tx, &changes, raise.at).await?;
        tx.commit().await?;
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

    pub(super) async fn alerts_get(&self, id: AlertId) -> StoreResult<Option<Alert>> {
        get_alert(&self.client().await?, id).await
    }

    pub(super) async fn alerts_by_id(&self, ids: &[AlertId]) -> StoreResult<Vec<Alert>> {
        let ids: Vec<Uuid> = ids.iter().map(AlertId::as_uuid).collect();
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ANY($1)");
        self.client()
            .await?
            .query(&sql, &[&ids])
            .await?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    pub(super) async fn alerts_counts_per_hour(
        &self,
        under: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<AlertHourCount>> {
        let sql = format!(
            "{SUBTREE} SELECT tenant_id, severity,
                    floor(extract(epoch FROM first_seen) / 3600)::bigint AS hour, count(*)
             FROM alerts WHERE tenant_id IN (SELECT id FROM subtree)
             AND NOT exercise AND first_seen >= $2 AND first_seen < $3
             GROUP BY tenant_id, severity, hour"
        );
        let rows = self
            .client()
            .await?
            .query(&sql, &[&under.as_uuid(), &ts(from), &ts(to)])
            .await?;
        rows.iter()
            .map(|row| {
                let rank = i64::from(row.try_get::<_, i32>(1)?);
                Ok(AlertHourCount {
                    tenant: TenantId::from_uuid(row.try_get(0)?),
                    severity: Severity::from_rank(rank).ok_or_else(|| {
                        StoreError::corrupt("alert severity", format!("rank {rank} is unknown"))
                    })?,
                    hour: row.try_get(2)?,
                    count: u64::try_from(row.try_get::<_, i64>(3)?).unwrap_or(0),
                })
            })
            .collect()
    }

    pub(super) async fn alerts_list(
        &self,
        query: &AlertQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<Alert>> {
        let after = parse_alert_cursor(page)?;
        let limit = page.effective_limit();
        let (with, scope, tenant) = match query.scope {
            AlertScope::Subtree(tenant) => {
                (SUBTREE, "tenant_id IN (SELECT id FROM subtree)", tenant)
            }
            AlertScope::Tenant(tenant) => ("", "tenant_id = $1", tenant),
        };
        let sql = format!(
            "{with} SELECT {ALERT_COLUMNS} FROM alerts WHERE {scope}
             AND exercise = $2
             AND ($3::text[] IS NULL OR status = ANY($3))
             AND ($4::int[] IS NULL OR severity = ANY($4))
             AND ($5::text IS NULL OR rule_id = $5)
             AND ($6::uuid IS NULL OR sensor_id = $6)
             AND ($7::uuid IS NULL OR assignee_id = $7)
             AND ($8::timestamptz IS NULL OR first_seen >= $8)
             AND ($9::timestamptz IS NULL OR first_seen < $9)
             AND ($10::timestamptz IS NULL OR last_seen >= $10)
             AND ($11::timestamptz IS NULL OR last_seen < $11)
             AND ($12::text IS NULL OR rule_title ILIKE $12 OR rule_id ILIKE $12 OR host ILIKE $12 OR user_name ILIKE $12)
             AND ($13::timestamptz IS NULL OR last_seen < $13 OR (last_seen = $13 AND id < $14))
             ORDER BY last_seen DESC, id DESC LIMIT $15"
        );
        let statuses: Option<Vec<&str>> = (!query.statuses.is_empty())
            .then(|| query.statuses.iter().map(|s| s.as_str()).collect());
        let severities: Option<Vec<i32>> = (!query.severities.is_empty())
            .then(|| query.severities.iter().map(|s| s.rank()).collect());
        let rows = self
            .client()
            .await?
            .query(
                &sql,
                &[
                    &tenant.as_uuid(),
                    &query.exercise,
                    &statuses,
                    &severities,
                    &query.rule_id,
                    &query.sensor.map(|s| s.as_uuid()),
                    &query.assignee.map(|u| u.as_uuid()),
                    &query.first_seen_from.map(ts),
                    &query.first_seen_to.map(ts),
                    &query.last_seen_from.map(ts),
                    &query.last_seen_to.map(ts),
                    &query.text.as_deref().map(contains_pattern),
                    &after.map(|(at, _)| ts(at)),
                    &after.map(|(_, id)| id.as_uuid()),
                    &(i64::from(limit) + 1),
                ],
            )
            .await?;
        let items = rows
            .iter()
            .map(alert_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, alert_cursor_key, "alerts"))
    }

    pub(super) async fn alerts_triage(
        &self,
        id: AlertId,
        change: &AlertTriage,
        ctx: &AuditContext,
    ) -> StoreResult<Alert> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        lock_feed(&tx).await?;
        let before = get_alert(&tx, id)
            .await?
            .ok_or_else(|| StoreError::not_found("alert", id))?;
        let after = match before.triage(change, ctx.at) {
            Ok(Some(after)) => after,
            Ok(None) => return Ok(before),
            Err(error) => return Err(StoreError::Conflict(error.to_string())),
        };
        tx.execute(
            "UPDATE alerts SET status = $2, assignee_id = $3, acknowledged_at = $4, closed_at = $5, resolution = $6, resolution_note = $7, updated_at = $8 WHERE id = $1",
            &[
                &id.as_uuid(),
                &after.status.as_str(),
                &after.assignee.map(|u| u.as_uuid()),
                &after.acknowledged_at.map(ts),
                &after.closed_at.map(ts),
                &after.resolution.map(|r| r.as_str()),
                &after.resolution_note.as_ref().map(AlertText::as_str),
                &ts(after.updated_at),
            ],
        )
        .await?;
        record_changes(&tx, &[(&after, AlertChangeKind::Triaged)], ctx.at).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            after.tenant,
            AuditAction::named(change.action_name()),
            "alert",
            id.to_string(),
            Some(&triage_record(&before)),
            Some(&triage_record(&after)),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn alerts_comment(
        &self,
        comment: &AlertComment,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let head = lock_head(&tx).await?;
        lock_feed(&tx).await?;
        let alert = get_alert(&tx, comment.alert)
            .await?
            .ok_or_else(|| StoreError::not_found("alert", comment.alert))?;
        if alert.tenant != comment.tenant {
            return Err(StoreError::Conflict(format!(
                "alert {} does not belong to tenant {}",
                alert.id, comment.tenant
            )));
        }
        let inserted = tx
            .execute(
                &format!("INSERT INTO alert_comments ({COMMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                &[
                    &comment.id.as_uuid(),
                    &comment.instance.as_uuid(),
                    &comment.alert.as_uuid(),
                    &comment.tenant.as_uuid(),
                    &comment.author.map(|a| a.as_uuid()),
                    &comment.body.as_str(),
                    &ts(comment.at),
                ],
            )
            .await;
        if let Err(error) = inserted {
            return Err(if super::is_unique_violation(&error) {
                StoreError::Conflict(format!("alert comment {} already exists", comment.id))
            } else {
                error.into()
            });
        }
        record_changes(&tx, &[(&alert, AlertChangeKind::Commented)], comment.at).await?;
        let draft = change_draft(
            self.instance,
            ctx,
            alert.tenant,
            AuditAction::named("alert.comment"),
            "alert",
            alert.id.to_string(),
            None,
            Some(comment),
        )?;
        self.append(&tx, head, draft).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn alerts_comments(&self, alert: AlertId) -> StoreResult<Vec<AlertComment>> {
        let sql =
            format!("SELECT {COMMENT_COLUMNS} FROM alert_comments WHERE alert_id = $1 ORDER BY id");
        self.client()
            .await?
            .query(&sql, &[&alert.as_uuid()])
            .await?
            .iter()
            .map(comment_from_row)
            .collect()
    }

    pub(super) async fn alerts_changes(
        &self,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<AlertChange>> {
        let after = to_i64(after)?;
        self.client()
            .await?
            .query(
                "SELECT seq, alert_id, tenant_id, kind, at FROM alert_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &i64::from(limit.max(1))],
            )
            .await?
            .iter()
            .map(change_from_row)
            .collect()
    }

    pub(super) async fn alerts_changes_head(&self) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Shared: waits for a writer holding the feed lock to commit, so the
        // sequence's value is never a number still in flight.
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&ALERT_FEED_LOCK],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM alert_changes_seq_seq",
                &[],
            )
            .await?;
        let seq: i64 = row.try_get(0)?;
        tx.commit().await?;
        to_seq(seq)
    }

    pub(super) async fn alerts_prune(
        &self,
        deliveries_before: Timestamp,
        changes_before: Timestamp,
    ) -> StoreResult<AlertPruning> {
        let client = self.client().await?;
        let deliveries = client
            .execute(
                "DELETE FROM alert_deliveries WHERE seen_at < $1",
                &[&ts(deliveries_before)],
            )
            .await?;
        let changes = client
            .execute(
                "DELETE FROM alert_changes WHERE at < $1",
                &[&ts(changes_before)],
            )
            .await?;
        Ok(AlertPruning {
            deliveries,
            changes,
        })
    }
}
