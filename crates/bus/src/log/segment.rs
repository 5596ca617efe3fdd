//! Segment files: creation, recovery scan, and reading frames back.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::BusError;
use crate::record::{self, FRAME_PREFIX, StoredRecord};

/// First bytes of every segment file (format name and version).
const MAGIC: &[u8; 8] = b"NGHBUS01";
/// Header length: magic + base offset.
pub(crate) const HEADER_LEN: u64 = 16;
/// The sparse index holds one position per this many bytes of frames.
pub(crate) const INDEX_EVERY: u64 = 64 * 1024;
/// No frame body is larger than this (a record's payload limit is far lower); larger means garbage.
const MAX_BODY: u32 = 64 * 1024 * 1024;

/// The file name of the segment whose first offset is `base`.
pub(crate) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The segment files in `dir`, by base offset.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, BusError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| BusError::io(dir, e))? {
        let entry = entry.map_err(|e| BusError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".seg") else {
            continue;
        };
        if let Ok(base) = stem.parse::<u64>() {
            found.push((base, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// fsyncs a directory so that a created, renamed or removed entry survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BusError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BusError::io(dir, e))
}

/// Creates (or resets) a segment file holding only its header, durably.
pub(crate) fn create_segment(dir: &Path, base: u64) -> Result<File, BusError> {
    let path = segment_path(dir, base);
    let io = |e| BusError::io(&path, e);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&base.to_le_bytes());
    file.write_all(&header).map_err(io)?;
    file.sync_all().map_err(io)?;
    sync_dir(dir)?;
    Ok(file)
}

/// What a recovery scan of a segment found.
#[derive(Debug)]
pub(crate) struct ScanResult {
    /// One past the last valid record's offset.
    pub end: u64,
    /// Length of the valid part of the file.
    pub valid_len: u64,
    /// Append time of the first record, if any.
    pub first_append_ms: Option<i64>,
    /// Append time of the last record, if any.
    pub last_append_ms: Option<i64>,
    /// Sparse index: offset → file position.
    pub index: BTreeMap<u64, u64>,
    /// Why the scan stopped before the end of the file, if it did.
    pub torn: Option<String>,
}

/// Checks that a segment's header is intact and names `base`.
pub(crate) fn header_is_valid(path: &Path, base: u64) -> Result<bool, BusError> {
    let mut file = File::open(path).map_err(|e| BusError::io(path, e))?;
    let mut header = [0u8; HEADER_LEN as usize];
    match file.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(BusError::io(path, e)),
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&header[8..]);
    Ok(&header[..8] == MAGIC && u64::from_le_bytes(stored) == base)
}

/// Reads every frame of a segment, verifying checksums and offsets, stopping at the first bad one.
pub(crate) fn scan_segment(path: &Path, base: u64) -> Result<ScanResult, BusError> {
    let file = File::open(path).map_err(|e| BusError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| BusError::io(path, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader
        .seek(SeekFrom::Start(HEADER_LEN))
        .map_err(|e| BusError::io(path, e))?;
    let mut result = ScanResult {
        end: base,
        valid_len: HEADER_LEN,
        first_append_ms: None,
        last_append_ms: None,
        index: BTreeMap::from([(base, HEADER_LEN)]),
        torn: None,
    };
    let mut last_indexed = HEADER_LEN;
    let mut body = Vec::new();
    loop {
        if result.valid_len == file_len {
            return Ok(result);
        }
        match next_frame(&mut reader, &mut body) {
            Ok(FrameRead::Frame) => {}
            Ok(FrameRead::Bad(reason)) => {
                result.torn = Some(reason);
                return Ok(result);
            }
            Err(e) => return Err(BusError::io(path, e)),
        }
        if record::body_offset(&body) != Some(result.end) {
            result.torn = Some(format!(
                "frame holds offset {:?} where {} was expected",
                record::body_offset(&body),
                result.end
            ));
            return Ok(result);
        }
        let appended = record::body_appended_at(&body);
        if result.first_append_ms.is_none() {
            result.first_append_ms = appended;
        }
        result.last_append_ms = appended;
        if result.valid_len >= last_indexed + INDEX_EVERY {
            result.index.insert(result.end, result.valid_len);
            last_indexed = result.valid_len;
        }
        result.end += 1;
        result.valid_len += (FRAME_PREFIX + body.len()) as u64;
    }
}

/// Outcome of reading one frame.
enum FrameRead {
    /// A frame whose checksum matched is in the buffer.
    Frame,
    /// The bytes there are not a valid frame (torn, zeroed or corrupt).
    Bad(String),
}

fn next_frame(reader: &mut impl Read, body: &mut Vec<u8>) -> io::Result<FrameRead> {
    let mut prefix = [0u8; FRAME_PREFIX];
    if let Err(e) = reader.read_exact(&mut prefix) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(FrameRead::Bad("file ends inside a frame's length".into()))
        } else {
            Err(e)
        };
    }
    let (len, crc) = record::read_prefix(&prefix);
    if len == 0 || len > MAX_BODY {
        return Ok(FrameRead::Bad(format!("implausible frame length {len}")));
    }
    body.resize(len as usize, 0);
    if let Err(e) = reader.read_exact(body) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(FrameRead::Bad("file ends inside a frame".into()))
        } else {
            Err(e)
        };
    }
    if crc32c::crc32c(body) != crc {
        return Ok(FrameRead::Bad("checksum mismatch".into()));
    }
    Ok(FrameRead::Frame)
}

/// Records read from a segment, and sparse index entries (offset, position) learnt on the way.
pub(crate) type ReadFrames = (Vec<StoredRecord>, Vec<(u64, u64)>);

/// Records `[from, to)` of one segment, starting the read at `start_pos` (an index position at
/// or before `from`). Also returns index entries learnt on the way.
pub(crate) fn read_frames(
    path: &Path,
    start: (u64, u64),
    from: u64,
    to: u64,
) -> Result<ReadFrames, BusError> {
    let (mut offset, mut position) = start;
    let file = File::open(path).map_err(|e| BusError::io(path, e))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    reader
        .seek(SeekFrom::Start(position))
        .map_err(|e| BusError::io(path, e))?;
    let mut out = Vec::with_capacity((to - from).min(4096) as usize);
    let mut learnt = Vec::new();
    let mut last_indexed = position;
    let mut body = Vec::new();
    while offset < to {
        let corrupt = |reason: String| BusError::Corrupt {
            path: path.to_owned(),
            position,
            reason,
        };
        match next_frame(&mut reader, &mut body).map_err(|e| BusError::io(path, e))? {
            FrameRead::Frame => {}
            FrameRead::Bad(reason) => return Err(corrupt(reason)),
        }
        if record::body_offset(&body) != Some(offset) {
            return Err(corrupt(format!("frame does not hold offset {offset}")));
        }
        if position >= last_indexed + INDEX_EVERY {
            learnt.push((offset, position));
            last_indexed = position;
        }
        if offset >= from {
            out.push(record::decode_body(&body).map_err(|r| corrupt(r.to_owned()))?);
        }
        offset += 1;
        position += (FRAME_PREFIX + body.len()) as u64;
    }
    Ok((out, learnt))
}
