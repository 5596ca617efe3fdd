//! `POST /api/v1/ingest`: NDJSON telemetry from a sensor, answered only once durable.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use nigehban_bus::EventBus as _;
use nigehban_ingest::{HttpIngest, IngestOutcome, IntakeError, IntakeErrorClass, LineError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;

/// The intake route.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new().routes(routes!(ingest))
}

/// Longest idempotency key accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 200;

/// What the request says about its records.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// The records' format, in the sensor registry's words: auto, syslog, cef, suricata_eve
    /// (suricata, eve), zeek, windows_json (windows, winlogbeat), evtx, json, text.
    /// Default: the sensor's one expected format (records not of it are read for what
    /// they are, kept and flagged), else recognised per record.
    pub format: Option<String>,
    /// The log the records come from (e.g. `dns.log`), naming Zeek logs that lack `_path`.
    pub log: Option<String>,
}

/// A refused line.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedLine {
    /// Line number in the (decompressed) body, from 1.
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

/// What intake did with a request: the good lines are durable, the bad ones listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestAnswer {
    /// Events accepted: durable on the event bus when this answer is sent.
    pub accepted: u64,
    /// Lines refused, in line order; the rest of the request was kept.
    pub rejected: Vec<RejectedLine>,
}

impl From<IngestOutcome> for IngestAnswer {
    fn from(outcome: IngestOutcome) -> Self {
        Self {
            accepted: outcome.accepted,
            rejected: outcome
                .rejected
                .into_iter()
                .map(|LineError { line, reason }| RejectedLine { line, reason })
                .collect(),
        }
    }
}

/// Send telemetry: NDJSON (one JSON object per line; a JSON string is a raw syslog or CEF line), optionally gzip, with a sensor's ingest token.
///
/// Every event is stamped with the token's sensor and its tenant, never with
/// what the records say. The answer comes only once the accepted events are
/// durable; lines that cannot be read are listed with their line numbers and
/// the others kept. Send `Idempotency-Key` to make a resent request (after a
/// lost answer) store its events under the same ids, so search keeps one copy.
#[utoipa::path(
    post,
    path = "/api/v1/ingest",
    tag = "intake",
    params(
        IngestQuery,
        ("Content-Encoding" = Option<String>, Header, description = "`gzip` for a compressed body"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 200 visible ASCII characters; the same key and body give the same event ids"),
    ),
    request_body(content = String, content_type = "application/x-ndjson", description = "One record per line"),
    security(("sensor_token" = [])),
    responses(
        (status = 202, description = "The accepted events are durable; refused lines are listed", body = IngestAnswer),
        (status = 400, description = "Bad gzip, bad `format`, or a bad idempotency key", body = ErrorBody),
        (status = 401, description = "No sensor ingest token, or one that is unknown, revoked or of a deactivated sensor", body = ErrorBody),
        (status = 413, description = "The body, its decompressed size or its line count is over a limit", body = ErrorBody),
        (status = 415, description = "A content encoding other than gzip", body = ErrorBody),
        (status = 503, description = "Intake is busy or the bus is unavailable; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
async fn ingest(
    State(state): State<ServerState>,
    ApiQuery(query): ApiQuery<IngestQuery>,
    request: Request,
) -> Result<(StatusCode, axum::Json<IngestAnswer>), ApiError> {
    let telemetry = state.telemetry()?;
    // A bus known to be down (nats-server gone, the log's writer failed) cannot make
    // anything durable: say so at once rather than when a publish times out.
    if let Err(error) = telemetry.bus.check_usable() {
        return Err(intake_error(IntakeError::Bus(error)));
    }
    let (parts, body) = request.into_parts();
    let remote = crate::auth::remote_addr(&parts);
    let token = sensor_token(&parts.headers)?;
    let identity = state
        .app
        .sensors()
        .authenticate_ingest(token, remote)
        .await?;
    let format = match query.format.as_deref() {
        None => None,
        // The registry's vocabulary (`SensorFormat`), plus `auto`.
        Some(name) => Some(nigehban_ingest::parse_format_word(name).map_err(|error| {
            ApiError::bad_request(format!(
                "unknown format {name:?}: use auto, {}",
                error.expected
            ))
            .with_field("format")
        })?),
    };
    let idempotency_key = idempotency_key(&parts.headers)?;
    let content_encoding = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .map(|value| {
            value
                .to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::bad_request("Content-Encoding is not text"))
        })
        .transpose()?;
    let limit = state.options.max_ingest_body_bytes;
    let bytes = Bytes::from_request(Request::from_parts(parts, body), &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(limit)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
    let stamp = nigehban_node::stamp_of(&identity.sensor);
    let outcome = telemetry
        .intake
        .ingest_http(
            &stamp,
            HttpIngest {
                body: bytes,
                content_encoding,
                format,
                log_name: query.log,
                source_address: remote,
                idempotency_key,
            },
        )
        .await
        .map_err(intake_error)?;
    Ok((StatusCode::ACCEPTED, axum::Json(outcome.into())))
}

/// The sensor ingest token of `Authorization: Bearer <token>`.
fn sensor_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::unauthenticated(
            "send the sensor's ingest token as `Authorization: Bearer ngs_...`",
        )
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let text = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

/// The `Idempotency-Key` header, if sent: 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters"
        ))
        .with_field("Idempotency-Key")
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text.is_empty()
        || text.len() > MAX_IDEMPOTENCY_KEY_BYTES
        || !text.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(text.to_owned()))
}

/// How a refused request is answered.
fn intake_error(error: IntakeError) -> ApiError {
    let message = error.to_string();
    match error.class() {
        IntakeErrorClass::Invalid => ApiError::bad_request(message),
        IntakeErrorClass::TooLarge => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
        }
        IntakeErrorClass::UnsupportedEncoding => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            message,
        ),
        IntakeErrorClass::Unavailable => {
            let retry = error.retry_after().map_or(5, |d| d.as_secs().max(1));
            if matches!(error, IntakeError::Internal(_)) {
                tracing::error!(%error, "http intake failed");
            } else {
                tracing::warn!(%error, "http intake refused a request for now");
            }
            ApiError::unavailable(message).with_retry_after(retry)
        }
    }
}
