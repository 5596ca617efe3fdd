//! Parsing one JSON event, shared by the JSON lines and JSON documents readers.

use serde_json::Value;

use crate::error::ErrorKind;

/// Why some bytes are not an event.
pub(crate) enum EventError {
    /// Valid JSON, but not an object.
    NotAnObject(&'static str),
    /// Not valid JSON.
    Json(serde_json::Error),
}

/// Where in the parsed bytes `serde_json` stopped: line and column from 1.
pub(crate) struct SyntaxAt {
    /// Line within the parsed bytes, from 1.
    pub(crate) line: usize,
    /// Column (byte) within that line, from 1.
    pub(crate) column: usize,
}

impl EventError {
    /// Whether the bytes end before the value does.
    pub(crate) fn is_eof(&self) -> bool {
        matches!(self, EventError::Json(error) if error.is_eof())
    }

    /// The error kind, with `at` saying where a syntax error is.
    pub(crate) fn into_kind(self, at: impl FnOnce(SyntaxAt) -> String) -> ErrorKind {
        match self {
            EventError::NotAnObject(found) => ErrorKind::NotAnObject { found },
            EventError::Json(error) => {
                let at = at(SyntaxAt {
                    line: error.line(),
                    column: error.column(),
                });
                // serde_json ends its messages with a position within the bytes it was
                // given, which `at` has replaced by one within the file.
                let text = error.to_string();
                let message = match text.rfind(" at line ") {
                    Some(end) => text[..end].to_owned(),
                    None => text,
                };
                ErrorKind::Json { at, message }
            }
        }
    }
}

/// Parses `bytes` as one JSON object.
///
/// `sonic-rs` (in the build already, through the `evtx` crate) builds the
/// `serde_json::Value`: its SIMD parser makes this about 30% faster than `serde_json`, whose
/// `Value` building then dominates (measured in `benches/decode.rs`). Bytes it rejects are
/// parsed again by `serde_json`, whose verdict and error position are the ones reported; the
/// two agree on what is valid JSON (checked by the property tests), except that `sonic-rs`
/// accepts nesting up to 255 levels where `serde_json` stops at 128.
pub(crate) fn parse_event(bytes: &[u8]) -> Result<Value, EventError> {
    let parsed = match sonic_rs::from_slice::<Value>(bytes) {
        Ok(value) => Ok(value),
        Err(_) => serde_json::from_slice::<Value>(bytes),
    };
    match parsed {
        Ok(event @ Value::Object(_)) => Ok(event),
        Ok(other) => Err(EventError::NotAnObject(describe(&other))),
        Err(error) => Err(EventError::Json(error)),
    }
}

/// What kind of JSON value `value` is, with its article.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
