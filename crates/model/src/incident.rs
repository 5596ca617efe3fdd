//! Incidents and their coordination across the national, sectoral and
//! organisational CERTs: reports from constituents, incidents with readable
//! ids, RSIT classification, severity, TLP and PAP, the status workflow,
//! typed observables, tasks, the timeline, evidence, regulatory deadlines and
//! the notifications they raise.
//!
//! Plain types and the rules that need no I/O (which status may follow
//! which, which observables a text holds, which RSIT classes exist); the app
//! crate decides who may do what, the store keeps them.
//!
//! - [`ReadableId`]: `PK-2026-000123` — a configurable prefix, the year, a
//!   number from a per-year sequence that storage never gives out twice.
//! - [`RsitClass`]: a class and type of the Reference Security Incident
//!   Taxonomy, embedded from `data/rsit/machinev1.json` (CC0); both
//!   `unauthorised-` and `unauthorized-` spellings are accepted; an unknown
//!   class is refused with the list of valid ones.
//! - [`IncidentStatus`]: new → triaged → in progress → contained →
//!   eradicated → recovered → closed, closing from any open status, reopening
//!   a closed incident; anything else is a [`RefusedTransition`].
//! - [`Observable`]: IPv4/IPv6 addresses, domains, URLs, MD5/SHA-1/SHA-256/
//!   SHA-512 hashes, e-mail addresses and CVE ids, each normalised;
//!   [`extract_observables`] finds them in free text (defanged ones too).
//! - [`Incident`], [`IncidentTask`], [`TimelineEntry`], [`IncidentReport`],
//!   [`Evidence`], [`IncidentNotification`]: the records.
//! - [`RegulatoryProfile`]: multi-stage reporting deadlines (configuration,
//!   not code), and the per-incident [`RegulatoryClock`] they become.

mod observable;
mod readable_id;
mod record;
mod regulatory;
mod rsit;
mod status;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownWord;

pub use observable::{InvalidObservable, Observable, ObservableKind, extract_observables};
pub use readable_id::{InvalidReadableId, ReadableId, ReadableIdPrefix};
pub use record::{
    Audience, Evidence, EvidenceFileName, Incident, IncidentClocks, IncidentNotification,
    IncidentReport, IncidentTask, NotificationKind, ReportStatus, Sha256Digest, TaskKind,
    TaskStatus, TimelineEntry, TimelineKind,
};
pub use regulatory::{
    DeadlineStage, InvalidRegulatoryProfile, RegulatoryClock, RegulatoryProfile, StageActor,
    StageClock, StageState, parse_duration_words,
};
pub use rsit::{
    InvalidClassification, RsitClass, RsitClassEntry, RsitTaxonomy, RsitTypeEntry, rsit,
};
pub use status::{IncidentResolution, IncidentStatus, RefusedTransition};

/// Longest incident or task title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, note or reason, in characters.
pub const TEXT_MAX_CHARS: usize = 65_536;

/// A field of an incident, report or task that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidIncidentField {
    /// The field, as named in the API (e.g. `title`).
    pub field: &'static str,
    /// What was wrong.
    pub reason: String,
}

impl InvalidIncidentField {
    /// A refusal of `field` for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A one-line text (a title): trimmed, 1 to [`TITLE_MAX_CHARS`] characters, no control characters.
pub fn one_line(field: &'static str, text: &str) -> Result<String, InvalidIncidentField> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InvalidIncidentField::new(field, "must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > TITLE_MAX_CHARS {
        return Err(InvalidIncidentField::new(
            field,
            format!("is {chars} characters long; at most {TITLE_MAX_CHARS} are allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidIncidentField::new(
            field,
            "must be one line without control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A free text (a description, a note): at most [`TEXT_MAX_CHARS`]
/// characters; line breaks and tabs allowed, other control characters not.
pub fn free_text(field: &'static str, text: &str) -> Result<String, InvalidIncidentField> {
    let chars = text.chars().count();
    if chars > TEXT_MAX_CHARS {
        return Err(InvalidIncidentField::new(
            field,
            format!("is {chars} characters long; at most {TEXT_MAX_CHARS} are allowed"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidIncidentField::new(
            field,
            "contains a control character other than a line break or tab",
        ));
    }
    Ok(text.trim_end().to_owned())
}

/// How serious an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSeverity {
    /// Little impact; handled in normal working hours.
    Low,
    /// Noticeable impact on one organisation.
    Medium,
    /// Serious impact, or on several organisations.
    High,
    /// Essential services or critical information infrastructure disrupted.
    Critical,
}

impl IncidentSeverity {
    /// Every severity, least serious first.
    pub const ALL: [IncidentSeverity; 4] = [
        IncidentSeverity::Low,
        IncidentSeverity::Medium,
        IncidentSeverity::High,
        IncidentSeverity::Critical,
    ];

    /// The severity's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentSeverity::Low => "low",
            IncidentSeverity::Medium => "medium",
            IncidentSeverity::High => "high",
            IncidentSeverity::Critical => "critical",
        }
    }
}

impl fmt::Display for IncidentSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentSeverity {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        IncidentSeverity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "severity",
                value: s.to_owned(),
                expected: "low, medium, high, critical",
            })
    }
}

/// A Permissible Actions Protocol (PAP 2.0) label: what a recipient may do
/// with the information (e.g. whether it may be looked up in outside services).
///
/// Ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Pap {
    /// PAP:CLEAR — no restriction.
    #[serde(rename = "clear")]
    Clear,
    /// PAP:GREEN — active actions allowed (e.g. blocking, pinging the infrastructure).
    #[serde(rename = "green")]
    Green,
    /// PAP:AMBER — passive actions only (e.g. lookups in one's own logs, no contact with the infrastructure).
    #[serde(rename = "amber")]
    Amber,
    /// PAP:RED — nothing that could be detected outside; non-detectable actions only.
    #[serde(rename = "red")]
    Red,
}

impl Pap {
    /// Every label, least restrictive first.
    pub const ALL: [Pap; 4] = [Pap::Clear, Pap::Green, Pap::Amber, Pap::Red];

    /// The label's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Pap::Clear => "clear",
            Pap::Green => "green",
            Pap::Amber => "amber",
            Pap::Red => "red",
        }
    }

    /// The label as written on documents, e.g. `PAP:AMBER`.
    pub const fn label(self) -> &'static str {
        match self {
            Pap::Clear => "PAP:CLEAR",
            Pap::Green => "PAP:GREEN",
            Pap::Amber => "PAP:AMBER",
            Pap::Red => "PAP:RED",
        }
    }
}

impl fmt::Display for Pap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Pap {
    type Err = UnknownWord;
    /// Accepts `amber`, `PAP:AMBER` and PAP 1.0's `white` (now `clear`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let word = lower.strip_prefix("pap:").unwrap_or(&lower);
        match word {
            "clear" | "white" => Ok(Pap::Clear),
            "green" => Ok(Pap::Green),
            "amber" => Ok(Pap::Amber),
            "red" => Ok(Pap::Red),
            _ => Err(UnknownWord {
                what: "PAP label",
                value: s.to_owned(),
                expected: "clear, green, amber, red",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_and_named() {
        assert_eq!(
            one_line("title", "  Phishing wave ").unwrap(),
            "Phishing wave"
        );
        assert_eq!(one_line("title", " ").unwrap_err().field, "title");
        assert!(one_line("title", "a\nb").is_err());
        assert!(one_line("title", &"x".repeat(201)).is_err());
        assert_eq!(free_text("description", "a\nb\t \n").unwrap(), "a\nb");
        assert!(free_text("description", "bell\u{7}").is_err());
        assert!(free_text("description", &"x".repeat(TEXT_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn labels_parse_in_every_spelling() {
        for severity in IncidentSeverity::ALL {
            assert_eq!(
                severity.as_str().parse::<IncidentSeverity>().unwrap(),
                severity
            );
        }
        assert!("urgent".parse::<IncidentSeverity>().is_err());
        for pap in Pap::ALL {
            assert_eq!(pap.as_str().parse::<Pap>().unwrap(), pap);
            assert_eq!(pap.label().parse::<Pap>().unwrap(), pap);
            assert_eq!(
                serde_json::to_string(&pap).unwrap(),
                format!("\"{}\"", pap.as_str())
            );
        }
        assert_eq!("PAP:WHITE".parse::<Pap>().unwrap(), Pap::Clear);
        assert!(Pap::Green < Pap::Red);
    }
}
