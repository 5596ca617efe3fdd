//! Regulatory reporting profiles and the clocks they start on an incident.
//!
//! A profile is configuration, not code: the stages a regulator requires
//! (e.g. an early warning within 24 hours of awareness, a notification within
//! 72 hours, a final report within a month), each with the fields it must
//! carry and who must act. When a profile applies to an incident, its stages
//! are copied into the incident as a [`RegulatoryClock`] counting from the
//! moment the organisation became aware: later changes to the configuration
//! do not move the deadlines of incidents already running.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Actor, Sector, Timestamp};

/// A profile or stage that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRegulatoryProfile(pub String);

/// Who must submit a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageActor {
    /// The organisation that reported the incident (the regulated entity); the owner when there is none.
    ReportingOrganisation,
    /// The CERT that owns the incident.
    Owner,
}

/// One stage of a profile: what must be submitted, how soon after awareness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineStage {
    /// Its id within the profile, e.g. `early_warning`.
    pub id: String,
    /// Its name, e.g. `Early warning`.
    pub name: String,
    /// How long after awareness it is due.
    pub within_seconds: u64,
    /// How long before the deadline a reminder is raised.
    pub warn_before_seconds: u64,
    /// The fields a submission must carry (non-empty).
    pub required_fields: Vec<String>,
    /// Who must submit it.
    pub actor: StageActor,
}

/// A regulator's (or sector's) reporting obligations, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegulatoryProfile {
    /// Its id, e.g. `nis2`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The authority the reports go to.
    pub regulator: String,
    /// The sectors it applies to.
    pub sectors: Vec<Sector>,
    /// Whether it applies to incidents of sectors no other profile names.
    pub default: bool,
    /// Its stages, in deadline order.
    pub stages: Vec<DeadlineStage>,
}

/// Whether `id` is a word of lower-case letters, digits, `_` and `-`.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl RegulatoryProfile {
    /// Checks the profile: ids are words, stages are unique, in deadline
    /// order, and each reminder comes before its deadline.
    pub fn check(&self) -> Result<(), InvalidRegulatoryProfile> {
        let refuse = |text: String| Err(InvalidRegulatoryProfile(text));
        if !is_id(&self.id) {
            return refuse(format!(
                "profile id {:?} must be lower-case letters, digits, _ and - (at most 64)",
                self.id
            ));
        }
        if self.stages.is_empty() {
            return refuse(format!("profile {} has no stages", self.id));
        }
        let mut previous = 0;
        for (index, stage) in self.stages.iter().enumerate() {
            if !is_id(&stage.id) {
                return refuse(format!(
                    "profile {}: stage id {:?} must be lower-case letters, digits, _ and -",
                    self.id, stage.id
                ));
            }
            if self.stages[..index].iter().any(|s| s.id == stage.id) {
                return refuse(format!(
                    "profile {}: stage {} appears twice",
                    self.id, stage.id
                ));
            }
            if stage.within_seconds == 0 || stage.within_seconds < previous {
                return refuse(format!(
                    "profile {}: stage {} must be due after the stage before it",
                    self.id, stage.id
                ));
            }
            if stage.warn_before_seconds >= stage.within_seconds {
                return refuse(format!(
                    "profile {}: stage {} warns {} s before a deadline only {} s after awareness",
                    self.id, stage.id, stage.warn_before_seconds, stage.within_seconds
                ));
            }
            previous = stage.within_seconds;
        }
        Ok(())
    }
}

/// Where a stage stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// Not submitted; the reminder time has not come.
    Pending,
    /// Not submitted; the deadline is near.
    DueSoon,
    /// Not submitted; the deadline passed.
    Lapsed,
    /// Submitted in time.
    Met,
    /// Submitted after the deadline.
    MetLate,
}

/// One stage's clock on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageClock {
    /// The stage's id.
    pub stage: String,
    /// The stage's name.
    pub name: String,
    /// Who must submit it.
    pub actor: StageActor,
    /// The fields a submission must carry.
    pub required_fields: Vec<String>,
    /// The deadline.
    pub due_at: Timestamp,
    /// When the reminder is raised.
    pub warn_at: Timestamp,
    /// When it was submitted.
    pub submitted_at: Option<Timestamp>,
    /// Who submitted it.
    pub submitted_by: Option<Actor>,
    /// What was submitted.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl StageClock {
    /// Where the stage stands at `now`.
    pub fn state(&self, now: Timestamp) -> StageState {
        match self.submitted_at {
            Some(at) if at <= self.due_at => StageState::Met,
            Some(_) => StageState::MetLate,
            None if now > self.due_at => StageState::Lapsed,
            None if now >= self.warn_at => StageState::DueSoon,
            None => StageState::Pending,
        }
    }

    /// The required fields missing (absent, null, or blank text) from `fields`.
    pub fn missing_fields(
        &self,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        self.required_fields
            .iter()
            .filter(|name| match fields.get(name.as_str()) {
                None | Some(serde_json::Value::Null) => true,
                Some(serde_json::Value::String(text)) => text.trim().is_empty(),
                Some(serde_json::Value::Array(items)) => items.is_empty(),
                Some(_) => false,
            })
            .cloned()
            .collect()
    }
}

/// An incident's regulatory clocks: a profile's stages counting from awareness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegulatoryClock {
    /// The profile's id.
    pub profile: String,
    /// The profile's name.
    pub profile_name: String,
    /// The authority the reports go to.
    pub regulator: String,
    /// The stages, in deadline order.
    pub stages: Vec<StageClock>,
}

impl RegulatoryClock {
    /// Starts `profile`'s clocks at `aware_at`.
    pub fn start(profile: &RegulatoryProfile, aware_at: Timestamp) -> Self {
        let stages = profile
            .stages
            .iter()
            .map(|stage| {
                let due_at = aware_at.plus(Duration::from_secs(stage.within_seconds));
                StageClock {
                    stage: stage.id.clone(),
                    name: stage.name.clone(),
                    actor: stage.actor,
                    required_fields: stage.required_fields.clone(),
                    due_at,
                    warn_at: aware_at.plus(Duration::from_secs(
                        stage.within_seconds - stage.warn_before_seconds.min(stage.within_seconds),
                    )),
                    submitted_at: None,
                    submitted_by: None,
                    fields: serde_json::Map::new(),
                }
            })
            .collect();
        Self {
            profile: profile.id.clone(),
            profile_name: profile.name.clone(),
            regulator: profile.regulator.clone(),
            stages,
        }
    }

    /// The stage with this id.
    pub fn stage_mut(&mut self, id: &str) -> Option<&mut StageClock> {
        self.stages.iter_mut().find(|stage| stage.stage == id)
    }
}

/// Reads a duration written as a number and a unit: `90s`, `30m`, `24h`,
/// `7d`, `2w` (seconds, minutes, hours, days, weeks); several may follow each
/// other (`1d12h`).
pub fn parse_duration_words(text: &str) -> Result<Duration, InvalidRegulatoryProfile> {
    let refuse = || {
        InvalidRegulatoryProfile(format!(
            "{text:?} is not a duration like 24h, 72h, 30d or 1d12h (units s, m, h, d, w)"
        ))
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(refuse());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(refuse()),
        };
        let value: u64 = number.parse().map_err(|_| refuse())?;
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(refuse)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(refuse());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> RegulatoryProfile {
        RegulatoryProfile {
            id: "nis2".into(),
            name: "NIS2".into(),
            regulator: "CSIRT".into(),
            sectors: vec![Sector::Energy],
            default: true,
            stages: vec![
                DeadlineStage {
                    id: "early_warning".into(),
                    name: "Early warning".into(),
                    within_seconds: 24 * 3600,
                    warn_before_seconds: 4 * 3600,
                    required_fields: vec!["suspected_malicious".into()],
                    actor: StageActor::ReportingOrganisation,
                },
                DeadlineStage {
                    id: "notification".into(),
                    name: "Notification".into(),
                    within_seconds: 72 * 3600,
                    warn_before_seconds: 12 * 3600,
                    required_fields: vec!["impact".into()],
                    actor: StageActor::ReportingOrganisation,
                },
            ],
        }
    }

    #[test]
    fn durations_read_in_words() {
        assert_eq!(
            parse_duration_words("24h").unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_duration_words("1d12h").unwrap(),
            Duration::from_secs(129_600)
        );
        assert_eq!(
            parse_duration_words("2w").unwrap(),
            Duration::from_secs(1_209_600)
        );
        for bad in ["", "24", "h", "1y", "-1h", "99999999999999999999w"] {
            assert!(parse_duration_words(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn profiles_are_checked() {
        assert!(profile().check().is_ok());
        let mut late_warning = profile();
        late_warning.stages[0].warn_before_seconds = 24 * 3600;
        assert!(late_warning.check().is_err());
        let mut out_of_order = profile();
        out_of_order.stages.swap(0, 1);
        assert!(
            out_of_order
                .check()
                .unwrap_err()
                .0
                .contains("after the stage before")
        );
        let mut twice = profile();
        twice.stages[1].id = "early_warning".into();
        assert!(twice.check().is_err());
    }

    #[test]
    fn stage_clocks_move_from_pending_to_lapsed_or_met() {
        let aware = Timestamp::from_unix_micros(1_700_000_000_000_000);
        let hours = |h: u64| aware.plus(Duration::from_secs(h * 3600));
        let mut clock = RegulatoryClock::start(&profile(), aware);
        let stage = &clock.stages[0];
        assert_eq!(stage.due_at, hours(24));
        assert_eq!(stage.state(hours(1)), StageState::Pending);
        assert_eq!(stage.state(hours(20)), StageState::DueSoon);
        assert_eq!(stage.state(hours(24)), StageState::DueSoon);
        assert_eq!(stage.state(hours(25)), StageState::Lapsed);
        let stage = clock.stage_mut("early_warning").unwrap();
        stage.submitted_at = Some(hours(23));
        assert_eq!(stage.state(hours(30)), StageState::Met);
        stage.submitted_at = Some(hours(26));
        assert_eq!(stage.state(hours(30)), StageState::MetLate);
        let mut fields = serde_json::Map::new();
        assert_eq!(
            stage.missing_fields(&fields),
            vec!["suspected_malicious".to_owned()]
        );
        fields.insert("suspected_malicious".into(), serde_json::Value::Bool(true));
        assert!(stage.missing_fields(&fields).is_empty());
    }
}
