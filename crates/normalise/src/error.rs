//! What can be wrong with a record, said so that a person can find it.

use crate::cef::CefError;
use crate::syslog::SyslogError;

/// Why a record could not be normalised in the format it was given as.
///
/// Every variant names where the problem is: a byte offset, a line and column
/// or a field. A batch helper adds the line number within the batch
/// ([`crate::LineError`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NormaliseError {
    /// The record was empty or only whitespace.
    #[error("empty record")]
    Empty,
    /// The record looked like JSON (or was declared JSON) and did not parse.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Line within the record, from 1.
        line: usize,
        /// Column within that line, from 1.
        column: usize,
        /// What the JSON parser found wrong.
        message: String,
    },
    /// The record was declared to be one JSON format and is not.
    #[error("not a {format} record: {reason}")]
    WrongFormat {
        /// The format the caller declared (`Suricata EVE`, `Zeek`, ...).
        format: &'static str,
        /// What is missing or different, naming the field.
        reason: String,
    },
    /// The syslog header could not be read (only in strict mode or when the
    /// record is empty after framing).
    #[error("syslog: {0}")]
    Syslog(#[from] SyslogError),
    /// The record was declared CEF, and its CEF part is invalid.
    #[error("CEF: {0}")]
    Cef(#[from] CefError),
}

impl NormaliseError {
    /// A JSON parser error, with its position.
    pub(crate) fn from_json(error: &serde_json::Error) -> Self {
        let message = error.to_string();
        // serde_json appends " at line L column C"; the position is kept in
        // its own fields, so drop the duplicate.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        NormaliseError::Json {
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}
