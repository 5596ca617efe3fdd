//! Incidents and their coordination over HTTP: reports from constituents
//! and their triage, incidents (workflow, assignee, observables, notes,
//! timeline, escalation, tasks, links, merges, regulatory stages), evidence
//! (upload, download with its SHA-256 checked, chain of custody), the
//! notifications deadlines raise, response-time figures and export.
//!
//! Who sees and does what is the app's policy; this module only reads
//! requests and writes answers. Incidents are named in paths by id or by
//! readable id (`/api/v1/incidents/PK-2026-000123`).

mod evidence;
mod reports;
pub mod views;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::incidents::{MetricsGrouping, MetricsQuery, render_summary};
use nigehban_app::model::{
    AlertId, IncidentResolution, IncidentSeverity, IncidentStatus, IncidentTaskId, Observable, Pap,
    RsitClass, TaskKind, TaskStatus, TenantId, Timestamp, Tlp, UserId,
};
use nigehban_app::{
    IncidentListing, IncidentRef, IncidentUpdate, NewTask, NoteAudience, OpenIncident,
    StatusChange, TaskUpdate,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{ListQuery, page_request, parse_tenant_param};
use views::{
    EvidenceList, IncidentPage, IncidentView, MetricsView, NotificationPage, NotificationView,
    ObservableView, SimilarIncidentList, SimilarIncidentView, TaskList, TaskSightView,
    TimelineEntryView, TimelineView,
};

/// The incident routes; evidence uploads read bodies of up to `evidence_body_limit` bytes.
pub fn routes(evidence_body_limit: usize) -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .merge(reports::routes(evidence_body_limit))
        .merge(evidence::routes(evidence_body_limit))
        .routes(routes!(list_incidents, open_incident))
        .routes(routes!(get_incident, update_incident))
        .routes(routes!(set_status))
        .routes(routes!(assign))
        .routes(routes!(add_observables))
        .routes(routes!(add_note))
        .routes(routes!(timeline))
        .routes(routes!(escalate))
        .routes(routes!(give_task))
        .routes(routes!(update_task))
        .routes(routes!(list_tasks))
        .routes(routes!(relate))
        .routes(routes!(merge))
        .routes(routes!(link_alerts))
        .routes(routes!(similar_incidents))
        .routes(routes!(submit_stage))
        .routes(routes!(export))
        .routes(routes!(list_notifications))
        .routes(routes!(incident_metrics))
        .routes(routes!(regulatory_profiles))
}

/// An incident named in a path: its id or its readable id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IncidentPath {
    /// The incident's id (a UUID) or readable id (e.g. `PK-2026-000123`).
    pub id: String,
}

/// Reads an incident reference from a path.
pub(crate) fn incident_ref(text: &str) -> Result<IncidentRef, ApiError> {
    text.parse::<IncidentRef>()
        .map_err(|error| ApiError::from(error).with_field("id"))
}

/// Now, as the platform's clock says.
fn now(state: &ServerState) -> Timestamp {
    state.app.clock().now()
}

fn view(state: &ServerState, sight: nigehban_app::IncidentSight) -> axum::Json<IncidentView> {
    axum::Json(IncidentView::of(sight, now(state)))
}

/// Which incidents to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentListQuery {
    /// Incidents with a stakeholder in this tenant's subtree (default the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Only in this status.
    #[param(value_type = Option<String>)]
    pub status: Option<IncidentStatus>,
    /// `true`: only open ones.
    pub open: Option<bool>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many incidents at most are looked at (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The incidents the caller sees, newest first, each as much as it may see.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    params(IncidentListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of incidents", body = IncidentPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `status`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_incidents(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<IncidentListQuery>,
) -> Result<axum::Json<IncidentPage>, ApiError> {
    let listing = IncidentListing {
        under: parse_tenant_param(query.under.as_deref(), "under")?,
        status: query.status,
        open_only: query.open.unwrap_or(false),
    };
    let page = page_request(query.cursor.as_deref(), query.limit.as_deref())?;
    let listed = state
        .app
        .incidents()
        .list(&who.caller, listing, &page)
        .await?;
    let now = now(&state);
    Ok(axum::Json(IncidentPage {
        items: listed
            .items
            .into_iter()
            .map(|sight| IncidentView::of(sight, now))
            .collect(),
        next_cursor: listed.next.map(|c| c.as_str().to_owned()),
    }))
}

fn default_tlp() -> Tlp {
    Tlp::Amber
}

fn default_pap() -> Pap {
    Pap::Amber
}

/// An incident to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenIncidentRequest {
    /// The tenant that handles it: the caller's (default) or one below it.
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub owner: Option<TenantId>,
    /// What happened, in one line.
    pub title: String,
    /// In detail (observables in it are extracted).
    #[serde(default)]
    pub description: String,
    /// Its RSIT class and type, e.g. `{"class": "fraud", "type": "phishing"}`.
    #[schema(value_type = Object)]
    pub classification: RsitClass,
    /// low, medium, high, critical.
    #[schema(value_type = String)]
    pub severity: IncidentSeverity,
    /// clear, green, amber (default), amber+strict, red.
    #[schema(value_type = Option<String>)]
    #[serde(default = "default_tlp")]
    pub tlp: Tlp,
    /// clear, green, amber (default), red.
    #[schema(value_type = Option<String>)]
    #[serde(default = "default_pap")]
    pub pap: Pap,
    /// When the affected organisation became aware (default now).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub aware_at: Option<Timestamp>,
    /// Affected organisations (tenants in the caller's subtree).
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub affected_tenants: Vec<TenantId>,
    /// Observables (`{"kind": "ipv4", "value": "..."}`; kind `hash` picks the algorithm).
    #[schema(value_type = Vec<Object>)]
    #[serde(default)]
    pub observables: Vec<Observable>,
    /// A regulatory profile (default: the one for the owner's sector).
    #[serde(default)]
    pub regulatory_profile: Option<String>,
    /// Alerts to open it from (ids; at most 500): each must be one the
    /// caller may see and triage, of the owner or a tenant below it, linked
    /// to no other incident. Their observables become the incident's.
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub alerts: Vec<AlertId>,
}

/// Open an incident (analysts, responders, duty officers), from alerts if given.
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "incidents",
    request_body = OpenIncidentRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Opened, with its readable id", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not open incidents there", body = ErrorBody),
        (status = 404, description = "The owner, an affected tenant or an alert is not one the caller may see", body = ErrorBody),
        (status = 409, description = "An alert is already linked to another incident", body = ErrorBody),
        (status = 422, description = "A bad field (an unknown RSIT class lists the valid ones; an exercise alert)", body = ErrorBody),
    )
)]
async fn open_incident(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<OpenIncidentRequest>,
) -> Result<(StatusCode, axum::Json<IncidentView>), ApiError> {
    let sight = state
        .app
        .incidents()
        .open(
            &who.caller,
            OpenIncident {
                owner: request.owner,
                title: request.title,
                description: request.description,
                classification: request.classification,
                severity: request.severity,
                tlp: request.tlp,
                pap: request.pap,
                aware_at: request.aware_at,
                affected_tenants: request.affected_tenants,
                observables: request.observables,
                regulatory_profile: request.regulatory_profile,
                alerts: request.alerts,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, view(&state, sight)))
}

/// One incident, as much of it as the caller may see (reads at TLP:AMBER and above are audited).
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(IncidentPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "Neither an id nor a readable id", body = ErrorBody),
    )
)]
async fn get_incident(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .get(&who.caller, &incident_ref(&path.id)?)
        .await?;
    Ok(view(&state, sight))
}

/// A change to an incident's fields: absent fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncidentRequest {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// A new classification.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub classification: Option<RsitClass>,
    /// A new severity.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub severity: Option<IncidentSeverity>,
    /// A new TLP (never below a report's).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// A new PAP.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub pap: Option<Pap>,
    /// New affected organisations.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub affected_tenants: Option<Vec<TenantId>>,
    /// A regulatory profile (only while no stage was submitted).
    #[serde(default)]
    pub regulatory_profile: Option<String>,
}

/// Change an incident's fields (its custody).
#[utoipa::path(
    patch,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(IncidentPath),
    request_body = UpdateIncidentRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident as changed", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody, or a role that may not work incidents", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 409, description = "Changed by someone else meanwhile, or a stage already submitted", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn update_incident(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<UpdateIncidentRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .update(
            &who.caller,
            &incident_ref(&path.id)?,
            IncidentUpdate {
                title: request.title,
                description: request.description,
                classification: request.classification,
                severity: request.severity,
                tlp: request.tlp,
                pap: request.pap,
                affected_tenants: request.affected_tenants,
                regulatory_profile: request.regulatory_profile,
            },
        )
        .await?;
    Ok(view(&state, sight))
}

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The new status: the next in the workflow, `closed`, or `in_progress` to reopen a closed one.
    #[schema(value_type = String)]
    pub status: IncidentStatus,
    /// Why it is closed (closing only): resolved (default), false_positive, duplicate, out_of_scope.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub resolution: Option<IncidentResolution>,
    /// Why, for the timeline.
    #[serde(default)]
    pub note: Option<String>,
}

/// Move an incident along its workflow (its custody); a forbidden transition is refused with the allowed ones.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/status",
    tag = "incidents",
    params(IncidentPath),
    request_body = StatusRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident in its new status", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "A transition the workflow forbids (the answer names the allowed ones)", body = ErrorBody),
    )
)]
async fn set_status(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .set_status(
            &who.caller,
            &incident_ref(&path.id)?,
            StatusChange {
                status: request.status,
                resolution: request.resolution,
                note: request.note,
            },
        )
        .await?;
    Ok(view(&state, sight))
}

/// Who handles the incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A user of the incident's custody who may work incidents; null to unassign.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee: Option<UserId>,
}

/// Assign the incident to a person of its custody, or unassign it.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/assign",
    tag = "incidents",
    params(IncidentPath),
    request_body = AssignRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident as assigned", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident or user that the caller may see", body = ErrorBody),
        (status = 422, description = "The user may not own this incident", body = ErrorBody),
    )
)]
async fn assign(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .assign(&who.caller, &incident_ref(&path.id)?, request.assignee)
        .await?;
    Ok(view(&state, sight))
}

/// Observables to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservablesRequest {
    /// Typed observables.
    #[schema(value_type = Vec<Object>)]
    #[serde(default)]
    pub observables: Vec<Observable>,
    /// Text to find observables in (defanged ones too).
    #[serde(default)]
    pub text: Option<String>,
}

/// Add observables, given or found in text (its custody).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/observables",
    tag = "incidents",
    params(IncidentPath),
    request_body = ObservablesRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident with its observables", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "A bad observable, or none given or found", body = ErrorBody),
    )
)]
async fn add_observables(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<ObservablesRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .add_observables(
            &who.caller,
            &incident_ref(&path.id)?,
            request.observables,
            request.text,
        )
        .await?;
    Ok(view(&state, sight))
}

/// Who may read a note.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteAudienceWord {
    /// The incident's custody (default).
    Custody,
    /// Everyone who sees the incident's details.
    Everyone,
}

/// A note for the timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note.
    pub text: String,
    /// custody (default) or everyone; a participant's note is seen by the custody and its own tenant.
    #[serde(default)]
    pub audience: Option<NoteAudienceWord>,
}

/// Add a note to the timeline (custody, earlier owners, and participants who see the details).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/notes",
    tag = "incidents",
    params(IncidentPath),
    request_body = NoteRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The timeline entry", body = TimelineEntryView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not add notes here", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "An empty or over-long note", body = ErrorBody),
    )
)]
async fn add_note(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<NoteRequest>,
) -> Result<(StatusCode, axum::Json<TimelineEntryView>), ApiError> {
    let audience = match request.audience {
        Some(NoteAudienceWord::Everyone) => NoteAudience::Everyone,
        _ => NoteAudience::Custody,
    };
    let entry = state
        .app
        .incidents()
        .add_note(
            &who.caller,
            &incident_ref(&path.id)?,
            &request.text,
            audience,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(entry.into())))
}

/// The incident's timeline, as far as the caller may see it.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/timeline",
    tag = "incidents",
    params(IncidentPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The entries the caller may see, oldest first", body = TimelineView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
    )
)]
async fn timeline(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
) -> Result<axum::Json<TimelineView>, ApiError> {
    let entries = state
        .app
        .incidents()
        .timeline(&who.caller, &incident_ref(&path.id)?)
        .await?;
    Ok(axum::Json(TimelineView {
        items: entries.into_iter().map(TimelineEntryView::from).collect(),
    }))
}

/// Why the incident is escalated.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// A note for the timeline.
    #[serde(default)]
    pub note: Option<String>,
}

/// Escalate the incident to its owner's parent: the owner moves up, earlier owners keep seeing it.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/escalate",
    tag = "incidents",
    params(IncidentPath),
    request_body = EscalateRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident, now owned by the CERT above", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 409, description = "Closed, or already at the national CERT", body = ErrorBody),
    )
)]
async fn escalate(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<EscalateRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .escalate(&who.caller, &incident_ref(&path.id)?, request.note)
        .await?;
    Ok(view(&state, sight))
}

/// A task to give.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// The tenant that must do it: the caller's own or one below it.
    #[schema(value_type = String, format = Uuid)]
    pub assignee_tenant: TenantId,
    /// The person there who owns it.
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub assignee_user: Option<UserId>,
    /// investigation, countermeasure or other.
    #[schema(value_type = String)]
    pub kind: TaskKind,
    /// What to do, in one line.
    pub title: String,
    /// In detail.
    #[serde(default)]
    pub description: String,
    /// By when.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub due_at: Option<Timestamp>,
}

/// Give a task to the caller's tenant or one below it (a parent tasking a child), as the incident's custody.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/tasks",
    tag = "incidents",
    params(IncidentPath),
    request_body = TaskRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The task", body = TaskSightView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody", body = ErrorBody),
        (status = 404, description = "No such incident, or the assignee is not below the caller", body = ErrorBody),
        (status = 409, description = "The incident is closed", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn give_task(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<TaskRequest>,
) -> Result<(StatusCode, axum::Json<TaskSightView>), ApiError> {
    let task = state
        .app
        .incidents()
        .task(
            &who.caller,
            &incident_ref(&path.id)?,
            NewTask {
                assignee_tenant: request.assignee_tenant,
                assignee_user: request.assignee_user,
                kind: request.kind,
                title: request.title,
                description: request.description,
                due_at: request.due_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(task.into())))
}

/// A task named in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The incident's id or readable id.
    pub id: String,
    /// The task's id.
    #[param(value_type = String, format = Uuid)]
    pub task: IncidentTaskId,
}

/// A change to a task: absent fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdateRequest {
    /// in_progress, done, or (the tasking side) cancelled.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// What was done or found.
    #[serde(default)]
    pub result: Option<String>,
    /// A new owner within the tasked tenant.
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub assignee_user: Option<UserId>,
    /// A new due time (the tasking side).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// A note for the timeline.
    #[serde(default)]
    pub note: Option<String>,
}

/// Report progress on a task (the tasked tenant) or change it (the incident's custody).
#[utoipa::path(
    patch,
    path = "/api/v1/incidents/{id}/tasks/{task}",
    tag = "incidents",
    params(TaskPath),
    request_body = TaskUpdateRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The task as changed", body = TaskSightView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Neither the tasked tenant nor the custody, or a change only the tasking side may make", body = ErrorBody),
        (status = 404, description = "No such task that the caller may see", body = ErrorBody),
        (status = 409, description = "The task is already finished", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn update_task(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TaskPath>,
    ApiJson(request): ApiJson<TaskUpdateRequest>,
) -> Result<axum::Json<TaskSightView>, ApiError> {
    let task = state
        .app
        .incidents()
        .update_task(
            &who.caller,
            &incident_ref(&path.id)?,
            path.task,
            TaskUpdate {
                status: request.status,
                result: request.result,
                assignee_user: request.assignee_user,
                due_at: request.due_at,
                note: request.note,
            },
        )
        .await?;
    Ok(axum::Json(task.into()))
}

/// Whose tasks to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    /// Tasks given to this tenant and those below it (default the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// `true`: finished tasks too.
    pub all: Option<bool>,
}

/// The tasks given to the caller's tenant (or `under`) and the tenants below it: a tasked CERT's inbox.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "incidents",
    params(TasksQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The tasks, newest incident first", body = TaskList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_tasks(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TasksQuery>,
) -> Result<axum::Json<TaskList>, ApiError> {
    let tasks = state
        .app
        .incidents()
        .tasks(
            &who.caller,
            parse_tenant_param(query.under.as_deref(), "under")?,
            query.all.unwrap_or(false),
        )
        .await?;
    Ok(axum::Json(TaskList {
        items: tasks.into_iter().map(TaskSightView::from).collect(),
    }))
}

/// Another incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelateRequest {
    /// Its id or readable id.
    pub incident: String,
}

/// Link two incidents as related (custody of both).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/related",
    tag = "incidents",
    params(IncidentPath),
    request_body = RelateRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident with its related incidents", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the custody of both", body = ErrorBody),
        (status = 404, description = "Either incident is not one the caller may see", body = ErrorBody),
        (status = 409, description = "Already related", body = ErrorBody),
    )
)]
async fn relate(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<RelateRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let other = request
        .incident
        .parse::<IncidentRef>()
        .map_err(|e| ApiError::from(e).with_field("incident"))?;
    let sight = state
        .app
        .incidents()
        .relate(&who.caller, &incident_ref(&path.id)?, &other)
        .await?;
    Ok(view(&state, sight))
}

/// Alerts to link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkAlertsRequest {
    /// Alert ids (at most 500).
    #[schema(value_type = Vec<String>)]
    pub alerts: Vec<AlertId>,
}

/// Link alerts to an incident (its custody): the incident gains their
/// observables (addresses, domains, URLs, hashes, e-mail addresses, CVE ids,
/// user names) and each alert names the incident. Each alert must be one the
/// caller may see and triage, of the incident's owner or a tenant below it,
/// and linked to no other incident.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/alerts",
    tag = "incidents",
    params(IncidentPath),
    request_body = LinkAlertsRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident with its linked alerts and observables", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incident's custody, or an alert outside it", body = ErrorBody),
        (status = 404, description = "The incident or an alert is not one the caller may see", body = ErrorBody),
        (status = 409, description = "The incident is closed, or an alert is linked already", body = ErrorBody),
        (status = 422, description = "No alerts, too many, a bad id, or an exercise alert", body = ErrorBody),
    )
)]
async fn link_alerts(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<LinkAlertsRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .link_alerts(&who.caller, &incident_ref(&path.id)?, &request.alerts)
        .await?;
    Ok(view(&state, sight))
}

/// How many similar incidents.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// At most this many (1 to 100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// Incidents sharing observables with this one, most shared first — only
/// incidents whose details the caller sees, compared on what it sees of both.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/similar",
    tag = "incidents",
    params(IncidentPath, SimilarQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Similar incidents with the observables shared", body = SimilarIncidentList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "Bad `limit`", body = ErrorBody),
    )
)]
async fn similar_incidents(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiQuery(query): ApiQuery<SimilarQuery>,
) -> Result<axum::Json<SimilarIncidentList>, ApiError> {
    let limit = match query.limit.as_deref() {
        None => 20,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=nigehban_app::incidents::MAX_SIMILAR).contains(n))
            .ok_or_else(|| {
                ApiError::from(nigehban_app::AppError::Invalid(format!(
                    "limit: {text:?} is not a number from 1 to {}",
                    nigehban_app::incidents::MAX_SIMILAR
                )))
                .with_field("limit")
            })?,
    };
    let similar = state
        .app
        .incidents()
        .similar(&who.caller, &incident_ref(&path.id)?, limit)
        .await?;
    let now = now(&state);
    Ok(axum::Json(SimilarIncidentList {
        items: similar
            .into_iter()
            .map(|s| SimilarIncidentView {
                shared: s.shared.iter().map(ObservableView::from).collect(),
                incident: IncidentView::of(s.incident, now),
            })
            .collect(),
    }))
}

/// The incident to merge into.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// Its id or readable id.
    pub into: String,
}

/// Merge the incident into another (custody of both): it closes as merged; its reports, reporters, observables and evidence move.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/merge",
    tag = "incidents",
    params(IncidentPath),
    request_body = MergeRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident merged into", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the custody of both", body = ErrorBody),
        (status = 404, description = "Either incident is not one the caller may see", body = ErrorBody),
        (status = 409, description = "Either is closed", body = ErrorBody),
    )
)]
async fn merge(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiJson(request): ApiJson<MergeRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let into = request
        .into
        .parse::<IncidentRef>()
        .map_err(|e| ApiError::from(e).with_field("into"))?;
    let sight = state
        .app
        .incidents()
        .merge(&who.caller, &incident_ref(&path.id)?, &into)
        .await?;
    Ok(view(&state, sight))
}

/// A regulatory stage named in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StagePath {
    /// The incident's id or readable id.
    pub id: String,
    /// The stage's id, e.g. `early_warning`.
    pub stage: String,
}

/// A stage submission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    /// The fields the stage requires (and any others), e.g. `{"suspected_malicious": true}`.
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Submit a regulatory stage with the fields it requires (custody, or the reporting organisation for its own stages).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/deadlines/{stage}",
    tag = "incidents",
    params(StagePath),
    request_body = StageRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The incident with the stage submitted", body = IncidentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not submit this stage", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 409, description = "Already submitted", body = ErrorBody),
        (status = 422, description = "Unknown stage, or required fields missing (named)", body = ErrorBody),
    )
)]
async fn submit_stage(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<StagePath>,
    ApiJson(request): ApiJson<StageRequest>,
) -> Result<axum::Json<IncidentView>, ApiError> {
    let sight = state
        .app
        .incidents()
        .submit_stage(
            &who.caller,
            &incident_ref(&path.id)?,
            &path.stage,
            request.fields,
        )
        .await?;
    Ok(view(&state, sight))
}

/// How to export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default): complete, for another CERT's tool; `markdown`: a readable summary.
    pub format: Option<String>,
}

/// Export the incident as complete JSON or a readable Markdown summary (what the caller sees of it).
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/export",
    tag = "incidents",
    params(IncidentPath, ExportQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The export, as an attachment: `nigehban-incident-export/1` JSON or text/markdown", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "No such incident that the caller may see", body = ErrorBody),
        (status = 422, description = "An unknown format", body = ErrorBody),
    )
)]
async fn export(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IncidentPath>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let markdown = match query.format.as_deref().unwrap_or("json") {
        "json" => false,
        "markdown" | "md" => true,
        other => {
            return Err(ApiError::invalid_value(format!(
                "format: unknown export format {other:?}; expected json or markdown"
            ))
            .with_field("format"));
        }
    };
    let exported = state
        .app
        .incidents()
        .export(&who.caller, &incident_ref(&path.id)?)
        .await?;
    let name = exported.incident.readable_id().to_string();
    let (body, content_type, extension) = if markdown {
        (
            render_summary(&exported).into_bytes(),
            "text/markdown; charset=utf-8",
            "md",
        )
    } else {
        (
            serde_json::to_vec_pretty(&exported).map_err(|error| {
                tracing::error!(%error, "cannot serialise an incident export");
                ApiError::internal()
            })?,
            "application/json",
            "json",
        )
    };
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{extension}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The notifications addressed to the caller's tenant (or `under`) and the tenants below it: regulatory deadlines about to lapse or lapsed.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "incidents",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of notifications, newest first", body = NotificationPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not view incidents", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_notifications(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<NotificationPage>, ApiError> {
    let page = state
        .app
        .incidents()
        .notifications(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(NotificationPage {
        items: page.items.into_iter().map(NotificationView::from).collect(),
        next_cursor: page.next.map(|c| c.as_str().to_owned()),
    }))
}

/// Which figures.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsQueryParams {
    /// For the incidents this tenant's chain handled (default the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Received at or after (RFC 3339; default 30 days before `to`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Received before (RFC 3339; default now).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// tenant, sector (default), rsit_class or severity.
    pub by: Option<String>,
}

fn time_param(text: Option<&str>, field: &str) -> Result<Option<Timestamp>, ApiError> {
    text.map(|text| {
        Timestamp::parse_rfc3339(text).map_err(|error| {
            ApiError::invalid_value(format!(
                "{field}: {text:?} is not an RFC 3339 time: {error}"
            ))
            .with_field(field)
        })
    })
    .transpose()
}

/// Response-time figures (MTTA, MTTR, time to triage and contain) per tenant, sector, RSIT class or severity: aggregates only (the council reads these).
#[utoipa::path(
    get,
    path = "/api/v1/metrics/incidents",
    tag = "incidents",
    params(MetricsQueryParams),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The figures", body = MetricsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not read aggregate figures", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad parameter", body = ErrorBody),
    )
)]
async fn incident_metrics(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<MetricsQueryParams>,
) -> Result<axum::Json<MetricsView>, ApiError> {
    let to = time_param(query.to.as_deref(), "to")?.unwrap_or_else(|| now(&state));
    let from = time_param(query.from.as_deref(), "from")?.unwrap_or(Timestamp::from_unix_micros(
        to.unix_micros() - 30 * 86_400 * 1_000_000,
    ));
    let by = match query.by.as_deref() {
        None => MetricsGrouping::Sector,
        Some(text) => text
            .parse::<MetricsGrouping>()
            .map_err(|e| ApiError::from(e).with_field("by"))?,
    };
    let figures = state
        .app
        .incidents()
        .metrics(
            &who.caller,
            MetricsQuery {
                under: parse_tenant_param(query.under.as_deref(), "under")?,
                from,
                to,
                by,
            },
        )
        .await?;
    Ok(axum::Json(figures.into()))
}

/// The configured regulatory reporting profiles (any signed-in user: configuration, not case data).
#[utoipa::path(
    get,
    path = "/api/v1/regulatory-profiles",
    tag = "incidents",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The profiles with their stages (durations in seconds)", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn regulatory_profiles(
    State(state): State<ServerState>,
    _who: Authenticated,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "items": state.app.incidents().profiles().profiles(),
    }))
}

/// Answers evidence lists.
pub(crate) fn evidence_list(items: Vec<nigehban_app::model::Evidence>) -> axum::Json<EvidenceList> {
    axum::Json(EvidenceList {
        items: items.into_iter().map(Into::into).collect(),
    })
}
