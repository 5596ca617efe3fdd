//! The event query language of `q=`: parsing with positioned errors, and printing back.
//!
//! The grammar (also in the README), in the style of Kibana's and Quickwit's:
//!
//! ```text
//! query    = or
//! or       = and { "OR" and }
//! and      = unary { [ "AND" ] unary }          (juxtaposition is AND)
//! unary    = "NOT" unary | primary
//! primary  = "(" or ")" | field-clause | text
//! field-clause = FIELD ":" value                 (case-insensitive on name fields)
//!              | FIELD ":=" value                (exact case)
//!              | FIELD ":" "(" value { [ "OR" ] value } ")"   (any of the values)
//!              | FIELD ":" ( "[" | "{" ) bound "TO" bound ( "]" | "}" )
//!              | FIELD ":" ( ">" | ">=" | "<" | "<=" ) bound
//! value    = WORD | PHRASE                       (a WORD with * or ? is a wildcard)
//! bound    = WORD | PHRASE | "*"
//! text     = WORD | PHRASE                       (free text over every value)
//! FIELD    = letters, digits and _ @ - $ # . (a dotted name: host.name)
//! WORD     = characters up to a space or parenthesis (a value may hold ":" and "\")
//! PHRASE   = '"' characters, with \" and \\ escaped '"'
//! ```
//!
//! `AND`, `OR`, `NOT` and `TO` are operators only in capitals. `[` and `]` include the
//! bound, `{` and `}` exclude it, `*` leaves a side open.

use std::fmt;
use std::ops::Bound;

/// The longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The most clauses (field clauses and text terms) in one query.
pub const MAX_QUERY_CLAUSES: usize = 128;

/// The deepest nesting of parentheses and `NOT`s.
pub const MAX_QUERY_DEPTH: usize = 32;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Every one must match (two or more).
    And(Vec<Expr>),
    /// Any one must match (two or more).
    Or(Vec<Expr>),
    /// Must not match.
    Not(Box<Expr>),
    /// A word, phrase or wildcard in any text value of the event.
    Text(Pattern),
    /// A condition on one field.
    Field {
        /// The field's dotted name.
        field: String,
        /// The condition.
        condition: Condition,
    },
}

/// A value or a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// A value (a word, or a phrase of several).
    Value(String),
    /// A pattern where `*` is any run of characters and `?` any one character.
    Wildcard(String),
}

/// What a field clause asks of its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `field:value`: the value (without case on name fields), or the pattern.
    Matches(Pattern),
    /// `field:=value`: the value or pattern with its exact case.
    Exactly(Pattern),
    /// `field:[low TO high]`: numbers, times and addresses between the bounds.
    Range {
        /// The lower bound.
        low: Bound<String>,
        /// The upper bound.
        high: Bound<String>,
    },
}

/// Why a query could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {reason}")]
pub struct SyntaxError {
    /// The character (1-based) where the problem was found.
    pub column: usize,
    /// What was expected or wrong.
    pub reason: String,
}

/// Reads a query.
pub fn parse(query: &str) -> Result<Expr, SyntaxError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(SyntaxError {
            column: 1,
            reason: format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
        });
    }
    let mut parser = Parser {
        text: query,
        at: 0,
        depth: 0,
        clauses: 0,
    };
    parser.skip_space();
    if parser.at_end() {
        return Err(parser.error_here("the query is empty"));
    }
    let expr = parser.or()?;
    parser.skip_space();
    if !parser.at_end() {
        return Err(if parser.peek() == Some(')') {
            parser.error_here("this ) closes no (")
        } else {
            parser.error_here("expected an operator or the end of the query")
        });
    }
    Ok(expr)
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    at: usize,
    depth: usize,
    clauses: usize,
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// Characters of a field name.
fn is_field_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '-' | '$' | '#' | '.')
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.at >= self.text.len()
    }

    fn column_of(&self, byte: usize) -> usize {
        self.text[..byte.min(self.text.len())].chars().count() + 1
    }

    fn error_at(&self, byte: usize, reason: impl Into<String>) -> SyntaxError {
        SyntaxError {
            column: self.column_of(byte),
            reason: reason.into(),
        }
    }

    fn error_here(&self, reason: impl Into<String>) -> SyntaxError {
        self.error_at(self.at, reason)
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Whether the next word is the operator `op` (followed by a space, a parenthesis, a
    /// quote or the end).
    fn at_operator(&self, op: &str) -> bool {
        let rest = self.rest();
        rest.starts_with(op) && rest[op.len()..].chars().next().is_none_or(ends_word)
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_QUERY_DEPTH {
            return Err(self.error_here(format!(
                "the query nests deeper than {MAX_QUERY_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn count_clause(&mut self, start: usize) -> Result<(), SyntaxError> {
        self.clauses += 1;
        if self.clauses > MAX_QUERY_CLAUSES {
            return Err(self.error_at(
                start,
                format!("the query has more than {MAX_QUERY_CLAUSES} clauses"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and()?];
        loop {
            self.skip_space();
            if self.at_operator("OR") {
                self.at += 2;
                self.skip_space();
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.unary()?];
        loop {
            self.skip_space();
            if self.at_end() || self.peek() == Some(')') || self.at_operator("OR") {
                break;
            }
            if self.at_operator("AND") {
                self.at += 3;
                self.skip_space();
            }
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        self.skip_space();
        if self.at_operator("NOT") {
            self.at += 3;
            self.enter()?;
            self.skip_space();
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        self.skip_space();
        let start = self.at;
        match self.peek() {
            None => Err(self.error_here("expected a term, a field clause or `(` here")),
            Some('(') => {
                self.at += 1;
                self.enter()?;
                self.skip_space();
                if self.peek() == Some(')') {
                    return Err(self.error_here("empty parentheses"));
                }
                let inner = self.or()?;
                self.skip_space();
                if self.peek() != Some(')') {
                    return Err(self.error_at(start, "this ( is not closed"));
                }
                self.at += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(')') => Err(self.error_here("expected a term before `)`")),
            Some(_) if ["AND", "OR"].iter().any(|op| self.at_operator(op)) => Err(self
                .error_here("expected a term before this operator (quote it to search the word)")),
            Some('"') => {
                self.count_clause(start)?;
                let value = self.phrase()?;
                Ok(Expr::Text(Pattern::Value(value)))
            }
            Some(_) => {
                self.count_clause(start)?;
                // A field name followed by `:` makes a field clause; otherwise a word.
                let name_len: usize = self
                    .rest()
                    .chars()
                    .take_while(|c| is_field_char(*c))
                    .map(char::len_utf8)
                    .sum();
                if name_len > 0 && self.rest()[name_len..].starts_with(':') {
                    let field = self.rest()[..name_len].to_owned();
                    self.at += name_len + 1;
                    self.field_clause(field)
                } else {
                    let word = self.word();
                    Ok(Expr::Text(pattern_of_word(word)))
                }
            }
        }
    }

    /// A bare word (at least one character: the caller checked the next one).
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(ends_word).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    /// A quoted phrase, the cursor on its opening quote.
    fn phrase(&mut self) -> Result<String, SyntaxError> {
        let start = self.at;
        self.at += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(value);
                }
                '\\' => match chars.clone().next() {
                    Some((_, next @ ('"' | '\\'))) => {
                        value.push(next);
                        chars.next();
                    }
                    _ => value.push('\\'),
                },
                other => value.push(other),
            }
        }
        Err(self.error_at(start, "this quote is not closed"))
    }

    fn field_clause(&mut self, field: String) -> Result<Expr, SyntaxError> {
        let exact = self.rest().starts_with('=');
        if exact {
            self.at += 1;
            if matches!(self.peek(), Some('[' | '{')) {
                return Err(self.error_here("`:=` takes a value, not a range"));
            }
        }
        let op_start = self.at;
        let comparison = ["<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| self.rest().starts_with(op));
        if let Some(op) = comparison {
            if exact {
                return Err(self.error_at(op_start, "`:=` takes a value, not a comparison"));
            }
            self.at += op.len();
            let bound = self.bound(&field)?;
            let bound = match bound {
                Some(b) => b,
                None => return Err(self.error_at(op_start, "a comparison needs a value, not `*`")),
            };
            let (low, high) = match op {
                ">" => (Bound::Excluded(bound), Bound::Unbounded),
                ">=" => (Bound::Included(bound), Bound::Unbounded),
                "<" => (Bound::Unbounded, Bound::Excluded(bound)),
                _ => (Bound::Unbounded, Bound::Included(bound)),
            };
            return Ok(Expr::Field {
                field,
                condition: Condition::Range { low, high },
            });
        }
        match self.peek() {
            Some('[' | '{') if !exact => self.range(field),
            Some('(') => {
                let open = self.at;
                self.at += 1;
                let mut values = Vec::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        Some(')') if !values.is_empty() => {
                            self.at += 1;
                            break;
                        }
                        None => return Err(self.error_at(open, "this ( is not closed")),
                        _ => {}
                    }
                    if self.at_operator("OR") && !values.is_empty() {
                        self.at += 2;
                        continue;
                    }
                    if !values.is_empty() {
                        self.count_clause(self.at)?;
                    }
                    let pattern = self.value(&field)?;
                    let condition = if exact {
                        Condition::Exactly(pattern)
                    } else {
                        Condition::Matches(pattern)
                    };
                    values.push(Expr::Field {
                        field: field.clone(),
                        condition,
                    });
                }
                Ok(if values.len() == 1 {
                    values.remove(0)
                } else {
                    Expr::Or(values)
                })
            }
            _ => {
                let pattern = self.value(&field)?;
                Ok(Expr::Field {
                    field,
                    condition: if exact {
                        Condition::Exactly(pattern)
                    } else {
                        Condition::Matches(pattern)
                    },
                })
            }
        }
    }

    /// A value after `field:`: a phrase or a bare word (which may hold `:` and `\`).
    fn value(&mut self, field: &str) -> Result<Pattern, SyntaxError> {
        match self.peek() {
            Some('"') => Ok(Pattern::Value(self.phrase()?)),
            Some(c) if !ends_word(c) => Ok(pattern_of_word(self.word())),
            _ => Err(self.error_here(format!(
                "expected a value after `{field}:` (quote it if it holds spaces or parentheses)"
            ))),
        }
    }

    /// A range bound: a phrase, a bare word (up to a space or a closing bracket), or `*`.
    fn bound(&mut self, field: &str) -> Result<Option<String>, SyntaxError> {
        match self.peek() {
            Some('"') => Ok(Some(self.phrase()?)),
            Some(c) if !ends_word(c) && !matches!(c, ']' | '}') => {
                let rest = self.rest();
                let len = rest
                    .find(|c: char| ends_word(c) || matches!(c, ']' | '}'))
                    .unwrap_or(rest.len());
                self.at += len;
                let word = &rest[..len];
                Ok((word != "*").then(|| word.to_owned()))
            }
            _ => Err(self.error_here(format!("expected a bound for `{field}` here"))),
        }
    }

    fn range(&mut self, field: String) -> Result<Expr, SyntaxError> {
        let open = self.at;
        let low_inclusive = self.peek() == Some('[');
        self.at += 1;
        self.skip_space();
        let low = self.bound(&field)?;
        self.skip_space();
        if !self.at_operator("TO") {
            return Err(self.error_here("expected `TO` between the bounds of a range"));
        }
        self.at += 2;
        self.skip_space();
        let high = self.bound(&field)?;
        self.skip_space();
        let high_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(self.error_here(format!(
                    "expected `]` or `}}` to close the range opened at column {}",
                    self.column_of(open)
                )));
            }
        };
        self.at += 1;
        let bound = |value: Option<String>, inclusive: bool| match value {
            None => Bound::Unbounded,
            Some(v) if inclusive => Bound::Included(v),
            Some(v) => Bound::Excluded(v),
        };
        Ok(Expr::Field {
            field,
            condition: Condition::Range {
                low: bound(low, low_inclusive),
                high: bound(high, high_inclusive),
            },
        })
    }
}

fn pattern_of_word(word: &str) -> Pattern {
    if word.contains(['*', '?']) {
        Pattern::Wildcard(word.to_owned())
    } else {
        Pattern::Value(word.to_owned())
    }
}

/// Writes a value so that it reads back as the same value: bare when it can be, quoted
/// otherwise. `text` says whether it stands alone (where a `:` would make a field clause).
fn write_value(f: &mut fmt::Formatter<'_>, value: &str, text: bool) -> fmt::Result {
    let needs_quotes = value.is_empty()
        || value.chars().any(ends_word)
        || value.contains(['*', '?'])
        || value.starts_with(['[', '{', '<', '>', '=', ']', '}'])
        || matches!(value, "AND" | "OR" | "NOT" | "TO")
        || (text && value.contains(':'));
    if !needs_quotes {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

fn write_bound(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if value.is_empty() || value.contains([']', '}']) || value == "*" {
        // Quoted, so that `]` does not close the range and `*` stays a value.
        f.write_str("\"")?;
        for c in value.chars() {
            if matches!(c, '"' | '\\') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        return f.write_str("\"");
    }
    write_value(f, value, false)
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Value(value) => write_value(f, value, false),
            Pattern::Wildcard(pattern) => f.write_str(pattern),
        }
    }
}

impl fmt::Display for Expr {
    /// The query in its canonical form, which [`parse`] reads back as the same [`Expr`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(items) | Expr::Or(items) => {
                let op = if matches!(self, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    if matches!(item, Expr::And(_) | Expr::Or(_)) {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                Ok(())
            }
            Expr::Not(inner) => match inner.as_ref() {
                Expr::And(_) | Expr::Or(_) => write!(f, "NOT ({inner})"),
                _ => write!(f, "NOT {inner}"),
            },
            Expr::Text(Pattern::Value(value)) => write_value(f, value, true),
            Expr::Text(Pattern::Wildcard(pattern)) => f.write_str(pattern),
            Expr::Field { field, condition } => {
                f.write_str(field)?;
                match condition {
                    Condition::Matches(pattern) => write!(f, ":{pattern}"),
                    Condition::Exactly(pattern) => write!(f, ":={pattern}"),
                    Condition::Range { low, high } => {
                        match low {
                            Bound::Included(v) => {
                                f.write_str(":[")?;
                                write_bound(f, v)?;
                            }
                            Bound::Excluded(v) => {
                                f.write_str(":{")?;
                                write_bound(f, v)?;
                            }
                            Bound::Unbounded => f.write_str(":[*")?,
                        }
                        f.write_str(" TO ")?;
                        match high {
                            Bound::Included(v) => {
                                write_bound(f, v)?;
                                f.write_str("]")
                            }
                            Bound::Excluded(v) => {
                                write_bound(f, v)?;
                                f.write_str("}")
                            }
                            Bound::Unbounded => f.write_str("*]"),
                        }
                    }
                }
            }
        }
    }
}

impl Expr {
    /// Every field the query names, in order, once each.
    pub fn fields(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit_fields(&mut |name| {
            if !names.contains(&name) {
                names.push(name);
            }
        });
        names
    }

    fn visit_fields<'a>(&'a self, visit: &mut dyn FnMut(&'a str)) {
        match self {
            Expr::And(items) | Expr::Or(items) => {
                items.iter().for_each(|item| item.visit_fields(visit));
            }
            Expr::Not(inner) => inner.visit_fields(visit),
            Expr::Text(_) => {}
            Expr::Field { field, .. } => visit(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, condition: Condition) -> Expr {
        Expr::Field {
            field: name.to_owned(),
            condition,
        }
    }

    fn value(v: &str) -> Pattern {
        Pattern::Value(v.to_owned())
    }

    #[test]
    fn every_kind_of_clause() {
        assert_eq!(
            parse("host.name:WS01").unwrap(),
            field("host.name", Condition::Matches(value("WS01")))
        );
        assert_eq!(
            parse("host.name:=WS01").unwrap(),
            field("host.name", Condition::Exactly(value("WS01")))
        );
        assert_eq!(
            parse(r"process.executable:C:\Windows\System32\cmd.exe").unwrap(),
            field(
                "process.executable",
                Condition::Matches(value(r"C:\Windows\System32\cmd.exe"))
            )
        );
        assert_eq!(
            parse("process.name:*powershell*").unwrap(),
            field(
                "process.name",
                Condition::Matches(Pattern::Wildcard("*powershell*".into()))
            )
        );
        assert_eq!(
            parse("source.ip:10.0.0.0/8").unwrap(),
            field("source.ip", Condition::Matches(value("10.0.0.0/8")))
        );
        assert_eq!(
            parse("destination.port:[1 TO 1024}").unwrap(),
            field(
                "destination.port",
                Condition::Range {
                    low: Bound::Included("1".into()),
                    high: Bound::Excluded("1024".into())
                }
            )
        );
        assert_eq!(
            parse("@timestamp:>=2026-01-01").unwrap(),
            field(
                "@timestamp",
                Condition::Range {
                    low: Bound::Included("2026-01-01".into()),
                    high: Bound::Unbounded
                }
            )
        );
        assert_eq!(
            parse(r#""failed password" AND NOT (host.name:gw1 OR user.name:(root admin))"#)
                .unwrap(),
            Expr::And(vec![
                Expr::Text(value("failed password")),
                Expr::Not(Box::new(Expr::Or(vec![
                    field("host.name", Condition::Matches(value("gw1"))),
                    Expr::Or(vec![
                        field("user.name", Condition::Matches(value("root"))),
                        field("user.name", Condition::Matches(value("admin"))),
                    ]),
                ])))
            ])
        );
        assert_eq!(
            parse("a b OR c").unwrap(),
            Expr::Or(vec![
                Expr::And(vec![Expr::Text(value("a")), Expr::Text(value("b"))]),
                Expr::Text(value("c")),
            ])
        );
    }

    #[test]
    fn errors_name_the_column() {
        for (query, column, words) in [
            ("", 1, "empty"),
            ("host.name:", 11, "expected a value after `host.name:`"),
            ("(a OR b", 1, "not closed"),
            ("a OR b)", 7, "closes no"),
            ("x:[1 5]", 6, "expected `TO`"),
            ("x:[1 TO 5", 10, "expected `]`"),
            ("\"open", 1, "not closed"),
            ("a AND OR b", 7, "before this operator"),
            ("NOT", 4, "expected a term"),
            ("é:[1 TO 2) x", 10, "expected `]`"),
        ] {
            let error = parse(query).unwrap_err();
            assert_eq!(error.column, column, "{query}: {error}");
            assert!(error.reason.contains(words), "{query}: {error}");
        }
    }

    #[test]
    fn printing_reads_back() {
        for query in [
            r#"host.name:"a b" OR NOT "x:y" AND f:=\ab"#,
            r#"f:["*" TO *] g:{"a]" TO b}"#,
            "f:AND* \"AND\" f:\"(\"",
        ] {
            let expr = parse(query).unwrap();
            assert_eq!(parse(&expr.to_string()).unwrap(), expr, "{expr}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn field_name() -> impl Strategy<Value = String> {
        "[a-zA-Z@_][a-zA-Z0-9_$#-]{0,6}(\\.[a-zA-Z0-9_]{1,6}){0,3}"
    }

    fn pattern() -> impl Strategy<Value = Pattern> {
        prop_oneof![
            "\\PC{0,12}".prop_map(Pattern::Value),
            "[a-z0-9.]{0,4}[*?][a-z0-9*?.]{0,4}".prop_map(Pattern::Wildcard),
        ]
    }

    fn bound() -> impl Strategy<Value = Bound<String>> {
        prop_oneof![
            "\\PC{0,10}".prop_map(Bound::Included),
            "\\PC{0,10}".prop_map(Bound::Excluded),
            Just(Bound::Unbounded),
        ]
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        prop_oneof![
            pattern().prop_map(Expr::Text),
            (field_name(), pattern()).prop_map(|(field, p)| Expr::Field {
                field,
                condition: Condition::Matches(p)
            }),
            (field_name(), pattern()).prop_map(|(field, p)| Expr::Field {
                field,
                condition: Condition::Exactly(p)
            }),
            (field_name(), bound(), bound()).prop_map(|(field, low, high)| Expr::Field {
                field,
                condition: Condition::Range { low, high }
            }),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
    }

    proptest! {
        #[test]
        fn parse_print_parse(expr in expr()) {
            let printed = expr.to_string();
            let parsed = parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&expr), "printed as {}", printed);
            prop_assert_eq!(parsed.map(|e| e.to_string()), Ok(printed));
        }

        #[test]
        fn any_text_is_read_or_refused_with_a_column_inside_it(text in "\\PC{0,60}") {
            match parse(&text) {
                Ok(expr) => {
                    let printed = expr.to_string();
                    prop_assert_eq!(parse(&printed), Ok(expr), "printed as {}", printed);
                }
                Err(error) => prop_assert!(
                    error.column >= 1 && error.column <= text.chars().count() + 1,
                    "{error} for {text:?}"
                ),
            }
        }

        #[test]
        fn query_like_text_is_read_or_refused(text in "([a-z.]{1,5}(:|:=|:>|:\\[)?[a-z0-9*\" ]{0,4}( AND | OR | NOT |\\(|\\)| TO |\\]| )?){1,8}") {
            match parse(&text) {
                Ok(expr) => prop_assert_eq!(parse(&expr.to_string()), Ok(expr)),
                Err(error) => prop_assert!(error.column <= text.chars().count() + 1),
            }
        }
    }
}
