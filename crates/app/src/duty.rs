//! The duty roster (issue 12): schedules, holiday calendars, who is on call
//! now and at any moment, coverage, the fairness ledger and each person's
//! shift feed.
//!
//! - Schedules and holiday calendars belong to a tenant; administrators and
//!   duty officers of it or a CERT above change them (`Action::ManageRoster`),
//!   those who work the watch read them (`Action::ViewRoster`).
//! - Every change is a new version of the record, kept with the moment it
//!   took effect: "who was on call at T" in the past is answered from the
//!   schedule as it was at T, never from today's edited one.
//! - A holiday correction answers with the coverage gaps it opens in the
//!   schedules that use the calendar, at once.
//! - A person's shifts are an iCalendar feed behind a secret URL
//!   (`GET /api/v1/oncall/feed/{secret}`); only the secret's SHA-256 is kept.
//! - Paging ([`paging`]): escalation policies, contact methods, pages,
//!   notifications and acknowledgements (API or a signed single-use link);
//!   delivery ([`delivery`]): SMTP and HMAC-signed webhooks; message
//!   templates ([`template`]); hand-overs ([`handover`]); and the duty loop
//!   ([`watch`]) that runs timers and retries on the app's clock.

mod delivery;
mod handover;
mod paging;
pub mod template;
mod watch;

pub use delivery::{SIGNATURE_HEADER, SmtpSettings};
pub use handover::{HandoverState, HandoverView, OpenWork};
pub use paging::{
    Acknowledgement, ContactMethod, ContactView, DeliveryAttempt, DutySettings, NotificationState,
    NotificationView, PageState, PageView, PolicyDocument, PolicyView,
};
pub use template::MessageTemplates;
pub use watch::DutyCheck;

use std::collections::BTreeSet;

use nigehban_model::duty::jiff::civil::Date;
use nigehban_model::duty::{
    CoverageGap, DutyRecord, DutyRecordKind, FairnessLedger, Holiday, HolidayCalendar,
    HolidayImport, HolidaySource, Schedule, Shift, coverage_gaps, secret_key, shift_feed,
};
use nigehban_model::{DutyRecordId, TenantId, Timestamp};
use nigehban_store::DutyQuery;
use serde::{Deserialize, Serialize};

use crate::policy::Action;
use crate::secrets::random_token;
use crate::{App, AppError, AppResult, Caller, Secret};

/// The most weeks a coverage check looks ahead.
pub const MAX_COVERAGE_WEEKS: u32 = 104;

/// How far ahead a holiday correction checks for gaps it opens.
pub const CORRECTION_CHECK_WEEKS: u32 = 8;

/// A schedule as stored: the team it serves, the roster, the calendars it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleDocument {
    /// The team (within the tenant) it is the roster of.
    pub team: String,
    /// The roster.
    pub roster: Schedule,
    /// The holiday calendars it observes (ids of calendars in its tenant or above).
    #[serde(default)]
    pub calendars: Vec<DutyRecordId>,
}

/// A schedule as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleView {
    /// Its id.
    pub id: DutyRecordId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Its version (give it back to change it).
    pub version: u64,
    /// Since when this version is in effect.
    pub updated_at: Timestamp,
    /// The document.
    #[serde(flatten)]
    pub document: ScheduleDocument,
}

/// A holiday calendar as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarView {
    /// Its id.
    pub id: DutyRecordId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: u64,
    /// The calendar.
    #[serde(flatten)]
    pub calendar: HolidayCalendar,
}

/// Who is on call on one schedule at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnCall {
    /// The schedule.
    pub schedule: DutyRecordId,
    /// Its name.
    pub name: String,
    /// Its team.
    pub team: String,
    /// Its tenant.
    pub tenant: TenantId,
    /// The moment asked about.
    pub at: Timestamp,
    /// The version of the schedule that was in effect then.
    pub roster_version: u64,
    /// The shift covering the moment, if anyone was on call.
    pub shift: Option<Shift>,
}

/// The coverage check of one schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// The schedule.
    pub schedule: DutyRecordId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Checked from.
    pub from: Timestamp,
    /// Checked until.
    pub to: Timestamp,
    /// Every time with nobody on call.
    pub gaps: Vec<CoverageGap>,
}

/// What a holiday import or correction did, with the gaps it opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarChange {
    /// The calendar as stored.
    pub calendar: CalendarView,
    /// For an import: what was added and replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<HolidayImport>,
    /// Gaps in the next weeks of the schedules using the calendar: a warning for the duty officer.
    pub warnings: Vec<Coverage>,
}

/// A person's feed URL secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSecret {
    /// The user name the feed is for.
    pub user: String,
    /// The secret path segment.
    pub secret: Secret,
}

/// The duty roster's services (see the module documentation).
pub struct Duty<'a> {
    pub(crate) app: &'a App,
}

impl App {
    /// The duty roster: schedules, holidays, who is on call, coverage, ledger.
    pub fn duty(&self) -> Duty<'_> {
        Duty { app: self }
    }
}

fn schedule_view(record: &DutyRecord) -> AppResult<ScheduleView> {
    let document: ScheduleDocument = serde_json::from_value(record.body.clone())
        .map_err(|e| AppError::Internal(format!("stored schedule {}: {e}", record.id)))?;
    Ok(ScheduleView {
        id: record.id,
        tenant: record.tenant,
        name: record.name.clone(),
        version: record.version,
        updated_at: record.updated_at,
        document,
    })
}

fn calendar_view(record: &DutyRecord) -> AppResult<CalendarView> {
    let calendar: HolidayCalendar = serde_json::from_value(record.body.clone())
        .map_err(|e| AppError::Internal(format!("stored calendar {}: {e}", record.id)))?;
    Ok(CalendarView {
        id: record.id,
        tenant: record.tenant,
        name: record.name.clone(),
        version: record.version,
        calendar,
    })
}

fn check_name(what: &str, name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::Invalid(format!(
            "{what}: a name of 1 to 200 characters"
        )));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(AppError::Invalid(format!(
            "{what}: control character U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(name.to_owned())
}

fn to_json<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn weeks(n: u32) -> i64 {
    i64::from(n) * 7 * 86_400_000_000
}

impl Duty<'_> {
    fn now(&self) -> Timestamp {
        self.app.clock().now()
    }

    async fn record(
        &self,
        caller: &Caller,
        action: Action,
        kind: DutyRecordKind,
        id: DutyRecordId,
    ) -> AppResult<DutyRecord> {
        let what = match kind {
            DutyRecordKind::Schedule => "schedule",
            DutyRecordKind::HolidayCalendar => "holiday calendar",
            _ => "duty record",
        };
        let record = self
            .app
            .store()
            .duty_record(id)
            .await?
            .filter(|r| r.kind == kind)
            .ok_or_else(|| AppError::not_found(what, id))?;
        self.app
            .authorise(caller, action, record.tenant, what, id)
            .await?;
        Ok(record)
    }

    async fn check_schedule(&self, tenant: TenantId, document: &ScheduleDocument) -> AppResult<()> {
        document
            .roster
            .validate()
            .map_err(|e| AppError::Invalid(format!("schedule: {e}")))?;
        check_name("team", &document.team)?;
        let path = self.app.path_ids(tenant).await?;
        for id in &document.calendars {
            let calendar = self
                .app
                .store()
                .duty_record(*id)
                .await?
                .filter(|r| r.kind == DutyRecordKind::HolidayCalendar);
            match calendar {
                Some(c) if path.contains(&c.tenant) => {}
                _ => {
                    return Err(AppError::Invalid(format!(
                        "calendars: no holiday calendar {id} in the schedule's tenant or above it"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Creates a schedule for a team of `tenant`.
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        tenant: TenantId,
        name: &str,
        document: ScheduleDocument,
    ) -> AppResult<ScheduleView> {
        let (kind, check) = (
            DutyRecordKind::Schedule,
            self.check_schedule(tenant, &document),
        );
        let stored = self.create_roster_record(caller, tenant, kind, name, &document, check);
        schedule_view(&stored.await?)
    }

    /// Stores a new schedule or escalation policy of `tenant`: the caller must
    /// manage rosters, then the name is checked, then the document (`check`
    /// runs only when awaited here, so that errors come in that order).
    async fn create_roster_record<T: Serialize>(
        &self,
        caller: &Caller,
        tenant: TenantId,
        kind: DutyRecordKind,
        name: &str,
        document: &T,
        check: impl Future<Output = AppResult<()>>,
    ) -> AppResult<DutyRecord> {
        self.app
            .authorise(caller, Action::ManageRoster, tenant, "tenant", tenant)
            .await?;
        let name = check_name("name", name)?;
        check.await?;
        let mut record = DutyRecord::new(tenant, kind, name, to_json(document)?, self.now());
        record.updated_by = caller.user_id();
        Ok(self
            .app
            .store()
            .put_duty_record(&record, 0, Some(&self.audit(caller)))
            .await?)
    }

    fn audit(&self, caller: &Caller) -> nigehban_store::AuditContext {
        let mut ctx = caller.audit_context();
        ctx.at = self.now();
        ctx
    }

    /// Replaces a schedule's name and document; `version` is the one read
    /// (a change by someone else since is refused). The old version stays
    /// in effect for every moment before now.
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        id: DutyRecordId,
        version: u64,
        name: &str,
        document: ScheduleDocument,
    ) -> AppResult<ScheduleView> {
        let mut record = self
            .record(caller, Action::ManageRoster, DutyRecordKind::Schedule, id)
            .await?;
        record.name = check_name("name", name)?;
        self.check_schedule(record.tenant, &document).await?;
        record.body = to_json(&document)?;
        record.updated_at = self.now();
        record.updated_by = caller.user_id();
        let stored = self
            .app
            .store()
            .put_duty_record(&record, version, Some(&self.audit(caller)))
            .await?;
        schedule_view(&stored)
    }

    /// Deletes a schedule (its versions stay, for past questions and proof).
    pub async fn delete_schedule(&self, caller: &Caller, id: DutyRecordId) -> AppResult<()> {
        self.record(caller, Action::ManageRoster, DutyRecordKind::Schedule, id)
            .await?;
        self.app
            .store()
            .delete_duty_record(id, &self.audit(caller))
            .await?;
        Ok(())
    }

    /// One schedule.
    pub async fn schedule(&self, caller: &Caller, id: DutyRecordId) -> AppResult<ScheduleView> {
        let record = self
            .record(caller, Action::ViewRoster, DutyRecordKind::Schedule, id)
            .await?;
        schedule_view(&record)
    }

    /// The records of one kind of `tenant` (default: the caller's) and below,
    /// each read into its view, newest first.
    async fn listed_newest_first<V>(
        &self,
        caller: &Caller,
        kind: DutyRecordKind,
        tenant: Option<TenantId>,
        view: impl Fn(&DutyRecord) -> AppResult<V>,
    ) -> AppResult<Vec<V>> {
        let mut items = self
            .listed(caller, kind, tenant)
            .await?
            .iter()
            .map(view)
            .collect::<AppResult<Vec<_>>>()?;
        items.reverse();
        Ok(items)
    }

    async fn listed(
        &self,
        caller: &Caller,
        kind: DutyRecordKind,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<DutyRecord>> {
        self.listed_with_status(caller, kind, tenant, None, DutyQuery::all(kind).limit)
            .await
    }

    /// Like [`Self::listed`], only the records with `status` (when given),
    /// the oldest `limit`: the store filters, so the answered pages of past
    /// months are not read.
    pub(crate) async fn listed_with_status(
        &self,
        caller: &Caller,
        kind: DutyRecordKind,
        tenant: Option<TenantId>,
        status: Option<&str>,
        limit: u32,
    ) -> AppResult<Vec<DutyRecord>> {
        let tenant = tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewRoster, tenant, "tenant", tenant)
            .await?;
        Ok(self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                subtree: Some(tenant),
                status: status.map(str::to_owned),
                limit,
                ..DutyQuery::all(kind)
            })
            .await?)
    }

    /// The schedules of `tenant` (default: the caller's) and the tenants below it.
    pub async fn schedules(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<ScheduleView>> {
        self.listed(caller, DutyRecordKind::Schedule, tenant)
            .await?
            .iter()
            .map(schedule_view)
            .collect()
    }

    /// The holiday dates a schedule observes (its calendars as they are now).
    async fn holiday_dates(&self, document: &ScheduleDocument) -> AppResult<BTreeSet<Date>> {
        let mut dates = BTreeSet::new();
        for id in &document.calendars {
            if let Some(record) = self.app.store().duty_record(*id).await? {
                dates.extend(calendar_view(&record)?.calendar.dates());
            }
        }
        Ok(dates)
    }

    /// Who is on call at `at` (default: now) on each schedule of `tenant`
    /// (default: the caller's) and below, optionally of one team. A moment in
    /// the past is answered from each schedule as it was then.
    pub async fn on_call(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        team: Option<&str>,
        at: Option<Timestamp>,
    ) -> AppResult<Vec<OnCall>> {
        let now = self.now();
        let at = at.unwrap_or(now);
        let mut answers = Vec::new();
        for current in self
            .listed(caller, DutyRecordKind::Schedule, tenant)
            .await?
        {
            let record = if at < now {
                match self.app.store().duty_record_at(current.id, at).await? {
                    Some(then) => then,
                    None => continue,
                }
            } else {
                current
            };
            let view = schedule_view(&record)?;
            if team.is_some_and(|t| !t.eq_ignore_ascii_case(&view.document.team)) {
                continue;
            }
            let holidays = self.holiday_dates(&view.document).await?;
            let shift = view
                .document
                .roster
                .on_call_at(at, &holidays)
                .map_err(|e| AppError::Invalid(format!("schedule {}: {e}", view.id)))?;
            answers.push(OnCall {
                schedule: view.id,
                name: view.name,
                team: view.document.team,
                tenant: view.tenant,
                at,
                roster_version: view.version,
                shift,
            });
        }
        Ok(answers)
    }

    /// The shifts of one schedule in `[from, to)`.
    pub async fn shifts(
        &self,
        caller: &Caller,
        id: DutyRecordId,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<Vec<Shift>> {
        let view = self.schedule(caller, id).await?;
        let holidays = self.holiday_dates(&view.document).await?;
        view.document
            .roster
            .shifts(from, to, &holidays)
            .map_err(|e| AppError::Invalid(e.to_string()))
    }

    fn coverage_of(
        &self,
        view: &ScheduleView,
        holidays: &BTreeSet<Date>,
        from: Timestamp,
        n: u32,
    ) -> AppResult<Coverage> {
        let to = Timestamp::from_unix_micros(from.unix_micros().saturating_add(weeks(n)));
        let shifts = view
            .document
            .roster
            .shifts(from, to, holidays)
            .map_err(|e| AppError::Invalid(format!("schedule {}: {e}", view.id)))?;
        Ok(Coverage {
            schedule: view.id,
            tenant: view.tenant,
            name: view.name.clone(),
            from,
            to,
            gaps: coverage_gaps(&shifts, from, to),
        })
    }

    /// Every gap in the next `weeks` weeks of each schedule of `tenant` and below.
    pub async fn coverage(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        weeks: u32,
    ) -> AppResult<Vec<Coverage>> {
        if weeks == 0 || weeks > MAX_COVERAGE_WEEKS {
            return Err(AppError::Invalid(format!(
                "weeks: 1 to {MAX_COVERAGE_WEEKS}"
            )));
        }
        let from = self.now();
        let mut out = Vec::new();
        for record in self
            .listed(caller, DutyRecordKind::Schedule, tenant)
            .await?
        {
            let view = schedule_view(&record)?;
            let holidays = self.holiday_dates(&view.document).await?;
            out.push(self.coverage_of(&view, &holidays, from, weeks)?);
        }
        Ok(out)
    }

    /// Holiday, night and weekend shifts per person of one schedule over a year.
    pub async fn ledger(
        &self,
        caller: &Caller,
        id: DutyRecordId,
        year: i16,
    ) -> AppResult<FairnessLedger> {
        let view = self.schedule(caller, id).await?;
        let roster = &view.document.roster;
        let bound = |y: i16| -> AppResult<Timestamp> {
            let date = Date::new(y, 1, 1)
                .map_err(|_| AppError::Invalid(format!("year {year} out of range")))?;
            roster
                .instant(date.to_datetime(nigehban_model::duty::jiff::civil::Time::midnight()))
                .map_err(|e| AppError::Invalid(e.to_string()))
        };
        // A day either side: shifts are counted whole, in the year they start.
        const DAY: i64 = 86_400_000_000;
        let (from, to) = (bound(year)?, bound(year.saturating_add(1))?);
        let (from, to) = (
            Timestamp::from_unix_micros(from.unix_micros() - DAY),
            Timestamp::from_unix_micros(to.unix_micros() + DAY),
        );
        let holidays = self.holiday_dates(&view.document).await?;
        let shifts = roster
            .shifts(from, to, &holidays)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(FairnessLedger::count(year, &shifts))
    }

    // ---- holiday calendars ----

    /// The holiday calendars of `tenant` (default: the caller's) and below.
    pub async fn calendars(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<CalendarView>> {
        self.listed(caller, DutyRecordKind::HolidayCalendar, tenant)
            .await?
            .iter()
            .map(calendar_view)
            .collect()
    }

    /// One holiday calendar.
    pub async fn calendar(&self, caller: &Caller, id: DutyRecordId) -> AppResult<CalendarView> {
        let record = self
            .record(
                caller,
                Action::ViewRoster,
                DutyRecordKind::HolidayCalendar,
                id,
            )
            .await?;
        calendar_view(&record)
    }

    /// Imports holidays from iCalendar text into the calendar `name` of
    /// `tenant` (made if missing; merged by uid, hand corrections kept).
    pub async fn import_holidays(
        &self,
        caller: &Caller,
        tenant: TenantId,
        name: &str,
        scope: &str,
        ical: &str,
    ) -> AppResult<CalendarChange> {
        self.app
            .authorise(caller, Action::ManageRoster, tenant, "tenant", tenant)
            .await?;
        let name = check_name("name", name)?;
        let holidays =
            HolidayCalendar::read_ical(ical).map_err(|e| AppError::Invalid(e.to_string()))?;
        let existing = self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                subtree: Some(tenant),
                ..DutyQuery::all(DutyRecordKind::HolidayCalendar)
            })
            .await?
            .into_iter()
            .find(|r| r.tenant == tenant && r.name == name);
        let (mut record, version) = match existing {
            Some(r) => {
                let v = r.version;
                (r, v)
            }
            None => (
                DutyRecord::new(
                    tenant,
                    DutyRecordKind::HolidayCalendar,
                    name,
                    to_json(&HolidayCalendar::default())?,
                    self.now(),
                ),
                0,
            ),
        };
        let mut calendar = calendar_view(&record)?.calendar;
        if !scope.trim().is_empty() {
            calendar.scope = scope.trim().to_owned();
        }
        let outcome = calendar.merge_import(holidays);
        self.save_calendar(caller, &mut record, version, &calendar, Some(outcome))
            .await
    }

    async fn save_calendar(
        &self,
        caller: &Caller,
        record: &mut DutyRecord,
        version: u64,
        calendar: &HolidayCalendar,
        import: Option<HolidayImport>,
    ) -> AppResult<CalendarChange> {
        record.body = to_json(calendar)?;
        record.updated_at = self.now();
        record.updated_by = caller.user_id();
        let stored = self
            .app
            .store()
            .put_duty_record(record, version, Some(&self.audit(caller)))
            .await?;
        let warnings = self.gaps_using(stored.id).await?;
        Ok(CalendarChange {
            calendar: calendar_view(&stored)?,
            import,
            warnings,
        })
    }

    /// Gaps in the next weeks of every schedule observing a calendar.
    async fn gaps_using(&self, calendar: DutyRecordId) -> AppResult<Vec<Coverage>> {
        let from = self.now();
        let mut out = Vec::new();
        for record in self
            .app
            .store()
            .list_duty_records(&DutyQuery::all(DutyRecordKind::Schedule))
            .await?
        {
            let view = schedule_view(&record)?;
            if !view.document.calendars.contains(&calendar) {
                continue;
            }
            let holidays = self.holiday_dates(&view.document).await?;
            let coverage = self.coverage_of(&view, &holidays, from, CORRECTION_CHECK_WEEKS)?;
            if !coverage.gaps.is_empty() {
                tracing::warn!(schedule = %view.id, gaps = coverage.gaps.len(), "a holiday change leaves the roster with gaps");
                out.push(coverage);
            }
        }
        Ok(out)
    }

    /// Moves one holiday to another date (a lunar holiday announced late),
    /// or adds one by hand when `name` is given and the uid is new.
    pub async fn correct_holiday(
        &self,
        caller: &Caller,
        calendar_id: DutyRecordId,
        version: u64,
        uid: &str,
        date: Date,
        name: Option<&str>,
    ) -> AppResult<CalendarChange> {
        let mut record = self
            .record(
                caller,
                Action::ManageRoster,
                DutyRecordKind::HolidayCalendar,
                calendar_id,
            )
            .await?;
        let mut calendar = calendar_view(&record)?.calendar;
        let uid = check_name("uid", uid)?;
        if calendar.holidays.iter().any(|h| h.uid == uid) {
            calendar
                .correct(&uid, date)
                .map_err(|e| AppError::Invalid(e.to_string()))?;
            if let Some(name) = name {
                let name = check_name("name", name)?;
                if let Some(h) = calendar.holidays.iter_mut().find(|h| h.uid == uid) {
                    h.name = name;
                }
            }
        } else {
            let Some(name) = name else {
                return Err(AppError::not_found("holiday", &uid));
            };
            calendar.holidays.push(Holiday {
                uid,
                name: check_name("name", name)?,
                date,
                days: 1,
                source: HolidaySource::Manual,
                corrected_from: None,
            });
            calendar
                .holidays
                .sort_by(|a, b| (a.date, &a.uid).cmp(&(b.date, &b.uid)));
        }
        self.save_calendar(caller, &mut record, version, &calendar, None)
            .await
    }

    // ---- each person's feed ----

    /// Makes (or replaces) the caller's feed secret: the old URL stops working.
    pub async fn rotate_feed_secret(&self, caller: &Caller) -> AppResult<FeedSecret> {
        let user_id = caller.user_id().ok_or_else(|| {
            AppError::Invalid("a feed belongs to a person, not the operator".into())
        })?;
        let user = self
            .app
            .store()
            .user(user_id)
            .await?
            .ok_or_else(|| AppError::not_found("user", user_id))?;
        let secret = random_token();
        let key = secret_key("feed", &secret);
        let name = user.username.to_string();
        let existing = self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                subtree: Some(user.tenant),
                ..DutyQuery::all(DutyRecordKind::Contact)
            })
            .await?
            .into_iter()
            .find(|r| r.name == name && r.tenant == user.tenant);
        let (mut record, version) = match existing {
            Some(r) => {
                let v = r.version;
                (r, v)
            }
            None => (
                DutyRecord::new(
                    user.tenant,
                    DutyRecordKind::Contact,
                    name.clone(),
                    serde_json::json!({ "user": name }),
                    self.now(),
                ),
                0,
            ),
        };
        record.unique_key = Some(key);
        record.updated_at = self.now();
        record.updated_by = Some(user_id);
        self.app
            .store()
            .put_duty_record(&record, version, Some(&self.audit(caller)))
            .await?;
        Ok(FeedSecret {
            user: name,
            secret: Secret::from_string(secret),
        })
    }

    /// The iCalendar feed behind a secret: the person's shifts on every
    /// schedule of their tenant and below, from 7 days ago for `weeks` weeks.
    /// An unknown secret is "not found" (nothing is learnt).
    pub async fn feed(&self, secret: &str, weeks_ahead: u32) -> AppResult<String> {
        let record = self
            .app
            .store()
            .duty_record_by_key(&secret_key("feed", secret.trim()))
            .await?
            .filter(|r| r.kind == DutyRecordKind::Contact)
            .ok_or_else(|| AppError::not_found("feed", "(secret)"))?;
        let now = self.now();
        let from = Timestamp::from_unix_micros(now.unix_micros() - weeks(1));
        let to = Timestamp::from_unix_micros(now.unix_micros() + weeks(weeks_ahead.clamp(1, 26)));
        let schedules = self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                subtree: Some(record.tenant),
                ..DutyQuery::all(DutyRecordKind::Schedule)
            })
            .await?;
        let path = self.app.path_ids(record.tenant).await?;
        let mut mine = Vec::new();
        let mut names = Vec::new();
        for schedule in self
            .app
            .store()
            .list_duty_records(&DutyQuery::all(DutyRecordKind::Schedule))
            .await?
            .into_iter()
            .filter(|s| path.contains(&s.tenant) || schedules.iter().any(|m| m.id == s.id))
        {
            let view = schedule_view(&schedule)?;
            if !view.document.roster.people().contains(&record.name) {
                continue;
            }
            let holidays = self.holiday_dates(&view.document).await?;
            // Shifts are cut at the ends of the range asked for: ask for more and
            // keep the whole shifts that start inside the feed's window, so an
            // event keeps its start (and so its uid) from one fetch to the next.
            let margin = weeks(1) + 86_400_000_000;
            let shifts = view
                .document
                .roster
                .shifts(
                    Timestamp::from_unix_micros(from.unix_micros() - margin),
                    Timestamp::from_unix_micros(to.unix_micros() + margin),
                    &holidays,
                )
                .map_err(|e| AppError::Invalid(e.to_string()))?;
            names.push(view.name.clone());
            mine.extend(
                shifts
                    .into_iter()
                    .filter(|s| s.user == record.name && s.start >= from && s.start < to),
            );
        }
        mine.sort_by_key(|s| s.start);
        let title = format!("{} on call", record.name);
        Ok(shift_feed(&title, &record.id.to_string(), &mine, now))
    }
}
