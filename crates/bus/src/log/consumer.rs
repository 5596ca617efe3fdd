//! Durable consumers of the embedded log and their committed offsets.
//!
//! All members (handles) of one consumer name in this process share one
//! [`Group`]: a fetch hands each offset to exactly one member and records it as
//! in flight with a deadline; an ack removes it; an expired deadline makes it
//! available to the next fetch of any member. Every offset below `next_dispatch`
//! is either in flight or acknowledged, so the committed offset (all below it
//! acknowledged) is the lowest in-flight offset, or `next_dispatch`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{lock, segment};
use crate::error::BusError;

/// One durable consumer's shared state.
pub(crate) struct Group {
    /// The consumer's name.
    pub name: String,
    /// Its offset file.
    pub path: PathBuf,
    /// Delivery bookkeeping.
    pub state: Mutex<GroupState>,
    /// The committed offset last written to disk (None: not written yet).
    pub persisted: tokio::sync::Mutex<Option<u64>>,
    /// Set once the consumer is deleted, so late acks do not recreate its file.
    pub deleted: AtomicBool,
}

/// A delivery awaiting its acknowledgement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight {
    /// When it becomes available for redelivery.
    pub deadline: Instant,
    /// How many times it was delivered.
    pub deliveries: u64,
}

/// Delivery bookkeeping of one consumer.
#[derive(Debug)]
pub(crate) struct GroupState {
    /// Redelivery delay.
    pub ack_wait: Duration,
    /// Most deliveries outstanding.
    pub max_in_flight: usize,
    /// The lowest offset never delivered.
    pub next_dispatch: u64,
    /// Delivered, unacknowledged offsets.
    pub in_flight: BTreeMap<u64, Flight>,
    /// Redeliveries since open.
    pub redelivered: u64,
    /// Records lost to retention since open.
    pub skipped: u64,
}

impl GroupState {
    /// Every offset below this is acknowledged.
    pub(crate) fn committed(&self) -> u64 {
        self.in_flight
            .keys()
            .next()
            .copied()
            .unwrap_or(self.next_dispatch)
    }

    /// Records not acknowledged yet, given the durable end of the log.
    pub(crate) fn lag(&self, durable_end: u64) -> u64 {
        durable_end.saturating_sub(self.next_dispatch) + self.in_flight.len() as u64
    }

    /// Forgets offsets below `oldest` (deleted by retention); returns how many were unacknowledged.
    pub(crate) fn drop_below(&mut self, oldest: u64) -> u64 {
        let mut lost = 0;
        while let Some((&offset, _)) = self.in_flight.first_key_value() {
            if offset >= oldest {
                break;
            }
            self.in_flight.remove(&offset);
            lost += 1;
        }
        if self.next_dispatch < oldest {
            lost += oldest - self.next_dispatch;
            self.next_dispatch = oldest;
        }
        self.skipped += lost;
        lost
    }
}

impl Group {
    /// A group starting at `committed`.
    pub(crate) fn new(name: &str, dir: &Path, committed: u64, persisted: Option<u64>) -> Self {
        Group {
            name: name.to_owned(),
            path: offset_path(dir, name),
            state: Mutex::new(GroupState {
                ack_wait: Duration::from_secs(30),
                max_in_flight: 20_000,
                next_dispatch: committed,
                in_flight: BTreeMap::new(),
                redelivered: 0,
                skipped: 0,
            }),
            persisted: tokio::sync::Mutex::new(persisted),
            deleted: AtomicBool::new(false),
        }
    }

    /// Writes the committed offset to disk if it moved; concurrent callers share one write.
    pub(crate) async fn persist(&self) -> Result<(), BusError> {
        let mut persisted = self.persisted.lock().await;
        let committed = lock(&self.state).committed();
        if *persisted == Some(committed) || self.deleted.load(Ordering::Acquire) {
            return Ok(());
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_offset_file(&path, committed))
            .await
            .map_err(|e| BusError::Config(format!("offset writer task failed: {e}")))??;
        *persisted = Some(committed);
        Ok(())
    }

    /// `persist` for blocking contexts.
    pub(crate) fn persist_blocking(&self) -> Result<(), BusError> {
        let mut persisted = self.persisted.blocking_lock();
        let committed = lock(&self.state).committed();
        if *persisted == Some(committed) || self.deleted.load(Ordering::Acquire) {
            return Ok(());
        }
        write_offset_file(&self.path, committed)?;
        *persisted = Some(committed);
        Ok(())
    }
}

/// The offset file of consumer `name`.
pub(crate) fn offset_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.offset"))
}

const OFFSET_FILE_HEADER: &str = "nigehban-bus-consumer 1";

/// Replaces an offset file atomically and durably: write temp, fsync, rename, fsync directory.
pub(crate) fn write_offset_file(path: &Path, committed: u64) -> Result<(), BusError> {
    let tmp = path.with_extension("offset.tmp");
    let io = |e| BusError::io(&tmp, e);
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(format!("{OFFSET_FILE_HEADER}\ncommitted={committed}\n").as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(|e| BusError::io(path, e))?;
    if let Some(dir) = path.parent() {
        segment::sync_dir(dir)?;
    }
    Ok(())
}

/// Reads an offset file written by `write_offset_file`.
pub(crate) fn read_offset_file(path: &Path) -> Result<u64, BusError> {
    let text = fs::read_to_string(path).map_err(|e| BusError::io(path, e))?;
    parse_offset_file(&text, path)
}

/// Reads the text of an offset file (`path` names it in errors).
pub(crate) fn parse_offset_file(text: &str, path: &Path) -> Result<u64, BusError> {
    let mut lines = text.lines();
    let corrupt = |reason: &str| BusError::Corrupt {
        path: path.to_owned(),
        position: 0,
        reason: reason.to_owned(),
    };
    if lines.next() != Some(OFFSET_FILE_HEADER) {
        return Err(corrupt("not a consumer offset file"));
    }
    lines
        .next()
        .and_then(|l| l.strip_prefix("committed="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt("no committed offset"))
}

/// The consumer names with offset files in `dir`.
pub(crate) fn list_offset_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, BusError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| BusError::io(dir, e))? {
        let entry = entry.map_err(|e| BusError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".offset")) {
            found.push((stem.to_owned(), entry.path()));
        }
    }
    found.sort();
    Ok(found)
}
