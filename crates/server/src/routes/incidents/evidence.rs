//! Evidence over HTTP: upload (the body is the file), records, download with
//! its SHA-256 checked, chain of custody.
//!
//! Downloads are never rendered: `application/octet-stream`,
//! `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`,
//! `Cache-Control: no-store`, and the content's SHA-256 in `X-Evidence-SHA256`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::incidents::NewEvidence;
use nigehban_app::model::EvidenceId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{EvidenceList, EvidenceView};
use super::{IncidentPath, evidence_list, incident_ref};
use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};

/// The evidence routes; uploads read bodies of up to `evidence_body_limit` bytes.
pub fn routes(evidence_body_limit: usize) -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(incident_evidence))
        .routes(routes!(get_evidence))
        .routes(routes!(download_evidence))
        .routes(routes!(custody))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_evidence))
                .layer(DefaultBodyLimit::max(evidence_body_limit)),
        )
}

/// How an uploaded file is named and described.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (only its last path component is kept; never used as a path).
    pub filename: String,
    /// What it is.
    pub description: Option<String>,
}

/// Reads an upload: the body is the file, `Content-Type` its declared media type.
pub(crate) fn read_upload(
    state: &ServerState,
    query: UploadQuery,
    headers: &HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<NewEvidence, ApiError> {
    let limit = state.app.settings().incidents.evidence_max_bytes;
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::body_too_large(limit)
        } else {
            ApiError::bad_request("the request body could not be read")
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    Ok(NewEvidence {
        filename: query.filename,
        content_type,
        description: query.description.unwrap_or_default(),
        content: bytes.to_vec(),
    })
}

/// Attach a file to an incident (its custody); the body is the file, `Content-Type` its media type.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/evidence",
    tag = "incidents",
    params(IncidentPath, UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, with its media type as Content-Type"),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Stored under its SHA-256", body = EvidenceView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 413, description = "Larger than the evidence size limit", body = ErrorBody),
        (status = 422, description = "Empty, a bad file name, or content that is not its declared type", body = ErrorBody),
    )
)]
async fn upload_evidence(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<EvidenceView>), ApiError> {
    let new = read_upload(&state, query, &headers, body)?;
    let item = state
        .app
        .incidents()
        .upload_evidence(&who.caller, &incident_ref(&path.id)?, new)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(item.into())))
}

/// The incident's evidence records (its custody and earlier owners).
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/evidence",
    tag = "incidents",
    params(IncidentPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The records, oldest first", body = EvidenceList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Evidence is for the custody and earlier owners", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
    )
)]
async fn incident_evidence(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
) -> Result<axum::Json<EvidenceList>, ApiError> {
    let items = state
        .app
        .incidents()
        .evidence_of_incident(&who.caller, &incident_ref(&path.id)?)
        .await?;
    Ok(evidence_list(items))
}

/// An evidence file named in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EvidencePath {
    /// The evidence's id.
    #[param(value_type = String, format = Uuid)]
    pub id: EvidenceId,
}

/// One evidence record (never the content).
#[utoipa::path(
    get,
    path = "/api/v1/evidence/{id}",
    tag = "incidents",
    params(EvidencePath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The record", body = EvidenceView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such evidence that the caller may see", body = ErrorBody),
    )
)]
async fn get_evidence(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<EvidencePath>,
) -> Result<axum::Json<EvidenceView>, ApiError> {
    let item = state.app.incidents().evidence(&who.caller, path.id).await?;
    Ok(axum::Json(item.into()))
}

/// `filename="..."` safe for a header (ASCII, no quotes), and `filename*=` with the exact name.
fn disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Download an evidence file: its SHA-256 is checked first (altered or missing content is refused and audited); every download is audited.
#[utoipa::path(
    get,
    path = "/api/v1/evidence/{id}/content",
    tag = "incidents",
    params(EvidencePath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The file, exactly as uploaded, as an attachment (application/octet-stream)", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such evidence that the caller may see", body = ErrorBody),
        (status = 500, description = "`integrity_failure`: the stored content no longer matches its SHA-256", body = ErrorBody),
    )
)]
async fn download_evidence(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<EvidencePath>,
) -> Result<Response, ApiError> {
    let download = state
        .app
        .incidents()
        .download_evidence(&who.caller, path.id)
        .await?;
    let digest = HeaderValue::from_str(&download.evidence.sha256.to_hex())
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CONTENT_DISPOSITION,
                disposition(download.evidence.filename.as_str()),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::HeaderName::from_static("x-evidence-sha256"), digest),
        ],
        download.content,
    )
        .into_response())
}

/// The evidence file's chain of custody: its record and every audit entry about it, with their hashes (the export is audited).
#[utoipa::path(
    get,
    path = "/api/v1/evidence/{id}/custody",
    tag = "incidents",
    params(EvidencePath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The chain of custody (`evidence`, `entries`, `exported_at`, `exported_by`)", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such evidence that the caller may see", body = ErrorBody),
    )
)]
async fn custody(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<EvidencePath>,
) -> Result<axum::Json<nigehban_app::incidents::CustodyRecord>, ApiError> {
    Ok(axum::Json(
        state.app.incidents().custody(&who.caller, path.id).await?,
    ))
}
