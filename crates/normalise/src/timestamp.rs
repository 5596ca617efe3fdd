//! Timestamps as telemetry writes them, read into UTC instants.
//!
//! Senders disagree on how to write time: RFC 3339 (`2003-10-11T22:14:15.003Z`),
//! ISO 8601 with a compact offset (Suricata's `2017-01-30T16:12:26.985026+0100`),
//! a space instead of `T` and no zone at all (NXLog's `2020-09-22 04:28:20`),
//! Unix seconds as a float (Zeek), Unix milliseconds (CEF `rt`), and the BSD
//! syslog `Oct 11 22:14:15` that has neither year nor zone. This module reads
//! them all; a time without a zone is read in the offset the caller configured
//! for the sensor ([`crate::SourceHint::utc_offset`]), and a time without a year
//! gets the year that puts it nearest to the moment it was received without
//! putting it more than a day after it ([`YEARLESS_FUTURE_TOLERANCE`]).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A date and time as written, with its zone when the text had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    /// The local date and time.
    pub(crate) local: PrimitiveDateTime,
    /// The offset the text stated, if it stated one.
    pub(crate) offset: Option<UtcOffset>,
}

impl ParsedTime {
    /// The instant, reading a zone-less time in `default_offset`.
    pub(crate) fn resolve(self, default_offset: UtcOffset) -> OffsetDateTime {
        self.local
            .assume_offset(self.offset.unwrap_or(default_offset))
    }
}

/// Reads `YYYY-MM-DD[T| ]hh:mm[:ss[.fraction]][Z|±hh:mm|±hhmm|±hh]`.
///
/// Returns the parsed time and the number of bytes it used, so callers can
/// read a timestamp at the start of a longer text. Only four-digit years are
/// accepted.
pub(crate) fn parse_iso8601_prefix(text: &str) -> Option<(ParsedTime, usize)> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let day = digits(b, 8, 2)?;
    match b.get(10) {
        Some(b'T' | b't' | b' ') => {}
        _ => return None,
    }
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let mut pos = 16;
    let mut second = 0;
    let mut nanos = 0;
    if b.get(pos) == Some(&b':') {
        second = digits(b, pos + 1, 2)?;
        pos += 3;
        if matches!(b.get(pos), Some(b'.' | b',')) {
            let (n, used) = fraction(b, pos + 1)?;
            nanos = n;
            pos += 1 + used;
        }
    }
    let (offset, used) = zone(b, pos)?;
    pos += used;
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    // A leap second (:60) is read as the last nanosecond of :59 rather than
    // rejected: the event still happened.
    let (second, nanos) = if second == 60 {
        (59, 999_999_999)
    } else {
        (second, nanos)
    };
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some((
        ParsedTime {
            local: PrimitiveDateTime::new(date, time),
            offset,
        },
        pos,
    ))
}

/// Reads a whole text as an ISO 8601 timestamp (see [`parse_iso8601_prefix`]).
pub(crate) fn parse_iso8601(text: &str) -> Option<ParsedTime> {
    let text = text.trim();
    match parse_iso8601_prefix(text) {
        Some((parsed, used)) if used == text.len() => Some(parsed),
        _ => None,
    }
}

/// Reads a timestamp in any of the forms JSON telemetry uses: ISO 8601 text,
/// Unix seconds (integer or float, as number or text) or Unix milliseconds
/// (integers above 10^11, which as seconds would be after the year 5000).
pub(crate) fn parse_json_time(
    value: &serde_json::Value,
    default_offset: UtcOffset,
) -> Option<OffsetDateTime> {
    match value {
        serde_json::Value::String(text) => {
            if let Some(parsed) = parse_iso8601(text) {
                return Some(parsed.resolve(default_offset));
            }
            let number: f64 = text.trim().parse().ok()?;
            from_unix_number(number)
        }
        serde_json::Value::Number(number) => from_unix_number(number.as_f64()?),
        _ => None,
    }
}

/// Unix seconds, or milliseconds when the number is too large to be seconds.
pub(crate) fn from_unix_number(number: f64) -> Option<OffsetDateTime> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let seconds = if number >= 1e11 {
        number / 1000.0
    } else {
        number
    };
    from_unix_seconds_f64(seconds)
}

/// Unix seconds with a fraction, to the microsecond (a float holds no more).
pub(crate) fn from_unix_seconds_f64(seconds: f64) -> Option<OffsetDateTime> {
    if !seconds.is_finite() || !(0.0..253_402_300_800.0).contains(&seconds) {
        return None;
    }
    let micros = (seconds * 1_000_000.0).round();
    // In range by the check above, so the cast is exact for whole numbers.
    #[allow(clippy::cast_possible_truncation)]
    let micros = micros as i128;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).ok()
}

/// RFC 3339 in UTC: `2003-10-11T22:14:15.003Z`, with as many fraction digits
/// (0, 3, 6 or 9) as the instant needs.
pub(crate) fn format_rfc3339_utc(at: OffsetDateTime) -> String {
    format_rfc3339(at.to_offset(UtcOffset::UTC))
}

/// RFC 3339 in the date-time's own offset (`Z` for UTC).
pub(crate) fn format_rfc3339(at: OffsetDateTime) -> String {
    let mut out = String::with_capacity(35);
    let year = u32::try_from(at.year().clamp(0, 9999)).unwrap_or(0);
    push_digits(&mut out, year, 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(at.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(at.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(at.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(at.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(at.second()), 2);
    let nanos = at.nanosecond();
    if nanos != 0 {
        out.push('.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(&mut out, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1000) {
            push_digits(&mut out, nanos / 1000, 6);
        } else {
            push_digits(&mut out, nanos, 9);
        }
    }
    let offset = at.offset();
    if offset.is_utc() {
        out.push('Z');
    } else {
        out.push(if offset.is_negative() { '-' } else { '+' });
        push_digits(&mut out, u32::from(offset.whole_hours().unsigned_abs()), 2);
        out.push(':');
        push_digits(
            &mut out,
            u32::from(offset.minutes_past_hour().unsigned_abs()),
            2,
        );
    }
    out
}

/// Appends the last `width` decimal digits of `number`, zero-padded.
fn push_digits(out: &mut String, number: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        // A digit: below 10.
        out.push(char::from(b'0' + (number / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// The English three-letter month abbreviation, case-insensitively.
pub(crate) fn month_from_abbreviation(text: &[u8]) -> Option<Month> {
    if text.len() != 3 {
        return None;
    }
    let lower = [
        text[0].to_ascii_lowercase(),
        text[1].to_ascii_lowercase(),
        text[2].to_ascii_lowercase(),
    ];
    Some(match &lower {
        b"jan" => Month::January,
        b"feb" => Month::February,
        b"mar" => Month::March,
        b"apr" => Month::April,
        b"may" => Month::May,
        b"jun" => Month::June,
        b"jul" => Month::July,
        b"aug" => Month::August,
        b"sep" => Month::September,
        b"oct" => Month::October,
        b"nov" => Month::November,
        b"dec" => Month::December,
        _ => return None,
    })
}

/// How far in the future (after the receive time) a timestamp without a
/// year may be placed: one day. Time zones reach 14 hours ahead of UTC, so a
/// sender writing local time that is read as UTC (no zone in the message and
/// no offset registered for the sensor) is up to 14 hours early, plus its
/// clock's drift; a message cannot honestly be further ahead than that.
pub(crate) const YEARLESS_FUTURE_TOLERANCE: time::Duration = time::Duration::days(1);

/// The year that puts `month day time` (in `offset`) nearest to `received_at`
/// without placing it more than [`YEARLESS_FUTURE_TOLERANCE`] after it.
///
/// BSD syslog timestamps carry no year. Taking the receive year would date a
/// message sent at 23:59:59 on 31 December and received a second later, in the
/// new year, almost a year in the future; taking the nearest year would date
/// `Mar 15` received in December (a relay's backlog, a replayed file) next
/// March. Messages describe the past, so the candidate years are the ones
/// that put it at most a day ahead, and of these the nearest wins (going back
/// as far as the last 29 February for `Feb 29`).
pub(crate) fn nearest_year(
    month: Month,
    day: u8,
    time: Time,
    offset: UtcOffset,
    received_at: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let year = received_at.to_offset(offset).year();
    (year - 8..=year + 1)
        .filter_map(|year| Date::from_calendar_date(year, month, day).ok())
        .map(|date| PrimitiveDateTime::new(date, time).assume_offset(offset))
        .filter(|candidate| *candidate - received_at <= YEARLESS_FUTURE_TOLERANCE)
        .min_by_key(|candidate| (*candidate - received_at).abs())
}

/// `n` ASCII digits at `start`, as a number.
fn digits(b: &[u8], start: usize, n: usize) -> Option<u32> {
    let slice = b.get(start..start + n)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// A fraction of a second (1 or more digits; digits past the ninth are read
/// and dropped), as nanoseconds, and the number of digits.
fn fraction(b: &[u8], start: usize) -> Option<(u32, usize)> {
    let mut nanos = 0u32;
    let mut used = 0;
    while let Some(&c) = b.get(start + used) {
        if !c.is_ascii_digit() {
            break;
        }
        if used < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        used += 1;
    }
    if used == 0 {
        return None;
    }
    for _ in used..9 {
        nanos *= 10;
    }
    Some((nanos, used))
}

/// An optional zone designator at `pos`: `Z`, `±hh:mm`, `±hhmm` or `±hh`.
/// `None` inside the outer `Some` means no zone was written.
fn zone(b: &[u8], pos: usize) -> Option<(Option<UtcOffset>, usize)> {
    match b.get(pos) {
        Some(b'Z' | b'z') => Some((Some(UtcOffset::UTC), 1)),
        Some(&sign @ (b'+' | b'-')) => {
            let hours = digits(b, pos + 1, 2)?;
            let (minutes, used) = if b.get(pos + 3) == Some(&b':') {
                (digits(b, pos + 4, 2)?, 6)
            } else if let Some(minutes) = digits(b, pos + 3, 2) {
                (minutes, 5)
            } else {
                (0, 3)
            };
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            let seconds = if sign == b'-' { -seconds } else { seconds };
            Some((Some(UtcOffset::from_whole_seconds(seconds).ok()?), used))
        }
        _ => Some((None, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn utc(text: &str) -> OffsetDateTime {
        parse_iso8601(text).unwrap().resolve(UtcOffset::UTC)
    }

    #[test]
    fn reads_the_iso_forms_telemetry_uses() {
        assert_eq!(
            utc("2003-10-11T22:14:15.003Z"),
            datetime!(2003-10-11 22:14:15.003 UTC)
        );
        assert_eq!(
            utc("2003-08-24T05:14:15.000003-07:00"),
            datetime!(2003-08-24 12:14:15.000003 UTC)
        );
        assert_eq!(
            utc("2017-01-30T16:12:26.985026+0100"),
            datetime!(2017-01-30 15:12:26.985026 UTC)
        );
        assert_eq!(
            utc("2020-09-22 04:28:20"),
            datetime!(2020-09-22 04:28:20 UTC)
        );
        assert_eq!(utc("2018-11-28T00:00"), datetime!(2018-11-28 00:00 UTC));
        assert!(parse_iso8601("2003-13-11T22:14:15Z").is_none());
        assert!(parse_iso8601("2003-10-11T22:14:15Zjunk").is_none());
        assert!(parse_iso8601("").is_none());
    }

    #[test]
    fn a_zoneless_time_is_read_in_the_configured_offset() {
        let parsed = parse_iso8601("2020-09-22 04:28:20").unwrap();
        let offset = UtcOffset::from_hms(-4, 0, 0).unwrap();
        assert_eq!(parsed.resolve(offset), datetime!(2020-09-22 08:28:20 UTC));
    }

    #[test]
    fn unix_numbers_are_seconds_or_milliseconds() {
        assert_eq!(
            from_unix_number(1_588_205_199.824_37).unwrap(),
            datetime!(2020-04-30 00:06:39.82437 UTC)
        );
        assert_eq!(
            from_unix_number(1_388_577_900_000.0).unwrap(),
            datetime!(2014-01-01 12:05:00 UTC)
        );
        assert!(from_unix_number(f64::NAN).is_none());
        assert!(from_unix_number(-1.0).is_none());
        assert!(from_unix_number(1e300).is_none());
    }

    #[test]
    fn formats_with_the_fraction_the_instant_needs() {
        assert_eq!(
            format_rfc3339_utc(datetime!(2003-10-11 22:14:15.003 UTC)),
            "2003-10-11T22:14:15.003Z"
        );
        assert_eq!(
            format_rfc3339(datetime!(2003-08-24 05:14:15.000003 -7)),
            "2003-08-24T05:14:15.000003-07:00"
        );
        assert_eq!(
            format_rfc3339_utc(datetime!(2003-08-24 05:14:15 UTC)),
            "2003-08-24T05:14:15Z"
        );
    }

    #[test]
    fn formatting_matches_the_format_macro() {
        let reference = |at: OffsetDateTime| {
            let mut out = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                at.year().clamp(0, 9999),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            );
            let nanos = at.nanosecond();
            if nanos != 0 {
                if nanos.is_multiple_of(1_000_000) {
                    out += &format!(".{:03}", nanos / 1_000_000);
                } else if nanos.is_multiple_of(1000) {
                    out += &format!(".{:06}", nanos / 1000);
                } else {
                    out += &format!(".{nanos:09}");
                }
            }
            let offset = at.offset();
            if offset.is_utc() {
                out.push('Z');
            } else {
                out += &format!(
                    "{}{:02}:{:02}",
                    if offset.is_negative() { '-' } else { '+' },
                    offset.whole_hours().unsigned_abs(),
                    offset.minutes_past_hour().unsigned_abs()
                );
            }
            out
        };
        for at in [
            datetime!(0001-01-01 00:00 UTC),
            datetime!(2024-12-31 23:59:59.999999999 +14),
            datetime!(2024-02-29 01:02:03.1 -09:30),
            datetime!(9999-12-31 23:59:59.000001 UTC),
            datetime!(1970-01-01 00:00:00.000000123 -00:01),
        ] {
            assert_eq!(format_rfc3339(at), reference(at), "{at}");
        }
    }

    #[test]
    fn the_missing_year_is_the_nearest_one() {
        let time = Time::from_hms(23, 59, 59).unwrap();
        let received = datetime!(2024-01-01 00:00:01 UTC);
        let at = nearest_year(Month::December, 31, time, UtcOffset::UTC, received).unwrap();
        assert_eq!(at, datetime!(2023-12-31 23:59:59 UTC));
        let received = datetime!(2024-06-01 00:00:00 UTC);
        let at = nearest_year(Month::February, 29, time, UtcOffset::UTC, received).unwrap();
        assert_eq!(at.year(), 2024);
    }

    // Regression (issue 8, item 9): `Mar 15` received in December was dated
    // next March, nine months in the future.
    #[test]
    fn the_missing_year_never_puts_a_message_in_the_future() {
        let time = Time::from_hms(10, 22, 14).unwrap();
        let december = datetime!(2024-12-20 08:00:00 UTC);
        let at = nearest_year(Month::March, 15, time, UtcOffset::UTC, december).unwrap();
        assert_eq!(at, datetime!(2024-03-15 10:22:14 UTC));
        // Every date of the year is placed at most a day ahead, and within a year back.
        for received in [
            datetime!(2024-01-01 00:00:00 UTC),
            datetime!(2024-07-01 12:00:00 UTC),
            december,
        ] {
            for ordinal in 1..=365 {
                let date = Date::from_ordinal_date(2023, ordinal).unwrap();
                let at =
                    nearest_year(date.month(), date.day(), time, UtcOffset::UTC, received).unwrap();
                let ahead = at - received;
                assert!(
                    ahead <= YEARLESS_FUTURE_TOLERANCE,
                    "{date} at {received}: {at}"
                );
                assert!(
                    ahead > -time::Duration::days(366),
                    "{date} at {received}: {at}"
                );
            }
        }
        // Up to a day ahead is a clock or zone off, not last year's message.
        let at = nearest_year(
            Month::December,
            21,
            Time::from_hms(2, 0, 0).unwrap(),
            UtcOffset::UTC,
            december,
        )
        .unwrap();
        assert_eq!(at, datetime!(2024-12-21 02:00:00 UTC));
        let at = nearest_year(Month::December, 22, time, UtcOffset::UTC, december).unwrap();
        assert_eq!(at.year(), 2023, "two days ahead is last year's");
        // A sender 14 hours ahead of UTC, read without its zone, stays in this year.
        let at = nearest_year(
            Month::January,
            1,
            Time::from_hms(9, 0, 0).unwrap(),
            UtcOffset::UTC,
            datetime!(2024-12-31 20:00:00 UTC),
        )
        .unwrap();
        assert_eq!(at, datetime!(2025-01-01 09:00:00 UTC));
        // 29 February received in a later year is the last one.
        let at = nearest_year(
            Month::February,
            29,
            time,
            UtcOffset::UTC,
            datetime!(2027-01-10 00:00:00 UTC),
        )
        .unwrap();
        assert_eq!(at.year(), 2024);
    }
}
