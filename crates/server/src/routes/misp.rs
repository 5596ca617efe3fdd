//! MISP exchange: importing MISP events into a tenant's indicators, and the
//! MISP feed (`manifest.json`, `<event-uuid>.json`, `hashes.csv`) a MISP
//! instance pulls with an API token. What a feed holds is the app's
//! decision (the indicators the caller may read, by the one policy); the
//! MISP JSON is the `nigehban-misp` codec's.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::misp::{self as codec, AttributeAt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::paging::parse_tenant_param;

/// The largest MISP import body: a feed's events in one document.
pub(crate) const MAX_MISP_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The MISP routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(import_misp))
        .routes(routes!(feed_manifest))
        .routes(routes!(feed_hashes))
        .routes(routes!(feed_event))
}

/// For whom to import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MispImportQuery {
    /// The tenant whose indicators they become (default: the caller's; one it may publish for).
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
}

/// An event read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MispEventView {
    /// Its uuid (`#<position>` when it has none).
    pub uuid: String,
    /// Its `info`.
    pub info: String,
    /// Its creator organisation.
    pub org: String,
    /// Its attributes, objects' included.
    pub attributes: usize,
}

/// An attribute not taken (or taken with a remark), or an indicator refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct MispAttributeReport {
    /// The event's uuid.
    pub event: String,
    /// Where in the event: `attribute 3`, `object 1 (file), attribute 0`.
    pub attribute: String,
    /// The attribute's MISP type.
    #[serde(rename = "type")]
    pub attribute_type: String,
    /// Its value (shortened).
    pub value: String,
    /// `unsupported`, `not_for_detection`, `deleted`, `bad_value`,
    /// `duplicate`, `tags_left_out`; for refused indicators `refused`.
    pub outcome: String,
    /// In words.
    pub reason: String,
}

/// A value left out as known-benign.
#[derive(Debug, Serialize, ToSchema)]
pub struct MispBenignView {
    /// The indicator kind.
    pub kind: String,
    /// The value.
    pub value: String,
    /// The MISP warninglist that names it.
    pub warninglist: String,
}

/// What a MISP import did, per attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct MispImportReport {
    /// The events read.
    pub events: Vec<MispEventView>,
    /// How many attributes they hold.
    pub attributes: usize,
    /// How many indicators were read from them.
    pub indicators: usize,
    /// The ids of new indicators.
    pub created: Vec<String>,
    /// The ids of indicators the tenant held already, now as the import says.
    pub updated: Vec<String>,
    /// Values left out as known-benign.
    pub benign: Vec<MispBenignView>,
    /// Indicators refused (bad field) and attributes not taken, each with its place.
    pub attributes_not_taken: Vec<MispAttributeReport>,
}

fn outcome_word(problem: &codec::AttributeProblem) -> &'static str {
    use codec::AttributeProblem as P;
    match problem {
        P::Unsupported => "unsupported",
        P::NotForDetection => "not_for_detection",
        P::Deleted => "deleted",
        P::BadValue(_) => "bad_value",
        P::Duplicate => "duplicate",
        P::TagsLeftOut(_) => "tags_left_out",
    }
}

fn place(at: &AttributeAt) -> String {
    at.to_string()
}

/// Import MISP events for a tenant: `{"Event": {...}}`, a bare event, a
/// list of either (a feed's events), or a MISP API answer
/// `{"response": [...]}`. Attributes of our indicator kinds become the
/// tenant's indicators (labels from `tlp:`/`PAP:` tags, else distribution);
/// every other attribute is reported with its event and position.
#[utoipa::path(
    post,
    path = "/api/v1/intel/misp",
    tag = "intel",
    params(MispImportQuery),
    request_body(content = Object, description = "MISP event JSON (one event, a list, or {\"response\": [...]})", content_type = "application/json"),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "What became of every attribute", body = MispImportReport),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not publish for that tenant", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 422, description = "Not MISP event JSON (the error names the item), or a bad tenant", body = ErrorBody),
    )
)]
async fn import_misp(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<MispImportQuery>,
    request: Request,
) -> Result<axum::Json<MispImportReport>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let bytes = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(MAX_MISP_BODY_BYTES)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
    let imported = state
        .app
        .intel()
        .import_misp(&who.caller, tenant, &bytes)
        .await?;
    let read = &imported.read;
    let mut not_taken: Vec<MispAttributeReport> = imported
        .outcome
        .refused
        .iter()
        .filter_map(|(position, reason)| {
            let indicator = read.indicators.get(*position)?;
            Some(MispAttributeReport {
                event: indicator.event_uuid.clone(),
                attribute: place(&indicator.at),
                attribute_type: indicator.attribute_type.clone(),
                value: indicator.value.value().to_owned(),
                outcome: "refused".into(),
                reason: reason.clone(),
            })
        })
        .collect();
    not_taken.extend(read.notes.iter().map(|note| MispAttributeReport {
        event: note.event.clone(),
        attribute: place(&note.at),
        attribute_type: note.attribute_type.clone(),
        value: note.value.clone(),
        outcome: outcome_word(&note.problem).into(),
        reason: note.problem.to_string(),
    }));
    Ok(axum::Json(MispImportReport {
        events: read
            .events
            .iter()
            .map(|e| MispEventView {
                uuid: e.uuid.clone(),
                info: e.info.clone(),
                org: e.org.clone(),
                attributes: e.attributes,
            })
            .collect(),
        attributes: read.attributes(),
        indicators: read.indicators.len(),
        created: imported
            .outcome
            .created
            .iter()
            .map(ToString::to_string)
            .collect(),
        updated: imported
            .outcome
            .updated
            .iter()
            .map(ToString::to_string)
            .collect(),
        benign: imported
            .outcome
            .benign
            .iter()
            .map(|(value, list)| MispBenignView {
                kind: value.kind().as_str().to_owned(),
                value: value.value().to_owned(),
                warninglist: list.clone(),
            })
            .collect(),
        attributes_not_taken: not_taken,
    }))
}

fn json_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The caller's MISP feed: its manifest (event uuid → creator organisation,
/// tags, info, date, timestamp). The feed holds exactly the indicators in
/// force the caller may read — its custody's and what TLP shares with it —
/// one event per publishing tenant, source and TLP label. A MISP instance
/// adds it as a feed of format "MISP Feed" with the URL
/// `<server>/api/v1/intel/misp-feed` and the header
/// `Authorization: Bearer <API token>`.
#[utoipa::path(
    get,
    path = "/api/v1/intel/misp-feed/manifest.json",
    tag = "intel",
    security(("api_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The feed's manifest", body = Object, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role does not read intelligence", body = ErrorBody),
    )
)]
async fn feed_manifest(
    State(state): State<ServerState>,
    who: Authenticated,
) -> Result<Response, ApiError> {
    let events = state.app.intel().misp_feed(&who.caller).await?;
    Ok(json_response(codec::manifest(&events).to_string()))
}

/// The caller's MISP feed: `hashes.csv`, `<md5 of a value>,<event uuid>` per attribute.
#[utoipa::path(
    get,
    path = "/api/v1/intel/misp-feed/hashes.csv",
    tag = "intel",
    security(("api_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One line per attribute", body = String, content_type = "text/csv"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role does not read intelligence", body = ErrorBody),
    )
)]
async fn feed_hashes(
    State(state): State<ServerState>,
    who: Authenticated,
) -> Result<Response, ApiError> {
    let events = state.app.intel().misp_feed(&who.caller).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        codec::hashes_csv(&events),
    )
        .into_response())
}

/// The file name in a feed event's path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FeedEventPath {
    /// `<event uuid>.json`, as the manifest names the event.
    pub event: String,
}

/// One event of the caller's MISP feed (`{"Event": {...}}`), with the
/// indicators of it the caller may read; "not found" when it holds none.
#[utoipa::path(
    get,
    path = "/api/v1/intel/misp-feed/{event}",
    tag = "intel",
    params(FeedEventPath),
    security(("api_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The event", body = Object, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role does not read intelligence", body = ErrorBody),
        (status = 404, description = "No such event in the caller's feed", body = ErrorBody),
    )
)]
async fn feed_event(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<FeedEventPath>,
) -> Result<Response, ApiError> {
    let events = state.app.intel().misp_feed(&who.caller).await?;
    let wanted = path
        .event
        .strip_suffix(".json")
        .map(str::to_ascii_lowercase);
    let event = wanted
        .and_then(|uuid| events.iter().find(|e| e.uuid.to_string() == uuid))
        .ok_or_else(|| ApiError::not_found("MISP feed event"))?;
    Ok(json_response(event.to_json().to_string()))
}
