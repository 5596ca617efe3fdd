//! The query language over 1,000,000 indexed events: one query of each kind, each asking
//! for the first page (100 hits, newest first) in two of four tenants.
//!
//! Run: `cargo bench -p nigehban-search --bench query_language`. The index is built once
//! per run in a temporary directory (about two minutes), then each query is measured.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use nigehban_bus::{Delivery, Record};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event};
use nigehban_normalise::{Format, SourceHint, normalise};
use nigehban_search::{Aggregation, EventIndex, EventQuery, IndexOptions, TenantScope};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

const EVENTS: u64 = 1_000_000;
const BASE: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);
const TENANTS: [&str; 4] = ["bank-01", "bank-02", "telco-01", "energy-01"];

/// Event `i` of the mix (syslog sshd, Windows 4688 in NXLog's layout, Suricata alerts),
/// 50 ms apart, as intake publishes it.
fn delivery(i: u64) -> Delivery {
    let at = BASE + time::Duration::milliseconds(i as i64 * 50);
    let stamp = at.format(&Rfc3339).unwrap();
    let tenant = TENANTS[(i % 4) as usize];
    let raw = match i % 3 {
        0 => format!(
            "<38>1 {stamp} gw{} sshd 4242 - - Failed password for user{} from 10.{}.{}.{} port {} ssh2",
            i % 17,
            i % 101,
            i % 7,
            i % 251,
            i % 13,
            40000 + i % 20000
        ),
        1 => serde_json::json!({
            "EventTime": stamp, "Hostname": format!("WS{:03}", i % 300), "EventID": 4688,
            "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
            "NewProcessName": format!(r"C:\Windows\System32\Tool{}.exe", i % 50),
            "CommandLine": format!("Tool{}.exe /run {}", i % 50, i),
            "SubjectUserName": format!("user{}", i % 101),
        })
        .to_string(),
        _ => serde_json::json!({
            "timestamp": stamp, "event_type": "alert",
            "src_ip": format!("192.168.{}.{}", i % 7, i % 251), "src_port": 50000 + i % 1000,
            "dest_ip": format!("203.0.113.{}", i % 200), "dest_port": 400 + i % 100, "proto": "TCP",
            "alert": {"signature_id": 2_010_000 + i % 40, "rev": 2,
                      "signature": format!("ET POLICY rule {}", i % 40),
                      "category": "Potentially Bad Traffic", "severity": 2},
        })
        .to_string(),
    };
    let mut hint = SourceHint::new(Format::Auto, at);
    hint.tenant_id = Some(tenant.into());
    hint.sensor_id = Some("sensor-1".into());
    let event = normalise(raw.as_bytes(), &hint).unwrap();
    let id = uuid::Uuid::from_u128(0x0190f0b8_7a1c_7cc3_8f1e_000000000000 | u128::from(i));
    Delivery {
        offset: i,
        appended_at: SystemTime::from(at),
        delivery_count: 1,
        record: Record {
            tenant_id: tenant.into(),
            sensor_id: "sensor-1".into(),
            received_at: SystemTime::from(at),
            content_type: EVENT_CONTENT_TYPE.into(),
            payload: encode_event(id, &event).unwrap(),
            id: None,
        },
    }
}

/// Indexes every event as the indexer does (batches of 1,000, commits every 10,000),
/// generating them batch by batch so they are never all in memory.
fn build(index: &EventIndex) {
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..EVENTS {
        batch.push(delivery(i));
        if batch.len() == 1000 {
            index.add_deliveries(&batch).unwrap();
            batch.clear();
            if (i + 1) % 10_000 == 0 {
                index.commit().unwrap();
            }
        }
    }
    index.add_deliveries(&batch).unwrap();
    index.commit().unwrap();
    eprintln!(
        "indexed {EVENTS} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn queries(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    build(&index);
    let scope = TenantScope::tenants(["bank-01", "bank-02"]);
    // 1,000,000 events 50 ms apart span 50,000 s; an hour in the middle.
    let hour = |s: i64| {
        (BASE + time::Duration::seconds(s))
            .format(&Rfc3339)
            .unwrap()
    };
    let time_range = format!("@timestamp:[{} TO {}}}", hour(20_000), hour(23_600));
    let kinds: Vec<(&str, String)> = vec![
        // WS004: a Windows event (i % 3 == 1) of bank-01 (i % 4 == 0).
        ("field_value_without_case", "host.name:ws004".into()),
        ("field_value_exact_case", "host.name:=WS004".into()),
        ("word", "user42".into()),
        ("phrase", "\"failed password for user42\"".into()),
        ("wildcard_field", "process.name:*tool4*".into()),
        ("wildcard_word", "tool4*".into()),
        (
            "boolean",
            "(host.name:gw1 OR host.name:gw2) AND NOT user.name:user1".into(),
        ),
        ("range_number", "destination.port:[400 TO 410]".into()),
        ("range_time", time_range),
        ("cidr", "source.ip:10.3.0.0/16".into()),
    ];
    let mut group = c.benchmark_group("query_language_1m");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for (name, text) in &kinds {
        let query = EventQuery::new(scope.clone())
            .query_text(text)
            .unwrap()
            .limit(100);
        let found = index.search(&query).unwrap().count();
        assert!(found > 0, "{name}: {text} finds nothing");
        group.bench_function(*name, |b| {
            b.iter(|| {
                let hits: Vec<_> = index.search(&query).unwrap().collect();
                black_box(hits)
            });
        });
    }
    let everything = EventQuery::new(scope.clone());
    group.bench_function("aggregate_top_hosts_and_hourly", |b| {
        let aggregation = Aggregation {
            top: Some("host.name".into()),
            size: 10,
            interval: Some(Duration::from_secs(3600)),
        };
        b.iter(|| black_box(index.aggregate(&everything, &aggregation).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
