//! The conformance suite: every test runs against the embedded log and against
//! JetStream. A backend is supported exactly when this suite passes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nigehban_bus::{
    BusError, ConsumerConfig, EventBus, EventConsumer, Record, RecordError, RetentionPolicy,
    StartAt,
};

use crate::common::{Harness, TEST_SEGMENT_BYTES, fetch_n, publish_tagged, record, tag_of};

/// Runs each listed scenario once per backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = crate::common::Harness::embedded();
                    super::$name(&harness).await;
                }
            )*
        }
        mod jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(harness) = crate::common::Harness::jetstream(stringify!($name)) else {
                        return;
                    };
                    super::$name(&harness).await;
                    harness.cleanup().await;
                }
            )*
        }
    };
}

conformance!(
    publish_fetch_ack_in_order,
    unacknowledged_records_are_redelivered,
    committed_offsets_survive_reopen,
    members_sharing_a_name_get_each_record_once,
    retention_by_size_keeps_the_newest,
    retention_by_age_deletes_old_records,
    lag_counts_unacknowledged_records,
    bad_records_and_names_are_refused,
    a_consumer_can_start_at_the_latest_record,
    deliveries_in_flight_are_bounded,
    a_retried_publish_is_stored_once,
);

fn short_ack_wait() -> ConsumerConfig {
    ConsumerConfig {
        ack_wait: Duration::from_secs(2),
        ..ConsumerConfig::default()
    }
}

async fn publish_fetch_ack_in_order(h: &Harness) {
    let bus = h.open().await;
    let batches = [10usize, 1, 5];
    let mut published = Vec::new();
    let mut last = 0;
    for (b, n) in batches.iter().enumerate() {
        let records: Vec<_> = (0..*n)
            .map(|i| record(&format!("b{b}r{i}"), 100 + i))
            .collect();
        let ack = bus.publish(&records).await.unwrap();
        assert_eq!(ack.records, *n as u64);
        assert!(
            ack.first_offset > last,
            "offsets increase: {ack:?} after {last}"
        );
        assert!(ack.last_offset >= ack.first_offset + *n as u64 - 1);
        last = ack.last_offset;
        published.extend(records);
    }
    let mut consumer = bus
        .consumer("detect", ConsumerConfig::default())
        .await
        .unwrap();
    assert_eq!(consumer.name(), "detect");
    let got = fetch_n(&mut consumer, published.len(), Duration::from_secs(10)).await;
    assert_eq!(got.len(), published.len());
    for window in got.windows(2) {
        assert!(
            window[0].offset < window[1].offset,
            "delivered in offset order"
        );
    }
    for (delivery, record) in got.iter().zip(&published) {
        assert_eq!(
            &delivery.record, record,
            "headers and payload come back intact"
        );
        assert_eq!(delivery.delivery_count, 1);
    }
    let offsets: Vec<u64> = got.iter().map(|d| d.offset).collect();
    consumer.ack(&offsets).await.unwrap();
    // Acknowledging again is harmless on both backends only for offsets still held; here
    // nothing more is delivered.
    let more = consumer
        .fetch(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        more.is_empty(),
        "nothing left after acking everything: {more:?}"
    );
    assert_eq!(bus.lag("detect").await.unwrap(), 0);
    bus.close().await.unwrap();
}

async fn unacknowledged_records_are_redelivered(h: &Harness) {
    let bus = h.open().await;
    let tags = publish_tagged(&bus, "r", 5, 5, 64).await;
    let mut consumer = bus.consumer("redeliver", short_ack_wait()).await.unwrap();
    let first = fetch_n(&mut consumer, 5, Duration::from_secs(10)).await;
    assert_eq!(first.len(), 5);
    consumer
        .ack(&[first[0].offset, first[3].offset])
        .await
        .unwrap();
    // Nothing comes back before the ack wait is over.
    let early = consumer
        .fetch(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(early.is_empty(), "redelivered too early: {early:?}");
    let again = fetch_n(&mut consumer, 3, Duration::from_secs(10)).await;
    let again_offsets: BTreeSet<u64> = again.iter().map(|d| d.offset).collect();
    let expected: BTreeSet<u64> = [first[1].offset, first[2].offset, first[4].offset].into();
    assert_eq!(
        again_offsets, expected,
        "exactly the unacknowledged ones come back"
    );
    assert!(again.iter().all(|d| d.delivery_count == 2), "{again:?}");
    assert_eq!(tag_of(&again[0]), tags[1]);
    consumer
        .ack(&again.iter().map(|d| d.offset).collect::<Vec<_>>())
        .await
        .unwrap();
    let after = consumer
        .fetch(10, Duration::from_millis(1500))
        .await
        .unwrap();
    assert!(
        after.is_empty(),
        "acknowledged records came back: {after:?}"
    );
    bus.close().await.unwrap();
}

async fn committed_offsets_survive_reopen(h: &Harness) {
    let bus = h.open().await;
    publish_tagged(&bus, "c", 10, 4, 80).await;
    let mut consumer = bus.consumer("search", short_ack_wait()).await.unwrap();
    let got = fetch_n(&mut consumer, 10, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 10);
    let acked: Vec<u64> = got[..6].iter().map(|d| d.offset).collect();
    consumer.ack(&acked).await.unwrap();
    drop(consumer);
    bus.close().await.unwrap();
    drop(bus);

    let bus = h.open().await;
    assert_eq!(bus.lag("search").await.unwrap(), 4);
    let mut consumer = bus.consumer("search", short_ack_wait()).await.unwrap();
    let rest = fetch_n(&mut consumer, 4, Duration::from_secs(10)).await;
    let rest_offsets: BTreeSet<u64> = rest.iter().map(|d| d.offset).collect();
    let expected: BTreeSet<u64> = got[6..].iter().map(|d| d.offset).collect();
    assert_eq!(
        rest_offsets, expected,
        "only the unacknowledged records come back"
    );
    consumer
        .ack(&rest.iter().map(|d| d.offset).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(bus.lag("search").await.unwrap(), 0);
    bus.close().await.unwrap();
}

async fn members_sharing_a_name_get_each_record_once(h: &Harness) {
    let bus = h.open().await;
    const PUBLISHERS: usize = 4;
    const PER_PUBLISHER: usize = 150;
    const TOTAL: usize = PUBLISHERS * PER_PUBLISHER;
    // Members join first, so they compete for records as they arrive.
    let processed = Arc::new(AtomicUsize::new(0));
    let mut members = Vec::new();
    for m in 0..3 {
        let mut consumer = bus
            .consumer("workers", ConsumerConfig::default())
            .await
            .unwrap();
        let processed = processed.clone();
        members.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while processed.load(Ordering::SeqCst) < TOTAL && tokio::time::Instant::now() < deadline
            {
                let batch = consumer
                    .fetch(17 + m, Duration::from_millis(200))
                    .await
                    .unwrap();
                let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
                if !offsets.is_empty() {
                    consumer.ack(&offsets).await.unwrap();
                    processed.fetch_add(batch.len(), Ordering::SeqCst);
                }
                mine.extend(batch.iter().map(tag_of));
            }
            mine
        }));
    }
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let bus = bus.clone();
        publishers.push(tokio::spawn(async move {
            publish_tagged(&bus, &format!("p{p}-"), PER_PUBLISHER, 25, 200).await
        }));
    }
    let mut expected = BTreeSet::new();
    for p in publishers {
        expected.extend(p.await.unwrap());
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut per_member = Vec::new();
    for m in members {
        let mine = m.await.unwrap();
        per_member.push(mine.len());
        for tag in mine {
            *seen.entry(tag).or_default() += 1;
        }
    }
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "processed twice: {duplicated:?}");
    let seen: BTreeSet<String> = seen.into_keys().collect();
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "never processed: {missing:?}");
    assert_eq!(seen.len(), TOTAL);
    println!("records per member: {per_member:?}");
    assert_eq!(bus.lag("workers").await.unwrap(), 0);
    bus.close().await.unwrap();
}

async fn retention_by_size_keeps_the_newest(h: &Harness) {
    let max_bytes = 64 * 1024;
    let bus = h
        .open_with(RetentionPolicy {
            max_age: None,
            max_bytes: Some(max_bytes),
        })
        .await;
    let tags = publish_tagged(&bus, "s", 300, 10, 1000).await;
    // Retention acts on its own; enforce_retention makes the embedded log act now.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        bus.enforce_retention().await.unwrap();
        let metrics = bus.metrics().await.unwrap();
        if metrics.stored_bytes <= max_bytes + TEST_SEGMENT_BYTES {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {metrics:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bounds = bus.bounds().await.unwrap();
    let metrics = bus.metrics().await.unwrap();
    assert_eq!(metrics.stored_records, bounds.next - bounds.oldest);
    assert!(bounds.oldest > 1, "old records deleted: {bounds:?}");
    assert!(
        metrics.stored_records >= 40,
        "recent records kept: {metrics:?}"
    );
    // What is left is intact and ends with the newest record.
    let mut consumer = bus
        .consumer("after-size", ConsumerConfig::default())
        .await
        .unwrap();
    let kept = fetch_n(
        &mut consumer,
        metrics.stored_records as usize,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(kept.len() as u64, metrics.stored_records);
    assert_eq!(kept.first().unwrap().offset, bounds.oldest);
    assert_eq!(tag_of(kept.last().unwrap()), *tags.last().unwrap());
    bus.close().await.unwrap();
}

async fn retention_by_age_deletes_old_records(h: &Harness) {
    let bus = h
        .open_with(RetentionPolicy {
            max_age: Some(Duration::from_secs(1)),
            max_bytes: None,
        })
        .await;
    publish_tagged(&bus, "old", 30, 10, 300).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh = bus
        .publish(&[record("new0", 300), record("new1", 300)])
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        bus.enforce_retention().await.unwrap();
        let bounds = bus.bounds().await.unwrap();
        if bounds.oldest == fresh.first_offset {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "old records kept: {bounds:?}, fresh {fresh:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut consumer = bus
        .consumer("after-age", ConsumerConfig::default())
        .await
        .unwrap();
    let kept = fetch_n(&mut consumer, 2, Duration::from_secs(5)).await;
    assert_eq!(
        kept.iter().map(tag_of).collect::<Vec<_>>(),
        ["new0", "new1"]
    );
    bus.close().await.unwrap();
}

async fn lag_counts_unacknowledged_records(h: &Harness) {
    let bus = h.open().await;
    let mut consumer = bus
        .consumer("lagging", ConsumerConfig::default())
        .await
        .unwrap();
    assert_eq!(bus.lag("lagging").await.unwrap(), 0);
    publish_tagged(&bus, "l", 30, 7, 120).await;
    assert_eq!(bus.lag("lagging").await.unwrap(), 30);
    let got = fetch_n(&mut consumer, 10, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 10);
    assert_eq!(
        bus.lag("lagging").await.unwrap(),
        30,
        "delivered but unacknowledged still lags"
    );
    consumer
        .ack(&got.iter().map(|d| d.offset).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(bus.lag("lagging").await.unwrap(), 20);
    let metrics = bus.metrics().await.unwrap();
    assert_eq!(metrics.appended_records, 30);
    assert_eq!(metrics.appended_bytes, 30 * 120);
    assert!(metrics.durable_writes >= 1);
    assert_eq!(metrics.stored_records, 30);
    let lagging = metrics
        .consumers
        .iter()
        .find(|c| c.name == "lagging")
        .unwrap();
    assert_eq!(lagging.lag, 20);
    assert_eq!(lagging.in_flight, 0);
    assert!(matches!(
        bus.lag("nobody").await,
        Err(BusError::UnknownConsumer(name)) if name == "nobody"
    ));
    bus.delete_consumer("lagging").await.unwrap();
    assert!(matches!(
        bus.lag("lagging").await,
        Err(BusError::UnknownConsumer(_))
    ));
    bus.close().await.unwrap();
}

async fn bad_records_and_names_are_refused(h: &Harness) {
    let bus = h.open().await;
    let before = bus.bounds().await.unwrap();
    assert!(matches!(bus.publish(&[]).await, Err(BusError::EmptyBatch)));

    let mut no_tenant = record("x", 10);
    no_tenant.tenant_id.clear();
    let err = bus
        .publish(&[record("a", 10), record("b", 10), no_tenant])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BusError::InvalidRecord {
                index: 2,
                reason: RecordError::EmptyField { field: "tenant_id" }
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("record 2"), "{err}");

    let huge = record("huge", nigehban_bus::DEFAULT_MAX_PAYLOAD_BYTES + 1);
    let err = bus.publish(&[huge]).await.unwrap_err();
    assert!(
        matches!(
            err,
            BusError::InvalidRecord {
                index: 0,
                reason: RecordError::PayloadTooLarge { .. }
            }
        ),
        "{err}"
    );

    let mut newline = record("n", 10);
    newline.sensor_id = "fw\r\nInjected: 1".into();
    assert!(matches!(
        bus.publish(&[newline]).await,
        Err(BusError::InvalidRecord {
            reason: RecordError::ControlCharacter { field: "sensor_id" },
            ..
        })
    ));

    assert_eq!(
        bus.bounds().await.unwrap(),
        before,
        "a refused batch stores nothing"
    );

    for bad in ["", "a.b", "has space", "star*", &"x".repeat(65)] {
        assert!(
            matches!(
                bus.consumer(bad, ConsumerConfig::default()).await,
                Err(BusError::InvalidConsumerName { .. })
            ),
            "{bad:?} accepted"
        );
    }
    let mut consumer = bus
        .consumer("strict", ConsumerConfig::default())
        .await
        .unwrap();
    assert!(matches!(
        consumer.ack(&[before.next + 1000]).await,
        Err(BusError::NotDelivered { offset, .. }) if offset == before.next + 1000
    ));
    bus.close().await.unwrap();
}

async fn a_consumer_can_start_at_the_latest_record(h: &Harness) {
    let bus = h.open().await;
    publish_tagged(&bus, "before", 3, 3, 50).await;
    let config = ConsumerConfig {
        start_at: StartAt::Latest,
        ..ConsumerConfig::default()
    };
    let mut consumer = bus.consumer("tail", config).await.unwrap();
    publish_tagged(&bus, "after", 2, 2, 50).await;
    let got = fetch_n(&mut consumer, 2, Duration::from_secs(5)).await;
    assert_eq!(
        got.iter().map(tag_of).collect::<Vec<_>>(),
        ["after0", "after1"]
    );
    let none = consumer.fetch(5, Duration::from_millis(200)).await.unwrap();
    assert!(none.is_empty());
    bus.close().await.unwrap();
}

async fn deliveries_in_flight_are_bounded(h: &Harness) {
    let bus = h.open().await;
    publish_tagged(&bus, "f", 12, 12, 60).await;
    let config = ConsumerConfig {
        max_in_flight: 5,
        ..ConsumerConfig::default()
    };
    let mut consumer = bus.consumer("bounded", config).await.unwrap();
    let first = fetch_n(&mut consumer, 5, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 5);
    let blocked = consumer
        .fetch(10, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        blocked.is_empty(),
        "more than max_in_flight outstanding: {blocked:?}"
    );
    consumer
        .ack(&first.iter().map(|d| d.offset).collect::<Vec<_>>())
        .await
        .unwrap();
    let second = fetch_n(&mut consumer, 5, Duration::from_secs(5)).await;
    assert_eq!(second.len(), 5);
    assert!(second[0].offset > first[4].offset);
    bus.close().await.unwrap();
}

/// A record with an id, as intake publishes them (the id is the event id).
fn identified(tag: &str) -> Record {
    record(tag, 80).with_id(format!("event-{tag}"))
}

async fn a_retried_publish_is_stored_once(h: &Harness) {
    let bus = h.open().await;
    let batch: Vec<Record> = (0..5).map(|i| identified(&format!("d{i}"))).collect();
    let first = bus.publish(&batch).await.unwrap();
    assert_eq!(first.records, 5);
    // The same batch again, as after a lost acknowledgement: stored once, and
    // answered with the offsets of the copies already stored.
    let again = bus.publish(&batch).await.unwrap();
    assert_eq!(again, first, "a re-sent batch is answered as the first was");
    // A batch of copies and new records, one new record twice: the new ones are stored once.
    let mixed = ["d1", "d5", "d3", "d6", "d6"].map(identified);
    let ack = bus.publish(&mixed).await.unwrap();
    assert_eq!(
        ack.records, 5,
        "every record of the batch is durable: {ack:?}"
    );
    assert!(ack.first_offset <= first.last_offset && ack.last_offset > first.last_offset);
    // A publish its caller gave up on (a request that timed out) and then sent again.
    let abandoned = ["d7", "d8"].map(identified);
    let _ = tokio::time::timeout(Duration::from_micros(1), bus.publish(&abandoned)).await;
    bus.publish(&abandoned).await.unwrap();
    // A record without an id is never taken for a copy: the same content twice is stored twice.
    let plain = [record("plain", 80)];
    bus.publish(&plain).await.unwrap();
    bus.publish(&plain).await.unwrap();
    // An empty id is refused, like any other bad header.
    assert!(matches!(
        bus.publish(&[record("x", 80).with_id("")]).await,
        Err(BusError::InvalidRecord {
            index: 0,
            reason: RecordError::EmptyField { field: "id" }
        })
    ));

    let mut consumer = bus
        .consumer("retried", ConsumerConfig::default())
        .await
        .unwrap();
    let got = fetch_n(&mut consumer, 20, Duration::from_secs(3)).await;
    let mut stored: HashMap<String, usize> = HashMap::new();
    for delivery in &got {
        *stored.entry(tag_of(delivery)).or_default() += 1;
        assert_eq!(delivery.record.id, None, "ids are not delivered");
    }
    let expected: HashMap<String, usize> = (0..9)
        .map(|i| (format!("d{i}"), 1))
        .chain([("plain".to_owned(), 2)])
        .collect();
    assert_eq!(stored, expected, "what the bus holds");
    assert_eq!(got.len(), 11);
    bus.close().await.unwrap();
}
