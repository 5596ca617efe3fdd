//! Value modifiers (`field|contains|all: ...`): turning a rule's values into [`Matcher`]s.
//!
//! Modifiers apply in the order written. Position modifiers (`contains`,
//! `startswith`, `endswith`) add `*` wildcards; `windash` expands every
//! `-`, `/`, en dash, em dash and horizontal bar into all five (all
//! permutations, as the spec says); encodings (`utf16*`, `wide`, `base64`,
//! `base64offset`) turn the value into bytes and back into a plain string that
//! is then compared case-sensitively (an encoded form of `IEX` is not an
//! encoded form of `iex`); `expand` replaces `%name%` placeholders.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::pattern::{Pattern, Token};
use crate::rule::{Cidr, Item, Matcher, NumOp, RegexMatcher, TimePart};
use crate::yaml::{Node, NodeKind, Pos, ScalarType};

/// Values for `%name%` placeholders used with the `expand` modifier.
///
/// A placeholder with no entry still loads: it is treated as the wildcard `*`
/// (matching any value of the field, like pySigma's wildcard placeholder
/// transformation) and reported as a warning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    values: HashMap<String, Vec<String>>,
}

impl Placeholders {
    /// No placeholder values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the values of placeholder `name` (without `%`). Values may use wildcards.
    pub fn insert(&mut self, name: impl Into<String>, values: Vec<String>) {
        self.values.insert(name.into(), values);
    }

    /// The values of placeholder `name`.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.values.get(name).map(Vec::as_slice)
    }
}

impl From<HashMap<String, Vec<String>>> for Placeholders {
    fn from(values: HashMap<String, Vec<String>>) -> Self {
        Self { values }
    }
}

/// A problem found while reading an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemProblem {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
    /// Only a warning; the item is still usable.
    pub warning: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    ReI,
    ReM,
    ReS,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Cmp(NumOp),
    Time(TimePart),
    Cidr,
    Expand,
    FieldRef,
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(match s {
        "contains" => Modifier::Contains,
        "startswith" => Modifier::StartsWith,
        "endswith" => Modifier::EndsWith,
        "all" => Modifier::All,
        "exists" => Modifier::Exists,
        "cased" => Modifier::Cased,
        "neq" => Modifier::Neq,
        "windash" => Modifier::Windash,
        "re" => Modifier::Re,
        "i" => Modifier::ReI,
        "m" => Modifier::ReM,
        "s" => Modifier::ReS,
        "base64" => Modifier::Base64,
        "base64offset" => Modifier::Base64Offset,
        "utf16le" | "wide" => Modifier::Utf16Le,
        "utf16be" => Modifier::Utf16Be,
        "utf16" => Modifier::Utf16,
        "lt" => Modifier::Cmp(NumOp::Lt),
        "lte" => Modifier::Cmp(NumOp::Lte),
        "gt" => Modifier::Cmp(NumOp::Gt),
        "gte" => Modifier::Cmp(NumOp::Gte),
        "minute" => Modifier::Time(TimePart::Minute),
        "hour" => Modifier::Time(TimePart::Hour),
        "day" => Modifier::Time(TimePart::Day),
        "week" => Modifier::Time(TimePart::Week),
        "month" => Modifier::Time(TimePart::Month),
        "year" => Modifier::Time(TimePart::Year),
        "cidr" => Modifier::Cidr,
        "expand" => Modifier::Expand,
        "fieldref" => Modifier::FieldRef,
        _ => return None,
    })
}

/// The most values one value may expand into (windash permutations, placeholders).
const MAX_EXPANSION: usize = 4096;

/// Reads `key: value` of a search map (or a keyword list when `key` is `None`).
pub fn parse_item(
    key: Option<&Node>,
    value: &Node,
    placeholders: &Placeholders,
    problems: &mut Vec<ItemProblem>,
) -> Option<Item> {
    let key_text = key.and_then(Node::as_str).unwrap_or("");
    let key_pos = key.map_or(value.pos, |k| k.pos);
    let mut parts = key_text.split('|');
    let field = parts.next().unwrap_or("");
    let mut mods = Vec::new();
    for m in parts {
        match parse_modifier(m) {
            Some(m) => mods.push(m),
            None => {
                problems.push(problem(key_pos, format!("unknown modifier '{m}'")));
                return None;
            }
        }
    }
    let field = if key.is_none() || field.is_empty() {
        None
    } else {
        Some(field.to_string())
    };
    let has = |m: Modifier| mods.contains(&m);
    let is_re = has(Modifier::Re);
    if !is_re && (has(Modifier::ReI) || has(Modifier::ReM) || has(Modifier::ReS)) {
        problems.push(problem(
            key_pos,
            "modifiers 'i', 'm' and 's' need 're'".into(),
        ));
        return None;
    }
    let values: Vec<&Node> = match &value.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Map(_) => {
            problems.push(problem(
                value.pos,
                "a field's value must be a value or a list of values, not a map".into(),
            ));
            return None;
        }
        NodeKind::Scalar { .. } => vec![value],
    };
    if values.is_empty() {
        problems.push(problem(value.pos, "empty list of values".into()));
        return None;
    }
    let all = has(Modifier::All);
    if all && values.len() == 1 {
        problems.push(ItemProblem {
            pos: key_pos,
            message: "'all' on a single value has no effect".into(),
            warning: true,
        });
    }
    let mut item = Item {
        field,
        matchers: Vec::new(),
        all,
        negate: has(Modifier::Neq),
    };
    if has(Modifier::Exists) {
        if values.len() != 1 || mods.len() != 1 {
            problems.push(problem(
                key_pos,
                "'exists' takes one boolean and no other modifier".into(),
            ));
            return None;
        }
        match values[0].scalar_type() {
            ScalarType::Bool(b) => item.matchers.push(Matcher::Exists(b)),
            _ => {
                problems.push(problem(
                    values[0].pos,
                    "'exists' needs true or false".into(),
                ));
                return None;
            }
        }
        if item.field.is_none() {
            problems.push(problem(key_pos, "'exists' needs a field name".into()));
            return None;
        }
        return Some(item);
    }
    for v in values {
        match value_matchers(&item, &mods, v, placeholders, problems) {
            Some(ms) => item.matchers.extend(ms),
            None => return None,
        }
    }
    if item.field.is_none() {
        let explicit = mods.iter().any(|m| {
            matches!(
                m,
                Modifier::Contains
                    | Modifier::StartsWith
                    | Modifier::EndsWith
                    | Modifier::Re
                    | Modifier::Cidr
            )
        });
        if !explicit {
            // Keywords search the whole event: a keyword matches inside a value.
            for m in &mut item.matchers {
                if let Matcher::Str { pattern, .. } = m {
                    pattern.prepend_any();
                    pattern.append_any();
                }
            }
        }
    }
    Some(item)
}

fn problem(pos: Pos, message: String) -> ItemProblem {
    ItemProblem {
        pos,
        message,
        warning: false,
    }
}

enum Work {
    S(Pattern),
    B(Vec<u8>),
}

fn value_matchers(
    item: &Item,
    mods: &[Modifier],
    v: &Node,
    placeholders: &Placeholders,
    problems: &mut Vec<ItemProblem>,
) -> Option<Vec<Matcher>> {
    let Some(text) = v.as_str() else {
        problems.push(problem(
            v.pos,
            format!("a value must be a scalar, not a {}", v.kind_name()),
        ));
        return None;
    };
    let ty = v.scalar_type();
    let cased = mods.contains(&Modifier::Cased);
    let type_mod = mods.iter().find(|m| {
        matches!(
            m,
            Modifier::Re
                | Modifier::Cidr
                | Modifier::Cmp(_)
                | Modifier::Time(_)
                | Modifier::FieldRef
        )
    });
    if ty == ScalarType::Null {
        if mods
            .iter()
            .any(|m| !matches!(m, Modifier::All | Modifier::Neq))
        {
            problems.push(problem(
                v.pos,
                "null cannot be used with value modifiers".into(),
            ));
            return None;
        }
        return Some(vec![Matcher::Null]);
    }
    match type_mod {
        Some(Modifier::Re) => {
            let flag = |m| mods.contains(&m);
            let mut b = regex::RegexBuilder::new(text);
            b.case_insensitive(flag(Modifier::ReI))
                .multi_line(flag(Modifier::ReM))
                .dot_matches_new_line(flag(Modifier::ReS))
                .size_limit(16 << 20)
                .dfa_size_limit(4 << 20)
                .nest_limit(100);
            return match b.build() {
                Ok(regex) => Some(vec![Matcher::Regex(RegexMatcher {
                    source: text.to_string(),
                    insensitive: flag(Modifier::ReI),
                    multi_line: flag(Modifier::ReM),
                    dot_all: flag(Modifier::ReS),
                    regex,
                })]),
                Err(e) => {
                    let msg = e.to_string();
                    let first = msg
                        .lines()
                        .last()
                        .unwrap_or("invalid regular expression")
                        .trim();
                    problems.push(problem(
                        v.pos,
                        format!("invalid regular expression: {first}"),
                    ));
                    None
                }
            };
        }
        Some(Modifier::Cidr) => {
            return match parse_cidr(text) {
                Some(c) => Some(vec![Matcher::Cidr(c)]),
                None => {
                    problems.push(problem(v.pos, format!("invalid CIDR network '{text}'")));
                    None
                }
            };
        }
        Some(Modifier::FieldRef) => {
            if text.is_empty() {
                problems.push(problem(v.pos, "'fieldref' needs a field name".into()));
                return None;
            }
            return Some(vec![Matcher::FieldRef {
                field: text.to_string(),
                cased,
            }]);
        }
        Some(Modifier::Cmp(_) | Modifier::Time(_)) => {
            let Some(value) = parse_number(text) else {
                problems.push(problem(v.pos, format!("'{text}' is not a number")));
                return None;
            };
            let op = mods
                .iter()
                .find_map(|m| match m {
                    Modifier::Cmp(op) => Some(*op),
                    _ => None,
                })
                .unwrap_or(NumOp::Eq);
            let part = mods.iter().find_map(|m| match m {
                Modifier::Time(p) => Some(*p),
                _ => None,
            });
            return Some(vec![match part {
                Some(part) => Matcher::Time { part, op, value },
                None => Matcher::Num { op, value },
            }]);
        }
        _ => {}
    }
    let initial = match ty {
        ScalarType::Str => Pattern::parse(text),
        ScalarType::Bool(b) => Pattern::literal(if b { "true" } else { "false" }),
        _ => Pattern::literal(text),
    };
    let mut work = vec![Work::S(initial)];
    let mut encoded = false;
    for m in mods {
        match m {
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                for w in &mut work {
                    if let Work::B(b) = w {
                        *w = Work::S(Pattern::literal(&String::from_utf8_lossy(b)));
                    }
                    if let Work::S(p) = w {
                        if *m != Modifier::StartsWith {
                            p.prepend_any();
                        }
                        if *m != Modifier::EndsWith {
                            p.append_any();
                        }
                    }
                }
            }
            Modifier::Windash => {
                let mut out = Vec::new();
                for w in work {
                    match w {
                        Work::S(p) => {
                            if !windash(&p, &mut out) {
                                problems.push(problem(
                                    v.pos,
                                    "'windash' expands into too many values".into(),
                                ));
                                return None;
                            }
                        }
                        b @ Work::B(_) => out.push(b),
                    }
                }
                work = out;
            }
            Modifier::Base64 | Modifier::Base64Offset => {
                encoded = true;
                let mut out = Vec::new();
                for w in work {
                    let bytes = to_bytes(w);
                    if *m == Modifier::Base64 {
                        out.push(Work::S(Pattern::literal(&base64(&bytes))));
                    } else {
                        for s in base64_offsets(&bytes) {
                            out.push(Work::S(Pattern::literal(&s)));
                        }
                    }
                }
                work = out;
            }
            Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 => {
                encoded = true;
                work = work
                    .into_iter()
                    .map(|w| {
                        let text = String::from_utf8_lossy(&to_bytes(w)).into_owned();
                        let mut out = Vec::new();
                        if *m == Modifier::Utf16 {
                            out.extend_from_slice(&[0xFF, 0xFE]);
                        }
                        for u in text.encode_utf16() {
                            let b = if *m == Modifier::Utf16Be {
                                u.to_be_bytes()
                            } else {
                                u.to_le_bytes()
                            };
                            out.extend_from_slice(&b);
                        }
                        Work::B(out)
                    })
                    .collect();
            }
            Modifier::Expand => {
                let mut out = Vec::new();
                for w in work {
                    match w {
                        Work::S(p) => {
                            if !expand(&p, placeholders, &mut out, v.pos, problems) {
                                return None;
                            }
                        }
                        b @ Work::B(_) => out.push(b),
                    }
                }
                work = out;
            }
            Modifier::All | Modifier::Cased | Modifier::Neq => {}
            // Type modifiers were handled above; `exists` never reaches here.
            _ => {}
        }
        if work.len() > MAX_EXPANSION {
            problems.push(problem(
                v.pos,
                "value expands into too many alternatives".into(),
            ));
            return None;
        }
    }
    let _ = item;
    Some(
        work.into_iter()
            .map(|w| {
                let pattern = match w {
                    Work::S(p) => p,
                    Work::B(b) => Pattern::literal(&String::from_utf8_lossy(&b)),
                };
                Matcher::Str {
                    pattern,
                    cased: cased || encoded,
                }
            })
            .collect(),
    )
}

fn to_bytes(w: Work) -> Vec<u8> {
    match w {
        Work::B(b) => b,
        Work::S(p) => {
            let mut s = String::new();
            for t in &p.tokens {
                match t {
                    Token::Lit(l) => s.push_str(l),
                    Token::Any => s.push('*'),
                    Token::One => s.push('?'),
                }
            }
            s.into_bytes()
        }
    }
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Expands every dash-like character into all five; false when too many.
fn windash(p: &Pattern, out: &mut Vec<Work>) -> bool {
    let mut variants: Vec<Pattern> = vec![Pattern::default()];
    for t in &p.tokens {
        match t {
            Token::Lit(l) => {
                let mut seg = String::new();
                for c in l.chars() {
                    if DASHES.contains(&c) {
                        if variants.len() * DASHES.len() > MAX_EXPANSION {
                            return false;
                        }
                        let mut next = Vec::with_capacity(variants.len() * DASHES.len());
                        for v in &variants {
                            for d in DASHES {
                                let mut v = v.clone();
                                let mut s = seg.clone();
                                s.push(d);
                                v.push(Token::Lit(s));
                                next.push(v);
                            }
                        }
                        variants = next;
                        seg.clear();
                    } else {
                        seg.push(c);
                    }
                }
                for v in &mut variants {
                    v.push(Token::Lit(seg.clone()));
                }
            }
            t => {
                for v in &mut variants {
                    v.push(t.clone());
                }
            }
        }
    }
    out.extend(variants.into_iter().map(Work::S));
    true
}

fn expand(
    p: &Pattern,
    placeholders: &Placeholders,
    out: &mut Vec<Work>,
    pos: Pos,
    problems: &mut Vec<ItemProblem>,
) -> bool {
    let mut variants: Vec<Pattern> = vec![Pattern::default()];
    for t in &p.tokens {
        let Token::Lit(l) = t else {
            for v in &mut variants {
                v.push(t.clone());
            }
            continue;
        };
        let mut rest = l.as_str();
        let mut plain = String::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("\\%") {
                plain.push('%');
                rest = r;
            } else if let Some(r) = rest.strip_prefix('%') {
                match r.find('%') {
                    Some(end) if end > 0 => {
                        let name = &r[..end];
                        rest = &r[end + 1..];
                        for v in &mut variants {
                            v.push(Token::Lit(plain.clone()));
                        }
                        plain.clear();
                        match placeholders.get(name) {
                            Some(values) if !values.is_empty() => {
                                if variants.len() * values.len() > MAX_EXPANSION {
                                    problems.push(problem(
                                        pos,
                                        "placeholder expansion too large".into(),
                                    ));
                                    return false;
                                }
                                let mut next = Vec::new();
                                for v in &variants {
                                    for value in values {
                                        let mut v = v.clone();
                                        for t in Pattern::parse(value).tokens {
                                            v.push(t);
                                        }
                                        next.push(v);
                                    }
                                }
                                variants = next;
                            }
                            _ => {
                                problems.push(ItemProblem {
                                    pos,
                                    message: format!(
                                        "placeholder '%{name}%' {}",
                                        crate::diagnostic::UNRESOLVED_PLACEHOLDER
                                    ),
                                    warning: true,
                                });
                                for v in &mut variants {
                                    v.push(Token::Any);
                                }
                            }
                        }
                    }
                    _ => {
                        plain.push('%');
                        rest = r;
                    }
                }
            } else {
                let c = rest.chars().next().unwrap_or('\0');
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        for v in &mut variants {
            v.push(Token::Lit(plain.clone()));
        }
    }
    out.extend(variants.into_iter().map(Work::S));
    true
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three base64 forms of `data` at byte offsets 0, 1 and 2 inside a longer
/// encoded text, with the characters that depend on neighbouring bytes removed.
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    for shift in 0..3usize {
        let mut padded = vec![0u8; shift];
        padded.extend_from_slice(data);
        let enc = base64(&padded);
        // Leading characters that also carry bits of the unknown preceding bytes.
        let start = [0, 2, 3][shift];
        // Trailing characters that carry bits of the unknown following bytes (and padding).
        let end_trim = [0, 3, 2][(data.len() + shift) % 3];
        let end = enc.len().saturating_sub(end_trim);
        if start < end {
            out.push(enc[start..end].to_string());
        }
    }
    out
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|n| n as f64);
    }
    t.parse::<f64>().ok().filter(|f| !f.is_nan())
}

/// Parses `10.0.0.0/8`, `fe80::/10` or a bare address (a /32 or /128).
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim().parse::<u8>().ok()?)),
        None => (text.trim(), None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn base64_offsets_found_in_shifted_encodings() {
        let needle = b"http://";
        let offs = base64_offsets(needle);
        assert_eq!(offs.len(), 3);
        for prefix in [&b""[..], b"a", b"ab", b"abc", b"abcd"] {
            for suffix in [&b""[..], b"x", b"xy", b"xyz"] {
                let mut data = prefix.to_vec();
                data.extend_from_slice(needle);
                data.extend_from_slice(suffix);
                let enc = base64(&data);
                assert!(
                    offs.iter().any(|o| enc.contains(o.as_str())),
                    "{enc} {offs:?}"
                );
            }
        }
    }

    #[test]
    fn cidr_parsing() {
        assert!(
            parse_cidr("10.0.0.0/8")
                .unwrap()
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(
            !parse_cidr("10.0.0.0/8")
                .unwrap()
                .contains("11.1.2.3".parse().unwrap())
        );
        assert!(
            parse_cidr("fe80::/10")
                .unwrap()
                .contains("fe80::1".parse().unwrap())
        );
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(
            parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
    }
}
