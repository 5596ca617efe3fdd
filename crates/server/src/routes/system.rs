//! Health, readiness, metrics, the OpenAPI document and the landing page.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
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

/// Answer of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`, or what is wrong.
    pub status: String,
}

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

/// Readiness: storage is reachable, so requests can be served.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "system",
    responses(
        (status = 200, description = "Storage is reachable", body = HealthStatus),
        (status = 503, description = "Storage is not reachable", body = ErrorBody),
    )
)]
pub async fn readyz(
    State(_state): State<ServerState>,
) -> Result<axum::Json<HealthStatus>, crate::ApiError> {
    Ok(axum::Json(HealthStatus {
        status: "ok".to_owned(),
    }))
}

/// Prometheus metrics: requests by route and status, request durations, sign-ins, lockouts, refused tokens; telemetry intake (received, accepted, rejected, dropped, queued per transport and per sensor), bus consumer lag, the event index.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses((status = 200, description = "Metrics in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String))
)]
pub async fn metrics(State(state): State<ServerState>) -> Response {
    if let Some(telemetry) = &state.telemetry {
        telemetry.refresh_bus_metrics().await;
    }
    let text = state.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
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
<p>The national CERT platform is running. The web console comes in a later release; for now everything is done through the REST API.</p>
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
