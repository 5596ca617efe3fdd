//! Incident reports from constituents: file, list, read, attach files, triage.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use nigehban_app::incidents::{NewReport, Triage};
use nigehban_app::model::{
    IncidentReportId, IncidentSeverity, Observable, Pap, RsitClass, TenantId, Timestamp, Tlp,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::evidence::{UploadQuery, read_upload};
use super::views::{EvidenceList, EvidenceView, IncidentView, ReportPage, ReportView, TriageView};
use super::{default_pap, default_tlp, evidence_list, incident_ref};
use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::ListQuery;

/// The report routes.
pub fn routes(evidence_body_limit: usize) -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, file_report))
        .routes(routes!(get_report))
        .routes(routes!(triage_report))
        .routes(routes!(report_attachments))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(attach_to_report))
                .layer(DefaultBodyLimit::max(evidence_body_limit)),
        )
}

/// A report to file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReportRequest {
    /// The reporting organisation (default the caller's; a CERT may report for one below it).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// What happened, in one line.
    pub title: String,
    /// In detail (observables in it are extracted, defanged ones too).
    #[serde(default)]
    pub description: String,
    /// When the organisation noticed it: every regulatory deadline counts from here.
    #[schema(value_type = String, format = DateTime)]
    pub noticed_at: Timestamp,
    /// When it happened, if known.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub occurred_at: Option<Timestamp>,
    /// The affected systems, in your words.
    #[serde(default)]
    pub affected_systems: Vec<String>,
    /// Observables (`{"kind": "domain", "value": "..."}`).
    #[schema(value_type = Vec<Object>)]
    #[serde(default)]
    pub observables: Vec<Observable>,
    /// How far it may be shared: clear, green, amber (default), amber+strict, red.
    #[schema(value_type = Option<String>)]
    #[serde(default = "default_tlp")]
    pub tlp: Tlp,
}

/// File an incident report (constituent reporters for their organisation; CERT analysts for one below).
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "incidents",
    request_body = FileReportRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Filed: the CERTs above see it at once", body = ReportView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not report for that tenant", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn file_report(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<FileReportRequest>,
) -> Result<(StatusCode, axum::Json<ReportView>), ApiError> {
    let report = state
        .app
        .incidents()
        .file_report(
            &who.caller,
            NewReport {
                tenant: request.tenant,
                title: request.title,
                description: request.description,
                noticed_at: request.noticed_at,
                occurred_at: request.occurred_at,
                affected_systems: request.affected_systems,
                observables: request.observables,
                tlp: request.tlp,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(report.into())))
}

/// The reports of the caller's tenant (or `under`) and the tenants below it, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "incidents",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of reports", body = ReportPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_reports(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<ReportPage>, ApiError> {
    let page = state
        .app
        .incidents()
        .reports(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(ReportPage {
        items: page.items.into_iter().map(ReportView::from).collect(),
        next_cursor: page.next.map(|c| c.as_str().to_owned()),
    }))
}

/// A report named in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReportPath {
    /// The report's id.
    #[param(value_type = String, format = Uuid)]
    pub id: IncidentReportId,
}

/// One report: its organisation and the CERTs above see it (with what became of it).
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    tag = "incidents",
    params(ReportPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The report", body = ReportView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such report that the caller may see", body = ErrorBody),
    )
)]
async fn get_report(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<ReportPath>,
) -> Result<axum::Json<ReportView>, ApiError> {
    let report = state.app.incidents().report(&who.caller, path.id).await?;
    Ok(axum::Json(report.into()))
}

/// What the CERT makes of a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriageRequest {
    /// Open a new incident for it, owned by the caller's tenant.
    NewIncident {
        /// The incident's title (default the report's).
        #[serde(default)]
        title: Option<String>,
        /// Its RSIT class and type.
        #[schema(value_type = Object)]
        classification: RsitClass,
        /// low, medium, high, critical.
        #[schema(value_type = String)]
        severity: IncidentSeverity,
        /// Its TLP (default the report's, never below it).
        #[schema(value_type = Option<String>)]
        #[serde(default)]
        tlp: Option<Tlp>,
        /// Its PAP (default amber).
        #[schema(value_type = Option<String>)]
        #[serde(default = "default_pap")]
        pap: Pap,
        /// A regulatory profile (default the one for the reporter's sector).
        #[serde(default)]
        regulatory_profile: Option<String>,
    },
    /// Add it to an existing incident the caller's tenant handles.
    Existing {
        /// The incident's id or readable id.
        incident: String,
    },
    /// Reject it with a reason the reporter sees.
    Reject {
        /// Why.
        reason: String,
    },
}

/// Triage a report (a CERT above the reporting organisation): into a new or an existing incident, or reject it.
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/triage",
    tag = "incidents",
    params(ReportPath),
    request_body = TriageRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The report and the incident it became", body = TriageView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not triage this report (e.g. its own organisation's)", body = ErrorBody),
        (status = 404, description = "No such report (or incident) that the caller may see", body = ErrorBody),
        (status = 409, description = "Already triaged or rejected", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn triage_report(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<ReportPath>,
    ApiJson(request): ApiJson<TriageRequest>,
) -> Result<axum::Json<TriageView>, ApiError> {
    let triage = match request {
        TriageRequest::NewIncident {
            title,
            classification,
            severity,
            tlp,
            pap,
            regulatory_profile,
        } => Triage::NewIncident {
            title,
            classification,
            severity,
            tlp,
            pap,
            regulatory_profile,
        },
        TriageRequest::Existing { incident } => {
            Triage::Existing(incident_ref(&incident).map_err(|e| e.with_field("incident"))?)
        }
        TriageRequest::Reject { reason } => Triage::Reject { reason },
    };
    let outcome = state
        .app
        .incidents()
        .triage_report(&who.caller, path.id, triage)
        .await?;
    let now = state.app.clock().now();
    Ok(axum::Json(TriageView {
        report: outcome.report.into(),
        incident: outcome.incident.map(|sight| IncidentView::of(sight, now)),
    }))
}

/// Attach a file to a report not yet triaged (the body is the file; `Content-Type` its media type).
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/attachments",
    tag = "incidents",
    params(ReportPath, UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, with its media type as Content-Type"),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Stored under its SHA-256", body = EvidenceView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not add to this report", body = ErrorBody),
        (status = 404, description = "No such report that the caller may see", body = ErrorBody),
        (status = 409, description = "The report was already triaged", body = ErrorBody),
        (status = 413, description = "Larger than the evidence size limit", body = ErrorBody),
        (status = 422, description = "Empty, a bad file name, or content that is not its declared type", body = ErrorBody),
    )
)]
async fn attach_to_report(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<ReportPath>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, axum::Json<EvidenceView>), ApiError> {
    let new = read_upload(&state, query, &headers, body)?;
    let item = state
        .app
        .incidents()
        .attach_to_report(&who.caller, path.id, new)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(item.into())))
}

/// A report's attachments.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/attachments",
    tag = "incidents",
    params(ReportPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The attachments' records", body = EvidenceList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such report that the caller may see", body = ErrorBody),
    )
)]
async fn report_attachments(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<ReportPath>,
) -> Result<axum::Json<EvidenceList>, ApiError> {
    let items = state
        .app
        .incidents()
        .evidence_of_report(&who.caller, path.id)
        .await?;
    Ok(evidence_list(items))
}
