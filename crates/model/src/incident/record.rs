//! The incident records: incidents, their tasks and timeline, the reports
//! they come from, evidence, and the notifications the platform raises.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::{
    IncidentResolution, IncidentSeverity, IncidentStatus, InvalidIncidentField, Observable, Pap,
    ReadableId, RegulatoryClock, RsitClass,
};
use crate::{
    Actor, EvidenceId, IncidentId, IncidentNotificationId, IncidentReportId, IncidentTaskId,
    InstanceId, Sector, TenantId, TimelineEntryId, Timestamp, Tlp, UserId,
};

/// When things happened to an incident: what its response-time figures are computed from.
///
/// Every figure counts from `received_at`: when the platform first had the
/// incident (its first report's submission, or its creation). Deadlines count
/// from `aware_at` instead: when the affected organisation noticed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentClocks {
    /// When the affected organisation became aware of it (regulatory clocks start here).
    pub aware_at: Timestamp,
    /// When the platform first had it.
    pub received_at: Timestamp,
    /// When a person first acted on it (assigned it, or moved it on from `new`).
    pub acknowledged_at: Option<Timestamp>,
    /// When it first reached `triaged`.
    pub triaged_at: Option<Timestamp>,
    /// When it first reached `contained` (or a later status short of `closed`).
    pub contained_at: Option<Timestamp>,
    /// When it was (last) closed; cleared when reopened.
    pub closed_at: Option<Timestamp>,
}

impl IncidentClocks {
    /// Clocks of an incident received at `received_at`, noticed at `aware_at`.
    pub fn new(aware_at: Timestamp, received_at: Timestamp) -> Self {
        Self {
            aware_at,
            received_at,
            acknowledged_at: None,
            triaged_at: None,
            contained_at: None,
            closed_at: None,
        }
    }

    /// Records that the incident moved to `status` at `at` (first times only, except closing).
    pub fn record_status(&mut self, status: IncidentStatus, at: Timestamp) {
        if status != IncidentStatus::New {
            self.acknowledged_at.get_or_insert(at);
        }
        if status >= IncidentStatus::Triaged && status != IncidentStatus::Closed {
            self.triaged_at.get_or_insert(at);
        }
        if status.is_contained() {
            self.contained_at.get_or_insert(at);
        }
        match status {
            IncidentStatus::Closed => self.closed_at = Some(at),
            _ => self.closed_at = None,
        }
    }
}

/// What a task asks the assignee to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Find out something (e.g. check logs for an indicator).
    Investigation,
    /// Do something against the attack (e.g. block, patch, take down).
    Countermeasure,
    /// Anything else.
    Other,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Given, not started.
    Open,
    /// Being worked on.
    InProgress,
    /// Completed (see its result).
    Done,
    /// Withdrawn by the tenant that gave it.
    Cancelled,
}

impl TaskStatus {
    /// The status's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the task is finished (done or cancelled).
    pub const fn is_finished(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

/// A task an incident's owner gave a tenant (a child CERT or organisation, or its own people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentTask {
    /// Its id.
    pub id: IncidentTaskId,
    /// The tenant that gave it.
    pub tasked_by: TenantId,
    /// The tenant that must do it.
    pub assignee_tenant: TenantId,
    /// The person there who owns it, if one was named.
    pub assignee_user: Option<UserId>,
    /// What kind of work it is.
    pub kind: TaskKind,
    /// What to do, in one line.
    pub title: String,
    /// What to do, in detail.
    pub description: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// When it must be done by.
    pub due_at: Option<Timestamp>,
    /// What the assignee reported when finishing it.
    pub result: Option<String>,
    /// Who gave it.
    pub created_by: Actor,
    /// When it was given.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// When it was finished.
    pub completed_at: Option<Timestamp>,
}

/// An incident: the record a CERT handles, from report to closure.
///
/// Who sees it: the current owner and the tenants above it (custody), the
/// earlier owners it was escalated from, and — within its TLP — the
/// organisations whose reports it holds and the tenants it tasked. The
/// policy (`nigehban_app::policy`) says exactly what each sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its id.
    pub id: IncidentId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// Its readable id, e.g. `PK-2026-000123`.
    pub readable_id: ReadableId,
    /// The tenant that handles it now.
    pub owner: TenantId,
    /// The tenants that handled it before, oldest first (escalation moves the owner up).
    pub former_owners: Vec<TenantId>,
    /// The organisations whose reports became (part of) this incident.
    pub reporting_tenants: Vec<TenantId>,
    /// The reports it was triaged from.
    pub reports: Vec<IncidentReportId>,
    /// What happened, in one line.
    pub title: String,
    /// What happened, in detail.
    pub description: String,
    /// Its RSIT class and type.
    pub classification: RsitClass,
    /// How serious it is.
    pub severity: IncidentSeverity,
    /// How far what is known about it may be shared.
    pub tlp: Tlp,
    /// What recipients may do with it.
    pub pap: Pap,
    /// Where it is in the workflow.
    pub status: IncidentStatus,
    /// Why it was closed (set while closed).
    pub resolution: Option<IncidentResolution>,
    /// The person handling it.
    pub assignee: Option<UserId>,
    /// The organisations affected (tenants of the platform).
    pub affected_tenants: Vec<TenantId>,
    /// Its observables, each once.
    pub observables: Vec<Observable>,
    /// The tasks it gave.
    pub tasks: Vec<IncidentTask>,
    /// Incidents linked to it as related.
    pub related: Vec<IncidentId>,
    /// The incident it was merged into, if it was.
    pub merged_into: Option<IncidentId>,
    /// The incidents merged into it.
    pub merged_from: Vec<IncidentId>,
    /// Alerts linked to it (ids of the alert queue; empty until alerts exist).
    pub linked_alerts: Vec<uuid::Uuid>,
    /// Its regulatory reporting clocks, when a profile applies.
    pub regulatory: Option<RegulatoryClock>,
    /// When things happened to it.
    pub clocks: IncidentClocks,
    /// The sector it came from (of the tenant that reported or first owned it); none for the national CERT's own.
    pub origin_sector: Option<Sector>,
    /// Who opened it.
    pub created_by: Actor,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Bumped by storage on every change (a change made against an older version is refused).
    pub version: u64,
}

impl Incident {
    /// Every tenant that has a stake in it: owner, earlier owners, reporting organisations, tasked tenants.
    pub fn stakeholders(&self) -> Vec<(TenantId, &'static str)> {
        let mut all = vec![(self.owner, "owner")];
        all.extend(self.former_owners.iter().map(|t| (*t, "former_owner")));
        all.extend(self.reporting_tenants.iter().map(|t| (*t, "reporter")));
        all.extend(
            self.tasks
                .iter()
                .map(|task| (task.assignee_tenant, "tasked")),
        );
        all.sort();
        all.dedup();
        all
    }

    /// Adds observables not yet present; returns how many were new.
    pub fn add_observables(&mut self, observables: impl IntoIterator<Item = Observable>) -> usize {
        let mut added = 0;
        for observable in observables {
            if !self.observables.contains(&observable) {
                self.observables.push(observable);
                added += 1;
            }
        }
        added
    }
}

/// Who may see a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "audience", content = "tenant", rename_all = "snake_case")]
pub enum Audience {
    /// Everyone who sees the incident's details.
    Everyone,
    /// Only the incident's custody (owner, the tenants above it, earlier owners).
    Custody,
    /// The custody and this tenant (e.g. entries about a task given to it).
    CustodyAnd(TenantId),
}

/// What a timeline entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineKind {
    /// The incident was opened.
    Opened,
    /// A report was triaged into it.
    ReportTriaged {
        /// The report.
        report: IncidentReportId,
    },
    /// Its status changed.
    StatusChanged {
        /// Before.
        from: IncidentStatus,
        /// After.
        to: IncidentStatus,
    },
    /// Fields were changed.
    Updated {
        /// The fields, as named in the API.
        fields: Vec<String>,
    },
    /// It was assigned (or unassigned).
    Assigned {
        /// The new assignee.
        user: Option<UserId>,
    },
    /// It was escalated to the owner's parent.
    Escalated {
        /// The owner before.
        from: TenantId,
        /// The owner after.
        to: TenantId,
    },
    /// A task was given.
    Tasked {
        /// The task.
        task: IncidentTaskId,
        /// The tenant it was given to.
        assignee: TenantId,
    },
    /// A task changed.
    TaskUpdated {
        /// The task.
        task: IncidentTaskId,
        /// Its status now.
        status: TaskStatus,
    },
    /// Observables were added.
    ObservablesAdded {
        /// How many new ones.
        count: usize,
    },
    /// Evidence was attached.
    EvidenceAdded {
        /// The evidence.
        evidence: EvidenceId,
        /// Its content's SHA-256.
        sha256: Sha256Digest,
    },
    /// A note.
    Note,
    /// Another incident was linked as related.
    Related {
        /// The other incident.
        other: IncidentId,
    },
    /// Another incident was merged into this one.
    MergedFrom {
        /// The merged incident.
        other: IncidentId,
    },
    /// This incident was merged into another.
    MergedInto {
        /// The incident it now lives in.
        other: IncidentId,
    },
    /// A regulatory reporting stage was submitted.
    DeadlineSubmitted {
        /// The stage.
        stage: String,
    },
    /// A regulatory reporting stage is about to lapse or lapsed.
    DeadlineNotice {
        /// The stage.
        stage: String,
        /// Which notice.
        notice: NotificationKind,
    },
    /// An alert was linked (the seam where the alert queue joins incidents).
    AlertLinked {
        /// The alert.
        alert: uuid::Uuid,
    },
}

/// One entry of an incident's timeline: append-only, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Its id.
    pub id: TimelineEntryId,
    /// The incident.
    pub incident: IncidentId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// Who may see it.
    #[serde(flatten)]
    pub audience: Audience,
    /// What happened.
    #[serde(flatten)]
    pub kind: TimelineKind,
    /// What happened, for a person (a note's text, a change's reason).
    pub message: String,
}

/// Where an incident report stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReportStatus {
    /// Filed, waiting for the CERT above to triage it.
    Submitted,
    /// Triaged into an incident.
    Triaged {
        /// The incident.
        incident: IncidentId,
        /// Its readable id.
        readable_id: ReadableId,
        /// Whether a new incident was opened for it (else it joined an existing one).
        new_incident: bool,
    },
    /// Rejected, with a reason the reporter sees.
    Rejected {
        /// Why.
        reason: String,
    },
}

impl ReportStatus {
    /// The status's word as stored: `submitted`, `triaged` or `rejected`.
    pub const fn word(&self) -> &'static str {
        match self {
            ReportStatus::Submitted => "submitted",
            ReportStatus::Triaged { .. } => "triaged",
            ReportStatus::Rejected { .. } => "rejected",
        }
    }
}

/// An incident report a constituent filed with its CERT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// Its id.
    pub id: IncidentReportId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The reporting organisation, which owns the report.
    pub tenant: TenantId,
    /// Who filed it.
    pub reported_by: Actor,
    /// What happened, in one line.
    pub title: String,
    /// What happened, in detail.
    pub description: String,
    /// When the organisation noticed it (every deadline clock starts here).
    pub noticed_at: Timestamp,
    /// When it happened, if known.
    pub occurred_at: Option<Timestamp>,
    /// The affected systems, as the reporter names them.
    pub affected_systems: Vec<String>,
    /// Observables given and found in the text.
    pub observables: Vec<Observable>,
    /// How far the reporter allows it to be shared.
    pub tlp: Tlp,
    /// Where it stands.
    #[serde(flatten)]
    pub status: ReportStatus,
    /// The tenant that triaged it.
    pub triaged_by: Option<TenantId>,
    /// When it was triaged or rejected.
    pub triaged_at: Option<Timestamp>,
    /// When it was filed.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// Bumped by storage on every change.
    pub version: u64,
}

/// A SHA-256 digest, shown as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Sha256Digest {
    type Err = InvalidIncidentField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidIncidentField::new("sha256", format!("{s:?} is not 64 hex digits"));
        let bytes = hex::decode(s.trim()).map_err(|_| bad())?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| bad())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An evidence file's name as given by the uploader: its last path
/// component, 1 to 255 bytes, no control characters. Only shown and offered
/// as the download's name, never used as a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EvidenceFileName(String);

impl EvidenceFileName {
    /// Parses a file name, keeping only what follows the last `/` or `\`.
    pub fn parse(text: &str) -> Result<Self, InvalidIncidentField> {
        let last = text.rsplit(['/', '\\']).next().unwrap_or_default().trim();
        if last.is_empty() || last == "." || last == ".." {
            return Err(InvalidIncidentField::new("filename", "must name a file"));
        }
        if last.len() > 255 {
            return Err(InvalidIncidentField::new(
                "filename",
                "is longer than 255 bytes",
            ));
        }
        if last.chars().any(char::is_control) {
            return Err(InvalidIncidentField::new(
                "filename",
                "contains a control character",
            ));
        }
        Ok(Self(last.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EvidenceFileName {
    type Error = InvalidIncidentField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EvidenceFileName> for String {
    fn from(value: EvidenceFileName) -> Self {
        value.0
    }
}

/// A piece of evidence: a file stored by the SHA-256 of its content.
///
/// The content itself lives in the evidence store (files in the data
/// directory, or PostgreSQL); every upload, download and failed integrity
/// check is in the audit log under record kind `evidence` and this id, which
/// is its chain of custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Its id.
    pub id: EvidenceId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant of the person who uploaded it.
    pub tenant: TenantId,
    /// The incident it belongs to (set when attached to an incident, or when its report is triaged).
    pub incident: Option<IncidentId>,
    /// The report it came with, if it came with one.
    pub report: Option<IncidentReportId>,
    /// Its content's SHA-256.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The file name the uploader gave.
    pub filename: EvidenceFileName,
    /// The media type the uploader declared (checked against the content where it can be).
    pub content_type: String,
    /// What it is, as the uploader described it.
    pub description: String,
    /// Who uploaded it.
    pub uploaded_by: Actor,
    /// When.
    pub uploaded_at: Timestamp,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A regulatory reporting stage lapses soon and was not submitted.
    DeadlineDueSoon,
    /// A regulatory reporting stage lapsed without being submitted.
    DeadlineLapsed,
}

impl NotificationKind {
    /// The kind's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationKind::DeadlineDueSoon => "deadline_due_soon",
            NotificationKind::DeadlineLapsed => "deadline_lapsed",
        }
    }
}

/// A notification the platform raised to a tenant about an incident (e.g. a
/// deadline about to lapse). Generated, not made by a person: append-only,
/// not in the audit log; at most one per incident, stage, kind and tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentNotification {
    /// Its id.
    pub id: IncidentNotificationId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant it is addressed to.
    pub tenant: TenantId,
    /// The incident.
    pub incident: IncidentId,
    /// The incident's readable id.
    pub readable_id: ReadableId,
    /// What it is about.
    pub kind: NotificationKind,
    /// The regulatory stage.
    pub stage: String,
    /// The stage's deadline.
    pub due_at: Timestamp,
    /// When it was raised.
    pub raised_at: Timestamp,
    /// What it says, for a person.
    pub message: String,
}
