//! The HTTP intake's request body: NDJSON, optionally gzip-compressed, cut
//! into lines, normalised, stamped and turned into bus records. Pure: no
//! I/O, no clock (the receive time is given).
//!
//! # Request body
//!
//! One record per line (LF or CRLF). A line is either
//! - a JSON object: one event (Suricata EVE, Zeek JSON, a Windows event in
//!   any JSON layout, ECS or any other JSON), or
//! - a JSON string: one raw text record (a syslog line, a CEF record),
//!   normalised as if it had arrived over syslog.
//!
//! Blank lines are ignored. A line that cannot be normalised is returned as
//! a [`LineError`] with its line number (from 1, in the decompressed body)
//! and the reason; the other lines are kept. Limits ([`HttpLimits`]) on the
//! body, the decompressed body and the number of lines refuse the whole
//! request ([`IntakeError`]); the limit on one line refuses that line.

use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use flate2::read::MultiGzDecoder;
use nigehban_bus::{BusError, DEFAULT_MAX_PAYLOAD_BYTES, Record};
use nigehban_normalise::{Format, NormaliseError, SourceHint, normalise};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::event_id::idempotent_event_id;
use crate::sensor::{SensorStamp, flag_unexpected_format};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event, new_event_id};

/// Limits on one HTTP intake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body as sent (compressed or not), in bytes.
    pub max_body_bytes: usize,
    /// Largest body once decompressed, in bytes: a gzip body that inflates
    /// beyond this (a "gzip bomb") is refused without inflating the rest.
    pub max_decompressed_bytes: usize,
    /// Longest line, in bytes; a longer line is refused on its own.
    pub max_line_bytes: usize,
    /// Most lines in one request.
    pub max_lines: usize,
    /// Largest normalised event (the bus payload), in bytes; must not exceed
    /// the bus's payload limit.
    pub max_event_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 32 * 1024 * 1024,
            max_decompressed_bytes: 128 * 1024 * 1024,
            max_line_bytes: 128 * 1024,
            max_lines: 100_000,
            max_event_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

/// A line that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// Line number in the (decompressed) request body, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// What the HTTP intake answers (the server returns it as JSON with 202).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// Events accepted: durable on the bus when this is returned.
    pub accepted: u64,
    /// Lines refused, in line order; the rest of the request was kept.
    #[serde(default)]
    pub rejected: Vec<LineError>,
}

/// How an [`IntakeError`] should be answered (the server maps each to an
/// HTTP status: 400, 413, 415, 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeErrorClass {
    /// The request is malformed (400).
    Invalid,
    /// The request is over a size limit (413).
    TooLarge,
    /// The request's content encoding is not supported (415).
    UnsupportedEncoding,
    /// Intake cannot take it now; the sender should retry later (503, with
    /// `Retry-After` when [`IntakeError::retry_after`] says).
    Unavailable,
}

/// Why a whole HTTP intake request was refused; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body as sent is over [`HttpLimits::max_body_bytes`].
    #[error("request body is {size} bytes, over the {limit}-byte limit")]
    BodyTooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body inflates beyond [`HttpLimits::max_decompressed_bytes`].
    #[error(
        "gzip body inflates to more than {limit} bytes (the decompressed-size limit); send smaller requests"
    )]
    DecompressedTooLarge {
        /// The limit.
        limit: usize,
    },
    /// More lines than [`HttpLimits::max_lines`].
    #[error("request has {lines} lines, over the {limit}-line limit")]
    TooManyLines {
        /// Lines in the request.
        lines: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is one line of records written one after another without line breaks,
    /// as `curl -d @file` sends a file (it strips the newlines).
    #[error(
        "the body is one line holding several JSON records one after another (a second record starts at column {column}): send one record per line, e.g. curl --data-binary @file instead of curl -d @file"
    )]
    ConcatenatedRecords {
        /// Where the second record starts, from 1.
        column: usize,
    },
    /// A `Content-Encoding` other than gzip or identity.
    #[error("unsupported content encoding {0:?}: send gzip or no encoding")]
    UnsupportedEncoding(String),
    /// The body claims gzip and is not valid gzip.
    #[error("invalid gzip body: {0}")]
    InvalidGzip(String),
    /// Bus consumers lag too far behind; the sender should retry later.
    #[error("intake is busy (event consumers are behind); retry in {} s", retry_after.as_secs().max(1))]
    Busy {
        /// When to retry.
        retry_after: Duration,
    },
    /// The bus did not store the batch (nothing of it was stored).
    #[error("the event bus could not store the events: {0}")]
    Bus(#[from] BusError),
    /// An internal failure (a worker task failed).
    #[error("internal intake failure: {0}")]
    Internal(String),
}

impl IntakeError {
    /// How the error should be answered.
    pub fn class(&self) -> IntakeErrorClass {
        match self {
            IntakeError::BodyTooLarge { .. }
            | IntakeError::DecompressedTooLarge { .. }
            | IntakeError::TooManyLines { .. } => IntakeErrorClass::TooLarge,
            IntakeError::UnsupportedEncoding(_) => IntakeErrorClass::UnsupportedEncoding,
            IntakeError::InvalidGzip(_) | IntakeError::ConcatenatedRecords { .. } => {
                IntakeErrorClass::Invalid
            }
            IntakeError::Busy { .. } | IntakeError::Bus(_) | IntakeError::Internal(_) => {
                IntakeErrorClass::Unavailable
            }
        }
    }

    /// When the sender should retry, for errors that call for it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            IntakeError::Busy { retry_after } => Some(*retry_after),
            IntakeError::Bus(_) => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}

/// What a request says about its records besides the body.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The sensor the request's token belongs to.
    pub stamp: &'a SensorStamp,
    /// The declared format (a request parameter); `None`: the sensor's
    /// declared format ([`SensorStamp::declared_format`]).
    pub format: Option<Format>,
    /// The name of the log the records come from (`dns.log`), naming Zeek
    /// logs that lack `_path`.
    pub log_name: Option<&'a str>,
    /// The sender's address.
    pub source_address: Option<IpAddr>,
    /// When the request was received.
    pub received_at: SystemTime,
    /// The request's idempotency key (header `Idempotency-Key`), if it
    /// carried one: event ids are then derived from it and the line number
    /// ([`crate::idempotent_event_id`]), so a resent request yields
    /// the same ids; without one every event gets a new UUIDv7.
    pub idempotency_key: Option<&'a str>,
}

/// A request body turned into bus records.
#[derive(Debug, Default)]
pub struct PreparedBatch {
    /// One record per accepted line, in line order.
    pub records: Vec<Record>,
    /// The refused lines, in line order.
    pub rejected: Vec<LineError>,
    /// Lines that held a record (blank lines not counted).
    pub lines: u64,
    /// Bytes of the body once decompressed.
    pub decompressed_bytes: u64,
    /// Accepted records of a format the sensor is not registered to send
    /// (each flagged with a diagnostic; see [`crate::flag_unexpected_format`]).
    pub unexpected_format: u64,
}

/// Whether a `Content-Encoding` header value means gzip; `Err` for one that
/// is not supported. A body that starts with the gzip magic bytes is read as
/// gzip even without the header (no NDJSON starts with byte 0x1f).
pub fn is_gzip_encoding(content_encoding: Option<&str>) -> Result<bool, IntakeError> {
    match content_encoding.map(|e| e.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(encoding) => match encoding.as_str() {
            "" | "identity" => Ok(false),
            "gzip" | "x-gzip" => Ok(true),
            _ => Err(IntakeError::UnsupportedEncoding(encoding)),
        },
    }
}

/// The body, decompressed if it is gzip, within the limits.
pub fn decode_body<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    limits: &HttpLimits,
) -> Result<std::borrow::Cow<'a, [u8]>, IntakeError> {
    if body.len() > limits.max_body_bytes {
        return Err(IntakeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let gzip = is_gzip_encoding(content_encoding)? || body.starts_with(&[0x1f, 0x8b]);
    if !gzip {
        if body.len() > limits.max_decompressed_bytes {
            return Err(IntakeError::DecompressedTooLarge {
                limit: limits.max_decompressed_bytes,
            });
        }
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let limit = limits.max_decompressed_bytes;
    let mut inflated = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut reader = MultiGzDecoder::new(body).take(limit as u64 + 1);
    reader
        .read_to_end(&mut inflated)
        .map_err(|error| IntakeError::InvalidGzip(error.to_string()))?;
    if inflated.len() > limit {
        return Err(IntakeError::DecompressedTooLarge { limit });
    }
    Ok(std::borrow::Cow::Owned(inflated))
}

/// Decodes, splits and normalises a request body into bus records stamped
/// with the request's sensor, each with a new event id.
pub fn prepare_ndjson(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &HttpLimits,
    context: &RequestContext<'_>,
) -> Result<PreparedBatch, IntakeError> {
    let data = decode_body(body, content_encoding, limits)?;
    let data: &[u8] = &data;
    let lines = memchr::memchr_iter(b'\n', data).count()
        + usize::from(!data.is_empty() && !data.ends_with(b"\n"));
    if lines > limits.max_lines {
        return Err(IntakeError::TooManyLines {
            lines,
            limit: limits.max_lines,
        });
    }
    let declared = context
        .format
        .unwrap_or_else(|| context.stamp.declared_format());
    let received_at = OffsetDateTime::from(context.received_at);
    let mut object_hint = SourceHint::new(json_format(declared), received_at);
    object_hint.tenant_id = Some(context.stamp.tenant_id.clone());
    object_hint.sensor_id = Some(context.stamp.sensor_id.clone());
    object_hint.host_os_type = context.stamp.host_os_type.clone();
    object_hint.utc_offset = context.stamp.utc_offset;
    object_hint.log_name = context.log_name.map(str::to_owned);
    object_hint.source_address = context.source_address.map(|a| a.to_string());
    let mut text_hint = object_hint.clone();
    text_hint.format = text_format(declared);
    // A format taken from the sensor's registration (not asked for by the
    // request) is a reading hint: a record that is not of it is read for
    // what it is, kept and flagged rather than refused.
    let fallback = (context.format.is_none() && declared != Format::Auto).then(|| {
        let mut object = object_hint.clone();
        object.format = Format::Json;
        let mut text = object_hint.clone();
        text.format = Format::Auto;
        (object, text)
    });

    let mut batch = PreparedBatch {
        decompressed_bytes: data.len() as u64,
        records: Vec::with_capacity(lines),
        ..PreparedBatch::default()
    };
    // Line starts and ends found with memchr; the last line may lack its LF.
    let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
    let mut start = 0;
    for (index, end) in ends.enumerate() {
        let line = &data[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        batch.lines += 1;
        let number = index as u64 + 1;
        let reject = |reason: String| LineError {
            line: number,
            reason,
        };
        if line.len() > limits.max_line_bytes {
            batch.rejected.push(reject(format!(
                "line is {} bytes, over the {}-byte limit",
                line.len(),
                limits.max_line_bytes
            )));
            continue;
        }
        let normalised = match (normalise_line(line, &object_hint, &text_hint), &fallback) {
            (Err(error), Some((object, text))) => {
                normalise_line(line, object, text).map_err(|_| error)
            }
            (result, _) => result,
        };
        match normalised {
            Ok(mut event) => {
                let unexpected = flag_unexpected_format(context.stamp, &mut event);
                let id = match context.idempotency_key {
                    Some(key) => idempotent_event_id(&context.stamp.sensor_id, key, number),
                    None => new_event_id(),
                };
                let payload = match encode_event(id, &event) {
                    Ok(payload) => payload,
                    Err(error) => {
                        batch
                            .rejected
                            .push(reject(format!("event could not be serialised: {error}")));
                        continue;
                    }
                };
                let record = Record {
                    tenant_id: context.stamp.tenant_id.clone(),
                    sensor_id: context.stamp.sensor_id.clone(),
                    received_at: context.received_at,
                    content_type: EVENT_CONTENT_TYPE.to_owned(),
                    payload,
                    // A resent request (same idempotency key) repeats the ids:
                    // the bus stores its copies once.
                    id: Some(id.to_string()),
                };
                match record.validate(limits.max_event_bytes) {
                    Ok(()) => {
                        batch.records.push(record);
                        batch.unexpected_format += u64::from(unexpected);
                    }
                    Err(error) => batch
                        .rejected
                        .push(reject(format!("the normalised event was refused: {error}"))),
                }
            }
            Err(error) => {
                if lines == 1
                    && let Some(column) = second_record_at(line, &error)
                {
                    return Err(IntakeError::ConcatenatedRecords { column });
                }
                batch.rejected.push(reject(error.reason()));
            }
        }
    }
    Ok(batch)
}

/// Where a second JSON record starts on `line`, when the line failed only because one
/// record follows another (`{...}{...}`).
fn second_record_at(line: &[u8], error: &LineProblem) -> Option<usize> {
    let LineProblem::Normalise(NormaliseError::Json {
        line: 1,
        column,
        message,
    }) = error
    else {
        return None;
    };
    if !message.starts_with("trailing characters") {
        return None;
    }
    // serde_json points at the first character after the first record.
    let rest = line.get(column.saturating_sub(1)..)?;
    let next = rest.trim_ascii_start();
    matches!(next.first(), Some(b'{' | b'"' | b'[')).then(|| column + (rest.len() - next.len()))
}

/// Why a line could not be normalised.
#[derive(Debug, thiserror::Error)]
enum LineProblem {
    #[error("invalid JSON string: {0}")]
    String(serde_json::Error),
    #[error("{0}")]
    Normalise(#[from] NormaliseError),
}

impl LineProblem {
    /// The reason given for the line: its place is the line itself, so a record of one
    /// line is not said to be "at line 1" again, only at its column.
    fn reason(&self) -> String {
        match self {
            LineProblem::Normalise(NormaliseError::Json {
                line: 1,
                column,
                message,
            }) => format!(
                "invalid JSON at column {column}: {}",
                strip_serde_place(message)
            ),
            LineProblem::String(error) => format!(
                "invalid JSON string at column {}: {}",
                error.column(),
                strip_serde_place(&error.to_string())
            ),
            other => other.to_string(),
        }
    }
}

/// A serde_json message without the ` at line L column C` it ends with.
fn strip_serde_place(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    }
}

fn normalise_line(
    line: &[u8],
    object_hint: &SourceHint,
    text_hint: &SourceHint,
) -> Result<nigehban_normalise::NormalisedEvent, LineProblem> {
    if line.trim_ascii_start().first() == Some(&b'"') {
        let text: String = serde_json::from_slice(line).map_err(LineProblem::String)?;
        return Ok(normalise(text.as_bytes(), text_hint)?);
    }
    Ok(normalise(line, object_hint)?)
}

/// The format JSON-object lines are read as: the declared JSON format, else
/// any JSON (never text: an NDJSON line that is not JSON is an error).
fn json_format(declared: Format) -> Format {
    match declared {
        Format::SuricataEve | Format::Zeek | Format::WindowsJson | Format::Json => declared,
        Format::Auto | Format::Syslog | Format::Cef | Format::Text => Format::Json,
    }
}

/// The format JSON-string lines are read as: the declared text format, else
/// recognised from the text.
fn text_format(declared: Format) -> Format {
    match declared {
        Format::Syslog | Format::Cef | Format::Text => declared,
        _ => Format::Auto,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use nigehban_normalise::envelope::decode_event;
    use std::io::Write;

    fn stamp() -> SensorStamp {
        SensorStamp::new("bank-01", "ids-3")
    }

    fn context(stamp: &SensorStamp) -> RequestContext<'_> {
        RequestContext {
            stamp,
            format: None,
            log_name: None,
            source_address: Some("192.0.2.7".parse().unwrap()),
            received_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_710_000_000),
            idempotency_key: None,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    const GOOD: &str = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","src_port":41402,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{"signature_id":2013504,"signature":"ET POLICY x","severity":3}}"#;

    #[test]
    fn an_idempotency_key_gives_a_resent_request_the_same_event_ids() {
        let s = stamp();
        let body = format!("{GOOD}\n{GOOD}\n");
        let ids = |key: Option<&str>| -> Vec<uuid::Uuid> {
            let mut context = context(&s);
            context.idempotency_key = key;
            prepare_ndjson(body.as_bytes(), None, &HttpLimits::default(), &context)
                .unwrap()
                .records
                .iter()
                .map(|record| decode_event(&record.payload).unwrap().0)
                .collect()
        };
        let first = ids(Some("request-1"));
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1], "two lines, two ids");
        assert_eq!(first, ids(Some("request-1")));
        assert_ne!(first, ids(Some("request-2")));
        let fresh = ids(None);
        assert_ne!(fresh, ids(None), "without a key every event gets a new id");
        assert_eq!(fresh[0].get_version_num(), 7);
    }

    #[test]
    fn good_lines_are_kept_around_bad_ones() {
        let body = format!(
            "{GOOD}\nnot json\n\n\"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\"\r\n{{\"broken\": \n{GOOD}"
        );
        let s = stamp();
        let batch =
            prepare_ndjson(body.as_bytes(), None, &HttpLimits::default(), &context(&s)).unwrap();
        assert_eq!(batch.records.len(), 3);
        assert_eq!(batch.lines, 5);
        let lines: Vec<u64> = batch.rejected.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 5]);
        assert!(
            batch.rejected[0].reason.contains("invalid JSON"),
            "{:?}",
            batch.rejected
        );
        for record in &batch.records {
            assert_eq!(record.tenant_id, "bank-01");
            assert_eq!(record.sensor_id, "ids-3");
            assert_eq!(record.content_type, EVENT_CONTENT_TYPE);
        }
        let (_, alert) = decode_event(&batch.records[0].payload).unwrap();
        assert_eq!(alert.dataset(), Some("suricata.alert"));
        assert_eq!(alert.tenant_id(), Some("bank-01"));
        assert_eq!(
            alert.fields().get_str("log.source.address"),
            Some("192.0.2.7")
        );
        let (_, syslog) = decode_event(&batch.records[1].payload).unwrap();
        assert_eq!(
            syslog.fields().get_str("log.syslog.hostname"),
            Some("mymachine")
        );
        assert_eq!(syslog.fields().get_u64("log.syslog.priority"), Some(34));
    }

    #[test]
    fn the_tenant_comes_from_the_sensor_not_the_event() {
        let s = stamp();
        let body = br#"{"tenant_id":"someone-else","nigehban":{"tenant_id":"x"},"message":"hi"}"#;
        let batch = prepare_ndjson(body, None, &HttpLimits::default(), &context(&s)).unwrap();
        let (_, event) = decode_event(&batch.records[0].payload).unwrap();
        assert_eq!(event.tenant_id(), Some("bank-01"));
        assert_eq!(batch.records[0].tenant_id, "bank-01");
    }

    #[test]
    fn gzip_bodies_are_read_and_bombs_refused() {
        let s = stamp();
        let body = format!("{GOOD}\n{GOOD}\n");
        let limits = HttpLimits::default();
        let packed = gzip(body.as_bytes());
        let batch = prepare_ndjson(&packed, Some("gzip"), &limits, &context(&s)).unwrap();
        assert_eq!(batch.records.len(), 2);
        // Without the header too: the magic bytes say gzip.
        let batch = prepare_ndjson(&packed, None, &limits, &context(&s)).unwrap();
        assert_eq!(batch.records.len(), 2);

        // Level and ratio depend on which deflate backend feature unification
        // picks (miniz_oxide or zlib-rs); what matters is a small body that
        // inflates far past the limit.
        let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
        assert!(bomb.len() < 1024 * 1024, "bomb is {} bytes", bomb.len());
        let small = HttpLimits {
            max_decompressed_bytes: 1024 * 1024,
            ..HttpLimits::default()
        };
        let error = prepare_ndjson(&bomb, Some("gzip"), &small, &context(&s)).unwrap_err();
        assert!(
            matches!(error, IntakeError::DecompressedTooLarge { limit } if limit == 1024 * 1024)
        );
        assert_eq!(error.class(), IntakeErrorClass::TooLarge);

        let error =
            prepare_ndjson(b"\x1f\x8bgarbage", Some("gzip"), &limits, &context(&s)).unwrap_err();
        assert!(matches!(error, IntakeError::InvalidGzip(_)));
        let error = prepare_ndjson(b"{}", Some("br"), &limits, &context(&s)).unwrap_err();
        assert_eq!(error.class(), IntakeErrorClass::UnsupportedEncoding);
    }

    #[test]
    fn limits_refuse_requests_and_lines() {
        let s = stamp();
        let limits = HttpLimits {
            max_body_bytes: 10_000,
            max_lines: 3,
            max_line_bytes: 300,
            ..HttpLimits::default()
        };
        let error = prepare_ndjson(&[b'\n'; 10_001], None, &limits, &context(&s)).unwrap_err();
        assert!(matches!(
            error,
            IntakeError::BodyTooLarge { size: 10_001, .. }
        ));
        let error = prepare_ndjson(b"{}\n{}\n{}\n{}", None, &limits, &context(&s)).unwrap_err();
        assert!(matches!(
            error,
            IntakeError::TooManyLines { lines: 4, limit: 3 }
        ));
        let long = format!("{{\"message\":\"{}\"}}\n{GOOD}", "x".repeat(400));
        let batch = prepare_ndjson(long.as_bytes(), None, &limits, &context(&s)).unwrap();
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.rejected[0].line, 1);
        assert!(batch.rejected[0].reason.contains("over the 300-byte limit"));
    }

    #[test]
    fn events_over_the_bus_limit_are_refused_alone() {
        let s = stamp();
        let limits = HttpLimits {
            max_event_bytes: 600,
            ..HttpLimits::default()
        };
        let big = format!(
            "{{\"message\":\"{}\"}}\n{{\"message\":\"small\"}}",
            "y".repeat(500)
        );
        let batch = prepare_ndjson(big.as_bytes(), None, &limits, &context(&s)).unwrap();
        assert_eq!(batch.records.len(), 1);
        assert!(
            batch.rejected[0].reason.contains("payload"),
            "{:?}",
            batch.rejected
        );
    }

    #[test]
    fn declared_formats_apply() {
        let mut s = stamp();
        s.expected_formats = vec![Format::Zeek];
        let body = br#"{"ts":1710000000.1,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"example.org"}
{"event_type":"alert"}"#;
        let mut ctx = context(&s);
        ctx.log_name = Some("dns.log");
        let batch = prepare_ndjson(body, None, &HttpLimits::default(), &ctx).unwrap();
        // The record that is not Zeek is read for what it is, kept and flagged.
        assert_eq!(batch.records.len(), 2, "{:?}", batch.rejected);
        assert_eq!(batch.unexpected_format, 1);
        let (_, event) = decode_event(&batch.records[0].payload).unwrap();
        assert_eq!(event.dataset(), Some("zeek.dns"));
        assert!(event.diagnostics().is_empty(), "{:?}", event.diagnostics());
        let (_, event) = decode_event(&batch.records[1].payload).unwrap();
        assert_eq!(event.module(), Some("generic"));
        assert!(
            event
                .diagnostics()
                .iter()
                .any(|d| d.contains("not a format this sensor is registered to send (zeek)")),
            "{:?}",
            event.diagnostics()
        );
        // A format the request asks for is a promise: what breaks it is refused.
        ctx.format = Some(Format::Zeek);
        let batch = prepare_ndjson(
            br#"{"event_type":"alert"}"#,
            None,
            &HttpLimits::default(),
            &ctx,
        )
        .unwrap();
        assert!(batch.records.is_empty());
        assert!(
            batch.rejected[0].reason.contains("Zeek"),
            "{:?}",
            batch.rejected
        );
        // A request parameter overrides the sensor's declaration.
        ctx.format = Some(Format::Cef);
        let batch = prepare_ndjson(
            br#""CEF:0|Acme|Gate|1|100|Blocked|7|src=10.0.0.1""#,
            None,
            &HttpLimits::default(),
            &ctx,
        )
        .unwrap();
        let (_, event) = decode_event(&batch.records[0].payload).unwrap();
        assert_eq!(event.module(), Some("cef"));
    }
}
