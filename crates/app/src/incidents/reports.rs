//! Incident reports from constituents, and their triage by the CERTs above.

use nigehban_model::{
    Audience, AuditAction, Evidence, Incident, IncidentClocks, IncidentId, IncidentReport,
    IncidentReportId, IncidentSeverity, IncidentStatus, Observable, Pap, ReadableId, ReportStatus,
    RsitClass, TenantId, TimelineKind, Tlp, extract_observables, incident,
};
use nigehban_store::{
    AuditAfter, AuditNote, EvidenceOf, IncidentWrite, Page, PageRequest, StoreError,
};

use super::{
    IncidentRef, IncidentSight, Incidents, RETRIES, Viewer, authorise_tree, check_list, invalid,
    json,
};
use crate::policy::Action;
use crate::{AppError, AppResult, Caller};

/// Most affected systems a report may name.
const AFFECTED_SYSTEMS_MAX: usize = 100;

/// A report to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// The reporting organisation (default the caller's tenant; a CERT may report for one below it).
    pub tenant: Option<TenantId>,
    /// What happened, in one line.
    pub title: String,
    /// What happened, in detail (observables in it are extracted).
    pub description: String,
    /// When the organisation noticed it: every regulatory clock starts here.
    pub noticed_at: nigehban_model::Timestamp,
    /// When it happened, if known.
    pub occurred_at: Option<nigehban_model::Timestamp>,
    /// The affected systems, in the reporter's words.
    pub affected_systems: Vec<String>,
    /// Observables, besides those found in the description.
    pub observables: Vec<Observable>,
    /// How far the reporter lets it be shared; incidents it becomes are never below it.
    pub tlp: Tlp,
}

/// What the CERT makes of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Triage {
    /// Open a new incident for it, owned by the triaging tenant.
    NewIncident {
        /// The incident's title (default the report's).
        title: Option<String>,
        /// Its RSIT class and type.
        classification: RsitClass,
        /// How serious it is.
        severity: IncidentSeverity,
        /// Its TLP (default the report's; never below it).
        tlp: Option<Tlp>,
        /// Its PAP.
        pap: Pap,
        /// A regulatory profile (default the one for the reporter's sector).
        regulatory_profile: Option<String>,
    },
    /// Add it to an existing incident the triaging tenant handles.
    Existing(IncidentRef),
    /// Reject it, with a reason the reporter sees.
    Reject {
        /// Why.
        reason: String,
    },
}

/// A triaged report and the incident it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageOutcome {
    /// The report as triaged.
    pub report: IncidentReport,
    /// The incident, unless it was rejected.
    pub incident: Option<IncidentSight>,
}

impl Incidents<'_> {
    /// Files a report for the caller's organisation (or, from a CERT, for an
    /// organisation below it). The CERTs above see it at once.
    pub async fn file_report(&self, caller: &Caller, new: NewReport) -> AppResult<IncidentReport> {
        let viewer = Viewer::of(self.app, caller).await?;
        let tenant = new.tenant.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ReportIncident, tenant, "tenant")?;
        let now = self.now();
        let title = incident::one_line("title", &new.title).map_err(invalid)?;
        let description = incident::free_text("description", &new.description).map_err(invalid)?;
        if new.noticed_at > now {
            return Err(AppError::Invalid("noticed_at: is in the future".into()));
        }
        if new.occurred_at.is_some_and(|at| at > now) {
            return Err(AppError::Invalid("occurred_at: is in the future".into()));
        }
        if new.affected_systems.len() > AFFECTED_SYSTEMS_MAX {
            return Err(AppError::Invalid(format!(
                "affected_systems: at most {AFFECTED_SYSTEMS_MAX}"
            )));
        }
        let affected_systems = new
            .affected_systems
            .iter()
            .map(|system| incident::one_line("affected_systems", system))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let mut observables: Vec<Observable> = Vec::new();
        for observable in new
            .observables
            .into_iter()
            .chain(extract_observables(&description))
        {
            if !observables.contains(&observable) {
                observables.push(observable);
            }
        }
        check_list("observables", observables.len())?;
        let report = IncidentReport {
            id: IncidentReportId::new(),
            instance: self.app.instance(),
            tenant,
            reported_by: caller.actor(),
            title,
            description,
            noticed_at: new.noticed_at,
            occurred_at: new.occurred_at,
            affected_systems,
            observables,
            tlp: new.tlp,
            status: ReportStatus::Submitted,
            triaged_by: None,
            triaged_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let write = IncidentWrite {
            audit: vec![AuditNote {
                tenant,
                action: AuditAction::REPORT_CREATE,
                record_kind: "incident_report",
                record_id: report.id.to_string(),
                before: None,
                after: AuditAfter::Record,
            }],
            new_reports: vec![report],
            ..IncidentWrite::default()
        };
        let written = self
            .app
            .store()
            .write_incidents(write, &self.audit_context(caller))
            .await?;
        let report = written
            .reports
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("storage filed no report".into()))?;
        tracing::info!(report = %report.id, tenant = %report.tenant, "incident report filed");
        Ok(report)
    }

    /// The reports of tenant `under` (default the caller's) and the tenants below it, newest first.
    pub async fn reports(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        page: &PageRequest,
    ) -> AppResult<Page<IncidentReport>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let under = under.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ViewIncident, under, "tenant")?;
        Ok(self.app.store().list_incident_reports(under, page).await?)
    }

    /// One report: its organisation and the CERTs above it see it.
    pub async fn report(&self, caller: &Caller, id: IncidentReportId) -> AppResult<IncidentReport> {
        let viewer = Viewer::of(self.app, caller).await?;
        self.visible_report(&viewer, id).await
    }

    pub(crate) async fn visible_report(
        &self,
        viewer: &Viewer,
        id: IncidentReportId,
    ) -> AppResult<IncidentReport> {
        let report = self
            .app
            .store()
            .incident_report(id)
            .await?
            .ok_or_else(|| AppError::not_found("incident report", id))?;
        authorise_tree(
            viewer,
            Action::ViewIncident,
            report.tenant,
            "incident report",
        )
        .map_err(|e| match e {
            AppError::NotFound { .. } => AppError::not_found("incident report", id),
            other => other,
        })?;
        Ok(report)
    }

    /// Triages a report (a CERT above the reporting organisation): into a new
    /// incident it then owns, into an existing incident it handles, or
    /// rejected with a reason the reporter sees. The report's attachments
    /// become the incident's evidence.
    pub async fn triage_report(
        &self,
        caller: &Caller,
        id: IncidentReportId,
        triage: Triage,
    ) -> AppResult<TriageOutcome> {
        let viewer = Viewer::of(self.app, caller).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let report = self.visible_report(&viewer, id).await?;
            authorise_tree(
                &viewer,
                Action::TriageReport,
                report.tenant,
                "incident report",
            )?;
            if report.status != ReportStatus::Submitted {
                return Err(AppError::Conflict(format!(
                    "report {id} was already {}",
                    report.status.word()
                )));
            }
            let result = match &triage {
                Triage::Reject { reason } => self.reject(caller, report, reason).await,
                Triage::NewIncident {
                    title,
                    classification,
                    severity,
                    tlp,
                    pap,
                    regulatory_profile,
                } => {
                    self.triage_into_new(
                        caller,
                        &viewer,
                        report,
                        NewFromReport {
                            title: title.clone(),
                            classification: classification.clone(),
                            severity: *severity,
                            tlp: *tlp,
                            pap: *pap,
                            regulatory_profile: regulatory_profile.clone(),
                        },
                    )
                    .await
                }
                Triage::Existing(reference) => {
                    self.triage_into_existing(caller, &viewer, report, reference)
                        .await
                }
            };
            match result? {
                Some(outcome) => return Ok(outcome),
                None if attempt < RETRIES => continue,
                None => {
                    return Err(AppError::Conflict(format!(
                        "report {id} or its incident kept changing meanwhile; try again"
                    )));
                }
            }
        }
    }

    async fn reject(
        &self,
        caller: &Caller,
        report: IncidentReport,
        reason: &str,
    ) -> AppResult<Option<TriageOutcome>> {
        let reason = incident::free_text("reason", reason).map_err(invalid)?;
        if reason.trim().is_empty() {
            return Err(AppError::Invalid(
                "reason: say why the report is rejected; the reporter sees it".into(),
            ));
        }
        let now = self.now();
        let mut rejected = report.clone();
        rejected.status = ReportStatus::Rejected { reason };
        rejected.triaged_by = Some(caller.tenant_id());
        rejected.triaged_at = Some(now);
        rejected.updated_at = now;
        let write = IncidentWrite {
            audit: vec![AuditNote {
                tenant: report.tenant,
                action: AuditAction::REPORT_REJECT,
                record_kind: "incident_report",
                record_id: report.id.to_string(),
                before: Some(json(&report)?),
                after: AuditAfter::Record,
            }],
            reports: vec![rejected],
            ..IncidentWrite::default()
        };
        let Some(written) = self.write_triage(caller, write).await? else {
            return Ok(None);
        };
        Ok(Some(TriageOutcome {
            report: first_report(written.reports)?,
            incident: None,
        }))
    }

    /// Writes a triage; `None` when a record changed meanwhile (read again and retry).
    async fn write_triage(
        &self,
        caller: &Caller,
        write: IncidentWrite,
    ) -> AppResult<Option<nigehban_store::IncidentWritten>> {
        match self
            .app
            .store()
            .write_incidents(write, &self.audit_context(caller))
            .await
        {
            Err(StoreError::Stale { .. }) => Ok(None),
            other => Ok(Some(other?)),
        }
    }

    /// The report's attachments moved to `incident`, with their audit and timeline entries.
    async fn attachments_to(
        &self,
        caller: &Caller,
        report: &IncidentReport,
        incident: &Incident,
        write: &mut IncidentWrite,
    ) -> AppResult<()> {
        let attachments: Vec<Evidence> = self
            .app
            .store()
            .list_evidence(EvidenceOf::Report(report.id))
            .await?;
        for mut item in attachments {
            item.incident = Some(incident.id);
            write.audit.push(AuditNote {
                tenant: incident.owner,
                action: AuditAction::EVIDENCE_ATTACH,
                record_kind: "evidence",
                record_id: item.id.to_string(),
                before: None,
                after: AuditAfter::Record,
            });
            write.timeline.push(self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::EvidenceAdded {
                        evidence: item.id,
                        sha256: item.sha256,
                    },
                    Audience::Custody,
                    format!(
                        "{} attached with report {}",
                        item.filename.as_str(),
                        report.id
                    ),
                ),
            ));
            write.evidence.push(item);
        }
        Ok(())
    }

    async fn triage_into_new(
        &self,
        caller: &Caller,
        viewer: &Viewer,
        report: IncidentReport,
        new: NewFromReport,
    ) -> AppResult<Option<TriageOutcome>> {
        let owner = caller.tenant_id();
        authorise_tree(viewer, Action::WorkIncident, owner, "tenant")?;
        let tlp = new.tlp.unwrap_or(report.tlp);
        if tlp < report.tlp {
            return Err(AppError::Invalid(format!(
                "tlp: the reporter marked the report {}; the incident cannot be shared more widely ({})",
                report.tlp, tlp
            )));
        }
        let title = match &new.title {
            Some(title) => incident::one_line("title", title).map_err(invalid)?,
            None => report.title.clone(),
        };
        let now = self.now();
        let origin_sector = self.sector_of(report.tenant).await?;
        let regulatory = self
            .app
            .settings()
            .incidents
            .regulatory_profiles
            .clock_for(
                new.regulatory_profile.as_deref(),
                origin_sector,
                report.noticed_at,
            )?;
        let mut clocks = IncidentClocks::new(report.noticed_at, report.created_at);
        clocks.record_status(IncidentStatus::Triaged, now);
        let mut description = report.description.clone();
        if !report.affected_systems.is_empty() {
            description.push_str("\n\nAffected systems: ");
            description.push_str(&report.affected_systems.join(", "));
        }
        let incident = Incident {
            id: IncidentId::new(),
            instance: self.app.instance(),
            readable_id: ReadableId::new(&self.app.settings().incidents.id_prefix, 1970, 0),
            owner,
            former_owners: Vec::new(),
            reporting_tenants: vec![report.tenant],
            reports: vec![report.id],
            title,
            description,
            classification: new.classification,
            severity: new.severity,
            tlp,
            pap: new.pap,
            status: IncidentStatus::Triaged,
            resolution: None,
            assignee: None,
            affected_tenants: vec![report.tenant],
            observables: report.observables.clone(),
            tasks: Vec::new(),
            related: Vec::new(),
            merged_into: None,
            merged_from: Vec::new(),
            linked_alerts: Vec::new(),
            regulatory,
            clocks,
            origin_sector,
            created_by: caller.actor(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let mut triaged = report.clone();
        triaged.status = ReportStatus::Triaged {
            incident: incident.id,
            readable_id: incident.readable_id.clone(),
            new_incident: true,
        };
        triaged.triaged_by = Some(owner);
        triaged.triaged_at = Some(now);
        triaged.updated_at = now;
        let mut write = IncidentWrite {
            timeline: vec![self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::ReportTriaged { report: report.id },
                    Audience::Everyone,
                    format!("report \"{}\" triaged into a new incident", report.title),
                ),
            )],
            audit: vec![AuditNote {
                tenant: report.tenant,
                action: AuditAction::REPORT_TRIAGE,
                record_kind: "incident_report",
                record_id: report.id.to_string(),
                before: Some(json(&report)?),
                after: AuditAfter::Record,
            }],
            reports: vec![triaged],
            ..IncidentWrite::default()
        };
        self.attachments_to(caller, &report, &incident, &mut write)
            .await?;
        let Some(opened) = self.write_opened(caller, incident, write).await? else {
            return Ok(None);
        };
        tracing::info!(report = %report.id, incident = %opened.readable_id, "report triaged into a new incident");
        let triaged = self
            .app
            .store()
            .incident_report(report.id)
            .await?
            .ok_or_else(|| AppError::not_found("incident report", report.id))?;
        Ok(Some(TriageOutcome {
            report: triaged,
            incident: viewer.sight(self.app, opened).await?,
        }))
    }

    async fn triage_into_existing(
        &self,
        caller: &Caller,
        viewer: &Viewer,
        report: IncidentReport,
        reference: &IncidentRef,
    ) -> AppResult<Option<TriageOutcome>> {
        let mut incident = self.load(reference).await?;
        viewer.authorise(Action::WorkIncident, &incident)?;
        if !incident.status.is_open() {
            return Err(AppError::Conflict(format!(
                "incident {} is closed; reopen it or open a new one",
                incident.readable_id
            )));
        }
        let before = incident.clone();
        let now = self.now();
        if !incident.reports.contains(&report.id) {
            incident.reports.push(report.id);
        }
        if !incident.reporting_tenants.contains(&report.tenant) {
            incident.reporting_tenants.push(report.tenant);
        }
        if !incident.affected_tenants.contains(&report.tenant) {
            incident.affected_tenants.push(report.tenant);
        }
        incident.add_observables(report.observables.clone());
        check_list("observables", incident.observables.len())?;
        incident.tlp = incident.tlp.max(report.tlp);
        incident.clocks.aware_at = incident.clocks.aware_at.min(report.noticed_at);
        incident.clocks.received_at = incident.clocks.received_at.min(report.created_at);
        if incident.regulatory.is_none() {
            let sector = self.sector_of(report.tenant).await?;
            incident.regulatory = self
                .app
                .settings()
                .incidents
                .regulatory_profiles
                .clock_for(None, sector, incident.clocks.aware_at)?;
        }
        incident.updated_at = now;
        let mut triaged = report.clone();
        triaged.status = ReportStatus::Triaged {
            incident: incident.id,
            readable_id: incident.readable_id.clone(),
            new_incident: false,
        };
        triaged.triaged_by = Some(caller.tenant_id());
        triaged.triaged_at = Some(now);
        triaged.updated_at = now;
        let mut write = IncidentWrite {
            timeline: vec![self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::ReportTriaged { report: report.id },
                    Audience::Everyone,
                    format!("report \"{}\" added", report.title),
                ),
            )],
            audit: vec![
                AuditNote {
                    tenant: report.tenant,
                    action: AuditAction::REPORT_TRIAGE,
                    record_kind: "incident_report",
                    record_id: report.id.to_string(),
                    before: Some(json(&report)?),
                    after: AuditAfter::Record,
                },
                AuditNote {
                    tenant: incident.owner,
                    action: AuditAction::INCIDENT_UPDATE,
                    record_kind: "incident",
                    record_id: incident.id.to_string(),
                    before: Some(json(&before)?),
                    after: AuditAfter::Record,
                },
            ],
            reports: vec![triaged],
            ..IncidentWrite::default()
        };
        self.attachments_to(caller, &report, &incident, &mut write)
            .await?;
        write.incidents = vec![incident];
        let Some(written) = self.write_triage(caller, write).await? else {
            return Ok(None);
        };
        let saved = written
            .incidents
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("storage wrote no incident".into()))?;
        tracing::info!(report = %report.id, incident = %saved.readable_id, "report added to an incident");
        Ok(Some(TriageOutcome {
            report: first_report(written.reports)?,
            incident: viewer.sight(self.app, saved).await?,
        }))
    }
}

/// The fields of a new incident opened from a report.
struct NewFromReport {
    title: Option<String>,
    classification: RsitClass,
    severity: IncidentSeverity,
    tlp: Option<Tlp>,
    pap: Pap,
    regulatory_profile: Option<String>,
}

fn first_report(reports: Vec<IncidentReport>) -> AppResult<IncidentReport> {
    reports
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("storage wrote no report".into()))
}
