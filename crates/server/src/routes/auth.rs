//! Sign-in, sign-out, the current session, and changing one's own password.

use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use nigehban_app::Via;
use nigehban_app::model::{Password, Role, TenantId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::{AuthenticatedForPasswordChange, remote_addr};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::views::UserView;
use crate::schemas::RoleSchema;

/// The authentication routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(session))
        .routes(routes!(change_password))
}

/// Credentials to sign in with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The sign-in name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// How the caller is authenticated.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatedVia {
    /// A browser session (cookie).
    Session,
    /// An API token.
    Token,
}

/// Who is signed in, and what the console needs to act for them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The signed-in user; null for an API token the operator made.
    pub user: Option<UserView>,
    /// The tenant the caller acts in.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The role the caller acts in.
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// How the caller is authenticated.
    pub via: AuthenticatedVia,
    /// For a session: the token to send as `X-CSRF-Token` with every request that changes something.
    pub csrf_token: Option<String>,
    /// For a session: when it ends unless used.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Whether the user must choose a new password (`POST /api/v1/auth/password`) before anything else.
    pub must_change_password: bool,
}

/// The caller's address, for sign-in throttling and the audit log.
struct RemoteAddr(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RemoteAddr(remote_addr(parts)))
    }
}

/// Sign in with user name and password: starts a browser session.
///
/// Sets the session cookie (HttpOnly, SameSite=Strict, Secure unless
/// configured otherwise) and returns the CSRF token to send as
/// `X-CSRF-Token` with every request that changes something. Repeated
/// failures make further tries for the same user name from the same address
/// wait (doubling), then tries from the address as a whole; accounts are
/// never locked, so nobody can lock another person out.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionInfo),
        (status = 401, description = "Wrong user name or password, or the account is deactivated", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this user name from this address, or from this address: try again after `Retry-After` seconds", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<ServerState>,
    RemoteAddr(remote): RemoteAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let sign_in = state
        .app
        .auth()
        .login(&request.username, &request.password, remote)
        .await?;
    let max_age = state.app.settings().session_max.as_secs();
    let cookie = session_cookie(&state, sign_in.cookie.expose(), max_age)?;
    let info = SessionInfo {
        tenant: sign_in.caller.tenant_id(),
        role: sign_in.caller.role(),
        via: AuthenticatedVia::Session,
        csrf_token: Some(sign_in.csrf_token.expose().to_owned()),
        expires_at: Some(sign_in.session.expires_at),
        must_change_password: sign_in.user.must_change_password,
        user: Some(sign_in.user.into()),
    };
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(info)).into_response())
}

/// The `Set-Cookie` value for the session cookie.
pub(crate) fn session_cookie(
    state: &ServerState,
    value: &str,
    max_age: u64,
) -> Result<HeaderValue, ApiError> {
    let secure = if state.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        state.session_cookie_name()
    );
    HeaderValue::from_str(&text).map_err(|error| {
        tracing::error!(%error, "session cookie value is not a valid header");
        ApiError::internal()
    })
}

/// Sign out: ends the session and clears its cookie (nothing to do for an API token).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Missing or wrong CSRF token", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<ServerState>,
    AuthenticatedForPasswordChange(who): AuthenticatedForPasswordChange,
) -> Result<Response, ApiError> {
    state.app.auth().logout(&who.caller).await?;
    let clear = session_cookie(&state, "", 0)?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Who is calling: the signed-in user, tenant and role, and the session's CSRF token.
#[utoipa::path(
    get,
    path = "/api/v1/auth/session",
    tag = "auth",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The caller", body = SessionInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn session(
    State(state): State<ServerState>,
    AuthenticatedForPasswordChange(who): AuthenticatedForPasswordChange,
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let caller = &who.caller;
    let info = match who.session {
        Some(signed_in) => SessionInfo {
            tenant: caller.tenant_id(),
            role: caller.role(),
            via: AuthenticatedVia::Session,
            csrf_token: Some(signed_in.session.csrf_secret.clone()),
            expires_at: Some(signed_in.session.expires_at),
            must_change_password: signed_in.user.must_change_password,
            user: Some(signed_in.user.into()),
        },
        None => {
            // A token may act in a tenant below its owner's, where the owner's
            // account is not visible: then there is no user to show.
            let user = match caller.user_id() {
                Some(_) => match state.app.users().me(caller).await {
                    Ok(user) => Some(user),
                    Err(nigehban_app::AppError::NotFound { .. }) => None,
                    Err(other) => return Err(other.into()),
                },
                None => None,
            };
            SessionInfo {
                tenant: caller.tenant_id(),
                role: caller.role(),
                via: match caller.via() {
                    Via::Session(_) => AuthenticatedVia::Session,
                    Via::Token(_) | Via::Password(_) | Via::Operator => AuthenticatedVia::Token,
                },
                csrf_token: None,
                expires_at: None,
                must_change_password: user.as_ref().is_some_and(|u| u.must_change_password),
                user: user.map(UserView::from),
            }
        }
    };
    Ok(axum::Json(info))
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password: 12 characters to 1024 bytes.
    pub new_password: String,
}

/// Change one's own password (sessions only); ends one's other sessions.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    security(("session" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed", body = UserView),
        (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "An API token cannot change a password, or missing CSRF token", body = ErrorBody),
        (status = 422, description = "The new password is too short or too long", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<ServerState>,
    AuthenticatedForPasswordChange(who): AuthenticatedForPasswordChange,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<axum::Json<UserView>, ApiError> {
    let new = Password::parse(&request.new_password)
        .map_err(|error| ApiError::invalid_value(error.to_string()).with_field("new_password"))?;
    let user = state
        .app
        .users()
        .change_own_password(&who.caller, &request.current_password, new)
        .await?;
    Ok(axum::Json(user.into()))
}
