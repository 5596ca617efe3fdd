//! The alert queue: list and read alerts (with their matching events from
//! search), triage them (assign, acknowledge, close, reopen, comment, in
//! bulk), and follow new and changed alerts live (server-sent events).
//!
//! Every call goes through the app's one policy; an alert the caller may
//! not see is answered exactly like one that does not exist.
//!
//! # The live stream (`GET /api/v1/alerts/stream`)
//!
//! `text/event-stream`, one event per change of an alert the caller may
//! see, in the order the changes were stored:
//!
//! ```text
//! id: 1042
//! event: alert
//! data: {"seq":1042,"change":"opened","alert":{...}}
//! ```
//!
//! `change` is `opened`, `folded`, `triaged` or `commented`; `alert` is the
//! alert as it is when the event is sent. The `id` is the change's number:
//! a client that reconnects with `Last-Event-ID` (browsers' `EventSource`
//! do) or `?after=` gets every change after it that is still kept (7 days
//! by default). A stream started without either begins with the changes
//! made after it started. Comment lines (`: keep-alive`) come every 15
//! seconds when nothing happens, so proxies keep the connection open. The
//! caller's credentials are checked again every 30 seconds and the stream
//! ends when they are no longer valid; what the caller may see is decided
//! again for every change.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use nigehban_app::model::{
    Alert, AlertComment, AlertCommentId, AlertId, AlertStatus, AlertText, AlertTriage, ReopenAs,
    Resolution, SensorId, Severity, TenantId, Timestamp, UserId,
};
use nigehban_app::{AlertListing, AlertUpdate, AppError, Caller};
use nigehban_search::TenantScope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{page_request, parse_tenant_param};
use crate::routes::events::{EventView, view_of};

/// The alert routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(alert_stream))
        .routes(routes!(bulk_change))
        .routes(routes!(get_alert))
        .routes(routes!(assign_alert))
        .routes(routes!(acknowledge_alert))
        .routes(routes!(close_alert))
        .routes(routes!(reopen_alert))
        .routes(routes!(comment_alert))
}

/// How often a stream with nothing to send looks at the change feed for
/// changes other processes (other API nodes) stored; changes this process
/// stores wake it at once.
pub const STREAM_POLL: Duration = Duration::from_secs(1);

/// How often a stream checks the caller's credentials again.
pub const STREAM_REAUTHENTICATE: Duration = Duration::from_secs(30);

/// How often a quiet stream sends a keep-alive comment.
pub const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Changes read from the feed at a time by a stream.
const STREAM_READ: u32 = 200;

/// The rule that raised an alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertRuleView {
    /// The rule's id (a Sigma rule's `id`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its level: informational, low, medium, high, critical.
    pub level: String,
    /// Its author.
    pub author: Option<String>,
    /// Its references.
    pub references: Vec<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The MITRE ATT&CK technique ids among its tags (`T1059.001`).
    pub attack_techniques: Vec<String>,
}

/// An alert: the matching events of one rule and one key, folded, and its triage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: AlertId,
    /// The tenant the events belong to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The sensor of the first event.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub sensor: Option<SensorId>,
    /// What raised it: sigma_rule, correlation_rule, indicator_match, sensor_health, deadline.
    pub source: String,
    /// The rule, as it was when the alert opened.
    pub rule: AlertRuleView,
    /// How serious: informational, low, medium, high, critical (the rule's level).
    pub severity: String,
    /// The host of the first event.
    pub host: Option<String>,
    /// The user of the first event.
    pub user: Option<String>,
    /// How many events matched.
    pub event_count: u64,
    /// The first 100 matching events' ids.
    pub event_ids: Vec<String>,
    /// The fields that matched in the first event, with their values.
    #[schema(value_type = Object)]
    pub matched_fields: serde_json::Map<String, serde_json::Value>,
    /// The earliest matching event's time.
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    /// The latest matching event's time.
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    /// new, acknowledged or closed.
    pub status: String,
    /// Who is working on it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee: Option<UserId>,
    /// When it was (last) acknowledged.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    /// When it was closed, while closed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    /// Why it was closed: true_positive, false_positive, benign, duplicate.
    pub resolution: Option<String>,
    /// The closing note.
    pub resolution_note: Option<String>,
    /// Raised by a retro-hunt over past events.
    pub retrospective: bool,
    /// Exercise data (never mixed with real alerts).
    pub exercise: bool,
    /// When it was stored.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The incident it was linked to (`/api/v1/incidents/{id}`), if any.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident: Option<nigehban_app::model::IncidentId>,
}

impl From<Alert> for AlertView {
    fn from(alert: Alert) -> Self {
        let attack_techniques = alert.rule.attack_techniques();
        Self {
            id: alert.id,
            tenant: alert.tenant,
            sensor: alert.sensor,
            source: alert.source.as_str().to_owned(),
            rule: AlertRuleView {
                id: alert.rule.id,
                title: alert.rule.title,
                level: alert.rule.level.as_str().to_owned(),
                author: alert.rule.author,
                references: alert.rule.references,
                tags: alert.rule.tags,
                attack_techniques,
            },
            severity: alert.severity.as_str().to_owned(),
            host: alert.host,
            user: alert.user,
            event_count: alert.count,
            event_ids: alert.event_ids,
            matched_fields: alert.matched_fields,
            first_seen: alert.first_seen,
            last_seen: alert.last_seen,
            status: alert.status.as_str().to_owned(),
            assignee: alert.assignee,
            acknowledged_at: alert.acknowledged_at,
            closed_at: alert.closed_at,
            resolution: alert.resolution.map(|r| r.as_str().to_owned()),
            resolution_note: alert.resolution_note.map(String::from),
            retrospective: alert.retrospective,
            exercise: alert.exercise,
            created_at: alert.created_at,
            updated_at: alert.updated_at,
            incident: alert.incident,
        }
    }
}

/// A comment on an alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: AlertCommentId,
    /// The alert.
    #[schema(value_type = String, format = Uuid)]
    pub alert: AlertId,
    /// Who wrote it (null: the operator at the command line).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub author: Option<UserId>,
    /// What they wrote.
    pub body: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<AlertComment> for CommentView {
    fn from(comment: AlertComment) -> Self {
        Self {
            id: comment.id,
            alert: comment.alert,
            author: comment.author,
            body: comment.body.into(),
            at: comment.at,
        }
    }
}

/// A page of alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    /// The alerts, newest last event first.
    pub items: Vec<AlertView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The query of the alert list (every parameter optional; `status` and
/// `severity` take comma-separated lists and may repeat).
///
/// This type documents the query string; [`parse_list_query`] reads it.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Alerts of this tenant (default: the caller's).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// `true` (default): and of the tenants below it; `false`: of that tenant only.
    #[param(value_type = Option<bool>)]
    pub descendants: Option<String>,
    /// Only these statuses: new, acknowledged, closed.
    #[param(style = Form, explode)]
    pub status: Option<Vec<String>>,
    /// Only these severities: informational, low, medium, high, critical.
    #[param(style = Form, explode)]
    pub severity: Option<Vec<String>>,
    /// Only this severity and those above it (instead of `severity`).
    pub min_severity: Option<String>,
    /// Only this rule's (its id).
    pub rule: Option<String>,
    /// Only those whose first event came from this sensor.
    #[param(value_type = Option<String>, format = Uuid)]
    pub sensor: Option<String>,
    /// Only those assigned to this user.
    #[param(value_type = Option<String>, format = Uuid)]
    pub assignee: Option<String>,
    /// First event at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub first_seen_from: Option<String>,
    /// First event before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub first_seen_to: Option<String>,
    /// Last event at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub last_seen_from: Option<String>,
    /// Last event before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub last_seen_to: Option<String>,
    /// Text in the rule's title or id, the host or the user (ASCII case ignored).
    pub q: Option<String>,
    /// `true`: exercise alerts instead of real ones (default `false`; the two never mix).
    #[param(value_type = Option<bool>)]
    pub exercise: Option<String>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// What a list request asked for.
#[derive(Debug)]
pub(crate) struct ListAsked {
    pub(crate) listing: AlertListing,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<String>,
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::invalid_value(message).with_field(field)
}

fn parse_bool(field: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(
            field,
            format!("{field} must be true or false; got {other:?}"),
        )),
    }
}

fn parse_time(field: &str, value: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(value.trim()).map_err(|error| {
        invalid(
            field,
            format!("{field} must be an RFC 3339 time such as 2024-03-15T10:22:14Z: {error}"),
        )
    })
}

fn parse_word<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|error: T::Err| invalid(field, format!("{field}: {error}")))
}

fn parse_id<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    parse_word(field, value)
}

/// Reads the list's query string strictly: an unknown parameter, or one
/// given twice that may not repeat, is refused.
pub(crate) fn parse_list_query(raw: Option<&str>) -> Result<ListAsked, ApiError> {
    let mut listing = AlertListing::default();
    let mut single: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut statuses = Vec::new();
    let mut severities = Vec::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        match name.as_str() {
            "status" => statuses.extend(
                value
                    .split(',')
                    .filter(|w| !w.trim().is_empty())
                    .map(|w| parse_word::<AlertStatus>("status", w))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "severity" => severities.extend(
                value
                    .split(',')
                    .filter(|w| !w.trim().is_empty())
                    .map(|w| parse_word::<Severity>("severity", w))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "under" | "descendants" | "min_severity" | "rule" | "sensor" | "assignee"
            | "first_seen_from" | "first_seen_to" | "last_seen_from" | "last_seen_to" | "q"
            | "exercise" | "cursor" | "limit" => {
                if single.insert(name.clone(), value).is_some() {
                    return Err(ApiError::bad_request(format!(
                        "query string: `{name}` given twice"
                    ))
                    .with_field(name));
                }
            }
            other => {
                return Err(ApiError::unknown_field(format!(
                    "query string: unknown field `{other}`, expected one of `under`, `descendants`, `status`, `severity`, `min_severity`, `rule`, `sensor`, `assignee`, `first_seen_from`, `first_seen_to`, `last_seen_from`, `last_seen_to`, `q`, `exercise`, `cursor`, `limit`"
                )));
            }
        }
    }
    let get = |name: &str| single.get(name).map(String::as_str);
    listing.under = parse_tenant_param(get("under"), "under")?;
    if let Some(value) = get("descendants") {
        listing.include_descendants = parse_bool("descendants", value)?;
    }
    if let Some(value) = get("exercise") {
        listing.exercise = parse_bool("exercise", value)?;
    }
    if let Some(value) = get("min_severity") {
        if !severities.is_empty() {
            return Err(invalid(
                "min_severity",
                "give either severity or min_severity, not both".into(),
            ));
        }
        let least: Severity = parse_word("min_severity", value)?;
        severities = Severity::ALL.into_iter().filter(|s| *s >= least).collect();
    }
    statuses.sort_by_key(|s| s.as_str());
    statuses.dedup();
    severities.sort();
    severities.dedup();
    listing.statuses = statuses;
    listing.severities = severities;
    listing.rule_id = get("rule")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    listing.sensor = get("sensor").map(|v| parse_id("sensor", v)).transpose()?;
    listing.assignee = get("assignee")
        .map(|v| parse_id("assignee", v))
        .transpose()?;
    listing.first_seen_from = get("first_seen_from")
        .map(|v| parse_time("first_seen_from", v))
        .transpose()?;
    listing.first_seen_to = get("first_seen_to")
        .map(|v| parse_time("first_seen_to", v))
        .transpose()?;
    listing.last_seen_from = get("last_seen_from")
        .map(|v| parse_time("last_seen_from", v))
        .transpose()?;
    listing.last_seen_to = get("last_seen_to")
        .map(|v| parse_time("last_seen_to", v))
        .transpose()?;
    listing.text = get("q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    Ok(ListAsked {
        listing,
        cursor: get("cursor").map(str::to_owned),
        limit: get("limit").map(str::to_owned),
    })
}

/// The alert queue: alerts of the caller's tenant (or `under`) and the tenants below it, newest last event first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(AlertsQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of alerts", body = AlertPage),
        (status = 400, description = "A parameter given twice", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role sees no alerts (council members, constituent reporters, administrators, auditors)", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad parameter, named in the answer", body = ErrorBody),
    )
)]
async fn list_alerts(
    State(state): State<ServerState>,
    who: Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<AlertPage>, ApiError> {
    let asked = parse_list_query(raw.as_deref())?;
    let page = page_request(asked.cursor.as_deref(), asked.limit.as_deref())?;
    let page = state
        .app
        .alerts()
        .list(&who.caller, asked.listing, &page)
        .await?;
    Ok(axum::Json(AlertPage {
        items: page.items.into_iter().map(AlertView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// The id in an alert's path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AlertPath {
    /// The alert's id.
    #[param(value_type = String, format = Uuid)]
    pub id: AlertId,
}

/// An alert with its comments and its matching events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertView,
    /// Its comments, oldest first.
    pub comments: Vec<CommentView>,
    /// Its matching events (of the ids it keeps) that search holds and the caller may read.
    pub events: Vec<EventView>,
    /// The ids of matching events not found: no longer in search (retention), not indexed yet, or not readable by the caller.
    pub missing_event_ids: Vec<String>,
    /// False when events could not be searched here (this server runs no event search, or the caller may not search events): then every id is in `missing_event_ids`.
    pub events_searched: bool,
}

/// One alert with its comments and the matching events fetched from search.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    params(AlertPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The alert", body = AlertDetail),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role sees no alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
    )
)]
async fn get_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
) -> Result<axum::Json<AlertDetail>, ApiError> {
    let alerts = state.app.alerts();
    let alert = alerts.get(&who.caller, path.id).await?;
    let comments = alerts.comments(&who.caller, path.id).await?;
    let (hits, missing_event_ids, events_searched) =
        matching_events(&state, &who.caller, &alert).await?;
    let events = hits.into_iter().map(|hit| view_of(hit, None)).collect();
    Ok(axum::Json(AlertDetail {
        alert: alert.into(),
        comments: comments.into_iter().map(CommentView::from).collect(),
        events,
        missing_event_ids,
        events_searched,
    }))
}

/// The alert's kept events from search, within what the caller may search
/// under the alert's tenant; the ids not found; whether search was asked
/// (the API and the console both look here).
pub(crate) async fn matching_events(
    state: &ServerState,
    caller: &Caller,
    alert: &Alert,
) -> Result<(Vec<nigehban_search::EventHit>, Vec<String>, bool), ApiError> {
    let all_missing = || Ok((Vec::new(), alert.event_ids.clone(), false));
    let Some(telemetry) = &state.telemetry else {
        return all_missing();
    };
    let scope = match state
        .app
        .events_scope_under(caller, Some(alert.tenant))
        .await
    {
        Ok(scope) => scope,
        Err(AppError::Forbidden(_)) => return all_missing(),
        Err(error) => return Err(error.into()),
    };
    let index = telemetry.index.clone();
    let ids = alert.event_ids.clone();
    let scope = TenantScope::from(scope);
    let found = tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match index.get(&scope, &id) {
                Ok(Some(hit)) => events.push(hit),
                Ok(None) => missing.push(id),
                Err(error) => return Err(error),
            }
        }
        Ok((events, missing))
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "alert event lookup thread failed");
        ApiError::internal()
    })?;
    match found {
        Ok((events, missing)) => Ok((events, missing, true)),
        Err(error) => {
            tracing::error!(%error, alert = %alert.id, "could not read an alert's events from search");
            Err(ApiError::internal())
        }
    }
}

/// Who to assign an alert to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A user who may see the alert, or null to unassign.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee: Option<UserId>,
}

/// Assign an alert to a user who may see it, or to nobody (analysts, responders, duty officers).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/assign",
    tag = "alerts",
    params(AlertPath),
    request_body = AssignRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The alert as changed", body = AlertView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not triage alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
        (status = 422, description = "The assignee does not exist or may not see the alert", body = ErrorBody),
    )
)]
async fn assign_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<axum::Json<AlertView>, ApiError> {
    let alert = state
        .app
        .alerts()
        .assign(&who.caller, path.id, request.assignee)
        .await?;
    Ok(axum::Json(alert.into()))
}

/// Acknowledge an alert: someone is on it (acknowledging again changes nothing).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/acknowledge",
    tag = "alerts",
    params(AlertPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The alert as changed", body = AlertView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not triage alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
        (status = 409, description = "The alert is closed: reopen it first", body = ErrorBody),
    )
)]
async fn acknowledge_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
) -> Result<axum::Json<AlertView>, ApiError> {
    let alert = state.app.alerts().acknowledge(&who.caller, path.id).await?;
    Ok(axum::Json(alert.into()))
}

/// How to close an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// true_positive, false_positive, benign or duplicate.
    #[schema(value_type = String)]
    pub resolution: Resolution,
    /// A note for the record (up to 10,000 characters).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub note: Option<AlertText>,
}

/// Close an alert with a resolution and an optional note.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/close",
    tag = "alerts",
    params(AlertPath),
    request_body = CloseRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The alert as changed", body = AlertView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not triage alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
        (status = 409, description = "The alert is closed already", body = ErrorBody),
        (status = 422, description = "A bad resolution or note", body = ErrorBody),
    )
)]
async fn close_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
    ApiJson(request): ApiJson<CloseRequest>,
) -> Result<axum::Json<AlertView>, ApiError> {
    let alert = state
        .app
        .alerts()
        .close(&who.caller, path.id, request.resolution, request.note)
        .await?;
    Ok(axum::Json(alert.into()))
}

/// How to reopen an alert.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// The status it goes back to: new (default) or acknowledged.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub to: Option<ReopenAs>,
}

/// Reopen a closed alert, back to `new` or `acknowledged`.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/reopen",
    tag = "alerts",
    params(AlertPath),
    request_body = ReopenRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The alert as changed", body = AlertView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not triage alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
        (status = 409, description = "The alert is not closed", body = ErrorBody),
    )
)]
async fn reopen_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
    ApiJson(request): ApiJson<ReopenRequest>,
) -> Result<axum::Json<AlertView>, ApiError> {
    let alert = state
        .app
        .alerts()
        .reopen(&who.caller, path.id, request.to.unwrap_or(ReopenAs::New))
        .await?;
    Ok(axum::Json(alert.into()))
}

/// A comment to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// The text (1 to 10,000 characters; line breaks allowed).
    #[schema(value_type = String)]
    pub body: AlertText,
}

/// Comment on an alert.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/comments",
    tag = "alerts",
    params(AlertPath),
    request_body = CommentRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The comment", body = CommentView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not triage alerts", body = ErrorBody),
        (status = 404, description = "No such alert that the caller may see", body = ErrorBody),
        (status = 422, description = "An empty or too long comment", body = ErrorBody),
    )
)]
async fn comment_alert(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<AlertPath>,
    ApiJson(request): ApiJson<CommentRequest>,
) -> Result<(StatusCode, axum::Json<CommentView>), ApiError> {
    let comment = state
        .app
        .alerts()
        .comment(&who.caller, path.id, request.body)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(comment.into())))
}

/// What to do to each alert of a bulk request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Acknowledge each.
    Acknowledge,
    /// Close each with `resolution` (and `note`).
    Close,
    /// Reopen each, to `to` (default new).
    Reopen,
    /// Assign each to `assignee` (null: unassign).
    Assign,
}

/// One change to many alerts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// acknowledge, close, reopen or assign.
    pub action: BulkAction,
    /// The alerts (1 to 1000; each changed once).
    #[schema(value_type = Vec<String>)]
    pub ids: Vec<AlertId>,
    /// For close: true_positive, false_positive, benign or duplicate.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// For close: a note.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub note: Option<AlertText>,
    /// For reopen: new (default) or acknowledged.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub to: Option<ReopenAs>,
    /// For assign: a user who may see the alerts, or null to unassign.
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub assignee: Option<UserId>,
}

impl BulkRequest {
    /// The change the request names, or why it does not name one.
    fn change(&self) -> Result<AlertTriage, ApiError> {
        let unexpected = |field: &str| {
            Err(invalid(
                field,
                format!("{field} does not go with the action {:?}", self.action),
            ))
        };
        if self.action != BulkAction::Close {
            if self.resolution.is_some() {
                return unexpected("resolution");
            }
            if self.note.is_some() {
                return unexpected("note");
            }
        }
        if self.action != BulkAction::Reopen && self.to.is_some() {
            return unexpected("to");
        }
        if self.action != BulkAction::Assign && self.assignee.is_some() {
            return unexpected("assignee");
        }
        Ok(match self.action {
            BulkAction::Acknowledge => AlertTriage::Acknowledge,
            BulkAction::Close => AlertTriage::Close {
                resolution: self
                    .resolution
                    .ok_or_else(|| invalid("resolution", "closing needs a resolution".into()))?,
                note: self.note.clone(),
            },
            BulkAction::Reopen => AlertTriage::Reopen {
                to: self.to.unwrap_or(ReopenAs::New),
            },
            BulkAction::Assign => AlertTriage::Assign(self.assignee),
        })
    }
}

/// Why one alert of a bulk request was not changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkError {
    /// Stable code, as in error answers: not_found, forbidden, conflict, invalid_value, internal.
    pub code: String,
    /// What was wrong.
    pub message: String,
}

/// What became of one alert of a bulk request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// The alert's id as given.
    #[schema(value_type = String, format = Uuid)]
    pub id: AlertId,
    /// Whether it was changed (or already as asked).
    pub ok: bool,
    /// The alert as it is now, when ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertView>,
    /// Why not, when not ok. An alert the caller may not see reads exactly like one that does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BulkError>,
}

/// The answer of a bulk request, one result per alert in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAnswer {
    /// One per distinct id.
    pub results: Vec<BulkResult>,
}

/// Apply one change to many alerts; each alert gets its own result (and its own audit entry).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/bulk",
    tag = "alerts",
    request_body = BulkRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One result per alert", body = BulkAnswer),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "No ids, too many, or fields that do not go with the action", body = ErrorBody),
    )
)]
async fn bulk_change(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<BulkRequest>,
) -> Result<axum::Json<BulkAnswer>, ApiError> {
    let change = request.change()?;
    let results = state
        .app
        .alerts()
        .bulk(&who.caller, &request.ids, change)
        .await?;
    Ok(axum::Json(BulkAnswer {
        results: results
            .into_iter()
            .map(|(id, result)| match result {
                Ok(alert) => BulkResult {
                    id,
                    ok: true,
                    alert: Some(alert.into()),
                    error: None,
                },
                Err(error) => {
                    let error = ApiError::from(error);
                    BulkResult {
                        id,
                        ok: false,
                        alert: None,
                        error: Some(BulkError {
                            code: error.code().to_owned(),
                            message: error.message().to_owned(),
                        }),
                    }
                }
            })
            .collect(),
    }))
}

/// The query of the live stream.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Resume after this change number (as `Last-Event-ID` does; the header wins).
    #[param(value_type = Option<u64>)]
    pub after: Option<String>,
    /// `true`: exercise alerts instead of real ones (default `false`).
    #[param(value_type = Option<bool>)]
    pub exercise: Option<String>,
}

/// One event of the live stream (its `data`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertStreamEvent {
    /// The change's number (also the event's `id`).
    pub seq: u64,
    /// opened, folded, triaged or commented.
    pub change: String,
    /// The alert as it is now.
    pub alert: AlertView,
}

/// The change number to resume after, from `Last-Event-ID` or `after`.
fn resume_point(headers: &HeaderMap, after: Option<&str>) -> Result<Option<u64>, ApiError> {
    let header = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .map_err(|_| invalid("Last-Event-ID", "Last-Event-ID is not text".into()))
        })
        .transpose()?;
    let (field, text) = match (header, after) {
        (Some(text), _) => ("Last-Event-ID", text),
        (None, Some(text)) => ("after", text),
        (None, None) => return Ok(None),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse::<u64>().map(Some).map_err(|_| {
        invalid(
            field,
            format!("{field} must be an event id from this stream (a whole number); got {text:?}"),
        )
    })
}

/// Follow new and changed alerts the caller may see, as server-sent events (resumable with `Last-Event-ID`).
#[utoipa::path(
    get,
    path = "/api/v1/alerts/stream",
    tag = "alerts",
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "`text/event-stream`: one `alert` event per change (see AlertStreamEvent), keep-alive comments", body = AlertStreamEvent, content_type = "text/event-stream"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role sees no alerts", body = ErrorBody),
        (status = 422, description = "A bad `Last-Event-ID`, `after` or `exercise`", body = ErrorBody),
    )
)]
async fn alert_stream(
    State(state): State<ServerState>,
    who: Authenticated,
    parts: Parts,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let exercise = query
        .exercise
        .as_deref()
        .map(|value| parse_bool("exercise", value))
        .transpose()?
        .unwrap_or(false);
    let resume = resume_point(&parts.headers, query.after.as_deref())?;
    let alerts = state.app.alerts();
    // Also refuses, before the stream starts, a caller who sees no alerts.
    let head = alerts.changes_head(&who.caller).await?;
    let after = resume.map_or(head, |after| after.min(head));
    let follower = Follower {
        wake: alerts.subscribe(),
        state,
        caller: who.caller,
        parts,
        after,
        exercise,
        pending: VecDeque::new(),
        authenticated_at: Instant::now(),
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower
            .next_event()
            .await
            .map(|event| (Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(STREAM_KEEP_ALIVE)))
}

/// One live stream's position and what it has read but not sent yet.
struct Follower {
    state: ServerState,
    caller: Caller,
    /// The request, to authenticate it again.
    parts: Parts,
    after: u64,
    exercise: bool,
    wake: tokio::sync::watch::Receiver<u64>,
    pending: VecDeque<AlertUpdate>,
    authenticated_at: Instant,
}

impl Follower {
    /// The next event to send, waiting for one; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                return Some(event_of(update));
            }
            if self.authenticated_at.elapsed() >= STREAM_REAUTHENTICATE {
                match Authenticated::from_request_parts(&mut self.parts, &self.state).await {
                    Ok(who) => {
                        self.caller = who.caller;
                        self.authenticated_at = Instant::now();
                    }
                    Err(error) => {
                        tracing::info!(%error, "alert stream ended: the credentials are no longer valid");
                        return None;
                    }
                }
            }
            // Mark what this process has written so far as seen before
            // reading, so a change written during the read wakes us again.
            self.wake.borrow_and_update();
            let read = self
                .state
                .app
                .alerts()
                .changes(&self.caller, self.after, STREAM_READ, self.exercise)
                .await;
            match read {
                Ok(updates) => {
                    self.after = updates.last_seq;
                    self.pending.extend(updates.items);
                    if !self.pending.is_empty() || updates.more {
                        continue;
                    }
                }
                Err(error @ (AppError::Forbidden(_) | AppError::Unauthenticated(_))) => {
                    tracing::info!(%error, "alert stream ended: the caller may no longer see alerts");
                    return None;
                }
                Err(error) => {
                    tracing::warn!(%error, "alert stream could not read the change feed; trying again");
                }
            }
            tokio::select! {
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        // The app is gone: the server is stopping.
                        return None;
                    }
                }
                () = tokio::time::sleep(STREAM_POLL) => {}
            }
        }
    }
}

fn event_of(update: AlertUpdate) -> Event {
    let data = AlertStreamEvent {
        seq: update.seq,
        change: update.kind.as_str().to_owned(),
        alert: update.alert.into(),
    };
    let event = Event::default().id(update.seq.to_string()).event("alert");
    match serde_json::to_string(&data) {
        Ok(json) => event.data(json),
        Err(error) => {
            tracing::error!(%error, "could not serialise an alert for the stream");
            event.data("{}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_query_is_read_strictly() {
        let asked = parse_list_query(Some(
            "status=new,acknowledged&status=new&min_severity=high&descendants=false&q=%20web%20&exercise=true&limit=5",
        ))
        .unwrap();
        assert_eq!(
            asked.listing.statuses,
            vec![AlertStatus::Acknowledged, AlertStatus::New]
        );
        assert_eq!(
            asked.listing.severities,
            vec![Severity::High, Severity::Critical]
        );
        assert!(!asked.listing.include_descendants);
        assert!(asked.listing.exercise);
        assert_eq!(asked.listing.text.as_deref(), Some("web"));
        assert_eq!(asked.limit.as_deref(), Some("5"));
        for (bad, status) in [
            ("colour=red", StatusCode::UNPROCESSABLE_ENTITY),
            ("status=open", StatusCode::UNPROCESSABLE_ENTITY),
            ("severity=severe", StatusCode::UNPROCESSABLE_ENTITY),
            (
                "severity=low&min_severity=high",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            ("descendants=maybe", StatusCode::UNPROCESSABLE_ENTITY),
            ("last_seen_from=yesterday", StatusCode::UNPROCESSABLE_ENTITY),
            ("sensor=not-a-uuid", StatusCode::UNPROCESSABLE_ENTITY),
            ("rule=a&rule=b", StatusCode::BAD_REQUEST),
        ] {
            let error = parse_list_query(Some(bad)).unwrap_err();
            assert_eq!(error.status(), status, "{bad}: {error}");
        }
    }

    #[test]
    fn the_resume_point_comes_from_the_header_first() {
        let mut headers = HeaderMap::new();
        assert_eq!(resume_point(&headers, None).unwrap(), None);
        assert_eq!(resume_point(&headers, Some("7")).unwrap(), Some(7));
        headers.insert("last-event-id", "12".parse().unwrap());
        assert_eq!(resume_point(&headers, Some("7")).unwrap(), Some(12));
        headers.insert("last-event-id", "twelve".parse().unwrap());
        assert_eq!(
            resume_point(&headers, None).unwrap_err().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn bulk_fields_must_go_with_the_action() {
        let request =
            |json: serde_json::Value| -> BulkRequest { serde_json::from_value(json).unwrap() };
        let id = AlertId::new();
        assert_eq!(
            request(serde_json::json!({"action": "close", "ids": [id], "resolution": "benign"}))
                .change()
                .unwrap(),
            AlertTriage::Close {
                resolution: Resolution::Benign,
                note: None
            }
        );
        assert_eq!(
            request(serde_json::json!({"action": "reopen", "ids": [id]}))
                .change()
                .unwrap(),
            AlertTriage::Reopen { to: ReopenAs::New }
        );
        for bad in [
            serde_json::json!({"action": "close", "ids": [id]}),
            serde_json::json!({"action": "acknowledge", "ids": [id], "resolution": "benign"}),
            serde_json::json!({"action": "assign", "ids": [id], "to": "new"}),
        ] {
            assert!(request(bad.clone()).change().is_err(), "{bad}");
        }
    }
}
