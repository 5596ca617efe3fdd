//! Nigehban's durable event bus between telemetry intake and its consumers
//! (detection, search, later intelligence matching).
//!
//! Two backends, one contract ([`EventBus`] and [`EventConsumer`]), proven by one
//! conformance suite (`tests/bus/conformance.rs`) that runs against both:
//!
//! * [`EmbeddedLog`] — the default: an append-only log of segment files in
//!   `<data-dir>/bus/`, owned by one process.
//! * [`JetStreamBus`] — scale-out: a NATS JetStream stream with durable pull
//!   consumers (`--bus nats://host:4222`), shared by many processes.
//!
//! [`BusLocation::from_flag`] turns the `--bus` flag into a location and
//! [`AnyBus::open`] opens it.
//!
//! On JetStream, [`JetStreamBus::shared_values`] also gives values that the
//! processes of a deployment share and change only by compare-and-set
//! ([`SharedValues`]; live correlation keeps its windows there when several
//! processes detect).
//!
//! # Contract
//!
//! * `publish(&[Record])` resolves only once every record of the batch is durable
//!   and returns the offsets it got ([`DurableAck`]). A batch is refused whole if
//!   any record is invalid ([`BusError::InvalidRecord`] names which and why).
//! * A record with an id ([`Record::id`]; intake gives each event's id) that is
//!   published again within the duplicate window — a publish retried after a
//!   lost or abandoned acknowledgement, a request resent with the same
//!   idempotency key — is stored once: the publish answers with the offset of
//!   the copy already stored. Records without an id are never taken for copies.
//!   JetStream uses the id as `Nats-Msg-Id` (the stream's `duplicate_window`,
//!   kept by the server); the embedded log remembers ids in memory
//!   ([`EmbeddedOptions::duplicate_window`], at most
//!   [`EmbeddedOptions::duplicate_ids`]), so a copy sent after a restart of
//!   the process that owns it is stored again. Consumers recognise events by
//!   their event id in any case: delivery is at-least-once.
//! * Consumers are durable and named. `fetch(max, wait)` returns up to `max`
//!   deliveries, waiting up to `wait` for the first one; `ack(offsets)` marks
//!   them processed. Delivery is at-least-once: a delivery not acknowledged
//!   within the consumer's `ack_wait` is delivered again (to any member).
//! * Several handles on the same consumer name — tasks in one process, or on
//!   JetStream also separate processes — share the work: each record goes to one
//!   of them, and only an unacknowledged one is redelivered.
//! * `lag(consumer)` = records not yet acknowledged by that consumer
//!   (undelivered + delivered-unacknowledged); intake slows senders down when it
//!   grows. [`BusMetrics`] adds appended counts and bytes.
//! * Retention by age and by total size is a hard limit on both backends: data
//!   past a limit is deleted even if a consumer has not read it. Nothing else
//!   ever deletes data. The embedded log counts the records each consumer thereby
//!   missed ([`ConsumerMetrics::skipped`], [`RetentionReport`]) and logs a warning.
//!
//! # Guarantees per mode
//!
//! * **Embedded**: an acknowledged batch has been written and `fdatasync`ed, so
//!   it survives a process crash (`kill -9`) *and* a power loss or kernel crash
//!   of the machine (given a disk that honours flushes). It does not survive
//!   the loss of the disk. Publishers' batches are group-committed: the writer
//!   thread gathers all batches queued while the previous fsync ran into one
//!   write and one `fdatasync`, which is what makes 100,000+ durable events/s
//!   possible on one disk. Consumer offsets are committed with write-temp,
//!   fsync, rename, fsync-directory.
//! * **JetStream**: an acknowledged record (a JetStream `PubAck`) is in the
//!   stream's file store, so it survives a crash of the client or of
//!   `nats-server` (tested: `kill -9` of nats-server loses no acknowledged
//!   record); but the server fsyncs its files only periodically (every two
//!   minutes by default), so the loss of a single server's machine can lose
//!   the records acknowledged since its last sync. Durability against machine loss comes from a replicated
//!   stream (`replicas: 3` on a three-node cluster: an ack then means a quorum
//!   holds the record). Each record carries a `Nats-Msg-Id` (its own id when it
//!   has one), so a publish retried after a lost ack is stored once (within the
//!   duplicate window).
//!
//! # Embedded log layout
//!
//! `<data-dir>/bus/LOCK` (held with an exclusive file lock while open),
//! `<data-dir>/bus/segments/<base-offset:020>.seg` (16-byte header `NGHBUS01` +
//! base offset, then frames as described in `record.rs`), and
//! `<data-dir>/bus/consumers/<name>.offset` (the consumer's committed offset:
//! every offset below it is acknowledged). On open the last segment is scanned
//! and checked frame by frame; a torn tail (a group write cut short by a crash,
//! never acknowledged) is truncated.
//!
//! # Opening a bus
//!
//! ```text
//! let location = BusLocation::from_flag(args.bus.as_deref(), &data_dir, retention)?;
//! let bus = AnyBus::open(location).await?;        // needs a Tokio runtime
//! let ack = bus.publish(&records).await?;          // durable when this returns
//! let mut detect = bus.consumer("detect", ConsumerConfig::default()).await?;
//! let batch = detect.fetch(1000, Duration::from_secs(1)).await?;
//! detect.ack(&batch.iter().map(|d| d.offset).collect::<Vec<_>>()).await?;
//! if bus.lag("detect").await? > limit { /* intake slows its senders down */ }
//! ```
//!
//! # Known limits
//!
//! * Embedded: a record whose checksum fails inside the durable region (disk
//!   corruption, not a torn write) makes `fetch` return [`BusError::Corrupt`]
//!   for it; it is not skipped silently. Recovery truncates the last segment at
//!   its first invalid frame.
//! * Embedded: retention deletes whole sealed segments, so up to one segment
//!   (`segment_bytes`) more than `max_bytes` may be kept; segments found on
//!   open are aged by their file modification time.
//! * JetStream: a consumer's settings are fixed when it is first created;
//!   records the server's retention discards before a consumer acknowledged
//!   them are not counted in `skipped`.

mod any;
mod error;
mod jetstream;
mod log;
mod record;
mod shared;

use std::future::Future;
use std::time::Duration;

pub use any::{AnyBus, AnyConsumer, BusLocation};
pub use error::{BusError, RecordError};
pub use jetstream::{JetStreamBus, JetStreamConsumer, JetStreamOptions, JetStreamValues};
pub use log::{EmbeddedConsumer, EmbeddedLog, EmbeddedOptions, EmbeddedSnapshot, SnapshotFile};
pub use record::{DEFAULT_MAX_PAYLOAD_BYTES, Delivery, MAX_HEADER_BYTES, Record};
pub use shared::{SharedValues, Versioned, Written};

/// What `publish` returns once a batch is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurableAck {
    /// Offset of the batch's first record (the lowest, when copies stored earlier are in it).
    pub first_offset: u64,
    /// Offset of the batch's last record; on the embedded log a batch without
    /// re-sent copies is contiguous, on JetStream other publishers' records may
    /// lie in between.
    pub last_offset: u64,
    /// Number of records of the batch now durable (copies stored earlier included).
    pub records: u64,
}

/// How much data the bus keeps; `None` means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// Records older than this are deleted.
    pub max_age: Option<Duration>,
    /// Oldest records are deleted while the bus holds more bytes than this.
    pub max_bytes: Option<u64>,
}

/// Where a new durable consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// At the oldest retained record.
    #[default]
    Earliest,
    /// After the last record stored when the consumer is created.
    Latest,
}

/// Settings of a durable consumer, applied when it is first created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// A delivery not acknowledged within this time is delivered again.
    pub ack_wait: Duration,
    /// Where a consumer that does not exist yet starts.
    pub start_at: StartAt,
    /// Most deliveries outstanding (delivered, unacknowledged) across all members.
    pub max_in_flight: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            ack_wait: Duration::from_secs(30),
            start_at: StartAt::Earliest,
            max_in_flight: 20_000,
        }
    }
}

/// The range of offsets the bus holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// The oldest retained offset (equal to `next` when empty).
    pub oldest: u64,
    /// The offset the next record will get.
    pub next: u64,
}

/// Counters for one durable consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMetrics {
    /// The consumer's name.
    pub name: String,
    /// Records not yet acknowledged (undelivered + delivered-unacknowledged).
    pub lag: u64,
    /// Delivered and not yet acknowledged.
    pub in_flight: u64,
    /// Redeliveries after an ack wait expired (since open on the embedded log; total on JetStream).
    pub redelivered: u64,
    /// Records deleted by retention before this consumer acknowledged them (embedded, since open).
    pub skipped: u64,
}

/// A snapshot of the bus's metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMetrics {
    /// Records appended through this handle since it was opened.
    pub appended_records: u64,
    /// Payload bytes appended through this handle since it was opened.
    pub appended_bytes: u64,
    /// Durable writes (embedded: `fdatasync` group commits; JetStream: publish calls).
    pub durable_writes: u64,
    /// Records the bus holds now.
    pub stored_records: u64,
    /// Bytes the bus holds now (on disk, framing included).
    pub stored_bytes: u64,
    /// Every durable consumer.
    pub consumers: Vec<ConsumerMetrics>,
}

/// What a retention pass deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionReport {
    /// Records deleted.
    pub deleted_records: u64,
    /// Bytes deleted.
    pub deleted_bytes: u64,
    /// Per consumer, records deleted before it acknowledged them (only consumers that missed some).
    pub skipped: Vec<(String, u64)>,
}

/// The durable event bus: what intake publishes to and consumers read from.
pub trait EventBus: Clone + Send + Sync + 'static {
    /// A member of a durable consumer.
    type Consumer: EventConsumer;

    /// Stores a batch; resolves once every record is durable.
    fn publish(
        &self,
        records: &[Record],
    ) -> impl Future<Output = Result<DurableAck, BusError>> + Send;

    /// Joins (creating if needed) the durable consumer `name`; each call gives a new member.
    fn consumer(
        &self,
        name: &str,
        config: ConsumerConfig,
    ) -> impl Future<Output = Result<Self::Consumer, BusError>> + Send;

    /// Deletes a durable consumer and its committed offset.
    fn delete_consumer(&self, name: &str) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Records the consumer has not acknowledged yet.
    fn lag(&self, consumer: &str) -> impl Future<Output = Result<u64, BusError>> + Send;

    /// The range of offsets held.
    fn bounds(&self) -> impl Future<Output = Result<LogBounds, BusError>> + Send;

    /// A snapshot of counters, stored totals and every consumer's lag.
    fn metrics(&self) -> impl Future<Output = Result<BusMetrics, BusError>> + Send;

    /// Applies the retention policy now (the bus also does so on its own).
    fn enforce_retention(&self) -> impl Future<Output = Result<RetentionReport, BusError>> + Send;

    /// Waits for everything accepted to be durable and releases the bus (an
    /// embedded log lets its directory go: it can be opened again at once).
    fn close(&self) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Whether, as far as this process knows without asking anyone (no I/O), the bus
    /// can take records: the embedded log is open and its writer has not failed; the
    /// JetStream client is connected. Cheap enough to call before every request.
    fn check_usable(&self) -> Result<(), BusError>;

    /// Whether the bus can take records now (for readiness probes): [`EventBus::check_usable`],
    /// then what it takes I/O to know (the log's directory is there; nats-server
    /// answers for the stream). An error says why not.
    fn check_ready(&self) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// One member of a durable consumer.
pub trait EventConsumer: Send + 'static {
    /// The durable consumer's name.
    fn name(&self) -> &str;

    /// Up to `max` deliveries; waits up to `wait` for the first one, returns empty if none came.
    fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Delivery>, BusError>> + Send;

    /// Acknowledges deliveries by offset; acknowledged records are never delivered again.
    fn ack(&mut self, offsets: &[u64]) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// Checks a durable consumer name: 1–64 of `A-Z a-z 0-9 _ -` (valid on every backend).
pub(crate) fn validate_consumer_name(name: &str) -> Result<(), BusError> {
    let bad = |reason| {
        Err(BusError::InvalidConsumerName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return bad("only letters, digits, '_' and '-' are allowed");
    }
    Ok(())
}

/// Checks a batch against the record rules.
pub(crate) fn validate_batch(records: &[Record], max_payload_bytes: usize) -> Result<(), BusError> {
    if records.is_empty() {
        return Err(BusError::EmptyBatch);
    }
    for (index, record) in records.iter().enumerate() {
        record
            .validate(max_payload_bytes)
            .map_err(|reason| BusError::InvalidRecord { index, reason })?;
    }
    Ok(())
}
