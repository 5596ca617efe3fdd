//! Event search benchmarks: indexing throughput (decode + index + commit, events/s) and
//! typical queries over a 200,000-event index.
//!
//! Run: `cargo bench -p nigehban-search --bench search`.
//!
//! The `indexing_cpu` group reports *process CPU time* instead of wall-clock time (all
//! threads: the caller's, tantivy's indexing and merge threads), so its elements/s figure
//! is events per CPU-second: what indexing takes away from HTTP intake on a shared
//! machine, independent of how busy the machine was while measuring.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nigehban_bus::{Delivery, Record};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event};
use nigehban_normalise::{Format, SourceHint, normalise};
use nigehban_search::{EventIndex, EventQuery, IndexOptions, TenantScope};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

const BASE: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);
const TENANTS: [&str; 4] = ["bank-01", "bank-02", "telco-01", "energy-01"];

/// A mix of syslog, Windows process creation and Suricata alerts, as intake publishes them.
fn deliveries(n: usize, first_offset: u64) -> Vec<Delivery> {
    (0..n)
        .map(|i| {
            let at = BASE + time::Duration::milliseconds(i as i64 * 50);
            let stamp = at.format(&Rfc3339).unwrap();
            let tenant = TENANTS[i % TENANTS.len()];
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
                    "NewProcessName": format!(r"C:\Windows\System32\tool{}.exe", i % 50),
                    "CommandLine": format!("tool{}.exe /run {}", i % 50, i),
                    "SubjectUserName": format!("user{}", i % 101),
                })
                .to_string(),
                _ => serde_json::json!({
                    "timestamp": stamp, "event_type": "alert",
                    "src_ip": format!("192.168.{}.{}", i % 7, i % 251), "src_port": 50000 + i % 1000,
                    "dest_ip": format!("203.0.113.{}", i % 200), "dest_port": 443, "proto": "TCP",
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
            let id = uuid::Uuid::from_u128(0x0190f0b8_7a1c_7cc3_8f1e_000000000000 | u128::from(first_offset + i as u64));
            Delivery {
                offset: first_offset + i as u64,
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
        })
        .collect()
}

/// Writes deliveries as the indexer does: batches of 1,000, a commit every 5,000.
fn index_all(index: &EventIndex, deliveries: &[Delivery]) {
    for (i, batch) in deliveries.chunks(1000).enumerate() {
        index.add_deliveries(batch).unwrap();
        if (i + 1) % 5 == 0 {
            index.commit().unwrap();
        }
    }
    index.commit().unwrap();
}

/// CPU time used so far by this process, all threads (live and exited) together, from
/// `/proc/self/stat` (clock ticks of 10 ms; iterations here take seconds).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn indexing(c: &mut Criterion) {
    const N: usize = 20_000;
    let input = deliveries(N, 0);
    let mut group = c.benchmark_group("indexing");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("add_and_commit_20k_events_fresh_index", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
                (dir, index)
            },
            |(dir, index)| {
                index_all(&index, &input);
                (dir, index)
            },
            BatchSize::PerIteration,
        );
    });
    // The same 20k delivered again into an index that already holds 100k events: every
    // write is a delete-and-replace against more segments.
    let dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    index_all(&index, &deliveries(100_000, 1_000_000));
    group.bench_function("redeliver_20k_events_into_100k_index", |b| {
        b.iter(|| index_all(&index, &input));
    });
    group.finish();

    // The same work measured in CPU time, merges included: the index is closed (waiting for
    // its merge threads) inside the measurement.
    let mut group = c.benchmark_group("indexing_cpu");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("fresh_index_20k_events_cpu_time", |b| {
        b.iter_custom(|iters| {
            let mut cpu = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
                let started = process_cpu();
                index_all(&index, &input);
                index.close().unwrap();
                cpu += process_cpu() - started;
            }
            cpu
        });
    });
    group.bench_function("redeliver_20k_events_into_100k_index_cpu_time", |b| {
        b.iter_custom(|iters| {
            let started = process_cpu();
            for _ in 0..iters {
                index_all(&index, &input);
            }
            process_cpu() - started
        });
    });
    group.finish();
}

fn querying(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(dir.path(), IndexOptions::default()).unwrap();
    let all = deliveries(200_000, 0);
    index_all(&index, &all);
    drop(all);
    // 200,000 events at 50 ms apart span 10,000 s (~2.8 h).
    let scope = TenantScope::tenants(["bank-01", "bank-02"]);
    let last_hour = (
        BASE + time::Duration::seconds(10_000 - 3600),
        BASE + time::Duration::seconds(10_000),
    );
    let mut group = c.benchmark_group("query");
    group.sample_size(20);
    group.bench_function("filter_text_last_hour_top_100", |b| {
        let query = EventQuery::new(scope.clone())
            .between(last_hour.0, last_hour.1)
            .filter("log.syslog.appname", "sshd")
            .text("failed password")
            .limit(100);
        b.iter(|| {
            let hits: Vec<_> = index.search(&query).unwrap().collect();
            assert_eq!(hits.len(), 100);
            black_box(hits)
        });
    });
    group.bench_function("ecs_filter_all_time_top_100", |b| {
        let query = EventQuery::new(scope.clone())
            .filter("winlog.event_id", "4688")
            .filter("host.name", "WS007")
            .limit(100);
        b.iter(|| black_box(index.search(&query).unwrap().count()));
    });
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("stream_10k_hits_newest_first", |b| {
        let query = EventQuery::new(scope.clone()).limit(10_000);
        b.iter(|| {
            let n = index.search(&query).unwrap().count();
            assert_eq!(n, 10_000);
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, indexing, querying);
criterion_main!(benches);
