//! Diagnostics: what is wrong with a rule, and where.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticKind {
    /// The rule (or document) is broken and was not loaded or not compiled.
    Error,
    /// The rule is valid Sigma but uses something this engine does not do; it is not evaluated.
    Unsupported,
    /// The rule loaded, but something deserves attention (e.g. an unresolved placeholder).
    Warning,
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Unsupported => "unsupported",
            Self::Warning => "warning",
        })
    }
}

/// One finding about a rule file, with the place it refers to.
///
/// Displays like `rules/x.yml:12:5: error: unknown modifier 'foo' in rule <id> (<title>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The origin string the caller gave for the source text (usually a path).
    pub origin: String,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// The id of the rule concerned, when known.
    pub rule_id: Option<String>,
    /// The title of the rule concerned, when known.
    pub title: Option<String>,
    /// Error, unsupported feature, or warning.
    pub kind: DiagnosticKind,
    /// What is wrong, in lower case without trailing punctuation.
    pub message: String,
}

/// What the warning of a `%name%` placeholder without a value says: such a search
/// matches any value of its field, so it is worth reporting even among quiet warnings.
pub const UNRESOLVED_PLACEHOLDER: &str = "has no value; it matches any value (wildcard)";

impl Diagnostic {
    /// Whether this is the warning of a placeholder without a value (the rule matches more
    /// than it says).
    pub fn is_unresolved_placeholder(&self) -> bool {
        self.kind == DiagnosticKind::Warning && self.message.contains(UNRESOLVED_PLACEHOLDER)
    }

    /// True for [`DiagnosticKind::Error`].
    pub fn is_error(&self) -> bool {
        self.kind == DiagnosticKind::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {}: {}", self.kind, self.message)?;
        match (&self.rule_id, &self.title) {
            (Some(id), Some(title)) => write!(f, " in rule {id} ({title})"),
            (Some(id), None) => write!(f, " in rule {id}"),
            (None, Some(title)) => write!(f, " in rule ({title})"),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_like_a_compiler() {
        let d = Diagnostic {
            origin: "rules/x.yml".into(),
            line: 12,
            column: 5,
            rule_id: Some("abc".into()),
            title: Some("Test".into()),
            kind: DiagnosticKind::Error,
            message: "unknown modifier 'foo'".into(),
        };
        assert_eq!(
            d.to_string(),
            "rules/x.yml:12:5: error: unknown modifier 'foo' in rule abc (Test)"
        );
    }
}
