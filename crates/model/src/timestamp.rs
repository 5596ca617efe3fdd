//! Points in time, as stored and hashed.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time in UTC with microsecond precision.
///
/// Microseconds because that is what PostgreSQL's `timestamptz` keeps: a
/// timestamp must read back exactly as written, or audit hashes would not
/// verify. Serialised as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// The time `micros` microseconds after the Unix epoch.
    pub const fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// Converts from a `time` date-time, truncating to microseconds.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let nanos = at.unix_timestamp_nanos();
        let micros = nanos.div_euclid(1_000);
        Self(i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Converts to a `time` date-time in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Converts from the system clock's type, truncating to microseconds.
    pub fn from_system_time(at: SystemTime) -> Self {
        Self::from_datetime(OffsetDateTime::from(at))
    }

    /// Converts to the system clock's type.
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.to_datetime())
    }

    /// This time plus a duration (saturating).
    pub fn plus(self, duration: Duration) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(micros))
    }

    /// RFC 3339 text, e.g. `2025-01-02T03:04:05.123456Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.to_string())
    }

    /// Parses RFC 3339 text.
    pub fn parse_rfc3339(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from_datetime)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse_rfc3339(&now.to_rfc3339()).unwrap(), now);
    }

    #[test]
    fn truncates_to_microseconds() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(
            Timestamp::from_datetime(at).unix_micros(),
            1_700_000_000_123_456
        );
    }

    #[test]
    fn round_trips_through_system_time() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::from_system_time(now.to_system_time()), now);
    }

    #[test]
    fn before_the_epoch_rounds_down() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(-1_500).unwrap();
        assert_eq!(Timestamp::from_datetime(at).unix_micros(), -2);
    }
}
