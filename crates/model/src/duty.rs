//! The duty roster: who is on call, when, and how fairly (issue 12).
//!
//! Pure logic, no I/O and no clock: every question names its moment.
//!
//! - A [`Schedule`] belongs to a team of a tenant and lives in one IANA time
//!   zone ([`ZoneName`], default `Asia/Karachi`; read from the time zone
//!   database built into the binary, so answers do not depend on the host).
//!   It has [`Layer`]s with priorities, each a [`Rotation`] of people over a
//!   [`ShiftPattern`] (daily hand-offs such as three 8-hour shifts or 12-hour
//!   day/night, or a weekly hand-off), [`Override`]s (an override, a swap,
//!   "take this shift") that hold absolute times and so survive later edits
//!   of the rotation, [`Leave`] and a [`HolidayRule`].
//! - Hand-offs are local times: a hand-off at 08:00 in Europe/Berlin is 07:00
//!   UTC in winter and 06:00 UTC in summer, and the night shift on a DST day
//!   is an hour shorter or longer. A local time that does not exist (the
//!   skipped hour) is read as the instant after the gap.
//! - [`Schedule::shifts`] resolves a time range into [`Shift`]s: the highest
//!   priority wins (overrides, then the holiday rotation on holidays, then
//!   the layers by priority); a person on leave leaves their rotation shift
//!   to lower layers. [`Schedule::on_call_at`], [`coverage_gaps`] and the
//!   [`FairnessLedger`] are read from that one resolution.
//! - Holidays ([`holidays`]): [`HolidayCalendar`]s imported from iCalendar or
//!   entered by hand, corrected one by one ([`HolidayCalendar::correct`]).
//! - iCalendar ([`ical`]): the one reader and writer of `.ics` text (holiday
//!   imports, and each person's shift feed).
//! - Keeping ([`record`]): every duty record is a versioned JSON
//!   [`DutyRecord`].
//! - Paging ([`page`]): [`Page`], what asks the duty roster to wake someone,
//!   and [`EscalationPolicy`].

pub mod holidays;
pub mod ical;
pub mod page;
pub mod record;
pub mod roster;

pub use holidays::{Holiday, HolidayCalendar, HolidayImport, HolidaySource};
pub use ical::{IcalError, IcalEvent, IcalTime, parse_ical, shift_feed};
/// The date and time library duty's types use (civil dates, IANA zones).
pub use jiff;
pub use page::{EscalationPolicy, EscalationStep, EscalationTarget, Page};
pub use record::{DutyRecord, DutyRecordKind, secret_key};
pub use roster::{
    CoverageGap, DayOfWeek, FairnessLedger, HolidayRule, Layer, Leave, LedgerRow, Override,
    OverrideKind, Rotation, Schedule, Shift, ShiftPattern, ShiftSource, ZoneName, coverage_gaps,
};

/// What is wrong with a roster or a question about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DutyError {
    /// The time zone is not in the IANA database.
    #[error("unknown time zone {zone:?} (an IANA name such as Asia/Karachi or Europe/Berlin)")]
    UnknownZone {
        /// The name given.
        zone: String,
    },
    /// A field's value is not acceptable.
    #[error("{field}: {problem}")]
    Invalid {
        /// Where (e.g. `layers[0].rotation.participants`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A date or time is out of range for the calendar.
    #[error("date out of range: {0}")]
    OutOfRange(String),
    /// A holiday that the calendar does not hold.
    #[error("no holiday with uid {uid:?} in this calendar")]
    UnknownHoliday {
        /// The uid asked for.
        uid: String,
    },
}

impl DutyError {
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl From<jiff::Error> for DutyError {
    fn from(e: jiff::Error) -> Self {
        Self::OutOfRange(e.to_string())
    }
}
