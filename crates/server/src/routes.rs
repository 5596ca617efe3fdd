//! The routes, one module per area, gathered into one router with its OpenAPI document.

pub(crate) mod alerts;
mod audit;
pub(crate) mod auth;
mod duty;
pub(crate) mod events;
mod incidents;
mod ingest;
mod intel;
mod misp;
mod paging;
mod rules;
pub(crate) mod sensors;
mod stix;
mod system;
mod tenants;
mod tokens;
mod users;
pub mod views;

pub(crate) use rules::MAX_RULES_BODY_BYTES;
pub(crate) use system::metrics_on_metrics_listener;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::ServerState;

/// The top of the OpenAPI document; paths are added by each area's routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nigehban API",
        description = "The REST API of Nigehban, the national CERT platform. Authenticate with an API token (`Authorization: Bearer ...`) or a browser session (cookie set by `POST /api/v1/auth/login`, plus the `X-CSRF-Token` header on requests that change something). Errors are JSON: `{\"error\": {\"code\": ..., \"message\": ...}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign in and out, the current session, one's own password"),
        (name = "tenants", description = "The hierarchy: national CERT, sectoral CERTs, organisations"),
        (name = "users", description = "User accounts and their roles"),
        (name = "tokens", description = "API tokens for programs and sensors"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "sensors", description = "Sensors that send telemetry: registration, ingest tokens, health"),
        (name = "intake", description = "Telemetry from sensors (authenticated with a sensor ingest token)"),
        (name = "events", description = "Search the events sensors sent"),
        (name = "rules", description = "Detection rules: import, per-tenant enable and disable, Sigma filters, trials on stored events"),
        (name = "alerts", description = "The alert queue: what detection raised, its triage, and a live stream of new and changed alerts"),
        (name = "incidents", description = "Incident reports, incidents, escalation and tasking, evidence, regulatory deadlines, response-time figures"),
        (name = "intel", description = "Shared threat intelligence: indicators of compromise under TLP 2.0 and PAP, their sightings, MISP event import and the MISP feed a tenant's MISP instance pulls"),
        (name = "oncall", description = "The duty roster: who is on call now or at any moment, schedules, holiday calendars, coverage, the fairness ledger, shift feeds; paging: escalation policies, contact methods, pages and their acknowledgement, the delivery log, hand-overs"),
        (name = "system", description = "Health, readiness, metrics and this document"),
    )
)]
struct ApiDoc;

/// Adds the two ways to authenticate to the document.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token created with POST /api/v1/tokens, scoped to a tenant and a role",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "sensor_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A sensor's ingest token (`ngs_...`), issued when the sensor is registered or its token rotated",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::SESSION_COOKIE,
                "The browser session set by POST /api/v1/auth/login; requests that change something also send its CSRF token in X-CSRF-Token",
            ))),
        );
    }
}

/// Every documented route, with its document; the intake route reads bodies
/// of up to `ingest_body_limit` bytes, evidence uploads up to `evidence_body_limit`.
fn documented(ingest_body_limit: usize, evidence_body_limit: usize) -> OpenApiRouter<ServerState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(tenants::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .merge(sensors::routes())
        .merge(ingest::routes().layer(DefaultBodyLimit::max(ingest_body_limit)))
        .merge(events::routes())
        .merge(alerts::routes())
        .merge(intel::routes())
        .merge(misp::routes().layer(DefaultBodyLimit::max(misp::MAX_MISP_BODY_BYTES)))
        .merge(stix::routes().layer(DefaultBodyLimit::max(stix::MAX_STIX_BODY_BYTES)))
        .merge(rules::routes().layer(DefaultBodyLimit::max(rules::MAX_RULES_BODY_BYTES)))
        .merge(system::routes())
        .merge(duty::routes().layer(DefaultBodyLimit::max(duty::MAX_CALENDAR_BYTES)))
        .merge(paging::routes())
        // ---- incidents and coordination ----
        .merge(incidents::routes(evidence_body_limit))
}

/// The OpenAPI document of the API, generated from the route handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented(
        crate::ServerOptions::default().max_ingest_body_bytes,
        nigehban_app::incidents::DEFAULT_EVIDENCE_MAX_BYTES,
    )
    .into_openapi()
}

/// All routes: the documented API plus the landing page and the document itself.
pub fn all(ingest_body_limit: usize, evidence_body_limit: usize) -> Router<ServerState> {
    let (router, document) = documented(ingest_body_limit, evidence_body_limit).split_for_parts();
    let document = Arc::new(document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "could not render the OpenAPI document");
        "{}".to_owned()
    }));
    router
        .route("/", axum::routing::get(system::landing))
        .route(
            "/api/openapi.json",
            axum::routing::get(move || system::openapi_document(Arc::clone(&document))),
        )
}
