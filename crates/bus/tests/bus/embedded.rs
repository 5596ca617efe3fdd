//! Behaviour specific to the embedded log: recovery, locking, segment reads, retention reports.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nigehban_bus::{
    BusError, ConsumerConfig, EmbeddedLog, EmbeddedOptions, EventBus, EventConsumer,
    RetentionPolicy,
};

use crate::common::{fetch_n, publish_tagged, record, tag_of};

fn options(dir: &Path) -> EmbeddedOptions {
    let mut options = EmbeddedOptions::new(dir);
    options.segment_bytes = 4096;
    options
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir.join("bus/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_truncated_and_appending_continues() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    let tags = publish_tagged(&log, "t", 20, 5, 150).await;
    log.close().await.unwrap();
    drop(log);

    let last = segments(dir.path()).pop().unwrap();
    let good_len = fs::metadata(&last).unwrap().len();
    // What a kill -9 during a group write leaves: a frame prefix promising more than was written.
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&500u32.to_le_bytes()).unwrap();
    file.write_all(&[0xAB; 4]).unwrap();
    file.write_all(&[7u8; 100]).unwrap();
    drop(file);

    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    assert_eq!(
        fs::metadata(&last).unwrap().len(),
        good_len,
        "torn tail truncated"
    );
    let bounds = log.bounds().await.unwrap();
    assert_eq!(bounds.next, 21);
    let more = publish_tagged(&log, "u", 3, 3, 150).await;
    let all = log.read(1, 100).await.unwrap();
    let got: Vec<String> = all.iter().map(tag_of).collect();
    let expected: Vec<String> = tags.into_iter().chain(more).collect();
    assert_eq!(got, expected);
    assert_eq!(all.last().unwrap().offset, 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zeroed_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    publish_tagged(&log, "z", 3, 3, 100).await;
    drop(log);
    let last = segments(dir.path()).pop().unwrap();
    let mut file = OpenOptions::new().append(true).open(&last).unwrap();
    file.write_all(&[0u8; 4096]).unwrap();
    drop(file);
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    assert_eq!(log.bounds().await.unwrap().next, 4);
    assert_eq!(log.read(1, 10).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    let err = EmbeddedLog::open(options(dir.path())).await.unwrap_err();
    assert!(matches!(err, BusError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(log);
    EmbeddedLog::open(options(dir.path())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_read_across_many_segments_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    let tags = publish_tagged(&log, "m", 200, 7, 500).await;
    drop(log);
    assert!(segments(dir.path()).len() > 10, "small segments rolled");
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    let mut consumer = log
        .consumer("replay", ConsumerConfig::default())
        .await
        .unwrap();
    let got = fetch_n(&mut consumer, 200, Duration::from_secs(10)).await;
    assert_eq!(got.iter().map(tag_of).collect::<Vec<_>>(), tags);
    // A single record in the middle of a sealed segment can be read on its own.
    let one = log.read(137, 1).await.unwrap();
    assert_eq!(tag_of(&one[0]), "m136");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_reports_records_a_lagging_consumer_missed() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.retention = RetentionPolicy {
        max_age: None,
        max_bytes: Some(16 * 1024),
    };
    let log = EmbeddedLog::open(opts.clone()).await.unwrap();
    let mut slow = log
        .consumer("slow", ConsumerConfig::default())
        .await
        .unwrap();
    publish_tagged(&log, "k", 100, 5, 500).await;
    // Retention also runs on its own after each segment roll; this pass finishes the job.
    log.enforce_retention().await.unwrap();
    let again = log.enforce_retention().await.unwrap();
    assert_eq!(
        again.deleted_records, 0,
        "a second pass finds nothing more: {again:?}"
    );

    let oldest = log.bounds().await.unwrap().oldest;
    assert!(oldest > 50, "old segments deleted, oldest {oldest}");
    let metrics = log.metrics().await.unwrap();
    assert!(metrics.stored_bytes <= 16 * 1024 + 4096, "{metrics:?}");
    let slow_metrics = metrics.consumers.iter().find(|c| c.name == "slow").unwrap();
    assert_eq!(slow_metrics.skipped, oldest - 1, "{metrics:?}");
    assert_eq!(slow_metrics.lag, 101 - oldest);
    // The slow consumer resumes at the oldest retained record.
    let next = slow.fetch(1, Duration::from_secs(1)).await.unwrap();
    assert_eq!(next[0].offset, oldest);
    drop(slow);
    // Closing joins the writer, waits for a retention pass in flight (the last
    // segment roll may have started one) and lets the directory's lock go: it
    // reopens at once, even while this handle is still alive.
    log.close().await.unwrap();
    // Its committed offset moved past the deleted records durably.
    let log = EmbeddedLog::open(opts.clone()).await.unwrap();
    assert_eq!(log.lag("slow").await.unwrap(), 101 - oldest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_get_disjoint_contiguous_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    let mut tasks = Vec::new();
    for p in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for b in 0..20 {
                let records: Vec<_> = (0..1 + (p + b) % 5)
                    .map(|i| crate::common::record(&format!("p{p}b{b}i{i}"), 120))
                    .collect();
                let ack = log.publish(&records).await.unwrap();
                assert_eq!(ack.last_offset - ack.first_offset + 1, records.len() as u64);
                acks.push((ack, records));
            }
            acks
        }));
    }
    let mut covered = std::collections::BTreeMap::new();
    for task in tasks {
        for (ack, records) in task.await.unwrap() {
            for (i, record) in records.into_iter().enumerate() {
                assert!(
                    covered
                        .insert(ack.first_offset + i as u64, record)
                        .is_none()
                );
            }
        }
    }
    let total = covered.len() as u64;
    assert_eq!(
        covered.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    let stored = log.read(1, total as usize).await.unwrap();
    for delivery in stored {
        assert_eq!(&delivery.record, &covered[&delivery.offset]);
    }
    let metrics = log.metrics().await.unwrap();
    assert_eq!(metrics.appended_records, total);
    assert!(metrics.durable_writes <= 160, "{metrics:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_after_close_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(dir.path())).await.unwrap();
    publish_tagged(&log, "c", 2, 2, 50).await;
    log.close().await.unwrap();
    let err = log
        .publish(&[crate::common::record("late", 50)])
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Closed), "{err}");
    // What was acknowledged before closing is still readable.
    assert_eq!(log.read(1, 10).await.unwrap().len(), 2);
}

/// The embedded log recognises a re-sent copy by its id in memory, within its
/// duplicate window and while the process that owns the log runs: a copy sent
/// after the window, or after a restart, is stored again (consumers recognise
/// events by their event id in any case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_recognised_within_the_window_and_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.duplicate_window = Duration::from_millis(300);
    let copy = [record("w0", 64).with_id("event-w0")];
    let log = EmbeddedLog::open(options.clone()).await.unwrap();
    let first = log.publish(&copy).await.unwrap();
    assert_eq!(
        log.publish(&copy).await.unwrap(),
        first,
        "within the window"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after_window = log.publish(&copy).await.unwrap();
    assert_eq!(after_window.first_offset, first.first_offset + 1);
    log.close().await.unwrap();
    drop(log);

    let log = EmbeddedLog::open(options).await.unwrap();
    let after_restart = log.publish(&copy).await.unwrap();
    assert_eq!(after_restart.first_offset, first.first_offset + 2);
    let mut consumer = log
        .consumer("copies", ConsumerConfig::default())
        .await
        .unwrap();
    let got = fetch_n(&mut consumer, 10, Duration::from_secs(1)).await;
    assert_eq!(got.iter().map(tag_of).collect::<Vec<_>>(), ["w0"; 3]);
    log.close().await.unwrap();
}
