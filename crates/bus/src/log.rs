//! The embedded backend: an append-only log of segment files in `<data-dir>/bus/`.
//!
//! One process owns the directory (an exclusive file lock). A writer thread
//! group-commits publishers' batches (`writer.rs`); consumers read segments with
//! their own file handles, only up to the durable end the writer announces;
//! retention deletes whole sealed segments.

mod consumer;
mod recent;
mod segment;
mod snapshot;
mod writer;

pub use snapshot::{EmbeddedSnapshot, SnapshotFile};

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tracing::{info, warn};

use self::consumer::{Flight, Group};
use self::segment::HEADER_LEN;
use self::writer::{AppendRequest, Writer};
use crate::error::BusError;
use crate::record::{
    DEFAULT_MAX_PAYLOAD_BYTES, Delivery, StoredRecord, encode_frame, frame_len, now_millis,
};
use crate::{
    BusMetrics, ConsumerConfig, ConsumerMetrics, DurableAck, EventBus, EventConsumer, LogBounds,
    Record, RetentionPolicy, RetentionReport, StartAt, validate_batch, validate_consumer_name,
};

/// Largest batch accepted by one `publish` call, framed, in bytes.
const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Settings of the embedded log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// The server's data directory; the log lives in its `bus/` subdirectory.
    pub data_dir: PathBuf,
    /// How much to keep.
    pub retention: RetentionPolicy,
    /// A segment is sealed and a new one started past this size.
    pub segment_bytes: u64,
    /// Largest payload accepted.
    pub max_payload_bytes: usize,
    /// Batches that may wait for the writer before `publish` itself waits (backpressure).
    pub queue_depth: usize,
    /// How often retention runs besides after each segment roll.
    pub retention_interval: Duration,
    /// How long the ids of stored records (`Record::id`) are remembered to
    /// store a re-sent copy once (in memory, by the owning process).
    pub duplicate_window: Duration,
    /// Most record ids remembered (about 100 bytes each); the window is
    /// shorter when more records than this arrive within it.
    pub duplicate_ids: usize,
}

impl EmbeddedOptions {
    /// Defaults for a log in `data_dir/bus`: 64 MiB segments, no retention limit.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EmbeddedOptions {
            data_dir: data_dir.into(),
            retention: RetentionPolicy::default(),
            segment_bytes: 64 * 1024 * 1024,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            queue_depth: 1024,
            retention_interval: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(120),
            duplicate_ids: 200_000,
        }
    }
}

/// One segment file as the log knows it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base: u64,
    pub path: PathBuf,
    /// One past its last durable offset.
    pub end: u64,
    /// Durable length of the file.
    pub bytes: u64,
    /// Append time of its first record (active segment only; None for sealed ones found on open).
    pub first_append_ms: Option<i64>,
    /// Append time of its last record (file modification time for sealed ones found on open).
    pub last_append_ms: i64,
    /// Sparse index, offset → position; completed lazily by reads.
    pub index: BTreeMap<u64, u64>,
}

/// The segments, oldest first; the last one is the active segment.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    pub segments: BTreeMap<u64, Segment>,
}

impl LogState {
    fn oldest(&self) -> u64 {
        self.segments.keys().next().copied().unwrap_or(0)
    }
}

/// Counters kept by the writer.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub appended_records: AtomicU64,
    pub appended_bytes: AtomicU64,
    pub durable_writes: AtomicU64,
}

/// State shared by the log handle, its consumers, the writer thread and the retention task.
pub(crate) struct Shared {
    pub segments_dir: PathBuf,
    pub consumers_dir: PathBuf,
    pub state: Mutex<LogState>,
    /// The offset one past the last durable record.
    pub durable: watch::Sender<u64>,
    pub metrics: Counters,
    pub groups: Mutex<HashMap<String, Arc<Group>>>,
    pub failed: Mutex<Option<String>>,
    pub retention: RetentionPolicy,
    pub retention_wake: Notify,
}

/// Locks a mutex, going on with the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Inner {
    shared: Arc<Shared>,
    sender: RwLock<Option<mpsc::Sender<AppendRequest>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    retention_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    max_payload_bytes: usize,
    /// Held for its exclusive lock on `bus/LOCK`; `close` lets it go.
    directory_lock: Mutex<Option<File>>,
    /// Held while a retention pass runs; `true` once closed (no pass runs after).
    retention_gate: Mutex<bool>,
}

impl Inner {
    /// Stops accepting appends and waits for the writer to finish what it accepted.
    fn stop_writer(&self) {
        self.sender
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = lock(&self.writer).take() {
            let _ = handle.join();
        }
    }

    /// One retention pass, unless the log is closed.
    fn retention_pass(&self) -> Result<RetentionReport, BusError> {
        let closed = lock(&self.retention_gate);
        if *closed {
            return Ok(RetentionReport::default());
        }
        self.shared.enforce_retention()
    }

    /// Stops the writer, waits for a retention pass in flight and lets the
    /// directory lock go, so the directory can be opened again at once.
    fn close(&self) {
        if let Some(task) = lock(&self.retention_task).take() {
            task.abort();
        }
        self.stop_writer();
        *lock(&self.retention_gate) = true;
        lock(&self.directory_lock).take();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.retention_task).take() {
            task.abort();
        }
        self.stop_writer();
    }
}

/// The embedded event log (see the crate docs for format and guarantees). Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("dir", &self.inner.shared.segments_dir)
            .finish_non_exhaustive()
    }
}

/// What recovery hands to `open`.
struct Recovered {
    state: LogState,
    active: File,
    next: u64,
    groups: HashMap<String, Arc<Group>>,
    lock: File,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `options.data_dir/bus`, recovering from a crash.
    ///
    /// Needs a Tokio runtime: it starts a retention task.
    pub async fn open(options: EmbeddedOptions) -> Result<Self, BusError> {
        if options.segment_bytes < 4096 {
            return Err(BusError::Config(format!(
                "segment size {} is below 4096 bytes",
                options.segment_bytes
            )));
        }
        if options.queue_depth == 0 {
            return Err(BusError::Config("queue depth is 0".into()));
        }
        let bus_dir = options.data_dir.join("bus");
        let recovered = {
            let bus_dir = bus_dir.clone();
            tokio::task::spawn_blocking(move || recover(&bus_dir))
                .await
                .map_err(|e| BusError::Config(format!("recovery task failed: {e}")))??
        };
        let Recovered {
            state,
            active,
            next,
            groups,
            lock: lock_file,
        } = recovered;
        let active_segment_base = state.segments.keys().next_back().copied().unwrap_or(next);
        let (durable, _) = watch::channel(next);
        let shared = Arc::new(Shared {
            segments_dir: bus_dir.join("segments"),
            consumers_dir: bus_dir.join("consumers"),
            state: Mutex::new(state),
            durable,
            metrics: Counters::default(),
            groups: Mutex::new(groups),
            failed: Mutex::new(None),
            retention: options.retention,
            retention_wake: Notify::new(),
        });
        let roll_after_ms = options
            .retention
            .max_age
            .map(|age| i64::try_from((age / 4).as_millis()).unwrap_or(i64::MAX));
        let writer = {
            let state = lock(&shared.state);
            let active_segment = state
                .segments
                .get(&active_segment_base)
                .ok_or_else(|| BusError::Config("recovery produced no active segment".into()))?;
            Writer::new(
                shared.clone(),
                active,
                active_segment,
                options.segment_bytes,
                roll_after_ms,
                recent::RecentIds::new(options.duplicate_window, options.duplicate_ids),
            )
        };
        let (sender, receiver) = mpsc::channel(options.queue_depth);
        let handle = std::thread::Builder::new()
            .name("nigehban-bus-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| BusError::io(&bus_dir, e))?;
        let inner = Arc::new(Inner {
            shared: shared.clone(),
            sender: RwLock::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            retention_task: Mutex::new(None),
            max_payload_bytes: options.max_payload_bytes,
            directory_lock: Mutex::new(Some(lock_file)),
            retention_gate: Mutex::new(false),
        });
        let task = tokio::spawn(retention_loop(
            Arc::downgrade(&inner),
            shared,
            options.retention_interval,
        ));
        *lock(&inner.retention_task) = Some(task);
        info!(dir = %bus_dir.display(), next_offset = next, "embedded bus opened");
        Ok(EmbeddedLog { inner })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Reads stored records `[from, from + max)` (for replay and inspection; consumers use `fetch`).
    pub async fn read(&self, from: u64, max: usize) -> Result<Vec<Delivery>, BusError> {
        let shared = self.shared().clone();
        let to = (*shared.durable.borrow()).min(from.saturating_add(max as u64));
        let stored = tokio::task::spawn_blocking(move || shared.read_range(from, to))
            .await
            .map_err(|e| BusError::Config(format!("read task failed: {e}")))??;
        Ok(stored.into_iter().map(|s| to_delivery(s, 0)).collect())
    }
}

/// Runs retention on a timer and whenever the writer rolls a segment, until the log is dropped.
async fn retention_loop(log: std::sync::Weak<Inner>, shared: Arc<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.retention_wake.notified() => {}
        }
        // Holding the log while the pass runs keeps its directory lock held
        // (`close` waits for the pass, then lets the lock go).
        let Some(inner) = log.upgrade() else { break };
        let result = tokio::task::spawn_blocking(move || {
            let report = inner.retention_pass();
            drop(inner);
            report
        })
        .await;
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(error = %e, "bus retention failed"),
            Err(e) => warn!(error = %e, "bus retention task failed"),
        }
    }
}

/// Opens the directory: lock, find segments, repair the active segment's tail, load consumers.
fn recover(bus_dir: &Path) -> Result<Recovered, BusError> {
    let segments_dir = bus_dir.join("segments");
    let consumers_dir = bus_dir.join("consumers");
    for dir in [bus_dir, &segments_dir, &consumers_dir] {
        fs::create_dir_all(dir).map_err(|e| BusError::io(dir, e))?;
    }
    let lock_path = bus_dir.join("LOCK");
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| BusError::io(&lock_path, e))?;
    match lock_file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(BusError::Locked {
                path: bus_dir.to_owned(),
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(BusError::io(&lock_path, e)),
    }

    let mut found = segment::list_segments(&segments_dir)?;
    if found.is_empty() {
        // Offsets start at 1, like JetStream's stream sequences.
        segment::create_segment(&segments_dir, 1)?;
        found.push((1, segment::segment_path(&segments_dir, 1)));
    }
    let mut state = LogState::default();
    let last = found.len() - 1;
    for (i, (base, path)) in found.iter().enumerate() {
        if i == last {
            continue;
        }
        let meta = fs::metadata(path).map_err(|e| BusError::io(path, e))?;
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .unwrap_or(0);
        state.segments.insert(
            *base,
            Segment {
                base: *base,
                path: path.clone(),
                end: found[i + 1].0,
                bytes: meta.len(),
                first_append_ms: None,
                last_append_ms: modified_ms,
                index: [(*base, HEADER_LEN)].into(),
            },
        );
    }

    let (base, path) = found[last].clone();
    if !segment::header_is_valid(&path, base)? {
        // A crash while the segment was being created: it never held an acknowledged record.
        warn!(path = %path.display(), "bus segment header incomplete; recreating it");
        segment::create_segment(&segments_dir, base)?;
    }
    let scan = segment::scan_segment(&path, base)?;
    let mut active = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| BusError::io(&path, e))?;
    if let Some(reason) = &scan.torn {
        let file_len = active.metadata().map_err(|e| BusError::io(&path, e))?.len();
        warn!(
            path = %path.display(),
            valid_bytes = scan.valid_len,
            dropped_bytes = file_len - scan.valid_len,
            reason = %reason,
            "bus segment has an unacknowledged torn tail; truncating it"
        );
        active
            .set_len(scan.valid_len)
            .and_then(|()| active.sync_all())
            .map_err(|e| BusError::io(&path, e))?;
    }
    active
        .seek(SeekFrom::Start(scan.valid_len))
        .map_err(|e| BusError::io(&path, e))?;
    state.segments.insert(
        base,
        Segment {
            base,
            path: path.clone(),
            end: scan.end,
            bytes: scan.valid_len,
            first_append_ms: scan.first_append_ms,
            last_append_ms: scan.last_append_ms.unwrap_or_else(now_millis),
            index: scan.index,
        },
    );
    let next = scan.end;
    let oldest = state.oldest();

    let mut groups = HashMap::new();
    for (name, path) in consumer::list_offset_files(&consumers_dir)? {
        if validate_consumer_name(&name).is_err() {
            continue;
        }
        let committed = match consumer::read_offset_file(&path) {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "bus consumer offset file unreadable; the consumer restarts at the oldest record");
                oldest
            }
        };
        let mut start = committed;
        if start < oldest {
            warn!(consumer = %name, committed, oldest, "records this consumer had not acknowledged were deleted by retention");
            start = oldest;
        }
        if start > next {
            warn!(consumer = %name, committed, next, "consumer offset is past the end of the log");
            start = next;
        }
        let group = Group::new(&name, &consumers_dir, start, Some(committed));
        groups.insert(name, Arc::new(group));
    }
    Ok(Recovered {
        state,
        active,
        next,
        groups,
        lock: lock_file,
    })
}

fn to_delivery(stored: StoredRecord, delivery_count: u64) -> Delivery {
    let appended = u64::try_from(stored.appended_at_ms).unwrap_or(0);
    Delivery {
        offset: stored.offset,
        appended_at: UNIX_EPOCH + Duration::from_millis(appended),
        delivery_count,
        record: stored.record,
    }
}

impl Shared {
    fn durable_end(&self) -> u64 {
        *self.durable.borrow()
    }

    fn oldest(&self) -> u64 {
        lock(&self.state).oldest()
    }

    /// Stored records `[from, to)`; offsets already deleted by retention are left out.
    fn read_range(&self, from: u64, to: u64) -> Result<Vec<StoredRecord>, BusError> {
        let mut out = Vec::new();
        let mut current = from;
        while current < to {
            let (path, stop, start) = {
                let state = lock(&self.state);
                let oldest = state.oldest();
                if current < oldest {
                    current = oldest;
                    continue;
                }
                let Some((_, segment)) = state.segments.range(..=current).next_back() else {
                    break;
                };
                if current >= segment.end {
                    break;
                }
                let start = segment
                    .index
                    .range(..=current)
                    .next_back()
                    .map(|(o, p)| (*o, *p))
                    .unwrap_or((segment.base, HEADER_LEN));
                (segment.path.clone(), to.min(segment.end), start)
            };
            match segment::read_frames(&path, start, current, stop) {
                Ok((records, learnt)) => {
                    if !learnt.is_empty() {
                        let mut state = lock(&self.state);
                        if let Some(segment) = state.segments.range_mut(..=current).next_back() {
                            segment.1.index.extend(learnt);
                        }
                    }
                    out.extend(records);
                    current = stop;
                }
                Err(BusError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && lock(&self.state).oldest() > current =>
                {
                    // Retention deleted the segment while we were about to read it.
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes sealed segments past the age or size limit and moves lagging consumers past them.
    fn enforce_retention(&self) -> Result<RetentionReport, BusError> {
        let policy = self.retention;
        if policy.max_age.is_none() && policy.max_bytes.is_none() {
            return Ok(RetentionReport::default());
        }
        let now = now_millis();
        let age_limit_ms = policy
            .max_age
            .map(|a| i64::try_from(a.as_millis()).unwrap_or(i64::MAX));
        let mut report = RetentionReport::default();
        let mut doomed = Vec::new();
        let oldest = {
            let mut state = lock(&self.state);
            let mut total: u64 = state.segments.values().map(|s| s.bytes).sum();
            let sealed: Vec<u64> = state.segments.keys().copied().collect();
            // The last segment is the active one and is never deleted.
            for base in sealed.iter().take(sealed.len().saturating_sub(1)) {
                let Some(segment) = state.segments.get(base) else {
                    break;
                };
                let too_old = age_limit_ms
                    .is_some_and(|limit| now.saturating_sub(segment.last_append_ms) > limit);
                let too_big = policy.max_bytes.is_some_and(|limit| total > limit);
                if !too_old && !too_big {
                    break;
                }
                total -= segment.bytes;
                if let Some(segment) = state.segments.remove(base) {
                    report.deleted_records += segment.end - segment.base;
                    report.deleted_bytes += segment.bytes;
                    doomed.push(segment.path);
                }
            }
            state.oldest()
        };
        if doomed.is_empty() {
            return Ok(report);
        }
        for path in &doomed {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(BusError::io(path, e)),
            }
        }
        segment::sync_dir(&self.segments_dir)?;
        info!(
            segments = doomed.len(),
            records = report.deleted_records,
            bytes = report.deleted_bytes,
            oldest,
            "bus retention deleted segments"
        );
        let groups: Vec<Arc<Group>> = lock(&self.groups).values().cloned().collect();
        for group in groups {
            let lost = lock(&group.state).drop_below(oldest);
            if lost > 0 {
                warn!(consumer = %group.name, records = lost, "retention deleted records this consumer had not acknowledged");
                report.skipped.push((group.name.clone(), lost));
            }
            group.persist_blocking()?;
        }
        report.skipped.sort();
        Ok(report)
    }

    fn group(&self, name: &str) -> Result<Arc<Group>, BusError> {
        lock(&self.groups)
            .get(name)
            .cloned()
            .ok_or_else(|| BusError::UnknownConsumer(name.to_owned()))
    }
}

impl EventBus for EmbeddedLog {
    type Consumer = EmbeddedConsumer;

    async fn publish(&self, records: &[Record]) -> Result<DurableAck, BusError> {
        validate_batch(records, self.inner.max_payload_bytes)?;
        let total: usize = records.iter().map(frame_len).sum();
        if total > MAX_BATCH_BYTES {
            return Err(BusError::Config(format!(
                "a batch of {total} bytes is over the {MAX_BATCH_BYTES}-byte limit of one publish call; split it"
            )));
        }
        let mut frames = Vec::with_capacity(total);
        for record in records {
            encode_frame(&mut frames, record);
        }
        let payload_bytes = records.iter().map(|r| r.payload.len() as u64).sum();
        let ids: Vec<Option<String>> = if records.iter().any(|r| r.id.is_some()) {
            records.iter().map(|r| r.id.clone()).collect()
        } else {
            Vec::new()
        };
        let sender = self
            .inner
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(BusError::Closed)?;
        if let Some(reason) = lock(&self.shared().failed).clone() {
            return Err(BusError::WriterFailed(reason));
        }
        let (reply, answer) = oneshot::channel();
        sender
            .send(AppendRequest {
                frames,
                payload_bytes,
                ids,
                reply,
            })
            .await
            .map_err(|_| BusError::Closed)?;
        answer.await.map_err(|_| BusError::Closed)?
    }

    async fn consumer(
        &self,
        name: &str,
        config: ConsumerConfig,
    ) -> Result<EmbeddedConsumer, BusError> {
        validate_consumer_name(name)?;
        if config.max_in_flight == 0 {
            return Err(BusError::Config("max_in_flight is 0".into()));
        }
        let shared = self.shared();
        let group = {
            let mut groups = lock(&shared.groups);
            groups
                .entry(name.to_owned())
                .or_insert_with(|| {
                    let start = match config.start_at {
                        StartAt::Earliest => shared.oldest(),
                        StartAt::Latest => shared.durable_end(),
                    };
                    Arc::new(Group::new(name, &shared.consumers_dir, start, None))
                })
                .clone()
        };
        {
            let mut state = lock(&group.state);
            state.ack_wait = config.ack_wait;
            state.max_in_flight = config.max_in_flight;
        }
        group.persist().await?;
        Ok(EmbeddedConsumer {
            log: self.clone(),
            group,
        })
    }

    async fn delete_consumer(&self, name: &str) -> Result<(), BusError> {
        let shared = self.shared();
        let group = lock(&shared.groups).remove(name);
        let path = consumer::offset_path(&shared.consumers_dir, name);
        if let Some(group) = &group {
            group
                .deleted
                .store(true, std::sync::atomic::Ordering::Release);
            // Wait for an offset write in progress so it cannot recreate the file.
            let _guard = group.persisted.lock().await;
        }
        match fs::remove_file(&path) {
            Ok(()) => segment::sync_dir(&shared.consumers_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if group.is_some() {
                    Ok(())
                } else {
                    Err(BusError::UnknownConsumer(name.to_owned()))
                }
            }
            Err(e) => Err(BusError::io(&path, e)),
        }
    }

    async fn lag(&self, consumer: &str) -> Result<u64, BusError> {
        let shared = self.shared();
        let group = shared.group(consumer)?;
        let end = shared.durable_end();
        let oldest = shared.oldest();
        let mut state = lock(&group.state);
        state.drop_below(oldest);
        Ok(state.lag(end))
    }

    async fn bounds(&self) -> Result<LogBounds, BusError> {
        let shared = self.shared();
        let next = shared.durable_end();
        Ok(LogBounds {
            oldest: shared.oldest().min(next),
            next,
        })
    }

    async fn metrics(&self) -> Result<BusMetrics, BusError> {
        let shared = self.shared();
        let end = shared.durable_end();
        let (oldest, stored_bytes) = {
            let state = lock(&shared.state);
            (
                state.oldest(),
                state.segments.values().map(|s| s.bytes).sum(),
            )
        };
        let groups: Vec<Arc<Group>> = lock(&shared.groups).values().cloned().collect();
        let mut consumers: Vec<ConsumerMetrics> = groups
            .iter()
            .map(|group| {
                let mut state = lock(&group.state);
                state.drop_below(oldest);
                ConsumerMetrics {
                    name: group.name.clone(),
                    lag: state.lag(end),
                    in_flight: state.in_flight.len() as u64,
                    redelivered: state.redelivered,
                    skipped: state.skipped,
                }
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        let counters = &shared.metrics;
        Ok(BusMetrics {
            appended_records: counters.appended_records.load(Ordering::Relaxed),
            appended_bytes: counters.appended_bytes.load(Ordering::Relaxed),
            durable_writes: counters.durable_writes.load(Ordering::Relaxed),
            stored_records: end.saturating_sub(oldest),
            stored_bytes,
            consumers,
        })
    }

    async fn enforce_retention(&self) -> Result<RetentionReport, BusError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.retention_pass())
            .await
            .map_err(|e| BusError::Config(format!("retention task failed: {e}")))?
    }

    async fn close(&self) -> Result<(), BusError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.close())
            .await
            .map_err(|e| BusError::Config(format!("close task failed: {e}")))?;
        match lock(&self.shared().failed).clone() {
            Some(reason) => Err(BusError::WriterFailed(reason)),
            None => Ok(()),
        }
    }

    fn check_usable(&self) -> Result<(), BusError> {
        let writing = self
            .inner
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !writing {
            return Err(BusError::Closed);
        }
        match lock(&self.shared().failed).clone() {
            Some(reason) => Err(BusError::WriterFailed(reason)),
            None => Ok(()),
        }
    }

    async fn check_ready(&self) -> Result<(), BusError> {
        self.check_usable()?;
        // A lost mount or a removed data directory: records would go to files no one finds.
        let segments = &self.shared().segments_dir;
        match std::fs::metadata(segments) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(BusError::io(
                segments.clone(),
                std::io::Error::other("not a directory"),
            )),
            Err(error) => Err(BusError::io(segments.clone(), error)),
        }
    }
}

/// A member of a durable consumer of the embedded log.
pub struct EmbeddedConsumer {
    log: EmbeddedLog,
    group: Arc<Group>,
}

impl std::fmt::Debug for EmbeddedConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedConsumer")
            .field("name", &self.group.name)
            .finish_non_exhaustive()
    }
}

impl EmbeddedConsumer {
    /// Takes up to `max` offsets to deliver: expired ones again, then new ones up to `durable_end`.
    /// Returns them with their delivery counts, and the next ack deadline if nothing was due.
    fn pick(
        &self,
        max: usize,
        durable_end: u64,
        oldest: u64,
    ) -> (Vec<(u64, u64)>, Option<Instant>) {
        let mut state = lock(&self.group.state);
        let lost = state.drop_below(oldest);
        if lost > 0 {
            warn!(consumer = %self.group.name, records = lost, "retention deleted records this consumer had not acknowledged");
        }
        let now = Instant::now();
        let ack_wait = state.ack_wait;
        let mut picked = Vec::new();
        let mut next_deadline: Option<Instant> = None;
        for (offset, flight) in state.in_flight.iter_mut() {
            if picked.len() >= max {
                break;
            }
            if flight.deadline <= now {
                flight.deadline = now + ack_wait;
                flight.deliveries += 1;
                picked.push((*offset, flight.deliveries));
            } else {
                next_deadline =
                    Some(next_deadline.map_or(flight.deadline, |d| d.min(flight.deadline)));
            }
        }
        state.redelivered += picked.len() as u64;
        let room = state.max_in_flight.saturating_sub(state.in_flight.len());
        let fresh = (max - picked.len()).min(room) as u64;
        let until = durable_end.min(state.next_dispatch + fresh);
        for offset in state.next_dispatch..until {
            state.in_flight.insert(
                offset,
                Flight {
                    deadline: now + ack_wait,
                    deliveries: 1,
                },
            );
            picked.push((offset, 1));
        }
        state.next_dispatch = state.next_dispatch.max(until);
        picked.sort_unstable();
        (picked, next_deadline)
    }
}

impl EventConsumer for EmbeddedConsumer {
    fn name(&self) -> &str {
        &self.group.name
    }

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let shared = self.log.shared().clone();
        let deadline = Instant::now() + wait;
        let mut durable = shared.durable.subscribe();
        loop {
            let end = *durable.borrow_and_update();
            let (picked, next_deadline) = self.pick(max, end, shared.oldest());
            if !picked.is_empty() {
                let offsets: Vec<u64> = picked.iter().map(|p| p.0).collect();
                let reader = shared.clone();
                let stored = tokio::task::spawn_blocking(move || read_offsets(&reader, &offsets))
                    .await
                    .map_err(|e| BusError::Config(format!("read task failed: {e}")))??;
                let counts: HashMap<u64, u64> = picked.into_iter().collect();
                let deliveries: Vec<Delivery> = stored
                    .into_iter()
                    .map(|s| {
                        let count = counts.get(&s.offset).copied().unwrap_or(1);
                        to_delivery(s, count)
                    })
                    .collect();
                if deliveries.len() < counts.len() {
                    // Some were deleted by retention between picking and reading.
                    let found: std::collections::HashSet<u64> =
                        deliveries.iter().map(|d| d.offset).collect();
                    let mut state = lock(&self.group.state);
                    for offset in counts.keys().filter(|o| !found.contains(o)) {
                        if state.in_flight.remove(offset).is_some() {
                            state.skipped += 1;
                        }
                    }
                }
                if !deliveries.is_empty() {
                    return Ok(deliveries);
                }
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let wake = next_deadline.map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                changed = durable.changed() => {
                    if changed.is_err() {
                        return Err(BusError::Closed);
                    }
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            }
        }
    }

    async fn ack(&mut self, offsets: &[u64]) -> Result<(), BusError> {
        {
            let mut state = lock(&self.group.state);
            if let Some(&offset) = offsets.iter().find(|o| **o >= state.next_dispatch) {
                return Err(BusError::NotDelivered {
                    consumer: self.group.name.clone(),
                    offset,
                });
            }
            for offset in offsets {
                // Already acknowledged (or lost to retention) offsets are accepted again: acks are idempotent.
                state.in_flight.remove(offset);
            }
        }
        self.group.persist().await
    }
}

/// Reads the given sorted offsets, in contiguous runs.
fn read_offsets(shared: &Shared, offsets: &[u64]) -> Result<Vec<StoredRecord>, BusError> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut i = 0;
    while i < offsets.len() {
        let start = offsets[i];
        let mut j = i + 1;
        while j < offsets.len() && offsets[j] == offsets[j - 1] + 1 {
            j += 1;
        }
        out.extend(shared.read_range(start, offsets[j - 1] + 1)?);
        i = j;
    }
    Ok(out)
}
