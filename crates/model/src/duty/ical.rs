//! iCalendar (RFC 5545): the one reader and writer of `.ics` text.
//!
//! Reads only what duty needs: `VEVENT`s with `UID`, `SUMMARY`, `DTSTART`
//! and `DTEND` (dates, UTC date-times, and local date-times read in a zone
//! the caller names). Everything else is skipped. Errors name the line.

use std::fmt::Write as _;

use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};

use super::roster::Shift;
use crate::Timestamp;

/// The most events one file may hold (a national calendar has dozens).
pub const MAX_EVENTS: usize = 20_000;

/// Why a text is not iCalendar we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("iCalendar line {line}: {problem}")]
pub struct IcalError {
    /// The (unfolded) line's number in the file, from 1.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// A start or end as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IcalTime {
    /// A whole day (`VALUE=DATE`).
    Date(Date),
    /// An instant (`...Z`).
    Utc(Timestamp),
    /// A local time (no `Z`), with the `TZID` ignored: the caller's zone applies.
    Floating(DateTime),
}

impl IcalTime {
    /// The calendar date.
    pub fn date(&self) -> Date {
        match self {
            Self::Date(d) => *d,
            Self::Floating(dt) => dt.date(),
            Self::Utc(t) => jiff::Timestamp::from_microsecond(t.unix_micros())
                .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
                .unwrap_or_default(),
        }
    }
}

/// One `VEVENT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcalEvent {
    /// `UID` (made from the line when absent).
    pub uid: String,
    /// `SUMMARY`, unescaped.
    pub summary: String,
    /// `DTSTART`.
    pub start: IcalTime,
    /// `DTEND`, if written.
    pub end: Option<IcalTime>,
    /// The line where the event began.
    pub line: usize,
}

/// An event being read: where it began, its UID, summary, start and end.
type OpenEvent = (
    usize,
    Option<String>,
    String,
    Option<IcalTime>,
    Option<IcalTime>,
);

/// Unfolds continuation lines, keeping each logical line's first line number.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let (Some(rest), Some(last)) = (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            last.1.push_str(rest);
            continue;
        }
        if !raw.is_empty() {
            lines.push((i + 1, raw.to_owned()));
        }
    }
    lines
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn parse_time(value: &str, params: &str, line: usize) -> Result<IcalTime, IcalError> {
    let bad = |why: &str| IcalError {
        line,
        problem: format!("{why}: {value:?}"),
    };
    let value = value.trim();
    let is_date = params.to_ascii_uppercase().contains("VALUE=DATE") && !value.contains('T');
    if is_date || (value.len() == 8 && !value.contains('T')) {
        let date = Date::strptime("%Y%m%d", value).map_err(|_| bad("not a date YYYYMMDD"))?;
        return Ok(IcalTime::Date(date));
    }
    let (local, utc) = match value.strip_suffix('Z') {
        Some(v) => (v, true),
        None => (value, false),
    };
    let dt = DateTime::strptime("%Y%m%dT%H%M%S", local)
        .map_err(|_| bad("not a date-time YYYYMMDDTHHMMSS[Z]"))?;
    if utc {
        let at = dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad("out of range"))?
            .timestamp();
        Ok(IcalTime::Utc(Timestamp::from_unix_micros(
            at.as_microsecond(),
        )))
    } else {
        Ok(IcalTime::Floating(dt))
    }
}

/// Reads every `VEVENT` of an iCalendar text.
pub fn parse_ical(text: &str) -> Result<Vec<IcalEvent>, IcalError> {
    let lines = unfold(text);
    match lines.first() {
        Some((_, l)) if l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR") => {}
        Some((n, _)) => {
            return Err(IcalError {
                line: *n,
                problem: "an iCalendar file starts with BEGIN:VCALENDAR".to_owned(),
            });
        }
        None => {
            return Err(IcalError {
                line: 1,
                problem: "empty file".to_owned(),
            });
        }
    }
    let mut events = Vec::new();
    let mut current: Option<OpenEvent> = None;
    let mut depth = 0usize;
    for (n, line) in &lines {
        let n = *n;
        let Some((head, value)) = line.split_once(':') else {
            return Err(IcalError {
                line: n,
                problem: format!("no ':' in {line:?}"),
            });
        };
        let (name, params) = head.split_once(';').unwrap_or((head, ""));
        let name = name.to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" if value.eq_ignore_ascii_case("VEVENT") => {
                if current.is_some() {
                    return Err(IcalError {
                        line: n,
                        problem: "VEVENT inside VEVENT".to_owned(),
                    });
                }
                current = Some((n, None, String::new(), None, None));
            }
            "BEGIN" => depth += 1,
            "END" if value.eq_ignore_ascii_case("VEVENT") => {
                let Some((begun, uid, summary, start, end)) = current.take() else {
                    return Err(IcalError {
                        line: n,
                        problem: "END:VEVENT without BEGIN:VEVENT".to_owned(),
                    });
                };
                let Some(start) = start else {
                    return Err(IcalError {
                        line: begun,
                        problem: "event without DTSTART".to_owned(),
                    });
                };
                if events.len() >= MAX_EVENTS {
                    return Err(IcalError {
                        line: begun,
                        problem: format!("more than {MAX_EVENTS} events"),
                    });
                }
                events.push(IcalEvent {
                    uid: uid.unwrap_or_else(|| format!("line-{begun}")),
                    summary,
                    start,
                    end,
                    line: begun,
                });
            }
            "END" => depth = depth.saturating_sub(1),
            _ => {
                if let Some((_, uid, summary, start, end)) = current.as_mut() {
                    match name.as_str() {
                        "UID" => *uid = Some(value.trim().to_owned()),
                        "SUMMARY" => *summary = unescape(value),
                        "DTSTART" => *start = Some(parse_time(value, params, n)?),
                        "DTEND" => *end = Some(parse_time(value, params, n)?),
                        _ => {}
                    }
                }
            }
        }
    }
    if let Some((begun, ..)) = current {
        return Err(IcalError {
            line: begun,
            problem: "VEVENT not closed with END:VEVENT".to_owned(),
        });
    }
    let _ = depth;
    Ok(events)
}

fn utc_stamp(t: Timestamp) -> String {
    jiff::Timestamp::from_microsecond(t.unix_micros())
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// Folds a content line at 75 octets (never inside a character).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A person's shifts as an iCalendar feed (UTC times, one event per shift,
/// UIDs stable for the same shift so calendar clients update in place).
pub fn shift_feed(
    calendar_name: &str,
    schedule_id: &str,
    shifts: &[Shift],
    stamp: Timestamp,
) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Nigehban//Duty roster//EN",
        "CALSCALE:GREGORIAN",
    ] {
        fold(line, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", escape(calendar_name)), &mut out);
    for shift in shifts {
        fold("BEGIN:VEVENT", &mut out);
        fold(
            &format!(
                "UID:{}-{}-{}@nigehban",
                schedule_id,
                shift.start.unix_micros(),
                shift.user
            ),
            &mut out,
        );
        fold(&format!("DTSTAMP:{}", utc_stamp(stamp)), &mut out);
        fold(&format!("DTSTART:{}", utc_stamp(shift.start)), &mut out);
        fold(&format!("DTEND:{}", utc_stamp(shift.end)), &mut out);
        let mut summary = format!("On call: {} ({})", calendar_name, shift.layer);
        let _ = write!(summary, "");
        fold(&format!("SUMMARY:{}", escape(&summary)), &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}
