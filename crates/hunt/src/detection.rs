//! A detection: one rule matching one event, with everything a responder
//! needs to find the event again and everything the rule's licence requires
//! to travel with it.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::event::WindowsEvent;

/// What a detection says about the rule that fired.
///
/// Copied once per rule when the hunt starts, so that writing a detection
/// never reaches into the rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    /// The rule's id (a UUID for SigmaHQ rules).
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's level (`informational`, `low`, `medium`, `high`, `critical`).
    pub level: String,
    /// The rule's author, which the Detection Rule License requires to stay with every alert.
    pub author: String,
}

/// One rule matching one event.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// When the event happened, in UTC, RFC 3339 (as found in the event when it cannot be read as a time).
    pub timestamp: Option<String>,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's level.
    pub level: String,
    /// The rule's author.
    pub rule_author: String,
    /// The file the event was read from.
    pub file: String,
    /// Where in the file the event is, in words (`record 42`, `line 7`).
    pub position: String,
    /// The event's record number within its log (Windows EventRecordID), when it has one.
    pub record_id: Option<u64>,
    /// The computer that logged the event.
    pub computer: Option<String>,
    /// The Windows channel (or log) the event came from.
    pub channel: Option<String>,
    /// The Windows EventID.
    pub event_id: Option<u64>,
    /// The whole event (shared by the detections of one event).
    pub event: Arc<Json>,
}

/// What every detection of one event says about the event, worked out once
/// however many rules match it.
#[derive(Debug, Clone)]
pub struct EventSummary {
    timestamp: Option<String>,
    record_id: Option<u64>,
    computer: Option<String>,
    channel: Option<String>,
    event_id: Option<u64>,
}

impl EventSummary {
    /// Reads the summary fields of `event`.
    pub fn of(event: &WindowsEvent<'_>) -> Self {
        let owned = |name: &str| event.str_field(name).map(str::to_owned);
        EventSummary {
            timestamp: event.timestamp().map(utc_rfc3339),
            record_id: event.record_id(),
            computer: owned("Computer")
                .or_else(|| owned("host.name"))
                .or_else(|| owned("Hostname")),
            channel: owned("Channel"),
            event_id: event.event_id(),
        }
    }
}

impl Detection {
    /// The detection of `rule` on an event (its `summary` and the whole
    /// `event`, shared between the detections of one event), read from
    /// `file` at `position`.
    pub fn new(
        rule: &RuleSummary,
        summary: &EventSummary,
        event: Arc<Json>,
        file: &Path,
        position: String,
    ) -> Self {
        Detection {
            timestamp: summary.timestamp.clone(),
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            level: rule.level.clone(),
            rule_author: rule.author.clone(),
            file: file.display().to_string(),
            position,
            record_id: summary.record_id,
            computer: summary.computer.clone(),
            channel: summary.channel.clone(),
            event_id: summary.event_id,
            event,
        }
    }
}

/// Restates a timestamp found in an event in UTC, RFC 3339.
///
/// EVTX times are already UTC (`2019-03-19T23:34:25.123456Z`); other tools
/// write offsets or leave the zone out, which we read as UTC. A time that
/// cannot be read is kept as found rather than dropped.
pub fn utc_rfc3339(found: &str) -> String {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
    if let Ok(time) = DateTime::parse_from_rfc3339(found) {
        return time
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(found, format) {
            return time.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true);
        }
    }
    found.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_restated_in_utc() {
        assert_eq!(
            utc_rfc3339("2019-03-19T23:34:25.123456Z"),
            "2019-03-19T23:34:25.123456Z"
        );
        assert_eq!(
            utc_rfc3339("2019-03-20T01:34:25+02:00"),
            "2019-03-19T23:34:25Z"
        );
        assert_eq!(
            utc_rfc3339("2025-11-27 07:40:10.132"),
            "2025-11-27T07:40:10.132Z"
        );
        assert_eq!(utc_rfc3339("yesterday"), "yesterday");
    }
}
