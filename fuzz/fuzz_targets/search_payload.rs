//! Bus payloads as the search indexer reads them: arbitrary bytes (and arbitrary JSON)
//! offered as normalised events; a bad one is rejected, never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nigehban_bus::{Delivery, Record};
use nigehban_normalise::envelope::EVENT_CONTENT_TYPE;
use nigehban_search::{EventIndex, IndexOptions};

fn index() -> &'static EventIndex {
    static INDEX: OnceLock<EventIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nigehban-fuzz-search-payload-{}", std::process::id()));
        EventIndex::open(dir, IndexOptions::default()).expect("opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let delivery = Delivery {
        offset: data.len() as u64,
        appended_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        delivery_count: 1,
        record: Record {
            tenant_id: "t".into(),
            sensor_id: "s".into(),
            received_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            content_type: EVENT_CONTENT_TYPE.into(),
            payload: Bytes::copy_from_slice(data),
            id: None,
        },
    };
    let outcome = index().add_deliveries(&[delivery]).expect("the index accepts the batch");
    assert_eq!(outcome.indexed + outcome.rejected.len(), 1);
});
