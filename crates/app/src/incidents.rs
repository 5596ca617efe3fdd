//! Incidents and their coordination across the national, sectoral and
//! organisational CERTs.
//!
//! - **Reports** ([`Incidents::file_report`]): a constituent reports what
//!   happened to its sectoral CERT; the CERTs above it see it at once and
//!   triage it ([`Incidents::triage_report`]) into a new incident, into an
//!   existing one, or reject it with a reason the reporter sees.
//! - **Incidents** ([`Incidents::open`], [`Incidents::get`],
//!   [`Incidents::list`], ...): readable ids, RSIT classification, severity,
//!   TLP and PAP, the status workflow, assignee, affected organisations,
//!   typed observables (also found in the text), tasks, a timeline of
//!   everything, related and merged incidents.
//! - **Escalation up and tasking down** ([`Incidents::escalate`],
//!   [`Incidents::task`]): the owner moves to its parent and earlier owners
//!   keep seeing the incident; a parent tasks a tenant below it, which sees
//!   its task and what the incident's TLP allows.
//! - **Evidence** (`evidence.rs`), **regulatory deadlines**
//!   (`deadlines.rs`), **response-time figures** (`metrics.rs`) and
//!   **export** (`export.rs`).
//!
//! Who sees how much is decided by the policy ([`crate::policy::incident_view`],
//! [`crate::policy::decide_incident`]); every change is one store write with
//! its timeline entries and audit entries, made against the version read (a
//! concurrent change makes it read again and retry). Times come from the
//! app's [`crate::Clock`].
//!
//! **Alerts to incidents** (`alert_links.rs`): an incident opens from alerts
//! ([`OpenIncident::alerts`]) or gains more ([`Incidents::link_alerts`]);
//! [`Incident::linked_alerts`] holds their ids, each alert names its
//! incident, the alerts' observables join the incident's, and
//! [`nigehban_model::TimelineKind::AlertLinked`] records each link.
//! [`Incidents::similar`] suggests incidents sharing observables, only among
//! those the caller sees.

mod access;
mod alert_links;
mod deadlines;
mod evidence;
mod export;
mod metrics;
mod reports;

use std::future::Future;
use std::time::Duration;

use nigehban_model::{
    AlertId, Audience, AuditAction, Incident, IncidentClocks, IncidentId, IncidentResolution,
    IncidentSeverity, IncidentStatus, IncidentTask, IncidentTaskId, Observable, Pap, ReadableId,
    RsitClass, Sector, TaskKind, TaskStatus, TenantId, TenantKind, TimelineEntry, TimelineEntryId,
    TimelineKind, Timestamp, Tlp, UserId, extract_observables, incident,
};
use nigehban_store::{
    AuditAfter, AuditNote, IncidentScope, IncidentWrite, NewIncident, Page, PageRequest, StoreError,
};

use crate::policy::{Action, Decision, IncidentView};
use crate::{App, AppError, AppResult, Caller};

pub use access::{IncidentSight, LimitedIncident};
pub use alert_links::{MAX_ALERTS_PER_LINK, MAX_SIMILAR, SimilarIncident};
pub use deadlines::{
    DEADLINE_DUE_SOON_RULE, DEADLINE_MISSED_RULE, DEFAULT_REGULATORY_PROFILES, RegulatoryProfiles,
    parse_regulatory_profiles,
};
pub use evidence::{
    CustodyRecord, EVIDENCE_MEDIA_TYPES, EvidenceDownload, NewEvidence, check_evidence_content,
};
pub use export::{IncidentExport, render_summary};
pub use metrics::{IncidentMetrics, MetricsFigures, MetricsGroup, MetricsGrouping, MetricsQuery};
pub use reports::{NewReport, Triage, TriageOutcome};

pub(crate) use access::Viewer;

/// How incidents behave on this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSettings {
    /// The first part of readable incident ids (`PK` in `PK-2026-000123`).
    pub id_prefix: nigehban_model::ReadableIdPrefix,
    /// The largest evidence file accepted, in bytes.
    pub evidence_max_bytes: usize,
    /// The regulatory reporting profiles, chosen per sector.
    pub regulatory_profiles: RegulatoryProfiles,
}

/// 64 MiB: evidence files larger than this are refused unless configured otherwise.
pub const DEFAULT_EVIDENCE_MAX_BYTES: usize = 64 * 1024 * 1024;

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            id_prefix: nigehban_model::ReadableIdPrefix::default(),
            evidence_max_bytes: DEFAULT_EVIDENCE_MAX_BYTES,
            regulatory_profiles: RegulatoryProfiles::builtin(),
        }
    }
}

/// How many times a change is retried when someone else changed the incident meanwhile.
const RETRIES: usize = 5;

/// Longest list of observables, affected organisations or tasks on one incident.
const LIST_MAX: usize = 5_000;

/// An incident to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIncident {
    /// The tenant that handles it (default the caller's; a tenant below it is allowed).
    pub owner: Option<TenantId>,
    /// What happened, in one line.
    pub title: String,
    /// What happened, in detail (observables in it are extracted).
    pub description: String,
    /// Its RSIT class and type.
    pub classification: RsitClass,
    /// How serious it is.
    pub severity: IncidentSeverity,
    /// How far it may be shared.
    pub tlp: Tlp,
    /// What recipients may do with it.
    pub pap: Pap,
    /// When the affected organisation became aware (default now).
    pub aware_at: Option<Timestamp>,
    /// Affected organisations (tenants in the caller's subtree).
    pub affected_tenants: Vec<TenantId>,
    /// Observables, besides those found in the description.
    pub observables: Vec<Observable>,
    /// A regulatory profile to apply (default: the one for the owner's sector, if any).
    pub regulatory_profile: Option<String>,
    /// Alerts it is opened from (of the owner or tenants below it): they are
    /// linked to it and their observables become its own.
    pub alerts: Vec<AlertId>,
}

/// A change to an incident's fields; absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// A new title.
    pub title: Option<String>,
    /// A new description (observables in it are extracted).
    pub description: Option<String>,
    /// A new classification.
    pub classification: Option<RsitClass>,
    /// A new severity.
    pub severity: Option<IncidentSeverity>,
    /// A new TLP (never below the TLP of a report it holds).
    pub tlp: Option<Tlp>,
    /// A new PAP.
    pub pap: Option<Pap>,
    /// New affected organisations.
    pub affected_tenants: Option<Vec<TenantId>>,
    /// A regulatory profile to apply (only while no stage has been submitted).
    pub regulatory_profile: Option<String>,
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The new status.
    pub status: IncidentStatus,
    /// Why it is closed (closing only; default `resolved`).
    pub resolution: Option<IncidentResolution>,
    /// Why, for the timeline.
    pub note: Option<String>,
}

/// A task to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// The tenant that must do it: the caller's own or one below it.
    pub assignee_tenant: TenantId,
    /// The person there who owns it.
    pub assignee_user: Option<UserId>,
    /// What kind of work.
    pub kind: TaskKind,
    /// What to do, in one line.
    pub title: String,
    /// What to do, in detail.
    pub description: String,
    /// By when.
    pub due_at: Option<Timestamp>,
}

/// A change to a task; absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskUpdate {
    /// A new status (`cancelled` only by the tasking side).
    pub status: Option<TaskStatus>,
    /// What was done or found.
    pub result: Option<String>,
    /// A new owner within the assignee tenant.
    pub assignee_user: Option<UserId>,
    /// A new due time (tasking side only).
    pub due_at: Option<Timestamp>,
    /// A note for the timeline.
    pub note: Option<String>,
}

/// A task as its caller may see it, with the incident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskSight {
    /// The task.
    #[serde(flatten)]
    pub task: IncidentTask,
    /// The incident's id.
    pub incident: IncidentId,
    /// The incident's readable id.
    pub readable_id: ReadableId,
    /// The incident's title, when the caller sees its details.
    pub incident_title: Option<String>,
    /// The incident's TLP.
    pub tlp: Tlp,
    /// The incident's PAP.
    pub pap: Pap,
}

/// Who may see a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteAudience {
    /// Only the incident's custody (and the note's author's tenant).
    #[default]
    Custody,
    /// Everyone who sees the incident's details.
    Everyone,
}

/// Which incidents to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncidentListing {
    /// Those with a stakeholder in this tenant's subtree (default the caller's).
    pub under: Option<TenantId>,
    /// Only those in this status.
    pub status: Option<IncidentStatus>,
    /// Only open ones.
    pub open_only: bool,
}

/// How an incident is named in a request: by id or by readable id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentRef {
    /// Its UUID.
    Id(IncidentId),
    /// Its readable id, e.g. `PK-2026-000123`.
    Readable(ReadableId),
}

impl std::str::FromStr for IncidentRef {
    type Err = AppError;
    /// A UUID or a readable id.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(id) = text.parse::<IncidentId>() {
            return Ok(IncidentRef::Id(id));
        }
        text.parse::<ReadableId>()
            .map(IncidentRef::Readable)
            .map_err(|_| {
                AppError::Invalid(format!(
                    "{text:?} is neither an incident id (a UUID) nor a readable id like PK-2026-000123"
                ))
            })
    }
}

impl std::fmt::Display for IncidentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IncidentRef::Id(id) => write!(f, "{id}"),
            IncidentRef::Readable(readable) => write!(f, "{readable}"),
        }
    }
}

impl From<IncidentId> for IncidentRef {
    fn from(id: IncidentId) -> Self {
        IncidentRef::Id(id)
    }
}

/// What one change to an incident did: its timeline entries and its audit action.
pub(crate) struct Change<T> {
    pub(crate) timeline: Vec<(TimelineKind, Audience, String)>,
    pub(crate) action: AuditAction,
    pub(crate) value: T,
}

impl<T> Change<T> {
    fn new(action: AuditAction, value: T) -> Self {
        Self {
            timeline: Vec::new(),
            action,
            value,
        }
    }

    fn entry(mut self, kind: TimelineKind, audience: Audience, message: impl Into<String>) -> Self {
        self.timeline.push((kind, audience, message.into()));
        self
    }
}

pub(crate) fn invalid(error: impl std::fmt::Display) -> AppError {
    AppError::Invalid(error.to_string())
}

/// Incident services; see [`App::incidents`].
#[derive(Debug, Clone, Copy)]
pub struct Incidents<'a> {
    pub(crate) app: &'a App,
}

impl Incidents<'_> {
    pub(crate) fn now(&self) -> Timestamp {
        self.app.clock().now()
    }

    pub(crate) fn audit_context(&self, caller: &Caller) -> nigehban_store::AuditContext {
        let mut context = caller.audit_context();
        context.at = self.now();
        context
    }

    /// A timeline entry made now by `caller`.
    pub(crate) fn entry(
        &self,
        caller: &Caller,
        incident: IncidentId,
        (kind, audience, message): (TimelineKind, Audience, String),
    ) -> TimelineEntry {
        TimelineEntry {
            id: TimelineEntryId::new(),
            incident,
            at: self.now(),
            actor: caller.actor(),
            audience,
            kind,
            message,
        }
    }

    /// The incident named by `reference`, whatever the caller may see (callers check).
    pub(crate) async fn load(&self, reference: &IncidentRef) -> AppResult<Incident> {
        let found = match reference {
            IncidentRef::Id(id) => self.app.store().incident(*id).await?,
            IncidentRef::Readable(readable) => {
                self.app.store().incident_by_readable_id(readable).await?
            }
        };
        found.ok_or_else(|| AppError::not_found("incident", reference))
    }

    /// The sector an incident of `tenant` comes from: the sector of the
    /// sectoral CERT at or above it; none for the national CERT's own.
    pub(crate) async fn sector_of(&self, tenant: TenantId) -> AppResult<Option<Sector>> {
        let path = self.app.store().tenant_path(tenant).await?;
        Ok(path.iter().rev().find_map(|t| match t.kind {
            TenantKind::Sectoral { sector } => Some(sector),
            _ => None,
        }))
    }

    /// Reads `reference`, asks the policy for `action` (when `None`, `change`
    /// asks itself), applies `change` and
    /// writes the result with its timeline and audit entries; when someone
    /// else changed the incident meanwhile, reads it again and retries.
    pub(crate) async fn change<T, F, Fut>(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        action: Option<Action>,
        change: F,
    ) -> AppResult<(Incident, T)>
    where
        F: Fn(Viewer, Incident) -> Fut,
        Fut: Future<Output = AppResult<(Incident, Change<T>)>>,
    {
        let viewer = Viewer::of(self.app, caller).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let before = self.load(reference).await?;
            if let Some(action) = action {
                viewer.authorise(action, &before)?;
            }
            let (mut after, change_made) = change(viewer.clone(), before.clone()).await?;
            after.updated_at = self.now();
            let timeline = change_made
                .timeline
                .into_iter()
                .map(|entry| self.entry(caller, after.id, entry))
                .collect();
            let write = IncidentWrite {
                audit: vec![AuditNote {
                    tenant: after.owner,
                    action: change_made.action,
                    record_kind: "incident",
                    record_id: after.id.to_string(),
                    before: Some(json(&before)?),
                    after: AuditAfter::Record,
                }],
                incidents: vec![after],
                timeline,
                ..IncidentWrite::default()
            };
            match self
                .app
                .store()
                .write_incidents(write, &self.audit_context(caller))
                .await
            {
                Ok(mut written) => {
                    let saved = written
                        .incidents
                        .pop()
                        .ok_or_else(|| AppError::Internal("storage wrote no incident".into()))?;
                    return Ok((saved, change_made.value));
                }
                Err(StoreError::Stale { .. }) if attempt < RETRIES => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Opens an incident in the caller's tenant or one below it.
    pub async fn open(&self, caller: &Caller, new: OpenIncident) -> AppResult<IncidentSight> {
        let viewer = Viewer::of(self.app, caller).await?;
        let owner = new.owner.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::WorkIncident, owner, "tenant")?;
        let title = incident::one_line("title", &new.title).map_err(invalid)?;
        let description = incident::free_text("description", &new.description).map_err(invalid)?;
        self.check_affected(&viewer, &new.affected_tenants)?;
        let now = self.now();
        let aware_at = new.aware_at.unwrap_or(now);
        if aware_at > now {
            return Err(AppError::Invalid(
                "aware_at: the organisation cannot have become aware in the future".into(),
            ));
        }
        let origin_sector = self.sector_of(owner).await?;
        let regulatory = self
            .app
            .settings()
            .incidents
            .regulatory_profiles
            .clock_for(new.regulatory_profile.as_deref(), origin_sector, aware_at)?;
        let mut incident = Incident {
            id: IncidentId::new(),
            instance: self.app.instance(),
            readable_id: ReadableId::new(&self.app.settings().incidents.id_prefix, 1970, 0),
            owner,
            former_owners: Vec::new(),
            reporting_tenants: Vec::new(),
            reports: Vec::new(),
            title,
            description,
            classification: new.classification,
            severity: new.severity,
            tlp: new.tlp,
            pap: new.pap,
            status: IncidentStatus::New,
            resolution: None,
            assignee: None,
            affected_tenants: dedup(new.affected_tenants),
            observables: Vec::new(),
            tasks: Vec::new(),
            related: Vec::new(),
            merged_into: None,
            merged_from: Vec::new(),
            linked_alerts: Vec::new(),
            regulatory,
            clocks: IncidentClocks::new(aware_at, now),
            origin_sector,
            created_by: caller.actor(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let found = extract_observables(&incident.description);
        incident.add_observables(new.observables.into_iter().chain(found));
        check_list("observables", incident.observables.len())?;
        let mut attempt = 0;
        let opened = loop {
            attempt += 1;
            let mut opening = incident.clone();
            let mut more = IncidentWrite::default();
            if !new.alerts.is_empty() {
                let alerts = self.linkable_alerts(&viewer, &opening, &new.alerts).await?;
                self.link_into(caller, &mut opening, &alerts, &mut more)?;
            }
            // Stale only when an alert was linked elsewhere meanwhile: read the alerts again.
            match self.write_opened(caller, opening, more).await? {
                Some(opened) => break opened,
                None if attempt < RETRIES && !new.alerts.is_empty() => continue,
                None => {
                    return Err(AppError::Conflict(
                        "an alert named was linked to another incident meanwhile".into(),
                    ));
                }
            }
        };
        if !new.alerts.is_empty() {
            self.app.alerts().written();
        }
        tracing::info!(incident = %opened.readable_id, owner = %opened.owner, "incident opened");
        viewer.sight(self.app, opened).await?.ok_or_else(|| {
            AppError::Internal("the caller cannot see the incident it opened".into())
        })
    }

    /// Writes a new incident (with `more` of the same change) and its
    /// "opened" timeline entry; `None` when a record of `more` changed meanwhile.
    pub(crate) async fn write_opened(
        &self,
        caller: &Caller,
        incident: Incident,
        mut more: IncidentWrite,
    ) -> AppResult<Option<Incident>> {
        let opened_entry = self.entry(
            caller,
            incident.id,
            (
                TimelineKind::Opened,
                Audience::Everyone,
                "incident opened".to_owned(),
            ),
        );
        more.timeline.insert(0, opened_entry);
        more.open = Some(NewIncident {
            incident,
            prefix: self.app.settings().incidents.id_prefix.clone(),
        });
        let written = match self
            .app
            .store()
            .write_incidents(more, &self.audit_context(caller))
            .await
        {
            Err(StoreError::Stale { .. }) => return Ok(None),
            other => other?,
        };
        written
            .opened
            .map(Some)
            .ok_or_else(|| AppError::Internal("storage opened no incident".into()))
    }

    fn check_affected(&self, viewer: &Viewer, tenants: &[TenantId]) -> AppResult<()> {
        check_list("affected_tenants", tenants.len())?;
        match tenants.iter().find(|t| !viewer.reaches(**t)) {
            Some(outside) => Err(AppError::not_found("tenant", outside)),
            None => Ok(()),
        }
    }

    /// One incident, as much of it as the caller may see (reads at TLP:AMBER
    /// and above are audited).
    pub async fn get(&self, caller: &Caller, reference: &IncidentRef) -> AppResult<IncidentSight> {
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer
            .authorise(Action::ViewIncident, &incident)
            .map_err(|e| match e {
                AppError::NotFound { .. } => AppError::not_found("incident", reference),
                other => other,
            })?;
        let (tlp, owner, id) = (incident.tlp, incident.owner, incident.id);
        let sight = viewer
            .sight(self.app, incident)
            .await?
            .ok_or_else(|| AppError::not_found("incident", reference))?;
        self.app
            .audit()
            .record_read(
                caller,
                crate::ProtectedRead {
                    record_kind: "incident".into(),
                    record_id: id.to_string(),
                    tenant: owner,
                    tlp,
                },
            )
            .await?;
        Ok(sight)
    }

    /// The incidents the caller sees with a stakeholder in `under`'s subtree,
    /// newest first. A page may hold fewer items than asked for (those the
    /// caller sees only its own part of are left out); continue with its cursor.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: IncidentListing,
        page: &PageRequest,
    ) -> AppResult<Page<IncidentSight>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let under = listing.under.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ViewIncident, under, "tenant")?;
        let listed = self
            .app
            .store()
            .list_incidents(IncidentScope::Touching(under), page)
            .await?;
        let mut items = Vec::new();
        for incident in listed.items {
            if listing
                .status
                .is_some_and(|status| status != incident.status)
                || (listing.open_only && !incident.status.is_open())
            {
                continue;
            }
            if let Some(sight) = viewer.sight(self.app, incident).await? {
                items.push(sight);
            }
        }
        Ok(Page {
            items,
            next: listed.next,
        })
    }

    /// Changes an incident's fields (custody).
    pub async fn update(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        update: IncidentUpdate,
    ) -> AppResult<IncidentSight> {
        let (saved, viewer) = self
            .change(caller, reference, Some(Action::WorkIncident), |viewer, mut incident| {
                let update = update.clone();
                async move {
                    let mut fields = Vec::new();
                    if let Some(title) = &update.title {
                        incident.title = incident::one_line("title", title).map_err(invalid)?;
                        fields.push("title");
                    }
                    if let Some(description) = &update.description {
                        incident.description =
                            incident::free_text("description", description).map_err(invalid)?;
                        let found = extract_observables(&incident.description);
                        incident.add_observables(found);
                        check_list("observables", incident.observables.len())?;
                        fields.push("description");
                    }
                    if let Some(classification) = &update.classification {
                        incident.classification = classification.clone();
                        fields.push("classification");
                    }
                    if let Some(severity) = update.severity {
                        incident.severity = severity;
                        fields.push("severity");
                    }
                    if let Some(tlp) = update.tlp {
                        let floor = self.reports_tlp(&incident).await?;
                        if tlp < floor {
                            return Err(AppError::Invalid(format!(
                                "tlp: {} is below {floor}, the TLP a reporter gave a report this incident holds; it may only be raised",
                                tlp
                            )));
                        }
                        incident.tlp = tlp;
                        fields.push("tlp");
                    }
                    if let Some(pap) = update.pap {
                        incident.pap = pap;
                        fields.push("pap");
                    }
                    if let Some(affected) = &update.affected_tenants {
                        self.check_affected(&viewer, affected)?;
                        incident.affected_tenants = dedup(affected.clone());
                        fields.push("affected_tenants");
                    }
                    if let Some(profile) = &update.regulatory_profile {
                        if incident
                            .regulatory
                            .as_ref()
                            .is_some_and(|clock| clock.stages.iter().any(|s| s.submitted_at.is_some()))
                        {
                            return Err(AppError::Conflict(
                                "regulatory_profile: a stage was already submitted under the current profile".into(),
                            ));
                        }
                        incident.regulatory = self.app.settings().incidents.regulatory_profiles.clock_for(
                            Some(profile),
                            incident.origin_sector,
                            incident.clocks.aware_at,
                        )?;
                        fields.push("regulatory_profile");
                    }
                    if fields.is_empty() {
                        return Err(AppError::Invalid("nothing to change: name at least one field".into()));
                    }
                    let message = format!("changed {}", fields.join(", "));
                    let change = Change::new(AuditAction::INCIDENT_UPDATE, viewer).entry(
                        TimelineKind::Updated {
                            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                        },
                        Audience::Everyone,
                        message,
                    );
                    Ok((incident, change))
                }
            })
            .await?;
        self.seen(&viewer, saved).await
    }

    async fn seen(&self, viewer: &Viewer, incident: Incident) -> AppResult<IncidentSight> {
        let id = incident.id;
        viewer
            .sight(self.app, incident)
            .await?
            .ok_or_else(|| AppError::not_found("incident", id))
    }

    /// The highest TLP among the reports an incident holds (CLEAR when none).
    async fn reports_tlp(&self, incident: &Incident) -> AppResult<Tlp> {
        let mut floor = Tlp::Clear;
        for id in &incident.reports {
            if let Some(report) = self.app.store().incident_report(*id).await? {
                floor = floor.max(report.tlp);
            }
        }
        Ok(floor)
    }

    /// Moves an incident along the workflow (custody); a transition the
    /// workflow forbids is refused with the allowed ones.
    pub async fn set_status(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        change: StatusChange,
    ) -> AppResult<IncidentSight> {
        let note = change
            .note
            .as_deref()
            .map(|text| incident::free_text("note", text))
            .transpose()
            .map_err(invalid)?
            .unwrap_or_default();
        let now = self.now();
        let (saved, viewer) = self
            .change(caller, reference, Some(Action::WorkIncident), |viewer, mut incident| {
                let note = note.clone();
                let change = change.clone();
                async move {
                    let from = incident.status;
                    from.check_transition(change.status).map_err(invalid)?;
                    if change.resolution.is_some() && change.status != IncidentStatus::Closed {
                        return Err(AppError::Invalid(
                            "resolution: only a closed incident has a resolution".into(),
                        ));
                    }
                    if change.resolution == Some(IncidentResolution::Merged) {
                        return Err(AppError::Invalid(
                            "resolution: merge the incident into another instead (POST .../merge)".into(),
                        ));
                    }
                    incident.status = change.status;
                    incident.resolution = (change.status == IncidentStatus::Closed)
                        .then(|| change.resolution.unwrap_or(IncidentResolution::Resolved));
                    incident.clocks.record_status(change.status, now);
                    let message = if note.is_empty() {
                        format!("status {from} → {}", change.status)
                    } else {
                        note
                    };
                    Ok((
                        incident,
                        Change::new(AuditAction::INCIDENT_UPDATE, viewer).entry(
                            TimelineKind::StatusChanged {
                                from,
                                to: change.status,
                            },
                            Audience::Everyone,
                            message,
                        ),
                    ))
                }
            })
            .await?;
        self.seen(&viewer, saved).await
    }

    /// Assigns the incident to a person of its custody who may work it, or unassigns it.
    pub async fn assign(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        assignee: Option<UserId>,
    ) -> AppResult<IncidentSight> {
        let now = self.now();
        let (saved, viewer) = self
            .change(
                caller,
                reference,
                Some(Action::WorkIncident),
                |viewer, mut incident| async move {
                    if let Some(user) = assignee {
                        self.check_worker(&viewer, user, incident.owner).await?;
                    }
                    incident.assignee = assignee;
                    if assignee.is_some() {
                        incident.clocks.acknowledged_at.get_or_insert(now);
                    }
                    Ok((
                        incident,
                        Change::new(AuditAction::INCIDENT_UPDATE, viewer).entry(
                            TimelineKind::Assigned { user: assignee },
                            Audience::Custody,
                            if assignee.is_some() {
                                "assigned"
                            } else {
                                "unassigned"
                            },
                        ),
                    ))
                },
            )
            .await?;
        self.seen(&viewer, saved).await
    }

    /// Checks that `user` is an active person the caller sees, of `tenant` or
    /// a tenant above it up to the caller's, whose role may work incidents.
    async fn check_worker(&self, viewer: &Viewer, user: UserId, tenant: TenantId) -> AppResult<()> {
        let found = self
            .app
            .store()
            .user(user)
            .await?
            .filter(|u| viewer.reaches(u.tenant))
            .ok_or_else(|| AppError::not_found("user", user))?;
        let path = self.app.path_ids(tenant).await?;
        if !found.active || !path.contains(&found.tenant) {
            return Err(AppError::Invalid(format!(
                "user {user} cannot own this: not an active user of the tenant concerned or a CERT above it"
            )));
        }
        if crate::policy::reach(found.role, Action::WorkIncident) == crate::policy::Reach::Never {
            return Err(AppError::Invalid(format!(
                "user {user} is a {} and may not work incidents",
                found.role
            )));
        }
        Ok(())
    }

    /// Adds observables, given or found in `text` (custody).
    pub async fn add_observables(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        observables: Vec<Observable>,
        text: Option<String>,
    ) -> AppResult<IncidentSight> {
        let (saved, viewer) = self
            .change(
                caller,
                reference,
                Some(Action::WorkIncident),
                |viewer, mut incident| {
                    let mut all = observables.clone();
                    if let Some(text) = &text {
                        all.extend(extract_observables(text));
                    }
                    async move {
                        if all.is_empty() {
                            return Err(AppError::Invalid(
                                "observables: none given and none found in the text".into(),
                            ));
                        }
                        let count = incident.add_observables(all);
                        check_list("observables", incident.observables.len())?;
                        Ok((
                            incident,
                            Change::new(AuditAction::INCIDENT_UPDATE, viewer).entry(
                                TimelineKind::ObservablesAdded { count },
                                Audience::Everyone,
                                format!("{count} new observables"),
                            ),
                        ))
                    }
                },
            )
            .await?;
        self.seen(&viewer, saved).await
    }

    /// Adds a note to the timeline: custody, earlier owners, and participants
    /// who see the incident's details. A participant's note is seen by the
    /// custody and the participant's own tenant.
    pub async fn add_note(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        text: &str,
        audience: NoteAudience,
    ) -> AppResult<TimelineEntry> {
        let text = incident::free_text("text", text).map_err(invalid)?;
        if text.trim().is_empty() {
            return Err(AppError::Invalid("text: a note must say something".into()));
        }
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer.authorise(Action::ReportIncident, &incident)?;
        let audience = match (viewer.stance(&incident), audience) {
            (
                crate::policy::IncidentStance::Custodian(_)
                | crate::policy::IncidentStance::FormerCustodian(_),
                NoteAudience::Everyone,
            ) => Audience::Everyone,
            (
                crate::policy::IncidentStance::Custodian(_)
                | crate::policy::IncidentStance::FormerCustodian(_),
                NoteAudience::Custody,
            ) => Audience::Custody,
            _ => Audience::CustodyAnd(caller.tenant_id()),
        };
        let entry = self.entry(caller, incident.id, (TimelineKind::Note, audience, text));
        let write = IncidentWrite {
            timeline: vec![entry.clone()],
            audit: vec![AuditNote {
                tenant: incident.owner,
                action: AuditAction::INCIDENT_UPDATE,
                record_kind: "incident",
                record_id: incident.id.to_string(),
                before: None,
                after: AuditAfter::Value(json(&entry)?),
            }],
            ..IncidentWrite::default()
        };
        self.app
            .store()
            .write_incidents(write, &self.audit_context(caller))
            .await?;
        Ok(entry)
    }

    /// The incident's timeline, oldest first, as far as the caller may see it.
    pub async fn timeline(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
    ) -> AppResult<Vec<TimelineEntry>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer.authorise(Action::ViewIncident, &incident)?;
        let entries = self.app.store().incident_timeline(incident.id).await?;
        Ok(viewer.timeline(&incident, entries))
    }

    /// Escalates the incident to its owner's parent: the owner moves up and
    /// the earlier owner keeps seeing it (custody).
    pub async fn escalate(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        note: Option<String>,
    ) -> AppResult<IncidentSight> {
        let note = note
            .as_deref()
            .map(|text| incident::free_text("note", text))
            .transpose()
            .map_err(invalid)?
            .unwrap_or_default();
        let (saved, viewer) = self
            .change(caller, reference, Some(Action::WorkIncident), |viewer, mut incident| {
                let note = note.clone();
                async move {
                    if !incident.status.is_open() {
                        return Err(AppError::Conflict(format!(
                            "incident {} is closed; reopen it before escalating",
                            incident.readable_id
                        )));
                    }
                    let from = incident.owner;
                    let parent = self
                        .app
                        .store()
                        .tenant(from)
                        .await?
                        .and_then(|t| t.parent)
                        .ok_or_else(|| {
                            AppError::Conflict(
                                "the national CERT owns this incident: there is no one above it to escalate to".into(),
                            )
                        })?;
                    incident.owner = parent;
                    incident.former_owners.retain(|t| *t != parent);
                    incident.former_owners.push(from);
                    let message = if note.is_empty() {
                        "escalated to the CERT above".to_owned()
                    } else {
                        note
                    };
                    Ok((
                        incident,
                        Change::new(AuditAction::INCIDENT_ESCALATE, viewer).entry(
                            TimelineKind::Escalated { from, to: parent },
                            Audience::Custody,
                            message,
                        ),
                    ))
                }
            })
            .await?;
        tracing::info!(incident = %saved.readable_id, owner = %saved.owner, "incident escalated");
        self.seen(&viewer, saved).await
    }

    /// Gives a task to the caller's tenant or a tenant below it (custody):
    /// a parent tasking a child CERT or organisation with an investigation or
    /// a countermeasure. The tasked tenant sees the task, and the incident as
    /// far as its TLP allows.
    pub async fn task(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        new: NewTask,
    ) -> AppResult<TaskSight> {
        let title = incident::one_line("title", &new.title).map_err(invalid)?;
        let description = incident::free_text("description", &new.description).map_err(invalid)?;
        let now = self.now();
        if new.due_at.is_some_and(|due| due <= now) {
            return Err(AppError::Invalid(
                "due_at: the due time has already passed".into(),
            ));
        }
        let (saved, task_id) = self
            .change(
                caller,
                reference,
                Some(Action::WorkIncident),
                |viewer, mut incident| {
                    let (title, description, new) =
                        (title.clone(), description.clone(), new.clone());
                    async move {
                        if !viewer.reaches(new.assignee_tenant) {
                            return Err(AppError::not_found("tenant", new.assignee_tenant));
                        }
                        if let Some(user) = new.assignee_user {
                            self.check_worker(&viewer, user, new.assignee_tenant)
                                .await?;
                        }
                        if !incident.status.is_open() {
                            return Err(AppError::Conflict(format!(
                                "incident {} is closed; reopen it before giving tasks",
                                incident.readable_id
                            )));
                        }
                        check_list("tasks", incident.tasks.len() + 1)?;
                        let task = IncidentTask {
                            id: IncidentTaskId::new(),
                            tasked_by: viewer.caller.tenant_id(),
                            assignee_tenant: new.assignee_tenant,
                            assignee_user: new.assignee_user,
                            kind: new.kind,
                            title,
                            description,
                            status: TaskStatus::Open,
                            due_at: new.due_at,
                            result: None,
                            created_by: viewer.caller.actor(),
                            created_at: now,
                            updated_at: now,
                            completed_at: None,
                        };
                        let id = task.id;
                        let message = format!("task given: {}", task.title);
                        incident.tasks.push(task);
                        Ok((
                            incident,
                            Change::new(AuditAction::INCIDENT_UPDATE, id).entry(
                                TimelineKind::Tasked {
                                    task: id,
                                    assignee: new.assignee_tenant,
                                },
                                Audience::CustodyAnd(new.assignee_tenant),
                                message,
                            ),
                        ))
                    }
                },
            )
            .await?;
        tracing::info!(incident = %saved.readable_id, task = %task_id, assignee = %new.assignee_tenant, "task given");
        let viewer = Viewer::of(self.app, caller).await?;
        task_sight(&viewer, &saved, task_id)
    }

    /// Changes a task. The tasked tenant's people who may work incidents
    /// there report progress (`in_progress`, `done` with a result), name an
    /// owner among themselves and add notes; the incident's custody may also
    /// change the due time and cancel it.
    pub async fn update_task(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        task: IncidentTaskId,
        update: TaskUpdate,
    ) -> AppResult<TaskSight> {
        let result = update
            .result
            .as_deref()
            .map(|text| incident::free_text("result", text))
            .transpose()
            .map_err(invalid)?;
        let note = update
            .note
            .as_deref()
            .map(|text| incident::free_text("note", text))
            .transpose()
            .map_err(invalid)?;
        let viewer = Viewer::of(self.app, caller).await?;
        let now = self.now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let before = self.load(reference).await?;
            let Some(index) = before.tasks.iter().position(|t| t.id == task) else {
                return Err(AppError::not_found("task", task));
            };
            let assignee = before.tasks[index].assignee_tenant;
            let custody = viewer.authorise(Action::WorkIncident, &before).is_ok();
            if !custody {
                match viewer.may(Action::WorkIncident, assignee) {
                    Decision::Allow => {}
                    Decision::NotFound => {
                        // Neither the tasking side nor the tasked one: as if it did not exist.
                        return Err(match viewer.view(&before) {
                            IncidentView::Hidden | IncidentView::OwnPart => {
                                AppError::not_found("task", task)
                            }
                            _ => AppError::Forbidden(
                                "only the tasked tenant and the incident's custody may change a task".into(),
                            ),
                        });
                    }
                    Decision::Forbidden => {
                        return Err(AppError::Forbidden(format!(
                            "the {} role may not work on tasks",
                            caller.role()
                        )));
                    }
                }
                if update.due_at.is_some() || update.status == Some(TaskStatus::Cancelled) {
                    return Err(AppError::Forbidden(
                        "only the tenant that gave the task (or one above it) may change its due time or cancel it".into(),
                    ));
                }
            }
            let mut after = before.clone();
            let current = after.tasks[index].clone();
            let mut changed = current.clone();
            if current.status.is_finished() {
                return Err(AppError::Conflict(format!(
                    "task {task} is {} and can no longer change",
                    current.status.as_str()
                )));
            }
            if let Some(status) = update.status {
                if status == TaskStatus::Open && current.status != TaskStatus::Open {
                    return Err(AppError::Invalid(
                        "status: a task in progress cannot go back to open".into(),
                    ));
                }
                changed.status = status;
                if status.is_finished() {
                    changed.completed_at = Some(now);
                }
            }
            if let Some(result) = &result {
                changed.result = Some(result.clone());
            }
            if let Some(user) = update.assignee_user {
                self.check_worker(&viewer, user, assignee).await?;
                changed.assignee_user = Some(user);
            }
            if let Some(due) = update.due_at {
                changed.due_at = Some(due);
            }
            if changed == current && note.is_none() {
                return Err(AppError::Invalid(
                    "nothing to change: name at least one field".into(),
                ));
            }
            changed.updated_at = now;
            let status = changed.status;
            after.tasks[index] = changed;
            after.updated_at = now;
            let message = note
                .clone()
                .unwrap_or_else(|| format!("task {}", status.as_str()));
            let entry = self.entry(
                caller,
                after.id,
                (
                    TimelineKind::TaskUpdated { task, status },
                    Audience::CustodyAnd(assignee),
                    message,
                ),
            );
            let write = IncidentWrite {
                audit: vec![AuditNote {
                    tenant: after.owner,
                    action: AuditAction::INCIDENT_UPDATE,
                    record_kind: "incident",
                    record_id: after.id.to_string(),
                    before: Some(json(&before)?),
                    after: AuditAfter::Record,
                }],
                incidents: vec![after],
                timeline: vec![entry],
                ..IncidentWrite::default()
            };
            match self
                .app
                .store()
                .write_incidents(write, &self.audit_context(caller))
                .await
            {
                Ok(mut written) => {
                    let saved = written
                        .incidents
                        .pop()
                        .ok_or_else(|| AppError::Internal("storage wrote no incident".into()))?;
                    return task_sight(&viewer, &saved, task);
                }
                Err(StoreError::Stale { .. }) if attempt < RETRIES => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The tasks given to tenant `under` (default the caller's) and the
    /// tenants below it, newest incident first; finished ones only when asked.
    pub async fn tasks(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        include_finished: bool,
    ) -> AppResult<Vec<TaskSight>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let under = under.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ViewIncident, under, "tenant")?;
        let in_scope = access::subtree(self.app, under).await?;
        let mut found = Vec::new();
        let mut page = PageRequest::first(500);
        loop {
            let listed = self
                .app
                .store()
                .list_incidents(IncidentScope::Touching(under), &page)
                .await?;
            for incident in &listed.items {
                for task in &incident.tasks {
                    if !include_finished && task.status.is_finished() {
                        continue;
                    }
                    if in_scope.contains(&task.assignee_tenant) {
                        found.push(task_sight(&viewer, incident, task.id)?);
                    }
                }
            }
            match listed.next {
                Some(cursor) => page = PageRequest::after(cursor, 500),
                None => break,
            }
        }
        Ok(found)
    }

    /// Links two incidents as related (custody of both).
    pub async fn relate(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        other: &IncidentRef,
    ) -> AppResult<IncidentSight> {
        self.link_two(caller, reference, other, false).await
    }

    /// Merges the incident into `into` (custody of both): it is closed as
    /// merged; its reports, reporting organisations, observables, affected
    /// organisations and evidence move to the other, whose reporters keep
    /// following it there. Returns the incident merged into.
    pub async fn merge(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        into: &IncidentRef,
    ) -> AppResult<IncidentSight> {
        self.link_two(caller, reference, into, true).await
    }

    async fn link_two(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        other: &IncidentRef,
        merge: bool,
    ) -> AppResult<IncidentSight> {
        let viewer = Viewer::of(self.app, caller).await?;
        let now = self.now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let source = self.load(reference).await?;
            let target = self.load(other).await?;
            viewer.authorise(Action::WorkIncident, &source)?;
            viewer
                .authorise(Action::WorkIncident, &target)
                .map_err(|e| match e {
                    AppError::NotFound { .. } => AppError::not_found("incident", other),
                    other => other,
                })?;
            if source.id == target.id {
                return Err(AppError::Invalid(
                    "an incident cannot be linked to itself".into(),
                ));
            }
            let (mut a, mut b) = (source.clone(), target.clone());
            let mut write = IncidentWrite::default();
            let (kind_a, kind_b, message);
            if merge {
                if !a.status.is_open() {
                    return Err(AppError::Conflict(format!(
                        "incident {} is closed and cannot be merged",
                        a.readable_id
                    )));
                }
                if !b.status.is_open() {
                    return Err(AppError::Conflict(format!(
                        "incident {} is closed; reopen it before merging into it",
                        b.readable_id
                    )));
                }
                a.status = IncidentStatus::Closed;
                a.resolution = Some(IncidentResolution::Merged);
                a.clocks.record_status(IncidentStatus::Closed, now);
                a.merged_into = Some(b.id);
                b.merged_from.push(a.id);
                b.add_observables(a.observables.clone());
                for tenant in &a.reporting_tenants {
                    if !b.reporting_tenants.contains(tenant) {
                        b.reporting_tenants.push(*tenant);
                    }
                }
                for tenant in &a.affected_tenants {
                    if !b.affected_tenants.contains(tenant) {
                        b.affected_tenants.push(*tenant);
                    }
                }
                for report in &a.reports {
                    if !b.reports.contains(report) {
                        b.reports.push(*report);
                    }
                    if let Some(mut stored) = self.app.store().incident_report(*report).await? {
                        let before_report = json(&stored)?;
                        stored.status = nigehban_model::ReportStatus::Triaged {
                            incident: b.id,
                            readable_id: b.readable_id.clone(),
                            new_incident: false,
                        };
                        stored.updated_at = now;
                        write.audit.push(AuditNote {
                            tenant: stored.tenant,
                            action: AuditAction::REPORT_TRIAGE,
                            record_kind: "incident_report",
                            record_id: stored.id.to_string(),
                            before: Some(before_report),
                            after: AuditAfter::Record,
                        });
                        write.reports.push(stored);
                    }
                }
                // The alerts follow the incident they were merged into (the
                // merged one keeps its list, as history).
                for alert in &a.linked_alerts {
                    if b.linked_alerts.contains(alert) {
                        continue;
                    }
                    b.linked_alerts.push(*alert);
                    let alert = AlertId::from_uuid(*alert);
                    write.alert_links.push(nigehban_store::AlertLink {
                        alert,
                        from: Some(a.id),
                        to: b.id,
                    });
                    write.audit.push(AuditNote {
                        tenant: b.owner,
                        action: AuditAction::ALERT_INCIDENT_LINK,
                        record_kind: "alert",
                        record_id: alert.to_string(),
                        before: Some(serde_json::json!({ "id": alert, "incident": a.id })),
                        after: AuditAfter::Value(
                            serde_json::json!({ "id": alert, "incident": b.id }),
                        ),
                    });
                }
                check_list("linked_alerts", b.linked_alerts.len())?;
                b.tlp = b.tlp.max(a.tlp);
                b.clocks.aware_at = b.clocks.aware_at.min(a.clocks.aware_at);
                for mut item in self
                    .app
                    .store()
                    .list_evidence(nigehban_store::EvidenceOf::Incident(a.id))
                    .await?
                {
                    item.incident = Some(b.id);
                    write.audit.push(AuditNote {
                        tenant: b.owner,
                        action: AuditAction::EVIDENCE_ATTACH,
                        record_kind: "evidence",
                        record_id: item.id.to_string(),
                        before: None,
                        after: AuditAfter::Record,
                    });
                    write.evidence.push(item);
                }
                check_list("observables", b.observables.len())?;
                kind_a = TimelineKind::MergedInto { other: b.id };
                kind_b = TimelineKind::MergedFrom { other: a.id };
                message = format!("{} merged into {}", a.readable_id, b.readable_id);
            } else {
                if a.related.contains(&b.id) {
                    return Err(AppError::Conflict(format!(
                        "{} and {} are already related",
                        a.readable_id, b.readable_id
                    )));
                }
                a.related.push(b.id);
                b.related.push(a.id);
                kind_a = TimelineKind::Related { other: b.id };
                kind_b = TimelineKind::Related { other: a.id };
                message = format!("{} and {} related", a.readable_id, b.readable_id);
            }
            a.updated_at = now;
            b.updated_at = now;
            let action = if merge {
                AuditAction::INCIDENT_MERGE
            } else {
                AuditAction::INCIDENT_UPDATE
            };
            for (incident, before) in [(&a, &source), (&b, &target)] {
                write.audit.push(AuditNote {
                    tenant: incident.owner,
                    action: action.clone(),
                    record_kind: "incident",
                    record_id: incident.id.to_string(),
                    before: Some(json(before)?),
                    after: AuditAfter::Record,
                });
            }
            write.timeline.push(self.entry(
                caller,
                a.id,
                (kind_a.clone(), Audience::Custody, message.clone()),
            ));
            write.timeline.push(self.entry(
                caller,
                b.id,
                (kind_b.clone(), Audience::Custody, message.clone()),
            ));
            write.incidents = vec![a, b];
            let moved_alerts = !write.alert_links.is_empty();
            match self
                .app
                .store()
                .write_incidents(write, &self.audit_context(caller))
                .await
            {
                Ok(written) => {
                    if moved_alerts {
                        self.app.alerts().written();
                    }
                    let shown = written
                        .incidents
                        .into_iter()
                        .nth(if merge { 1 } else { 0 })
                        .ok_or_else(|| AppError::Internal("storage wrote no incident".into()))?;
                    return self.seen(&viewer, shown).await;
                }
                Err(StoreError::Stale { .. }) if attempt < RETRIES => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The task `id` of `incident` as `viewer` sees it.
fn task_sight(viewer: &Viewer, incident: &Incident, id: IncidentTaskId) -> AppResult<TaskSight> {
    let task = incident
        .tasks
        .iter()
        .find(|t| t.id == id)
        .cloned()
        .ok_or_else(|| AppError::not_found("task", id))?;
    Ok(TaskSight {
        task,
        incident: incident.id,
        readable_id: incident.readable_id.clone(),
        incident_title: (viewer.view(incident) >= IncidentView::Participant)
            .then(|| incident.title.clone()),
        tlp: incident.tlp,
        pap: incident.pap,
    })
}

/// Asks the policy whether the caller may do `action` on records of `tenant`.
pub(crate) fn authorise_tree(
    viewer: &Viewer,
    action: Action,
    tenant: TenantId,
    kind: &'static str,
) -> AppResult<()> {
    match viewer.may(action, tenant) {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(AppError::not_found(kind, tenant)),
        Decision::Forbidden => Err(AppError::Forbidden(format!(
            "the {} role may not {} here",
            viewer.caller.role(),
            crate::policy::describe(action)
        ))),
    }
}

/// A record as JSON for the audit log.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn dedup(mut tenants: Vec<TenantId>) -> Vec<TenantId> {
    let mut seen = std::collections::HashSet::new();
    tenants.retain(|t| seen.insert(*t));
    tenants
}

pub(crate) fn check_list(field: &'static str, len: usize) -> AppResult<()> {
    if len > LIST_MAX {
        return Err(AppError::Invalid(format!(
            "{field}: an incident holds at most {LIST_MAX}"
        )));
    }
    Ok(())
}

/// Runs `check` every `every` until the task is dropped (used for the deadline watch).
pub(crate) async fn every<F, Fut>(every: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        check().await;
    }
}
