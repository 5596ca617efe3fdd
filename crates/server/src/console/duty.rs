//! Duty: who is on call now on each schedule the viewer may see, the roster
//! of the coming week, and every gap in the next weeks (a moment with nobody
//! on call), through the same app services as `/api/v1/oncall`.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::model::duty::Shift;
use nigehban_app::model::{TenantId, Timestamp};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, notice, time};
use super::messages::messages;
use super::session::Viewer;
use crate::ServerState;

/// Where the page is.
pub const PATH: &str = "/console/duty";

/// How far ahead the roster is shown.
const ROSTER_DAYS: i64 = 7;

/// How far ahead gaps are looked for (the duty officer's warning).
const COVERAGE_WEEKS: u32 = 4;

/// The duty routes.
pub fn routes() -> Router<ServerState> {
    Router::new().route(PATH, get(page))
}

/// `GET /console/duty`.
async fn page(State(state): State<ServerState>, viewer: Viewer) -> Response {
    match render(&state, &viewer).await {
        Ok(body) => Page {
            title: messages().duty,
            viewer: Some(&viewer),
            current: PATH,
            body,
        }
        .respond(),
        Err(error) => error.into_response(),
    }
}

async fn render(state: &ServerState, viewer: &Viewer) -> Result<Markup, ConsoleError> {
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
    Ok(html! {
        @if on_call.is_empty() {
            p role="status" { (t.no_schedules) }
        } @else {
            @if gaps > 0 {
                (notice(&format!("{} {gaps}", t.coverage_gaps_ahead), true))
            }
            h2 { (t.on_call_now) }
            div.table-wrap { table #on-call {
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
            div.table-wrap { table.roster {
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
