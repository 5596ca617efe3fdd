//! Request extractors whose rejections are [`ApiError`]s: a JSON body, a query
//! string and path parameters, each failing with a stable code that says what
//! was wrong and where.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::ServerState;
use crate::error::ApiError;

/// A JSON request body, read within the body limit and deserialised strictly.
///
/// - not declared as JSON → 415 `unsupported_media_type`
/// - larger than the limit → 413 `body_too_large`
/// - not JSON → 400 `malformed_json`
/// - a field the type does not know → 422 `unknown_field`
/// - a value of the wrong type or out of range → 422 `invalid_value`
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ServerState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, ApiError> {
        if !declares_json(request.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(rejection, state.options.max_body_bytes))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether the request's `Content-Type` is `application/json` (or `+json`).
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Maps a failure to read the body to an error.
fn body_rejection(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::body_too_large(limit);
    }
    tracing::debug!(error = %rejection.body_text(), "could not read request body");
    ApiError::bad_request("the request body could not be read")
}

/// Deserialises a JSON document strictly, naming the path of a bad value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        classify_json_error(&inner, &path)
    })?;
    deserializer.end().map_err(|error| {
        ApiError::malformed_json(format!("the request body is not JSON: {error}"))
    })?;
    Ok(value)
}

/// Maps a serde_json error to malformed JSON (400) or a bad value (422).
fn classify_json_error(error: &serde_json::Error, path: &str) -> ApiError {
    use serde_json::error::Category;
    let field = if path == "." { "" } else { path };
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::malformed_json(format!("the request body is not JSON: {error}"))
        }
        Category::Data => {
            let message = error.to_string();
            let located = if field.is_empty() {
                message.clone()
            } else {
                format!("{field}: {message}")
            };
            if message.starts_with("unknown field") {
                ApiError::unknown_field(located).with_field(field)
            } else {
                ApiError::invalid_value(located).with_field(field)
            }
        }
    }
}

/// A query string, deserialised strictly.
///
/// An unknown parameter → 422 `unknown_field`; a parameter that cannot be read
/// → 400 `bad_request`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

/// Maps a query-string rejection to an error.
fn query_rejection(rejection: &QueryRejection) -> ApiError {
    let text = rejection.body_text();
    let reason = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    if reason.contains("unknown field") {
        ApiError::unknown_field(format!("query string: {reason}"))
    } else {
        ApiError::bad_request(format!("query string: {reason}"))
    }
}

/// Path parameters; one that cannot be read → 400 `bad_request`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

/// Maps a path-parameter rejection to an error.
fn path_rejection(rejection: &PathRejection) -> ApiError {
    match rejection {
        PathRejection::FailedToDeserializePathParams(error) => {
            ApiError::bad_request(format!("path: {}", error.body_text()))
        }
        other => {
            tracing::error!(error = %other.body_text(), "path parameters missing from a route");
            ApiError::internal()
        }
    }
}
