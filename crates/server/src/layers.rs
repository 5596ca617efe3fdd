//! Middleware that keeps every answer in the API's shape: errors as JSON,
//! panics as `500 internal`, security headers on every response, and request
//! bodies finished so that kept-alive connections stay usable.

use std::any::Any;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Response, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use tower_http::catch_panic::ResponseForPanic;

use crate::error::ApiError;
use crate::metrics::RequestMetrics;

/// Fallback for paths that match no route: `404 not_found` as JSON.
pub async fn no_such_route() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such resource; the API is under /api/v1 and described at /api/openapi.json",
    )
}

/// Turns error responses that are not JSON (from layers, the router's method
/// check, extractor rejections we do not own) into [`ApiError`] JSON, keeping
/// headers such as `Allow` and `Retry-After`.
pub async fn json_errors(request: Request, next: Next) -> Response<Body> {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, _body) = response.into_parts();
    let replacement = ApiError::for_status(status).into_response();
    let (new_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, body)
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // A console page is already a page for a person: it keeps its body.
        // TAXII answers carry TAXII error objects in TAXII's media type.
        .is_some_and(|v| {
            v.starts_with("application/json")
                || v.starts_with("text/html")
                || v.starts_with("application/taxii+json")
        })
}

/// Answers a panicking handler with `500 internal` as JSON, logging the panic.
#[derive(Debug, Clone)]
pub struct PanicToError {
    metrics: Arc<RequestMetrics>,
}

impl PanicToError {
    /// A panic handler that counts panics in `metrics`.
    pub fn new(metrics: Arc<RequestMetrics>) -> Self {
        Self { metrics }
    }
}

impl ResponseForPanic for PanicToError {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        tracing::error!(panic = message, "request handler panicked");
        self.metrics.observe_panic();
        ApiError::internal().into_response()
    }
}

/// Adds headers that keep browsers from sniffing, framing or caching API answers.
pub async fn security_headers(request: Request, next: Next) -> Response<Body> {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ));
    response
}

/// The largest unread request body drained so that its connection can be kept alive;
/// a larger one closes the connection instead.
pub const DRAIN_BODY_BYTES: u64 = 64 * 1024;

/// How long the rest of an unread body may take to arrive before the connection is closed instead.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Finishes request bodies that the route did not read (a body sent to a route that
/// takes none, or a request refused before its body was read, such as a `401`).
///
/// hyper closes a kept-alive connection whose request body was not read to its end
/// once the answer is sent, without saying so: the client's next request on it
/// then fails. So the unread rest is read and dropped before the answer goes out
/// when it is small (at most [`DRAIN_BODY_BYTES`], arriving within two seconds),
/// and otherwise the answer says `Connection: close`.
pub async fn finish_request_body(request: Request, next: Next) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if http_body::Body::is_end_stream(&body) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slot = Arc::new(Mutex::new(Some(body)));
    let lent = Body::new(LentBody(Arc::clone(&slot)));
    let mut response = next.run(Request::from_parts(parts, lent)).await;
    let unread = nigehban_node::lock(&slot).take();
    if let Some(body) = unread
        && !http_body::Body::is_end_stream(&body)
        && !drain(body).await
    {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and drops what is left of `body`; `false` when it is too large, too slow or broken.
async fn drain(body: Body) -> bool {
    use http_body_util::BodyExt as _;
    // A body of announced length over the limit is not waited for; a chunked one is
    // read up to the limit.
    if http_body::Body::size_hint(&body)
        .upper()
        .is_some_and(|bytes| bytes > DRAIN_BODY_BYTES)
    {
        return false;
    }
    let mut body = body;
    let reading = async {
        let mut read: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > DRAIN_BODY_BYTES {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIMEOUT, reading)
        .await
        .unwrap_or(false)
}

/// The request body as a route sees it, while [`finish_request_body`] keeps hold of
/// it: what the route leaves unread is still there when the route has answered.
struct LentBody(Arc<Mutex<Option<Body>>>);

impl http_body::Body for LentBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let mut slot = nigehban_node::lock(&self.0);
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        nigehban_node::lock(&self.0)
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        nigehban_node::lock(&self.0).as_ref().map_or_else(
            || http_body::SizeHint::with_exact(0),
            http_body::Body::size_hint,
        )
    }
}
