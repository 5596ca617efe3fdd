//! Detection rules as records of the platform: the Sigma documents
//! administrators imported (or the built-in starter pack), whether each is
//! enabled for the whole platform, the per-tenant overrides that enable or
//! disable one for a tenant and those below it, and the per-tenant Sigma
//! filters that tune a rule for a subtree without editing it.
//!
//! Which state wins for a tenant is [`effective_enabled`]: the nearest
//! override on the tenant's path from the root, else the platform's flag.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{InstanceId, RuleFilterId, TenantId, Timestamp, UserId};

/// What kind of Sigma document a rule record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A detection rule (`detection:`).
    Rule,
    /// A correlation rule (`correlation:`).
    Correlation,
    /// A filter (`filter:`) applied to the rules it names.
    Filter,
}

impl RuleKind {
    /// Every kind.
    pub const ALL: [RuleKind; 3] = [RuleKind::Rule, RuleKind::Correlation, RuleKind::Filter];

    /// The kind's word, as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleKind::Rule => "rule",
            RuleKind::Correlation => "correlation",
            RuleKind::Filter => "filter",
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not a rule kind or origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a rule {what} (expected one of: {expected})")]
pub struct UnknownRuleWord {
    /// `kind` or `origin`.
    pub what: &'static str,
    /// The word given.
    pub value: String,
    /// The words accepted.
    pub expected: &'static str,
}

impl FromStr for RuleKind {
    type Err = UnknownRuleWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s.trim())
            .ok_or_else(|| UnknownRuleWord {
                what: "kind",
                value: s.to_owned(),
                expected: "rule, correlation, filter",
            })
    }
}

/// Where a rule record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleOrigin {
    /// Imported by an administrator (a SigmaHQ release, the CERT's own rules).
    #[serde(rename = "imported")]
    Imported,
    /// Nigehban's own starter pack, seeded by the platform.
    #[serde(rename = "built-in")]
    BuiltIn,
}

impl RuleOrigin {
    /// The origin's word, as stored and in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleOrigin::Imported => "imported",
            RuleOrigin::BuiltIn => "built-in",
        }
    }
}

impl FromStr for RuleOrigin {
    type Err = UnknownRuleWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "imported" => Ok(RuleOrigin::Imported),
            "built-in" => Ok(RuleOrigin::BuiltIn),
            other => Err(UnknownRuleWord {
                what: "origin",
                value: other.to_owned(),
                expected: "imported, built-in",
            }),
        }
    }
}

/// One stored Sigma document (a rule, a correlation rule or a filter that
/// applies platform-wide), keyed by its Sigma `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDocument {
    /// The document's Sigma `id`.
    pub id: String,
    /// The installation that holds it.
    pub instance: InstanceId,
    /// Its `title`.
    pub title: String,
    /// What kind of document it is.
    pub kind: RuleKind,
    /// Its `level`, when it gives one.
    pub level: Option<String>,
    /// Imported or built-in.
    pub origin: RuleOrigin,
    /// Where its text came from (`file:line`, `archive.zip!path.yml:line`).
    pub source_name: String,
    /// The YAML text of this one document.
    pub text: String,
    /// Whether it runs for the whole platform (tenants may override).
    pub enabled: bool,
    /// Who imported it (none for the built-in pack).
    pub imported_by: Option<UserId>,
    /// When it was first imported.
    pub imported_at: Timestamp,
    /// When its text or flag last changed.
    pub updated_at: Timestamp,
}

/// A tenant's own decision about one rule, inherited by the tenants below
/// it unless they decide otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOverride {
    /// The rule's Sigma id.
    pub rule_id: String,
    /// The tenant deciding.
    pub tenant: TenantId,
    /// Enabled or disabled for the tenant and its subtree.
    pub enabled: bool,
    /// Who decided.
    pub set_by: Option<UserId>,
    /// When.
    pub at: Timestamp,
}

/// A Sigma filter (the specification's `filter:` document) a tenant added:
/// it keeps the rules it names from raising alerts for events its
/// condition excludes, for this tenant and every tenant below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilter {
    /// The record's id (the document's own `id`, if any, is in `text`).
    pub id: RuleFilterId,
    /// The installation that holds it.
    pub instance: InstanceId,
    /// The tenant it tunes detection for (with its subtree).
    pub tenant: TenantId,
    /// The filter's `title`.
    pub title: String,
    /// The ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The YAML text of the filter document.
    pub text: String,
    /// Who added it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
}

/// Whether a rule runs for the tenant whose path from the root is `path`
/// (root first): the override of the nearest tenant on the path that has
/// one, else `platform`.
pub fn effective_enabled(
    platform: bool,
    path: &[TenantId],
    override_of: impl Fn(TenantId) -> Option<bool>,
) -> bool {
    path.iter()
        .rev()
        .find_map(|tenant| override_of(*tenant))
        .unwrap_or(platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_override_up_the_tree_wins() {
        let (national, sector, org) = (TenantId::new(), TenantId::new(), TenantId::new());
        let path = [national, sector, org];
        assert!(effective_enabled(true, &path, |_| None));
        assert!(!effective_enabled(false, &path, |_| None));
        let sector_off = |t: TenantId| (t == sector).then_some(false);
        assert!(!effective_enabled(true, &path, sector_off));
        assert!(effective_enabled(true, &path[..1], sector_off));
        let org_on = |t: TenantId| {
            if t == sector {
                Some(false)
            } else if t == org {
                Some(true)
            } else {
                None
            }
        };
        assert!(effective_enabled(true, &path, org_on));
    }

    #[test]
    fn words_round_trip() {
        for kind in RuleKind::ALL {
            assert_eq!(kind.as_str().parse::<RuleKind>().unwrap(), kind);
        }
        assert!("detection".parse::<RuleKind>().is_err());
        assert_eq!(
            "built-in".parse::<RuleOrigin>().unwrap(),
            RuleOrigin::BuiltIn
        );
        assert_eq!(
            serde_json::to_string(&RuleOrigin::BuiltIn).unwrap(),
            "\"built-in\""
        );
    }
}
