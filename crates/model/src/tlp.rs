//! The Traffic Light Protocol, version 2.0.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownWord;

/// A TLP 2.0 label: how far shared information may travel.
///
/// Ordered from least to most restrictive, so `tlp >= Tlp::Amber` reads as
/// "at least amber".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tlp {
    /// TLP:CLEAR — public; may leave the platform.
    #[serde(rename = "clear")]
    Clear,
    /// TLP:GREEN — every tenant on the platform.
    #[serde(rename = "green")]
    Green,
    /// TLP:AMBER — the recipient tenants and the tenants below them.
    #[serde(rename = "amber")]
    Amber,
    /// TLP:AMBER+STRICT — the recipient tenants only.
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// TLP:RED — the named recipients only.
    #[serde(rename = "red")]
    Red,
}

impl Tlp {
    /// Every label, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The label's word as stored and in the API: `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The label as written on documents, e.g. `TLP:AMBER+STRICT`.
    pub const fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// Whether reading material at this label must be written to the audit log (AMBER and above).
    pub const fn read_is_audited(self) -> bool {
        matches!(self, Tlp::Amber | Tlp::AmberStrict | Tlp::Red)
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Tlp {
    type Err = UnknownWord;
    /// Accepts `amber+strict`, `TLP:AMBER+STRICT`, `amber_strict` and similar spellings.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let word = lower.strip_prefix("tlp:").unwrap_or(&lower);
        match word {
            "clear" | "white" => Ok(Tlp::Clear),
            "green" => Ok(Tlp::Green),
            "amber" => Ok(Tlp::Amber),
            "amber+strict" | "amber_strict" | "amber-strict" => Ok(Tlp::AmberStrict),
            "red" => Ok(Tlp::Red),
            _ => Err(UnknownWord {
                what: "TLP label",
                value: s.to_owned(),
                expected: "clear, green, amber, amber+strict, red",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_in_every_spelling() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>().unwrap(), tlp);
            assert_eq!(tlp.label().parse::<Tlp>().unwrap(), tlp);
            let json = serde_json::to_string(&tlp).unwrap();
            assert_eq!(json, format!("\"{}\"", tlp.as_str()));
        }
        // TLP 1.0's WHITE became CLEAR in 2.0.
        assert_eq!("TLP:WHITE".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert!("blue".parse::<Tlp>().is_err());
    }

    #[test]
    fn labels_are_ordered_by_restriction() {
        assert!(Tlp::Clear < Tlp::Green);
        assert!(Tlp::Amber < Tlp::AmberStrict);
        assert!(Tlp::AmberStrict < Tlp::Red);
        assert!(!Tlp::Green.read_is_audited());
        assert!(Tlp::Amber.read_is_audited());
        assert!(Tlp::Red.read_is_audited());
    }
}
