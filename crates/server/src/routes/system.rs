//! Health, readiness, metrics, the OpenAPI document and the landing page.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::error::ErrorBody;

/// The system routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Answer of `/healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`, or what is wrong.
    pub status: String,
}

/// Answer of `/readyz` when everything is ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`.
    pub status: String,
    /// Each part checked (`storage`, and where telemetry runs `event_bus` and
    /// `event_index`) and its state, `ok`.
    pub checks: BTreeMap<String, String>,
}

/// How long a readiness check may take before its part counts as not ready.
const READINESS_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a load balancer is asked to wait before asking again.
const NOT_READY_RETRY_AFTER_SECONDS: u64 = 5;

/// Liveness: the process is up and answering.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    responses((status = 200, description = "The server is running", body = HealthStatus))
)]
pub async fn healthz() -> axum::Json<HealthStatus> {
    axum::Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// Readiness: storage answers, and where telemetry runs, the event bus takes records and the event index is open and fed.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "system",
    responses(
        (status = 200, description = "Every part is ready", body = Readiness),
        (status = 503, description = "`not_ready`: the message names each part that is not (storage, the event bus, the event index); retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
pub async fn readyz(
    State(state): State<ServerState>,
) -> Result<axum::Json<Readiness>, crate::ApiError> {
    let mut checks = BTreeMap::new();
    let mut not_ready = Vec::new();
    let storage = match tokio::time::timeout(READINESS_CHECK_TIMEOUT, state.app.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            READINESS_CHECK_TIMEOUT.as_secs()
        )),
    };
    record(
        &mut checks,
        &mut not_ready,
        "storage",
        "storage is not reachable",
        storage,
    );
    if let Some(telemetry) = &state.telemetry {
        let bus = match tokio::time::timeout(READINESS_CHECK_TIMEOUT, telemetry.bus_ready()).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(_) => Err(format!(
                "no answer within {} s",
                READINESS_CHECK_TIMEOUT.as_secs()
            )),
        };
        record(
            &mut checks,
            &mut not_ready,
            "event_bus",
            "the event bus cannot take events",
            bus,
        );
        record(
            &mut checks,
            &mut not_ready,
            "event_index",
            "the event index is not being written",
            telemetry.index_ready(),
        );
    }
    if not_ready.is_empty() {
        return Ok(axum::Json(Readiness {
            status: "ok".to_owned(),
            checks,
        }));
    }
    Err(crate::ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        format!("not ready: {}", not_ready.join("; ")),
    )
    .with_retry_after(NOT_READY_RETRY_AFTER_SECONDS))
}

/// Notes one part's state; what went wrong goes to the log, not to the (unauthenticated) answer.
fn record(
    checks: &mut BTreeMap<String, String>,
    not_ready: &mut Vec<&'static str>,
    part: &'static str,
    summary: &'static str,
    result: Result<(), String>,
) {
    match result {
        Ok(()) => {
            checks.insert(part.to_owned(), "ok".to_owned());
        }
        Err(error) => {
            tracing::warn!(part, %error, "not ready");
            checks.insert(part.to_owned(), "not ready".to_owned());
            not_ready.push(summary);
        }
    }
}

/// Prometheus metrics: requests by route and status, request durations, connections, sign-ins, lockouts, refused tokens; telemetry intake (received, accepted, rejected, dropped, queued per transport), bus consumer lag, the event index. Series that name tenants, sensors or sender addresses (per-sensor intake and health, refused syslog addresses) only with the scrape token.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    params(("Authorization" = Option<String>, Header, description = "`Bearer SCRAPE-TOKEN` (the operator's `metrics_token_file`) for every series; without it, only the aggregate ones")),
    responses(
        (status = 200, description = "Metrics in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "A token that is not the scrape token, when one is configured", body = ErrorBody),
    )
)]
pub async fn metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    render_metrics(&state, &headers, false).await
}

/// `/metrics` on the metrics listener: every series, to anyone who can reach it
/// unless a scrape token is configured (then as on the API's listener).
pub async fn metrics_on_metrics_listener(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> Response {
    render_metrics(&state, &headers, true).await
}

async fn render_metrics(state: &ServerState, headers: &HeaderMap, own_listener: bool) -> Response {
    let token = &state.options.scrape_token;
    let full = match (headers.get(header::AUTHORIZATION), token) {
        // Without a scrape token, credentials mean nothing here (a user's API token
        // is not one): the listener decides what is shown.
        (_, None) => own_listener,
        (None, Some(_)) => false,
        (Some(presented), Some(token))
            if presented_token(presented).is_some_and(|p| token.matches(p)) =>
        {
            true
        }
        (Some(_), Some(_)) => {
            return crate::ApiError::unauthenticated(
                "that is not the scrape token; without credentials /metrics serves the series that name no tenant, sensor or address",
            )
            .into_response();
        }
    };
    if let Some(telemetry) = &state.telemetry {
        telemetry.refresh_bus_metrics().await;
    }
    let text = if full {
        state.metrics.render()
    } else {
        state.metrics.render_aggregate()
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// The token of `Authorization: Bearer <token>`.
fn presented_token(value: &HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The OpenAPI 3 document of this API.
pub async fn openapi_document(document: Arc<String>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document.as_str().to_owned(),
    )
        .into_response()
}

/// The landing page: where the API is and how to sign in.
pub async fn landing() -> Html<&'static str> {
    Html(LANDING_PAGE)
}

const LANDING_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Nigehban</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code,pre{background:#f3f3f3;padding:.1rem .3rem}pre{padding:.6rem}</style>
</head>
<body>
<h1>Nigehban</h1>
<p>The national CERT platform is running. Open the <a href="/console/">web console</a>, or use the REST API.</p>
<ul>
<li>API: <code>/api/v1</code></li>
<li>API description (OpenAPI 3): <a href="/api/openapi.json"><code>/api/openapi.json</code></a></li>
<li>Health: <a href="/healthz"><code>/healthz</code></a>, readiness: <a href="/readyz"><code>/readyz</code></a>, metrics: <a href="/metrics"><code>/metrics</code></a></li>
</ul>
<h2>Sign in</h2>
<p>On first start the server printed the administrator's username and one-time password. Sign in with them, choose a new password, then create an API token:</p>
<pre>curl -c cookies -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"THE-ONE-TIME-PASSWORD"}' \
  http://127.0.0.1:8080/api/v1/auth/login</pre>
<p>The answer holds a <code>csrf_token</code>: send it as <code>X-CSRF-Token</code> with every session request that changes something. Programs and sensors use API tokens instead: <code>Authorization: Bearer TOKEN</code>.</p>
</body>
</html>
"#;
