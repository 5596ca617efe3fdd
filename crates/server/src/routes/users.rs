//! User accounts: create, read, list, change role, deactivate, reset password.

use axum::extract::State;
use axum::http::StatusCode;
use nigehban_app::NewUser;
use nigehban_app::model::{DisplayName, Password, Role, TenantId, UserId, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::ListQuery;
use crate::routes::views::{UserPage, UserView};
use crate::schemas::RoleSchema;

/// The user routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user))
        .routes(routes!(set_role))
        .routes(routes!(deactivate_user))
        .routes(routes!(reset_password))
}

/// The users of a subtree: `under` (default the caller's tenant) and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of users, ordered by id", body = UserPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not list users there", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_users(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<UserPage>, ApiError> {
    let page = state
        .app
        .users()
        .list(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(UserPage {
        items: page.items.into_iter().map(UserView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// The tenant the user belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The sign-in name: 1 to 64 of a-z, 0-9, `.`, `_`, `-`, `@` (upper case is folded).
    #[schema(value_type = String)]
    pub username: Username,
    /// The name shown in the console.
    #[schema(value_type = String)]
    pub display_name: DisplayName,
    /// The role the user acts in.
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// The initial password (12 characters or more); omit it to have one generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

/// A user and, when one was generated, their one-time password.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserWithPassword {
    /// The user.
    pub user: UserView,
    /// The generated password, shown this once: give it to the user, who must change it at first sign-in.
    pub one_time_password: Option<String>,
}

/// Parses an optional password from a request field.
fn optional_password(text: Option<&str>, field: &str) -> Result<Option<Password>, ApiError> {
    text.map(|text| {
        Password::parse(text)
            .map_err(|error| ApiError::invalid_value(error.to_string()).with_field(field))
    })
    .transpose()
}

/// Create a user in a tenant of the caller's subtree (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUserRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Created", body = UserWithPassword),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not create users there", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The user name cannot be used: taken by a user the caller can see (named), or reserved or not available (the same answer whether or not someone out of the caller's sight holds it)", body = ErrorBody),
        (status = 422, description = "Bad user name, display name (e.g. a control or bidirectional formatting character), role or password", body = ErrorBody),
        (status = 429, description = "Too many refused user names lately: try again after `Retry-After` seconds", body = ErrorBody),
    )
)]
async fn create_user(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<UserWithPassword>), ApiError> {
    let password = optional_password(request.password.as_deref(), "password")?;
    let created = state
        .app
        .users()
        .create(
            &who.caller,
            NewUser {
                tenant: request.tenant,
                username: request.username,
                display_name: request.display_name,
                role: request.role,
                password,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(UserWithPassword {
            user: created.user.into(),
            one_time_password: created
                .one_time_password
                .map(|password| password.expose().to_owned()),
        }),
    ))
}

/// The id in a user's path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user's id.
    #[param(value_type = String, format = Uuid)]
    pub id: UserId,
}

/// One user of the caller's subtree.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(UserPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see users there", body = ErrorBody),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_user(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<axum::Json<UserView>, ApiError> {
    let user = state.app.users().get(&who.caller, path.id).await?;
    Ok(axum::Json(user.into()))
}

/// A new role for a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    /// The role.
    #[schema(value_type = RoleSchema)]
    pub role: Role,
}

/// Change a user's role (administrators of the user's tenant or above; not one's own).
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/role",
    tag = "users",
    params(UserPath),
    request_body = SetRoleRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Role changed", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not change roles there", body = ErrorBody),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Unknown role", body = ErrorBody),
    )
)]
async fn set_role(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(request): ApiJson<SetRoleRequest>,
) -> Result<axum::Json<UserView>, ApiError> {
    let user = state
        .app
        .users()
        .set_role(&who.caller, path.id, request.role)
        .await?;
    Ok(axum::Json(user.into()))
}

/// Deactivate a user: they can no longer sign in, their sessions end and
/// the API tokens they own are revoked.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/deactivate",
    tag = "users",
    params(UserPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Deactivated", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not deactivate users there", body = ErrorBody),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
    )
)]
async fn deactivate_user(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<axum::Json<UserView>, ApiError> {
    let user = state.app.users().deactivate(&who.caller, path.id).await?;
    Ok(axum::Json(user.into()))
}

/// A password reset.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new password (12 characters or more); omit it to have one generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

/// Reset a user's password (administrators): ends their sessions and revokes
/// the API tokens they own; they must choose a new one at next sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password-reset",
    tag = "users",
    params(UserPath),
    request_body = ResetPasswordRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Reset", body = UserWithPassword),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not reset passwords there", body = ErrorBody),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
        (status = 422, description = "The password is too short or too long", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> Result<axum::Json<UserWithPassword>, ApiError> {
    let password = optional_password(request.password.as_deref(), "password")?;
    let reset = state
        .app
        .users()
        .reset_password(&who.caller, path.id, password)
        .await?;
    Ok(axum::Json(UserWithPassword {
        user: reset.user.into(),
        one_time_password: reset
            .one_time_password
            .map(|password| password.expose().to_owned()),
    }))
}
