//! The writer thread: group commit of publishers' batches into the active segment.
//!
//! Publishers encode their records into frames on their own tasks and queue one
//! request per batch on a bounded channel (a full channel makes `publish` wait: that is
//! the backpressure). The writer takes every request queued while it was busy,
//! stamps offsets and checksums, writes them with one `write` and one `fdatasync`,
//! then answers each publisher with the offsets of its batch. A batch never spans
//! two segments. A record whose id the writer stored recently is a re-sent copy:
//! it is left out, and its publisher gets the offset of the stored one.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use super::recent::{Copy, RecentIds};
use super::segment::{self, HEADER_LEN, INDEX_EVERY};
use super::{Segment, Shared, lock};
use crate::DurableAck;
use crate::error::BusError;
use crate::record::{keep_frames, now_millis, seal_frames};

/// Most bytes gathered into one group commit.
const GROUP_BYTES: usize = 16 * 1024 * 1024;

/// One publisher's batch, encoded.
pub(crate) struct AppendRequest {
    /// Frames with offsets, append times and checksums still to fill in.
    pub frames: Vec<u8>,
    /// Payload bytes, for metrics.
    pub payload_bytes: u64,
    /// Each record's id (`Record::id`), or empty when no record of the batch has one.
    pub ids: Vec<Option<String>>,
    /// Where the durable offsets go.
    pub reply: oneshot::Sender<Result<DurableAck, BusError>>,
}

/// State of the writer thread.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    file: File,
    base: u64,
    /// Durable length of the active segment.
    position: u64,
    /// Offset of the next record.
    next: u64,
    segment_bytes: u64,
    /// Roll the active segment once its first record is this old (so age retention can act).
    roll_after_ms: Option<i64>,
    first_append_ms: Option<i64>,
    last_indexed: u64,
    buf: Vec<u8>,
    new_index: Vec<(u64, u64)>,
    pending: Vec<(oneshot::Sender<Result<DurableAck, BusError>>, DurableAck)>,
    pending_records: u64,
    pending_payload: u64,
    failed: Option<String>,
    /// Ids of records stored recently, to recognise re-sent copies.
    recent: RecentIds,
}

impl Writer {
    /// A writer appending to the active segment `file` (positioned at its durable end).
    pub(crate) fn new(
        shared: Arc<Shared>,
        file: File,
        active: &Segment,
        segment_bytes: u64,
        roll_after_ms: Option<i64>,
        recent: RecentIds,
    ) -> Self {
        let last_indexed = active
            .index
            .values()
            .next_back()
            .copied()
            .unwrap_or(HEADER_LEN);
        Writer {
            shared,
            file,
            base: active.base,
            position: active.bytes,
            next: active.end,
            segment_bytes,
            roll_after_ms,
            first_append_ms: active.first_append_ms,
            last_indexed,
            buf: Vec::new(),
            new_index: Vec::new(),
            pending: Vec::new(),
            pending_records: 0,
            pending_payload: 0,
            failed: None,
            recent,
        }
    }

    /// Runs until every sender is gone.
    pub(crate) fn run(mut self, mut requests: mpsc::Receiver<AppendRequest>) {
        let mut group = Vec::new();
        while let Some(first) = requests.blocking_recv() {
            let mut bytes = first.frames.len();
            group.push(first);
            while bytes < GROUP_BYTES {
                match requests.try_recv() {
                    Ok(next) => {
                        bytes += next.frames.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            if let Some(reason) = &self.failed {
                for request in group.drain(..) {
                    let _ = request
                        .reply
                        .send(Err(BusError::WriterFailed(reason.clone())));
                }
                continue;
            }
            if let Err(e) = self.append_group(&mut group) {
                error!(error = %e, "bus writer failed; refusing further appends");
                let reason = e.to_string();
                for (reply, _) in self.pending.drain(..) {
                    let _ = reply.send(Err(BusError::WriterFailed(reason.clone())));
                }
                for request in group.drain(..) {
                    let _ = request
                        .reply
                        .send(Err(BusError::WriterFailed(reason.clone())));
                }
                *lock(&self.shared.failed) = Some(reason.clone());
                self.failed = Some(reason);
            }
            group.clear();
        }
        debug!("bus writer stopped: all publishers gone");
    }

    fn append_group(&mut self, group: &mut Vec<AppendRequest>) -> Result<(), BusError> {
        let now = now_millis();
        let clock = Instant::now();
        self.recent.expire(clock);
        for mut request in group.drain(..) {
            let copies = self.recent.copies(&request.ids);
            if let Some(copies) = &copies {
                let (kept, dropped_payload) =
                    keep_frames(&request.frames, |index| copies[index].is_none());
                request.frames = kept;
                request.payload_bytes = request.payload_bytes.saturating_sub(dropped_payload);
            }
            if !request.frames.is_empty() && self.needs_roll(request.frames.len() as u64, now) {
                self.commit(now)?;
                self.roll()?;
            }
            let first = self.next;
            let at = self.position + self.buf.len() as u64;
            let last_indexed = &mut self.last_indexed;
            let new_index = &mut self.new_index;
            let count = seal_frames(&mut request.frames, first, now, |pos, offset| {
                let pos = at + pos as u64;
                if pos >= *last_indexed + INDEX_EVERY {
                    new_index.push((offset, pos));
                    *last_indexed = pos;
                }
            });
            if count == 0 && copies.is_none() {
                let _ = request.reply.send(Err(BusError::EmptyBatch));
                continue;
            }
            self.next += count;
            self.buf.extend_from_slice(&request.frames);
            self.pending_records += count;
            self.pending_payload += request.payload_bytes;
            if count > 0 {
                self.first_append_ms.get_or_insert(now);
            }
            let ack = if request.ids.is_empty() {
                DurableAck {
                    first_offset: first,
                    last_offset: first + count - 1,
                    records: count,
                }
            } else {
                self.remember(&request.ids, copies.as_deref(), first, clock)
            };
            // A batch of copies only is answered with the others of this group:
            // its first copies may be in this very commit.
            self.pending.push((request.reply, ack));
        }
        self.commit(now)
    }

    /// Gives each record of a batch stored from offset `first` (copies left out)
    /// its offset, remembers the new ids, and returns the batch's acknowledgement.
    fn remember(
        &mut self,
        ids: &[Option<String>],
        copies: Option<&[Option<Copy>]>,
        first: u64,
        clock: Instant,
    ) -> DurableAck {
        let mut offsets: Vec<u64> = Vec::with_capacity(ids.len());
        let mut next = first;
        for (index, id) in ids.iter().enumerate() {
            let offset = match copies.and_then(|copies| copies[index]) {
                Some(Copy::Stored(offset)) => offset,
                Some(Copy::InBatch(earlier)) => offsets[earlier],
                None => {
                    let offset = next;
                    next += 1;
                    if let Some(id) = id {
                        self.recent.remember(id, offset, clock);
                    }
                    offset
                }
            };
            offsets.push(offset);
        }
        DurableAck {
            first_offset: offsets.iter().copied().min().unwrap_or(first),
            last_offset: offsets.iter().copied().max().unwrap_or(first),
            records: offsets.len() as u64,
        }
    }

    fn needs_roll(&self, incoming: u64, now: i64) -> bool {
        let end = self.position + self.buf.len() as u64;
        if end <= HEADER_LEN {
            return false;
        }
        let too_big = end + incoming > self.segment_bytes;
        let too_old = match (self.roll_after_ms, self.first_append_ms) {
            (Some(after), Some(first)) => now.saturating_sub(first) >= after,
            _ => false,
        };
        too_big || too_old
    }

    /// Writes and fdatasyncs the gathered frames, publishes the new durable end, answers publishers.
    fn commit(&mut self, now: i64) -> Result<(), BusError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if !self.buf.is_empty() {
            let path = segment::segment_path(&self.shared.segments_dir, self.base);
            self.file
                .write_all(&self.buf)
                .and_then(|()| self.file.sync_data())
                .map_err(|e| BusError::io(&path, e))?;
        }
        self.position += self.buf.len() as u64;
        self.buf.clear();
        {
            let mut state = lock(&self.shared.state);
            if let Some(active) = state.segments.get_mut(&self.base) {
                active.end = self.next;
                active.bytes = self.position;
                active.first_append_ms = self.first_append_ms;
                active.last_append_ms = now;
                active.index.extend(self.new_index.drain(..));
            }
        }
        self.new_index.clear();
        let metrics = &self.shared.metrics;
        metrics
            .appended_records
            .fetch_add(self.pending_records, Ordering::Relaxed);
        metrics
            .appended_bytes
            .fetch_add(self.pending_payload, Ordering::Relaxed);
        metrics.durable_writes.fetch_add(1, Ordering::Relaxed);
        self.pending_records = 0;
        self.pending_payload = 0;
        self.shared.durable.send_replace(self.next);
        for (reply, ack) in self.pending.drain(..) {
            let _ = reply.send(Ok(ack));
        }
        Ok(())
    }

    /// Seals the active segment (already synced by `commit`) and starts a new one.
    fn roll(&mut self) -> Result<(), BusError> {
        let base = self.next;
        let file = segment::create_segment(&self.shared.segments_dir, base)?;
        debug!(base, "bus segment rolled");
        {
            let mut state = lock(&self.shared.state);
            state.segments.insert(
                base,
                Segment {
                    base,
                    path: segment::segment_path(&self.shared.segments_dir, base),
                    end: base,
                    bytes: HEADER_LEN,
                    first_append_ms: None,
                    last_append_ms: now_millis(),
                    index: [(base, HEADER_LEN)].into(),
                },
            );
        }
        self.file = file;
        self.base = base;
        self.position = HEADER_LEN;
        self.first_append_ms = None;
        self.last_indexed = HEADER_LEN;
        self.shared.retention_wake.notify_one();
        Ok(())
    }
}
