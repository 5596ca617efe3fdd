//! API tokens for programs and sensors: create (secret shown once), list, read, revoke.

use axum::extract::State;
use axum::http::StatusCode;
use nigehban_app::NewApiToken;
use nigehban_app::model::{Role, TenantId, Timestamp, TokenId, TokenName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::ListQuery;
use crate::routes::views::{TokenPage, TokenView};
use crate::schemas::RoleSchema;

/// The API token routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(get_token))
        .routes(routes!(revoke_token))
}

/// The API tokens of a subtree: `under` (default the caller's tenant) and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of tokens, ordered by id (never their secrets)", body = TokenPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not list tokens", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_tokens(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<TokenPage>, ApiError> {
    let page = state
        .app
        .tokens()
        .list(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(TokenPage {
        items: page.items.into_iter().map(TokenView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// An API token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Its label, e.g. "telecom sensor 3" (1 to 100 characters).
    #[schema(value_type = String)]
    pub name: TokenName,
    /// The tenant it acts in (default the caller's; another tenant needs an administrator).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The role it acts in (default the caller's; another role needs an administrator).
    #[schema(value_type = Option<RoleSchema>)]
    #[serde(default)]
    pub role: Option<Role>,
    /// When it stops working (RFC 3339), if ever.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// A created token and its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token.
    pub token: TokenView,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Create an API token (from a signed-in session; a token cannot create tokens).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = CreateTokenRequest,
    security(("session" = [])),
    responses(
        (status = 201, description = "Created; the secret is in the answer and nowhere else", body = CreatedToken),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not create a token for that tenant and role, or is itself a token", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad name, role or expiry", body = ErrorBody),
    )
)]
async fn create_token(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    if let Some(expiry) = request.expires_at
        && expiry <= Timestamp::now()
    {
        return Err(ApiError::invalid_value("expires_at is in the past").with_field("expires_at"));
    }
    let created = state
        .app
        .tokens()
        .create(
            &who.caller,
            NewApiToken {
                name: request.name,
                tenant: request.tenant,
                role: request.role,
                expires_at: request.expires_at,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: created.token.into(),
            secret: created.secret.expose().to_owned(),
        }),
    ))
}

/// The id in a token's path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's id (not its secret).
    #[param(value_type = String, format = Uuid)]
    pub id: TokenId,
}

/// One API token: the caller's own, or (administrators, auditors) one of their subtree.
#[utoipa::path(
    get,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(TokenPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The token (never its secret)", body = TokenView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see tokens there", body = ErrorBody),
        (status = 404, description = "No such token in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_token(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<axum::Json<TokenView>, ApiError> {
    let token = state.app.tokens().get(&who.caller, path.id).await?;
    Ok(axum::Json(token.into()))
}

/// Revoke an API token: one's own, or (administrators) any of their subtree. It stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens/{id}/revoke",
    tag = "tokens",
    params(TokenPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Revoked", body = TokenView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not revoke this token", body = ErrorBody),
        (status = 404, description = "No such token in the caller's subtree", body = ErrorBody),
    )
)]
async fn revoke_token(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<axum::Json<TokenView>, ApiError> {
    let token = state.app.tokens().revoke(&who.caller, path.id).await?;
    Ok(axum::Json(token.into()))
}
