//! The parsed form of Sigma rules, correlation rules and filters.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::pattern::Pattern;

/// Severity of a rule (`level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// Parses a Sigma level name.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The Sigma name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maturity of a rule (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `stable`
    Stable,
    /// `test`
    Test,
    /// `experimental`
    Experimental,
    /// `deprecated`
    Deprecated,
    /// `unsupported`
    Unsupported,
}

impl Status {
    /// Parses a Sigma status name.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "stable" => Status::Stable,
            "test" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            _ => return None,
        })
    }

    /// The Sigma name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

/// The `logsource` section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Logsource {
    /// `product`, e.g. `windows`.
    pub product: Option<String>,
    /// `category`, e.g. `process_creation`.
    pub category: Option<String>,
    /// `service`, e.g. `security`.
    pub service: Option<String>,
    /// `definition`: free text for people.
    pub definition: Option<String>,
}

impl fmt::Display for Logsource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                if !first {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
                first = false;
            }
        }
        if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// Everything about a rule that an alert must carry (the Detection Rule
/// License requires the author to stay with each alert).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleMeta {
    /// `id` (a UUID in SigmaHQ).
    pub id: Option<String>,
    /// `name`: unique human-readable name used by correlations.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<Level>,
    /// `status`.
    pub status: Option<Status>,
    /// `author`.
    pub author: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `fields`: fields worth showing an analyst.
    pub fields: Vec<String>,
    /// `logsource`.
    pub logsource: Logsource,
    /// The origin string the rule's source text was loaded with.
    pub origin: String,
    /// Line of the rule's document in the origin.
    pub line: u32,
}

/// A loaded Sigma document: a detection rule, a correlation rule or a filter.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Metadata, shared with compiled sets and alerts.
    pub meta: Arc<RuleMeta>,
    /// What kind of document it is.
    pub body: RuleBody,
}

/// The kinds of Sigma documents.
#[derive(Debug, Clone)]
pub enum RuleBody {
    /// A detection rule (`detection:`).
    Detection(Detection),
    /// A correlation rule (`correlation:`), evaluated by [`crate::correlate`].
    Correlation(Correlation),
    /// A filter (`filter:`) that adds a condition to other rules.
    Filter(Filter),
}

/// The `detection` section: named searches and the condition over them.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Search identifiers in source order.
    pub searches: Vec<Search>,
    /// The condition (a condition list is an OR of its items).
    pub condition: Cond,
    /// A condition naming a search that does not exist: the rule loads (as in
    /// pySigma) but cannot be compiled; (line, column, message).
    pub unresolved: Option<(u32, u32, String)>,
}

/// One search identifier: an OR of AND-groups of items.
#[derive(Debug, Clone)]
pub struct Search {
    /// The identifier (`selection`, `filter_main`, ...).
    pub name: String,
    /// Alternatives (a list of maps); each is an AND of its items.
    pub alternatives: Vec<Vec<Item>>,
}

/// One `field|modifiers: values` entry (or a keyword list when `field` is `None`).
#[derive(Debug, Clone)]
pub struct Item {
    /// The field name as written in the rule, `None` for keywords.
    pub field: Option<String>,
    /// Values after modifiers; OR-ed, or AND-ed when `all` is set.
    pub matchers: Vec<Matcher>,
    /// The `all` modifier: every matcher must match.
    pub all: bool,
    /// The `neq` modifier: the item is true when the values do NOT match.
    pub negate: bool,
}

/// Comparison operators of numeric and time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumOp {
    /// Equal (time parts without a comparison modifier).
    Eq,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
}

impl NumOp {
    /// Applies the comparison `lhs op rhs`.
    pub fn apply(self, lhs: f64, rhs: f64) -> bool {
        match self {
            NumOp::Eq => lhs == rhs,
            NumOp::Lt => lhs < rhs,
            NumOp::Lte => lhs <= rhs,
            NumOp::Gt => lhs > rhs,
            NumOp::Gte => lhs >= rhs,
        }
    }
}

/// Parts of a date the time modifiers extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// `minute` (0-59)
    Minute,
    /// `hour` (0-23)
    Hour,
    /// `day` of month (1-31)
    Day,
    /// ISO `week` number (1-53)
    Week,
    /// `month` (1-12)
    Month,
    /// `year`
    Year,
}

/// A network range for the `cidr` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl Cidr {
    /// True when `ip` lies in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u32::from(n) & mask) == (u32::from(a) & mask)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u128::from(n) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }
}

/// A compiled regular expression with its source (for keys and messages).
#[derive(Debug, Clone)]
pub struct RegexMatcher {
    /// The expression as written.
    pub source: String,
    /// Sub-modifier `i`.
    pub insensitive: bool,
    /// Sub-modifier `m`.
    pub multi_line: bool,
    /// Sub-modifier `s`.
    pub dot_all: bool,
    /// The compiled expression.
    pub regex: regex::Regex,
}

/// One value of an item after its modifiers were applied.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A string with wildcards; case-insensitive unless `cased`.
    Str {
        /// The pattern, as written (not folded).
        pattern: Pattern,
        /// `cased`, or a value produced by an encoding modifier.
        cased: bool,
    },
    /// `re`.
    Regex(RegexMatcher),
    /// `lt`, `lte`, `gt`, `gte`.
    Num {
        /// The comparison.
        op: NumOp,
        /// The rule's number.
        value: f64,
    },
    /// `cidr`.
    Cidr(Cidr),
    /// A time-part modifier, optionally followed by a comparison.
    Time {
        /// Which part of the date.
        part: TimePart,
        /// The comparison.
        op: NumOp,
        /// The rule's number.
        value: f64,
    },
    /// `null`: the field is absent or null.
    Null,
    /// `exists`.
    Exists(bool),
    /// `fieldref`: equal to a value of another field.
    FieldRef {
        /// The other field (rule name, before mapping).
        field: String,
        /// Compare case-sensitively.
        cased: bool,
    },
}

/// A condition after search identifiers were resolved to indices into
/// [`Detection::searches`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A search identifier.
    Search(usize),
    /// `not`.
    Not(Box<Cond>),
    /// `and`.
    And(Vec<Cond>),
    /// `or`.
    Or(Vec<Cond>),
    /// `N of pattern` (`min` = N) or `all of pattern` (`min` = `None`).
    Of {
        /// How many must match; `None` for all.
        min: Option<usize>,
        /// The searches the pattern selected.
        searches: Vec<usize>,
    },
}

/// Correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    /// `event_count`
    EventCount,
    /// `value_count`
    ValueCount,
    /// `temporal`
    Temporal,
    /// `temporal_ordered`
    TemporalOrdered,
    /// `value_sum`
    ValueSum,
    /// `value_avg`
    ValueAvg,
    /// `value_percentile`
    ValuePercentile,
}

impl CorrelationType {
    /// Parses a correlation type name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "event_count" => Self::EventCount,
            "value_count" => Self::ValueCount,
            "temporal" => Self::Temporal,
            "temporal_ordered" => Self::TemporalOrdered,
            "value_sum" => Self::ValueSum,
            "value_avg" => Self::ValueAvg,
            "value_percentile" => Self::ValuePercentile,
            _ => return None,
        })
    }
}

/// Comparison in a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

/// A correlation rule (`correlation:` section).
#[derive(Debug, Clone)]
pub struct Correlation {
    /// `type`.
    pub kind: CorrelationType,
    /// `rules`: ids or names of the correlated rules.
    pub rules: Vec<String>,
    /// `group-by`.
    pub group_by: Vec<String>,
    /// `timespan` in seconds.
    pub timespan_secs: u64,
    /// `condition` comparisons (AND-ed).
    pub condition: Vec<(CorrelationOp, f64)>,
    /// `condition.field` for value_* types.
    pub field: Option<String>,
    /// `aliases`: alias → (rule name → field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`.
    pub generate: bool,
}

/// A Sigma filter (`filter:` section) applied to other rules.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `rules`: ids or names of the rules the filter applies to.
    pub rules: Vec<String>,
    /// The filter's selections and condition.
    pub detection: Detection,
}
