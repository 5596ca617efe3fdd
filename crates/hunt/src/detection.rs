//! A detection: one rule matching one event, with everything a responder
//! needs to find the event again and everything the rule's licence requires
//! to travel with it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

pub use nigehban_detect::RuleSummary;
use nigehban_detect::SigmaView;

/// One rule matching one event.
///
/// Both halves are shared: a rule's summary by all its detections, an
/// event's by all the rules that matched it, so a detection costs two
/// reference counts, whatever the size of the event.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The rule that matched.
    pub rule: Arc<RuleSummary>,
    /// The event it matched.
    pub event: Arc<DetectedEvent>,
}

/// What every detection of one event says about the event, worked out once
/// however many rules match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedEvent {
    /// When the event happened, in UTC, RFC 3339 (as found in the event when it cannot be read as a time).
    pub timestamp: Option<String>,
    /// The file the event was read from.
    pub file: Arc<str>,
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
    /// The whole event, as JSON text as it was read, on one line.
    pub json: Box<[u8]>,
}

/// What a detection says about its event, borrowed: from a [`DetectedEvent`]
/// ([`DetectedEvent::facts`]) or, while hunting, straight from the event read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFacts<'a> {
    /// When the event happened, in UTC, RFC 3339 (see [`DetectedEvent::timestamp`]).
    pub timestamp: Option<&'a str>,
    /// The file the event was read from.
    pub file: &'a str,
    /// Where in the file the event is, in words.
    pub position: &'a str,
    /// The event's record number within its log.
    pub record_id: Option<u64>,
    /// The computer that logged the event.
    pub computer: Option<&'a str>,
    /// The Windows channel (or log) the event came from.
    pub channel: Option<&'a str>,
    /// The Windows EventID.
    pub event_id: Option<u64>,
    /// The whole event, as JSON text on one line.
    pub json: &'a [u8],
}

/// The facts of `event` that are read from the event itself, not from where
/// it was found: (record id, computer, channel, event id).
fn event_fields<'a>(
    event: &SigmaView<'a>,
) -> (Option<u64>, Option<&'a str>, Option<&'a str>, Option<u64>) {
    let computer = event
        .str_field("Computer")
        .or_else(|| event.str_field("host.name"))
        .or_else(|| event.str_field("Hostname"));
    (
        event.record_id(),
        computer,
        event.str_field("Channel"),
        event.event_id(),
    )
}

impl<'a> EventFacts<'a> {
    /// The facts of `event`, read from `file` at `position`; `timestamp` is
    /// [`event_timestamp`] of the event and `json` its text on one line
    /// ([`one_line`]).
    pub fn of(
        event: &SigmaView<'a>,
        timestamp: Option<&'a str>,
        file: &'a str,
        position: &'a str,
        json: &'a [u8],
    ) -> Self {
        let (record_id, computer, channel, event_id) = event_fields(event);
        EventFacts {
            timestamp,
            file,
            position,
            record_id,
            computer,
            channel,
            event_id,
            json,
        }
    }
}

/// When `event` happened, in UTC, RFC 3339 (see [`utc_rfc3339`]).
pub fn event_timestamp(event: &SigmaView<'_>) -> Option<String> {
    event.timestamp().map(utc_rfc3339)
}

impl DetectedEvent {
    /// The summary of `event`, read from `file` at `position`, whose text
    /// was `json` (whitespace between tokens is dropped if it breaks lines).
    pub fn new(event: &SigmaView<'_>, json: &[u8], file: Arc<str>, position: String) -> Self {
        let (record_id, computer, channel, event_id) = event_fields(event);
        DetectedEvent {
            timestamp: event_timestamp(event),
            file,
            position,
            record_id,
            computer: computer.map(str::to_owned),
            channel: channel.map(str::to_owned),
            event_id,
            json: one_line(json).into_owned().into(),
        }
    }

    /// The event's facts, borrowed.
    pub fn facts(&self) -> EventFacts<'_> {
        EventFacts {
            timestamp: self.timestamp.as_deref(),
            file: &self.file,
            position: &self.position,
            record_id: self.record_id,
            computer: self.computer.as_deref(),
            channel: self.channel.as_deref(),
            event_id: self.event_id,
            json: &self.json,
        }
    }

    /// The event as a `serde_json::Value`.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.json)
    }
}

/// `json` (valid JSON) on one line: without the whitespace around it and,
/// when it spans lines (a pretty-printed document), without the whitespace
/// between its tokens. Strings keep theirs: they cannot hold a raw line break.
pub fn one_line(json: &[u8]) -> Cow<'_, [u8]> {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = json.iter().position(|b| !is_space(b)).unwrap_or(json.len());
    let end = json
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    let json = &json[start..end];
    if memchr::memchr2(b'\n', b'\r', json).is_none() {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !is_space(&byte) {
            out.push(byte);
            in_string = byte == b'"';
        }
    }
    Cow::Owned(out)
}

impl Detection {
    /// The detection of `rule` on `event`.
    pub fn new(rule: Arc<RuleSummary>, event: Arc<DetectedEvent>) -> Self {
        Detection { rule, event }
    }
}

/// The documented keys of a detection, in order (see [`crate::output`]).
impl Serialize for Detection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct};
        let event = &self.event;
        let json = event.to_value().map_err(S::Error::custom)?;
        let mut s = serializer.serialize_struct("Detection", 12)?;
        s.serialize_field("timestamp", &event.timestamp)?;
        s.serialize_field("rule_id", &self.rule.id)?;
        s.serialize_field("rule_title", &self.rule.title)?;
        s.serialize_field("level", &self.rule.level)?;
        s.serialize_field("rule_author", &self.rule.author)?;
        s.serialize_field("file", &*event.file)?;
        s.serialize_field("position", &event.position)?;
        s.serialize_field("record_id", &event.record_id)?;
        s.serialize_field("computer", &event.computer)?;
        s.serialize_field("channel", &event.channel)?;
        s.serialize_field("event_id", &event.event_id)?;
        s.serialize_field("event", &json)?;
        s.end()
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
    fn events_are_kept_on_one_line() {
        assert_eq!(&*one_line(b" {\"a\": 1}\r"), b"{\"a\": 1}");
        assert_eq!(
            &*one_line(b"{\n  \"a b\": \"x \\\" y\",\r\n  \"c\": [1, 2]\n}\n"),
            &b"{\"a b\":\"x \\\" y\",\"c\":[1,2]}"[..]
        );
        assert_eq!(&*one_line(b"  "), b"");
    }

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
