//! Syslog messages: RFC 5424, and RFC 3164 with the variants real senders use.
//!
//! This is the parser for one message's text; cutting a TCP stream into
//! messages is [`crate::framing`]'s job.
//!
//! The parser is lenient by default, because a national CERT cannot choose
//! its senders: a message without PRI gets `<13>` (user.notice) as RFC 3164
//! section 4.3.3 directs; an unreadable timestamp is replaced by the receive
//! time; structured data that does not parse stays in the message. Each such
//! accommodation is written to [`SyslogMessage::diagnostics`], so nothing is
//! silently changed. [`SyslogParser::strict`] turns the RFC 5424 rules into
//! errors instead.
//!
//! RFC 3164 variants read:
//! - no PRI, no timestamp, no hostname (the whole text is the message);
//! - `Mmm dd hh:mm:ss` with one- or two-digit day, a fraction of a second,
//!   a year after the time, or a zone abbreviation and year
//!   (`Aug 24 05:34:00 CST 1987`), and Cisco's `Mmm dd yyyy hh:mm:ss`;
//! - an RFC 3339 timestamp in place of the BSD one (rsyslog's forwarding
//!   format without the version);
//! - a missing hostname (the first word is already `app:` or `app[pid]:`);
//! - the tag forms `app:`, `app[pid]:`, `app[pid]` and `path/app[pid]:`.
//!
//! A year-less BSD timestamp gets the year nearest the receive time that puts
//! it at most a day after it (messages tell the past: `Mar 15` received in
//! December is this March, not next), and a zone-less one the sensor's
//! configured offset.

mod rfc3164;
mod rfc5424;

use time::{OffsetDateTime, UtcOffset};

use crate::timestamp;

/// Reads syslog messages; holds what a message alone cannot say (when it was
/// received, the sender's UTC offset) and how strict to be.
#[derive(Debug, Clone, Copy)]
pub struct SyslogParser {
    /// When the message was received: completes year-less timestamps.
    pub received_at: OffsetDateTime,
    /// The sender's offset from UTC, for timestamps that carry no zone.
    pub utc_offset: UtcOffset,
    /// Whether RFC 5424 violations are errors rather than diagnostics.
    pub strict: bool,
}

impl SyslogParser {
    /// A lenient parser for messages received at `received_at` from a sender in UTC.
    pub fn new(received_at: OffsetDateTime) -> Self {
        SyslogParser {
            received_at,
            utc_offset: UtcOffset::UTC,
            strict: false,
        }
    }

    /// The same parser, strict about RFC 5424.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// Parses one message (trailing CR, LF and NUL bytes, remnants of framing,
    /// are ignored).
    pub fn parse(&self, input: &[u8]) -> Result<SyslogMessage, SyslogError> {
        let input = trim_frame_end(input);
        if input.iter().all(u8::is_ascii_whitespace) {
            return Err(SyslogError::new(0, SyslogErrorKind::Empty));
        }
        let mut message = SyslogMessage::default();
        let mut pos = 0;
        match read_pri(input) {
            Pri::Valid { value, len } => {
                message.priority = Some(value);
                pos = len;
            }
            Pri::Absent => {
                if self.strict {
                    return Err(SyslogError::new(0, SyslogErrorKind::MissingPri));
                }
                message.diagnostics.push(
                    "no PRI: facility user and severity notice assumed (RFC 3164 section 4.3.3)"
                        .to_string(),
                );
            }
            Pri::Invalid { len } => {
                let text = String::from_utf8_lossy(&input[..len]).into_owned();
                if self.strict {
                    return Err(SyslogError::new(0, SyslogErrorKind::InvalidPri(text)));
                }
                message.diagnostics.push(format!(
                    "invalid PRI {text:?} kept as part of the message; facility user and severity notice assumed"
                ));
            }
        }
        match rfc5424::read_version(input, pos) {
            Some((version, after)) => {
                message.flavour = SyslogFlavour::Rfc5424;
                message.version = Some(version);
                rfc5424::parse(self, input, after, &mut message)?;
            }
            None => {
                if self.strict {
                    return Err(SyslogError::new(pos, SyslogErrorKind::MissingVersion));
                }
                message.flavour = SyslogFlavour::Rfc3164;
                rfc3164::parse(self, input, pos, &mut message);
            }
        }
        Ok(message)
    }
}

/// Which layout a message was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFlavour {
    /// RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`).
    Rfc5424,
    /// RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: CONTENT`) and its variants.
    #[default]
    Rfc3164,
}

/// One parsed syslog message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyslogMessage {
    /// The layout the message was written in.
    pub flavour: SyslogFlavour,
    /// PRI as sent (0..=191); `None` when the message had none.
    pub priority: Option<u8>,
    /// The RFC 5424 VERSION; `None` for RFC 3164.
    pub version: Option<u16>,
    /// When the message says it was written, in the offset it was written in.
    pub timestamp: Option<OffsetDateTime>,
    /// A zone abbreviation written after a BSD timestamp (`CST`), as written.
    pub timezone: Option<String>,
    /// HOSTNAME.
    pub hostname: Option<String>,
    /// APP-NAME, or the RFC 3164 TAG.
    pub appname: Option<String>,
    /// PROCID, or the `[pid]` after an RFC 3164 TAG.
    pub procid: Option<String>,
    /// MSGID (RFC 5424 only).
    pub msgid: Option<String>,
    /// STRUCTURED-DATA elements in order (RFC 5424 only).
    pub structured_data: Vec<SdElement>,
    /// The free-text message: RFC 5424 MSG without its BOM, or the RFC 3164
    /// CONTENT after the tag.
    pub message: String,
    /// Whether an RFC 5424 MSG started with the UTF-8 BOM.
    pub bom: bool,
    /// What was lenient about reading the message, one sentence each.
    pub diagnostics: Vec<String>,
}

/// One RFC 5424 SD-ELEMENT: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    /// SD-ID (`exampleSDID@32473`, `timeQuality`, ...).
    pub id: String,
    /// SD-PARAMs in order; a name may repeat.
    pub params: Vec<SdParam>,
}

/// One SD-PARAM with its value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParam {
    /// PARAM-NAME.
    pub name: String,
    /// PARAM-VALUE with `\"`, `\\` and `\]` unescaped.
    pub value: String,
}

impl SyslogMessage {
    /// The facility code (0..=23); user (1) when the message had no PRI.
    pub fn facility(&self) -> u8 {
        self.priority.unwrap_or(DEFAULT_PRIORITY) >> 3
    }

    /// The severity code (0..=7); notice (5) when the message had no PRI.
    pub fn severity(&self) -> u8 {
        self.priority.unwrap_or(DEFAULT_PRIORITY) & 7
    }

    /// The message in RFC 5424 form (what a relay would forward).
    ///
    /// Header fields that are absent or empty are written as NILVALUE; spaces
    /// inside them (possible only in leniently read messages) become `_`, as
    /// the header has no way to carry them. The timestamp is written to the
    /// microsecond, the most RFC 5424 allows.
    pub fn to_rfc5424(&self) -> String {
        let mut out = String::with_capacity(64 + self.message.len());
        out.push('<');
        out.push_str(&self.priority.unwrap_or(DEFAULT_PRIORITY).to_string());
        out.push('>');
        out.push_str(&self.version.unwrap_or(1).to_string());
        out.push(' ');
        match self.timestamp {
            Some(at) => {
                let micros = at.nanosecond() / 1000 * 1000;
                let at = at.replace_nanosecond(micros).unwrap_or(at);
                out.push_str(&timestamp::format_rfc3339(at));
            }
            None => out.push('-'),
        }
        for field in [&self.hostname, &self.appname, &self.procid, &self.msgid] {
            out.push(' ');
            match field.as_deref().filter(|f| !f.is_empty()) {
                Some(text) => out.extend(text.chars().map(|c| if c == ' ' { '_' } else { c })),
                None => out.push('-'),
            }
        }
        out.push(' ');
        if self.structured_data.is_empty() {
            out.push('-');
        }
        for element in &self.structured_data {
            out.push('[');
            out.push_str(&element.id);
            for param in &element.params {
                out.push(' ');
                out.push_str(&param.name);
                out.push_str("=\"");
                for c in param.value.chars() {
                    if matches!(c, '"' | '\\' | ']') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            out.push(']');
        }
        if self.bom || !self.message.is_empty() {
            out.push(' ');
            if self.bom {
                out.push('\u{feff}');
            }
            out.push_str(&self.message);
        }
        out
    }
}

/// The PRI RFC 3164 section 4.3.3 assigns to a message that has none: user.notice.
pub const DEFAULT_PRIORITY: u8 = 13;

/// The keyword of a facility code as syslog.h and most tools write it.
pub fn facility_name(code: u8) -> &'static str {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("unknown")
}

/// The keyword of a severity code as syslog.h and most tools write it.
pub fn severity_name(code: u8) -> &'static str {
    const NAMES: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("unknown")
}

/// A syslog message that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct SyslogError {
    /// Byte offset within the message where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub kind: SyslogErrorKind,
}

impl SyslogError {
    pub(crate) fn new(offset: usize, kind: SyslogErrorKind) -> Self {
        SyslogError { offset, kind }
    }
}

/// What is wrong with a syslog message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyslogErrorKind {
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// No `<PRI>` at the start (strict mode).
    #[error("no PRI: the message must start with <0> to <191>")]
    MissingPri,
    /// A `<...>` that is not a PRI (strict mode).
    #[error("invalid PRI {0:?}: expected <0> to <191>")]
    InvalidPri(String),
    /// No RFC 5424 VERSION after the PRI (strict mode).
    #[error("no VERSION after PRI (not an RFC 5424 message)")]
    MissingVersion,
    /// The message ended before a header field (strict mode).
    #[error("message ends before {0}")]
    MissingField(&'static str),
    /// A header field is not followed by exactly one space (strict mode).
    #[error("expected one space before {0}")]
    ExpectedSpace(&'static str),
    /// A header field breaks RFC 5424's character or length rules (strict mode).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which header field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The TIMESTAMP is not RFC 3339 (strict mode).
    #[error("invalid TIMESTAMP {0:?}")]
    InvalidTimestamp(String),
    /// STRUCTURED-DATA does not parse (strict mode).
    #[error("invalid STRUCTURED-DATA: {0}")]
    InvalidStructuredData(String),
    /// MSG with a BOM is not UTF-8 (strict mode).
    #[error("MSG starts with a BOM but is not valid UTF-8")]
    InvalidUtf8,
}

/// What the start of a message holds in place of a PRI.
enum Pri {
    Valid { value: u8, len: usize },
    Absent,
    Invalid { len: usize },
}

fn read_pri(input: &[u8]) -> Pri {
    if input.first() != Some(&b'<') {
        return Pri::Absent;
    }
    let digits = input[1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || input.get(1 + digits) != Some(&b'>') {
        // `<` then something else: not a PRI at all, part of the message.
        return if digits == 0 || digits > 3 {
            Pri::Absent
        } else {
            Pri::Invalid { len: 1 + digits }
        };
    }
    let len = digits + 2;
    let value = input[1..1 + digits]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    match u8::try_from(value) {
        Ok(value) if value <= 191 && digits <= 3 => Pri::Valid { value, len },
        _ => Pri::Invalid { len },
    }
}

/// The message without trailing CR, LF or NUL bytes.
pub(crate) fn trim_frame_end(mut input: &[u8]) -> &[u8] {
    while let Some((last, rest)) = input.split_last() {
        if matches!(last, b'\n' | b'\r' | b'\0') {
            input = rest;
        } else {
            break;
        }
    }
    input
}

/// Text from bytes, noting in `diagnostics` when it was not UTF-8.
fn text_of(bytes: &[u8], what: &str, diagnostics: &mut Vec<String>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(error) => {
            diagnostics.push(format!(
                "{what} is not valid UTF-8 (first bad byte at {}): invalid bytes replaced by U+FFFD",
                error.valid_up_to()
            ));
            String::from_utf8_lossy(bytes).into_owned()
        }
    }
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
    fn pri_forms() {
        assert!(matches!(
            read_pri(b"<34>1"),
            Pri::Valid { value: 34, len: 4 }
        ));
        assert!(matches!(read_pri(b"<0>x"), Pri::Valid { value: 0, len: 3 }));
        assert!(matches!(
            read_pri(b"<191>x"),
            Pri::Valid { value: 191, len: 5 }
        ));
        assert!(matches!(read_pri(b"<192>x"), Pri::Invalid { len: 5 }));
        assert!(matches!(read_pri(b"<12"), Pri::Invalid { len: 3 }));
        assert!(matches!(read_pri(b"<html>"), Pri::Absent));
        assert!(matches!(read_pri(b"hello"), Pri::Absent));
        assert!(matches!(read_pri(b"<12345>"), Pri::Absent));
    }

    #[test]
    fn names_of_codes() {
        assert_eq!(facility_name(4), "auth");
        assert_eq!(facility_name(23), "local7");
        assert_eq!(facility_name(99), "unknown");
        assert_eq!(severity_name(5), "notice");
    }

    #[test]
    fn trailing_framing_bytes_are_ignored() {
        let message = parse("<13>1 - host app - - - hello\r\n\0");
        assert_eq!(message.message, "hello");
    }

    #[test]
    fn empty_input_is_an_error() {
        let parser = SyslogParser::new(datetime!(2024-03-15 12:00 UTC));
        assert_eq!(
            parser.parse(b"  \n").unwrap_err().kind,
            SyslogErrorKind::Empty
        );
    }

    #[test]
    fn an_invalid_pri_stays_in_the_message() {
        let message = parse("<999>Oct 11 22:14:15 host app: hi");
        assert_eq!(message.priority, None);
        assert_eq!(message.message, "<999>Oct 11 22:14:15 host app: hi");
        assert_eq!(message.diagnostics.len(), 1);
        let strict = SyslogParser::new(datetime!(2024-03-15 12:00 UTC)).strict();
        assert!(matches!(
            strict.parse(b"<999>1 - - - - - -").unwrap_err().kind,
            SyslogErrorKind::InvalidPri(_)
        ));
    }

    #[test]
    fn rendering_escapes_structured_data() {
        let message =
            parse(r#"<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a@1 x="q\"b\\c\]d"] msg"#);
        assert_eq!(message.structured_data[0].params[0].value, r#"q"b\c]d"#);
        assert_eq!(
            message.to_rfc5424(),
            r#"<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a@1 x="q\"b\\c\]d"] msg"#
        );
    }
}
