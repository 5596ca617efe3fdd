//! The incident status workflow.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownWord;

/// Where an incident is in its handling.
///
/// The workflow: `new → triaged → in_progress → contained → eradicated →
/// recovered → closed`, one step at a time; an open incident may be closed
/// from any status (with a [`IncidentResolution`], e.g. a false positive); a closed
/// incident may be reopened (back to `in_progress`). Everything else — going
/// back, skipping a step, leaving `closed` other than by reopening — is
/// refused with a [`RefusedTransition`] that names the allowed next steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Opened, nobody has looked at it yet.
    New,
    /// Looked at and classified.
    Triaged,
    /// Being analysed and handled.
    InProgress,
    /// The damage no longer spreads.
    Contained,
    /// The cause is removed.
    Eradicated,
    /// Services are back to normal.
    Recovered,
    /// Done (see its resolution).
    Closed,
}

impl IncidentStatus {
    /// Every status, in workflow order.
    pub const ALL: [IncidentStatus; 7] = [
        IncidentStatus::New,
        IncidentStatus::Triaged,
        IncidentStatus::InProgress,
        IncidentStatus::Contained,
        IncidentStatus::Eradicated,
        IncidentStatus::Recovered,
        IncidentStatus::Closed,
    ];

    /// The status's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::Triaged => "triaged",
            IncidentStatus::InProgress => "in_progress",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Eradicated => "eradicated",
            IncidentStatus::Recovered => "recovered",
            IncidentStatus::Closed => "closed",
        }
    }

    /// Whether the incident is still being handled.
    pub const fn is_open(self) -> bool {
        !matches!(self, IncidentStatus::Closed)
    }

    /// Whether containment has been reached (contained or any later status but closed).
    pub const fn is_contained(self) -> bool {
        matches!(
            self,
            IncidentStatus::Contained | IncidentStatus::Eradicated | IncidentStatus::Recovered
        )
    }

    /// The statuses the workflow allows next (reopening a closed incident included).
    pub fn next(self) -> &'static [IncidentStatus] {
        use IncidentStatus::*;
        match self {
            New => &[Triaged, Closed],
            Triaged => &[InProgress, Closed],
            InProgress => &[Contained, Closed],
            Contained => &[Eradicated, Closed],
            Eradicated => &[Recovered, Closed],
            Recovered => &[Closed],
            Closed => &[InProgress],
        }
    }

    /// Checks that the workflow allows going from `self` to `to`.
    pub fn check_transition(self, to: IncidentStatus) -> Result<(), RefusedTransition> {
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(RefusedTransition { from: self, to })
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        IncidentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "incident status",
                value: s.to_owned(),
                expected: "new, triaged, in_progress, contained, eradicated, recovered, closed",
            })
    }
}

/// A status change the workflow forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an incident cannot go from {from} to {to}; from {from} it can go to {}", allowed(*from))]
pub struct RefusedTransition {
    /// The current status.
    pub from: IncidentStatus,
    /// The status asked for.
    pub to: IncidentStatus,
}

fn allowed(from: IncidentStatus) -> String {
    let words: Vec<String> = from
        .next()
        .iter()
        .map(|status| {
            if from == IncidentStatus::Closed {
                format!("{status} (reopen)")
            } else {
                status.to_string()
            }
        })
        .collect();
    words.join(" or ")
}

/// Why an incident was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentResolution {
    /// Handled: contained, eradicated and recovered (or nothing more to do).
    Resolved,
    /// Not an incident after all.
    FalsePositive,
    /// The same as another incident.
    Duplicate,
    /// Merged into another incident (see `merged_into`).
    Merged,
    /// Not the platform's to handle (e.g. outside the constituency).
    OutOfScope,
}

impl IncidentResolution {
    /// Every resolution.
    pub const ALL: [IncidentResolution; 5] = [
        IncidentResolution::Resolved,
        IncidentResolution::FalsePositive,
        IncidentResolution::Duplicate,
        IncidentResolution::Merged,
        IncidentResolution::OutOfScope,
    ];

    /// The resolution's word as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentResolution::Resolved => "resolved",
            IncidentResolution::FalsePositive => "false_positive",
            IncidentResolution::Duplicate => "duplicate",
            IncidentResolution::Merged => "merged",
            IncidentResolution::OutOfScope => "out_of_scope",
        }
    }
}

impl fmt::Display for IncidentResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn the_workflow_goes_forward_one_step_at_a_time() {
        let path = [
            New, Triaged, InProgress, Contained, Eradicated, Recovered, Closed,
        ];
        for pair in path.windows(2) {
            assert!(pair[0].check_transition(pair[1]).is_ok(), "{pair:?}");
        }
        for status in IncidentStatus::ALL {
            assert_eq!(
                status.check_transition(Closed).is_ok(),
                status != Closed,
                "{status}"
            );
        }
        assert!(Closed.check_transition(InProgress).is_ok(), "reopen");
    }

    #[test]
    fn forbidden_transitions_are_refused_with_the_allowed_ones() {
        for (from, to) in [
            (New, Contained),
            (Contained, Triaged),
            (Closed, New),
            (Closed, Closed),
            (Recovered, Eradicated),
            (Triaged, Triaged),
        ] {
            let refused = from.check_transition(to).unwrap_err();
            assert_eq!((refused.from, refused.to), (from, to));
        }
        let text = Contained.check_transition(Triaged).unwrap_err().to_string();
        assert_eq!(
            text,
            "an incident cannot go from contained to triaged; from contained it can go to eradicated or closed"
        );
        assert!(
            Closed
                .check_transition(New)
                .unwrap_err()
                .to_string()
                .contains("in_progress (reopen)")
        );
    }

    #[test]
    fn statuses_parse_from_their_words() {
        for status in IncidentStatus::ALL {
            assert_eq!(status.as_str().parse::<IncidentStatus>().unwrap(), status);
        }
        assert_eq!("in progress".parse::<IncidentStatus>().unwrap(), InProgress);
        assert!("resolved".parse::<IncidentStatus>().is_err());
    }
}
