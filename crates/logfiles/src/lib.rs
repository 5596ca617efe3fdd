//! Readers for collected log files: Windows EVTX, JSON lines, JSON documents, gzip,
//! directories. This crate turns files into events; it knows nothing about Sigma, rules or
//! servers (`nigehban-hunt` puts it together with `nigehban-sigma`).
//!
//! # The flow
//!
//! ```text
//! walk(paths) ──► PathBuf ──► LogFile::open ──► LogFile::units() ──► Unit ──► Unit::records()
//!   (errors        files       (gzip seen        (read, on the        (Send)    (decode, on any
//!    inline)                    through, format   calling thread)               thread: Record
//!                               from content)                                   or Error)
//! ```
//!
//! - [`walk`] expands the paths a responder gives into files: directories recursively, in
//!   name order, following symbolic links without looping; an entry that can't be walked is
//!   an `Err` in the stream and the walk goes on.
//! - [`LogFile::open`] opens one file and recognises its [`Format`] from its content, never
//!   from its name: EVTX (`ElfFile\0`), gzip (`1f 8b`, then the format inside), JSON lines
//!   (the first line is one complete object), JSON documents (pretty-printed objects one
//!   after another, or arrays of objects). Anything else is an
//!   [`ErrorKind::UnrecognisedFormat`] error for that file.
//! - [`LogFile::units`] cuts the file into [`Unit`]s, independent pieces of work: one per
//!   64 KiB EVTX chunk, or batches of about [`ReadOptions::batch_bytes`] (1 MiB) of whole
//!   JSON lines or values. Reading happens here, sequentially; memory is bounded by the
//!   units in flight, whatever the size of the file (a gzip file is decompressed as a
//!   stream; a file holding one huge JSON array is streamed element by element).
//! - [`Unit::records`] decodes a unit into [`Record`]s, each a `serde_json::Value` with
//!   its file and [`Position`]. Units decode on any thread, so a hunt runs in parallel over
//!   files and over the chunks of one big file. Records of a unit come in file order.
//! - [`Unit::raw_records`] gives the same records undecoded, as JSON text ([`RawRecord`]),
//!   for callers with a faster way to read JSON than `serde_json::Value`; a record's
//!   [`RawRecord::decode`] gives its event or its error exactly as [`Unit::records`] does.
//! - [`read`] and [`LogFile::records`] do all of it sequentially, for simple callers;
//!   [`LogFile::from_reader`] reads from any `Read` (a pipe, an archive member).
//!
//! ```no_run
//! use nigehban_logfiles::{LogFile, walk};
//!
//! for path in walk(["collected/"]) {
//!     let path = match path {
//!         Ok(path) => path,
//!         Err(error) => { eprintln!("{error}"); continue }
//!     };
//!     let file = match LogFile::open(&path) {
//!         Ok(file) => file,
//!         Err(error) => { eprintln!("{error}"); continue }
//!     };
//!     for unit in file.units() {
//!         // A hunt sends each unit to a worker thread; decoding is the expensive part.
//!         let unit = match unit {
//!             Ok(unit) => unit,
//!             Err(error) => { eprintln!("{error}"); continue }
//!         };
//!         for record in unit.records() {
//!             match record {
//!                 Ok(record) => println!("{} {}: {}", record.path.display(), record.position, record.event),
//!                 Err(error) => eprintln!("{error}"),
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! # Events
//!
//! Every event is a JSON object. EVTX events are exactly what the `evtx` crate (0.15)
//! renders (`Event.System.EventID`, `Event.System.TimeCreated.#attributes.SystemTime`,
//! `Event.EventData.<Name>`, XML attributes under `#attributes`), which is also the layout
//! of `evtx_dump -o json` and of the Sigma regression `.json` files. So an event read from
//! an `.evtx` file and the same event read from its JSON rendering have the same fields,
//! addressed the same way.
//!
//! Their values can differ in form where an older `evtx_dump` rendered the JSON (as for
//! the Sigma regression files; `tests/regression.rs` pins every difference): this crate
//! keeps GUIDs as Windows writes them (`{5770385f-c22a-...}`, older: `5770385F-C22A-...`),
//! `SystemTime` with the 7 fraction digits a FILETIME holds (older: 6), and strings with
//! their trailing whitespace (older versions trimmed them: Sysmon's `ParentCommandLine`
//! is often `"C:\Windows\system32\cmd.exe" ` with a trailing space). Matching that has to
//! treat both alike belongs to the caller.
//!
//! `serde_json` is built with `preserve_order` (the `evtx` crate asks for it), so the keys
//! of every object stay in document order. JSON text is parsed into `serde_json::Value`
//! by `sonic-rs`, about 30% faster than `serde_json` here; `serde_json` reports the errors.
//!
//! # Positions and errors
//!
//! A [`Position`] says where a record was: EVTX chunk number, record id and offset; JSON
//! line number; or JSON value number, line and offset. Offsets in a gzip file are in the
//! decompressed data.
//!
//! There is one error type, [`Error`]: the file, a [`Location`] in it and an
//! [`ErrorKind`], displayed as `path: place: what`, for example
//! `Security.evtx: chunk 3 (offset 0x31000): bad chunk header checksum (...)`. Errors come
//! inline, in file order, from [`walk`], [`LogFile::units`] and [`Unit::records`]; none of
//! them stops the reading of what is around it:
//! - EVTX: a bad file header or checksum is reported and the chunks are read anyway; a
//!   chunk whose header is unreadable is skipped; a bad record is reported and the parser
//!   resynchronises on the next record; a file cut inside a chunk gives the records before
//!   the cut;
//! - JSON: a line or value that does not parse, or is not an object, is reported with its
//!   line (and offset) and reading goes on with the next one; bytes between values that are
//!   not JSON are reported once per run;
//! - gzip: a corrupt or truncated stream gives everything decompressed before the damage,
//!   then an error.
//!
//! Nothing here panics on any input: the readers are fuzzed (`fuzz/fuzz_targets/logfiles_*`)
//! and property-tested, and a panic inside the `evtx` crate is caught per chunk and
//! reported as [`ErrorKind::EvtxParserPanic`].

mod detect;
mod documents;
mod error;
mod evtx;
mod file;
mod input;
mod json;
mod lines;
mod record;
mod unit;
mod walk;

pub use error::{Error, ErrorKind, Location};
pub use file::{Compression, FileRecords, Format, LogFile, ReadOptions, Units, read};
pub use record::{Position, RawRecord, Record};
pub use unit::{IntoRecords, RawRecords, Records, Unit};
pub use walk::{Walk, walk};

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn work_crosses_threads() {
        // Units are read on one thread and decoded on others; errors and records travel
        // back; a walk or a file can move to a reader thread.
        send_sync::<Unit>();
        send_sync::<Record>();
        send_sync::<Error>();
        send::<Units>();
        send::<LogFile>();
        send::<Walk>();
        send::<IntoRecords>();
        send::<FileRecords>();
    }
}
