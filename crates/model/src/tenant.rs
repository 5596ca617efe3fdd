//! Tenants: the national CERT, sectoral CERTs and organisations, as a tree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::{ForbiddenCharacter, forbidden_in_name};
use crate::{InstanceId, TenantId, Timestamp};

/// Longest tenant name accepted, in characters.
pub const TENANT_NAME_MAX_CHARS: usize = 200;

/// A tenant name that was rejected, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTenantName {
    /// The name was empty or only white space.
    #[error("tenant name is empty")]
    Empty,
    /// The name was longer than [`TENANT_NAME_MAX_CHARS`].
    #[error("tenant name is {0} characters long; at most {TENANT_NAME_MAX_CHARS} are allowed")]
    TooLong(usize),
    /// The name contained a control or bidirectional formatting character (e.g. a newline, U+202E).
    #[error(
        "tenant name contains {0}: control and bidirectional formatting characters are not allowed"
    )]
    ForbiddenCharacter(ForbiddenCharacter),
}

/// A tenant's display name: trimmed, non-empty, at most 200 characters, no
/// control or bidirectional formatting characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantName(String);

impl TenantName {
    /// Parses a name given by a person.
    pub fn parse(text: &str) -> Result<Self, InvalidTenantName> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(InvalidTenantName::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > TENANT_NAME_MAX_CHARS {
            return Err(InvalidTenantName::TooLong(chars));
        }
        if let Some(found) = forbidden_in_name(trimmed) {
            return Err(InvalidTenantName::ForbiddenCharacter(found));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantName {
    type Error = InvalidTenantName;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantName> for String {
    fn from(value: TenantName) -> Self {
        value.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An unknown word where a sector, tenant kind or similar was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct UnknownWord {
    /// What was being parsed, e.g. "sector".
    pub what: &'static str,
    /// The text that was given.
    pub value: String,
    /// The accepted words, comma-separated.
    pub expected: &'static str,
}

/// The sector a sectoral CERT serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Telecommunications operators and ISPs.
    Telecom,
    /// Banks.
    Banking,
    /// Electricity, oil and gas.
    Energy,
    /// Government ministries and departments.
    Government,
    /// Hospitals and health services.
    Health,
    /// Financial services other than banking (insurance, markets).
    Finance,
    /// Aviation, rail, ports and roads.
    Transport,
    /// Water and sanitation.
    Water,
    /// Schools and universities.
    Education,
    /// Defence.
    Defence,
    /// A provincial CERT.
    Provincial,
    /// Any other sector.
    Other,
}

impl Sector {
    /// Every sector, in a fixed order.
    pub const ALL: [Sector; 12] = [
        Sector::Telecom,
        Sector::Banking,
        Sector::Energy,
        Sector::Government,
        Sector::Health,
        Sector::Finance,
        Sector::Transport,
        Sector::Water,
        Sector::Education,
        Sector::Defence,
        Sector::Provincial,
        Sector::Other,
    ];

    /// The sector's word as stored and shown in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Sector::Telecom => "telecom",
            Sector::Banking => "banking",
            Sector::Energy => "energy",
            Sector::Government => "government",
            Sector::Health => "health",
            Sector::Finance => "finance",
            Sector::Transport => "transport",
            Sector::Water => "water",
            Sector::Education => "education",
            Sector::Defence => "defence",
            Sector::Provincial => "provincial",
            Sector::Other => "other",
        }
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sector {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim().to_ascii_lowercase();
        Sector::ALL
            .into_iter()
            .find(|sector| sector.as_str() == word)
            .ok_or_else(|| UnknownWord {
                what: "sector",
                value: s.to_owned(),
                expected: "telecom, banking, energy, government, health, finance, transport, water, education, defence, provincial, other",
            })
    }
}

/// What a tenant is, which decides where it may sit in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TenantKind {
    /// The national CERT: the root of the tree, exactly one.
    National,
    /// A sectoral (or provincial) CERT, directly under the national CERT.
    Sectoral {
        /// The sector it serves.
        sector: Sector,
    },
    /// An organisation (a constituent), under a CERT or another organisation.
    Organisation {
        /// Whether it is graded critical information infrastructure.
        #[serde(default)]
        critical_infrastructure: bool,
    },
}

impl TenantKind {
    /// The kind's word as stored: `national`, `sectoral` or `organisation`.
    pub const fn word(&self) -> &'static str {
        match self {
            TenantKind::National => "national",
            TenantKind::Sectoral { .. } => "sectoral",
            TenantKind::Organisation { .. } => "organisation",
        }
    }

    /// Whether a tenant of this kind may sit directly under a parent of kind `parent`
    /// (`None` means at the root).
    ///
    /// The national CERT is the only root; sectoral CERTs sit under it;
    /// organisations sit under a CERT or under another organisation (a group's
    /// subsidiaries).
    pub const fn may_sit_under(&self, parent: Option<&TenantKind>) -> bool {
        matches!(
            (self, parent),
            (TenantKind::National, None)
                | (TenantKind::Sectoral { .. }, Some(TenantKind::National))
                | (TenantKind::Organisation { .. }, Some(_))
        )
    }
}

/// A tenant: one node of the hierarchy. Tenants are never deleted, only deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// The instance that owns this record.
    pub instance: InstanceId,
    /// The tenant above it; `None` only for the national CERT at the root.
    pub parent: Option<TenantId>,
    /// Its display name.
    pub name: TenantName,
    /// What it is.
    #[serde(flatten)]
    pub kind: TenantKind,
    /// False once deactivated: its users can no longer sign in.
    pub active: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            TenantName::parse("  CERT-Telecom ").unwrap().as_str(),
            "CERT-Telecom"
        );
        assert_eq!(TenantName::parse("   "), Err(InvalidTenantName::Empty));
        assert_eq!(
            TenantName::parse(&"x".repeat(201)),
            Err(InvalidTenantName::TooLong(201))
        );
        assert!(TenantName::parse(&"ب".repeat(200)).is_ok());
        assert_eq!(
            TenantName::parse("a\nb"),
            Err(InvalidTenantName::ForbiddenCharacter(ForbiddenCharacter {
                character: '\n',
                position: 2
            }))
        );
        let error = TenantName::parse("Bank \u{202E}gpj.exe").unwrap_err();
        assert_eq!(
            error.to_string(),
            "tenant name contains U+202E (right-to-left override) at character 6: control and bidirectional formatting characters are not allowed"
        );
    }

    #[test]
    fn names_are_checked_when_deserialised() {
        assert!(serde_json::from_str::<TenantName>("\"\"").is_err());
        assert!(serde_json::from_str::<TenantName>("\"PKCERT\"").is_ok());
    }

    #[test]
    fn kinds_sit_where_the_hierarchy_allows() {
        let national = TenantKind::National;
        let sectoral = TenantKind::Sectoral {
            sector: Sector::Banking,
        };
        let organisation = TenantKind::Organisation {
            critical_infrastructure: true,
        };
        assert!(national.may_sit_under(None));
        assert!(!national.may_sit_under(Some(&national)));
        assert!(sectoral.may_sit_under(Some(&national)));
        assert!(!sectoral.may_sit_under(Some(&sectoral)));
        assert!(!sectoral.may_sit_under(None));
        assert!(organisation.may_sit_under(Some(&sectoral)));
        assert!(organisation.may_sit_under(Some(&national)));
        assert!(organisation.may_sit_under(Some(&organisation)));
        assert!(!organisation.may_sit_under(None));
    }

    #[test]
    fn kind_serialises_with_its_details() {
        let json = serde_json::to_value(TenantKind::Sectoral {
            sector: Sector::Telecom,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "sectoral", "sector": "telecom"})
        );
        let kind: TenantKind =
            serde_json::from_value(serde_json::json!({"kind": "organisation"})).unwrap();
        assert_eq!(
            kind,
            TenantKind::Organisation {
                critical_infrastructure: false
            }
        );
    }

    #[test]
    fn sectors_parse_from_their_words() {
        for sector in Sector::ALL {
            assert_eq!(sector.as_str().parse::<Sector>().unwrap(), sector);
        }
        assert!("fishing".parse::<Sector>().is_err());
    }
}
