//! Alerts to incidents: opening an incident from alerts, linking more alerts
//! to one, and suggesting similar incidents by shared observables.
//!
//! Linking is one store write: the incident (its `linked_alerts` and the
//! observables extracted from the alerts, [`Alert::observables`]), each
//! alert's `incident`, an `alert_linked` timeline entry per alert, and the
//! audit entries (`incident.update` on the incident, `alert.incident_link`
//! on each alert). The policy ([`policy::decide_alert_link`]) decides each
//! alert. Data flows one way: this module reads alerts; the alert service
//! knows nothing of incidents.
//!
//! Similar incidents are read from storage's observable index among the
//! incidents touching the caller's subtree, then narrowed to those whose
//! details the caller sees; the observables compared are only those the
//! caller sees on both, so a suggestion never tells of anything hidden
//! (TheHive once suggested other organisations' cases here).

use std::collections::HashSet;

use nigehban_model::{
    Alert, AlertId, Audience, AuditAction, Incident, Observable, TimelineKind, incident,
};
use nigehban_store::{AlertLink, AuditAfter, AuditNote, IncidentWrite, StoreError};
use serde::Serialize;

use super::{IncidentRef, IncidentSight, Incidents, RETRIES, Viewer, check_list, invalid, json};
use crate::policy::{self, Action, Decision, IncidentStance, IncidentView, Relation};
use crate::{AppError, AppResult, Caller};

/// Most alerts one request may link.
pub const MAX_ALERTS_PER_LINK: usize = 500;

/// Most similar incidents one request returns.
pub const MAX_SIMILAR: u32 = 100;

/// Candidates read from storage before the caller's sight narrows them.
const SIMILAR_CANDIDATES: u32 = 500;

/// An incident that shares observables with another, as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimilarIncident {
    /// The incident.
    pub incident: IncidentSight,
    /// The observables both incidents hold (of those the caller sees on both).
    pub shared: Vec<Observable>,
}

impl Incidents<'_> {
    /// The alerts `ids` (each once, in the order given), once the policy
    /// allows the caller to link each to `incident` (the incident itself is
    /// the caller's to check). An unknown alert, or one the caller may not
    /// see, is "not found"; exercise alerts and alerts linked to another
    /// incident are refused.
    pub(crate) async fn linkable_alerts(
        &self,
        viewer: &Viewer,
        incident: &Incident,
        ids: &[AlertId],
    ) -> AppResult<Vec<Alert>> {
        if ids.is_empty() {
            return Err(invalid("alerts: name at least one alert"));
        }
        if ids.len() > MAX_ALERTS_PER_LINK {
            return Err(invalid(format!(
                "alerts: {} in one request; at most {MAX_ALERTS_PER_LINK}",
                ids.len()
            )));
        }
        let mut wanted: Vec<AlertId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !wanted.contains(id) {
                wanted.push(*id);
            }
        }
        let found = self.app.store().alerts_by_id(&wanted).await?;
        let stance = viewer.stance(incident);
        let mut alerts = Vec::with_capacity(wanted.len());
        for id in wanted {
            let alert = found
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .ok_or_else(|| AppError::not_found("alert", id))?;
            let relation = viewer.relation(alert.tenant).unwrap_or(Relation::Unrelated);
            let under_owner = self
                .app
                .path_ids(alert.tenant)
                .await?
                .contains(&incident.owner);
            match policy::decide_alert_link(
                viewer.caller.role(),
                relation,
                under_owner,
                stance,
                incident.tlp,
            ) {
                Decision::Allow => {}
                Decision::NotFound => {
                    if matches!(stance, IncidentStance::Outsider) {
                        return Err(AppError::not_found("incident", incident.id));
                    }
                    return Err(AppError::not_found("alert", id));
                }
                Decision::Forbidden if !under_owner && relation.is_visible() => {
                    return Err(AppError::Forbidden(format!(
                        "alert {id} belongs to a tenant outside the custody of incident {}: only alerts of {} and the tenants below it may be linked (escalate the incident first)",
                        incident.readable_id, incident.owner
                    )));
                }
                Decision::Forbidden => {
                    return Err(AppError::Forbidden(format!(
                        "the {} role may not link alerts to incidents",
                        viewer.caller.role()
                    )));
                }
            }
            if alert.exercise {
                return Err(invalid(format!(
                    "alerts: alert {id} is exercise data and cannot be linked to a real incident"
                )));
            }
            match alert.incident {
                Some(other) if other != incident.id => {
                    let named = match self.app.store().incident(other).await? {
                        Some(other) if viewer.view(&other) >= IncidentView::Participant => {
                            other.readable_id.to_string()
                        }
                        _ => "another incident".to_owned(),
                    };
                    return Err(AppError::Conflict(format!(
                        "alert {id} is already linked to {named}; an alert belongs to one incident (merge the incidents instead)"
                    )));
                }
                _ => alerts.push(alert),
            }
        }
        Ok(alerts)
    }

    /// Adds `alerts` (checked by [`Incidents::linkable_alerts`]) to
    /// `incident` and to `write`: their ids, their observables, the alert
    /// links, a timeline entry per alert and an audit entry per alert.
    /// Alerts already linked to it are skipped. Returns how many were
    /// linked and how many observables were new.
    pub(crate) fn link_into(
        &self,
        caller: &Caller,
        incident: &mut Incident,
        alerts: &[Alert],
        write: &mut IncidentWrite,
    ) -> AppResult<(usize, usize)> {
        let mut linked = 0;
        let mut observables = 0;
        for alert in alerts {
            if incident.linked_alerts.contains(&alert.id.as_uuid()) {
                continue;
            }
            incident.linked_alerts.push(alert.id.as_uuid());
            observables += incident.add_observables(alert.observables());
            linked += 1;
            write.alert_links.push(AlertLink {
                alert: alert.id,
                from: alert.incident,
                to: incident.id,
            });
            write.timeline.push(self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::AlertLinked {
                        alert: alert.id.as_uuid(),
                    },
                    Audience::Custody,
                    format!(
                        "alert {} linked: {} ({} events)",
                        alert.id,
                        incident::one_line("rule", &alert.rule.title)
                            .unwrap_or_else(|_| alert.rule.id.clone()),
                        alert.count
                    ),
                ),
            ));
            write.audit.push(AuditNote {
                tenant: alert.tenant,
                action: AuditAction::ALERT_INCIDENT_LINK,
                record_kind: "alert",
                record_id: alert.id.to_string(),
                before: Some(serde_json::json!({ "id": alert.id, "incident": alert.incident })),
                after: AuditAfter::Value(
                    serde_json::json!({ "id": alert.id, "incident": incident.id }),
                ),
            });
        }
        check_list("observables", incident.observables.len())?;
        check_list("linked_alerts", incident.linked_alerts.len())?;
        if observables > 0 {
            write.timeline.push(self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::ObservablesAdded { count: observables },
                    Audience::Everyone,
                    format!("{observables} new observables from linked alerts"),
                ),
            ));
        }
        Ok((linked, observables))
    }

    /// Links alerts to an incident (its custody; each alert one the caller
    /// may see and triage, of the incident's owner or a tenant below it):
    /// the incident gains their observables, each alert shows the incident,
    /// and the timeline and the audit log record it.
    pub async fn link_alerts(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        ids: &[AlertId],
    ) -> AppResult<IncidentSight> {
        let viewer = Viewer::of(self.app, caller).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let before = self.load(reference).await?;
            viewer
                .authorise(Action::WorkIncident, &before)
                .map_err(|e| match e {
                    AppError::NotFound { .. } => AppError::not_found("incident", reference),
                    other => other,
                })?;
            if !before.status.is_open() {
                return Err(AppError::Conflict(format!(
                    "incident {} is closed; reopen it before linking alerts",
                    before.readable_id
                )));
            }
            let alerts = self.linkable_alerts(&viewer, &before, ids).await?;
            let mut after = before.clone();
            let mut write = IncidentWrite::default();
            let (linked, _) = self.link_into(caller, &mut after, &alerts, &mut write)?;
            if linked == 0 {
                return Err(AppError::Conflict(format!(
                    "every alert named is already linked to {}",
                    before.readable_id
                )));
            }
            after.updated_at = self.now();
            write.audit.insert(
                0,
                AuditNote {
                    tenant: after.owner,
                    action: AuditAction::INCIDENT_UPDATE,
                    record_kind: "incident",
                    record_id: after.id.to_string(),
                    before: Some(json(&before)?),
                    after: AuditAfter::Record,
                },
            );
            write.incidents = vec![after];
            match self
                .app
                .store()
                .write_incidents(write, &self.audit_context(caller))
                .await
            {
                Ok(mut written) => {
                    self.app.alerts().written();
                    let saved = written
                        .incidents
                        .pop()
                        .ok_or_else(|| AppError::Internal("storage wrote no incident".into()))?;
                    tracing::info!(incident = %saved.readable_id, alerts = linked, "alerts linked to incident");
                    return self.seen(&viewer, saved).await;
                }
                Err(StoreError::Stale { .. }) if attempt < RETRIES => continue,
                Err(StoreError::Stale { kind: "alert", id }) => {
                    return Err(AppError::Conflict(format!(
                        "alert {id} was linked to another incident meanwhile"
                    )));
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Incidents that share observables with this one, most shared first,
    /// at most `limit` (1 to [`MAX_SIMILAR`]): only incidents whose details
    /// the caller sees, compared on the observables it sees on both. A
    /// caller who does not see this incident's details gets none.
    pub async fn similar(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        limit: u32,
    ) -> AppResult<Vec<SimilarIncident>> {
        let limit = limit.clamp(1, MAX_SIMILAR);
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer
            .authorise(Action::ViewIncident, &incident)
            .map_err(|e| match e {
                AppError::NotFound { .. } => AppError::not_found("incident", reference),
                other => other,
            })?;
        let id = incident.id;
        let Some(sight) = viewer.sight(self.app, incident).await? else {
            return Err(AppError::not_found("incident", reference));
        };
        let Some(details) = sight.details() else {
            return Ok(Vec::new());
        };
        let mine: HashSet<&Observable> = details.observables.iter().collect();
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = self
            .app
            .store()
            .similar_incidents(id, caller.tenant_id(), SIMILAR_CANDIDATES)
            .await?;
        let mut similar = Vec::new();
        for candidate in candidates {
            if viewer.view(&candidate.incident) < IncidentView::Participant {
                continue;
            }
            let (tlp, owner, other) = (
                candidate.incident.tlp,
                candidate.incident.owner,
                candidate.incident.id,
            );
            let Some(seen) = viewer.sight(self.app, candidate.incident).await? else {
                continue;
            };
            let Some(theirs) = seen.details() else {
                continue;
            };
            let shared: Vec<Observable> = theirs
                .observables
                .iter()
                .filter(|o| mine.contains(o))
                .cloned()
                .collect();
            if shared.is_empty() {
                continue;
            }
            similar.push((
                SimilarIncident {
                    incident: seen,
                    shared,
                },
                owner,
                tlp,
                other,
            ));
        }
        similar.sort_by(|(a, ..), (b, ..)| {
            b.shared
                .len()
                .cmp(&a.shared.len())
                .then_with(|| b.incident.id().cmp(&a.incident.id()))
        });
        similar.truncate(limit as usize);
        let mut answer = Vec::with_capacity(similar.len());
        for (suggestion, owner, tlp, other) in similar {
            // A suggestion shows the incident's details: read like a fetch.
            self.app
                .audit()
                .record_read(
                    caller,
                    crate::ProtectedRead {
                        record_kind: "incident".into(),
                        record_id: other.to_string(),
                        tenant: owner,
                        tlp,
                    },
                )
                .await?;
            answer.push(suggestion);
        }
        Ok(answer)
    }
}
