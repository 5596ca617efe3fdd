//! The dashboard: the picture at the viewer's level. The national CERT sees
//! its sectors, a sectoral CERT its organisations, an organisation itself;
//! what a role may not see (the council has no event search) is left out by
//! the same policy the API applies, never by a rule of the console's own.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::model::{Tenant, TenantId};
use nigehban_app::{AppError, Caller, PageRequest};
use nigehban_search::EventQuery;
use time::{Duration, OffsetDateTime};

use super::charts::{Series, stacked_bars};
use super::frame::{ConsoleError, Page, notice};
use super::messages::messages;
use super::session::Viewer;
use crate::ServerState;
use crate::error::ApiError;
use crate::routes::sensors::statuses_under;

/// The dashboard route.
pub fn routes() -> Router<ServerState> {
    Router::new().route(PATH, get(dashboard))
}

/// Where the dashboard is.
pub const PATH: &str = "/console/";

/// Hours the events chart covers.
const HOURS: i64 = 24;

/// Every tenant the caller may see (its own and those below it).
pub async fn visible_tenants(
    state: &ServerState,
    caller: &Caller,
) -> Result<Vec<Tenant>, ApiError> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(nigehban_app::MAX_PAGE_LIMIT);
    loop {
        let batch = state.app.tenants().list(caller, None, &page).await?;
        all.extend(batch.items);
        match batch.next {
            Some(next) => page = PageRequest::after(next, nigehban_app::MAX_PAGE_LIMIT),
            None => break,
        }
    }
    Ok(all)
}

/// The tenants the dashboard shows a series for: the viewer's children, or
/// the viewer's own tenant when it has none.
fn levels(tenants: &[Tenant], own: TenantId) -> Vec<&Tenant> {
    let mut children: Vec<&Tenant> = tenants.iter().filter(|t| t.parent == Some(own)).collect();
    if children.is_empty() {
        children = tenants.iter().filter(|t| t.id == own).collect();
    }
    children.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    children
}

/// `GET /console/`.
async fn dashboard(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Response {
    match render(&state, &viewer, OffsetDateTime::now_utc()).await {
        Ok(body) => {
            let t = messages();
            let changed = query.unwrap_or_default().contains("password=changed");
            let body = html! {
                @if changed { (notice(t.password_changed, false)) }
                (body)
            };
            Page {
                title: t.dashboard,
                viewer: Some(&viewer),
                current: PATH,
                body,
            }
            .respond()
        }
        Err(error) => error.into_response(),
    }
}

/// The dashboard's content at `now` (public to the crate for the benchmark).
pub async fn render(
    state: &ServerState,
    viewer: &Viewer,
    now: OffsetDateTime,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let caller = viewer.caller();
    let sensors = match statuses_under(state, caller, None).await {
        Ok(statuses) => Some(statuses),
        Err(error) if error.status() == axum::http::StatusCode::FORBIDDEN => None,
        Err(error) => return Err(ConsoleError::new(error, Some(viewer))),
    };
    let tenants = visible_tenants(state, caller)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let chart = events_per_hour(state, caller, &tenants, now)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    // Who is on duty: only for roles that may see the roster.
    let on_call = match state.app.duty().on_call(caller, None, None, None).await {
        Ok(on_call) => Some(on_call),
        Err(AppError::Forbidden(_)) => None,
        Err(error) => return Err(ConsoleError::new(error, Some(viewer))),
    };
    Ok(html! {
        @if let Some(on_call) = &on_call {
            h2 { (t.on_call_now) }
            @if on_call.is_empty() {
                p { (t.no_schedules) }
            } @else {
                ul #on-call-now {
                    @for schedule in on_call {
                        li {
                            (schedule.name) " · " (schedule.team) ": "
                            @match &schedule.shift {
                                Some(shift) => strong { (shift.user) },
                                None => strong.problem { (t.nobody_on_call) },
                            }
                        }
                    }
                }
                p { a href=(super::duty::PATH) { (t.duty) } }
            }
        }
        h2 { (t.sensors) }
        @match &sensors {
            Some(statuses) => {
                @let silent = statuses.iter().filter(|s| s.silent).count();
                @let sending = statuses.iter().filter(|s| !s.silent && s.last_event_at.is_some()).count();
                @let never = statuses.len() - silent - sending;
                div.cards {
                    div.card { div.figure.state-good { (sending) } div { (t.sensors_healthy) } }
                    div.card { div.figure.state-bad { (silent) } div { (t.sensors_silent) } }
                    div.card { div.figure { (never) } div { (t.never_sent) } }
                }
                p { a href=(super::sensors::PATH) { (t.sensors) } }
            }
            None => p.note { (t.not_for_your_role) }
        }
        h2 { (t.events_per_hour) }
        @match chart {
            Some((bars, series)) => {
                @if series.iter().all(|s| s.values.iter().all(|v| *v == 0)) {
                    p { (t.no_events_last_day) }
                }
                (stacked_bars("events-per-hour", t.events_per_hour_alt, &bars, &series))
            }
            None => p.note { (t.aggregates_only) " " (t.not_for_your_role) }
        }
    })
}

/// Events per hour over the last day, one series per tenant at the level
/// below the viewer; `None` when the viewer's role may not search events.
async fn events_per_hour(
    state: &ServerState,
    caller: &Caller,
    tenants: &[Tenant],
    now: OffsetDateTime,
) -> Result<Option<(Vec<String>, Vec<Series>)>, ApiError> {
    let Some(telemetry) = state.telemetry.as_ref() else {
        return Ok(None);
    };
    let end = now
        .replace_minute(0)
        .unwrap_or(now)
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        + Duration::HOUR;
    let start = end - Duration::hours(HOURS);
    let mut scopes = Vec::new();
    for tenant in levels(tenants, caller.tenant_id()) {
        match state.app.events_scope_under(caller, Some(tenant.id)).await {
            Ok(scope) => scopes.push((tenant.name.as_str().to_owned(), scope)),
            Err(AppError::Forbidden(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        }
    }
    let index = telemetry.index.clone();
    let series = tokio::task::spawn_blocking(move || {
        scopes
            .into_iter()
            .map(|(label, scope)| {
                let values = (0..HOURS)
                    .map(|h| {
                        let from = start + Duration::hours(h);
                        index.count(&EventQuery::new(&scope).between(from, from + Duration::HOUR))
                    })
                    .collect::<Result<Vec<u64>, _>>()?;
                Ok(Series { label, values })
            })
            .collect::<Result<Vec<Series>, nigehban_search::SearchError>>()
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|error| {
        tracing::error!(%error, "counting events for the dashboard failed");
        ApiError::internal()
    })?;
    let bars = (0..HOURS)
        .map(|h| {
            let at = start + Duration::hours(h);
            format!("{:02}:00Z", at.hour())
        })
        .collect();
    Ok(Some((bars, series)))
}
