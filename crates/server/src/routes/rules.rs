//! Detection rules per tenant: import (a YAML document stream or an
//! archive of rule files), list and read rules with their state for a
//! tenant, enable or disable a rule for the platform or a tenant's subtree,
//! add and remove a tenant's Sigma filters, and try a rule or filter on the
//! stored events of the last hours before enabling it.
//!
//! Reading Sigma is the node's (`nigehban_node::read_upload`, the same
//! reader `nigehban serve --rules` and `hunt` use); who may do what is the
//! app's one policy.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use nigehban_app::model::{
    RuleDocument, RuleFilter, RuleFilterId, RuleKind, RuleOverride, TenantId, Timestamp, UserId,
};
use nigehban_app::{RuleListing, RuleQuery, RuleState};
use nigehban_node::{RuleTrial, read_filter, read_upload};
use nigehban_search::{EventQuery, SortOrder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{page_request, parse_tenant_param};

/// Largest rule upload accepted (SigmaHQ's full release archive is ~5 MB).
pub const MAX_RULES_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Most stored events a trial examines.
pub const MAX_TRIAL_EVENTS: usize = 200_000;

/// Most detections a trial lists (all are counted).
pub const MAX_TRIAL_DETECTIONS: usize = 1_000;

/// Longest look-back of a trial, in hours (30 days).
pub const MAX_TRIAL_HOURS: u32 = 720;

/// The rule routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(import_rules))
        .routes(routes!(list_rules))
        .routes(routes!(get_rule))
        .routes(routes!(set_platform_state))
        .routes(routes!(set_tenant_state, inherit_tenant_state))
        .routes(routes!(list_filters, add_filter))
        .routes(routes!(remove_filter))
        .routes(routes!(test_rule))
}

/// A tenant's decision about a rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverrideView {
    /// The tenant deciding (for itself and the tenants below it).
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Enabled or disabled there.
    pub enabled: bool,
    /// Who decided.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub set_by: Option<UserId>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<RuleOverride> for OverrideView {
    fn from(o: RuleOverride) -> Self {
        Self {
            tenant: o.tenant,
            enabled: o.enabled,
            set_by: o.set_by,
            at: o.at,
        }
    }
}

/// A stored rule and its state for one tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    /// The rule's Sigma id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `rule`, `correlation` or `filter`.
    pub kind: String,
    /// Its level, if it gives one.
    pub level: Option<String>,
    /// `imported` or `built-in`.
    pub origin: String,
    /// Where it came from (`file:line`).
    pub source_name: String,
    /// Whether it runs for the whole platform (tenants may override).
    pub platform_enabled: bool,
    /// The tenant the state below is for.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Whether it runs for that tenant.
    pub enabled: bool,
    /// The tenant whose override decides (itself or an ancestor); null: the platform's flag.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub decided_by: Option<TenantId>,
    /// Overrides set by the tenant and the tenants below it.
    pub overrides: Vec<OverrideView>,
    /// Who imported it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub imported_by: Option<UserId>,
    /// When it was imported.
    #[schema(value_type = String, format = DateTime)]
    pub imported_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The YAML text (only when one rule is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl RuleView {
    fn of(state: RuleState, with_text: bool) -> Self {
        let RuleDocument {
            id,
            title,
            kind,
            level,
            origin,
            source_name,
            text,
            enabled,
            imported_by,
            imported_at,
            updated_at,
            ..
        } = state.rule;
        Self {
            id,
            title,
            kind: kind.as_str().to_owned(),
            level,
            origin: origin.as_str().to_owned(),
            source_name,
            platform_enabled: enabled,
            tenant: state.tenant,
            enabled: state.effective_enabled,
            decided_by: state.decided_by,
            overrides: state
                .overrides
                .into_iter()
                .map(OverrideView::from)
                .collect(),
            imported_by,
            imported_at,
            updated_at,
            text: with_text.then_some(text),
        }
    }
}

/// A page of rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulePage {
    /// The rules, ordered by id.
    pub items: Vec<RuleView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A problem with an imported document, and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleDiagnostic {
    /// The file (or `archive!entry`).
    pub file: String,
    /// The line (0 when unknown).
    pub line: u32,
    /// `error` (left out), `unsupported` (stored, not run yet) or `warning`.
    pub kind: String,
    /// The rule's id, when known.
    pub rule_id: Option<String>,
    /// The rule's title, when known.
    pub title: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The whole finding as one line (`file:line: error: ...`).
    pub text: String,
}

impl From<&nigehban_node::RuleProblem> for RuleDiagnostic {
    fn from(d: &nigehban_node::RuleProblem) -> Self {
        Self {
            file: d.origin.clone(),
            line: d.line,
            kind: d.kind.to_string(),
            rule_id: d.rule_id.clone(),
            title: d.title.clone(),
            message: d.message.clone(),
            text: d.to_string(),
        }
    }
}

/// What one file of an import held.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedFile {
    /// The file (or `archive!entry`).
    pub file: String,
    /// Documents read from it.
    pub rules: usize,
    /// Documents left out as broken.
    pub broken: usize,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Documents stored that were not before.
    pub added: u64,
    /// Documents that replaced a stored one.
    pub replaced: u64,
    /// Documents identical to the stored one.
    pub unchanged: u64,
    /// Documents left out as broken (see `diagnostics`).
    pub broken: usize,
    /// Whether the stored documents run for the whole platform.
    pub enabled: bool,
    /// Per file.
    pub files: Vec<ImportedFile>,
    /// Every problem found, with its place.
    pub diagnostics: Vec<RuleDiagnostic>,
}

/// How an import is done.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `false`: store the rules disabled for the platform (tenants may enable them). Default `true`.
    pub enabled: Option<bool>,
    /// The upload's file name, used in diagnostics (and, for archives, when the content does not say).
    pub name: Option<String>,
}

/// Import Sigma rules: one YAML document stream, or a `.zip` / `.tar.gz` archive of rule files.
///
/// Good documents are stored (replacing those with the same id), broken
/// ones are reported with file and line and left out. National CERT
/// administrators only.
#[utoipa::path(
    post,
    path = "/api/v1/rules/import",
    tag = "rules",
    params(ImportQuery),
    request_body(content = Vec<u8>, description = "YAML text, or a zip / tar.gz archive", content_type = "application/octet-stream"),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "What was stored and what was wrong", body = ImportReport),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator of the national CERT", body = ErrorBody),
        (status = 413, description = "The upload is too large", body = ErrorBody),
        (status = 422, description = "Too many rules in one import", body = ErrorBody),
    )
)]
async fn import_rules(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<ImportQuery>,
    request: Request,
) -> Result<axum::Json<ImportReport>, ApiError> {
    let bytes = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(MAX_RULES_BODY_BYTES)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
    let enabled = query.enabled.unwrap_or(true);
    let name = query.name.unwrap_or_else(|| "upload".to_owned());
    let read = tokio::task::spawn_blocking(move || read_upload(&name, bytes.to_vec()))
        .await
        .map_err(|_| ApiError::internal())?;
    let broken = read.problems.iter().filter(|p| p.is_error()).count();
    let outcome = state
        .app
        .rules()
        .import(&who.caller, read.documents, enabled)
        .await?;
    Ok(axum::Json(ImportReport {
        added: outcome.added,
        replaced: outcome.replaced,
        unchanged: outcome.unchanged,
        broken,
        enabled,
        files: read
            .files
            .into_iter()
            .map(|f| ImportedFile {
                file: f.file,
                rules: f.rules,
                broken: f.broken,
            })
            .collect(),
        diagnostics: read.problems.iter().map(RuleDiagnostic::from).collect(),
    }))
}

/// Which rules to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RuleListQuery {
    /// Text found in the id or title (case ignored).
    pub text: Option<String>,
    /// Only this level (informational, low, medium, high, critical).
    pub level: Option<String>,
    /// Only this kind: rule, correlation, filter.
    pub kind: Option<String>,
    /// Show the state for this tenant (default: the caller's).
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many items at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The stored rules with their state for a tenant.
#[utoipa::path(
    get,
    path = "/api/v1/rules",
    tag = "rules",
    params(RuleListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of rules", body = RulePage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rules", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad parameter, named in the answer", body = ErrorBody),
    )
)]
async fn list_rules(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<RuleListQuery>,
) -> Result<axum::Json<RulePage>, ApiError> {
    let kind = query
        .kind
        .as_deref()
        .map(|k| k.parse::<RuleKind>())
        .transpose()
        .map_err(|e| ApiError::invalid_value(e.to_string()).with_field("kind"))?;
    let listing = RuleListing {
        query: RuleQuery {
            text: query.text.filter(|t| !t.trim().is_empty()),
            level: query.level,
            kind,
        },
        tenant: parse_tenant_param(query.tenant.as_deref(), "tenant")?,
    };
    let page = page_request(query.cursor.as_deref(), query.limit.as_deref())?;
    let page = state.app.rules().list(&who.caller, listing, &page).await?;
    Ok(axum::Json(RulePage {
        items: page
            .items
            .into_iter()
            .map(|s| RuleView::of(s, false))
            .collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// A rule named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RulePath {
    /// The rule's Sigma id.
    pub id: String,
}

/// For which tenant to show a rule's state.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RuleTenantQuery {
    /// The tenant (default: the caller's).
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
}

/// One stored rule, with its text and its state for a tenant.
#[utoipa::path(
    get,
    path = "/api/v1/rules/{id}",
    tag = "rules",
    params(RulePath, RuleTenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The rule", body = RuleView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rules", body = ErrorBody),
        (status = 404, description = "No such rule, or `tenant` not in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_rule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RulePath>,
    ApiQuery(query): ApiQuery<RuleTenantQuery>,
) -> Result<axum::Json<RuleView>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let rule = state.app.rules().get(&who.caller, &path.id, tenant).await?;
    Ok(axum::Json(RuleView::of(rule, true)))
}

/// Enabled or disabled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleEnabled {
    /// Whether the rule runs.
    pub enabled: bool,
}

/// Enable or disable a rule for the whole platform (tenants' overrides still apply). National CERT administrators only.
#[utoipa::path(
    put,
    path = "/api/v1/rules/{id}/platform",
    tag = "rules",
    params(RulePath),
    request_body = RuleEnabled,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The rule as changed, with its state for the caller's tenant", body = RuleView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator of the national CERT", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
    )
)]
async fn set_platform_state(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RulePath>,
    ApiJson(body): ApiJson<RuleEnabled>,
) -> Result<axum::Json<RuleView>, ApiError> {
    let rules = state.app.rules();
    rules
        .set_platform_enabled(&who.caller, &path.id, body.enabled)
        .await?;
    let rule = rules.get(&who.caller, &path.id, None).await?;
    Ok(axum::Json(RuleView::of(rule, false)))
}

/// A rule and a tenant named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RuleTenantPath {
    /// The rule's Sigma id.
    pub id: String,
    /// The tenant.
    #[param(value_type = String, format = Uuid)]
    pub tenant: TenantId,
}

/// Enable or disable a rule for a tenant and the tenants below it that do not decide otherwise.
#[utoipa::path(
    put,
    path = "/api/v1/rules/{id}/tenants/{tenant}",
    tag = "rules",
    params(RuleTenantPath),
    request_body = RuleEnabled,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The rule with its state for the tenant", body = RuleView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not tune rules there", body = ErrorBody),
        (status = 404, description = "No such rule, or the tenant is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn set_tenant_state(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RuleTenantPath>,
    ApiJson(body): ApiJson<RuleEnabled>,
) -> Result<axum::Json<RuleView>, ApiError> {
    let rule = state
        .app
        .rules()
        .set_for_tenant(&who.caller, &path.id, path.tenant, body.enabled)
        .await?;
    Ok(axum::Json(RuleView::of(rule, false)))
}

/// Remove a tenant's override of a rule: it inherits its parent's state again.
#[utoipa::path(
    delete,
    path = "/api/v1/rules/{id}/tenants/{tenant}",
    tag = "rules",
    params(RuleTenantPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The rule with its state for the tenant", body = RuleView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not tune rules there", body = ErrorBody),
        (status = 404, description = "No such rule, or the tenant is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn inherit_tenant_state(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RuleTenantPath>,
) -> Result<axum::Json<RuleView>, ApiError> {
    let rule = state
        .app
        .rules()
        .inherit_for_tenant(&who.caller, &path.id, path.tenant)
        .await?;
    Ok(axum::Json(RuleView::of(rule, false)))
}

/// A tenant's Sigma filter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilterView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: RuleFilterId,
    /// The tenant it tunes detection for (with its subtree).
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its title.
    pub title: String,
    /// The ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The YAML text.
    pub text: String,
    /// Who added it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub created_by: Option<UserId>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<RuleFilter> for FilterView {
    fn from(f: RuleFilter) -> Self {
        Self {
            id: f.id,
            tenant: f.tenant,
            title: f.title,
            rules: f.rules,
            text: f.text,
            created_by: f.created_by,
            created_at: f.created_at,
        }
    }
}

/// A list of filters.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilterList {
    /// The filters, ordered by id (creation time).
    pub items: Vec<FilterView>,
}

/// Whose filters to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilterListQuery {
    /// This tenant's and those of the tenants below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
}

/// The filters of a tenant and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/rules/filters",
    tag = "rules",
    params(FilterListQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The filters", body = FilterList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rules", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_filters(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<FilterListQuery>,
) -> Result<axum::Json<FilterList>, ApiError> {
    let under = parse_tenant_param(query.under.as_deref(), "under")?;
    let filters = state.app.rules().filters(&who.caller, under).await?;
    Ok(axum::Json(FilterList {
        items: filters.into_iter().map(FilterView::from).collect(),
    }))
}

/// A filter to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFilterRequest {
    /// The tenant it tunes detection for, with its subtree (default: the caller's).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The Sigma filter document (YAML): `title`, `logsource`, and `filter:` with `rules`, selections and `condition`.
    pub yaml: String,
}

/// Add a Sigma filter for a tenant and the tenants below it.
#[utoipa::path(
    post,
    path = "/api/v1/rules/filters",
    tag = "rules",
    request_body = NewFilterRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The filter, in force within seconds", body = FilterView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not tune rules there", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Not a readable Sigma filter (what and where in the answer)", body = ErrorBody),
    )
)]
async fn add_filter(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewFilterRequest>,
) -> Result<(StatusCode, axum::Json<FilterView>), ApiError> {
    let tenant = body.tenant.unwrap_or(who.caller.tenant_id());
    let filter = read_filter(tenant, &body.yaml)
        .map_err(|message| ApiError::invalid_value(message).with_field("yaml"))?;
    let filter = state.app.rules().add_filter(&who.caller, filter).await?;
    Ok((StatusCode::CREATED, axum::Json(filter.into())))
}

/// A filter named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FilterPath {
    /// The filter's id.
    #[param(value_type = String, format = Uuid)]
    pub id: RuleFilterId,
}

/// Remove a tenant's filter.
#[utoipa::path(
    delete,
    path = "/api/v1/rules/filters/{id}",
    tag = "rules",
    params(FilterPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The filter removed", body = FilterView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not tune rules there", body = ErrorBody),
        (status = 404, description = "No such filter in the caller's subtree", body = ErrorBody),
    )
)]
async fn remove_filter(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<FilterPath>,
) -> Result<axum::Json<FilterView>, ApiError> {
    let filter = state
        .app
        .rules()
        .remove_filter(&who.caller, path.id)
        .await?;
    Ok(axum::Json(filter.into()))
}

/// What to try.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    /// A rule or filter document (YAML); a filter is tried with the stored rules it names.
    #[serde(default)]
    pub yaml: Option<String>,
    /// Or the id of a stored rule.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// How many hours back from now to look (1 to 720).
    pub hours: u32,
    /// The events of this tenant and the tenants below it (default: the caller's tenant).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
}

/// A field value that made a rule match.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialField {
    /// The event's field (null for a keyword search).
    pub field: Option<String>,
    /// Its value.
    pub value: String,
}

/// An event the rule would have raised an alert for.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialDetection {
    /// The event's id.
    pub event_id: String,
    /// Its tenant.
    pub tenant: String,
    /// Its sensor.
    pub sensor: Option<String>,
    /// Its `@timestamp` (RFC 3339).
    pub timestamp: String,
    /// The rule that matched.
    pub rule_id: String,
    /// Its title.
    pub rule_title: String,
    /// What matched.
    pub matched: Vec<TrialField>,
}

/// What a rule would have raised.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialReport {
    /// Stored events examined.
    pub events_examined: u64,
    /// Whether the look-back held more events than a trial examines (the oldest were examined).
    pub truncated: bool,
    /// Detections in all.
    pub count: u64,
    /// The detections (at most 1000), oldest event first.
    pub detections: Vec<TrialDetection>,
}

/// Try a rule or filter on the stored events of the last N hours the caller may see, before enabling it.
#[utoipa::path(
    post,
    path = "/api/v1/rules/test",
    tag = "rules",
    request_body = TrialRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "What the rule would have raised", body = TrialReport),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rules or search events", body = ErrorBody),
        (status = 404, description = "No such rule, or the tenant is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A rule that cannot be read or compiled (what and where), or bad hours", body = ErrorBody),
        (status = 503, description = "Event search is not running on this server", body = ErrorBody),
    )
)]
async fn test_rule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(body): ApiJson<TrialRequest>,
) -> Result<axum::Json<TrialReport>, ApiError> {
    if !(1..=MAX_TRIAL_HOURS).contains(&body.hours) {
        return Err(ApiError::invalid_value(format!(
            "hours must be from 1 to {MAX_TRIAL_HOURS}; got {}",
            body.hours
        ))
        .with_field("hours"));
    }
    let tenant = body.tenant.unwrap_or(who.caller.tenant_id());
    let rules = state.app.rules();
    rules.authorise_view(&who.caller, tenant).await?;
    let mut documents: Vec<(String, String)> = Vec::new();
    match (&body.yaml, &body.rule_id) {
        (Some(yaml), None) => {
            documents.push((yaml.clone(), "yaml".to_owned()));
            // A filter is tried with the stored rules it names.
            if let Ok(filter) = read_filter(tenant, yaml) {
                for id in &filter.rules {
                    if let Ok(rule) = rules.get(&who.caller, id, Some(tenant)).await {
                        documents.push((rule.rule.text, rule.rule.source_name));
                    }
                }
            }
        }
        (None, Some(id)) => {
            let rule = rules.get(&who.caller, id, Some(tenant)).await?;
            documents.push((rule.rule.text, rule.rule.source_name));
        }
        _ => {
            return Err(ApiError::invalid_value(
                "give either `yaml` (a rule or filter document) or `rule_id`",
            ));
        }
    }
    let trial = RuleTrial::compile(&documents).map_err(|problems| {
        ApiError::invalid_value(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
        .with_field(if body.yaml.is_some() {
            "yaml"
        } else {
            "rule_id"
        })
    })?;
    let scope = state
        .app
        .events_scope_under(&who.caller, Some(tenant))
        .await?;
    let telemetry = state.telemetry()?;
    let mut query = EventQuery::new(scope)
        .limit(MAX_TRIAL_EVENTS + 1)
        .order(SortOrder::OldestFirst);
    let hours = i64::from(body.hours);
    query.from = Some(OffsetDateTime::now_utc() - time::Duration::hours(hours));
    let index = telemetry.index.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<TrialReport, ApiError> {
        let hits = index.search(&query).map_err(|error| {
            tracing::error!(%error, "rule trial search failed");
            ApiError::internal()
        })?;
        let mut report = TrialReport {
            events_examined: 0,
            truncated: false,
            count: 0,
            detections: Vec::new(),
        };
        for hit in hits {
            let hit = hit.map_err(|error| {
                tracing::error!(%error, "rule trial search failed");
                ApiError::internal()
            })?;
            if report.events_examined as usize == MAX_TRIAL_EVENTS {
                report.truncated = true;
                break;
            }
            report.events_examined += 1;
            for found in trial.check(&hit.event) {
                report.count += 1;
                if report.detections.len() < MAX_TRIAL_DETECTIONS {
                    report.detections.push(TrialDetection {
                        event_id: hit.id.clone(),
                        tenant: hit.tenant_id.clone(),
                        sensor: hit.sensor_id.clone(),
                        timestamp: hit
                            .timestamp
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                        rule_id: found.rule_id,
                        rule_title: found.rule_title,
                        matched: found
                            .matched
                            .into_iter()
                            .map(|(field, value)| TrialField { field, value })
                            .collect(),
                    });
                }
            }
        }
        Ok(report)
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok(axum::Json(report))
}
