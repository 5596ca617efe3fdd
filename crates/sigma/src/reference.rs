//! A straightforward interpreter over parsed rules: the reference the fast
//! matcher is tested against. It walks the rule for every event and looks
//! every field up again, so it is slow, and meant to be obviously correct.

use crate::event::{Event, Value};
use crate::logsource::Alternative;
use crate::pattern::fold;
use crate::rule::{Cond, Detection, Filter, Item, Matcher, Rule, RuleBody};
use crate::values::{time_part, value_ip, value_number, value_text};

/// An owned copy of a [`Value`].
#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
}

impl Owned {
    fn of(v: Value<'_>) -> Owned {
        match v {
            Value::Null => Owned::Null,
            Value::Bool(b) => Owned::Bool(b),
            Value::Int(i) => Owned::Int(i),
            Value::UInt(u) => Owned::UInt(u),
            Value::Float(f) => Owned::Float(f),
            Value::Str(s) => Owned::Str(s.to_string()),
        }
    }

    fn borrow(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Bool(b) => Value::Bool(*b),
            Owned::Int(i) => Value::Int(*i),
            Owned::UInt(u) => Value::UInt(*u),
            Owned::Float(f) => Value::Float(*f),
            Owned::Str(s) => Value::Str(s),
        }
    }
}

fn field_values(event: &dyn Event, name: &str) -> Vec<Owned> {
    let mut out = Vec::new();
    event.field(name, &mut |v| out.push(Owned::of(v)));
    out
}

/// Keyword searches look at every enumerated field value when the event can
/// enumerate its fields, else at [`Event::values`].
fn all_values(event: &dyn Event) -> Vec<Owned> {
    let mut out = Vec::new();
    if !event.for_each_field(&mut |_, v| out.push(Owned::of(v))) {
        event.values(&mut |v| out.push(Owned::of(v)));
    }
    out
}

/// The detection a rule is evaluated with: its own, AND-ed with the
/// condition of every filter (a [`Rule`] whose body is a [`Filter`]) that
/// names the rule by id or name and whose logsource covers the rule's (each
/// of product, category and service the filter sets is the rule's too).
pub fn effective_detection(rule: &Rule, filters: &[&Rule]) -> Option<Detection> {
    let RuleBody::Detection(d) = &rule.body else {
        return None;
    };
    let ls = &rule.meta.logsource;
    let covers = |f: &Rule| {
        let fl = &f.meta.logsource;
        [
            (&fl.product, &ls.product),
            (&fl.category, &ls.category),
            (&fl.service, &ls.service),
        ]
        .iter()
        .all(|(want, have)| want.is_none() || want == have)
    };
    let applicable: Vec<&Filter> = filters
        .iter()
        .filter(|f| covers(f))
        .filter_map(|f| match &f.body {
            RuleBody::Filter(filter) => Some(filter),
            _ => None,
        })
        .filter(|f| {
            f.rules
                .iter()
                .any(|r| Some(r) == rule.meta.id.as_ref() || Some(r) == rule.meta.name.as_ref())
        })
        .collect();
    if applicable.is_empty() {
        return Some(d.clone());
    }
    let mut out = d.clone();
    let mut conds = vec![d.condition.clone()];
    for (k, f) in applicable.iter().enumerate() {
        let offset = out.searches.len();
        for s in &f.detection.searches {
            let mut s = s.clone();
            s.name = format!("filter#{k}:{}", s.name);
            out.searches.push(s);
        }
        conds.push(shift(&f.detection.condition, offset));
    }
    out.condition = Cond::And(conds);
    Some(out)
}

fn shift(c: &Cond, by: usize) -> Cond {
    match c {
        Cond::Search(i) => Cond::Search(i + by),
        Cond::Not(x) => Cond::Not(Box::new(shift(x, by))),
        Cond::And(xs) => Cond::And(xs.iter().map(|x| shift(x, by)).collect()),
        Cond::Or(xs) => Cond::Or(xs.iter().map(|x| shift(x, by)).collect()),
        Cond::Of { min, searches } => Cond::Of {
            min: *min,
            searches: searches.iter().map(|i| i + by).collect(),
        },
    }
}

/// True when the event satisfies the alternative's conditions and the detection.
pub fn matches_alternative(detection: &Detection, alt: &Alternative, event: &dyn Event) -> bool {
    for c in &alt.conditions {
        let values = field_values(event, &c.field);
        let ok = if c.values.is_empty() {
            !values.is_empty()
        } else {
            values.iter().any(|v| {
                let mut buf = String::new();
                let text = fold(value_text(&v.borrow(), &mut buf)).into_owned();
                c.values.iter().any(|x| fold(x) == text)
            })
        };
        if !ok {
            return false;
        }
    }
    eval_cond(&detection.condition, detection, alt, event)
}

fn eval_cond(c: &Cond, d: &Detection, alt: &Alternative, event: &dyn Event) -> bool {
    match c {
        Cond::Search(i) => eval_search(*i, d, alt, event),
        Cond::Not(x) => !eval_cond(x, d, alt, event),
        Cond::And(xs) => xs.iter().all(|x| eval_cond(x, d, alt, event)),
        Cond::Or(xs) => xs.iter().any(|x| eval_cond(x, d, alt, event)),
        Cond::Of { min, searches } => {
            let n = searches
                .iter()
                .filter(|&&i| eval_search(i, d, alt, event))
                .count();
            match min {
                Some(m) => n >= *m,
                None => n == searches.len(),
            }
        }
    }
}

fn eval_search(i: usize, d: &Detection, alt: &Alternative, event: &dyn Event) -> bool {
    d.searches[i]
        .alternatives
        .iter()
        .any(|items| items.iter().all(|item| eval_item(item, alt, event)))
}

fn eval_item(item: &Item, alt: &Alternative, event: &dyn Event) -> bool {
    let values = match &item.field {
        Some(f) => field_values(event, alt.map_field(f)),
        None => all_values(event),
    };
    let one = |m: &Matcher| matcher_holds(m, &values, alt, event);
    let r = if item.all {
        item.matchers.iter().all(one)
    } else {
        item.matchers.iter().any(one)
    };
    r != item.negate
}

fn matcher_holds(m: &Matcher, values: &[Owned], alt: &Alternative, event: &dyn Event) -> bool {
    match m {
        Matcher::Null => values.is_empty() || values.contains(&Owned::Null),
        Matcher::Exists(b) => values.is_empty() != *b,
        Matcher::FieldRef { field, cased } => {
            let others = field_values(event, alt.map_field(field));
            values.iter().any(|v| {
                let mut b1 = String::new();
                let t = value_text(&v.borrow(), &mut b1).to_string();
                others.iter().any(|o| {
                    let mut b2 = String::new();
                    let u = value_text(&o.borrow(), &mut b2);
                    if *cased { t == u } else { fold(&t) == fold(u) }
                })
            })
        }
        _ => values.iter().any(|v| value_holds(m, &v.borrow())),
    }
}

/// Whether one matcher accepts one value.
pub fn value_holds(m: &Matcher, v: &Value<'_>) -> bool {
    match m {
        Matcher::Str { pattern, cased } => {
            let mut buf = String::new();
            let text = value_text(v, &mut buf);
            if *cased {
                pattern.matches(text)
            } else {
                pattern.folded().matches(&fold(text))
            }
        }
        Matcher::Regex(r) => {
            let mut buf = String::new();
            r.regex.is_match(value_text(v, &mut buf))
        }
        Matcher::Num { op, value } => value_number(v).is_some_and(|n| op.apply(n, *value)),
        Matcher::Cidr(c) => value_ip(v).is_some_and(|ip| c.contains(ip)),
        Matcher::Time { part, op, value } => {
            time_part(v, *part).is_some_and(|n| op.apply(n, *value))
        }
        Matcher::Null => *v == Value::Null,
        Matcher::Exists(b) => *b,
        Matcher::FieldRef { .. } => false,
    }
}

/// Reference evaluation of a whole rule under a list of alternatives.
pub fn rule_matches(
    detection: &Detection,
    alternatives: &[Alternative],
    event: &dyn Event,
) -> bool {
    alternatives
        .iter()
        .any(|a| matches_alternative(detection, a, event))
}

/// One value that made a rule match (see [`matched_fields`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchedField {
    /// The event's field, under the name the event gives it (after the
    /// logsource's renames: `NewProcessName` for the `Image` of a
    /// `process_creation` rule on a Security 4688 event); `None` for a
    /// keyword (field-less) search.
    pub field: Option<String>,
    /// The value, as text.
    pub value: String,
}

/// Why `detection` matches `event`, for an analyst: the values of the
/// fields named by the searches that make the condition true (not those
/// under `not`), that their items accept, each once, under the first
/// alternative that matches. Empty when the rule does not match.
pub fn matched_fields(
    detection: &Detection,
    alternatives: &[Alternative],
    event: &dyn Event,
) -> Vec<MatchedField> {
    let Some(alt) = alternatives
        .iter()
        .find(|a| matches_alternative(detection, a, event))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect_cond(&detection.condition, detection, alt, event, &mut out);
    out
}

fn collect_cond(
    c: &Cond,
    d: &Detection,
    alt: &Alternative,
    event: &dyn Event,
    out: &mut Vec<MatchedField>,
) {
    match c {
        Cond::Search(i) => collect_search(*i, d, alt, event, out),
        // What must not hold explains nothing.
        Cond::Not(_) => {}
        Cond::And(xs) | Cond::Or(xs) => {
            for x in xs {
                if eval_cond(x, d, alt, event) {
                    collect_cond(x, d, alt, event, out);
                }
            }
        }
        Cond::Of { searches, .. } => {
            for &i in searches {
                collect_search(i, d, alt, event, out);
            }
        }
    }
}

fn collect_search(
    i: usize,
    d: &Detection,
    alt: &Alternative,
    event: &dyn Event,
    out: &mut Vec<MatchedField>,
) {
    for items in &d.searches[i].alternatives {
        if !items.iter().all(|item| eval_item(item, alt, event)) {
            continue;
        }
        for item in items.iter().filter(|item| !item.negate) {
            let field = item.field.as_deref().map(|f| alt.map_field(f).to_string());
            let values = match &field {
                Some(f) => field_values(event, f),
                None => all_values(event),
            };
            for v in &values {
                let accepted = item.matchers.iter().any(|m| match m {
                    // An absent field is no value to show.
                    Matcher::Null => false,
                    Matcher::Exists(b) => *b,
                    Matcher::FieldRef { .. } => {
                        matcher_holds(m, std::slice::from_ref(v), alt, event)
                    }
                    _ => value_holds(m, &v.borrow()),
                });
                if !accepted {
                    continue;
                }
                let mut buf = String::new();
                let found = MatchedField {
                    field: field.clone(),
                    value: value_text(&v.borrow(), &mut buf).to_string(),
                };
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
    }
}
