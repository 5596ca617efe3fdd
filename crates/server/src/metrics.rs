//! Prometheus metrics for `/metrics`: requests counted and timed by route and status.
//!
//! Routes are labelled with their template (`/api/v1/tenants/{id}`), never the
//! raw path, so a client cannot blow up the number of series; requests that
//! match no route share the label `unmatched`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric as _, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ServerState;
use crate::connections::ConnectionStats;
use nigehban_node::Telemetry;

/// Labels of a finished request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// Labels of a request's duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The platform's own counters (sign-ins, lockouts, refused tokens), read from the app at each scrape.
#[derive(Debug)]
struct PlatformCounters(nigehban_app::App);

impl Collector for PlatformCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = self.0.counters();
        let all = [
            ("sign_ins", "Successful sign-ins", counters.sign_ins),
            (
                "sign_in_failures",
                "Failed sign-ins, for any reason",
                counters.sign_in_failures,
            ),
            (
                "lockouts",
                "Times a user name was held back at one address after too many failed sign-ins (accounts are never locked)",
                counters.lockouts,
            ),
            (
                "throttled_sign_ins",
                "Sign-ins refused because their user name at that address, or the address, failed too often",
                counters.throttled_sign_ins,
            ),
            (
                "token_refusals",
                "Bearer tokens refused: unknown, expired, revoked or no longer entitled",
                counters.token_refusals,
            ),
            (
                "sensor_token_refusals",
                "Sensor ingest tokens refused: unknown, expired, revoked, or of a deactivated sensor or tenant",
                counters.sensor_token_refusals,
            ),
        ];
        for (name, help, value) in all {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// How many of the most expensive rules `/metrics` shows.
const RULE_COSTS_SHOWN: usize = 10;

/// Writes a counter without labels.
fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
    counter.encode(metric)
}

/// Writes a gauge without labels.
fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: V,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    metric.encode_gauge(&value)
}

/// Writes one family of labelled values: counters or gauges.
fn family<V: LabelledValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: &[(Vec<(&'static str, String)>, V)],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        let mut labelled = metric.encode_family(labels)?;
        value.encode_as(&mut labelled, kind)?;
    }
    Ok(())
}

/// A value of a labelled family.
trait LabelledValue {
    fn encode_as(
        &self,
        metric: &mut prometheus_client::encoding::MetricEncoder<'_>,
        kind: MetricType,
    ) -> Result<(), std::fmt::Error>;
}

impl LabelledValue for u64 {
    fn encode_as(
        &self,
        metric: &mut prometheus_client::encoding::MetricEncoder<'_>,
        kind: MetricType,
    ) -> Result<(), std::fmt::Error> {
        match kind {
            MetricType::Counter => metric.encode_counter::<NoLabelSet, u64, f64>(self, None),
            _ => metric.encode_gauge(self),
        }
    }
}

impl LabelledValue for f64 {
    fn encode_as(
        &self,
        metric: &mut prometheus_client::encoding::MetricEncoder<'_>,
        kind: MetricType,
    ) -> Result<(), std::fmt::Error> {
        match kind {
            MetricType::Counter => metric.encode_counter::<NoLabelSet, f64, f64>(self, None),
            _ => metric.encode_gauge(self),
        }
    }
}

/// A metric's name, help and how to read it from a row of a snapshot.
type Described<T> = (&'static str, &'static str, fn(&T) -> u64);

/// A histogram's buckets as the encoder takes them: each bucket's own
/// count (not cumulative: the encoder adds them up), the last for values
/// above the last bound.
fn histogram_buckets(bounds: &[f64], counts: &[u64]) -> Vec<(f64, u64)> {
    counts
        .iter()
        .enumerate()
        .map(|(index, count)| {
            let bound = bounds.get(index).copied().unwrap_or(f64::INFINITY);
            (bound, *count)
        })
        .collect()
}

/// The alert side's counters and its event-to-alert latency histogram, read
/// from the app at each scrape.
#[derive(Debug)]
struct AlertCounters(nigehban_app::App);

impl Collector for AlertCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let metrics = self.0.alerts().metrics();
        counter(
            &mut encoder,
            "alerts_opened",
            "Alerts opened by this process",
            metrics.opened,
        )?;
        counter(
            &mut encoder,
            "alert_signals_folded",
            "Matches folded into an existing alert by this process",
            metrics.folded,
        )?;
        counter(
            &mut encoder,
            "alert_signals_duplicate",
            "Matches raised again (bus redeliveries), recognised and not counted twice",
            metrics.duplicates,
        )?;
        counter(
            &mut encoder,
            "alert_signals_rejected",
            "Matches refused when raising (a bad field or an unknown tenant)",
            metrics.rejected,
        )?;
        counter(
            &mut encoder,
            "alert_raise_batches",
            "Batches of matches raised (one store transaction each)",
            metrics.batches,
        )?;
        let latency = &metrics.latency;
        let buckets = histogram_buckets(&latency.bounds, &latency.counts);
        let mut metric = encoder.encode_descriptor(
            "alert_latency_seconds",
            "From intake receiving an event to its alert being stored (opened or folded)",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<NoLabelSet>(latency.sum_seconds, latency.count, &buckets, None)
    }
}

/// Which series a view of the metrics holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Every series, those naming tenants, sensors and addresses included.
    Full,
    /// Only series that name no tenant, sensor or address.
    Aggregate,
}

/// Telemetry's counters (intake per transport and per sensor, the bus and its
/// consumers, the event index), read at each scrape; per-sensor and per-address
/// series only in the full view.
#[derive(Debug)]
struct TelemetryCounters {
    telemetry: Telemetry,
    view: View,
}

impl Collector for TelemetryCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let telemetry = &self.telemetry;
        let intake = telemetry.intake.metrics();
        let by_transport = |pick: fn(&nigehban_ingest::TransportMetrics) -> u64| {
            intake
                .transports
                .iter()
                .map(|t| {
                    (
                        vec![("transport", t.transport.as_str().to_owned())],
                        pick(t),
                    )
                })
                .collect::<Vec<_>>()
        };
        let transport_counters: [Described<nigehban_ingest::TransportMetrics>; 6] = [
            (
                "intake_received",
                "Records received, by transport (datagrams, frames, NDJSON lines)",
                |t| t.received,
            ),
            (
                "intake_accepted",
                "Records accepted (durable on the bus), by transport",
                |t| t.accepted,
            ),
            (
                "intake_rejected",
                "Records refused (unreadable or over a limit), by transport",
                |t| t.rejected,
            ),
            (
                "intake_dropped",
                "Records lost after they were received (UDP queue full, bus unavailable), by transport",
                |t| t.dropped,
            ),
            (
                "intake_received_bytes",
                "Bytes received, by transport",
                |t| t.bytes,
            ),
            (
                "intake_refused_senders",
                "Senders refused (unknown, over the connection limit, failed TLS handshakes), by transport",
                |t| t.refused_senders,
            ),
        ];
        for (name, help, pick) in transport_counters {
            family(
                &mut encoder,
                name,
                help,
                MetricType::Counter,
                &by_transport(pick),
            )?;
        }
        family(
            &mut encoder,
            "intake_queued",
            "Records received and not yet accepted, refused or dropped, by transport (the lag of each source)",
            MetricType::Gauge,
            &by_transport(|t| t.queued),
        )?;
        family(
            &mut encoder,
            "intake_open_connections",
            "Syslog connections open now, by transport",
            MetricType::Gauge,
            &by_transport(|t| t.open_connections),
        )?;
        let statuses = telemetry.intake.sensor_statuses();
        gauge(
            &mut encoder,
            "sensors_watched",
            "Sensors whose health is watched",
            statuses.len() as u64,
        )?;
        gauge(
            &mut encoder,
            "sensors_silent",
            "Sensors that have sent nothing for longer than their expected interval",
            statuses.iter().filter(|s| s.silent_since.is_some()).count() as u64,
        )?;
        if self.view == View::Full {
            encode_per_sensor(&mut encoder, &intake, &statuses)?;
        }
        counter(
            &mut encoder,
            "intake_refused_other_addresses",
            "Refusals of senders beyond the distinct addresses counted one by one",
            intake.refused_other_addresses,
        )?;
        counter(
            &mut encoder,
            "intake_publish_failures",
            "Publishes the bus refused or failed",
            intake.publish_failures,
        )?;
        gauge(
            &mut encoder,
            "intake_backpressure",
            "1 while intake holds senders back because a consumer lags",
            u64::from(intake.backpressure),
        )?;
        {
            let latency = &intake.publish_latency;
            let buckets = histogram_buckets(&latency.bounds, &latency.counts);
            let mut metric = encoder.encode_descriptor(
                "intake_publish_latency_seconds",
                "Time from publishing a batch to its durable acknowledgement",
                None,
                MetricType::Histogram,
            )?;
            metric.encode_histogram::<NoLabelSet>(
                latency.sum_seconds,
                latency.count,
                &buckets,
                None,
            )?;
        }
        let bus = nigehban_node::lock(&telemetry.bus_metrics).clone();
        if let Some(bus) = bus {
            counter(
                &mut encoder,
                "bus_appended_records",
                "Records appended to the bus by this process",
                bus.appended_records,
            )?;
            counter(
                &mut encoder,
                "bus_appended_bytes",
                "Payload bytes appended to the bus by this process",
                bus.appended_bytes,
            )?;
            counter(
                &mut encoder,
                "bus_durable_writes",
                "Durable bus writes (group commits or publish calls)",
                bus.durable_writes,
            )?;
            gauge(
                &mut encoder,
                "bus_stored_records",
                "Records the bus holds",
                bus.stored_records,
            )?;
            gauge(
                &mut encoder,
                "bus_stored_bytes",
                "Bytes the bus holds",
                bus.stored_bytes,
            )?;
            let by_consumer = |pick: fn(&nigehban_bus::ConsumerMetrics) -> u64| {
                bus.consumers
                    .iter()
                    .map(|c| (vec![("consumer", c.name.clone())], pick(c)))
                    .collect::<Vec<_>>()
            };
            family(
                &mut encoder,
                "bus_consumer_lag",
                "Records a consumer has not acknowledged yet",
                MetricType::Gauge,
                &by_consumer(|c| c.lag),
            )?;
            family(
                &mut encoder,
                "bus_consumer_in_flight",
                "Records delivered to a consumer and not yet acknowledged",
                MetricType::Gauge,
                &by_consumer(|c| c.in_flight),
            )?;
            family(
                &mut encoder,
                "bus_consumer_redelivered",
                "Redeliveries after an acknowledgement wait expired",
                MetricType::Counter,
                &by_consumer(|c| c.redelivered),
            )?;
            family(
                &mut encoder,
                "bus_consumer_skipped",
                "Records deleted by retention before a consumer acknowledged them",
                MetricType::Counter,
                &by_consumer(|c| c.skipped),
            )?;
        }
        if let Some(detection) = &telemetry.detection {
            // The dearest rules, so an operator can find what slows detection down.
            let costs: Vec<_> = detection
                .rule_costs
                .most_expensive(RULE_COSTS_SHOWN)
                .into_iter()
                .map(|cost| {
                    (
                        vec![
                            ("rule", cost.rule_id.to_string()),
                            ("title", cost.title.to_string()),
                        ],
                        cost.seconds_per_event,
                    )
                })
                .collect();
            family(
                &mut encoder,
                "detection_rule_cost_seconds",
                "The most expensive rules: mean seconds a rule's own conditions take per event, measured on one event in 65,536 with the reference interpreter",
                MetricType::Gauge,
                &costs,
            )?;
            let phases: Vec<_> = detection
                .phase_seconds()
                .into_iter()
                .map(|(phase, seconds)| (vec![("phase", phase.name().to_owned())], seconds))
                .collect();
            family(
                &mut encoder,
                "detection_stage_seconds",
                "Seconds the detection loop spent in each phase: fetch (waiting for events), match, correlate, store (alerts) and acknowledge; the phase that grows fastest is what a stage that falls behind waits on",
                MetricType::Counter,
                &phases,
            )?;
            let detection = detection.snapshot();
            let detection_counters: [(&str, &str, u64); 5] = [
                (
                    "detection_events_evaluated",
                    "Events live detection matched against the rules",
                    detection.events_evaluated,
                ),
                (
                    "detection_matches",
                    "Rule matches live detection found (each raised as an alert signal)",
                    detection.matches,
                ),
                (
                    "detection_rejected",
                    "Bus records live detection could not read as events of their tenant (skipped)",
                    detection.rejected,
                ),
                (
                    "detection_sink_failures",
                    "Batches whose alerts could not be stored at once (retried)",
                    detection.sink_failures,
                ),
                (
                    "detection_bus_errors",
                    "Bus errors live detection survived",
                    detection.bus_errors,
                ),
            ];
            for (name, help, value) in detection_counters {
                counter(&mut encoder, name, help, value)?;
            }
        }
        let search = telemetry.index.metrics();
        counter(
            &mut encoder,
            "search_indexed",
            "Events written to the search index",
            search.indexed,
        )?;
        let rejected: Vec<_> = search
            .rejected_by_reason
            .iter()
            .map(|(reason, count)| (vec![("reason", (*reason).to_owned())], *count))
            .collect();
        family(
            &mut encoder,
            "search_rejected",
            "Bus records the index refused, by reason",
            MetricType::Counter,
            &rejected,
        )?;
        counter(
            &mut encoder,
            "search_commits",
            "Index commits",
            search.commits,
        )?;
        gauge(
            &mut encoder,
            "search_commit_seconds_last",
            "Duration of the last index commit",
            search.commit_seconds_last,
        )?;
        counter(
            &mut encoder,
            "search_retention_deleted",
            "Events deleted from search by retention",
            search.retention_deleted,
        )?;
        gauge(
            &mut encoder,
            "search_documents",
            "Events searchable now",
            search.documents,
        )?;
        gauge(
            &mut encoder,
            "search_index_bytes",
            "Bytes the event index takes on disk",
            search.index_bytes,
        )?;
        Ok(())
    }
}

/// The series that name tenants, sensors and sender addresses (the full view only).
fn encode_per_sensor(
    encoder: &mut DescriptorEncoder,
    intake: &nigehban_ingest::MetricsSnapshot,
    statuses: &[nigehban_ingest::SensorStatus],
) -> Result<(), std::fmt::Error> {
    let by_sensor = |pick: fn(&nigehban_ingest::SensorMetrics) -> u64| {
        intake
            .sensors
            .iter()
            .map(|s| {
                (
                    vec![
                        ("tenant", s.tenant_id.clone()),
                        ("sensor", s.sensor_id.clone()),
                    ],
                    pick(s),
                )
            })
            .collect::<Vec<_>>()
    };
    let sensor_counters: [Described<nigehban_ingest::SensorMetrics>; 5] = [
        (
            "intake_sensor_received",
            "Records received, by sensor",
            |s| s.received,
        ),
        (
            "intake_sensor_accepted",
            "Records accepted (durable), by sensor",
            |s| s.accepted,
        ),
        (
            "intake_sensor_rejected",
            "Records refused, by sensor",
            |s| s.rejected,
        ),
        (
            "intake_sensor_dropped",
            "Records dropped after they were received, by sensor",
            |s| s.dropped,
        ),
        (
            "intake_sensor_unexpected_format",
            "Records of a format the sensor is not registered to send (kept, flagged), by sensor",
            |s| s.unexpected_format,
        ),
    ];
    for (name, help, pick) in sensor_counters {
        family(encoder, name, help, MetricType::Counter, &by_sensor(pick))?;
    }
    let rates: Vec<_> = statuses
        .iter()
        .map(|s| {
            (
                vec![
                    ("tenant", s.tenant_id.clone()),
                    ("sensor", s.sensor_id.clone()),
                ],
                s.events_per_second,
            )
        })
        .collect();
    family(
        encoder,
        "sensor_events_per_second",
        "Events accepted per second over the last minute, by sensor",
        MetricType::Gauge,
        &rates,
    )?;
    let silent: Vec<_> = statuses
        .iter()
        .map(|s| {
            (
                vec![
                    ("tenant", s.tenant_id.clone()),
                    ("sensor", s.sensor_id.clone()),
                ],
                u64::from(s.silent_since.is_some()),
            )
        })
        .collect();
    family(
        encoder,
        "sensor_silent",
        "1 while a sensor has sent nothing for longer than its expected interval",
        MetricType::Gauge,
        &silent,
    )?;
    let refused: Vec<_> = intake
        .refused_addresses
        .iter()
        .map(|(address, count)| (vec![("address", address.to_string())], *count))
        .collect();
    family(
        encoder,
        "intake_refused_address",
        "Syslog records from senders no sensor is registered for, by source address",
        MetricType::Counter,
        &refused,
    )?;
    Ok(())
}

/// The server's request metrics and the registries of its two views.
#[derive(Debug)]
pub struct RequestMetrics {
    /// Every series.
    full: Registry,
    /// The series that name no tenant, sensor or address.
    aggregate: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    panics: Counter,
    connections: Arc<ConnectionStats>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestMetrics {
    /// Request metrics (`nigehban_http_*`) plus the platform's counters (`nigehban_*`,
    /// alerts' `nigehban_alert*`) read from `app`.
    pub fn for_platform(app: nigehban_app::App) -> Self {
        Self::for_platform_with_telemetry(app, None)
    }

    /// The same plus telemetry's counters (`nigehban_intake_*`, `nigehban_bus_*`,
    /// `nigehban_search_*`, `nigehban_sensor_*`).
    pub fn for_platform_with_telemetry(
        app: nigehban_app::App,
        telemetry: Option<Telemetry>,
    ) -> Self {
        let mut metrics = Self::new();
        for (registry, view) in [
            (&mut metrics.full, View::Full),
            (&mut metrics.aggregate, View::Aggregate),
        ] {
            let platform = registry.sub_registry_with_prefix("nigehban");
            platform.register_collector(Box::new(PlatformCounters(app.clone())));
            platform.register_collector(Box::new(AlertCounters(app.clone())));
            if let Some(telemetry) = &telemetry {
                platform.register_collector(Box::new(TelemetryCounters {
                    telemetry: telemetry.clone(),
                    view,
                }));
            }
        }
        metrics
    }

    /// Empty request metrics, registered under the `nigehban_http_` prefix.
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        let panics = Counter::default();
        let connections = Arc::new(ConnectionStats::default());
        let mut full = Registry::default();
        let mut aggregate = Registry::default();
        for root in [&mut full, &mut aggregate] {
            let registry = root.sub_registry_with_prefix("nigehban_http");
            registry.register(
                "requests",
                "HTTP requests answered, by method, route template and status",
                requests.clone(),
            );
            registry.register(
                "request_duration_seconds",
                "Time to answer HTTP requests, by method and route template",
                durations.clone(),
            );
            registry.register(
                "handler_panics",
                "Requests whose handler panicked and were answered with 500",
                panics.clone(),
            );
            registry.register_collector(Box::new(ConnectionCounters(Arc::clone(&connections))));
        }
        Self {
            full,
            aggregate,
            requests,
            durations,
            panics,
            connections,
        }
    }

    /// The connection counters the HTTP listener keeps (see [`crate::connections`]).
    pub fn connection_stats(&self) -> Arc<ConnectionStats> {
        Arc::clone(&self.connections)
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts one handler panic.
    pub fn observe_panic(&self) {
        self.panics.inc();
    }

    /// Every series in the Prometheus/OpenMetrics text format, those that name
    /// tenants, sensors and addresses included: for an authenticated scraper only.
    pub fn render(&self) -> String {
        encode(&self.full)
    }

    /// The series that name no tenant, sensor or sender address: what anyone may read.
    pub fn render_aggregate(&self) -> String {
        encode(&self.aggregate)
    }
}

fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, registry) {
        tracing::error!(%error, "could not render metrics");
    }
    text
}

/// The HTTP listener's connection counters, read at each scrape.
#[derive(Debug)]
struct ConnectionCounters(Arc<ConnectionStats>);

impl Collector for ConnectionCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0;
        let read = |value: &AtomicU64| value.load(Ordering::Relaxed);
        gauge(
            &mut encoder,
            "connections_open",
            "HTTP connections open now",
            read(&stats.open),
        )?;
        counter(
            &mut encoder,
            "connections_accepted",
            "HTTP connections accepted",
            read(&stats.accepted),
        )?;
        family(
            &mut encoder,
            "connections_refused",
            "HTTP connections refused at once, by the cap they were over (client_limit: too many from one address; server_limit: too many in all)",
            MetricType::Counter,
            &[
                (
                    vec![("reason", "client_limit".to_owned())],
                    read(&stats.refused_client_limit),
                ),
                (
                    vec![("reason", "server_limit".to_owned())],
                    read(&stats.refused_server_limit),
                ),
            ],
        )?;
        counter(
            &mut encoder,
            "header_timeouts",
            "HTTP connections closed because a request's head did not arrive within the header timeout",
            read(&stats.header_timeouts),
        )?;
        let unreadable: Vec<_> = ["400", "414", "431"]
            .into_iter()
            .zip(&stats.unreadable)
            .map(|(status, count)| (vec![("status", status.to_owned())], read(count)))
            .collect();
        family(
            &mut encoder,
            "unreadable_requests",
            "Requests that could not be read as HTTP (400), had too long a URI (414) or too large a head (431)",
            MetricType::Counter,
            &unreadable,
        )
    }
}

/// The route template a request matched, carried on the response to the metrics layer.
#[derive(Clone, Debug)]
struct RouteTemplate(String);

/// Route middleware: copies the matched route template onto the response.
///
/// The outer [`track_requests`] layer sees every request, including those that
/// match no route or are refused by a layer, but runs before routing; this one
/// runs after routing and tells it which template matched.
pub async fn tag_route(request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| RouteTemplate(p.as_str().to_owned()));
    let mut response = next.run(request).await;
    if let Some(template) = template {
        response.extensions_mut().insert(template);
    }
    response
}

/// Middleware: times every request and counts it by route template and status.
pub async fn track_requests(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or("unmatched", |t| t.0.as_str());
    state.metrics.observe(
        method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The method as a label, with extension methods folded into `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The secret a Prometheus scraper presents (`Authorization: Bearer ...`) to read every
/// series of `/metrics`; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ScrapeToken(String);

/// A scrape token that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a scrape token must be {MIN_SCRAPE_TOKEN_BYTES} to 1024 visible ASCII characters (make one with `openssl rand -hex 32`)"
)]
pub struct ScrapeTokenError;

/// The shortest scrape token accepted.
pub const MIN_SCRAPE_TOKEN_BYTES: usize = 16;

impl ScrapeToken {
    /// The token in `text` (surrounding white space, such as a file's last newline, dropped).
    pub fn parse(text: &str) -> Result<Self, ScrapeTokenError> {
        let token = text.trim();
        if token.len() < MIN_SCRAPE_TOKEN_BYTES
            || token.len() > 1024
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ScrapeTokenError);
        }
        Ok(Self(token.to_owned()))
    }

    /// Whether `presented` is this token, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), presented.as_bytes());
        ours.len() == theirs.len()
            && ours
                .iter()
                .zip(theirs)
                .fold(0u8, |differs, (a, b)| differs | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for ScrapeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScrapeToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_tokens_are_checked_and_compared_whole() {
        assert!(ScrapeToken::parse("short").is_err());
        assert!(ScrapeToken::parse("has a space inside it").is_err());
        let token = ScrapeToken::parse("  0123456789abcdef0123\n").unwrap();
        assert!(token.matches("0123456789abcdef0123"));
        assert!(!token.matches("0123456789abcdef012"));
        assert!(!token.matches("0123456789abcdef01234"));
        assert!(!token.matches("1123456789abcdef0123"));
        assert_eq!(format!("{token:?}"), "ScrapeToken(***)");
    }
}
