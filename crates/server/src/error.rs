//! The one HTTP error type: every failure leaves the server as JSON with a stable
//! code and a message that says what was wrong; internals are logged, never returned.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `malformed_json`, `forbidden`, `not_found`.
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
    /// Where in the request the problem is (a JSON path, query or path parameter), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// An error with the given status, stable code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_seconds: None,
        }
    }

    /// Names the part of the request the error is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        if !field.is_empty() {
            self.field = Some(field);
        }
        self
    }

    /// Tells the client when to try again (sent as `Retry-After`).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// 400: the request body is not JSON.
    pub fn malformed_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// 400: a query string or path parameter could not be read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422: well-formed JSON with a value the API does not accept.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message)
    }

    /// 422: a field that the API does not know.
    pub fn unknown_field(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field", message)
    }

    /// 413: the body is larger than the server accepts.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 415: the body is not declared as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON, sent with `Content-Type: application/json`",
        )
    }

    /// 401: no credentials, or credentials that are not valid.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 403: an unsafe request from a browser session without the CSRF header.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf_token_mismatch",
            "a session request that changes something must carry the session's CSRF token in the `X-CSRF-Token` header",
        )
    }

    /// 404: there is no such record, or the caller may not know that it exists.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 409: the request conflicts with the current state (e.g. a name already taken).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 429: too many attempts; try later.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
    }

    /// 500: something failed inside; the details go to the log only.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to complete the request; the error has been logged",
        )
    }

    /// 503: a part the request needs (storage, the event bus, the index) is not available now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message of this error.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The generic error for a status that a layer or the router produced without a body
    /// of ours (unknown route, wrong method, timeout, ...).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::new(status, "not_found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                status,
                "method_not_allowed",
                "this resource does not accept that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "body_too_large",
                "the request body is larger than the server accepts",
            ),
            StatusCode::REQUEST_TIMEOUT => Self::new(
                status,
                "timeout",
                "the request took longer than the server allows",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            StatusCode::UNAUTHORIZED => Self::unauthenticated("authentication required"),
            StatusCode::FORBIDDEN => Self::forbidden("not allowed"),
            s if s.is_server_error() => Self::internal(),
            s => Self::new(
                s,
                "bad_request",
                s.canonical_reason()
                    .unwrap_or("the request was not accepted"),
            ),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl ApiError {
    /// The error's JSON body, for answers written without the router (see `connections`).
    pub fn body_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_else(|_| b"{}".to_vec())
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nigehban\""),
            );
        }
        response
    }
}

impl From<nigehban_app::AppError> for ApiError {
    fn from(error: nigehban_app::AppError) -> Self {
        use nigehban_app::AppError;
        let message = error.to_string();
        match error {
            AppError::NotFound { kind, id } => {
                let message = if id.is_empty() {
                    format!("no such {kind}")
                } else {
                    format!("no such {kind}: {id}")
                };
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            AppError::Forbidden(message) => ApiError::forbidden(message),
            AppError::Unauthenticated(message) => ApiError::unauthenticated(message),
            AppError::Throttled { retry_after } => {
                let now = nigehban_app::model::Timestamp::now();
                let seconds =
                    (retry_after.unix_micros() - now.unix_micros()).max(0) / 1_000_000 + 1;
                ApiError::too_many_requests(message)
                    .with_retry_after(u64::try_from(seconds).unwrap_or(1))
            }
            AppError::Invalid(message) => ApiError::invalid_value(message),
            AppError::Conflict(message) => ApiError::conflict(message),
            AppError::Unsupported(message) => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, "unsupported", message)
            }
            AppError::IntegrityFailure(message) => {
                tracing::error!(%message, "evidence integrity failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "integrity_failure",
                    message,
                )
            }
            unavailable @ AppError::Unavailable(_) => {
                tracing::warn!(error = %error_chain(&unavailable), "storage is unavailable");
                ApiError::unavailable(
                    "storage is unavailable for the moment; retry after the time in Retry-After",
                )
                .with_retry_after(STORAGE_RETRY_AFTER_SECONDS)
            }
            internal @ (AppError::Storage(_) | AppError::Internal(_)) => {
                tracing::error!(error = %error_chain(&internal), "request failed inside the platform");
                ApiError::internal()
            }
        }
    }
}

/// How long a client is asked to wait when storage is unavailable.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 5;

/// An error and its sources, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
