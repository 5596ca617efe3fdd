//! Test harness: events as intake would put them on the bus, and a way to index them
//! through the real bus and the real indexer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nigehban_bus::{
    AnyBus, BusLocation, ConsumerConfig, EmbeddedLog, EmbeddedOptions, EventBus, JetStreamOptions,
    Record, RetentionPolicy,
};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event};
use nigehban_normalise::{Format, NormalisedEvent, SourceHint, normalise};
use nigehban_search::{
    EventHit, EventIndex, EventQuery, IndexOptions, Indexer, IndexerConfig, TenantScope,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// A fixed "now" for tests: nothing here reads the clock for event times.
pub const BASE: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

/// An event as intake would publish it.
#[derive(Debug, Clone)]
pub struct TestEvent {
    /// What the test calls it; its event id is [`test_id`] of this name.
    pub name: String,
    /// The owning tenant (the bus record's tenant and the event's stamp).
    pub tenant: String,
    /// The raw record the sensor sent.
    pub raw: String,
    /// When intake received it (`event.ingested`).
    pub received_at: OffsetDateTime,
}

impl TestEvent {
    /// A record from `tenant` received at `received_at`, called `name` by the test.
    pub fn new(name: &str, tenant: &str, raw: &str, received_at: OffsetDateTime) -> Self {
        TestEvent {
            name: name.to_owned(),
            tenant: tenant.to_owned(),
            raw: raw.to_owned(),
            received_at,
        }
    }

    /// Its event id.
    pub fn id(&self) -> String {
        test_id(&self.name)
    }

    /// The normalised event intake would make of it.
    pub fn event(&self) -> NormalisedEvent {
        let mut hint = SourceHint::new(Format::Auto, self.received_at);
        hint.tenant_id = Some(self.tenant.clone());
        hint.sensor_id = Some("sensor-1".into());
        normalise(self.raw.as_bytes(), &hint).unwrap()
    }

    /// The bus record intake would publish for it, written with the envelope codec.
    pub fn record(&self) -> Record {
        let id = Uuid::parse_str(&self.id()).unwrap();
        Record {
            tenant_id: self.tenant.clone(),
            sensor_id: "sensor-1".into(),
            received_at: SystemTime::from(self.received_at),
            content_type: EVENT_CONTENT_TYPE.into(),
            payload: encode_event(id, &self.event()).unwrap(),
            id: None,
        }
    }
}

/// Test names by the ids made from them.
fn names() -> &'static Mutex<HashMap<String, String>> {
    static NAMES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    NAMES.get_or_init(Mutex::default)
}

/// The event id of the event a test calls `name`: a UUID made from the name (as intake's
/// ids are UUIDs), remembered so that [`name_of`] can say which event a hit is.
pub fn test_id(name: &str) -> String {
    // FNV-1a, 128 bits: stable across runs, distinct for distinct names.
    let hash = name
        .bytes()
        .fold(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d_u128, |h, b| {
            (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b)
        });
    let id = uuid::Builder::from_custom_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string();
    names().lock().unwrap().insert(id.clone(), name.to_owned());
    id
}

/// The test's name for the event with this id (the id itself if no test named it).
pub fn name_of(id: &str) -> String {
    names()
        .lock()
        .unwrap()
        .get(id)
        .cloned()
        .unwrap_or_else(|| id.to_owned())
}

/// A syslog line from `host` at `at` (RFC 5424, so the timestamp carries a zone).
pub fn syslog(at: OffsetDateTime, host: &str, app: &str, message: &str) -> String {
    let stamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!("<38>1 {stamp} {host} {app} 4242 - - {message}")
}

/// A Windows process-creation event (NXLog flat layout) at `at`.
pub fn windows_4688(at: OffsetDateTime, host: &str, image: &str, command_line: &str) -> String {
    let stamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    serde_json::json!({
        "EventTime": stamp,
        "Hostname": host,
        "EventID": 4688,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security",
        "NewProcessName": image,
        "CommandLine": command_line,
        "SubjectUserName": "alice",
    })
    .to_string()
}

/// A Suricata alert at `at` between two addresses.
pub fn suricata_alert(at: OffsetDateTime, src: &str, dest: &str, signature: &str) -> String {
    let stamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    serde_json::json!({
        "timestamp": stamp,
        "event_type": "alert",
        "src_ip": src,
        "src_port": 51000,
        "dest_ip": dest,
        "dest_port": 443,
        "proto": "TCP",
        "alert": {"signature_id": 2010935, "rev": 3, "signature": signature, "category": "Potentially Bad Traffic", "severity": 2},
    })
    .to_string()
}

/// A fresh embedded bus in `dir`.
pub async fn embedded_bus(dir: &Path) -> EmbeddedLog {
    let mut options = EmbeddedOptions::new(dir);
    options.segment_bytes = 256 * 1024;
    EmbeddedLog::open(options).await.unwrap()
}

/// The NATS server for tests, or None (skipped, or failed when required) when not configured.
pub fn nats_url() -> Option<String> {
    nigehban_testkit::nats_url()
}

/// A JetStream bus on a stream unique to this test, or None when no server is configured.
pub async fn jetstream_bus(test: &str) -> Option<AnyBus> {
    let url = nats_url()?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stream = format!("T_SEARCH_{test}_{}_{nanos:x}", std::process::id()).to_uppercase();
    let mut options = JetStreamOptions::new(url);
    options.subject = format!("test.{}", stream.to_lowercase());
    options.stream = stream;
    options.retention = RetentionPolicy::default();
    Some(AnyBus::open(BusLocation::JetStream(options)).await.unwrap())
}

/// Indexer settings that commit quickly, for tests.
pub fn quick_config() -> IndexerConfig {
    IndexerConfig {
        fetch_max: 200,
        commit_every: 500,
        commit_interval: Duration::from_millis(50),
        idle_wait: Duration::from_millis(50),
        ..IndexerConfig::default()
    }
}

/// Runs the real indexer on consumer `name` of `bus` until the consumer has no lag.
pub async fn drain<B: EventBus>(bus: &B, index: &EventIndex, name: &str, config: ConsumerConfig) {
    let consumer = bus.consumer(name, config).await.unwrap();
    let watcher = bus.clone();
    let watched = name.to_owned();
    let caught_up = async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while watcher.lag(&watched).await.unwrap() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "indexer did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    Indexer::new(index.clone(), quick_config())
        .run(consumer, caught_up)
        .await
        .unwrap();
}

/// Publishes `events` on a fresh embedded bus in `dir`, indexes them with the real indexer
/// into a fresh index in `dir`, and returns the index.
pub async fn index_events(dir: &Path, events: &[TestEvent]) -> EventIndex {
    let bus = embedded_bus(dir).await;
    publish(&bus, events).await;
    let index = EventIndex::open(dir, IndexOptions::default()).unwrap();
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    bus.close().await.unwrap();
    index
}

/// Publishes events in batches of 500; returns each event's bus offset.
pub async fn publish<B: EventBus>(bus: &B, events: &[TestEvent]) -> Vec<u64> {
    let mut offsets = Vec::with_capacity(events.len());
    for chunk in events.chunks(500) {
        let records: Vec<Record> = chunk.iter().map(TestEvent::record).collect();
        let ack = bus.publish(&records).await.unwrap();
        if ack.last_offset - ack.first_offset + 1 == records.len() as u64 {
            offsets.extend(ack.first_offset..=ack.last_offset);
        } else {
            // JetStream: other publishers may interleave; this harness publishes alone.
            panic!("non-contiguous offsets in a test bus");
        }
    }
    offsets
}

/// Every hit of `query` (streamed to the end).
pub fn all_hits(index: &EventIndex, query: &EventQuery) -> Vec<EventHit> {
    index
        .search(query)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The test names of every hit of `query`, in order.
pub fn ids(index: &EventIndex, query: &EventQuery) -> Vec<String> {
    all_hits(index, query)
        .into_iter()
        .map(|h| name_of(&h.id))
        .collect()
}

/// How often each event (by test name) occurs among every event of the scope.
pub fn id_counts(index: &EventIndex, scope: TenantScope) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let query = EventQuery::new(scope).limit(nigehban_search::MAX_LIMIT);
    for hit in index.search(&query).unwrap() {
        *counts.entry(name_of(&hit.unwrap().id)).or_insert(0) += 1;
    }
    counts
}
