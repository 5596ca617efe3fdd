//! An event read from a file, and where in the file it was.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::documents::SpanEnd;
use crate::error::{Error, ErrorKind, Location};
use crate::json::{EventError, parse_event};

/// One event read from a log file: the event as JSON, the file, and where in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The event. Always a JSON object; for EVTX in the `evtx` crate's layout
    /// (`Event.System.EventID`, `Event.EventData.*`, `#attributes`).
    pub event: serde_json::Value,
    /// The file the event came from, shared by all its records.
    pub path: Arc<Path>,
    /// Where in the file the event was.
    pub position: Position,
}

/// Where in its file a [`Record`] was. Offsets are in bytes from the start of the file, or
/// of the decompressed data for a compressed file. Positions of one file order by place in
/// the file: lines and values in file order; EVTX records by chunk number, then record id
/// (in a log that has wrapped around, the oldest chunk is not chunk 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Position {
    /// A record of an EVTX file.
    Evtx {
        /// Number of the chunk in the file, from 0.
        chunk: u64,
        /// The record's id, from its record header (`EventRecordID`).
        record_id: u64,
        /// Offset of the record's header.
        offset: u64,
    },
    /// A line of a JSON lines file.
    Line {
        /// Line number, from 1.
        line: u64,
    },
    /// One value of a file of JSON documents (concatenated objects, or an array's elements).
    Document {
        /// The value's number in the file, from 1.
        number: u64,
        /// Line where the value starts, from 1.
        line: u64,
        /// Offset of the value's first byte.
        offset: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::Location::from(*self).fmt(f)
    }
}

/// One record's JSON text as read, not yet decoded into a [`Record`]: a line of a JSON
/// lines file, one value of a file of JSON documents (both borrowed from their unit), or
/// the `evtx` crate's JSON rendering of an EVTX record.
///
/// For callers with a faster way to read JSON than `serde_json::Value` (a hunt only looks
/// at some fields of most events). [`RawRecord::decode`] gives exactly what
/// [`crate::Unit::records`] gives for this record: the same event, or the same error
/// with the same file and place. A caller that cannot read the text itself calls it to
/// learn why.
#[derive(Debug, Clone)]
pub struct RawRecord<'a> {
    json: Cow<'a, [u8]>,
    path: &'a Arc<Path>,
    position: Position,
    kind: RawKind,
}

/// Where a raw record came from, for decoding it as [`crate::Unit::records`] would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    /// A line of a JSON lines file.
    Line,
    /// A value of a file of JSON documents, and how its bytes ended.
    Document(SpanEnd),
    /// The `evtx` crate's rendering of an EVTX record.
    Evtx,
}

impl<'a> RawRecord<'a> {
    pub(crate) fn new(
        json: Cow<'a, [u8]>,
        path: &'a Arc<Path>,
        position: Position,
        kind: RawKind,
    ) -> Self {
        RawRecord {
            json,
            path,
            position,
            kind,
        }
    }

    /// The record's JSON text as read: one line (without its line end), one value with
    /// whatever whitespace it was written with, or compact JSON for EVTX. Not checked:
    /// it may be anything a file holds where an event should be.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The file the record came from.
    pub fn path(&self) -> &'a Arc<Path> {
        self.path
    }

    /// Where in the file the record was.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Decodes the record as [`crate::Unit::records`] does: its event, or the error that
    /// names what is wrong with it and where.
    pub fn decode(&self) -> Result<Record, Error> {
        let path = self.path.clone();
        let record = |event| Record {
            event,
            path: self.path.clone(),
            position: self.position,
        };
        let location = Location::from(self.position);
        match self.kind {
            RawKind::Line | RawKind::Document(_) => match parse_event(&self.json) {
                Ok(event) => Ok(record(event)),
                Err(error) => {
                    let kind = match (self.kind, self.position) {
                        (RawKind::Document(ended), Position::Document { line, offset, .. }) => {
                            document_error(error, ended, &self.json, line, offset)
                        }
                        _ => error.into_kind(|at| format!("at column {}", at.column)),
                    };
                    Err(Error::new(path, location, kind))
                }
            },
            RawKind::Evtx => match sonic_rs::from_slice(&self.json) {
                Ok(event) => Ok(record(event)),
                Err(cause) => {
                    let kind =
                        ErrorKind::EvtxRecord(format!("rendered JSON does not parse: {cause}"));
                    Err(Error::new(path, location, kind))
                }
            },
        }
    }
}

/// The error for a JSON document's value `bytes` that did not parse, which started at
/// `line` and `offset` of the file and ended as `ended` says.
fn document_error(
    error: EventError,
    ended: SpanEnd,
    bytes: &[u8],
    line: u64,
    offset: u64,
) -> ErrorKind {
    match ended {
        SpanEnd::Cut { next_line } if error.is_eof() => ErrorKind::UnterminatedValue { next_line },
        SpanEnd::Eof if error.is_eof() => ErrorKind::TruncatedValue,
        _ => error.into_kind(|at| {
            // From a line and column within the value to ones within the file.
            let line_start = if at.line <= 1 {
                0
            } else {
                memchr::memchr_iter(b'\n', bytes)
                    .nth(at.line - 2)
                    .map_or(bytes.len(), |newline| newline + 1)
            };
            let offset = offset + (line_start + at.column.saturating_sub(1)) as u64;
            let line = line + at.line.saturating_sub(1) as u64;
            format!("at line {line}, offset {offset}")
        }),
    }
}
