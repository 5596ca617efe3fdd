//! Retention by ingest time, with the caller's clock.

use std::time::Duration as StdDuration;

use nigehban_search::{EventIndex, EventQuery, IndexOptions, TenantScope};
use time::Duration;

use crate::common::{BASE, TestEvent, ids, index_events, syslog};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_by_ingest_time_not_by_the_senders_clock() {
    let dir = tempfile::tempdir().unwrap();
    let days = Duration::days;
    let event = |id: &str, happened, ingested| {
        TestEvent::new(id, "bank-01", &syslog(happened, "h", "app", id), ingested)
    };
    let events = vec![
        event("old", BASE - days(40), BASE - days(40)),
        // The sender's clock is ahead: recent @timestamp, but ingested long ago.
        event("old-ingest-new-clock", BASE, BASE - days(31)),
        // The sender's clock is two years behind: it still arrived yesterday.
        event("recent-ingest-old-clock", BASE - days(730), BASE - days(1)),
        event("29-days", BASE - days(29), BASE - days(29)),
    ];
    let index = index_events(dir.path(), &events).await;
    let all = || {
        let mut v = ids(&index, &EventQuery::new(TenantScope::tenant("bank-01")));
        v.sort();
        v
    };
    assert_eq!(all().len(), 4);

    let outcome = index.enforce_retention(BASE).unwrap();
    assert_eq!(outcome.deleted, 2);
    assert_eq!(outcome.cutoff, BASE - days(30));
    assert_eq!(all(), ["29-days", "recent-ingest-old-clock"]);
    assert_eq!(index.metrics().retention_deleted, 2);
    assert_eq!(index.metrics().documents, 2);
    // Nothing more is due at the same moment.
    assert_eq!(index.enforce_retention(BASE).unwrap().deleted, 0);
    // Two days later the 29-day-old event is due too.
    assert_eq!(index.enforce_retention(BASE + days(2)).unwrap().deleted, 1);
    assert_eq!(all(), ["recent-ingest-old-clock"]);

    // Deletions are committed: they hold after a reopen.
    index.close().unwrap();
    drop(index);
    let options = IndexOptions {
        retention: StdDuration::from_secs(12 * 3600),
        ..IndexOptions::default()
    };
    let index = EventIndex::open(dir.path(), options).unwrap();
    let left = ids(&index, &EventQuery::new(TenantScope::tenant("bank-01")));
    assert_eq!(left, ["recent-ingest-old-clock"]);
    // A shorter retention takes the rest.
    assert_eq!(index.enforce_retention(BASE).unwrap().deleted, 1);
    assert!(ids(&index, &EventQuery::new(TenantScope::all_tenants())).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_loop_uses_the_clock_it_is_given() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let events: Vec<TestEvent> = (0..10)
        .map(|i| {
            let at = BASE - Duration::days(i * 5);
            TestEvent::new(
                &format!("e{i}"),
                "bank-01",
                &syslog(at, "h", "app", "m"),
                at,
            )
        })
        .collect();
    let index = index_events(dir.path(), &events).await;
    // A fake clock the test moves: day 0, then 20 days later.
    let day = Arc::new(AtomicI64::new(0));
    let clock_day = day.clone();
    let clock = move || BASE + Duration::days(clock_day.load(Ordering::SeqCst));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(nigehban_search::run_retention(
        index.clone(),
        StdDuration::from_millis(20),
        clock,
        async move {
            let _ = stopped.await;
        },
    ));
    let wait_for = |n: u64| {
        let index = index.clone();
        async move {
            let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
            while index.metrics().documents != n {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "documents stayed {}",
                    index.metrics().documents
                );
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
        }
    };
    // Ingested 0, 5, ..., 45 days before day 0: 30 days keeps 0..=30 (7 events; the
    // event exactly 30 days old is not older than the retention).
    wait_for(7).await;
    day.store(20, Ordering::SeqCst);
    // At day 20 the events ingested 0, 5 and 10 days before day 0 remain.
    wait_for(3).await;
    stop.send(()).unwrap();
    assert_eq!(task.await.unwrap(), 7);
}
