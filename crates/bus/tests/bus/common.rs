//! Test harness: opens either backend with per-test isolation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nigehban_bus::{
    AnyBus, BusLocation, Delivery, EmbeddedOptions, EventBus, EventConsumer, JetStreamOptions,
    Record, RetentionPolicy,
};

/// Segment size the embedded harness uses, small so tests roll segments.
pub const TEST_SEGMENT_BYTES: u64 = 8 * 1024;

/// A backend under test, able to open (and reopen) the same bus.
pub enum Harness {
    /// The embedded log in a temporary directory.
    Embedded(tempfile::TempDir),
    /// A JetStream stream unique to the test.
    JetStream {
        /// Server URL.
        url: String,
        /// Unique stream name.
        stream: String,
    },
}

/// The NATS server for tests, or None (skipped, or failed when required) when not configured.
pub fn nats_url() -> Option<String> {
    nigehban_testkit::nats_url()
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{nanos:x}", std::process::id())
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
}

impl Harness {
    /// A fresh embedded log.
    pub fn embedded() -> Self {
        Harness::Embedded(tempfile::tempdir().unwrap())
    }

    /// A fresh JetStream stream, or None when no server is configured.
    pub fn jetstream(test: &str) -> Option<Self> {
        let url = nats_url()?;
        Some(Harness::JetStream {
            url,
            stream: unique(&format!("T_{test}")).to_uppercase(),
        })
    }

    /// Where this harness's bus lives.
    pub fn location(&self, retention: RetentionPolicy) -> BusLocation {
        match self {
            Harness::Embedded(dir) => {
                let mut options = EmbeddedOptions::new(dir.path());
                options.retention = retention;
                options.segment_bytes = TEST_SEGMENT_BYTES;
                BusLocation::Embedded(options)
            }
            Harness::JetStream { url, stream } => {
                let mut options = JetStreamOptions::new(url.clone());
                options.stream = stream.clone();
                options.subject = format!("test.{}", stream.to_lowercase());
                options.retention = retention;
                BusLocation::JetStream(options)
            }
        }
    }

    /// Opens the bus with no retention limits.
    pub async fn open(&self) -> AnyBus {
        self.open_with(RetentionPolicy::default()).await
    }

    /// Opens the bus with a retention policy.
    pub async fn open_with(&self, retention: RetentionPolicy) -> AnyBus {
        AnyBus::open(self.location(retention)).await.unwrap()
    }

    /// Removes what the test left on the server.
    pub async fn cleanup(&self) {
        if let Harness::JetStream { url, stream } = self {
            let client = async_nats::connect(url.as_str()).await.unwrap();
            let js = async_nats::jetstream::new(client);
            let _ = js.delete_stream(stream).await;
        }
    }
}

/// A record with a recognisable payload.
pub fn record(tag: &str, size: usize) -> Record {
    let mut payload = format!("{tag}|").into_bytes();
    while payload.len() < size {
        payload.push(b'a' + (payload.len() % 26) as u8);
    }
    payload.truncate(size.max(tag.len() + 1));
    Record {
        tenant_id: "sector-banking".into(),
        sensor_id: format!("sensor-{}", tag.len() % 3),
        received_at: UNIX_EPOCH
            + Duration::from_nanos(1_764_000_000_000_000_000 + tag.len() as u64),
        content_type: "application/json".into(),
        payload: Bytes::from(payload),
        id: None,
    }
}

/// The tag a `record` payload starts with.
pub fn tag_of(delivery: &Delivery) -> String {
    let payload = &delivery.record.payload;
    let end = payload
        .iter()
        .position(|b| *b == b'|')
        .unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

/// Fetches until `count` deliveries arrived or `limit` passed.
pub async fn fetch_n<C: EventConsumer>(
    consumer: &mut C,
    count: usize,
    limit: Duration,
) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < count && tokio::time::Instant::now() < deadline {
        let batch = consumer
            .fetch(count - got.len(), Duration::from_millis(200))
            .await
            .unwrap();
        got.extend(batch);
    }
    got
}

/// Publishes `n` records tagged `{prefix}{i}` in batches of `batch`, returning their tags.
pub async fn publish_tagged<B: EventBus>(
    bus: &B,
    prefix: &str,
    n: usize,
    batch: usize,
    size: usize,
) -> Vec<String> {
    let tags: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for chunk in tags.chunks(batch) {
        let records: Vec<Record> = chunk.iter().map(|t| record(t, size)).collect();
        let ack = bus.publish(&records).await.unwrap();
        assert_eq!(ack.records, records.len() as u64);
    }
    tags
}
