//! Incidents and coordination on PostgreSQL: incidents, reports, timeline,
//! evidence records and content (`bytea`, so every node sees the same
//! evidence), notifications.
//!
//! Every write locks the audit chain head first, as every other change does,
//! so version checks cannot race another writer; the readable-id sequence
//! row is locked by its incrementing statement until the transaction ends.

use deadpool_postgres::{GenericClient, Transaction};
use nigehban_model::{
    AuditAction, AuditEntry, ChainHead, Evidence, EvidenceId, Incident, IncidentId,
    IncidentNotification, IncidentReport, IncidentReportId, ReadableId, ReportStatus, Sha256Digest,
    TenantId, TimelineEntry, Timestamp,
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{
    AUDIT_COLUMNS, PostgresStore, SUBTREE, after_uuid, audit_from_row, get_tenant,
    is_unique_violation, lock_head, ts,
};
use crate::incidents::{
    AlertLink, EvidenceOf, IncidentScope, IncidentWrite, IncidentWritten, SimilarIncident,
    assign_readable_id, audit_after, document, from_document, observable_key, sequence_year, stale,
};
use crate::rows::change_draft;
use crate::{AuditContext, Page, PageRequest, StoreError, StoreResult};

fn text_of(row: &Row) -> StoreResult<String> {
    Ok(row.try_get(0)?)
}

async fn get_incident(
    client: &impl GenericClient,
    id: IncidentId,
) -> StoreResult<Option<Incident>> {
    client
        .query_opt(
            "SELECT document FROM incidents WHERE id = $1",
            &[&id.as_uuid()],
        )
        .await?
        .map(|row| from_document("incident", &text_of(&row)?))
        .transpose()
}

async fn exists(client: &impl GenericClient, sql: &str, id: Uuid) -> StoreResult<bool> {
    Ok(client.query_opt(sql, &[&id]).await?.is_some())
}

/// Refuses a record naming a tenant that does not exist.
async fn check_tenants(tx: &Transaction<'_>, tenants: &[TenantId]) -> StoreResult<()> {
    for tenant in tenants.iter().copied() {
        if get_tenant(tx, tenant).await?.is_none() {
            return Err(StoreError::not_found("tenant", tenant));
        }
    }
    Ok(())
}

fn version_column(what: &'static str, version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::corrupt(what, version))
}

/// Writes an incident's row (insert, or update at `expected` version) and its stakeholder index.
async fn write_incident(
    tx: &Transaction<'_>,
    incident: &Incident,
    expected: Option<u64>,
) -> StoreResult<()> {
    let stakeholders = incident.stakeholders();
    let tenants: Vec<TenantId> = stakeholders.iter().map(|(tenant, _)| *tenant).collect();
    check_tenants(tx, &tenants).await?;
    let id = incident.id.as_uuid();
    let version = version_column("incident version", incident.version)?;
    let text = document("incident", incident)?;
    match expected {
        None => {
            let inserted = tx
                .execute(
                    "INSERT INTO incidents (id, instance_id, readable_id, owner_tenant_id, status, received_at, created_at, updated_at, version, document)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &id,
                        &incident.instance.as_uuid(),
                        &incident.readable_id.to_string(),
                        &incident.owner.as_uuid(),
                        &incident.status.as_str().to_owned(),
                        &ts(incident.clocks.received_at),
                        &ts(incident.created_at),
                        &ts(incident.updated_at),
                        &version,
                        &text,
                    ],
                )
                .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "incident {} or readable id {} already exists",
                        incident.id, incident.readable_id
                    )));
                }
                other => {
                    other?;
                }
            }
        }
        Some(expected) => {
            let expected = version_column("incident version", expected)?;
            let updated = tx
                .execute(
                    "UPDATE incidents SET owner_tenant_id = $2, status = $3, received_at = $4, updated_at = $5, version = $6, document = $7
                     WHERE id = $1 AND version = $8",
                    &[
                        &id,
                        &incident.owner.as_uuid(),
                        &incident.status.as_str().to_owned(),
                        &ts(incident.clocks.received_at),
                        &ts(incident.updated_at),
                        &version,
                        &text,
                        &expected,
                    ],
                )
                .await?;
            if updated == 0 {
                return Err(
                    if exists(tx, "SELECT 1 FROM incidents WHERE id = $1", id).await? {
                        stale("incident", incident.id)
                    } else {
                        StoreError::not_found("incident", incident.id)
                    },
                );
            }
            tx.execute("DELETE FROM incident_access WHERE incident_id = $1", &[&id])
                .await?;
            tx.execute(
                "DELETE FROM incident_observables WHERE incident_id = $1",
                &[&id],
            )
            .await?;
        }
    }
    for (tenant, stance) in stakeholders {
        let stance = stance.to_owned();
        tx.execute(
            "INSERT INTO incident_access (incident_id, tenant_id, stance) VALUES ($1, $2, $3)",
            &[&id, &tenant.as_uuid(), &stance],
        )
        .await?;
    }
    if !incident.observables.is_empty() {
        let keys: Vec<String> = incident.observables.iter().map(observable_key).collect();
        tx.execute(
            "INSERT INTO incident_observables (incident_id, observable)
             SELECT $1, o FROM unnest($2::text[]) AS o ON CONFLICT DO NOTHING",
            &[&id, &keys],
        )
        .await?;
    }
    Ok(())
}

/// Links an alert to an incident if it is still linked where it was read,
/// and notes the change in the alert feed (whose lock the caller holds).
async fn link_alert(tx: &Transaction<'_>, link: &AlertLink, at: Timestamp) -> StoreResult<()> {
    let updated = tx
        .query_opt(
            "UPDATE alerts SET incident_id = $2, updated_at = $4 WHERE id = $1 AND incident_id IS NOT DISTINCT FROM $3 RETURNING tenant_id",
            &[
                &link.alert.as_uuid(),
                &link.to.as_uuid(),
                &link.from.map(|i| i.as_uuid()),
                &ts(at),
            ],
        )
        .await?;
    let Some(row) = updated else {
        return Err(
            if exists(
                tx,
                "SELECT 1 FROM alerts WHERE id = $1",
                link.alert.as_uuid(),
            )
            .await?
            {
                stale("alert", link.alert)
            } else {
                StoreError::not_found("alert", link.alert)
            },
        );
    };
    let tenant: Uuid = row.try_get(0)?;
    tx.execute(
        "INSERT INTO alert_changes (alert_id, tenant_id, kind, at) VALUES ($1, $2, $3, $4)",
        &[
            &link.alert.as_uuid(),
            &tenant,
            &nigehban_model::AlertChangeKind::Triaged.as_str(),
            &ts(at),
        ],
    )
    .await?;
    Ok(())
}

fn report_incident(report: &IncidentReport) -> Option<Uuid> {
    match &report.status {
        ReportStatus::Triaged { incident, .. } => Some(incident.as_uuid()),
        _ => None,
    }
}

async fn write_report(
    tx: &Transaction<'_>,
    report: &IncidentReport,
    expected: Option<u64>,
) -> StoreResult<()> {
    check_tenants(tx, &[report.tenant]).await?;
    let version = version_column("report version", report.version)?;
    let text = document("incident report", report)?;
    let id = report.id.as_uuid();
    match expected {
        None => {
            let inserted = tx
                .execute(
                    "INSERT INTO incident_reports (id, instance_id, tenant_id, status, incident_id, created_at, version, document)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &id,
                        &report.instance.as_uuid(),
                        &report.tenant.as_uuid(),
                        &report.status.word().to_owned(),
                        &report_incident(report),
                        &ts(report.created_at),
                        &version,
                        &text,
                    ],
                )
                .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                    "incident report {} already exists",
                    report.id
                ))),
                other => other.map(|_| ()).map_err(Into::into),
            }
        }
        Some(expected) => {
            let expected = version_column("report version", expected)?;
            let updated = tx
                .execute(
                    "UPDATE incident_reports SET status = $2, incident_id = $3, version = $4, document = $5 WHERE id = $1 AND version = $6",
                    &[
                        &id,
                        &report.status.word().to_owned(),
                        &report_incident(report),
                        &version,
                        &text,
                        &expected,
                    ],
                )
                .await?;
            if updated == 0 {
                return Err(
                    if exists(tx, "SELECT 1 FROM incident_reports WHERE id = $1", id).await? {
                        stale("incident report", report.id)
                    } else {
                        StoreError::not_found("incident report", report.id)
                    },
                );
            }
            Ok(())
        }
    }
}

async fn write_evidence(tx: &Transaction<'_>, item: &Evidence, insert: bool) -> StoreResult<()> {
    check_tenants(tx, &[item.tenant]).await?;
    let text = document("evidence", item)?;
    let incident = item.incident.map(|i| i.as_uuid());
    let report = item.report.map(|r| r.as_uuid());
    let changed = if insert {
        tx.execute(
            "INSERT INTO evidence (id, instance_id, tenant_id, incident_id, report_id, sha256, uploaded_at, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &item.id.as_uuid(),
                &item.instance.as_uuid(),
                &item.tenant.as_uuid(),
                &incident,
                &report,
                &item.sha256.to_hex(),
                &ts(item.uploaded_at),
                &text,
            ],
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("evidence {} already exists", item.id))
            } else {
                e.into()
            }
        })?
    } else {
        tx.execute(
            "UPDATE evidence SET incident_id = $2, report_id = $3, document = $4 WHERE id = $1",
            &[&item.id.as_uuid(), &incident, &report, &text],
        )
        .await?
    };
    if changed == 0 {
        return Err(StoreError::not_found("evidence", item.id));
    }
    Ok(())
}

impl PostgresStore {
    pub(super) async fn incidents_write(
        &self,
        mut write: IncidentWrite,
        ctx: &AuditContext,
    ) -> StoreResult<IncidentWritten> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut head = lock_head(&tx).await?;
        let mut written = IncidentWritten::default();
        if let Some(new) = write.open.take() {
            let mut incident = new.incident;
            let year = i32::try_from(sequence_year(&incident))
                .map_err(|_| StoreError::corrupt("incident year", sequence_year(&incident)))?;
            let number: i64 = tx
                .query_one(
                    "INSERT INTO incident_sequences (year, last_number) VALUES ($1, 1)
                     ON CONFLICT (year) DO UPDATE SET last_number = incident_sequences.last_number + 1
                     RETURNING last_number",
                    &[&year],
                )
                .await?
                .try_get(0)?;
            let number = u64::try_from(number)
                .map_err(|_| StoreError::corrupt("incident sequence", number))?;
            assign_readable_id(&mut write, &mut incident, &new.prefix, number);
            write_incident(&tx, &incident, None).await?;
            let draft = change_draft(
                self.instance,
                ctx,
                incident.owner,
                AuditAction::INCIDENT_CREATE,
                "incident",
                incident.id.to_string(),
                None,
                Some(&incident),
            )?;
            let entry = self.append(&tx, head, draft).await?;
            head = ChainHead {
                seq: entry.seq,
                hash: entry.hash,
            };
            written.opened = Some(incident);
        }
        for mut incident in write.incidents {
            let expected = incident.version;
            incident.version = expected + 1;
            write_incident(&tx, &incident, Some(expected)).await?;
            written.incidents.push(incident);
        }
        for mut report in write.new_reports {
            report.version = 1;
            write_report(&tx, &report, None).await?;
            written.reports.push(report);
        }
        for mut report in write.reports {
            let expected = report.version;
            report.version = expected + 1;
            write_report(&tx, &report, Some(expected)).await?;
            written.reports.push(report);
        }
        for item in &write.new_evidence {
            write_evidence(&tx, item, true).await?;
        }
        for item in &write.evidence {
            write_evidence(&tx, item, false).await?;
        }
        if !write.alert_links.is_empty() {
            // After the audit head's lock, as triage takes them: the two orders never deadlock.
            super::alerts::lock_feed(&tx).await?;
        }
        for link in &write.alert_links {
            link_alert(&tx, link, ctx.at).await?;
        }
        for entry in &write.timeline {
            tx.execute(
                "INSERT INTO incident_timeline (id, incident_id, at, document) VALUES ($1, $2, $3, $4)",
                &[
                    &entry.id.as_uuid(),
                    &entry.incident.as_uuid(),
                    &ts(entry.at),
                    &document("timeline entry", entry)?,
                ],
            )
            .await?;
        }
        let evidence: Vec<Evidence> = write
            .new_evidence
            .into_iter()
            .chain(write.evidence)
            .collect();
        for note in &write.audit {
            let after = audit_after(note, &written, &evidence)?;
            let draft = change_draft(
                self.instance,
                ctx,
                note.tenant,
                note.action.clone(),
                note.record_kind,
                note.record_id.clone(),
                note.before.as_ref(),
                after.as_ref(),
            )?;
            let entry = self.append(&tx, head, draft).await?;
            head = ChainHead {
                seq: entry.seq,
                hash: entry.hash,
            };
        }
        tx.commit().await?;
        Ok(written)
    }

    pub(super) async fn incidents_similar(
        &self,
        of: IncidentId,
        touching: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<SimilarIncident>> {
        let client = self.client().await?;
        let sql = format!(
            "{SUBTREE} SELECT i.document, COUNT(*) AS shared
             FROM incident_observables mine
             JOIN incident_observables theirs
               ON theirs.observable = mine.observable AND theirs.incident_id <> mine.incident_id
             JOIN incidents i ON i.id = theirs.incident_id
             WHERE mine.incident_id = $2
               AND theirs.incident_id IN (SELECT incident_id FROM incident_access WHERE tenant_id IN (SELECT id FROM subtree))
             GROUP BY theirs.incident_id, i.document
             ORDER BY shared DESC, theirs.incident_id DESC
             LIMIT $3"
        );
        let rows = client
            .query(
                &sql,
                &[&touching.as_uuid(), &of.as_uuid(), &i64::from(limit)],
            )
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let shared: i64 = row.try_get(1)?;
            found.push(SimilarIncident {
                incident: from_document("incident", &text_of(row)?)?,
                shared: u64::try_from(shared)
                    .map_err(|_| StoreError::corrupt("shared observables", shared))?,
            });
        }
        Ok(found)
    }

    pub(super) async fn incidents_get(&self, id: IncidentId) -> StoreResult<Option<Incident>> {
        get_incident(&self.client().await?, id).await
    }

    pub(super) async fn incidents_by_readable_id(
        &self,
        readable: &ReadableId,
    ) -> StoreResult<Option<Incident>> {
        self.client()
            .await?
            .query_opt(
                "SELECT document FROM incidents WHERE readable_id = $1",
                &[&readable.to_string()],
            )
            .await?
            .map(|row| from_document("incident", &text_of(&row)?))
            .transpose()
    }

    pub(super) async fn incidents_list(
        &self,
        scope: IncidentScope,
        page: &PageRequest,
    ) -> StoreResult<Page<Incident>> {
        let before: Option<Uuid> = match &page.after {
            Some(_) => Some(after_uuid(page, "incidents")?),
            None => None,
        };
        let limit = i64::from(page.effective_limit()) + 1;
        let client = self.client().await?;
        let rows = match scope {
            IncidentScope::Touching(tenant) => {
                let sql = format!(
                    "{SUBTREE} SELECT document FROM incidents WHERE id IN (SELECT incident_id FROM incident_access WHERE tenant_id IN (SELECT id FROM subtree)) AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
                );
                client
                    .query(&sql, &[&tenant.as_uuid(), &before, &limit])
                    .await?
            }
            IncidentScope::Open => {
                client
                    .query(
                        "SELECT document FROM incidents WHERE status <> 'closed' AND ($1::uuid IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                        &[&before, &limit],
                    )
                    .await?
            }
        };
        let items = rows
            .iter()
            .map(|row| from_document("incident", &text_of(row)?))
            .collect::<StoreResult<Vec<Incident>>>()?;
        Ok(Page::from_rows(
            items,
            page.effective_limit(),
            |i| i.id.to_string(),
            "incidents",
        ))
    }

    pub(super) async fn incidents_report(
        &self,
        id: IncidentReportId,
    ) -> StoreResult<Option<IncidentReport>> {
        self.client()
            .await?
            .query_opt(
                "SELECT document FROM incident_reports WHERE id = $1",
                &[&id.as_uuid()],
            )
            .await?
            .map(|row| from_document("incident report", &text_of(&row)?))
            .transpose()
    }

    pub(super) async fn incidents_reports(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentReport>> {
        let before: Option<Uuid> = match &page.after {
            Some(_) => Some(after_uuid(page, "incident reports")?),
            None => None,
        };
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT document FROM incident_reports WHERE tenant_id IN (SELECT id FROM subtree) AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(
                &sql,
                &[&subtree.as_uuid(), &before, &(i64::from(limit) + 1)],
            )
            .await?;
        let items = rows
            .iter()
            .map(|row| from_document("incident report", &text_of(row)?))
            .collect::<StoreResult<Vec<IncidentReport>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |r| r.id.to_string(),
            "incident reports",
        ))
    }

    pub(super) async fn incidents_timeline(
        &self,
        incident: IncidentId,
    ) -> StoreResult<Vec<TimelineEntry>> {
        self.client()
            .await?
            .query(
                "SELECT document FROM incident_timeline WHERE incident_id = $1 ORDER BY seq",
                &[&incident.as_uuid()],
            )
            .await?
            .iter()
            .map(|row| from_document("timeline entry", &text_of(row)?))
            .collect()
    }

    pub(super) async fn incidents_evidence(&self, id: EvidenceId) -> StoreResult<Option<Evidence>> {
        self.client()
            .await?
            .query_opt(
                "SELECT document FROM evidence WHERE id = $1",
                &[&id.as_uuid()],
            )
            .await?
            .map(|row| from_document("evidence", &text_of(&row)?))
            .transpose()
    }

    pub(super) async fn incidents_list_evidence(
        &self,
        of: EvidenceOf,
    ) -> StoreResult<Vec<Evidence>> {
        let (sql, key) = match of {
            EvidenceOf::Incident(id) => (
                "SELECT document FROM evidence WHERE incident_id = $1 ORDER BY id",
                id.as_uuid(),
            ),
            EvidenceOf::Report(id) => (
                "SELECT document FROM evidence WHERE report_id = $1 ORDER BY id",
                id.as_uuid(),
            ),
        };
        self.client()
            .await?
            .query(sql, &[&key])
            .await?
            .iter()
            .map(|row| from_document("evidence", &text_of(row)?))
            .collect()
    }

    pub(super) async fn incidents_put_content(
        &self,
        content: Vec<u8>,
    ) -> StoreResult<Sha256Digest> {
        let digest = Sha256Digest::of(&content);
        let size = i64::try_from(content.len())
            .map_err(|_| StoreError::corrupt("evidence size", content.len()))?;
        self.client()
            .await?
            .execute(
                "INSERT INTO evidence_content (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
                &[&digest.to_hex(), &size, &content],
            )
            .await?;
        Ok(digest)
    }

    pub(super) async fn incidents_content(
        &self,
        digest: Sha256Digest,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.client()
            .await?
            .query_opt(
                "SELECT content FROM evidence_content WHERE sha256 = $1",
                &[&digest.to_hex()],
            )
            .await?
            .map(|row| Ok(row.try_get::<_, Vec<u8>>(0)?))
            .transpose()
    }

    pub(super) async fn incidents_insert_notifications(
        &self,
        notifications: Vec<IncidentNotification>,
    ) -> StoreResult<Vec<IncidentNotification>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut inserted = Vec::new();
        for notification in notifications {
            check_tenants(&tx, &[notification.tenant]).await?;
            let changed = tx
                .execute(
                    "INSERT INTO incident_notifications (id, instance_id, tenant_id, incident_id, kind, stage, raised_at, document)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (incident_id, stage, kind, tenant_id) DO NOTHING",
                    &[
                        &notification.id.as_uuid(),
                        &notification.instance.as_uuid(),
                        &notification.tenant.as_uuid(),
                        &notification.incident.as_uuid(),
                        &notification.kind.as_str().to_owned(),
                        &notification.stage,
                        &ts(notification.raised_at),
                        &document("incident notification", &notification)?,
                    ],
                )
                .await?;
            if changed == 1 {
                inserted.push(notification);
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub(super) async fn incidents_notifications(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentNotification>> {
        let before: Option<Uuid> = match &page.after {
            Some(_) => Some(after_uuid(page, "incident notifications")?),
            None => None,
        };
        let limit = page.effective_limit();
        let sql = format!(
            "{SUBTREE} SELECT document FROM incident_notifications WHERE tenant_id IN (SELECT id FROM subtree) AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = self
            .client()
            .await?
            .query(
                &sql,
                &[&subtree.as_uuid(), &before, &(i64::from(limit) + 1)],
            )
            .await?;
        let items = rows
            .iter()
            .map(|row| from_document("incident notification", &text_of(row)?))
            .collect::<StoreResult<Vec<IncidentNotification>>>()?;
        Ok(Page::from_rows(
            items,
            limit,
            |n| n.id.to_string(),
            "incident notifications",
        ))
    }

    pub(super) async fn incidents_audit_of(
        &self,
        record_kind: &str,
        record_id: &str,
    ) -> StoreResult<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE record_kind = $1 AND record_id = $2 ORDER BY seq"
        );
        self.client()
            .await?
            .query(&sql, &[&record_kind, &record_id])
            .await?
            .iter()
            .map(audit_from_row)
            .collect()
    }
}
