//! Incidents and coordination on SQLite: incidents, reports, timeline,
//! evidence records, notifications, and evidence content as files under
//! `<data-dir>/evidence/`.
//!
//! Every write runs on the writer connection in one `BEGIN IMMEDIATE`
//! transaction, so the version checks and the readable-id sequence cannot
//! race another writer.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use nigehban_model::{
    AuditEntry, Evidence, EvidenceId, Incident, IncidentId, IncidentNotification, IncidentReport,
    IncidentReportId, ReadableId, ReportStatus, Sha256Digest, TenantId, TimelineEntry,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{
    AUDIT_COLUMNS, SUBTREE, SqliteStore, after_key, append, audit_from_row, blocking, get_tenant,
    is_unique_violation, page_rows,
};
use crate::incidents::{
    AlertLink, EvidenceOf, IncidentScope, IncidentWrite, IncidentWritten, SimilarIncident,
    assign_readable_id, audit_after, document, from_document, observable_key, sequence_year, stale,
};
use crate::rows::change_draft;
use crate::{AuditContext, Page, PageRequest, StoreError, StoreResult};

/// The directory under the data directory that holds evidence content.
pub const EVIDENCE_DIR: &str = "evidence";

fn decode_incident(text: String) -> StoreResult<Incident> {
    from_document("incident", &text)
}

fn get_incident(conn: &Connection, id: IncidentId) -> StoreResult<Option<Incident>> {
    let mut stmt = conn.prepare_cached("SELECT document FROM incidents WHERE id = ?1")?;
    let text: Option<String> = stmt
        .query_row(params![id.to_string()], |row| row.get(0))
        .optional()?;
    text.map(decode_incident).transpose()
}

fn get_report(conn: &Connection, id: IncidentReportId) -> StoreResult<Option<IncidentReport>> {
    let mut stmt = conn.prepare_cached("SELECT document FROM incident_reports WHERE id = ?1")?;
    let text: Option<String> = stmt
        .query_row(params![id.to_string()], |row| row.get(0))
        .optional()?;
    text.map(|t| from_document("incident report", &t))
        .transpose()
}

fn exists(conn: &Connection, sql: &str, id: String) -> StoreResult<bool> {
    Ok(conn.prepare_cached(sql)?.exists(params![id])?)
}

/// Refuses a record naming a tenant that does not exist.
fn check_tenants(
    tx: &Transaction<'_>,
    tenants: impl IntoIterator<Item = TenantId>,
) -> StoreResult<()> {
    for tenant in tenants {
        if get_tenant(tx, tenant)?.is_none() {
            return Err(StoreError::not_found("tenant", tenant));
        }
    }
    Ok(())
}

/// Writes an incident's row (insert, or update at `expected` version) and its stakeholder index.
fn write_incident(
    tx: &Transaction<'_>,
    incident: &Incident,
    expected: Option<u64>,
) -> StoreResult<()> {
    check_tenants(tx, incident.stakeholders().into_iter().map(|(t, _)| t))?;
    let id = incident.id.to_string();
    let version = i64::try_from(incident.version)
        .map_err(|_| StoreError::corrupt("incident version", incident.version))?;
    let text = document("incident", incident)?;
    match expected {
        None => {
            let inserted = tx.execute(
                "INSERT INTO incidents (id, instance_id, readable_id, owner_tenant_id, status, received_at, created_at, updated_at, version, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    id,
                    incident.instance.to_string(),
                    incident.readable_id.to_string(),
                    incident.owner.to_string(),
                    incident.status.as_str(),
                    incident.clocks.received_at.unix_micros(),
                    incident.created_at.unix_micros(),
                    incident.updated_at.unix_micros(),
                    version,
                    text,
                ],
            );
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
            let expected = i64::try_from(expected)
                .map_err(|_| StoreError::corrupt("incident version", expected))?;
            let updated = tx.execute(
                "UPDATE incidents SET owner_tenant_id = ?2, status = ?3, received_at = ?4, updated_at = ?5, version = ?6, document = ?7
                 WHERE id = ?1 AND version = ?8",
                params![
                    id,
                    incident.owner.to_string(),
                    incident.status.as_str(),
                    incident.clocks.received_at.unix_micros(),
                    incident.updated_at.unix_micros(),
                    version,
                    text,
                    expected,
                ],
            )?;
            if updated == 0 {
                return Err(
                    if exists(tx, "SELECT 1 FROM incidents WHERE id = ?1", id)? {
                        stale("incident", incident.id)
                    } else {
                        StoreError::not_found("incident", incident.id)
                    },
                );
            }
            tx.execute(
                "DELETE FROM incident_access WHERE incident_id = ?1",
                params![incident.id.to_string()],
            )?;
            tx.execute(
                "DELETE FROM incident_observables WHERE incident_id = ?1",
                params![incident.id.to_string()],
            )?;
        }
    }
    for (tenant, stance) in incident.stakeholders() {
        tx.prepare_cached(
            "INSERT INTO incident_access (incident_id, tenant_id, stance) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![incident.id.to_string(), tenant.to_string(), stance])?;
    }
    for observable in &incident.observables {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO incident_observables (incident_id, observable) VALUES (?1, ?2)",
        )?
        .execute(params![incident.id.to_string(), observable_key(observable)])?;
    }
    Ok(())
}

/// Links an alert to an incident if it is still linked where it was read,
/// and notes the change in the alert feed.
fn link_alert(tx: &Transaction<'_>, link: &AlertLink, at: i64) -> StoreResult<()> {
    let tenant: Option<String> = tx
        .prepare_cached(
            "UPDATE alerts SET incident_id = ?2, updated_at = ?4 WHERE id = ?1 AND incident_id IS ?3 RETURNING tenant_id",
        )?
        .query_row(
            params![
                link.alert.to_string(),
                link.to.to_string(),
                link.from.map(|i| i.to_string()),
                at
            ],
            |row| row.get(0),
        )
        .optional()?;
    let Some(tenant) = tenant else {
        return Err(
            if exists(
                tx,
                "SELECT 1 FROM alerts WHERE id = ?1",
                link.alert.to_string(),
            )? {
                stale("alert", link.alert)
            } else {
                StoreError::not_found("alert", link.alert)
            },
        );
    };
    tx.prepare_cached(
        "INSERT INTO alert_changes (alert_id, tenant_id, kind, at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        link.alert.to_string(),
        tenant,
        nigehban_model::AlertChangeKind::Triaged.as_str(),
        at
    ])?;
    Ok(())
}

fn report_incident(report: &IncidentReport) -> Option<String> {
    match &report.status {
        ReportStatus::Triaged { incident, .. } => Some(incident.to_string()),
        _ => None,
    }
}

fn write_report(
    tx: &Transaction<'_>,
    report: &IncidentReport,
    expected: Option<u64>,
) -> StoreResult<()> {
    check_tenants(tx, [report.tenant])?;
    let version = i64::try_from(report.version)
        .map_err(|_| StoreError::corrupt("report version", report.version))?;
    let text = document("incident report", report)?;
    match expected {
        None => {
            let inserted = tx.execute(
                "INSERT INTO incident_reports (id, instance_id, tenant_id, status, incident_id, created_at, version, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    report.id.to_string(),
                    report.instance.to_string(),
                    report.tenant.to_string(),
                    report.status.word(),
                    report_incident(report),
                    report.created_at.unix_micros(),
                    version,
                    text,
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                    "incident report {} already exists",
                    report.id
                ))),
                other => other.map(|_| ()).map_err(Into::into),
            }
        }
        Some(expected) => {
            let expected = i64::try_from(expected)
                .map_err(|_| StoreError::corrupt("report version", expected))?;
            let updated = tx.execute(
                "UPDATE incident_reports SET status = ?2, incident_id = ?3, version = ?4, document = ?5 WHERE id = ?1 AND version = ?6",
                params![
                    report.id.to_string(),
                    report.status.word(),
                    report_incident(report),
                    version,
                    text,
                    expected,
                ],
            )?;
            if updated == 0 {
                return Err(
                    if exists(
                        tx,
                        "SELECT 1 FROM incident_reports WHERE id = ?1",
                        report.id.to_string(),
                    )? {
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

fn write_evidence(tx: &Transaction<'_>, item: &Evidence, insert: bool) -> StoreResult<()> {
    check_tenants(tx, [item.tenant])?;
    let text = document("evidence", item)?;
    let changed = if insert {
        tx.execute(
            "INSERT INTO evidence (id, instance_id, tenant_id, incident_id, report_id, sha256, uploaded_at, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                item.id.to_string(),
                item.instance.to_string(),
                item.tenant.to_string(),
                item.incident.map(|i| i.to_string()),
                item.report.map(|r| r.to_string()),
                item.sha256.to_hex(),
                item.uploaded_at.unix_micros(),
                text,
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("evidence {} already exists", item.id))
            } else {
                e.into()
            }
        })?
    } else {
        tx.execute(
            "UPDATE evidence SET incident_id = ?2, report_id = ?3, document = ?4 WHERE id = ?1",
            params![
                item.id.to_string(),
                item.incident.map(|i| i.to_string()),
                item.report.map(|r| r.to_string()),
                text,
            ],
        )?
    };
    if changed == 0 {
        return Err(StoreError::not_found("evidence", item.id));
    }
    Ok(())
}

/// Where the content with this digest lives under `data_dir`.
pub(super) fn content_path(data_dir: &Path, digest: &Sha256Digest) -> PathBuf {
    let hex = digest.to_hex();
    data_dir.join(EVIDENCE_DIR).join(&hex[..2]).join(hex)
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

/// Writes `content` to `path` durably: a temporary file beside it, synced, renamed, directory synced.
fn write_content_file(path: &Path, content: &[u8]) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::corrupt("evidence path", path.display()))?;
    std::fs::create_dir_all(dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
    let temporary = dir.join(format!(".{}.partial", uuid::Uuid::now_v7().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options
            .open(&temporary)
            .map_err(io_error(format!("cannot create {}", temporary.display())))?;
        file.write_all(content)
            .and_then(|()| file.sync_all())
            .map_err(io_error(format!("cannot write {}", temporary.display())))?;
        std::fs::rename(&temporary, path).map_err(io_error(format!(
            "cannot move evidence into {}",
            path.display()
        )))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(format!("cannot sync {}", dir.display())))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

impl SqliteStore {
    fn data_dir(&self) -> PathBuf {
        self.database_path()
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    pub(super) async fn incidents_write(
        &self,
        mut write: IncidentWrite,
        ctx: &AuditContext,
    ) -> StoreResult<IncidentWritten> {
        let ctx = ctx.clone();
        self.write(move |tx, instance| {
            let mut written = IncidentWritten::default();
            if let Some(new) = write.open.take() {
                let mut incident = new.incident;
                let number: i64 = tx.query_row(
                    "INSERT INTO incident_sequences (year, last_number) VALUES (?1, 1)
                     ON CONFLICT (year) DO UPDATE SET last_number = last_number + 1
                     RETURNING last_number",
                    params![sequence_year(&incident)],
                    |row| row.get(0),
                )?;
                let number = u64::try_from(number).map_err(|_| StoreError::corrupt("incident sequence", number))?;
                assign_readable_id(&mut write, &mut incident, &new.prefix, number);
                write_incident(tx, &incident, None)?;
                let draft = change_draft(
                    instance,
                    &ctx,
                    incident.owner,
                    nigehban_model::AuditAction::INCIDENT_CREATE,
                    "incident",
                    incident.id.to_string(),
                    None,
                    Some(&incident),
                )?;
                append(tx, draft)?;
                written.opened = Some(incident);
            }
            for mut incident in write.incidents {
                let expected = incident.version;
                incident.version = expected + 1;
                write_incident(tx, &incident, Some(expected))?;
                written.incidents.push(incident);
            }
            for mut report in write.new_reports {
                report.version = 1;
                write_report(tx, &report, None)?;
                written.reports.push(report);
            }
            for mut report in write.reports {
                let expected = report.version;
                report.version = expected + 1;
                write_report(tx, &report, Some(expected))?;
                written.reports.push(report);
            }
            for item in &write.new_evidence {
                write_evidence(tx, item, true)?;
            }
            for item in &write.evidence {
                write_evidence(tx, item, false)?;
            }
            for link in &write.alert_links {
                link_alert(tx, link, ctx.at.unix_micros())?;
            }
            for entry in &write.timeline {
                tx.prepare_cached(
                    "INSERT INTO incident_timeline (id, incident_id, at, document) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    entry.id.to_string(),
                    entry.incident.to_string(),
                    entry.at.unix_micros(),
                    document("timeline entry", entry)?,
                ])?;
            }
            let evidence: Vec<Evidence> = write.new_evidence.into_iter().chain(write.evidence).collect();
            for note in &write.audit {
                let after = audit_after(note, &written, &evidence)?;
                let draft = change_draft(
                    instance,
                    &ctx,
                    note.tenant,
                    note.action.clone(),
                    note.record_kind,
                    note.record_id.clone(),
                    note.before.as_ref(),
                    after.as_ref(),
                )?;
                append(tx, draft)?;
            }
            Ok(written)
        })
        .await
    }

    pub(super) async fn incidents_similar(
        &self,
        of: IncidentId,
        touching: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<SimilarIncident>> {
        self.read(move |conn| {
            let sql = format!(
                "{SUBTREE} SELECT i.document, COUNT(*) AS shared
                 FROM incident_observables mine
                 JOIN incident_observables theirs
                   ON theirs.observable = mine.observable AND theirs.incident_id <> mine.incident_id
                 JOIN incidents i ON i.id = theirs.incident_id
                 WHERE mine.incident_id = ?2
                   AND theirs.incident_id IN (SELECT incident_id FROM incident_access WHERE tenant_id IN (SELECT id FROM subtree))
                 GROUP BY theirs.incident_id
                 ORDER BY shared DESC, theirs.incident_id DESC
                 LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                touching.to_string(),
                of.to_string(),
                i64::from(limit)
            ])?;
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                let shared: i64 = row.get(1)?;
                found.push(SimilarIncident {
                    incident: decode_incident(row.get(0)?)?,
                    shared: u64::try_from(shared)
                        .map_err(|_| StoreError::corrupt("shared observables", shared))?,
                });
            }
            Ok(found)
        })
        .await
    }

    pub(super) async fn incidents_get(&self, id: IncidentId) -> StoreResult<Option<Incident>> {
        self.read(move |conn| get_incident(conn, id)).await
    }

    pub(super) async fn incidents_by_readable_id(
        &self,
        readable: &ReadableId,
    ) -> StoreResult<Option<Incident>> {
        let readable = readable.to_string();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT document FROM incidents WHERE readable_id = ?1")?;
            let text: Option<String> = stmt
                .query_row(params![readable], |row| row.get(0))
                .optional()?;
            text.map(decode_incident).transpose()
        })
        .await
    }

    pub(super) async fn incidents_list(
        &self,
        scope: IncidentScope,
        page: &PageRequest,
    ) -> StoreResult<Page<Incident>> {
        let before = match &page.after {
            Some(_) => Some(after_key(page, "incidents")?),
            None => None,
        };
        let limit = page.effective_limit();
        self.read(move |conn| {
            let (sql, key) = match scope {
                IncidentScope::Touching(tenant) => (
                    format!("{SUBTREE} SELECT document FROM incidents WHERE id IN (SELECT incident_id FROM incident_access WHERE tenant_id IN (SELECT id FROM subtree)) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"),
                    Some(tenant.to_string()),
                ),
                IncidentScope::Open => (
                    "SELECT document FROM incidents WHERE ?1 IS NULL AND status <> 'closed' AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3".to_owned(),
                    None,
                ),
            };
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![key, before, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, |row| decode_incident(row.get(0)?))?;
            Ok(Page::from_rows(items, limit, |i| i.id.to_string(), "incidents"))
        })
        .await
    }

    pub(super) async fn incidents_report(
        &self,
        id: IncidentReportId,
    ) -> StoreResult<Option<IncidentReport>> {
        self.read(move |conn| get_report(conn, id)).await
    }

    pub(super) async fn incidents_reports(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentReport>> {
        let before = match &page.after {
            Some(_) => Some(after_key(page, "incident reports")?),
            None => None,
        };
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!("{SUBTREE} SELECT document FROM incident_reports WHERE tenant_id IN (SELECT id FROM subtree) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), before, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, |row| from_document("incident report", &row.get::<_, String>(0)?))?;
            Ok(Page::from_rows(items, limit, |r: &IncidentReport| r.id.to_string(), "incident reports"))
        })
        .await
    }

    pub(super) async fn incidents_timeline(
        &self,
        incident: IncidentId,
    ) -> StoreResult<Vec<TimelineEntry>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT document FROM incident_timeline WHERE incident_id = ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query(params![incident.to_string()])?;
            page_rows(&mut rows, |row| {
                from_document("timeline entry", &row.get::<_, String>(0)?)
            })
        })
        .await
    }

    pub(super) async fn incidents_evidence(&self, id: EvidenceId) -> StoreResult<Option<Evidence>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT document FROM evidence WHERE id = ?1")?;
            let text: Option<String> = stmt
                .query_row(params![id.to_string()], |row| row.get(0))
                .optional()?;
            text.map(|t| from_document("evidence", &t)).transpose()
        })
        .await
    }

    pub(super) async fn incidents_list_evidence(
        &self,
        of: EvidenceOf,
    ) -> StoreResult<Vec<Evidence>> {
        self.read(move |conn| {
            let (sql, key) = match of {
                EvidenceOf::Incident(id) => (
                    "SELECT document FROM evidence WHERE incident_id = ?1 ORDER BY id",
                    id.to_string(),
                ),
                EvidenceOf::Report(id) => (
                    "SELECT document FROM evidence WHERE report_id = ?1 ORDER BY id",
                    id.to_string(),
                ),
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(params![key])?;
            page_rows(&mut rows, |row| {
                from_document("evidence", &row.get::<_, String>(0)?)
            })
        })
        .await
    }

    pub(super) async fn incidents_put_content(
        &self,
        content: Vec<u8>,
    ) -> StoreResult<Sha256Digest> {
        let data_dir = self.data_dir();
        blocking(move || {
            let digest = Sha256Digest::of(&content);
            let path = content_path(&data_dir, &digest);
            if !path.exists() {
                write_content_file(&path, &content)?;
            }
            Ok(digest)
        })
        .await
    }

    pub(super) async fn incidents_content(
        &self,
        digest: Sha256Digest,
    ) -> StoreResult<Option<Vec<u8>>> {
        let path = content_path(&self.data_dir(), &digest);
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StoreError::Io {
                context: format!("cannot read evidence {}", path.display()),
                source: error,
            }),
        })
        .await
    }

    pub(super) async fn incidents_insert_notifications(
        &self,
        notifications: Vec<IncidentNotification>,
    ) -> StoreResult<Vec<IncidentNotification>> {
        self.write(move |tx, _| {
            let mut inserted = Vec::new();
            for notification in notifications {
                check_tenants(tx, [notification.tenant])?;
                let changed = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO incident_notifications (id, instance_id, tenant_id, incident_id, kind, stage, raised_at, document)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![
                        notification.id.to_string(),
                        notification.instance.to_string(),
                        notification.tenant.to_string(),
                        notification.incident.to_string(),
                        notification.kind.as_str(),
                        notification.stage,
                        notification.raised_at.unix_micros(),
                        document("incident notification", &notification)?,
                    ])?;
                if changed == 1 {
                    inserted.push(notification);
                }
            }
            Ok(inserted)
        })
        .await
    }

    pub(super) async fn incidents_notifications(
        &self,
        subtree: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<IncidentNotification>> {
        let before = match &page.after {
            Some(_) => Some(after_key(page, "incident notifications")?),
            None => None,
        };
        let limit = page.effective_limit();
        self.read(move |conn| {
            let sql = format!("{SUBTREE} SELECT document FROM incident_notifications WHERE tenant_id IN (SELECT id FROM subtree) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![subtree.to_string(), before, i64::from(limit) + 1])?;
            let items = page_rows(&mut rows, |row| from_document("incident notification", &row.get::<_, String>(0)?))?;
            Ok(Page::from_rows(items, limit, |n: &IncidentNotification| n.id.to_string(), "incident notifications"))
        })
        .await
    }

    pub(super) async fn incidents_audit_of(
        &self,
        record_kind: &str,
        record_id: &str,
    ) -> StoreResult<Vec<AuditEntry>> {
        let (kind, id) = (record_kind.to_owned(), record_id.to_owned());
        self.read(move |conn| {
            let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE record_kind = ?1 AND record_id = ?2 ORDER BY seq");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![kind, id])?;
            page_rows(&mut rows, audit_from_row)
        })
        .await
    }
}
