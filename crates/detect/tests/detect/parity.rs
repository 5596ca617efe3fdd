//! Issue 9's first "done when", in library form: for every public SigmaHQ
//! regression case (and, for more events, every EVTX attack sample of the
//! corpus), all SigmaHQ rules fire the same rules the same number of times
//! whether the EVTX file is hunted (`nigehban hunt`'s pipeline) or sent
//! live: its records as `nigehban ingest` sends them (one JSON line
//! each, `?format=windows_json`), through the HTTP intake's preparation
//! (normalise, stamp, encode the bus payload), a real embedded bus, and the
//! detection stage, to a sink that collects the detections.
//!
//! (The same through the real binary, `nigehban ingest` to a running server
//! raising alerts, comes with the alert service: only the sink differs.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nigehban_bus::{ConsumerConfig, EmbeddedLog, EmbeddedOptions, EventBus};
use nigehban_detect::{
    DEFAULT_CONSUMER, Detection, DetectionRules, DetectionSink, DetectionStage, RulesHandle,
    SigmaView, StageConfig,
};
use nigehban_hunt::{HuntOptions, HuntReport, hunt};
use nigehban_ingest::{HttpLimits, RequestContext, SensorStamp, prepare_ndjson};
use nigehban_logfiles::LogFile;
use nigehban_normalise::Format;
use tokio::sync::Mutex;

use crate::support::{Case, corpus, regression_cases, sigmahq};

/// Times each rule fired, by rule id.
type Fired = BTreeMap<String, u64>;

#[derive(Default)]
struct HuntCollect {
    fired: Fired,
    errors: Vec<String>,
    events: u64,
}

impl HuntReport for HuntCollect {
    fn detection(&mut self, detection: nigehban_hunt::Detection) {
        *self.fired.entry(detection.rule.id.clone()).or_default() += 1;
    }
    fn error(&mut self, error: nigehban_logfiles::Error) {
        self.errors.push(error.to_string());
    }
    fn progress(&mut self, _bytes: u64, events: u64) {
        self.events += events;
    }
}

/// (a) `nigehban hunt`'s pipeline over the EVTX file.
fn hunted(rules: &DetectionRules, evtx: &Path) -> HuntCollect {
    let mut report = HuntCollect::default();
    let options = HuntOptions {
        threads: 1,
        units_in_flight: 2,
        ..HuntOptions::default()
    };
    let compiled = rules.compiled();
    hunt(
        &[evtx.to_path_buf()],
        rules.summaries(),
        &options,
        || {
            let mut scratch = compiled.scratch();
            move |event: &SigmaView<'_>, out: &mut Vec<usize>| {
                compiled.matches(event, &mut scratch, out)
            }
        },
        &mut report,
    );
    report
}

/// The request body `nigehban ingest` sends for an EVTX file: each record
/// as the EVTX reader renders it, one JSON line each (see
/// `nigehban_ingest::client`, `send_records`).
fn ingest_body(evtx: &Path) -> (Vec<u8>, u64) {
    let mut body = Vec::new();
    let mut records = 0;
    for record in LogFile::open(evtx).expect("EVTX opens").records() {
        let record = record.unwrap_or_else(|e| panic!("{}: {e}", evtx.display()));
        serde_json::to_writer(&mut body, &record.event).expect("writes JSON");
        body.push(b'\n');
        records += 1;
    }
    (body, records)
}

/// The sink: keeps every detection.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Detection>>>);

impl DetectionSink for Collect {
    type Error = std::convert::Infallible;

    async fn accept(&self, detections: &[Detection]) -> Result<(), Self::Error> {
        self.0.lock().await.extend_from_slice(detections);
        Ok(())
    }
}

/// (b) The live path for every file at once, one sensor per file; returns
/// what fired, by file, and the events matched.
fn detected_live(rules: &Arc<DetectionRules>, files: &[PathBuf]) -> (Vec<Fired>, u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
            .await
            .expect("the bus opens");
        let mut expected_events = 0;
        for (index, evtx) in files.iter().enumerate() {
            let (body, records) = ingest_body(evtx);
            let stamp = SensorStamp::new("national-cert", format!("case-{index}"));
            let log_name = evtx.file_name().map(|n| n.to_string_lossy().into_owned());
            let context = RequestContext {
                stamp: &stamp,
                format: Some(Format::WindowsJson),
                log_name: log_name.as_deref(),
                source_address: None,
                received_at: SystemTime::now(),
                idempotency_key: None,
            };
            let batch = prepare_ndjson(&body, None, &HttpLimits::default(), &context)
                .unwrap_or_else(|e| panic!("{}: {e}", evtx.display()));
            assert!(
                batch.rejected.is_empty(),
                "{}: intake refused {:?}",
                evtx.display(),
                batch.rejected
            );
            assert_eq!(batch.records.len() as u64, records, "{}", evtx.display());
            expected_events += records;
            bus.publish(&batch.records).await.expect("published");
        }

        // A rules handle holding the very set hunt used.
        let sink = Collect::default();
        let stage = DetectionStage::new(
            RulesHandle::shared(Arc::clone(rules)),
            sink.clone(),
            StageConfig {
                fetch_max: 500,
                idle_wait: Duration::from_millis(50),
                ..StageConfig::default()
            },
        );
        let metrics = stage.metrics();
        let consumer = bus
            .consumer(DEFAULT_CONSUMER, ConsumerConfig::default())
            .await
            .expect("a consumer");
        let done = Arc::new(tokio::sync::Notify::new());
        let running = {
            let done = Arc::clone(&done);
            tokio::spawn(stage.run(consumer, async move { done.notified().await }))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        while bus.lag(DEFAULT_CONSUMER).await.expect("lag") > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "detection never caught up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done.notify_one();
        let totals = running.await.expect("joins").expect("runs");
        assert_eq!(totals.rejected, 0);
        assert_eq!(totals.events_evaluated, expected_events);
        bus.close().await.expect("closes");

        let mut fired = vec![Fired::new(); files.len()];
        for detection in sink.0.lock().await.iter() {
            assert_eq!(detection.tenant_id, "national-cert");
            let index: usize = detection
                .sensor_id
                .strip_prefix("case-")
                .and_then(|i| i.parse().ok())
                .expect("a case's sensor");
            *fired[index].entry(detection.rule.id.clone()).or_default() += 1;
        }
        (fired, metrics.snapshot().events_evaluated)
    })
}

#[test]
fn hunt_and_live_detection_fire_the_same_rules_on_every_sigmahq_regression_case() {
    let Some(corpus) = corpus() else { return };
    let started = Instant::now();
    let rules = sigmahq(&corpus);
    let loaded = started.elapsed();
    let cases = regression_cases(&corpus);
    assert!(cases.len() >= 120, "only {} regression cases", cases.len());
    let samples = attack_samples(&corpus);
    assert!(samples.len() >= 20, "only {} attack samples", samples.len());
    let files: Vec<PathBuf> = cases.iter().map(Case::evtx).chain(samples).collect();

    let started = Instant::now();
    let mut hunted_events = 0;
    let mut failures = Vec::new();
    let from_hunt: Vec<Fired> = files
        .iter()
        .map(|file| {
            let report = hunted(rules, file);
            if !report.errors.is_empty() {
                failures.push(format!(
                    "{}: read errors {:?}",
                    file.display(),
                    report.errors
                ));
            }
            hunted_events += report.events;
            report.fired
        })
        .collect();
    let hunt_took = started.elapsed();

    let started = Instant::now();
    let (from_live, live_events) = detected_live(rules, &files);
    let live_took = started.elapsed();
    eprintln!(
        "parity: {} files, {hunted_events} events, {} rules; rules loaded in {loaded:?}, hunted in {hunt_took:?}, detected live in {live_took:?}",
        files.len(),
        rules.len()
    );
    assert_eq!(live_events, hunted_events);

    for (case, hunt) in cases.iter().zip(&from_hunt) {
        let own = hunt.get(&case.rule_id).copied().unwrap_or(0);
        if own < case.match_count {
            failures.push(format!(
                "{}: rule {} fired {own} time(s), expected at least {}",
                case.dir.display(),
                case.rule_id,
                case.match_count
            ));
        }
    }
    let mut detections = 0;
    for ((file, hunt), live) in files.iter().zip(&from_hunt).zip(&from_live) {
        detections += hunt.values().sum::<u64>();
        if hunt != live {
            let differ: Vec<String> = hunt
                .keys()
                .chain(live.keys())
                .filter(|id| hunt.get(*id) != live.get(*id))
                .map(|id| format!("{id}: hunt {:?}, live {:?}", hunt.get(id), live.get(id)))
                .collect();
            failures.push(format!("{}: {}", file.display(), differ.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    // Rules besides each case's own fire, on hundreds of events: the
    // comparison is not vacuous.
    assert!(hunted_events > 900, "{hunted_events}");
    assert!(detections > 400, "{detections}");
}

/// The EVTX attack samples of the corpus, in path order.
fn attack_samples(corpus: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![corpus.join("events/evtx-attack-samples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("samples readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
