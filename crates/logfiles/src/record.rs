//! An event read from a file, and where in the file it was.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

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
