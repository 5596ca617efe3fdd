//! "Report an incident": the form an organisation's security officer fills
//! in when something happened, and the reports filed in the viewer's tree
//! with where each stands (waiting, became an incident, rejected and why).
//! Filing goes through the same application service as
//! `POST /api/v1/reports`; the one policy decides who may.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::incidents::NewReport;
use nigehban_app::model::{ReportStatus, Tlp};
use nigehban_app::{AppError, PageRequest};

use super::frame::{ConsoleError, Page, notice, redirect, time, utc_field};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;

/// Where the form is.
pub const PATH: &str = "/console/report";

/// Reports listed under the form.
const LISTED: u32 = 50;

/// The report form's routes.
pub fn routes() -> Router<ServerState> {
    Router::new().route(PATH, get(form_page).post(file))
}

/// `GET /console/report`.
async fn form_page(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = FormData::parse(raw.unwrap_or_default().as_bytes());
    let filed = query.text("filed").map(str::to_owned);
    respond(
        &state,
        &viewer,
        &FormData::default(),
        None,
        filed.as_deref(),
    )
    .await
}

/// The page: a notice, the form (refilled after a problem) and the reports.
async fn respond(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
    problem: Option<&str>,
    filed: Option<&str>,
) -> Response {
    let t = messages();
    let reports = match state
        .app
        .incidents()
        .reports(viewer.caller(), None, &PageRequest::first(LISTED))
        .await
    {
        Ok(page) => Some(page.items),
        Err(AppError::Forbidden(_)) => None,
        Err(error) => return ConsoleError::new(error, Some(viewer)).into_response(),
    };
    let now = state.app.clock().now().to_datetime();
    let default_noticed = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    let tlp_chosen = form.get("tlp").unwrap_or("amber");
    let body = html! {
        @if let Some(problem) = problem { (notice(problem, true)) }
        @if let Some(id) = filed { (notice(&format!("{} {id}", t.report_filed), false)) }
        p { (t.report_hint) }
        form.stacked #report-form method="post" action=(PATH) {
            (viewer.csrf_field())
            label { (t.title) input name="title" required maxlength="200" value=(form.get("title").unwrap_or_default()); }
            label { (t.description) textarea name="description" required rows="6" { (form.get("description").unwrap_or_default()) } }
            label { (t.noticed_at) span.hint { (t.utc_time_hint) }
                input type="datetime-local" name="noticed_at" required value=(form.get("noticed_at").unwrap_or(&default_noticed)); }
            label { (t.affected_systems) span.hint { (t.one_per_line) }
                textarea name="affected_systems" rows="3" { (form.get("affected_systems").unwrap_or_default()) } }
            label { "TLP"
                select name="tlp" {
                    @for label in [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
                        option value=(label.as_str()) selected[label.as_str() == tlp_chosen] { (label.as_str()) }
                    }
                }
            }
            button #file-report type="submit" { (t.file_report) }
        }
        @if let Some(reports) = &reports {
            h2 { (t.reports_filed) }
            @if reports.is_empty() {
                p { (t.no_reports) }
            } @else {
                div.table-wrap tabindex="0" { table #reports {
                    thead { tr {
                        th scope="col" { (t.title) }
                        th scope="col" { (t.noticed_at) }
                        th scope="col" { (t.status) }
                    } }
                    tbody { @for report in reports { tr {
                        td { (report.title) }
                        td { (time(report.noticed_at.to_datetime())) }
                        td { (report_status(&report.status)) }
                    } } }
                } }
            }
        }
    };
    Page {
        title: t.report_incident,
        viewer: Some(viewer),
        current: PATH,
        body,
    }
    .respond()
}

/// Where a report stands, with a link to its incident once it became one.
fn report_status(status: &ReportStatus) -> Markup {
    let t = messages();
    match status {
        ReportStatus::Submitted => html! { (t.report_waiting) },
        ReportStatus::Triaged { readable_id, .. } => html! {
            (t.report_became) " "
            a href=(format!("{}/{readable_id}", super::incidents::PATH)) { (readable_id.to_string()) }
        },
        ReportStatus::Rejected { reason, .. } => html! { (t.report_rejected) ": " (reason) },
    }
}

/// `POST /console/report`: files the report for the viewer's organisation.
async fn file(State(state): State<ServerState>, viewer: Viewer, form: FormData) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let t = messages();
    let Some(noticed_at) = form.get("noticed_at").and_then(utc_field) else {
        return respond(&state, &viewer, &form, Some(t.noticed_at_invalid), None).await;
    };
    let tlp = match form.get("tlp").unwrap_or("amber").parse::<Tlp>() {
        Ok(tlp) => tlp,
        Err(error) => {
            return respond(&state, &viewer, &form, Some(&error.to_string()), None).await;
        }
    };
    let new = NewReport {
        tenant: None,
        title: form.get("title").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        noticed_at,
        occurred_at: None,
        affected_systems: form
            .get("affected_systems")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
        observables: Vec::new(),
        tlp,
    };
    match state
        .app
        .incidents()
        .file_report(viewer.caller(), new)
        .await
    {
        Ok(report) => redirect(&format!("{PATH}?filed={}", report.id)),
        Err(AppError::Invalid(message) | AppError::Conflict(message)) => {
            respond(&state, &viewer, &form, Some(&message), None).await
        }
        Err(error) => ConsoleError::new(error, Some(&viewer)).into_response(),
    }
}
