//! Opening a log file: seeing through gzip, recognising the format, cutting it into units.

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::detect::{Detected, detect, is_json_space};
use crate::documents::DocumentUnits;
use crate::error::{Error, ErrorKind, Location, escape_start};
use crate::evtx::EvtxUnits;
use crate::input::{Stream, is_gzip};
use crate::lines::LineUnits;
use crate::unit::{IntoRecords, Unit};

/// How much of a file is read to recognise its format.
const PREFIX_BYTES: usize = 64 * 1024;
/// How far the prefix is extended to find the end of a JSON file's first line.
const MAX_PREFIX_BYTES: usize = 1024 * 1024;

/// Settings for reading files. The defaults suit a hunt; tests use small batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Target size of a JSON unit in bytes (default 1 MiB). A unit holds whole lines or
    /// values, so it can be larger by one line or value.
    pub batch_bytes: usize,
    /// Longest JSON line or value read (default 64 MiB); a longer one is reported and
    /// skipped without being held in memory.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            batch_bytes: 1024 * 1024,
            max_record_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The format of a log file, as recognised from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Windows XML Event Log (`ElfFile\0`).
    Evtx,
    /// One JSON object per line (NDJSON).
    JsonLines,
    /// JSON objects one after another in any layout, or arrays of objects.
    JsonDocuments,
    /// Empty, or only whitespace: no records.
    Empty,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Evtx => "EVTX",
            Format::JsonLines => "JSON lines",
            Format::JsonDocuments => "JSON documents",
            Format::Empty => "empty",
        })
    }
}

/// How a log file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (one or more members), recognised by its magic bytes.
    Gzip,
}

/// Where a file's units come from.
enum Source {
    /// A plain EVTX file, read chunk by chunk at their offsets.
    EvtxFile(File),
    /// Anything else, read front to back.
    Stream(Stream),
    /// Nothing to read.
    Empty,
}

/// An opened log file whose format is known, ready to be cut into [`Unit`]s.
pub struct LogFile {
    path: Arc<Path>,
    format: Format,
    compression: Compression,
    source: Source,
    options: ReadOptions,
}

impl fmt::Debug for LogFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogFile")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .finish()
    }
}

/// The raw bytes of a file before decompression.
enum Raw {
    File(File),
    Reader(Box<dyn Read + Send>),
}

impl Raw {
    fn reader(&mut self) -> &mut dyn Read {
        match self {
            Raw::File(file) => file,
            Raw::Reader(reader) => reader,
        }
    }

    fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            Raw::File(file) => Box::new(file),
            Raw::Reader(reader) => reader,
        }
    }
}

/// A reader that fails once with a stored error, then ends: it puts a failure met while
/// reading a file's prefix back in its place, after the prefix.
struct FailOnce(Option<io::Error>);

impl Read for FailOnce {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(error) => Err(error),
            None => Ok(0),
        }
    }
}

/// Reads from `reader` into `buf` until it holds `want` bytes; returns whether the input
/// ended, and the failure if it failed.
fn read_prefix(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> (bool, Option<io::Error>) {
    while buf.len() < want {
        let old_len = buf.len();
        buf.resize(want, 0);
        match reader.read(&mut buf[old_len..]) {
            Ok(0) => {
                buf.truncate(old_len);
                return (true, None);
            }
            Ok(n) => buf.truncate(old_len + n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => buf.truncate(old_len),
            Err(error) => {
                buf.truncate(old_len);
                return (true, Some(error));
            }
        }
    }
    (false, None)
}

/// Whether a JSON prefix needs more bytes to see the end of its first line.
fn needs_first_line(prefix: &[u8]) -> bool {
    let Some(start) = prefix.iter().position(|byte| !is_json_space(*byte)) else {
        return false;
    };
    matches!(prefix[start], b'{' | b'[') && memchr::memchr(b'\n', &prefix[start..]).is_none()
}

impl LogFile {
    /// Opens the file at `path` and recognises its format, with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<LogFile, Error> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// Opens the file at `path` and recognises its format.
    ///
    /// A plain EVTX file is read chunk by chunk at their offsets, in record order; anything
    /// else (including a FIFO) is read front to back.
    pub fn open_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<LogFile, Error> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let io_error = |error| Error::new(path.clone(), Location::File, ErrorKind::Io(error));
        let file = File::open(&path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        if metadata.is_dir() {
            let error = io::Error::new(io::ErrorKind::IsADirectory, "is a directory");
            return Err(io_error(error));
        }
        Self::from_raw(path, Raw::File(file), metadata.is_file(), options)
    }

    /// Reads a log file from `reader` (a pipe, an archive member, bytes in memory), named
    /// `path` in records and errors. EVTX chunks come in stored order.
    pub fn from_reader(
        path: impl AsRef<Path>,
        reader: impl Read + Send + 'static,
        options: &ReadOptions,
    ) -> Result<LogFile, Error> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        Self::from_raw(path, Raw::Reader(Box::new(reader)), false, options)
    }

    fn from_raw(
        path: Arc<Path>,
        mut raw: Raw,
        seekable: bool,
        options: &ReadOptions,
    ) -> Result<LogFile, Error> {
        let mut prefix = Vec::new();
        let (mut ended, mut failure) = read_prefix(raw.reader(), &mut prefix, PREFIX_BYTES);
        if prefix.is_empty()
            && let Some(error) = failure
        {
            return Err(Error::new(path, Location::File, ErrorKind::Io(error)));
        }
        let compression = if is_gzip(&prefix) {
            Compression::Gzip
        } else {
            Compression::None
        };
        // What follows the prefix: the rest of the input, or the failure that ended it.
        let mut rest: Option<Raw> = Some(raw);
        if compression == Compression::Gzip {
            let compressed = std::mem::take(&mut prefix);
            let tail: Box<dyn Read + Send> = match failure.take() {
                Some(error) => Box::new(FailOnce(Some(error))),
                None => rest.take().map_or_else(
                    || Box::new(io::empty()) as Box<dyn Read + Send>,
                    Raw::into_reader,
                ),
            };
            let mut decoder = MultiGzDecoder::new(Cursor::new(compressed).chain(tail));
            (ended, failure) = read_prefix(&mut decoder, &mut prefix, PREFIX_BYTES);
            if prefix.is_empty()
                && let Some(error) = failure
            {
                return Err(Error::new(path, Location::File, ErrorKind::Gzip(error)));
            }
            rest = Some(Raw::Reader(Box::new(decoder)));
        }
        if !ended
            && needs_first_line(&prefix)
            && let Some(raw) = rest.as_mut()
        {
            while !ended && needs_first_line(&prefix) && prefix.len() < MAX_PREFIX_BYTES {
                let want = (prefix.len() * 2).min(MAX_PREFIX_BYTES);
                (ended, failure) = read_prefix(raw.reader(), &mut prefix, want);
            }
        }
        let complete = ended && failure.is_none();
        let format = match detect(&prefix, complete) {
            Detected::Evtx => Format::Evtx,
            Detected::JsonLines => Format::JsonLines,
            Detected::JsonDocuments => Format::JsonDocuments,
            // Content says nothing here, so the name decides: an empty `.evtx` is a
            // collection that copied nothing, which must not pass for a clean read.
            Detected::Empty if failure.is_none() && named_evtx(&path) => {
                return Err(Error::new(path, Location::File, ErrorKind::EmptyEvtx));
            }
            Detected::Empty => Format::Empty,
            Detected::Unrecognised => {
                let start = escape_start(&prefix, 16);
                return Err(Error::new(
                    path,
                    Location::File,
                    ErrorKind::UnrecognisedFormat { start },
                ));
            }
        };
        let source = match (format, compression, rest) {
            (Format::Empty, _, _) if failure.is_none() => Source::Empty,
            (Format::Evtx, Compression::None, Some(Raw::File(file))) if seekable => {
                Source::EvtxFile(file)
            }
            (_, _, rest) => {
                let tail: Box<dyn Read + Send> = match (failure, rest) {
                    (Some(error), _) => Box::new(FailOnce(Some(error))),
                    (None, _) if ended => Box::new(io::empty()),
                    (None, Some(raw)) => raw.into_reader(),
                    (None, None) => Box::new(io::empty()),
                };
                let reader = Box::new(Cursor::new(prefix).chain(tail));
                Source::Stream(Stream::new(reader, path.clone(), compression))
            }
        };
        Ok(LogFile {
            path,
            format,
            compression,
            source,
            options: options.clone(),
        })
    }

    /// The file's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How the file is compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The file's units in order, with an error in its place wherever a piece of the file
    /// can't be cut into a unit. Reading the file happens here, on the calling thread;
    /// decoding happens in [`Unit::records`], on any thread.
    pub fn units(self) -> Units {
        let inner = match self.source {
            Source::Empty => UnitsInner::Empty,
            Source::EvtxFile(file) => UnitsInner::Evtx(EvtxUnits::seekable(self.path, file)),
            Source::Stream(stream) => match self.format {
                Format::Evtx => UnitsInner::Evtx(EvtxUnits::sequential(stream)),
                Format::JsonLines => UnitsInner::Lines(LineUnits::new(stream, &self.options)),
                _ => UnitsInner::Documents(DocumentUnits::new(stream, &self.options)),
            },
        };
        Units { inner }
    }

    /// All the file's records and errors in order, decoded on the calling thread.
    pub fn records(self) -> FileRecords {
        FileRecords {
            pending: None,
            units: Some(self.units()),
            current: None,
        }
    }
}

/// The units of a [`LogFile`] (see [`LogFile::units`]).
pub struct Units {
    inner: UnitsInner,
}

enum UnitsInner {
    Evtx(EvtxUnits),
    Lines(LineUnits),
    Documents(DocumentUnits),
    Empty,
}

impl Iterator for Units {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            UnitsInner::Evtx(units) => units.next(),
            UnitsInner::Lines(units) => units.next(),
            UnitsInner::Documents(units) => units.next(),
            UnitsInner::Empty => None,
        }
    }
}

/// All the records of one file, decoded in order on the calling thread (see
/// [`LogFile::records`] and [`read`]).
pub struct FileRecords {
    pending: Option<Error>,
    units: Option<Units>,
    current: Option<IntoRecords>,
}

impl Iterator for FileRecords {
    type Item = Result<crate::Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        loop {
            if let Some(record) = self.current.as_mut().and_then(Iterator::next) {
                return Some(record);
            }
            self.current = None;
            match self.units.as_mut()?.next() {
                Some(Ok(unit)) => self.current = Some(unit.into_records()),
                Some(Err(error)) => return Some(Err(error)),
                None => {
                    self.units = None;
                    return None;
                }
            }
        }
    }
}

/// All the records and errors of the file at `path`, decoded in order on the calling
/// thread; a file that can't be opened or recognised gives its one error.
pub fn read(path: impl AsRef<Path>) -> FileRecords {
    match LogFile::open(path) {
        Ok(file) => file.records(),
        Err(error) => FileRecords {
            pending: Some(error),
            units: None,
            current: None,
        },
    }
}

/// Whether `path` is named like an EVTX file (`.evtx`, or `.evtx.gz`), in any case.
fn named_evtx(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".evtx") || name.ends_with(".evtx.gz")
}
