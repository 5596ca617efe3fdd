//! Sensors: the list (silent ones first), registering one (its ingest token
//! shown once, with a copy button and the command that sends data), and one
//! sensor's health over time.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::model::{
    ExpectedInterval, SensorHealthKind, SensorId, SensorKind, SensorName, Tenant, TenantId,
};
use nigehban_app::{NewSensor, PageRequest};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, notice, respond, time};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;
use crate::error::ApiError;
use crate::routes::sensors::{SensorStatusView, register, statuses_under};

/// Where the sensors page is.
pub const PATH: &str = "/console/sensors";

/// The sensor routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(list).post(register_sensor))
        .route("/console/sensors/{id}", get(detail))
}

/// The kinds offered when registering, in the order shown.
const KINDS: [SensorKind; 7] = [
    SensorKind::Ids,
    SensorKind::NetworkMonitor,
    SensorKind::Firewall,
    SensorKind::HostAgent,
    SensorKind::SyslogRelay,
    SensorKind::Application,
    SensorKind::Other,
];

/// `GET /console/sensors`.
async fn list(State(state): State<ServerState>, viewer: Viewer) -> Response {
    match list_page(&state, &viewer, None, &FormData::default(), StatusCode::OK).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// The list with the registration form (`problem`: why the last registration was refused).
async fn list_page(
    state: &ServerState,
    viewer: &Viewer,
    problem: Option<&str>,
    form: &FormData,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let body = render_list(state, viewer, problem, form).await?;
    let t = messages();
    Ok(respond(
        status,
        Page {
            title: t.sensors,
            viewer: Some(viewer),
            current: PATH,
            body,
        }
        .render(),
    ))
}

/// The sensors page's content (public to the crate for the benchmark).
pub async fn render_list(
    state: &ServerState,
    viewer: &Viewer,
    problem: Option<&str>,
    form: &FormData,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let caller = viewer.caller();
    let mut statuses = statuses_under(state, caller, None)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    // Silent first (longest silent first), then those that never sent, then by name.
    statuses.sort_by(|a, b| {
        let rank = |s: &SensorStatusView| (!s.silent, s.last_event_at.is_some());
        rank(a)
            .cmp(&rank(b))
            .then(a.silent_since.cmp(&b.silent_since))
            .then(a.name.cmp(&b.name))
    });
    let tenants = visible_tenants(state, caller)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let tenant_name = |id: TenantId| {
        tenants
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.name.as_str().to_owned())
    };
    Ok(html! {
        @if statuses.is_empty() {
            p { (t.no_sensors) }
        } @else {
            div.table-wrap tabindex="0" {
                table #sensors {
                    thead { tr {
                        th scope="col" { (t.name) }
                        th scope="col" { (t.tenant) }
                        th scope="col" { (t.status) }
                        th scope="col" { (t.last_event) }
                        th scope="col" { (t.event_count) }
                        th scope="col" { (t.errors) }
                    } }
                    tbody {
                        @for s in &statuses {
                            tr {
                                td { a href=(format!("{PATH}/{}", s.sensor)) { (s.name) } }
                                td { (tenant_name(s.tenant)) }
                                td { (status_word(s)) }
                                td { @match s.last_event_at { Some(at) => (time(at.to_datetime())), None => "—" } }
                                td { (s.events) }
                                td { (s.errors + s.drops) }
                            }
                        }
                    }
                }
            }
        }
        h2 #register { (t.register_sensor) }
        @if let Some(problem) = problem { (notice(problem, true)) }
        (register_form(viewer, &tenants, form))
    })
}

fn status_word(status: &SensorStatusView) -> Markup {
    let t = messages();
    if status.silent {
        html! { span.state-bad { (t.silent) } " " @if let Some(since) = status.silent_since { (time(since.to_datetime())) } }
    } else if status.last_event_at.is_some() {
        html! { span.state-good { (t.healthy) } }
    } else {
        html! { span.state-none { (t.never_sent) } }
    }
}

fn register_form(viewer: &Viewer, tenants: &[Tenant], form: &FormData) -> Markup {
    let t = messages();
    let chosen_tenant = form
        .get("tenant")
        .map(str::to_owned)
        .unwrap_or_else(|| viewer.caller().tenant_id().to_string());
    let chosen_kind = form.get("kind").unwrap_or("ids");
    html! {
        form.stacked method="post" action=(PATH) {
            (viewer.csrf_field())
            label { (t.name) input name="name" required maxlength="100" value=(form.get("name").unwrap_or_default()); }
            label { (t.tenant)
                select name="tenant" {
                    @for tenant in tenants.iter().filter(|t| t.active) {
                        @let id = tenant.id.to_string();
                        option value=(id) selected[id == chosen_tenant] { (tenant.name.as_str()) }
                    }
                }
            }
            label { (t.kind)
                select name="kind" {
                    @for kind in KINDS {
                        option value=(kind.as_str()) selected[kind.as_str() == chosen_kind] { (kind.as_str()) }
                    }
                }
            }
            label {
                (t.expected_interval)
                span.hint { (t.expected_interval_hint) }
                input name="expected_interval_seconds" inputmode="numeric" value=(form.get("expected_interval_seconds").unwrap_or_default());
            }
            button type="submit" { (t.register_sensor) }
        }
    }
}

/// `POST /console/sensors`: registers a sensor and shows its ingest token once.
async fn register_sensor(
    State(state): State<ServerState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let refused = |message: String| {
        let state = state.clone();
        let viewer = viewer.clone();
        let form = form.clone();
        async move {
            list_page(
                &state,
                &viewer,
                Some(&message),
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
            .unwrap_or_else(IntoResponse::into_response)
        }
    };
    let name = match SensorName::parse(form.get("name").unwrap_or_default()) {
        Ok(name) => name,
        Err(error) => return refused(format!("{}: {error}", messages().name)).await,
    };
    let kind: SensorKind = match form.get("kind").unwrap_or_default().parse() {
        Ok(kind) => kind,
        Err(error) => return refused(format!("{}: {error}", messages().kind)).await,
    };
    let mut new = NewSensor::new(name, kind);
    if let Some(text) = form.text("tenant") {
        match text.parse::<TenantId>() {
            Ok(id) => new.tenant = Some(id),
            Err(_) => return ConsoleError::not_found(Some(&viewer)).into_response(),
        }
    }
    if let Some(text) = form.text("expected_interval_seconds") {
        match text
            .parse::<u64>()
            .ok()
            .and_then(|secs| ExpectedInterval::from_secs(secs).ok())
        {
            Some(interval) => new.expected_interval = Some(interval),
            None => {
                return refused(format!(
                    "{}: {}",
                    messages().expected_interval,
                    messages().expected_interval_hint
                ))
                .await;
            }
        }
    }
    let issued = match register(&state, viewer.caller(), new).await {
        Ok(issued) => issued,
        Err(error)
            if matches!(
                error.status(),
                StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
            ) =>
        {
            return refused(error.message().to_owned()).await;
        }
        Err(error) => return ConsoleError::new(error, Some(&viewer)).into_response(),
    };
    let t = messages();
    let origin = origin(&headers);
    let body = html! {
        (notice(t.token_shown_once, false))
        h2 { (issued.sensor.name.as_str()) }
        div.secret {
            span { (t.ingest_token) ": " }
            code.token #ingest-token { (issued.secret.expose()) }
            button type="button" data-copy="ingest-token" data-copied=(t.copied) { (t.copy) }
        }
        p { (t.send_data_with) ":" }
        pre #send-command {
            "NIGEHBAN_INGEST_TOKEN=" (issued.secret.expose()) " nigehban ingest --server " (origin) " FILE..."
        }
        button type="button" data-copy="send-command" data-copied=(t.copied) { (t.copy) }
        p { a href=(format!("{PATH}/{}", issued.sensor.id)) { (issued.sensor.name.as_str()) } " · " a href=(PATH) { (t.sensors) } }
    };
    let page = Page {
        title: t.sensor_registered,
        viewer: Some(&viewer),
        current: PATH,
        body,
    };
    respond(StatusCode::CREATED, page.render())
}

/// The server's address as the browser reached it, for the command shown.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("SERVER");
    format!("http://{host}")
}

/// `GET /console/sensors/{id}`: one sensor and its health over time.
async fn detail(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match render_detail(&state, &viewer, &id).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn render_detail(
    state: &ServerState,
    viewer: &Viewer,
    id: &str,
) -> Result<Response, ConsoleError> {
    let t = messages();
    let Ok(id) = id.parse::<SensorId>() else {
        return Err(ConsoleError::not_found(Some(viewer)));
    };
    let fail = |e: nigehban_app::AppError| ConsoleError::new(ApiError::from(e), Some(viewer));
    let sensor = state
        .app
        .sensors()
        .get(viewer.caller(), id)
        .await
        .map_err(fail)?;
    let history = state
        .app
        .sensors()
        .health_history(viewer.caller(), id, &PageRequest::first(100))
        .await
        .map_err(fail)?;
    let body = html! {
        div.table-wrap tabindex="0" { table {
            tbody {
                tr { th scope="row" { (t.kind) } td { (sensor.kind.as_str()) } }
                tr { th scope="row" { (t.status) } td { @if sensor.active { (t.healthy) } @else { (t.deactivated) } } }
                tr { th scope="row" { (t.expected_interval) } td { @match sensor.expected_interval { Some(i) => (i.as_secs()), None => "—" } } }
            }
        } }
        h2 { (t.health_history) }
        @if history.items.is_empty() {
            p { (t.no_health_events) }
        } @else {
            div.table-wrap tabindex="0" { table {
                thead { tr { th scope="col" { (t.when) } th scope="col" { (t.what) } } }
                tbody {
                    @for event in &history.items {
                        tr {
                            td { (time(event.at.to_datetime())) }
                            td {
                                @match &event.kind {
                                    SensorHealthKind::Silent { .. } => span.state-bad { (t.silent) },
                                    SensorHealthKind::Recovered { .. } => span.state-good { (t.healthy) },
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    let title = sensor.name.as_str().to_owned();
    Ok(Page {
        title: &title,
        viewer: Some(viewer),
        current: PATH,
        body,
    }
    .respond())
}
