//! [`Intake`]: the bus, the sensor directory, the counters and the health
//! tracker that every listener and the HTTP intake share.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nigehban_bus::{BusError, EventBus, Record};
use nigehban_normalise::Format;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};
use crate::health::{HealthChange, HealthChangeKind, SensorHealth, SensorStatus};
use crate::metrics::{IntakeMetrics, MetricsSnapshot, Tally, Transport};
use crate::ndjson::{HttpLimits, IngestOutcome, IntakeError, RequestContext, prepare_ndjson};
use crate::sensor::{ClientCertificate, SensorDirectory, SensorStamp, UnknownSenderPolicy};

/// Settings shared by every listener and the HTTP intake.
#[derive(Debug, Clone)]
pub struct IntakeOptions {
    /// Limits on HTTP intake requests.
    pub http: HttpLimits,
    /// What to do with syslog from senders the directory does not know.
    pub unknown_sender: UnknownSenderPolicy,
    /// When to hold senders back because consumers lag.
    pub backpressure: BackpressureOptions,
    /// How long a directory answer (including "unknown") is reused.
    pub directory_cache_ttl: Duration,
    /// How many times a syslog batch is offered to the bus before its
    /// records are counted as dropped (the reader waits meanwhile).
    pub publish_attempts: u32,
    /// How often [`Intake::spawn_health_watch`] checks for silent sensors.
    pub health_check_every: Duration,
}

impl Default for IntakeOptions {
    fn default() -> Self {
        IntakeOptions {
            http: HttpLimits::default(),
            unknown_sender: UnknownSenderPolicy::Refuse,
            backpressure: BackpressureOptions::default(),
            directory_cache_ttl: Duration::from_secs(30),
            publish_attempts: 8,
            health_check_every: Duration::from_secs(15),
        }
    }
}

/// Backpressure: when the bus consumers named here lag by more than
/// `max_lag` records, TCP and TLS readers stop reading (their senders slow
/// down), HTTP requests wait up to `http_max_wait` and are then refused as
/// busy; reading resumes once every lag is at most `resume_lag`. UDP cannot
/// be slowed: its queue fills and further datagrams are dropped and counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackpressureOptions {
    /// The durable consumers whose lag is watched (e.g. `detect`, `search`);
    /// none: never hold back.
    pub consumers: Vec<String>,
    /// Lag above which senders are held back.
    pub max_lag: u64,
    /// Lag at or below which they are released.
    pub resume_lag: u64,
    /// How often the lag is read.
    pub poll_every: Duration,
    /// How long an HTTP request waits for release before it is refused.
    pub http_max_wait: Duration,
}

impl Default for BackpressureOptions {
    fn default() -> Self {
        BackpressureOptions {
            consumers: Vec::new(),
            max_lag: 2_000_000,
            resume_lag: 1_500_000,
            poll_every: Duration::from_millis(250),
            http_max_wait: Duration::from_secs(5),
        }
    }
}

/// An HTTP intake request as the server received it.
#[derive(Debug, Clone)]
pub struct HttpIngest {
    /// The request body.
    pub body: Bytes,
    /// The `Content-Encoding` header, if any.
    pub content_encoding: Option<String>,
    /// The declared format (request parameter `format`, see
    /// [`crate::parse_format`]); `None`: the sensor's.
    pub format: Option<Format>,
    /// The log the records come from (request parameter `log`, e.g. `dns.log`).
    pub log_name: Option<String>,
    /// The sender's address.
    pub source_address: Option<IpAddr>,
    /// The request's idempotency key (header `Idempotency-Key`): resending a
    /// request with the same key and body gives its events the same ids
    /// ([`crate::RequestContext::idempotency_key`]).
    pub idempotency_key: Option<String>,
}

/// Intake: what the listeners and the HTTP intake share (the bus, the sensor
/// directory, counters, sensor health). Cheap to clone.
pub struct Intake<B: EventBus, D: SensorDirectory> {
    pub(crate) shared: Arc<Shared<B, D>>,
}

impl<B: EventBus, D: SensorDirectory> Clone for Intake<B, D> {
    fn clone(&self) -> Self {
        Intake {
            shared: self.shared.clone(),
        }
    }
}

impl<B: EventBus, D: SensorDirectory> std::fmt::Debug for Intake<B, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

/// A record waiting to be published, with the sensor it is counted for.
pub(crate) struct Pending {
    pub(crate) record: Record,
    pub(crate) stamp: Arc<SensorStamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CacheKey {
    Address(IpAddr),
    Certificate([u8; 32]),
}

/// A directory answer ("unknown" included) and when it was given.
type CachedAnswer = (Option<Arc<SensorStamp>>, Instant);

/// Most cached directory answers; the cache is emptied when it is full (a
/// flood of spoofed UDP sources cannot grow it without bound).
const MAX_CACHED_SENDERS: usize = 65_536;

pub(crate) struct Shared<B, D> {
    pub(crate) bus: B,
    directory: D,
    pub(crate) options: IntakeOptions,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: IntakeMetrics,
    health: Mutex<SensorHealth>,
    /// `true` while senders may send (no consumer lags too far).
    open: watch::Sender<bool>,
    cache: Mutex<HashMap<CacheKey, CachedAnswer>>,
    tag_stamp: Option<Arc<SensorStamp>>,
    last_directory_warning: Mutex<Option<Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<B: EventBus, D: SensorDirectory> Intake<B, D> {
    /// Intake over `bus` with sensors from `directory`, reading the system
    /// clock. Starts the consumer-lag watch when
    /// [`BackpressureOptions::consumers`] names any (call it inside a Tokio
    /// runtime then).
    pub fn new(bus: B, directory: D, options: IntakeOptions) -> Self {
        Self::with_clock(bus, directory, options, Arc::new(SystemClock))
    }

    /// The same, reading `clock` (tests inject a [`crate::ManualClock`]).
    pub fn with_clock(bus: B, directory: D, options: IntakeOptions, clock: Arc<dyn Clock>) -> Self {
        let tag_stamp = match &options.unknown_sender {
            UnknownSenderPolicy::Refuse => None,
            UnknownSenderPolicy::Tag(stamp) => Some(Arc::new(stamp.clone())),
        };
        let (open, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            bus,
            directory,
            options,
            clock,
            metrics: IntakeMetrics::default(),
            health: Mutex::new(SensorHealth::new()),
            open,
            cache: Mutex::new(HashMap::new()),
            tag_stamp,
            last_directory_warning: Mutex::new(None),
        });
        if !shared.options.backpressure.consumers.is_empty() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(watch_lag(Arc::downgrade(&shared)));
                }
                Err(_) => tracing::warn!(
                    "intake created outside a tokio runtime: consumer lag is not watched and senders are never held back"
                ),
            }
        }
        Intake { shared }
    }

    /// The bus events are published to.
    pub fn bus(&self) -> &B {
        &self.shared.bus
    }

    /// The options intake runs with.
    pub fn options(&self) -> &IntakeOptions {
        &self.shared.options
    }

    /// A snapshot of every counter.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// Every watched sensor's health now.
    pub fn sensor_statuses(&self) -> Vec<SensorStatus> {
        lock(&self.shared.health).statuses(self.shared.clock.now())
    }

    /// Starts watching a sensor's health (so that one that never sends is
    /// reported silent too); call for every registered sensor at start and
    /// when one is added or changed.
    pub fn watch_sensor(&self, stamp: &SensorStamp) {
        lock(&self.shared.health).watch(stamp, self.shared.clock.now());
    }

    /// Stops watching a sensor (deleted or disabled), and forgets cached
    /// directory answers.
    pub fn forget_sensor(&self, sensor_id: &str) {
        lock(&self.shared.health).forget(sensor_id);
        self.forget_cached_senders();
    }

    /// Forgets cached directory answers (call when sensors' addresses or
    /// certificates change, so that the change applies at once).
    pub fn forget_cached_senders(&self) {
        lock(&self.shared.cache).clear();
    }

    /// Health changes since the last check, at the clock's time (see
    /// [`SensorHealth::check`]).
    pub fn check_health(&self) -> Vec<HealthChange> {
        self.shared.check_health()
    }

    /// Puts health changes on the bus as events of their sensor
    /// ([`HealthChange::to_record`]), so that detection raises "sensor
    /// silent" like any other alert; retried up to
    /// [`IntakeOptions::publish_attempts`] times while the bus fails. They
    /// are not counted as events the sensor sent (its silence goes on).
    pub async fn publish_health(&self, changes: &[HealthChange]) -> Result<(), BusError> {
        let mut records = Vec::with_capacity(changes.len());
        for change in changes {
            match change.to_record() {
                Ok(record) => records.push(record),
                Err(error) => tracing::error!(%error, "a sensor health change is not on the bus"),
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut attempt = 0u32;
        loop {
            match self.shared.bus.publish(&records).await {
                Ok(_) => return Ok(()),
                Err(error) => {
                    attempt += 1;
                    let fatal = matches!(error, BusError::Closed | BusError::WriterFailed(_));
                    if fatal || attempt >= self.shared.options.publish_attempts {
                        return Err(error);
                    }
                    let backoff = Duration::from_millis(100 << attempt.min(5));
                    tracing::warn!(%error, attempt, "publishing health events failed; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// Checks sensor health every [`IntakeOptions::health_check_every`] and
    /// hands the changes to `on_change` (the server records them as health
    /// events). Ends when every handle on this intake is dropped.
    pub fn spawn_health_watch<F>(&self, mut on_change: F) -> JoinHandle<()>
    where
        F: FnMut(Vec<HealthChange>) + Send + 'static,
    {
        let shared = Arc::downgrade(&self.shared);
        let every = self.shared.options.health_check_every;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let changes = shared.check_health();
                drop(shared);
                if !changes.is_empty() {
                    on_change(changes);
                }
            }
        })
    }

    /// The HTTP intake: decodes, normalises and stamps a request's NDJSON
    /// body as events of `stamp`'s sensor, publishes the good ones to the bus
    /// in one batch and returns once they are durable, with the refused lines.
    ///
    /// `stamp` is the sensor the request's ingest token belongs to (resolved
    /// by the server). Errors refuse the whole request, nothing stored; see
    /// [`IntakeError::class`] for how to answer them.
    pub async fn ingest_http(
        &self,
        stamp: &SensorStamp,
        request: HttpIngest,
    ) -> Result<IngestOutcome, IntakeError> {
        let shared = &self.shared;
        let limits = shared.options.http.clone();
        if request.body.len() > limits.max_body_bytes {
            return Err(IntakeError::BodyTooLarge {
                size: request.body.len(),
                limit: limits.max_body_bytes,
            });
        }
        if !shared
            .wait_open(Some(shared.options.backpressure.http_max_wait))
            .await
        {
            return Err(IntakeError::Busy {
                retry_after: Duration::from_secs(5),
            });
        }
        let received_at = shared.clock.now();
        let body_bytes = request.body.len() as u64;
        let owned_stamp = stamp.clone();
        // Decompressing and normalising is CPU work: off the async workers.
        let prepared = tokio::task::spawn_blocking(move || {
            let context = RequestContext {
                stamp: &owned_stamp,
                format: request.format,
                log_name: request.log_name.as_deref(),
                source_address: request.source_address,
                received_at,
                idempotency_key: request.idempotency_key.as_deref(),
            };
            prepare_ndjson(
                &request.body,
                request.content_encoding.as_deref(),
                &limits,
                &context,
            )
        })
        .await
        .map_err(|error| IntakeError::Internal(error.to_string()))??;
        let rejected = prepared.rejected.len() as u64;
        let accepted = prepared.records.len() as u64;
        let mut tally = Tally {
            received: prepared.lines,
            rejected,
            bytes: body_bytes,
            ..Tally::default()
        };
        if !prepared.records.is_empty() {
            let started = Instant::now();
            match shared.bus.publish(&prepared.records).await {
                Ok(_) => {
                    shared.metrics.publish_latency(started.elapsed());
                    tally.accepted = accepted;
                    tally.unexpected_format = prepared.unexpected_format;
                }
                Err(error) => {
                    shared.metrics.publish_failure();
                    // The sender is told to retry: counted as refused, not lost.
                    tally.rejected += accepted;
                    shared.metrics.add(Transport::Http, stamp, tally);
                    tracing::error!(sensor = %stamp.sensor_id, %error, "http intake: publish failed");
                    return Err(IntakeError::Bus(error));
                }
            }
        }
        shared.metrics.add(Transport::Http, stamp, tally);
        {
            let now = shared.clock.now();
            let mut health = lock(&shared.health);
            if accepted > 0 {
                health.record_events(stamp, accepted, now);
            }
            if rejected > 0 {
                health.record_errors(stamp, rejected, now);
            }
            if tally.unexpected_format > 0 {
                health.record_unexpected_format(stamp, tally.unexpected_format, now);
            }
        }
        Ok(IngestOutcome {
            accepted,
            rejected: prepared.rejected,
        })
    }
}

impl<B: EventBus, D: SensorDirectory> Shared<B, D> {
    fn check_health(&self) -> Vec<HealthChange> {
        let changes = lock(&self.health).check(self.clock.now());
        for change in &changes {
            match &change.kind {
                HealthChangeKind::Silent {
                    since,
                    expected_interval,
                } => tracing::warn!(
                    tenant = %change.tenant_id,
                    sensor = %change.sensor_id,
                    silent_for_s = change.at.duration_since(*since).map_or(0, |d| d.as_secs()),
                    expected_interval_s = expected_interval.as_secs(),
                    "sensor silent"
                ),
                HealthChangeKind::Recovered { .. } => tracing::info!(
                    tenant = %change.tenant_id,
                    sensor = %change.sensor_id,
                    "sensor recovered"
                ),
            }
        }
        changes
    }

    /// Whether senders may send now (no watched consumer lags too far).
    pub(crate) fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Waits until senders may send; `false` if `max_wait` passed first.
    pub(crate) async fn wait_open(&self, max_wait: Option<Duration>) -> bool {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() {
            return true;
        }
        let wait = open.wait_for(|open| *open);
        match max_wait {
            None => wait.await.is_ok(),
            Some(limit) => matches!(tokio::time::timeout(limit, wait).await, Ok(Ok(_))),
        }
    }

    /// The sensor a syslog sender is, by its certificate if it presented one,
    /// else by its address; `None` (counted) if it is refused.
    pub(crate) async fn resolve_sender(
        &self,
        transport: Transport,
        address: IpAddr,
        certificate: Option<&ClientCertificate>,
    ) -> Option<Arc<SensorStamp>> {
        let address = crate::sensor::canonical_ip(address);
        let key = match certificate {
            Some(certificate) => CacheKey::Certificate(certificate.sha256),
            None => CacheKey::Address(address),
        };
        let ttl = self.options.directory_cache_ttl;
        let cached = lock(&self.cache)
            .get(&key)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(stamp, _)| stamp.clone());
        let found = match cached {
            Some(found) => found,
            None => {
                let answer = match certificate {
                    Some(certificate) => self.directory.sensor_by_certificate(certificate).await,
                    None => self.directory.sensor_by_address(address).await,
                };
                match answer {
                    Ok(found) => {
                        let found = found.map(Arc::new);
                        let mut cache = lock(&self.cache);
                        if cache.len() >= MAX_CACHED_SENDERS {
                            cache.clear();
                        }
                        cache.insert(key, (found.clone(), Instant::now()));
                        found
                    }
                    Err(error) => {
                        self.metrics.refused_sender(transport);
                        self.warn_directory(&error);
                        return None;
                    }
                }
            }
        };
        match found {
            Some(stamp) => Some(stamp),
            None => match &self.tag_stamp {
                Some(tag) => Some(tag.clone()),
                None => {
                    self.metrics.refused_address(transport, address);
                    None
                }
            },
        }
    }

    fn warn_directory(&self, error: &crate::sensor::DirectoryError) {
        let mut last = lock(&self.last_directory_warning);
        if last.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(%error, "syslog senders refused: the sensor directory cannot be asked");
        }
    }

    /// Counts what a reader received and refused for one sensor.
    pub(crate) fn received(
        &self,
        transport: Transport,
        stamp: &SensorStamp,
        queued: u64,
        rejected: u64,
        bytes: u64,
    ) {
        self.metrics.add(
            transport,
            stamp,
            Tally {
                received: queued + rejected,
                rejected,
                bytes,
                ..Tally::default()
            },
        );
        self.metrics.queued(transport, queued as i64);
        if rejected > 0 {
            lock(&self.health).record_errors(stamp, rejected, self.clock.now());
        }
    }

    /// Counts syslog events of a format the sensor is not registered to send
    /// (flagged when they were read; kept).
    pub(crate) fn unexpected_format(&self, transport: Transport, stamp: &SensorStamp, count: u64) {
        self.metrics.add(
            transport,
            stamp,
            Tally {
                unexpected_format: count,
                ..Tally::default()
            },
        );
        lock(&self.health).record_unexpected_format(stamp, count, self.clock.now());
    }

    /// Counts records dropped after they were received (not queued).
    pub(crate) fn dropped(&self, transport: Transport, stamp: &SensorStamp, count: u64) {
        self.metrics.add(
            transport,
            stamp,
            Tally {
                received: count,
                dropped: count,
                ..Tally::default()
            },
        );
        lock(&self.health).record_drops(stamp, count, self.clock.now());
    }

    /// Publishes queued syslog records, retrying while the bus fails; what
    /// cannot be stored after [`IntakeOptions::publish_attempts`] is counted
    /// as dropped.
    pub(crate) async fn publish_pending(&self, transport: Transport, batch: Vec<Pending>) {
        let (mut records, mut stamps): (Vec<Record>, Vec<Arc<SensorStamp>>) =
            batch.into_iter().map(|p| (p.record, p.stamp)).unzip();
        let queued = records.len() as i64;
        let mut attempt = 0u32;
        loop {
            if records.is_empty() {
                break;
            }
            let started = Instant::now();
            match self.bus.publish(&records).await {
                Ok(_) => {
                    self.metrics.publish_latency(started.elapsed());
                    let now = self.clock.now();
                    let counts = per_sensor(&stamps);
                    let mut health = lock(&self.health);
                    for (stamp, count) in &counts {
                        health.record_events(stamp, *count, now);
                    }
                    drop(health);
                    for (stamp, count) in counts {
                        self.metrics.add(
                            transport,
                            &stamp,
                            Tally {
                                accepted: count,
                                ..Tally::default()
                            },
                        );
                    }
                    break;
                }
                Err(BusError::InvalidRecord { index, reason }) if index < records.len() => {
                    // Cannot happen for records built here (they are checked
                    // first); if it does, refuse that record, keep the rest.
                    records.remove(index);
                    let stamp = stamps.remove(index);
                    tracing::warn!(sensor = %stamp.sensor_id, %reason, "syslog record refused by the bus");
                    self.metrics.add(
                        transport,
                        &stamp,
                        Tally {
                            rejected: 1,
                            ..Tally::default()
                        },
                    );
                }
                Err(error) => {
                    self.metrics.publish_failure();
                    attempt += 1;
                    let fatal = matches!(error, BusError::Closed | BusError::WriterFailed(_));
                    if fatal || attempt >= self.options.publish_attempts {
                        tracing::error!(
                            transport = transport.as_str(),
                            records = records.len(),
                            %error,
                            "syslog records dropped: the bus did not store them"
                        );
                        let now = self.clock.now();
                        for (stamp, count) in per_sensor(&stamps) {
                            self.metrics.add(
                                transport,
                                &stamp,
                                Tally {
                                    dropped: count,
                                    ..Tally::default()
                                },
                            );
                            lock(&self.health).record_drops(&stamp, count, now);
                        }
                        break;
                    }
                    let backoff = Duration::from_millis(100 << attempt.min(5));
                    tracing::warn!(%error, attempt, "publish failed; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        self.metrics.queued(transport, -queued);
    }
}

/// Records per sensor in a batch, in first-seen order.
fn per_sensor(stamps: &[Arc<SensorStamp>]) -> Vec<(Arc<SensorStamp>, u64)> {
    let mut counts: Vec<(Arc<SensorStamp>, u64)> = Vec::new();
    for stamp in stamps {
        match counts
            .iter_mut()
            .find(|(seen, _)| Arc::ptr_eq(seen, stamp) || seen.sensor_id == stamp.sensor_id)
        {
            Some((_, count)) => *count += 1,
            None => counts.push((stamp.clone(), 1)),
        }
    }
    counts
}

/// Reads the watched consumers' lag and opens or closes the gate.
async fn watch_lag<B: EventBus, D: SensorDirectory>(shared: Weak<Shared<B, D>>) {
    let every = match shared.upgrade() {
        Some(shared) => shared.options.backpressure.poll_every,
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let options = &shared.options.backpressure;
        let mut lags = Vec::with_capacity(options.consumers.len());
        for consumer in &options.consumers {
            match shared.bus.lag(consumer).await {
                Ok(lag) => lags.push((consumer.clone(), lag)),
                // A consumer that does not exist yet holds nothing back.
                Err(error) => tracing::debug!(%consumer, %error, "consumer lag unknown"),
            }
        }
        let worst = lags.iter().map(|(_, lag)| *lag).max().unwrap_or(0);
        let was_open = *shared.open.borrow();
        let open = if was_open {
            worst <= options.max_lag
        } else {
            worst <= options.resume_lag
        };
        if open != was_open {
            if open {
                tracing::info!(lag = worst, "consumers caught up: intake reads again");
            } else {
                tracing::warn!(
                    lag = worst,
                    max = options.max_lag,
                    "consumers lag: intake holds senders back"
                );
            }
            shared.open.send_replace(open);
        }
        shared.metrics.set_lag(lags, !open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::StaticSensorDirectory;
    use nigehban_bus::{EmbeddedLog, EmbeddedOptions};

    fn _intake_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Intake<EmbeddedLog, StaticSensorDirectory>>();
    }

    #[tokio::test]
    async fn unknown_senders_are_refused_or_tagged() {
        let dir = tempfile::tempdir().unwrap();
        let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
            .await
            .unwrap();
        let known: IpAddr = "192.0.2.1".parse().unwrap();
        let stranger: IpAddr = "192.0.2.99".parse().unwrap();
        let directory =
            StaticSensorDirectory::new().with_address(known, SensorStamp::new("t1", "s1"));
        let intake = Intake::new(bus.clone(), directory.clone(), IntakeOptions::default());
        let shared = &intake.shared;
        let found = shared.resolve_sender(Transport::Udp, known, None).await;
        assert_eq!(found.unwrap().sensor_id, "s1");
        assert!(
            shared
                .resolve_sender(Transport::Udp, stranger, None)
                .await
                .is_none()
        );
        assert!(
            shared
                .resolve_sender(Transport::Udp, stranger, None)
                .await
                .is_none()
        );
        let metrics = intake.metrics();
        assert_eq!(metrics.refused_addresses, vec![(stranger, 2)]);

        let options = IntakeOptions {
            unknown_sender: UnknownSenderPolicy::Tag(SensorStamp::new("national", "unassigned")),
            ..IntakeOptions::default()
        };
        let tagging = Intake::new(bus, directory, options);
        let found = tagging
            .shared
            .resolve_sender(Transport::Tcp, stranger, None)
            .await;
        assert_eq!(found.unwrap().tenant_id, "national");
    }
}
