//! The condition language: `and`, `or`, `not`, parentheses, `1 of x*`,
//! `all of them`, with precedence `not` > `and` > `or`.

use crate::rule::Cond;

/// A condition that could not be parsed or resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Byte offset in the condition text (for the column).
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// True when the condition is valid Sigma that this engine does not evaluate
    /// (the deprecated `| count()` aggregations, `near`).
    pub unsupported: bool,
    /// True when the syntax is fine but an identifier names no search; like
    /// pySigma, such a rule still loads and fails when it is compiled.
    pub unresolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    All,
    Them,
    Num(usize),
    Ident(&'a str),
    Pipe,
}

fn tokenize(s: &str) -> Result<Vec<(usize, Tok<'_>)>, ConditionError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match c {
            b'(' => {
                out.push((i, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((i, Tok::RParen));
                i += 1;
            }
            b'|' => {
                out.push((i, Tok::Pipe));
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'(' | b')' | b'|')
                {
                    i += 1;
                }
                let word = &s[start..i];
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "all" => Tok::All,
                    "them" => Tok::Them,
                    _ => match word.parse::<usize>() {
                        Ok(n) => Tok::Num(n),
                        Err(_) => {
                            if !word.chars().all(|c| {
                                c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '?')
                            }) {
                                return Err(err(
                                    start,
                                    format!("unexpected '{word}' in condition"),
                                ));
                            }
                            Tok::Ident(word)
                        }
                    },
                };
                out.push((start, tok));
            }
        }
    }
    Ok(out)
}

fn err(offset: usize, message: String) -> ConditionError {
    ConditionError {
        offset,
        message,
        unsupported: false,
        unresolved: false,
    }
}

fn unresolved(offset: usize, message: String) -> ConditionError {
    ConditionError {
        offset,
        message,
        unsupported: false,
        unresolved: true,
    }
}

struct Parser<'a, 'n> {
    toks: Vec<(usize, Tok<'a>)>,
    at: usize,
    end: usize,
    names: &'n [String],
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(o, _)| *o)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Cond, ConditionError> {
        let mut items = vec![self.and_expr(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            items.push(self.and_expr(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Cond, ConditionError> {
        let mut items = vec![self.not_expr(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            items.push(self.not_expr(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn not_expr(&mut self, depth: usize) -> Result<Cond, ConditionError> {
        if depth > 64 {
            return Err(err(self.offset(), "condition nested too deeply".into()));
        }
        if self.peek() == Some(&Tok::Not) {
            self.at += 1;
            return Ok(Cond::Not(Box::new(self.not_expr(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Cond, ConditionError> {
        let offset = self.offset();
        let Some(tok) = self.peek().cloned() else {
            return Err(err(offset, "condition ends unexpectedly".into()));
        };
        self.at += 1;
        match tok {
            Tok::LParen => {
                let inner = self.or_expr(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(err(self.offset(), "expected ')'".into()));
                }
                self.at += 1;
                Ok(inner)
            }
            Tok::Num(_) | Tok::All => {
                let min = match tok {
                    Tok::Num(0) => return Err(err(offset, "'0 of' is not allowed".into())),
                    Tok::Num(n) => Some(n),
                    _ => None,
                };
                if self.peek() != Some(&Tok::Of) {
                    return Err(err(self.offset(), "expected 'of'".into()));
                }
                self.at += 1;
                let target_offset = self.offset();
                let searches: Vec<usize> = match self.peek().cloned() {
                    Some(Tok::Them) => {
                        self.at += 1;
                        (0..self.names.len())
                            .filter(|&i| !self.names[i].starts_with('_'))
                            .collect()
                    }
                    Some(Tok::Ident(pat)) => {
                        self.at += 1;
                        let p = crate::pattern::Pattern::parse(pat);
                        (0..self.names.len())
                            .filter(|&i| p.matches(&self.names[i]))
                            .collect()
                    }
                    _ => {
                        return Err(err(
                            target_offset,
                            "expected 'them' or a search identifier pattern after 'of'".into(),
                        ));
                    }
                };
                if searches.is_empty() {
                    return Err(unresolved(
                        target_offset,
                        "the pattern after 'of' matches no search identifier".into(),
                    ));
                }
                Ok(Cond::Of { min, searches })
            }
            Tok::Ident(name) => match self.names.iter().position(|n| n == name) {
                Some(i) => Ok(Cond::Search(i)),
                None => Err(unresolved(
                    offset,
                    format!("unknown search identifier '{name}'"),
                )),
            },
            Tok::Pipe => Err(ConditionError {
                offset,
                message: "aggregation in condition ('|') is deprecated; use a correlation rule"
                    .into(),
                unsupported: true,
                unresolved: false,
            }),
            other => Err(err(
                offset,
                format!("unexpected {} in condition", describe(&other)),
            )),
        }
    }
}

fn describe(t: &Tok<'_>) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::And => "'and'".into(),
        Tok::Or => "'or'".into(),
        Tok::Not => "'not'".into(),
        Tok::Of => "'of'".into(),
        Tok::All => "'all'".into(),
        Tok::Them => "'them'".into(),
        Tok::Num(n) => format!("'{n}'"),
        Tok::Ident(i) => format!("'{i}'"),
        Tok::Pipe => "'|'".into(),
    }
}

/// Parses one condition string, resolving identifiers against `names`.
pub fn parse_condition(text: &str, names: &[String]) -> Result<Cond, ConditionError> {
    if let Some(offset) = text.find('|') {
        return Err(ConditionError {
            offset,
            message: "aggregation in condition ('|') is deprecated; use a correlation rule".into(),
            unsupported: true,
            unresolved: false,
        });
    }
    let toks = tokenize(text)?;
    if toks
        .iter()
        .any(|(_, t)| matches!(t, Tok::Ident(w) if w.eq_ignore_ascii_case("near")))
    {
        let offset = toks
            .iter()
            .find(|(_, t)| matches!(t, Tok::Ident(w) if w.eq_ignore_ascii_case("near")))
            .map_or(0, |(o, _)| *o);
        return Err(ConditionError {
            offset,
            message: "'near' is deprecated; use a temporal correlation rule".into(),
            unsupported: true,
            unresolved: false,
        });
    }
    let mut p = Parser {
        toks,
        at: 0,
        end: text.len(),
        names,
    };
    let cond = p.or_expr(0)?;
    if p.at < p.toks.len() {
        let (offset, tok) = &p.toks[p.at];
        if *tok == Tok::Pipe {
            return Err(ConditionError {
                offset: *offset,
                message: "aggregation in condition ('|') is deprecated; use a correlation rule"
                    .into(),
                unsupported: true,
                unresolved: false,
            });
        }
        return Err(err(
            *offset,
            format!("unexpected {} in condition", describe(tok)),
        ));
    }
    Ok(cond)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["sel1", "sel2", "filter", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse_condition("sel1 or sel2 and not filter", &names()).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::Search(0),
                Cond::And(vec![Cond::Search(1), Cond::Not(Box::new(Cond::Search(2)))])
            ])
        );
    }

    #[test]
    fn parentheses_and_of() {
        let c = parse_condition("(1 of sel* or filter) and all of them", &names()).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Or(vec![
                    Cond::Of {
                        min: Some(1),
                        searches: vec![0, 1]
                    },
                    Cond::Search(2)
                ]),
                Cond::Of {
                    min: None,
                    searches: vec![0, 1, 2]
                }
            ])
        );
    }

    #[test]
    fn errors() {
        assert!(parse_condition("sel1 and", &names()).is_err());
        assert!(
            parse_condition("sel3", &names())
                .unwrap_err()
                .message
                .contains("sel3")
        );
        assert!(parse_condition("1 of nothing*", &names()).is_err());
        let e = parse_condition("sel1 | count() > 5", &names()).unwrap_err();
        assert!(e.unsupported);
        assert!(parse_condition("(sel1", &names()).is_err());
    }
}
