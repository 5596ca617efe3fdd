//! The live detection stage: a durable bus consumer that matches every event
//! against the rule set in use and hands the detections to a sink (see the
//! crate documentation for the guarantees).

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nigehban_bus::{BusError, Delivery, EventConsumer};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, decode_event, event_parts};
use nigehban_sigma::{CorrelationLimits, Observation, Scratch};
use time::OffsetDateTime;

use crate::correlation::{CorrelationState, SharedCorrelation, StateStore};
use crate::cost::{COST_SAMPLE_EVERY, CostSample, RuleCosts};
use crate::detection::Detection;
use crate::rules::{DetectionRules, RulesHandle};
use crate::tape::JsonTape;
use crate::view::{Layout, SigmaView, read_record};

/// The durable consumer name the detection stage uses by default. Every
/// process running detection joins it, so that they share the events.
pub const DEFAULT_CONSUMER: &str = "detect";

/// Settings of a [`DetectionStage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageConfig {
    /// Most deliveries asked for in one fetch: one batch, matched, handed to
    /// the sink and acknowledged together.
    pub fetch_max: usize,
    /// How long a fetch waits when nothing is pending.
    pub idle_wait: Duration,
    /// Pause after a bus error or a refusal by the sink before trying again.
    pub retry_backoff: Duration,
    /// Threads that match one batch (default: one per core).
    pub workers: usize,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            // A fetch returns what is pending without waiting to fill, so a
            // large batch costs nothing when the stage keeps up; when it
            // falls behind, storing the alerts (one transaction per batch)
            // is its slowest step, and larger batches spread its fixed cost.
            fetch_max: 5000,
            idle_wait: Duration::from_secs(1),
            retry_backoff: Duration::from_secs(1),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Where detections go (the alert service implements it).
///
/// A batch's detections are handed over once the batch is matched; the
/// batch is acknowledged to the bus only after [`accept`](Self::accept)
/// returned `Ok`, and handed over again (after
/// [`StageConfig::retry_backoff`]) while it returns `Err`. Delivery is at
/// least once, so an implementation must treat a detection whose
/// [`Detection::key`] (rule id, event id) it already holds as the same
/// detection.
pub trait DetectionSink: Send + Sync + 'static {
    /// Why the sink could not take detections now.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Takes the detections of one batch (never empty), in bus order.
    fn accept(
        &self,
        detections: &[Detection],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Why the stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The settings cannot work.
    #[error("invalid detection stage settings: {0}")]
    Config(String),
    /// The bus was closed under the stage.
    #[error("the event bus failed under the detection stage: {0}")]
    Bus(#[from] BusError),
    /// Matching a batch failed (a matching thread panicked).
    #[error("matching a batch of events failed: {0}")]
    Evaluation(String),
}

/// Counters of a stage, plain atomics that a metrics endpoint reads.
#[derive(Debug, Default)]
pub struct DetectionMetrics {
    /// Events decoded and matched against the rules.
    pub events_evaluated: AtomicU64,
    /// Detections (rule matches) found.
    pub matches: AtomicU64,
    /// Deliveries that were not normalised events (or claimed another
    /// tenant): counted, logged and acknowledged.
    pub rejected: AtomicU64,
    /// Times the sink refused a batch (each retried).
    pub sink_failures: AtomicU64,
    /// Deliveries acknowledged to the bus.
    pub acknowledged: AtomicU64,
    /// Bus errors survived (fetch or acknowledgement failures).
    pub bus_errors: AtomicU64,
    /// Correlation detections found (also counted in `matches`).
    pub correlation_matches: AtomicU64,
    /// Times saving the correlation state failed (the batch is then not
    /// acknowledged, and comes again).
    pub state_failures: AtomicU64,
    /// What each rule costs, sampled (see [`crate::cost`]).
    pub rule_costs: RuleCosts,
    /// Nanoseconds the stage's loop spent in each [`StagePhase`], so that an
    /// operator can see what a stage that falls behind waits on.
    pub phase_nanos: [AtomicU64; StagePhase::ALL.len()],
}

/// What the stage's loop is doing (see [`DetectionMetrics::phase_nanos`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagePhase {
    /// Waiting for events from the bus.
    Fetch,
    /// Waiting for a batch to be matched against the rules.
    Match,
    /// Counting observations of correlation rules (and saving their state).
    Correlate,
    /// Handing the detections to the sink (storing the alerts).
    Store,
    /// Acknowledging the batch to the bus.
    Acknowledge,
}

impl StagePhase {
    /// Every phase, in loop order.
    pub const ALL: [StagePhase; 5] = [
        StagePhase::Fetch,
        StagePhase::Match,
        StagePhase::Correlate,
        StagePhase::Store,
        StagePhase::Acknowledge,
    ];

    /// Its name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            StagePhase::Fetch => "fetch",
            StagePhase::Match => "match",
            StagePhase::Correlate => "correlate",
            StagePhase::Store => "store",
            StagePhase::Acknowledge => "acknowledge",
        }
    }
}

impl DetectionMetrics {
    /// Seconds the loop spent in each phase so far.
    pub fn phase_seconds(&self) -> Vec<(StagePhase, f64)> {
        StagePhase::ALL
            .iter()
            .map(|&phase| {
                let nanos = self.phase_nanos[phase as usize].load(Ordering::Relaxed);
                (phase, nanos as f64 / 1e9)
            })
            .collect()
    }

    fn spent(&self, phase: StagePhase, since: Instant) {
        let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        add(&self.phase_nanos[phase as usize], nanos);
    }
}

/// The counters of a stage at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// See [`DetectionMetrics::events_evaluated`].
    pub events_evaluated: u64,
    /// See [`DetectionMetrics::matches`].
    pub matches: u64,
    /// See [`DetectionMetrics::rejected`].
    pub rejected: u64,
    /// See [`DetectionMetrics::sink_failures`].
    pub sink_failures: u64,
    /// See [`DetectionMetrics::acknowledged`].
    pub acknowledged: u64,
    /// See [`DetectionMetrics::bus_errors`].
    pub bus_errors: u64,
    /// See [`DetectionMetrics::correlation_matches`].
    pub correlation_matches: u64,
    /// See [`DetectionMetrics::state_failures`].
    pub state_failures: u64,
}

impl DetectionMetrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MetricsSnapshot {
            events_evaluated: read(&self.events_evaluated),
            matches: read(&self.matches),
            rejected: read(&self.rejected),
            sink_failures: read(&self.sink_failures),
            acknowledged: read(&self.acknowledged),
            bus_errors: read(&self.bus_errors),
            correlation_matches: read(&self.correlation_matches),
            state_failures: read(&self.state_failures),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A delivery that is not an event detection can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The delivery's bus offset.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// What matching a batch found.
#[derive(Debug, Default)]
pub struct Evaluated {
    /// The detections, in bus order, then rule order.
    pub detections: Vec<Detection>,
    /// Events matched.
    pub events: u64,
    /// Deliveries that could not be read as events.
    pub rejected: Vec<Rejected>,
    /// Matches of rules that correlations refer to, with the tenant of
    /// their event (each tenant is correlated on its own).
    pub observations: Vec<(String, Observation)>,
    /// The latest receive time in the batch.
    pub latest_received: Option<OffsetDateTime>,
    /// What each rule cost on the batch's profiled events (see [`crate::cost`]).
    pub costs: CostSample,
}

/// What one matching thread keeps from event to event.
struct Matcher {
    scratch: Scratch,
    tape: JsonTape,
    matched: Vec<usize>,
}

impl Matcher {
    fn new(rules: &DetectionRules) -> Self {
        Matcher {
            scratch: rules.compiled().scratch(),
            tape: JsonTape::new(),
            matched: Vec::new(),
        }
    }

    fn evaluate_one(&mut self, rules: &DetectionRules, delivery: &Delivery, out: &mut Evaluated) {
        let record = &delivery.record;
        let reject = |reason: String| Rejected {
            offset: delivery.offset,
            reason,
        };
        if record.content_type != EVENT_CONTENT_TYPE {
            out.rejected.push(reject(format!(
                "content type {:?} is not a normalised event ({EVENT_CONTENT_TYPE})",
                record.content_type
            )));
            return;
        }
        // The event is built only when matching needs it (records that are
        // not Windows events are matched on its normalised fields) or a rule
        // matched; the verbatim record is parsed once, into the tape.
        let parts = match event_parts(&record.payload) {
            Ok(parts) => parts,
            Err(error) => {
                out.rejected.push(reject(error.to_string()));
                return;
            }
        };
        let event_id = parts.id;
        match parts.tenant_id() {
            Ok(Some(claimed)) if claimed != record.tenant_id.as_str() => {
                out.rejected.push(reject(format!(
                    "event {event_id} is stamped with tenant {claimed:?} but the bus record belongs to {:?}",
                    record.tenant_id
                )));
                return;
            }
            Ok(_) => {}
            Err(error) => {
                out.rejected.push(reject(error.to_string()));
                return;
            }
        }
        let mut event = None;
        let has_record = match parts.record {
            Some(raw) if self.tape.parse(raw) => true,
            // What the tape cannot read, the event's parsed `original` may.
            _ => match if parts.record.is_some() {
                decode_event(&record.payload).map(|(_, whole)| whole)
            } else {
                parts.event()
            } {
                Ok(whole) => read_record(event.insert(whole), &mut self.tape),
                Err(error) => {
                    out.rejected.push(reject(error.to_string()));
                    return;
                }
            },
        };
        let windows = has_record && Layout::of(&self.tape).is_windows();
        if event.is_none() && !windows {
            match parts.event() {
                Ok(decoded) => event = Some(decoded),
                Err(error) => {
                    out.rejected.push(reject(error.to_string()));
                    return;
                }
            }
        }
        let view = match &event {
            Some(event) => SigmaView::of_event(event, has_record.then_some(&self.tape)),
            // A Windows record is matched on itself alone.
            None => SigmaView::of_record(&self.tape),
        };
        let compiled = rules.compiled();
        self.matched.clear();
        compiled.matches(&view, &mut self.scratch, &mut self.matched);
        out.events += 1;
        if delivery.offset % COST_SAMPLE_EVERY == 1 {
            out.costs.profile(compiled, &view);
        }
        if self.matched.is_empty() {
            return;
        }
        let decoded;
        let event = match &event {
            Some(event) => event,
            None => match parts.event() {
                Ok(built) => {
                    decoded = built;
                    &decoded
                }
                Err(error) => {
                    out.rejected.push(reject(error.to_string()));
                    return;
                }
            },
        };
        let received_at = offset_date_time(record.received_at);
        out.latest_received = out.latest_received.max(Some(received_at));
        let correlations = rules.correlations();
        if self
            .matched
            .iter()
            .any(|&index| correlations.observes(index))
        {
            let time = event.timestamp().unwrap_or(received_at);
            let time_ms = i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
            let id = event_id.to_string();
            for &index in &self.matched {
                if let Some(observation) = correlations.observation(index, time_ms, &id, &view) {
                    out.observations
                        .push((record.tenant_id.clone(), observation));
                }
            }
            self.matched.retain(|&index| correlations.base_emits(index));
        }
        // Per-tenant tuning: rules disabled for the tenant, and its filters.
        let tuning = rules.tuning();
        let tenant_view = tuning.view(&record.tenant_id);
        self.matched.retain(|&index| {
            rules.summaries().get(index).is_none_or(|rule| {
                tenant_view.allows(&rule.id)
                    && !(tenant_view.filters_rule(&rule.id)
                        && tuning.filtered_out(tenant_view, &rule.id, &view))
            })
        });
        let text = |name: &str| event.fields().get_str(name).map(str::to_owned);
        let (host, user) = (text("host.name"), text("user.name"));
        for &index in &self.matched {
            let Some(rule) = rules.summaries().get(index) else {
                continue;
            };
            out.detections.push(Detection {
                event_id,
                tenant_id: record.tenant_id.clone(),
                sensor_id: record.sensor_id.clone(),
                event_time: event.timestamp(),
                received_at,
                rule: Arc::clone(rule),
                matched: compiled.matched_fields(index, &view),
                host: host.clone(),
                user: user.clone(),
                fold_key: None,
                correlation: None,
            });
        }
    }
}

/// A bus time as a date-time (the Unix epoch for one out of range, which
/// the bus refuses to store anyway).
fn offset_date_time(at: SystemTime) -> OffsetDateTime {
    let nanos = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Matches a batch of deliveries against `rules` on up to `threads`
/// threads: decodes each (rejecting what is not a normalised event of the
/// record's tenant), shows it to the matcher through [`SigmaView`] and
/// returns the detections in bus order. Pure: no I/O, no clock.
pub fn evaluate(rules: &DetectionRules, deliveries: &[Delivery], threads: usize) -> Evaluated {
    // Below this many events per thread, a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 64;
    let threads = threads
        .max(1)
        .min(deliveries.len().div_ceil(MIN_PER_THREAD).max(1));
    let run = |chunk: &[Delivery]| {
        let mut matcher = Matcher::new(rules);
        let mut out = Evaluated::default();
        for delivery in chunk {
            matcher.evaluate_one(rules, delivery, &mut out);
        }
        out
    };
    if threads == 1 {
        return run(deliveries);
    }
    let per_thread = deliveries.len().div_ceil(threads);
    let parts: Vec<Evaluated> = std::thread::scope(|scope| {
        let workers: Vec<_> = deliveries
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || run(chunk)))
            .collect();
        workers
            .into_iter()
            .map(|worker| match worker.join() {
                Ok(part) => part,
                // Matching never panics on any event (the view and the
                // matcher are fuzzed); if it ever did, re-raise rather than
                // lose a chunk of events.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut all = Evaluated::default();
    for part in parts {
        all.events += part.events;
        all.detections.extend(part.detections);
        all.rejected.extend(part.rejected);
        all.observations.extend(part.observations);
        all.latest_received = all.latest_received.max(part.latest_received);
        all.costs.merge(part.costs);
    }
    all
}

/// A fetched batch being matched.
struct Ahead {
    offsets: Vec<u64>,
    rules: Arc<DetectionRules>,
    matching: tokio::task::JoinHandle<Evaluated>,
}

/// The live detection stage (see the crate documentation).
pub struct DetectionStage<S> {
    rules: RulesHandle,
    sink: S,
    config: StageConfig,
    metrics: Arc<DetectionMetrics>,
    correlation_dir: Option<PathBuf>,
    correlation_limits: CorrelationLimits,
    shared_state: Option<Arc<dyn StateStore>>,
}

impl<S: DetectionSink> DetectionStage<S> {
    /// A stage matching with the rule set `rules` holds (at each batch) and
    /// handing detections to `sink`.
    pub fn new(rules: RulesHandle, sink: S, config: StageConfig) -> Self {
        DetectionStage {
            rules,
            sink,
            config,
            metrics: Arc::new(DetectionMetrics::default()),
            correlation_dir: None,
            correlation_limits: CorrelationLimits::default(),
            shared_state: None,
        }
    }

    /// Keeps the correlation state in `values` that every detecting process
    /// on the bus shares (NATS JetStream: [`nigehban_bus::JetStreamBus::shared_values`]
    /// named [`crate::correlation::SHARED_STATE_NAME`]), with `limits`: each
    /// observation is counted once whichever process matched its event, and
    /// each correlation match is found once (see [`crate::correlation`]).
    /// Replaces [`Self::with_correlation_state`].
    pub fn with_shared_correlation_state(
        mut self,
        values: impl nigehban_bus::SharedValues,
        limits: CorrelationLimits,
    ) -> Self {
        self.shared_state = Some(Arc::new(values));
        self.correlation_dir = None;
        self.correlation_limits = limits;
        self
    }

    /// Keeps the correlation state in `dir` (loaded at start, saved after
    /// every batch the sink accepted and before it is acknowledged), with
    /// `limits` (the allowed lateness among them). Without it the state
    /// lives in memory only and a restart forgets open windows.
    pub fn with_correlation_state(mut self, dir: PathBuf, limits: CorrelationLimits) -> Self {
        self.correlation_dir = Some(dir);
        self.correlation_limits = limits;
        self
    }

    /// Matches `batch` on the blocking pool with the rules of this moment.
    fn start_matching(&self, batch: Vec<Delivery>) -> Ahead {
        let offsets = batch.iter().map(|delivery| delivery.offset).collect();
        let rules = self.rules.current();
        let matching = Arc::clone(&rules);
        let workers = self.config.workers;
        Ahead {
            offsets,
            rules,
            matching: tokio::task::spawn_blocking(move || evaluate(&matching, &batch, workers)),
        }
    }

    /// The stage's counters, for a metrics endpoint.
    pub fn metrics(&self) -> Arc<DetectionMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Runs until `shutdown` completes (finishing the batch in hand: matched,
    /// accepted by the sink and acknowledged, unless the sink refuses it
    /// then, in which case it is left unacknowledged and comes again) or the
    /// bus closes. Needs a Tokio runtime that allows blocking tasks.
    ///
    /// Bus errors are logged and retried after
    /// [`StageConfig::retry_backoff`]; so are refusals by the sink.
    pub async fn run<C, F>(
        self,
        mut consumer: C,
        shutdown: F,
    ) -> Result<MetricsSnapshot, DetectError>
    where
        C: EventConsumer,
        F: Future<Output = ()> + Send,
    {
        let config = &self.config;
        if config.fetch_max == 0 || config.workers == 0 {
            return Err(DetectError::Config(
                "fetch_max and workers must be at least 1".into(),
            ));
        }
        let metrics = &self.metrics;
        let state_dir = self.correlation_dir.as_deref();
        let mut correlation = match state_dir {
            None => CorrelationState::new(self.correlation_limits),
            Some(dir) => match CorrelationState::load(dir, self.correlation_limits) {
                Ok(state) => state,
                Err(error) => {
                    // Detection must go on; the unreadable file is kept aside.
                    let path = dir.join(crate::correlation::STATE_FILE);
                    let _ = std::fs::rename(&path, path.with_extension("json.unreadable"));
                    tracing::error!(%error, "correlation state unreadable; starting with none");
                    CorrelationState::new(self.correlation_limits)
                }
            },
        };
        let mut shared = self
            .shared_state
            .clone()
            .map(|store| SharedCorrelation::new(store, self.correlation_limits));
        let mut correlated_with: Option<Arc<DetectionRules>> = None;
        let mut shutdown = pin!(shutdown);
        // Once `shutdown` has completed it must not be polled again.
        let mut stopping = false;
        tracing::info!(consumer = consumer.name(), "detection stage started");
        // The next batch, fetched and being matched while the one in hand is
        // handed to the sink and acknowledged (both backends let a consumer
        // hold unacknowledged deliveries while it fetches more).
        let mut ahead: Option<Ahead> = None;
        while !stopping {
            let (offsets, rules, mut evaluated) = match ahead.take() {
                Some(next) => {
                    let waited = Instant::now();
                    let evaluated = next
                        .matching
                        .await
                        .map_err(|join| DetectError::Evaluation(join.to_string()))?;
                    metrics.spent(StagePhase::Match, waited);
                    (next.offsets, next.rules, evaluated)
                }
                None => {
                    let waited = Instant::now();
                    let fetched = tokio::select! {
                        biased;
                        () = &mut shutdown => {
                            stopping = true;
                            continue;
                        }
                        fetched = consumer.fetch(config.fetch_max, config.idle_wait) => fetched,
                    };
                    let batch = match fetched {
                        Ok(batch) => batch,
                        Err(BusError::Closed) => {
                            tracing::warn!("bus closed under the detection stage");
                            break;
                        }
                        Err(error) => {
                            add(&metrics.bus_errors, 1);
                            tracing::warn!(%error, "detection stage fetch failed; retrying");
                            tokio::select! {
                                biased;
                                () = &mut shutdown => stopping = true,
                                () = tokio::time::sleep(config.retry_backoff) => {}
                            }
                            continue;
                        }
                    };
                    metrics.spent(StagePhase::Fetch, waited);
                    if batch.is_empty() {
                        continue;
                    }
                    let next = self.start_matching(batch);
                    let waited = Instant::now();
                    let evaluated = next
                        .matching
                        .await
                        .map_err(|join| DetectError::Evaluation(join.to_string()))?;
                    metrics.spent(StagePhase::Match, waited);
                    (next.offsets, next.rules, evaluated)
                }
            };
            if !correlated_with
                .as_ref()
                .is_some_and(|before| Arc::ptr_eq(before, &rules))
            {
                correlation.retain(&rules);
                correlated_with = Some(Arc::clone(&rules));
            }
            let correlating = Instant::now();
            if !evaluated.observations.is_empty() {
                let received = evaluated
                    .latest_received
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let mut found = match &mut shared {
                    None => correlation.observe(&rules, &evaluated.observations, received),
                    Some(shared) => {
                        match shared
                            .observe(&rules, &evaluated.observations, received)
                            .await
                        {
                            Ok(found) => found,
                            Err(error) => {
                                // Unacknowledged, the batch comes again; what
                                // was counted of it is recognised then.
                                shared.forget();
                                add(&metrics.state_failures, 1);
                                tracing::error!(%error, "the shared correlation state could not be updated; the batch will be delivered again");
                                tokio::select! {
                                    biased;
                                    () = &mut shutdown => stopping = true,
                                    () = tokio::time::sleep(config.retry_backoff) => {}
                                }
                                continue;
                            }
                        }
                    }
                };
                // A correlation whose rule is disabled for the tenant still
                // counted (its state stays whole) but raises nothing there.
                let tuning = rules.tuning();
                found.retain(|d| tuning.allows(&d.tenant_id, &d.rule.id));
                add(&metrics.correlation_matches, found.len() as u64);
                evaluated.detections.extend(found);
            }
            metrics.spent(StagePhase::Correlate, correlating);
            metrics.rule_costs.record(&rules, &evaluated.costs);
            add(&metrics.events_evaluated, evaluated.events);
            add(&metrics.matches, evaluated.detections.len() as u64);
            add(&metrics.rejected, evaluated.rejected.len() as u64);
            for rejected in &evaluated.rejected {
                tracing::warn!(
                    offset = rejected.offset,
                    reason = %rejected.reason,
                    "detection skipped a bus record that is not a normalised event"
                );
            }
            if !stopping && ahead.is_none() {
                let fetching = Instant::now();
                match consumer.fetch(config.fetch_max, Duration::ZERO).await {
                    Ok(next) if !next.is_empty() => ahead = Some(self.start_matching(next)),
                    Ok(_) => {}
                    // The next regular fetch retries and counts it.
                    Err(error) => tracing::debug!(%error, "fetching ahead failed"),
                }
                metrics.spent(StagePhase::Fetch, fetching);
            }
            let storing = Instant::now();
            if !evaluated.detections.is_empty() {
                while let Err(error) = self.sink.accept(&evaluated.detections).await {
                    add(&metrics.sink_failures, 1);
                    tracing::warn!(%error, detections = evaluated.detections.len(), "the detection sink refused a batch; retrying");
                    let stop = stopping
                        || tokio::select! {
                            biased;
                            () = &mut shutdown => true,
                            () = tokio::time::sleep(config.retry_backoff) => false,
                        };
                    if stop {
                        tracing::info!(
                            "detection stage stopping with a batch the sink did not take; it will be delivered again"
                        );
                        return Ok(metrics.snapshot());
                    }
                }
            }
            metrics.spent(StagePhase::Store, storing);
            let correlating = Instant::now();
            if let Some(shared) = &mut shared {
                shared.taken().await;
            }
            if let Some(dir) = state_dir
                && !evaluated.observations.is_empty()
                && let Err(error) = correlation.save(dir)
            {
                // Unacknowledged, the batch comes again; the sink knows its
                // detections and the engine its observations.
                add(&metrics.state_failures, 1);
                tracing::error!(%error, "saving the correlation state failed; the batch will be delivered again");
                continue;
            }
            metrics.spent(StagePhase::Correlate, correlating);
            let acknowledging = Instant::now();
            let acknowledged = consumer.ack(&offsets).await;
            metrics.spent(StagePhase::Acknowledge, acknowledging);
            match acknowledged {
                Ok(()) => add(&metrics.acknowledged, offsets.len() as u64),
                Err(BusError::Closed) => return Err(DetectError::Bus(BusError::Closed)),
                Err(error) => {
                    // The sink has the detections; unacknowledged, the batch
                    // comes again and the sink recognises them.
                    add(&metrics.bus_errors, 1);
                    tracing::warn!(%error, count = offsets.len(), "acknowledging matched events failed; they will be delivered again");
                }
            }
        }
        let totals = metrics.snapshot();
        tracing::info!(
            events = totals.events_evaluated,
            matches = totals.matches,
            rejected = totals.rejected,
            "detection stage stopped"
        );
        Ok(totals)
    }
}
