//! Windows EVTX files: one unit per 64 KiB chunk, decoded by the `evtx` crate.
//!
//! An EVTX file is a 4 KiB file header followed by 64 KiB chunks; each chunk holds its own
//! string and template tables, so chunks decode independently, on any thread. Chunks are
//! read in record order, as Windows and the `evtx` crate read them: from the chunk with the
//! lowest first record id to the end of the file, then from the start of the file (a full
//! log overwrites its oldest chunk). A file read as a stream (gzip, pipe) can't be read
//! twice, so its chunks come in the order they are stored.
//!
//! Damage is reported, never fatal: a bad file header or checksum is reported and the
//! chunks are read anyway; a chunk whose header can't be read is reported and skipped; a
//! record that can't be read is reported and the parser resynchronises on the next one; a
//! file cut inside a chunk yields the records before the cut and an error for the rest.
//!
//! Lost chunks are reported too, from the file header's chunk count: a chunk the header
//! counts that is all zeros (wiped, or never flushed) and chunks the header counts that
//! the file does not hold (cut at a chunk boundary). Blank chunks past that count are
//! room the log has not used yet and are skipped silently.

use std::any::Any;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use evtx::err::EvtxError;
use evtx::{ChunkFlags, EvtxChunk, EvtxChunkHeader, EvtxFileHeader, ParserSettings};

use crate::detect::EVTX_CHUNK_MAGIC;
use crate::error::{Error, ErrorKind, Location, escape_start};
use crate::input::Stream;
use crate::record::{Position, RawKind, RawRecord, Record};
use crate::unit::{Unit, UnitBody};

/// Size of the file header that precedes the chunks.
pub(crate) const FILE_HEADER_SIZE: u64 = 4096;
/// Size of a chunk.
pub(crate) const CHUNK_SIZE: usize = 65536;
/// Size of a chunk's header, before its records.
const CHUNK_HEADER_SIZE: usize = 512;
/// Where a chunk header keeps the offsets of its string table's hash buckets.
const STRING_TABLE: std::ops::Range<usize> = 128..384;
/// Size of a record's header, before its BinXML.
const RECORD_HEADER_SIZE: u64 = 24;

/// The file offset of chunk `number`.
fn chunk_offset(number: u64) -> u64 {
    FILE_HEADER_SIZE.saturating_add(number.saturating_mul(CHUNK_SIZE as u64))
}

/// The settings every chunk is decoded with: compact JSON, attributes under `#attributes`
/// (the layout of `evtx_dump -o json` and of the Sigma regression `.json` files).
fn settings() -> Arc<ParserSettings> {
    static SETTINGS: OnceLock<Arc<ParserSettings>> = OnceLock::new();
    SETTINGS
        .get_or_init(|| Arc::new(ParserSettings::new().indent(false)))
        .clone()
}

/// Where the chunks of a file come from.
enum ChunkSource {
    /// A file that can be read at any offset: chunks in record order.
    Seekable {
        file: File,
        len: u64,
        /// Chunk numbers still to read, in reverse (next at the end).
        order: Vec<u64>,
    },
    /// A stream: chunks in stored order.
    Sequential { stream: Stream, next: u64 },
}

/// The units of an EVTX file, one per chunk.
pub(crate) struct EvtxUnits {
    path: Arc<Path>,
    source: Option<ChunkSource>,
    ready: VecDeque<Result<Unit, Error>>,
    started: bool,
    /// How many chunks the file header says are in use (0 when it could not be read).
    announced: u64,
    /// How many chunk slots the file holds (a partial last chunk counts).
    slots: u64,
    /// Whether the chunks the header announces but the file lacks were reported.
    missing_reported: bool,
}

impl EvtxUnits {
    /// The chunks of a plain file, read in record order.
    pub(crate) fn seekable(path: Arc<Path>, file: File) -> Self {
        EvtxUnits {
            path,
            source: Some(ChunkSource::Seekable {
                file,
                len: 0,
                order: Vec::new(),
            }),
            ready: VecDeque::new(),
            started: false,
            announced: 0,
            slots: 0,
            missing_reported: false,
        }
    }

    /// The chunks of a stream (such as decompressed gzip), read in stored order.
    pub(crate) fn sequential(stream: Stream) -> Self {
        EvtxUnits {
            path: stream.path().clone(),
            source: Some(ChunkSource::Sequential { stream, next: 0 }),
            ready: VecDeque::new(),
            started: false,
            announced: 0,
            slots: 0,
            missing_reported: false,
        }
    }

    fn error(&self, location: Location, kind: ErrorKind) -> Error {
        Error::new(self.path.clone(), location, kind)
    }

    /// Reads the file header and plans the chunk order.
    fn start(&mut self) {
        let mut header = Vec::with_capacity(FILE_HEADER_SIZE as usize);
        let read = match &mut self.source {
            Some(ChunkSource::Seekable { file, len, order }) => {
                match read_seekable_header(file, &mut header) {
                    Ok(file_len) => {
                        *len = file_len;
                        let slots = file_len
                            .saturating_sub(FILE_HEADER_SIZE)
                            .div_ceil(CHUNK_SIZE as u64);
                        self.slots = slots;
                        *order = record_order(file, slots);
                        order.reverse();
                        None
                    }
                    Err(error) => Some(Error::new(
                        self.path.clone(),
                        Location::File,
                        ErrorKind::Io(error),
                    )),
                }
            }
            Some(ChunkSource::Sequential { stream, .. }) => {
                stream.fill_to(&mut header, FILE_HEADER_SIZE as usize)
            }
            None => return,
        };
        if let Some(error) = read {
            self.ready.push_back(Err(error));
            self.source = None;
            return;
        }
        if (header.len() as u64) < FILE_HEADER_SIZE {
            let error = self.error(
                Location::File,
                ErrorKind::TruncatedEvtxFileHeader {
                    len: header.len() as u64,
                },
            );
            self.ready.push_back(Err(error));
            self.source = None;
            return;
        }
        match EvtxFileHeader::from_bytes(&header) {
            Err(error) => {
                let error = self.error(
                    Location::EvtxFileHeader,
                    ErrorKind::EvtxFileHeader(error_chain(&error)),
                );
                self.ready.push_back(Err(error));
            }
            Ok(header) => {
                self.announced = u64::from(header.chunk_count);
                if !header.validate_checksum() {
                    let error = self.error(
                        Location::EvtxFileHeader,
                        ErrorKind::EvtxFileHeaderChecksum {
                            stored: header.checksum,
                            computed: header.computed_checksum,
                        },
                    );
                    self.ready.push_back(Err(error));
                }
            }
        }
    }

    /// The error for the chunks the file header counts but the file does not hold, once,
    /// when the last chunk has been read.
    fn missing_chunks(&mut self) -> Option<Error> {
        if self.missing_reported || self.slots >= self.announced {
            return None;
        }
        self.missing_reported = true;
        let location = Location::EvtxChunk {
            chunk: self.slots,
            offset: chunk_offset(self.slots),
        };
        let kind = ErrorKind::EvtxChunksMissing {
            announced: self.announced,
            present: self.slots,
        };
        Some(self.error(location, kind))
    }

    /// Reads the next chunk that is not blank; `None` at the end of the file.
    fn next_chunk(&mut self) -> Option<Result<Unit, Error>> {
        loop {
            let source = self.source.as_mut()?;
            let (number, data, failure) = match source {
                ChunkSource::Seekable { file, len, order } => {
                    let Some(number) = order.pop() else {
                        return self.missing_chunks().map(Err);
                    };
                    let offset = chunk_offset(number);
                    let want = len.saturating_sub(offset).min(CHUNK_SIZE as u64) as usize;
                    match read_at(file, offset, want) {
                        Ok(data) => (number, data, None),
                        Err(error) => {
                            let location = Location::EvtxChunk {
                                chunk: number,
                                offset,
                            };
                            return Some(Err(self.error(location, ErrorKind::Io(error))));
                        }
                    }
                }
                ChunkSource::Sequential { stream, next } => {
                    let number = *next;
                    let mut data = Vec::with_capacity(CHUNK_SIZE);
                    let failure = stream.fill_to(&mut data, CHUNK_SIZE);
                    if !data.is_empty() {
                        *next += 1;
                        self.slots = *next;
                    }
                    if data.len() < CHUNK_SIZE {
                        // A short chunk is the last one the stream has.
                        self.source = None;
                        if let Some(missing) = self.missing_chunks() {
                            self.ready.push_back(Err(missing));
                        }
                    }
                    (number, data, failure)
                }
            };
            if let Some(failure) = failure {
                self.ready.push_back(Err(failure));
            }
            if let Some(unit) = self.chunk_unit(number, data) {
                return Some(unit);
            }
            if let Some(error) = self.ready.pop_front() {
                return Some(error);
            }
        }
    }

    /// The unit for chunk `number` holding `data`, an error if its header can't be read or
    /// it is zeroed though the file header counts it, or `None` for a blank chunk past
    /// the ones in use (room the log has not used yet) or an empty read at the end.
    fn chunk_unit(&self, number: u64, mut data: Vec<u8>) -> Option<Result<Unit, Error>> {
        let offset = chunk_offset(number);
        let location = Location::EvtxChunk {
            chunk: number,
            offset,
        };
        if data.iter().all(|byte| *byte == 0) {
            if number < self.announced && !data.is_empty() {
                let kind = ErrorKind::EvtxChunkZeroed {
                    announced: self.announced,
                };
                return Some(Err(self.error(location, kind)));
            }
            return None;
        }
        if data.len() < CHUNK_HEADER_SIZE {
            let present = data.len() as u64;
            return Some(Err(
                self.error(location, ErrorKind::TruncatedEvtxChunk { present })
            ));
        }
        let mut repaired_magic = None;
        if data[..8] != EVTX_CHUNK_MAGIC[..] {
            let found = escape_start(&data[..8], 8);
            if !repair_magic(&mut data) {
                return Some(Err(
                    self.error(location, ErrorKind::EvtxChunkMagic { found })
                ));
            }
            repaired_magic = Some(found);
        }
        let header = match EvtxChunkHeader::from_bytes(&data) {
            Ok(header) => header,
            Err(error) => {
                let kind =
                    ErrorKind::EvtxChunkHeader(format!("{}; chunk skipped", error_chain(&error)));
                return Some(Err(self.error(location, kind)));
            }
        };
        let unit = EvtxUnit {
            chunk: number,
            offset,
            data,
            header,
            repaired_magic,
        };
        Some(Ok(Unit::new(
            self.path.clone(),
            UnitBody::Evtx(Box::new(unit)),
        )))
    }
}

impl Iterator for EvtxUnits {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            self.start();
        }
        if let Some(item) = self.ready.pop_front() {
            return Some(item);
        }
        let item = self.next_chunk();
        item.or_else(|| self.ready.pop_front())
    }
}

/// Reads the first 4 KiB of `file` (fewer if it is shorter) into `header`; returns the
/// file's length.
fn read_seekable_header(file: &mut File, header: &mut Vec<u8>) -> io::Result<u64> {
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(0))?;
    file.take(FILE_HEADER_SIZE).read_to_end(header)?;
    Ok(len)
}

/// Reads `want` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &mut File, offset: u64, want: usize) -> io::Result<Vec<u8>> {
    let mut data = Vec::with_capacity(want);
    file.seek(SeekFrom::Start(offset))?;
    file.take(want as u64).read_to_end(&mut data)?;
    Ok(data)
}

/// The chunk numbers `0..slots` in record order: from the chunk whose header names the
/// lowest first record id to the end, then from the start. This is the `evtx` crate's
/// order, which does not trust the file header's "oldest chunk" (a log that was not closed
/// cleanly can be ahead of its header).
fn record_order(file: &mut File, slots: u64) -> Vec<u64> {
    let mut oldest = (u64::MAX, 0);
    let mut header = [0_u8; CHUNK_HEADER_SIZE];
    for number in 0..slots {
        let read = file
            .seek(SeekFrom::Start(chunk_offset(number)))
            .and_then(|_| file.read_exact(&mut header));
        if read.is_err() {
            break;
        }
        repair_magic(&mut header);
        if let Ok(chunk) = EvtxChunkHeader::from_bytes(&header)
            && chunk.first_event_record_id <= chunk.last_event_record_id
            && chunk.first_event_record_id < oldest.0
        {
            oldest = (chunk.first_event_record_id, number);
        }
    }
    (oldest.1..slots).chain(0..oldest.1).collect()
}

/// Puts back the magic of the chunk whose header `chunk` starts with, when its checksum
/// holds with the magic put back; returns whether the magic is (now) intact. One damaged
/// byte in the magic would otherwise lose a whole chunk of records.
fn repair_magic(chunk: &mut [u8]) -> bool {
    if chunk.len() < CHUNK_HEADER_SIZE {
        return false;
    }
    if chunk[..8] == EVTX_CHUNK_MAGIC[..] {
        return true;
    }
    let found: [u8; 8] = [
        chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
    ];
    chunk[..8].copy_from_slice(EVTX_CHUNK_MAGIC);
    let stored = u32::from_le_bytes([chunk[124], chunk[125], chunk[126], chunk[127]]);
    if header_checksum(chunk) == stored {
        return true;
    }
    chunk[..8].copy_from_slice(&found);
    false
}

/// The CRC32 of a chunk header as EVTX defines it: bytes 0..120 and 128..512.
fn header_checksum(header: &[u8]) -> u32 {
    let mut covered = [0_u8; CHUNK_HEADER_SIZE - 8];
    covered[..120].copy_from_slice(&header[..120]);
    covered[120..].copy_from_slice(&header[128..CHUNK_HEADER_SIZE]);
    evtx::checksum_ieee(&covered)
}

/// An error and its causes, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic without a message".to_owned()
    }
}

/// One EVTX record rendered as JSON text by the `evtx` crate, and where it was.
pub(crate) struct Rendered {
    /// Compact JSON.
    pub(crate) json: Vec<u8>,
    /// The record's chunk, id and offset.
    pub(crate) position: Position,
}

/// One EVTX chunk, read and ready to decode.
pub(crate) struct EvtxUnit {
    chunk: u64,
    offset: u64,
    /// The chunk's bytes: 64 KiB, or fewer when the file ends inside it.
    data: Vec<u8>,
    header: EvtxChunkHeader,
    /// The damaged magic that was put back, escaped.
    repaired_magic: Option<String>,
}

impl EvtxUnit {
    /// Where the chunk is.
    pub(crate) fn location(&self) -> Location {
        Location::EvtxChunk {
            chunk: self.chunk,
            offset: self.offset,
        }
    }

    /// The chunk's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Decodes the chunk's records, with errors in the order they were met.
    pub(crate) fn decode(&self, path: &Arc<Path>) -> Vec<Result<Record, Error>> {
        self.render(path)
            .into_iter()
            .map(|rendered| {
                rendered.and_then(|rendered| {
                    RawRecord::new(
                        Cow::Borrowed(&rendered.json),
                        path,
                        rendered.position,
                        RawKind::Evtx,
                    )
                    .decode()
                })
            })
            .collect()
    }

    /// Renders the chunk's records as JSON text, with errors in the order they were met.
    pub(crate) fn render(&self, path: &Arc<Path>) -> Vec<Result<Rendered, Error>> {
        let mut out = Vec::with_capacity(self.estimated_records());
        let error = |kind| Err(Error::new(path.clone(), self.location(), kind));
        if let Some(found) = &self.repaired_magic {
            out.push(error(ErrorKind::EvtxChunkMagicRepaired {
                found: found.clone(),
            }));
        }
        let truncated = self.data.len() < CHUNK_SIZE;
        if !truncated && !self.header.flags.contains(ChunkFlags::NO_CRC32) {
            for kind in self.checksum_errors() {
                out.push(error(kind));
            }
        }
        // The evtx crate is fuzzed upstream; should it still panic on some input, the
        // records decoded before stay and the panic becomes this chunk's error.
        let decoded = catch_unwind(AssertUnwindSafe(|| self.decode_records(path, &mut out)));
        if let Err(panic) = decoded {
            out.push(error(ErrorKind::EvtxParserPanic(panic_message(
                panic.as_ref(),
            ))));
        }
        if truncated {
            out.push(error(ErrorKind::TruncatedEvtxChunk {
                present: self.data.len() as u64,
            }));
        }
        out
    }

    /// A capacity guess from the header's record ids, bounded by what a chunk can hold.
    fn estimated_records(&self) -> usize {
        let ids = self
            .header
            .last_event_record_id
            .saturating_sub(self.header.first_event_record_id)
            .saturating_add(2);
        ids.min(512) as usize
    }

    /// The checksums that do not hold, as errors.
    fn checksum_errors(&self) -> Vec<ErrorKind> {
        let mut errors = Vec::new();
        let computed = header_checksum(&self.data);
        if computed != self.header.header_chunk_checksum {
            errors.push(ErrorKind::EvtxChunkHeaderChecksum {
                stored: self.header.header_chunk_checksum,
                computed,
            });
        }
        let free_space = self.header.free_space_offset;
        match self.data.get(CHUNK_HEADER_SIZE..free_space as usize) {
            Some(records) => {
                let computed = evtx::checksum_ieee(records);
                if computed != self.header.events_checksum {
                    errors.push(ErrorKind::EvtxChunkDataChecksum {
                        stored: self.header.events_checksum,
                        computed,
                    });
                }
            }
            None => errors.push(ErrorKind::EvtxChunkFreeSpace { offset: free_space }),
        }
        errors
    }

    fn decode_records(&self, path: &Arc<Path>, out: &mut Vec<Result<Rendered, Error>>) {
        let chunk = EvtxChunk::new(&self.data, &self.header, settings());
        let cause = match chunk {
            Ok(chunk) => return self.decode_chunk(chunk, path, out),
            Err(cause) => cause,
        };
        // The parser builds the chunk's string table first and gives up on the whole chunk
        // when a link in it is damaged or cut off; without the table it reads each name
        // where the record points to. So the records are read again without it.
        if self.data.len() == CHUNK_SIZE {
            let kind = ErrorKind::EvtxChunkStrings(error_chain(&cause));
            out.push(Err(Error::new(path.clone(), self.location(), kind)));
        }
        let mut data = self.data.clone();
        data[STRING_TABLE].fill(0);
        let chunk = EvtxChunkHeader::from_bytes(&data)
            .map_err(|cause| error_chain(&cause))
            .and_then(|header| {
                EvtxChunk::new(&data, &header, settings())
                    .map_err(|cause| error_chain(&cause))
                    .map(|chunk| self.decode_chunk(chunk, path, out))
            });
        if let Err(cause) = chunk {
            let kind = ErrorKind::EvtxChunkHeader(format!("{cause}; records of this chunk lost"));
            out.push(Err(Error::new(path.clone(), self.location(), kind)));
        }
    }

    fn decode_chunk(
        &self,
        mut chunk: EvtxChunk<'_>,
        path: &Arc<Path>,
        out: &mut Vec<Result<Rendered, Error>>,
    ) {
        let error = |location, kind| Err(Error::new(path.clone(), location, kind));
        for item in chunk.iter() {
            let record = match item {
                Ok(record) => record,
                Err(cause) => {
                    let location = self.record_error_location(&cause);
                    out.push(error(location, ErrorKind::EvtxRecord(error_chain(&cause))));
                    continue;
                }
            };
            let record_id = record.event_record_id;
            let offset = self.offset + record.binxml_offset.saturating_sub(RECORD_HEADER_SIZE);
            let location = Location::EvtxRecord {
                chunk: self.chunk,
                record_id: Some(record_id),
                offset: Some(offset),
            };
            // The crate renders to JSON bytes on its fast path (its own `into_json_value`
            // renders and then parses); the caller parses them, once.
            match record.into_json_bytes() {
                Ok(rendered) => out.push(Ok(Rendered {
                    json: rendered.data,
                    position: Position::Evtx {
                        chunk: self.chunk,
                        record_id,
                        offset,
                    },
                })),
                Err(cause) => {
                    out.push(error(location, ErrorKind::EvtxRecord(error_chain(&cause))));
                }
            }
        }
    }

    /// Where a record the parser could not read is, as far as its error tells.
    fn record_error_location(&self, cause: &EvtxError) -> Location {
        match cause {
            EvtxError::FailedToReadRecordAt { offset, .. } => Location::EvtxRecord {
                chunk: self.chunk,
                record_id: None,
                offset: Some(self.offset + offset),
            },
            EvtxError::FailedToParseRecord { record_id, .. } => Location::EvtxRecord {
                chunk: self.chunk,
                record_id: Some(*record_id),
                offset: None,
            },
            _ => self.location(),
        }
    }
}
