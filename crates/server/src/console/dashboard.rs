//! The dashboard: the picture at the viewer's level. The national CERT sees
//! its sectors, a sectoral CERT its organisations, an organisation itself;
//! what a role may not see (the council has no event search) is left out by
//! the same policy the API applies, never by a rule of the console's own.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::model::{IncidentSeverity, Severity, StageState, Tenant, TenantId, Timestamp};
use nigehban_app::{AppError, Caller, IncidentListing, IncidentSight, PageRequest};
use nigehban_search::{Aggregation, EventQuery};
use time::{Duration, OffsetDateTime};

use super::charts::{Series, stacked_bars};
use super::frame::{ConsoleError, Page, notice, time};
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

/// The tenant at the dashboard's level (a child of `own`, or `own` itself)
/// that `tenant` lies under; `None` when it lies above or beside `own`.
fn level_of(tenants: &[Tenant], own: TenantId, tenant: TenantId) -> Option<TenantId> {
    let mut at = tenant;
    // A tree deeper than the tenants listed would be a cycle: stop there.
    for _ in 0..=tenants.len() {
        if at == own {
            return Some(own);
        }
        let parent = tenants.iter().find(|t| t.id == at)?.parent?;
        if parent == own {
            return Some(at);
        }
        at = parent;
    }
    None
}

/// The hours the dashboard's charts cover: the start of the first, and a
/// label per hour, ending with the current hour.
fn last_day(now: OffsetDateTime) -> (OffsetDateTime, Vec<String>) {
    let end = now
        .replace_minute(0)
        .unwrap_or(now)
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        + Duration::HOUR;
    let start = end - Duration::hours(HOURS);
    let bars = (0..HOURS)
        .map(|h| {
            let at = start + Duration::hours(h);
            format!("{:02}:00Z", at.hour())
        })
        .collect();
    (start, bars)
}

/// `GET /console/`.
async fn dashboard(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Response {
    match render(&state, &viewer, state.app.clock().now().to_datetime()).await {
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
    let (start, bars) = last_day(now);
    let chart = events_per_hour(state, caller, &tenants, start)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let alert_charts = alerts_per_hour(state, caller, &tenants, start)
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let incidents = open_incidents(state, caller, &tenants, now)
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
        @if let Some((by_severity, by_tenant)) = &alert_charts {
            h2 { (t.alerts_per_hour_by_severity) }
            @if by_severity.iter().all(|s| s.values.iter().all(|v| *v == 0)) {
                p { (t.no_alerts_last_day) }
            }
            (stacked_bars("alerts-by-severity", t.alerts_per_hour_by_severity_alt, &bars, by_severity))
            h2 { (t.alerts_per_hour_by_tenant) }
            (stacked_bars("alerts-by-tenant", t.alerts_per_hour_by_tenant_alt, &bars, by_tenant))
            p { a href=(super::alerts::PATH) { (t.alerts) } }
        }
        @if let Some(incidents) = &incidents {
            (incidents.render())
        }
        h2 { (t.events_per_hour) }
        @match chart {
            Some(series) => {
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
    start: OffsetDateTime,
) -> Result<Option<Vec<Series>>, ApiError> {
    let Some(telemetry) = state.telemetry.as_ref() else {
        return Ok(None);
    };
    let mut scopes = Vec::new();
    for tenant in levels(tenants, caller.tenant_id()) {
        match state.app.events_scope_under(caller, Some(tenant.id)).await {
            Ok(scope) => scopes.push((tenant.name.as_str().to_owned(), scope)),
            Err(AppError::Forbidden(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        }
    }
    let index = telemetry.index.clone();
    // One hourly aggregation per series (hours are aligned on the epoch, as `start` is).
    let per_hour = Aggregation {
        interval: Some(std::time::Duration::from_secs(3600)),
        ..Aggregation::default()
    };
    let series = tokio::task::spawn_blocking(move || {
        scopes
            .into_iter()
            .map(|(label, scope)| {
                let query = EventQuery::new(&scope).between(start, start + Duration::hours(HOURS));
                let mut values = vec![0u64; HOURS as usize];
                for bucket in index
                    .aggregate(&query, &per_hour)?
                    .over_time
                    .unwrap_or_default()
                {
                    let hour = (bucket.start - start).whole_hours();
                    if let Some(value) = usize::try_from(hour).ok().and_then(|h| values.get_mut(h))
                    {
                        *value += bucket.count;
                    }
                }
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
    Ok(Some(series))
}

/// Alerts first seen per hour over the last day: one series per severity
/// (most serious first) and one per tenant at the level below the viewer;
/// `None` when the viewer's role may not see alerts.
async fn alerts_per_hour(
    state: &ServerState,
    caller: &Caller,
    tenants: &[Tenant],
    start: OffsetDateTime,
) -> Result<Option<(Vec<Series>, Vec<Series>)>, ApiError> {
    let from = Timestamp::from_datetime(start);
    let to = Timestamp::from_datetime(start + Duration::hours(HOURS));
    let counts = match state
        .app
        .alerts()
        .counts_per_hour(caller, None, from, to)
        .await
    {
        Ok(counts) => counts,
        Err(AppError::Forbidden(_)) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let first_hour = start.unix_timestamp().div_euclid(3600);
    let slot = |hour: i64| {
        usize::try_from(hour - first_hour)
            .ok()
            .filter(|h| *h < HOURS as usize)
    };
    let empty = || vec![0u64; HOURS as usize];
    let mut by_severity: Vec<Series> = Severity::ALL
        .iter()
        .rev()
        .map(|severity| Series {
            label: severity.as_str().to_owned(),
            values: empty(),
        })
        .collect();
    let own = caller.tenant_id();
    let levels = levels(tenants, own);
    let mut by_tenant: Vec<Series> = levels
        .iter()
        .map(|tenant| Series {
            label: tenant.name.as_str().to_owned(),
            values: empty(),
        })
        .collect();
    for count in counts {
        let Some(hour) = slot(count.hour) else {
            continue;
        };
        if let Some(series) = by_severity
            .iter_mut()
            .find(|s| s.label == count.severity.as_str())
        {
            series.values[hour] += count.count;
        }
        let level = level_of(tenants, own, count.tenant);
        let index = match levels.iter().position(|t| Some(t.id) == level) {
            Some(index) => index,
            None => {
                // The viewer's own tenant's alerts, beside its children's.
                let Some(own_tenant) = tenants.iter().find(|t| Some(t.id) == level) else {
                    continue;
                };
                by_tenant.push(Series {
                    label: own_tenant.name.as_str().to_owned(),
                    values: empty(),
                });
                by_tenant.len() - 1
            }
        };
        by_tenant[index].values[hour] += count.count;
    }
    Ok(Some((by_severity, by_tenant)))
}

/// Most incidents the dashboard reads (pages of the largest size).
const MOST_INCIDENTS_READ: usize = 10_000;

/// Open incidents counted by tenant at the level below the viewer and
/// severity, and the reporting deadlines among them that lapsed.
struct OpenIncidents {
    /// Tenant name, then counts in [`IncidentSeverity::ALL`] order, most serious last.
    rows: Vec<(String, [u64; 4])>,
    /// Readable id, title (when the viewer sees it), stage name, when it was due.
    overdue: Vec<(String, Option<String>, String, Timestamp)>,
}

impl OpenIncidents {
    fn render(&self) -> Markup {
        let t = messages();
        html! {
            h2 { (t.open_incidents_by_severity) }
            @if self.rows.is_empty() {
                p #open-incidents-none { (t.no_open_incidents) }
            } @else {
                table #open-incidents {
                    thead {
                        tr {
                            th scope="col" { (t.tenant) }
                            @for severity in IncidentSeverity::ALL.iter().rev() {
                                th scope="col" { (severity.as_str()) }
                            }
                            th scope="col" { (t.total) }
                        }
                    }
                    tbody {
                        @for (name, counts) in &self.rows {
                            tr {
                                th scope="row" { (name) }
                                @for count in counts.iter().rev() { td { (count) } }
                                td { (counts.iter().sum::<u64>()) }
                            }
                        }
                    }
                }
                p { a href=(super::incidents::PATH) { (t.incidents) } }
            }
            h2 { (t.overdue_deadlines) }
            @if self.overdue.is_empty() {
                p #overdue-none { (t.no_overdue_deadlines) }
            } @else {
                table #overdue-deadlines {
                    thead {
                        tr {
                            th scope="col" { (t.incident) }
                            th scope="col" { (t.reporting_stage) }
                            th scope="col" { (t.due) }
                        }
                    }
                    tbody {
                        @for (readable, title, stage, due) in &self.overdue {
                            tr {
                                td {
                                    a href=(format!("{}/{readable}", super::incidents::PATH)) { (readable) }
                                    @if let Some(title) = title { " " (title) }
                                }
                                td { (stage) }
                                td.problem { (time(due.to_datetime())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The open incidents the viewer sees, by the same listing the incidents
/// page uses; `None` when the viewer's role may not see incidents.
async fn open_incidents(
    state: &ServerState,
    caller: &Caller,
    tenants: &[Tenant],
    now: OffsetDateTime,
) -> Result<Option<OpenIncidents>, ApiError> {
    let own = caller.tenant_id();
    let t = messages();
    let mut rows: Vec<(String, [u64; 4])> = Vec::new();
    let mut overdue = Vec::new();
    let now = Timestamp::from_datetime(now);
    let mut page = PageRequest::first(nigehban_app::MAX_PAGE_LIMIT);
    let mut read = 0;
    loop {
        let listing = IncidentListing {
            under: None,
            status: None,
            open_only: true,
        };
        let batch = match state.app.incidents().list(caller, listing, &page).await {
            Ok(batch) => batch,
            Err(AppError::Forbidden(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        read += batch.items.len();
        for sight in &batch.items {
            let (readable, owner, severity, title, regulatory) = match sight {
                IncidentSight::Full(i) | IncidentSight::Participant(i) => (
                    &i.readable_id,
                    i.owner,
                    Some(i.severity),
                    Some(i.title.clone()),
                    &i.regulatory,
                ),
                IncidentSight::Limited(i) => (&i.readable_id, i.owner, None, None, &i.regulatory),
            };
            if let Some(severity) = severity {
                let name = match level_of(tenants, own, owner)
                    .and_then(|level| tenants.iter().find(|t| t.id == level))
                {
                    Some(tenant) => tenant.name.as_str().to_owned(),
                    None => t.owned_above.to_owned(),
                };
                let at = match rows.iter().position(|(n, _)| *n == name) {
                    Some(at) => at,
                    None => {
                        rows.push((name, [0; 4]));
                        rows.len() - 1
                    }
                };
                if let Some(column) = IncidentSeverity::ALL.iter().position(|s| *s == severity) {
                    rows[at].1[column] += 1;
                }
            }
            for stage in regulatory.iter().flat_map(|clock| &clock.stages) {
                if stage.state(now) == StageState::Lapsed {
                    overdue.push((
                        readable.to_string(),
                        title.clone(),
                        stage.name.clone(),
                        stage.due_at,
                    ));
                }
            }
        }
        match batch.next {
            Some(next) if read < MOST_INCIDENTS_READ => {
                page = PageRequest::after(next, nigehban_app::MAX_PAGE_LIMIT);
            }
            _ => break,
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    overdue.sort_by_key(|(_, _, _, due)| *due);
    Ok(Some(OpenIncidents { rows, overdue }))
}
