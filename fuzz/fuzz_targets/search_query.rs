//! Event search queries as they come from an API request: field filters, text terms, a
//! cursor and a limit built from arbitrary text, run against a small index.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nigehban_search::{EventIndex, EventQuery, IndexOptions, SortOrder, TenantScope};

fn index() -> &'static EventIndex {
    static INDEX: OnceLock<EventIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nigehban-fuzz-search-query-{}", std::process::id()));
        EventIndex::open(dir, IndexOptions::default()).expect("opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let head = lines.next().unwrap_or_default();
    let order = if head.len() % 2 == 0 { SortOrder::NewestFirst } else { SortOrder::OldestFirst };
    let mut query = EventQuery::new(TenantScope::tenant("t")).order(order).limit(head.len() * 1000 + 1);
    if !head.is_empty() {
        query.cursor = Some(head.to_owned());
    }
    for line in lines {
        match line.split_once('=') {
            Some((field, value)) => query = query.filter(field, value),
            None if line.starts_with('~') => query = query.message(&line[1..]),
            None => query = query.text(line),
        }
    }
    if let Ok(hits) = index().search(&query) {
        for hit in hits.take(10) {
            let _ = hit;
        }
    }
    let _ = index().count(&query);
});
