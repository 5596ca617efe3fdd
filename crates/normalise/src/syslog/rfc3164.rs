//! The BSD layout (RFC 3164) and the variants real senders write.

use time::{Month, OffsetDateTime, Time, UtcOffset};

use super::{SyslogMessage, SyslogParser, text_of};
use crate::timestamp;

/// Parses from `pos` (after the PRI, if any) to the end. Never fails: text
/// that has no recognisable header is all message, as RFC 3164 section 4.3.2
/// says a relay must treat it.
pub(super) fn parse(parser: &SyslogParser, input: &[u8], pos: usize, message: &mut SyslogMessage) {
    let text = text_of(&input[pos..], "message", &mut message.diagnostics);
    let text = text.trim_start_matches(' ');
    let mut body = text;
    let header = read_bsd_timestamp(text, parser).or_else(|| read_iso_timestamp(text, parser));
    match header {
        Some(header) => {
            message.timestamp = header.at;
            message.timezone = header.zone.map(str::to_string);
            if header.at.is_none() {
                message.diagnostics.push(format!(
                    "TIMESTAMP {:?} names no valid date: the receive time is used",
                    &text[..header.len]
                ));
            }
            let rest = text[header.len..].trim_start_matches(' ');
            let word_end = rest.find(' ').unwrap_or(rest.len());
            let word = &rest[..word_end];
            if word.is_empty() || is_cef_start(rest) || read_tag(rest).is_some() {
                // The sender left the hostname out: the first word is the tag.
                body = rest;
            } else {
                message.hostname = Some(word.to_string());
                body = rest[word_end..]
                    .strip_prefix(' ')
                    .unwrap_or(&rest[word_end..]);
            }
        }
        None => {
            if message.priority.is_some() {
                message.diagnostics.push(
                    "no TIMESTAMP or HOSTNAME: the whole text is the message (RFC 3164 section 4.3.2)"
                        .to_string(),
                );
            }
        }
    }
    match (is_cef_start(body), read_tag(body)) {
        (false, Some(tag)) => {
            message.appname = Some(tag.app.to_string());
            message.procid = tag.pid.map(str::to_string);
            message.message = body[tag.content_start..].to_string();
        }
        _ => message.message = body.to_string(),
    }
}

/// Whether `text` starts with a CEF header, which looks like a `CEF:` tag.
fn is_cef_start(text: &str) -> bool {
    let b = text.as_bytes();
    b.starts_with(b"CEF:") && b.get(4).is_some_and(u8::is_ascii_digit)
}

/// A timestamp at the start of the text.
struct Header<'a> {
    /// The instant, if the written date exists (`Feb 30` does not).
    at: Option<OffsetDateTime>,
    /// A zone abbreviation written after the time.
    zone: Option<&'a str>,
    /// Bytes the timestamp used.
    len: usize,
}

/// `Mmm dd hh:mm:ss[.frac][ yyyy| ZONE yyyy]` or `Mmm dd yyyy hh:mm:ss`.
fn read_bsd_timestamp<'a>(text: &'a str, parser: &SyslogParser) -> Option<Header<'a>> {
    let b = text.as_bytes();
    let month = timestamp::month_from_abbreviation(b.get(..3)?)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    // Day: "dd", " d" (RFC 3164's space padding) or "d".
    let mut pos = 4;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let day_start = pos;
    while b.get(pos).is_some_and(u8::is_ascii_digit) && pos - day_start < 2 {
        pos += 1;
    }
    let day: u8 = text.get(day_start..pos)?.parse().ok()?;
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    // Cisco writes the year before the time.
    let mut year = None;
    if let Some(y) = four_digit_year(b, pos)
        && b.get(pos + 4) == Some(&b' ')
    {
        year = Some(y);
        pos += 5;
    }
    let (time, used) = read_clock(b, pos)?;
    pos += used;
    if b.get(pos) == Some(&b':') {
        pos += 1;
    }
    let mut zone = None;
    if year.is_none() && b.get(pos) == Some(&b' ') {
        if let Some(y) = four_digit_year(b, pos + 1)
            && matches!(b.get(pos + 5), None | Some(b' '))
        {
            year = Some(y);
            pos += 5;
        } else {
            // `Aug 24 05:34:00 CST 1987`: a zone abbreviation and a year.
            let zone_start = pos + 1;
            let zone_len = b[zone_start..]
                .iter()
                .take(6)
                .take_while(|c| c.is_ascii_uppercase())
                .count();
            if (2..=5).contains(&zone_len)
                && b.get(zone_start + zone_len) == Some(&b' ')
                && let Some(y) = four_digit_year(b, zone_start + zone_len + 1)
                && matches!(b.get(zone_start + zone_len + 5), None | Some(b' '))
            {
                zone = Some(&text[zone_start..zone_start + zone_len]);
                year = Some(y);
                pos = zone_start + zone_len + 5;
            }
        }
    }
    let offset = match zone {
        Some("UTC" | "GMT" | "UT" | "Z") => UtcOffset::UTC,
        _ => parser.utc_offset,
    };
    let at = match year {
        Some(year) => time::Date::from_calendar_date(year, month, day)
            .ok()
            .map(|date| time::PrimitiveDateTime::new(date, time).assume_offset(offset)),
        None => nearest_year(month, day, time, offset, parser.received_at),
    };
    Some(Header { at, zone, len: pos })
}

fn nearest_year(
    month: Month,
    day: u8,
    time: Time,
    offset: UtcOffset,
    received_at: OffsetDateTime,
) -> Option<OffsetDateTime> {
    timestamp::nearest_year(month, day, time, offset, received_at)
}

/// `hh:mm:ss` with an optional fraction of a second.
fn read_clock(b: &[u8], pos: usize) -> Option<(Time, usize)> {
    let two = |at: usize| -> Option<u8> {
        let d = b.get(at..at + 2)?;
        (d[0].is_ascii_digit() && d[1].is_ascii_digit()).then(|| (d[0] - b'0') * 10 + (d[1] - b'0'))
    };
    let hour = two(pos)?;
    if b.get(pos + 2) != Some(&b':') {
        return None;
    }
    let minute = two(pos + 3)?;
    if b.get(pos + 5) != Some(&b':') {
        return None;
    }
    let second = two(pos + 6)?.min(59);
    let mut used = 8;
    let mut nanos = 0u32;
    if b.get(pos + used) == Some(&b'.') {
        let digits = b[pos + used + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            for (i, c) in b[pos + used + 1..pos + used + 1 + digits]
                .iter()
                .enumerate()
            {
                if i < 9 {
                    nanos = nanos * 10 + u32::from(c - b'0');
                }
            }
            for _ in digits..9 {
                nanos *= 10;
            }
            used += 1 + digits;
        }
    }
    // A time ends at a space or the end of the text (or a `:` in the Cisco
    // `... 10:52:12: %SYS` form).
    if !matches!(b.get(pos + used), None | Some(b' ' | b':')) {
        return None;
    }
    Some((Time::from_hms_nano(hour, minute, second, nanos).ok()?, used))
}

fn four_digit_year(b: &[u8], pos: usize) -> Option<i32> {
    let d = b.get(pos..pos + 4)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(d.iter().fold(0i32, |acc, c| acc * 10 + i32::from(c - b'0')))
}

/// An RFC 3339 timestamp where the BSD one belongs (`<13>2003-08-24T05:14:15Z host ...`).
fn read_iso_timestamp<'a>(text: &'a str, parser: &SyslogParser) -> Option<Header<'a>> {
    let (parsed, used) = timestamp::parse_iso8601_prefix(text)?;
    if !matches!(text.as_bytes().get(used), None | Some(b' ')) {
        return None;
    }
    Some(Header {
        at: Some(parsed.resolve(parser.utc_offset)),
        zone: None,
        len: used,
    })
}

/// An RFC 3164 TAG at the start of the content.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Tag<'a> {
    /// The program name (`sshd`, `postfix/smtpd`).
    pub(super) app: &'a str,
    /// The process id in brackets, if any.
    pub(super) pid: Option<&'a str>,
    /// Where the content starts (after `: `).
    pub(super) content_start: usize,
}

/// Reads `app:`, `app[pid]:` or `app[pid]` followed by a space or the end.
///
/// A word followed by neither `:` nor `[pid]` is not a tag: RFC 3164 allows
/// any non-alphanumeric character to end a TAG, but taking `Use` as the tag of
/// `Use the BFG!` would be wrong far more often than right.
pub(super) fn read_tag(text: &str) -> Option<Tag<'_>> {
    let b = text.as_bytes();
    let app_len = b
        .iter()
        .take(49)
        .take_while(|c| !matches!(c, b' ' | b'[' | b':' | b'\t'))
        .count();
    if app_len == 0 || app_len > 48 {
        return None;
    }
    let mut pos = app_len;
    let mut pid = None;
    if b.get(pos) == Some(&b'[') {
        let close = b[pos + 1..].iter().take(129).position(|c| *c == b']')?;
        let inner = &text[pos + 1..pos + 1 + close];
        if inner.contains(' ') {
            return None;
        }
        pid = Some(inner);
        pos += close + 2;
    }
    let content_start = match b.get(pos) {
        Some(b':') => match b.get(pos + 1) {
            None => pos + 1,
            Some(b' ') => pos + 2,
            Some(_) => return None,
        },
        None if pid.is_some() => pos,
        Some(b' ') if pid.is_some() => pos + 1,
        _ => return None,
    };
    Some(Tag {
        app: &text[..app_len],
        pid,
        content_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parse(text: &str) -> SyslogMessage {
        SyslogParser::new(datetime!(2024-03-15 12:00 UTC))
            .parse(text.as_bytes())
            .unwrap()
    }

    #[test]
    fn tag_forms() {
        let tag = read_tag("sshd[1234]: Accepted").unwrap();
        assert_eq!(
            (tag.app, tag.pid, tag.content_start),
            ("sshd", Some("1234"), 12)
        );
        let tag = read_tag("postfix/smtpd[9]: x").unwrap();
        assert_eq!(tag.app, "postfix/smtpd");
        let tag = read_tag("kernel: boot").unwrap();
        assert_eq!((tag.app, tag.pid), ("kernel", None));
        let tag = read_tag("app[7] text").unwrap();
        assert_eq!((tag.app, tag.pid, tag.content_start), ("app", Some("7"), 7));
        assert!(read_tag("Use the BFG!").is_none());
        assert!(read_tag("http://example.org/").is_none());
        assert!(read_tag("%% It's time").is_none());
        assert!(read_tag("").is_none());
    }

    #[test]
    fn the_usual_linux_line() {
        let message = parse("<38>Mar  3 09:15:01 web1 sshd[4242]: Accepted publickey for root");
        assert_eq!(message.priority, Some(38));
        assert_eq!(message.timestamp, Some(datetime!(2024-03-03 09:15:01 UTC)));
        assert_eq!(message.hostname.as_deref(), Some("web1"));
        assert_eq!(message.appname.as_deref(), Some("sshd"));
        assert_eq!(message.procid.as_deref(), Some("4242"));
        assert_eq!(message.message, "Accepted publickey for root");
        assert!(message.diagnostics.is_empty());
    }

    #[test]
    fn a_missing_hostname_is_noticed() {
        let message = parse("<13>Oct 11 22:14:15 su: 'su root' failed");
        assert_eq!(message.hostname, None);
        assert_eq!(message.appname.as_deref(), Some("su"));
        assert_eq!(message.message, "'su root' failed");
    }

    #[test]
    fn iso_and_cisco_timestamps() {
        let message = parse("<13>2003-08-24T05:14:15Z localhost snarf?");
        assert_eq!(message.timestamp, Some(datetime!(2003-08-24 05:14:15 UTC)));
        assert_eq!(message.hostname.as_deref(), Some("localhost"));
        assert_eq!(message.message, "snarf?");
        let message = parse("<113>Nov 14 2022 09:13:13 vFTD %FTD-1-430003: EventPriority: Low");
        assert_eq!(message.timestamp, Some(datetime!(2022-11-14 09:13:13 UTC)));
        assert_eq!(message.hostname.as_deref(), Some("vFTD"));
        assert_eq!(message.appname.as_deref(), Some("%FTD-1-430003"));
        let message = parse("<13>Oct 11 22:14:15.123 2023 host app: x");
        assert_eq!(
            message.timestamp,
            Some(datetime!(2023-10-11 22:14:15.123 UTC))
        );
    }

    #[test]
    fn a_configured_offset_applies_to_zoneless_times() {
        let mut parser = SyslogParser::new(datetime!(2024-03-15 12:00 UTC));
        parser.utc_offset = UtcOffset::from_hms(5, 0, 0).unwrap();
        let message = parser.parse(b"<13>Mar 15 16:00:00 host app: x").unwrap();
        assert_eq!(message.timestamp, Some(datetime!(2024-03-15 11:00 UTC)));
    }

    #[test]
    fn cef_after_a_bsd_header_is_not_a_tag() {
        let message = parse("<134>Sep 29 08:26:10 host CEF:0|a|b|c|d|e|f|x=y");
        assert_eq!(message.hostname.as_deref(), Some("host"));
        assert_eq!(message.appname, None);
        assert_eq!(message.message, "CEF:0|a|b|c|d|e|f|x=y");
        let message = parse("<134>Sep 29 08:26:10 CEF:0|a|b|c|d|e|f|x=y");
        assert_eq!(message.hostname, None);
        assert_eq!(message.message, "CEF:0|a|b|c|d|e|f|x=y");
    }

    #[test]
    fn an_impossible_date_keeps_the_message() {
        let message = parse("<13>Feb 30 10:00:00 host app: x");
        assert_eq!(message.timestamp, None);
        assert_eq!(message.hostname.as_deref(), Some("host"));
        assert_eq!(message.diagnostics.len(), 1);
    }
}
