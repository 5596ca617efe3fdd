//! Schedules, rotations, overrides and leave, resolved into shifts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};

use super::DutyError;
use crate::Timestamp;

/// The time zone schedules use unless they name another.
pub const DEFAULT_ZONE: &str = "Asia/Karachi";

/// The longest range one question may resolve (shifts are computed, not stored).
pub const MAX_RANGE_DAYS: i64 = 800;

/// The IANA time zone database built into the binary: answers never depend
/// on the host's copy.
fn zone_database() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// An IANA time zone name known to the built-in database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneName(String);

impl ZoneName {
    /// Checks `name` against the time zone database.
    pub fn parse(name: &str) -> Result<Self, DutyError> {
        let name = name.trim();
        zone_database()
            .get(name)
            .map_err(|_| DutyError::UnknownZone {
                zone: name.to_owned(),
            })?;
        Ok(Self(name.to_owned()))
    }

    /// The zone's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's rules.
    pub fn time_zone(&self) -> TimeZone {
        // Checked at parse time; UTC only if the database changed under us.
        zone_database().get(&self.0).unwrap_or(TimeZone::UTC)
    }
}

impl Default for ZoneName {
    fn default() -> Self {
        Self(DEFAULT_ZONE.to_owned())
    }
}

impl TryFrom<String> for ZoneName {
    type Error = DutyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ZoneName> for String {
    fn from(value: ZoneName) -> Self {
        value.0
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A day of the week, as written in rosters (`monday` ... `sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl DayOfWeek {
    fn weekday(self) -> Weekday {
        match self {
            Self::Monday => Weekday::Monday,
            Self::Tuesday => Weekday::Tuesday,
            Self::Wednesday => Weekday::Wednesday,
            Self::Thursday => Weekday::Thursday,
            Self::Friday => Weekday::Friday,
            Self::Saturday => Weekday::Saturday,
            Self::Sunday => Weekday::Sunday,
        }
    }
}

/// When shifts hand off, in the schedule's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShiftPattern {
    /// Several hand-offs every day (`["00:00","08:00","16:00"]`: three 8-hour
    /// shifts; `["08:00","20:00"]`: 12-hour day and night).
    Daily {
        /// The local hand-off times.
        handoffs: Vec<Time>,
    },
    /// One hand-off a week (weekly primary / secondary).
    Weekly {
        /// The day of the hand-off.
        weekday: DayOfWeek,
        /// The local hand-off time.
        at: Time,
    },
}

/// People taking turns over a shift pattern, from a start date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// User names, in turn order.
    pub participants: Vec<String>,
    /// The local date of the first shift (its first hand-off, or the first
    /// weekly hand-off day on or after it).
    pub start: Date,
    /// When shifts hand off.
    pub pattern: ShiftPattern,
}

/// One layer of a schedule: where several cover a moment, the highest priority wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The layer's name (`primary`, `weekday nights`).
    pub name: String,
    /// Higher wins.
    #[serde(default)]
    pub priority: i32,
    /// Who takes turns.
    pub rotation: Rotation,
}

/// What an override records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    /// Someone put on call for a time by the duty officer.
    Override,
    /// Half of a swap: two people exchanging shifts.
    Swap,
    /// Someone taking another's shift.
    TakeShift,
}

/// A person on call between two instants, above every layer. Absolute times,
/// so a later edit of the rotation does not move or drop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Who is on call.
    pub user: String,
    /// From.
    pub start: Timestamp,
    /// Until (exclusive).
    pub end: Timestamp,
    /// What this records.
    #[serde(default = "override_kind")]
    pub kind: OverrideKind,
    /// Whose shift it replaced, for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

fn override_kind() -> OverrideKind {
    OverrideKind::Override
}

/// A person away: their rotation shifts fall through to lower layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leave {
    /// Who is away.
    pub user: String,
    /// From.
    pub start: Timestamp,
    /// Until (exclusive).
    pub end: Timestamp,
}

/// How a schedule treats public holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HolidayRule {
    /// The normal rotation runs; holiday shifts are counted in the ledger.
    #[default]
    Counted,
    /// On holidays (local midnight to midnight) this rotation replaces the
    /// layers: its gaps (a person on leave) are gaps.
    Rotation {
        /// The holiday rotation.
        rotation: Rotation,
    },
}

fn default_weekend() -> Vec<DayOfWeek> {
    vec![DayOfWeek::Saturday, DayOfWeek::Sunday]
}

fn default_night_from() -> Time {
    Time::constant(20, 0, 0, 0)
}

fn default_night_until() -> Time {
    Time::constant(6, 0, 0, 0)
}

/// A team's duty schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The IANA zone hand-offs are in.
    #[serde(default)]
    pub time_zone: ZoneName,
    /// The layers.
    pub layers: Vec<Layer>,
    /// Overrides, swaps, taken shifts.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// Leave.
    #[serde(default)]
    pub leave: Vec<Leave>,
    /// How holidays are treated.
    #[serde(default)]
    pub holiday_rule: HolidayRule,
    /// The days counted as weekend in the ledger.
    #[serde(default = "default_weekend")]
    pub weekend: Vec<DayOfWeek>,
    /// A shift starting at or after this local time, or before `night_until`, is a night shift.
    #[serde(default = "default_night_from")]
    pub night_from: Time,
    /// See `night_from`.
    #[serde(default = "default_night_until")]
    pub night_until: Time,
}

/// Where a shift comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftSource {
    /// A layer's rotation.
    Rotation,
    /// The holiday rotation.
    HolidayRotation,
    /// An override, swap or taken shift.
    Override,
}

/// Someone on call for a time, as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Who.
    pub user: String,
    /// From.
    pub start: Timestamp,
    /// Until (exclusive).
    pub end: Timestamp,
    /// The layer's name (`holiday` for the holiday rotation, `override` for overrides).
    pub layer: String,
    /// Where it comes from.
    pub source: ShiftSource,
    /// The local start, in the schedule's zone.
    pub local_start: DateTime,
    /// Starts on a holiday (local date).
    pub holiday: bool,
    /// Starts at night (local time).
    pub night: bool,
    /// Starts on a weekend day (local date).
    pub weekend: bool,
}

/// A time with nobody on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageGap {
    /// From.
    pub start: Timestamp,
    /// Until (exclusive).
    pub end: Timestamp,
}

/// A candidate interval before priorities are applied.
struct Candidate {
    start: i64,
    end: i64,
    user: String,
    layer: String,
    source: ShiftSource,
    rank: (i32, i32),
}

fn jiff_ts(t: Timestamp) -> Result<jiff::Timestamp, DutyError> {
    Ok(jiff::Timestamp::from_microsecond(t.unix_micros())?)
}

fn model_ts(t: jiff::Timestamp) -> Timestamp {
    Timestamp::from_unix_micros(t.as_microsecond())
}

impl Rotation {
    fn validate(&self, field: &str) -> Result<(), DutyError> {
        if self.participants.is_empty() {
            return Err(DutyError::invalid(
                format!("{field}.participants"),
                "a rotation needs at least one person",
            ));
        }
        if let Some(p) = self.participants.iter().find(|p| p.trim().is_empty()) {
            return Err(DutyError::invalid(
                format!("{field}.participants"),
                format!("empty user name {p:?}"),
            ));
        }
        if let ShiftPattern::Daily { handoffs } = &self.pattern {
            if handoffs.is_empty() {
                return Err(DutyError::invalid(
                    format!("{field}.pattern.handoffs"),
                    "a daily pattern needs at least one hand-off time",
                ));
            }
            let unique: BTreeSet<&Time> = handoffs.iter().collect();
            if unique.len() != handoffs.len() {
                return Err(DutyError::invalid(
                    format!("{field}.pattern.handoffs"),
                    "a hand-off time is listed twice",
                ));
            }
        }
        Ok(())
    }

    /// The hand-offs (turn number, instant) from local dates `from` to `to`, in order.
    fn handoffs(
        &self,
        tz: &TimeZone,
        from: Date,
        to: Date,
    ) -> Result<Vec<(i64, jiff::Timestamp)>, DutyError> {
        let mut out = Vec::new();
        let mut day = from.max(self.start);
        while day <= to {
            match &self.pattern {
                ShiftPattern::Daily { handoffs } => {
                    let mut times = handoffs.clone();
                    times.sort();
                    let days = i64::from(day.since(self.start)?.get_days());
                    let per_day = i64::try_from(times.len()).unwrap_or(1);
                    for (slot, time) in times.iter().enumerate() {
                        let local = day.to_datetime(*time);
                        let at = tz.to_ambiguous_zoned(local).compatible()?.timestamp();
                        out.push((days * per_day + i64::try_from(slot).unwrap_or(0), at));
                    }
                }
                ShiftPattern::Weekly { weekday, at } => {
                    if day.weekday() == weekday.weekday() {
                        let days = i64::from(day.since(self.start)?.get_days());
                        let local = day.to_datetime(*at);
                        let instant = tz.to_ambiguous_zoned(local).compatible()?.timestamp();
                        out.push((days / 7, instant));
                    }
                }
            }
            day = day.tomorrow()?;
        }
        Ok(out)
    }

    /// This rotation's shifts overlapping `[from, to)` as (start, end, person), in µs.
    fn shifts(
        &self,
        tz: &TimeZone,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<(i64, i64, String)>, DutyError> {
        // A weekly shift may have started up to 7 days before `from`.
        let first = from
            .to_zoned(tz.clone())
            .date()
            .checked_sub(jiff::Span::new().days(8))?;
        let last = to
            .to_zoned(tz.clone())
            .date()
            .checked_add(jiff::Span::new().days(8))?;
        let handoffs = self.handoffs(tz, first, last)?;
        let len = i64::try_from(self.participants.len()).unwrap_or(1).max(1);
        let (from, to) = (from.as_microsecond(), to.as_microsecond());
        let mut out = Vec::new();
        for pair in handoffs.windows(2) {
            let ((turn, start), (_, end)) = (pair[0], pair[1]);
            let (start, end) = (start.as_microsecond(), end.as_microsecond());
            if end <= from || start >= to || end <= start {
                continue;
            }
            let index = usize::try_from(turn.rem_euclid(len)).unwrap_or(0);
            out.push((start, end, self.participants[index].clone()));
        }
        Ok(out)
    }
}

impl Schedule {
    /// A schedule in the default zone with these layers and nothing else.
    pub fn new(layers: Vec<Layer>) -> Self {
        Self {
            time_zone: ZoneName::default(),
            layers,
            overrides: Vec::new(),
            leave: Vec::new(),
            holiday_rule: HolidayRule::Counted,
            weekend: default_weekend(),
            night_from: default_night_from(),
            night_until: default_night_until(),
        }
    }

    /// Checks what serde cannot: people named, hand-offs given, ranges the right way round.
    pub fn validate(&self) -> Result<(), DutyError> {
        if self.layers.is_empty() {
            return Err(DutyError::invalid(
                "layers",
                "a schedule needs at least one layer",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.name.trim().is_empty() {
                return Err(DutyError::invalid(format!("layers[{i}].name"), "empty"));
            }
            if !names.insert(layer.name.as_str()) {
                return Err(DutyError::invalid(
                    format!("layers[{i}].name"),
                    format!("{:?} names two layers", layer.name),
                ));
            }
            layer.rotation.validate(&format!("layers[{i}].rotation"))?;
        }
        if let HolidayRule::Rotation { rotation } = &self.holiday_rule {
            rotation.validate("holiday_rule.rotation")?;
        }
        for (i, o) in self.overrides.iter().enumerate() {
            if o.end <= o.start {
                return Err(DutyError::invalid(
                    format!("overrides[{i}]"),
                    "end must be after start",
                ));
            }
            if o.user.trim().is_empty() {
                return Err(DutyError::invalid(format!("overrides[{i}].user"), "empty"));
            }
        }
        for (i, l) in self.leave.iter().enumerate() {
            if l.end <= l.start {
                return Err(DutyError::invalid(
                    format!("leave[{i}]"),
                    "end must be after start",
                ));
            }
        }
        Ok(())
    }

    /// Everyone the schedule can put on call.
    pub fn people(&self) -> BTreeSet<String> {
        let mut people: BTreeSet<String> = self
            .layers
            .iter()
            .flat_map(|l| l.rotation.participants.iter().cloned())
            .collect();
        people.extend(self.overrides.iter().map(|o| o.user.clone()));
        if let HolidayRule::Rotation { rotation } = &self.holiday_rule {
            people.extend(rotation.participants.iter().cloned());
        }
        people
    }

    /// The shifts overlapping `[from, to)`, clipped to it, in time order;
    /// `holidays` are local dates (from the schedule's calendars).
    pub fn shifts(
        &self,
        from: Timestamp,
        to: Timestamp,
        holidays: &BTreeSet<Date>,
    ) -> Result<Vec<Shift>, DutyError> {
        if to <= from {
            return Ok(Vec::new());
        }
        if to.unix_micros().saturating_sub(from.unix_micros()) > MAX_RANGE_DAYS * 86_400_000_000 {
            return Err(DutyError::invalid(
                "range",
                format!("at most {MAX_RANGE_DAYS} days at a time"),
            ));
        }
        let tz = self.time_zone.time_zone();
        let (jfrom, jto) = (jiff_ts(from)?, jiff_ts(to)?);
        let mut candidates = Vec::new();
        // A holiday rotation replaces the layers on holidays (a gap in it is a gap).
        let holiday_days = match &self.holiday_rule {
            HolidayRule::Rotation { .. } => holiday_spans(&tz, holidays)?,
            HolidayRule::Counted => Vec::new(),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            for (start, end, user) in layer.rotation.shifts(&tz, jfrom, jto)? {
                let order = -i32::try_from(i).unwrap_or(i32::MAX);
                let rank = (layer.priority, order);
                // Leave cuts the person's rotation shift; lower layers show through.
                let parts = subtract_leave(start, end, &user, &self.leave)
                    .into_iter()
                    .flat_map(|(s, e)| subtract_spans(s, e, &holiday_days));
                for (s, e) in parts {
                    candidates.push(Candidate {
                        start: s,
                        end: e,
                        user: user.clone(),
                        layer: layer.name.clone(),
                        source: ShiftSource::Rotation,
                        rank,
                    });
                }
            }
        }
        if let HolidayRule::Rotation { rotation } = &self.holiday_rule {
            for (start, end, user) in rotation.shifts(&tz, jfrom, jto)? {
                for &(hs, he) in &holiday_days {
                    let (s, e) = (start.max(hs), end.min(he));
                    if s < e {
                        for (s, e) in subtract_leave(s, e, &user, &self.leave) {
                            candidates.push(Candidate {
                                start: s,
                                end: e,
                                user: user.clone(),
                                layer: "holiday".to_owned(),
                                source: ShiftSource::HolidayRotation,
                                rank: (i32::MAX - 1, 0),
                            });
                        }
                    }
                }
            }
        }
        for (i, o) in self.overrides.iter().enumerate() {
            // Later overrides win over earlier ones.
            candidates.push(Candidate {
                start: o.start.unix_micros(),
                end: o.end.unix_micros(),
                user: o.user.clone(),
                layer: "override".to_owned(),
                source: ShiftSource::Override,
                rank: (i32::MAX, i32::try_from(i).unwrap_or(i32::MAX)),
            });
        }
        let (lo, hi) = (from.unix_micros(), to.unix_micros());
        let mut points: BTreeSet<i64> = BTreeSet::from([lo, hi]);
        for c in &candidates {
            for p in [c.start, c.end] {
                if p > lo && p < hi {
                    points.insert(p);
                }
            }
        }
        // Each elementary segment goes to the highest-ranked candidate over it;
        // neighbouring segments of the same candidate are one shift.
        let points: Vec<i64> = points.into_iter().collect();
        let mut pieces: Vec<(i64, i64, usize)> = Vec::new();
        for pair in points.windows(2) {
            let (s, e) = (pair[0], pair[1]);
            let winner = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.start <= s && c.end >= e)
                .max_by_key(|(_, c)| c.rank)
                .map(|(i, _)| i);
            if let Some(w) = winner {
                match pieces.last_mut() {
                    Some(last) if last.2 == w && last.1 == s => last.1 = e,
                    _ => pieces.push((s, e, w)),
                }
            }
        }
        let weekend: Vec<Weekday> = self.weekend.iter().map(|d| d.weekday()).collect();
        pieces
            .into_iter()
            .map(|(s, e, w)| {
                let c = &candidates[w];
                let local = jiff::Timestamp::from_microsecond(s)?
                    .to_zoned(tz.clone())
                    .datetime();
                let time = local.time();
                Ok(Shift {
                    user: c.user.clone(),
                    start: Timestamp::from_unix_micros(s),
                    end: Timestamp::from_unix_micros(e),
                    layer: c.layer.clone(),
                    source: c.source,
                    local_start: local,
                    holiday: holidays.contains(&local.date()),
                    night: time >= self.night_from || time < self.night_until,
                    weekend: weekend.contains(&local.date().weekday()),
                })
            })
            .collect()
    }

    /// Who is on call at `at` (the highest-priority shift covering it, whole), if anyone.
    pub fn on_call_at(
        &self,
        at: Timestamp,
        holidays: &BTreeSet<Date>,
    ) -> Result<Option<Shift>, DutyError> {
        // A window around the moment, so the shift comes whole (a weekly one too).
        const WEEK: i64 = 8 * 86_400_000_000;
        let from = Timestamp::from_unix_micros(at.unix_micros().saturating_sub(WEEK));
        let until = Timestamp::from_unix_micros(at.unix_micros().saturating_add(WEEK));
        Ok(self
            .shifts(from, until, holidays)?
            .into_iter()
            .find(|s| s.start <= at && at < s.end))
    }

    /// The local date of an instant in this schedule's zone.
    pub fn local_date(&self, at: Timestamp) -> Result<Date, DutyError> {
        Ok(jiff_ts(at)?.to_zoned(self.time_zone.time_zone()).date())
    }

    /// The instant of a local date and time in this schedule's zone.
    pub fn instant(&self, local: DateTime) -> Result<Timestamp, DutyError> {
        let zoned = self
            .time_zone
            .time_zone()
            .to_ambiguous_zoned(local)
            .compatible()?;
        Ok(model_ts(zoned.timestamp()))
    }
}

/// Parts of `[start, end)` when `user` is not on leave.
fn subtract_leave(start: i64, end: i64, user: &str, leave: &[Leave]) -> Vec<(i64, i64)> {
    let spans: Vec<(i64, i64)> = leave
        .iter()
        .filter(|l| l.user == user)
        .map(|l| (l.start.unix_micros(), l.end.unix_micros()))
        .collect();
    subtract_spans(start, end, &spans)
}

/// Parts of `[start, end)` outside every span.
fn subtract_spans(start: i64, end: i64, spans: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut parts = vec![(start, end)];
    for &(ls, le) in spans {
        parts = parts
            .into_iter()
            .flat_map(|(s, e)| {
                let mut keep = Vec::new();
                if ls >= e || le <= s {
                    keep.push((s, e));
                } else {
                    if s < ls {
                        keep.push((s, ls));
                    }
                    if le < e {
                        keep.push((le, e));
                    }
                }
                keep
            })
            .collect();
    }
    parts
}

/// Holidays as instants: local midnight to the next local midnight.
fn holiday_spans(tz: &TimeZone, days: &BTreeSet<Date>) -> Result<Vec<(i64, i64)>, DutyError> {
    days.iter()
        .map(|d| {
            let start = tz
                .to_ambiguous_zoned(d.to_datetime(Time::midnight()))
                .compatible()?;
            let end = tz
                .to_ambiguous_zoned(d.tomorrow()?.to_datetime(Time::midnight()))
                .compatible()?;
            Ok((
                start.timestamp().as_microsecond(),
                end.timestamp().as_microsecond(),
            ))
        })
        .collect()
}

/// Every time in `[from, to)` that no shift covers.
pub fn coverage_gaps(shifts: &[Shift], from: Timestamp, to: Timestamp) -> Vec<CoverageGap> {
    let mut spans: Vec<(Timestamp, Timestamp)> = shifts.iter().map(|s| (s.start, s.end)).collect();
    spans.sort();
    let mut gaps = Vec::new();
    let mut covered_to = from;
    for (start, end) in spans {
        if start > covered_to {
            gaps.push(CoverageGap {
                start: covered_to,
                end: start.min(to),
            });
        }
        covered_to = covered_to.max(end);
        if covered_to >= to {
            break;
        }
    }
    if covered_to < to {
        gaps.push(CoverageGap {
            start: covered_to,
            end: to,
        });
    }
    gaps.retain(|g| g.start < g.end);
    gaps
}

/// One person's line in the fairness ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerRow {
    /// Shifts started in the year.
    pub shifts: u32,
    /// Of which started on a holiday.
    pub holiday: u32,
    /// Of which started at night.
    pub night: u32,
    /// Of which started on a weekend day.
    pub weekend: u32,
    /// Minutes on call in those shifts.
    pub minutes: i64,
}

/// Holiday, night and weekend shifts per person over one year (by local start date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairnessLedger {
    /// The year.
    pub year: i16,
    /// Per user name.
    pub people: BTreeMap<String, LedgerRow>,
}

impl FairnessLedger {
    /// Counts the shifts that start in `year` (local time).
    pub fn count(year: i16, shifts: &[Shift]) -> Self {
        let mut people: BTreeMap<String, LedgerRow> = BTreeMap::new();
        for shift in shifts.iter().filter(|s| s.local_start.year() == year) {
            let row = people.entry(shift.user.clone()).or_default();
            row.shifts += 1;
            row.holiday += u32::from(shift.holiday);
            row.night += u32::from(shift.night);
            row.weekend += u32::from(shift.weekend);
            row.minutes += (shift.end.unix_micros() - shift.start.unix_micros()) / 60_000_000;
        }
        Self { year, people }
    }
}
