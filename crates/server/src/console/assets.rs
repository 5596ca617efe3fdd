//! The style sheet and script, embedded in the binary at build time and
//! served from the server itself: the console never fetches anything from
//! elsewhere, so it works air-gapped.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Where the style sheet is served.
pub const STYLE_PATH: &str = "/console/assets/console.css";
/// Where the script is served.
pub const SCRIPT_PATH: &str = "/console/assets/console.js";

const STYLE: &str = include_str!("../../assets/console/console.css");
const SCRIPT: &str = include_str!("../../assets/console/console.js");

/// `GET /console/assets/console.css`.
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `GET /console/assets/console.js`.
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Short: a new release's assets reach browsers within minutes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
