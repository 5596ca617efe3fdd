//! `EmbeddedSnapshot`: a copy of a log that its owner keeps writing, for backups. The copy
//! opens as a log without repair and holds every record acknowledged before it began.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use nigehban_bus::{
    ConsumerConfig, EmbeddedLog, EmbeddedOptions, EmbeddedSnapshot, EventBus, EventConsumer,
};

use crate::common::{record, tag_of};

fn options(dir: &Path) -> EmbeddedOptions {
    let mut options = EmbeddedOptions::new(dir);
    options.segment_bytes = 64 * 1024;
    options
}

/// Writes a snapshot's files under `into`, as a restore would.
fn copy_into(snapshot: EmbeddedSnapshot, into: &Path) {
    for file in snapshot.files {
        let target = into.join(&file.path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        let len = file.len;
        let mut reader = file.into_reader();
        let mut out = fs::File::create(&target).unwrap();
        let copied = std::io::copy(&mut reader, &mut out).unwrap();
        assert_eq!(copied, len, "{}", target.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_while_publishers_write_holds_every_acknowledged_record() {
    let source = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(source.path())).await.unwrap();
    // A consumer that acknowledged part of the log: its offset travels with the copy.
    log.publish(
        &(0..50)
            .map(|i| record(&format!("pre{i}"), 200))
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    let mut consumer = log
        .consumer("detect", ConsumerConfig::default())
        .await
        .unwrap();
    let got = consumer.fetch(30, Duration::from_secs(2)).await.unwrap();
    consumer
        .ack(&got.iter().map(|d| d.offset).collect::<Vec<_>>())
        .await
        .unwrap();

    // Publishers keep writing (and rolling segments) while the snapshot is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let acked_end = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..2 {
        let (log, stop, acked_end) = (log.clone(), stop.clone(), acked_end.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<_> = (0..20)
                    .map(|i| record(&format!("w{w}-{n}-{i}"), 300))
                    .collect();
                let ack = log.publish(&batch).await.unwrap();
                acked_end.fetch_max(ack.last_offset + 1, Ordering::SeqCst);
                n += 1;
            }
        }));
    }
    while acked_end.load(Ordering::SeqCst) < 2_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Every offset below this was acknowledged before the snapshot began.
    let acknowledged_before = acked_end.load(Ordering::SeqCst);
    let source_dir = source.path().to_owned();
    let snapshot = tokio::task::spawn_blocking(move || EmbeddedSnapshot::take(&source_dir))
        .await
        .unwrap()
        .unwrap()
        .expect("a log is there");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(snapshot.oldest, 1);
    assert!(
        snapshot.next >= acknowledged_before,
        "{} < {acknowledged_before}",
        snapshot.next
    );
    assert_eq!(snapshot.consumers, vec![("detect".to_owned(), 31)]);
    assert!(snapshot.files.len() > 3, "segments rolled during the test");
    let (records, bytes) = (snapshot.records(), snapshot.bytes());
    copy_into(snapshot, copy.path());

    // The copy opens without repair and holds exactly `records` records, each the same as
    // the source's at its offset.
    let last_segment = fs::read_dir(copy.path().join("bus/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let copied_len = fs::metadata(&last_segment).unwrap().len();
    let restored = EmbeddedLog::open(options(copy.path())).await.unwrap();
    assert_eq!(
        fs::metadata(&last_segment).unwrap().len(),
        copied_len,
        "the copy ends on a frame boundary: nothing to truncate"
    );
    let bounds = restored.bounds().await.unwrap();
    assert_eq!(bounds.oldest, 1);
    assert_eq!(bounds.next - bounds.oldest, records);
    let on_disk: u64 = walk_bytes(&copy.path().join("bus"));
    assert_eq!(on_disk, bytes);
    let theirs = log.read(1, records as usize).await.unwrap();
    let ours = restored.read(1, records as usize).await.unwrap();
    assert_eq!(ours.len() as u64, records);
    for (a, b) in theirs.iter().zip(&ours) {
        assert_eq!((a.offset, tag_of(a)), (b.offset, tag_of(b)));
        assert_eq!(a.record, b.record);
    }
    // The consumer resumes where it acknowledged.
    let mut consumer = restored
        .consumer("detect", ConsumerConfig::default())
        .await
        .unwrap();
    let next = consumer.fetch(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(next[0].offset, 31);
    assert_eq!(tag_of(&next[0]), "pre30");
    // And it takes new records after the copied ones.
    let ack = restored.publish(&[record("after", 100)]).await.unwrap();
    assert_eq!(ack.first_offset, bounds.next);
    restored.close().await.unwrap();
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_stops_before_a_partly_written_frame() {
    let source = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(options(source.path())).await.unwrap();
    log.publish(
        &(0..10)
            .map(|i| record(&format!("r{i}"), 100))
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    log.close().await.unwrap();
    drop(log);
    // What a reader sees while the writer is in the middle of a frame.
    let segment = source.path().join("bus/segments/00000000000000000001.seg");
    let good_len = fs::metadata(&segment).unwrap().len();
    let mut file = fs::OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&400u32.to_le_bytes()).unwrap();
    file.write_all(&[1u8; 30]).unwrap();
    drop(file);

    let snapshot = EmbeddedSnapshot::take(source.path()).unwrap().unwrap();
    assert_eq!((snapshot.oldest, snapshot.next), (1, 11));
    assert_eq!(snapshot.files.len(), 1);
    assert_eq!(snapshot.files[0].len, good_len);
    let mut copied = Vec::new();
    snapshot
        .files
        .into_iter()
        .next()
        .unwrap()
        .into_reader()
        .read_to_end(&mut copied)
        .unwrap();
    assert_eq!(copied, fs::read(&segment).unwrap()[..good_len as usize]);
}

#[test]
fn no_log_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    assert!(EmbeddedSnapshot::take(dir.path()).unwrap().is_none());
}

fn walk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            total += walk_bytes(&path);
        } else if path
            .extension()
            .is_some_and(|e| e == "seg" || e == "offset")
        {
            total += fs::metadata(&path).unwrap().len();
        }
    }
    total
}
