//! `GET /api/v1/events`: search the events the caller's tenants received, streamed.
//!
//! The search runs on a blocking thread (tantivy reads are blocking) and its
//! hits are serialised there and forwarded through a bounded channel, so an
//! answer of a million events is never held in memory and a slow reader
//! slows the search down instead of filling the server's memory.

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_search::{
    Aggregation, Aggregations, EventHit, EventQuery, FieldInfo, QueryError, SearchError, SortOrder,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::paging::parse_tenant_param;

/// The event search routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(search_events))
        .routes(routes!(event_fields))
        .routes(routes!(aggregate_events))
}

/// Hits returned when `limit` is not given.
pub const DEFAULT_EVENT_LIMIT: usize = 100;

/// Bytes of serialised hits gathered before they are sent on.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks waiting to be sent; beyond, the search waits for the client.
const CHANNEL_CHUNKS: usize = 16;

/// The query of an event search (every parameter optional; several may repeat).
///
/// This type documents the query string; [`parse_query`] reads it (serde's
/// query reader cannot take repeated parameters).
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Search the events of this tenant and the tenants below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Earliest `@timestamp`, inclusive (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Latest `@timestamp`, exclusive (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// An exact-match filter `FIELD=VALUE` (e.g. `host.name=web-1`, `source.ip=10.0.0.0/8`,
    /// `winlog.event_id=4688`); repeat for more. Different fields must all match; one field
    /// given twice matches either value.
    #[param(style = Form, explode)]
    pub filter: Option<Vec<String>>,
    /// A query in the event query language (README, "Searching events"): `field:value`,
    /// `field:=ExactCase`, `"phrases"`, wildcards (`process.name:*powershell*`),
    /// `AND`/`OR`/`NOT` with parentheses, ranges (`destination.port:[1 TO 1024]`,
    /// `@timestamp:>=2026-03-01`) and CIDR blocks (`source.ip:10.0.0.0/8`); a bare word is
    /// searched in every text value. Repeat to require several.
    #[param(style = Form, explode)]
    pub q: Option<Vec<String>>,
    /// A word or phrase that must occur in `message`; repeat for more.
    #[param(style = Form, explode)]
    pub message: Option<Vec<String>>,
    /// Most hits (1 to 1000000, default 100); the answer is streamed.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000000)]
    pub limit: Option<String>,
    /// Continue after the hit this cursor came from (`next_cursor` of the previous answer).
    pub cursor: Option<String>,
    /// `newest` (default) or `oldest` first.
    pub order: Option<String>,
    /// Comma-separated field names: return only these fields of each event (as `fields`)
    /// instead of the whole event with its original record.
    pub fields: Option<String>,
}

/// One event found.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// The event id (assigned at intake).
    pub id: String,
    /// The tenant that owns it.
    pub tenant: String,
    /// The sensor that sent it.
    pub sensor: Option<String>,
    /// Its `@timestamp` (RFC 3339).
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// Pass as `cursor` to continue after this event.
    pub cursor: String,
    /// The normalised event (ECS field names) with its original record; absent when `fields` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub event: Option<serde_json::Value>,
    /// The fields asked for with `fields` (absent fields are null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The answer of a search (streamed: `items` arrive one by one, `next_cursor` last).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events, in the order asked for.
    pub items: Vec<EventView>,
    /// Pass as `cursor` to continue; null when nothing more matches.
    pub next_cursor: Option<String>,
}

/// What a search request asked for, read from the query string.
#[derive(Debug, Default)]
struct Asked {
    under: Option<String>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    filters: Vec<(String, String)>,
    queries: Vec<String>,
    message: Vec<String>,
    limit: usize,
    cursor: Option<String>,
    order: SortOrder,
    fields: Option<Vec<String>>,
    top: Option<String>,
    size: Option<String>,
    interval: Option<String>,
}

/// Which endpoint a query string is for: each takes its own parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Search,
    Aggregate,
}

fn parse_time(value: &str, field: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|error| {
        ApiError::invalid_value(format!(
            "{field} must be an RFC 3339 time such as 2024-03-15T10:22:14Z: {error}"
        ))
        .with_field(field)
    })
}

/// Reads the query string strictly: an unknown parameter is refused, as everywhere in the API.
fn parse_query(raw: Option<&str>) -> Result<Asked, ApiError> {
    parse_query_for(raw, Endpoint::Search)
}

/// Reads the query string of `endpoint` strictly.
fn parse_query_for(raw: Option<&str>, endpoint: Endpoint) -> Result<Asked, ApiError> {
    let mut asked = Asked {
        limit: DEFAULT_EVENT_LIMIT,
        ..Asked::default()
    };
    let once = |slot: &Option<String>, name: &str| {
        if slot.is_some() {
            Err(
                ApiError::bad_request(format!("query string: `{name}` given twice"))
                    .with_field(name),
            )
        } else {
            Ok(())
        }
    };
    let mut limit: Option<String> = None;
    let mut order: Option<String> = None;
    let mut fields: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Option<String> = None;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "under" => {
                once(&asked.under, "under")?;
                asked.under = Some(value);
            }
            "from" => {
                once(&from, "from")?;
                from = Some(value);
            }
            "to" => {
                once(&to, "to")?;
                to = Some(value);
            }
            "filter" => {
                let Some((field, wanted)) = value.split_once('=') else {
                    return Err(ApiError::invalid_value(format!(
                        "filter {value:?} must be FIELD=VALUE, e.g. host.name=web-1"
                    ))
                    .with_field("filter"));
                };
                asked
                    .filters
                    .push((field.trim().to_owned(), wanted.to_owned()));
            }
            "q" if value.trim().is_empty() => {}
            "q" => asked.queries.push(value),
            "message" => asked.message.push(value),
            "top" if endpoint == Endpoint::Aggregate => {
                once(&asked.top, "top")?;
                asked.top = Some(value.trim().to_owned());
            }
            "size" if endpoint == Endpoint::Aggregate => {
                once(&asked.size, "size")?;
                asked.size = Some(value);
            }
            "interval" if endpoint == Endpoint::Aggregate => {
                once(&asked.interval, "interval")?;
                asked.interval = Some(value);
            }
            other
                if endpoint == Endpoint::Aggregate
                    && !matches!(other, "under" | "from" | "to" | "filter" | "q" | "message") =>
            {
                return Err(ApiError::unknown_field(format!(
                    "query string: unknown field `{other}`, expected one of `under`, `from`, `to`, `filter`, `q`, `message`, `top`, `size`, `interval`"
                )));
            }
            "limit" => {
                once(&limit, "limit")?;
                limit = Some(value);
            }
            "cursor" => {
                once(&asked.cursor, "cursor")?;
                asked.cursor = Some(value).filter(|c| !c.trim().is_empty());
            }
            "order" => {
                once(&order, "order")?;
                order = Some(value);
            }
            "fields" => {
                once(&fields, "fields")?;
                fields = Some(value);
            }
            other => {
                return Err(ApiError::unknown_field(format!(
                    "query string: unknown field `{other}`, expected one of `under`, `from`, `to`, `filter`, `q`, `message`, `limit`, `cursor`, `order`, `fields`"
                )));
            }
        }
    }
    asked.from = from.as_deref().map(|t| parse_time(t, "from")).transpose()?;
    asked.to = to.as_deref().map(|t| parse_time(t, "to")).transpose()?;
    if let Some(text) = limit {
        let max = nigehban_search::MAX_LIMIT;
        let bad = || {
            ApiError::invalid_value(format!(
                "limit must be a whole number from 1 to {max}; got {text:?}"
            ))
            .with_field("limit")
        };
        let value: usize = text.trim().parse().map_err(|_| bad())?;
        if value == 0 || value > max {
            return Err(bad());
        }
        asked.limit = value;
    }
    asked.order = match order.as_deref().map(str::trim) {
        None | Some("newest") => SortOrder::NewestFirst,
        Some("oldest") => SortOrder::OldestFirst,
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "order must be `newest` or `oldest`; got {other:?}"
            ))
            .with_field("order"));
        }
    };
    asked.fields = fields.map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    });
    Ok(asked)
}

/// Search events: time range, field filters and free-text terms, within the tenants the caller may see; the answer streams.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventsQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The events found, newest first unless asked otherwise (streamed)", body = EventPage),
        (status = 400, description = "A parameter given twice, a query that cannot be read (with its column), or a field no event in scope has (with the closest known names)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not search events", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad parameter (time, filter, limit, cursor, order), named in the answer", body = ErrorBody),
        (status = 503, description = "Event search is not running on this server", body = ErrorBody),
    )
)]
async fn search_events(
    State(state): State<ServerState>,
    who: Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (query, fields) = event_query(&state, &who.caller, raw.as_deref()).await?;
    let telemetry = state.telemetry()?;
    let index = telemetry.index.clone();
    let (started_tx, started_rx) = oneshot::channel::<Result<(), SearchError>>();
    let (chunks_tx, chunks_rx) = mpsc::channel::<Result<Bytes, io::Error>>(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        stream_hits(&index, &query, fields.as_deref(), started_tx, &chunks_tx);
    });
    match started_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(search_error(error)),
        Err(_) => {
            tracing::error!("event search thread ended before it started");
            return Err(ApiError::internal());
        }
    }
    let stream = futures_util::stream::unfold(chunks_rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// The search a query string asks for (the API's parameters, read strictly),
/// within the tenants the policy lets the caller search, and the fields to
/// return (`None`: whole events). The API and the console both build searches here.
pub(crate) async fn event_query(
    state: &ServerState,
    caller: &nigehban_app::Caller,
    raw: Option<&str>,
) -> Result<(EventQuery, Option<Vec<String>>), ApiError> {
    let asked = parse_query(raw)?;
    let under = parse_tenant_param(asked.under.as_deref(), "under")?;
    let scope = state.app.events_scope_under(caller, under).await?;
    // The policy's scope goes to the index as it is: nothing here names tenants.
    let mut query = EventQuery::new(scope).limit(asked.limit).order(asked.order);
    query.cursor = asked.cursor.clone();
    let query = build_query(query, &asked)?;
    Ok((query, asked.fields))
}

/// Adds what the request asked for (times, filters, queries, message terms) to `query`.
fn build_query(mut query: EventQuery, asked: &Asked) -> Result<EventQuery, ApiError> {
    query.from = asked.from;
    query.to = asked.to;
    for (field, value) in &asked.filters {
        query = query.filter(field.clone(), value.clone());
    }
    for text in &asked.queries {
        query = query
            .query_text(text)
            .map_err(|error| search_error(SearchError::InvalidQuery(error)))?;
    }
    query.message = asked.message.clone();
    Ok(query)
}

/// The API answer for a failed search: what the caller got wrong (400 for a query that
/// cannot be read or a field that does not exist, 422 for a bad value), or an internal error.
fn search_error(error: SearchError) -> ApiError {
    match error {
        SearchError::InvalidQuery(error @ QueryError::Syntax { .. }) => {
            ApiError::bad_request(error.to_string()).with_field("q")
        }
        SearchError::InvalidQuery(QueryError::UnknownField { field, closest }) => {
            let message = QueryError::UnknownField {
                field: field.clone(),
                closest,
            }
            .to_string();
            ApiError::bad_request(message).with_field(field)
        }
        SearchError::InvalidQuery(error) => ApiError::invalid_value(error.to_string()),
        SearchError::Closed => ApiError::unavailable("event search is not running"),
        error => {
            tracing::error!(%error, "event search failed");
            ApiError::internal()
        }
    }
}

/// Runs the search on this (blocking) thread and sends the answer in chunks:
/// `{"items":[` hit, hit, ... `],"next_cursor":...}`. A failure after the
/// answer began ends the stream with an error, so the client sees a cut
/// answer rather than a complete-looking one.
fn stream_hits(
    index: &nigehban_search::EventIndex,
    query: &EventQuery,
    fields: Option<&[String]>,
    started: oneshot::Sender<Result<(), SearchError>>,
    chunks: &mpsc::Sender<Result<Bytes, io::Error>>,
) {
    let mut hits = match index.search(query) {
        Ok(hits) => {
            let _ = started.send(Ok(()));
            hits
        }
        Err(error) => {
            let _ = started.send(Err(error));
            return;
        }
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    buffer.extend_from_slice(b"{\"items\":[");
    let mut first = true;
    for hit in hits.by_ref() {
        let hit = match hit {
            Ok(hit) => hit,
            Err(error) => {
                tracing::error!(%error, "event search failed while streaming");
                let _ = chunks.blocking_send(Err(io::Error::other("event search failed")));
                return;
            }
        };
        if !first {
            buffer.push(b',');
        }
        first = false;
        if let Err(error) = serde_json::to_writer(&mut buffer, &view_of(hit, fields)) {
            tracing::error!(%error, "could not serialise an event");
            let _ = chunks.blocking_send(Err(io::Error::other("could not serialise an event")));
            return;
        }
        if buffer.len() >= CHUNK_BYTES {
            let chunk = Bytes::from(std::mem::replace(
                &mut buffer,
                Vec::with_capacity(CHUNK_BYTES + 4096),
            ));
            if chunks.blocking_send(Ok(chunk)).is_err() {
                // The client went away.
                return;
            }
        }
    }
    buffer.extend_from_slice(b"],\"next_cursor\":");
    let next = hits.next_cursor();
    if serde_json::to_writer(&mut buffer, &next).is_err() {
        buffer.extend_from_slice(b"null");
    }
    buffer.push(b'}');
    let _ = chunks.blocking_send(Ok(Bytes::from(buffer)));
}

/// The API view of a hit: the whole event, or only the fields asked for.
pub(crate) fn view_of(hit: EventHit, fields: Option<&[String]>) -> EventView {
    let timestamp = hit
        .timestamp
        .format(&Rfc3339)
        .unwrap_or_else(|_| hit.timestamp.to_string());
    let (event, picked) = match fields {
        Some(names) => {
            let picked = names
                .iter()
                .map(|name| {
                    let value = hit
                        .event
                        .fields()
                        .get(name)
                        .cloned()
                        .unwrap_or(serde_json::Value::Null);
                    (name.clone(), value)
                })
                .collect();
            (None, Some(picked))
        }
        None => (serde_json::to_value(&hit.event).ok(), None),
    };
    EventView {
        id: hit.id,
        tenant: hit.tenant_id,
        sensor: hit.sensor_id,
        timestamp,
        cursor: hit.cursor,
        event,
        fields: picked,
    }
}

/// The parameters of `GET /api/v1/events/fields`.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FieldsQuery {
    /// List the fields of this tenant's events and those below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
}

/// A field that searches and filters can name.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    /// The dotted name (`host.name`, `winlog.event_data.TargetUserName`).
    pub name: String,
    /// `keyword`, `text`, `number`, `ip` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether `field:value` matches without case (`field:=value` keeps case).
    pub case_insensitive: bool,
    /// Whether `GET /api/v1/events/aggregate?top=` can count its values.
    pub aggregatable: bool,
}

/// The searchable fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldList {
    /// The fields, sorted by name: the built-in ones and every field the events in scope have.
    pub items: Vec<FieldView>,
}

impl From<FieldInfo> for FieldView {
    fn from(field: FieldInfo) -> Self {
        let kind = match field.kind {
            nigehban_search::FieldType::Keyword => "keyword",
            nigehban_search::FieldType::Text => "text",
            nigehban_search::FieldType::Number => "number",
            nigehban_search::FieldType::Ip => "ip",
            nigehban_search::FieldType::Date => "date",
        };
        FieldView {
            name: field.name,
            kind: kind.to_owned(),
            case_insensitive: field.case_insensitive,
            aggregatable: field.aggregatable,
        }
    }
}

/// List the fields that event searches can name, with their types, for the events the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/events/fields",
    tag = "events",
    params(FieldsQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The searchable fields", body = FieldList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not search events", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "An unknown parameter", body = ErrorBody),
        (status = 503, description = "Event search is not running on this server", body = ErrorBody),
    )
)]
async fn event_fields(
    State(state): State<ServerState>,
    who: Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<FieldList>, ApiError> {
    let mut under = None;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "under" if under.is_none() => under = Some(value.into_owned()),
            "under" => {
                return Err(
                    ApiError::bad_request("query string: `under` given twice").with_field("under")
                );
            }
            other => {
                return Err(ApiError::unknown_field(format!(
                    "query string: unknown field `{other}`, expected `under`"
                )));
            }
        }
    }
    let under = parse_tenant_param(under.as_deref(), "under")?;
    let scope = state.app.events_scope_under(&who.caller, under).await?;
    let index = state.telemetry()?.index.clone();
    let fields = tokio::task::spawn_blocking(move || index.fields(&scope.into()))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(search_error)?;
    Ok(axum::Json(FieldList {
        items: fields.into_iter().map(FieldView::from).collect(),
    }))
}

/// The parameters of `GET /api/v1/events/aggregate` (every one optional).
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AggregateQuery {
    /// Count the events of this tenant and the tenants below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Earliest `@timestamp`, inclusive (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Latest `@timestamp`, exclusive (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// An exact-match filter `FIELD=VALUE`, as in the search; repeat for more.
    #[param(style = Form, explode)]
    pub filter: Option<Vec<String>>,
    /// A query in the event query language, as in the search; repeat for more.
    #[param(style = Form, explode)]
    pub q: Option<Vec<String>>,
    /// A word or phrase that must occur in `message`; repeat for more.
    #[param(style = Form, explode)]
    pub message: Option<Vec<String>>,
    /// Count the top values of this field (an `aggregatable` field of `/api/v1/events/fields`).
    pub top: Option<String>,
    /// How many top values (1 to 1000, default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub size: Option<String>,
    /// Count events per interval of `@timestamp`: a number with `s`, `m`, `h` or `d` (`15m`, `1h`).
    pub interval: Option<String>,
}

/// One value of a field and how many events have it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueCountView {
    /// The value.
    pub value: String,
    /// Events with it.
    pub count: u64,
}

/// A field's most frequent values.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopValuesView {
    /// The field counted.
    pub field: String,
    /// Its values, most frequent first.
    pub values: Vec<ValueCountView>,
    /// Events with a value not among those listed.
    pub other: u64,
    /// Events without the field.
    pub missing: u64,
}

/// The events of one interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct BucketView {
    /// The interval's start (RFC 3339).
    pub start: String,
    /// Events in it.
    pub count: u64,
}

/// The counts of an aggregation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AggregateView {
    /// Events matching.
    pub total: u64,
    /// The top values, when `top` was given.
    pub top: Option<TopValuesView>,
    /// Events per interval, from the first to the last (or over `from`..`to`), when `interval` was given.
    pub over_time: Option<Vec<BucketView>>,
}

impl From<Aggregations> for AggregateView {
    fn from(counts: Aggregations) -> Self {
        AggregateView {
            total: counts.total,
            top: counts.top.map(|top| TopValuesView {
                field: top.field,
                values: top
                    .values
                    .into_iter()
                    .map(|v| ValueCountView {
                        value: v.value,
                        count: v.count,
                    })
                    .collect(),
                other: top.other,
                missing: top.missing,
            }),
            over_time: counts.over_time.map(|buckets| {
                buckets
                    .into_iter()
                    .map(|b| BucketView {
                        start: b
                            .start
                            .format(&Rfc3339)
                            .unwrap_or_else(|_| b.start.to_string()),
                        count: b.count,
                    })
                    .collect()
            }),
        }
    }
}

/// An interval such as `30s`, `15m`, `1h` or `1d`.
fn parse_interval(text: &str) -> Result<std::time::Duration, ApiError> {
    let bad = || {
        ApiError::invalid_value(format!(
            "interval must be a whole number with s, m, h or d, e.g. 15m or 1h; got {text:?}"
        ))
        .with_field("interval")
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if number == 0 {
        return Err(bad());
    }
    number
        .checked_mul(seconds)
        .map(std::time::Duration::from_secs)
        .ok_or_else(bad)
}

/// Count the events a search would find: the total, a field's top values and events over time.
#[utoipa::path(
    get,
    path = "/api/v1/events/aggregate",
    tag = "events",
    params(AggregateQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The counts", body = AggregateView),
        (status = 400, description = "A parameter given twice, a query that cannot be read, or a field no event in scope has", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not search events", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad parameter (time, filter, top, size, interval), named in the answer", body = ErrorBody),
        (status = 503, description = "Event search is not running on this server", body = ErrorBody),
    )
)]
async fn aggregate_events(
    State(state): State<ServerState>,
    who: Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<AggregateView>, ApiError> {
    let asked = parse_query_for(raw.as_deref(), Endpoint::Aggregate)?;
    let mut aggregation = Aggregation {
        top: asked.top.clone().filter(|t| !t.is_empty()),
        ..Aggregation::default()
    };
    if let Some(size) = &asked.size {
        aggregation.size = size.trim().parse().map_err(|_| {
            ApiError::invalid_value(format!(
                "size must be a whole number from 1 to 1000; got {size:?}"
            ))
            .with_field("size")
        })?;
    }
    aggregation.interval = asked.interval.as_deref().map(parse_interval).transpose()?;
    let under = parse_tenant_param(asked.under.as_deref(), "under")?;
    let scope = state.app.events_scope_under(&who.caller, under).await?;
    let index = state.telemetry()?.index.clone();
    let query = build_query(EventQuery::new(scope), &asked)?;
    let counts = tokio::task::spawn_blocking(move || index.aggregate(&query, &aggregation))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| match error {
            SearchError::InvalidQuery(QueryError::FieldName { name, reason })
                if Some(&name) == asked.top.as_ref() =>
            {
                ApiError::invalid_value(format!("top: field {name:?}: {reason}")).with_field("top")
            }
            other => search_error(other),
        })?;
    Ok(axum::Json(counts.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_is_read_strictly() {
        let asked = parse_query(Some(
            "filter=host.name%3Dweb-1&filter=source.ip=10.0.0.0/8&q=mimikatz&q=lsass&limit=5&order=oldest&fields=message,host.name&from=2024-01-01T00:00:00Z",
        ))
        .unwrap();
        assert_eq!(
            asked.filters,
            vec![
                ("host.name".to_owned(), "web-1".to_owned()),
                ("source.ip".to_owned(), "10.0.0.0/8".to_owned())
            ]
        );
        assert_eq!(asked.queries, vec!["mimikatz", "lsass"]);
        assert_eq!(asked.limit, 5);
        assert_eq!(asked.order, SortOrder::OldestFirst);
        assert_eq!(
            asked.fields,
            Some(vec!["message".to_owned(), "host.name".to_owned()])
        );
        assert!(asked.from.is_some());
        for (bad, status) in [
            ("colour=red", StatusCode::UNPROCESSABLE_ENTITY),
            ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
            ("limit=1000001", StatusCode::UNPROCESSABLE_ENTITY),
            ("limit=ten", StatusCode::UNPROCESSABLE_ENTITY),
            ("order=sideways", StatusCode::UNPROCESSABLE_ENTITY),
            ("from=yesterday", StatusCode::UNPROCESSABLE_ENTITY),
            ("filter=no-equals-sign", StatusCode::UNPROCESSABLE_ENTITY),
            ("limit=1&limit=2", StatusCode::BAD_REQUEST),
        ] {
            let error = parse_query(Some(bad)).unwrap_err();
            assert_eq!(error.status(), status, "{bad}: {error}");
        }
    }
}
