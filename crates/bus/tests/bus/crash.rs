//! Crash tests with real child processes (this test executable, re-run with an
//! env flag): a publisher killed with SIGKILL must lose no acknowledged record;
//! two consumer processes sharing a durable JetStream consumer must process
//! every record exactly once between them.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nigehban_bus::{
    ConsumerConfig, EmbeddedLog, EmbeddedOptions, EventBus, EventConsumer, JetStreamBus,
    JetStreamOptions, Record,
};

use crate::common::{nats_url, record, tag_of, unique};

const CRASH_DIR: &str = "NIGEHBAN_BUS_CRASH_DIR";
const CRASH_ROUND: &str = "NIGEHBAN_BUS_CRASH_ROUND";
const CHILD_URL: &str = "NIGEHBAN_BUS_CHILD_NATS_URL";
const CHILD_STREAM: &str = "NIGEHBAN_BUS_CHILD_STREAM";

/// A child process that is killed if the test fails before reaping it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this test executable running only the named (ignored) helper test.
fn spawn_child(test: &str, env: &[(&str, String)]) -> (ChildGuard, mpsc::Receiver<String>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (ChildGuard(child), lines)
}

/// Waits for a line starting with `prefix`, keeping every line read meanwhile.
fn wait_for(lines: &mpsc::Receiver<String>, prefix: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "child never printed {prefix:?}; last lines {:?}",
                &seen[seen.len().saturating_sub(5)..]
            )
        });
        // The harness may print its "test ... " header on the same line.
        let found = line.starts_with(prefix) || line.contains(&format!("... {prefix}"));
        seen.push(line);
        if found {
            return;
        }
    }
}

/// Payload of record `j` of batch `batch` of publisher `task` in round `round`: varied sizes.
fn crash_payload(round: u64, task: u64, batch: u64, j: u64) -> Bytes {
    let head = format!("round{round} t{task} b{batch} r{j}|");
    let size = 200 + ((task * 7 + batch * 13 + j * 29) % 600) as usize;
    let mut payload = head.into_bytes();
    while payload.len() < size {
        payload.push(b'0' + (payload.len() % 10) as u8);
    }
    Bytes::from(payload)
}

fn crash_options(dir: &str) -> EmbeddedOptions {
    let mut options = EmbeddedOptions::new(dir);
    // Small segments so that kills also land around segment rolls.
    options.segment_bytes = 256 * 1024;
    options
}

/// Child side: publishes from four tasks until killed, printing each acknowledged batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of acknowledged_records_survive_kill_9_of_the_publisher"]
async fn crash_child_publisher() {
    let dir = std::env::var(CRASH_DIR).expect("run by the crash test");
    let round: u64 = std::env::var(CRASH_ROUND).unwrap().parse().unwrap();
    let log = EmbeddedLog::open(crash_options(&dir)).await.unwrap();
    println!("READY");
    let mut tasks = Vec::new();
    for task in 0..4u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for batch in 0u64.. {
                let n = 1 + (task * 31 + batch * 17) % 40;
                let records: Vec<Record> = (0..n)
                    .map(|j| {
                        let mut r = record("crash", 10);
                        r.payload = crash_payload(round, task, batch, j);
                        r
                    })
                    .collect();
                let ack = log.publish(&records).await.unwrap();
                println!(
                    "ACK {} {} {task} {batch} {n}",
                    ack.first_offset, ack.last_offset
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// A pseudo-random number from the clock, for kill timing.
fn clock_random(modulo: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos / 1000) % modulo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9_of_the_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().to_str().unwrap().to_owned();
    let mut expected: BTreeMap<u64, Bytes> = BTreeMap::new();
    for round in 0..3u64 {
        let (mut child, lines) = spawn_child(
            "crash::crash_child_publisher",
            &[
                (CRASH_DIR, dir_text.clone()),
                (CRASH_ROUND, round.to_string()),
            ],
        );
        let mut seen = Vec::new();
        wait_for(&lines, "READY", &mut seen);
        wait_for(&lines, "ACK ", &mut seen);
        std::thread::sleep(Duration::from_millis(20 + clock_random(400)));
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        seen.extend(lines.iter());

        let mut acked_batches = 0;
        for line in seen.iter().filter(|l| l.starts_with("ACK ")) {
            let f: Vec<u64> = line[4..].split(' ').map(|x| x.parse().unwrap()).collect();
            let [first, last, task, batch, n] = f[..] else {
                panic!("bad line {line:?}")
            };
            assert_eq!(last - first + 1, n, "{line}");
            for j in 0..n {
                expected.insert(first + j, crash_payload(round, task, batch, j));
            }
            acked_batches += 1;
        }
        assert!(
            acked_batches > 0,
            "round {round}: nothing acknowledged before the kill"
        );

        // Reopen (recovering any torn tail) and check every acknowledged record, byte for byte.
        let log = EmbeddedLog::open(crash_options(&dir_text)).await.unwrap();
        let bounds = log.bounds().await.unwrap();
        let mut stored = BTreeMap::new();
        let mut from = bounds.oldest;
        while from < bounds.next {
            let chunk = log.read(from, 5000).await.unwrap();
            assert!(!chunk.is_empty());
            for d in chunk {
                assert_eq!(d.offset, from, "offsets are contiguous");
                from += 1;
                stored.insert(d.offset, d.record.payload);
            }
        }
        for (offset, payload) in &expected {
            let got = stored
                .get(offset)
                .unwrap_or_else(|| panic!("round {round}: acknowledged offset {offset} lost"));
            assert_eq!(got, payload, "round {round}: offset {offset} changed");
        }
        println!(
            "round {round}: {acked_batches} batches acknowledged, {} records acknowledged in total, {} stored",
            expected.len(),
            stored.len()
        );
        log.close().await.unwrap();
    }
}

/// Child side: one member of a shared JetStream consumer; prints each record after acking it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of two_consumer_processes_share_a_durable_jetstream_consumer"]
async fn crash_child_consumer() {
    let url = std::env::var(CHILD_URL).expect("run by the consumer-process test");
    let stream = std::env::var(CHILD_STREAM).unwrap();
    let bus = JetStreamBus::open(jetstream_options(&url, &stream))
        .await
        .unwrap();
    let mut consumer = bus
        .consumer("shared", ConsumerConfig::default())
        .await
        .unwrap();
    println!("READY");
    let mut idle = 0;
    let mut processed = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while idle < 3 && Instant::now() < deadline {
        let batch = consumer.fetch(10, Duration::from_secs(1)).await.unwrap();
        if batch.is_empty() {
            if processed > 0 {
                idle += 1;
            }
            continue;
        }
        idle = 0;
        // Some work per batch, so that the other process gets its share.
        tokio::time::sleep(Duration::from_millis(3)).await;
        let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
        consumer.ack(&offsets).await.unwrap();
        processed += batch.len();
        for d in &batch {
            println!("DONE {}", tag_of(d));
        }
    }
}

fn jetstream_options(url: &str, stream: &str) -> JetStreamOptions {
    let mut options = JetStreamOptions::new(url);
    options.stream = stream.to_owned();
    options.subject = format!("test.{}", stream.to_lowercase());
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumer_processes_share_a_durable_jetstream_consumer() {
    let Some(url) = nats_url() else { return };
    let stream = unique("T_PROCS").to_uppercase();
    let bus = JetStreamBus::open(jetstream_options(&url, &stream))
        .await
        .unwrap();
    // Create the consumer once, so both processes bind the same one.
    drop(
        bus.consumer("shared", ConsumerConfig::default())
            .await
            .unwrap(),
    );
    let env = [(CHILD_URL, url.clone()), (CHILD_STREAM, stream.clone())];
    let mut children = Vec::new();
    for _ in 0..2 {
        let (child, lines) = spawn_child("crash::crash_child_consumer", &env);
        let mut seen = Vec::new();
        wait_for(&lines, "READY", &mut seen);
        children.push((child, lines));
    }
    const TOTAL: usize = 600;
    let tags: Vec<String> = (0..TOTAL).map(|i| format!("e{i}")).collect();
    for chunk in tags.chunks(20) {
        let records: Vec<Record> = chunk.iter().map(|t| record(t, 300)).collect();
        bus.publish(&records).await.unwrap();
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut per_process = Vec::new();
    for (mut child, lines) in children {
        let status = child.0.wait().unwrap();
        assert!(status.success(), "consumer process failed: {status}");
        let mine: Vec<String> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("DONE ").map(str::to_owned))
            .collect();
        per_process.push(mine.len());
        for tag in mine {
            *counts.entry(tag).or_default() += 1;
        }
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "processed by both: {twice:?}");
    let missing: Vec<_> = tags.iter().filter(|t| !counts.contains_key(*t)).collect();
    assert!(missing.is_empty(), "processed by neither: {missing:?}");
    assert!(
        per_process.iter().all(|n| *n > 0),
        "both processes took part: {per_process:?}"
    );
    println!("records per process: {per_process:?}");
    let client = async_nats::connect(url.as_str()).await.unwrap();
    let _ = async_nats::jetstream::new(client)
        .delete_stream(&stream)
        .await;
}

/// The nats-server binary, or None (skipped, or failed when required) when it is not installed.
fn nats_server_binary() -> Option<PathBuf> {
    nigehban_testkit::nats_server_program()
}

/// Starts a JetStream server of our own on `port`, storing in `store`, and waits until it listens.
fn start_nats_server(binary: &Path, port: u16, store: &Path) -> ChildGuard {
    let child = Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    ChildGuard(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9_of_nats_server() {
    let Some(binary) = nats_server_binary() else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("nats://127.0.0.1:{port}");
    let mut server = start_nats_server(&binary, port, store.path());
    let options = jetstream_options(&url, "KILLED");
    let bus = JetStreamBus::open(options.clone()).await.unwrap();

    // Publish batches from two tasks until the server dies; keep what was acknowledged.
    let mut publishers = Vec::new();
    for task in 0..2 {
        let bus = bus.clone();
        publishers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for batch in 0.. {
                let tags: Vec<String> = (0..20).map(|j| format!("k{task}-{batch}-{j}")).collect();
                let records: Vec<Record> = tags.iter().map(|t| record(t, 400)).collect();
                match tokio::time::timeout(Duration::from_secs(5), bus.publish(&records)).await {
                    Ok(Ok(_)) => acked.extend(tags),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300 + clock_random(300))).await;
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    let mut acked = Vec::new();
    for p in publishers {
        acked.extend(p.await.unwrap());
    }
    assert!(!acked.is_empty(), "nothing acknowledged before the kill");
    drop(bus);

    let _server = start_nats_server(&binary, port, store.path());
    let bus = JetStreamBus::open(options).await.unwrap();
    let bounds = bus.bounds().await.unwrap();
    let mut consumer = bus
        .consumer("verify", ConsumerConfig::default())
        .await
        .unwrap();
    let stored = (bounds.next - bounds.oldest) as usize;
    // Acknowledge while reading, so that max_in_flight never holds deliveries back.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < stored && Instant::now() < deadline {
        let batch = consumer
            .fetch(1000, Duration::from_millis(500))
            .await
            .unwrap();
        let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
        if !offsets.is_empty() {
            consumer.ack(&offsets).await.unwrap();
        }
        got.extend(batch);
    }
    let present: std::collections::HashSet<String> = got.iter().map(tag_of).collect();
    let lost: Vec<&String> = acked.iter().filter(|t| !present.contains(*t)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged records lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    println!(
        "{} acknowledged records, {} stored after kill -9 of nats-server",
        acked.len(),
        got.len()
    );
}
