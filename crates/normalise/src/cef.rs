//! ArcSight Common Event Format: `CEF:Version|Device Vendor|Device Product|
//! Device Version|Device Event Class ID|Name|Severity|Extension`.
//!
//! Header fields escape `|` and `\` with a backslash; extension values escape
//! `\`, `=`, and write newlines as `\n` (`\r` for carriage returns). An
//! extension value runs until the space before the next `key=`, so values may
//! hold spaces.
//!
//! A record is parsed whole or rejected with the offset and the field that is
//! wrong: never half-parsed. [`CefMode::Strict`] (the default) follows the
//! specification; [`CefMode::Lenient`] also takes the most common producer
//! mistakes: an unescaped `=` inside a value (URLs with query strings), an
//! unknown escape (kept as written), a header that ends after Severity without
//! the final `|`, and versions other than 0 and 1.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::event::Fields;
use crate::timestamp;

/// How strictly CEF is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CefMode {
    /// The specification: invalid escapes, unescaped `=` in values, a
    /// missing `|` after Severity and versions other than 0 and 1 are errors.
    #[default]
    Strict,
    /// Also accepts what common producers get wrong (see the module docs).
    Lenient,
}

/// The names of the seven header fields, as the specification writes them.
pub const HEADER_FIELDS: [&str; 7] = [
    "Version",
    "Device Vendor",
    "Device Product",
    "Device Version",
    "Device Event Class ID",
    "Name",
    "Severity",
];

/// One parsed CEF record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CefRecord {
    /// The CEF version number (`0` or `1`).
    pub version: u32,
    /// Device Vendor.
    pub device_vendor: String,
    /// Device Product.
    pub device_product: String,
    /// Device Version.
    pub device_version: String,
    /// Device Event Class ID (the signature id).
    pub device_event_class_id: String,
    /// Name (what happened, human-readable).
    pub name: String,
    /// Severity as written: `0`..`10` or `Unknown`, `Low`, `Medium`, `High`, `Very-High`.
    pub severity: String,
    /// Extension key-value pairs in order, values unescaped.
    pub extensions: Vec<(String, String)>,
}

impl CefRecord {
    /// The value of the first extension named `key`.
    pub fn extension(&self, key: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The extensions with custom fields named by their labels: `cs1=x
    /// cs1Label=Reason` becomes `Reason=x` (both pairs replaced by one, at the
    /// place of the value). Labels without a value, and values without a
    /// label, stay as they are.
    pub fn translated_extensions(&self) -> Vec<(String, String)> {
        let label_of = |key: &str| -> Option<&str> {
            let label_key = format!("{key}Label");
            self.extension(&label_key)
        };
        let mut out = Vec::with_capacity(self.extensions.len());
        for (key, value) in &self.extensions {
            if let Some(base) = key.strip_suffix("Label")
                && self.extension(base).is_some()
            {
                continue;
            }
            match label_of(key) {
                Some(label) => out.push((label.to_string(), value.clone())),
                None => out.push((key.clone(), value.clone())),
            }
        }
        out
    }

    /// Severity as a number 0..=10: the number written, or the scale ArcSight
    /// gives the words (Low 3, Medium 6, High 8, Very-High 10).
    pub fn severity_number(&self) -> Option<u8> {
        let text = self.severity.trim();
        if let Ok(number) = text.parse::<u8>() {
            return (number <= 10).then_some(number);
        }
        match text.to_ascii_lowercase().as_str() {
            "low" => Some(3),
            "medium" => Some(6),
            "high" => Some(8),
            "very-high" | "very high" => Some(10),
            _ => None,
        }
    }

    /// The record as CEF text, escaped so that [`parse_cef`] reads it back.
    pub fn to_cef_string(&self) -> String {
        let mut out = format!("CEF:{}", self.version);
        for field in [
            &self.device_vendor,
            &self.device_product,
            &self.device_version,
            &self.device_event_class_id,
            &self.name,
            &self.severity,
        ] {
            out.push('|');
            for c in field.chars() {
                if matches!(c, '|' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        out.push('|');
        for (index, (key, value)) in self.extensions.iter().enumerate() {
            if index > 0 {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '=' => out.push_str("\\="),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        out
    }
}

/// A CEF record that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct CefError {
    /// Byte offset within the text given to [`parse_cef`].
    pub offset: usize,
    /// What is wrong.
    pub kind: CefErrorKind,
}

/// What is wrong with a CEF record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CefErrorKind {
    /// The text does not start with `CEF:`.
    #[error("no CEF header: the record must start with \"CEF:\"")]
    NotCef,
    /// The version is not a number.
    #[error("CEF version {0:?} is not a number")]
    InvalidVersion(String),
    /// A version other than 0 or 1 (strict mode).
    #[error("CEF version {0} is not supported (0 and 1 are)")]
    UnsupportedVersion(u32),
    /// The header ended before this field.
    #[error("header ends before {0}: a CEF header has seven fields separated by '|'")]
    MissingHeaderField(&'static str),
    /// No `|` after Severity (strict mode).
    #[error("no '|' after Severity to end the header")]
    UnterminatedHeader,
    /// A backslash escape the format does not define (strict mode).
    #[error("invalid escape \\{sequence} in {field}")]
    InvalidEscape {
        /// The header field name or extension key.
        field: String,
        /// The character after the backslash (empty at the end of the text).
        sequence: String,
    },
    /// Extension text where a `key=` must start.
    #[error(
        "invalid extension key {0:?}: keys are letters, digits, '_', '.' and '-' followed by '='"
    )]
    InvalidKey(String),
    /// An unescaped `=` inside a value (strict mode).
    #[error("unescaped '=' in the value of extension {0:?} (write \\=)")]
    UnescapedEquals(String),
}

impl CefError {
    fn new(offset: usize, kind: CefErrorKind) -> Self {
        CefError { offset, kind }
    }
}

/// Where a CEF header starts in `text`: at the start or after a space, `CEF:`
/// followed by a digit. Text before it is the syslog header that carried it.
pub fn find_cef(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, b"CEF:")
        .find(|&at| (at == 0 || b[at - 1] == b' ') && b.get(at + 4).is_some_and(u8::is_ascii_digit))
}

/// Parses a CEF record; `text` must start with `CEF:`.
pub fn parse_cef(text: &str, mode: CefMode) -> Result<CefRecord, CefError> {
    if !text.starts_with("CEF:") {
        return Err(CefError::new(0, CefErrorKind::NotCef));
    }
    let mut header: [String; 7] = Default::default();
    let mut pos = 4;
    let mut extension_start = None;
    for (index, slot) in header.iter_mut().enumerate() {
        let (value, end, terminated) = read_header_field(text, pos, HEADER_FIELDS[index], mode)?;
        *slot = value;
        if terminated {
            pos = end + 1;
            if index == 6 {
                extension_start = Some(pos);
            }
        } else if index < 6 {
            return Err(CefError::new(
                end,
                CefErrorKind::MissingHeaderField(HEADER_FIELDS[index + 1]),
            ));
        } else if mode == CefMode::Strict {
            return Err(CefError::new(end, CefErrorKind::UnterminatedHeader));
        }
    }
    let [
        version,
        vendor,
        product,
        device_version,
        class_id,
        name,
        severity,
    ] = header;
    let version_number = version
        .trim()
        .parse::<u32>()
        .map_err(|_| CefError::new(4, CefErrorKind::InvalidVersion(version.clone())))?;
    if mode == CefMode::Strict && version_number > 1 {
        return Err(CefError::new(
            4,
            CefErrorKind::UnsupportedVersion(version_number),
        ));
    }
    let extensions = match extension_start {
        Some(start) => parse_extensions(text, start, mode)?,
        None => Vec::new(),
    };
    Ok(CefRecord {
        version: version_number,
        device_vendor: vendor,
        device_product: product,
        device_version,
        device_event_class_id: class_id,
        name,
        severity,
        extensions,
    })
}

/// Reads a header field from `pos` to the next unescaped `|`. Returns the
/// unescaped value, where it ended, and whether a `|` ended it.
fn read_header_field(
    text: &str,
    mut pos: usize,
    field: &str,
    mode: CefMode,
) -> Result<(String, usize, bool), CefError> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut run = pos;
    while pos < b.len() {
        match b[pos] {
            b'|' => {
                out.push_str(&text[run..pos]);
                return Ok((out, pos, true));
            }
            b'\\' => {
                out.push_str(&text[run..pos]);
                match b.get(pos + 1) {
                    Some(&escaped @ (b'|' | b'\\')) => {
                        out.push(char::from(escaped));
                        pos += 2;
                    }
                    other => {
                        if mode == CefMode::Strict {
                            return Err(CefError::new(
                                pos,
                                CefErrorKind::InvalidEscape {
                                    field: field.to_string(),
                                    sequence: escape_text(text, other.map(|_| pos + 1)),
                                },
                            ));
                        }
                        out.push('\\');
                        pos += 1;
                    }
                }
                run = pos;
            }
            _ => pos += 1,
        }
    }
    out.push_str(&text[run..]);
    Ok((out, b.len(), false))
}

/// The character at `at` (for error messages), or empty text.
fn escape_text(text: &str, at: Option<usize>) -> String {
    at.and_then(|at| text.get(at..))
        .and_then(|rest| rest.chars().next())
        .map(String::from)
        .unwrap_or_default()
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Whether a `key=` starts at `pos`.
fn is_pair_start(b: &[u8], pos: usize) -> bool {
    let key_len = b[pos..].iter().take_while(|c| is_key_byte(**c)).count();
    key_len > 0 && b.get(pos + key_len) == Some(&b'=')
}

/// Parses `key=value` pairs from `pos` to the end.
fn parse_extensions(
    text: &str,
    mut pos: usize,
    mode: CefMode,
) -> Result<Vec<(String, String)>, CefError> {
    let b = text.as_bytes();
    let mut pairs = Vec::new();
    loop {
        while b.get(pos).is_some_and(|c| c.is_ascii_whitespace()) {
            pos += 1;
        }
        if pos >= b.len() {
            return Ok(pairs);
        }
        let key_start = pos;
        while b.get(pos).is_some_and(|c| is_key_byte(*c)) {
            pos += 1;
        }
        if pos == key_start || b.get(pos) != Some(&b'=') {
            let token_end = b[key_start..]
                .iter()
                .position(|c| matches!(c, b' ' | b'='))
                .map_or(b.len(), |i| key_start + i);
            return Err(CefError::new(
                key_start,
                CefErrorKind::InvalidKey(text[key_start..token_end].to_string()),
            ));
        }
        let key = &text[key_start..pos];
        let (value, next) = read_value(text, pos + 1, key, mode)?;
        pairs.push((key.to_string(), value));
        pos = next;
    }
}

/// Reads a value from `pos` up to the space before the next `key=` (or the
/// end, dropping trailing spaces). Returns the unescaped value and where the
/// next key starts.
fn read_value(
    text: &str,
    mut pos: usize,
    key: &str,
    mode: CefMode,
) -> Result<(String, usize), CefError> {
    let b = text.as_bytes();
    let value_start = pos;
    let mut out = String::new();
    let mut run = pos;
    while pos < b.len() {
        match b[pos] {
            b' ' => {
                let mut next = pos;
                while b.get(next) == Some(&b' ') {
                    next += 1;
                }
                if next == b.len() || is_pair_start(b, next) {
                    out.push_str(&text[run..pos]);
                    return Ok((out, next));
                }
                pos = next;
            }
            b'\\' => {
                out.push_str(&text[run..pos]);
                let unescaped = match b.get(pos + 1) {
                    Some(b'\\') => Some('\\'),
                    Some(b'=') => Some('='),
                    Some(b'n') => Some('\n'),
                    Some(b'r') => Some('\r'),
                    Some(b'|') => Some('|'),
                    _ => None,
                };
                match unescaped {
                    Some(c) => {
                        out.push(c);
                        pos += 2;
                    }
                    None if mode == CefMode::Strict => {
                        return Err(CefError::new(
                            pos,
                            CefErrorKind::InvalidEscape {
                                field: key.to_string(),
                                sequence: escape_text(text, (pos + 1 < b.len()).then_some(pos + 1)),
                            },
                        ));
                    }
                    None => {
                        out.push('\\');
                        pos += 1;
                    }
                }
                run = pos;
            }
            b'=' if mode == CefMode::Strict => {
                // `... n,me=x`: a word before the `=` was meant as a key but
                // is not a valid one; say so rather than blame the value.
                if let Some(space) = b[value_start..pos].iter().rposition(|c| *c == b' ') {
                    let word_start = value_start + space + 1;
                    if word_start < pos {
                        return Err(CefError::new(
                            word_start,
                            CefErrorKind::InvalidKey(text[word_start..pos].to_string()),
                        ));
                    }
                }
                return Err(CefError::new(
                    pos,
                    CefErrorKind::UnescapedEquals(key.to_string()),
                ));
            }
            _ => pos += 1,
        }
    }
    out.push_str(&text[run..]);
    Ok((out, b.len()))
}

/// Sets the `cef.*` fields and the ECS fields CEF's standard extension keys
/// stand for (`src` → `source.ip`, `suser` → `source.user.name`, `act` →
/// `event.action`, `rt` → `@timestamp`, ...). Returns the event time if the
/// record states one.
pub(crate) fn cef_fields(record: &CefRecord, fields: &mut Fields) -> Option<OffsetDateTime> {
    fields.insert("cef.version", record.version.to_string());
    fields.insert("cef.device.vendor", record.device_vendor.clone());
    fields.insert("cef.device.product", record.device_product.clone());
    fields.insert("cef.device.version", record.device_version.clone());
    fields.insert(
        "cef.device.event_class_id",
        record.device_event_class_id.clone(),
    );
    fields.insert("cef.name", record.name.clone());
    fields.insert("cef.severity", record.severity.clone());
    let mut extensions = Map::new();
    for (key, value) in &record.extensions {
        match extensions.get_mut(key) {
            // A repeated key keeps every value, in order.
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value.clone())]);
            }
            None => {
                extensions.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    fields.insert("cef.extensions", Value::Object(extensions));

    fields.put_str("observer.vendor", Some(&record.device_vendor));
    fields.put_str("observer.product", Some(&record.device_product));
    fields.put_str("observer.version", Some(&record.device_version));
    fields.put_str("event.code", Some(&record.device_event_class_id));
    if let Some(severity) = record.severity_number() {
        fields.put_u64("event.severity", u64::from(severity));
    }
    // One pass over the extensions; where a field has several keys (`src`,
    // `sourceAddress`), the first in the record wins.
    let mut message = None;
    let mut source_user = None;
    let mut destination_user = None;
    let mut receipt_time = None;
    for (key, value) in &record.extensions {
        let value = value.as_str();
        if value.is_empty() {
            continue;
        }
        let port = |text: &str| text.trim().parse::<u16>().ok().map(u64::from);
        let number = |text: &str| text.trim().parse::<u64>().ok();
        match key.as_str() {
            "src" | "sourceAddress" => address(fields, "source", value),
            "dst" | "destinationAddress" => address(fields, "destination", value),
            "dvc" | "deviceAddress" => address(fields, "observer", value),
            "spt" | "sourcePort" => fields.put_first_u64("source.port", port(value)),
            "dpt" | "destinationPort" => fields.put_first_u64("destination.port", port(value)),
            "fsize" | "fileSize" => fields.put_first_u64("file.size", number(value)),
            "in" | "bytesIn" => fields.put_first_u64("source.bytes", number(value)),
            "out" | "bytesOut" => fields.put_first_u64("destination.bytes", number(value)),
            "spid" | "dpid" => fields.put_first_u64("process.pid", number(value)),
            "shost" | "sourceHostName" => fields.put_first_str("source.domain", value),
            "dhost" | "destinationHostName" => fields.put_first_str("destination.domain", value),
            "suser" | "sourceUserName" => {
                fields.put_first_str("source.user.name", value);
                source_user = source_user.or(Some(value));
            }
            "duser" | "destinationUserName" => {
                fields.put_first_str("destination.user.name", value);
                destination_user = destination_user.or(Some(value));
            }
            "smac" | "sourceMacAddress" => fields.put_first_str("source.mac", value),
            "dmac" | "destinationMacAddress" => fields.put_first_str("destination.mac", value),
            "act" | "deviceAction" => fields.put_first_str("event.action", value),
            "outcome" => fields.put_first_str("event.outcome", value),
            "reason" => fields.put_first_str("event.reason", value),
            "externalId" => fields.put_first_str("event.id", value),
            "request" | "requestURL" => fields.put_first_str("url.original", value),
            "requestMethod" => fields.put_first_str("http.request.method", value),
            "requestClientApplication" => fields.put_first_str("user_agent.original", value),
            "fname" | "fileName" => fields.put_first_str("file.name", value),
            "filePath" => fields.put_first_str("file.path", value),
            "fileHash" => fields.put_first_str("file.hash.sha256", value),
            "dvchost" | "deviceHostName" => fields.put_first_str("observer.hostname", value),
            "deviceExternalId" => fields.put_first_str("observer.name", value),
            "sproc" | "dproc" => fields.put_first_str("process.name", value),
            "proto" | "transportProtocol" => {
                fields.put_first_str("network.transport", &value.to_ascii_lowercase());
            }
            "app" | "applicationProtocol" => {
                fields.put_first_str("network.protocol", &value.to_ascii_lowercase());
            }
            "msg" | "message" => message = message.or(Some(value)),
            "rt" | "deviceReceiptTime" => receipt_time = receipt_time.or(Some(value)),
            "start" => {
                if let Some(at) = parse_cef_time(value) {
                    fields.put_time("event.start", at);
                }
            }
            "end" => {
                if let Some(at) = parse_cef_time(value) {
                    fields.put_time("event.end", at);
                }
            }
            _ => {}
        }
    }
    fields.put_str("message", message.or(Some(record.name.as_str())));
    fields.put_str("user.name", source_user.or(destination_user));
    receipt_time.and_then(parse_cef_time)
}

/// `src`, `dst`, `dvc`: an IP address (`<side>.ip`), or a host name
/// (`<side>.domain`) when a producer wrote one there; always `<side>.address`.
fn address(fields: &mut Fields, side: &'static str, value: &str) {
    let (address, ip, domain) = match side {
        "source" => ("source.address", "source.ip", "source.domain"),
        "destination" => (
            "destination.address",
            "destination.ip",
            "destination.domain",
        ),
        _ => ("observer.address", "observer.ip", "observer.hostname"),
    };
    if fields.contains(address) {
        return;
    }
    fields.put_str(address, Some(value));
    if !fields.put_ip(ip, Some(value)) {
        fields.put_first_str(domain, value);
    }
}

/// CEF's time forms: Unix milliseconds, RFC 3339, or `MMM dd [yyyy] HH:mm:ss[.SSS]`
/// (read in UTC when it has no zone).
fn parse_cef_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = text.parse().ok()?;
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok();
    }
    if let Some(parsed) = timestamp::parse_iso8601(text) {
        return Some(parsed.resolve(time::UtcOffset::UTC));
    }
    // `Sep 29 2023 08:26:10.123 UTC`
    let mut parts = text.split_whitespace();
    let month = timestamp::month_from_abbreviation(parts.next()?.as_bytes())?;
    let day: u8 = parts.next()?.parse().ok()?;
    let year: i32 = parts.next()?.parse().ok()?;
    let clock = parts.next()?;
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = clock.split(':').map(|p| p.parse::<u8>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    let millis: u16 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<3}").get(..3)?.parse().ok()?
    };
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let time = time::Time::from_hms_milli(hour, minute, second, millis).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_escapes_and_values_with_spaces() {
        let record = parse_cef(
            r"CEF:0|Vendor|Product\|1\|\\|Version|Signature ID|some name|Severity| aa=field1 bb=this is a name\=value cc=field 3",
            CefMode::Strict,
        )
        .unwrap();
        assert_eq!(record.device_product, r"Product|1|\");
        assert_eq!(
            record.extensions,
            vec![
                ("aa".to_string(), "field1".to_string()),
                ("bb".to_string(), "this is a name=value".to_string()),
                ("cc".to_string(), "field 3".to_string()),
            ]
        );
    }

    #[test]
    fn errors_say_where_and_what() {
        let error = parse_cef("CEF:0|Vendor", CefMode::Strict).unwrap_err();
        assert_eq!(error.offset, 12);
        assert_eq!(
            error.kind,
            CefErrorKind::MissingHeaderField("Device Product")
        );
        let error = parse_cef("CEF:0|a|b|c|d|e|f| n,me=value", CefMode::Strict).unwrap_err();
        assert_eq!(error.offset, 19);
        assert_eq!(error.kind, CefErrorKind::InvalidKey("n,me".to_string()));
        let error = parse_cef(r"CEF:0|a|b|c|d|e|f|k=v\alue", CefMode::Strict).unwrap_err();
        assert_eq!(
            error.kind,
            CefErrorKind::InvalidEscape {
                field: "k".into(),
                sequence: "a".into()
            }
        );
        assert_eq!(
            parse_cef("CEF:x|a|b|c|d|e|f|", CefMode::Strict)
                .unwrap_err()
                .kind,
            CefErrorKind::InvalidVersion("x".into())
        );
        assert_eq!(
            parse_cef("CEF:0|a|b|c|d|e|f", CefMode::Strict)
                .unwrap_err()
                .kind,
            CefErrorKind::UnterminatedHeader
        );
        assert_eq!(
            parse_cef("", CefMode::Strict).unwrap_err().kind,
            CefErrorKind::NotCef
        );
    }

    #[test]
    fn lenient_mode_takes_common_mistakes() {
        let text = "CEF:0|V|P|1.0|100|Event|5|src=10.0.0.1 request=https://foo.com?id=foo&a=bar dst=2.2.2.2";
        assert_eq!(
            parse_cef(text, CefMode::Strict).unwrap_err().kind,
            CefErrorKind::UnescapedEquals("request".into())
        );
        let record = parse_cef(text, CefMode::Lenient).unwrap();
        assert_eq!(
            record.extension("request"),
            Some("https://foo.com?id=foo&a=bar")
        );
        assert_eq!(record.extension("dst"), Some("2.2.2.2"));
        let record = parse_cef(r"CEF:0|V|P|1|2|N|3|path=C:\Windows", CefMode::Lenient).unwrap();
        assert_eq!(record.extension("path"), Some(r"C:\Windows"));
        let record = parse_cef("CEF:0|V|P|1|2|N|3", CefMode::Lenient).unwrap();
        assert!(record.extensions.is_empty());
    }

    #[test]
    fn finds_cef_after_a_syslog_header() {
        assert_eq!(find_cef("Sep 29 08:26:10 host CEF:1|Security|x"), Some(21));
        assert_eq!(find_cef("CEF:0|a"), Some(0));
        assert_eq!(find_cef("xCEF:0|a"), None);
        assert_eq!(find_cef("CEF: hello"), None);
    }

    #[test]
    fn custom_fields_take_their_labels() {
        let record = parse_cef(
            "CEF:0|Dev|firewall|2.2|1|Connection denied|5|c6a1=2345:0425:2CA1:0000:0000:0567:5673:23b5 c6a1Label=Device IPv6 Address",
            CefMode::Strict,
        )
        .unwrap();
        assert_eq!(
            record.translated_extensions(),
            vec![(
                "Device IPv6 Address".to_string(),
                "2345:0425:2CA1:0000:0000:0567:5673:23b5".to_string()
            )]
        );
    }

    #[test]
    fn severity_words_and_numbers() {
        let with = |severity: &str| CefRecord {
            severity: severity.into(),
            ..CefRecord::default()
        };
        assert_eq!(with("10").severity_number(), Some(10));
        assert_eq!(with("High").severity_number(), Some(8));
        assert_eq!(with("11").severity_number(), None);
        assert_eq!(with("Severity").severity_number(), None);
    }

    #[test]
    fn times_in_cef() {
        assert_eq!(
            parse_cef_time("1427881661000").unwrap(),
            time::macros::datetime!(2015-04-01 09:47:41 UTC)
        );
        assert_eq!(
            parse_cef_time("Sep 29 2023 08:26:10.5").unwrap(),
            time::macros::datetime!(2023-09-29 08:26:10.5 UTC)
        );
        assert!(parse_cef_time("yesterday").is_none());
    }
}
