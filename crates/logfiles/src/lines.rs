//! JSON lines (NDJSON): one JSON object per line, cut into batches of whole lines.
//!
//! The reader cuts the input at the last newline before the batch size, so a batch holds
//! whole lines and knows the number of its first line; decoding parses each line straight
//! from the batch's buffer (`serde_json::from_slice`, no per-line allocation). Blank lines
//! are skipped. A line that does not parse, or is not an object, is an error naming its
//! line; the lines around it are read as usual. A line longer than the record limit is
//! reported and skipped without being held in memory.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use crate::ReadOptions;
use crate::detect::{UTF8_BOM, is_json_space};
use crate::error::{Error, ErrorKind, Location};
use crate::input::{Filled, Stream};
use crate::record::{Position, RawKind, RawRecord, Record};
use crate::unit::{Unit, UnitBody};

/// The batches of a JSON lines file.
pub(crate) struct LineUnits {
    stream: Stream,
    /// Bytes read and not yet handed out; they start at the beginning of a line.
    buf: Vec<u8>,
    /// Number of the line `buf` starts with.
    line: u64,
    /// Whether the stream has ended (or failed).
    ended: bool,
    /// The stream's failure, reported after the bytes read before it.
    failure: Option<Error>,
    /// Whether the rest of an over-long line is still to be skipped.
    skipping: bool,
    started: bool,
    batch_bytes: usize,
    max_line_bytes: usize,
}

impl LineUnits {
    /// Batches of the lines of `stream`.
    pub(crate) fn new(stream: Stream, options: &ReadOptions) -> Self {
        LineUnits {
            stream,
            buf: Vec::new(),
            line: 1,
            ended: false,
            failure: None,
            skipping: false,
            started: false,
            batch_bytes: options.batch_bytes.max(1),
            max_line_bytes: options.max_record_bytes.max(1),
        }
    }

    /// Reads more input into `buf`; false once the stream has ended.
    fn read_more(&mut self, max: usize) -> bool {
        if self.ended {
            return false;
        }
        match self.stream.fill(&mut self.buf, max) {
            Filled::Data => true,
            Filled::End => {
                self.ended = true;
                false
            }
            Filled::Failed(error) => {
                self.failure = Some(error);
                self.ended = true;
                false
            }
        }
    }

    /// Skips the rest of an over-long line; false if the input ended first.
    fn skip_rest_of_line(&mut self) -> bool {
        loop {
            if let Some(newline) = memchr::memchr(b'\n', &self.buf) {
                self.buf.drain(..=newline);
                self.skipping = false;
                return true;
            }
            self.buf.clear();
            if !self.read_more(self.batch_bytes.max(64 * 1024)) {
                return false;
            }
        }
    }

    /// Hands out `buf[..end]` as a batch.
    fn take_batch(&mut self, end: usize) -> Unit {
        let rest = self.buf.split_off(end);
        let data = std::mem::replace(&mut self.buf, rest);
        let first_line = self.line;
        self.line += memchr::memchr_iter(b'\n', &data).count() as u64;
        let unit = LineUnit {
            data,
            first_line,
            max_line_bytes: self.max_line_bytes,
        };
        Unit::new(self.stream.path().clone(), UnitBody::Lines(unit))
    }
}

impl Iterator for LineUnits {
    type Item = Result<Unit, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            let _ = self.stream.fill_to(&mut self.buf, UTF8_BOM.len());
            if self.buf.starts_with(UTF8_BOM) {
                self.buf.drain(..UTF8_BOM.len());
            }
        }
        if self.skipping && !self.skip_rest_of_line() {
            return self.failure.take().map(Err);
        }
        // Fill up to a batch; then cut after the last newline.
        while self.buf.len() < self.batch_bytes {
            let want = (self.batch_bytes - self.buf.len()).max(8 * 1024);
            if !self.read_more(want) {
                break;
            }
        }
        loop {
            if self.ended {
                if self.buf.is_empty() {
                    return self.failure.take().map(Err);
                }
                let end = self.buf.len();
                return Some(Ok(self.take_batch(end)));
            }
            if let Some(newline) = memchr::memrchr(b'\n', &self.buf) {
                return Some(Ok(self.take_batch(newline + 1)));
            }
            // One line longer than a batch: read on until it ends, within the limit.
            if self.buf.len() > self.max_line_bytes {
                let error = Error::new(
                    self.stream.path().clone(),
                    Location::Line { line: self.line },
                    ErrorKind::TooLong {
                        limit: self.max_line_bytes,
                    },
                );
                self.buf.clear();
                self.line += 1;
                self.skipping = true;
                return Some(Err(error));
            }
            let want = self.buf.len().max(64 * 1024);
            self.read_more(want);
        }
    }
}

/// A batch of whole lines and the number of its first line.
pub(crate) struct LineUnit {
    data: Vec<u8>,
    first_line: u64,
    /// Lines longer than this are errors, however they were batched.
    max_line_bytes: usize,
}

impl LineUnit {
    /// Where the batch starts.
    pub(crate) fn location(&self) -> Location {
        Location::Line {
            line: self.first_line,
        }
    }

    /// The batch's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// The batch's bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// A cursor at the batch's first line.
    pub(crate) fn cursor(&self) -> LineCursor {
        LineCursor {
            pos: 0,
            line: self.first_line,
            max_line_bytes: self.max_line_bytes,
        }
    }
}

/// How far decoding a batch of lines has got.
pub(crate) struct LineCursor {
    pos: usize,
    line: u64,
    max_line_bytes: usize,
}

impl LineCursor {
    /// The next record or error of the batch `data`, skipping blank lines.
    pub(crate) fn next(&mut self, data: &[u8], path: &Arc<Path>) -> Option<Result<Record, Error>> {
        Some(self.next_raw(data, path)?.and_then(|raw| raw.decode()))
    }

    /// The next line of the batch `data` as text, or the error that it is too long,
    /// skipping blank lines.
    pub(crate) fn next_raw<'a>(
        &mut self,
        data: &'a [u8],
        path: &'a Arc<Path>,
    ) -> Option<Result<RawRecord<'a>, Error>> {
        loop {
            let rest = data.get(self.pos..).filter(|rest| !rest.is_empty())?;
            let (text, advance) = match memchr::memchr(b'\n', rest) {
                Some(end) => (&rest[..end], end + 1),
                None => (rest, rest.len()),
            };
            self.pos += advance;
            let line = self.line;
            self.line += 1;
            if text.iter().all(|byte| is_json_space(*byte)) {
                continue;
            }
            if text.len() > self.max_line_bytes {
                let kind = ErrorKind::TooLong {
                    limit: self.max_line_bytes,
                };
                return Some(Err(Error::new(path.clone(), Location::Line { line }, kind)));
            }
            let position = Position::Line { line };
            return Some(Ok(RawRecord::new(
                Cow::Borrowed(text),
                path,
                position,
                RawKind::Line,
            )));
        }
    }
}
