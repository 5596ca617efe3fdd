//! Sigma string values: wildcards `*` and `?`, backslash escapes, case folding.

use std::borrow::Cow;

/// One element of a Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A Sigma string value after escape processing, with wildcards as tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    /// Normalised tokens: no empty or adjacent literals, no repeated `Any`.
    pub tokens: Vec<Token>,
}

/// The shape of a pattern, which decides how it is matched fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape<'a> {
    /// The whole value equals the literal.
    Exact(&'a str),
    /// The value starts with the literal.
    Prefix(&'a str),
    /// The value ends with the literal.
    Suffix(&'a str),
    /// The value contains the literal.
    Contains(&'a str),
    /// Any value at all (`*`).
    AnyValue,
    /// Anything else: wildcards inside, or `?`.
    Glob,
}

impl Pattern {
    /// Parses a Sigma string value: `*` and `?` are wildcards, `\*`, `\?` and `\\` escape them.
    ///
    /// A backslash before any other character is a plain backslash (spec: "Escape Character").
    pub fn parse(s: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        lit.push(n);
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' | '?' => {
                    if !lit.is_empty() {
                        p.push(Token::Lit(std::mem::take(&mut lit)));
                    }
                    p.push(if c == '*' { Token::Any } else { Token::One });
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            p.push(Token::Lit(lit));
        }
        p
    }

    /// A pattern matching exactly `s` (no wildcard processing).
    pub fn literal(s: &str) -> Pattern {
        let mut p = Pattern::default();
        if !s.is_empty() {
            p.push(Token::Lit(s.to_string()));
        }
        p
    }

    /// Appends a token, keeping the normal form.
    pub fn push(&mut self, t: Token) {
        match (self.tokens.last_mut(), t) {
            (_, Token::Lit(s)) if s.is_empty() => {}
            (Some(Token::Lit(prev)), Token::Lit(s)) => prev.push_str(&s),
            (Some(Token::Any), Token::Any) => {}
            (_, t) => self.tokens.push(t),
        }
    }

    /// Puts `*` in front (endswith / contains).
    pub fn prepend_any(&mut self) {
        if self.tokens.first() != Some(&Token::Any) {
            self.tokens.insert(0, Token::Any);
        }
    }

    /// Puts `*` at the end (startswith / contains).
    pub fn append_any(&mut self) {
        self.push(Token::Any);
    }

    /// The pattern rendered back as Sigma text (for messages and keys).
    pub fn to_sigma(&self) -> String {
        let mut s = String::new();
        for t in &self.tokens {
            match t {
                Token::Lit(l) => {
                    for c in l.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            s.push('\\');
                        }
                        s.push(c);
                    }
                }
                Token::Any => s.push('*'),
                Token::One => s.push('?'),
            }
        }
        s
    }

    /// True when the pattern contains no wildcard.
    pub fn is_plain(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Lit(_)))
    }

    /// The pattern's plain text when it has no wildcard.
    pub fn plain_text(&self) -> Option<String> {
        let mut s = String::new();
        for t in &self.tokens {
            match t {
                Token::Lit(l) => s.push_str(l),
                _ => return None,
            }
        }
        Some(s)
    }

    /// The same pattern with every literal lower-cased (see [`fold`]).
    pub fn folded(&self) -> Pattern {
        Pattern {
            tokens: self
                .tokens
                .iter()
                .map(|t| match t {
                    Token::Lit(l) => Token::Lit(fold(l).into_owned()),
                    t => t.clone(),
                })
                .collect(),
        }
    }

    /// Classifies the pattern.
    pub fn shape(&self) -> Shape<'_> {
        use Token::{Any, Lit};
        match self.tokens.as_slice() {
            [] => Shape::Exact(""),
            [Lit(l)] => Shape::Exact(l),
            [Any] => Shape::AnyValue,
            [Lit(l), Any] => Shape::Prefix(l),
            [Any, Lit(l)] => Shape::Suffix(l),
            [Any, Lit(l), Any] => Shape::Contains(l),
            _ => Shape::Glob,
        }
    }

    /// The longest literal that every matching value must contain, if any.
    pub fn longest_literal(&self) -> Option<&str> {
        self.tokens
            .iter()
            .filter_map(|t| match t {
                Token::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .max_by_key(|l| l.len())
    }

    /// Matches `text` against the pattern exactly as written (case-sensitive).
    pub fn matches(&self, text: &str) -> bool {
        glob_match(&self.tokens, text)
    }
}

/// Case folding used for case-insensitive matching: per-character Unicode
/// lower case (no context rules, so rule and event fold alike), with a fast
/// path that borrows ASCII-lower-case input unchanged.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        let mut buf = String::with_capacity(s.len());
        fold_into(s, &mut buf);
        Cow::Owned(buf)
    }
}

/// Folds `s` into `buf` (reused across calls) and returns it.
pub fn fold_into<'b>(s: &str, buf: &'b mut String) -> &'b str {
    buf.clear();
    if s.is_ascii() {
        buf.push_str(s);
        buf.make_ascii_lowercase();
        return buf.as_str();
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i] < 0x80 {
            i += 1;
        }
        buf.push_str(&s[start..i]);
        if let Some(c) = s[i..].chars().next() {
            buf.extend(c.to_lowercase());
            i += c.len_utf8();
        }
    }
    // Lower-casing ASCII bytes never touches the bytes of multi-byte characters.
    buf.make_ascii_lowercase();
    buf.as_str()
}

/// Wildcard matching over tokens: segments between `*` are matched leftmost,
/// which is correct because a later `*` can absorb anything in between.
fn glob_match(tokens: &[Token], text: &str) -> bool {
    // Split into segments separated by Any.
    let mut segments: Vec<&[Token]> = Vec::new();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if *t == Token::Any {
            segments.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    segments.push(&tokens[start..]);
    if segments.len() == 1 {
        return seg_match_at(segments[0], text, 0) == Some(text.len());
    }
    // First segment anchored at the start.
    let Some(mut pos) = seg_match_at(segments[0], text, 0) else {
        return false;
    };
    let last = segments.len() - 1;
    for seg in &segments[1..last] {
        if seg.is_empty() {
            continue;
        }
        let mut found = None;
        let mut p = pos;
        loop {
            if let Some(end) = seg_match_at(seg, text, p) {
                found = Some(end);
                break;
            }
            match text[p..].chars().next() {
                Some(c) => p += c.len_utf8(),
                None => break,
            }
        }
        match found {
            Some(end) => pos = end,
            None => return false,
        }
    }
    // Last segment anchored at the end: it has a fixed length in characters.
    let tail = segments[last];
    let tail_chars: usize = tail
        .iter()
        .map(|t| match t {
            Token::Lit(l) => l.chars().count(),
            _ => 1,
        })
        .sum();
    let rest = &text[pos..];
    let rest_chars = rest.chars().count();
    if rest_chars < tail_chars {
        return false;
    }
    let skip: usize = rest
        .chars()
        .take(rest_chars - tail_chars)
        .map(char::len_utf8)
        .sum();
    seg_match_at(tail, text, pos + skip) == Some(text.len())
}

/// Matches a wildcard-free (except `?`) segment at byte offset `at`; returns the end offset.
fn seg_match_at(seg: &[Token], text: &str, at: usize) -> Option<usize> {
    let mut pos = at;
    for t in seg {
        match t {
            Token::Lit(l) => {
                if text.get(pos..)?.starts_with(l.as_str()) {
                    pos += l.len();
                } else {
                    return None;
                }
            }
            Token::One => {
                let c = text.get(pos..)?.chars().next()?;
                pos += c.len_utf8();
            }
            Token::Any => return None,
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::parse(p).matches(t)
    }

    #[test]
    fn escapes_follow_the_spec() {
        // spec "Escape Character": plain backslash, escaped wildcards, double backslash
        assert_eq!(
            Pattern::parse(r"C:\Windows\x").shape(),
            Shape::Exact(r"C:\Windows\x")
        );
        assert_eq!(Pattern::parse(r"a\*b").shape(), Shape::Exact("a*b"));
        assert_eq!(Pattern::parse(r"a\?").shape(), Shape::Exact("a?"));
        assert_eq!(Pattern::parse(r"a\\*").shape(), Shape::Prefix(r"a\"));
        assert_eq!(Pattern::parse(r"a\\\*").shape(), Shape::Exact(r"a\*"));
        assert_eq!(Pattern::parse(r"\\\\").shape(), Shape::Exact(r"\\"));
        assert_eq!(Pattern::parse(r"\\\").shape(), Shape::Exact(r"\\"));
        assert_eq!(Pattern::parse(r"\\x").shape(), Shape::Exact(r"\x"));
    }

    #[test]
    fn wildcards() {
        assert!(m("prog?.exe", "progA.exe"));
        assert!(!m("prog?.exe", "prog.exe"));
        assert!(m("antivirus_V*.exe", "antivirus_V21.2.1.exe"));
        assert!(m("*a*b*c", "xxaxxbxxc"));
        assert!(!m("*a*b*c", "xxaxxbxxcx"));
        assert!(m("a*", "a"));
        assert!(m("*", ""));
        assert!(m("?é?", "aéb"));
        assert!(m("*ab", "aab"));
        assert!(!m("?", ""));
        assert!(m("a*?", "ab"));
        assert!(!m("a*?", "a"));
    }

    #[test]
    fn folding() {
        assert_eq!(fold("ABC"), "abc");
        assert_eq!(fold("ÄBÇ"), "äbç");
        let mut b = String::new();
        assert_eq!(fold_into("ÄBc", &mut b), "äbc");
    }
}
