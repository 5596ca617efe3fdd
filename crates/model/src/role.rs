//! Roles a user or API token acts in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownWord;

/// The role a user (or API token) acts in within its tenant.
///
/// What each role may do is decided in one place: `nigehban_app::policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administers the tenant subtree: tenants, users, tokens.
    Administrator,
    /// Triages alerts and works incidents.
    Analyst,
    /// Handles incidents in the field.
    Responder,
    /// Curates and shares threat intelligence.
    IntelAnalyst,
    /// Keeps the duty roster and is paged when nobody acknowledges.
    DutyOfficer,
    /// An organisation's security officer: reports incidents, receives advisories.
    ConstituentReporter,
    /// A member of the national cyber-security council: aggregates only.
    CouncilMember,
    /// Reads the audit log of the tenant subtree.
    Auditor,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 8] = [
        Role::Administrator,
        Role::Analyst,
        Role::Responder,
        Role::IntelAnalyst,
        Role::DutyOfficer,
        Role::ConstituentReporter,
        Role::CouncilMember,
        Role::Auditor,
    ];

    /// The role's word as stored and shown in the API, e.g. `intel_analyst`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Analyst => "analyst",
            Role::Responder => "responder",
            Role::IntelAnalyst => "intel_analyst",
            Role::DutyOfficer => "duty_officer",
            Role::ConstituentReporter => "constituent_reporter",
            Role::CouncilMember => "council_member",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "role",
                value: s.to_owned(),
                expected: "administrator, analyst, responder, intel_analyst, duty_officer, constituent_reporter, council_member, auditor",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_words() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!("intel-analyst".parse::<Role>().unwrap(), Role::IntelAnalyst);
        assert!("root".parse::<Role>().is_err());
    }
}
