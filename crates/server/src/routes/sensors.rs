//! The sensor registry: register sensors (ingest token shown once), list, read,
//! change, deactivate, rotate and revoke their ingest tokens, read their health.
//!
//! Every change that matters to intake is passed on at once: a registered or
//! changed sensor is watched for silence and syslog lookups are refreshed; a
//! deactivated one is forgotten.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use nigehban_app::model::{
    CertificateFingerprint, ExpectedInterval, HostOsType, Sensor, SensorFormat, SensorHealthEvent,
    SensorHealthKind, SensorId, SensorKind, SensorName, SensorToken, SensorTokenId, SensorUpdate,
    SensorUtcOffset, SourceNetwork, SubjectCommonName, TenantId, Timestamp,
};
use nigehban_app::{IssuedSensorToken, NewSensor, PageRequest};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{ListQuery, page_request, parse_tenant_param};

/// The sensor routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_sensors, register_sensor))
        .routes(routes!(get_sensor, update_sensor))
        .routes(routes!(deactivate_sensor))
        .routes(routes!(sensor_tokens))
        .routes(routes!(rotate_sensor_token))
        .routes(routes!(revoke_sensor_token))
        .routes(routes!(sensor_health_history))
        .routes(routes!(sensor_statuses))
        .routes(routes!(health_events))
}

/// A registered sensor (never its ingest token's secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SensorView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: SensorId,
    /// The tenant that owns it and every event it sends.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its name, unique among the tenant's active sensors.
    pub name: String,
    /// What it is: firewall, ids, network_monitor, host_agent, syslog_relay, application, other.
    pub kind: String,
    /// The formats it sends (empty: any): syslog, cef, suricata_eve, zeek, windows_json, evtx, json, text.
    pub expected_formats: Vec<String>,
    /// How often it is expected to send, in seconds; null: never reported silent.
    pub expected_interval_seconds: Option<u64>,
    /// Addresses and networks its syslog comes from.
    pub source_addresses: Vec<String>,
    /// SHA-256 fingerprints (hex) of its TLS client certificates.
    pub tls_client_fingerprints: Vec<String>,
    /// Its TLS client certificate's subject common name.
    pub tls_subject_cn: Option<String>,
    /// `host.os.type` for its events that do not say.
    pub host_os_type: Option<String>,
    /// Its UTC offset (`+05:00`), for syslog timestamps written without a zone.
    pub utc_offset: Option<String>,
    /// False once deactivated.
    pub active: bool,
    /// When it was registered.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Sensor> for SensorView {
    fn from(sensor: Sensor) -> Self {
        Self {
            id: sensor.id,
            tenant: sensor.tenant,
            name: sensor.name.as_str().to_owned(),
            kind: sensor.kind.as_str().to_owned(),
            expected_formats: sensor
                .expected_formats
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            expected_interval_seconds: sensor.expected_interval.map(ExpectedInterval::as_secs),
            source_addresses: sensor
                .source_addresses
                .iter()
                .map(ToString::to_string)
                .collect(),
            tls_client_fingerprints: sensor
                .tls_client_fingerprints
                .iter()
                .map(CertificateFingerprint::to_hex)
                .collect(),
            tls_subject_cn: sensor.tls_subject_cn.map(|cn| cn.as_str().to_owned()),
            host_os_type: sensor.host_os_type.map(|os| os.as_str().to_owned()),
            utc_offset: sensor.utc_offset.map(|offset| offset.to_string()),
            active: sensor.active,
            created_at: sensor.created_at,
            updated_at: sensor.updated_at,
        }
    }
}

/// A sensor's ingest token (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SensorTokenView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: SensorTokenId,
    /// The sensor it authenticates as.
    #[schema(value_type = String, format = Uuid)]
    pub sensor: SensorId,
    /// When it was issued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it stops working (set when it was rotated with a grace period).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// When it was last used.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    /// The address it was last used from.
    pub last_used_from: Option<String>,
    /// When it was revoked, if it was.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<SensorToken> for SensorTokenView {
    fn from(token: SensorToken) -> Self {
        Self {
            id: token.id,
            sensor: token.sensor,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            last_used_from: token.last_used_from,
            revoked_at: token.revoked_at,
        }
    }
}

/// A sensor with a newly issued ingest token.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenView {
    /// The sensor.
    pub sensor: SensorView,
    /// The token.
    pub token: SensorTokenView,
    /// The secret (`ngs_...`), shown this once: the sensor sends it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<IssuedSensorToken> for IssuedTokenView {
    fn from(issued: IssuedSensorToken) -> Self {
        Self {
            sensor: issued.sensor.into(),
            token: issued.token.into(),
            secret: issued.secret.expose().to_owned(),
        }
    }
}

/// A page of sensors.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensorPage {
    /// The sensors, ordered by id (registration time).
    pub items: Vec<SensorView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A sensor's ingest tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensorTokenList {
    /// The tokens, oldest first.
    pub items: Vec<SensorTokenView>,
}

/// A change in a sensor's health, recorded by the platform.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthEventView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: nigehban_app::model::SensorHealthEventId,
    /// The sensor.
    #[schema(value_type = String, format = Uuid)]
    pub sensor: SensorId,
    /// The sensor's tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// `silent` (sent nothing for longer than its expected interval) or `recovered`.
    pub kind: String,
    /// When intake saw it.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// For `silent`: its last event, or when it was first watched if it never sent.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// For `silent`: the interval it was expected to send within, in seconds.
    pub expected_interval_seconds: Option<u64>,
    /// For `recovered`: when its silence began.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub silent_since: Option<Timestamp>,
    /// For `recovered`: how long it was silent, in seconds.
    pub silent_for_seconds: Option<u64>,
}

impl From<SensorHealthEvent> for HealthEventView {
    fn from(event: SensorHealthEvent) -> Self {
        let mut view = Self {
            id: event.id,
            sensor: event.sensor,
            tenant: event.tenant,
            kind: event.kind.word().to_owned(),
            at: event.at,
            since: None,
            expected_interval_seconds: None,
            silent_since: None,
            silent_for_seconds: None,
        };
        match event.kind {
            SensorHealthKind::Silent {
                since,
                expected_interval_seconds,
            } => {
                view.since = Some(since);
                view.expected_interval_seconds = Some(expected_interval_seconds);
            }
            SensorHealthKind::Recovered {
                silent_since,
                silent_for_seconds,
            } => {
                view.silent_since = Some(silent_since);
                view.silent_for_seconds = Some(silent_for_seconds);
            }
        }
        view
    }
}

/// A page of health events.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthEventPage {
    /// The events, newest first.
    pub items: Vec<HealthEventView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The sensors of a subtree: `under` (default the caller's tenant) and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/sensors",
    tag = "sensors",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of sensors, active and deactivated", body = SensorPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_sensors(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<SensorPage>, ApiError> {
    let page = state
        .app
        .sensors()
        .list(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(SensorPage {
        items: page.items.into_iter().map(SensorView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// A sensor to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSensorRequest {
    /// The tenant (organisation or CERT) that owns it and its events (default the caller's).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// Its name (1 to 100 characters), unique among the tenant's active sensors.
    #[schema(value_type = String)]
    pub name: SensorName,
    /// What it is: firewall, ids, network_monitor, host_agent, syslog_relay, application, other.
    #[schema(value_type = String)]
    pub kind: SensorKind,
    /// The formats it sends (empty: any; exactly one: its records are read as that format).
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub expected_formats: Vec<SensorFormat>,
    /// How often it is expected to send, in seconds (10 to 604800); it is reported silent when it does not.
    #[schema(value_type = Option<u64>)]
    #[serde(default)]
    pub expected_interval_seconds: Option<ExpectedInterval>,
    /// Addresses or CIDR networks its syslog comes from.
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub source_addresses: Vec<SourceNetwork>,
    /// SHA-256 fingerprints of its TLS client certificates (hex, colons allowed).
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub tls_client_fingerprints: Vec<CertificateFingerprint>,
    /// Its TLS client certificate's subject common name.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub tls_subject_cn: Option<SubjectCommonName>,
    /// `host.os.type` of its events: linux, windows, macos, unix, android, ios.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub host_os_type: Option<HostOsType>,
    /// Its UTC offset (`+05:00`), for syslog timestamps written without a zone.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub utc_offset: Option<SensorUtcOffset>,
}

/// Register a sensor in a tenant of the caller's subtree (administrators); its first ingest token is in the answer.
#[utoipa::path(
    post,
    path = "/api/v1/sensors",
    tag = "sensors",
    request_body = RegisterSensorRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Registered; the ingest token's secret is in the answer and nowhere else", body = IssuedTokenView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not register sensors there", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The name, an address or a certificate is taken by another active sensor", body = ErrorBody),
        (status = 422, description = "A bad field, named in the answer", body = ErrorBody),
    )
)]
async fn register_sensor(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<RegisterSensorRequest>,
) -> Result<(StatusCode, axum::Json<IssuedTokenView>), ApiError> {
    let new = NewSensor {
        tenant: request.tenant,
        name: request.name,
        kind: request.kind,
        expected_formats: request.expected_formats,
        expected_interval: request.expected_interval_seconds,
        source_addresses: request.source_addresses,
        tls_client_fingerprints: request.tls_client_fingerprints,
        tls_subject_cn: request.tls_subject_cn,
        host_os_type: request.host_os_type,
        utc_offset: request.utc_offset,
    };
    let issued = register(&state, &who.caller, new).await?;
    Ok((StatusCode::CREATED, axum::Json(issued.into())))
}

/// Registers a sensor and tells intake about it at once (the API and the console both register here).
pub(crate) async fn register(
    state: &ServerState,
    caller: &nigehban_app::Caller,
    new: NewSensor,
) -> Result<IssuedSensorToken, ApiError> {
    let issued = state.app.sensors().register(caller, new).await?;
    if let Some(telemetry) = &state.telemetry {
        telemetry.sensor_changed(&issued.sensor);
    }
    Ok(issued)
}

/// The id in a sensor's path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SensorPath {
    /// The sensor's id.
    #[param(value_type = String, format = Uuid)]
    pub id: SensorId,
}

/// One sensor of the caller's subtree.
#[utoipa::path(
    get,
    path = "/api/v1/sensors/{id}",
    tag = "sensors",
    params(SensorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The sensor", body = SensorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_sensor(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
) -> Result<axum::Json<SensorView>, ApiError> {
    let sensor = state.app.sensors().get(&who.caller, path.id).await?;
    Ok(axum::Json(sensor.into()))
}

/// Reads a present value, `null` included, as `Some` (absent stays `None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change to a sensor: absent fields are kept, `null` clears a field that may be empty.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSensorRequest {
    /// A new name.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub name: Option<SensorName>,
    /// A new kind.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub kind: Option<SensorKind>,
    /// New expected formats.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub expected_formats: Option<Vec<SensorFormat>>,
    /// A new expected interval in seconds, or null for none.
    #[schema(value_type = Option<u64>)]
    #[serde(default, deserialize_with = "present")]
    pub expected_interval_seconds: Option<Option<ExpectedInterval>>,
    /// New source addresses and networks.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub source_addresses: Option<Vec<SourceNetwork>>,
    /// New certificate fingerprints.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub tls_client_fingerprints: Option<Vec<CertificateFingerprint>>,
    /// A new subject common name, or null for none.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub tls_subject_cn: Option<Option<SubjectCommonName>>,
    /// A new host OS type, or null for none.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub host_os_type: Option<Option<HostOsType>>,
    /// A new UTC offset, or null for none.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub utc_offset: Option<Option<SensorUtcOffset>>,
}

/// Change an active sensor's registration (administrators); its tenant never changes.
#[utoipa::path(
    patch,
    path = "/api/v1/sensors/{id}",
    tag = "sensors",
    params(SensorPath),
    request_body = UpdateSensorRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The sensor as changed", body = SensorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not change this sensor", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The name, an address or a certificate is taken by another active sensor", body = ErrorBody),
        (status = 422, description = "A bad field, or the sensor is deactivated", body = ErrorBody),
    )
)]
async fn update_sensor(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
    ApiJson(request): ApiJson<UpdateSensorRequest>,
) -> Result<axum::Json<SensorView>, ApiError> {
    let update = SensorUpdate {
        name: request.name,
        kind: request.kind,
        expected_formats: request.expected_formats,
        expected_interval: request.expected_interval_seconds,
        source_addresses: request.source_addresses,
        tls_client_fingerprints: request.tls_client_fingerprints,
        tls_subject_cn: request.tls_subject_cn,
        host_os_type: request.host_os_type,
        utc_offset: request.utc_offset,
    };
    let sensor = state
        .app
        .sensors()
        .update(&who.caller, path.id, update)
        .await?;
    if let Some(telemetry) = &state.telemetry {
        telemetry.sensor_changed(&sensor);
    }
    Ok(axum::Json(sensor.into()))
}

/// Deactivate a sensor (administrators): its ingest tokens stop working and intake no longer knows it.
#[utoipa::path(
    post,
    path = "/api/v1/sensors/{id}/deactivate",
    tag = "sensors",
    params(SensorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Deactivated", body = SensorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not deactivate this sensor", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
    )
)]
async fn deactivate_sensor(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
) -> Result<axum::Json<SensorView>, ApiError> {
    let sensor = state.app.sensors().deactivate(&who.caller, path.id).await?;
    if let Some(telemetry) = &state.telemetry {
        telemetry.sensor_changed(&sensor);
    }
    Ok(axum::Json(sensor.into()))
}

/// A sensor's ingest tokens, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/api/v1/sensors/{id}/tokens",
    tag = "sensors",
    params(SensorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The tokens", body = SensorTokenList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
    )
)]
async fn sensor_tokens(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
) -> Result<axum::Json<SensorTokenList>, ApiError> {
    let tokens = state.app.sensors().tokens(&who.caller, path.id).await?;
    Ok(axum::Json(SensorTokenList {
        items: tokens.into_iter().map(SensorTokenView::from).collect(),
    }))
}

/// How to rotate a sensor's ingest token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateTokenRequest {
    /// How long the old tokens keep working, in seconds (0 to 604800; default 0: they stop at once).
    #[serde(default)]
    pub grace_seconds: u64,
}

/// Issue a new ingest token for a sensor (administrators); the old ones stop after the grace period.
#[utoipa::path(
    post,
    path = "/api/v1/sensors/{id}/tokens/rotate",
    tag = "sensors",
    params(SensorPath),
    request_body = RotateTokenRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new token; its secret is in the answer and nowhere else", body = IssuedTokenView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not administer this sensor", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Grace period too long, or the sensor is deactivated", body = ErrorBody),
    )
)]
async fn rotate_sensor_token(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
    ApiJson(request): ApiJson<RotateTokenRequest>,
) -> Result<(StatusCode, axum::Json<IssuedTokenView>), ApiError> {
    let issued = state
        .app
        .sensors()
        .rotate_token(
            &who.caller,
            path.id,
            Duration::from_secs(request.grace_seconds),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(issued.into())))
}

/// A sensor and one of its tokens.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SensorTokenPath {
    /// The sensor's id.
    #[param(value_type = String, format = Uuid)]
    pub id: SensorId,
    /// The token's id (not its secret).
    #[param(value_type = String, format = Uuid)]
    pub token: SensorTokenId,
}

/// Revoke one of a sensor's ingest tokens at once (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/sensors/{id}/tokens/{token}/revoke",
    tag = "sensors",
    params(SensorTokenPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Revoked", body = SensorTokenView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not administer this sensor", body = ErrorBody),
        (status = 404, description = "No such sensor or token in the caller's subtree", body = ErrorBody),
    )
)]
async fn revoke_sensor_token(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorTokenPath>,
) -> Result<axum::Json<SensorTokenView>, ApiError> {
    let token = state
        .app
        .sensors()
        .revoke_token(&who.caller, path.id, path.token)
        .await?;
    Ok(axum::Json(token.into()))
}

/// Which page of a sensor's health history.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many items at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// One sensor's health events ("silent", "recovered"), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/sensors/{id}/health",
    tag = "sensors",
    params(SensorPath, PageQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of health events", body = HealthEventPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "No such sensor in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn sensor_health_history(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<SensorPath>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<axum::Json<HealthEventPage>, ApiError> {
    let page = page_request(query.cursor.as_deref(), query.limit.as_deref())?;
    let page = state
        .app
        .sensors()
        .health_history(&who.caller, path.id, &page)
        .await?;
    Ok(axum::Json(HealthEventPage {
        items: page.items.into_iter().map(HealthEventView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// The health events of the sensors of a subtree, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/sensor-health/events",
    tag = "sensors",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of health events", body = HealthEventPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn health_events(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<HealthEventPage>, ApiError> {
    let page = state
        .app
        .sensors()
        .health_events(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(HealthEventPage {
        items: page.items.into_iter().map(HealthEventView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// Which subtree's sensor statuses.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnderQuery {
    /// The tenant whose sensors (and those of the tenants below it) to show (default: the caller's).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
}

/// A sensor's health now, as intake sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SensorStatusView {
    /// The sensor.
    #[schema(value_type = String, format = Uuid)]
    pub sensor: SensorId,
    /// Its tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// When it last sent an event that was accepted (since the server started).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_event_at: Option<Timestamp>,
    /// Events accepted per second, averaged over the last minute.
    pub events_per_second: f64,
    /// Events accepted since the server started.
    pub events: u64,
    /// Records refused (unreadable, over a limit) since the server started.
    pub errors: u64,
    /// Records dropped (UDP queue full, bus unavailable) since the server started.
    pub drops: u64,
    /// Events of a format the sensor is not registered to send (kept, each
    /// with a diagnostic) since the server started.
    pub unexpected_format: u64,
    /// The interval it is expected to send within, in seconds.
    pub expected_interval_seconds: Option<u64>,
    /// Whether it is silent now (sent nothing for longer than its interval).
    pub silent: bool,
    /// Since when it has been silent, while it is.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub silent_since: Option<Timestamp>,
}

/// The health of the active sensors of a subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensorStatusList {
    /// One per active sensor, ordered by id.
    pub items: Vec<SensorStatusView>,
}

/// The health of the active sensors of a subtree now: last event, events per second, errors, drops, silence.
#[utoipa::path(
    get,
    path = "/api/v1/sensor-health",
    tag = "sensors",
    params(UnderQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The statuses", body = SensorStatusList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see sensors there", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`", body = ErrorBody),
        (status = 503, description = "Telemetry intake is not running on this server", body = ErrorBody),
    )
)]
async fn sensor_statuses(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<UnderQuery>,
) -> Result<axum::Json<SensorStatusList>, ApiError> {
    let under = parse_tenant_param(query.under.as_deref(), "under")?;
    let items = statuses_under(&state, &who.caller, under).await?;
    Ok(axum::Json(SensorStatusList { items }))
}

/// The health now of the active sensors of `under` (default: the caller's
/// tenant) and the tenants below it that the caller may see; the API and the
/// console both ask here.
pub(crate) async fn statuses_under(
    state: &ServerState,
    caller: &nigehban_app::Caller,
    under: Option<TenantId>,
) -> Result<Vec<SensorStatusView>, ApiError> {
    // The registry decides which sensors the caller may see; intake only adds their numbers.
    let mut sensors = Vec::new();
    let mut page = PageRequest::first(nigehban_app::MAX_PAGE_LIMIT);
    loop {
        let batch = state.app.sensors().list(caller, under, &page).await?;
        sensors.extend(batch.items.into_iter().filter(|s| s.active));
        match batch.next {
            Some(next) => page = PageRequest::after(next, nigehban_app::MAX_PAGE_LIMIT),
            None => break,
        }
    }
    let telemetry = state.telemetry()?;
    let mut statuses: std::collections::HashMap<String, nigehban_ingest::SensorStatus> = telemetry
        .intake
        .sensor_statuses()
        .into_iter()
        .map(|status| (status.sensor_id.clone(), status))
        .collect();
    let stamp = |at: Option<SystemTime>| at.map(Timestamp::from_system_time);
    let items = sensors
        .into_iter()
        .map(|sensor| {
            let status = statuses.remove(&sensor.id.to_string());
            SensorStatusView {
                sensor: sensor.id,
                tenant: sensor.tenant,
                name: sensor.name.as_str().to_owned(),
                last_event_at: stamp(status.as_ref().and_then(|s| s.last_event)),
                events_per_second: status.as_ref().map_or(0.0, |s| s.events_per_second),
                events: status.as_ref().map_or(0, |s| s.events),
                errors: status.as_ref().map_or(0, |s| s.errors),
                drops: status.as_ref().map_or(0, |s| s.drops),
                unexpected_format: status.as_ref().map_or(0, |s| s.unexpected_format),
                expected_interval_seconds: sensor.expected_interval.map(ExpectedInterval::as_secs),
                silent: status.as_ref().is_some_and(|s| s.silent_since.is_some()),
                silent_since: stamp(status.as_ref().and_then(|s| s.silent_since)),
            }
        })
        .collect();
    Ok(items)
}
