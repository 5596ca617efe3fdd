//! The roles a node takes: which of the platform's work one `nigehban serve`
//! process does (`--roles api,intake,detect,search`, default all).

use std::fmt;
use std::str::FromStr;

/// The work one node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The HTTP API (people and tools); without it a node serves only
    /// `/healthz`, `/readyz` and `/metrics`.
    pub api: bool,
    /// Telemetry intake: syslog listeners and sensor health (HTTP intake is
    /// part of the API).
    pub intake: bool,
    /// Live detection: the bus consumer `detect`, shared by every detecting
    /// node of a deployment, raising alerts.
    pub detect: bool,
    /// Search indexing: the bus consumer `search` feeding this node's event
    /// index, and its retention. Event search through the API needs it on
    /// the same node.
    pub search: bool,
}

impl Roles {
    /// Every role: a single-machine installation.
    pub const ALL: Roles = Roles {
        api: true,
        intake: true,
        detect: true,
        search: true,
    };

    /// The role names, as `--roles` takes them.
    pub const NAMES: [&'static str; 4] = ["api", "intake", "detect", "search"];

    /// The names of the roles taken, in [`Roles::NAMES`] order.
    pub fn names(&self) -> Vec<&'static str> {
        let taken = [self.api, self.intake, self.detect, self.search];
        Self::NAMES
            .iter()
            .zip(taken)
            .filter_map(|(name, on)| on.then_some(*name))
            .collect()
    }
}

impl Default for Roles {
    fn default() -> Self {
        Roles::ALL
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// A `--roles` value that names no role or an unknown one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRoles {
    /// The list is empty.
    #[error("no role named: give one or more of api, intake, detect, search, or `all`")]
    Empty,
    /// A name that is not a role.
    #[error("unknown role {0:?}: the roles are api, intake, detect, search (or `all`)")]
    Unknown(String),
}

impl FromStr for Roles {
    type Err = InvalidRoles;

    /// Parses a comma-separated list (`api,intake`), or `all`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut roles = Roles {
            api: false,
            intake: false,
            detect: false,
            search: false,
        };
        let mut any = false;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            any = true;
            match name.to_ascii_lowercase().as_str() {
                "all" => roles = Roles::ALL,
                "api" => roles.api = true,
                "intake" => roles.intake = true,
                "detect" => roles.detect = true,
                "search" => roles.search = true,
                _ => return Err(InvalidRoles::Unknown(name.to_owned())),
            }
        }
        if any {
            Ok(roles)
        } else {
            Err(InvalidRoles::Empty)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_lists_parse_and_print_back() {
        assert_eq!("all".parse::<Roles>(), Ok(Roles::ALL));
        let detect_only: Roles = " detect ".parse().expect("one role");
        assert_eq!(detect_only.names(), vec!["detect"]);
        let two: Roles = "search,API".parse().expect("two roles");
        assert_eq!(two.to_string(), "api,search");
        assert_eq!("".parse::<Roles>(), Err(InvalidRoles::Empty));
        assert_eq!(
            "api,indexer".parse::<Roles>(),
            Err(InvalidRoles::Unknown("indexer".into()))
        );
    }
}
