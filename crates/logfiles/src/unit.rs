//! Units of work: pieces of a file that decode independently, on any thread.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use crate::documents::DocumentUnit;
use crate::error::{Error, Location};
use crate::evtx::{EvtxUnit, Rendered};
use crate::lines::{LineCursor, LineUnit};
use crate::record::{RawKind, RawRecord, Record};

/// A piece of a log file that decodes into records on its own: an EVTX chunk, a batch of
/// JSON lines, or a batch of JSON values.
///
/// A unit owns its bytes (64 KiB for EVTX, about [`crate::ReadOptions::batch_bytes`]
/// otherwise) and is `Send`: hand it to any thread and call [`Unit::records`] there.
pub struct Unit {
    path: Arc<Path>,
    body: UnitBody,
}

/// What a unit holds, by format.
pub(crate) enum UnitBody {
    // Boxed: the chunk header is 500 bytes, and units travel between threads.
    Evtx(Box<EvtxUnit>),
    Lines(LineUnit),
    Documents(DocumentUnit),
}

impl Unit {
    pub(crate) fn new(path: Arc<Path>, body: UnitBody) -> Self {
        Unit { path, body }
    }

    /// The file the unit is from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where in the file the unit starts: its chunk, or its first line or value.
    pub fn location(&self) -> Location {
        match &self.body {
            UnitBody::Evtx(unit) => unit.location(),
            UnitBody::Lines(unit) => unit.location(),
            UnitBody::Documents(unit) => unit.location(),
        }
    }

    /// The unit's size in bytes (for scheduling and progress).
    pub fn byte_len(&self) -> usize {
        match &self.body {
            UnitBody::Evtx(unit) => unit.len(),
            UnitBody::Lines(unit) => unit.len(),
            UnitBody::Documents(unit) => unit.len(),
        }
    }

    /// Decodes the unit: its records and errors, in file order.
    ///
    /// JSON units decode lazily, one record per `next`; an EVTX chunk decodes whole on the
    /// first `next` (the `evtx` crate's records borrow the chunk), at most a few hundred
    /// records.
    pub fn records(&self) -> Records<'_> {
        Records {
            unit: self,
            cursor: Cursor::new(self),
        }
    }

    /// The unit's records as JSON text, not decoded, and its errors, in file order: the
    /// same records and errors as [`Unit::records`], except that a record whose text is
    /// not an event comes as a [`RawRecord`] whose [`RawRecord::decode`] gives the error.
    ///
    /// JSON lines and values are borrowed from the unit; an EVTX chunk is rendered whole
    /// on the first `next`, as for [`Unit::records`].
    pub fn raw_records(&self) -> RawRecords<'_> {
        RawRecords {
            unit: self,
            cursor: RawCursor::new(self),
        }
    }

    /// Decodes the unit like [`Unit::records`], owning it.
    pub fn into_records(self) -> IntoRecords {
        let cursor = Cursor::new(&self);
        IntoRecords { unit: self, cursor }
    }
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unit")
            .field("path", &self.path)
            .field("location", &self.location())
            .field("byte_len", &self.byte_len())
            .finish()
    }
}

/// How far decoding a unit has got.
enum Cursor {
    /// An EVTX chunk, before and after it is decoded.
    Evtx(Option<std::vec::IntoIter<Result<Record, Error>>>),
    Lines(LineCursor),
    Documents(usize),
}

impl Cursor {
    fn new(unit: &Unit) -> Self {
        match &unit.body {
            UnitBody::Evtx(_) => Cursor::Evtx(None),
            UnitBody::Lines(lines) => Cursor::Lines(lines.cursor()),
            UnitBody::Documents(_) => Cursor::Documents(0),
        }
    }

    fn next(&mut self, unit: &Unit) -> Option<Result<Record, Error>> {
        match (self, &unit.body) {
            (Cursor::Evtx(decoded), UnitBody::Evtx(chunk)) => decoded
                .get_or_insert_with(|| chunk.decode(&unit.path).into_iter())
                .next(),
            (Cursor::Lines(cursor), UnitBody::Lines(lines)) => {
                cursor.next(lines.data(), &unit.path)
            }
            (Cursor::Documents(index), UnitBody::Documents(documents)) => {
                let record = documents.decode(*index, &unit.path)?;
                *index += 1;
                Some(record)
            }
            _ => None,
        }
    }
}

/// The records of a [`Unit`], borrowed (see [`Unit::records`]).
pub struct Records<'a> {
    unit: &'a Unit,
    cursor: Cursor,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next(self.unit)
    }
}

/// The records of a [`Unit`], owned (see [`Unit::into_records`]).
pub struct IntoRecords {
    unit: Unit,
    cursor: Cursor,
}

impl Iterator for IntoRecords {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next(&self.unit)
    }
}

/// How far reading a unit's raw records has got.
enum RawCursor {
    /// An EVTX chunk, before and after it is rendered.
    Evtx(Option<std::vec::IntoIter<Result<Rendered, Error>>>),
    Lines(LineCursor),
    Documents(usize),
}

impl RawCursor {
    fn new(unit: &Unit) -> Self {
        match &unit.body {
            UnitBody::Evtx(_) => RawCursor::Evtx(None),
            UnitBody::Lines(lines) => RawCursor::Lines(lines.cursor()),
            UnitBody::Documents(_) => RawCursor::Documents(0),
        }
    }
}

/// The records of a [`Unit`] as JSON text (see [`Unit::raw_records`]).
pub struct RawRecords<'a> {
    unit: &'a Unit,
    cursor: RawCursor,
}

impl<'a> Iterator for RawRecords<'a> {
    type Item = Result<RawRecord<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let unit = self.unit;
        match (&mut self.cursor, &unit.body) {
            (RawCursor::Evtx(rendered), UnitBody::Evtx(chunk)) => {
                let next = rendered
                    .get_or_insert_with(|| chunk.render(&unit.path).into_iter())
                    .next()?;
                Some(next.map(|rendered| {
                    RawRecord::new(
                        Cow::Owned(rendered.json),
                        &unit.path,
                        rendered.position,
                        RawKind::Evtx,
                    )
                }))
            }
            (RawCursor::Lines(cursor), UnitBody::Lines(lines)) => {
                cursor.next_raw(lines.data(), &unit.path)
            }
            (RawCursor::Documents(index), UnitBody::Documents(documents)) => {
                let raw = documents.raw(*index, &unit.path)?;
                *index += 1;
                Some(raw)
            }
            _ => None,
        }
    }
}
