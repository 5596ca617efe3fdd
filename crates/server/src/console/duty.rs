//! Duty: who is on call now on each schedule the viewer may see, the open
//! pages with a button to acknowledge each (the 3 a.m. task, so laid out for
//! a phone first), hand-over notes (write one, acknowledge one as the
//! incoming person), the roster of the coming week, and every gap in the
//! next weeks (a moment with nobody on call) — through the same app services
//! as `/api/v1/oncall`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nigehban_app::model::duty::Shift;
use nigehban_app::model::{DutyRecordId, TenantId, Timestamp};
use nigehban_app::policy::{self, Action, Decision, Relation};
use nigehban_app::{AppError, HandoverView, PageView};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, notice, redirect, respond, time};
use super::incidents::tlp;
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;
use crate::error::ApiError;

/// Where the page is.
pub const PATH: &str = "/console/duty";

/// Where a hand-over note is written.
const HANDOVERS_PATH: &str = "/console/duty/handovers";

/// How far ahead the roster is shown.
const ROSTER_DAYS: i64 = 7;

/// Most open pages shown, the longest waiting first (the API lists them all).
const OPEN_PAGES_SHOWN: u32 = 50;

/// How far ahead gaps are looked for (the duty officer's warning).
const COVERAGE_WEEKS: u32 = 4;

/// The duty routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(page))
        .route(
            "/console/duty/pages/{id}/acknowledge",
            post(acknowledge_page),
        )
        .route(HANDOVERS_PATH, post(write_handover))
        .route(
            "/console/duty/handovers/{id}/acknowledge",
            post(acknowledge_handover),
        )
}

/// `GET /console/duty` (`?done=...` after a form).
async fn page(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = FormData::parse(raw.unwrap_or_default().as_bytes());
    let t = messages();
    let outcome = match query.get("done") {
        Some("page") => Some(t.page_acknowledged),
        Some("handover") => Some(t.handover_written),
        Some("handover_acknowledged") => Some(t.handover_acknowledged),
        _ => None,
    };
    answer(
        &state,
        &viewer,
        StatusCode::OK,
        outcome.map(|o| (o.to_owned(), false)),
    )
    .await
}

/// The duty page with a notice, as a response with `status`.
async fn answer(
    state: &ServerState,
    viewer: &Viewer,
    status: StatusCode,
    outcome: Option<(String, bool)>,
) -> Response {
    match render(state, viewer, outcome).await {
        Ok(body) => respond(
            status,
            Page {
                title: messages().duty,
                viewer: Some(viewer),
                current: PATH,
                body,
            }
            .render(),
        ),
        Err(error) => error.into_response(),
    }
}

/// After a form failed: what the viewer may not see is "Not found" (as
/// everywhere), a failure inside is the error page; anything else (already
/// acknowledged, not yours, nothing to hand over) is said on the duty page,
/// with `explain` put before the app's words when it helps.
async fn refused(
    state: &ServerState,
    viewer: &Viewer,
    error: AppError,
    explain: impl Fn(&AppError) -> Option<&'static str>,
) -> Response {
    let prefix = explain(&error);
    let error = ApiError::from(error);
    let status = error.status();
    if status == StatusCode::NOT_FOUND || !status.is_client_error() {
        return ConsoleError::new(error, Some(viewer)).into_response();
    }
    let text = match prefix {
        Some(prefix) => format!("{prefix} ({})", error.message()),
        None => error.message().to_owned(),
    };
    answer(state, viewer, status, Some((text, true))).await
}

/// A duty record's id from the path; anything else names nothing.
fn record_id(id: &str, viewer: &Viewer) -> Result<DutyRecordId, ConsoleError> {
    id.parse()
        .map_err(|_| ConsoleError::not_found(Some(viewer)))
}

/// `POST /console/duty/pages/{id}/acknowledge`: stops the page's escalation.
async fn acknowledge_page(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let id = match viewer
        .check_csrf(&state, &form)
        .and_then(|()| record_id(&id, &viewer))
    {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    match state.app.duty().acknowledge(viewer.caller(), id).await {
        Ok(_) => redirect(&format!("{PATH}?done=page")),
        Err(error) => refused(&state, &viewer, error, |_| None).await,
    }
}

/// `POST /console/duty/handovers`: the outgoing person's note on a schedule.
async fn write_handover(
    State(state): State<ServerState>,
    viewer: Viewer,
    form: FormData,
) -> Response {
    let schedule = match viewer
        .check_csrf(&state, &form)
        .and_then(|()| record_id(form.get("schedule").unwrap_or_default(), &viewer))
    {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    let note = form.get("note").unwrap_or_default();
    match state
        .app
        .duty()
        .write_handover(viewer.caller(), schedule, note)
        .await
    {
        Ok(_) => redirect(&format!("{PATH}?done=handover")),
        Err(error) => {
            refused(&state, &viewer, error, |e| {
                matches!(e, AppError::Forbidden(_)).then_some(messages().handover_not_on_call)
            })
            .await
        }
    }
}

/// `POST /console/duty/handovers/{id}/acknowledge`: the incoming person has read it.
async fn acknowledge_handover(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let id = match viewer
        .check_csrf(&state, &form)
        .and_then(|()| record_id(&id, &viewer))
    {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    match state
        .app
        .duty()
        .acknowledge_handover(viewer.caller(), id)
        .await
    {
        Ok(_) => redirect(&format!("{PATH}?done=handover_acknowledged")),
        Err(error) => {
            refused(&state, &viewer, error, |e| {
                matches!(e, AppError::Forbidden(_)).then_some(messages().handover_not_yours)
            })
            .await
        }
    }
}

async fn render(
    state: &ServerState,
    viewer: &Viewer,
    outcome: Option<(String, bool)>,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let duty = state.app.duty();
    let caller = viewer.caller();
    let on_call = duty.on_call(caller, None, None, None).await.map_err(fail)?;
    let coverage = duty
        .coverage(caller, None, COVERAGE_WEEKS)
        .await
        .map_err(fail)?;
    let tenants = visible_tenants(state, caller)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let name = |id: TenantId| {
        tenants.iter().find(|tenant| tenant.id == id).map_or_else(
            || t.another_tenant.to_owned(),
            |tenant| tenant.name.as_str().to_owned(),
        )
    };
    let now = state.app.clock().now();
    let until = Timestamp::from_unix_micros(
        now.unix_micros()
            .saturating_add(ROSTER_DAYS * 24 * 3600 * 1_000_000),
    );
    let mut rosters = Vec::with_capacity(on_call.len());
    for schedule in &on_call {
        let shifts = duty
            .shifts(caller, schedule.schedule, now, until)
            .await
            .map_err(fail)?;
        rosters.push((schedule, shifts));
    }
    let gaps: usize = coverage.iter().map(|c| c.gaps.len()).sum();
    // Only what waits for an answer: the answered pages and hand-overs of
    // past months are in the API's lists, not read for every view of this page.
    let mut pages = duty
        .open_pages(caller, None, OPEN_PAGES_SHOWN + 1)
        .await
        .map_err(fail)?;
    // A flood (thousands of alerts paging at once) shows the longest waiting.
    let more_pages = pages.len() > OPEN_PAGES_SHOWN as usize;
    pages.truncate(OPEN_PAGES_SHOWN as usize);
    let handovers = duty
        .unacknowledged_handovers(caller, None)
        .await
        .map_err(fail)?;
    // A hint for which buttons to offer; the app decides on submit.
    let may_acknowledge =
        policy::decide(caller.role(), Action::AcknowledgePage, Relation::Own) == Decision::Allow;
    let me = viewer.username();
    Ok(html! {
        @if let Some((text, problem)) = &outcome {
            (notice(text, *problem))
        }
        (pages_section(viewer, &pages, may_acknowledge, &name))
        @if more_pages {
            p.note #more-pages { (t.more_open_pages) }
        }
        @if on_call.is_empty() {
            p role="status" { (t.no_schedules) }
        } @else {
            @if gaps > 0 {
                (notice(&format!("{} {gaps}", t.coverage_gaps_ahead), true))
            }
            h2 { (t.on_call_now) }
            div.table-wrap tabindex="0" { table #on-call {
                thead { tr {
                    th scope="col" { (t.schedule) }
                    th scope="col" { (t.team) }
                    th scope="col" { (t.tenant) }
                    th scope="col" { (t.on_call) }
                    th scope="col" { (t.until) }
                } }
                tbody {
                    @for schedule in &on_call {
                        tr {
                            td { (schedule.name) }
                            td { (schedule.team) }
                            td { (name(schedule.tenant)) }
                            @match &schedule.shift {
                                Some(shift) => {
                                    td { strong { (shift.user) } }
                                    td { (time(shift.end.to_datetime())) }
                                }
                                None => {
                                    td.problem { (t.nobody_on_call) }
                                    td { "—" }
                                }
                            }
                        }
                    }
                }
            } }
            (handovers_section(viewer, &on_call, &handovers, may_acknowledge, me, &name))
            h2 { (t.roster_next_week) }
            @for (schedule, shifts) in &rosters {
                h3 { (schedule.name) " · " (schedule.team) }
                (roster(shifts))
            }
            h2 { (t.coverage_check) }
            @for check in &coverage {
                h3 { (check.name) }
                @if check.gaps.is_empty() {
                    p role="status" { (t.no_gaps) }
                } @else {
                    ul.gaps {
                        @for gap in &check.gaps {
                            li { (time(gap.start.to_datetime())) " – " (time(gap.end.to_datetime())) }
                        }
                    }
                }
            }
        }
    })
}

/// One schedule's shifts as a table, with what the fairness ledger counts.
fn roster(shifts: &[Shift]) -> Markup {
    let t = messages();
    html! {
        @if shifts.is_empty() {
            p role="status" { (t.no_shifts) }
        } @else {
            div.table-wrap tabindex="0" { table.roster {
                thead { tr {
                    th scope="col" { (t.from) }
                    th scope="col" { (t.until) }
                    th scope="col" { (t.on_call) }
                    th scope="col" { (t.layer) }
                    th scope="col" { (t.counted_as) }
                } }
                tbody {
                    @for shift in shifts {
                        tr {
                            td { (time(shift.start.to_datetime())) }
                            td { (time(shift.end.to_datetime())) }
                            td { (shift.user) }
                            td { (shift.layer) }
                            td {
                                @if shift.holiday { span.badge { (t.holiday) } " " }
                                @if shift.night { span.badge { (t.night) } " " }
                                @if shift.weekend { span.badge { (t.weekend) } }
                            }
                        }
                    }
                }
            } }
        }
    }
}

/// The open pages, the longest waiting first, each with its Acknowledge button.
fn pages_section(
    viewer: &Viewer,
    pages: &[PageView],
    may_acknowledge: bool,
    name: &dyn Fn(TenantId) -> String,
) -> Markup {
    let t = messages();
    html! {
        h2 #pages-heading { (t.open_pages) }
        @if pages.is_empty() {
            p role="status" { (t.no_open_pages) }
        } @else {
            ul.duty-cards #open-pages aria-labelledby="pages-heading" {
                @for page in pages {
                    li.duty-card {
                        p.duty-title { strong { (page.state.page.title) } }
                        p {
                            span class=(format!("severity severity-{}", page.state.page.severity)) { (page.state.page.severity) }
                            " " (tlp(page.state.page.tlp)) " · " (name(page.state.page.tenant))
                        }
                        p.note { (t.opened) " " (time(page.state.opened_at.to_datetime()))
                            @if let Some(next) = page.next_step_at {
                                " · " (t.next_step) " " (time(next.to_datetime()))
                            }
                        }
                        @if may_acknowledge {
                            form.wide method="post" action=(format!("{PATH}/pages/{}/acknowledge", page.id)) {
                                (viewer.csrf_field())
                                button type="submit" aria-label=(format!("{} {}", t.acknowledge, page.state.page.title)) { (t.acknowledge) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Hand-over notes: the form for the outgoing person, then the notes not yet
/// acknowledged, each with a button for the incoming person.
fn handovers_section(
    viewer: &Viewer,
    on_call: &[nigehban_app::OnCall],
    handovers: &[HandoverView],
    may_acknowledge: bool,
    me: &str,
    name: &dyn Fn(TenantId) -> String,
) -> Markup {
    let t = messages();
    // Only a schedule with someone on call has a shift to hand over.
    let staffed: Vec<&nigehban_app::OnCall> =
        on_call.iter().filter(|s| s.shift.is_some()).collect();
    html! {
        h2 #handovers-heading { (t.handovers) }
        @if !staffed.is_empty() {
            form.stacked #handover-form method="post" action=(HANDOVERS_PATH) {
                (viewer.csrf_field())
                label { (t.schedule)
                    select name="schedule" {
                        @for schedule in &staffed {
                            @let person = schedule.shift.as_ref().map_or("", |s| s.user.as_str());
                            option value=(schedule.schedule) selected[person == me] {
                                (schedule.name) " · " (schedule.team) " (" (t.on_call) ": " (person) ")"
                            }
                        }
                    }
                }
                label { (t.handover_note) span.hint { (t.handover_note_hint) }
                    textarea name="note" rows="4" maxlength="20000" {}
                }
                button #write-handover type="submit" { (t.write_handover) }
            }
        }
        @if handovers.is_empty() {
            p role="status" { (t.no_handovers) }
        } @else {
            ul.duty-cards #handovers aria-labelledby="handovers-heading" {
                @for handover in handovers {
                    @let state = &handover.state;
                    li.duty-card {
                        p.duty-title { strong { (state.team) } " · " (state.outgoing) " → " (state.incoming.as_deref().unwrap_or("—")) }
                        p.note { (name(handover.tenant)) " · " (t.written) " " (time(state.written_at.to_datetime()))
                            " · " (t.shift_ends) " " (time(state.shift_ends.to_datetime())) }
                        p { span.badge { (handover.status) } }
                        @if !state.note.is_empty() { p.handover-note { (state.note) } }
                        ul.open-work {
                            li { (t.open_alerts) ": " (state.summary.open_alerts) }
                            li { (t.open_incidents) ": " (state.summary.incidents.len()) }
                            li { (t.deadlines_pending) ": " (state.summary.deadlines.len()) }
                            li { (t.silent_sensors) ": " (state.summary.silent_sensors.len()) }
                        }
                        @if may_acknowledge {
                            form.wide method="post" action=(format!("{HANDOVERS_PATH}/{}/acknowledge", handover.id)) {
                                (viewer.csrf_field())
                                button type="submit" aria-label=(format!("{} {} {}", t.acknowledge_handover, state.team, state.outgoing)) { (t.acknowledge_handover) }
                            }
                        }
                    }
                }
            }
        }
    }
}
