//! Authentication as an extractor: a bearer API token, or a session cookie
//! with its CSRF token on requests that change something. What the caller may
//! then do is decided by the app's one policy, never here.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use nigehban_app::{Caller, SignedIn};

use crate::ServerState;
use crate::error::ApiError;

/// The header a session request that changes something carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated request: who is calling, and their session if they came with one.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The identity to call the app's services with.
    pub caller: Caller,
    /// The browser session, when authenticated by cookie.
    pub session: Option<SignedIn>,
}

impl FromRequestParts<ServerState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        let who = authenticate(parts, state).await?;
        if who
            .session
            .as_ref()
            .is_some_and(|signed_in| signed_in.user.must_change_password)
        {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "password_change_required",
                "choose a new password first: POST /api/v1/auth/password with the one-time password as current_password",
            ));
        }
        Ok(who)
    }
}

/// An authenticated request whose user may still have to change a one-time
/// password: only for signing out, reading the session and changing the password.
#[derive(Debug, Clone)]
pub struct AuthenticatedForPasswordChange(pub Authenticated);

impl FromRequestParts<ServerState> for AuthenticatedForPasswordChange {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, ApiError> {
        authenticate(parts, state).await.map(Self)
    }
}

/// Authenticates by bearer token or by session cookie (with CSRF check on unsafe methods).
async fn authenticate(parts: &Parts, state: &ServerState) -> Result<Authenticated, ApiError> {
    let remote = remote_addr(parts);
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = bearer_token(value)?;
        let caller = state.app.tokens().authenticate(token, remote).await?;
        return Ok(Authenticated {
            caller,
            session: None,
        });
    }
    let Some(cookie) = session_cookie(&parts.headers, state.session_cookie_name()) else {
        return Err(ApiError::unauthenticated(
            "authentication required: sign in with POST /api/v1/auth/login or send an API token as `Authorization: Bearer <token>`",
        ));
    };
    let signed_in = state.app.auth().session(cookie, remote).await?;
    if !is_safe(&parts.method) {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if presented.is_empty()
            || state
                .app
                .auth()
                .verify_csrf(&signed_in.session, presented)
                .is_err()
        {
            return Err(ApiError::csrf());
        }
    }
    Ok(Authenticated {
        caller: signed_in.caller.clone(),
        session: Some(signed_in),
    })
}

/// The client's address, when the server was started with connection info.
pub fn remote_addr(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Methods that change nothing and so need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(value: &HeaderValue) -> Result<&str, ApiError> {
    let malformed =
        || ApiError::unauthenticated("the Authorization header must be `Bearer <API token>`");
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(token.trim())
}

/// The value of the session cookie, if the request carries one.
pub(crate) fn session_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_is_parsed_strictly() {
        assert_eq!(
            bearer_token(&HeaderValue::from_static("Bearer ngb_abc")).unwrap(),
            "ngb_abc"
        );
        assert_eq!(
            bearer_token(&HeaderValue::from_static("bearer  ngb_abc ")).unwrap(),
            "ngb_abc"
        );
        assert!(bearer_token(&HeaderValue::from_static("Basic abc")).is_err());
        assert!(bearer_token(&HeaderValue::from_static("Bearer")).is_err());
        assert!(bearer_token(&HeaderValue::from_static("Bearer   ")).is_err());
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; nigehban_session=xyz; b=2"),
        );
        assert_eq!(session_cookie(&headers, "nigehban_session"), Some("xyz"));
        assert_eq!(session_cookie(&headers, "__Host-nigehban_session"), None);
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("nigehban_session="),
        );
        assert_eq!(session_cookie(&headers, "nigehban_session"), None);
    }
}
