//! The HTTP API (REST + OpenAPI) and web console; the only crate that knows HTTP.
//!
//! [`router`] builds the whole HTTP surface from a [`ServerState`], so tests
//! drive it with `tower::ServiceExt::oneshot` and no socket; [`serve`] runs it
//! on a listener within the connection limits ([`connections`]) until a
//! shutdown signal, letting in-flight requests finish. [`metrics_router`] is
//! `/metrics` alone, for a listener of its own.
//!
//! Every response that is not a success is an [`ApiError`]: JSON with a stable
//! code. Handlers return it; layers (body limit, timeout, unknown route, wrong
//! method) produce bare statuses that [`layers::json_errors`] turns into it; a
//! panicking handler is answered with `500 internal` by the catch-panic layer.

pub mod auth;
pub mod connections;
pub mod console;
pub mod error;
pub mod extract;
pub mod layers;
pub mod metrics;
pub mod paging;
mod routes;
pub mod schemas;
pub mod taxii;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use nigehban_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use connections::{ConnectionLimits, Connections, serve};
pub use error::ApiError;
pub use metrics::{RequestMetrics, ScrapeToken};
pub use nigehban_node::Telemetry;
pub use routes::openapi;

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "nigehban_session";

/// How the HTTP layer behaves; set from the configuration.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted, in bytes (larger → 413).
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Whether session cookies carry `Secure` (and the `__Host-` prefix).
    pub secure_cookies: bool,
    /// Largest body of `POST /api/v1/ingest`, in bytes (larger → 413); telemetry
    /// requests are bigger than the rest of the API's.
    pub max_ingest_body_bytes: usize,
    /// Header timeout and connection caps of the listeners.
    pub connections: ConnectionLimits,
    /// The token a scraper presents to read every series of `/metrics` (those naming
    /// tenants, sensors and addresses); without it, only the aggregate series.
    pub scrape_token: Option<ScrapeToken>,
    /// Whether TAXII's public (TLP:CLEAR) collection answers without credentials (default off).
    pub taxii_public: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            secure_cookies: true,
            max_ingest_body_bytes: 32 * 1024 * 1024,
            connections: ConnectionLimits::default(),
            scrape_token: None,
            taxii_public: false,
        }
    }
}

/// Everything a request handler can reach: one `Clone` struct.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// The platform's services; every endpoint calls them with the caller's identity.
    pub app: App,
    /// HTTP options.
    pub options: Arc<ServerOptions>,
    /// Request counters and timings for `/metrics`.
    pub metrics: Arc<RequestMetrics>,
    /// Telemetry intake and event search, when this server runs them.
    pub telemetry: Option<Telemetry>,
}

impl ServerState {
    /// State over `app` with the given options and fresh metrics.
    pub fn new(app: App, options: ServerOptions) -> Self {
        Self {
            metrics: Arc::new(RequestMetrics::for_platform(app.clone())),
            app,
            options: Arc::new(options),
            telemetry: None,
        }
    }

    /// The same state serving telemetry intake and event search too (their
    /// counters join `/metrics`).
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.metrics = Arc::new(RequestMetrics::for_platform_with_telemetry(
            self.app.clone(),
            Some(telemetry.clone()),
        ));
        self.telemetry = Some(telemetry);
        self
    }

    /// The telemetry handles, or 503 when this server does not run intake.
    pub fn telemetry(&self) -> Result<&Telemetry, ApiError> {
        self.telemetry.as_ref().ok_or_else(|| {
            ApiError::unavailable(
                "telemetry intake and event search are not running on this server",
            )
        })
    }

    /// What [`serve`] needs beside the router: the limits from the options and the
    /// counters `/metrics` shows.
    pub fn connections(&self) -> Connections {
        Connections {
            limits: self.options.connections.clone(),
            stats: self.metrics.connection_stats(),
        }
    }

    /// The session cookie's name: `__Host-` prefixed when cookies are `Secure`,
    /// so a browser only accepts it from this exact host over HTTPS (or localhost).
    pub fn session_cookie_name(&self) -> &'static str {
        if self.options.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }
}

/// Name of the session cookie when cookies are `Secure`.
pub const SECURE_SESSION_COOKIE: &str = "__Host-nigehban_session";

/// The whole HTTP surface: landing page, health, metrics, OpenAPI and `/api/v1`.
pub fn router(state: ServerState) -> Router {
    let routes = routes::all(
        state.options.max_ingest_body_bytes,
        state.app.settings().incidents.evidence_max_bytes,
    )
    .merge(console::routes())
    .merge(taxii::routes());
    with_layers(routes, state)
}

/// `/metrics` alone (every series for the scrape token, or for anyone when no token
/// is set), for a listener bound where the operator chooses.
pub fn metrics_router(state: ServerState) -> Router {
    Router::new()
        .route(
            "/metrics",
            axum::routing::get(routes::metrics_on_metrics_listener),
        )
        .fallback(layers::no_such_route)
        .layer(axum::middleware::from_fn(layers::json_errors))
        .layer(axum::middleware::from_fn(layers::security_headers))
        .layer(axum::middleware::from_fn(layers::finish_request_body))
        .with_state(state)
}

/// Wraps routes in the layers every request passes, outermost first: request-body
/// finishing, tracing, security headers, metrics, catch-panic, JSON errors, timeout,
/// body limit.
fn with_layers(routes: Router<ServerState>, state: ServerState) -> Router {
    let options = Arc::clone(&state.options);
    // The outer limit lets the largest body through (telemetry's or
    // evidence's); every other route reads its body within `max_body_bytes`
    // (DefaultBodyLimit), and the intake, evidence and rule upload routes set their own.
    let largest_body = options
        .max_body_bytes
        .max(options.max_ingest_body_bytes)
        .max(state.app.settings().incidents.evidence_max_bytes)
        .max(routes::MAX_RULES_BODY_BYTES)
        .max(taxii::MAX_TAXII_BODY_BYTES);
    routes
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(layers::no_such_route)
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(largest_body))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .layer(axum::middleware::from_fn(layers::json_errors))
        .layer(CatchPanicLayer::custom(layers::PanicToError::new(
            Arc::clone(&state.metrics),
        )))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_requests,
        ))
        .layer(axum::middleware::from_fn(layers::security_headers))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(layers::finish_request_body))
        .with_state(state)
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when the future is first polled, so a
/// signal sent as soon as the server says it listens is never lost (it would
/// otherwise kill the process without a clean shutdown).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match installed {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => tracing::info!("received SIGINT"),
                        _ = terminate.recv() => tracing::info!("received SIGTERM"),
                    }
                }
                (interrupt, terminate) => {
                    for error in [interrupt.err(), terminate.err()].into_iter().flatten() {
                        tracing::error!(%error, "cannot listen for SIGINT or SIGTERM");
                    }
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("received Ctrl-C");
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn state() -> (ServerState, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(
            &nigehban_app::StoreConfig::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            nigehban_app::AppSettings::insecure_fast_for_tests(),
        )
        .await
        .unwrap();
        let options = ServerOptions {
            request_timeout: Duration::from_millis(200),
            ..ServerOptions::default()
        };
        (ServerState::new(app, options), dir)
    }

    async fn body_json(response: axum::response::Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_500_json_and_counted() {
        let (state, _dir) = state().await;
        let metrics = Arc::clone(&state.metrics);
        let routes = Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                let items: Vec<u8> = Vec::new();
                // An out-of-bounds index: a bug, not an outside input.
                #[allow(clippy::indexing_slicing)]
                let first = items[0];
                first.to_string()
            }),
        );
        let response = with_layers(routes, state)
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json = body_json(response).await;
        assert_eq!(json["error"]["code"], "internal");
        assert!(!json.to_string().contains("index out of bounds"), "{json}");
        assert!(
            metrics
                .render()
                .contains("nigehban_http_handler_panics_total 1")
        );
    }

    #[tokio::test]
    async fn a_slow_request_is_answered_with_408_json() {
        let (state, _dir) = state().await;
        let routes = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let response = with_layers(routes, state)
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(body_json(response).await["error"]["code"], "timeout");
    }
}
