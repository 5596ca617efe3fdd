//! My API tokens: the viewer's own tokens (revoked ones too), creating one
//! (its secret shown once, with a copy button) and revoking one, through the
//! same app services as `/api/v1/tokens`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nigehban_app::NewApiToken;
use nigehban_app::model::{ApiToken, Timestamp, TokenId, TokenName};

use super::frame::{ConsoleError, Page, notice, redirect, respond, time};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;

/// Where the page is.
pub const PATH: &str = "/console/tokens";

/// The lifetimes offered when creating a token, in days (0: never expires).
const LIFETIMES: [u32; 4] = [30, 90, 365, 0];

/// The token routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(list).post(create))
        .route("/console/tokens/{id}/revoke", post(revoke))
}

/// `GET /console/tokens`.
async fn list(State(state): State<ServerState>, viewer: Viewer) -> Response {
    page(&state, &viewer, None, StatusCode::OK)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn page(
    state: &ServerState,
    viewer: &Viewer,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let body = render_list(state, viewer, problem).await?;
    Ok(respond(
        status,
        Page {
            title: messages().my_tokens,
            viewer: Some(viewer),
            current: PATH,
            body,
        }
        .render(),
    ))
}

/// The page's content (public to the crate for the benchmark).
pub async fn render_list(
    state: &ServerState,
    viewer: &Viewer,
    problem: Option<&str>,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let tokens = state
        .app
        .tokens()
        .mine(viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    Ok(html! {
        p.note { (t.tokens_hint) }
        @if tokens.is_empty() {
            p role="status" { (t.no_tokens) }
        } @else {
            div.table-wrap tabindex="0" { table #tokens {
                thead { tr {
                    th scope="col" { (t.name) }
                    th scope="col" { (t.role) }
                    th scope="col" { (t.created) }
                    th scope="col" { (t.expires) }
                    th scope="col" { (t.last_used) }
                    th scope="col" { (t.status) }
                } }
                tbody { @for token in &tokens { (row(viewer, token)) } }
            } }
        }
        h2 #create { (t.create_token) }
        @if let Some(problem) = problem { (notice(problem, true)) }
        form.stacked method="post" action=(PATH) {
            (viewer.csrf_field())
            label { (t.name) input name="name" required maxlength="100"; }
            label { (t.expires)
                select name="lifetime_days" {
                    @for days in LIFETIMES {
                        option value=(days) selected[days == 90] {
                            @if days == 0 { (t.never_expires) } @else { (days) " " (t.days) }
                        }
                    }
                }
            }
            button #create-token type="submit" { (t.create_token) }
        }
    })
}

fn row(viewer: &Viewer, token: &ApiToken) -> Markup {
    let t = messages();
    let now = Timestamp::now();
    html! {
        tr {
            td { (token.name.as_str()) }
            td { (token.role.as_str()) }
            td { (time(token.created_at.to_datetime())) }
            td { @match token.expires_at { Some(at) => (time(at.to_datetime())), None => (t.never_expires) } }
            td { @match token.last_used_at { Some(at) => (time(at.to_datetime())), None => "—" } }
            td {
                @if let Some(at) = token.revoked_at {
                    span.state-none { (t.revoked) } " " (time(at.to_datetime()))
                } @else if !token.is_usable_at(now) {
                    span.state-none { (t.expired) }
                } @else {
                    form.inline method="post" action=(format!("{PATH}/{}/revoke", token.id)) {
                        (viewer.csrf_field())
                        button.danger type="submit" aria-label=(format!("{} {}", t.revoke, token.name.as_str())) { (t.revoke) }
                    }
                }
            }
        }
    }
}

/// `POST /console/tokens`: creates a token in the viewer's tenant and role and shows its secret once.
async fn create(State(state): State<ServerState>, viewer: Viewer, form: FormData) -> Response {
    if let Err(error) = viewer.check_csrf(&state, &form) {
        return error.into_response();
    }
    let t = messages();
    let refused = |problem: String| {
        let state = state.clone();
        let viewer = viewer.clone();
        async move {
            page(
                &state,
                &viewer,
                Some(&problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
            .unwrap_or_else(IntoResponse::into_response)
        }
    };
    let name = match TokenName::parse(form.get("name").unwrap_or_default()) {
        Ok(name) => name,
        Err(error) => return refused(format!("{}: {error}", t.name)).await,
    };
    let expires_at = match form.get("lifetime_days").unwrap_or("90").parse::<u32>() {
        Ok(0) => None,
        Ok(days) if LIFETIMES.contains(&days) => {
            Some(Timestamp::now().plus(std::time::Duration::from_secs(u64::from(days) * 86_400)))
        }
        _ => return refused(format!("{}: {}", t.expires, t.choose_one)).await,
    };
    let created = state
        .app
        .tokens()
        .create(
            viewer.caller(),
            NewApiToken {
                name,
                tenant: None,
                role: None,
                expires_at,
            },
        )
        .await;
    let created = match created {
        Ok(created) => created,
        Err(nigehban_app::AppError::Invalid(problem)) => return refused(problem).await,
        Err(error) => return ConsoleError::new(error, Some(&viewer)).into_response(),
    };
    let body = html! {
        (notice(t.token_secret_shown_once, false))
        h2 { (created.token.name.as_str()) }
        div.secret {
            span { (t.api_token) ": " }
            code.token #api-token { (created.secret.expose()) }
            button type="button" data-copy="api-token" data-copied=(t.copied) { (t.copy) }
        }
        p { (t.use_token_with) " " code { "Authorization: Bearer …" } }
        p { a href=(PATH) { (t.my_tokens) } }
    };
    respond(
        StatusCode::CREATED,
        Page {
            title: t.token_created,
            viewer: Some(&viewer),
            current: PATH,
            body,
        }
        .render(),
    )
}

/// `POST /console/tokens/{id}/revoke`.
async fn revoke(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let done = async {
        viewer.check_csrf(&state, &form)?;
        let id = id
            .parse::<TokenId>()
            .map_err(|_| ConsoleError::not_found(Some(&viewer)))?;
        state
            .app
            .tokens()
            .revoke(viewer.caller(), id)
            .await
            .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
        Ok::<_, ConsoleError>(redirect(PATH))
    };
    done.await.unwrap_or_else(IntoResponse::into_response)
}
