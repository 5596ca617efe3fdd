//! The indexer on the real buses: idempotence under redelivery, rejected records, shutdown,
//! metrics.

use std::time::Duration;

use bytes::Bytes;
use nigehban_bus::{ConsumerConfig, EventBus, EventConsumer, Record};
use nigehban_normalise::envelope::EVENT_CONTENT_TYPE;
use nigehban_search::{EventIndex, IndexOptions, Indexer, IndexerConfig, TenantScope};

use crate::common::{
    BASE, TestEvent, drain, embedded_bus, id_counts, jetstream_bus, publish, syslog,
};

fn numbered(tenant: &str, prefix: &str, n: usize) -> Vec<TestEvent> {
    (0..n)
        .map(|i| {
            let at = BASE + time::Duration::milliseconds(i as i64 * 7);
            TestEvent::new(
                &format!("{prefix}-{i}"),
                tenant,
                &syslog(at, "gw", "sshd", &format!("attempt {i}")),
                at,
            )
        })
        .collect()
}

fn assert_each_once(index: &EventIndex, tenant: &str, events: &[TestEvent]) {
    let counts = id_counts(index, TenantScope::tenant(tenant));
    for event in events {
        assert_eq!(counts.get(&event.name), Some(&1), "{}", event.name);
    }
    assert_eq!(counts.len(), events.len(), "unexpected extra events");
}

/// Fetches everything on `consumer`, indexes and commits it, and does not acknowledge: as
/// if the process died between commit and acknowledgement.
async fn index_without_ack<C: EventConsumer>(index: &EventIndex, consumer: &mut C, total: usize) {
    let mut got = 0;
    while got < total {
        let batch = consumer.fetch(500, Duration::from_secs(2)).await.unwrap();
        assert!(!batch.is_empty(), "bus ran dry after {got} of {total}");
        got += batch.len();
        index.add_deliveries(&batch).unwrap();
    }
    index.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_after_a_restart_indexes_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let events = numbered("bank-01", "r", 1200);
    {
        let bus = embedded_bus(dir.path()).await;
        publish(&bus, &events).await;
        let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
        let mut consumer = bus
            .consumer("search", ConsumerConfig::default())
            .await
            .unwrap();
        index_without_ack(&index, &mut consumer, events.len()).await;
        assert_each_once(&index, "bank-01", &events);
        index.close().unwrap();
        drop(consumer);
        bus.close().await.unwrap();
    }
    // Restart: the bus delivers everything again.
    let bus = embedded_bus(dir.path()).await;
    assert_eq!(bus.lag("search").await.unwrap(), 1200);
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    assert_each_once(&index, "bank-01", &events);
    assert_eq!(index.metrics().documents, 1200);
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_after_the_ack_wait_indexes_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let events = numbered("bank-01", "w", 400);
    let bus = embedded_bus(dir.path()).await;
    publish(&bus, &events).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let config = ConsumerConfig {
        ack_wait: Duration::from_millis(200),
        ..ConsumerConfig::default()
    };
    let mut consumer = bus.consumer("search", config).await.unwrap();
    index_without_ack(&index, &mut consumer, events.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same member gets the same deliveries again, now counted as redeliveries.
    let again = consumer.fetch(1000, Duration::from_secs(2)).await.unwrap();
    assert!(again.iter().all(|d| d.delivery_count >= 2));
    index.add_deliveries(&again).unwrap();
    drop(consumer);
    drain(&bus, &index, "search", config).await;
    assert_each_once(&index, "bank-01", &events);
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_published_twice_is_indexed_once() {
    let dir = tempfile::tempdir().unwrap();
    let events = numbered("bank-01", "d", 50);
    let bus = embedded_bus(dir.path()).await;
    publish(&bus, &events).await;
    publish(&bus, &events).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    assert_each_once(&index, "bank-01", &events);
    // The second copy is the one kept, and it is the same event.
    assert_eq!(index.metrics().indexed, 100);
    bus.close().await.unwrap();
}

fn raw_record(tenant: &str, content_type: &str, payload: &[u8]) -> Record {
    Record {
        tenant_id: tenant.into(),
        sensor_id: "sensor-1".into(),
        received_at: std::time::SystemTime::from(BASE),
        content_type: content_type.into(),
        payload: Bytes::copy_from_slice(payload),
        id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_are_not_events_are_counted_acknowledged_and_never_block() {
    let dir = tempfile::tempdir().unwrap();
    let bus = embedded_bus(dir.path()).await;
    let good = numbered("bank-01", "g", 10);
    let mut records: Vec<Record> = good[..5].iter().map(TestEvent::record).collect();
    records.push(raw_record("bank-01", "text/plain", b"<13>hello"));
    records.push(raw_record("bank-01", EVENT_CONTENT_TYPE, b"{not json"));
    records.push(raw_record("bank-01", EVENT_CONTENT_TYPE, b"[1,2,3]"));
    // An event stamped for another tenant than the record it rides in.
    records.push(TestEvent::new("spoof", "telco-02", &syslog(BASE, "h", "a", "m"), BASE).record());
    let mut spoofed = records.last().unwrap().clone();
    spoofed.tenant_id = "bank-01".into();
    *records.last_mut().unwrap() = spoofed;
    // An unusable id, and an event serialised without the envelope codec (no id).
    let mut bad_id = good[0].record();
    let mut json: serde_json::Value = serde_json::from_slice(&bad_id.payload).unwrap();
    json["id"] = serde_json::Value::String("a\nb".into());
    bad_id.payload = Bytes::from(serde_json::to_vec(&json).unwrap());
    records.push(bad_id);
    let mut no_id = good[0].record();
    no_id.payload = Bytes::from(serde_json::to_vec(&good[0].event()).unwrap());
    records.push(no_id);
    records.extend(good[5..].iter().map(TestEvent::record));
    bus.publish(&records).await.unwrap();

    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    assert_eq!(
        bus.lag("search").await.unwrap(),
        0,
        "rejected records were acknowledged"
    );
    assert_each_once(&index, "bank-01", &good);
    assert!(id_counts(&index, TenantScope::tenant("telco-02")).is_empty());
    let metrics = index.metrics();
    assert_eq!(metrics.rejected, 6);
    let by = |label: &str| {
        metrics
            .rejected_by_reason
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, n)| *n)
    };
    assert_eq!(by("content_type"), Some(1));
    assert_eq!(by("not_an_event"), Some(2));
    assert_eq!(by("tenant_mismatch"), Some(1));
    assert_eq!(by("bad_id"), Some(2));
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_and_acknowledges_what_the_indexer_holds() {
    let dir = tempfile::tempdir().unwrap();
    let bus = embedded_bus(dir.path()).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let events = numbered("bank-01", "s", 120);
    publish(&bus, &events).await;
    let consumer = bus
        .consumer("search", ConsumerConfig::default())
        .await
        .unwrap();
    // Nothing would be committed before shutdown: large batches, a long interval.
    let config = IndexerConfig {
        commit_every: 10_000,
        commit_interval: Duration::from_secs(3600),
        idle_wait: Duration::from_millis(20),
        ..IndexerConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(
        Indexer::new(index.clone(), config).run(consumer, async move {
            let _ = stopped.await;
        }),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while index.metrics().indexed < 120 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Written, not committed: not searchable and not acknowledged yet.
    assert_eq!(index.metrics().documents, 0);
    assert_eq!(bus.lag("search").await.unwrap(), 120);
    stop.send(()).unwrap();
    let report = task.await.unwrap().unwrap();
    assert_eq!(report.indexed, 120);
    assert_eq!(report.acknowledged, 120);
    assert_eq!(report.commits, 1);
    assert_eq!(bus.lag("search").await.unwrap(), 0);
    assert_each_once(&index, "bank-01", &events);
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_indexed_and_committed() {
    let dir = tempfile::tempdir().unwrap();
    let bus = embedded_bus(dir.path()).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let before = index.metrics();
    assert_eq!(
        (before.indexed, before.documents, before.commits),
        (0, 0, 0)
    );
    publish(&bus, &numbered("bank-01", "m", 700)).await;
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    let after = index.metrics();
    assert_eq!(after.indexed, 700);
    assert_eq!(after.documents, 700);
    assert!(
        after.commits >= 2,
        "700 events at 500 per commit: {}",
        after.commits
    );
    assert!(after.commit_seconds_total > 0.0);
    assert!(after.commit_seconds_max >= after.commit_seconds_last);
    assert!(after.index_bytes > 10_000, "{}", after.index_bytes);
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_cannot_open_the_index_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    assert!(matches!(
        EventIndex::open(dir.path(), IndexOptions::default()),
        Err(nigehban_search::SearchError::Locked { .. })
    ));
    index.close().unwrap();
    drop(index);
    EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_redelivery_indexes_each_event_once() {
    let Some(bus) = jetstream_bus("redeliver").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = numbered("bank-01", "js", 600);
    publish(&bus, &events).await;
    publish(&bus, &events[..100]).await; // the same events again, as new records
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let config = ConsumerConfig {
        ack_wait: Duration::from_secs(1),
        ..ConsumerConfig::default()
    };
    let mut consumer = bus.consumer("search", config).await.unwrap();
    index_without_ack(&index, &mut consumer, 700).await;
    drop(consumer);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    drain(&bus, &index, "search", config).await;
    assert_each_once(&index, "bank-01", &events);
    let _ = bus.delete_consumer("search").await;
}

/// Deliveries of `events` at offsets from `first`, without a bus.
fn deliveries(events: &[TestEvent], first: u64) -> Vec<nigehban_bus::Delivery> {
    events
        .iter()
        .zip(first..)
        .map(|(event, offset)| nigehban_bus::Delivery {
            offset,
            appended_at: std::time::SystemTime::UNIX_EPOCH,
            delivery_count: 1,
            record: event.record(),
        })
        .collect()
}

/// Every way an event can already be in the index when it comes again: in the same batch,
/// written but not committed, committed in this process, and committed before a restart;
/// and another tenant's event with the same id is not one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_written_again_replaces_its_copy_wherever_the_copy_is() {
    let dir = tempfile::tempdir().unwrap();
    let events = numbered("bank-01", "again", 40);
    let (a, b) = events.split_at(20);
    {
        let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
        // The same batch holds each event of `a` twice.
        let mut twice = deliveries(a, 0);
        twice.extend(deliveries(a, 100));
        index.add_deliveries(&twice).unwrap();
        // Written, not committed, and written again.
        index.add_deliveries(&deliveries(b, 20)).unwrap();
        index.add_deliveries(&deliveries(b, 200)).unwrap();
        index.commit().unwrap();
        assert_each_once(&index, "bank-01", &events);
        // Committed, and written again in the same process (split over two commits).
        index.add_deliveries(&deliveries(&events, 300)).unwrap();
        index.commit().unwrap();
        index.add_deliveries(&deliveries(a, 400)).unwrap();
        index.commit().unwrap();
        assert_each_once(&index, "bank-01", &events);
        assert_eq!(index.metrics().documents, 40);
        index.close().unwrap();
    }
    // After a restart the committed copies are found on disk.
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    index.add_deliveries(&deliveries(&events, 500)).unwrap();
    index.commit().unwrap();
    assert_each_once(&index, "bank-01", &events);
    // The same ids from another tenant are other events.
    let theirs: Vec<TestEvent> = events
        .iter()
        .map(|e| TestEvent {
            tenant: "telco-01".into(),
            ..e.clone()
        })
        .collect();
    index.add_deliveries(&deliveries(&theirs, 600)).unwrap();
    index.commit().unwrap();
    assert_each_once(&index, "bank-01", &events);
    assert_each_once(&index, "telco-01", &theirs);
    assert_eq!(index.metrics().documents, 80);
}

/// The index directory carries its schema version: an index of an earlier schema is never
/// read, and `exists` tells the caller that a new one (to fill from the bus) is coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_an_earlier_schema_is_not_read_and_a_new_one_is_made() {
    let dir = tempfile::tempdir().unwrap();
    // What the previous version left: `search/events-v2` with its files.
    let earlier = dir.path().join("search/events-v2");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("meta.json"), b"{\"not\":\"this schema\"}").unwrap();
    assert!(!EventIndex::exists(dir.path()).unwrap());
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    assert!(
        index.path().ends_with("search/events-v4"),
        "{:?}",
        index.path()
    );
    assert_eq!(index.metrics().documents, 0);
    assert!(EventIndex::exists(dir.path()).unwrap());
    // The earlier index is left as it was, for the operator to remove.
    assert!(earlier.join("meta.json").is_file());
    index.close().unwrap();
}
