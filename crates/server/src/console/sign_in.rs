//! Signing in and out, the forced change of a one-time password, and
//! changing one's own password: the same app services as `/api/v1/auth`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::AppError;
use nigehban_app::model::Password;

use super::frame::{ConsoleError, Page, notice, redirect, respond};
use super::messages::messages;
use super::session::{
    CSRF_FIELD, FormData, PASSWORD_PATH, Remote, Viewer, login_token_cookie, login_token_matches,
    new_login_token,
};
use crate::ServerState;
use crate::routes::auth::session_cookie as session_set_cookie;

/// The sign-in, sign-out and password routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", axum::routing::post(logout))
        .route(PASSWORD_PATH, get(password_form).post(change_password))
}

/// `GET /console/login`: the sign-in form (with a note when a session ended or the user signed out).
async fn login_form(State(state): State<ServerState>, RawQuery(query): RawQuery) -> Response {
    let t = messages();
    let query = query.unwrap_or_default();
    let note = if query.contains("ended=1") {
        Some(notice(t.session_expired, false))
    } else if query.contains("out=1") {
        Some(notice(t.signed_out, false))
    } else {
        None
    };
    sign_in_page(&state, StatusCode::OK, note, "")
}

/// The sign-in page with a fresh form token (also set as a cookie).
fn sign_in_page(
    state: &ServerState,
    status: StatusCode,
    note: Option<Markup>,
    username: &str,
) -> Response {
    let t = messages();
    let token = match new_login_token() {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    let body = html! {
        @if let Some(note) = note { (note) }
        form.stacked method="post" action="/console/login" {
            input type="hidden" name=(CSRF_FIELD) value=(token);
            label { (t.username) input name="username" autocomplete="username" required value=(username); }
            label { (t.password) input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (t.sign_in) }
        }
    };
    let page = Page {
        title: t.sign_in,
        viewer: None,
        current: "",
        body,
    };
    let mut response = respond(status, page.render());
    response
        .headers_mut()
        .append(header::SET_COOKIE, login_token_cookie(state, &token));
    response
}

/// `POST /console/login`: signs in and goes on (to the password change first, when required).
async fn login(
    State(state): State<ServerState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let t = messages();
    let username = form.get("username").unwrap_or_default().trim().to_owned();
    if !login_token_matches(&headers, &form) {
        return sign_in_page(
            &state,
            StatusCode::FORBIDDEN,
            Some(notice(t.form_expired, true)),
            &username,
        );
    }
    let password = form.get("password").unwrap_or_default();
    let signed_in = match state.app.auth().login(&username, password, remote).await {
        Ok(signed_in) => signed_in,
        Err(AppError::Unauthenticated(_)) => {
            return sign_in_page(
                &state,
                StatusCode::UNAUTHORIZED,
                Some(notice(t.sign_in_failed, true)),
                &username,
            );
        }
        Err(AppError::Throttled { .. }) => {
            return sign_in_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some(notice(t.sign_in_throttled, true)),
                &username,
            );
        }
        Err(other) => return ConsoleError::new(other, None).into_response(),
    };
    let max_age = state.app.settings().session_max.as_secs();
    let cookie = match session_set_cookie(&state, signed_in.cookie.expose(), max_age) {
        Ok(cookie) => cookie,
        Err(error) => return ConsoleError::new(error, None).into_response(),
    };
    let next = if signed_in.user.must_change_password {
        PASSWORD_PATH
    } else {
        "/console/"
    };
    let mut response = redirect(next);
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookie);
    headers.append(header::SET_COOKIE, login_token_cookie(&state, ""));
    response
}

/// `POST /console/logout`: ends the session and clears its cookie.
async fn logout(State(state): State<ServerState>, viewer: Viewer, form: FormData) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    if let Err(error) = state.app.auth().logout(viewer.caller()).await {
        return ConsoleError::new(error, Some(&viewer)).into_response();
    }
    let mut response = redirect("/console/login?out=1");
    if let Ok(clear) = session_set_cookie(&state, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// `GET /console/password`: the form to change one's password.
async fn password_form(viewer: Viewer) -> Response {
    password_page(&viewer, StatusCode::OK, None)
}

fn password_page(viewer: &Viewer, status: StatusCode, note: Option<Markup>) -> Response {
    let t = messages();
    let body = html! {
        @if viewer.must_change_password() { (notice(t.must_change_password, false)) }
        @if let Some(note) = note { (note) }
        form.stacked method="post" action=(PASSWORD_PATH) {
            (viewer.csrf_field())
            label { (t.current_password) input name="current_password" type="password" autocomplete="current-password" required; }
            label {
                (t.new_password)
                span.hint { (t.new_password_hint) }
                input name="new_password" type="password" autocomplete="new-password" minlength="12" required;
            }
            button type="submit" { (t.change_password) }
        }
    };
    let page = Page {
        title: t.change_password,
        viewer: Some(viewer),
        current: PASSWORD_PATH,
        body,
    };
    respond(status, page.render())
}

/// `POST /console/password`: changes one's password (ending one's other sessions).
async fn change_password(
    State(state): State<ServerState>,
    viewer: Viewer,
    form: FormData,
) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let new = match Password::parse(form.get("new_password").unwrap_or_default()) {
        Ok(new) => new,
        Err(error) => {
            return password_page(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(notice(&error.to_string(), true)),
            );
        }
    };
    let current = form.get("current_password").unwrap_or_default();
    match state
        .app
        .users()
        .change_own_password(viewer.caller(), current, new)
        .await
    {
        Ok(_) => redirect("/console/?password=changed"),
        Err(AppError::Unauthenticated(message)) => password_page(
            &viewer,
            StatusCode::UNAUTHORIZED,
            Some(notice(message, true)),
        ),
        Err(AppError::Invalid(message)) => password_page(
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(notice(&message, true)),
        ),
        Err(other) => ConsoleError::new(other, Some(&viewer)).into_response(),
    }
}
