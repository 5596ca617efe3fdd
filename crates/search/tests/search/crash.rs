//! Crash safety with real child processes (this test executable, re-run with an env flag):
//! an indexer killed with SIGKILL at a random moment, then reopened, has every event whose
//! bus delivery it acknowledged searchable exactly once.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nigehban_bus::{
    AnyBus, BusError, BusLocation, ConsumerConfig, Delivery, EmbeddedOptions, EventBus,
    EventConsumer, JetStreamOptions,
};
use nigehban_search::{EventIndex, IndexOptions, Indexer, IndexerConfig, TenantScope};

use crate::common::{BASE, TestEvent, drain, id_counts, nats_url, publish, syslog};

const CRASH_DIR: &str = "NIGEHBAN_SEARCH_CRASH_DIR";
const CRASH_NATS_URL: &str = "NIGEHBAN_SEARCH_CRASH_NATS_URL";
const CRASH_STREAM: &str = "NIGEHBAN_SEARCH_CRASH_STREAM";
const TENANT: &str = "bank-01";
const PER_ROUND: usize = 12_000;

/// The consumer's settings: a short ack wait so that JetStream redelivers what a killed
/// child held without waiting 30 s.
fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        ack_wait: Duration::from_secs(2),
        ..ConsumerConfig::default()
    }
}

/// Where the test's index and bus live; the child reads it from its environment.
#[derive(Debug, Clone)]
struct CrashSetup {
    dir: String,
    /// JetStream server URL and stream, or None for the embedded log in `dir`.
    nats: Option<(String, String)>,
}

impl CrashSetup {
    fn from_env() -> Self {
        let dir = std::env::var(CRASH_DIR).expect("run by the crash test");
        let nats = match std::env::var(CRASH_NATS_URL) {
            Ok(url) if !url.is_empty() => Some((url, std::env::var(CRASH_STREAM).unwrap())),
            _ => None,
        };
        CrashSetup { dir, nats }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![(CRASH_DIR, self.dir.clone())];
        if let Some((url, stream)) = &self.nats {
            env.push((CRASH_NATS_URL, url.clone()));
            env.push((CRASH_STREAM, stream.clone()));
        }
        env
    }

    fn location(&self) -> BusLocation {
        match &self.nats {
            Some((url, stream)) => {
                let mut options = JetStreamOptions::new(url.clone());
                options.subject = format!("test.{}", stream.to_lowercase());
                options.stream = stream.clone();
                BusLocation::JetStream(options)
            }
            None => {
                let mut options = EmbeddedOptions::new(&self.dir);
                options.segment_bytes = 256 * 1024;
                BusLocation::Embedded(options)
            }
        }
    }
}

/// A consumer that prints the offsets it acknowledged, once the bus has taken them.
struct ReportingConsumer<C>(C);

impl<C: EventConsumer> EventConsumer for ReportingConsumer<C> {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        self.0.fetch(max, wait).await
    }

    async fn ack(&mut self, offsets: &[u64]) -> Result<(), BusError> {
        self.0.ack(offsets).await?;
        let mut line = String::from("ACK");
        for offset in offsets {
            line.push(' ');
            line.push_str(&offset.to_string());
        }
        println!("{line}");
        Ok(())
    }
}

/// Child side: indexes from the bus until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of acknowledged_events_survive_kill_9_of_the_indexer"]
async fn crash_child_indexer() {
    let setup = CrashSetup::from_env();
    let bus = AnyBus::open(setup.location()).await.unwrap();
    let index = EventIndex::open(&setup.dir, IndexOptions::default()).unwrap();
    let consumer = bus.consumer("search", consumer_config()).await.unwrap();
    println!("READY");
    let config = IndexerConfig {
        fetch_max: 250,
        commit_every: 1000,
        commit_interval: Duration::from_millis(100),
        idle_wait: Duration::from_millis(100),
        ..IndexerConfig::default()
    };
    Indexer::new(index, config)
        .run(ReportingConsumer(consumer), std::future::pending())
        .await
        .unwrap();
}

/// A child process that is killed if the test fails before reaping it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(env: &[(&str, String)]) -> (ChildGuard, mpsc::Receiver<String>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "crash::crash_child_indexer",
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

/// Waits for a line containing `marker`, keeping every line read meanwhile.
fn wait_for(lines: &mpsc::Receiver<String>, marker: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "child never printed {marker:?}; last lines {:?}",
                &seen[seen.len().saturating_sub(5)..]
            )
        });
        let found = line.starts_with(marker) || line.contains(&format!("... {marker}"));
        seen.push(line);
        if found {
            return;
        }
    }
}

fn clock_random(modulo: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos / 1000) % modulo
}

fn round_events(round: usize) -> Vec<TestEvent> {
    (0..PER_ROUND)
        .map(|i| {
            let at = BASE + time::Duration::milliseconds((round * PER_ROUND + i) as i64);
            TestEvent::new(
                &format!("round{round}-{i:05}"),
                TENANT,
                &syslog(
                    at,
                    "gw",
                    "sshd",
                    &format!("failed password attempt {i} round {round}"),
                ),
                at,
            )
        })
        .collect()
}

async fn kill_rounds(setup: CrashSetup) {
    let index_dir = std::path::PathBuf::from(&setup.dir);
    let env = setup.env();
    let mut by_offset: BTreeMap<u64, String> = BTreeMap::new();
    let mut acked: Vec<u64> = Vec::new();
    for round in 0..3 {
        {
            let bus = AnyBus::open(setup.location()).await.unwrap();
            let events = round_events(round);
            let offsets = publish(&bus, &events).await;
            for (offset, event) in offsets.into_iter().zip(&events) {
                by_offset.insert(offset, event.name.clone());
            }
            bus.close().await.unwrap();
        }
        let (mut child, lines) = spawn_child(&env);
        let mut seen = Vec::new();
        wait_for(&lines, "READY", &mut seen);
        wait_for(&lines, "ACK", &mut seen);
        std::thread::sleep(Duration::from_millis(clock_random(1200)));
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        seen.extend(lines.iter());
        let before = acked.len();
        for line in seen.iter().filter(|l| l.starts_with("ACK")) {
            acked.extend(
                line[3..]
                    .split_whitespace()
                    .map(|o| o.parse::<u64>().unwrap()),
            );
        }
        assert!(
            acked.len() > before,
            "round {round}: nothing acknowledged before the kill"
        );

        // Reopen what the killed process left and check every acknowledged event.
        let index = EventIndex::open(&index_dir, IndexOptions::default()).unwrap();
        let counts = id_counts(&index, TenantScope::tenant(TENANT));
        for offset in &acked {
            let id = &by_offset[offset];
            assert_eq!(
                counts.get(id),
                Some(&1),
                "round {round}: acknowledged offset {offset} ({id})"
            );
        }
        let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(duplicates.is_empty(), "round {round}: {duplicates:?}");
        println!(
            "round {round}: {} acknowledged of {} published, {} searchable",
            acked.len(),
            by_offset.len(),
            counts.len()
        );
        index.close().unwrap();
    }

    // Finish in this process: every published event exactly once.
    let bus = AnyBus::open(setup.location()).await.unwrap();
    let index = EventIndex::open(&index_dir, IndexOptions::default()).unwrap();
    drain(&bus, &index, "search", consumer_config()).await;
    let counts: HashMap<String, usize> = id_counts(&index, TenantScope::tenant(TENANT));
    assert_eq!(counts.len(), by_offset.len());
    for id in by_offset.values() {
        assert_eq!(counts.get(id), Some(&1), "{id}");
    }
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9_of_the_indexer() {
    let dir = tempfile::tempdir().unwrap();
    kill_rounds(CrashSetup {
        dir: dir.path().to_str().unwrap().to_owned(),
        nats: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9_of_the_indexer_on_jetstream() {
    let Some(url) = nats_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stream = format!(
        "T_SEARCH_CRASH_{}_{:x}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    kill_rounds(CrashSetup {
        dir: dir.path().to_str().unwrap().to_owned(),
        nats: Some((url, stream)),
    })
    .await;
}
