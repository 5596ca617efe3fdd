//! Holiday calendars: imported from iCalendar or entered by hand, corrected one by one.
//!
//! Lunar holidays (the Eids, Ashura, the Prophet's birthday, Shab-e-Barat)
//! move every year and are fixed by announcement, sometimes a day before:
//! a calendar is data administrators import and correct, never a table here.

use std::collections::BTreeSet;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::DutyError;
use super::ical::{IcalError, IcalTime, parse_ical};

/// Where a holiday came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidaySource {
    /// An iCalendar import.
    Imported,
    /// Entered by hand.
    Manual,
}

/// One holiday (possibly several days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// Stable id (the iCalendar `UID`, or one given by hand).
    pub uid: String,
    /// Its name.
    pub name: String,
    /// The first day.
    pub date: Date,
    /// How many days (at least 1).
    #[serde(default = "one_day")]
    pub days: u16,
    /// Where it came from.
    pub source: HolidaySource,
    /// The date it had before a correction, if corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_from: Option<Date>,
}

fn one_day() -> u16 {
    1
}

/// A calendar of holidays for a country, sector or organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HolidayCalendar {
    /// Whose holidays (`Pakistan`, `banking sector`, an organisation).
    #[serde(default)]
    pub scope: String,
    /// The holidays.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HolidayImport {
    /// New holidays.
    pub added: usize,
    /// Holidays whose name or dates changed.
    pub replaced: usize,
    /// Holidays whose hand correction was kept over the imported date.
    pub corrections_kept: usize,
}

impl HolidayCalendar {
    /// Reads holidays from iCalendar text (all-day events; a `DTEND` gives the length).
    pub fn read_ical(text: &str) -> Result<Vec<Holiday>, IcalError> {
        parse_ical(text)?
            .into_iter()
            .map(|event| {
                let first = event.start.date();
                let days = match event.end {
                    Some(IcalTime::Date(end)) => {
                        let span = end.since(first).map_err(|e| IcalError {
                            line: event.line,
                            problem: e.to_string(),
                        })?;
                        u16::try_from(span.get_days().max(1)).unwrap_or(1)
                    }
                    _ => 1,
                };
                if days > 366 {
                    return Err(IcalError {
                        line: event.line,
                        problem: format!("a holiday of {days} days"),
                    });
                }
                Ok(Holiday {
                    uid: event.uid,
                    name: if event.summary.trim().is_empty() {
                        "Holiday".to_owned()
                    } else {
                        event.summary
                    },
                    date: first,
                    days,
                    source: HolidaySource::Imported,
                    corrected_from: None,
                })
            })
            .collect()
    }

    /// Merges imported holidays by uid; a hand correction of a holiday whose
    /// imported date did not change is kept.
    pub fn merge_import(&mut self, imported: Vec<Holiday>) -> HolidayImport {
        let mut outcome = HolidayImport::default();
        for holiday in imported {
            match self.holidays.iter_mut().find(|h| h.uid == holiday.uid) {
                None => {
                    self.holidays.push(holiday);
                    outcome.added += 1;
                }
                Some(stored) => {
                    if stored.corrected_from == Some(holiday.date) {
                        outcome.corrections_kept += 1;
                        stored.name = holiday.name;
                        continue;
                    }
                    if stored.date != holiday.date
                        || stored.days != holiday.days
                        || stored.name != holiday.name
                    {
                        *stored = holiday;
                        outcome.replaced += 1;
                    }
                }
            }
        }
        self.holidays
            .sort_by(|a, b| (a.date, &a.uid).cmp(&(b.date, &b.uid)));
        outcome
    }

    /// Moves one holiday to another date (a lunar holiday announced late);
    /// returns the date it had.
    pub fn correct(&mut self, uid: &str, date: Date) -> Result<Date, DutyError> {
        let holiday = self
            .holidays
            .iter_mut()
            .find(|h| h.uid == uid)
            .ok_or_else(|| DutyError::UnknownHoliday {
                uid: uid.to_owned(),
            })?;
        let before = holiday.date;
        if holiday.corrected_from.is_none() {
            holiday.corrected_from = Some(before);
        }
        holiday.date = date;
        self.holidays
            .sort_by(|a, b| (a.date, &a.uid).cmp(&(b.date, &b.uid)));
        Ok(before)
    }

    /// Every holiday date.
    pub fn dates(&self) -> BTreeSet<Date> {
        let mut dates = BTreeSet::new();
        for h in &self.holidays {
            let mut day = h.date;
            for _ in 0..h.days.max(1) {
                dates.insert(day);
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
        }
        dates
    }
}
