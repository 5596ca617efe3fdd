//! Two detection processes on one NATS JetStream stream (this test
//! executable re-run as child processes, each running a `DetectionStage` on
//! the shared durable consumer `detect` with the correlation state shared
//! through the bus): every correlation match is found once, none for the
//! groups below the threshold, whichever process matched which event.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use nigehban_bus::{ConsumerConfig, EventBus, JetStreamBus, JetStreamOptions, Record};
use nigehban_detect::correlation::SHARED_STATE_NAME;
use nigehban_detect::{
    DEFAULT_CONSUMER, Detection, DetectionRules, DetectionSink, DetectionStage, RulesHandle,
    StageConfig, starter_pack,
};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event, new_event_id};
use nigehban_normalise::{Format, normalise};
use nigehban_sigma::{CompileOptions, CorrelationLimits, LogsourceMapping, RuleSet};
use time::macros::datetime;

use crate::support::hint;

const CHILD_URL: &str = "NIGEHBAN_DETECT_CHILD_NATS_URL";
const CHILD_STREAM: &str = "NIGEHBAN_DETECT_CHILD_STREAM";

const SSH_BRUTE_FORCE: &str = "05636bb3-80a1-4c1d-8ecc-a8b3fd1c7fae";
const SURICATA_SEVERITY_1: &str = "68991d72-9383-4c0c-a5e8-7d6ed60d2b05";

fn options(url: &str, stream: &str) -> JetStreamOptions {
    let mut options = JetStreamOptions::new(url);
    options.stream = stream.to_owned();
    options.subject = format!("test.{}", stream.to_lowercase());
    options
}

fn starter() -> DetectionRules {
    let mut set = RuleSet::new();
    for source in starter_pack() {
        set.add_str(&source.text, &source.origin);
    }
    let (rules, problems) = DetectionRules::compile(
        &set,
        &LogsourceMapping::builtin(),
        &CompileOptions::default(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    rules
}

/// A sink that prints each detection it takes (one line each), as the
/// alert service would store it.
#[derive(Clone)]
struct Print;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl DetectionSink for Print {
    type Error = Never;

    async fn accept(&self, detections: &[Detection]) -> Result<(), Never> {
        for d in detections {
            let group = d.fold_key.clone().unwrap_or_else(|| "-".into());
            println!(
                "DETECTION {} {} {} {group}",
                d.tenant_id, d.rule.id, d.event_id
            );
        }
        Ok(())
    }
}

/// Child side: one detection process; stops when its standard input closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of two_detection_processes_raise_each_correlation_match_once"]
async fn detection_process_child() {
    let url = std::env::var(CHILD_URL).expect("run by the two-process test");
    let stream = std::env::var(CHILD_STREAM).unwrap();
    let bus = JetStreamBus::open(options(&url, &stream)).await.unwrap();
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, ConsumerConfig::default())
        .await
        .unwrap();
    let values = bus.shared_values(SHARED_STATE_NAME).await.unwrap();
    let stage = DetectionStage::new(
        RulesHandle::new(starter()),
        Print,
        StageConfig {
            fetch_max: 40,
            idle_wait: Duration::from_millis(200),
            retry_backoff: Duration::from_millis(100),
            workers: 1,
        },
    )
    .with_shared_correlation_state(values, CorrelationLimits::default());
    let metrics = stage.metrics();
    println!("READY");
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut rest = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut rest);
        })
        .await;
    };
    stage.run(consumer, stdin_closed).await.unwrap();
    let totals = metrics.snapshot();
    println!(
        "EVALUATED {} STATE_FAILURES {}",
        totals.events_evaluated, totals.state_failures
    );
}

struct ChildProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_child(url: &str, stream: &str) -> ChildProcess {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cluster::detection_process_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_STREAM, stream)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let process = ChildProcess { child, lines };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match process.lines.recv_timeout(left) {
            // The test harness writes "test <name> ... " before it, on the same line.
            Ok(line) if line.ends_with("READY") => return process,
            Ok(_) => {}
            Err(error) => panic!("the detection process did not start: {error}"),
        }
    }
}

/// A failed SSH logon of `tenant` from `ip` at `second` seconds after 08:00,
/// as intake writes it to the bus.
fn failed_ssh(tenant: &str, ip: &str, user: &str, second: u32) -> Record {
    let line = format!(
        "<38>Mar 15 08:{:02}:{:02} web01 sshd[4242]: Failed password for {user} from {ip} port 40022 ssh2",
        second / 60,
        second % 60
    );
    event_record(tenant, &line)
}

fn event_record(tenant: &str, line: &str) -> Record {
    let mut hint = hint(Format::Auto);
    hint.tenant_id = Some(tenant.to_owned());
    hint.received_at = datetime!(2024-03-15 12:00 UTC);
    let event = normalise(line.as_bytes(), &hint).unwrap();
    let id = new_event_id();
    Record {
        tenant_id: tenant.to_owned(),
        sensor_id: "s1".into(),
        received_at: SystemTime::from(hint.received_at),
        content_type: EVENT_CONTENT_TYPE.into(),
        payload: encode_event(id, &event).unwrap(),
        id: Some(id.to_string()),
    }
}

/// Waits until the `detect` consumer has acknowledged everything.
async fn wait_drained(bus: &JetStreamBus) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "detection never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_detection_processes_raise_each_correlation_match_once() {
    let Some(url) = nigehban_testkit::nats_url() else {
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stream = format!("T_DETECT_{}_{nanos:x}", std::process::id()).to_uppercase();
    let bus = JetStreamBus::open(options(&url, &stream)).await.unwrap();
    // Created once, so that both processes bind the same consumer.
    drop(
        bus.consumer(DEFAULT_CONSUMER, ConsumerConfig::default())
            .await
            .unwrap(),
    );
    let children = [spawn_child(&url, &stream), spawn_child(&url, &stream)];

    // 150 addresses in each of two tenants: 300 groups. An address is over
    // the threshold (12 failures within three minutes: one match, as a
    // fired window's events are consumed) in one tenant and under it (9) in
    // the other, or under in both. Events go out round by round, every
    // group's failures interleaved with all the others'.
    const ADDRESSES: usize = 150;
    let tenants = ["t1", "t2"];
    let over = |tenant: usize, address: usize| address % 3 == tenant;
    let ip = |address: usize| format!("10.1.{}.{}", address / 100, address % 100 + 1);
    let mut rounds: Vec<Vec<Record>> = Vec::new();
    for round in 0..12u32 {
        let mut records = Vec::new();
        for address in 0..ADDRESSES {
            for (t, tenant) in tenants.iter().enumerate() {
                let failures = if over(t, address) { 12 } else { 9 };
                if round < failures {
                    let user = format!("user{}", round % 3);
                    records.push(failed_ssh(tenant, &ip(address), &user, round * 15));
                }
            }
        }
        // Single-event detections are shared too: a Suricata alert per round.
        let alert = format!(
            r#"{{"timestamp":"2024-03-15T08:00:{:02}.000000+0000","flow_id":{round},"event_type":"alert","src_ip":"198.51.100.7","src_port":4444,"dest_ip":"10.0.0.8","dest_port":445,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":2024217,"rev":3,"signature":"ET EXPLOIT Possible ETERNALBLUE","category":"Attempted Administrator Privilege Gain","severity":1}}}}"#,
            round * 4
        );
        records.push(event_record("t1", &alert));
        rounds.push(records);
    }
    let published: usize = rounds.iter().map(Vec::len).sum();
    for records in &rounds {
        for chunk in records.chunks(100) {
            bus.publish(chunk).await.unwrap();
        }
    }
    wait_drained(&bus).await;
    // Ten minutes later in event time, one more failure per tenant from an
    // address of its own: the watermark passes every window above, which is
    // then decided (published only now, so that no batch above is late).
    let later: Vec<Record> = tenants
        .iter()
        .map(|tenant| failed_ssh(tenant, "192.0.2.250", "root", 20 * 60))
        .collect();
    bus.publish(&later).await.unwrap();
    wait_drained(&bus).await;

    let mut raised: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    let mut handed = 0usize;
    let mut evaluated = Vec::new();
    for mut child in children {
        drop(child.child.stdin.take());
        let status = child.child.wait().unwrap();
        assert!(status.success(), "a detection process failed: {status}");
        // Every line, up to the end of its output.
        for line in child.lines.iter() {
            if let Some(rest) = line.strip_prefix("DETECTION ") {
                let parts: Vec<&str> = rest.split(' ').collect();
                let &[tenant, rule, event, group] = parts.as_slice() else {
                    panic!("{line}");
                };
                handed += 1;
                raised
                    .entry((tenant.into(), rule.into(), group.into()))
                    .or_default()
                    .insert(event.into());
            } else if let Some(rest) = line.strip_prefix("EVALUATED ") {
                let counts: Vec<&str> = rest.split(' ').collect();
                evaluated.push((counts[0].parse::<u64>().unwrap(), counts[2].to_owned()));
            }
        }
    }
    println!(
        "events per process and state failures: {evaluated:?}; detections handed over: {handed}"
    );
    assert_eq!(evaluated.len(), 2, "both processes reported");
    assert!(
        evaluated.iter().all(|(events, _)| *events > 0),
        "both processes matched events: {evaluated:?}"
    );
    // Every event was matched (a batch delivered again is matched again).
    assert!(
        evaluated.iter().map(|(events, _)| *events).sum::<u64>()
            >= (published + later.len()) as u64,
        "{evaluated:?}"
    );

    // Each group over the threshold: one match (one detection id, however
    // often it was handed over); none for the others.
    let mut expected = BTreeSet::new();
    for address in 0..ADDRESSES {
        for (t, tenant) in tenants.iter().enumerate() {
            if over(t, address) {
                expected.insert(((*tenant).to_owned(), ip(address)));
            }
        }
    }
    let brute_force: BTreeMap<(String, String), usize> = raised
        .iter()
        .filter(|((_, rule, _), _)| rule == SSH_BRUTE_FORCE)
        .map(|((tenant, _, group), ids)| ((tenant.clone(), group.clone()), ids.len()))
        .collect();
    let found: BTreeSet<(String, String)> = brute_force.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "groups over the threshold without a match: {missing:?}"
    );
    assert!(
        unexpected.is_empty(),
        "groups under the threshold with a match: {unexpected:?}"
    );
    let twice: Vec<_> = brute_force.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "groups matched more than once: {twice:?}");
    assert_eq!(expected.len(), 100);

    // The Suricata alerts: each event detected, once.
    let suricata: usize = raised
        .iter()
        .filter(|((_, rule, _), _)| rule == SURICATA_SEVERITY_1)
        .map(|(_, ids)| ids.len())
        .sum();
    assert_eq!(suricata, 12);
}
