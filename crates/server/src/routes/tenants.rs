//! Tenants: create, read, rename, move, deactivate and list a subtree. Never delete.

use axum::extract::State;
use axum::http::StatusCode;
use nigehban_app::NewTenant;
use nigehban_app::model::{Sector, TenantId, TenantKind, TenantName};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::ListQuery;
use crate::routes::views::{TenantKindWord, TenantPage, TenantView};
use crate::schemas::SectorSchema;

/// The tenant routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, rename_tenant))
        .routes(routes!(move_tenant))
        .routes(routes!(deactivate_tenant))
}

/// The tenants of a subtree: `under` (default the caller's tenant) and everything below it.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(ListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of the subtree, ordered by id", body = TenantPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_tenants(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<axum::Json<TenantPage>, ApiError> {
    let page = state
        .app
        .tenants()
        .list(&who.caller, query.under()?, &query.page()?)
        .await?;
    Ok(axum::Json(TenantPage {
        items: page.items.into_iter().map(TenantView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// A tenant to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// The tenant to create it under.
    #[schema(value_type = String, format = Uuid)]
    pub parent: TenantId,
    /// Its name (1 to 200 characters).
    #[schema(value_type = String)]
    pub name: TenantName,
    /// `sectoral` (under the national CERT) or `organisation` (under a CERT or another organisation).
    pub kind: TenantKindWord,
    /// For a sectoral CERT: its sector.
    #[schema(value_type = Option<SectorSchema>)]
    #[serde(default)]
    pub sector: Option<Sector>,
    /// For an organisation: whether it is critical information infrastructure (default false).
    #[serde(default)]
    pub critical_infrastructure: Option<bool>,
}

impl CreateTenantRequest {
    /// The tenant kind the request describes, or what is missing or contradictory.
    fn tenant_kind(&self) -> Result<TenantKind, ApiError> {
        match self.kind {
            TenantKindWord::National => Err(ApiError::invalid_value(
                "there is exactly one national CERT, created on first start; create a `sectoral` CERT or an `organisation`",
            )
            .with_field("kind")),
            TenantKindWord::Sectoral => {
                if self.critical_infrastructure.is_some() {
                    return Err(ApiError::invalid_value(
                        "critical_infrastructure applies to organisations, not to sectoral CERTs",
                    )
                    .with_field("critical_infrastructure"));
                }
                let sector = self.sector.ok_or_else(|| {
                    ApiError::invalid_value("a sectoral CERT needs a `sector`").with_field("sector")
                })?;
                Ok(TenantKind::Sectoral { sector })
            }
            TenantKindWord::Organisation => {
                if self.sector.is_some() {
                    return Err(ApiError::invalid_value(
                        "`sector` applies to sectoral CERTs; an organisation takes its sector from the CERT it sits under",
                    )
                    .with_field("sector"));
                }
                Ok(TenantKind::Organisation {
                    critical_infrastructure: self.critical_infrastructure.unwrap_or(false),
                })
            }
        }
    }
}

/// Create a tenant under a parent in the caller's subtree (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    request_body = CreateTenantRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not create tenants there", body = ErrorBody),
        (status = 404, description = "The parent is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad name or kind, or the kind cannot sit under the parent", body = ErrorBody),
    )
)]
async fn create_tenant(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<CreateTenantRequest>,
) -> Result<(StatusCode, axum::Json<TenantView>), ApiError> {
    let kind = request.tenant_kind()?;
    let tenant = state
        .app
        .tenants()
        .create(
            &who.caller,
            NewTenant {
                parent: request.parent,
                name: request.name,
                kind,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(tenant.into())))
}

/// The id in a tenant's path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TenantPath {
    /// The tenant's id.
    #[param(value_type = String, format = Uuid)]
    pub id: TenantId,
}

/// One tenant of the caller's subtree.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(TenantPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such tenant in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_tenant(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let tenant = state.app.tenants().get(&who.caller, path.id).await?;
    Ok(axum::Json(tenant.into()))
}

/// A new name for a tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameTenantRequest {
    /// The new name (1 to 200 characters).
    #[schema(value_type = String)]
    pub name: TenantName,
}

/// Rename a tenant of the caller's subtree, their own included (administrators).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(TenantPath),
    request_body = RenameTenantRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Renamed", body = TenantView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not rename tenants", body = ErrorBody),
        (status = 404, description = "No such tenant in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad name", body = ErrorBody),
    )
)]
async fn rename_tenant(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(request): ApiJson<RenameTenantRequest>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let tenant = state
        .app
        .tenants()
        .rename(&who.caller, path.id, request.name)
        .await?;
    Ok(axum::Json(tenant.into()))
}

/// Where to move a tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTenantRequest {
    /// The new parent, in the caller's subtree.
    #[schema(value_type = String, format = Uuid)]
    pub parent: TenantId,
}

/// Move a tenant below the caller's tenant under another parent of the caller's subtree (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/move",
    tag = "tenants",
    params(TenantPath),
    request_body = MoveTenantRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Moved", body = TenantView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not move this tenant", body = ErrorBody),
        (status = 404, description = "The tenant or the new parent is not in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The move would put the tenant under itself", body = ErrorBody),
        (status = 422, description = "The tenant's kind cannot sit under the new parent", body = ErrorBody),
    )
)]
async fn move_tenant(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
    ApiJson(request): ApiJson<MoveTenantRequest>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let tenant = state
        .app
        .tenants()
        .move_to(&who.caller, path.id, request.parent)
        .await?;
    Ok(axum::Json(tenant.into()))
}

/// Deactivate a tenant below the caller's tenant: its users, and those below it, can no longer sign in.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/deactivate",
    tag = "tenants",
    params(TenantPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Deactivated", body = TenantView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not deactivate this tenant", body = ErrorBody),
        (status = 404, description = "No such tenant in the caller's subtree", body = ErrorBody),
    )
)]
async fn deactivate_tenant(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<axum::Json<TenantView>, ApiError> {
    let tenant = state.app.tenants().deactivate(&who.caller, path.id).await?;
    Ok(axum::Json(tenant.into()))
}
