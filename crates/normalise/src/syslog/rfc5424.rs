//! The RFC 5424 layout: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
//! PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.

use super::{
    SdElement, SdParam, SyslogError, SyslogErrorKind, SyslogMessage, SyslogParser, text_of,
};
use crate::timestamp;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `VERSION SP` at `pos` when what follows could be an RFC 5424
/// TIMESTAMP (`-` or a digit). Returns the version and the position of the space.
///
/// The look-ahead keeps RFC 3164 messages whose text starts with a number
/// (`<0>1990 Oct 22 ...`, `<13>1 apple`) out of this parser.
pub(super) fn read_version(input: &[u8], pos: usize) -> Option<(u16, usize)> {
    let rest = input.get(pos..)?;
    let digits = rest
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=3).contains(&digits) || rest[0] == b'0' {
        return None;
    }
    if rest.get(digits) != Some(&b' ') {
        return None;
    }
    match rest.get(digits + 1) {
        Some(b'-' | b'0'..=b'9') => {}
        _ => return None,
    }
    let version = rest[..digits]
        .iter()
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    Some((version, pos + digits))
}

/// The header fields after VERSION, in order, with RFC 5424's limits.
const HEADER: [(&str, usize); 4] = [
    ("HOSTNAME", 255),
    ("APP-NAME", 48),
    ("PROCID", 128),
    ("MSGID", 32),
];

/// Parses from the space after VERSION to the end.
pub(super) fn parse(
    parser: &SyslogParser,
    input: &[u8],
    mut pos: usize,
    message: &mut SyslogMessage,
) -> Result<(), SyslogError> {
    // TIMESTAMP
    let Some((start, token)) = next_token(parser, input, &mut pos, "TIMESTAMP")? else {
        return Ok(());
    };
    if token != b"-" {
        let text = String::from_utf8_lossy(token);
        match timestamp::parse_iso8601(&text) {
            Some(parsed) => {
                if parsed.offset.is_none() {
                    if parser.strict {
                        return Err(SyslogError::new(
                            start,
                            SyslogErrorKind::InvalidTimestamp(text.into_owned()),
                        ));
                    }
                    message.diagnostics.push(format!(
                        "TIMESTAMP {text:?} has no zone: read in the sender's configured offset"
                    ));
                }
                let offset = parsed.offset.unwrap_or(parser.utc_offset);
                message.timestamp = Some(parsed.local.assume_offset(offset));
            }
            None => {
                if parser.strict {
                    return Err(SyslogError::new(
                        start,
                        SyslogErrorKind::InvalidTimestamp(text.into_owned()),
                    ));
                }
                message.diagnostics.push(format!(
                    "unreadable TIMESTAMP {text:?}: the receive time is used"
                ));
            }
        }
    }
    // HOSTNAME, APP-NAME, PROCID, MSGID
    for (index, (name, limit)) in HEADER.into_iter().enumerate() {
        let Some((start, token)) = next_token(parser, input, &mut pos, name)? else {
            return Ok(());
        };
        if token == b"-" {
            continue;
        }
        if parser.strict {
            check_header_field(name, limit, token, start)?;
        }
        let value = text_of(token, name, &mut message.diagnostics);
        match index {
            0 => message.hostname = Some(value),
            1 => message.appname = Some(value),
            2 => message.procid = Some(value),
            _ => message.msgid = Some(value),
        }
    }
    // STRUCTURED-DATA
    if pos >= input.len() {
        if parser.strict {
            return Err(SyslogError::new(
                pos,
                SyslogErrorKind::MissingField("STRUCTURED-DATA"),
            ));
        }
        message
            .diagnostics
            .push("message ends before STRUCTURED-DATA".to_string());
        return Ok(());
    }
    skip_separator(parser, input, &mut pos, "STRUCTURED-DATA")?;
    let sd_start = pos;
    match input.get(pos) {
        Some(b'-') if matches!(input.get(pos + 1), None | Some(b' ')) => pos += 1,
        Some(b'[') => match parse_structured_data(input, pos, parser.strict) {
            Ok((elements, end)) => {
                message.structured_data = elements;
                pos = end;
            }
            Err((offset, reason)) => {
                if parser.strict {
                    return Err(SyslogError::new(
                        offset,
                        SyslogErrorKind::InvalidStructuredData(reason),
                    ));
                }
                message.diagnostics.push(format!(
                    "STRUCTURED-DATA unreadable at byte {offset} ({reason}): kept in the message"
                ));
                message.message = text_of(&input[sd_start..], "MSG", &mut message.diagnostics);
                return Ok(());
            }
        },
        _ => {
            if parser.strict {
                return Err(SyslogError::new(
                    pos,
                    SyslogErrorKind::InvalidStructuredData("expected '-' or '['".to_string()),
                ));
            }
            message
                .diagnostics
                .push("no STRUCTURED-DATA field: the rest is read as MSG".to_string());
            message.message = text_of(&input[pos..], "MSG", &mut message.diagnostics);
            return Ok(());
        }
    }
    // MSG
    if pos >= input.len() {
        return Ok(());
    }
    if input[pos] == b' ' {
        pos += 1;
    } else if parser.strict {
        return Err(SyslogError::new(pos, SyslogErrorKind::ExpectedSpace("MSG")));
    } else {
        message
            .diagnostics
            .push("no space between STRUCTURED-DATA and MSG".to_string());
    }
    let mut body = &input[pos..];
    if let Some(rest) = body.strip_prefix(BOM) {
        message.bom = true;
        body = rest;
        if parser.strict && std::str::from_utf8(body).is_err() {
            return Err(SyslogError::new(pos, SyslogErrorKind::InvalidUtf8));
        }
    }
    message.message = text_of(body, "MSG", &mut message.diagnostics);
    Ok(())
}

/// Reads the space before a header field and the field itself. `None` when
/// the message ended (an error in strict mode, a diagnostic otherwise).
fn next_token<'a>(
    parser: &SyslogParser,
    input: &'a [u8],
    pos: &mut usize,
    name: &'static str,
) -> Result<Option<(usize, &'a [u8])>, SyslogError> {
    if *pos >= input.len() || input[*pos..].iter().all(|b| *b == b' ') {
        if parser.strict {
            return Err(SyslogError::new(*pos, SyslogErrorKind::MissingField(name)));
        }
        return Ok(None);
    }
    skip_separator(parser, input, pos, name)?;
    let start = *pos;
    let end = memchr::memchr(b' ', &input[start..]).map_or(input.len(), |i| start + i);
    *pos = end;
    Ok(Some((start, &input[start..end])))
}

/// Skips the single space before a field (lenient: any number of spaces).
fn skip_separator(
    parser: &SyslogParser,
    input: &[u8],
    pos: &mut usize,
    name: &'static str,
) -> Result<(), SyslogError> {
    if input.get(*pos) != Some(&b' ') {
        return Err(SyslogError::new(*pos, SyslogErrorKind::ExpectedSpace(name)));
    }
    *pos += 1;
    if input.get(*pos) == Some(&b' ') {
        if parser.strict {
            return Err(SyslogError::new(*pos, SyslogErrorKind::ExpectedSpace(name)));
        }
        while input.get(*pos) == Some(&b' ') {
            *pos += 1;
        }
    }
    Ok(())
}

/// RFC 5424's rule for header fields: 1 to `limit` printable US-ASCII characters.
fn check_header_field(
    field: &'static str,
    limit: usize,
    token: &[u8],
    start: usize,
) -> Result<(), SyslogError> {
    if token.len() > limit {
        return Err(SyslogError::new(
            start,
            SyslogErrorKind::InvalidField {
                field,
                reason: format!("{} characters, at most {limit} allowed", token.len()),
            },
        ));
    }
    if let Some(bad) = token.iter().position(|b| !(33..=126).contains(b)) {
        return Err(SyslogError::new(
            start + bad,
            SyslogErrorKind::InvalidField {
                field,
                reason: format!("byte 0x{:02x} is not printable US-ASCII", token[bad]),
            },
        ));
    }
    Ok(())
}

/// Parses SD-ELEMENTs from `pos` (at `[`). Returns them and the position after
/// the last `]`, or the offset and reason of the first problem.
///
/// Lenient parsing also takes spaces around `=` and unquoted values, both seen
/// from real senders.
pub(super) fn parse_structured_data(
    input: &[u8],
    mut pos: usize,
    strict: bool,
) -> Result<(Vec<SdElement>, usize), (usize, String)> {
    let mut elements = Vec::new();
    while input.get(pos) == Some(&b'[') {
        pos += 1;
        let id = read_name(input, &mut pos);
        if id.is_empty() {
            return Err((pos, "empty SD-ID".to_string()));
        }
        if strict && id.len() > 32 {
            return Err((pos, format!("SD-ID {id:?} is longer than 32 characters")));
        }
        let mut params = Vec::new();
        loop {
            match input.get(pos) {
                None => return Err((pos, format!("SD-ELEMENT [{id} is not closed with ']'"))),
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(b' ') => {
                    pos += 1;
                    if !strict {
                        while input.get(pos) == Some(&b' ') {
                            pos += 1;
                        }
                        if input.get(pos) == Some(&b']') {
                            continue;
                        }
                    }
                }
                Some(other) => {
                    return Err((
                        pos,
                        format!("unexpected {:?} in SD-ELEMENT [{id}", char::from(*other)),
                    ));
                }
            }
            let name_start = pos;
            let name = read_name(input, &mut pos);
            if name.is_empty() {
                return Err((name_start, format!("empty PARAM-NAME in [{id}")));
            }
            if !strict {
                while input.get(pos) == Some(&b' ') {
                    pos += 1;
                }
            }
            if input.get(pos) != Some(&b'=') {
                return Err((pos, format!("expected '=' after PARAM-NAME {name:?}")));
            }
            pos += 1;
            if !strict {
                while input.get(pos) == Some(&b' ') {
                    pos += 1;
                }
            }
            let value = if input.get(pos) == Some(&b'"') {
                read_quoted_value(input, &mut pos).ok_or_else(|| {
                    (
                        pos,
                        format!("PARAM-VALUE of {name:?} is not closed with '\"'"),
                    )
                })?
            } else if strict {
                return Err((pos, format!("PARAM-VALUE of {name:?} is not quoted")));
            } else {
                let start = pos;
                while !matches!(input.get(pos), None | Some(b' ' | b']')) {
                    pos += 1;
                }
                String::from_utf8_lossy(&input[start..pos]).into_owned()
            };
            params.push(SdParam { name, value });
        }
        elements.push(SdElement { id, params });
    }
    Ok((elements, pos))
}

/// An SD-NAME: printable ASCII except `=`, space, `]` and `"`.
fn read_name(input: &[u8], pos: &mut usize) -> String {
    let start = *pos;
    while let Some(&b) = input.get(*pos) {
        if matches!(b, b'=' | b' ' | b']' | b'"') || !(33..=126).contains(&b) {
            break;
        }
        *pos += 1;
    }
    String::from_utf8_lossy(&input[start..*pos]).into_owned()
}

/// A quoted PARAM-VALUE from the opening `"`; `\"`, `\\` and `\]` are
/// unescaped, any other backslash is kept as RFC 5424 section 6.3.3 says.
fn read_quoted_value(input: &[u8], pos: &mut usize) -> Option<String> {
    *pos += 1;
    let mut value = Vec::new();
    loop {
        let b = *input.get(*pos)?;
        match b {
            b'"' => {
                *pos += 1;
                return Some(String::from_utf8_lossy(&value).into_owned());
            }
            b'\\' => match input.get(*pos + 1) {
                Some(&escaped @ (b'"' | b'\\' | b']')) => {
                    value.push(escaped);
                    *pos += 2;
                }
                _ => {
                    value.push(b'\\');
                    *pos += 1;
                }
            },
            _ => {
                value.push(b);
                *pos += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parser() -> SyslogParser {
        SyslogParser::new(datetime!(2024-03-15 12:00 UTC))
    }

    #[test]
    fn version_needs_a_timestamp_after_it() {
        assert_eq!(read_version(b"<13>1 2003", 4), Some((1, 5)));
        assert_eq!(read_version(b"<13>1 -", 4), Some((1, 5)));
        assert_eq!(read_version(b"<0>1990 Oct", 3), None);
        assert_eq!(read_version(b"<13>1 apple", 4), None);
        assert_eq!(read_version(b"<13>0 -", 4), None);
    }

    #[test]
    fn structured_data_lenient_forms() {
        let (elements, end) =
            parse_structured_data(br#"[id a= "1" b=2 ][x@1 c="\q"]"#, 0, false).unwrap();
        assert_eq!(end, 28);
        assert_eq!(elements[0].params[0].value, "1");
        assert_eq!(elements[0].params[1].value, "2");
        assert_eq!(elements[1].params[0].value, r"\q");
        assert!(parse_structured_data(br#"[id a= "1"]"#, 0, true).is_err());
        assert!(parse_structured_data(br#"[id a="1""#, 0, false).is_err());
        assert!(parse_structured_data(br#"[id a="1"#, 0, false).is_err());
        assert!(parse_structured_data(b"[]", 0, false).is_err());
    }

    #[test]
    fn unreadable_structured_data_stays_in_the_message() {
        let message = parser()
            .parse(br#"<13>1 - host app - - [broken a="1" rest of text"#)
            .unwrap();
        assert!(message.structured_data.is_empty());
        assert_eq!(message.message, r#"[broken a="1" rest of text"#);
        assert_eq!(message.diagnostics.len(), 1);
    }

    #[test]
    fn a_short_message_is_kept_leniently_and_rejected_strictly() {
        let message = parser().parse(b"<13>1 - host").unwrap();
        assert_eq!(message.hostname.as_deref(), Some("host"));
        assert_eq!(message.appname, None);
        let error = parser().strict().parse(b"<13>1 - host").unwrap_err();
        assert_eq!(error.kind, SyslogErrorKind::MissingField("APP-NAME"));
        assert_eq!(error.offset, 12);
    }

    #[test]
    fn strict_mode_checks_header_fields() {
        let long = format!("<13>1 - host {} - - - x", "a".repeat(49));
        let error = parser().strict().parse(long.as_bytes()).unwrap_err();
        assert!(matches!(
            error.kind,
            SyslogErrorKind::InvalidField {
                field: "APP-NAME",
                ..
            }
        ));
        let error = parser()
            .strict()
            .parse(b"<13>1 2003-13-45T99:00:00Z host app - - - x")
            .unwrap_err();
        assert_eq!(error.offset, 6);
    }
}
