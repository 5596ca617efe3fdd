//! Shift hand-over (issue 12, point 6): the outgoing person writes a note,
//! the platform adds what is open for the team's tenant (alerts, incidents,
//! reporting deadlines, silent sensors), the incoming person acknowledges
//! it; unacknowledged after [`DutySettings::handover_wait`], the duty loop
//! pages for it through the tenant's escalation.
//!
//! [`DutySettings::handover_wait`]: super::DutySettings::handover_wait

use std::collections::BTreeSet;

use nigehban_model::duty::{DutyRecord, DutyRecordKind, Page};
use nigehban_model::{
    AlertStatus, DutyRecordId, IncidentStatus, SensorHealthKind, TenantId, Timestamp, Tlp,
};
use nigehban_store::{
    AlertQuery, AlertScope, DutyQuery, IncidentScope, PageRequest, SensorHealthScope, StoreError,
};
use serde::{Deserialize, Serialize};

use super::{Duty, check_name, schedule_view, to_json};
use crate::policy::Action;
use crate::{AppError, AppResult, Caller};

/// Most items of each kind a summary lists.
const SUMMARY_ITEMS: usize = 25;

/// What is open for a tenant at a hand-over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWork {
    /// Alerts not closed (new or acknowledged), up to 25: `severity title (id)`.
    pub alerts: Vec<String>,
    /// How many alerts are not closed.
    pub open_alerts: u64,
    /// Incidents not closed, owned in the subtree: `readable id: title`.
    pub incidents: Vec<String>,
    /// Reporting stages not submitted: `readable id: stage due at`.
    pub deadlines: Vec<String>,
    /// Sensors whose latest health event says they went silent.
    pub silent_sensors: Vec<String>,
}

/// A hand-over as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverState {
    /// The schedule whose shift changes.
    pub schedule: DutyRecordId,
    /// Its team.
    pub team: String,
    /// Who hands over.
    pub outgoing: String,
    /// Who wrote it (the outgoing person, or someone managing the roster for them).
    pub written_by: String,
    /// Who takes over (on call when the outgoing shift ends), if anyone.
    pub incoming: Option<String>,
    /// When the outgoing shift ends.
    pub shift_ends: Timestamp,
    /// The outgoing person's note.
    pub note: String,
    /// What the platform found open.
    pub summary: OpenWork,
    /// When it was written.
    pub written_at: Timestamp,
    /// When the incoming person acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// The page raised because nobody acknowledged it in time.
    pub escalated_to: Option<DutyRecordId>,
}

/// A hand-over as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoverView {
    /// Its id.
    pub id: DutyRecordId,
    /// The schedule's tenant.
    pub tenant: TenantId,
    /// `open`, `acknowledged` or `escalated`.
    pub status: String,
    /// Its version.
    pub version: u64,
    /// The hand-over.
    #[serde(flatten)]
    pub state: HandoverState,
}

fn handover_view(record: &DutyRecord) -> AppResult<HandoverView> {
    Ok(HandoverView {
        id: record.id,
        tenant: record.tenant,
        status: record.status.clone(),
        version: record.version,
        state: serde_json::from_value(record.body.clone())
            .map_err(|e| AppError::Internal(format!("stored hand-over {}: {e}", record.id)))?,
    })
}

async fn caller_name(duty: &Duty<'_>, caller: &Caller) -> AppResult<String> {
    let id = caller
        .user_id()
        .ok_or_else(|| AppError::Invalid("a hand-over is written by a person".into()))?;
    Ok(duty
        .app
        .store()
        .user(id)
        .await?
        .ok_or_else(|| AppError::not_found("user", id))?
        .username
        .to_string())
}

impl Duty<'_> {
    /// What is open for `tenant` and below now.
    pub async fn open_work(&self, tenant: TenantId) -> AppResult<OpenWork> {
        let store = self.app.store();
        let now = self.now();
        let mut work = OpenWork::default();
        let mut query = AlertQuery::new(AlertScope::Subtree(tenant));
        query.statuses = vec![AlertStatus::New, AlertStatus::Acknowledged];
        let alerts = store.list_alerts(&query, &PageRequest::first(500)).await?;
        work.open_alerts = alerts.items.len() as u64;
        work.alerts = alerts
            .items
            .iter()
            .take(SUMMARY_ITEMS)
            .map(|a| format!("{} {} ({})", a.severity.as_str(), a.rule.title, a.id))
            .collect();
        let incidents = store
            .list_incidents(IncidentScope::Touching(tenant), &PageRequest::first(500))
            .await?;
        let mut owned_below = std::collections::BTreeMap::new();
        for incident in &incidents.items {
            if let std::collections::btree_map::Entry::Vacant(entry) =
                owned_below.entry(incident.owner)
            {
                entry.insert(self.app.path_ids(incident.owner).await?.contains(&tenant));
            }
        }
        for incident in incidents.items.iter().filter(|i| {
            owned_below.get(&i.owner).copied().unwrap_or(false)
                && i.status != IncidentStatus::Closed
        }) {
            if work.incidents.len() < SUMMARY_ITEMS {
                work.incidents
                    .push(format!("{}: {}", incident.readable_id, incident.title));
            }
            if let Some(clock) = &incident.regulatory {
                for stage in clock.stages.iter().filter(|s| s.submitted_at.is_none()) {
                    if work.deadlines.len() < SUMMARY_ITEMS {
                        let lapsed = if stage.due_at < now { " (lapsed)" } else { "" };
                        work.deadlines.push(format!(
                            "{}: {} due {}{lapsed}",
                            incident.readable_id,
                            stage.name,
                            stage.due_at.to_rfc3339()
                        ));
                    }
                }
            }
        }
        let health = store
            .list_sensor_health(
                SensorHealthScope::Subtree(tenant),
                &PageRequest::first(1000),
            )
            .await?;
        let mut seen = BTreeSet::new();
        for event in health.items {
            if seen.insert(event.sensor) && matches!(event.kind, SensorHealthKind::Silent { .. }) {
                work.silent_sensors.push(event.sensor.to_string());
            }
        }
        Ok(work)
    }

    /// Writes the hand-over of the caller's current shift on a schedule:
    /// the note, what is open, and who takes over.
    pub async fn write_handover(
        &self,
        caller: &Caller,
        schedule: DutyRecordId,
        note: &str,
    ) -> AppResult<HandoverView> {
        let record = self
            .record(
                caller,
                Action::ViewRoster,
                DutyRecordKind::Schedule,
                schedule,
            )
            .await?;
        let me = caller_name(self, caller).await?;
        let now = self.now();
        let view = schedule_view(&record)?;
        let holidays = self.holiday_dates(&view.document).await?;
        let shift = view
            .document
            .roster
            .on_call_at(now, &holidays)
            .map_err(|e| AppError::Invalid(format!("schedule {}: {e}", view.id)))?
            .ok_or_else(|| {
                AppError::Invalid(
                    "nobody is on call on this schedule now: nothing to hand over".into(),
                )
            })?;
        if shift.user != me {
            // Someone else hands over for the person on call.
            self.app
                .authorise(
                    caller,
                    Action::ManageRoster,
                    record.tenant,
                    "schedule",
                    schedule,
                )
                .await?;
        }
        let note = note.trim();
        if note.chars().count() > 20_000 {
            return Err(AppError::Invalid("note: at most 20,000 characters".into()));
        }
        let incoming = view
            .document
            .roster
            .on_call_at(shift.end, &holidays)
            .map_err(|e| AppError::Invalid(e.to_string()))?
            .map(|s| s.user);
        let state = HandoverState {
            schedule,
            team: view.document.team.clone(),
            outgoing: shift.user.clone(),
            written_by: me,
            incoming,
            shift_ends: shift.end,
            note: note.to_owned(),
            summary: self.open_work(record.tenant).await?,
            written_at: now,
            acknowledged_at: None,
            escalated_to: None,
        };
        let mut handover = DutyRecord::new(
            record.tenant,
            DutyRecordKind::Handover,
            check_name("name", &format!("{} hand-over", view.name))?,
            to_json(&state)?,
            now,
        );
        handover.status = "open".into();
        // The incoming person has from the shift change on to acknowledge.
        let from = if shift.end > now { shift.end } else { now };
        handover.due_at = Some(from.plus(self.app.settings().duty.handover_wait));
        handover.updated_by = caller.user_id();
        let stored = self
            .app
            .store()
            .put_duty_record(&handover, 0, Some(&self.audit(caller)))
            .await?;
        handover_view(&stored)
    }

    /// The hand-overs of `tenant` (default: the caller's) and below, newest first.
    pub async fn handovers(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<HandoverView>> {
        self.listed_newest_first(caller, DutyRecordKind::Handover, tenant, handover_view)
            .await
    }

    /// The hand-overs nobody acknowledged yet (`open`, or `escalated` when
    /// the wait ran out) of `tenant` (default: the caller's) and below, oldest first.
    pub async fn unacknowledged_handovers(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<HandoverView>> {
        let mut out = Vec::new();
        for status in ["open", "escalated"] {
            for record in self
                .listed_with_status(
                    caller,
                    DutyRecordKind::Handover,
                    tenant,
                    Some(status),
                    DutyQuery::all(DutyRecordKind::Handover).limit,
                )
                .await?
            {
                out.push(handover_view(&record)?);
            }
        }
        out.sort_by_key(|h| h.id);
        Ok(out)
    }

    /// The incoming person acknowledges a hand-over.
    pub async fn acknowledge_handover(
        &self,
        caller: &Caller,
        id: DutyRecordId,
    ) -> AppResult<HandoverView> {
        let mut record = self
            .record(
                caller,
                Action::AcknowledgePage,
                DutyRecordKind::Handover,
                id,
            )
            .await?;
        let me = caller_name(self, caller).await?;
        let mut view = handover_view(&record)?;
        if view.state.incoming.as_deref() != Some(me.as_str()) {
            // Someone managing the roster acknowledges for the incoming person.
            self.app
                .authorise(caller, Action::ManageRoster, record.tenant, "hand-over", id)
                .await?;
        }
        if view.state.acknowledged_at.is_some() {
            return Err(AppError::Conflict(
                "the hand-over was acknowledged already".into(),
            ));
        }
        view.state.acknowledged_at = Some(self.now());
        record.status = "acknowledged".into();
        record.due_at = None;
        record.body = to_json(&view.state)?;
        record.updated_at = self.now();
        record.updated_by = caller.user_id();
        let version = record.version;
        let stored = self
            .app
            .store()
            .put_duty_record(&record, version, Some(&self.audit(caller)))
            .await?;
        handover_view(&stored)
    }

    /// Escalates a hand-over nobody acknowledged in time: a page for the
    /// schedule's tenant (a system call of the duty loop).
    pub(crate) async fn escalate_handover(&self, mut record: DutyRecord) -> AppResult<bool> {
        if record.status != "open" {
            return Ok(false);
        }
        let mut view = handover_view(&record)?;
        let page = Page {
            tenant: record.tenant,
            severity: "high".into(),
            rsit_class: None,
            title: format!(
                "Hand-over of team {} from {} not acknowledged by {}",
                view.state.team,
                view.state.outgoing,
                view.state.incoming.as_deref().unwrap_or("anyone")
            ),
            tlp: Tlp::Amber,
            link: format!("/api/v1/oncall/handovers?tenant={}", record.tenant),
            source: format!("handover:{}", record.id),
        };
        let opened = self.open_page(page, None).await?;
        view.state.escalated_to = opened.as_ref().map(|p| p.id);
        record.status = "escalated".into();
        record.due_at = None;
        record.body = to_json(&view.state)?;
        record.updated_at = self.now();
        let version = record.version;
        match self
            .app
            .store()
            .put_duty_record(&record, version, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Stale { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
