//! Parsing and normalisation of the telemetry a CERT receives, into one event
//! model.
//!
//! This crate is pure: no sockets, no files, no clock. Listeners and readers
//! hand it bytes (or parsed JSON) with a [`SourceHint`] saying what they know
//! (the declared format, when the record was received, the tenant and sensor
//! it came from); it returns a [`NormalisedEvent`] or an error naming what is
//! wrong and where.
//!
//! Entry points:
//! - [`normalise`]: one record from bytes (syslog line, CEF, JSON, text);
//! - [`normalise_value`]: one already-parsed JSON record;
//! - [`normalise_lines`] and [`normalise_json_stream`]: many records, with the
//!   bad ones reported by line ([`LineError`]) and the good ones kept;
//! - [`detect_json_format`]: which JSON format a record is;
//! - [`SyslogParser`], [`parse_cef`] and [`FrameDecoder`] (RFC 6587 framing of
//!   a TCP stream) for callers that need the parsers alone.
//!
//! # Example
//!
//! ```
//! use nigehban_normalise::{Format, SourceHint, normalise};
//! use time::macros::datetime;
//!
//! let mut hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
//! hint.tenant_id = Some("org-17".to_string());
//!
//! let line = b"<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for root from 203.0.113.77 port 40022 ssh2";
//! let event = normalise(line, &hint)?;
//! assert_eq!(event.dataset(), Some("syslog"));
//! assert_eq!(event.fields().get_str("log.syslog.appname"), Some("sshd"));
//! assert_eq!(event.tenant_id(), Some("org-17"));
//!
//! let nxlog = br#"{"EventID":4688,"Channel":"security","Hostname":"ws1","SourceName":"Microsoft-Windows-Security-Auditing","NewProcessName":"C:\\Windows\\System32\\cmd.exe"}"#;
//! let event = normalise(nxlog, &hint)?;
//! assert_eq!(event.dataset(), Some("windows.security"));
//! assert_eq!(event.fields().get_str("winlog.channel"), Some("Security"));
//! assert_eq!(event.fields().get_str("host.name"), Some("ws1"));
//! assert_eq!(
//!     event.fields().get_str("winlog.event_data.NewProcessName"),
//!     Some(r"C:\Windows\System32\cmd.exe")
//! );
//! # Ok::<(), nigehban_normalise::NormaliseError>(())
//! ```
//!
//! # Event model
//!
//! *(This section is the one to copy into ARCHITECTURE.md.)*
//!
//! A [`NormalisedEvent`] has four parts:
//!
//! 1. **ECS fields** ([`Fields`]): flat dotted names from the Elastic Common
//!    Schema (`source.ip`, `event.dataset`). Open-ended groups whose member
//!    names come from the record (`winlog.event_data`, `winlog.user_data`,
//!    `cef.extensions`, `log.syslog.structured_data`) are one field holding a
//!    JSON object; [`Fields::get`] also finds `winlog.event_data.Image`.
//! 2. **The original record** ([`Original`]): the bytes exactly as received
//!    (as text when UTF-8, else raw bytes) and, for JSON, the parsed value.
//! 3. **Stamps**: the tenant and sensor ids the caller gives in the hint
//!    (plain strings for now; the tenant's and sensor's ids in the model).
//! 4. **Diagnostics**: what was lenient about reading the record (a missing
//!    PRI, an unreadable timestamp replaced by the receive time), so that
//!    nothing is changed silently.
//!
//! Fields set, by source (a field is absent when the record does not say):
//!
//! | group | fields |
//! | --- | --- |
//! | every event | `@timestamp` (when it happened; the receive time if the record does not say), `event.ingested` (receive time), `event.kind` (`event`, `alert`, `metric`, `pipeline_error`), `event.module`, `event.dataset`, `event.category[]`, `event.type[]`, `related.ip[]`, `related.hosts[]`, `related.user[]`, `related.hash[]`, `host.os.type` (from the record or the hint), `log.source.address` (from the hint) |
//! | syslog | `log.syslog.priority`, `log.syslog.facility.code`/`.name`, `log.syslog.severity.code`/`.name`, `log.syslog.version`, `log.syslog.hostname`, `log.syslog.appname`, `log.syslog.procid`, `log.syslog.msgid`, `log.syslog.structured_data` (`{SD-ID: {name: value or [values]}}`), `host.name`, `host.hostname`, `process.name`, `process.pid`, `message`, `event.severity` (syslog severity code), `event.timezone` |
//! | sshd logons (syslog from `sshd`, `sshd-session`) | `event.category: [authentication]`, `event.type: [start]`, `event.action: ssh_login`, `event.outcome` (`failure`, `success`), `event.reason` (the method: `password`, `publickey`, ...), `user.name`, `source.ip`, `source.port` (from `Failed ...` and `Accepted ...` lines) |
//! | CEF | `cef.version`, `cef.device.vendor`/`.product`/`.version`/`.event_class_id`, `cef.name`, `cef.severity`, `cef.extensions` (`{key: value}`), `observer.vendor`/`.product`/`.version`/`.ip`/`.hostname`/`.name`, `event.code`, `event.severity` (0-10), `event.action`, `event.outcome`, `event.reason`, `event.id`, `event.start`, `event.end`, `message`, `source.ip`/`.port`/`.domain`/`.mac`/`.bytes`/`.user.name`, `destination.*` (same), `user.name`, `network.transport`, `network.protocol`, `url.original`, `http.request.method`, `user_agent.original`, `file.name`/`.path`/`.size`/`.hash.sha256`, `process.name`/`.pid` |
//! | network (Suricata, Zeek) | `source.ip`/`.port`/`.bytes`/`.packets`, `destination.*` (same), `network.transport`, `network.protocol`, `network.community_id`, `network.vlan.id`, `network.bytes`/`.packets`, `observer.vendor`/`.product`/`.type`/`.hostname`, `event.start`, `event.end`, `event.duration` (ns), `zeek.session_id` |
//! | IDS alerts | `rule.id` (signature id), `rule.name` (signature), `rule.category`, `rule.version` (rev), `rule.ruleset` (gid), `event.severity`, `event.action`, `message` |
//! | DNS | `dns.type`, `dns.id`, `dns.question.name`/`.type`/`.class`, `dns.response_code`, `dns.header_flags[]`, `dns.answers[]` (`{name, type, ttl, data}`), `dns.resolved_ip[]` |
//! | HTTP | `url.original`/`.domain`/`.path`/`.query`, `http.request.method`, `http.request.referrer`, `http.request.body.bytes`, `http.response.status_code`/`.mime_type`/`.body.bytes`, `http.version`, `user_agent.original` |
//! | TLS, X.509 | `tls.version`, `tls.version_protocol`, `tls.cipher`, `tls.curve`, `tls.established`, `tls.resumed`, `tls.client.server_name`, `tls.client.ja3`, `tls.server.ja3s`, `tls.server.subject`/`.issuer`/`.not_before`/`.not_after`/`.hash.sha1`/`.x509.serial_number`; `x509.subject.distinguished_name`, `x509.issuer.distinguished_name`, `x509.serial_number`, `x509.not_before`/`.not_after`, `x509.alternative_names`, `x509.signature_algorithm`, `x509.public_key_algorithm` |
//! | files | `file.name`, `file.path`, `file.size`, `file.mime_type`, `file.hash.md5`/`.sha1`/`.sha256` |
//! | Windows | `winlog.channel` (canonical casing), `winlog.event_id`, `winlog.provider_name`, `winlog.provider_guid` (`{UPPER}`), `winlog.computer_name`, `winlog.record_id`, `winlog.level`, `winlog.task`, `winlog.task_name`, `winlog.opcode`, `winlog.opcode_name`, `winlog.version`, `winlog.keywords` (`0x…`), `winlog.process.pid`, `winlog.process.thread.id`, `winlog.user.identifier`, `winlog.activity_id`, `winlog.logon.type`, `winlog.event_data` (every EventData field, as text), `winlog.user_data`; `event.code`, `event.provider`, `event.outcome` (audit success/failure), `host.name`, `host.os.type`/`.family` = `windows`, `message`, and from the event data `process.executable`/`.name`/`.pid`/`.command_line`/`.entity_id`/`.hash.*`, `process.parent.executable`/`.name`/`.pid`/`.command_line`, `user.name`/`.domain`/`.id`, `source.ip`/`.port`/`.domain`, `destination.ip`/`.port`/`.domain`, `network.transport`, `file.path`/`.name`, `registry.path`, `dns.question.name` |
//! | unparsed | `error.message` |
//!
//! `event.module` / `event.dataset` values:
//!
//! | source | `event.module` | `event.dataset` |
//! | --- | --- | --- |
//! | syslog (RFC 5424 or 3164) | `syslog` | `syslog` |
//! | CEF, alone or inside syslog | `cef` | `cef` |
//! | Suricata EVE | `suricata` | `suricata.<event_type>` (`suricata.alert`, `suricata.dns`, `suricata.http`, `suricata.tls`, `suricata.flow`, `suricata.fileinfo`, `suricata.stats`, ...) |
//! | Zeek | `zeek` | `zeek.<log>` from `_path`, `@stream`, the hint's log name, or the fields (`zeek.conn`, `zeek.dns`, `zeek.http`, `zeek.ssl`, `zeek.x509`, `zeek.files`, `zeek.notice`, ..., `zeek.unknown`) |
//! | Windows (any layout) | `windows` | `windows.` + channel in lower case without `Microsoft-Windows-`, other characters as `_`: `windows.security`, `windows.system`, `windows.application`, `windows.sysmon_operational`, `windows.powershell` (Windows PowerShell), `windows.powershell_operational`, `windows.taskscheduler_operational`, ...; `windows.unknown` without a channel |
//! | other JSON | the record's own `event.module`/`event.dataset` when it has them (ECS-shaped JSON), else `generic` | the record's own, else `generic.json` |
//! | other text | `generic` | `generic.text` |
//! | unparsed record | `generic` | `generic.unparsed` |
//!
//! `host.os.type` is `windows` for every Windows event and otherwise what the
//! hint says ([`SourceHint::host_os_type`], e.g. `linux` for a Linux syslog
//! sensor).
//!
//! This crate knows nothing of Sigma: detection (`nigehban-detect`) shows
//! events to Sigma rules, reading the original record and these fields.

mod batch;
mod cef;
pub mod envelope;
mod error;
mod event;
pub mod framing;
mod json;
pub mod json_text;
mod parse;
mod sshd;
mod suricata;
mod syslog;
mod timestamp;
mod windows;
mod zeek;

use serde_json::{Map, Value};
use time::{OffsetDateTime, UtcOffset};

pub use batch::{Batch, LineError, normalise_json_stream, normalise_lines};
pub use cef::{CefError, CefErrorKind, CefMode, CefRecord, HEADER_FIELDS, find_cef, parse_cef};
pub use error::NormaliseError;
pub use event::{FieldName, Fields, NormalisedEvent, Original, SourceFormat};
pub use framing::{Frame, FrameDecoder, Framing, FramingError, FramingErrorKind};
pub use json::{JsonFormat, detect_json_format};
pub use syslog::{
    DEFAULT_PRIORITY, SdElement, SdParam, SyslogError, SyslogErrorKind, SyslogFlavour,
    SyslogMessage, SyslogParser, facility_name, severity_name,
};
pub use windows::{
    canonical_channel, canonical_guid_in, is_guid, is_guid_field, is_windows_flat_metadata,
    windows_dataset, windows_keywords_text,
};

/// The format a caller declares for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Recognise it: JSON (then [`detect_json_format`]), syslog (a `<PRI>`,
    /// or a timestamp and host), CEF, or else plain text.
    #[default]
    Auto,
    /// Syslog (RFC 5424 or 3164), leniently; CEF inside the message is read too.
    Syslog,
    /// CEF, alone or after a syslog header; an invalid CEF part is an error.
    Cef,
    /// Any JSON record (format detected).
    Json,
    /// Suricata EVE JSON; other JSON is an error.
    SuricataEve,
    /// Zeek JSON; other JSON is an error.
    Zeek,
    /// A Windows event in any JSON layout; other JSON is an error.
    WindowsJson,
    /// Plain text, kept as a generic event.
    Text,
}

/// What the caller knows about a record that the record may not say.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHint {
    /// The declared format.
    pub format: Format,
    /// When the record was received (never read from a clock here).
    pub received_at: OffsetDateTime,
    /// The sender's UTC offset, for timestamps written without a zone (BSD
    /// syslog, NXLog's `EventTime`). `None`: UTC, except that NXLog's
    /// shipper-written `@timestamp` is preferred to a zone-less `EventTime`.
    pub utc_offset: Option<UtcOffset>,
    /// The tenant the record belongs to.
    pub tenant_id: Option<String>,
    /// The sensor that sent it.
    pub sensor_id: Option<String>,
    /// `host.os.type` for events that do not say (`linux`, `windows`, `macos`).
    pub host_os_type: Option<String>,
    /// The name of the log the record came from (a file name such as
    /// `dns.log`), which names Zeek logs that lack `_path`.
    pub log_name: Option<String>,
    /// The sender's address as the listener saw it (`log.source.address`).
    pub source_address: Option<String>,
    /// How strictly CEF is read.
    pub cef_mode: CefMode,
    /// Whether syslog must follow RFC 5424 to the letter.
    pub strict_syslog: bool,
}

impl SourceHint {
    /// A hint with only the format and the receive time.
    pub fn new(format: Format, received_at: OffsetDateTime) -> Self {
        SourceHint {
            format,
            received_at,
            utc_offset: None,
            tenant_id: None,
            sensor_id: None,
            host_os_type: None,
            log_name: None,
            source_address: None,
            cef_mode: CefMode::Strict,
            strict_syslog: false,
        }
    }

    fn syslog_parser(&self) -> SyslogParser {
        SyslogParser {
            received_at: self.received_at,
            utc_offset: self.utc_offset.unwrap_or(UtcOffset::UTC),
            strict: self.strict_syslog,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Normalises one record given as bytes.
///
/// Errors only when the record is empty, when JSON does not parse, or when it
/// is not the format the hint declares (for [`Format::Auto`], text that is
/// neither syslog nor CEF is kept as a generic event, and JSON of no known
/// format as a generic JSON event). An invalid CEF part inside syslog is not
/// an error unless the hint declares CEF: the syslog event is kept, without
/// `cef.*` fields, with the reason in its diagnostics.
pub fn normalise(input: &[u8], hint: &SourceHint) -> Result<NormalisedEvent, NormaliseError> {
    let content = input.strip_prefix(BOM).unwrap_or(input);
    let content = content.trim_ascii();
    if content.is_empty() {
        return Err(NormaliseError::Empty);
    }
    let looks_like_json = matches!(content[0], b'{' | b'[');
    let event = match hint.format {
        Format::Json | Format::SuricataEve | Format::Zeek | Format::WindowsJson => {
            from_json_bytes(input, content, hint)?
        }
        Format::Auto if looks_like_json => from_json_bytes(input, content, hint)?,
        Format::Auto => from_text_auto(input, hint)?,
        Format::Syslog => {
            let message = hint.syslog_parser().parse(input)?;
            from_syslog(input, message, hint, false)?
        }
        Format::Cef => from_cef_text(input, hint)?,
        Format::Text => generic_text(input, hint),
    };
    Ok(finish(event, hint))
}

/// Normalises one JSON record that the caller has already parsed (the
/// original text is then not available, only the value).
pub fn normalise_value(value: Value, hint: &SourceHint) -> Result<NormalisedEvent, NormaliseError> {
    let event = json::normalise_json(value, Original::default(), hint)?;
    Ok(finish(event, hint))
}

/// A parsed JSON record with its raw text (for the batch readers).
pub(crate) fn normalise_parsed_json(
    value: Value,
    raw: &[u8],
    hint: &SourceHint,
) -> Result<NormalisedEvent, NormaliseError> {
    let event = json::normalise_json(value, Original::from_bytes(raw), hint)?;
    Ok(finish(event, hint))
}

fn from_json_bytes(
    input: &[u8],
    content: &[u8],
    hint: &SourceHint,
) -> Result<NormalisedEvent, NormaliseError> {
    let value = parse::parse_value(content).map_err(|error| NormaliseError::from_json(&error))?;
    json::normalise_json(value, Original::from_bytes(input), hint)
}

/// Text of undeclared format: syslog if it has a PRI or a recognisable
/// header, CEF if it is CEF, otherwise generic text.
fn from_text_auto(input: &[u8], hint: &SourceHint) -> Result<NormalisedEvent, NormaliseError> {
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"CEF:") {
        let text = String::from_utf8_lossy(trimmed);
        return Ok(match parse_cef(text.trim_end(), hint.cef_mode) {
            Ok(record) => cef_event(input, &record, hint),
            Err(error) => {
                let mut event = generic_text(input, hint);
                event.push_diagnostic(format!(
                    "the text starts like CEF but is not valid CEF ({error}); kept as text"
                ));
                event
            }
        });
    }
    let parser = SyslogParser {
        strict: false,
        ..hint.syslog_parser()
    };
    match parser.parse(input) {
        Ok(message)
            if message.priority.is_some()
                || message.timestamp.is_some()
                || message.hostname.is_some() =>
        {
            from_syslog(input, message, hint, false)
        }
        _ => Ok(generic_text(input, hint)),
    }
}

/// Text declared CEF: CEF alone, or after a syslog header.
fn from_cef_text(input: &[u8], hint: &SourceHint) -> Result<NormalisedEvent, NormaliseError> {
    let trimmed = input.trim_ascii();
    if trimmed.starts_with(b"CEF:") {
        let text = std::str::from_utf8(trimmed).map_err(|error| {
            NormaliseError::Cef(CefError {
                offset: error.valid_up_to(),
                kind: CefErrorKind::InvalidEscape {
                    field: "record".to_string(),
                    sequence: "(invalid UTF-8)".to_string(),
                },
            })
        })?;
        let record = parse_cef(text, hint.cef_mode)?;
        return Ok(cef_event(input, &record, hint));
    }
    let message = hint.syslog_parser().parse(input)?;
    from_syslog(input, message, hint, true)
}

fn cef_event(input: &[u8], record: &CefRecord, hint: &SourceHint) -> NormalisedEvent {
    let mut fields = Fields::new();
    let at = cef::cef_fields(record, &mut fields);
    fields.put_time("@timestamp", at.unwrap_or(hint.received_at));
    fields.insert("event.kind", "event");
    fields.insert("event.module", "cef");
    fields.insert("event.dataset", "cef");
    NormalisedEvent::new(SourceFormat::Cef, fields, Original::from_bytes(input))
}

/// A syslog message as an event; a CEF record in its message is read too
/// (and must be valid when `cef_required`).
fn from_syslog(
    input: &[u8],
    message: SyslogMessage,
    hint: &SourceHint,
    cef_required: bool,
) -> Result<NormalisedEvent, NormaliseError> {
    let mut fields = Fields::new();
    syslog_fields(&message, hint, &mut fields);
    let mut format = match message.flavour {
        SyslogFlavour::Rfc5424 => SourceFormat::Syslog5424,
        SyslogFlavour::Rfc3164 => SourceFormat::Syslog3164,
    };
    let mut diagnostics = message.diagnostics;
    match find_cef(&message.message) {
        Some(at) => match parse_cef(message.message[at..].trim_end(), hint.cef_mode) {
            Ok(record) => {
                if let Some(at) = cef::cef_fields(&record, &mut fields)
                    && message.timestamp.is_none()
                {
                    fields.put_time("@timestamp", at);
                }
                fields.insert("event.module", "cef");
                fields.insert("event.dataset", "cef");
                format = SourceFormat::Cef;
            }
            Err(error) => {
                if cef_required {
                    return Err(NormaliseError::Cef(CefError {
                        offset: error.offset + at,
                        kind: error.kind,
                    }));
                }
                diagnostics.push(format!(
                    "the CEF record in the message is invalid and was not read ({error}); the message is kept as text"
                ));
            }
        },
        None if cef_required => {
            return Err(NormaliseError::Cef(CefError {
                offset: 0,
                kind: CefErrorKind::NotCef,
            }));
        }
        None => {}
    }
    let mut event = NormalisedEvent::new(format, fields, Original::from_bytes(input));
    for diagnostic in diagnostics {
        event.push_diagnostic(diagnostic);
    }
    Ok(event)
}

fn syslog_fields(message: &SyslogMessage, hint: &SourceHint, fields: &mut Fields) {
    fields.put_time("@timestamp", message.timestamp.unwrap_or(hint.received_at));
    fields.insert("event.kind", "event");
    fields.insert("event.module", "syslog");
    fields.insert("event.dataset", "syslog");
    let facility = message.facility();
    let severity = message.severity();
    fields.put_u64(
        "log.syslog.priority",
        u64::from(message.priority.unwrap_or(DEFAULT_PRIORITY)),
    );
    fields.put_u64("log.syslog.facility.code", u64::from(facility));
    fields.insert("log.syslog.facility.name", facility_name(facility));
    fields.put_u64("log.syslog.severity.code", u64::from(severity));
    fields.insert("log.syslog.severity.name", severity_name(severity));
    fields.put_u64("event.severity", u64::from(severity));
    if let Some(version) = message.version {
        fields.put_u64("log.syslog.version", u64::from(version));
    }
    fields.put_str("log.syslog.hostname", message.hostname.as_deref());
    fields.put_str("host.hostname", message.hostname.as_deref());
    fields.put_str("host.name", message.hostname.as_deref());
    fields.put_str("log.syslog.appname", message.appname.as_deref());
    fields.put_str("process.name", message.appname.as_deref());
    fields.put_str("log.syslog.procid", message.procid.as_deref());
    if let Some(pid) = message
        .procid
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok())
    {
        fields.put_u64("process.pid", pid);
    }
    fields.put_str("log.syslog.msgid", message.msgid.as_deref());
    fields.put_str("event.timezone", message.timezone.as_deref());
    fields.put_str("message", Some(&message.message));
    if message.appname.as_deref().is_some_and(sshd::is_sshd) {
        sshd::logon_fields(&message.message, fields);
    }
    if !message.structured_data.is_empty() {
        let mut data = Map::new();
        for element in &message.structured_data {
            let entry = data
                .entry(element.id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(params) = entry else {
                continue;
            };
            for param in &element.params {
                match params.get_mut(&param.name) {
                    // A repeated PARAM-NAME keeps every value, in order.
                    Some(Value::Array(values)) => values.push(Value::String(param.value.clone())),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = Value::Array(vec![first, Value::String(param.value.clone())]);
                    }
                    None => {
                        params.insert(param.name.clone(), Value::String(param.value.clone()));
                    }
                }
            }
        }
        fields.insert("log.syslog.structured_data", Value::Object(data));
    }
}

fn generic_text(input: &[u8], hint: &SourceHint) -> NormalisedEvent {
    let mut fields = Fields::new();
    fields.put_time("@timestamp", hint.received_at);
    fields.insert("event.kind", "event");
    fields.insert("event.module", "generic");
    fields.insert("event.dataset", "generic.text");
    let text = String::from_utf8_lossy(syslog::trim_frame_end(input));
    fields.put_str("message", Some(&text));
    NormalisedEvent::new(
        SourceFormat::GenericText,
        fields,
        Original::from_bytes(input),
    )
}

/// What every event gets: the receive time, the caller's stamps, the OS type
/// from the hint, the sender address, and the `related.*` fields.
fn finish(mut event: NormalisedEvent, hint: &SourceHint) -> NormalisedEvent {
    let fields = event.fields_mut();
    fields.put_time("event.ingested", hint.received_at);
    if !fields.contains("host.os.type") {
        fields.put_str("host.os.type", hint.host_os_type.as_deref());
    }
    fields.put_str("log.source.address", hint.source_address.as_deref());
    fields.fill_related();
    event.set_tenant_id(hint.tenant_id.clone());
    event.set_sensor_id(hint.sensor_id.clone());
    event
}
