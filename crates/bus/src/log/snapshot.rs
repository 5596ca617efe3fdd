//! A consistent copy of an embedded log that a running server may own and be writing, for
//! backups.
//!
//! It needs no lock and no cooperation from the owner: segment files are append-only, a
//! sealed segment never changes again, and the active one only grows. The snapshot lists
//! the segments, opens each (an open handle keeps a segment readable even if retention
//! deletes it meanwhile), and takes the active segment up to the end of its last complete,
//! checksummed frame. Consumer offset files are replaced by rename, so an open handle reads
//! one whole version. The copy therefore holds every record the log held when the snapshot
//! began (every acknowledged one among them) and ends on a frame boundary, so it opens as
//! a log without any repair.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{consumer, segment};
use crate::error::BusError;

/// One file of a snapshot, already open.
#[derive(Debug)]
pub struct SnapshotFile {
    /// Where it goes, relative to the data directory (`bus/segments/….seg`,
    /// `bus/consumers/<name>.offset`).
    pub path: PathBuf,
    /// How many of its bytes belong to the snapshot (a prefix of the file).
    pub len: u64,
    /// Its modification time; the log ages sealed segments found on open by it, so a
    /// restore that keeps it keeps retention's clock.
    pub modified: SystemTime,
    file: File,
}

impl SnapshotFile {
    /// Its contents: the first [`SnapshotFile::len`] bytes.
    pub fn into_reader(self) -> io::Take<File> {
        self.file.take(self.len)
    }
}

/// A copy of an embedded log, taken while another process may be writing it.
#[derive(Debug)]
pub struct EmbeddedSnapshot {
    /// The oldest offset held.
    pub oldest: u64,
    /// One past the newest offset held.
    pub next: u64,
    /// Each durable consumer's committed offset (every offset below it acknowledged).
    pub consumers: Vec<(String, u64)>,
    /// The files to copy, segments oldest first, then the consumers' offset files.
    pub files: Vec<SnapshotFile>,
}

impl EmbeddedSnapshot {
    /// Snapshots the log in `data_dir/bus`; `None` when there is no log there.
    ///
    /// Blocking: it scans the active segment.
    pub fn take(data_dir: &Path) -> Result<Option<Self>, BusError> {
        let bus_dir = data_dir.join("bus");
        let segments_dir = bus_dir.join("segments");
        let consumers_dir = bus_dir.join("consumers");
        if !segments_dir.is_dir() {
            return Ok(None);
        }
        // Offsets first: a consumer only acknowledges what is already in a segment, so an
        // offset read before the segments never points past them.
        let mut consumers = Vec::new();
        let mut offset_files = Vec::new();
        if consumers_dir.is_dir() {
            for (name, path) in consumer::list_offset_files(&consumers_dir)? {
                let Some(mut file) = open_if_present(&path)? else {
                    continue;
                };
                let io = |e| BusError::io(&path, e);
                let mut text = String::new();
                file.read_to_string(&mut text).map_err(io)?;
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                let committed = consumer::parse_offset_file(&text, &path)?;
                let meta = file.metadata().map_err(io)?;
                offset_files.push(SnapshotFile {
                    path: relative(&path, data_dir),
                    len: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    file,
                });
                consumers.push((name, committed));
            }
        }
        let listed = segment::list_segments(&segments_dir)?;
        let mut files: Vec<SnapshotFile> = Vec::new();
        let mut bases: Vec<u64> = Vec::new();
        let last = listed.len().saturating_sub(1);
        let mut next = None;
        for (i, (base, path)) in listed.iter().enumerate() {
            let Some(file) = open_if_present(path)? else {
                // Retention deleted it after the listing: everything before it went too, so
                // the snapshot starts after it.
                files.clear();
                bases.clear();
                continue;
            };
            let meta = file.metadata().map_err(|e| BusError::io(path, e))?;
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let len = if i == last {
                if !segment::header_is_valid(path, *base)? {
                    // Being created: it holds nothing yet.
                    next = Some(*base);
                    continue;
                }
                let scan = segment::scan_segment(path, *base)?;
                next = Some(scan.end);
                scan.valid_len
            } else {
                meta.len()
            };
            files.push(SnapshotFile {
                path: relative(path, data_dir),
                len,
                modified,
                file,
            });
            bases.push(*base);
        }
        let Some(oldest) = bases.first().copied() else {
            return Ok(None);
        };
        let next = next.unwrap_or(oldest);
        files.extend(offset_files);
        Ok(Some(EmbeddedSnapshot {
            oldest,
            next,
            consumers,
            files,
        }))
    }

    /// Records held.
    pub fn records(&self) -> u64 {
        self.next.saturating_sub(self.oldest)
    }

    /// Bytes to copy.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }
}

/// Opens a file for reading; `None` if it is gone.
fn open_if_present(path: &Path) -> Result<Option<File>, BusError> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BusError::io(path, e)),
    }
}

/// `path` relative to `base` (it is always inside it here).
fn relative(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).unwrap_or(path).to_path_buf()
}
