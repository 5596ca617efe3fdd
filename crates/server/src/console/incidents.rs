//! Incidents: the list (what the caller sees of each, as the app's access
//! rules decide), one incident with its timeline and tasks, and escalation to
//! the parent tenant, through the same app services as the API.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nigehban_app::incidents::NewTask;
use nigehban_app::model::{Incident, TaskKind, TenantId, Tlp};
use nigehban_app::{IncidentListing, IncidentRef, IncidentSight, PageRequest};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, notice, redirect, time, utc_field};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;

/// Where the list is.
pub const PATH: &str = "/console/incidents";

/// Incidents per page.
const PAGE: u32 = 50;

/// The incident routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(list))
        .route("/console/incidents/{id}", get(detail))
        .route("/console/incidents/{id}/escalate", post(escalate))
        .route("/console/incidents/{id}/tasks", post(give_task))
}

/// A TLP label in its TLP 2.0 colours.
pub fn tlp(label: Tlp) -> Markup {
    let class = format!("tlp tlp-{}", label.as_str().replace('+', "-"));
    html! { span class=(class) { (label.label()) } }
}

/// `GET /console/incidents`.
async fn list(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render_list(&state, &viewer, &form).await {
        Ok(body) => {
            let t = messages();
            Page {
                title: t.incidents,
                viewer: Some(&viewer),
                current: PATH,
                body,
            }
            .respond()
        }
        Err(error) => error.into_response(),
    }
}

async fn render_list(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let page = match form.text("cursor") {
        Some(cursor) => crate::paging::page_request(Some(cursor), Some(&PAGE.to_string()))
            .map_err(|e| ConsoleError::new(e, Some(viewer)))?,
        None => PageRequest::first(PAGE),
    };
    let listing = IncidentListing {
        open_only: form.get("all") != Some("1"),
        ..IncidentListing::default()
    };
    let found = state
        .app
        .incidents()
        .list(viewer.caller(), listing, &page)
        .await
        .map_err(fail)?;
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let name = |id: TenantId| tenant_name(&tenants, id);
    Ok(html! {
        p {
            @if form.get("all") == Some("1") {
                a href=(PATH) { (t.open_incidents_only) }
            } @else {
                a href=(format!("{PATH}?all=1")) { (t.all_incidents) }
            }
        }
        @if found.items.is_empty() {
            p role="status" { (t.no_incidents) }
        } @else {
            div.table-wrap tabindex="0" { table #incidents {
                thead { tr {
                    th scope="col" { (t.incident) }
                    th scope="col" { (t.title) }
                    th scope="col" { "TLP" }
                    th scope="col" { (t.severity) }
                    th scope="col" { (t.status) }
                    th scope="col" { (t.owner) }
                } }
                tbody {
                    @for sight in &found.items {
                        tr {
                            td { a href=(format!("{PATH}/{}", sight.readable_id())) { (sight.readable_id().to_string()) } }
                            @match sight {
                                IncidentSight::Full(i) | IncidentSight::Participant(i) => {
                                    td { (i.title) }
                                    td { (tlp(i.tlp)) }
                                    td { (i.severity.as_str()) }
                                    td { (i.status.as_str()) }
                                    td { (name(i.owner)) }
                                }
                                IncidentSight::Limited(i) => {
                                    td { "—" }
                                    td { (tlp(i.tlp)) }
                                    td { "—" }
                                    td { (i.status.as_str()) }
                                    td { (name(i.owner)) }
                                }
                            }
                        }
                    }
                }
            } }
        }
        @if let Some(next) = &found.next {
            p { a href=(format!("{PATH}?cursor={}{}", next.as_str(), if form.get("all") == Some("1") { "&all=1" } else { "" })) { (t.more_results) } }
        }
    })
}

fn tenant_name(tenants: &[nigehban_app::model::Tenant], id: TenantId) -> String {
    tenants.iter().find(|t| t.id == id).map_or_else(
        || messages().another_tenant.to_owned(),
        |t| t.name.as_str().to_owned(),
    )
}

/// `GET /console/incidents/{id}` (its UUID or readable id).
async fn detail(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match render_detail(&state, &viewer, &id, None).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn render_detail(
    state: &ServerState,
    viewer: &Viewer,
    id: &str,
    problem: Option<&str>,
) -> Result<Response, ConsoleError> {
    let t = messages();
    let Ok(reference) = id.parse::<IncidentRef>() else {
        return Err(ConsoleError::not_found(Some(viewer)));
    };
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let incidents = state.app.incidents();
    let sight = incidents
        .get(viewer.caller(), &reference)
        .await
        .map_err(fail)?;
    let timeline = incidents
        .timeline(viewer.caller(), &reference)
        .await
        .map_err(fail)?;
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let readable = sight.readable_id().to_string();
    let (status, owner, label, tasks) = match &sight {
        IncidentSight::Full(i) | IncidentSight::Participant(i) => {
            (i.status, i.owner, i.tlp, &i.tasks)
        }
        IncidentSight::Limited(i) => (i.status, i.owner, i.tlp, &i.tasks),
    };
    let body = html! {
        @if let Some(problem) = problem { (notice(problem, true)) }
        p { (tlp(label)) }
        div.table-wrap tabindex="0" { table { tbody {
            @if let Some(incident) = sight.details() { (details(incident)) }
            tr { th scope="row" { (t.status) } td #incident-status { (status.as_str()) } }
            tr { th scope="row" { (t.owner) } td #incident-owner { (tenant_name(&tenants, owner)) } }
        } } }
        // Offered while the incident is open and held within the viewer's
        // subtree (after escalation it is the CERT above's); the app decides on submit.
        @if status.is_open() && matches!(sight, IncidentSight::Full(_)) && tenants.iter().any(|t| t.id == owner) {
            h2 { (t.escalate) }
            form.stacked method="post" action=(format!("{PATH}/{readable}/escalate")) {
                (viewer.csrf_field())
                label { (t.note) textarea name="note" {} }
                button #escalate type="submit" { (t.escalate_to_parent) }
            }
        }
        // Tasks go to the viewer's tenant or one below it, while the incident is open in its custody.
        @if status.is_open() && matches!(sight, IncidentSight::Full(_)) && tenants.iter().any(|t| t.id == owner) {
            h2 { (t.task_a_tenant) }
            form.stacked #task-form method="post" action=(format!("{PATH}/{readable}/tasks")) {
                (viewer.csrf_field())
                label { (t.tenant)
                    select name="tenant" {
                        @for tenant in &tenants {
                            option value=(tenant.id) { (tenant.name.as_str()) }
                        }
                    }
                }
                label { (t.task_kind)
                    select name="kind" {
                        @for (value, _) in TASK_KINDS { option value=(value) { (value) } }
                    }
                }
                label { (t.title) input name="title" required maxlength="200"; }
                label { (t.description) textarea name="description" rows="3" {} }
                label { (t.due) span.hint { (t.optional_utc_time_hint) } input type="datetime-local" name="due"; }
                button #give-task type="submit" { (t.give_task) }
            }
        }
        h2 { (t.tasks) }
        @if tasks.is_empty() {
            p { (t.no_tasks) }
        } @else {
            div.table-wrap tabindex="0" { table {
                thead { tr { th scope="col" { (t.title) } th scope="col" { (t.tenant) } th scope="col" { (t.status) } th scope="col" { (t.due) } } }
                tbody { @for task in tasks { tr {
                    td { (task.title) }
                    td { (tenant_name(&tenants, task.assignee_tenant)) }
                    td { (task.status.as_str()) }
                    td { @match task.due_at { Some(at) => (time(at.to_datetime())), None => "—" } }
                } } }
            } }
        }
        h2 { (t.timeline) }
        ol.timeline {
            @for entry in &timeline {
                li { (time(entry.at.to_datetime())) " — " (entry.message) }
            }
        }
    };
    Ok(Page {
        title: &readable,
        viewer: Some(viewer),
        current: PATH,
        body,
    }
    .respond())
}

fn details(incident: &Incident) -> Markup {
    let t = messages();
    html! {
        tr { th scope="row" { (t.title) } td { (incident.title) } }
        tr { th scope="row" { (t.severity) } td { (incident.severity.as_str()) } }
        tr { th scope="row" { (t.classification) } td { (incident.classification.to_string()) } }
        tr { th scope="row" { (t.description) } td { (incident.description) } }
        tr { th scope="row" { (t.opened) } td { (time(incident.created_at.to_datetime())) } }
    }
}

/// `POST /console/incidents/{id}/escalate`: hands the incident to the owner's parent.
async fn escalate(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let Ok(reference) = id.parse::<IncidentRef>() else {
        return ConsoleError::not_found(Some(&viewer)).into_response();
    };
    let note = form.text("note").map(str::to_owned);
    match state
        .app
        .incidents()
        .escalate(viewer.caller(), &reference, note)
        .await
    {
        Ok(sight) => redirect(&format!("{PATH}/{}", sight.readable_id())),
        Err(
            nigehban_app::AppError::Conflict(message) | nigehban_app::AppError::Invalid(message),
        ) => render_detail(&state, &viewer, &id, Some(&message))
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(error) => ConsoleError::new(error, Some(&viewer)).into_response(),
    }
}

/// The task kinds the form offers, by their API words.
const TASK_KINDS: [(&str, TaskKind); 3] = [
    ("investigation", TaskKind::Investigation),
    ("countermeasure", TaskKind::Countermeasure),
    ("other", TaskKind::Other),
];

/// `POST /console/incidents/{id}/tasks`: gives a task to the viewer's tenant or one below it.
async fn give_task(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let Ok(reference) = id.parse::<IncidentRef>() else {
        return ConsoleError::not_found(Some(&viewer)).into_response();
    };
    let t = messages();
    let problem = |message: String| {
        let (state, viewer, id) = (&state, &viewer, &id);
        async move {
            render_detail(state, viewer, id, Some(&message))
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
    };
    let Some(assignee_tenant) = form.get("tenant").and_then(|t| t.parse::<TenantId>().ok()) else {
        return problem(format!("{}: {}", t.tenant, t.choose_one)).await;
    };
    let Some(kind) = TASK_KINDS
        .iter()
        .find(|(value, _)| Some(*value) == form.get("kind"))
        .map(|(_, kind)| *kind)
    else {
        return problem(format!("{}: {}", t.task_kind, t.choose_one)).await;
    };
    let due_at = match form.text("due") {
        None => None,
        Some(text) => match utc_field(text) {
            Some(at) => Some(at),
            None => return problem(t.due_invalid.to_owned()).await,
        },
    };
    let new = NewTask {
        assignee_tenant,
        assignee_user: None,
        kind,
        title: form.get("title").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        due_at,
    };
    match state
        .app
        .incidents()
        .task(viewer.caller(), &reference, new)
        .await
    {
        Ok(_) => redirect(&format!("{PATH}/{id}")),
        Err(
            nigehban_app::AppError::Conflict(message) | nigehban_app::AppError::Invalid(message),
        ) => problem(message).await,
        Err(error) => ConsoleError::new(error, Some(&viewer)).into_response(),
    }
}
