//! The duty roster: who is on call now or at any moment, schedules, holiday
//! calendars (iCalendar imports and corrections), the coverage check, the
//! fairness ledger and each person's shift feed behind a secret URL.
//!
//! Roster documents are the model's (`nigehban_model::duty`), read and
//! written as JSON; who may do what is the app's one policy.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nigehban_app::model::duty::jiff::civil::Date;
use nigehban_app::model::duty::{CoverageGap, Schedule};
use nigehban_app::model::{DutyRecordId, TenantId, Timestamp};
use nigehban_app::{
    CalendarChange, CalendarView, Coverage, OnCall, ScheduleDocument, ScheduleView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::parse_tenant_param;

/// Largest iCalendar upload (a national calendar is a few kilobytes).
pub const MAX_CALENDAR_BYTES: usize = 1024 * 1024;

/// The duty roster routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(on_call_now))
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(get_schedule, update_schedule, delete_schedule))
        .routes(routes!(schedule_shifts))
        .routes(routes!(schedule_ledger))
        .routes(routes!(coverage))
        .routes(routes!(list_calendars))
        .routes(routes!(import_calendar))
        .routes(routes!(get_calendar))
        .routes(routes!(correct_holiday))
        .routes(routes!(rotate_feed_secret))
        .routes(routes!(feed))
}

fn parse_time(field: &str, value: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(value.trim()).map_err(|error| {
        ApiError::invalid_value(format!(
            "{field} must be an RFC 3339 time such as 2027-03-23T10:00:00Z: {error}"
        ))
        .with_field(field)
    })
}

/// A duty record's id from a path or body field, or a 400 naming the field.
pub(super) fn parse_id(field: &str, value: &str) -> Result<DutyRecordId, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|e: nigehban_app::model::InvalidId| {
            ApiError::invalid_value(e.to_string()).with_field(field)
        })
}

/// A view as JSON (the views are plain data: serialising cannot fail).
pub(super) fn to_value<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleBody {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: DutyRecordId,
    /// The owning tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// The team it is the roster of.
    pub team: String,
    /// Its version: send it back to change the schedule.
    pub version: u64,
    /// Since when this version is in effect.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The roster: `time_zone` (IANA, default Asia/Karachi), `layers` (name,
    /// priority, rotation: participants, start date, pattern `daily` with
    /// `handoffs` or `weekly` with `weekday` and `at`), `overrides` (user,
    /// start, end, kind override/swap/take_shift, replaces), `leave`,
    /// `holiday_rule` (`counted`, or `rotation` with a rotation), `weekend`,
    /// `night_from`, `night_until`.
    #[schema(value_type = Object)]
    pub roster: serde_json::Value,
    /// The holiday calendars it observes.
    #[schema(value_type = Vec<String>)]
    pub calendars: Vec<DutyRecordId>,
}

impl From<ScheduleView> for ScheduleBody {
    fn from(v: ScheduleView) -> Self {
        Self {
            id: v.id,
            tenant: v.tenant,
            name: v.name,
            team: v.document.team,
            version: v.version,
            updated_at: v.updated_at,
            roster: to_value(&v.document.roster),
            calendars: v.document.calendars,
        }
    }
}

/// Schedules.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    /// The schedules, ordered by id.
    pub items: Vec<ScheduleBody>,
}

/// A new schedule, or a schedule's new content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// The owning tenant (default: the caller's; ignored on change).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// The version read (required to change a schedule).
    pub version: Option<u64>,
    /// Its name.
    pub name: String,
    /// The team it is the roster of.
    pub team: String,
    /// The roster (see `ScheduleBody.roster`).
    #[schema(value_type = Object)]
    pub roster: serde_json::Value,
    /// Holiday calendar ids of the tenant or above it.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub calendars: Vec<String>,
}

impl ScheduleInput {
    fn document(&self) -> Result<ScheduleDocument, ApiError> {
        let roster: Schedule = serde_json::from_value(self.roster.clone())
            .map_err(|e| ApiError::invalid_value(format!("roster: {e}")).with_field("roster"))?;
        let calendars = self
            .calendars
            .iter()
            .map(|c| parse_id("calendars", c))
            .collect::<Result<_, _>>()?;
        Ok(ScheduleDocument {
            team: self.team.clone(),
            roster,
            calendars,
        })
    }
}

/// Who was, is or will be on call on one schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallBody {
    /// The schedule.
    #[schema(value_type = String, format = Uuid)]
    pub schedule: DutyRecordId,
    /// Its name.
    pub name: String,
    /// Its team.
    pub team: String,
    /// Its tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The moment asked about.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The version of the schedule in effect at that moment.
    pub roster_version: u64,
    /// The user name on call, or null for a gap.
    pub on_call: Option<String>,
    /// The shift: user, start, end, layer, source, local_start, holiday, night, weekend.
    #[schema(value_type = Option<Object>)]
    pub shift: Option<serde_json::Value>,
}

impl From<OnCall> for OnCallBody {
    fn from(o: OnCall) -> Self {
        Self {
            schedule: o.schedule,
            name: o.name,
            team: o.team,
            tenant: o.tenant,
            at: o.at,
            roster_version: o.roster_version,
            on_call: o.shift.as_ref().map(|s| s.user.clone()),
            shift: o.shift.as_ref().map(to_value),
        }
    }
}

/// Who is on call, per schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallList {
    /// One answer per schedule, ordered by schedule id.
    pub items: Vec<OnCallBody>,
}

/// Which schedules and which moment.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnCallQuery {
    /// The tenant whose schedules (and those below it) to answer for (default: the caller's).
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// Only this team's schedules.
    pub team: Option<String>,
    /// The moment (RFC 3339; default: now). A past moment is answered from the roster as it was then.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
}

/// Who is on call now, or at any past or future moment.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/now",
    tag = "oncall",
    params(OnCallQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Who is on call on each schedule", body = OnCallList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A parameter is not valid", body = ErrorBody),
    )
)]
async fn on_call_now(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<OnCallQuery>,
) -> Result<axum::Json<OnCallList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let at = query
        .at
        .as_deref()
        .map(|a| parse_time("at", a))
        .transpose()?;
    let answers = state
        .app
        .duty()
        .on_call(&who.caller, tenant, query.team.as_deref(), at)
        .await?;
    Ok(axum::Json(OnCallList {
        items: answers.into_iter().map(OnCallBody::from).collect(),
    }))
}

/// For which tenant.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// The tenant (default: the caller's); its subtree is listed.
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
}

/// The schedules of a tenant and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/schedules",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The schedules", body = ScheduleList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_schedules(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<ScheduleList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let items = state.app.duty().schedules(&who.caller, tenant).await?;
    Ok(axum::Json(ScheduleList {
        items: items.into_iter().map(ScheduleBody::from).collect(),
    }))
}

/// Create a schedule for a team.
#[utoipa::path(
    post,
    path = "/api/v1/oncall/schedules",
    tag = "oncall",
    request_body = ScheduleInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The schedule as stored", body = ScheduleBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "The roster is not valid (the message names the field)", body = ErrorBody),
    )
)]
async fn create_schedule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> Result<(StatusCode, axum::Json<ScheduleBody>), ApiError> {
    let tenant =
        parse_tenant_param(input.tenant.as_deref(), "tenant")?.unwrap_or(who.caller.tenant_id());
    let document = input.document()?;
    let view = state
        .app
        .duty()
        .create_schedule(&who.caller, tenant, &input.name, document)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view.into())))
}

/// A duty record named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RecordPath {
    /// Its id.
    pub id: String,
}

/// One schedule.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/schedules/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The schedule", body = ScheduleBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_schedule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<ScheduleBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let view = state.app.duty().schedule(&who.caller, id).await?;
    Ok(axum::Json(view.into()))
}

/// Change a schedule (a new version; earlier moments keep the old one).
#[utoipa::path(
    put,
    path = "/api/v1/oncall/schedules/{id}",
    tag = "oncall",
    params(RecordPath),
    request_body = ScheduleInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The schedule as changed", body = ScheduleBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
        (status = 409, description = "Someone changed it since `version`", body = ErrorBody),
        (status = 422, description = "The roster is not valid, or `version` is missing", body = ErrorBody),
    )
)]
async fn update_schedule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> Result<axum::Json<ScheduleBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let version = input.version.ok_or_else(|| {
        ApiError::invalid_value("version: the version read is required to change a schedule")
            .with_field("version")
    })?;
    let document = input.document()?;
    let view = state
        .app
        .duty()
        .update_schedule(&who.caller, id, version, &input.name, document)
        .await?;
    Ok(axum::Json(view.into()))
}

/// Delete a schedule (its versions stay, for past questions and proof).
#[utoipa::path(
    delete,
    path = "/api/v1/oncall/schedules/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
    )
)]
async fn delete_schedule(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("id", &path.id)?;
    state.app.duty().delete_schedule(&who.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// From (RFC 3339).
    #[param(value_type = String, format = DateTime)]
    pub from: String,
    /// Until (RFC 3339, at most 800 days after `from`).
    #[param(value_type = String, format = DateTime)]
    pub to: String,
}

/// Shifts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftList {
    /// The shifts in time order: user, start, end, layer, source, local_start, holiday, night, weekend.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// A schedule's shifts in a time range (overrides, leave and holidays applied).
#[utoipa::path(
    get,
    path = "/api/v1/oncall/schedules/{id}/shifts",
    tag = "oncall",
    params(RecordPath, RangeQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The shifts", body = ShiftList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
        (status = 422, description = "A bad range", body = ErrorBody),
    )
)]
async fn schedule_shifts(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<axum::Json<ShiftList>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let (from, to) = (
        parse_time("from", &query.from)?,
        parse_time("to", &query.to)?,
    );
    let shifts = state.app.duty().shifts(&who.caller, id, from, to).await?;
    Ok(axum::Json(ShiftList {
        items: shifts.iter().map(to_value).collect(),
    }))
}

/// Which year.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year (local dates of the schedule's zone).
    pub year: i16,
}

/// The fairness ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerBody {
    /// The year.
    pub year: i16,
    /// Per user name: shifts, holiday, night, weekend, minutes.
    #[schema(value_type = Object)]
    pub people: serde_json::Value,
}

/// Holiday, night and weekend shifts per person of one schedule over a year.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/schedules/{id}/ledger",
    tag = "oncall",
    params(RecordPath, YearQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The ledger", body = LedgerBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such schedule in the caller's subtree", body = ErrorBody),
    )
)]
async fn schedule_ledger(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> Result<axum::Json<LedgerBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let ledger = state.app.duty().ledger(&who.caller, id, query.year).await?;
    Ok(axum::Json(LedgerBody {
        year: ledger.year,
        people: to_value(&ledger.people),
    }))
}

/// A time with nobody on call.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapBody {
    /// From.
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// Until.
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// The coverage of one schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageBody {
    /// The schedule.
    #[schema(value_type = String, format = Uuid)]
    pub schedule: DutyRecordId,
    /// Its tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Checked from.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// Checked until.
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// Every gap.
    pub gaps: Vec<GapBody>,
}

impl From<Coverage> for CoverageBody {
    fn from(c: Coverage) -> Self {
        Self {
            schedule: c.schedule,
            tenant: c.tenant,
            name: c.name,
            from: c.from,
            to: c.to,
            gaps: c
                .gaps
                .into_iter()
                .map(|CoverageGap { start, end }| GapBody { start, end })
                .collect(),
        }
    }
}

/// Coverage per schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageList {
    /// One report per schedule.
    pub items: Vec<CoverageBody>,
}

/// Which tenant and how far ahead.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// The tenant (default: the caller's); its subtree is checked.
    #[param(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// Weeks ahead (1 to 104, default 4).
    pub weeks: Option<u32>,
}

/// Every gap (a moment with nobody on call) in the next weeks, per schedule.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/coverage",
    tag = "oncall",
    params(CoverageQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "Gaps per schedule", body = CoverageList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "`weeks` out of range", body = ErrorBody),
    )
)]
async fn coverage(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<CoverageQuery>,
) -> Result<axum::Json<CoverageList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let reports = state
        .app
        .duty()
        .coverage(&who.caller, tenant, query.weeks.unwrap_or(4))
        .await?;
    Ok(axum::Json(CoverageList {
        items: reports.into_iter().map(CoverageBody::from).collect(),
    }))
}

/// A holiday calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarBody {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: DutyRecordId,
    /// The owning tenant.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Its version: send it back to correct a holiday.
    pub version: u64,
    /// Whose holidays (a country, sector or organisation).
    pub scope: String,
    /// The holidays: uid, name, date, days, source, corrected_from.
    #[schema(value_type = Vec<Object>)]
    pub holidays: serde_json::Value,
}

impl From<CalendarView> for CalendarBody {
    fn from(c: CalendarView) -> Self {
        Self {
            id: c.id,
            tenant: c.tenant,
            name: c.name,
            version: c.version,
            scope: c.calendar.scope.clone(),
            holidays: to_value(&c.calendar.holidays),
        }
    }
}

/// Holiday calendars.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarList {
    /// The calendars, ordered by id.
    pub items: Vec<CalendarBody>,
}

/// What an import or correction did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarChangeBody {
    /// The calendar as stored.
    pub calendar: CalendarBody,
    /// For an import: `added`, `replaced`, `corrections_kept`.
    #[schema(value_type = Option<Object>)]
    pub import: Option<serde_json::Value>,
    /// Gaps the change leaves in the next 8 weeks of schedules that observe the calendar.
    pub warnings: Vec<CoverageBody>,
}

impl From<CalendarChange> for CalendarChangeBody {
    fn from(c: CalendarChange) -> Self {
        Self {
            calendar: c.calendar.into(),
            import: c.import.as_ref().map(to_value),
            warnings: c.warnings.into_iter().map(CoverageBody::from).collect(),
        }
    }
}

/// The holiday calendars of a tenant and the tenants below it.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/calendars",
    tag = "oncall",
    params(TenantQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The calendars", body = CalendarList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
    )
)]
async fn list_calendars(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<CalendarList>, ApiError> {
    let tenant = parse_tenant_param(query.tenant.as_deref(), "tenant")?;
    let items = state.app.duty().calendars(&who.caller, tenant).await?;
    Ok(axum::Json(CalendarList {
        items: items.into_iter().map(CalendarBody::from).collect(),
    }))
}

/// Holidays to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportCalendarInput {
    /// The owning tenant (default: the caller's).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<String>,
    /// The calendar's name (made if the tenant has none of that name).
    pub name: String,
    /// Whose holidays (e.g. `Pakistan`).
    pub scope: Option<String>,
    /// The iCalendar (`.ics`) text.
    pub ical: String,
}

/// Import holidays from iCalendar (`.ics`) text into a calendar (merged by
/// UID; corrections made by hand are kept).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/calendars/import",
    tag = "oncall",
    request_body = ImportCalendarInput,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The calendar as stored, and gaps it opens", body = CalendarChangeBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "`tenant` is not in the caller's subtree", body = ErrorBody),
        (status = 413, description = "The file is too large", body = ErrorBody),
        (status = 422, description = "Not iCalendar we can read (the message names the line)", body = ErrorBody),
    )
)]
async fn import_calendar(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiJson(input): ApiJson<ImportCalendarInput>,
) -> Result<axum::Json<CalendarChangeBody>, ApiError> {
    let tenant =
        parse_tenant_param(input.tenant.as_deref(), "tenant")?.unwrap_or(who.caller.tenant_id());
    let change = state
        .app
        .duty()
        .import_holidays(
            &who.caller,
            tenant,
            &input.name,
            input.scope.as_deref().unwrap_or(""),
            &input.ical,
        )
        .await?;
    Ok(axum::Json(change.into()))
}

/// One holiday calendar.
#[utoipa::path(
    get,
    path = "/api/v1/oncall/calendars/{id}",
    tag = "oncall",
    params(RecordPath),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The calendar", body = CalendarBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not see rosters", body = ErrorBody),
        (status = 404, description = "No such calendar in the caller's subtree", body = ErrorBody),
    )
)]
async fn get_calendar(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
) -> Result<axum::Json<CalendarBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let view = state.app.duty().calendar(&who.caller, id).await?;
    Ok(axum::Json(view.into()))
}

/// A holiday moved, or added by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayCorrection {
    /// The calendar's version read.
    pub version: u64,
    /// The holiday's uid (a new uid with `name` adds one).
    pub uid: String,
    /// Its (new) date, `YYYY-MM-DD`.
    pub date: String,
    /// Its name (required to add one).
    pub name: Option<String>,
}

/// Move a holiday to another date (a lunar holiday announced late), or add
/// one by hand; answers with the gaps the change opens.
#[utoipa::path(
    post,
    path = "/api/v1/oncall/calendars/{id}/holidays",
    tag = "oncall",
    params(RecordPath),
    request_body = HolidayCorrection,
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The calendar as changed, and gaps it opens", body = CalendarChangeBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an administrator or duty officer there", body = ErrorBody),
        (status = 404, description = "No such calendar or holiday", body = ErrorBody),
        (status = 409, description = "Someone changed the calendar since `version`", body = ErrorBody),
        (status = 422, description = "A bad date", body = ErrorBody),
    )
)]
async fn correct_holiday(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiPath(path): ApiPath<RecordPath>,
    ApiJson(input): ApiJson<HolidayCorrection>,
) -> Result<axum::Json<CalendarChangeBody>, ApiError> {
    let id = parse_id("id", &path.id)?;
    let date: Date = input.date.trim().parse().map_err(|e| {
        ApiError::invalid_value(format!("date must be YYYY-MM-DD: {e}")).with_field("date")
    })?;
    let change = state
        .app
        .duty()
        .correct_holiday(
            &who.caller,
            id,
            input.version,
            &input.uid,
            date,
            input.name.as_deref(),
        )
        .await?;
    Ok(axum::Json(change.into()))
}

/// A feed URL, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedSecretBody {
    /// The user it is for.
    pub user: String,
    /// The feed's path (`/api/v1/oncall/feed/<secret>`); anyone with it reads the shifts.
    pub path: String,
}

/// Make a new secret URL for the caller's own shift feed (the old one stops working).
#[utoipa::path(
    post,
    path = "/api/v1/oncall/feed-secret",
    tag = "oncall",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The feed's secret path", body = FeedSecretBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "The caller is not a person", body = ErrorBody),
    )
)]
async fn rotate_feed_secret(
    State(state): State<ServerState>,
    who: Authenticated,
) -> Result<(StatusCode, axum::Json<FeedSecretBody>), ApiError> {
    let secret = state.app.duty().rotate_feed_secret(&who.caller).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(FeedSecretBody {
            user: secret.user,
            path: format!("/api/v1/oncall/feed/{}", secret.secret.expose()),
        }),
    ))
}

/// A feed secret in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FeedPath {
    /// The secret.
    pub secret: String,
}

/// A person's shifts as an iCalendar feed (authenticated by the secret in the URL).
#[utoipa::path(
    get,
    path = "/api/v1/oncall/feed/{secret}",
    tag = "oncall",
    params(FeedPath),
    security(()),
    responses(
        (status = 200, description = "iCalendar text, a week back and 8 weeks ahead", body = String, content_type = "text/calendar"),
        (status = 404, description = "No feed with this secret", body = ErrorBody),
    )
)]
async fn feed(
    State(state): State<ServerState>,
    ApiPath(path): ApiPath<FeedPath>,
) -> Result<Response, ApiError> {
    let text = state.app.duty().feed(&path.secret, 8).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
