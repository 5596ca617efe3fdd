//! Who is looking at a page: the browser session (the same session cookie
//! the API's sign-in sets, checked by the same app service), the CSRF token
//! every form carries, and the sign-in form's own token before there is a
//! session.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use nigehban_app::model::Tenant;
use nigehban_app::{AppError, Caller, SignedIn};

use super::frame::{ConsoleError, redirect};
use super::messages::messages;
use crate::ServerState;
use crate::auth::{remote_addr, session_cookie};
use crate::error::ApiError;

/// The name of the form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The cookie holding the sign-in form's token (there is no session yet to bind it to).
pub const LOGIN_CSRF_COOKIE: &str = "nigehban_login_csrf";

/// The only path a user who must change a one-time password may open (besides signing out).
pub const PASSWORD_PATH: &str = "/console/password";

/// A signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    signed_in: SignedIn,
    tenant: Option<Tenant>,
}

impl Viewer {
    /// The identity to call the app's services with.
    pub fn caller(&self) -> &Caller {
        &self.signed_in.caller
    }

    /// The sign-in name.
    pub fn username(&self) -> &str {
        self.signed_in.user.username.as_str()
    }

    /// The role the viewer acts in.
    pub fn role(&self) -> &'static str {
        self.signed_in.caller.role().as_str()
    }

    /// The name of the viewer's tenant.
    pub fn tenant_name(&self) -> &str {
        self.tenant.as_ref().map_or("", |t| t.name.as_str())
    }

    /// Whether the one-time password must be changed before anything else.
    pub fn must_change_password(&self) -> bool {
        self.signed_in.user.must_change_password
    }

    /// The hidden field every form of this viewer's pages carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.signed_in.session.csrf_secret); }
    }

    /// Refuses a form without this session's CSRF token.
    pub fn check_csrf(&self, state: &ServerState, form: &FormData) -> Result<(), ConsoleError> {
        let presented = form.get(CSRF_FIELD).unwrap_or_default();
        if presented.is_empty()
            || state
                .app
                .auth()
                .verify_csrf(&self.signed_in.session, presented)
                .is_err()
        {
            return Err(ConsoleError::new(
                ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf_token_mismatch",
                    messages().form_expired,
                ),
                Some(self),
            ));
        }
        Ok(())
    }
}

impl FromRequestParts<ServerState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Response> {
        let Some(cookie) = session_cookie(&parts.headers, state.session_cookie_name()) else {
            return Err(redirect("/console/login"));
        };
        let signed_in = match state.app.auth().session(cookie, remote_addr(parts)).await {
            Ok(signed_in) => signed_in,
            Err(AppError::Unauthenticated(_)) => {
                return Err(redirect("/console/login?ended=1"));
            }
            Err(other) => return Err(ConsoleError::new(other, None).into_response()),
        };
        let path = parts.uri.path();
        if signed_in.user.must_change_password && path != PASSWORD_PATH && path != "/console/logout"
        {
            return Err(redirect(PASSWORD_PATH));
        }
        // The viewer always sees their own tenant; a failure here only leaves its name out.
        let tenant = state
            .app
            .tenants()
            .get(&signed_in.caller, signed_in.caller.tenant_id())
            .await
            .ok();
        Ok(Viewer { signed_in, tenant })
    }
}

/// A submitted form (`application/x-www-form-urlencoded`), read within the body limit.
#[derive(Debug, Default, Clone)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Reads a form body.
    pub fn parse(body: &[u8]) -> Self {
        FormData(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `name`, trimmed, `None` when empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of a field given more than once (checkboxes), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl FromRequest<ServerState> for FormData {
    type Rejection = Response;

    async fn from_request(request: Request, state: &ServerState) -> Result<Self, Response> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ConsoleError::new(ApiError::unsupported_media_type(), None).into_response());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            ConsoleError::new(ApiError::body_too_large(state.options.max_body_bytes), None)
                .into_response()
        })?;
        Ok(FormData::parse(&bytes))
    }
}

/// A fresh random token (hex) for the sign-in form.
pub fn new_login_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| {
        tracing::error!(%error, "no randomness for the sign-in form's token");
        ConsoleError::new(ApiError::internal(), None)
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `Set-Cookie` value carrying the sign-in form's token (or clearing it with an empty one).
pub fn login_token_cookie(state: &ServerState, token: &str) -> HeaderValue {
    let secure = if state.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = if token.is_empty() { 0 } else { 3600 };
    let text = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the sign-in form's token matches the cookie it was issued with.
pub fn login_token_matches(headers: &HeaderMap, form: &FormData) -> bool {
    let presented = form.get(CSRF_FIELD).unwrap_or_default();
    match session_cookie(headers, LOGIN_CSRF_COOKIE) {
        Some(expected) => {
            !presented.is_empty()
                && presented.len() == expected.len()
                // Compared in full, whatever differs first.
                && presented
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        None => false,
    }
}

/// The client's address, for sign-in throttling and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(remote_addr(parts)))
    }
}
