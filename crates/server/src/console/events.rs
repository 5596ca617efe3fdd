//! Event search: the API's filters (time range, field filters, words anywhere
//! or in the message, order), read by the API's own reader, within the scope
//! the policy gives; each result expands to the whole normalised event and
//! its original record.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_search::EventHit;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::frame::{ConsoleError, Page, notice, respond, time};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;
use crate::error::ApiError;
use crate::routes::events::event_query;

/// Where the search page is.
pub const PATH: &str = "/console/events";

/// Results per page.
const PAGE: usize = 50;

/// The search route.
pub fn routes() -> Router<ServerState> {
    Router::new().route(PATH, get(search))
}

/// The time ranges offered, as (value, length); `custom` uses the from and to fields.
const RANGES: [(&str, Option<Duration>); 5] = [
    ("1h", Some(Duration::HOUR)),
    ("24h", Some(Duration::DAY)),
    ("7d", Some(Duration::WEEK)),
    ("30d", Some(Duration::days(30))),
    ("all", None),
];

/// `GET /console/events`.
async fn search(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render(&state, &viewer, &form, OffsetDateTime::now_utc()).await {
        Ok((status, body)) => {
            let t = messages();
            respond(
                status,
                Page {
                    title: t.events,
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

/// The API query string for the console's form at `now`.
fn api_query(form: &FormData, now: OffsetDateTime) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let range = form.get("range").unwrap_or("24h");
    match RANGES.iter().find(|(name, _)| *name == range) {
        Some((_, Some(length))) => {
            if let Ok(from) = (now - *length).format(&Rfc3339) {
                out.append_pair("from", &from);
            }
        }
        Some((_, None)) => {}
        None => {
            // `custom`: the from and to fields as typed (the API's reader judges them).
            for name in ["from", "to"] {
                if let Some(value) = form.text(name) {
                    out.append_pair(name, value);
                }
            }
        }
    }
    for name in ["q", "message"] {
        if let Some(value) = form.text(name) {
            out.append_pair(name, value);
        }
    }
    for line in form.get("filter").unwrap_or_default().lines() {
        if !line.trim().is_empty() {
            out.append_pair("filter", line.trim());
        }
    }
    if let Some(order) = form.text("order") {
        out.append_pair("order", order);
    }
    if let Some(cursor) = form.text("cursor") {
        out.append_pair("cursor", cursor);
    }
    out.append_pair("limit", &PAGE.to_string());
    out.finish()
}

/// The search page's content at `now` (public to the crate for the benchmark).
pub async fn render(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
    now: OffsetDateTime,
) -> Result<(StatusCode, Markup), ConsoleError> {
    let t = messages();
    let searched = !form.get("range").unwrap_or_default().is_empty();
    let results = if searched {
        match run(state, viewer, form, now).await {
            Ok(found) => Ok(Some(found)),
            Err(error)
                if error.status().is_client_error()
                    && error.status() != StatusCode::NOT_FOUND
                    && error.status() != StatusCode::FORBIDDEN =>
            {
                Err(error)
            }
            Err(error) => return Err(ConsoleError::new(error, Some(viewer))),
        }
    } else {
        Ok(None)
    };
    let status = if results.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        (search_form(form))
        @match &results {
            Err(error) => (notice(error.message(), true)),
            Ok(None) => {},
            Ok(Some((hits, next))) => {
                @if hits.is_empty() {
                    p role="status" { (t.no_events_match) }
                } @else {
                    section #results aria-label=(t.events) {
                        @for hit in hits { (event(hit)) }
                    }
                }
                @if let Some(cursor) = next {
                    p { a href=(next_link(form, cursor)) { (t.more_results) } }
                }
            }
        }
    };
    Ok((status, body))
}

/// Runs the search on a blocking thread (the index reads block).
async fn run(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
    now: OffsetDateTime,
) -> Result<(Vec<EventHit>, Option<String>), ApiError> {
    let raw = api_query(form, now);
    let (query, _fields) = event_query(state, viewer.caller(), Some(&raw)).await?;
    let index = state.telemetry()?.index.clone();
    tokio::task::spawn_blocking(move || {
        let mut hits = index.search(&query)?;
        let found = hits.by_ref().take(PAGE).collect::<Result<Vec<_>, _>>()?;
        Ok::<_, nigehban_search::SearchError>((found, hits.next_cursor()))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|error| match error {
        nigehban_search::SearchError::InvalidQuery(error) => {
            ApiError::invalid_value(error.to_string())
        }
        other => {
            tracing::error!(error = %other, "event search failed");
            ApiError::internal()
        }
    })
}

fn next_link(form: &FormData, cursor: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for name in ["range", "from", "to", "q", "message", "filter", "order"] {
        if let Some(value) = form.get(name) {
            out.append_pair(name, value);
        }
    }
    out.append_pair("cursor", cursor);
    format!("{PATH}?{}", out.finish())
}

fn search_form(form: &FormData) -> Markup {
    let t = messages();
    let range = form.get("range").unwrap_or("24h");
    let labels = [
        t.last_hour,
        t.last_day,
        t.last_week,
        t.last_month,
        t.any_time,
    ];
    html! {
        form.search method="get" action=(PATH) role="search" {
            label { (t.search_text) input name="q" type="search" value=(form.get("q").unwrap_or_default()); }
            label { (t.search_message) input name="message" value=(form.get("message").unwrap_or_default()); }
            label {
                (t.search_filters)
                span.hint { (t.search_filters_hint) }
                textarea name="filter" { (form.get("filter").unwrap_or_default()) }
            }
            label { (t.time_range)
                select name="range" {
                    @for ((value, _), label) in RANGES.iter().zip(labels) {
                        option value=(value) selected[*value == range] { (label) }
                    }
                    option value="custom" selected[range == "custom"] { (t.custom_range) }
                }
            }
            label { (t.from) span.hint { (t.time_hint) } input name="from" value=(form.get("from").unwrap_or_default()); }
            label { (t.to) span.hint { (t.time_hint) } input name="to" value=(form.get("to").unwrap_or_default()); }
            label { (t.order)
                select name="order" {
                    option value="newest" selected[form.get("order") != Some("oldest")] { (t.newest_first) }
                    option value="oldest" selected[form.get("order") == Some("oldest")] { (t.oldest_first) }
                }
            }
            button type="submit" { (t.search) }
        }
    }
}

/// One result: a summary line that expands to the whole event.
pub fn event(hit: &EventHit) -> Markup {
    let t = messages();
    let fields = hit.event.fields();
    let host = fields.get_str("host.name").unwrap_or("—");
    let summary = fields
        .get_str("message")
        .or_else(|| fields.get_str("event.original"))
        .or_else(|| hit.event.dataset())
        .unwrap_or("—");
    let summary: String = summary.chars().take(300).collect();
    let original = hit.event.original();
    let original_text = match &original.json {
        Some(json) => serde_json::to_string_pretty(json).unwrap_or_default(),
        None => original
            .text_lossy()
            .map(|text| text.into_owned())
            .unwrap_or_default(),
    };
    html! {
        details.event data-event-id=(hit.id) {
            summary {
                span { (time(hit.timestamp)) }
                span { (host) }
                span { (summary) }
            }
            h3 { (t.normalised_fields) }
            div.table-wrap tabindex="0" { table {
                tbody {
                    @for (name, value) in fields.iter() {
                        tr { th scope="row" { code { (name) } } td { (plain(value)) } }
                    }
                }
            } }
            @if !hit.event.diagnostics().is_empty() {
                h3 { (t.diagnostics) }
                ul { @for d in hit.event.diagnostics() { li { (d) } } }
            }
            h3 { (t.original_record) }
            pre.original { (original_text) }
        }
    }
}

/// A field value as text (strings without their quotes).
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_query() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let form = FormData::parse(b"range=1h&q=mimikatz&filter=host.name%3Dweb-1%0D%0Asource.ip%3D10.0.0.0%2F8&order=oldest");
        let raw = api_query(&form, now);
        assert_eq!(
            raw,
            "from=2023-11-14T21%3A13%3A20Z&q=mimikatz&filter=host.name%3Dweb-1&filter=source.ip%3D10.0.0.0%2F8&order=oldest&limit=50"
        );
        let custom = FormData::parse(b"range=custom&from=2024-01-01T00:00:00Z&to=");
        assert_eq!(
            api_query(&custom, now),
            "from=2024-01-01T00%3A00%3A00Z&limit=50"
        );
        let all = FormData::parse(b"range=all");
        assert_eq!(api_query(&all, now), "limit=50");
    }
}
