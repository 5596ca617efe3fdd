//! Shared threat intelligence: indicators (publish, list, read, change,
//! delete) and their sightings. Who sees an indicator is TLP 2.0's and the
//! custody's decision, made by the app's one policy; an indicator the
//! caller may not read is "not found".

use axum::extract::State;
use axum::http::StatusCode;
use nigehban_app::model::indicator::{
    Indicator, IndicatorKind, IndicatorValue, ShareRecipient, Sighting,
};
use nigehban_app::model::{IndicatorId, Pap, SensorId, TenantId, Timestamp, Tlp, UserId};
use nigehban_app::{IndicatorListing, IndicatorUpdate, NewIndicator, NewSighting};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{page_request, parse_tenant_param};

/// The indicator routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_indicators, create_indicator))
        .routes(routes!(get_indicator, update_indicator, delete_indicator))
        .routes(routes!(list_sightings, add_sighting))
}

/// Someone an indicator is shared with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientView {
    /// `tenant` (TLP:AMBER, AMBER+STRICT) or `user` (TLP:RED: named people).
    pub kind: String,
    /// The tenant's or the user's id.
    #[schema(format = Uuid)]
    pub id: String,
}

impl From<&ShareRecipient> for RecipientView {
    fn from(recipient: &ShareRecipient) -> Self {
        match recipient {
            ShareRecipient::Tenant(t) => RecipientView {
                kind: "tenant".into(),
                id: t.to_string(),
            },
            ShareRecipient::User(u) => RecipientView {
                kind: "user".into(),
                id: u.to_string(),
            },
        }
    }
}

impl RecipientView {
    fn parse(&self) -> Result<ShareRecipient, ApiError> {
        let bad = |e: String| ApiError::invalid_value(e).with_field("shared_with");
        match self.kind.as_str() {
            "tenant" => Ok(ShareRecipient::Tenant(
                self.id
                    .parse::<TenantId>()
                    .map_err(|e| bad(e.to_string()))?,
            )),
            "user" => Ok(ShareRecipient::User(
                self.id.parse::<UserId>().map_err(|e| bad(e.to_string()))?,
            )),
            other => Err(bad(format!(
                "recipient kind {other:?}: expected tenant or user"
            ))),
        }
    }
}

fn recipients(list: &[RecipientView]) -> Result<Vec<ShareRecipient>, ApiError> {
    list.iter().map(RecipientView::parse).collect()
}

/// An indicator of compromise.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorView {
    /// Its id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The publishing tenant.
    #[schema(format = Uuid)]
    pub tenant: String,
    /// ipv4, ipv6, cidr, domain, url, md5, sha1, sha256, email, ja3, ja4.
    pub kind: String,
    /// The normalised value.
    pub value: String,
    /// A short title.
    pub title: String,
    /// Context.
    pub description: String,
    /// From when it is valid.
    #[schema(value_type = String, format = DateTime)]
    pub valid_from: Timestamp,
    /// Until when (absent: until withdrawn).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Timestamp>,
    /// The source's confidence, 0–100, as given.
    pub confidence: u8,
    /// The confidence now, after decay with age (per kind).
    pub confidence_now: u8,
    /// Where it came from.
    pub source: String,
    /// ATT&CK, RSIT and free tags.
    pub tags: Vec<String>,
    /// clear, green, amber, amber+strict, red.
    #[schema(value_type = String)]
    pub tlp: Tlp,
    /// clear, green, amber, red.
    #[schema(value_type = String)]
    pub pap: Pap,
    /// Who it is addressed to.
    pub shared_with: Vec<RecipientView>,
    /// Whether it is withdrawn.
    pub revoked: bool,
    /// Its version.
    pub version: u64,
    /// When it was published.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl IndicatorView {
    fn of(indicator: Indicator, now: Timestamp) -> Self {
        IndicatorView {
            id: indicator.id.to_string(),
            tenant: indicator.tenant.to_string(),
            kind: indicator.value.kind().as_str().to_owned(),
            value: indicator.value.value().to_owned(),
            confidence_now: indicator.confidence_at(now),
            title: indicator.title,
            description: indicator.description,
            valid_from: indicator.valid_from,
            valid_until: indicator.valid_until,
            confidence: indicator.confidence,
            source: indicator.source,
            tags: indicator.tags,
            tlp: indicator.tlp,
            pap: indicator.pap,
            shared_with: indicator
                .shared_with
                .iter()
                .map(RecipientView::from)
                .collect(),
            revoked: indicator.revoked,
            version: indicator.version,
            created_at: indicator.created_at,
            updated_at: indicator.updated_at,
        }
    }
}

/// One page of indicators.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorPage {
    /// The indicators, ordered by id.
    pub items: Vec<IndicatorView>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// Which indicators to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// Only of this kind.
    pub kind: Option<String>,
    /// Only this value (with `kind`, or `kind` guessed: `ip`, `hash`, ...), normalised.
    pub value: Option<String>,
    /// Only those published by this tenant or one below it (a tenant in the caller's subtree).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// `true`: leave out withdrawn ones.
    pub active: Option<bool>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many items at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The indicators the caller may read: its custody's (its own tenant's and
/// those below it) and those TLP shares with it.
#[utoipa::path(
    get,
    path = "/api/v1/indicators",
    tag = "intel",
    params(IndicatorQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of indicators, ordered by id", body = IndicatorPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role does not read intelligence (there)", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad kind, value, under, cursor or limit", body = ErrorBody),
    )
)]
async fn list_indicators(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<IndicatorQuery>,
) -> Result<axum::Json<IndicatorPage>, ApiError> {
    let kind = match query.kind.as_deref() {
        Some(word) => Some(IndicatorKind::parse(word).ok_or_else(|| {
            ApiError::invalid_value(format!("unknown indicator kind {word:?}")).with_field("kind")
        })?),
        None => None,
    };
    let value = match query.value.as_deref() {
        Some(text) => {
            let word = kind.map_or("ip", IndicatorKind::as_str);
            let parsed = IndicatorValue::parse(word, text)
                .or_else(|error| match kind {
                    Some(_) => Err(error),
                    None => ["hash", "domain", "url", "email", "cidr", "ja4"]
                        .into_iter()
                        .find_map(|k| IndicatorValue::parse(k, text).ok())
                        .ok_or(error),
                })
                .map_err(|e| ApiError::invalid_value(e.to_string()).with_field("value"))?;
            Some(parsed)
        }
        None => None,
    };
    let listing = IndicatorListing {
        kind,
        value,
        under: parse_tenant_param(query.under.as_deref(), "under")?,
        active_only: query.active.unwrap_or(false),
    };
    let page = page_request(query.cursor.as_deref(), query.limit.as_deref())?;
    let found = state.app.intel().list(&who.caller, listing, &page).await?;
    let now = state.app.clock().now();
    Ok(axum::Json(IndicatorPage {
        items: found
            .items
            .into_iter()
            .map(|i| IndicatorView::of(i, now))
            .collect(),
        next_cursor: found.next.map(|c| c.as_str().to_owned()),
    }))
}

/// An indicator to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIndicatorRequest {
    /// The publishing tenant (default: the caller's).
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// ipv4, ipv6, ip, cidr, domain, url, md5, sha1, sha256, hash, email, ja3, ja4.
    pub kind: String,
    /// The value (defanged values are accepted).
    pub value: String,
    /// A short title.
    #[serde(default)]
    pub title: String,
    /// Context, what to do.
    #[serde(default)]
    pub description: String,
    /// From when it is valid (default: now).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    /// Until when (default: until withdrawn).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
    /// 0–100 (default 50).
    #[serde(default)]
    pub confidence: Option<u8>,
    /// Where it came from.
    #[serde(default)]
    pub source: String,
    /// ATT&CK (`attack.t1566`), RSIT and free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// clear, green, amber (default), amber+strict, red.
    #[schema(value_type = Option<String>)]
    #[serde(default = "default_tlp")]
    pub tlp: Tlp,
    /// clear, green, amber (default), red.
    #[schema(value_type = Option<String>)]
    #[serde(default = "default_pap")]
    pub pap: Pap,
    /// Who it is addressed to: tenants (AMBER, AMBER+STRICT), people (RED).
    #[serde(default)]
    pub shared_with: Vec<RecipientView>,
}

fn default_tlp() -> Tlp {
    Tlp::Amber
}

fn default_pap() -> Pap {
    Pap::Amber
}

/// Publish an indicator (the tenant's analysts and intel analysts).
#[utoipa::path(
    post,
    path = "/api/v1/indicators",
    tag = "intel",
    request_body = CreateIndicatorRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Published", body = IndicatorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not publish for that tenant", body = ErrorBody),
        (status = 404, description = "The tenant is not in the caller's subtree", body = ErrorBody),
        (status = 409, description = "The tenant holds an indicator for that value already", body = ErrorBody),
        (status = 422, description = "Bad kind, value or field; or a known-benign value (MISP warninglist)", body = ErrorBody),
    )
)]
async fn create_indicator(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(request): ApiJson<CreateIndicatorRequest>,
) -> Result<(StatusCode, axum::Json<IndicatorView>), ApiError> {
    let value = IndicatorValue::parse(&request.kind, &request.value)
        .map_err(|e| ApiError::invalid_value(e.to_string()).with_field("value"))?;
    let made = state
        .app
        .intel()
        .create(
            &who.caller,
            NewIndicator {
                tenant: request.tenant,
                value,
                title: request.title,
                description: request.description,
                valid_from: request.valid_from,
                valid_until: request.valid_until,
                confidence: request.confidence,
                source: request.source,
                tags: request.tags,
                tlp: request.tlp,
                pap: request.pap,
                shared_with: recipients(&request.shared_with)?,
            },
        )
        .await?;
    let now = state.app.clock().now();
    Ok((
        StatusCode::CREATED,
        axum::Json(IndicatorView::of(made, now)),
    ))
}

/// The id in an indicator's path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IndicatorPath {
    /// The indicator's id.
    #[param(value_type = String, format = Uuid)]
    pub id: IndicatorId,
}

/// One indicator the caller may read (reads of TLP:AMBER and above are audited).
#[utoipa::path(
    get,
    path = "/api/v1/indicators/{id}",
    tag = "intel",
    params(IndicatorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The indicator", body = IndicatorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "An indicator of the caller's subtree that its role may not read", body = ErrorBody),
        (status = 404, description = "No such indicator that the caller may read", body = ErrorBody),
    )
)]
async fn get_indicator(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IndicatorPath>,
) -> Result<axum::Json<IndicatorView>, ApiError> {
    let indicator = state.app.intel().get(&who.caller, path.id).await?;
    Ok(axum::Json(IndicatorView::of(
        indicator,
        state.app.clock().now(),
    )))
}

/// A change to an indicator; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIndicatorRequest {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// A new end of validity.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
    /// `true`: valid until withdrawn (drops `valid_until`).
    #[serde(default)]
    pub open_ended: bool,
    /// A new confidence.
    #[serde(default)]
    pub confidence: Option<u8>,
    /// New tags (replacing the old).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// A new TLP label.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// A new PAP label.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub pap: Option<Pap>,
    /// New recipients (replacing the old).
    #[serde(default)]
    pub shared_with: Option<Vec<RecipientView>>,
    /// `true` withdraws it, `false` puts it back in force.
    #[serde(default)]
    pub revoked: Option<bool>,
}

/// Change an indicator (its publisher's analysts and intel analysts).
#[utoipa::path(
    patch,
    path = "/api/v1/indicators/{id}",
    tag = "intel",
    params(IndicatorPath),
    request_body = UpdateIndicatorRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The indicator as changed", body = IndicatorView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may read it but not change it", body = ErrorBody),
        (status = 404, description = "No such indicator that the caller may read", body = ErrorBody),
        (status = 409, description = "Changed by someone else meanwhile", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn update_indicator(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IndicatorPath>,
    ApiJson(request): ApiJson<UpdateIndicatorRequest>,
) -> Result<axum::Json<IndicatorView>, ApiError> {
    let valid_until = if request.open_ended {
        Some(None)
    } else {
        request.valid_until.map(Some)
    };
    let update = IndicatorUpdate {
        title: request.title,
        description: request.description,
        valid_until,
        confidence: request.confidence,
        tags: request.tags,
        tlp: request.tlp,
        pap: request.pap,
        shared_with: request.shared_with.as_deref().map(recipients).transpose()?,
        revoked: request.revoked,
    };
    let changed = state
        .app
        .intel()
        .update(&who.caller, path.id, update)
        .await?;
    Ok(axum::Json(IndicatorView::of(
        changed,
        state.app.clock().now(),
    )))
}

/// Delete an indicator (its sightings stay); withdrawing (`revoked`) keeps it for the record.
#[utoipa::path(
    delete,
    path = "/api/v1/indicators/{id}",
    tag = "intel",
    params(IndicatorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may read it but not delete it", body = ErrorBody),
        (status = 404, description = "No such indicator that the caller may read", body = ErrorBody),
    )
)]
async fn delete_indicator(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IndicatorPath>,
) -> Result<StatusCode, ApiError> {
    state.app.intel().delete(&who.caller, path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sighting: someone saw the indicator.
#[derive(Debug, Serialize, ToSchema)]
pub struct SightingView {
    /// Its id.
    #[schema(format = Uuid)]
    pub id: String,
    /// The indicator.
    #[schema(format = Uuid)]
    pub indicator: String,
    /// The tenant that saw it.
    #[schema(format = Uuid)]
    pub tenant: String,
    /// When it was seen.
    #[schema(value_type = String, format = DateTime)]
    pub seen_at: Timestamp,
    /// How many times.
    pub count: u32,
    /// The sensor that saw it.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub sensor: Option<SensorId>,
    /// The event it was seen in.
    pub event_id: Option<String>,
    /// Where, in words (for matches: the field and value).
    pub note: String,
    /// reported, live or retrospective.
    pub origin: String,
    /// When it was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
}

impl From<Sighting> for SightingView {
    fn from(s: Sighting) -> Self {
        SightingView {
            id: s.id.to_string(),
            indicator: s.indicator.to_string(),
            tenant: s.tenant.to_string(),
            seen_at: s.seen_at,
            count: s.count,
            sensor: s.sensor,
            event_id: s.event_id,
            note: s.note,
            origin: serde_json::to_value(s.origin)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            recorded_at: s.recorded_at,
        }
    }
}

/// The sightings of an indicator.
#[derive(Debug, Serialize, ToSchema)]
pub struct SightingList {
    /// Oldest first.
    pub items: Vec<SightingView>,
}

/// The sightings of an indicator: all of them for its custody, else the
/// caller's tenant's and those of the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/indicators/{id}/sightings",
    tag = "intel",
    params(IndicatorPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The sightings the caller may see", body = SightingList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "An indicator of the caller's subtree that its role may not read", body = ErrorBody),
        (status = 404, description = "No such indicator that the caller may read", body = ErrorBody),
    )
)]
async fn list_sightings(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IndicatorPath>,
) -> Result<axum::Json<SightingList>, ApiError> {
    let list = state.app.intel().sightings(&who.caller, path.id).await?;
    Ok(axum::Json(SightingList {
        items: list.into_iter().map(SightingView::from).collect(),
    }))
}

/// A sighting to report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSightingRequest {
    /// When it was seen (default: now).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    pub seen_at: Option<Timestamp>,
    /// How many times (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Where, in words.
    #[serde(default)]
    pub note: String,
    /// The event it was seen in, if known.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// Report a sighting of an indicator the caller may read, for the caller's tenant.
#[utoipa::path(
    post,
    path = "/api/v1/indicators/{id}/sightings",
    tag = "intel",
    params(IndicatorPath),
    request_body = AddSightingRequest,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "Recorded", body = SightingView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "An indicator of the caller's subtree that its role may not read", body = ErrorBody),
        (status = 404, description = "No such indicator that the caller may read", body = ErrorBody),
        (status = 409, description = "That event's sighting is recorded already", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    )
)]
async fn add_sighting(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<IndicatorPath>,
    ApiJson(request): ApiJson<AddSightingRequest>,
) -> Result<(StatusCode, axum::Json<SightingView>), ApiError> {
    let sighting = state
        .app
        .intel()
        .add_sighting(
            &who.caller,
            path.id,
            NewSighting {
                seen_at: request.seen_at,
                count: request.count,
                note: request.note,
                event_id: request.event_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(sighting.into())))
}
