//! STIX patterns: the part that maps onto indicators.
//!
//! An indicator value is one thing to look for, so the patterns taken are
//! equality comparisons of one object path with a string — `[ipv4-addr:value
//! = '198.51.100.7']` — and ORs of them, inside one observation or between
//! observations (`[a = 'x' OR b = 'y']`, `[a = 'x'] OR [b = 'y']`): each
//! comparison alone is a sign of what the pattern describes. Everything
//! else — AND and FOLLOWEDBY (several things seen together), qualifiers
//! (WITHIN, REPEATS, START/STOP), other operators (`!=`, `<`, LIKE,
//! MATCHES, IN, ISSUBSET, ISSUPERSET, EXISTS, NOT), non-string literals —
//! is [`PatternError::Unsupported`], naming the feature, so that the
//! importer reports it for the object; malformed text is
//! [`PatternError::Syntax`], naming the position.

/// Deepest nesting of parentheses and brackets read.
const MAX_DEPTH: usize = 64;

/// One equality comparison: `<object_type>:<path> = '<value>'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The cyber-observable type, e.g. `file`.
    pub object_type: String,
    /// The property path, e.g. `["hashes", "SHA-256"]` (quotes removed; list steps as `[*]`).
    pub path: Vec<String>,
    /// The string compared with.
    pub value: String,
}

impl Comparison {
    /// The object path as STIX writes it, e.g. `file:hashes.'SHA-256'`.
    pub fn object_path(&self) -> String {
        let mut out = format!("{}:", self.object_type);
        for (n, step) in self.path.iter().enumerate() {
            if step.starts_with('[') {
                out.push_str(step);
                continue;
            }
            if n > 0 {
                out.push('.');
            }
            if step.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !step.is_empty() {
                out.push_str(step);
            } else {
                out.push('\'');
                out.push_str(&escape(step));
                out.push('\'');
            }
        }
        out
    }
}

/// Why a pattern gave no comparisons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The text is not a STIX pattern.
    #[error("pattern syntax error at character {at}: {reason}")]
    Syntax {
        /// The character position (from 0).
        at: usize,
        /// What was wrong.
        reason: String,
    },
    /// A valid pattern using something that is not an indicator value.
    #[error("unsupported pattern: {0}")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    LeftBracket,
    RightBracket,
    Path(String, Vec<String>),
    Text(String),
    /// A literal other than a string (number, boolean, t'..', h'..', b'..'), by kind.
    Literal(&'static str),
    Operator(String),
    Word(String),
}

/// Escapes `'` and `\` for a STIX string literal.
pub fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// `[<object_path> = '<value>']`.
pub fn equality(object_path: &str, value: &str) -> String {
    format!("[{object_path} = '{}']", escape(value))
}

fn syntax<T>(at: usize, reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::Syntax {
        at,
        reason: reason.into(),
    })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    at: usize,
    _text: &'a str,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|(_, c)| *c)
    }

    fn position(&self) -> usize {
        self.chars.get(self.at).map_or(
            self.chars.last().map_or(0, |(p, c)| p + c.len_utf8()),
            |(p, _)| *p,
        )
    }

    fn quoted(&mut self) -> Result<String, PatternError> {
        let start = self.position();
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return syntax(start, "a string is not closed"),
                Some('\'') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ ('\'' | '\\')) => {
                            out.push(c);
                            self.at += 1;
                        }
                        _ => {
                            return syntax(
                                self.position(),
                                "only \\' and \\\\ may be escaped in a string",
                            );
                        }
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn word(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|c| is_word_char(*c)) {
            out.push(c);
            self.at += 1;
        }
        out
    }

    fn tokens(mut self) -> Result<Vec<(usize, Token)>, PatternError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            let at = self.position();
            if c.is_whitespace() {
                self.at += 1;
                continue;
            }
            let token = match c {
                '(' | ')' | '[' | ']' => {
                    self.at += 1;
                    match c {
                        '(' => Token::Open,
                        ')' => Token::Close,
                        '[' => Token::LeftBracket,
                        _ => Token::RightBracket,
                    }
                }
                '\'' => Token::Text(self.quoted()?),
                '=' | '!' | '<' | '>' => {
                    self.at += 1;
                    let mut op = c.to_string();
                    if self.peek() == Some('=') {
                        self.at += 1;
                        op.push('=');
                    }
                    if op == "!" {
                        return syntax(at, "\"!\" must be \"!=\"");
                    }
                    Token::Operator(op)
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' => {
                    self.at += 1;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
                    {
                        self.at += 1;
                    }
                    Token::Literal("number")
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let next = self.chars.get(self.at + 1).map(|(_, c)| *c);
                    if matches!(c, 't' | 'h' | 'b') && next == Some('\'') {
                        self.at += 1;
                        self.quoted()?;
                        Token::Literal(match c {
                            't' => "timestamp",
                            'h' => "hex",
                            _ => "binary",
                        })
                    } else {
                        let word = self.word();
                        if self.peek() == Some(':') {
                            self.at += 1;
                            Token::Path(word, self.path()?)
                        } else {
                            match word.to_ascii_uppercase().as_str() {
                                "TRUE" | "FALSE" => Token::Literal("boolean"),
                                upper => Token::Word(upper.to_owned()),
                            }
                        }
                    }
                }
                other => return syntax(at, format!("unexpected {other:?}")),
            };
            out.push((at, token));
        }
        Ok(out)
    }

    fn path(&mut self) -> Result<Vec<String>, PatternError> {
        let mut steps = Vec::new();
        loop {
            let at = self.position();
            let step = match self.peek() {
                Some('\'') => self.quoted()?,
                Some(c) if is_word_char(c) => self.word(),
                _ => return syntax(at, "an object path needs a property name here"),
            };
            steps.push(step);
            loop {
                match self.peek() {
                    Some('[') => {
                        let start = self.position();
                        let mut step = String::from("[");
                        self.at += 1;
                        loop {
                            match self.peek() {
                                None => return syntax(start, "a list index is not closed"),
                                Some(']') => {
                                    self.at += 1;
                                    step.push(']');
                                    break;
                                }
                                Some(c) if c.is_ascii_digit() || c == '*' => {
                                    step.push(c);
                                    self.at += 1;
                                }
                                Some(_) => {
                                    return syntax(
                                        self.position(),
                                        "a list index is a number or *",
                                    );
                                }
                            }
                        }
                        steps.push(step);
                    }
                    Some('.') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Ok(steps),
                }
            }
        }
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
    depth: usize,
}

const QUALIFIERS: [&str; 4] = ["WITHIN", "REPEATS", "START", "STOP"];

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn next_is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn deeper(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return syntax(self.position(), "nested too deeply");
        }
        Ok(())
    }

    fn pattern(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let out = self.observations()?;
        match self.peek() {
            None => Ok(out),
            Some(Token::Word(w)) if QUALIFIERS.contains(&w.as_str()) => Err(
                PatternError::Unsupported(format!("the {w} qualifier (a time or count condition)")),
            ),
            Some(other) => syntax(self.position(), format!("unexpected {}", describe(other))),
        }
    }

    /// Observations joined by OR.
    fn observations(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let mut out = self.observation_and()?;
        while self.next_is_word("OR") {
            self.at += 1;
            out.extend(self.observation_and()?);
        }
        Ok(out)
    }

    fn observation_and(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let first = self.observation()?;
        if self.next_is_word("AND") {
            return Err(PatternError::Unsupported(
                "AND between observations (several things seen together)".into(),
            ));
        }
        if self.next_is_word("FOLLOWEDBY") {
            return Err(PatternError::Unsupported(
                "FOLLOWEDBY (things seen one after the other)".into(),
            ));
        }
        Ok(first)
    }

    fn observation(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let at = self.position();
        let out = match self.peek() {
            Some(Token::LeftBracket) => {
                self.at += 1;
                self.deeper()?;
                let out = self.comparisons()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::RightBracket) {
                    return syntax(self.position(), "expected ']'");
                }
                self.at += 1;
                out
            }
            Some(Token::Open) => {
                self.at += 1;
                self.deeper()?;
                let out = self.observations()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return syntax(self.position(), "expected ')'");
                }
                self.at += 1;
                out
            }
            Some(other) => {
                return syntax(at, format!("expected '[', found {}", describe(other)));
            }
            None => return syntax(at, "expected '[', found the end"),
        };
        if let Some(Token::Word(w)) = self.peek()
            && QUALIFIERS.contains(&w.as_str())
        {
            return Err(PatternError::Unsupported(format!(
                "the {w} qualifier (a time or count condition)"
            )));
        }
        Ok(out)
    }

    /// Comparisons joined by OR, inside an observation.
    fn comparisons(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let mut out = self.comparison_and()?;
        while self.next_is_word("OR") {
            self.at += 1;
            out.extend(self.comparison_and()?);
        }
        Ok(out)
    }

    fn comparison_and(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let first = self.comparison()?;
        if self.next_is_word("AND") {
            return Err(PatternError::Unsupported(
                "AND inside an observation (several properties of one object)".into(),
            ));
        }
        Ok(first)
    }

    fn comparison(&mut self) -> Result<Vec<Comparison>, PatternError> {
        let at = self.position();
        match self.peek().cloned() {
            Some(Token::Open) => {
                self.at += 1;
                self.deeper()?;
                let out = self.comparisons()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return syntax(self.position(), "expected ')'");
                }
                self.at += 1;
                Ok(out)
            }
            Some(Token::Word(w)) if w == "EXISTS" => Err(PatternError::Unsupported(
                "EXISTS (a property being present)".into(),
            )),
            Some(Token::Path(object_type, path)) => {
                self.at += 1;
                if self.next_is_word("NOT") {
                    return Err(PatternError::Unsupported(
                        "NOT (a negated comparison)".into(),
                    ));
                }
                match self.peek().cloned() {
                    Some(Token::Operator(op)) if op == "=" => {}
                    Some(Token::Operator(op)) => {
                        return Err(PatternError::Unsupported(format!("the {op} operator")));
                    }
                    Some(Token::Word(w))
                        if matches!(
                            w.as_str(),
                            "LIKE" | "MATCHES" | "IN" | "ISSUBSET" | "ISSUPERSET"
                        ) =>
                    {
                        return Err(PatternError::Unsupported(format!("the {w} operator")));
                    }
                    Some(other) => {
                        return syntax(
                            self.position(),
                            format!("expected an operator, found {}", describe(&other)),
                        );
                    }
                    None => return syntax(self.position(), "expected an operator"),
                }
                self.at += 1;
                match self.peek().cloned() {
                    Some(Token::Text(value)) => {
                        self.at += 1;
                        Ok(vec![Comparison {
                            object_type,
                            path,
                            value,
                        }])
                    }
                    Some(Token::Literal(kind)) => Err(PatternError::Unsupported(format!(
                        "comparison with a {kind}"
                    ))),
                    Some(other) => syntax(
                        self.position(),
                        format!("expected a value, found {}", describe(&other)),
                    ),
                    None => syntax(self.position(), "expected a value"),
                }
            }
            Some(other) => syntax(
                at,
                format!("expected an object path, found {}", describe(&other)),
            ),
            None => syntax(at, "expected an object path, found the end"),
        }
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::LeftBracket => "'['".into(),
        Token::RightBracket => "']'".into(),
        Token::Path(t, _) => format!("the object path {t}:..."),
        Token::Text(_) => "a string".into(),
        Token::Literal(kind) => format!("a {kind}"),
        Token::Operator(op) => format!("{op:?}"),
        Token::Word(w) => w.clone(),
    }
}

/// The comparisons of a pattern made only of ORed equality comparisons with
/// strings; anything else is an error naming it.
pub fn parse(pattern: &str) -> Result<Vec<Comparison>, PatternError> {
    let lexer = Lexer {
        chars: pattern.char_indices().collect(),
        at: 0,
        _text: pattern,
    };
    let tokens = lexer.tokens()?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: pattern.len(),
        depth: 0,
    };
    parser.pattern()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn values(pattern: &str) -> Vec<(String, String)> {
        parse(pattern)
            .unwrap()
            .into_iter()
            .map(|c| (c.object_path(), c.value))
            .collect()
    }

    #[test]
    fn ors_of_equalities_give_every_comparison() {
        assert_eq!(
            values("[ipv4-addr:value = '198.51.100.1/32']"),
            [("ipv4-addr:value".into(), "198.51.100.1/32".into())]
        );
        assert_eq!(
            values(
                "[domain-name:value = 'a.example' OR (ipv4-addr:value = '192.0.2.1')] OR [file:hashes.'SHA-256' = 'ab\\'c']"
            ),
            [
                ("domain-name:value".into(), "a.example".into()),
                ("ipv4-addr:value".into(), "192.0.2.1".into()),
                ("file:hashes.'SHA-256'".into(), "ab'c".into()),
            ]
        );
        assert_eq!(
            values("[network-traffic:dst_ref.value = '2001:db8::1']"),
            [("network-traffic:dst_ref.value".into(), "2001:db8::1".into())]
        );
        assert_eq!(
            values("[email-message:to_refs[*].value = 'x@example.org']")[0].0,
            "email-message:to_refs[*].value"
        );
    }

    #[test]
    fn other_features_are_named_not_dropped() {
        for (pattern, named) in [
            (
                "[x509-certificate:issuer = 'CN=A' AND x509-certificate:serial_number = '1']",
                "AND inside",
            ),
            (
                "[ipv4-addr:value = '192.0.2.1'] AND [domain-name:value = 'a.example']",
                "AND between",
            ),
            ("[a:b = 'x'] FOLLOWEDBY [a:b = 'y']", "FOLLOWEDBY"),
            ("[a:b = 'x'] WITHIN 300 SECONDS", "WITHIN"),
            ("[a:b = 'x'] REPEATS 5 TIMES", "REPEATS"),
            ("[file:size > 100]", "the > operator"),
            ("[file:name != 'a']", "the != operator"),
            ("[file:name LIKE 'a%']", "LIKE"),
            ("[file:name MATCHES '^a']", "MATCHES"),
            ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", "ISSUBSET"),
            ("[file:name NOT = 'a']", "NOT"),
            ("[EXISTS file:name]", "EXISTS"),
            ("[file:size = 100]", "number"),
            ("[file:created = t'2020-01-01T00:00:00Z']", "timestamp"),
        ] {
            match parse(pattern) {
                Err(PatternError::Unsupported(why)) => {
                    assert!(why.contains(named), "{pattern}: {why}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_patterns_name_the_position() {
        for (pattern, at) in [
            ("[ipv4-addr:value = '1.2.3.4'", 28),
            ("ipv4-addr:value = '1'", 0),
            ("[ipv4-addr:value = 'x]", 19),
            ("[ipv4-addr:value '1']", 17),
            ("", 0),
            ("[a:b = 'x'] [a:b = 'y']", 12),
        ] {
            match parse(pattern) {
                Err(PatternError::Syntax { at: found, .. }) => {
                    assert_eq!(found, at, "{pattern}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
        let deep = format!("{}[a:b = 'x']{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(parse(&deep), Err(PatternError::Syntax { .. })));
    }
}
