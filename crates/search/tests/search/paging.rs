//! Cursor pagination: every hit exactly once across pages, while new events arrive.

use std::collections::HashMap;

use nigehban_bus::{ConsumerConfig, EventBus};
use nigehban_search::{EventIndex, EventQuery, IndexOptions, SortOrder, TenantScope};
use time::Duration;

use crate::common::{BASE, TestEvent, drain, embedded_bus, name_of, publish, syslog};

/// `n` events of `tenant`; every third shares its timestamp with the one before, so ties
/// on `@timestamp` are decided by the id.
fn events(tenant: &str, prefix: &str, n: usize, base_seconds: i64) -> Vec<TestEvent> {
    (0..n)
        .map(|i| {
            let at = BASE + Duration::seconds(base_seconds + (i - i / 3) as i64);
            TestEvent::new(
                &format!("{prefix}-{i:05}"),
                tenant,
                &syslog(at, "host", "app", &format!("event number {i}")),
                at,
            )
        })
        .collect()
}

async fn pages_see_every_hit_once(order: SortOrder) {
    let dir = tempfile::tempdir().unwrap();
    let bus = embedded_bus(dir.path()).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let original = events("bank-01", "orig", 1000, 0);
    publish(&bus, &original).await;
    publish(&bus, &events("telco-02", "other", 200, 0)).await;
    drain(&bus, &index, "search", ConsumerConfig::default()).await;

    let scope = TenantScope::tenant("bank-01");
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut previous_last = None;
    loop {
        let mut query = EventQuery::new(scope.clone()).limit(37).order(order);
        query.cursor = cursor.clone();
        let mut hits = index.search(&query).unwrap();
        let page: Vec<_> = hits.by_ref().map(Result::unwrap).collect();
        cursor = hits.next_cursor();
        for hit in &page {
            *seen.entry(name_of(&hit.id)).or_insert(0) += 1;
        }
        // Pages continue where the last one stopped: ordered by time across pages.
        if let (Some(prev), Some(first)) = (previous_last, page.first().map(|h| h.timestamp)) {
            match order {
                SortOrder::NewestFirst => assert!(first <= prev),
                SortOrder::OldestFirst => assert!(first >= prev),
            }
        }
        previous_last = page.last().map(|h| h.timestamp);
        pages += 1;
        // New events arrive between pages: newer, older and in the middle of the range.
        if pages % 5 == 0 {
            let batch = pages * 1000;
            let mut arriving = events("bank-01", &format!("new{pages}"), 5, 2000);
            arriving.extend(events("bank-01", &format!("late{pages}"), 5, -2000));
            arriving.extend(events(
                "bank-01",
                &format!("mid{pages}"),
                5,
                400 + batch as i64 % 7,
            ));
            publish(&bus, &arriving).await;
            drain(&bus, &index, "search", ConsumerConfig::default()).await;
        }
        if cursor.is_none() {
            break;
        }
        assert_eq!(page.len(), 37, "a page with a cursor after it is full");
        assert!(pages < 200, "pagination does not end");
    }
    for event in &original {
        let name = &event.name;
        assert_eq!(
            seen.get(name),
            Some(&1),
            "{name} seen {:?} times",
            seen.get(name)
        );
    }
    assert!(seen.values().all(|n| *n == 1), "a hit came twice");
    assert!(
        !seen.keys().any(|id| id.starts_with("other")),
        "another tenant's hit"
    );
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_pages_give_every_hit_exactly_once_while_events_arrive() {
    pages_see_every_hit_once(SortOrder::NewestFirst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oldest_first_pages_give_every_hit_exactly_once_while_events_arrive() {
    pages_see_every_hit_once(SortOrder::OldestFirst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_answer_streams_in_order_and_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let bus = embedded_bus(dir.path()).await;
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    publish(&bus, &events("bank-01", "e", 20_000, 0)).await;
    drain(&bus, &index, "search", ConsumerConfig::default()).await;
    let scope = TenantScope::tenant("bank-01");

    // Streamed past several internal pages, in strict (timestamp, id) order.
    let mut hits = index
        .search(&EventQuery::new(scope.clone()).limit(15_000))
        .unwrap();
    let mut previous: Option<(time::OffsetDateTime, String)> = None;
    let mut n = 0;
    for hit in hits.by_ref() {
        let hit = hit.unwrap();
        if let Some((t, _)) = &previous {
            assert!(hit.timestamp <= *t);
        }
        previous = Some((hit.timestamp, hit.id));
        n += 1;
    }
    assert_eq!(n, 15_000);
    let cursor = hits.next_cursor().expect("more hits follow");
    let rest = index
        .search(&EventQuery::new(scope.clone()).limit(100_000).after(cursor))
        .unwrap();
    assert_eq!(rest.count(), 5_000);

    // Exactly the limit, nothing more to come: no cursor.
    let mut all = index.search(&EventQuery::new(scope).limit(20_000)).unwrap();
    assert_eq!(all.by_ref().count(), 20_000);
    assert_eq!(all.next_cursor(), None);
    bus.close().await.unwrap();
}
