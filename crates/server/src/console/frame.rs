//! The frame every page sits in: the document head (the embedded style sheet
//! and script, never anything from elsewhere), the navigation, the signed-in
//! user and sign-out, and the way errors become pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::messages::{Messages, messages};
use super::session::Viewer;
use super::{NAV, assets};
use crate::error::ApiError;

/// The console's content security policy: scripts, styles and images only
/// from the server itself (no inline script, no inline style), forms only to it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page to send: its title, the signed-in viewer (for the navigation) and its body.
#[derive(Debug)]
pub struct Page<'a> {
    /// The title (also the `<h1>`).
    pub title: &'a str,
    /// Who is signed in; `None` for the sign-in page and errors before sign-in.
    pub viewer: Option<&'a Viewer>,
    /// The navigation entry to mark as current (its path).
    pub current: &'a str,
    /// The page's own content.
    pub body: Markup,
}

impl Page<'_> {
    /// The whole document.
    pub fn render(&self) -> Markup {
        let t = messages();
        html! {
            (DOCTYPE)
            html lang=(t.lang) dir=(t.dir) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · " (t.product) }
                    link rel="stylesheet" href=(assets::STYLE_PATH);
                    script src=(assets::SCRIPT_PATH) defer {}
                }
                body {
                    a.skip href="#main" { (t.skip_to_content) }
                    header.top {
                        a.brand href="/console/" { (t.product) }
                        @if let Some(viewer) = self.viewer {
                            nav aria-label=(t.navigation) {
                                ul {
                                    @for entry in NAV {
                                        li {
                                            @if entry.path == self.current {
                                                a href=(entry.path) aria-current="page" { ((entry.label)(t)) }
                                            } @else {
                                                a href=(entry.path) { ((entry.label)(t)) }
                                            }
                                        }
                                    }
                                }
                            }
                            div.who {
                                span { (t.signed_in_as) " " strong { (viewer.username()) } " · " (viewer.role()) " · " (viewer.tenant_name()) }
                                a href=(super::tokens::PATH) { (t.my_tokens) }
                                a href="/console/password" { (t.change_password) }
                                form method="post" action="/console/logout" {
                                    (viewer.csrf_field())
                                    button type="submit" { (t.sign_out) }
                                }
                            }
                        }
                    }
                    main #main {
                        h1 { (self.title) }
                        (self.body)
                    }
                    footer { p.note { (t.times_note) } }
                }
            }
        }
    }

    /// The page as a `200` response.
    pub fn respond(&self) -> Response {
        respond(StatusCode::OK, self.render())
    }
}

/// A rendered document as a response with the console's headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

/// A `303 See Other` to `location` (after a form, or to the sign-in page).
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A time: UTC in the document (and on hover); the script shows it in the
/// reader's own zone.
pub fn time(at: OffsetDateTime) -> Markup {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let machine = utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string());
    let readable = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    html! { time datetime=(machine) title=(readable) { (readable) } }
}

/// A `datetime-local` field's value (`2026-03-15T10:22`, seconds optional) read as UTC.
pub fn utc_field(text: &str) -> Option<nigehban_app::model::Timestamp> {
    let text = text.trim();
    let with_seconds =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(text, with_seconds)
        .or_else(|_| time::PrimitiveDateTime::parse(text, without))
        .ok()
        .map(|at| nigehban_app::model::Timestamp::from_datetime(at.assume_utc()))
        .or_else(|| nigehban_app::model::Timestamp::parse_rfc3339(text).ok())
}

/// A notice above a page's content (`role=status`, or `alert` for problems).
pub fn notice(text: &str, problem: bool) -> Markup {
    if problem {
        html! { p.notice.problem role="alert" { (text) } }
    } else {
        html! { p.notice role="status" { (text) } }
    }
}

/// A failure shown as a page: not found (also for what the caller may not
/// see: the policy makes the two look the same), not allowed, or a failure.
#[derive(Debug)]
pub struct ConsoleError {
    // Boxed: handlers return it in `Result`s, which stay small.
    error: Box<ApiError>,
    viewer: Option<Box<Viewer>>,
}

impl ConsoleError {
    /// The page for `error`, with the navigation of `viewer`.
    pub fn new(error: impl Into<ApiError>, viewer: Option<&Viewer>) -> Self {
        Self {
            error: Box::new(error.into()),
            viewer: viewer.map(|v| Box::new(v.clone())),
        }
    }

    /// "Not found", for a path that names nothing.
    pub fn not_found(viewer: Option<&Viewer>) -> Self {
        Self::new(ApiError::not_found("page"), viewer)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let t: &Messages = messages();
        let status = self.error.status();
        let (title, text) = match status {
            StatusCode::NOT_FOUND => (t.not_found, t.not_found_text.to_owned()),
            StatusCode::FORBIDDEN => (t.forbidden, self.error.message().to_owned()),
            status if status.is_client_error() => (t.failed, self.error.message().to_owned()),
            _ => (t.failed, t.failed_text.to_owned()),
        };
        if status.is_server_error() {
            tracing::warn!(code = self.error.code(), "console page failed");
        }
        let body = html! {
            p { (text) }
            p { a href="/console/" { (t.back_to_dashboard) } }
        };
        let page = Page {
            title,
            viewer: self.viewer.as_deref(),
            current: "",
            body,
        };
        respond(status, page.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_local_time_is_read_as_utc() {
        let at = utc_field("2026-03-15T10:22").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-15T10:22:00Z");
        let at = utc_field("2026-03-15T10:22:14").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-15T10:22:14Z");
        assert!(utc_field("yesterday").is_none());
        assert!(utc_field("").is_none());
    }
}
