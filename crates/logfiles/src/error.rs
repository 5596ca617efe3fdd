//! The one error type of this crate: a file, a place in it, and what went wrong there.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::record::Position;

/// Something in a log file that could not be read, with the file and the place in it.
///
/// Displays as `path: place: what`, for example
/// `logs/Security.evtx: chunk 3 (offset 0x31000): bad chunk header checksum (stored 0x1234abcd, computed 0x0badf00d)`.
/// Reading goes on after every error this crate reports: an error never hides the
/// records around it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{kind}", path.display(), LocationPrefix(location))]
pub struct Error {
    path: Arc<Path>,
    location: Location,
    #[source]
    kind: ErrorKind,
}

impl Error {
    /// An error about `location` in the file at `path`.
    pub fn new(path: Arc<Path>, location: Location, kind: ErrorKind) -> Self {
        Error {
            path,
            location,
            kind,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where in the file the error is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Whether the whole file was skipped because it is in none of the formats this crate
    /// reads (a caller walking a collection may want to count these apart from damage).
    pub fn is_unrecognised_format(&self) -> bool {
        matches!(self.kind, ErrorKind::UnrecognisedFormat { .. })
    }
}

/// Where in a file an [`Error`] is. Offsets are in bytes from the start of the file, or
/// of the decompressed data for a compressed file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The file as a whole (it could not be opened, listed or recognised).
    File,
    /// The EVTX file header, the first 4 KiB of the file.
    EvtxFileHeader,
    /// An EVTX chunk: its number in the file (0-based) and the offset where it starts.
    EvtxChunk {
        /// The chunk's number in the file, from 0.
        chunk: u64,
        /// Offset of the chunk's first byte.
        offset: u64,
    },
    /// An EVTX record: its chunk, and its record id and the offset of its header as far as
    /// the parser could tell them.
    EvtxRecord {
        /// The chunk's number in the file, from 0.
        chunk: u64,
        /// The record's id (`EventRecordID`), when its header could be read.
        record_id: Option<u64>,
        /// Offset of the record's header, when known.
        offset: Option<u64>,
    },
    /// A line of a JSON lines file.
    Line {
        /// Line number, from 1.
        line: u64,
    },
    /// One JSON value of a file of JSON documents (concatenated objects or an array).
    Document {
        /// The value's number in the file, from 1.
        number: u64,
        /// Line where the value starts, from 1.
        line: u64,
        /// Offset of the value's first byte.
        offset: u64,
    },
    /// Bytes of a file of JSON documents that hold no JSON value.
    Bytes {
        /// Line where the bytes start, from 1.
        line: u64,
        /// Offset of the first byte.
        offset: u64,
    },
    /// Where decompression stopped, counted in decompressed bytes.
    Decompressed {
        /// Number of decompressed bytes read before the failure.
        offset: u64,
    },
}

impl From<Position> for Location {
    fn from(position: Position) -> Self {
        match position {
            Position::Evtx {
                chunk,
                record_id,
                offset,
            } => Location::EvtxRecord {
                chunk,
                record_id: Some(record_id),
                offset: Some(offset),
            },
            Position::Line { line } => Location::Line { line },
            Position::Document {
                number,
                line,
                offset,
            } => Location::Document {
                number,
                line,
                offset,
            },
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => f.write_str("file"),
            Location::EvtxFileHeader => f.write_str("file header"),
            Location::EvtxChunk { chunk, offset } => {
                write!(f, "chunk {chunk} (offset {offset:#x})")
            }
            Location::EvtxRecord {
                chunk,
                record_id,
                offset,
            } => {
                write!(f, "chunk {chunk} record")?;
                match (record_id, offset) {
                    (Some(id), Some(offset)) => write!(f, " {id} (offset {offset:#x})"),
                    (Some(id), None) => write!(f, " {id}"),
                    (None, Some(offset)) => write!(f, " at offset {offset:#x}"),
                    (None, None) => Ok(()),
                }
            }
            Location::Line { line } => write!(f, "line {line}"),
            Location::Document {
                number,
                line,
                offset,
            } => write!(f, "object {number} (line {line}, offset {offset})"),
            Location::Bytes { line, offset } => write!(f, "line {line} (offset {offset})"),
            Location::Decompressed { offset } => {
                write!(f, "after {offset} decompressed bytes")
            }
        }
    }
}

/// `place: `, or nothing for an error about the whole file.
struct LocationPrefix<'a>(&'a Location);

impl fmt::Display for LocationPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Location::File => Ok(()),
            location => write!(f, "{location}: "),
        }
    }
}

/// What went wrong, without where (see [`Error`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the file failed.
    #[error("read failed: {0}")]
    Io(#[source] io::Error),
    /// Listing a directory failed.
    #[error("cannot list directory: {0}")]
    ListDirectory(#[source] io::Error),
    /// A symbolic link that points nowhere.
    #[error("broken symbolic link")]
    BrokenSymlink,
    /// A directory already walked, reached again (through a symbolic link loop, or a second
    /// link or path to it).
    #[error(
        "directory already walked (a symbolic link loop, or a second path to it); not walked again"
    )]
    DirectoryLoop,
    /// Something in a directory that is neither a file nor a directory (a FIFO, socket or
    /// device), which a walk does not open.
    #[error("not a regular file ({0}); skipped")]
    NotAFile(&'static str),
    /// The file is in none of the formats this crate reads.
    #[error(
        "unrecognised format (starts with {start}): expected EVTX, JSON lines, JSON objects or arrays, or gzip of these"
    )]
    UnrecognisedFormat {
        /// The first bytes of the file, escaped.
        start: String,
    },
    /// The gzip stream is corrupt or ends early; what was decompressed before has been read.
    #[error("gzip stream broken: {0}")]
    Gzip(#[source] io::Error),
    /// The EVTX file header is damaged (the chunks are read anyway).
    #[error("bad file header: {0}")]
    EvtxFileHeader(String),
    /// The EVTX file header's CRC32 does not match its contents (the chunks are read anyway).
    #[error("bad file header checksum (stored {stored:#010x}, computed {computed:#010x})")]
    EvtxFileHeaderChecksum {
        /// The CRC32 the header stores.
        stored: u32,
        /// The CRC32 of the header as read.
        computed: u32,
    },
    /// The file ends inside its 4 KiB EVTX file header, before any chunk.
    #[error("truncated file header: the file has {len} bytes, an EVTX file header 4096")]
    TruncatedEvtxFileHeader {
        /// The file's length.
        len: u64,
    },
    /// A chunk that does not start with the chunk magic `ElfChnk\0`.
    #[error("bad chunk magic (found {found}); chunk skipped")]
    EvtxChunkMagic {
        /// The first 8 bytes of the chunk, escaped.
        found: String,
    },
    /// A chunk whose magic was damaged but whose header checksum holds once the magic is
    /// restored; its records are read.
    #[error("bad chunk magic (found {found}) in an otherwise intact header; records read anyway")]
    EvtxChunkMagicRepaired {
        /// The first 8 bytes of the chunk, escaped.
        found: String,
    },
    /// A chunk header that the EVTX parser rejects; the chunk is skipped.
    #[error("bad chunk header: {0}; chunk skipped")]
    EvtxChunkHeader(String),
    /// The chunk header's CRC32 does not match (the records are read anyway, and may be wrong).
    #[error(
        "bad chunk header checksum (stored {stored:#010x}, computed {computed:#010x}); records read anyway"
    )]
    EvtxChunkHeaderChecksum {
        /// The CRC32 the chunk header stores.
        stored: u32,
        /// The CRC32 of the chunk header as read.
        computed: u32,
    },
    /// The CRC32 of the chunk's records does not match (the records are read anyway, and some
    /// may be wrong).
    #[error(
        "bad chunk data checksum (stored {stored:#010x}, computed {computed:#010x}); records read anyway"
    )]
    EvtxChunkDataChecksum {
        /// The CRC32 the chunk header stores for the records.
        stored: u32,
        /// The CRC32 of the records as read.
        computed: u32,
    },
    /// The chunk's string table is damaged; its records are read without it, each name from
    /// where the record points.
    #[error("bad chunk string table: {0}; records read without it")]
    EvtxChunkStrings(String),
    /// The chunk header's free space offset, where its records end, lies outside the chunk,
    /// so the records' checksum can't be checked (the records are read anyway).
    #[error(
        "bad chunk header: free space offset {offset:#x} lies outside the chunk; records read anyway"
    )]
    EvtxChunkFreeSpace {
        /// The free space offset the header stores.
        offset: u32,
    },
    /// The file ends inside this chunk: the records before the cut were read, the rest is lost.
    #[error(
        "truncated chunk: the file ends {present} bytes into this 65536-byte chunk; records past that point are lost"
    )]
    TruncatedEvtxChunk {
        /// How many bytes of the chunk the file holds.
        present: u64,
    },
    /// The file header counts more chunks than the file holds: the file was cut short at a
    /// chunk boundary and the records of the missing chunks are lost.
    #[error(
        "missing chunks: the file header counts {announced} chunks in use but the file holds {present}; the records of the missing chunks are lost"
    )]
    EvtxChunksMissing {
        /// How many chunks the file header counts.
        announced: u64,
        /// How many chunks (whole or cut) the file holds.
        present: u64,
    },
    /// A chunk that is all zeros though the file header counts it in use: its records were
    /// wiped or never written out, and are lost.
    #[error(
        "zeroed chunk: all its bytes are zero though the file header counts {announced} chunks in use; its records are lost"
    )]
    EvtxChunkZeroed {
        /// How many chunks the file header counts.
        announced: u64,
    },
    /// A file named `.evtx` that is empty: it has no EVTX file header and no records (a
    /// collection that copied nothing, or a file still locked by the event log service).
    #[error(
        "empty EVTX file: it has no file header and no records (copied while locked, or cut to nothing?)"
    )]
    EmptyEvtx,
    /// A record the EVTX parser could not read or render.
    #[error("bad record: {0}")]
    EvtxRecord(String),
    /// The EVTX parser panicked on this chunk (a bug in the parser); the chunk's records
    /// that came before were kept.
    #[error("EVTX parser failed internally: {0}")]
    EvtxParserPanic(String),
    /// A JSON value that does not parse.
    #[error("invalid JSON {at}: {message}")]
    Json {
        /// Where in the line or value, such as `at column 17` or `at line 52, offset 1234`.
        at: String,
        /// What `serde_json` found wrong.
        message: String,
    },
    /// A JSON value that parses but is not an object, so is not an event.
    #[error("not a JSON object but {found}; only objects are events")]
    NotAnObject {
        /// What it is instead: `an array`, `a string`, ...
        found: &'static str,
    },
    /// A JSON value that was cut short: the next object starts before it closes.
    #[error(
        "unterminated JSON object: the next object starts at line {next_line} before it closes"
    )]
    UnterminatedValue {
        /// The line where the next object starts.
        next_line: u64,
    },
    /// A JSON value that was cut short by the end of the input.
    #[error("truncated JSON value: the input ends before it closes")]
    TruncatedValue,
    /// A line or value longer than the limit (see [`crate::ReadOptions::max_record_bytes`]).
    #[error("longer than the limit of {limit} bytes; skipped")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Bytes between JSON values that are not JSON; reading resumes at the next line that
    /// starts with `{` or `[`.
    #[error("{len} bytes that are not JSON, skipped (starting {start})")]
    NotJson {
        /// How many bytes were skipped.
        len: u64,
        /// The first bytes skipped, escaped.
        start: String,
    },
}

/// Up to `max` bytes of `bytes` as a quoted string with non-printable bytes escaped, for
/// messages about unreadable data.
pub(crate) fn escape_start(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut text = String::with_capacity(shown.len() + 8);
    text.push('"');
    for &byte in shown {
        text.extend(std::ascii::escape_default(byte).map(char::from));
    }
    text.push('"');
    if bytes.len() > max {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_place_and_problem() {
        let error = Error::new(
            Arc::from(Path::new("path/to/file.evtx")),
            Location::EvtxChunk {
                chunk: 3,
                offset: 0x31000,
            },
            ErrorKind::EvtxChunkHeaderChecksum {
                stored: 0x1234_abcd,
                computed: 0x0bad_f00d,
            },
        );
        assert_eq!(
            error.to_string(),
            "path/to/file.evtx: chunk 3 (offset 0x31000): bad chunk header checksum \
             (stored 0x1234abcd, computed 0x0badf00d); records read anyway"
        );
    }

    #[test]
    fn whole_file_errors_have_no_place() {
        let error = Error::new(
            Arc::from(Path::new("notes.txt")),
            Location::File,
            ErrorKind::UnrecognisedFormat {
                start: escape_start(b"hello\x00world, this is long", 8),
            },
        );
        assert_eq!(
            error.to_string(),
            "notes.txt: unrecognised format (starts with \"hello\\x00wo\"...): expected EVTX, \
             JSON lines, JSON objects or arrays, or gzip of these"
        );
        assert!(error.is_unrecognised_format());
    }
}
