//! A node's runtime: the bus, intake over the sensor registry, the event
//! index and the tasks of the node's roles (see the crate documentation).
//!
//! [`TelemetryRuntime::start`] opens the bus (embedded log or NATS JetStream),
//! the index under the data directory, builds [`Intake`] over a
//! [`RegistryDirectory`] (the app's sensor registry), watches every active
//! sensor's health, binds the configured syslog listeners and spawns the
//! indexer, the retention loop, the health recorder and live detection,
//! as the roles ask, and the duty loop (paging) on every node. [`TelemetryRuntime::shutdown`] stops them in the order
//! that loses nothing: listeners drain into the bus, detection hands over
//! its batch, then the indexer commits what it holds and
//! acknowledges it, then the index and the bus are closed.
//!
//! Intake comes before indexing. The indexer, its tantivy threads and the
//! retention loop run on a runtime of their own whose threads have the lowest
//! CPU priority ([`TelemetryConfig::background_nice`]): under a burst the cores
//! acknowledge senders first and search falls behind; the bus holds what is not
//! indexed yet, and intake's backpressure (on the `search` consumer's lag)
//! bounds how far behind it may fall.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nigehban_app::model::{Sensor, SensorHealthKind, SensorId, Timestamp};
use nigehban_app::{App, SensorHealthReport};
use nigehban_bus::{AnyBus, BusError, BusLocation, BusMetrics, ConsumerConfig, EventBus as _};
use nigehban_detect::{
    DetectError, DetectionMetrics, DetectionRules, DetectionStage, MetricsSnapshot, RulesHandle,
    StageConfig,
};
use nigehban_ingest::{
    ClientCertificate, DirectoryError, HealthChange, HealthChangeKind, Intake, IntakeOptions,
    ListenError, SensorDirectory, SensorStamp, SyslogConfig, SyslogListeners,
};
use nigehban_search::{
    EventIndex, IndexOptions, Indexer, IndexerConfig, IndexerReport, SearchError, run_retention,
};
use nigehban_sigma::CorrelationLimits;
use tokio::sync::{mpsc, watch};

use crate::alert_sink::AlertSink;
use crate::roles::Roles;
use crate::rules::PlatformRules;
use tokio::task::JoinHandle;

/// Intake as the server runs it: over either bus, with sensors from the registry.
pub type SensorIntake = Intake<AnyBus, RegistryDirectory>;

/// What request handlers reach of telemetry: intake, the event index and the bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Telemetry {
    /// HTTP intake, sensor health and intake counters.
    pub intake: SensorIntake,
    /// The event index searched by `GET /api/v1/events`.
    pub index: EventIndex,
    /// The bus (for its metrics).
    pub bus: AnyBus,
    /// The bus metrics read at the last scrape (the bus is read asynchronously, the
    /// metrics registry synchronously).
    pub bus_metrics: Arc<Mutex<Option<BusMetrics>>>,
    /// Why the indexer stopped, if it stopped with an error: events are then no longer indexed.
    pub indexer_failure: Arc<Mutex<Option<String>>>,
    /// Live detection's counters, when this node runs it.
    pub detection: Option<Arc<DetectionMetrics>>,
}

impl Telemetry {
    /// Telemetry over an intake and an index (the runtime builds it; tests may too).
    pub fn new(intake: SensorIntake, index: EventIndex) -> Self {
        Telemetry {
            bus: intake.bus().clone(),
            intake,
            index,
            bus_metrics: Arc::new(Mutex::new(None)),
            indexer_failure: Arc::new(Mutex::new(None)),
            detection: None,
        }
    }

    /// Whether the bus can take events now; the error (for the log) says why not.
    pub async fn bus_ready(&self) -> Result<(), BusError> {
        self.bus.check_ready().await
    }

    /// Whether the index can take events and the indexer is running; the error says why not.
    pub fn index_ready(&self) -> Result<(), String> {
        if let Some(failure) = lock(&self.indexer_failure).clone() {
            return Err(format!("the event indexer stopped: {failure}"));
        }
        self.index.check_ready().map_err(|error| error.to_string())
    }

    /// Reads the bus's metrics now, for the next rendering of `/metrics`.
    pub async fn refresh_bus_metrics(&self) {
        match self.bus.metrics().await {
            Ok(metrics) => *lock(&self.bus_metrics) = Some(metrics),
            Err(error) => {
                tracing::warn!(%error, "could not read the bus metrics");
                *lock(&self.bus_metrics) = None;
            }
        }
    }

    /// Starts (or restarts) watching a sensor's health and forgets cached
    /// syslog sender answers; call after a sensor is registered or changed.
    pub fn sensor_changed(&self, sensor: &Sensor) {
        self.intake.forget_cached_senders();
        if sensor.active {
            self.intake.watch_sensor(&stamp_of(sensor));
        } else {
            self.intake.forget_sensor(&sensor.id.to_string());
        }
    }
}

/// Locks a mutex, going on with the value when a holder panicked (counters and
/// caches stay usable).
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What intake stamps on the events of a registered sensor.
pub fn stamp_of(sensor: &Sensor) -> SensorStamp {
    let mut stamp = SensorStamp::new(sensor.tenant.to_string(), sensor.id.to_string());
    stamp.expected_formats = sensor
        .expected_formats
        .iter()
        .map(|format| nigehban_ingest::normaliser_format(*format))
        .collect();
    stamp.expected_formats.dedup();
    stamp.host_os_type = sensor.host_os_type.map(|os| os.as_str().to_owned());
    stamp.utc_offset = sensor.utc_offset.map(|offset| offset.to_utc_offset());
    stamp.expected_interval = sensor.expected_interval.map(|i| i.as_duration());
    stamp
}

/// Intake's sensor directory over the app's sensor registry (syslog senders
/// by source address or TLS client certificate).
#[derive(Debug, Clone)]
pub struct RegistryDirectory {
    app: App,
}

impl RegistryDirectory {
    /// The directory over `app`'s registry.
    pub fn new(app: App) -> Self {
        RegistryDirectory { app }
    }
}

impl SensorDirectory for RegistryDirectory {
    async fn sensor_by_address(
        &self,
        address: IpAddr,
    ) -> Result<Option<SensorStamp>, DirectoryError> {
        self.app
            .sensors()
            .sensor_by_address(address)
            .await
            .map(|found| found.map(|identity| stamp_of(&identity.sensor)))
            .map_err(|error| DirectoryError(error.to_string()))
    }

    async fn sensor_by_certificate(
        &self,
        certificate: &ClientCertificate,
    ) -> Result<Option<SensorStamp>, DirectoryError> {
        let fingerprint =
            nigehban_app::model::CertificateFingerprint::from_bytes(certificate.sha256);
        self.app
            .sensors()
            .sensor_by_certificate(&fingerprint, certificate.subject_cn.as_deref())
            .await
            .map(|found| found.map(|identity| stamp_of(&identity.sensor)))
            .map_err(|error| DirectoryError(error.to_string()))
    }
}

/// The health event recorded for a change intake saw; `None` if the sensor id is not one of ours.
pub fn health_report(change: &HealthChange) -> Option<SensorHealthReport> {
    let sensor: SensorId = change.sensor_id.parse().ok()?;
    let at = Timestamp::from_system_time(change.at);
    let kind = match &change.kind {
        HealthChangeKind::Silent {
            since,
            expected_interval,
        } => SensorHealthKind::Silent {
            since: Timestamp::from_system_time(*since),
            expected_interval_seconds: expected_interval.as_secs(),
        },
        HealthChangeKind::Recovered { silent_since } => {
            SensorHealthKind::recovered(Timestamp::from_system_time(*silent_since), at)
        }
    };
    Some(SensorHealthReport { sensor, at, kind })
}

/// Settings of the telemetry runtime.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Where the bus is.
    pub bus: BusLocation,
    /// Intake's options (limits, backpressure, health check period).
    pub intake: IntakeOptions,
    /// The syslog listeners to start (none by default).
    pub syslog: SyslogConfig,
    /// Index settings (retention of events in search).
    pub index: IndexOptions,
    /// How often expired events are deleted from the index.
    pub retention_every: Duration,
    /// The durable bus consumer the indexer reads with.
    pub search_consumer: String,
    /// The nice value (Unix CPU priority, 0 normal to 19 lowest) of the indexing and
    /// retention threads; `None` leaves them at the server's own.
    pub background_nice: Option<i32>,
    /// The work this node does (default: all of it).
    pub roles: Roles,
    /// Live detection: the rules and the stage's settings; `None`: no rules
    /// are configured and the `detect` role does nothing.
    pub detection: Option<DetectionConfig>,
    /// Whether the `detect` role also matches events against the platform's
    /// indicators (consumer `intel`), retro-hunting new and changed ones
    /// over the index's retention when the node also searches (default: yes).
    pub intel_matching: bool,
}

/// Settings of live detection on a node.
#[derive(Debug, Clone)]
pub struct DetectionConfig {
    /// The rule set in use (swapped whole when rules change).
    pub rules: RulesHandle,
    /// The durable bus consumer detection reads with; every detecting node
    /// of a deployment shares it.
    pub consumer: String,
    /// Batch size, waits and matching threads.
    pub stage: StageConfig,
    /// Where correlation windows are saved between batches, so that a
    /// restart neither misses nor repeats one; `None` keeps them in memory
    /// only. On NATS JetStream they are kept in the bus instead, shared by
    /// every detecting node.
    pub state_dir: Option<PathBuf>,
    /// Allowed lateness and the bounds of correlation state.
    pub correlation: CorrelationLimits,
    /// The platform's stored rules (imported and built-in) beside the
    /// node's files, tuned per tenant and reloaded when they change; `None`
    /// runs the rules in `rules` as they are.
    pub platform: Option<Arc<PlatformRules>>,
}

impl DetectionConfig {
    /// Detection with `rules` under the default consumer and stage settings.
    pub fn new(rules: RulesHandle) -> Self {
        DetectionConfig {
            rules,
            consumer: nigehban_detect::DEFAULT_CONSUMER.to_owned(),
            stage: StageConfig::default(),
            state_dir: None,
            correlation: CorrelationLimits::default(),
            platform: None,
        }
    }

    /// Detection with the platform's stored rules and the node's `files`,
    /// reloaded when they change (see [`PlatformRules`]).
    pub fn platform(platform: PlatformRules) -> Self {
        let (empty, _) = DetectionRules::compile(
            &nigehban_sigma::RuleSet::new(),
            &platform.mapping,
            &platform.options,
        );
        let mut config = DetectionConfig::new(RulesHandle::new(empty));
        config.platform = Some(Arc::new(platform));
        config
    }
}

impl TelemetryConfig {
    /// The defaults on `bus`: no syslog listener, 30 days in search, the
    /// `search` consumer watched for backpressure.
    pub fn new(bus: BusLocation) -> Self {
        let mut intake = IntakeOptions::default();
        intake.backpressure.consumers = vec![nigehban_search::DEFAULT_CONSUMER.to_owned()];
        TelemetryConfig {
            bus,
            intake,
            syslog: SyslogConfig::default(),
            index: IndexOptions::default(),
            retention_every: Duration::from_secs(60 * 60),
            search_consumer: nigehban_search::DEFAULT_CONSUMER.to_owned(),
            background_nice: Some(LOWEST_PRIORITY),
            roles: Roles::ALL,
            detection: None,
            intel_matching: true,
        }
    }
}

/// The lowest CPU priority a Unix thread can have (the nice value 19).
pub const LOWEST_PRIORITY: i32 = 19;

/// The runtime of indexing and retention: one worker, blocking threads on demand, every
/// thread lowered to the configured priority as it starts (threads it starts, such as
/// tantivy's, inherit it). Shut down without waiting when dropped, so dropping it inside
/// the server's own runtime never blocks.
#[derive(Debug)]
struct BackgroundRuntime {
    /// Where its tasks are spawned.
    handle: tokio::runtime::Handle,
    /// `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundRuntime {
    fn start(nice: Option<i32>) -> Result<Self, TelemetryError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(8)
            .thread_name("nigehban-background")
            .on_thread_start(move || {
                if let Some(nice) = nice {
                    lower_this_thread(nice);
                }
            })
            .enable_all()
            .build()
            .map_err(TelemetryError::Background)?;
        Ok(BackgroundRuntime {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Sets the calling thread's nice value (on Linux, nice is per thread, and threads it
/// starts inherit it). Failing is harmless: the work runs at normal priority.
fn lower_this_thread(nice: i32) {
    #[cfg(unix)]
    if let Err(error) = rustix::process::setpriority_process(None, nice) {
        tracing::debug!(%error, nice, "could not lower a background thread's priority");
    }
    #[cfg(not(unix))]
    let _ = nice;
}

/// Telemetry could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The bus could not be opened.
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
    /// The event index could not be opened.
    #[error("event index: {0}")]
    Search(#[from] SearchError),
    /// A syslog listener could not be started.
    #[error("{0}")]
    Listen(#[from] ListenError),
    /// The sensor registry could not be read.
    #[error("sensor registry: {0}")]
    Registry(#[from] nigehban_app::AppError),
    /// The runtime of the background tasks (indexing, retention) could not be built.
    #[error("background runtime: {0}")]
    Background(#[source] std::io::Error),
    /// The indicators could not be loaded for matching.
    #[error("indicator matching: {0}")]
    Intel(String),
}

/// What stopping the runtime found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Whether the syslog listeners published everything they had received in time.
    pub listeners_drained: bool,
    /// What the indexer did, if it stopped cleanly.
    pub indexer: Option<IndexerReport>,
    /// Health events recorded since start.
    pub health_events: u64,
    /// What live detection did, if it ran and stopped cleanly.
    pub detection: Option<MetricsSnapshot>,
}

/// The live detection stage of a node, running.
#[derive(Debug)]
struct RunningDetection {
    task: JoinHandle<Result<MetricsSnapshot, DetectError>>,
    metrics: Arc<DetectionMetrics>,
    /// The watch of the rules revision, when the platform's rules are used.
    rules_watch: Option<JoinHandle<()>>,
    /// The rules revision in use (swapped in before it is set here).
    rules_revision: Arc<AtomicU64>,
    /// The platform's rules with what loads them, when they are used.
    platform: Option<(Arc<PlatformRules>, App, RulesHandle)>,
}

impl RunningDetection {
    /// Joins the detection consumer and starts the stage, raising alerts through `app`.
    async fn start(
        app: App,
        bus: &AnyBus,
        config: &DetectionConfig,
        stop: impl Future<Output = ()> + Send + 'static,
        stop_rx: watch::Receiver<bool>,
    ) -> Result<Self, TelemetryError> {
        // The stored rules are loaded before the first batch is fetched.
        let rules_revision = Arc::new(AtomicU64::new(0));
        let rules_watch = match &config.platform {
            Some(platform) => {
                let seeded = PlatformRules::seed_built_in(&app).await;
                let revision = platform.load(&app, &config.rules).await?;
                rules_revision.store(revision, Ordering::Release);
                Some(tokio::spawn(Arc::clone(platform).watch(
                    app.clone(),
                    config.rules.clone(),
                    Arc::clone(&rules_revision),
                    seeded,
                    stop_rx,
                )))
            }
            None => None,
        };
        let consumer = bus
            .consumer(&config.consumer, ConsumerConfig::default())
            .await?;
        let mut stage = DetectionStage::new(
            config.rules.clone(),
            AlertSink::new(app.clone()),
            config.stage.clone(),
        );
        // On NATS JetStream every detecting node shares the correlation
        // state, so that a group's events count together whichever node
        // matched them; the embedded bus has one detecting process.
        if let Some(values) = bus
            .shared_values(nigehban_detect::correlation::SHARED_STATE_NAME)
            .await?
        {
            stage = stage.with_shared_correlation_state(values, config.correlation);
        } else if let Some(dir) = &config.state_dir {
            stage = stage.with_correlation_state(dir.clone(), config.correlation);
        }
        let metrics = stage.metrics();
        let rules = config.rules.current().summaries().len();
        tracing::info!(rules, consumer = %config.consumer, "live detection started");
        let task = tokio::spawn(stage.run(consumer, stop));
        Ok(RunningDetection {
            task,
            metrics,
            rules_watch,
            rules_revision,
            platform: config
                .platform
                .as_ref()
                .map(|platform| (Arc::clone(platform), app, config.rules.clone())),
        })
    }

    /// Seeds the built-in rules and loads the platform's rules now (the
    /// platform was just set up): the starter pack is in use before any
    /// sensor can be registered, not at the watch's next poll.
    async fn platform_set_up(&self) {
        let Some((platform, app, handle)) = &self.platform else {
            return;
        };
        if !PlatformRules::seed_built_in(app).await {
            return;
        }
        match platform.load(app, handle).await {
            Ok(revision) => self.rules_revision.store(revision, Ordering::Release),
            Err(error) => tracing::warn!(%error, "loading the rules after the first start failed"),
        }
    }

    /// Waits for the stage to finish its batch and stop (the stop signal was sent).
    async fn stop(self) -> Option<MetricsSnapshot> {
        if let Some(watch) = self.rules_watch {
            let _ = watch.await;
        }
        match self.task.await {
            Ok(Ok(snapshot)) => Some(snapshot),
            Ok(Err(error)) => {
                tracing::error!(%error, "live detection stopped with an error");
                None
            }
            Err(error) => {
                tracing::error!(%error, "the live detection task failed");
                None
            }
        }
    }
}

/// The running telemetry tasks. Stop them with [`TelemetryRuntime::shutdown`].
#[derive(Debug)]
pub struct TelemetryRuntime {
    telemetry: Telemetry,
    listeners: Option<SyslogListeners>,
    stop: watch::Sender<bool>,
    indexer: Option<JoinHandle<Result<IndexerReport, SearchError>>>,
    retention: Option<JoinHandle<u64>>,
    health_watch: Option<JoinHandle<()>>,
    recorder: Option<JoinHandle<u64>>,
    detection: Option<RunningDetection>,
    matching: Option<JoinHandle<Result<crate::MatchOutcome, crate::MatchingError>>>,
    duty: JoinHandle<()>,
    /// Last field: dropped after the tasks above that run on it.
    background: BackgroundRuntime,
}

/// Completes once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl TelemetryRuntime {
    /// Opens the bus and the index in `data_dir`, starts intake, the syslog
    /// listeners, the indexer, the retention loop and the health watch.
    pub async fn start(
        app: App,
        data_dir: &Path,
        config: TelemetryConfig,
    ) -> Result<Self, TelemetryError> {
        let bus = AnyBus::open(config.bus.clone()).await?;
        let background = BackgroundRuntime::start(config.background_nice)?;
        let on_background = background.handle.clone();
        let roles = config.roles;
        if roles.search && !EventIndex::exists(data_dir)? {
            // A new index holds nothing, whatever the consumer acknowledged into one that is
            // gone (a new index schema, a restored backup, an index deleted by hand): the
            // consumer starts again at the oldest event the bus holds. Done before the index
            // is created, so that a crash in between does it again.
            match bus.delete_consumer(&config.search_consumer).await {
                Ok(()) => tracing::info!(
                    consumer = %config.search_consumer,
                    "there is no event index: every event the bus holds is indexed"
                ),
                Err(BusError::UnknownConsumer(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let index_dir = data_dir.to_path_buf();
        let index_options = config.index.clone();
        // Opened on a background thread: the writer's indexing and merge threads inherit
        // its priority.
        let index = on_background
            .spawn_blocking(move || EventIndex::open(index_dir, index_options))
            .await
            .map_err(|join| SearchError::Config(format!("opening the index failed: {join}")))??;
        let intake = Intake::new(
            bus.clone(),
            RegistryDirectory::new(app.clone()),
            config.intake.clone(),
        );
        let mut telemetry = Telemetry::new(intake.clone(), index.clone());

        let listeners = if roles.intake
            && (config.syslog.udp.is_some()
                || config.syslog.tcp.is_some()
                || config.syslog.tls.is_some())
        {
            Some(intake.start_syslog(config.syslog.clone()).await?)
        } else {
            None
        };

        let (stop, stop_rx) = watch::channel(false);
        // Detection runs on the node's own runtime, at normal priority, ahead of
        // indexing on the lowered background runtime: under a burst alerts stay
        // current and search falls behind within its allowance.
        let detection = match (&config.detection, roles.detect) {
            (Some(detection), true) => Some(
                RunningDetection::start(
                    app.clone(),
                    &bus,
                    detection,
                    stopped(stop_rx.clone()),
                    stop_rx.clone(),
                )
                .await?,
            ),
            (None, true) => {
                tracing::warn!("no detection rules are configured: live detection does not run");
                None
            }
            (_, false) => None,
        };
        telemetry.detection = detection.as_ref().map(|d| Arc::clone(&d.metrics));
        // Indicator matching beside detection, on its own consumer.
        let matching = if roles.detect && config.intel_matching {
            let (matching, revision) = crate::IndicatorMatching::load(app.clone())
                .await
                .map_err(|error| TelemetryError::Intel(error.to_string()))?;
            let consumer = bus
                .consumer(crate::INTEL_CONSUMER, ConsumerConfig::default())
                .await?;
            let hunt_days = u32::try_from(config.index.retention.as_secs() / 86_400)
                .unwrap_or(u32::MAX)
                .max(1);
            let index_for_hunts = roles.search.then(|| index.clone());
            Some(tokio::spawn(matching.run(
                consumer,
                index_for_hunts,
                hunt_days,
                revision,
                Duration::from_secs(1),
                stopped(stop_rx.clone()),
            )))
        } else {
            None
        };
        let (indexer, retention) = if roles.search {
            let consumer = bus
                .consumer(&config.search_consumer, ConsumerConfig::default())
                .await?;
            let indexing = Indexer::new(index.clone(), IndexerConfig::default())
                .run(consumer, stopped(stop_rx.clone()));
            let failure = Arc::clone(&telemetry.indexer_failure);
            let indexer = on_background.spawn(async move {
                let result = indexing.await;
                if let Err(error) = &result {
                    // Readiness reports it from now on.
                    tracing::error!(%error, "the event indexer stopped with an error");
                    *lock(&failure) = Some(error.to_string());
                }
                result
            });
            let retention = on_background.spawn(run_retention(
                index.clone(),
                config.retention_every,
                time::OffsetDateTime::now_utc,
                stopped(stop_rx.clone()),
            ));
            (Some(indexer), Some(retention))
        } else {
            (None, None)
        };
        // Paging: escalation timers, deliveries, hand-over checks (see `nigehban_app::duty`).
        let duty = tokio::spawn({
            let (app, stop) = (app.clone(), stopped(stop_rx.clone()));
            async move { app.duty().watch(stop).await }
        });
        let (health_watch, recorder) = if roles.intake {
            let sensors = app.sensors().active_sensors().await?;
            for sensor in &sensors {
                intake.watch_sensor(&stamp_of(sensor));
            }
            tracing::info!(sensors = sensors.len(), "watching sensor health");
            let (changes_tx, changes_rx) = mpsc::unbounded_channel::<HealthChange>();
            let health_watch = intake.spawn_health_watch(move |changes| {
                for change in changes {
                    // The recorder is gone only during shutdown.
                    let _ = changes_tx.send(change);
                }
            });
            let recorder = tokio::spawn(record_health(app, intake.clone(), changes_rx));
            (Some(health_watch), Some(recorder))
        } else {
            (None, None)
        };
        tracing::info!(%roles, "node roles");
        Ok(TelemetryRuntime {
            telemetry,
            listeners,
            stop,
            indexer,
            retention,
            health_watch,
            recorder,
            detection,
            matching,
            duty,
            background,
        })
    }

    /// The counters of live detection, when this node runs it.
    pub fn detection_metrics(&self) -> Option<Arc<DetectionMetrics>> {
        self.detection.as_ref().map(|d| Arc::clone(&d.metrics))
    }

    /// The rules revision live detection uses now (its rules are in use
    /// from the next batch), when this node detects with the platform's rules.
    pub fn detection_rules_revision(&self) -> Option<u64> {
        self.detection
            .as_ref()
            .filter(|d| d.rules_watch.is_some())
            .map(|d| d.rules_revision.load(Ordering::Acquire))
    }

    /// Tells the node's background work that the first start has just set
    /// the platform up: live detection seeds and loads the built-in rules
    /// at once.
    pub async fn platform_set_up(&self) {
        if let Some(detection) = &self.detection {
            detection.platform_set_up().await;
        }
    }

    /// What request handlers use.
    pub fn telemetry(&self) -> Telemetry {
        self.telemetry.clone()
    }

    /// Where the syslog listeners listen (UDP, TCP, TLS), those that were started.
    pub fn syslog_addresses(&self) -> [Option<SocketAddr>; 3] {
        match &self.listeners {
            Some(listeners) => [
                listeners.udp_address(),
                listeners.tcp_address(),
                listeners.tls_address(),
            ],
            None => [None, None, None],
        }
    }

    /// Stops everything, losing nothing acknowledged: the syslog listeners
    /// publish what they received (within `grace`), the indexer commits and
    /// acknowledges what it holds, the health changes seen are recorded, and
    /// the index and the bus are closed. Call after the HTTP server stopped.
    pub async fn shutdown(self, grace: Duration) -> ShutdownReport {
        let mut report = ShutdownReport {
            listeners_drained: true,
            ..ShutdownReport::default()
        };
        if let Some(listeners) = self.listeners {
            report.listeners_drained = listeners.shutdown(grace).await;
            if !report.listeners_drained {
                tracing::warn!("syslog listeners did not drain within the grace period");
            }
        }
        if let Some(health_watch) = self.health_watch {
            health_watch.abort();
            let _ = health_watch.await;
        }
        self.stop.send_replace(true);
        if let Some(detection) = self.detection {
            report.detection = detection.stop().await;
        }
        if let Some(matching) = self.matching {
            match matching.await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "indicator matching stopped with an error")
                }
                Err(error) => tracing::error!(%error, "the indicator matching task failed"),
            }
        }
        if let Err(error) = self.duty.await {
            tracing::warn!(%error, "the duty loop failed");
        }
        if let Some(indexer) = self.indexer {
            match indexer.await {
                Ok(Ok(indexer)) => report.indexer = Some(indexer),
                // Logged when it stopped.
                Ok(Err(_)) => {}
                Err(error) => tracing::error!(%error, "the event indexer task failed"),
            }
        }
        if let Some(retention) = self.retention
            && let Err(error) = retention.await
        {
            tracing::warn!(%error, "the retention task failed");
        }
        // The health watch (the only sender) is gone: the recorder drains and ends.
        if let Some(recorder) = self.recorder {
            match recorder.await {
                Ok(count) => report.health_events = count,
                Err(error) => tracing::warn!(%error, "the health recorder failed"),
            }
        }
        let Telemetry { index, bus, .. } = self.telemetry;
        if let Err(error) = tokio::task::spawn_blocking(move || index.close())
            .await
            .unwrap_or(Err(SearchError::Closed))
        {
            tracing::warn!(%error, "closing the event index");
        }
        if let Err(error) = bus.close().await {
            tracing::warn!(%error, "closing the event bus");
        }
        // Its tasks have ended; what is left on it (idle blocking threads) goes.
        drop(self.background);
        report
    }
}

/// Records each health change as a health event until the channel closes,
/// and puts it on the bus for detection (the starter pack's "Sensor
/// Silent"); returns how many were recorded.
async fn record_health(
    app: App,
    intake: SensorIntake,
    mut changes: mpsc::UnboundedReceiver<HealthChange>,
) -> u64 {
    let mut recorded = 0;
    while let Some(change) = changes.recv().await {
        if let Err(error) = intake.publish_health(std::slice::from_ref(&change)).await {
            tracing::error!(sensor = %change.sensor_id, %error, "a sensor health change could not be put on the bus");
        }
        let Some(report) = health_report(&change) else {
            tracing::warn!(sensor = %change.sensor_id, "health change of a sensor id that is not a registry id");
            continue;
        };
        match app.sensors().record_health(report).await {
            Ok(_) => recorded += 1,
            Err(error) => {
                tracing::error!(sensor = %change.sensor_id, %error, "could not record a sensor health event");
            }
        }
    }
    recorded
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn silent_and_recovered_changes_become_health_reports() {
        let sensor = SensorId::new();
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let at = since + Duration::from_secs(90);
        let silent = HealthChange {
            tenant_id: "t".into(),
            sensor_id: sensor.to_string(),
            at,
            kind: HealthChangeKind::Silent {
                since,
                expected_interval: Duration::from_secs(60),
            },
        };
        let report = health_report(&silent).unwrap();
        assert_eq!(report.sensor, sensor);
        assert_eq!(
            report.kind,
            SensorHealthKind::Silent {
                since: Timestamp::from_system_time(since),
                expected_interval_seconds: 60
            }
        );
        let recovered = HealthChange {
            kind: HealthChangeKind::Recovered {
                silent_since: since,
            },
            ..silent
        };
        match health_report(&recovered).unwrap().kind {
            SensorHealthKind::Recovered {
                silent_for_seconds, ..
            } => assert_eq!(silent_for_seconds, 90),
            other => panic!("{other:?}"),
        }
        let foreign = HealthChange {
            sensor_id: "not-an-id".into(),
            ..recovered
        };
        assert!(health_report(&foreign).is_none());
    }

    /// The nice value of a thread, from `/proc/<task>/stat` (field 19).
    #[cfg(target_os = "linux")]
    fn nice_of(stat_path: &std::path::Path) -> i32 {
        let stat = std::fs::read_to_string(stat_path).unwrap();
        let after_name = stat.rsplit_once(')').unwrap().1;
        after_name
            .split_whitespace()
            .nth(16)
            .unwrap()
            .parse()
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn background_threads_and_the_threads_they_start_run_at_the_lowest_priority() {
        let own = || nice_of(std::path::Path::new("/proc/thread-self/stat"));
        // The test may itself run lowered (`nice -n 10 cargo test`): compare with that.
        let started_at = own();
        let background = BackgroundRuntime::start(Some(LOWEST_PRIORITY)).unwrap();
        let on = background.handle.clone();
        let worker = on.block_on(on.spawn(async move { own() })).unwrap();
        assert_eq!(worker, LOWEST_PRIORITY, "the runtime's worker thread");
        let (blocking, started) = on
            .block_on(on.spawn_blocking(move || {
                let started = std::thread::spawn(own).join().unwrap();
                (own(), started)
            }))
            .unwrap();
        assert_eq!(blocking, LOWEST_PRIORITY, "a blocking thread");
        assert_eq!(
            started, LOWEST_PRIORITY,
            "a thread a blocking thread started"
        );

        // The index opened there: tantivy's indexing threads inherit the priority, while
        // this (the test's) thread keeps its own.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let index = on
            .block_on(on.spawn_blocking(move || EventIndex::open(path, IndexOptions::default())))
            .unwrap()
            .unwrap();
        // A thread names itself once running: look until tantivy's have.
        let mut tantivy_threads = 0;
        for _ in 0..200 {
            for task in std::fs::read_dir("/proc/self/task").unwrap() {
                let task = task.unwrap().path();
                let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
                if name.starts_with("thrd-tantivy") || name.starts_with("merge_thread") {
                    tantivy_threads += 1;
                    assert_eq!(nice_of(&task.join("stat")), LOWEST_PRIORITY, "{name}");
                }
            }
            if tantivy_threads > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(tantivy_threads > 0, "no tantivy indexing thread found");
        assert_eq!(own(), started_at, "the caller's own priority is untouched");
        index.close().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn without_a_nice_value_background_threads_keep_the_servers_priority() {
        // Whatever priority the test process started with (`nice -n 10 cargo test`).
        let servers = nice_of(std::path::Path::new("/proc/thread-self/stat"));
        let background = BackgroundRuntime::start(None).unwrap();
        let on = background.handle.clone();
        let nice = on
            .block_on(on.spawn_blocking(|| nice_of(std::path::Path::new("/proc/thread-self/stat"))))
            .unwrap();
        assert_eq!(nice, servers);
    }
}
