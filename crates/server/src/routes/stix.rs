//! STIX 2.1 exchange over the API: importing a bundle for a tenant (every
//! object kept, indicator patterns made indicators, a report per object)
//! and exporting what the caller may read as one bundle. The same app
//! functions serve `nigehban intel import|export`; who may do what, and
//! what an export holds, is the app's one policy; the STIX JSON is the
//! `nigehban-stix` codec's.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::model::{Pap, Tlp};
use nigehban_app::policy::IntelUse;
use nigehban_app::{StixImport, StixObjectFate, StixObjectReport, stix_import_totals};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::paging::parse_tenant_param;

/// The largest STIX import body (as `nigehban intel import` would take a large bundle as a file).
pub(crate) const MAX_STIX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The media type of a STIX 2.1 bundle.
const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// The STIX routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new().routes(routes!(export_stix, import_stix))
}

/// How to import a bundle.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StixImportQuery {
    /// The importing tenant (default: the caller's; one it may publish for).
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// The TLP label of objects with no TLP marking: clear, green, amber, amber+strict, red (default amber).
    pub tlp: Option<String>,
    /// The PAP label of indicators that carry none: clear, green, amber, red (default amber).
    pub pap: Option<String>,
    /// The source of indicators whose creator the bundle does not name (default "STIX import").
    pub source: Option<String>,
}

/// What became of one object of the bundle.
#[derive(Debug, Serialize, ToSchema)]
pub struct StixObjectLine {
    /// Its position in the bundle's `objects`, from 0.
    pub position: usize,
    /// Its id, when it had one.
    pub id: Option<String>,
    /// Its type, when it had one.
    #[serde(rename = "type")]
    pub object_type: Option<String>,
    /// Whether this version was new to the tenant.
    pub new: bool,
    /// `kept`, `indicators` (kept, and its pattern became indicators),
    /// `unsupported` (kept; its pattern gives no indicator) or `refused` (not kept).
    pub outcome: String,
    /// Why, for `unsupported` and `refused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `indicators`: new indicators.
    pub indicators_created: usize,
    /// For `indicators`: indicators the tenant held already, now as the object says.
    pub indicators_updated: usize,
    /// For `indicators`: values left out as known-benign, with the warninglist.
    pub benign: Vec<String>,
    /// For `indicators`: values refused, with why.
    pub refused: Vec<String>,
    /// For `indicators`: comparisons of the pattern that name no indicator value, with why.
    pub skipped: Vec<String>,
}

impl From<StixObjectReport> for StixObjectLine {
    fn from(line: StixObjectReport) -> Self {
        let mut out = StixObjectLine {
            position: line.position,
            id: line.id,
            object_type: line.object_type,
            new: line.new,
            outcome: String::new(),
            reason: None,
            indicators_created: 0,
            indicators_updated: 0,
            benign: Vec::new(),
            refused: Vec::new(),
            skipped: Vec::new(),
        };
        match line.fate {
            StixObjectFate::Kept => out.outcome = "kept".into(),
            StixObjectFate::Indicators {
                created,
                updated,
                benign,
                refused,
                skipped,
            } => {
                out.outcome = "indicators".into();
                out.indicators_created = created;
                out.indicators_updated = updated;
                out.benign = benign;
                out.refused = refused;
                out.skipped = skipped;
            }
            StixObjectFate::Unsupported(why) => {
                out.outcome = "unsupported".into();
                out.reason = Some(why);
            }
            StixObjectFate::Refused(why) => {
                out.outcome = "refused".into();
                out.reason = Some(why);
            }
        }
        out
    }
}

/// What a STIX import did, object by object.
#[derive(Debug, Serialize, ToSchema)]
pub struct StixImportReport {
    /// Objects kept (new or held already).
    pub kept: usize,
    /// Of those, versions new to the tenant.
    pub new: usize,
    /// Indicators made.
    pub indicators_created: usize,
    /// Indicators changed.
    pub indicators_updated: usize,
    /// Indicator objects whose pattern gave no indicator.
    pub unsupported: usize,
    /// Objects refused.
    pub refused: usize,
    /// Every object of the bundle, in bundle order.
    pub objects: Vec<StixObjectLine>,
}

fn label<T: std::str::FromStr>(text: Option<&str>, field: &str, default: T) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    match text {
        Some(text) => text
            .parse()
            .map_err(|e: T::Err| ApiError::invalid_value(e.to_string()).with_field(field)),
        None => Ok(default),
    }
}

/// Import a STIX 2.1 bundle (or one STIX object) for a tenant. Every
/// object is kept for the tenant, labelled with the TLP of its markings;
/// indicator objects whose patterns name indicator values also become the
/// tenant's indicators (warninglists apply). The answer says what became
/// of each object; unsupported pattern features are reported per object,
/// never dropped silently.
#[utoipa::path(
    post,
    path = "/api/v1/intel/stix",
    tag = "intel",
    params(StixImportQuery),
    request_body(content = Object, description = "A STIX 2.1 bundle, or one STIX object", content_type = "application/json"),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "What became of every object", body = StixImportReport),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not publish for that tenant", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 422, description = "Not STIX 2.1 JSON (the error says why), or a bad tenant, tlp or pap", body = ErrorBody),
    )
)]
async fn import_stix(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<StixImportQuery>,
    request: Request,
) -> Result<axum::Json<StixImportReport>, ApiError> {
    let options = StixImport {
        tenant: parse_tenant_param(query.tenant.as_deref(), "tenant")?,
        default_tlp: label(query.tlp.as_deref(), "tlp", Tlp::Amber)?,
        default_pap: label(query.pap.as_deref(), "pap", Pap::Amber)?,
        source: query.source.unwrap_or_else(|| "STIX import".into()),
    };
    let bytes = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(MAX_STIX_BODY_BYTES)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
    let report = state
        .app
        .intel()
        .import_stix_document(&who.caller, &options, &bytes)
        .await?;
    let totals = stix_import_totals(&report);
    Ok(axum::Json(StixImportReport {
        kept: totals.kept,
        new: totals.new,
        indicators_created: totals.indicators_created,
        indicators_updated: totals.indicators_updated,
        unsupported: totals.unsupported,
        refused: totals.refused,
        objects: report.into_iter().map(StixObjectLine::from).collect(),
    }))
}

/// What to export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StixExportQuery {
    /// Only what tenants at or below this one published (one in the caller's subtree).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
}

/// Export, as one STIX 2.1 bundle, what the caller may read: the
/// indicators its custody holds and TLP shares with it, the STIX objects
/// stored for them, the sightings it may see, the TLP 2.0 marking
/// definitions and the identities of sources — for exchange with a party
/// TLP allows (the same export as `nigehban intel export --format stix`).
#[utoipa::path(
    get,
    path = "/api/v1/intel/stix",
    tag = "intel",
    params(StixExportQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "A STIX 2.1 bundle", body = Object, content_type = "application/stix+json;version=2.1"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role does not read intelligence (there)", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad `under`", body = ErrorBody),
    )
)]
async fn export_stix(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<StixExportQuery>,
) -> Result<Response, ApiError> {
    let under = parse_tenant_param(query.under.as_deref(), "under")?;
    // A reader takes the bundle to a partner: exchange, not an automated block list.
    let exported = state
        .app
        .intel()
        .export_stix(&who.caller, under, IntelUse::Exchange)
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(STIX_MEDIA_TYPE),
        )],
        exported.bundle.to_string(),
    )
        .into_response())
}
