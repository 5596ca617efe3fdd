//! The JSON shapes of incidents, reports, tasks, timeline entries, evidence,
//! notifications and figures, with their OpenAPI schemas.
//!
//! An incident's shape depends on how much the caller sees (`access`):
//! `full` and `participant` carry its details; `limited` carries its id,
//! readable id, owner, TLP, PAP, status, the caller's own tasks and (for a
//! reporting organisation) its regulatory clocks — the detail fields are
//! absent, not null.

use nigehban_app::incidents::{IncidentMetrics, MetricsFigures};
use nigehban_app::model::{
    Actor, Evidence, EvidenceId, Incident, IncidentId, IncidentNotification,
    IncidentNotificationId, IncidentReport, IncidentReportId, IncidentTask, IncidentTaskId,
    Observable, RegulatoryClock, ReportStatus, TenantId, TimelineEntry, TimelineEntryId, Timestamp,
    UserId,
};
use nigehban_app::{IncidentSight, TaskSight};
use serde::Serialize;
use utoipa::ToSchema;

/// Who did something.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// How they were authenticated: user, token, operator, system.
    pub kind: String,
    /// The user, if a person acted.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user: Option<UserId>,
    /// The tenant they acted from.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<TenantId>,
}

impl From<Actor> for ActorView {
    fn from(actor: Actor) -> Self {
        Self {
            kind: actor.kind.as_str().to_owned(),
            user: actor.user,
            tenant: actor.tenant,
        }
    }
}

/// A typed observable.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservableView {
    /// ipv4, ipv6, domain, url, md5, sha1, sha256, sha512, email, cve or user.
    pub kind: String,
    /// The normalised value.
    pub value: String,
}

impl From<&Observable> for ObservableView {
    fn from(observable: &Observable) -> Self {
        Self {
            kind: observable.kind().as_str().to_owned(),
            value: observable.value().to_owned(),
        }
    }
}

/// An RSIT classification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationView {
    /// The class, e.g. `fraud`.
    pub class: String,
    /// The type, e.g. `phishing`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A task given to a tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentTaskId,
    /// The tenant that gave it.
    #[schema(value_type = String, format = Uuid)]
    pub tasked_by: TenantId,
    /// The tenant that must do it.
    #[schema(value_type = String, format = Uuid)]
    pub assignee_tenant: TenantId,
    /// The person there who owns it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee_user: Option<UserId>,
    /// investigation, countermeasure or other.
    pub kind: String,
    /// What to do.
    pub title: String,
    /// In detail.
    pub description: String,
    /// open, in_progress, done or cancelled.
    pub status: String,
    /// When it is due.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// What the assignee reported.
    pub result: Option<String>,
    /// Who gave it.
    pub created_by: ActorView,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// When it was finished.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
}

impl From<&IncidentTask> for TaskView {
    fn from(task: &IncidentTask) -> Self {
        Self {
            id: task.id,
            tasked_by: task.tasked_by,
            assignee_tenant: task.assignee_tenant,
            assignee_user: task.assignee_user,
            kind: word(&task.kind),
            title: task.title.clone(),
            description: task.description.clone(),
            status: task.status.as_str().to_owned(),
            due_at: task.due_at,
            result: task.result.clone(),
            created_by: task.created_by.into(),
            created_at: task.created_at,
            updated_at: task.updated_at,
            completed_at: task.completed_at,
        }
    }
}

/// A task with the incident it belongs to (as the tasked tenant sees it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskSightView {
    /// The task.
    #[serde(flatten)]
    pub task: TaskView,
    /// The incident's id.
    #[schema(value_type = String, format = Uuid)]
    pub incident: IncidentId,
    /// The incident's readable id.
    pub readable_id: String,
    /// The incident's title, when the caller sees its details.
    pub incident_title: Option<String>,
    /// The incident's TLP.
    pub tlp: String,
    /// The incident's PAP.
    pub pap: String,
}

impl From<TaskSight> for TaskSightView {
    fn from(sight: TaskSight) -> Self {
        Self {
            task: TaskView::from(&sight.task),
            incident: sight.incident,
            readable_id: sight.readable_id.to_string(),
            incident_title: sight.incident_title,
            tlp: sight.tlp.as_str().to_owned(),
            pap: sight.pap.as_str().to_owned(),
        }
    }
}

/// The tasks given to a subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    /// The tasks, newest incident first.
    pub items: Vec<TaskSightView>,
}

/// One stage's clock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    /// The stage's id.
    pub stage: String,
    /// Its name.
    pub name: String,
    /// Who must submit it: reporting_organisation or owner.
    pub actor: String,
    /// The fields a submission must carry.
    pub required_fields: Vec<String>,
    /// Its deadline.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// When the reminder is raised.
    #[schema(value_type = String, format = DateTime)]
    pub warn_at: Timestamp,
    /// pending, due_soon, lapsed, met or met_late (now).
    pub state: String,
    /// When it was submitted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<Timestamp>,
    /// Who submitted it.
    pub submitted_by: Option<ActorView>,
    /// What was submitted.
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// An incident's regulatory clocks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegulatoryView {
    /// The profile's id.
    pub profile: String,
    /// The profile's name.
    pub profile_name: String,
    /// The authority the reports go to.
    pub regulator: String,
    /// The stages, in deadline order.
    pub stages: Vec<StageView>,
}

impl RegulatoryView {
    fn of(clock: &RegulatoryClock, now: Timestamp) -> Self {
        Self {
            profile: clock.profile.clone(),
            profile_name: clock.profile_name.clone(),
            regulator: clock.regulator.clone(),
            stages: clock
                .stages
                .iter()
                .map(|stage| StageView {
                    stage: stage.stage.clone(),
                    name: stage.name.clone(),
                    actor: word(&stage.actor),
                    required_fields: stage.required_fields.clone(),
                    due_at: stage.due_at,
                    warn_at: stage.warn_at,
                    state: word(&stage.state(now)),
                    submitted_at: stage.submitted_at,
                    submitted_by: stage.submitted_by.map(ActorView::from),
                    fields: stage.fields.clone(),
                })
                .collect(),
        }
    }
}

/// When things happened to an incident.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClocksView {
    /// When the affected organisation became aware (deadlines count from here).
    #[schema(value_type = String, format = DateTime)]
    pub aware_at: Timestamp,
    /// When the platform first had it (response times count from here).
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// When a person first acted on it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    /// When it was first triaged.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub triaged_at: Option<Timestamp>,
    /// When it was first contained.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub contained_at: Option<Timestamp>,
    /// When it was closed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
}

/// An incident, as much of it as the caller sees (`access`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentView {
    /// How much the caller sees: `full` (custody and earlier owners),
    /// `participant` (a reporting or tasked tenant, at TLP CLEAR, GREEN or
    /// AMBER) or `limited` (at AMBER+STRICT).
    pub access: String,
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentId,
    /// Its readable id, e.g. `PK-2026-000123`.
    pub readable_id: String,
    /// The tenant handling it.
    #[schema(value_type = String, format = Uuid)]
    pub owner: TenantId,
    /// TLP: clear, green, amber, amber+strict, red.
    pub tlp: String,
    /// PAP: clear, green, amber, red.
    pub pap: String,
    /// new, triaged, in_progress, contained, eradicated, recovered, closed.
    pub status: String,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// In detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its RSIT class and type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationView>,
    /// low, medium, high, critical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Why it was closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// The person handling it (custody only).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserId>,
    /// The tenants that owned it before, oldest first.
    #[schema(value_type = Vec<String>)]
    pub former_owners: Vec<TenantId>,
    /// The organisations whose reports it holds.
    #[schema(value_type = Vec<String>)]
    pub reporting_tenants: Vec<TenantId>,
    /// The reports it holds.
    #[schema(value_type = Vec<String>)]
    pub reports: Vec<IncidentReportId>,
    /// The organisations affected.
    #[schema(value_type = Vec<String>)]
    pub affected_tenants: Vec<TenantId>,
    /// Its observables.
    pub observables: Vec<ObservableView>,
    /// Its tasks (the caller's own, unless in custody).
    pub tasks: Vec<TaskView>,
    /// Related incidents (those the caller may see).
    #[schema(value_type = Vec<String>)]
    pub related: Vec<IncidentId>,
    /// The incident it was merged into.
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<IncidentId>,
    /// The incidents merged into it.
    #[schema(value_type = Vec<String>)]
    pub merged_from: Vec<IncidentId>,
    /// Linked alerts (ids of the alert queue).
    pub linked_alerts: Vec<String>,
    /// Its regulatory clocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulatory: Option<RegulatoryView>,
    /// When things happened to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clocks: Option<ClocksView>,
    /// The sector it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_sector: Option<String>,
    /// Who opened it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<ActorView>,
    /// When it was opened.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl IncidentView {
    /// The view of what the caller sees, with regulatory states at `now`.
    pub fn of(sight: IncidentSight, now: Timestamp) -> Self {
        let access = access_word(sight.view()).to_owned();
        match sight {
            IncidentSight::Full(incident) | IncidentSight::Participant(incident) => {
                Self::details(access, incident, now)
            }
            IncidentSight::Limited(limited) => Self {
                access,
                id: limited.id,
                readable_id: limited.readable_id.to_string(),
                owner: limited.owner,
                tlp: limited.tlp.as_str().to_owned(),
                pap: limited.pap.as_str().to_owned(),
                status: limited.status.as_str().to_owned(),
                title: None,
                description: None,
                classification: None,
                severity: None,
                resolution: None,
                assignee: None,
                former_owners: Vec::new(),
                reporting_tenants: Vec::new(),
                reports: Vec::new(),
                affected_tenants: Vec::new(),
                observables: Vec::new(),
                tasks: limited.tasks.iter().map(TaskView::from).collect(),
                related: Vec::new(),
                merged_into: None,
                merged_from: Vec::new(),
                linked_alerts: Vec::new(),
                regulatory: limited
                    .regulatory
                    .as_ref()
                    .map(|c| RegulatoryView::of(c, now)),
                clocks: None,
                origin_sector: None,
                created_by: None,
                created_at: None,
                updated_at: limited.updated_at,
            },
        }
    }

    fn details(access: String, incident: Incident, now: Timestamp) -> Self {
        let clocks = incident.clocks;
        Self {
            access,
            id: incident.id,
            readable_id: incident.readable_id.to_string(),
            owner: incident.owner,
            tlp: incident.tlp.as_str().to_owned(),
            pap: incident.pap.as_str().to_owned(),
            status: incident.status.as_str().to_owned(),
            title: Some(incident.title),
            description: Some(incident.description),
            classification: Some(ClassificationView {
                class: incident.classification.class().to_owned(),
                kind: incident.classification.kind().to_owned(),
            }),
            severity: Some(incident.severity.as_str().to_owned()),
            resolution: incident.resolution.map(|r| r.as_str().to_owned()),
            assignee: incident.assignee,
            former_owners: incident.former_owners,
            reporting_tenants: incident.reporting_tenants,
            reports: incident.reports,
            affected_tenants: incident.affected_tenants,
            observables: incident
                .observables
                .iter()
                .map(ObservableView::from)
                .collect(),
            tasks: incident.tasks.iter().map(TaskView::from).collect(),
            related: incident.related,
            merged_into: incident.merged_into,
            merged_from: incident.merged_from,
            linked_alerts: incident
                .linked_alerts
                .iter()
                .map(ToString::to_string)
                .collect(),
            regulatory: incident
                .regulatory
                .as_ref()
                .map(|c| RegulatoryView::of(c, now)),
            clocks: Some(ClocksView {
                aware_at: clocks.aware_at,
                received_at: clocks.received_at,
                acknowledged_at: clocks.acknowledged_at,
                triaged_at: clocks.triaged_at,
                contained_at: clocks.contained_at,
                closed_at: clocks.closed_at,
            }),
            origin_sector: incident.origin_sector.map(|s| s.as_str().to_owned()),
            created_by: Some(incident.created_by.into()),
            created_at: Some(incident.created_at),
            updated_at: incident.updated_at,
        }
    }
}

/// The word of how much a caller sees.
pub fn access_word(view: nigehban_app::policy::IncidentView) -> &'static str {
    use nigehban_app::policy::IncidentView as V;
    match view {
        V::Full => "full",
        V::Participant => "participant",
        V::Limited => "limited",
        V::OwnPart => "own_part",
        V::Hidden => "hidden",
    }
}

/// The serde word of a unit enum value (`in_progress`, `countermeasure`, ...).
pub fn word<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => format!("{value:?}").to_ascii_lowercase(),
    }
}

/// An incident sharing observables with another.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarIncidentView {
    /// The incident, as much of it as the caller sees.
    pub incident: IncidentView,
    /// The observables both hold (of those the caller sees on both).
    pub shared: Vec<ObservableView>,
}

/// Incidents sharing observables with one, most shared first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarIncidentList {
    /// Only incidents whose details the caller sees.
    pub items: Vec<SimilarIncidentView>,
}

/// A page of incidents.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    /// The incidents, newest first (a page may hold fewer than `limit`: continue with the cursor).
    pub items: Vec<IncidentView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An incident report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentReportId,
    /// The reporting organisation.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Who filed it.
    pub reported_by: ActorView,
    /// What happened.
    pub title: String,
    /// In detail.
    pub description: String,
    /// When the organisation noticed it.
    #[schema(value_type = String, format = DateTime)]
    pub noticed_at: Timestamp,
    /// When it happened.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
    /// The affected systems.
    pub affected_systems: Vec<String>,
    /// Observables given and found.
    pub observables: Vec<ObservableView>,
    /// How far the reporter lets it be shared.
    pub tlp: String,
    /// submitted, triaged or rejected.
    pub status: String,
    /// The incident it became (triaged).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident: Option<IncidentId>,
    /// That incident's readable id.
    pub incident_readable_id: Option<String>,
    /// Why it was rejected (rejected).
    pub rejection_reason: Option<String>,
    /// The tenant that triaged it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub triaged_by: Option<TenantId>,
    /// When it was triaged or rejected.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub triaged_at: Option<Timestamp>,
    /// When it was filed.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<IncidentReport> for ReportView {
    fn from(report: IncidentReport) -> Self {
        let (incident, incident_readable_id, rejection_reason) = match &report.status {
            ReportStatus::Submitted => (None, None, None),
            ReportStatus::Triaged {
                incident,
                readable_id,
                ..
            } => (Some(*incident), Some(readable_id.to_string()), None),
            ReportStatus::Rejected { reason } => (None, None, Some(reason.clone())),
        };
        Self {
            id: report.id,
            tenant: report.tenant,
            reported_by: report.reported_by.into(),
            title: report.title,
            description: report.description,
            noticed_at: report.noticed_at,
            occurred_at: report.occurred_at,
            affected_systems: report.affected_systems,
            observables: report
                .observables
                .iter()
                .map(ObservableView::from)
                .collect(),
            tlp: report.tlp.as_str().to_owned(),
            status: report.status.word().to_owned(),
            incident,
            incident_readable_id,
            rejection_reason,
            triaged_by: report.triaged_by,
            triaged_at: report.triaged_at,
            created_at: report.created_at,
        }
    }
}

/// A page of reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    /// The reports, newest first.
    pub items: Vec<ReportView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A triaged report and the incident it became.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriageView {
    /// The report.
    pub report: ReportView,
    /// The incident (absent when rejected).
    pub incident: Option<IncidentView>,
}

/// One timeline entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntryView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TimelineEntryId,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who.
    pub actor: ActorView,
    /// What kind of entry: opened, report_triaged, status_changed, updated,
    /// assigned, escalated, tasked, task_updated, observables_added,
    /// evidence_added, note, related, merged_from, merged_into,
    /// deadline_submitted, deadline_notice, alert_linked.
    pub kind: String,
    /// The entry's own fields (e.g. `from` and `to` of a status change).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Who may see it: everyone, custody, custody_and (with `tenant`).
    pub audience: String,
    /// What happened, for a person.
    pub message: String,
}

impl From<TimelineEntry> for TimelineEntryView {
    fn from(entry: TimelineEntry) -> Self {
        let mut details = serde_json::to_value(&entry.kind).unwrap_or(serde_json::Value::Null);
        let kind = details
            .as_object_mut()
            .and_then(|fields| fields.remove("kind"))
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_default();
        let audience = match entry.audience {
            nigehban_app::model::Audience::Everyone => "everyone".to_owned(),
            nigehban_app::model::Audience::Custody => "custody".to_owned(),
            nigehban_app::model::Audience::CustodyAnd(tenant) => format!("custody_and:{tenant}"),
        };
        Self {
            id: entry.id,
            at: entry.at,
            actor: entry.actor.into(),
            kind,
            details,
            audience,
            message: entry.message,
        }
    }
}

/// An incident's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineView {
    /// The entries the caller may see, oldest first.
    pub items: Vec<TimelineEntryView>,
}

/// An evidence file's record (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: EvidenceId,
    /// The uploader's tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The incident it belongs to.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident: Option<IncidentId>,
    /// The report it came with.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub report: Option<IncidentReportId>,
    /// Its content's SHA-256 (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its file name.
    pub filename: String,
    /// The declared media type (downloads are always application/octet-stream).
    pub content_type: String,
    /// What it is.
    pub description: String,
    /// Who uploaded it.
    pub uploaded_by: ActorView,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: Timestamp,
}

impl From<Evidence> for EvidenceView {
    fn from(item: Evidence) -> Self {
        Self {
            id: item.id,
            tenant: item.tenant,
            incident: item.incident,
            report: item.report,
            sha256: item.sha256.to_hex(),
            size: item.size,
            filename: item.filename.as_str().to_owned(),
            content_type: item.content_type,
            description: item.description,
            uploaded_by: item.uploaded_by.into(),
            uploaded_at: item.uploaded_at,
        }
    }
}

/// Evidence records.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceList {
    /// The records, oldest first.
    pub items: Vec<EvidenceView>,
}

/// A notification the platform raised.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: IncidentNotificationId,
    /// The tenant it is addressed to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The incident.
    #[schema(value_type = String, format = Uuid)]
    pub incident: IncidentId,
    /// Its readable id.
    pub readable_id: String,
    /// deadline_due_soon or deadline_lapsed.
    pub kind: String,
    /// The regulatory stage.
    pub stage: String,
    /// Its deadline.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// When it was raised.
    #[schema(value_type = String, format = DateTime)]
    pub raised_at: Timestamp,
    /// What it says.
    pub message: String,
}

impl From<IncidentNotification> for NotificationView {
    fn from(n: IncidentNotification) -> Self {
        Self {
            id: n.id,
            tenant: n.tenant,
            incident: n.incident,
            readable_id: n.readable_id.to_string(),
            kind: n.kind.as_str().to_owned(),
            stage: n.stage,
            due_at: n.due_at,
            raised_at: n.raised_at,
            message: n.message,
        }
    }
}

/// A page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications, newest first.
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Response-time figures of a set of incidents (means in seconds; null when none reached the milestone).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiguresView {
    /// Incidents received in the period.
    pub incidents: u64,
    /// Of which acknowledged.
    pub acknowledged: u64,
    /// Of which triaged.
    pub triaged: u64,
    /// Of which contained.
    pub contained: u64,
    /// Of which closed.
    pub closed: u64,
    /// Mean time to acknowledge.
    pub mtta_seconds: Option<f64>,
    /// Mean time to triage.
    pub mean_time_to_triage_seconds: Option<f64>,
    /// Mean time to contain.
    pub mean_time_to_contain_seconds: Option<f64>,
    /// Mean time to resolve (close).
    pub mttr_seconds: Option<f64>,
}

impl From<&MetricsFigures> for FiguresView {
    fn from(f: &MetricsFigures) -> Self {
        Self {
            incidents: f.incidents,
            acknowledged: f.acknowledged,
            triaged: f.triaged,
            contained: f.contained,
            closed: f.closed,
            mtta_seconds: f.mtta_seconds,
            mean_time_to_triage_seconds: f.mean_time_to_triage_seconds,
            mean_time_to_contain_seconds: f.mean_time_to_contain_seconds,
            mttr_seconds: f.mttr_seconds,
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    /// The key: a tenant id, a sector, an RSIT class or a severity.
    pub key: String,
    /// The group's name (a tenant's name).
    pub label: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// Response-time figures over a period: aggregates only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricsView {
    /// The tenant whose chain's incidents are counted.
    #[schema(value_type = String, format = Uuid)]
    pub under: TenantId,
    /// The period's start.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// The period's end (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// tenant, sector, rsit_class or severity.
    pub by: String,
    /// The groups, ordered by key.
    pub groups: Vec<GroupView>,
    /// All of them.
    pub total: FiguresView,
}

impl From<IncidentMetrics> for MetricsView {
    fn from(m: IncidentMetrics) -> Self {
        Self {
            under: m.under,
            from: m.from,
            to: m.to,
            by: word(&m.by),
            groups: m
                .groups
                .iter()
                .map(|g| GroupView {
                    key: g.key.clone(),
                    label: g.label.clone(),
                    figures: (&g.figures).into(),
                })
                .collect(),
            total: (&m.total).into(),
        }
    }
}
