//! The compiled matcher: a rule set turned once into shared automata and
//! small boolean programs.
//!
//! How an event is matched:
//!
//! 1. **Routing.** Each rule variant (one per logsource alternative) is
//!    filed under the values of its first two logsource conditions (for
//!    Windows: `Channel` and `EventID`). The event's values of those fields
//!    pick the few buckets whose rules can apply; no other rule is looked at.
//! 2. **Leaves.** Every `field|modifiers: value` of every rule is a *leaf*;
//!    identical leaves are shared across rules. Per bucket and field, exact
//!    values sit in a hash map, and every other literal (contains, startswith,
//!    endswith, the longest literal of a wildcard pattern, the necessary
//!    literals of a regular expression) in one Aho-Corasick automaton. Each
//!    field is looked up once per event, folded to lower case once (ASCII
//!    fast path, Unicode otherwise), and scanned once; hits set leaf bits.
//!    Wildcard patterns and regular expressions run only when their literal
//!    was found.
//! 3. **Prefilter.** For each variant a set of *trigger* leaves is chosen such
//!    that the condition cannot hold unless one of them does (the rarest
//!    such set). Only variants triggered by a set leaf are evaluated.
//! 4. **Programs.** A variant's condition is a small tree over leaf bits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::event::{Event, Value};
use crate::literals::regex_literals;
use crate::load::RuleSet;
use crate::logsource::{Alternative, LogsourceMapping};
use crate::pattern::{Pattern, Shape, fold, fold_into};
use crate::reference::{effective_detection, value_holds};
use crate::rule::{Cond, Detection, Item, Level, Matcher, Rule, RuleBody, RuleMeta};
use crate::scan::LiteralScanner;
use crate::trie::{AffixTrie, AffixTrieBuilder};
use crate::values::value_text;

/// Options for [`CompiledRuleSet::new`].
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Leave out rules below this level (rules without a level count as `informational`).
    pub min_level: Option<Level>,
}

/// Index of a rule in a [`CompiledRuleSet`] (see [`CompiledRuleSet::rule`]).
pub type RuleIndex = usize;

type LeafId = u32;
type VariantId = u32;
type BucketId = u32;

#[derive(Debug, Clone)]
enum LeafKind {
    /// A string pattern: folded when not `cased`.
    Str { pattern: Pattern, cased: bool },
    /// Anything else checked per value (regex, number, cidr, time part).
    Value(Matcher),
    /// Absent or null.
    Null,
    /// Present (also `*`).
    Exists,
    /// Equal to a value of another field.
    FieldRef { other: Box<str>, cased: bool },
}

#[derive(Debug, Clone)]
struct Leaf {
    /// Event field; `None` for keywords (all values).
    field: Option<Box<str>>,
    kind: LeafKind,
    /// Estimated chance that the leaf holds for an event of its bucket.
    cost: f64,
}

#[derive(Debug, Clone)]
enum Prog {
    Leaf(LeafId),
    Not(Box<Prog>),
    And(Vec<Prog>),
    Or(Vec<Prog>),
    AtLeast(usize, Vec<Prog>),
    Const(bool),
}

impl Prog {
    /// The tree's own evaluation, which [`Code::eval`] must agree with.
    #[cfg(test)]
    fn eval(&self, bits: &[u64]) -> bool {
        match self {
            Prog::Leaf(l) => bit(bits, *l),
            Prog::Not(p) => !p.eval(bits),
            Prog::And(ps) => ps.iter().all(|p| p.eval(bits)),
            Prog::Or(ps) => ps.iter().any(|p| p.eval(bits)),
            Prog::AtLeast(n, ps) => {
                let mut k = 0;
                for p in ps {
                    if p.eval(bits) {
                        k += 1;
                        if k >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Prog::Const(b) => *b,
        }
    }

    fn leaves(&self, out: &mut Vec<LeafId>) {
        match self {
            Prog::Leaf(l) => out.push(*l),
            Prog::Not(p) => p.leaves(out),
            Prog::And(ps) | Prog::Or(ps) | Prog::AtLeast(_, ps) => {
                ps.iter().for_each(|p| p.leaves(out))
            }
            Prog::Const(_) => {}
        }
    }

    fn and(mut ps: Vec<Prog>) -> Prog {
        let mut flat = Vec::with_capacity(ps.len());
        for p in ps.drain(..) {
            match p {
                Prog::And(inner) => flat.extend(inner),
                Prog::Const(true) => {}
                Prog::Const(false) => return Prog::Const(false),
                p => flat.push(p),
            }
        }
        match flat.len() {
            0 => Prog::Const(true),
            1 => flat.remove(0),
            _ => Prog::And(flat),
        }
    }

    fn or(mut ps: Vec<Prog>) -> Prog {
        let mut flat = Vec::with_capacity(ps.len());
        for p in ps.drain(..) {
            match p {
                Prog::Or(inner) => flat.extend(inner),
                Prog::Const(false) => {}
                Prog::Const(true) => return Prog::Const(true),
                p => flat.push(p),
            }
        }
        match flat.len() {
            0 => Prog::Const(false),
            1 => flat.remove(0),
            _ => Prog::Or(flat),
        }
    }

    fn not(p: Prog) -> Prog {
        match p {
            Prog::Not(inner) => *inner,
            Prog::Const(b) => Prog::Const(!b),
            p => Prog::Not(Box::new(p)),
        }
    }

    /// A set of leaves one of which must hold when the program holds, with its
    /// estimated cost (chance of triggering); `None` when there is none.
    fn triggers(&self, leaves: &[Leaf]) -> Option<(f64, Vec<LeafId>)> {
        match self {
            Prog::Leaf(l) => Some((leaves[*l as usize].cost, vec![*l])),
            Prog::Not(_) | Prog::Const(true) => None,
            Prog::Const(false) => Some((0.0, Vec::new())),
            Prog::And(ps) => ps
                .iter()
                .filter_map(|p| p.triggers(leaves))
                .min_by(|a, b| a.0.total_cmp(&b.0)),
            Prog::Or(ps) | Prog::AtLeast(_, ps) => {
                let mut cost = 0.0;
                let mut out = Vec::new();
                for p in ps {
                    let (c, ls) = p.triggers(leaves)?;
                    cost += c;
                    out.extend(ls);
                }
                Some((cost.min(1.0), out))
            }
        }
    }
}

/// One node of a program laid out flat (see [`Code`]).
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: OpKind,
    /// The leaf of `Leaf`, the count of `AtLeast`, the value of `Const`.
    arg: u32,
    /// The index just past this node and everything under it: the next
    /// sibling's.
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Leaf,
    Not,
    And,
    Or,
    AtLeast,
    Const,
}

/// Programs laid out flat, each node followed by its children, so that
/// evaluating one reads a few neighbouring cache lines instead of chasing a
/// pointer per node.
#[derive(Debug, Clone, Default)]
struct Code {
    ops: Vec<Op>,
}

impl Code {
    /// Lays `prog` out at the end; returns where it starts.
    fn push(&mut self, prog: &Prog) -> u32 {
        let at = self.ops.len();
        let (kind, arg, children): (OpKind, u32, &[Prog]) = match prog {
            Prog::Leaf(l) => (OpKind::Leaf, *l, &[]),
            Prog::Not(p) => (OpKind::Not, 0, std::slice::from_ref(&**p)),
            Prog::And(ps) => (OpKind::And, 0, ps),
            Prog::Or(ps) => (OpKind::Or, 0, ps),
            Prog::AtLeast(n, ps) => (OpKind::AtLeast, u32::try_from(*n).unwrap_or(u32::MAX), ps),
            Prog::Const(b) => (OpKind::Const, u32::from(*b), &[]),
        };
        self.ops.push(Op { kind, arg, end: 0 });
        for child in children {
            self.push(child);
        }
        self.ops[at].end = u32::try_from(self.ops.len()).unwrap_or(u32::MAX);
        u32::try_from(at).unwrap_or(u32::MAX)
    }

    /// Evaluates the program node at `at` over the leaf bits.
    fn eval(&self, at: u32, bits: &[u64]) -> bool {
        let Some(&op) = self.ops.get(at as usize) else {
            return false;
        };
        // Children are mostly leaves: those are tested here, without a call.
        let child_holds = |child: &Op, c: u32| {
            if child.kind == OpKind::Leaf {
                bit(bits, child.arg)
            } else {
                self.eval(c, bits)
            }
        };
        match op.kind {
            OpKind::Leaf => bit(bits, op.arg),
            OpKind::Not => !self.eval(at + 1, bits),
            OpKind::And | OpKind::Or => {
                // `Or` stops at the first child that holds, `And` at the first that does not.
                let stop = op.kind == OpKind::Or;
                let mut c = at + 1;
                while let Some(child) = self.ops.get(c as usize).filter(|_| c < op.end) {
                    if child_holds(child, c) == stop {
                        return stop;
                    }
                    c = child.end;
                }
                !stop
            }
            OpKind::AtLeast => {
                let mut k = 0;
                let mut c = at + 1;
                while let Some(child) = self.ops.get(c as usize).filter(|_| c < op.end) {
                    if child_holds(child, c) {
                        k += 1;
                        if k >= op.arg {
                            return true;
                        }
                    }
                    c = child.end;
                }
                false
            }
            OpKind::Const => op.arg != 0,
        }
    }
}

fn bit(bits: &[u64], l: LeafId) -> bool {
    bits[(l >> 6) as usize] & (1u64 << (l & 63)) != 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Contains,
    Verify,
}

#[derive(Debug, Clone)]
struct Automaton {
    scanner: LiteralScanner,
    /// Per automaton pattern: the leaves it stands for, and whether each is
    /// a keyword leaf merged in from the keyword plan (see
    /// [`FieldPlan::keywords_merged`]).
    entries: Vec<Vec<(LeafId, Anchor, bool)>>,
}

/// How one value's keyword search is shared between its field's plan and
/// the keyword plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeywordScan {
    /// Each plan scans for its own literals only.
    Apart,
    /// The field's plan scans for the keyword plan's literals too.
    WithKeywords,
    /// The keyword plan leaves its literals to the field's plan.
    Merged,
}

#[derive(Debug, Clone, Default)]
struct FieldPlan {
    /// `None` for keywords (all values of the event).
    field: Option<Box<str>>,
    /// Some leaf compares without case.
    need_fold: bool,
    /// Longest case-insensitive exact value (longer ASCII values need no folding).
    max_exact_ci: usize,
    exact_ci: FxHashMap<Box<str>, Vec<LeafId>>,
    exact_cs: FxHashMap<Box<str>, Vec<LeafId>>,
    ac_ci: Option<Automaton>,
    ac_cs: Option<Automaton>,
    /// `ac_ci` also holds the case-insensitive literals of its bucket's
    /// keyword plan, so that a value of this field is scanned once for both.
    keywords_merged: bool,
    prefix_ci: Option<AffixTrie<LeafId>>,
    suffix_ci: Option<AffixTrie<LeafId>>,
    prefix_cs: Option<AffixTrie<LeafId>>,
    suffix_cs: Option<AffixTrie<LeafId>>,
    /// Checked on every value (no literal to wait for).
    verify_always: Vec<LeafId>,
    null_leaves: Vec<LeafId>,
    exists_leaves: Vec<LeafId>,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    plans: Vec<FieldPlan>,
    /// Field name -> index in `plans` (named plans only).
    by_name: FxHashMap<Box<str>, u32>,
    /// Index in `plans` of the keyword plan.
    keywords: Option<u32>,
    fieldrefs: Vec<LeafId>,
    triggers: FxHashMap<LeafId, Box<[VariantId]>>,
    always: Box<[VariantId]>,
}

#[derive(Debug, Clone, Default)]
struct RouteEntry {
    any: Option<BucketId>,
    by_secondary: FxHashMap<Box<str>, BucketId>,
}

#[derive(Debug, Clone)]
struct Primary {
    field: Box<str>,
    secondary: Option<Box<str>>,
    /// Index of `field` in [`RouteFields::names`].
    field_slot: u8,
    /// Index of `secondary` in [`RouteFields::names`].
    secondary_slot: Option<u8>,
    entries: FxHashMap<Box<str>, RouteEntry>,
}

/// The fields routing reads (primary and secondary), each once.
#[derive(Debug, Clone, Default)]
struct RouteFields {
    names: Vec<Box<str>>,
}

impl RouteFields {
    fn new(primaries: &mut [Primary]) -> Self {
        let mut fields = RouteFields::default();
        let mut slot = |name: &str| -> u8 {
            let i = match fields.names.iter().position(|n| **n == *name) {
                Some(i) => i,
                None => {
                    fields.names.push(name.into());
                    fields.names.len() - 1
                }
            };
            u8::try_from(i).unwrap_or(u8::MAX)
        };
        for p in primaries.iter_mut() {
            p.field_slot = slot(&p.field);
            p.secondary_slot = p.secondary.as_deref().map(&mut slot);
        }
        fields
    }
}

/// The folded values of the routing fields of one event, in strings kept
/// from event to event.
#[derive(Debug, Default)]
struct RouteValues {
    slots: Vec<u8>,
    texts: Vec<String>,
    len: usize,
}

impl RouteValues {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, slot: u8, text: &str) {
        if self.len == self.texts.len() {
            self.texts.push(String::new());
            self.slots.push(0);
        }
        fold_into(text, &mut self.texts[self.len]);
        self.slots[self.len] = slot;
        self.len += 1;
    }

    /// The values of the field in `slot`.
    fn of(&self, slot: u8) -> impl Iterator<Item = &str> {
        self.slots[..self.len]
            .iter()
            .zip(&self.texts)
            .filter(move |(s, _)| **s == slot)
            .map(|(_, t)| t.as_str())
    }
}

#[derive(Debug, Clone)]
struct Variant {
    rule: u32,
    prog: Prog,
    /// Where `prog` starts in the rule set's [`Code`].
    code: u32,
}

/// Compiled metadata and reference form of one rule.
#[derive(Debug, Clone)]
struct CompiledRule {
    meta: Arc<RuleMeta>,
    detection: Detection,
    alternatives: Vec<Alternative>,
}

static NEXT_SET_ID: AtomicU64 = AtomicU64::new(1);

/// A rule set compiled for matching. `Send + Sync`: share it by reference or
/// `Arc` across threads, each with its own [`Scratch`].
#[derive(Debug)]
pub struct CompiledRuleSet {
    id: u64,
    rules: Vec<CompiledRule>,
    variants: Vec<Variant>,
    leaves: Vec<Leaf>,
    buckets: Vec<Bucket>,
    primaries: Vec<Primary>,
    route_fields: RouteFields,
    code: Code,
    global: Option<BucketId>,
}

/// Work counters accumulated by [`CompiledRuleSet::matches`] (for benchmarks
/// and tuning); reset them with [`Scratch::take_counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchCounters {
    /// Events matched.
    pub events: u64,
    /// Buckets visited.
    pub buckets: u64,
    /// Field values scanned.
    pub values: u64,
    /// Bytes of field values scanned.
    pub bytes: u64,
    /// Literal hits.
    pub hits: u64,
    /// Positions whose 4-byte window passed the literal scanner's bit table.
    pub probes: u64,
    /// Full checks of wildcard patterns, regular expressions and other value tests.
    pub verifies: u64,
    /// Rule programs evaluated.
    pub evaluated: u64,
}

/// Per-thread working memory for [`CompiledRuleSet::matches`]; keep one per
/// thread and reuse it for every event.
#[derive(Debug, Default)]
pub struct Scratch {
    counters: MatchCounters,
    set_id: u64,
    bits: Vec<u64>,
    touched: Vec<LeafId>,
    variant_stamp: Vec<u32>,
    rule_stamp: Vec<u32>,
    stamp: u32,
    fold_buf: String,
    num_buf: String,
    tried: Vec<LeafId>,
    plan_seen: Vec<u8>,
    buckets: Vec<BucketId>,
    route: RouteValues,
    other_values: Vec<String>,
}

impl Scratch {
    /// The counters since the last call, which resets them.
    pub fn take_counters(&mut self) -> MatchCounters {
        std::mem::take(&mut self.counters)
    }

    fn prepare(&mut self, set: &CompiledRuleSet) {
        if self.set_id != set.id {
            self.set_id = set.id;
            self.bits = vec![0; set.leaves.len().div_ceil(64)];
            self.touched.clear();
            self.variant_stamp = vec![0; set.variants.len()];
            self.rule_stamp = vec![0; set.rules.len()];
            self.stamp = 0;
        }
        for l in self.touched.drain(..) {
            self.bits[(l >> 6) as usize] = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.variant_stamp.iter_mut().for_each(|s| *s = 0);
            self.rule_stamp.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
    }

    fn set(&mut self, l: LeafId) {
        let w = &mut self.bits[(l >> 6) as usize];
        let m = 1u64 << (l & 63);
        if *w & m == 0 {
            *w |= m;
            self.touched.push(l);
        }
    }

    fn is_set(&self, l: LeafId) -> bool {
        bit(&self.bits, l)
    }
}

/// Interns leaves by a canonical key.
#[derive(Default)]
struct LeafTable {
    leaves: Vec<Leaf>,
    index: FxHashMap<(Option<Box<str>>, String), LeafId>,
}

impl LeafTable {
    fn intern(
        &mut self,
        field: Option<&str>,
        key: String,
        make: impl FnOnce() -> (LeafKind, f64),
    ) -> LeafId {
        let k = (field.map(Box::from), key);
        if let Some(&id) = self.index.get(&k) {
            return id;
        }
        let (kind, cost) = make();
        let id = LeafId::try_from(self.leaves.len()).unwrap_or(LeafId::MAX);
        self.leaves.push(Leaf {
            field: field.map(Box::from),
            kind,
            cost,
        });
        self.index.insert(k, id);
        id
    }

    fn matcher(&mut self, field: Option<&str>, m: &Matcher, alt: &Alternative) -> Prog {
        let leaf = match m {
            Matcher::Str { pattern, cased } => {
                let p = if *cased {
                    pattern.clone()
                } else {
                    pattern.folded()
                };
                let key = format!("s{}:{}", u8::from(*cased), p.to_sigma());
                if p.shape() == Shape::AnyValue {
                    return Prog::Leaf(
                        self.intern(field, "exists".into(), || (LeafKind::Exists, 0.9)),
                    );
                }
                let cost = literal_cost(&p);
                self.intern(field, key, || {
                    (
                        LeafKind::Str {
                            pattern: p,
                            cased: *cased,
                        },
                        cost,
                    )
                })
            }
            Matcher::Regex(r) => {
                let key = format!(
                    "r{}{}{}:{}",
                    u8::from(r.insensitive),
                    u8::from(r.multi_line),
                    u8::from(r.dot_all),
                    r.source
                );
                self.intern(field, key, || (LeafKind::Value(m.clone()), 0.1))
            }
            Matcher::Num { op, value } => self.intern(field, format!("n{op:?}:{value}"), || {
                (LeafKind::Value(m.clone()), 0.3)
            }),
            Matcher::Time { part, op, value } => {
                self.intern(field, format!("t{part:?}{op:?}:{value}"), || {
                    (LeafKind::Value(m.clone()), 0.3)
                })
            }
            Matcher::Cidr(c) => self.intern(field, format!("c:{}/{}", c.addr, c.prefix), || {
                (LeafKind::Value(m.clone()), 0.3)
            }),
            Matcher::Null => self.intern(field, "null".into(), || (LeafKind::Null, 0.5)),
            Matcher::Exists(b) => {
                let l = self.intern(field, "exists".into(), || (LeafKind::Exists, 0.9));
                return if *b {
                    Prog::Leaf(l)
                } else {
                    Prog::not(Prog::Leaf(l))
                };
            }
            Matcher::FieldRef {
                field: other,
                cased,
            } => {
                let other = alt.map_field(other).to_string();
                self.intern(field, format!("f{}:{other}", u8::from(*cased)), || {
                    (
                        LeafKind::FieldRef {
                            other: other.into_boxed_str(),
                            cased: *cased,
                        },
                        0.5,
                    )
                })
            }
        };
        Prog::Leaf(leaf)
    }
}

fn len_cost(len: usize) -> f64 {
    match len {
        0 => 1.0,
        1 | 2 => 0.4,
        3 | 4 => 0.1,
        5..=7 => 0.02,
        _ => 0.005,
    }
}

fn literal_cost(p: &Pattern) -> f64 {
    match p.shape() {
        Shape::Exact(s) => {
            if s.len() <= 4 {
                0.3
            } else {
                0.01
            }
        }
        Shape::AnyValue => 0.9,
        _ => len_cost(p.longest_literal().map_or(0, str::len)),
    }
}

fn item_prog(item: &Item, alt: &Alternative, table: &mut LeafTable) -> Prog {
    let field = item.field.as_deref().map(|f| alt.map_field(f));
    let parts: Vec<Prog> = item
        .matchers
        .iter()
        .map(|m| table.matcher(field, m, alt))
        .collect();
    let p = if item.all {
        Prog::and(parts)
    } else {
        Prog::or(parts)
    };
    if item.negate { Prog::not(p) } else { p }
}

fn cond_prog(c: &Cond, searches: &[Prog]) -> Prog {
    match c {
        Cond::Search(i) => searches[*i].clone(),
        Cond::Not(x) => Prog::not(cond_prog(x, searches)),
        Cond::And(xs) => Prog::and(xs.iter().map(|x| cond_prog(x, searches)).collect()),
        Cond::Or(xs) => Prog::or(xs.iter().map(|x| cond_prog(x, searches)).collect()),
        Cond::Of { min, searches: idx } => {
            let ps: Vec<Prog> = idx.iter().map(|&i| searches[i].clone()).collect();
            match min {
                None => Prog::and(ps),
                Some(1) => Prog::or(ps),
                Some(n) if *n > ps.len() => Prog::Const(false),
                Some(n) => Prog::AtLeast(*n, ps),
            }
        }
    }
}

/// Where a variant is filed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Route {
    Global,
    Field {
        field: String,
        value: String,
        secondary: Option<(String, String)>,
    },
}

impl CompiledRuleSet {
    /// Compiles the detection rules of `rules` (filters applied; the
    /// correlations are compiled by [`crate::correlate::CorrelationSet`])
    /// under `mapping`. Rules that cannot be compiled
    /// are left out and reported; the rest always compile.
    pub fn new(
        rules: &RuleSet,
        mapping: &LogsourceMapping,
        options: &CompileOptions,
    ) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let filters: Vec<&Rule> = rules
            .rules()
            .iter()
            .filter(|r| matches!(r.body, RuleBody::Filter(_)))
            .collect();
        // Rules that correlations refer to are compiled whatever their level:
        // they feed the correlation (see `crate::correlate`).
        let referenced: FxHashSet<&str> = rules
            .rules()
            .iter()
            .filter_map(|r| match &r.body {
                RuleBody::Correlation(c) => Some(c.rules.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect();
        let is_referenced = |meta: &RuleMeta| {
            [meta.id.as_deref(), meta.name.as_deref()]
                .into_iter()
                .flatten()
                .any(|r| referenced.contains(r))
        };
        let mut compiled_rules = Vec::new();
        let mut table = LeafTable::default();
        let mut variants = Vec::new();
        let mut routes: Vec<Route> = Vec::new();
        let mut logsource_leaves: FxHashSet<LeafId> = FxHashSet::default();
        for rule in rules.rules() {
            let meta = &rule.meta;
            let diag = |kind, message: String| Diagnostic {
                origin: meta.origin.clone(),
                line: meta.line,
                column: 0,
                rule_id: meta.id.clone(),
                title: Some(meta.title.clone()),
                kind,
                message,
            };
            match &rule.body {
                // Compiled by `crate::correlate::CorrelationSet`.
                RuleBody::Correlation(_) | RuleBody::Filter(_) => continue,
                RuleBody::Detection(_) => {}
            }
            if let Some(min) = options.min_level
                && meta.level.unwrap_or(Level::Informational) < min
                && !is_referenced(meta)
            {
                continue;
            }
            let Some(detection) = effective_detection(rule, &filters) else {
                continue;
            };
            if let Some((line, column, message)) = &detection.unresolved {
                let mut d = diag(DiagnosticKind::Error, message.clone());
                d.line = *line;
                d.column = *column;
                diags.push(d);
                continue;
            }
            let alternatives = match mapping.resolve(&meta.logsource) {
                Ok(a) => a,
                Err(reason) => {
                    diags.push(diag(
                        DiagnosticKind::Unsupported,
                        format!("logsource ({}) cannot be mapped: {reason}", meta.logsource),
                    ));
                    continue;
                }
            };
            let rule_index = u32::try_from(compiled_rules.len()).unwrap_or(u32::MAX);
            for alt in &alternatives {
                let searches: Vec<Prog> = detection
                    .searches
                    .iter()
                    .map(|s| {
                        Prog::or(
                            s.alternatives
                                .iter()
                                .map(|items| {
                                    Prog::and(
                                        items
                                            .iter()
                                            .map(|i| item_prog(i, alt, &mut table))
                                            .collect(),
                                    )
                                })
                                .collect(),
                        )
                    })
                    .collect();
                let body = cond_prog(&detection.condition, &searches);
                // Logsource conditions: the first two (when they list values) route the
                // variant; the rest become leaves of its program.
                let conds: Vec<_> = alt.conditions.iter().collect();
                let routed: Vec<_> = conds
                    .iter()
                    .take(2)
                    .take_while(|c| !c.values.is_empty())
                    .copied()
                    .collect();
                let mut parts = Vec::new();
                for c in &conds[routed.len()..] {
                    let p = if c.values.is_empty() {
                        let l = table
                            .intern(Some(&c.field), "exists".into(), || (LeafKind::Exists, 0.9));
                        logsource_leaves.insert(l);
                        Prog::Leaf(l)
                    } else {
                        Prog::or(
                            c.values
                                .iter()
                                .map(|v| {
                                    let m = Matcher::Str {
                                        pattern: Pattern::literal(v),
                                        cased: false,
                                    };
                                    let p = table.matcher(Some(&c.field), &m, alt);
                                    if let Prog::Leaf(l) = p {
                                        logsource_leaves.insert(l);
                                    }
                                    p
                                })
                                .collect(),
                        )
                    };
                    parts.push(p);
                }
                parts.push(body);
                let prog = Prog::and(parts);
                let mut push = |route: Route| {
                    routes.push(route);
                    variants.push(Variant {
                        rule: rule_index,
                        prog: prog.clone(),
                        code: 0,
                    });
                };
                match routed.as_slice() {
                    [] => push(Route::Global),
                    [c0] => {
                        // A rule that itself requires `EventID` to be one of a few values
                        // is filed under those, like a Windows category is.
                        let required = prog_required_values(&prog, "EventID", &table.leaves);
                        for v0 in &c0.values {
                            match &required {
                                Some(ids) => {
                                    for id in ids {
                                        push(Route::Field {
                                            field: c0.field.clone(),
                                            value: fold(v0).into_owned(),
                                            secondary: Some(("EventID".to_string(), id.clone())),
                                        });
                                    }
                                }
                                None => push(Route::Field {
                                    field: c0.field.clone(),
                                    value: fold(v0).into_owned(),
                                    secondary: None,
                                }),
                            }
                        }
                    }
                    [c0, c1, ..] => {
                        for v0 in &c0.values {
                            for v1 in &c1.values {
                                push(Route::Field {
                                    field: c0.field.clone(),
                                    value: fold(v0).into_owned(),
                                    secondary: Some((c1.field.clone(), fold(v1).into_owned())),
                                });
                            }
                        }
                    }
                }
            }
            compiled_rules.push(CompiledRule {
                meta: rule.meta.clone(),
                detection,
                alternatives,
            });
        }
        // Logsource leaves are common within their buckets.
        for l in &logsource_leaves {
            table.leaves[*l as usize].cost = 0.6;
        }
        let leaves = table.leaves;
        let (buckets, mut primaries, global) = build_buckets(&variants, &routes, &leaves);
        let route_fields = RouteFields::new(&mut primaries);
        let mut code = Code::default();
        for v in &mut variants {
            v.code = code.push(&v.prog);
        }
        let set = CompiledRuleSet {
            id: NEXT_SET_ID.fetch_add(1, Ordering::Relaxed),
            rules: compiled_rules,
            variants,
            leaves,
            buckets,
            primaries,
            route_fields,
            code,
            global,
        };
        (set, diags)
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule compiled.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Metadata of compiled rule `index` (as returned by [`matches`](Self::matches)).
    pub fn rule(&self, index: RuleIndex) -> &Arc<RuleMeta> {
        &self.rules[index].meta
    }

    /// Fresh working memory for this set (any `Scratch` also works; it adapts).
    pub fn scratch(&self) -> Scratch {
        let mut s = Scratch::default();
        s.prepare(self);
        s
    }

    /// Sizes of the compiled structures: (rules, variants, distinct leaves, buckets).
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        (
            self.rules.len(),
            self.variants.len(),
            self.leaves.len(),
            self.buckets.len(),
        )
    }

    /// Evaluates rule `index` on `event` with the slow reference interpreter
    /// (for tests and for explaining a match).
    pub fn reference_matches(&self, index: RuleIndex, event: &dyn Event) -> bool {
        let r = &self.rules[index];
        crate::reference::rule_matches(&r.detection, &r.alternatives, event)
    }

    /// Why rule `index` matches `event`: the field values that make it
    /// match (see [`crate::reference::matched_fields`]), worked out by the
    /// reference interpreter; empty when it does not match. For alerts, so
    /// called once per match, not per event.
    pub fn matched_fields(
        &self,
        index: RuleIndex,
        event: &dyn Event,
    ) -> Vec<crate::reference::MatchedField> {
        let r = &self.rules[index];
        crate::reference::matched_fields(&r.detection, &r.alternatives, event)
    }

    /// Appends to `out` the index of every rule that matches `event`, each
    /// once, in ascending order.
    pub fn matches<E: Event + ?Sized>(
        &self,
        event: &E,
        scratch: &mut Scratch,
        out: &mut Vec<RuleIndex>,
    ) {
        scratch.prepare(self);
        let start = out.len();
        // 1. Routing.
        scratch.buckets.clear();
        self.gather_route_values(event, scratch);
        let route = &scratch.route;
        for p in &self.primaries {
            for v in route.of(p.field_slot) {
                let Some(entry) = p.entries.get(v) else {
                    continue;
                };
                let mut routed = false;
                if let Some(slot) = p.secondary_slot
                    && !entry.by_secondary.is_empty()
                {
                    for s in route.of(slot) {
                        if let Some(&b) = entry.by_secondary.get(s) {
                            scratch.buckets.push(b);
                            routed = true;
                        }
                    }
                }
                if !routed && let Some(b) = entry.any {
                    scratch.buckets.push(b);
                }
            }
        }
        // Routed buckets include the global variants; the global bucket alone
        // serves events no route knows.
        if scratch.buckets.is_empty() {
            match self.global {
                Some(g) => scratch.buckets.push(g),
                None => return,
            }
        }
        scratch.buckets.sort_unstable();
        scratch.buckets.dedup();
        scratch.counters.events += 1;
        scratch.counters.buckets += scratch.buckets.len() as u64;
        let buckets = std::mem::take(&mut scratch.buckets);
        for &b in &buckets {
            let bucket = &self.buckets[b as usize];
            // 2. Leaves.
            self.run_plans(bucket, event, scratch);
            for &l in &bucket.fieldrefs {
                if self.fieldref_holds(l, event, scratch) {
                    scratch.set(l);
                }
            }
            // 3 + 4. Triggered and unconditional variants.
            let stamp = scratch.stamp;
            for i in 0..scratch.touched.len() {
                let l = scratch.touched[i];
                if let Some(vs) = bucket.triggers.get(&l) {
                    for &v in vs.iter() {
                        self.try_variant(v, stamp, scratch, out);
                    }
                }
            }
            for &v in bucket.always.iter() {
                self.try_variant(v, stamp, scratch, out);
            }
        }
        scratch.buckets = buckets;
        out[start..].sort_unstable();
    }

    /// Collects the folded values of the fields routing reads. Asking for
    /// these few fields by name is cheaper than listing the event's fields.
    fn gather_route_values<E: Event + ?Sized>(&self, event: &E, scratch: &mut Scratch) {
        let route = &mut scratch.route;
        let num_buf = &mut scratch.num_buf;
        route.clear();
        for (slot, name) in self.route_fields.names.iter().enumerate() {
            let slot = u8::try_from(slot).unwrap_or(u8::MAX);
            event.field(name, &mut |v| route.push(slot, value_text(&v, num_buf)));
        }
    }

    fn try_variant(
        &self,
        v: VariantId,
        stamp: u32,
        scratch: &mut Scratch,
        out: &mut Vec<RuleIndex>,
    ) {
        let vi = v as usize;
        if scratch.variant_stamp[vi] == stamp {
            return;
        }
        scratch.variant_stamp[vi] = stamp;
        let variant = &self.variants[vi];
        let r = variant.rule as usize;
        if scratch.rule_stamp[r] == stamp {
            return;
        }
        scratch.counters.evaluated += 1;
        if self.code.eval(variant.code, &scratch.bits) {
            scratch.rule_stamp[r] = stamp;
            out.push(r);
        }
    }

    fn run_plans<E: Event + ?Sized>(&self, bucket: &Bucket, event: &E, scratch: &mut Scratch) {
        // One pass over the event beats asking for every field rules name.
        {
            let mut seen = std::mem::take(&mut scratch.plan_seen);
            seen.clear();
            seen.resize(bucket.plans.len(), 0);
            let keywords = bucket.keywords.map(|k| &bucket.plans[k as usize]);
            let mut num_buf = std::mem::take(&mut scratch.num_buf);
            let mut fold_buf = std::mem::take(&mut scratch.fold_buf);
            let enumerated = event.for_each_field(&mut |name, v| {
                let plan = bucket.by_name.get(name).map(|&i| {
                    seen[i as usize] |= if v == Value::Null { 3 } else { 1 };
                    &bucket.plans[i as usize]
                });
                if plan.is_none() && keywords.is_none() {
                    return;
                }
                if let Some(k) = bucket.keywords {
                    seen[k as usize] |= if v == Value::Null { 3 } else { 1 };
                }
                let text = value_text(&v, &mut num_buf);
                let folded = fold_if_needed(plan, keywords, text, &mut fold_buf);
                let merged = keywords.is_some() && plan.is_some_and(|p| p.keywords_merged);
                if let Some(p) = plan {
                    let scan = if merged {
                        KeywordScan::WithKeywords
                    } else {
                        KeywordScan::Apart
                    };
                    self.apply_plan(p, text, folded, &v, scratch, scan);
                }
                if let Some(k) = keywords {
                    let scan = if merged {
                        KeywordScan::Merged
                    } else {
                        KeywordScan::Apart
                    };
                    self.apply_plan(k, text, folded, &v, scratch, scan);
                }
            });
            scratch.num_buf = num_buf;
            scratch.fold_buf = fold_buf;
            if enumerated {
                for (i, plan) in bucket.plans.iter().enumerate() {
                    self.finish_plan(plan, seen[i] & 1 != 0, seen[i] & 2 != 0, scratch);
                }
                scratch.plan_seen = seen;
                return;
            }
            scratch.plan_seen = seen;
        }
        for plan in &bucket.plans {
            self.run_plan(plan, event, scratch);
        }
    }

    fn finish_plan(&self, plan: &FieldPlan, any: bool, null: bool, scratch: &mut Scratch) {
        if any {
            for &l in &plan.exists_leaves {
                scratch.set(l);
            }
        }
        if !any || null {
            for &l in &plan.null_leaves {
                scratch.set(l);
            }
        }
    }

    fn run_plan<E: Event + ?Sized>(&self, plan: &FieldPlan, event: &E, scratch: &mut Scratch) {
        let mut any = false;
        let mut null = false;
        let mut visit = |v: Value<'_>| {
            any = true;
            if v == Value::Null {
                null = true;
            }
            self.match_value(plan, &v, scratch);
        };
        match &plan.field {
            Some(f) => event.field(f, &mut visit),
            None => event.values(&mut visit),
        }
        self.finish_plan(plan, any, null, scratch);
    }

    fn match_value(&self, plan: &FieldPlan, v: &Value<'_>, scratch: &mut Scratch) {
        let mut num_buf = std::mem::take(&mut scratch.num_buf);
        let mut fold_buf = std::mem::take(&mut scratch.fold_buf);
        let text = value_text(v, &mut num_buf);
        let folded = fold_if_needed(Some(plan), None, text, &mut fold_buf);
        self.apply_plan(plan, text, folded, v, scratch, KeywordScan::Apart);
        scratch.num_buf = num_buf;
        scratch.fold_buf = fold_buf;
    }

    /// Matches one value against a plan. `folded` is the value folded, or
    /// `None` when the value is ASCII and folding was not needed: scanners and
    /// tries then compare ASCII letters without case on the original.
    fn apply_plan(
        &self,
        plan: &FieldPlan,
        text: &str,
        folded: Option<&str>,
        v: &Value<'_>,
        scratch: &mut Scratch,
        keywords: KeywordScan,
    ) {
        scratch.tried.clear();
        scratch.counters.values += 1;
        scratch.counters.bytes += text.len() as u64;
        if !plan.exact_cs.is_empty()
            && let Some(ls) = plan.exact_cs.get(text)
        {
            for &l in ls {
                scratch.set(l);
            }
        }
        if let Some(a) = &plan.ac_cs {
            self.scan(a, text, text, None, v, scratch, false);
        }
        for t in [&plan.prefix_cs, &plan.suffix_cs].into_iter().flatten() {
            t.walk(text.as_bytes(), false, |&l| scratch.set(l));
        }
        if plan.need_fold {
            let hay = folded.unwrap_or(text);
            if let Some(f) = folded
                && f.len() <= plan.max_exact_ci
                && let Some(ls) = plan.exact_ci.get(f)
            {
                for &l in ls {
                    scratch.set(l);
                }
            }
            if let Some(a) = &plan.ac_ci
                && keywords != KeywordScan::Merged
            {
                let with_keywords = keywords == KeywordScan::WithKeywords;
                self.scan(a, hay, text, folded, v, scratch, with_keywords);
            }
            for t in [&plan.prefix_ci, &plan.suffix_ci].into_iter().flatten() {
                t.walk(hay.as_bytes(), true, |&l| scratch.set(l));
            }
        }
        for &l in &plan.verify_always {
            scratch.counters.verifies += 1;
            if !scratch.is_set(l) && self.verify(l, text, folded, v) {
                scratch.set(l);
            }
        }
    }

    /// Runs an automaton over `hay` (the folded or the original text);
    /// hits of merged keyword literals count only `with_keywords`.
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        a: &Automaton,
        hay: &str,
        original: &str,
        folded: Option<&str>,
        v: &Value<'_>,
        scratch: &mut Scratch,
        with_keywords: bool,
    ) {
        let probes = a.scanner.scan(hay.as_bytes(), |id, _| {
            scratch.counters.hits += 1;
            for &(l, anchor, keyword) in &a.entries[id as usize] {
                if keyword && !with_keywords {
                    continue;
                }
                let hit = match anchor {
                    Anchor::Contains => true,
                    Anchor::Verify => {
                        if scratch.is_set(l) || scratch.tried.contains(&l) {
                            continue;
                        }
                        scratch.tried.push(l);
                        scratch.counters.verifies += 1;
                        self.verify(l, original, folded, v)
                    }
                };
                if hit {
                    scratch.set(l);
                }
            }
        });
        scratch.counters.probes += probes as u64;
    }

    /// Full check of a leaf on one value: `text` is the original, `folded` its folding
    /// (for a cased leaf both are the original).
    fn verify(&self, l: LeafId, text: &str, folded: Option<&str>, v: &Value<'_>) -> bool {
        match &self.leaves[l as usize].kind {
            LeafKind::Str { pattern, cased } => {
                if *cased {
                    pattern.matches(text)
                } else {
                    match folded {
                        Some(f) => pattern.matches(f),
                        None => pattern.matches(&fold(text)),
                    }
                }
            }
            LeafKind::Value(m) => match m {
                Matcher::Regex(r) => r.regex.is_match(text),
                m => value_holds(m, v),
            },
            LeafKind::Null | LeafKind::Exists | LeafKind::FieldRef { .. } => false,
        }
    }

    fn fieldref_holds<E: Event + ?Sized>(
        &self,
        l: LeafId,
        event: &E,
        scratch: &mut Scratch,
    ) -> bool {
        let leaf = &self.leaves[l as usize];
        let (Some(field), LeafKind::FieldRef { other, cased }) = (&leaf.field, &leaf.kind) else {
            return false;
        };
        let mut others = std::mem::take(&mut scratch.other_values);
        others.clear();
        let mut buf = String::new();
        event.field(other, &mut |v| {
            let t = value_text(&v, &mut buf);
            others.push(if *cased {
                t.to_string()
            } else {
                fold(t).into_owned()
            });
        });
        let mut found = false;
        if !others.is_empty() {
            event.field(field, &mut |v| {
                let t = value_text(&v, &mut buf);
                let t = if *cased {
                    std::borrow::Cow::Borrowed(t)
                } else {
                    fold(t)
                };
                if others.iter().any(|o| *o == *t) {
                    found = true;
                }
            });
        }
        scratch.other_values = others;
        found
    }
}

/// Values of `field` one of which the program requires (case-insensitive exact
/// matches), if it requires one; `None` when it does not (or too many).
fn prog_required_values(p: &Prog, field: &str, leaves: &[Leaf]) -> Option<Vec<String>> {
    let set = match p {
        Prog::Leaf(l) => {
            let leaf = &leaves[*l as usize];
            match (&leaf.field, &leaf.kind) {
                (
                    Some(f),
                    LeafKind::Str {
                        pattern,
                        cased: false,
                    },
                ) if &**f == field => match pattern.shape() {
                    Shape::Exact(v) => Some(vec![v.to_string()]),
                    _ => None,
                },
                _ => None,
            }
        }
        Prog::And(ps) => ps
            .iter()
            .filter_map(|p| prog_required_values(p, field, leaves))
            .min_by_key(Vec::len),
        Prog::Or(ps) | Prog::AtLeast(1, ps) => {
            let mut all = Vec::new();
            for p in ps {
                all.extend(prog_required_values(p, field, leaves)?);
            }
            Some(all)
        }
        Prog::Not(_) | Prog::AtLeast(..) | Prog::Const(_) => None,
    }?;
    let mut set = set;
    set.sort();
    set.dedup();
    (!set.is_empty() && set.len() <= 64).then_some(set)
}

/// Folds a value when a plan needs the folded text: always for non-ASCII
/// values, and for ASCII ones short enough to equal a case-insensitive exact value.
fn fold_if_needed<'b>(
    plan: Option<&FieldPlan>,
    keywords: Option<&FieldPlan>,
    text: &'b str,
    buf: &'b mut String,
) -> Option<&'b str> {
    let need = |p: Option<&FieldPlan>| p.is_some_and(|p| p.need_fold);
    if !need(plan) && !need(keywords) {
        return None;
    }
    let exact = |p: Option<&FieldPlan>| p.is_some_and(|p| text.len() <= p.max_exact_ci);
    if !text.is_ascii() || exact(plan) || exact(keywords) {
        Some(fold_into(text, buf))
    } else {
        None
    }
}

fn build_buckets(
    variants: &[Variant],
    routes: &[Route],
    leaves: &[Leaf],
) -> (Vec<Bucket>, Vec<Primary>, Option<BucketId>) {
    // Group variants by primary field/value and secondary.
    let mut global_vs: Vec<VariantId> = Vec::new();
    // field -> value -> (any variants, secondary field -> value -> variants)
    type Sec = FxHashMap<(String, String), Vec<VariantId>>;
    let mut by_field: FxHashMap<String, FxHashMap<String, (Vec<VariantId>, Sec)>> =
        FxHashMap::default();
    for (i, route) in routes.iter().enumerate() {
        let vid = VariantId::try_from(i).unwrap_or(VariantId::MAX);
        match route {
            Route::Global => global_vs.push(vid),
            Route::Field {
                field,
                value,
                secondary,
            } => {
                let e = by_field
                    .entry(field.clone())
                    .or_default()
                    .entry(value.clone())
                    .or_default();
                match secondary {
                    None => e.0.push(vid),
                    Some(s) => e.1.entry(s.clone()).or_default().push(vid),
                }
            }
        }
    }
    let mut buckets = Vec::new();
    let mut make = |vs: Vec<VariantId>| -> BucketId {
        let id = BucketId::try_from(buckets.len()).unwrap_or(BucketId::MAX);
        buckets.push(build_bucket(&vs, variants, leaves));
        id
    };
    let global = (!global_vs.is_empty()).then(|| make(global_vs.clone()));
    // Every routed bucket also holds the global variants, so an event visits one bucket.
    let mut make = |mut vs: Vec<VariantId>| -> BucketId {
        vs.extend(global_vs.iter().copied());
        make(vs)
    };
    let mut primaries = Vec::new();
    let mut fields: Vec<_> = by_field.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    for (field, values) in fields {
        // The secondary field used most under this primary routes; others fall back to leaves
        // (their conditions are still in the programs? no: they were consumed), so keep one
        // bucket per (secondary field, value) regardless and look each field up.
        let mut sec_fields: Vec<String> = values
            .values()
            .flat_map(|(_, sec)| sec.keys().map(|(f, _)| f.clone()))
            .collect();
        sec_fields.sort();
        sec_fields.dedup();
        let mut values: Vec<_> = values.into_iter().collect();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        if sec_fields.len() <= 1 {
            let mut entries = FxHashMap::default();
            for (value, (any, sec)) in values {
                let mut entry = RouteEntry::default();
                let mut secs: Vec<_> = sec.into_iter().collect();
                secs.sort_by(|a, b| a.0.cmp(&b.0));
                for ((_, sv), vs) in secs {
                    let mut all = any.clone();
                    all.extend(vs);
                    entry.by_secondary.insert(sv.into_boxed_str(), make(all));
                }
                if !any.is_empty() {
                    entry.any = Some(make(any));
                }
                entries.insert(value.into_boxed_str(), entry);
            }
            primaries.push(Primary {
                field: field.into_boxed_str(),
                secondary: sec_fields.pop().map(String::into_boxed_str),
                field_slot: 0,
                secondary_slot: None,
                entries,
            });
        } else {
            // Several secondary fields under one primary: one primary entry per secondary field.
            for sf in sec_fields {
                let mut entries = FxHashMap::default();
                for (value, (any, sec)) in &values {
                    let mut entry = RouteEntry::default();
                    for ((f, sv), vs) in sec {
                        if *f == sf {
                            let mut all = any.clone();
                            all.extend(vs.iter().copied());
                            entry
                                .by_secondary
                                .insert(sv.clone().into_boxed_str(), make(all));
                        }
                    }
                    if !entry.by_secondary.is_empty() {
                        entries.insert(value.clone().into_boxed_str(), entry);
                    }
                }
                primaries.push(Primary {
                    field: field.clone().into_boxed_str(),
                    secondary: Some(sf.into_boxed_str()),
                    field_slot: 0,
                    secondary_slot: None,
                    entries,
                });
            }
            let mut entries = FxHashMap::default();
            for (value, (any, _)) in values {
                if !any.is_empty() {
                    entries.insert(
                        value.into_boxed_str(),
                        RouteEntry {
                            any: Some(make(any)),
                            by_secondary: FxHashMap::default(),
                        },
                    );
                }
            }
            primaries.push(Primary {
                field: field.into_boxed_str(),
                secondary: None,
                field_slot: 0,
                secondary_slot: None,
                entries,
            });
        }
    }
    (buckets, primaries, global)
}

fn build_bucket(vs: &[VariantId], variants: &[Variant], leaves: &[Leaf]) -> Bucket {
    let mut used: Vec<LeafId> = Vec::new();
    let mut triggers: FxHashMap<LeafId, Vec<VariantId>> = FxHashMap::default();
    let mut always = Vec::new();
    for &v in vs {
        let prog = &variants[v as usize].prog;
        prog.leaves(&mut used);
        match prog.triggers(leaves) {
            Some((_, ls)) => {
                let mut ls = ls;
                ls.sort_unstable();
                ls.dedup();
                for l in ls {
                    triggers.entry(l).or_default().push(v);
                }
            }
            None => always.push(v),
        }
    }
    used.sort_unstable();
    used.dedup();
    let mut by_field: FxHashMap<Option<Box<str>>, Vec<LeafId>> = FxHashMap::default();
    let mut fieldrefs = Vec::new();
    for l in used {
        let leaf = &leaves[l as usize];
        if matches!(leaf.kind, LeafKind::FieldRef { .. }) {
            fieldrefs.push(l);
        } else {
            by_field.entry(leaf.field.clone()).or_default().push(l);
        }
    }
    // Keywords are searched in every value: their literals join the
    // scanner of each field that has one.
    let keyword_literals = by_field
        .get(&None)
        .map(|ls| build_plan(None, ls, leaves, None).1);
    let mut plans: Vec<FieldPlan> = by_field
        .into_iter()
        .map(|(field, ls)| {
            let merge = field.as_ref().and(keyword_literals.as_ref());
            build_plan(field, &ls, leaves, merge).0
        })
        .collect();
    plans.sort_by(|a, b| a.field.cmp(&b.field));
    let by_name = plans
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((p.field.clone()?, u32::try_from(i).ok()?)))
        .collect();
    let keywords = plans
        .iter()
        .position(|p| p.field.is_none())
        .and_then(|i| u32::try_from(i).ok());
    Bucket {
        plans,
        by_name,
        keywords,
        fieldrefs,
        triggers: triggers
            .into_iter()
            .map(|(k, v)| (k, v.into_boxed_slice()))
            .collect(),
        always: always.into_boxed_slice(),
    }
}

#[derive(Default, Clone)]
struct AcBuilder {
    patterns: Vec<String>,
    index: FxHashMap<String, usize>,
    entries: Vec<Vec<(LeafId, Anchor, bool)>>,
}

impl AcBuilder {
    fn add(&mut self, lit: &str, l: LeafId, anchor: Anchor) {
        self.add_entry(lit, (l, anchor, false));
    }

    fn add_entry(&mut self, lit: &str, entry: (LeafId, Anchor, bool)) {
        let i = *self.index.entry(lit.to_string()).or_insert_with(|| {
            self.patterns.push(lit.to_string());
            self.entries.push(Vec::new());
            self.patterns.len() - 1
        });
        if !self.entries[i].contains(&entry) {
            self.entries[i].push(entry);
        }
    }

    /// Adds the literals of `keywords` as keyword entries.
    fn merge_keywords(&mut self, keywords: &AcBuilder) {
        for (lit, entries) in keywords.patterns.iter().zip(&keywords.entries) {
            for &(l, anchor, _) in entries {
                self.add_entry(lit, (l, anchor, true));
            }
        }
    }

    fn build(self, ascii_ci: bool) -> Option<Automaton> {
        if self.patterns.is_empty() {
            return None;
        }
        let scanner = LiteralScanner::new(
            self.patterns.into_iter().map(String::into_bytes).collect(),
            ascii_ci,
        )?;
        Some(Automaton {
            scanner,
            entries: self.entries,
        })
    }
}

/// The plan of `field` over the leaves `ls`, with the case-insensitive
/// literals of the bucket's keyword plan merged into its scanner when
/// `keywords` gives them and the field has a scanner of its own. Also returns
/// the plan's own case-insensitive literals.
fn build_plan(
    field: Option<Box<str>>,
    ls: &[LeafId],
    leaves: &[Leaf],
    keywords: Option<&AcBuilder>,
) -> (FieldPlan, AcBuilder) {
    let mut plan = FieldPlan {
        field,
        ..FieldPlan::default()
    };
    let mut ci = AcBuilder::default();
    let mut cs = AcBuilder::default();
    let mut prefix_ci = AffixTrieBuilder::new(false);
    let mut suffix_ci = AffixTrieBuilder::new(true);
    let mut prefix_cs = AffixTrieBuilder::new(false);
    let mut suffix_cs = AffixTrieBuilder::new(true);
    for &l in ls {
        match &leaves[l as usize].kind {
            LeafKind::Null => plan.null_leaves.push(l),
            LeafKind::Exists => plan.exists_leaves.push(l),
            LeafKind::FieldRef { .. } => {}
            LeafKind::Str { pattern, cased } => {
                let (ac, exact, prefix, suffix) = if *cased {
                    (&mut cs, &mut plan.exact_cs, &mut prefix_cs, &mut suffix_cs)
                } else {
                    plan.need_fold = true;
                    (&mut ci, &mut plan.exact_ci, &mut prefix_ci, &mut suffix_ci)
                };
                match pattern.shape() {
                    Shape::Exact(s) => exact.entry(Box::from(s)).or_default().push(l),
                    Shape::Prefix(s) => prefix.insert(s.as_bytes(), l),
                    Shape::Suffix(s) => suffix.insert(s.as_bytes(), l),
                    Shape::Contains(s) => ac.add(s, l, Anchor::Contains),
                    Shape::AnyValue => plan.exists_leaves.push(l),
                    Shape::Glob => match pattern.longest_literal() {
                        Some(lit) => ac.add(lit, l, Anchor::Verify),
                        None => {
                            plan.need_fold |= !*cased;
                            plan.verify_always.push(l);
                        }
                    },
                }
            }
            LeafKind::Value(Matcher::Regex(r)) => {
                match regex_literals(&r.source, r.insensitive, r.multi_line, r.dot_all) {
                    Some(lits) => {
                        plan.need_fold = true;
                        for lit in lits {
                            ci.add(&lit, l, Anchor::Verify);
                        }
                    }
                    None => plan.verify_always.push(l),
                }
            }
            LeafKind::Value(_) => plan.verify_always.push(l),
        }
    }
    let own = if plan.field.is_none() {
        ci.clone()
    } else {
        AcBuilder::default()
    };
    if let Some(keywords) = keywords
        && !ci.patterns.is_empty()
        && !keywords.patterns.is_empty()
    {
        ci.merge_keywords(keywords);
        plan.keywords_merged = true;
    }
    plan.ac_ci = ci.build(true);
    plan.ac_cs = cs.build(false);
    plan.max_exact_ci = plan.exact_ci.keys().map(|k| k.len()).max().unwrap_or(0);
    plan.prefix_ci = prefix_ci.build();
    plan.suffix_ci = suffix_ci.build();
    plan.prefix_cs = prefix_cs.build();
    plan.suffix_cs = suffix_cs.build();
    (plan, own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_set_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledRuleSet>();
        assert_send_sync::<std::sync::Arc<CompiledRuleSet>>();
        fn assert_send<T: Send>() {}
        assert_send::<Scratch>();
    }

    #[test]
    fn flat_programs_agree_with_the_trees() {
        use Prog::{And, AtLeast, Const, Leaf, Not, Or};
        let progs = [
            Leaf(3),
            Not(Box::new(Leaf(0))),
            And(vec![Leaf(0), Leaf(1), Not(Box::new(Leaf(2)))]),
            Or(vec![Leaf(4), And(vec![Leaf(1), Leaf(5)]), Const(false)]),
            AtLeast(
                2,
                vec![Leaf(0), Or(vec![Leaf(1), Leaf(2)]), Not(Box::new(Leaf(3)))],
            ),
            And(vec![
                Or(vec![Leaf(0), Leaf(1)]),
                Not(Box::new(And(vec![Leaf(2), Or(vec![Leaf(3), Leaf(4)])]))),
                AtLeast(3, vec![Leaf(5), Leaf(0), Leaf(1), Const(true)]),
            ]),
            Or(vec![Const(false), Not(Box::new(Const(true)))]),
            And(vec![]),
            Or(vec![]),
        ];
        let mut code = Code::default();
        // A program in the middle of others must not read its neighbours.
        code.push(&Leaf(1));
        let starts: Vec<u32> = progs.iter().map(|p| code.push(p)).collect();
        code.push(&Leaf(2));
        for assignment in 0u64..64 {
            let bits = [assignment];
            for (p, &start) in progs.iter().zip(&starts) {
                assert_eq!(
                    code.eval(start, &bits),
                    p.eval(&bits),
                    "{p:?} on {assignment:06b}"
                );
            }
        }
    }

    #[test]
    fn triggers_skip_negations() {
        let leaves = vec![
            Leaf {
                field: None,
                kind: LeafKind::Exists,
                cost: 0.9,
            },
            Leaf {
                field: None,
                kind: LeafKind::Null,
                cost: 0.01,
            },
        ];
        let p = Prog::and(vec![Prog::Leaf(0), Prog::not(Prog::Leaf(1))]);
        assert_eq!(p.triggers(&leaves).map(|t| t.1), Some(vec![0]));
        assert!(Prog::not(Prog::Leaf(0)).triggers(&leaves).is_none());
        let p = Prog::or(vec![Prog::Leaf(0), Prog::Leaf(1)]);
        assert_eq!(p.triggers(&leaves).map(|t| t.1), Some(vec![0, 1]));
    }
}
