//! JSON documents: objects one after another in any layout (pretty-printed, as `evtx_dump`
//! and the Sigma regression files write them), and arrays of objects, cut into batches of
//! whole values.
//!
//! A streaming scanner finds where each value starts and ends by counting brackets outside
//! strings, without parsing; decoding then parses each value from the batch's buffer. An
//! array at the top level is looked into: its elements are the events, so a file holding
//! one huge array is read in bounded memory like any other. Commas between values are
//! allowed, so an array that lost its brackets still reads.
//!
//! Damage stays local:
//! - bytes between values that are not JSON are reported once per run, and reading resumes
//!   at the next line that starts (in column 0) with `{` or `[`;
//! - a line starting with `{` in column 0 while a value is still open ends that value (it is
//!   reported as unterminated) and starts the next: pretty printers indent nested values, so
//!   such a line is the next object of a file whose previous object lost its closing brace
//!   (a valid file that nests an object in column 0 is read with errors, never silently
//!   wrong);
//! - a raw newline inside a string (invalid JSON) ends the string, so one broken string
//!   can't swallow the rest of the file;
//! - a value longer than the record limit is reported and skipped without being held.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use crate::ReadOptions;
use crate::detect::UTF8_BOM;
use crate::error::{Error, ErrorKind, Location, escape_start};
use crate::input::{Filled, Stream};
use crate::record::{Position, RawKind, RawRecord, Record};
use crate::unit::{Unit, UnitBody};

/// How much to read from the stream at a time.
const READ_SIZE: usize = 256 * 1024;

/// How a value's bytes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanEnd {
    /// At its closing bracket.
    Closed,
    /// Where the next object starts, in column 0 of `next_line`, before it closed.
    Cut { next_line: u64 },
    /// At the end of the input, before it closed.
    Eof,
}

/// One value's bytes in a buffer, and where it is in the file.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    number: u64,
    line: u64,
    offset: u64,
    ended: SpanEnd,
}

impl Span {
    fn location(&self) -> Location {
        Location::Document {
            number: self.number,
            line: self.line,
            offset: self.offset,
        }
    }

    fn shift(&mut self, by: usize) {
        self.start -= by;
        self.end -= by;
    }
}

/// The scanner's progress through a value.
#[derive(Debug, Clone, Copy)]
struct ValueScan {
    start: usize,
    number: u64,
    line: u64,
    offset: u64,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Over the size limit: reported, scanned to its end, not kept.
    skipping: bool,
    /// A number, string, boolean or null in an array: it ends at the next separator.
    scalar: bool,
}

/// Where the scanner is.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between values, or between the elements of a top-level array.
    Between,
    /// Inside a value.
    Value(ValueScan),
    /// Inside bytes that are not JSON, which started at this line and offset with these
    /// (up to 16) bytes.
    NotJson {
        line: u64,
        offset: u64,
        start: [u8; 16],
        start_len: usize,
    },
}

/// What the scanner found.
enum Found {
    /// It needs more input.
    More,
    /// A value's bytes.
    Span(Span),
    /// An error about the input.
    Error(Location, ErrorKind),
}

/// The scanner's state, apart from the buffer it scans.
struct Scanner {
    /// Position in the buffer.
    pos: usize,
    /// Line of `pos`, from 1.
    line: u64,
    /// Whether `pos` is in column 0.
    line_start: bool,
    state: State,
    in_array: bool,
    next_number: u64,
    max_value_bytes: usize,
}

impl Scanner {
    /// Scans `buf` (which starts at stream offset `base`) from `pos` to the next finding.
    fn scan(&mut self, buf: &[u8], base: u64) -> Found {
        while self.pos < buf.len() {
            match self.state {
                State::Between => self.between(buf, base),
                State::Value(mut value) => {
                    let found = self.value(buf, &mut value);
                    if let State::Value(_) = self.state {
                        self.state = State::Value(value);
                    }
                    if let Some(found) = found {
                        return found;
                    }
                }
                State::NotJson { .. } => {
                    if let Some(found) = self.not_json(buf, base) {
                        return found;
                    }
                }
            }
        }
        if let State::Value(value) = &mut self.state
            && !value.skipping
            && buf.len() - value.start > self.max_value_bytes
        {
            value.skipping = true;
            let location = Location::Document {
                number: value.number,
                line: value.line,
                offset: value.offset,
            };
            let kind = ErrorKind::TooLong {
                limit: self.max_value_bytes,
            };
            return Found::Error(location, kind);
        }
        Found::More
    }

    /// One step between values.
    fn between(&mut self, buf: &[u8], base: u64) {
        let byte = buf[self.pos];
        match byte {
            b'\n' => {
                self.pos += 1;
                self.line += 1;
                self.line_start = true;
                return;
            }
            b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
            b'[' if !self.in_array => {
                self.in_array = true;
                self.pos += 1;
            }
            b']' if self.in_array => {
                self.in_array = false;
                self.pos += 1;
            }
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
                if matches!(byte, b'{' | b'[') || self.in_array =>
            {
                // The value's own step reads this byte. Scalars are only taken apart in an
                // array, where they are elements (and get a "not an object" error); between
                // top-level values, they are more likely the start of a line of text.
                self.state = State::Value(ValueScan {
                    start: self.pos,
                    number: self.next_number,
                    line: self.line,
                    offset: base + self.pos as u64,
                    depth: 0,
                    in_string: false,
                    escaped: false,
                    skipping: false,
                    scalar: !matches!(byte, b'{' | b'['),
                });
                self.next_number += 1;
                return;
            }
            _ => {
                let shown = &buf[self.pos..buf.len().min(self.pos + 16)];
                let mut start = [0_u8; 16];
                start[..shown.len()].copy_from_slice(shown);
                self.state = State::NotJson {
                    line: self.line,
                    offset: base + self.pos as u64,
                    start,
                    start_len: shown.len(),
                };
                return;
            }
        }
        self.line_start = false;
    }

    /// Steps through a value until its end, a cut, or the end of the buffer.
    fn value(&mut self, buf: &[u8], value: &mut ValueScan) -> Option<Found> {
        while self.pos < buf.len() {
            if value.in_string {
                if value.escaped {
                    value.escaped = false;
                    if buf[self.pos] != b'\n' {
                        self.pos += 1;
                        continue;
                    }
                }
                let Some(at) = memchr::memchr3(b'"', b'\\', b'\n', &buf[self.pos..]) else {
                    self.pos = buf.len();
                    return None;
                };
                self.pos += at;
                match buf[self.pos] {
                    b'"' => value.in_string = false,
                    b'\\' => value.escaped = true,
                    _ => {
                        // A raw newline can't be in a JSON string: the string is broken, and
                        // the scan goes on outside it.
                        value.in_string = false;
                        self.line += 1;
                        self.line_start = true;
                        self.pos += 1;
                        continue;
                    }
                }
                self.pos += 1;
                continue;
            }
            let byte = buf[self.pos];
            if value.scalar {
                match byte {
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n' => {
                        self.state = State::Between;
                        let span = Span {
                            start: value.start,
                            end: self.pos,
                            number: value.number,
                            line: value.line,
                            offset: value.offset,
                            ended: SpanEnd::Closed,
                        };
                        return (!value.skipping).then_some(Found::Span(span));
                    }
                    b'"' => value.in_string = true,
                    _ => {}
                }
                self.line_start = false;
                self.pos += 1;
                continue;
            }
            if self.line_start && byte == b'{' && value.depth > 0 {
                // The next object starts before this one closed.
                self.state = State::Between;
                let span = Span {
                    start: value.start,
                    end: self.pos,
                    number: value.number,
                    line: value.line,
                    offset: value.offset,
                    ended: SpanEnd::Cut {
                        next_line: self.line,
                    },
                };
                return (!value.skipping).then_some(Found::Span(span));
            }
            self.line_start = false;
            match byte {
                b'"' => value.in_string = true,
                b'{' | b'[' => value.depth += 1,
                b'}' | b']' => {
                    value.depth = value.depth.saturating_sub(1);
                    if value.depth == 0 {
                        self.pos += 1;
                        self.state = State::Between;
                        let span = Span {
                            start: value.start,
                            end: self.pos,
                            number: value.number,
                            line: value.line,
                            offset: value.offset,
                            ended: SpanEnd::Closed,
                        };
                        return (!value.skipping).then_some(Found::Span(span));
                    }
                }
                b'\n' => {
                    self.line += 1;
                    self.line_start = true;
                }
                _ => {}
            }
            self.pos += 1;
        }
        None
    }

    /// Skips bytes that are not JSON, line by line, until a line that starts a value.
    fn not_json(&mut self, buf: &[u8], base: u64) -> Option<Found> {
        while self.pos < buf.len() {
            let byte = buf[self.pos];
            let resumes = byte == b'{' || byte == b'[' || (byte == b']' && self.in_array);
            if self.line_start && resumes {
                let state = std::mem::replace(&mut self.state, State::Between);
                return self.not_json_error(state, base + self.pos as u64);
            }
            match memchr::memchr(b'\n', &buf[self.pos..]) {
                Some(at) => {
                    self.pos += at + 1;
                    self.line += 1;
                    self.line_start = true;
                }
                None => {
                    self.pos = buf.len();
                    self.line_start = false;
                }
            }
        }
        None
    }

    /// The error for bytes that are not JSON, from where `state` says they start to `end`.
    fn not_json_error(&self, state: State, end: u64) -> Option<Found> {
        let State::NotJson {
            line,
            offset,
            start,
            start_len,
        } = state
        else {
            return None;
        };
        let len = end.saturating_sub(offset);
        let mut start = escape_start(&start[..start_len], 16);
        if len > start_len as u64 {
            start.push_str("...");
        }
        Some(Found::Error(
            Location::Bytes { line, offset },
            ErrorKind::NotJson { len, start },
        ))
    }

    /// What is left open at the end of the input.
    fn finish(&mut self, buf: &[u8], base: u64) -> Option<Found> {
        let state = std::mem::replace(&mut self.state, State::Between);
        match state {
            State::Between => None,
            State::Value(value) if value.skipping => None,
            State::Value(value) => Some(Found::Span(Span {
                start: value.start,
                end: buf.len(),
                number: value.number,
                line: value.line,
                offset: value.offset,
                ended: SpanEnd::Eof,
            })),
            state @ State::NotJson { .. } => self.not_json_error(state, base + buf.len() as u64),
        }
    }

    /// Moves the scanner's buffer positions `by` bytes back, after that many were dropped
    /// from the buffer's front.
    fn shift(&mut self, by: usize) {
        self.pos -= by;
        if let State::Value(value) = &mut self.state
            && !value.skipping
        {
            value.start -= by;
        }
    }

    /// The first buffer position still needed.
    fn keep_from(&self) -> usize {
        match self.state {
            State::Value(value) if !value.skipping => value.start,
            _ => self.pos,
        }
    }
}

/// The batches of a file of JSON documents.
pub(crate) struct DocumentUnits {
    stream: Stream,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    scanner: Scanner,
    /// Values found in `buf` and not yet handed out.
    spans: Vec<Span>,
    ready: VecDeque<Result<Unit, Error>>,
    ended: bool,
    failure: Option<Error>,
    finished: bool,
    started: bool,
    batch_bytes: usize,
}

impl DocumentUnits {
    /// Batches of the values of `stream`.
    pub(crate) fn new(stream: Stream, options: &ReadOptions) -> Self {
        DocumentUnits {
            stream,
            buf: Vec::new(),
            base: 0,
            scanner: Scanner {
                pos: 0,
                line: 1,
                line_start: true,
                state: State::Between,
                in_array: false,
                next_number: 1,
                max_value_bytes: options.max_record_bytes.max(1),
            },
            spans: Vec::new(),
            ready: VecDeque::new(),
            ended: false,
            failure: None,
            finished: false,
            started: false,
            batch_bytes: options.batch_bytes.max(1),
        }
    }

    fn error(&self, location: Location, kind: ErrorKind) -> Error {
        Error::new(self.stream.path().clone(), location, kind)
    }

    /// Hands out the values found so far as a batch, if there are any.
    fn emit(&mut self) {
        let Some(last) = self.spans.last() else {
            return;
        };
        let end = last.end;
        let rest = self.buf.split_off(end);
        let data = std::mem::replace(&mut self.buf, rest);
        let spans = std::mem::take(&mut self.spans);
        self.base += end as u64;
        self.scanner.shift(end);
        let unit = DocumentUnit {
            data,
            spans,
            max_value_bytes: self.scanner.max_value_bytes,
        };
        let path = self.stream.path().clone();
        self.ready
            .push_back(Ok(Unit::new(path, UnitBody::Documents(unit))));
    }

    /// Drops the bytes before the first one still needed, when that frees at least half
    /// the buffer (so that the bytes kept are moved a bounded number of times).
    fn compact(&mut self) {
        let keep_from = match self.spans.first() {
            Some(span) => span.start,
            None => self.scanner.keep_from(),
        };
        if keep_from == 0 || keep_from < self.buf.len() / 2 {
            return;
        }
        self.buf.drain(..keep_from);
        self.base += keep_from as u64;
        self.scanner.shift(keep_from);
        for span in &mut self.spans {
            span.shift(keep_from);
        }
    }

    fn read_more(&mut self) {
        match self.stream.fill(&mut self.buf, READ_SIZE) {
            Filled::Data => {}
            Filled::End => self.ended = true,
            Filled::Failed(error) => {
                self.failure = Some(error);
                self.ended = true;
            }
        }
    }

    fn found(&mut self, found: Found) {
        match found {
            Found::More => {}
            Found::Span(span) => {
                let batch_start = self.spans.first().map_or(span.start, |first| first.start);
                self.spans.push(span);
                if span.end - batch_start >= self.batch_bytes {
                    self.emit();
                }
            }
            Found::Error(location, kind) => {
                // Errors keep their place among the values: the batch before goes first.
                self.emit();
                let error = self.error(location, kind);
                self.ready.push_back(Err(error));
            }
        }
    }
}

impl Iterator for DocumentUnits {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            if let Some(error) = self.stream.fill_to(&mut self.buf, UTF8_BOM.len()) {
                self.failure = Some(error);
                self.ended = true;
            }
            if self.buf.starts_with(UTF8_BOM) {
                self.buf.drain(..UTF8_BOM.len());
                self.base = UTF8_BOM.len() as u64;
            }
        }
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            match self.scanner.scan(&self.buf, self.base) {
                Found::More if self.ended => {
                    if let Some(found) = self.scanner.finish(&self.buf, self.base) {
                        self.found(found);
                    }
                    self.emit();
                    if let Some(failure) = self.failure.take() {
                        self.ready.push_back(Err(failure));
                    }
                    self.finished = true;
                }
                Found::More => {
                    self.compact();
                    self.read_more();
                }
                found => self.found(found),
            }
        }
    }
}

/// A batch of JSON values.
pub(crate) struct DocumentUnit {
    data: Vec<u8>,
    spans: Vec<Span>,
    /// Values longer than this are errors, however they were batched.
    max_value_bytes: usize,
}

impl DocumentUnit {
    /// Where the batch's first value is.
    pub(crate) fn location(&self) -> Location {
        match self.spans.first() {
            Some(span) => span.location(),
            None => Location::File,
        }
    }

    /// The batch's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// The record or error of the batch's value `index`, if it has one.
    pub(crate) fn decode(&self, index: usize, path: &Arc<Path>) -> Option<Result<Record, Error>> {
        Some(self.raw(index, path)?.and_then(|raw| raw.decode()))
    }

    /// The text of the batch's value `index`, or the error that it is too long, if the
    /// batch has that value.
    pub(crate) fn raw<'a>(
        &'a self,
        index: usize,
        path: &'a Arc<Path>,
    ) -> Option<Result<RawRecord<'a>, Error>> {
        let span = self.spans.get(index)?;
        let bytes = &self.data[span.start..span.end];
        if bytes.len() > self.max_value_bytes {
            let kind = ErrorKind::TooLong {
                limit: self.max_value_bytes,
            };
            return Some(Err(Error::new(path.clone(), span.location(), kind)));
        }
        let position = Position::Document {
            number: span.number,
            line: span.line,
            offset: span.offset,
        };
        Some(Ok(RawRecord::new(
            Cow::Borrowed(bytes),
            path,
            position,
            RawKind::Document(span.ended),
        )))
    }
}
