//! The alert queue: the list with the API's filters, bulk actions on the
//! alerts ticked, keyboard shortcuts and live updates (`console.js`), one
//! alert with its rule (title, author, references, ATT&CK) and its matching
//! events, and triage (acknowledge, close with a resolution) through the same
//! app services.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nigehban_app::OpenIncident;
use nigehban_app::model::incident::rsit;
use nigehban_app::model::{
    Alert, AlertId, AlertStatus, AlertText, AlertTriage, IncidentSeverity, Pap, Resolution,
    RsitClass, Severity, TenantId, Tlp,
};

use super::dashboard::visible_tenants;
use super::events::event;
use super::frame::{ConsoleError, Page, notice, redirect, respond, time};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;
use crate::error::ApiError;
use crate::paging::page_request;
use crate::routes::alerts::{matching_events, parse_list_query};

/// Where the queue is.
pub const PATH: &str = "/console/alerts";

/// Where the queue's bulk actions are sent.
const BULK_PATH: &str = "/console/alerts/bulk";

/// Alerts per page.
const PAGE: usize = 50;

/// The alert routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(queue))
        .route(BULK_PATH, post(bulk))
        .route("/console/alerts/{id}", get(detail))
        .route("/console/alerts/{id}/acknowledge", post(acknowledge))
        .route("/console/alerts/{id}/close", post(close))
        .route("/console/alerts/{id}/incident", post(open_incident))
}

/// The status choices of the filter: (value, API statuses).
const STATUS_CHOICES: [(&str, &[AlertStatus]); 5] = [
    ("open", &[AlertStatus::New, AlertStatus::Acknowledged]),
    ("new", &[AlertStatus::New]),
    ("acknowledged", &[AlertStatus::Acknowledged]),
    ("closed", &[AlertStatus::Closed]),
    ("all", &[]),
];

/// The API query string for the console's filter form.
fn api_query(form: &FormData) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let status = form.get("status").unwrap_or("open");
    let statuses = STATUS_CHOICES
        .iter()
        .find(|(value, _)| *value == status)
        .map_or(
            &[AlertStatus::New, AlertStatus::Acknowledged][..],
            |(_, s)| s,
        );
    for one in statuses {
        out.append_pair("status", one.as_str());
    }
    for name in ["min_severity", "q", "cursor"] {
        if let Some(value) = form.text(name) {
            out.append_pair(name, value);
        }
    }
    out.append_pair("limit", &PAGE.to_string());
    out.finish()
}

/// `GET /console/alerts`.
async fn queue(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render_queue(&state, &viewer, &form).await {
        Ok((status, body)) => {
            let t = messages();
            respond(
                status,
                Page {
                    title: t.alerts,
                    viewer: Some(&viewer),
                    current: PATH,
                    body,
                }
                .render(),
            )
        }
        Err(error) => error.into_response(),
    }
}

/// The queue's content (public to the crate for the benchmark).
pub async fn render_queue(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
) -> Result<(StatusCode, Markup), ConsoleError> {
    let t = messages();
    let listed = async {
        let asked = parse_list_query(Some(&api_query(form)))?;
        let page = page_request(asked.cursor.as_deref(), asked.limit.as_deref())?;
        let page = state
            .app
            .alerts()
            .list(viewer.caller(), asked.listing, &page)
            .await?;
        Ok::<_, ApiError>(page)
    }
    .await;
    let page = match listed {
        Ok(page) => Ok(page),
        Err(error)
            if error.status() == StatusCode::UNPROCESSABLE_ENTITY
                || error.status() == StatusCode::BAD_REQUEST =>
        {
            Err(error)
        }
        Err(error) => return Err(ConsoleError::new(error, Some(viewer))),
    };
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let tenant_name = |id: TenantId| {
        tenants
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.name.as_str().to_owned())
    };
    let status = if page.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let outcome = bulk_outcome(form);
    let body = html! {
        (filter_form(form))
        @if let Some((text, problem)) = &outcome {
            (notice(text, *problem))
        }
        p.shortcuts { (t.queue_shortcuts) }
        div #queue-results {
            @match &page {
                Err(error) => (notice(error.message(), true)),
                Ok(page) => {
                    @if page.items.is_empty() {
                        p role="status" { (t.no_alerts) }
                    } @else {
                        form #bulk method="post" action=(BULK_PATH) {
                            (viewer.csrf_field())
                            div.bulk-actions {
                                label { (t.with_ticked)
                                    select name="action" {
                                        option value="acknowledge" { (t.acknowledge) }
                                        option value="assign_to_me" { (t.assign_to_me) }
                                        @for one in Resolution::ALL {
                                            option value=(format!("close:{}", one.as_str())) { (t.close_as) " " (one.as_str()) }
                                        }
                                    }
                                }
                                button type="submit" { (t.apply) }
                            }
                            div.table-wrap tabindex="0" { table #alerts {
                                thead { tr {
                                    th scope="col" { span.visually-hidden { (t.tick) } }
                                    th scope="col" { (t.severity) }
                                    th scope="col" { (t.rule) }
                                    th scope="col" { (t.tenant) }
                                    th scope="col" { (t.host) }
                                    th scope="col" { (t.event_count) }
                                    th scope="col" { (t.last_seen) }
                                    th scope="col" { (t.status) }
                                } }
                                tbody {
                                    @for alert in &page.items {
                                        tr data-href=(format!("{PATH}/{}", alert.id)) {
                                            td { input type="checkbox" name="alert" value=(alert.id) aria-label=(format!("{} {}", t.tick, alert.rule.title)); }
                                            td { (severity(alert.severity)) }
                                            td { a href=(format!("{PATH}/{}", alert.id)) { (alert.rule.title) } }
                                            td { (tenant_name(alert.tenant)) }
                                            td { (alert.host.as_deref().unwrap_or("—")) }
                                            td { (alert.count) }
                                            td { (time(alert.last_seen.to_datetime())) }
                                            td { (alert.status.as_str()) }
                                        }
                                    }
                                }
                            } }
                        }
                    }
                    @if let Some(next) = &page.next {
                        p { a href=(next_link(form, next.as_str())) { (t.more_results) } }
                    }
                }
            }
        }
    };
    Ok((status, body))
}

/// The notice after a bulk action (`?done=N&failed=M`, or `?problem=...`).
fn bulk_outcome(form: &FormData) -> Option<(String, bool)> {
    let t = messages();
    if let Some(problem) = form.get("problem") {
        let text = match problem {
            "none_ticked" => t.none_ticked,
            _ => t.unknown_bulk_action,
        };
        return Some((text.to_owned(), true));
    }
    let done: usize = form.get("done")?.parse().ok()?;
    let failed: usize = form.get("failed").and_then(|f| f.parse().ok()).unwrap_or(0);
    Some(if failed == 0 {
        (format!("{} {done}", t.alerts_changed), false)
    } else {
        (
            format!(
                "{} {done}. {} {failed}",
                t.alerts_changed, t.alerts_not_changed
            ),
            true,
        )
    })
}

/// `POST /console/alerts/bulk`: one change to every alert ticked, each in
/// its own transaction; an alert the viewer may not change counts as failed.
async fn bulk(State(state): State<ServerState>, viewer: Viewer, form: FormData) -> Response {
    let done = async {
        viewer.check_csrf(&state, &form)?;
        let change = match form.get("action").unwrap_or_default() {
            "acknowledge" => AlertTriage::Acknowledge,
            "assign_to_me" => match viewer.caller().user_id() {
                Some(me) => AlertTriage::Assign(Some(me)),
                None => return Ok(redirect(&format!("{PATH}?problem=action"))),
            },
            other => match other.strip_prefix("close:").map(str::parse::<Resolution>) {
                Some(Ok(resolution)) => AlertTriage::Close {
                    resolution,
                    note: None,
                },
                _ => return Ok(redirect(&format!("{PATH}?problem=action"))),
            },
        };
        let ticked: Vec<&str> = form.all("alert").collect();
        if ticked.is_empty() {
            return Ok(redirect(&format!("{PATH}?problem=none_ticked")));
        }
        // An id that is not one counts as failed, like an alert the viewer may not see.
        let ids: Vec<AlertId> = ticked.iter().filter_map(|id| id.parse().ok()).collect();
        let mut failed = ticked.len() - ids.len();
        let mut changed = 0;
        if !ids.is_empty() {
            let results = state
                .app
                .alerts()
                .bulk(viewer.caller(), &ids, change)
                .await
                .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
            changed = results.iter().filter(|(_, result)| result.is_ok()).count();
            failed += results.len() - changed;
        }
        Ok::<_, ConsoleError>(redirect(&format!("{PATH}?done={changed}&failed={failed}")))
    };
    done.await.unwrap_or_else(IntoResponse::into_response)
}

fn next_link(form: &FormData, cursor: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for name in ["status", "min_severity", "q"] {
        if let Some(value) = form.get(name) {
            out.append_pair(name, value);
        }
    }
    out.append_pair("cursor", cursor);
    format!("{PATH}?{}", out.finish())
}

fn filter_form(form: &FormData) -> Markup {
    let t = messages();
    let status = form.get("status").unwrap_or("open");
    let labels = [
        t.status_open,
        t.status_new,
        t.status_acknowledged,
        t.status_closed,
        t.status_all,
    ];
    let min = form.get("min_severity").unwrap_or_default();
    html! {
        form.search method="get" action=(PATH) role="search" {
            label { (t.status)
                select name="status" {
                    @for ((value, _), label) in STATUS_CHOICES.iter().zip(labels) {
                        option value=(value) selected[*value == status] { (label) }
                    }
                }
            }
            label { (t.min_severity)
                select name="min_severity" {
                    option value="" selected[min.is_empty()] { (t.any_severity) }
                    @for one in Severity::ALL {
                        option value=(one.as_str()) selected[one.as_str() == min] { (one.as_str()) }
                    }
                }
            }
            label { (t.search_text) input name="q" type="search" value=(form.get("q").unwrap_or_default()); }
            button type="submit" { (t.search) }
        }
    }
}

fn severity(level: Severity) -> Markup {
    html! { span class=(format!("severity severity-{}", level.as_str())) { (level.as_str()) } }
}

/// `GET /console/alerts/{id}`.
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

fn parse_id(id: &str, viewer: &Viewer) -> Result<AlertId, ConsoleError> {
    id.parse::<AlertId>()
        .map_err(|_| ConsoleError::not_found(Some(viewer)))
}

async fn render_detail(
    state: &ServerState,
    viewer: &Viewer,
    id: &str,
    problem: Option<&str>,
) -> Result<Response, ConsoleError> {
    let t = messages();
    let id = parse_id(id, viewer)?;
    let fail = |e: ApiError| ConsoleError::new(e, Some(viewer));
    let alert = state
        .app
        .alerts()
        .get(viewer.caller(), id)
        .await
        .map_err(|e| fail(e.into()))?;
    let (hits, missing, searched) = matching_events(state, viewer.caller(), &alert)
        .await
        .map_err(fail)?;
    let body = html! {
        @if let Some(problem) = problem { (notice(problem, true)) }
        (summary(&alert))
        h2 { (t.triage) }
        (triage_forms(viewer, &alert))
        (incident_part(viewer, &alert))
        h2 { (t.matching_events) }
        @if hits.is_empty() {
            p { (t.no_events_match) }
        }
        section aria-label=(t.matching_events) { @for hit in &hits { (event(hit)) } }
        @if !searched || !missing.is_empty() {
            p.note { (t.events_not_shown) " " (missing.len()) }
        }
    };
    let title = alert.rule.title.clone();
    Ok(Page {
        title: &title,
        viewer: Some(viewer),
        current: PATH,
        body,
    }
    .respond())
}

fn summary(alert: &Alert) -> Markup {
    let t = messages();
    let techniques = alert.rule.attack_techniques();
    html! {
        div.table-wrap tabindex="0" { table {
            tbody {
                tr { th scope="row" { (t.severity) } td { (severity(alert.severity)) } }
                tr { th scope="row" { (t.status) } td #alert-status { (alert.status.as_str())
                    @if let Some(resolution) = alert.resolution { " (" (resolution.as_str()) ")" } } }
                tr { th scope="row" { (t.rule) } td { (alert.rule.title) " " code { (alert.rule.id) } } }
                @if let Some(author) = &alert.rule.author {
                    tr { th scope="row" { (t.author) } td { (author) } }
                }
                @if !techniques.is_empty() {
                    tr { th scope="row" { "ATT&CK" } td { (techniques.join(", ")) } }
                }
                @if !alert.rule.references.is_empty() {
                    tr { th scope="row" { (t.references) } td { ul { @for r in &alert.rule.references { li { (r) } } } } }
                }
                tr { th scope="row" { (t.host) } td { (alert.host.as_deref().unwrap_or("—")) } }
                tr { th scope="row" { (t.user) } td { (alert.user.as_deref().unwrap_or("—")) } }
                tr { th scope="row" { (t.event_count) } td { (alert.count) } }
                tr { th scope="row" { (t.first_seen) } td { (time(alert.first_seen.to_datetime())) } }
                tr { th scope="row" { (t.last_seen) } td { (time(alert.last_seen.to_datetime())) } }
            }
        } }
    }
}

fn triage_forms(viewer: &Viewer, alert: &Alert) -> Markup {
    let t = messages();
    let base = format!("{PATH}/{}", alert.id);
    html! {
        div.actions {
            @if alert.status == AlertStatus::New {
                form method="post" action=(format!("{base}/acknowledge")) {
                    (viewer.csrf_field())
                    button #acknowledge type="submit" { (t.acknowledge) }
                }
            }
            @if alert.status != AlertStatus::Closed {
                form.stacked #close-form method="post" action=(format!("{base}/close")) {
                    (viewer.csrf_field())
                    label { (t.resolution)
                        select name="resolution" {
                            @for one in Resolution::ALL { option value=(one.as_str()) { (one.as_str()) } }
                        }
                    }
                    label { (t.note) textarea name="note" {} }
                    button #close type="submit" { (t.close_alert) }
                }
            }
        }
    }
}

/// The incident the alert is linked to, or the form that opens one from it.
fn incident_part(viewer: &Viewer, alert: &Alert) -> Markup {
    let t = messages();
    let default_severity = match alert.severity {
        Severity::Informational | Severity::Low => IncidentSeverity::Low,
        Severity::Medium => IncidentSeverity::Medium,
        Severity::High => IncidentSeverity::High,
        Severity::Critical => IncidentSeverity::Critical,
    };
    html! {
        h2 { (t.incident) }
        @if let Some(incident) = alert.incident {
            p #linked-incident { (t.linked_to_incident) " "
                a href=(format!("{}/{incident}", super::incidents::PATH)) { (t.open_the_incident) } }
        } @else if alert.exercise {
            p { (t.exercise_alert_no_incident) }
        } @else {
            form.stacked #open-incident method="post" action=(format!("{PATH}/{}/incident", alert.id)) {
                (viewer.csrf_field())
                p.note { (t.open_incident_hint) }
                label { (t.title) input type="text" name="title" required value=(alert.rule.title) {} }
                label { (t.classification)
                    select name="classification" {
                        @for class in &rsit().classes {
                            optgroup label=(class.expanded) {
                                @for kind in &class.types {
                                    @let value = format!("{}/{}", class.value, kind.value);
                                    option value=(value) selected[value == DEFAULT_CLASSIFICATION] { (kind.expanded) }
                                }
                            }
                        }
                    }
                }
                label { (t.severity)
                    select name="severity" {
                        @for one in IncidentSeverity::ALL {
                            option value=(one.as_str()) selected[one == default_severity] { (one.as_str()) }
                        }
                    }
                }
                label { "TLP"
                    select name="tlp" {
                        @for one in Tlp::ALL {
                            option value=(one.as_str()) selected[one == Tlp::Amber] { (one.label()) }
                        }
                    }
                }
                button #open-incident-button type="submit" { (t.open_incident) }
            }
        }
    }
}

/// The classification offered first: RSIT's "undetermined" until an analyst knows better.
const DEFAULT_CLASSIFICATION: &str = "other/undetermined";

/// `POST /console/alerts/{id}/incident`: opens an incident from the alert
/// (owned by the alert's tenant, the alert linked to it).
async fn open_incident(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let done = async {
        viewer.check_csrf(&state, &form)?;
        let alert_id = parse_id(&id, &viewer)?;
        let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(&viewer));
        let alert = state
            .app
            .alerts()
            .get(viewer.caller(), alert_id)
            .await
            .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
        let classification = form
            .get("classification")
            .and_then(|v| v.split_once('/'))
            .ok_or_else(|| "classification: choose a class and type".to_owned())
            .and_then(|(class, kind)| RsitClass::parse(class, kind).map_err(|e| e.to_string()));
        let severity = form
            .get("severity")
            .unwrap_or_default()
            .parse::<IncidentSeverity>()
            .map_err(|e| format!("severity: {e}"));
        let tlp = form
            .get("tlp")
            .unwrap_or_default()
            .parse::<Tlp>()
            .map_err(|e| format!("tlp: {e}"));
        let (classification, severity, tlp) = match (classification, severity, tlp) {
            (Ok(c), Ok(s), Ok(t)) => (c, s, t),
            (Err(problem), _, _) | (_, Err(problem), _) | (_, _, Err(problem)) => {
                return render_detail(&state, &viewer, &id, Some(&problem)).await;
            }
        };
        let opened = state
            .app
            .incidents()
            .open(
                viewer.caller(),
                OpenIncident {
                    owner: Some(alert.tenant),
                    title: form.text("title").unwrap_or_default().to_owned(),
                    description: String::new(),
                    classification,
                    severity,
                    tlp,
                    pap: Pap::Amber,
                    aware_at: None,
                    affected_tenants: Vec::new(),
                    observables: Vec::new(),
                    regulatory_profile: None,
                    alerts: vec![alert_id],
                },
            )
            .await;
        match opened {
            Ok(sight) => Ok(redirect(&format!(
                "{}/{}",
                super::incidents::PATH,
                sight.readable_id()
            ))),
            Err(
                nigehban_app::AppError::Invalid(problem)
                | nigehban_app::AppError::Conflict(problem),
            ) => render_detail(&state, &viewer, &id, Some(&problem)).await,
            Err(error) => Err(fail(error)),
        }
    };
    done.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /console/alerts/{id}/acknowledge`.
async fn acknowledge(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let done = async {
        viewer.check_csrf(&state, &form)?;
        let id = parse_id(&id, &viewer)?;
        state
            .app
            .alerts()
            .acknowledge(viewer.caller(), id)
            .await
            .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
        Ok::<_, ConsoleError>(redirect(&format!("{PATH}/{id}")))
    };
    done.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /console/alerts/{id}/close`.
async fn close(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let Ok(alert_id) = parse_id(&id, &viewer) else {
        return ConsoleError::not_found(Some(&viewer)).into_response();
    };
    let resolution: Resolution = match form.get("resolution").unwrap_or_default().parse() {
        Ok(resolution) => resolution,
        Err(error) => {
            return render_detail(&state, &viewer, &id, Some(&format!("{error}")))
                .await
                .unwrap_or_else(IntoResponse::into_response);
        }
    };
    let note = match form.text("note").map(AlertText::parse).transpose() {
        Ok(note) => note,
        Err(error) => {
            return render_detail(&state, &viewer, &id, Some(&error.to_string()))
                .await
                .unwrap_or_else(IntoResponse::into_response);
        }
    };
    match state
        .app
        .alerts()
        .close(viewer.caller(), alert_id, resolution, note)
        .await
    {
        Ok(_) => redirect(&format!("{PATH}/{alert_id}")),
        Err(error) => ConsoleError::new(error, Some(&viewer)).into_response(),
    }
}
