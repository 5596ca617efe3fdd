//! Telemetry end to end through the real `nigehban` binary: a crash test
//! (`kill -9` while 200,000 events arrive over HTTP, on the embedded bus, and
//! on NATS JetStream where nats-server is killed too; `NIGEHBAN_TEST_SEED`
//! replays a run's kill point), syslog from util-linux `logger` over UDP and TCP, from
//! `rsyslogd` relaying over UDP, TCP and TLS, and every file of the corpus sent
//! with `nigehban ingest`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/nats.rs"]
mod nats;
#[path = "support/server.rs"]
mod server;

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use nigehban_testkit::Need;
use serde_json::{Value, json};

use nats::NatsServer;
use server::{
    PASSWORD, Server, Session, create_administrator, free_port, http, nigehban, register_sensor,
    try_http, wait_for_port,
};

/// A platform set up for telemetry: an administrator's API token and a sensor's ingest token.
struct Setup {
    admin_token: String,
    /// An analyst of the national CERT (administrators do not triage alerts).
    analyst_token: String,
    sensor_token: String,
    sensor_id: String,
}

/// Signs `chief` in, makes an API token, and registers a sensor (`sensor` is its JSON).
fn set_up(server: &Server, sensor: Value) -> Setup {
    let (session, _) = Session::sign_in(server.address, "chief", PASSWORD);
    let admin_token = session.api_token(server.address, &json!({"name": "e2e"}));
    let analyst_token = session.api_token(
        server.address,
        &json!({"name": "e2e analyst", "role": "analyst"}),
    );
    let sensor = register_sensor(server.address, &admin_token, &sensor);
    Setup {
        admin_token,
        analyst_token,
        sensor_token: sensor.token,
        sensor_id: sensor.id,
    }
}

/// Searches events (as the administrator) until `want` match or `timeout` passes.
fn search_until(
    server: &Server,
    token: &str,
    query: &str,
    want: usize,
    timeout: Duration,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = http(
            server.address,
            "GET",
            &format!("/api/v1/events?{query}"),
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
        let json = answer.json();
        let found = json["items"].as_array().map_or(0, Vec::len);
        if found >= want || Instant::now() > deadline {
            return json;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until the search consumer has acknowledged everything on the bus, i.e.
/// every event is committed to the index (read from `/metrics`).
fn wait_indexed(server: &Server, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let metrics = http(server.address, "GET", "/metrics", &[], b"");
        let text = String::from_utf8_lossy(&metrics.body).into_owned();
        let lag = text
            .lines()
            .find(|l| l.starts_with("nigehban_bus_consumer_lag{consumer=\"search\"}"))
            .map(str::to_owned);
        if lag.as_deref().is_some_and(|l| l.ends_with(" 0")) {
            return;
        }
        last = lag.unwrap_or(last);
        assert!(Instant::now() < deadline, "search still behind: {last}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The crash test's seed: `NIGEHBAN_TEST_SEED` when given (to replay a run),
/// else a fresh one; printed either way so that any run can be replayed.
fn crash_seed() -> u64 {
    let seed = match std::env::var("NIGEHBAN_TEST_SEED") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "NIGEHBAN_TEST_SEED={text:?} is not a number from 0 to {}",
                u64::MAX
            )
        }),
        Err(_) => random_seed(),
    };
    println!("crash test: NIGEHBAN_TEST_SEED={seed} (set it to replay this kill point)");
    seed
}

/// Where the crash test kills, from its seed: after a number of acknowledged
/// batches (from a few to nearly all), plus a part of a request's time, so
/// that the kill lands mid-request.
fn kill_point(seed: u64) -> (usize, Duration) {
    let after_batches = 5 + usize::try_from(seed % 180).unwrap_or(0);
    let delay = Duration::from_millis((seed >> 20) % 40);
    (after_batches, delay)
}

#[test]
fn the_kill_point_follows_the_seed() {
    assert_eq!(kill_point(0), (5, Duration::ZERO));
    // (17 << 20) + 149 is 1 modulo 180, and 17 above bit 20.
    assert_eq!(kill_point((17 << 20) + 149), (6, Duration::from_millis(17)));
    // Every seed lands the kill while batches are still being sent.
    for seed in [u64::MAX, 179, 12_345_678_901] {
        let (after, delay) = kill_point(seed);
        assert!((5..185).contains(&after) && delay < Duration::from_millis(40));
    }
}

/// A pseudo-random number from the clock and the process (no extra crate needed).
fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    hasher.finish()
}

const CRASH_EVENTS: usize = 200_000;
const CRASH_BATCH: usize = 1_000;

/// The NDJSON body of batch `n`: events `n*CRASH_BATCH ..` with their number in the message.
fn crash_batch(n: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(CRASH_BATCH * 100);
    for seq in n * CRASH_BATCH..(n + 1) * CRASH_BATCH {
        writeln!(
            body,
            "{{\"@timestamp\":\"2024-05-01T00:00:00Z\",\"message\":\"crash-{seq:06}\",\"host\":\"crash-sender\"}}"
        )
        .unwrap();
    }
    body
}

/// Sends every batch not yet acknowledged, from two connections at a time;
/// returns when all are acknowledged or the server stopped answering.
fn send_batches(address: SocketAddr, token: &str, acked: &mut [bool], progress: &AtomicUsize) {
    let pending: Vec<usize> = (0..acked.len()).filter(|n| !acked[*n]).collect();
    let (done_tx, done_rx) = mpsc::channel::<(usize, bool)>();
    let halves: Vec<Vec<usize>> = vec![
        pending.iter().copied().step_by(2).collect(),
        pending.iter().copied().skip(1).step_by(2).collect(),
    ];
    std::thread::scope(|scope| {
        for half in halves {
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                for n in half {
                    let key = format!("crash-batch-{n}");
                    let authorization = format!("Bearer {token}");
                    let answer = try_http(
                        address,
                        "POST",
                        "/api/v1/ingest",
                        &[
                            ("Authorization", &authorization),
                            ("Content-Type", "application/x-ndjson"),
                            ("Idempotency-Key", &key),
                        ],
                        &crash_batch(n),
                    );
                    match answer {
                        Ok(answer) if answer.status == 202 => {
                            let json = answer.json();
                            assert_eq!(json["accepted"], CRASH_BATCH, "{}", answer.text());
                            progress.fetch_add(1, Ordering::SeqCst);
                            let _ = done_tx.send((n, true));
                        }
                        Ok(answer) if answer.status == 503 => {
                            // Busy: counted as not acknowledged, resent later.
                            let _ = done_tx.send((n, false));
                        }
                        Ok(answer) => panic!("batch {n}: {} {}", answer.status, answer.text()),
                        Err(_) => {
                            // The server is gone: this batch and the rest are not acknowledged.
                            let _ = done_tx.send((n, false));
                            return;
                        }
                    }
                }
            });
        }
        drop(done_tx);
        for (n, ok) in done_rx {
            if ok {
                acked[n] = true;
            }
        }
    });
}

/// The crash test on one bus: send, `kill -9` the server (and the test's own
/// nats-server, if given) at the seed's moment, restart, resend what was not
/// acknowledged, and find every event exactly once.
fn crash_test(bus_args: &[&str], env: &[(&str, &str)], mut nats: Option<NatsServer>) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, bus_args, env);
    let setup = set_up(
        &server,
        json!({"name": "crash sender", "kind": "application", "expected_formats": ["json"]}),
    );
    let batches = CRASH_EVENTS / CRASH_BATCH;
    let mut acked = vec![false; batches];
    let seed = crash_seed();
    let (kill_after_batches, kill_delay) = kill_point(seed);
    // Which dies first, when both do, follows the seed too.
    let nats_first = (seed >> 40).is_multiple_of(2);
    println!(
        "crash test: kill -9 after {kill_after_batches} batches and {kill_delay:?}{}",
        match (&nats, nats_first) {
            (None, _) => "",
            (Some(_), true) => ", nats-server first, then the server",
            (Some(_), false) => ", the server first, then nats-server",
        }
    );
    let address = server.address;
    let token = setup.sensor_token.clone();
    let progress = Arc::new(AtomicUsize::new(0));
    let to_kill = nats.take();
    let killer = {
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            while progress.load(Ordering::SeqCst) < kill_after_batches {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(kill_delay);
            match to_kill {
                None => {
                    server.kill();
                    None
                }
                Some(nats) => {
                    // Keep what is needed to start it again on the same port and store.
                    let again = (nats.program.clone(), nats.store.clone(), nats.port);
                    if nats_first {
                        nats.kill();
                        server.kill();
                    } else {
                        server.kill();
                        nats.kill();
                    }
                    Some(again)
                }
            }
        })
    };
    send_batches(address, &token, &mut acked, &progress);
    let killed_nats = killer.join().unwrap();
    let acked_before = acked.iter().filter(|a| **a).count();
    println!("crash test: {acked_before} of {batches} batches acknowledged before the kill");
    assert!(
        acked_before >= kill_after_batches && acked_before < batches,
        "the kill did not land during the run ({acked_before} of {batches} acknowledged)"
    );

    // nats-server first (on its port and store), then the server.
    let _nats =
        killed_nats.map(|(program, store, port)| NatsServer::start_on(&program, &store, port));
    let server = Server::start_with(&data_dir, bus_args, env);
    let mut rounds = 0;
    while acked.iter().any(|a| !a) {
        rounds += 1;
        assert!(rounds < 20, "batches still refused after {rounds} rounds");
        send_batches(server.address, &token, &mut acked, &progress);
    }
    wait_indexed(&server, Duration::from_secs(600));
    let found = search_until(
        &server,
        &setup.admin_token,
        "limit=1000000&fields=message&filter=host.name%3Dcrash-sender",
        CRASH_EVENTS,
        Duration::from_secs(60),
    );
    let items = found["items"].as_array().unwrap();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for item in items {
        let message = item["fields"]["message"].as_str().unwrap();
        *seen.entry(message).or_default() += 1;
        assert_eq!(item["sensor"], setup.sensor_id.as_str());
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        duplicates.is_empty(),
        "events found more than once: {duplicates:?}"
    );
    let missing: Vec<usize> = (0..CRASH_EVENTS)
        .filter(|seq| !seen.contains_key(format!("crash-{seq:06}").as_str()))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged events missing from search, e.g. {missing:?}"
    );
    assert_eq!(items.len(), CRASH_EVENTS);
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

#[test]
fn crash_test_on_the_embedded_bus_loses_and_duplicates_nothing() {
    crash_test(&[], &[], None);
}

/// On JetStream both the server and nats-server are killed: a nats-server of
/// the test's own, with its own store, so that the shared one is untouched.
#[test]
fn crash_test_on_nats_jetstream_loses_and_duplicates_nothing() {
    let Some(program) = nigehban_testkit::nats_server_program() else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&program, store.path());
    let url = nats.url();
    crash_test(&["--bus", &url], &[], Some(nats));
}

const BACKUP_BATCH: usize = 200;

/// The NDJSON body of backup-test batch `n`; `batch` is a member no ECS field maps, so each
/// batch is one filter (`batch=b<n>`).
fn backup_batch(n: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(BACKUP_BATCH * 110);
    for i in 0..BACKUP_BATCH {
        writeln!(
            body,
            "{{\"@timestamp\":\"2024-05-01T00:00:00Z\",\"message\":\"backup-{n}-{i}\",\"host\":\"backup-sender\",\"batch\":\"b{n}\"}}"
        )
        .unwrap();
    }
    body
}

/// The ids of the events of batch `n` that `server` finds (the whole answer, sorted).
fn batch_ids(server: &Server, token: &str, n: usize) -> Vec<String> {
    let found = search_until(
        server,
        token,
        &format!("limit=1000&fields=message&filter=batch%3Db{n}"),
        BACKUP_BATCH,
        Duration::from_secs(5),
    );
    let mut ids: Vec<String> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Issue 8, item 3: a backup held only the store (a restored server had no events), and a
/// restore replaced the store under a server that was running on the directory.
#[test]
fn a_backup_taken_during_intake_restores_every_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &[], &[]);
    let setup = set_up(
        &server,
        json!({"name": "backup sender", "kind": "application", "expected_formats": ["json"]}),
    );

    // Intake runs without a pause from before the backup until after it.
    let acked: Arc<std::sync::Mutex<Vec<usize>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
        let (address, token) = (server.address, setup.sensor_token.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let answer = http(
                    address,
                    "POST",
                    "/api/v1/ingest",
                    &[
                        ("Authorization", &format!("Bearer {token}")),
                        ("Content-Type", "application/x-ndjson"),
                        ("Idempotency-Key", &format!("backup-batch-{n}")),
                    ],
                    &backup_batch(n),
                );
                match answer.status {
                    202 => {
                        assert_eq!(answer.json()["accepted"], BACKUP_BATCH, "{}", answer.text());
                        acked.lock().unwrap().push(n);
                        n += 1;
                    }
                    // Busy: the same batch again.
                    503 => std::thread::sleep(Duration::from_millis(50)),
                    other => panic!("batch {n}: {other} {}", answer.text()),
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 10 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every batch acknowledged before the backup starts must come back.
    let before: Vec<usize> = acked.lock().unwrap().clone();
    let backup = dir.path().join("nigehban.backup");
    let output = nigehban()
        .args(["backup", "--data-dir"])
        .arg(&data_dir)
        .arg("--to")
        .arg(&backup)
        .output()
        .unwrap();
    let during = acked.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "backup failed: {output:?}");
    assert!(
        during > before.len(),
        "intake went on while the backup ran ({} then {during} batches)",
        before.len()
    );
    assert!(stdout.contains("backup written to"), "{stdout}");
    assert!(stdout.contains("on the embedded event bus"), "{stdout}");
    assert!(stdout.contains("audit chain head seq"), "{stdout}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("INFO"),
        "the result is printed, not logged: {output:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the backup holds password hashes: {mode:o}"
        );
    }

    // A restore into the directory the server runs on is refused, --force or not, and
    // changes nothing there.
    for force in [false, true] {
        let mut restore = nigehban();
        restore
            .args(["restore", "--from"])
            .arg(&backup)
            .arg("--data-dir")
            .arg(&data_dir);
        if force {
            restore.arg("--force");
        }
        let output = restore.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("in use by a running nigehban server"),
            "{stderr}"
        );
        assert!(!data_dir.join(".restoring").exists());
    }
    wait_indexed(&server, Duration::from_secs(300));
    let total = acked.lock().unwrap().len();
    let mut original: HashMap<usize, Vec<String>> = HashMap::new();
    for &n in &before {
        let ids = batch_ids(&server, &setup.admin_token, n);
        assert_eq!(ids.len(), BACKUP_BATCH, "batch {n} on the running server");
        original.insert(n, ids);
    }
    let everything = search_until(
        &server,
        &setup.admin_token,
        "limit=1000000&fields=message&filter=host.name%3Dbackup-sender",
        total * BACKUP_BATCH,
        Duration::from_secs(5),
    );
    assert_eq!(
        everything["items"].as_array().unwrap().len(),
        total * BACKUP_BATCH,
        "the running server kept every event"
    );

    // Into a fresh directory: the store and the events come back, and the index is rebuilt.
    // The audit key is kept apart from backups: the operator puts it back first.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(data_dir.join("audit.key"), restored.join("audit.key")).unwrap();
    let output = nigehban()
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "restore failed: {output:?}");
    assert!(stdout.contains("on the embedded event bus"), "{stdout}");
    assert!(stdout.contains("audit log intact"), "{stdout}");
    // Once more into the same (now not empty) directory: --force is named.
    let output = nigehban()
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");

    let copy = Server::start_with(&restored, &[], &[]);
    wait_indexed(&copy, Duration::from_secs(300));
    for &n in &before {
        assert_eq!(
            batch_ids(&copy, &setup.admin_token, n),
            original[&n],
            "batch {n}, acknowledged before the backup began, on the restored server"
        );
    }
    let restored_all = search_until(
        &copy,
        &setup.admin_token,
        "limit=1000000&fields=message&filter=host.name%3Dbackup-sender",
        before.len() * BACKUP_BATCH,
        Duration::from_secs(5),
    );
    let count = restored_all["items"].as_array().unwrap().len();
    assert!(
        count >= before.len() * BACKUP_BATCH && count <= total * BACKUP_BATCH,
        "{count} events restored; {} acknowledged before the backup, {} in all",
        before.len() * BACKUP_BATCH,
        total * BACKUP_BATCH
    );
    assert!(copy.terminate().success(), "serve did not stop cleanly");
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

/// The machine's host name, as `logger` writes it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn syslog_from_logger_arrives_with_pri_host_app_time_and_structured_data() {
    if nigehban_testkit::program(Need::Logger, "logger", "bsdutils").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(
        &data_dir,
        &["--syslog-udp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0"],
        &[],
    );
    let setup = set_up(
        &server,
        json!({"name": "loopback relay", "kind": "syslog_relay", "source_addresses": ["127.0.0.1"]}),
    );
    let started = time_now();
    for (transport, flag) in [("udp", "--udp"), ("tcp", "--tcp")] {
        let address = server.syslog[transport];
        let mut command = Command::new("logger");
        command
            .args([flag, "-n", "127.0.0.1", "-P"])
            .arg(address.port().to_string())
            .args([
                "--rfc5424",
                "-t",
                "nsoc-probe",
                "-p",
                "local0.warning",
                "--sd-id",
                "probe@32473",
                "--sd-param",
                &format!("transport=\"{transport}\""),
            ]);
        if transport == "tcp" {
            command.arg("--octet-count");
        }
        let status = command
            .arg(format!("syslog probe over {transport}"))
            .status()
            .unwrap();
        assert!(status.success(), "logger over {transport}: {status}");
    }
    let host = host_name();
    for transport in ["udp", "tcp"] {
        let found = search_until(
            &server,
            &setup.admin_token,
            &format!("message=syslog%20probe%20over%20{transport}"),
            1,
            Duration::from_secs(30),
        );
        let items = found["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{transport}: {found}");
        let item = &items[0];
        assert_eq!(item["sensor"], setup.sensor_id.as_str());
        let fields = &item["event"]["fields"];
        assert_eq!(fields["log.syslog.priority"], 16 * 8 + 4, "{item}");
        assert_eq!(fields["log.syslog.facility.name"], "local0", "{item}");
        assert_eq!(fields["log.syslog.severity.name"], "warning", "{item}");
        assert_eq!(fields["log.syslog.appname"], "nsoc-probe", "{item}");
        assert_eq!(fields["host.name"], host.as_str(), "{item}");
        assert_eq!(
            fields["log.syslog.structured_data"]["probe@32473"]["transport"], transport,
            "{item}"
        );
        assert_eq!(fields["message"], format!("syslog probe over {transport}"));
        // The sender's own timestamp, with its zone, was read (not the receive time alone).
        let timestamp = item["@timestamp"].as_str().unwrap();
        let at =
            time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!(
            (at - started).whole_seconds().abs() < 120,
            "{timestamp} is not about now"
        );
        assert_eq!(fields["log.syslog.version"], 1, "{item}");
    }
    let metrics = http(server.address, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("nigehban_intake_accepted_total{transport=\"udp\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("nigehban_intake_accepted_total{transport=\"tcp\"} 1"),
        "{text}"
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

#[test]
fn syslog_over_tls_arrives_through_serve() {
    // The `openssl` command line makes the listener's certificate and is the
    // TLS client, so the test exercises serve's TLS settings end to end.
    if !installed(&[(Need::Openssl, "/usr/bin/openssl", "openssl")]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (certificate, key) = self_signed_certificate(dir.path());
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &tls_listener(&certificate, &key), &[]);
    let setup = set_up(
        &server,
        json!({"name": "tls relay", "kind": "syslog_relay", "source_addresses": ["127.0.0.1"]}),
    );
    let message = "<134>1 2026-11-28T03:06:00.123Z fw1.grid.example pf 78 FW [origin@32473 ip=\"10.0.0.1\"] syslog probe over tls";
    let mut client = Command::new("openssl")
        .args(["s_client", "-verify_return_error", "-CAfile"])
        .arg(&certificate)
        .arg("-connect")
        .arg(server.syslog["tls"].to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One octet-counted frame, then end of input: s_client closes the session.
    client
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{} {message}", message.len()).as_bytes())
        .unwrap();
    let sent = client.wait_with_output().unwrap();
    assert!(sent.status.success(), "{sent:?}");

    let found = search_until(
        &server,
        &setup.admin_token,
        "message=syslog%20probe%20over%20tls",
        1,
        Duration::from_secs(30),
    );
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    let item = &items[0];
    assert_eq!(item["sensor"], setup.sensor_id.as_str());
    assert_eq!(item["@timestamp"], "2026-11-28T03:06:00.123Z", "{item}");
    let fields = &item["event"]["fields"];
    assert_eq!(fields["log.syslog.priority"], 134, "{item}");
    assert_eq!(fields["log.syslog.appname"], "pf", "{item}");
    assert_eq!(fields["host.name"], "fw1.grid.example", "{item}");
    assert_eq!(
        fields["log.syslog.structured_data"]["origin@32473"]["ip"], "10.0.0.1",
        "{item}"
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

/// Makes a self-signed certificate for 127.0.0.1 with `openssl`: (certificate, key).
fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let certificate = dir.join("server.pem");
    let key = dir.join("server.key");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    (certificate, key)
}

/// The flags of a syslog TLS listener on a free loopback port with this certificate and key.
fn tls_listener<'a>(certificate: &'a Path, key: &'a Path) -> [&'a str; 6] {
    [
        "--syslog-tls",
        "127.0.0.1:0",
        "--syslog-tls-certificate",
        certificate.to_str().unwrap(),
        "--syslog-tls-key",
        key.to_str().unwrap(),
    ]
}

/// Whether every program at these paths is installed; the test is skipped (or
/// fails when services are required) naming the Debian package of the first that is not.
#[track_caller]
fn installed(programs: &[(Need, &str, &str)]) -> bool {
    programs
        .iter()
        .all(|(need, path, package)| nigehban_testkit::program(*need, path, package).is_some())
}

/// A running rsyslogd relaying from a TCP input to `action`, killed when dropped.
struct Rsyslog {
    child: Child,
    input_port: u16,
    _dir: tempfile::TempDir,
}

impl Rsyslog {
    /// Starts rsyslogd with an imtcp input on a free loopback port and one forwarding
    /// action; `global` goes into its `global()` statement.
    fn start(global: &str, action: &str) -> Rsyslog {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let input_port = free_port();
        let config = format!(
            "global(workDirectory=\"{}\" {global})\n\
             module(load=\"imtcp\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{input_port}\")\n\
             {action}\n",
            work.display()
        );
        let config_path = dir.path().join("rsyslog.conf");
        std::fs::write(&config_path, &config).unwrap();
        let check = Command::new(RSYSLOGD)
            .args(["-N1", "-f"])
            .arg(&config_path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "rsyslogd refused the configuration:\n{config}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(RSYSLOGD)
            .args(["-n", "-f"])
            .arg(&config_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let rsyslog = Rsyslog {
            child,
            input_port,
            _dir: dir,
        };
        wait_for_port(input_port, "rsyslogd", Duration::from_secs(15));
        rsyslog
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
const RSYSLOG_OSSL: &str = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so";

#[test]
fn syslog_relayed_by_rsyslog_arrives_through_serve_over_udp_tcp_and_tls() {
    if !installed(&[
        (Need::Logger, "/usr/bin/logger", "bsdutils"),
        (Need::Rsyslog, RSYSLOGD, "rsyslog"),
        (Need::Rsyslog, RSYSLOG_OSSL, "rsyslog-openssl"),
        (Need::Openssl, "/usr/bin/openssl", "openssl"),
    ]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (certificate, key) = self_signed_certificate(dir.path());
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let mut listeners = vec!["--syslog-udp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0"];
    listeners.extend(tls_listener(&certificate, &key));
    let server = Server::start_with(&data_dir, &listeners, &[]);
    let setup = set_up(
        &server,
        json!({"name": "rsyslog relay", "kind": "syslog_relay", "source_addresses": ["127.0.0.1"]}),
    );
    let started = time_now();
    for transport in ["udp", "tcp", "tls"] {
        let port = server.syslog[transport].port();
        let (global, action) = match transport {
            "udp" => (
                String::new(),
                format!(
                    "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"udp\" \
                     template=\"RSYSLOG_SyslogProtocol23Format\")"
                ),
            ),
            "tcp" => (
                String::new(),
                format!(
                    "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
                     template=\"RSYSLOG_SyslogProtocol23Format\" TCP_Framing=\"octet-counted\")"
                ),
            ),
            _ => (
                // rsyslog checks serve's certificate against it (self-signed: its own CA).
                format!("DefaultNetstreamDriverCAFile=\"{}\"", certificate.display()),
                format!(
                    "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" \
                     template=\"RSYSLOG_SyslogProtocol23Format\" TCP_Framing=\"octet-counted\" \
                     StreamDriver=\"ossl\" StreamDriverMode=\"1\" \
                     StreamDriverAuthMode=\"x509/certvalid\")"
                ),
            ),
        };
        let rsyslog = Rsyslog::start(&global, &action);
        let status = Command::new("logger")
            .args(["--server", "127.0.0.1", "--port"])
            .arg(rsyslog.input_port.to_string())
            .args([
                "--tcp",
                "--octet-count",
                "--rfc5424",
                "-t",
                "vpn-gw",
                "-p",
                "local4.notice",
                "--sd-id",
                "relay@32473",
                "--sd-param",
                &format!("via=\"{transport}\""),
            ])
            .arg(format!("relayed by rsyslog over {transport}"))
            .status()
            .unwrap();
        assert!(status.success(), "logger to rsyslog: {status}");
        let found = search_until(
            &server,
            &setup.admin_token,
            &format!("message=relayed%20by%20rsyslog%20over%20{transport}"),
            1,
            Duration::from_secs(30),
        );
        drop(rsyslog);
        let items = found["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{transport}: {found}");
        let item = &items[0];
        assert_eq!(item["sensor"], setup.sensor_id.as_str());
        let fields = &item["event"]["fields"];
        // local4 (20) * 8 + notice (5)
        assert_eq!(fields["log.syslog.priority"], 165, "{item}");
        assert_eq!(fields["log.syslog.appname"], "vpn-gw", "{item}");
        assert_eq!(fields["host.name"], host_name().as_str(), "{item}");
        assert_eq!(
            fields["log.syslog.structured_data"]["relay@32473"]["via"], transport,
            "{item}"
        );
        let timestamp = item["@timestamp"].as_str().unwrap();
        let at =
            time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!(
            (at - started).whole_seconds().abs() < 120,
            "{transport}: {timestamp} is not about now"
        );
    }
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// The corpus of outside data, or `None` (skipped, or failed when required) when absent.
fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus()
}

/// Every data file under `dir` (licences, source notes, read-mes and JSON schemas left out).
fn data_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        if path.is_dir() {
            data_files(&path, files);
        } else if !(name.starts_with("license")
            || name.starts_with("source")
            || name.starts_with("readme")
            || name.ends_with(".md")
            || name == "schema.json")
        {
            files.push(path);
        }
    }
}

#[test]
fn every_corpus_file_ingests_with_broken_lines_reported_and_resumes() {
    let Some(corpus) = corpus() else {
        return;
    };
    let mut files = Vec::new();
    data_files(&corpus.join("events"), &mut files);
    assert!(files.len() > 100, "{} files", files.len());
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &[], &[]);
    let setup = set_up(&server, json!({"name": "field kit", "kind": "other"}));
    let journal = dir.path().join("ingest.journal");
    let run = || {
        nigehban()
            .args(["ingest", "--server", &server.url(), "--journal"])
            .arg(&journal)
            .env("NIGEHBAN_INGEST_TOKEN", &setup.sensor_token)
            .args(&files)
            .output()
            .unwrap()
    };
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // Some corpus lines are broken on purpose: refused and listed, the rest kept.
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    for file in &files {
        assert!(
            stdout.contains(&format!("{}: read as", file.display())),
            "{} not reported:\n{stdout}",
            file.display()
        );
    }
    let broken = files
        .iter()
        .find(|f| f.ends_with("jsonparse_eve_broken1.json"))
        .unwrap();
    let broken_report: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{}:", broken.display())))
        .take_while(|l| l.starts_with(&format!("{}:", broken.display())) || l.starts_with("  "))
        .collect();
    assert!(
        broken_report.iter().any(|l| l.contains("refused: line 2")),
        "{broken_report:?}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("nigehban: ") && l.contains(" events sent, "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let sent: usize = summary
        .trim_start_matches("nigehban: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let good_broken_lines = broken_report[0]
        .split("; ")
        .nth(1)
        .and_then(|part| part.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap();
    assert!(good_broken_lines > 0, "{broken_report:?}");
    assert!(sent > 10_000, "{summary}");
    // Every accepted event is searchable.
    wait_indexed(&server, Duration::from_secs(300));
    let found = search_until(
        &server,
        &setup.admin_token,
        "limit=1000000&fields=event.module",
        sent,
        Duration::from_secs(300),
    );
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), sent, "{summary}");
    let modules: std::collections::BTreeSet<&str> = items
        .iter()
        .filter_map(|i| i["fields"]["event.module"].as_str())
        .collect();
    // (The syslog-cef files are JSON test vectors, so they arrive as generic JSON.)
    for module in ["suricata", "zeek", "windows", "generic"] {
        assert!(modules.contains(module), "no {module} events: {modules:?}");
    }
    // Run again: the journal says everything was sent; nothing is sent twice.
    let again = run();
    let stdout = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(
        stdout.contains("nigehban: 0 events sent, 0 refused"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("already sent by an earlier run").count(),
        files.len(),
        "{stdout}"
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

#[test]
fn ingest_refuses_a_bad_token_and_a_missing_server_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.json");
    std::fs::write(&file, "{\"message\":\"x\"}\n").unwrap();
    let output = nigehban()
        .args(["ingest", "--server", "ftp://nowhere", "--token", "ngs_x"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("http:// or https://"),
        "{output:?}"
    );
    let output = nigehban()
        .args(["ingest", "--server", "http://127.0.0.1:9"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("NIGEHBAN_INGEST_TOKEN"),
        "{output:?}"
    );
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &[], &[]);
    let output = nigehban()
        .args([
            "ingest",
            "--server",
            &server.url(),
            "--token",
            "ngs_unknown",
            "--journal",
        ])
        .arg(dir.path().join("journal"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("refused the ingest token"),
        "{output:?}"
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

// ---- Regression (issue 8, item 9): `nigehban ingest`, broken JSON lines and the journal per sensor ----

#[test]
fn ingest_reports_broken_json_lines_and_sends_a_file_again_for_another_sensor() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &[], &[]);
    let first = set_up(&server, json!({"name": "kit one", "kind": "other"}));
    let registered = http(
        server.address,
        "POST",
        "/api/v1/sensors",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {}", first.admin_token)),
        ],
        br#"{"name":"kit two","kind":"other"}"#,
    );
    assert_eq!(registered.status, 201, "{}", registered.text());
    let second_token = registered.json()["secret"].as_str().unwrap().to_owned();
    let second_id = registered.json()["sensor"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let eve = dir.path().join("eve.json");
    std::fs::write(
        &eve,
        "{\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"n\":1}\n\
         {\"event_type\":\"dns\",\"src_ip\":\"10.0.0.2\",\"n\":2}\n\
         \"dest_port\":53,\"proto\":\"UDP\"}\n\
         torn line, not JSON\n\
         {\"event_type\":\"dns\",\"src_ip\":\"10.0.0.3\",\"n\":3}\n",
    )
    .unwrap();
    let syslog = dir.path().join("messages");
    std::fs::write(
        &syslog,
        "<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for root\n\
         Mar 15 10:22:15 web01 cron[77]: job done\n",
    )
    .unwrap();
    let journal = dir.path().join("ingest.journal");
    let run = |token: &str| {
        let output = nigehban()
            .args(["ingest", "--server", &server.url(), "--journal"])
            .arg(&journal)
            .env("NIGEHBAN_INGEST_TOKEN", token)
            .arg(&eve)
            .arg(&syslog)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout)
    };

    // The broken lines of a JSON-lines file are refused with their numbers;
    // the syslog file is still sent as text.
    let (code, stdout) = run(&first.sensor_token);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{}: read as JSON lines; 3 events sent, 2 refused",
            eve.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("  refused: line 3: "), "{stdout}");
    assert!(stdout.contains("  refused: line 4: "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{}: read as text lines; 2 events sent",
            syslog.display()
        )),
        "{stdout}"
    );

    // Another sensor's token sends the same files again, as that sensor's data.
    let (_, stdout) = run(&second_token);
    assert!(!stdout.contains("already sent"), "{stdout}");
    assert!(
        stdout.contains("nigehban: 5 events sent, 2 refused"),
        "{stdout}"
    );
    // The first sensor's run is remembered.
    let (code, stdout) = run(&first.sensor_token);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(
        stdout.matches("already sent by an earlier run").count(),
        2,
        "{stdout}"
    );
    let kept = std::fs::read_to_string(&journal).unwrap();
    assert!(
        !kept.contains(&first.sensor_token) && !kept.contains(&second_token),
        "the journal holds no token: {kept}"
    );

    wait_indexed(&server, Duration::from_secs(60));
    let found = search_until(
        &server,
        &first.admin_token,
        "limit=100",
        10,
        Duration::from_secs(60),
    );
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{found}");
    for sensor in [&first.sensor_id, &second_id] {
        let theirs: Vec<&Value> = items
            .iter()
            .filter(|i| i["sensor"] == sensor.as_str())
            .collect();
        assert_eq!(theirs.len(), 5, "{sensor}: {found}");
    }
    assert!(
        !found.to_string().contains("torn line"),
        "no broken line arrived as a text event: {found}"
    );
    assert!(server.terminate().success(), "serve did not stop cleanly");
}

/// Every alert `token`'s holder sees, all pages: (rule id → matches folded into its alerts).
fn alert_counts(server: &Server, token: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/alerts?limit=1000&cursor={cursor}"),
            None => "/api/v1/alerts?limit=1000".to_owned(),
        };
        let page = http(
            server.address,
            "GET",
            &path,
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        );
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        for alert in page["items"].as_array().unwrap() {
            *counts
                .entry(alert["rule"]["id"].as_str().unwrap().to_owned())
                .or_default() += alert["event_count"].as_u64().unwrap();
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return counts,
        }
    }
}

/// Issue 9's first promise through the real binary: every public SigmaHQ
/// regression EVTX, sent with `nigehban ingest` to a server running live
/// detection with the SigmaHQ rules, raises alerts for exactly the rules, and
/// with exactly the match counts, that `nigehban hunt` reports for the same
/// files.
#[test]
fn live_detection_raises_the_alerts_hunt_reports_for_every_sigmahq_regression_evtx() {
    let Some(corpus) = corpus() else {
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![corpus.join("sigma/regression")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 120, "{} regression EVTX files", files.len());
    let rule_dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| corpus.join("sigma/rules").join(d))
        .collect();
    let mut rule_args: Vec<String> = Vec::new();
    for dir in &rule_dirs {
        rule_args.push("--rules".into());
        rule_args.push(dir.display().to_string());
    }

    // What the offline hunt finds.
    let hunt = nigehban()
        .args(["hunt", "--quiet", "--format", "jsonl"])
        .args(&rule_args)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        hunt.status.success(),
        "{}",
        String::from_utf8_lossy(&hunt.stderr)
    );
    let mut hunted: BTreeMap<String, u64> = BTreeMap::new();
    for line in String::from_utf8(hunt.stdout).unwrap().lines() {
        let detection: Value = serde_json::from_str(line).unwrap();
        *hunted
            .entry(detection["rule_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(hunted.len() >= 100, "hunt fired {} rules", hunted.len());

    // The same files through a running server.
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let serve_args: Vec<&str> = rule_args.iter().map(String::as_str).collect();
    let server = Server::start_with(&data_dir, &serve_args, &[]);
    let setup = set_up(&server, json!({"name": "windows fleet", "kind": "other"}));
    let ingest = nigehban()
        .args(["ingest", "--server", &server.url(), "--journal"])
        .arg(dir.path().join("ingest.journal"))
        .env("NIGEHBAN_INGEST_TOKEN", &setup.sensor_token)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        ingest.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&ingest.stdout),
        String::from_utf8_lossy(&ingest.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut raised = alert_counts(&server, &setup.analyst_token);
    while raised != hunted && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        raised = alert_counts(&server, &setup.analyst_token);
    }
    let differ: Vec<String> = hunted
        .keys()
        .chain(raised.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|rule| hunted.get(*rule) != raised.get(*rule))
        .map(|rule| {
            format!(
                "{rule}: hunt {:?}, alerts {:?}",
                hunted.get(rule),
                raised.get(rule)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));

    // The metrics count what was evaluated and name the dearest rules
    // (the second event on the embedded bus is always profiled).
    let metrics =
        String::from_utf8(http(server.address, "GET", "/metrics", &[], b"").body).unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    assert!(value("nigehban_detection_events_evaluated_total") >= 1.0);
    assert!(value("nigehban_detection_matches_total") >= hunted.values().sum::<u64>() as f64);
    let costs: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("nigehban_detection_rule_cost_seconds{"))
        .collect();
    assert!(
        (1..=10).contains(&costs.len()),
        "rule costs on /metrics: {costs:?}"
    );
    assert!(
        costs
            .iter()
            .all(|line| line.contains("rule=\"") && line.contains("title=\""))
    );
    // Where the detection loop's time went, by phase: it matched and stored,
    // and every other phase is on /metrics (`value` panics on a missing one).
    let phase = |name: &str| {
        value(&format!(
            "nigehban_detection_stage_seconds_total{{phase=\"{name}\"}}"
        ))
    };
    assert!(phase("match") > 0.0, "{metrics}");
    assert!(phase("store") > 0.0, "{metrics}");
    for name in ["fetch", "correlate", "acknowledge"] {
        assert!(phase(name) >= 0.0);
    }
}

/// `nigehban rules import` through the real binary against a running
/// `nigehban serve`: the good documents are stored, a broken one is named
/// with its file and line, and an import with nothing usable fails.
#[test]
fn rules_import_stores_good_rules_and_names_the_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = Server::start_with(&data_dir, &[], &[]);
    let setup = set_up(&server, json!({"name": "rules probe", "kind": "other"}));
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("windows")).unwrap();
    let rule = |id: &str, title: &str, event: u32| {
        format!(
            "title: {title}\nid: {id}\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: {event}\n    condition: selection\nlevel: high\n"
        )
    };
    let good = "9a1f0c3e-1111-4c2d-8e3f-000000000001";
    let second = "9a1f0c3e-1111-4c2d-8e3f-000000000002";
    std::fs::write(
        rules.join("windows/good.yml"),
        rule(good, "Failed logon", 4625),
    )
    .unwrap();
    let broken = "title: Broken modifier\nid: 9a1f0c3e-1111-4c2d-8e3f-00000000000b\nlogsource:\n    product: windows\ndetection:\n    selection:\n        EventID|nonsense: 1\n    condition: selection\n";
    let pack = dir.path().join("pack.yml");
    std::fs::write(
        &pack,
        format!("{}---\n{broken}", rule(second, "Logon", 4624)),
    )
    .unwrap();

    let import = nigehban()
        .args(["rules", "import", "--server", &server.url()])
        .arg(&rules)
        .arg(&pack)
        .env("NIGEHBAN_TOKEN", &setup.admin_token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&import.stdout).into_owned();
    assert!(
        import.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let pack_name = pack.display().to_string();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("{pack_name}:1")) && l.contains("Broken modifier")),
        "the broken rule is not named with its place:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("{pack_name}: 1 rule(s), 1 broken")),
        "{stdout}"
    );
    assert!(
        stdout.contains("nigehban: 2 rule(s) imported, 1 broken"),
        "{stdout}"
    );
    let listed = http(
        server.address,
        "GET",
        "/api/v1/rules",
        &[("Authorization", &format!("Bearer {}", setup.analyst_token))],
        b"",
    );
    assert_eq!(listed.status, 200, "{}", listed.text());
    // Beside the built-in starter pack the platform seeds itself with.
    let imported: Vec<serde_json::Value> = listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            !r["source_name"]
                .as_str()
                .unwrap()
                .starts_with("builtin:starter/")
        })
        .cloned()
        .collect();
    let ids: Vec<&str> = imported.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [good, second]);
    let stored = &imported[0];
    assert_eq!(stored["enabled"], true);
    assert!(
        stored["source_name"]
            .as_str()
            .unwrap()
            .ends_with("!windows/good.yml:1"),
        "{stored}"
    );

    // Only broken rules: nothing imported, a failing exit status.
    let only_broken = dir.path().join("broken.yml");
    std::fs::write(&only_broken, broken).unwrap();
    let failed = nigehban()
        .args(["rules", "import", "--disabled", "--server", &server.url()])
        .arg(&only_broken)
        .env("NIGEHBAN_TOKEN", &setup.admin_token)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(String::from_utf8_lossy(&failed.stdout).contains("Broken modifier"));
    // Without a token: told how to give one.
    let no_token = nigehban()
        .args(["rules", "import", "--server", &server.url()])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(!no_token.status.success());
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("NIGEHBAN_TOKEN"));
    // An analyst may not import.
    let analyst = nigehban()
        .args(["rules", "import", "--server", &server.url()])
        .arg(&pack)
        .env("NIGEHBAN_TOKEN", &setup.analyst_token)
        .output()
        .unwrap();
    assert_eq!(analyst.status.code(), Some(2), "{analyst:?}");
    assert!(String::from_utf8_lossy(&analyst.stderr).contains("403"));
    assert!(server.terminate().success(), "serve did not stop cleanly");
}
