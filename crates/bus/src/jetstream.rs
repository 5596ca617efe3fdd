//! The scale-out backend: a NATS JetStream stream with durable pull consumers.
//!
//! Works with nats-server 2.9 and later: the client is built without its
//! `server_2_10`+ features, so it uses only 2.9's API (single filter subject, no
//! stream compression, no consumer metadata).
//!
//! * One stream (file storage, limits retention, discard old) holds one subject;
//!   a record is one message: the payload as the body, the headers as NATS
//!   headers (`Nigehban-Tenant`, `Nigehban-Sensor`, `Nigehban-Received-At` in
//!   Unix nanoseconds, `Content-Type`) and a `Nats-Msg-Id` unique per record.
//! * `publish` sends the whole batch, then awaits every `PubAck`; a record whose
//!   ack does not come is re-sent with the same `Nats-Msg-Id`, so the stream's
//!   duplicate window stores it once.
//! * A consumer is a durable pull consumer with explicit acks; every process that
//!   binds the same name pulls from it, and the server gives each message to one
//!   puller, redelivering it after `ack_wait` if unacknowledged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull, kv, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use tracing::{info, warn};

use crate::error::BusError;
use crate::record::{
    DEFAULT_MAX_PAYLOAD_BYTES, Delivery, nanos_to_system_time, system_time_to_nanos,
};
use crate::shared::{SharedValues, Versioned, Written};
use crate::{
    BusMetrics, ConsumerConfig, ConsumerMetrics, DurableAck, EventBus, EventConsumer, LogBounds,
    Record, RetentionPolicy, RetentionReport, StartAt, validate_batch, validate_consumer_name,
};

const TENANT: &str = "Nigehban-Tenant";
const SENSOR: &str = "Nigehban-Sensor";
const RECEIVED_AT: &str = "Nigehban-Received-At";
const CONTENT_TYPE: &str = "Content-Type";
const MSG_ID: &str = "Nats-Msg-Id";
/// Room left in a NATS message for our headers.
const HEADER_ALLOWANCE: usize = 4 * 1024;
/// Attempts to get a `PubAck` for one record before publish fails.
const PUBLISH_ATTEMPTS: usize = 3;

/// Settings of the JetStream backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamOptions {
    /// Server URL(s), e.g. `nats://127.0.0.1:4222` (comma-separated for a cluster).
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// The stream's single subject.
    pub subject: String,
    /// Stream replicas: 1 on a single server, 3 for durability against machine loss.
    pub replicas: usize,
    /// How much the stream keeps (enforced by the server).
    pub retention: RetentionPolicy,
    /// Largest payload accepted (lowered to fit the server's `max_payload`).
    pub max_payload_bytes: usize,
    /// How long the server remembers `Nats-Msg-Id`s to drop re-sent records.
    pub duplicate_window: Duration,
    /// How long to wait for a `PubAck` before re-sending.
    pub ack_timeout: Duration,
}

impl JetStreamOptions {
    /// Defaults for the server at `url`: stream `NIGEHBAN_EVENTS` on subject `nigehban.events`.
    pub fn new(url: impl Into<String>) -> Self {
        JetStreamOptions {
            url: url.into(),
            stream: "NIGEHBAN_EVENTS".into(),
            subject: "nigehban.events".into(),
            replicas: 1,
            retention: RetentionPolicy::default(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            duplicate_window: Duration::from_secs(120),
            ack_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    appended_records: AtomicU64,
    appended_bytes: AtomicU64,
    publish_calls: AtomicU64,
    next_msg: AtomicU64,
}

struct Inner {
    client: async_nats::Client,
    context: jetstream::Context,
    options: JetStreamOptions,
    max_payload_bytes: usize,
    /// Unique per handle, so message ids never collide across processes.
    publisher_id: String,
    counters: Counters,
}

/// The JetStream event bus. Cheap to clone.
#[derive(Clone)]
pub struct JetStreamBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JetStreamBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamBus")
            .field("url", &self.inner.options.url)
            .field("stream", &self.inner.options.stream)
            .finish_non_exhaustive()
    }
}

fn stream_config(options: &JetStreamOptions) -> stream::Config {
    let max_age = options.retention.max_age.unwrap_or(Duration::ZERO);
    let duplicate_window = if max_age.is_zero() {
        options.duplicate_window
    } else {
        options.duplicate_window.min(max_age)
    };
    stream::Config {
        name: options.stream.clone(),
        subjects: vec![options.subject.clone()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age,
        max_bytes: options
            .retention
            .max_bytes
            .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        num_replicas: options.replicas,
        duplicate_window,
        ..Default::default()
    }
}

impl JetStreamBus {
    /// Connects to the server and creates the stream, or updates its limits if it exists.
    pub async fn open(options: JetStreamOptions) -> Result<Self, BusError> {
        if options.stream.is_empty()
            || options
                .stream
                .contains(|c: char| c == '.' || c == '*' || c == '>' || c.is_whitespace())
        {
            return Err(BusError::Config(format!(
                "invalid JetStream stream name {:?}",
                options.stream
            )));
        }
        if options.replicas == 0 {
            return Err(BusError::Config("stream replicas is 0".into()));
        }
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("nigehban-bus")
            .connect(options.url.as_str())
            .await
            .map_err(|e| BusError::nats(&format!("connecting to {}", options.url), e))?;
        let context = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .ack_timeout(options.ack_timeout)
            .build(client.clone());
        let config = stream_config(&options);
        let stream = context
            .get_or_create_stream(config.clone())
            .await
            .map_err(|e| BusError::nats(&format!("creating stream {}", options.stream), e))?;
        let existing = &stream.cached_info().config;
        if existing.max_age != config.max_age
            || existing.max_bytes != config.max_bytes
            || existing.subjects != config.subjects
            || existing.duplicate_window != config.duplicate_window
        {
            context
                .update_stream(config)
                .await
                .map_err(|e| BusError::nats(&format!("updating stream {}", options.stream), e))?;
        }
        let server_max = client.server_info().max_payload;
        let max_payload_bytes = if server_max > HEADER_ALLOWANCE {
            options.max_payload_bytes.min(server_max - HEADER_ALLOWANCE)
        } else {
            options.max_payload_bytes
        };
        info!(url = %options.url, stream = %options.stream, "jetstream bus opened");
        Ok(JetStreamBus {
            inner: Arc::new(Inner {
                client,
                context,
                publisher_id: publisher_id(),
                max_payload_bytes,
                options,
                counters: Counters::default(),
            }),
        })
    }

    async fn stream(&self) -> Result<stream::Stream, BusError> {
        self.inner
            .context
            .get_stream(&self.inner.options.stream)
            .await
            .map_err(|e| BusError::nats("reading stream", e))
    }

    fn headers(&self, record: &Record, msg_id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID, msg_id);
        headers.insert(TENANT, record.tenant_id.as_str());
        if !record.sensor_id.is_empty() {
            headers.insert(SENSOR, record.sensor_id.as_str());
        }
        if !record.content_type.is_empty() {
            headers.insert(CONTENT_TYPE, record.content_type.as_str());
        }
        let nanos = system_time_to_nanos(record.received_at).unwrap_or(0);
        headers.insert(RECEIVED_AT, nanos.to_string().as_str());
        headers
    }
}

impl JetStreamBus {
    /// The shared values named `name` of this bus's stream: a key-value
    /// bucket `<stream>_<name>` (file storage, the stream's replicas, the
    /// latest value per key), created if it does not exist. Every process
    /// on the same stream gets the same values.
    pub async fn shared_values(&self, name: &str) -> Result<JetStreamValues, BusError> {
        let bucket: String = format!("{}_{name}", self.inner.options.stream)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let context = &self.inner.context;
        // The bucket's stream is made here, in the layout of a key-value
        // bucket, rather than with the client's `create_key_value`, which
        // first asks for account details nats-server 2.9 answers in a form
        // the client cannot read.
        let stream_name = format!("KV_{bucket}");
        context
            .get_or_create_stream(stream::Config {
                name: stream_name.clone(),
                description: Some("nigehban: state shared by the processes on this stream".into()),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                storage: stream::StorageType::File,
                num_replicas: self.inner.options.replicas,
                discard: stream::DiscardPolicy::New,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::nats(&format!("creating stream {stream_name}"), e))?;
        let store = context
            .get_key_value(bucket.as_str())
            .await
            .map_err(|e| BusError::nats(&format!("opening key-value bucket {bucket}"), e))?;
        Ok(JetStreamValues {
            store,
            bucket: Arc::from(bucket),
        })
    }
}

/// Shared values in a JetStream key-value bucket (see
/// [`JetStreamBus::shared_values`]). Cheap to clone.
#[derive(Clone)]
pub struct JetStreamValues {
    store: kv::Store,
    bucket: Arc<str>,
}

impl std::fmt::Debug for JetStreamValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamValues")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl SharedValues for JetStreamValues {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, BusError> {
        let entry = self
            .store
            .entry(key)
            .await
            .map_err(|e| BusError::nats(&format!("reading {key} in {}", self.bucket), e))?;
        Ok(entry
            .filter(|entry| entry.operation == kv::Operation::Put)
            .map(|entry| Versioned {
                value: entry.value,
                revision: entry.revision,
            }))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<u64>,
    ) -> Result<Written, BusError> {
        let context = || format!("writing {key} in {}", self.bucket);
        match expected {
            None => match self.store.create(key, value).await {
                Ok(revision) => Ok(Written::Stored(revision)),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(Written::Conflict),
                Err(e) => Err(BusError::nats(&context(), e)),
            },
            Some(revision) => match self.store.update(key, value, revision).await {
                Ok(revision) => Ok(Written::Stored(revision)),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    Ok(Written::Conflict)
                }
                Err(e) => Err(BusError::nats(&context(), e)),
            },
        }
    }
}

/// An id unique to this handle: process id, clock, and a process-wide counter.
fn publisher_id() -> String {
    static HANDLES: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}-{:x}-{:x}",
        std::process::id(),
        nanos,
        HANDLES.fetch_add(1, Ordering::Relaxed)
    )
}

/// Reads a record back from a JetStream message; `Err` names what is missing.
fn decode_message(message: &async_nats::Message) -> Result<Record, &'static str> {
    let headers = message.headers.as_ref().ok_or("message has no headers")?;
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| AsRef::<str>::as_ref(v).to_owned())
    };
    let tenant_id = text(TENANT).ok_or("message has no Nigehban-Tenant header")?;
    let received_ns: i64 = text(RECEIVED_AT)
        .ok_or("message has no Nigehban-Received-At header")?
        .parse()
        .map_err(|_| "Nigehban-Received-At is not a number")?;
    Ok(Record {
        tenant_id,
        sensor_id: text(SENSOR).unwrap_or_default(),
        received_at: nanos_to_system_time(received_ns),
        content_type: text(CONTENT_TYPE).unwrap_or_default(),
        payload: message.payload.clone(),
        id: None,
    })
}

impl EventBus for JetStreamBus {
    type Consumer = JetStreamConsumer;

    async fn publish(&self, records: &[Record]) -> Result<DurableAck, BusError> {
        validate_batch(records, self.inner.max_payload_bytes)?;
        let inner = &self.inner;
        let first_id = inner
            .counters
            .next_msg
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        // A record's own id makes a re-sent copy (from this call's retries or
        // from the caller's) a duplicate the stream drops; the others get one
        // unique to this call, which only this call's retries reuse.
        let ids: Vec<String> = records
            .iter()
            .zip(first_id..)
            .map(|(record, n)| match &record.id {
                Some(id) => format!("r-{id}"),
                None => format!("{}-{n}", inner.publisher_id),
            })
            .collect();
        let mut sequences: Vec<Option<u64>> = vec![None; records.len()];
        for attempt in 1..=PUBLISH_ATTEMPTS {
            // Send every record still unacknowledged, then collect the acks.
            let mut waiting = Vec::new();
            for (i, record) in records.iter().enumerate() {
                if sequences[i].is_some() {
                    continue;
                }
                match inner
                    .context
                    .publish_with_headers(
                        inner.options.subject.clone(),
                        self.headers(record, &ids[i]),
                        record.payload.clone(),
                    )
                    .await
                {
                    Ok(ack) => waiting.push((i, ack)),
                    Err(e) if attempt < PUBLISH_ATTEMPTS => {
                        warn!(error = %e, attempt, "jetstream publish failed; retrying");
                    }
                    Err(e) => return Err(BusError::nats("publishing", e)),
                }
            }
            let mut last_error = None;
            for (i, ack) in waiting {
                match ack.await {
                    Ok(ack) => sequences[i] = Some(ack.sequence),
                    Err(e) => last_error = Some(e),
                }
            }
            match last_error {
                None if sequences.iter().all(Option::is_some) => break,
                None => {}
                Some(e) if attempt < PUBLISH_ATTEMPTS => {
                    warn!(error = %e, attempt, "jetstream publish ack missing; re-sending with the same message ids");
                }
                Some(e) => return Err(BusError::nats("awaiting publish acknowledgement", e)),
            }
        }
        let stored: Vec<u64> = sequences.into_iter().flatten().collect();
        if stored.len() != records.len() {
            return Err(BusError::Nats(
                "publish acknowledgements missing after retries".into(),
            ));
        }
        inner
            .counters
            .appended_records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        inner.counters.appended_bytes.fetch_add(
            records.iter().map(|r| r.payload.len() as u64).sum(),
            Ordering::Relaxed,
        );
        inner.counters.publish_calls.fetch_add(1, Ordering::Relaxed);
        Ok(DurableAck {
            first_offset: stored.iter().copied().min().unwrap_or(0),
            last_offset: stored.iter().copied().max().unwrap_or(0),
            records: stored.len() as u64,
        })
    }

    async fn consumer(
        &self,
        name: &str,
        config: ConsumerConfig,
    ) -> Result<JetStreamConsumer, BusError> {
        validate_consumer_name(name)?;
        if config.max_in_flight == 0 {
            return Err(BusError::Config("max_in_flight is 0".into()));
        }
        let stream = self.stream().await?;
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_owned()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    deliver_policy: match config.start_at {
                        StartAt::Earliest => jetstream::consumer::DeliverPolicy::All,
                        StartAt::Latest => jetstream::consumer::DeliverPolicy::New,
                    },
                    max_ack_pending: i64::try_from(config.max_in_flight).unwrap_or(i64::MAX),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| BusError::nats(&format!("creating consumer {name}"), e))?;
        Ok(JetStreamConsumer {
            name: name.to_owned(),
            consumer,
            in_flight: HashMap::new(),
        })
    }

    async fn delete_consumer(&self, name: &str) -> Result<(), BusError> {
        validate_consumer_name(name)?;
        let stream = self.stream().await?;
        match stream.delete_consumer(name).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("not found") => {
                Err(BusError::UnknownConsumer(name.to_owned()))
            }
            Err(e) => Err(BusError::nats(&format!("deleting consumer {name}"), e)),
        }
    }

    async fn lag(&self, consumer: &str) -> Result<u64, BusError> {
        validate_consumer_name(consumer)?;
        let stream = self.stream().await?;
        match stream.consumer_info(consumer).await {
            Ok(info) => Ok(info.num_pending + info.num_ack_pending as u64),
            Err(e) if e.to_string().contains("not found") => {
                Err(BusError::UnknownConsumer(consumer.to_owned()))
            }
            Err(e) => Err(BusError::nats(&format!("reading consumer {consumer}"), e)),
        }
    }

    async fn bounds(&self) -> Result<LogBounds, BusError> {
        let stream = self.stream().await?;
        let state = &stream.cached_info().state;
        let next = state.last_sequence + 1;
        let oldest = if state.messages == 0 {
            next
        } else {
            state.first_sequence
        };
        Ok(LogBounds { oldest, next })
    }

    async fn metrics(&self) -> Result<BusMetrics, BusError> {
        let stream = self.stream().await?;
        let state = stream.cached_info().state.clone();
        let mut names = stream.consumer_names();
        let mut consumers = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| BusError::nats("listing consumers", e))?;
            let info = stream
                .consumer_info(&name)
                .await
                .map_err(|e| BusError::nats(&format!("reading consumer {name}"), e))?;
            consumers.push(ConsumerMetrics {
                name,
                lag: info.num_pending + info.num_ack_pending as u64,
                in_flight: info.num_ack_pending as u64,
                redelivered: info.num_redelivered as u64,
                skipped: 0,
            });
        }
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        let counters = &self.inner.counters;
        Ok(BusMetrics {
            appended_records: counters.appended_records.load(Ordering::Relaxed),
            appended_bytes: counters.appended_bytes.load(Ordering::Relaxed),
            durable_writes: counters.publish_calls.load(Ordering::Relaxed),
            stored_records: state.messages,
            stored_bytes: state.bytes,
            consumers,
        })
    }

    async fn enforce_retention(&self) -> Result<RetentionReport, BusError> {
        // The server enforces the stream's limits itself, continuously.
        Ok(RetentionReport::default())
    }

    async fn close(&self) -> Result<(), BusError> {
        self.inner
            .client
            .flush()
            .await
            .map_err(|e| BusError::nats("flushing", e))
    }

    fn check_usable(&self) -> Result<(), BusError> {
        match self.inner.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(BusError::Nats(format!(
                "not connected to nats-server ({other})"
            ))),
        }
    }

    async fn check_ready(&self) -> Result<(), BusError> {
        self.check_usable()?;
        // A round trip to the stream: the server answers and JetStream holds the stream.
        self.stream().await.map(|_| ())
    }
}

/// A member of a durable JetStream pull consumer.
pub struct JetStreamConsumer {
    name: String,
    consumer: jetstream::consumer::PullConsumer,
    /// Messages delivered to this member and not yet acknowledged, by stream sequence.
    in_flight: HashMap<u64, jetstream::Message>,
}

impl std::fmt::Debug for JetStreamConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamConsumer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl JetStreamConsumer {
    /// Pulls up to `max` messages: without waiting if `wait` is `None`, else waiting for the first.
    async fn pull(
        &mut self,
        max: usize,
        wait: Option<Duration>,
        out: &mut Vec<Delivery>,
    ) -> Result<(), BusError> {
        let mut batch = match wait {
            // The server answers a no-wait pull at once, except when max_in_flight deliveries
            // are outstanding: then it holds the request, so it must expire.
            None => self
                .consumer
                .fetch()
                .max_messages(max)
                .expires(Duration::from_millis(100))
                .messages()
                .await
                .map_err(|e| BusError::nats("pulling", e))?,
            Some(wait) => self
                .consumer
                .batch()
                .max_messages(max)
                .expires(wait)
                .messages()
                .await
                .map_err(|e| BusError::nats("pulling", e))?,
        };
        while let Some(message) = batch.next().await {
            let message = match message {
                Ok(message) => message,
                // 409: the consumer has max_in_flight deliveries outstanding; nothing more now.
                Err(e) if e.to_string().contains("409") => break,
                Err(e) => return Err(BusError::nats("pulling", e)),
            };
            let (offset, delivered, published) = {
                let info = message
                    .info()
                    .map_err(|e| BusError::nats("reading delivery metadata", e))?;
                (
                    info.stream_sequence,
                    u64::try_from(info.delivered).unwrap_or(1),
                    info.published.unix_timestamp_nanos(),
                )
            };
            match decode_message(&message.message) {
                Ok(record) => {
                    out.push(Delivery {
                        offset,
                        appended_at: nanos_to_system_time(i64::try_from(published).unwrap_or(0)),
                        delivery_count: delivered,
                        record,
                    });
                    self.in_flight.insert(offset, message);
                }
                Err(reason) => {
                    // Not one of ours (someone else published on the subject): never deliver it.
                    warn!(offset, reason, consumer = %self.name, "jetstream message is not a bus record; terminating it");
                    let _ = message.ack_with(jetstream::AckKind::Term).await;
                }
            }
        }
        Ok(())
    }
}

impl EventConsumer for JetStreamConsumer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        self.pull(max, None, &mut out).await?;
        if out.is_empty() && wait >= Duration::from_millis(10) {
            // Long-poll for one message only, so that no pull request is left open with
            // messages reserved for it; then take what else is ready without waiting.
            self.pull(1, Some(wait), &mut out).await?;
            if !out.is_empty() && max > 1 {
                self.pull(max - 1, None, &mut out).await?;
            }
        }
        Ok(out)
    }

    async fn ack(&mut self, offsets: &[u64]) -> Result<(), BusError> {
        if let Some(&offset) = offsets.iter().find(|o| !self.in_flight.contains_key(o)) {
            return Err(BusError::NotDelivered {
                consumer: self.name.clone(),
                offset,
            });
        }
        let messages: Vec<(u64, jetstream::Message)> = offsets
            .iter()
            .filter_map(|o| self.in_flight.remove(o).map(|m| (*o, m)))
            .collect();
        // Double acks: the server confirms each, so an acknowledged record is committed.
        let results: Vec<(u64, jetstream::Message, Result<(), async_nats::Error>)> =
            futures_util::stream::iter(messages)
                .map(|(offset, message)| async move {
                    let result = message.double_ack().await;
                    (offset, message, result)
                })
                .buffer_unordered(64)
                .collect()
                .await;
        let mut first_error = None;
        for (offset, message, result) in results {
            if let Err(e) = result {
                self.in_flight.insert(offset, message);
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(BusError::nats("acknowledging", e)),
            None => Ok(()),
        }
    }
}
