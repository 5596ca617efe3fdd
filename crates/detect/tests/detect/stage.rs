//! The live stage on a real (embedded) bus: what a detection carries, that
//! a batch is acknowledged only once the sink took its detections, that bad
//! payloads are skipped and counted without stopping anything, and that a
//! rule change takes effect without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use nigehban_bus::{ConsumerConfig, EmbeddedLog, EmbeddedOptions, EventBus, Record};
use nigehban_detect::{
    DEFAULT_CONSUMER, Detection, DetectionRules, DetectionSink, DetectionStage, MatchedField,
    RulesHandle, StageConfig,
};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event};
use nigehban_normalise::{Format, normalise};
use tokio::sync::{Mutex, Notify};
use uuid::Uuid;

use crate::support::{compile, hint};

/// A sink that keeps what it is given, refusing the first `refuse` batches.
#[derive(Clone, Default)]
struct Collect {
    taken: Arc<Mutex<Vec<Detection>>>,
    refuse: Arc<AtomicUsize>,
    offered: Arc<AtomicUsize>,
    changed: Arc<Notify>,
}

#[derive(Debug, thiserror::Error)]
#[error("the alert store is down")]
struct Down;

impl DetectionSink for Collect {
    type Error = Down;

    async fn accept(&self, detections: &[Detection]) -> Result<(), Down> {
        self.offered.fetch_add(1, Ordering::SeqCst);
        let refused = self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        self.changed.notify_waiters();
        if refused {
            return Err(Down);
        }
        self.taken.lock().await.extend_from_slice(detections);
        self.changed.notify_waiters();
        Ok(())
    }
}

const LSASS_RULE: &str = r"
title: LSASS process memory read by an unusual process
id: 5ef9853e-4d0e-4a70-846f-a9ca37d876da
status: test
description: A test rule on Sysmon's process access
references:
    - https://example.org/lsass
author: Nigehban tests
tags:
    - attack.credential-access
    - attack.t1003.001
logsource: {product: windows, category: process_access}
detection:
    selection:
        TargetImage|endswith: '\lsass.exe'
        GrantedAccess: '0x1010'
    filter:
        SourceImage|endswith: '\MsMpEng.exe'
    condition: selection and not filter
level: high
";

const SSH_RULE: &str = r"
title: SSH password guessing
id: 8c1f2c9a-7a51-4a4e-9d3a-2b6f6a4f0b11
logsource: {product: linux, service: sshd}
detection:
    keywords:
        - 'Failed password'
    condition: keywords
level: medium
";

fn sysmon_10(source_image: &str) -> String {
    serde_json::json!({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
        "EventID": 10, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "dc1.example.org", "EventRecordID": 7,
        "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00.000000Z"}}},
        "EventData": {"SourceImage": source_image, "TargetImage": "C:\\Windows\\system32\\lsass.exe",
                      "GrantedAccess": "0x1010", "SourceUser": "EXAMPLE\\mallory"}}})
    .to_string()
}

fn received(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_557_600 + seconds)
}

/// A bus record as intake writes it, for tenant `t1` and sensor `s1`.
fn record(line: &str, format: Format, at: SystemTime) -> (Uuid, Record) {
    let mut hint = hint(format);
    hint.host_os_type = Some("linux".into());
    let event = normalise(line.as_bytes(), &hint).unwrap();
    let id = nigehban_normalise::envelope::new_event_id();
    let payload = encode_event(id, &event).unwrap();
    (
        id,
        Record {
            tenant_id: "t1".into(),
            sensor_id: "s1".into(),
            received_at: at,
            content_type: EVENT_CONTENT_TYPE.into(),
            payload,
            id: None,
        },
    )
}

fn stage_config() -> StageConfig {
    StageConfig {
        fetch_max: 100,
        idle_wait: Duration::from_millis(50),
        retry_backoff: Duration::from_millis(20),
        workers: 2,
    }
}

fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        ack_wait: Duration::from_millis(300),
        ..ConsumerConfig::default()
    }
}

/// Waits until `done` holds for the sink (at most 20 s).
async fn wait_for(sink: &Collect, done: impl Fn(&[Detection]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let changed = sink.changed.notified();
        if done(&sink.taken.lock().await) {
            return;
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            panic!(
                "timed out; the sink holds {:?}",
                sink.taken
                    .lock()
                    .await
                    .iter()
                    .map(|d| d.key())
                    .collect::<Vec<_>>()
            );
        }
    }
}

async fn open_bus(dir: &std::path::Path) -> EmbeddedLog {
    EmbeddedLog::open(EmbeddedOptions::new(dir)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detections_carry_the_event_the_rule_and_why_it_matched() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let (lsass_id, lsass) = record(
        &sysmon_10(r"C:\Users\mallory\procdump.exe"),
        Format::Auto,
        received(1),
    );
    let (_, benign) = record(
        &sysmon_10(r"C:\ProgramData\Microsoft\Windows Defender\MsMpEng.exe"),
        Format::Auto,
        received(2),
    );
    let (ssh_id, ssh) = record(
        "<38>May  1 10:00:03 web01 sshd[4242]: Failed password for root from 203.0.113.77 port 40022 ssh2",
        Format::Syslog,
        received(3),
    );
    bus.publish(&[lsass, benign, ssh]).await.unwrap();

    let sink = Collect::default();
    let stage = DetectionStage::new(
        RulesHandle::new(compile(&[LSASS_RULE, SSH_RULE])),
        sink.clone(),
        stage_config(),
    );
    let metrics = stage.metrics();
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(stage.run(consumer, async move { stop.notified().await }))
    };
    wait_for(&sink, |taken| taken.len() >= 2).await;
    // Acknowledged once the sink took them: nothing left for `detect`.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    let totals = stopped.await.unwrap().unwrap();
    assert_eq!(totals.events_evaluated, 3);
    assert_eq!(totals.matches, 2);
    assert_eq!(totals.acknowledged, 3);
    assert_eq!(metrics.snapshot(), totals);

    let taken = sink.taken.lock().await.clone();
    assert_eq!(taken.len(), 2, "the benign access is filtered out");
    let lsass = &taken[0];
    assert_eq!(
        lsass.key(),
        ("5ef9853e-4d0e-4a70-846f-a9ca37d876da", lsass_id)
    );
    assert_eq!(
        (lsass.tenant_id.as_str(), lsass.sensor_id.as_str()),
        ("t1", "s1")
    );
    assert_eq!(
        lsass.event_time,
        Some(time::macros::datetime!(2024-05-01 10:00 UTC))
    );
    assert_eq!(
        lsass.received_at,
        time::macros::datetime!(2024-05-01 10:00:01 UTC)
    );
    let rule = &lsass.rule;
    assert_eq!(
        rule.title,
        "LSASS process memory read by an unusual process"
    );
    assert_eq!(rule.level, "high");
    assert_eq!(rule.author, "Nigehban tests");
    assert_eq!(rule.status.as_deref(), Some("test"));
    assert_eq!(rule.references, ["https://example.org/lsass"]);
    assert_eq!(rule.tags, ["attack.credential-access", "attack.t1003.001"]);
    assert_eq!(rule.techniques, ["T1003.001"]);
    let field = |name: &str, value: &str| MatchedField {
        field: Some(name.into()),
        value: value.into(),
    };
    assert_eq!(
        lsass.matched,
        [
            field("TargetImage", r"C:\Windows\system32\lsass.exe"),
            field("GrantedAccess", "0x1010"),
        ]
    );
    assert_eq!(lsass.host.as_deref(), Some("dc1.example.org"));

    let ssh = &taken[1];
    assert_eq!(ssh.key(), ("8c1f2c9a-7a51-4a4e-9d3a-2b6f6a4f0b11", ssh_id));
    assert_eq!(ssh.host.as_deref(), Some("web01"));
    assert_eq!(ssh.matched.len(), 1);
    assert_eq!(ssh.matched[0].field, None);
    assert!(ssh.matched[0].value.contains("Failed password for root"));
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_acknowledged_only_after_the_sink_took_it() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let (id, lsass) = record(&sysmon_10(r"C:\Temp\x.exe"), Format::Auto, received(1));
    bus.publish(&[lsass]).await.unwrap();

    // The sink refuses twice: the stage keeps the batch, unacknowledged.
    let sink = Collect::default();
    sink.refuse.store(2, Ordering::SeqCst);
    let stage = DetectionStage::new(
        RulesHandle::new(compile(&[LSASS_RULE])),
        sink.clone(),
        stage_config(),
    );
    let metrics = stage.metrics();
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(stage.run(consumer, async move { stop.notified().await }))
    };
    wait_for(&sink, |taken| !taken.is_empty()).await;
    assert_eq!(sink.offered.load(Ordering::SeqCst), 3);
    assert_eq!(metrics.snapshot().sink_failures, 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    stopped.await.unwrap().unwrap();
    assert_eq!(
        sink.taken
            .lock()
            .await
            .iter()
            .map(|d| d.event_id)
            .collect::<Vec<_>>(),
        [id]
    );
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_stopped_before_the_sink_took_a_batch_leaves_it_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let (id, lsass) = record(&sysmon_10(r"C:\Temp\x.exe"), Format::Auto, received(1));
    bus.publish(&[lsass]).await.unwrap();

    // The sink is down for good while the first stage runs; it stops.
    let down = Collect::default();
    down.refuse.store(usize::MAX, Ordering::SeqCst);
    let rules = RulesHandle::new(compile(&[LSASS_RULE]));
    let first = DetectionStage::new(rules.clone(), down.clone(), stage_config());
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(first.run(consumer, async move { stop.notified().await }))
    };
    while down.offered.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.notify_one();
    let totals = stopped.await.unwrap().unwrap();
    assert_eq!(totals.acknowledged, 0);
    assert_eq!(bus.lag(DEFAULT_CONSUMER).await.unwrap(), 1);

    // The next stage on the same consumer gets the event again.
    let sink = Collect::default();
    let second = DetectionStage::new(rules, sink.clone(), stage_config());
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(second.run(consumer, async move { stop.notified().await }))
    };
    wait_for(&sink, |taken| !taken.is_empty()).await;
    stop.notify_one();
    stopped.await.unwrap().unwrap();
    assert_eq!(sink.taken.lock().await[0].event_id, id);
    assert!(down.taken.lock().await.is_empty());
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_are_counted_and_skipped_and_the_good_ones_around_them_kept() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let (first, good_1) = record(&sysmon_10(r"C:\Temp\a.exe"), Format::Auto, received(1));
    let (last, good_2) = record(&sysmon_10(r"C:\Temp\b.exe"), Format::Auto, received(5));
    let mut garbage = good_1.clone();
    garbage.payload = Bytes::from_static(b"\xff not an event");
    let mut wrong_type = good_1.clone();
    wrong_type.content_type = "text/plain".into();
    // An event stamped for another tenant than its bus record's.
    let (_, mut other_tenant) = record(&sysmon_10(r"C:\Temp\c.exe"), Format::Auto, received(3));
    other_tenant.tenant_id = "t2".into();
    bus.publish(&[good_1, garbage, wrong_type, other_tenant, good_2])
        .await
        .unwrap();

    let sink = Collect::default();
    let stage = DetectionStage::new(
        RulesHandle::new(compile(&[LSASS_RULE])),
        sink.clone(),
        stage_config(),
    );
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(stage.run(consumer, async move { stop.notified().await }))
    };
    wait_for(&sink, |taken| taken.len() >= 2).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    let totals = stopped.await.unwrap().unwrap();
    assert_eq!(totals.rejected, 3);
    assert_eq!(totals.events_evaluated, 2);
    assert_eq!(totals.acknowledged, 5);
    let ids: Vec<Uuid> = sink.taken.lock().await.iter().map(|d| d.event_id).collect();
    assert_eq!(ids, [first, last]);
    bus.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let sink = Collect::default();
    let rules = RulesHandle::new(compile(&[LSASS_RULE]));
    let stage = DetectionStage::new(rules.clone(), sink.clone(), stage_config());
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(stage.run(consumer, async move { stop.notified().await }))
    };
    let ssh_line = "<38>May  1 10:00:03 web01 sshd[4242]: Failed password for root from 203.0.113.77 port 40022 ssh2";
    let (_, before) = record(ssh_line, Format::Syslog, received(1));
    bus.publish(&[before]).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sink.taken.lock().await.is_empty(), "no SSH rule yet");

    rules.replace(compile(&[LSASS_RULE, SSH_RULE]));
    let (after_id, after) = record(ssh_line, Format::Syslog, received(2));
    bus.publish(&[after]).await.unwrap();
    wait_for(&sink, |taken| !taken.is_empty()).await;
    stop.notify_one();
    stopped.await.unwrap().unwrap();
    let taken = sink.taken.lock().await;
    assert_eq!(taken.len(), 1);
    assert_eq!(
        taken[0].key(),
        ("8c1f2c9a-7a51-4a4e-9d3a-2b6f6a4f0b11", after_id)
    );
    bus.close().await.unwrap();
}

#[tokio::test]
async fn settings_that_cannot_work_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bus = open_bus(dir.path()).await;
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let config = StageConfig {
        fetch_max: 0,
        ..stage_config()
    };
    let empty = DetectionRules::compile(
        &nigehban_sigma::RuleSet::new(),
        &nigehban_sigma::LogsourceMapping::builtin(),
        &nigehban_sigma::CompileOptions::default(),
    )
    .0;
    let stage = DetectionStage::new(RulesHandle::new(empty), Collect::default(), config);
    let error = stage
        .run(consumer, std::future::pending())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("fetch_max"), "{error}");
    bus.close().await.unwrap();
}

const FAILED_LOGON_RULES: &str = r"
title: Failed logon
id: 7d1e0c55-0001-4000-8000-000000000001
name: failed_login
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
level: low
---
title: Brute force against one account
id: 7d1e0c55-0001-4000-8000-000000000002
author: Nigehban tests
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
level: high
";

fn failed_logon(record_id: u64, time: &str, user: &str) -> String {
    serde_json::json!({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
        "EventID": 4625, "Channel": "Security", "Computer": "dc1.example.org",
        "EventRecordID": record_id,
        "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"TargetUserName": user, "IpAddress": "203.0.113.5"}}})
    .to_string()
}

/// Runs a stage with correlation state in `state` until the bus has no
/// lag for `detect`, then stops it.
async fn run_until_acknowledged(bus: &EmbeddedLog, sink: &Collect, state: &std::path::Path) {
    let stage = DetectionStage::new(
        RulesHandle::new(compile(&[FAILED_LOGON_RULES])),
        sink.clone(),
        stage_config(),
    )
    .with_correlation_state(
        state.to_path_buf(),
        nigehban_sigma::CorrelationLimits {
            allowed_lateness_ms: 0,
            ..nigehban_sigma::CorrelationLimits::default()
        },
    );
    let consumer = bus
        .consumer(DEFAULT_CONSUMER, consumer_config())
        .await
        .unwrap();
    let stop = Arc::new(Notify::new());
    let stopped = {
        let stop = Arc::clone(&stop);
        tokio::spawn(stage.run(consumer, async move { stop.notified().await }))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bus.lag(DEFAULT_CONSUMER).await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    stopped.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correlation_window_open_at_a_restart_fires_once_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let bus = open_bus(&dir.path().join("bus")).await;
    let (first, one) = record(
        &failed_logon(1, "2024-05-01T10:00:00Z", "bob"),
        Format::Auto,
        received(1),
    );
    let (second, two) = record(
        &failed_logon(2, "2024-05-01T10:00:10Z", "bob"),
        Format::Auto,
        received(2),
    );
    bus.publish(&[one, two]).await.unwrap();

    // Before the restart: two of three failed logons, no detection (the
    // failed-logon rule feeds the correlation only), the window saved.
    let before = Collect::default();
    run_until_acknowledged(&bus, &before, &state).await;
    assert!(before.taken.lock().await.is_empty());
    assert!(
        state
            .join(nigehban_detect::correlation::STATE_FILE)
            .exists()
    );

    // After it: the third, then a later event that moves the watermark on.
    let (third, three) = record(
        &failed_logon(3, "2024-05-01T10:00:20Z", "bob"),
        Format::Auto,
        received(3),
    );
    let (_, later) = record(
        &failed_logon(4, "2024-05-01T10:05:00Z", "eve"),
        Format::Auto,
        received(4),
    );
    bus.publish(&[three, later]).await.unwrap();
    let after = Collect::default();
    // The sink refuses the first offer: the correlation detection is
    // offered again, and is the same detection.
    after.refuse.store(1, Ordering::SeqCst);
    run_until_acknowledged(&bus, &after, &state).await;
    let taken = after.taken.lock().await.clone();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert!(after.offered.load(Ordering::SeqCst) >= 2);
    let alert = &taken[0];
    assert_eq!(alert.rule.title, "Brute force against one account");
    assert_eq!(alert.rule.level, "high");
    assert_eq!(alert.tenant_id, "t1");
    assert_eq!(alert.fold_key.as_deref(), Some("bob"));
    assert_eq!(alert.user.as_deref(), Some("bob"));
    let facts = alert.correlation.as_ref().unwrap();
    assert_eq!(
        facts.group,
        [("TargetUserName".to_owned(), "bob".to_owned())]
    );
    assert_eq!(facts.event_count, 3);
    assert_eq!(
        facts.event_ids,
        [first.to_string(), second.to_string(), third.to_string()]
    );
    assert_eq!(
        facts.window_start,
        time::macros::datetime!(2024-05-01 10:00 UTC)
    );
    assert_eq!(
        facts.window_end,
        time::macros::datetime!(2024-05-01 10:00:20 UTC)
    );

    // Nothing more on a third run: the window fired and is not re-opened.
    let again = Collect::default();
    let (_, fifth) = record(
        &failed_logon(5, "2024-05-01T10:10:00Z", "eve"),
        Format::Auto,
        received(5),
    );
    bus.publish(&[fifth]).await.unwrap();
    run_until_acknowledged(&bus, &again, &state).await;
    assert!(again.taken.lock().await.is_empty());
}

/// One event in `COST_SAMPLE_EVERY`, chosen by its bus offset, is shown to
/// every rule on its own: each rule gets its time on exactly the sampled
/// events, and the dearest come first.
#[test]
fn rule_costs_are_sampled_by_offset_for_every_rule() {
    use nigehban_detect::{COST_SAMPLE_EVERY, RuleCosts, evaluate};
    let rules = compile(&[LSASS_RULE, SSH_RULE]);
    let offsets = [
        0,
        1,
        COST_SAMPLE_EVERY,
        COST_SAMPLE_EVERY + 1,
        COST_SAMPLE_EVERY + 2,
        3 * COST_SAMPLE_EVERY + 1,
    ];
    let deliveries: Vec<nigehban_bus::Delivery> = offsets
        .iter()
        .map(|&offset| nigehban_bus::Delivery {
            offset,
            appended_at: received(offset),
            delivery_count: 1,
            record: record(
                &sysmon_10("C:\\tools\\dump.exe"),
                Format::Auto,
                received(offset),
            )
            .1,
        })
        .collect();
    let evaluated = evaluate(&rules, &deliveries, 2);
    assert_eq!(evaluated.events, 6);
    // Offsets 1, 4097 and 12289 are sampled, whichever thread matched them.
    assert_eq!(evaluated.costs.events, 3);
    assert_eq!(evaluated.costs.nanos.len(), 2);
    let costs = RuleCosts::default();
    costs.record(&rules, &evaluated.costs);
    costs.record(&rules, &evaluated.costs);
    let dearest = costs.most_expensive(10);
    let ids: std::collections::BTreeSet<&str> = dearest.iter().map(|cost| &*cost.rule_id).collect();
    assert_eq!(
        ids,
        [
            "5ef9853e-4d0e-4a70-846f-a9ca37d876da",
            "8c1f2c9a-7a51-4a4e-9d3a-2b6f6a4f0b11"
        ]
        .into()
    );
    assert!(dearest.iter().all(|cost| cost.events == 6));
    assert!(dearest[0].seconds_per_event >= dearest[1].seconds_per_event);
    assert_eq!(costs.most_expensive(1).len(), 1);
    assert_eq!(costs.most_expensive(1)[0].rule_id, dearest[0].rule_id);
}
