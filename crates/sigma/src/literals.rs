//! Necessary literals of a regular expression: a set of strings of which at
//! least one occurs (after case folding) in every text the expression
//! matches. The matcher looks for them with its shared automaton and runs the
//! expression only on values that contain one.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::pattern::fold;

/// At most this many alternatives in a literal set.
const MAX_SET: usize = 32;

/// The necessary literals of `source` compiled with the given flags, folded
/// to lower case; `None` when no useful set exists.
pub fn regex_literals(
    source: &str,
    insensitive: bool,
    multi_line: bool,
    dot_all: bool,
) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .nest_limit(100)
        .build()
        .parse(source)
        .ok()?;
    let set = necessary(&hir)?;
    if set.is_empty() || set.iter().any(String::is_empty) {
        return None;
    }
    Some(set)
}

/// A single ASCII character (folded) that a class stands for, when every
/// member folds to it.
fn class_char(c: &Class) -> Option<char> {
    let mut found: Option<char> = None;
    match c {
        Class::Unicode(u) => {
            let mut count = 0u32;
            for r in u.ranges() {
                for ch in r.start()..=r.end() {
                    count += 1;
                    if count > 4 {
                        return None;
                    }
                    let f = single_fold(ch)?;
                    if *found.get_or_insert(f) != f {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(b) => {
            let mut count = 0u32;
            for r in b.ranges() {
                for byte in r.start()..=r.end() {
                    count += 1;
                    if count > 4 || !byte.is_ascii() {
                        return None;
                    }
                    let f = char::from(byte).to_ascii_lowercase();
                    if *found.get_or_insert(f) != f {
                        return None;
                    }
                }
            }
        }
    }
    found.filter(char::is_ascii)
}

fn single_fold(c: char) -> Option<char> {
    let mut it = c.to_lowercase();
    let f = it.next()?;
    if it.next().is_some() { None } else { Some(f) }
}

/// Literal text of a node that is a fixed ASCII string, if it is one.
fn fixed_text(h: &Hir) -> Option<String> {
    match h.kind() {
        HirKind::Literal(l) => {
            let s = std::str::from_utf8(&l.0).ok()?;
            s.is_ascii().then(|| fold(s).into_owned())
        }
        HirKind::Class(c) => class_char(c).map(String::from),
        HirKind::Capture(c) => fixed_text(&c.sub),
        _ => None,
    }
}

fn score(set: &[String]) -> usize {
    set.iter().map(String::len).min().unwrap_or(0)
}

fn necessary(h: &Hir) -> Option<Vec<String>> {
    match h.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => fixed_text(h).map(|s| vec![s]),
        HirKind::Capture(c) => necessary(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => necessary(&r.sub),
        HirKind::Concat(items) => {
            let mut best: Option<Vec<String>> = None;
            let consider = |cand: Vec<String>, best: &mut Option<Vec<String>>| {
                if best.as_ref().is_none_or(|b| score(&cand) > score(b)) {
                    *best = Some(cand);
                }
            };
            let mut run = String::new();
            for item in items {
                if let Some(t) = fixed_text(item) {
                    run.push_str(&t);
                    continue;
                }
                if !run.is_empty() {
                    consider(vec![std::mem::take(&mut run)], &mut best);
                }
                if let Some(set) = necessary(item) {
                    consider(set, &mut best);
                }
            }
            if !run.is_empty() {
                consider(vec![run], &mut best);
            }
            best
        }
        HirKind::Alternation(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(necessary(item)?);
                if out.len() > MAX_SET {
                    return None;
                }
            }
            out.sort();
            out.dedup();
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_runs_and_alternations() {
        assert_eq!(
            regex_literals(r"-k\s\w{1,64}", false, false, false),
            Some(vec!["-k".into()])
        );
        assert_eq!(
            regex_literals(r"(?i)\.exe\s+werfault", false, false, false),
            Some(vec!["werfault".into()])
        );
        assert_eq!(
            regex_literals(r"(foo|barbaz)\d+", false, false, false),
            Some(vec!["barbaz".into(), "foo".into()])
        );
        assert_eq!(regex_literals(r"\d+", false, false, false), None);
        assert_eq!(regex_literals(r"a?b*", false, false, false), None);
        assert_eq!(
            regex_literals(r"ABC", true, false, false),
            Some(vec!["abc".into()])
        );
    }
}
