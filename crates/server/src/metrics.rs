//! Prometheus metrics for `/metrics`: requests counted and timed by route and status.
//!
//! Routes are labelled with their template (`/api/v1/tenants/{id}`), never the
//! raw path, so a client cannot blow up the number of series; requests that
//! match no route share the label `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ServerState;

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
                "Accounts locked after too many failed sign-ins",
                counters.lockouts,
            ),
            (
                "throttled_sign_ins",
                "Sign-ins refused because their address failed too often",
                counters.throttled_sign_ins,
            ),
            (
                "token_refusals",
                "Bearer tokens refused: unknown, expired, revoked or no longer entitled",
                counters.token_refusals,
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

/// The server's request metrics and the registry they are rendered from.
#[derive(Debug)]
pub struct RequestMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    panics: Counter,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestMetrics {
    /// Request metrics (`nigehban_http_*`) plus the platform's counters (`nigehban_*`) read from `app`.
    pub fn for_platform(app: nigehban_app::App) -> Self {
        let mut metrics = Self::new();
        metrics
            .registry
            .sub_registry_with_prefix("nigehban")
            .register_collector(Box::new(PlatformCounters(app)));
        metrics
    }

    /// Empty request metrics, registered under the `nigehban_http_` prefix.
    pub fn new() -> Self {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("nigehban_http");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        let durations_for_registry = durations.clone();
        registry.register(
            "request_duration_seconds",
            "Time to answer HTTP requests, by method and route template",
            durations_for_registry,
        );
        let panics = Counter::default();
        registry.register(
            "handler_panics",
            "Requests whose handler panicked and were answered with 500",
            panics.clone(),
        );
        Self {
            registry: root,
            requests,
            durations,
            panics,
        }
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

    /// The metrics in the Prometheus/OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "could not render metrics");
        }
        text
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
