//! Incidents and coordination in storage: the types of the [`crate::Store`]
//! methods for incidents, reports, timeline, evidence and notifications, and
//! the encodings both backends share.
//!
//! Incidents and reports are stored as one JSON document each (the model's
//! own serialisation) beside the columns that are queried: owner, status,
//! the readable id, and an `incident_access` index of every tenant with a
//! stake in the incident (owner, earlier owners, reporting organisations,
//! tasked tenants), rewritten with each change, which list calls search by
//! subtree. A change names the version it was read at; storage refuses it
//! with [`StoreError::Stale`] when someone else changed the record first, so
//! the app can read again and retry instead of overwriting.
//!
//! Readable ids come from a per-year sequence row (`incident_sequences`),
//! incremented in the transaction that inserts the incident: a number is
//! handed out once and never again (a failed transaction gives it back
//! before anyone else could see it, so numbers have no gaps unless a
//! creation fails after its number was taken by a concurrent one).
//!
//! Evidence content is addressed by its SHA-256: [`crate::Store::put_evidence_content`]
//! computes the digest and keeps the bytes once (files under
//! `<data-dir>/evidence/` on SQLite, a `bytea` table on PostgreSQL, so every
//! node of a PostgreSQL deployment sees the same evidence); reading returns
//! exactly what is stored, and the app checks the digest on every download.

use nigehban_model::{
    AlertId, AuditAction, Evidence, Incident, IncidentId, IncidentReport, IncidentReportId,
    ReadableId, ReadableIdPrefix, ReportStatus, TenantId, TimelineEntry,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{StoreError, StoreResult};

/// An incident to open: storage gives it its readable id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// The incident; its `readable_id` is replaced by the next of its creation year, its `version` set to 1.
    pub incident: Incident,
    /// The prefix of its readable id.
    pub prefix: ReadableIdPrefix,
}

/// What an audit entry of a write records as the record after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAfter {
    /// The record as this write stores it (found in the write by kind and id).
    Record,
    /// This value.
    Value(serde_json::Value),
    /// Nothing.
    Nothing,
}

/// One audit entry of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    /// The tenant the entry concerns (whose subtree's auditors read it).
    pub tenant: TenantId,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record: `incident`, `incident_report` or `evidence`.
    pub record_kind: &'static str,
    /// The record's id.
    pub record_id: String,
    /// The record before the change.
    pub before: Option<serde_json::Value>,
    /// The record after it.
    pub after: AuditAfter,
}

/// One change to incidents and the records around them, written in one
/// transaction with its audit entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentWrite {
    /// An incident to open (audited as `incident.create` by storage, with its readable id).
    pub open: Option<NewIncident>,
    /// Incidents to save as changed; each still at the version it was read at.
    pub incidents: Vec<Incident>,
    /// Reports to file (version set to 1).
    pub new_reports: Vec<IncidentReport>,
    /// Reports to save as changed; each still at the version it was read at.
    /// A report `Triaged` into the incident being opened gets its readable id.
    pub reports: Vec<IncidentReport>,
    /// Evidence records to add.
    pub new_evidence: Vec<Evidence>,
    /// Evidence records to save as changed (e.g. attached to an incident).
    pub evidence: Vec<Evidence>,
    /// Timeline entries to append.
    pub timeline: Vec<TimelineEntry>,
    /// Alerts to link to an incident (each gets a `triaged` change feed entry).
    pub alert_links: Vec<AlertLink>,
    /// The audit entries of the change.
    pub audit: Vec<AuditNote>,
}

/// An alert to link to an incident, or to move to another (a merge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertLink {
    /// The alert.
    pub alert: AlertId,
    /// The incident it was linked to when read (`None`: none): if it is
    /// linked to another now, the write is [`StoreError::Stale`].
    pub from: Option<IncidentId>,
    /// The incident it is linked to by this write.
    pub to: IncidentId,
}

/// An incident that shares observables with another, as storage found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimilarIncident {
    /// The incident.
    pub incident: Incident,
    /// How many observables the two share.
    pub shared: u64,
}

/// The key an observable is indexed under for similar incidents: `kind:value`.
pub(crate) fn observable_key(observable: &nigehban_model::Observable) -> String {
    observable.to_string()
}

/// What a write stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentWritten {
    /// The incident opened, with its readable id and version.
    pub opened: Option<Incident>,
    /// The incidents saved, with their new versions.
    pub incidents: Vec<Incident>,
    /// The reports filed or saved, with their versions.
    pub reports: Vec<IncidentReport>,
}

/// Which incidents to list (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentScope {
    /// Those with a stakeholder (owner, earlier owner, reporting organisation,
    /// tasked tenant) in this tenant's subtree: a superset of what a caller
    /// there may see, which the app narrows with its policy.
    Touching(TenantId),
    /// Every open incident of the instance (for the platform's own sweeps).
    Open,
}

/// Whose evidence to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceOf {
    /// An incident's.
    Incident(IncidentId),
    /// A report's.
    Report(IncidentReportId),
}

/// A record as its JSON document column.
pub(crate) fn document<T: Serialize>(what: &'static str, record: &T) -> StoreResult<String> {
    serde_json::to_string(record).map_err(|e| StoreError::corrupt(what, e))
}

/// A record read back from its JSON document column.
pub(crate) fn from_document<T: DeserializeOwned>(what: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// The stale-record error for a record changed by someone else meanwhile.
pub(crate) fn stale(kind: &'static str, id: impl ToString) -> StoreError {
    StoreError::Stale {
        kind,
        id: id.to_string(),
    }
}

/// Gives `opened` its readable id, and the reports of `write` triaged into it too.
pub(crate) fn assign_readable_id(
    write: &mut IncidentWrite,
    opened: &mut Incident,
    prefix: &ReadableIdPrefix,
    number: u64,
) {
    let year = opened.created_at.to_datetime().year();
    opened.readable_id = ReadableId::new(prefix, year, number);
    opened.version = 1;
    for report in write.reports.iter_mut().chain(write.new_reports.iter_mut()) {
        if let ReportStatus::Triaged {
            incident,
            readable_id,
            ..
        } = &mut report.status
            && *incident == opened.id
        {
            *readable_id = opened.readable_id.clone();
        }
    }
}

/// The JSON of the record an audit note names, as the write stores it.
pub(crate) fn audit_after(
    note: &AuditNote,
    written: &IncidentWritten,
    evidence: &[Evidence],
) -> StoreResult<Option<serde_json::Value>> {
    let json = |value: Result<serde_json::Value, serde_json::Error>| {
        value
            .map(Some)
            .map_err(|e| StoreError::corrupt("audit record", e))
    };
    match &note.after {
        AuditAfter::Nothing => Ok(None),
        AuditAfter::Value(value) => Ok(Some(value.clone())),
        AuditAfter::Record => match note.record_kind {
            "incident" => match written
                .opened
                .iter()
                .chain(written.incidents.iter())
                .find(|i| i.id.to_string() == note.record_id)
            {
                Some(incident) => json(serde_json::to_value(incident)),
                None => Ok(None),
            },
            "incident_report" => match written
                .reports
                .iter()
                .find(|r| r.id.to_string() == note.record_id)
            {
                Some(report) => json(serde_json::to_value(report)),
                None => Ok(None),
            },
            "evidence" => match evidence.iter().find(|e| e.id.to_string() == note.record_id) {
                Some(item) => json(serde_json::to_value(item)),
                None => Ok(None),
            },
            _ => Ok(None),
        },
    }
}

/// The year of a readable id's sequence for an incident opened at `created_at`.
pub(crate) fn sequence_year(incident: &Incident) -> i64 {
    i64::from(incident.created_at.to_datetime().year())
}
