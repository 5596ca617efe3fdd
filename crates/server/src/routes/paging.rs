//! Paging: escalation policies, contact methods, pages and their
//! acknowledgement (signed in, or through the signed single-use link in a
//! message), the delivery log, the test page and shift hand-overs.
//!
//! The duty loop (`nigehban_app::duty`, started by the node) does the
//! paging itself; these routes configure it and show what it did.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::model::duty::EscalationPolicy;
use nigehban_app::{ContactMethod, MessageTemplates, PolicyDocument};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::duty::{RecordPath, TenantQuery, parse_id, to_value};
use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::parse_tenant_param;

/// The paging routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
        .routes(routes!(list_contacts, set_contacts))
        .routes(routes!(test_page))
        .routes(routes!(list_pages))
        .routes(routes!(get_page))
        .routes(routes!(acknowledge_page))
        .routes(routes!(show_link, use_link))
        .routes(routes!(delivery_log))
        .routes(routes!(list_handovers, write_handover))
        .routes(routes!(acknowledge_handover))
}

/// A duty record as JSON (an escalation policy, a page, a notification, a hand-over, a contact).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct DutyBody(serde_json::Value);

impl utoipa::PartialSchema for DutyBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(
            utoipa::openapi::schema::ObjectBuilder::new()
                .description(Some(
                    "A duty record: an escalation policy, a page, a notification, a hand-over or a person's contact methods",
                ))
                .build(),
        ))
    }
}

impl ToSchema for DutyBody {}

/// Duty records.
#[derive(Debug, Serialize, ToSchema)]
pub struct DutyList {
    /// The records.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

fn list<T: Serialize>(items: &[T]) -> axum::Json<DutyList> {
    axum::Json(DutyList {
        items: items.iter().map(to_value).collect(),
    })
}

// ---- escalation policies ----

/// A new escalation policy, or a policy's new content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// The owning tenant (default: the caller's; ignored on change).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// The version read (required to change a policy).
    pub version: Option<u64>,
    /// Its name.
    pub name: String,
    /// Ordered steps: `notify` (a list of `{kind: schedule, schedule}`,
    /// `{kind: user, user}`, `{kind: team, team}`) and `wait_minutes` (or `wait_seconds`).
    #[schema(value_type = Vec<Object>)]
    pub steps: serde_json::Value,
    /// How many more times the steps run after the first pass.
    #[serde(default)]
    pub repeat: u32,
    /// The severities it applies to (empty: all).
    #[serde(default)]
    pub severities: Vec<String>,
    /// The RSIT classes it applies to (empty: all).
    #[serde(default)]
    pub rsit_classes: Vec<String>,
    /// The message: `subject` and `body` with `{{title}}`, `{{severity}}`,
    /// `{{tenant}}`, `{{source}}`, `{{link}}`, `{{ack_link}}`,
    /// `{{rsit_class}}`, `{{recipient}}`, `{{step}}`, `{{tlp}}` (default: the platform's).
    #[schema(value_type = Option<Object>)]
    pub templates: Option<serde_json::Value>,
}

impl PolicyInput {
    fn document(&self) -> Result<PolicyDocument, ApiError> {
        let steps = serde_json::from_value(self.steps.clone())
            .map_err(|e| ApiError::invalid_value(format!("steps: {e}")).with_field("steps"))?;
        let templates: MessageTemplates = match &self.templates {
            Some(t) => serde_json::from_value(t.clone()).map_err(|e| {
                ApiError::invalid_value(format!("templates: {e}")).with_field("templates")
            })?,
            None => MessageTemplates::default(),
        };
        Ok(PolicyDocument {
            policy: EscalationPolicy {
                steps,
                repeat: self.repeat,
                severities: self.severities.clone(),
                rsit_classes: self.rsit_classes.clone(),
            },
            templates,
        })
    }
}

/// The escalation policies of a tenant and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/policies",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The policies", body = DutyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_policies(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<DutyList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    Ok(list(&state.app.duty().policies(&who.caller, tenant).await?))
}

/// Create an escalation policy.
#[utoipa::path(
    post,
    path = "/api/v1/oncall/policies",
    tag = "oncall",
    request_body = PolicyInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The policy as stored", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "The policy is not valid (the message names the field)", body = ErrorBody),
    )
)]
async fn create_policy(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<(StatusCode, axum::Json<DutyBody>), ApiError> {
    let tenant =
        parse_tenant_param(input.tenant.as_deref(), "tenant")?.unwrap_or(who.caller.tenant_id());
    let view = state
        .app
        .duty()
        .create_policy(&who.caller, tenant, &input.name, input.document()?)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(DutyBody(to_value(&view)))))
}

/// One escalation policy.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/policies/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The policy", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such policy in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_policy(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let view = state.app.duty().policy(&who.caller, id).await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}

/// Change an escalation policy (pages already open keep their steps).
#[utoipa::path(
    put,
    path = "/api/v1/oncall/policies/{id}",
    tag = "oncall",
    params(RecordPath),
    request_body = PolicyInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The policy as changed", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "No such policy in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Someone changed it since `version`", body = ErrorBody),
        (status = 422, description = "The policy is not valid, or `version` is missing", body = ErrorBody),
    )
)]
async fn update_policy(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let version = input.version.ok_or_else(|| {
        ApiError::invalid_value("version: the version read is required to change a policy")
            .with_field("version")
    })?;
    let view = state
        .app
        .duty()
        .update_policy(&who.caller, id, version, &input.name, input.document()?)
        .await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}

/// Delete an escalation policy (its versions stay).
#[utoipa::path(
    delete,
    path = "/api/v1/oncall/policies/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "No such policy in the caller's subtree", body = ErrorBody),
    )
)]
async fn delete_policy(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("id", &path.id)?;
    state.app.duty().delete_policy(&who.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- contact methods ----

/// The contact methods of the people of a tenant and below (webhook secrets withheld).
#[utoipa::path(
    get,
    path = "/api/v1/oncall/contacts",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Each person's contact methods", body = DutyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_contacts(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<DutyList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    Ok(list(&state.app.duty().contacts(&who.caller, tenant).await?))
}

/// A person's new contact methods.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The user name (default: the caller; someone else's needs an
    /// administrator or duty officer of their tenant or above).
    pub user: Option<String>,
    /// `{kind: email, address}` or `{kind: webhook, url, secret}` (16+ characters).
    #[schema(value_type = Vec<Object>)]
    pub methods: serde_json::Value,
}

/// Replace a person's contact methods.
#[utoipa::path(
    put,
    path = "/api/v1/oncall/contacts",
    tag = "oncall",
    request_body = ContactInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The contact methods as stored (webhook secrets withheld)", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the person, nor an administrator or duty officer above them", body = ErrorBody),
        (status = 404, description = "No such user in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A method is not valid (the message names it)", body = ErrorBody),
    )
)]
async fn set_contacts(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let methods: Vec<ContactMethod> = serde_json::from_value(input.methods.clone())
        .map_err(|e| ApiError::invalid_value(format!("methods: {e}")).with_field("methods"))?;
    let view = state
        .app
        .duty()
        .set_contacts(&who.caller, input.user.as_deref(), methods)
        .await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}

// ---- pages ----

/// A drill: whom to page.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestPageInput {
    /// The tenant whose on-call people to page (default: the caller's).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// `informational`, `low`, `medium`, `high` (default) or `critical`: chooses the policy.
    pub severity: Option<String>,
    /// What the message says (default: "Test page: please acknowledge").
    pub title: Option<String>,
}

/// Page the on-call people of a tenant now, through its escalation policy (a drill).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/test-page",
    tag = "oncall",
    request_body = TestPageInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The page, its first step run", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad severity or title", body = ErrorBody),
    )
)]
async fn test_page(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<TestPageInput>,
) -> Result<(StatusCode, axum::Json<DutyBody>), ApiError> {
    let tenant =
        parse_tenant_param(input.tenant.as_deref(), "tenant")?.unwrap_or(who.caller.tenant_id());
    let view = state
        .app
        .duty()
        .test_page(
            &who.caller,
            tenant,
            input.severity.as_deref().unwrap_or("high"),
            input.title.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(DutyBody(to_value(&view)))))
}

/// The pages of a tenant and below, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/pages",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The pages", body = DutyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_pages(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<DutyList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    Ok(list(&state.app.duty().pages(&who.caller, tenant).await?))
}

/// A page and every version of it: when each step ran, who acknowledged.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody {
    /// The page as it is now.
    #[schema(value_type = Object)]
    pub page: serde_json::Value,
    /// Every version, oldest first: `{at, page}`.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<serde_json::Value>,
}

/// One page, with its history (the proof of when each step ran).
#[utoipa::path(
    get,
    path = "/api/v1/oncall/pages/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The page and its versions", body = PageBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such page in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_page(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<PageBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let duty = state.app.duty();
    let page = duty.page(&who.caller, id).await?;
    let history = duty.page_history(&who.caller, id).await?;
    Ok(axum::Json(PageBody {
        page: to_value(&page),
        history: history
            .iter()
            .map(|(at, p)| serde_json::json!({ "at": at, "page": p }))
            .collect(),
    }))
}

/// Acknowledge a page: its escalation stops.
#[utoipa::path(
    post,
    path = "/api/v1/oncall/pages/{id}/acknowledge",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The page, acknowledged", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not acknowledge pages", body = ErrorBody),
        (status = 404, description = "No such page in the caller's subtree", body = ErrorBody),
        (status = 409, description = "It was acknowledged already", body = ErrorBody),
    )
)]
async fn acknowledge_page(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let view = state.app.duty().acknowledge(&who.caller, id).await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}

/// A signed acknowledgement link's token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LinkPath {
    /// The token.
    pub token: String,
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Acknowledge the page</title></head><body><main>{body}</main></body></html>"
        ),
    )
        .into_response()
}

/// The page behind a message's link: a button that acknowledges (a GET
/// changes nothing, so mail scanners that follow links acknowledge nothing).
#[utoipa::path(
    get,
    path = "/api/v1/oncall/ack/{token}",
    tag = "oncall",
    params(LinkPath),
    security(()),
    responses(
        (status = 200, description = "An HTML form that acknowledges the page", body = String, content_type = "text/html"),
        (status = 404, description = "Not a link of this platform", body = ErrorBody),
        (status = 409, description = "The link expired or was used", body = ErrorBody),
    )
)]
async fn show_link(
    State(state): State<ServerState>,
    ApiPath(path): ApiPath<LinkPath>,
) -> Result<Response, ApiError> {
    let status = state.app.duty().check_link(&path.token).await?;
    Ok(html(
        StatusCode::OK,
        format!(
            "<h1>Acknowledge the page</h1><p>The page is {status}.</p><form method=\"post\"><button type=\"submit\">Acknowledge: I am on it</button></form>"
        ),
    ))
}

/// Acknowledge the page a message's signed link names, as its recipient (works once).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/ack/{token}",
    tag = "oncall",
    params(LinkPath),
    security(()),
    responses(
        (status = 200, description = "The page, acknowledged", body = DutyBody),
        (status = 404, description = "Not a link of this platform", body = ErrorBody),
        (status = 409, description = "The link expired or was used, or the page was acknowledged already", body = ErrorBody),
    )
)]
async fn use_link(
    State(state): State<ServerState>,
    ApiPath(path): ApiPath<LinkPath>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let view = state.app.duty().acknowledge_by_link(&path.token).await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}

/// The delivery log of a tenant and below, newest first: every notification and its attempts.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/notifications",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The notifications", body = DutyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn delivery_log(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<DutyList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    Ok(list(
        &state.app.duty().notifications(&who.caller, tenant).await?,
    ))
}

// ---- hand-overs ----

/// The hand-overs of a tenant and below, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/handovers",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The hand-overs", body = DutyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_handovers(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<DutyList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    Ok(list(
        &state.app.duty().handovers(&who.caller, tenant).await?,
    ))
}

/// A hand-over note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverInput {
    /// The schedule whose shift changes.
    #[schema(value_type = String, format = Uuid)]
    pub schedule: String,
    /// The outgoing person's note.
    pub note: String,
}

/// Hand over the current shift of a schedule: the note, plus what is open
/// for the tenant (the outgoing person, or an administrator or duty officer for them).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/handovers",
    tag = "oncall",
    request_body = HandoverInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The hand-over, with the open-work summary and who takes over", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not on call on the schedule now, nor managing its roster", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad note", body = ErrorBody),
    )
)]
async fn write_handover(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<HandoverInput>,
) -> Result<(StatusCode, axum::Json<DutyBody>), ApiError> {
    let schedule = parse_id("schedule", &input.schedule)?;
    let view = state
        .app
        .duty()
        .write_handover(&who.caller, schedule, &input.note)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(DutyBody(to_value(&view)))))
}

/// The incoming person acknowledges a hand-over (or an administrator or duty officer for them).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/handovers/{id}/acknowledge",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The hand-over, acknowledged", body = DutyBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the incoming person, nor managing the roster", body = ErrorBody),
        (status = 404, description = "No such hand-over in the caller's subtree", body = ErrorBody),
        (status = 409, description = "It was acknowledged already", body = ErrorBody),
    )
)]
async fn acknowledge_handover(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<DutyBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let view = state
        .app
        .duty()
        .acknowledge_handover(&who.caller, id)
        .await?;
    Ok(axum::Json(DutyBody(to_value(&view))))
}
