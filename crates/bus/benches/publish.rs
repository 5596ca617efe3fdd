//! Durable publish throughput: 500-byte records, acknowledged only once durable
//! (embedded: after `fdatasync`; JetStream: after the `PubAck`), from N concurrent
//! publishers with batches of various sizes.
//!
//! ```text
//! cargo bench -p nigehban-bus --bench publish
//! NIGEHBAN_BENCH_SECONDS=10 NIGEHBAN_BENCH_DIR=/var/tmp cargo bench -p nigehban-bus --bench publish
//! NIGEHBAN_TEST_NATS_URL=nats://127.0.0.1:4222 cargo bench -p nigehban-bus --bench publish   # adds JetStream
//! ```
//!
//! The embedded log is written under `NIGEHBAN_BENCH_DIR` (default: cargo's target
//! tmp dir, which is on the same disk as the build), so fsyncs hit a real disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use nigehban_bus::{AnyBus, BusLocation, EmbeddedOptions, EventBus, JetStreamOptions, Record};

/// Size of each record's payload: a typical JSON or syslog event.
const PAYLOAD_BYTES: usize = 500;

fn records(n: usize, publisher: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut payload = format!(
                "{{\"publisher\":{publisher},\"i\":{i},\"msg\":\"sshd[4242]: Failed password for root from 203.0.113.7 port 52144 ssh2\",\"pad\":\""
            )
            .into_bytes();
            payload.resize(PAYLOAD_BYTES - 2, b'x');
            payload.extend_from_slice(b"\"}");
            Record {
                tenant_id: "org-telecom-042".into(),
                sensor_id: "fw-edge-01".into(),
                received_at: SystemTime::now(),
                content_type: "application/json".into(),
                payload: Bytes::from(payload),
                id: None,
            }
        })
        .collect()
}

/// Publishes for `seconds` (after a one-second warm-up) and prints the sustained rate.
async fn scenario(label: &str, bus: &AnyBus, publishers: usize, batch: usize, seconds: f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let bus = bus.clone();
        let (stop, counting, acked) = (stop.clone(), counting.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let batch = records(batch, p);
            while !stop.load(Ordering::Relaxed) {
                let ack = bus.publish(&batch).await.expect("publish");
                if counting.load(Ordering::Relaxed) {
                    acked.fetch_add(ack.records, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes_before = bus.metrics().await.expect("metrics").durable_writes;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let writes = bus.metrics().await.expect("metrics").durable_writes - writes_before;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("publisher task");
    }
    let events = acked.load(Ordering::Relaxed) as f64;
    println!(
        "{label:<9} publishers={publishers:<4} batch={batch:<5} {:>10.0} events/s  {:>7.1} MB/s payload  {:>8.0} durable writes/s  {:>7.1} events/write",
        events / elapsed,
        events * PAYLOAD_BYTES as f64 / elapsed / 1e6,
        writes as f64 / elapsed,
        if writes > 0 {
            events / writes as f64
        } else {
            0.0
        },
    );
}

const SCENARIOS: &[(usize, usize)] = &[(1, 1000), (4, 1000), (16, 100), (64, 10), (256, 1)];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this with --test-like flags; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seconds: f64 = std::env::var("NIGEHBAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let base = std::env::var_os("NIGEHBAN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    println!(
        "durable publish, {PAYLOAD_BYTES}-byte records, {seconds} s per scenario, data in {}",
        base.display()
    );
    for &(publishers, batch) in SCENARIOS {
        let dir = tempfile::tempdir_in(&base).expect("bench dir");
        let bus = AnyBus::open(BusLocation::Embedded(EmbeddedOptions::new(dir.path())))
            .await
            .expect("open embedded log");
        scenario("embedded", &bus, publishers, batch, seconds).await;
        bus.close().await.expect("close");
    }
    if let Ok(url) = std::env::var("NIGEHBAN_TEST_NATS_URL") {
        for &(publishers, batch) in SCENARIOS {
            let mut options = JetStreamOptions::new(url.clone());
            options.stream = format!("BENCH_{}_{publishers}_{batch}", std::process::id());
            options.subject = format!("bench.{}.{publishers}.{batch}", std::process::id());
            let stream = options.stream.clone();
            let bus = AnyBus::open(BusLocation::JetStream(options))
                .await
                .expect("open jetstream");
            scenario("jetstream", &bus, publishers, batch, seconds).await;
            bus.close().await.expect("close");
            let client = async_nats::connect(url.as_str()).await.expect("connect");
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&stream)
                .await;
        }
    }
}
