//! Readable incident ids: `PK-2026-000123`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest prefix accepted, in characters.
pub const PREFIX_MAX_CHARS: usize = 16;

/// A readable id or its prefix that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReadableId {
    /// The prefix is empty, too long, or not upper-case letters and digits starting with a letter.
    #[error(
        "incident id prefix {0:?} must be 1 to {PREFIX_MAX_CHARS} upper-case letters A-Z and digits, starting with a letter"
    )]
    Prefix(String),
    /// The text is not `PREFIX-YEAR-NUMBER`.
    #[error("{0:?} is not a readable incident id like PK-2026-000123")]
    Shape(String),
}

/// The configurable first part of readable incident ids (e.g. `PK`): 1 to 16
/// upper-case letters and digits, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadableIdPrefix(String);

impl ReadableIdPrefix {
    /// Parses a prefix, upper-casing it.
    pub fn parse(text: &str) -> Result<Self, InvalidReadableId> {
        let prefix = text.trim().to_ascii_uppercase();
        let valid = !prefix.is_empty()
            && prefix.len() <= PREFIX_MAX_CHARS
            && prefix.starts_with(|c: char| c.is_ascii_uppercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if valid {
            Ok(Self(prefix))
        } else {
            Err(InvalidReadableId::Prefix(text.to_owned()))
        }
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ReadableIdPrefix {
    /// `PK`, the national CERT's country code in the examples; set your own in the configuration.
    fn default() -> Self {
        Self("PK".to_owned())
    }
}

impl TryFrom<String> for ReadableIdPrefix {
    type Error = InvalidReadableId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReadableIdPrefix> for String {
    fn from(value: ReadableIdPrefix) -> Self {
        value.0
    }
}

impl fmt::Display for ReadableIdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An incident's readable id: prefix, year and a number from that year's
/// sequence, written `PK-2026-000123` (at least six digits).
///
/// Storage hands out the numbers: one sequence per year, each number once,
/// never reused (a refused or rolled-back creation may leave a gap).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadableId {
    prefix: String,
    year: i32,
    number: u64,
}

impl ReadableId {
    /// The id for `number` of `year`'s sequence.
    pub fn new(prefix: &ReadableIdPrefix, year: i32, number: u64) -> Self {
        Self {
            prefix: prefix.0.clone(),
            year,
            number,
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The number within the year.
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl fmt::Display for ReadableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:04}-{:06}", self.prefix, self.year, self.number)
    }
}

impl FromStr for ReadableId {
    type Err = InvalidReadableId;
    /// Parses `PREFIX-YEAR-NUMBER` (case-insensitive prefix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shape = || InvalidReadableId::Shape(s.to_owned());
        let text = s.trim();
        let mut parts = text.rsplitn(3, '-');
        let (Some(number), Some(year), Some(prefix)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let digits = |part: &str, min: usize, max: usize| {
            part.len() >= min && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(year, 4, 4) || !digits(number, 6, 19) {
            return Err(shape());
        }
        let prefix = ReadableIdPrefix::parse(prefix).map_err(|_| shape())?;
        Ok(Self {
            prefix: prefix.0,
            year: year.parse().map_err(|_| shape())?,
            number: number.parse().map_err(|_| shape())?,
        })
    }
}

impl TryFrom<String> for ReadableId {
    type Error = InvalidReadableId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ReadableId> for String {
    fn from(value: ReadableId) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_ids_are_written_and_read_back() {
        let prefix = ReadableIdPrefix::parse("pk").unwrap();
        let id = ReadableId::new(&prefix, 2026, 123);
        assert_eq!(id.to_string(), "PK-2026-000123");
        assert_eq!("PK-2026-000123".parse::<ReadableId>().unwrap(), id);
        assert_eq!("pk-2026-000123".parse::<ReadableId>().unwrap(), id);
        let big = ReadableId::new(&prefix, 2026, 1_234_567);
        assert_eq!(big.to_string(), "PK-2026-1234567");
        assert_eq!(big.to_string().parse::<ReadableId>().unwrap(), big);
        for bad in [
            "",
            "PK-2026-12",
            "PK-26-000001",
            "-2026-000001",
            "PK 2026 000001",
            "1X-2026-000001",
            "PK-2026-0000x1",
        ] {
            assert!(bad.parse::<ReadableId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(
            ReadableIdPrefix::parse(" certpk ").unwrap().as_str(),
            "CERTPK"
        );
        for bad in ["", "9X", "P-K", "PÄ", &"P".repeat(17)] {
            assert!(ReadableIdPrefix::parse(bad).is_err(), "{bad}");
        }
    }
}
