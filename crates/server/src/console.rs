//! The analyst console: the web pages `nigehban serve` gives every person who
//! uses the platform, under `/console/`.
//!
//! Pages are rendered on the server ([`maud`]); the one style sheet and the one
//! small script are embedded in the binary ([`assets`]), so nothing is ever
//! fetched from elsewhere and the console works air-gapped. A page calls the
//! same app services as the API with the viewer's [`nigehban_app::Caller`]:
//! what it shows is what the one policy (`app::policy`) allows, and a record
//! the viewer may not see is "not found", as in the API.
//!
//! Security: the session is the API's session cookie (HttpOnly,
//! SameSite=Strict, Secure unless `secure_cookies = false`); every form
//! carries the session's CSRF token ([`session::Viewer::csrf_field`], checked
//! with [`session::Viewer::check_csrf`]), the sign-in form a token of its own;
//! the content security policy ([`frame::CONTENT_SECURITY_POLICY`]) allows
//! scripts and styles only from the server and no inline script or style.
//!
//! Every text is in [`messages`], so a language (Urdu, right to left) is one
//! more table.
//!
//! # Adding a page
//!
//! 1. Write `console/<area>.rs` with `pub fn routes() -> Router<ServerState>`
//!    and its handlers: take a [`session::Viewer`] (it sends the unsigned to the
//!    sign-in page), call the app with `viewer.caller()`, build the body with
//!    `maud::html!` (texts from [`messages::messages`], times with
//!    [`frame::time`]) and answer `frame::Page { .. }.respond()`; turn failures
//!    into [`frame::ConsoleError`]. A form: `(viewer.csrf_field())` inside it,
//!    a [`session::FormData`] argument and `viewer.check_csrf(&state, &form)?`
//!    first in the handler.
//! 2. Add `mod <area>;` below, `.merge(<area>::routes())` in [`routes`], and
//!    one [`NavEntry`] in [`NAV`] (its label in [`messages::Messages`]).
//! 3. Add the page to the browser test (`crates/cli/tests/console.rs`): it
//!    checks every page with axe-core and the network log.

mod admin;
mod alerts;
mod assets;
mod charts;
mod dashboard;
mod duty;
mod events;
mod frame;
mod incidents;
mod messages;
mod report;
mod rules;
mod sensors;
mod session;
mod sign_in;
mod tokens;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use frame::CONTENT_SECURITY_POLICY;
pub use messages::{ENGLISH, Messages};

use crate::ServerState;

/// One entry of the navigation: where it goes and its label.
#[derive(Debug, Clone, Copy)]
pub struct NavEntry {
    /// The page's path.
    pub path: &'static str,
    /// Its label, from the messages.
    pub label: fn(&Messages) -> &'static str,
}

/// The navigation, in the order shown.
pub const NAV: &[NavEntry] = &[
    NavEntry {
        path: dashboard::PATH,
        label: |t| t.dashboard,
    },
    NavEntry {
        path: alerts::PATH,
        label: |t| t.alerts,
    },
    NavEntry {
        path: incidents::PATH,
        label: |t| t.incidents,
    },
    NavEntry {
        path: report::PATH,
        label: |t| t.report_incident,
    },
    NavEntry {
        path: events::PATH,
        label: |t| t.events,
    },
    NavEntry {
        path: sensors::PATH,
        label: |t| t.sensors,
    },
    NavEntry {
        path: duty::PATH,
        label: |t| t.duty,
    },
    NavEntry {
        path: rules::PATH,
        label: |t| t.rules,
    },
    NavEntry {
        path: admin::PATH,
        label: |t| t.administration,
    },
];

/// Every console route, under `/console`.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(
            "/console",
            get(|| async { frame::redirect(dashboard::PATH) }),
        )
        .route(assets::STYLE_PATH, get(assets::style))
        .route(assets::SCRIPT_PATH, get(assets::script))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .merge(sign_in::routes())
        .merge(dashboard::routes())
        .merge(duty::routes())
        .merge(alerts::routes())
        .merge(incidents::routes())
        .merge(report::routes())
        .merge(events::routes())
        .merge(sensors::routes())
        .merge(tokens::routes())
        .merge(rules::routes())
        .merge(admin::routes())
}

/// Any other path under `/console/`: "not found", as a page.
async fn not_found() -> Response {
    frame::ConsoleError::not_found(None).into_response()
}
