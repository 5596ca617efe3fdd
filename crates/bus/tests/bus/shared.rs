//! Shared values on NATS JetStream: a value is replaced only by a writer
//! that read its latest revision, processes on one stream see the same
//! values, and the embedded log has none.

use bytes::Bytes;
use nigehban_bus::{AnyBus, BusLocation, EmbeddedOptions, JetStreamBus, SharedValues, Written};

use crate::common::{nats_url, unique};

fn options(url: &str, stream: &str) -> nigehban_bus::JetStreamOptions {
    let mut options = nigehban_bus::JetStreamOptions::new(url);
    options.stream = stream.to_owned();
    options.subject = format!("test.{}", stream.to_lowercase());
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_value_changes_only_from_the_revision_its_writer_read() {
    let Some(url) = nats_url() else { return };
    let stream = unique("T_SHARED").to_uppercase();
    let one = JetStreamBus::open(options(&url, &stream)).await.unwrap();
    let two = JetStreamBus::open(options(&url, &stream)).await.unwrap();
    let a = one.shared_values("state").await.unwrap();
    let b = two.shared_values("state").await.unwrap();

    assert_eq!(a.get("tenant.01").await.unwrap(), None);
    let Written::Stored(first) = a
        .compare_and_set("tenant.01", Bytes::from_static(b"v1"), None)
        .await
        .unwrap()
    else {
        panic!("the first write of a new key is stored");
    };
    // Another handle on the same stream sees it; creating it again conflicts.
    let seen = b.get("tenant.01").await.unwrap().unwrap();
    assert_eq!(seen.value, Bytes::from_static(b"v1"));
    assert_eq!(seen.revision, first);
    assert_eq!(
        b.compare_and_set("tenant.01", Bytes::from_static(b"other"), None)
            .await
            .unwrap(),
        Written::Conflict
    );
    // b writes from what it read; a, still at the first revision, conflicts.
    let Written::Stored(second) = b
        .compare_and_set("tenant.01", Bytes::from_static(b"v2"), Some(first))
        .await
        .unwrap()
    else {
        panic!("a write from the latest revision is stored");
    };
    assert!(second > first);
    assert_eq!(
        a.compare_and_set("tenant.01", Bytes::from_static(b"lost"), Some(first))
            .await
            .unwrap(),
        Written::Conflict
    );
    let latest = a.get("tenant.01").await.unwrap().unwrap();
    assert_eq!(
        (latest.value, latest.revision),
        (Bytes::from_static(b"v2"), second)
    );
    // Keys are independent.
    assert_eq!(a.get("tenant.02").await.unwrap(), None);

    // Another stream has values of its own.
    let other = JetStreamBus::open(options(&url, &unique("T_SHARED2").to_uppercase()))
        .await
        .unwrap();
    let c = other.shared_values("state").await.unwrap();
    assert_eq!(c.get("tenant.01").await.unwrap(), None);
}

#[tokio::test]
async fn the_embedded_log_has_no_shared_values() {
    let dir = tempfile::tempdir().unwrap();
    let bus = AnyBus::open(BusLocation::Embedded(EmbeddedOptions::new(dir.path())))
        .await
        .unwrap();
    assert!(bus.shared_values("state").await.unwrap().is_none());
}
