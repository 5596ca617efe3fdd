//! Sustained intake throughput, acknowledged only once durable (embedded
//! bus: after `fdatasync`).
//!
//! - `http`: the HTTP intake logic (`Intake::ingest_http`): requests of 1,000
//!   NDJSON events of about 500 bytes (Suricata, Zeek, Windows, syslog in
//!   JSON strings), plain and gzip, from several concurrent requests. This
//!   measures everything but the HTTP framing (the server's job): gzip
//!   decoding, splitting, normalising, stamping, serialising, one durable
//!   publish per request.
//! - `syslog-tcp`: clients on loopback writing RFC 5424 messages (octet
//!   counted) as fast as they can to the TCP listener; counted when durable.
//!
//! ```text
//! cargo bench -p nigehban-ingest --bench intake
//! NIGEHBAN_BENCH_SECONDS=10 NIGEHBAN_BENCH_DIR=/var/tmp cargo bench -p nigehban-ingest --bench intake
//! cargo bench -p nigehban-ingest --bench intake -- http     # one scenario
//! ```
//!
//! The bus is written under `NIGEHBAN_BENCH_DIR` (default: the system's
//! temporary directory), so fsyncs hit that disk.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nigehban_bus::{EmbeddedLog, EmbeddedOptions, EventBus};
use nigehban_ingest::{
    HttpIngest, Intake, IntakeOptions, SensorStamp, StaticSensorDirectory, SyslogConfig,
};
use tokio::io::AsyncWriteExt;

const EVENTS_PER_REQUEST: usize = 1_000;

fn seconds() -> f64 {
    std::env::var("NIGEHBAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0)
}

fn bench_dir() -> tempfile::TempDir {
    match std::env::var("NIGEHBAN_BENCH_DIR") {
        Ok(dir) => tempfile::tempdir_in(PathBuf::from(dir)).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    }
}

/// About 500-byte events of the kinds sensors send, as NDJSON lines.
fn typical_lines(i: usize) -> String {
    // Bring each line to about 500 bytes with a realistic-looking value.
    let pad = |line: String| -> String {
        let missing = 500usize.saturating_sub(line.len() - "PADDING".len());
        line.replacen(
            "PADDING",
            &"a1b2c3d4e5f6".repeat(missing / 12 + 1)[..missing],
            1,
        )
    };
    match i % 4 {
        0 => pad(format!(
            r#"{{"timestamp":"2024-03-15T10:22:{:02}.985026+0100","flow_id":{},"in_iface":"eth0","event_type":"alert","src_ip":"10.1.{}.{}","src_port":{},"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":2013504,"rev":5,"signature":"ET POLICY Outbound package manager User-Agent","category":"Not Suspicious Traffic","severity":3}},"http":{{"hostname":"mirror.example.org","url":"/debian/pool/main/p/perl/perl-base.deb","http_user_agent":"Debian APT-HTTP/1.3","pad":"PADDING"}}}}"#,
            i % 60,
            955054024165314u64 + i as u64,
            i % 250,
            i % 200,
            40000 + i % 20000
        )),
        1 => pad(format!(
            r#"{{"_path":"conn","ts":{}.865716,"uid":"CqKst53mF3det3eDV{}","id.orig_h":"10.47.1.{}","id.orig_p":{},"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","service":"dns","duration":0.00087,"orig_bytes":44,"resp_bytes":112,"conn_state":"SF","missed_bytes":0,"history":"Dd","orig_pkts":1,"resp_pkts":1,"note":"PADDING"}}"#,
            1710496934 + i,
            i,
            i % 250,
            40000 + i % 20000
        )),
        2 => pad(format!(
            r#"{{"EventID":4624,"Channel":"Security","Hostname":"WS{}.example.local","SourceName":"Microsoft-Windows-Security-Auditing","RecordNumber":{},"EventTime":"2024-03-15 10:22:14","@timestamp":"2024-03-15T10:22:15.111Z","TargetUserName":"alice","TargetDomainName":"EXAMPLE","LogonType":"3","IpAddress":"10.2.3.{}","IpPort":"{}","WorkstationName":"PADDING"}}"#,
            i % 100,
            334801 + i,
            i % 250,
            50000 + i % 10000
        )),
        _ => pad(format!(
            r#""<38>Mar 15 10:22:14 web{:02} sshd[{}]: Failed password for invalid user admin from 203.0.113.{} port {} ssh2 PADDING""#,
            i % 100,
            4000 + i % 1000,
            i % 250,
            40000 + i % 20000
        )),
    }
}

fn request_body(seed: usize) -> String {
    let mut body = String::with_capacity(EVENTS_PER_REQUEST * 520);
    for i in 0..EVENTS_PER_REQUEST {
        body.push_str(&typical_lines(seed + i));
        body.push('\n');
    }
    body
}

type BenchIntake = Intake<EmbeddedLog, StaticSensorDirectory>;

/// CPU seconds this process has used (all threads, user + system), from
/// `/proc/self/stat`; 0 where that is unavailable. The machine is shared, so
/// events per CPU-second is the figure that does not depend on what else
/// runs; the wall-clock rate is printed too.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses).
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here;
    // clock ticks are 100 per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

async fn open(
    dir: &tempfile::TempDir,
    directory: StaticSensorDirectory,
) -> (EmbeddedLog, BenchIntake) {
    let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
        .await
        .unwrap();
    let intake = Intake::new(bus.clone(), directory, IntakeOptions::default());
    (bus, intake)
}

async fn http_scenario(concurrency: usize, gzip: bool, seconds: f64) {
    let dir = bench_dir();
    let (bus, intake) = open(&dir, StaticSensorDirectory::new()).await;
    let stamp = Arc::new(SensorStamp::new("org-telecom-042", "ids-edge-1"));
    let body = request_body(0);
    let average = body.len() / EVENTS_PER_REQUEST;
    let body = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(body.as_bytes()).unwrap();
        Bytes::from(encoder.finish().unwrap())
    } else {
        Bytes::from(body)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (intake, stamp, body) = (intake.clone(), stamp.clone(), body.clone());
        let (stop, counting, accepted) = (stop.clone(), counting.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = HttpIngest {
                    body: body.clone(),
                    content_encoding: gzip.then(|| "gzip".to_string()),
                    format: None,
                    log_name: None,
                    source_address: None,
                    idempotency_key: None,
                };
                let outcome = intake.ingest_http(&stamp, request).await.unwrap();
                assert!(
                    outcome.rejected.is_empty(),
                    "{:?}",
                    outcome.rejected.first()
                );
                if counting.load(Ordering::Relaxed) {
                    accepted.fetch_add(outcome.accepted, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes_before = bus.metrics().await.unwrap().durable_writes;
    counting.store(true, Ordering::Relaxed);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let writes = bus.metrics().await.unwrap().durable_writes - writes_before;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let events = accepted.load(Ordering::Relaxed) as f64;
    println!(
        "http      requests={concurrency:<3} gzip={gzip:<5} events/request={EVENTS_PER_REQUEST} avg_line={average}B {:>9.0} events/s durable  {:>6.1} MB/s NDJSON  {:>6.0} fsyncs/s  cpu {:.2} cores  {:>9.0} events per CPU-second",
        events / elapsed,
        events * average as f64 / elapsed / 1e6,
        writes as f64 / elapsed,
        cpu / elapsed,
        events / cpu.max(1e-9)
    );
    bus.close().await.unwrap();
}

/// The CPU cost alone, on one thread: preparing requests (decode, split,
/// normalise, stamp, serialise) without publishing, and its parts.
fn prepare_scenario(seconds: f64) {
    use nigehban_ingest::{HttpLimits, RequestContext, prepare_ndjson};
    use nigehban_normalise::{Format, SourceHint, normalise};
    let body = request_body(0);
    let stamp = SensorStamp::new("org-telecom-042", "ids-edge-1");
    let limits = HttpLimits::default();
    let context = RequestContext {
        stamp: &stamp,
        format: None,
        log_name: None,
        source_address: None,
        received_at: std::time::SystemTime::now(),
        idempotency_key: None,
    };
    // Wall time, and the CPU time of the process (this scenario runs on one
    // thread), which does not count waiting for a CPU on a shared machine.
    let measure = |label: &str, work: &mut dyn FnMut() -> usize| {
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let mut events = 0usize;
        while started.elapsed().as_secs_f64() < seconds {
            events += work();
        }
        let cpu = cpu_seconds() - cpu_started;
        println!(
            "prepare   {label:<34} {:>9.0} events/s on one thread ({:.2} us/event wall, {:.2} us/event CPU)",
            events as f64 / started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64() * 1e6 / events as f64,
            cpu * 1e6 / events as f64
        );
    };
    let prepared = prepare_ndjson(body.as_bytes(), None, &limits, &context).unwrap();
    let payload_bytes: usize = prepared.records.iter().map(|r| r.payload.len()).sum();
    println!(
        "prepare   average bus payload: {} bytes for {} bytes of NDJSON",
        payload_bytes / prepared.records.len(),
        body.len() / prepared.records.len()
    );
    measure("prepare_ndjson (everything)", &mut || {
        prepare_ndjson(body.as_bytes(), None, &limits, &context)
            .unwrap()
            .records
            .len()
    });
    let hint = SourceHint::new(Format::Json, time::OffsetDateTime::now_utc());
    let text_hint = SourceHint::new(Format::Auto, time::OffsetDateTime::now_utc());
    let lines: Vec<&str> = body.lines().collect();
    measure("normalise only", &mut || {
        for line in &lines {
            if line.starts_with('"') {
                let text: String = serde_json::from_str(line).unwrap();
                std::hint::black_box(normalise(text.as_bytes(), &text_hint).unwrap());
            } else {
                std::hint::black_box(normalise(line.as_bytes(), &hint).unwrap());
            }
        }
        lines.len()
    });
    let events: Vec<_> = lines
        .iter()
        .filter(|l| !l.starts_with('"'))
        .map(|line| normalise(line.as_bytes(), &hint).unwrap())
        .collect();
    measure("serialise only, serde_json", &mut || {
        for event in &events {
            std::hint::black_box(serde_json::to_vec(event).unwrap());
        }
        events.len()
    });
    measure("serialise only, encode_event", &mut || {
        for event in &events {
            let id = nigehban_ingest::new_event_id();
            std::hint::black_box(nigehban_ingest::encode_event(id, event).unwrap());
        }
        events.len()
    });
}

/// The bus alone with intake's payloads: requests prepared once, published
/// over and over (the ceiling the HTTP intake can reach on this disk).
async fn bus_scenario(concurrency: usize, truncate_to: Option<usize>, seconds: f64) {
    use nigehban_ingest::{HttpLimits, RequestContext, prepare_ndjson};
    let dir = bench_dir();
    let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
        .await
        .unwrap();
    let stamp = SensorStamp::new("org-telecom-042", "ids-edge-1");
    let body = request_body(0);
    let context = RequestContext {
        stamp: &stamp,
        format: None,
        log_name: None,
        source_address: None,
        received_at: std::time::SystemTime::now(),
        idempotency_key: None,
    };
    let mut records = prepare_ndjson(body.as_bytes(), None, &HttpLimits::default(), &context)
        .unwrap()
        .records;
    if let Some(len) = truncate_to {
        // Calibration: the same records with payloads cut to `len` bytes.
        for record in &mut records {
            record.payload.truncate(len);
        }
    }
    let records = Arc::new(records);
    let payload: usize = records.iter().map(|r| r.payload.len()).sum::<usize>() / records.len();
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (bus, records) = (bus.clone(), records.clone());
        let (stop, counting, accepted) = (stop.clone(), counting.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ack = bus.publish(&records).await.unwrap();
                if counting.load(Ordering::Relaxed) {
                    accepted.fetch_add(ack.records, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let events = accepted.load(Ordering::Relaxed) as f64;
    println!(
        "bus-only  publishers={concurrency:<3} payload={payload}B {:>9.0} events/s durable  {:>6.1} MB/s payload",
        events / elapsed,
        events * payload as f64 / elapsed / 1e6
    );
    bus.close().await.unwrap();
}

fn syslog_message(i: usize) -> String {
    format!(
        "<165>1 2024-03-15T10:22:14.{:06}Z fw{:02}.example.org sshd {} AUTH [origin ip=\"192.0.2.{}\" software=\"openssh\"][meta sequenceId=\"{}\"] Failed password for invalid user admin from 203.0.113.{} port {} ssh2 {}",
        i % 1_000_000,
        i % 50,
        4000 + i % 1000,
        i % 250,
        i,
        i % 250,
        40000 + i % 20000,
        "x".repeat(200)
    )
}

async fn syslog_scenario(connections: usize, seconds: f64) {
    let dir = bench_dir();
    let directory = StaticSensorDirectory::new().with_address(
        IpAddr::from([127, 0, 0, 1]),
        SensorStamp::new("org-telecom-042", "relay-1"),
    );
    let (bus, intake) = open(&dir, directory).await;
    let listeners = intake
        .start_syslog(SyslogConfig {
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            ..SyslogConfig::default()
        })
        .await
        .unwrap();
    let address = listeners.tcp_address().unwrap();
    // One pre-built buffer of octet-counted frames per client, sent over and over.
    let mut wire = Vec::new();
    for i in 0..2_000 {
        let message = syslog_message(i);
        wire.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
    }
    let average = wire.len() / 2_000;
    let wire = Bytes::from(wire);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (wire, stop) = (wire.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                if stream.write_all(&wire).await.is_err() {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let accepted = |intake: &BenchIntake| intake.metrics().transports[1].accepted;
    let before = accepted(&intake);
    let writes_before = bus.metrics().await.unwrap().durable_writes;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let events = (accepted(&intake) - before) as f64;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let writes = bus.metrics().await.unwrap().durable_writes - writes_before;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.abort();
    }
    listeners.shutdown(Duration::from_secs(30)).await;
    let latency = intake.metrics().publish_latency;
    println!(
        "syslog-tcp connections={connections:<3} avg_message={average}B {:>9.0} events/s durable  {:>6.1} MB/s  {:>6.0} fsyncs/s  mean publish {:.1} ms  cpu {:.2} cores (senders included)  {:>9.0} events per CPU-second",
        events / elapsed,
        events * average as f64 / elapsed / 1e6,
        writes as f64 / elapsed,
        latency.sum_seconds / latency.count.max(1) as f64 * 1e3,
        cpu / elapsed,
        events / cpu.max(1e-9)
    );
    bus.close().await.unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; a further argument picks scenarios.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seconds = seconds();
    if wanted("prepare") {
        prepare_scenario(seconds.min(3.0));
    }
    runtime.block_on(async {
        if wanted("http") {
            for (concurrency, gzip) in [(1, false), (4, false), (8, false), (4, true)] {
                http_scenario(concurrency, gzip, seconds).await;
            }
        }
        if wanted("bus-only") {
            bus_scenario(4, None, seconds).await;
            bus_scenario(4, Some(500), seconds).await;
        }
        if wanted("syslog-tcp") {
            for connections in [1, 4, 16] {
                syslog_scenario(connections, seconds).await;
            }
        }
    });
}
