//! Regulatory reporting deadlines: the configured profiles, the clocks they
//! start on incidents, stage submissions, and the sweep that raises a
//! notification when a stage is about to lapse or lapsed.
//!
//! The notifications are records ([`IncidentNotification`]) addressed to the
//! incident's owner, the owner's parent and, for stages the reporting
//! organisation must submit, that organisation; each is raised once per
//! incident, stage, kind and tenant, whichever node sweeps first.
//! [`raise`] is the one place they are raised, and it raises an alert in
//! the incident owner's queue for each newly noted stage too (source
//! `deadline`, rule [`DEADLINE_MISSED_RULE`] or [`DEADLINE_DUE_SOON_RULE`],
//! severity from the incident's), which the owner and the CERTs above it
//! see with their other alerts.

use std::collections::BTreeSet;
use std::time::Duration;

use nigehban_model::{
    Actor, AlertRule, AlertSignal, AlertSource, Audience, AuditAction, IncidentNotification,
    IncidentNotificationId, IncidentSeverity, NotificationKind, RegulatoryClock, RegulatoryProfile,
    Sector, Severity, StageState, TenantId, TimelineEntry, TimelineEntryId, TimelineKind,
    Timestamp,
    incident::{DeadlineStage, StageActor, parse_duration_words},
};
use nigehban_store::{IncidentScope, IncidentWrite, Page, PageRequest};
use serde::Deserialize;

use super::{
    Change, IncidentRef, IncidentSight, Incidents, Viewer, authorise_tree, every, invalid,
};
use crate::policy::{self, Action, IncidentStance};
use crate::{App, AppError, AppResult, Caller};

/// The profiles Nigehban ships with (`crates/app/data/regulatory_profiles.toml`).
pub const DEFAULT_REGULATORY_PROFILES: &str = include_str!("../../data/regulatory_profiles.toml");

/// The platform rule of the alert a lapsed reporting stage raises.
pub const DEADLINE_MISSED_RULE: &str = "nigehban:deadline-missed";

/// The platform rule of the alert a reporting stage about to lapse raises.
pub const DEADLINE_DUE_SOON_RULE: &str = "nigehban:deadline-due-soon";

/// Largest submission of a stage, in bytes of JSON.
const SUBMISSION_MAX_BYTES: usize = 64 * 1024;

/// The configured regulatory profiles: at most one per sector, at most one default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegulatoryProfiles {
    profiles: Vec<RegulatoryProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    profile: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    name: String,
    regulator: String,
    #[serde(default)]
    sectors: Vec<String>,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    stage: Vec<RawStage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: String,
    name: String,
    within: String,
    warn_before: Option<String>,
    #[serde(default)]
    required_fields: Vec<String>,
    actor: Option<String>,
}

/// Reads regulatory profiles from TOML (see `DEFAULT_REGULATORY_PROFILES`
/// for the format); errors name `origin` and what is wrong where.
pub fn parse_regulatory_profiles(text: &str, origin: &str) -> Result<RegulatoryProfiles, String> {
    let file: ProfileFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    let mut profiles = Vec::new();
    for raw in file.profile {
        let at = |what: String| format!("{origin}: profile {:?}: {what}", raw.id);
        let sectors = raw
            .sectors
            .iter()
            .map(|word| word.parse::<Sector>().map_err(|e| at(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut stages = Vec::new();
        for stage in &raw.stage {
            let within = parse_duration_words(&stage.within)
                .map_err(|e| at(format!("stage {:?} within: {e}", stage.id)))?;
            let warn_before = match &stage.warn_before {
                Some(text) => parse_duration_words(text)
                    .map_err(|e| at(format!("stage {:?} warn_before: {e}", stage.id)))?,
                None => within / 4,
            };
            let actor = match stage.actor.as_deref() {
                None | Some("reporting_organisation") => StageActor::ReportingOrganisation,
                Some("owner") => StageActor::Owner,
                Some(other) => {
                    return Err(at(format!(
                        "stage {:?} actor {other:?}: expected reporting_organisation or owner",
                        stage.id
                    )));
                }
            };
            stages.push(DeadlineStage {
                id: stage.id.clone(),
                name: stage.name.clone(),
                within_seconds: within.as_secs(),
                warn_before_seconds: warn_before.as_secs(),
                required_fields: stage.required_fields.clone(),
                actor,
            });
        }
        profiles.push(RegulatoryProfile {
            id: raw.id.clone(),
            name: raw.name,
            regulator: raw.regulator,
            sectors,
            default: raw.default,
            stages,
        });
    }
    RegulatoryProfiles::new(profiles).map_err(|e| format!("{origin}: {e}"))
}

impl RegulatoryProfiles {
    /// Checks and keeps `profiles`: valid each, unique ids, each sector in at
    /// most one profile, at most one default.
    pub fn new(profiles: Vec<RegulatoryProfile>) -> Result<Self, String> {
        let mut ids = BTreeSet::new();
        let mut sectors = BTreeSet::new();
        for profile in &profiles {
            profile.check().map_err(|e| e.to_string())?;
            if !ids.insert(profile.id.as_str()) {
                return Err(format!("profile {} appears twice", profile.id));
            }
            for sector in &profile.sectors {
                if !sectors.insert(sector.as_str()) {
                    return Err(format!("sector {sector} is in more than one profile"));
                }
            }
        }
        if profiles.iter().filter(|p| p.default).count() > 1 {
            return Err("more than one profile is marked default".into());
        }
        Ok(Self { profiles })
    }

    /// The profiles Nigehban ships with.
    pub fn builtin() -> Self {
        // The file is ours and tested; were it unreadable, no deadlines rather than no platform.
        parse_regulatory_profiles(DEFAULT_REGULATORY_PROFILES, "built-in profiles").unwrap_or(
            Self {
                profiles: Vec::new(),
            },
        )
    }

    /// No profiles: no incident gets regulatory clocks.
    pub fn none() -> Self {
        Self {
            profiles: Vec::new(),
        }
    }

    /// Every profile.
    pub fn profiles(&self) -> &[RegulatoryProfile] {
        &self.profiles
    }

    /// The profile with this id.
    pub fn by_id(&self, id: &str) -> Option<&RegulatoryProfile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// The profile for incidents from `sector`: the one listing it, else the
    /// default; none for the national CERT's own (no sector).
    pub fn for_sector(&self, sector: Option<Sector>) -> Option<&RegulatoryProfile> {
        let sector = sector?;
        self.profiles
            .iter()
            .find(|p| p.sectors.contains(&sector))
            .or_else(|| self.profiles.iter().find(|p| p.default))
    }

    /// The clocks for an incident: of the profile named (refused when
    /// unknown), else of the one for `sector`; counting from `aware_at`.
    pub(crate) fn clock_for(
        &self,
        named: Option<&str>,
        sector: Option<Sector>,
        aware_at: Timestamp,
    ) -> AppResult<Option<RegulatoryClock>> {
        let profile = match named {
            Some(id) => Some(self.by_id(id).ok_or_else(|| {
                AppError::Invalid(format!(
                    "regulatory_profile: unknown profile {id:?}; configured: {}",
                    self.profiles
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?),
            None => self.for_sector(sector),
        };
        Ok(profile.map(|p| RegulatoryClock::start(p, aware_at)))
    }
}

impl Incidents<'_> {
    /// The configured regulatory profiles.
    pub fn profiles(&self) -> &RegulatoryProfiles {
        &self.app.settings().incidents.regulatory_profiles
    }

    /// Submits a regulatory stage with the fields it requires: the
    /// incident's custody, or — for stages the reporting organisation must
    /// submit — that organisation's reporters and analysts (whatever the TLP:
    /// it is their own obligation).
    pub async fn submit_stage(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        stage: &str,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<IncidentSight> {
        let size = serde_json::to_vec(&fields)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > SUBMISSION_MAX_BYTES {
            return Err(AppError::Invalid(format!(
                "fields: at most {SUBMISSION_MAX_BYTES} bytes of JSON"
            )));
        }
        let now = self.now();
        let (saved, viewer) = self
            .change(caller, reference, None, |viewer, mut incident| {
                let fields = fields.clone();
                async move {
                    let custody = viewer.authorise(Action::WorkIncident, &incident).is_ok();
                    let stage_actor = incident
                        .regulatory
                        .as_ref()
                        .and_then(|clock| clock.stages.iter().find(|s| s.stage == stage))
                        .map(|s| s.actor);
                    let reporter = match viewer.stance(&incident) {
                        IncidentStance::Participant(relation) => {
                            stage_actor
                                .is_none_or(|actor| actor == StageActor::ReportingOrganisation)
                                && incident
                                    .reporting_tenants
                                    .iter()
                                    .any(|t| viewer.reaches(*t))
                                && [Action::ReportIncident, Action::WorkIncident]
                                    .into_iter()
                                    .any(|action| {
                                        policy::decide(viewer.caller.role(), action, relation)
                                            == policy::Decision::Allow
                                    })
                        }
                        _ => false,
                    };
                    if !custody && !reporter {
                        viewer.authorise(Action::WorkIncident, &incident)?;
                    }
                    let readable = incident.readable_id.clone();
                    let clock = incident.regulatory.as_mut().ok_or_else(|| {
                        AppError::Invalid(format!("incident {readable} has no regulatory clocks"))
                    })?;
                    submit(clock, stage, fields, now, viewer.caller.actor())?;
                    Ok((incident, stage_change(viewer, stage)))
                }
            })
            .await?;
        self.seen(&viewer, saved).await
    }

    /// The notifications addressed to tenant `under` (default the caller's)
    /// and the tenants below it, newest first.
    pub async fn notifications(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        page: &PageRequest,
    ) -> AppResult<Page<IncidentNotification>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let under = under.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ViewIncident, under, "tenant")?;
        Ok(self
            .app
            .store()
            .list_incident_notifications(under, page)
            .await?)
    }

    /// Checks every open incident's regulatory clocks at the app clock's
    /// time and raises a notification for each stage about to lapse or
    /// lapsed that was not submitted (a system call: the platform acts).
    /// Returns the notifications raised now (none twice).
    pub async fn check_deadlines(&self) -> AppResult<Vec<IncidentNotification>> {
        let now = self.now();
        let mut due = Vec::new();
        let mut page = PageRequest::first(500);
        loop {
            let listed = self
                .app
                .store()
                .list_incidents(IncidentScope::Open, &page)
                .await?;
            for incident in &listed.items {
                let Some(clock) = &incident.regulatory else {
                    continue;
                };
                for stage in &clock.stages {
                    let kind = match stage.state(now) {
                        StageState::DueSoon => NotificationKind::DeadlineDueSoon,
                        StageState::Lapsed => NotificationKind::DeadlineLapsed,
                        _ => continue,
                    };
                    let mut recipients = vec![incident.owner];
                    if let Some(parent) = self
                        .app
                        .store()
                        .tenant(incident.owner)
                        .await?
                        .and_then(|t| t.parent)
                    {
                        recipients.push(parent);
                    }
                    if stage.actor == StageActor::ReportingOrganisation {
                        recipients.extend(incident.reporting_tenants.iter().copied());
                    }
                    recipients.sort();
                    recipients.dedup();
                    let message = match kind {
                        NotificationKind::DeadlineDueSoon => format!(
                            "{}: {} ({}) is due by {}",
                            incident.readable_id,
                            stage.name,
                            clock.regulator,
                            stage.due_at.to_rfc3339()
                        ),
                        NotificationKind::DeadlineLapsed => format!(
                            "{}: {} ({}) lapsed at {} without being submitted",
                            incident.readable_id,
                            stage.name,
                            clock.regulator,
                            stage.due_at.to_rfc3339()
                        ),
                    };
                    for tenant in recipients {
                        due.push(IncidentNotification {
                            id: IncidentNotificationId::new(),
                            instance: self.app.instance(),
                            tenant,
                            incident: incident.id,
                            readable_id: incident.readable_id.clone(),
                            kind,
                            stage: stage.stage.clone(),
                            due_at: stage.due_at,
                            raised_at: now,
                            message: message.clone(),
                        });
                    }
                }
            }
            match listed.next {
                Some(cursor) => page = PageRequest::after(cursor, 500),
                None => break,
            }
        }
        raise(self.app, due).await
    }

    /// Checks deadlines every `interval` (run by `nigehban serve`); errors
    /// are logged and the next check goes on.
    pub async fn watch_deadlines(&self, interval: Duration) {
        every(interval, || async {
            if let Err(error) = self.check_deadlines().await {
                tracing::error!(%error, "checking regulatory deadlines failed");
            }
        })
        .await;
    }
}

fn stage_change(viewer: Viewer, stage: &str) -> Change<Viewer> {
    Change::new(AuditAction::INCIDENT_UPDATE, viewer).entry(
        TimelineKind::DeadlineSubmitted {
            stage: stage.to_owned(),
        },
        Audience::Everyone,
        format!("{stage} submitted"),
    )
}

fn submit(
    clock: &mut RegulatoryClock,
    stage: &str,
    fields: serde_json::Map<String, serde_json::Value>,
    now: Timestamp,
    actor: Actor,
) -> AppResult<()> {
    let names: Vec<String> = clock.stages.iter().map(|s| s.stage.clone()).collect();
    let clock_stage = clock.stage_mut(stage).ok_or_else(|| {
        AppError::Invalid(format!(
            "unknown stage {stage:?}; this incident's stages: {}",
            names.join(", ")
        ))
    })?;
    submit_one(clock_stage, fields, now, actor)
}

fn submit_one(
    stage: &mut nigehban_model::incident::StageClock,
    fields: serde_json::Map<String, serde_json::Value>,
    now: Timestamp,
    actor: Actor,
) -> AppResult<()> {
    if let Some(at) = stage.submitted_at {
        return Err(AppError::Conflict(format!(
            "stage {} was already submitted at {}",
            stage.stage,
            at.to_rfc3339()
        )));
    }
    let missing = stage.missing_fields(&fields);
    if !missing.is_empty() {
        return Err(invalid(format!(
            "fields: {} requires {}; missing or empty: {}",
            stage.stage,
            stage.required_fields.join(", "),
            missing.join(", ")
        )));
    }
    stage.submitted_at = Some(now);
    stage.submitted_by = Some(actor);
    stage.fields = fields;
    Ok(())
}

/// Raises deadline notifications: stores them (each once), notes each
/// newly raised one on its incident's timeline and raises its alert. The
/// one place deadline notices are raised.
pub(crate) async fn raise(
    app: &App,
    notifications: Vec<IncidentNotification>,
) -> AppResult<Vec<IncidentNotification>> {
    if notifications.is_empty() {
        return Ok(Vec::new());
    }
    let raised = app
        .store()
        .insert_incident_notifications(notifications)
        .await?;
    let mut noted = BTreeSet::new();
    let mut timeline = Vec::new();
    for notification in &raised {
        tracing::warn!(incident = %notification.readable_id, stage = %notification.stage, kind = notification.kind.as_str(), tenant = %notification.tenant, "regulatory deadline notice");
        if noted.insert((
            notification.incident,
            notification.stage.clone(),
            notification.kind.as_str(),
        )) {
            timeline.push(TimelineEntry {
                id: TimelineEntryId::new(),
                incident: notification.incident,
                at: notification.raised_at,
                actor: Actor::SYSTEM,
                audience: Audience::Everyone,
                kind: TimelineKind::DeadlineNotice {
                    stage: notification.stage.clone(),
                    notice: notification.kind,
                },
                message: notification.message.clone(),
            });
        }
    }
    raise_alerts(app, &raised).await?;
    if !timeline.is_empty() {
        let context = nigehban_store::AuditContext {
            actor: Actor::SYSTEM,
            at: app.clock().now(),
            remote_addr: None,
        };
        app.store()
            .write_incidents(
                IncidentWrite {
                    timeline,
                    ..IncidentWrite::default()
                },
                &context,
            )
            .await?;
    }
    Ok(raised)
}

/// Raises one alert per incident, stage and notice among `raised`, in the
/// queue of the incident's owner (whose parents see it too), through the
/// alert service like any detection. The event id names the incident, stage
/// and notice, so a sweep that runs again is a duplicate, not a new alert.
async fn raise_alerts(app: &App, raised: &[IncidentNotification]) -> AppResult<()> {
    let mut signals = Vec::new();
    let mut seen = BTreeSet::new();
    for notification in raised {
        if !seen.insert((
            notification.incident,
            notification.stage.clone(),
            notification.kind.as_str(),
        )) {
            continue;
        }
        let Some(incident) = app.store().incident(notification.incident).await? else {
            continue;
        };
        let (rule_id, title) = match notification.kind {
            NotificationKind::DeadlineLapsed => {
                (DEADLINE_MISSED_RULE, "Regulatory reporting deadline missed")
            }
            NotificationKind::DeadlineDueSoon => (
                DEADLINE_DUE_SOON_RULE,
                "Regulatory reporting deadline about to lapse",
            ),
        };
        let level = match incident.severity {
            IncidentSeverity::Low => Severity::Low,
            IncidentSeverity::Medium => Severity::Medium,
            IncidentSeverity::High => Severity::High,
            IncidentSeverity::Critical => Severity::Critical,
        };
        let mut rule = AlertRule::new(rule_id, title, level);
        rule.author = Some("Nigehban".to_owned());
        let mut signal = AlertSignal::new(
            incident.owner,
            rule,
            format!(
                "{}/{}/{}",
                incident.id,
                notification.stage,
                notification.kind.as_str()
            ),
            notification.raised_at,
        );
        signal.source = AlertSource::Deadline;
        // One alert per incident and stage, never folded with another incident's.
        signal.fold_key = Some(format!("{}/{}", incident.id, notification.stage));
        for (field, value) in [
            ("incident.id", incident.id.to_string()),
            ("incident.readable_id", incident.readable_id.to_string()),
            ("deadline.stage", notification.stage.clone()),
            ("deadline.due_at", notification.due_at.to_rfc3339()),
            ("deadline.notice", notification.message.clone()),
        ] {
            signal
                .matched_fields
                .insert(field.to_owned(), serde_json::Value::String(value));
        }
        signals.push(signal);
    }
    if signals.is_empty() {
        return Ok(());
    }
    let outcome = app.alerts().raise(signals).await?;
    if let Some(first) = outcome.rejected.first() {
        tracing::error!(reason = %first.reason, "a regulatory deadline alert was refused");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profiles_read() {
        let profiles = parse_regulatory_profiles(DEFAULT_REGULATORY_PROFILES, "built-in").unwrap();
        assert_eq!(profiles, RegulatoryProfiles::builtin());
        let banking = profiles.for_sector(Some(Sector::Banking)).unwrap();
        assert_eq!(banking.id, "banking");
        assert_eq!(banking.stages[0].within_seconds, 6 * 3600);
        let telecom = profiles.for_sector(Some(Sector::Telecom)).unwrap();
        assert_eq!(telecom.id, "nis2");
        assert_eq!(
            telecom
                .stages
                .iter()
                .map(|s| s.within_seconds)
                .collect::<Vec<_>>(),
            vec![24 * 3600, 72 * 3600, 30 * 86_400]
        );
        assert!(
            profiles.for_sector(None).is_none(),
            "the national CERT's own incidents"
        );
    }

    #[test]
    fn bad_profile_files_say_what_and_where() {
        let error =
            parse_regulatory_profiles("[[profile]]\nid = \"x\"\n", "profiles.toml").unwrap_err();
        assert!(error.starts_with("profiles.toml:"), "{error}");
        let bad_duration = "[[profile]]\nid = \"x\"\nname = \"X\"\nregulator = \"R\"\n[[profile.stage]]\nid = \"a\"\nname = \"A\"\nwithin = \"a day\"\n";
        let error = parse_regulatory_profiles(bad_duration, "profiles.toml").unwrap_err();
        assert!(
            error.contains("profile \"x\"") && error.contains("within"),
            "{error}"
        );
        let twice = "[[profile]]\nid = \"x\"\nname = \"X\"\nregulator = \"R\"\nsectors = [\"banking\"]\n[[profile.stage]]\nid = \"a\"\nname = \"A\"\nwithin = \"1d\"\n[[profile]]\nid = \"y\"\nname = \"Y\"\nregulator = \"R\"\nsectors = [\"banking\"]\n[[profile.stage]]\nid = \"a\"\nname = \"A\"\nwithin = \"1d\"\n";
        assert!(
            parse_regulatory_profiles(twice, "p")
                .unwrap_err()
                .contains("more than one profile")
        );
        let unknown = "[[profile]]\nid = \"x\"\nname = \"X\"\nregulator = \"R\"\nsectors = [\"fishing\"]\n[[profile.stage]]\nid = \"a\"\nname = \"A\"\nwithin = \"1d\"\n";
        assert!(
            parse_regulatory_profiles(unknown, "p")
                .unwrap_err()
                .contains("fishing")
        );
    }
}
