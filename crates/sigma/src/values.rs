//! How event values are compared: their text, numbers, addresses and dates.
//!
//! Sigma compares values as strings: a rule's `4688` matches an event's
//! number 4688 and its string `"4688"` alike. Numbers are written in decimal,
//! booleans as `true`/`false`, and null as the empty string (so `''` matches
//! an empty or null value, while `null` in a rule means absent or null).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::event::Value;
use crate::rule::TimePart;

/// The text a string matcher sees for a value; non-strings are written into `buf`.
pub fn value_text<'a>(v: &Value<'a>, buf: &'a mut String) -> &'a str {
    match v {
        Value::Str(s) => s,
        Value::Null => "",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Int(i) => {
            buf.clear();
            let _ = write!(buf, "{i}");
            buf
        }
        Value::UInt(u) => {
            buf.clear();
            let _ = write!(buf, "{u}");
            buf
        }
        Value::Float(f) => {
            buf.clear();
            if f.fract() == 0.0 && f.abs() < 1e15 {
                let _ = write!(buf, "{}", *f as i64);
            } else {
                let _ = write!(buf, "{f}");
            }
            buf
        }
    }
}

/// The number a numeric modifier sees: numbers as they are, strings parsed
/// (decimal, float, or `0x` hexadecimal).
pub fn value_number(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => parse_number(s),
        Value::Bool(_) | Value::Null => None,
    }
}

/// Parses decimal, float or `0x` hexadecimal text.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|n| n as f64);
    }
    t.parse::<f64>().ok().filter(|f| !f.is_nan())
}

/// The address a `cidr` matcher sees (strings only; `[v6]` brackets and a
/// `%zone` suffix are tolerated).
pub fn value_ip(v: &Value<'_>) -> Option<IpAddr> {
    let Value::Str(s) = v else {
        return None;
    };
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    let s = s.split_once('%').map_or(s, |(a, _)| a);
    s.parse().ok()
}

/// Extracts a part of a date written as `YYYY-MM-DD[( |T)HH:MM[:SS...]]`.
///
/// The value is read as written, with no time-zone conversion (as the spec says).
pub fn time_part(v: &Value<'_>, part: TimePart) -> Option<f64> {
    let Value::Str(s) = v else {
        return None;
    };
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let time = || -> Option<(u32, u32)> {
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
            return None;
        }
        Some((num(11..13)?, num(14..16)?))
    };
    Some(f64::from(match part {
        TimePart::Year => year,
        TimePart::Month => month,
        TimePart::Day => day,
        TimePart::Hour => time()?.0,
        TimePart::Minute => time()?.1,
        TimePart::Week => iso_week(i64::from(year), month, day),
    }))
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 week number (1-53).
fn iso_week(y: i64, m: u32, d: u32) -> u32 {
    let days = days_from_civil(y, m, d);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let weekday = (days + 3).rem_euclid(7) + 1;
    // The Thursday of this week decides the week's year.
    let thursday = days - weekday + 4;
    let (ty, _, _) = civil_from_days(thursday);
    let jan1 = days_from_civil(ty, 1, 1);
    u32::try_from((thursday - jan1) / 7 + 1).unwrap_or(1)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        let mut b = String::new();
        assert_eq!(value_text(&Value::Int(4688), &mut b), "4688");
        let mut b = String::new();
        assert_eq!(value_text(&Value::Float(3.0), &mut b), "3");
        let mut b = String::new();
        assert_eq!(value_text(&Value::Null, &mut b), "");
    }

    #[test]
    fn iso_weeks() {
        assert_eq!(iso_week(2021, 1, 1), 53);
        assert_eq!(iso_week(2021, 1, 4), 1);
        assert_eq!(iso_week(2025, 11, 27), 48);
        assert_eq!(iso_week(2026, 12, 31), 53);
    }

    #[test]
    fn time_parts() {
        let v = Value::Str("2025-11-27T07:40:10.165324Z");
        assert_eq!(time_part(&v, TimePart::Hour), Some(7.0));
        assert_eq!(time_part(&v, TimePart::Minute), Some(40.0));
        assert_eq!(time_part(&v, TimePart::Month), Some(11.0));
        assert_eq!(time_part(&Value::Str("2025-11-27"), TimePart::Hour), None);
        assert_eq!(time_part(&Value::Str("nope"), TimePart::Year), None);
    }
}
