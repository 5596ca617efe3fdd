//! Sigma correlation rules: evaluation on event time, with no clock and no I/O.
//!
//! [`CorrelationSet`] is the compiled form of the correlation rules of a
//! [`RuleSet`] (which detection rules and correlations each one refers to,
//! the event fields it groups by after `aliases`, its condition).
//! [`CorrelationEngine`] is the state: it is fed an [`Observation`] for every
//! match of a referenced rule, in any order, and returns a
//! [`CorrelationMatch`] when a correlation's condition holds. It is plain data
//! (serde), so a live stage saves it and resumes after a restart.
//!
//! # Time
//!
//! Windows are on **event time**. The engine keeps the newest event time it
//! has accepted; the *watermark* is that time minus the allowed lateness
//! ([`CorrelationLimits::allowed_lateness_ms`]). An observation older than
//! the watermark is dropped and counted ([`EngineCounters::late`]); the
//! others wait until the watermark passes them, and are then evaluated in
//! event-time order (ties by event id). So the result does not depend on the
//! order of arrival within the lateness, and a correlation match comes once
//! the lateness has passed in event time (with a lateness of zero, once a
//! newer event arrives). [`CorrelationEngine::flush`] evaluates everything
//! still waiting and closes every window: the end of a hunt.
//!
//! # Windows and conditions
//!
//! Events of one group (equal `group-by` values) count together when their
//! times are at most `timespan` apart.
//!
//! - A condition that more events can only make true and keep true
//!   (`gt`/`gte` on `event_count`, `value_count`, `temporal`,
//!   `temporal_ordered`; `temporal` without a condition means all rules) is
//!   checked on a sliding window: after each event, over the group's events
//!   of the last `timespan`. It fires as soon as it holds.
//! - Any other condition (`lt`, `lte`, `eq`, `neq`, ranges, and every
//!   condition of `value_sum`, `value_avg`, `value_percentile`) can only be
//!   decided when the window is complete: the window opens at the group's
//!   first event, spans `timespan`, and is checked once the watermark passes
//!   its end (sometimes called a session or tumbling-from-first-event window).
//!
//! **Re-arm**: when a window fires, its events are consumed; the group starts
//! afresh with the next event. A window never fires twice for the same
//! events, and no event counts towards two matches of one correlation (as
//! Hayabusa and `stats ... by` queries over buckets behave). A burst of 100
//! failed logons against `gte: 10` gives ten matches, which the alert service
//! folds by their group key.
//!
//! `value_count` counts distinct values of `condition.field` (events without
//! it do not add a value); `value_sum` and `value_avg` read it as a number
//! (events without a number are left out); `value_percentile` is, for each
//! distinct value of the field, the percentage of the group's events that
//! have it, and the condition holds when it holds for some value (the
//! specification's example: a process name seen in at most 1% of a
//! computer's process creations). `temporal` counts the distinct referenced
//! rules seen, `temporal_ordered` the length of the longest prefix of the
//! `rules` list seen in that order.
//!
//! Events that lack a `group-by` field are not grouped (as `stats ... by`
//! drops them) and are counted ([`EngineCounters::missing_group_field`]).
//!
//! # Chains, `generate` and aliases
//!
//! `rules` names detection rules or other correlations, by id or `name`. A
//! correlation's match is an observation for the correlations that refer to
//! it, at the time the match fired, with the group values as its fields. As
//! in pySigma, a rule referred to by a correlation without `generate: true`
//! produces no stand-alone detections ([`CorrelationSet::base_emits`],
//! [`CorrelationSet::emits`]); it still feeds the correlation. `aliases`
//! give, per referenced rule name, the event field behind a `group-by` name.
//!
//! # Bounds
//!
//! Per correlation at most [`CorrelationLimits::max_groups`] groups (the
//! least recently seen are evicted first), per group at most
//! [`CorrelationLimits::max_events_per_group`] events (the oldest evicted),
//! at most [`CorrelationLimits::max_pending`] observations waiting for the
//! watermark (beyond, the oldest are evaluated early); all counted.
//!
//! # Redelivery
//!
//! At-least-once delivery hands the same event over again: an observation
//! whose (event id, correlation, rule) is already waiting is ignored
//! ([`EngineCounters::duplicates`]), and one already evaluated is older than
//! the watermark and dropped. Save the engine after the matches it returned
//! are safe and before the events are acknowledged.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::compile::{CompileOptions, CompiledRuleSet, RuleIndex};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::event::{Event, Value};
use crate::load::RuleSet;
use crate::rule::{CorrelationOp, CorrelationType, Level, RuleBody, RuleMeta};

/// Index of a correlation in a [`CorrelationSet`].
pub type CorrelationIndex = usize;

/// What a correlation refers to in one entry of its `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Base(RuleIndex),
    Correlation(CorrelationIndex),
}

/// One compiled correlation rule.
#[derive(Debug, Clone)]
struct Compiled {
    meta: Arc<RuleMeta>,
    /// Stable name of its state (id, else name, else title).
    key: String,
    /// Changes when the definition changes: saved state of another
    /// definition is dropped.
    fingerprint: u64,
    kind: CorrelationType,
    timespan_ms: i64,
    /// The condition; `temporal` without one means all rules.
    condition: Vec<(CorrelationOp, f64)>,
    /// Decided on a sliding window as events come (see the module docs).
    sliding: bool,
    group_by: Vec<String>,
    /// Per `rules` entry: the field behind each
    /// `group-by` name, and the `condition.field`.
    slots: Vec<Slot>,
    /// Correlations (and their slot) that refer to this one.
    parents: Vec<(CorrelationIndex, usize)>,
    emits: bool,
}

#[derive(Debug, Clone)]
struct Slot {
    group_fields: Vec<String>,
    value_field: Option<String>,
}

/// The correlation rules of a rule set, compiled against the detection rules
/// of a [`CompiledRuleSet`]. Immutable; share it.
#[derive(Debug, Clone, Default)]
pub struct CorrelationSet {
    correlations: Vec<Compiled>,
    /// Per base rule index: the (correlation, slot) it feeds.
    by_base: Vec<Vec<(CorrelationIndex, usize)>>,
    /// Per base rule index: the event fields its observations carry.
    fields_by_base: Vec<Vec<String>>,
    /// Per base rule index: whether its matches are detections on their own.
    base_emits: Vec<bool>,
    /// Correlation by state key.
    by_key: HashMap<String, CorrelationIndex>,
}

/// One match of a rule that a correlation refers to, as the engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The detection rule that matched (index into the [`CompiledRuleSet`]
    /// the set was compiled with).
    pub rule: RuleIndex,
    /// When the event happened, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The event's id: the same when the event is delivered again.
    pub event_id: String,
    /// The event fields the correlations need (name, first value as text).
    pub fields: Vec<(String, String)>,
}

/// A correlation rule whose condition held for one group in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationMatch {
    /// Which correlation (index into the [`CorrelationSet`]).
    pub correlation: CorrelationIndex,
    /// The correlation rule's metadata.
    pub rule: Arc<RuleMeta>,
    /// The `group-by` names and the group's values.
    pub group: Vec<(String, String)>,
    /// Time of the window's first event (ms since the Unix epoch).
    pub window_start_ms: i64,
    /// Time of the window's last event.
    pub window_end_ms: i64,
    /// Events (observations) in the window.
    pub event_count: u64,
    /// Their ids, in event-time order, at most
    /// [`CorrelationLimits::max_event_ids`].
    pub event_ids: Vec<String>,
    /// The aggregate the condition was checked against (count, distinct
    /// values, sum, average, percentage, rules seen).
    pub value: f64,
}

impl CorrelationMatch {
    /// A stable id of this match: the correlation, the group and the window
    /// start (the same after a replay or a restart).
    pub fn id(&self) -> String {
        let mut id = self
            .rule
            .id
            .clone()
            .unwrap_or_else(|| self.rule.title.clone());
        for (_, value) in &self.group {
            id.push('\u{1f}');
            id.push_str(value);
        }
        id.push('\u{1f}');
        id.push_str(&self.window_start_ms.to_string());
        id
    }

    /// The group values joined by `/` (for people and alert folding).
    pub fn group_key(&self) -> String {
        self.group
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl CorrelationSet {
    /// Compiles the correlation rules of `rules` against the detection rules
    /// `compiled` holds (compiled from the same `rules`). Correlations that
    /// refer to a rule that is not there (unknown, not compiled), that form
    /// a cycle or are below `options.min_level` are left out, reported.
    pub fn new(
        rules: &RuleSet,
        compiled: &CompiledRuleSet,
        options: &CompileOptions,
    ) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let diag = |meta: &RuleMeta, kind, message: String| Diagnostic {
            origin: meta.origin.clone(),
            line: meta.line,
            column: 0,
            rule_id: meta.id.clone(),
            title: Some(meta.title.clone()),
            kind,
            message,
        };
        let defs: Vec<_> = rules
            .rules()
            .iter()
            .filter_map(|r| match &r.body {
                RuleBody::Correlation(c) => Some((&r.meta, c)),
                _ => None,
            })
            .collect();
        // Names and ids of base rules and correlations.
        let mut base_by_ref: HashMap<&str, RuleIndex> = HashMap::new();
        for index in 0..compiled.len() {
            let meta = compiled.rule(index);
            for r in [meta.id.as_deref(), meta.name.as_deref()]
                .into_iter()
                .flatten()
            {
                base_by_ref.insert(r, index);
            }
        }
        let mut corr_by_ref: HashMap<&str, usize> = HashMap::new();
        for (i, (meta, _)) in defs.iter().enumerate() {
            for r in [meta.id.as_deref(), meta.name.as_deref()]
                .into_iter()
                .flatten()
            {
                corr_by_ref.insert(r, i);
            }
        }
        let known: HashMap<&str, &RuleMeta> = rules
            .rules()
            .iter()
            .flat_map(|r| {
                [r.meta.id.as_deref(), r.meta.name.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(move |k| (k, &*r.meta))
            })
            .collect();
        // Resolve references; `None` marks a correlation left out.
        let mut sources: Vec<Option<Vec<(Source, &str)>>> = Vec::new();
        for (meta, c) in &defs {
            let mut resolved = Vec::new();
            let mut ok = c.timespan_secs > 0 && !c.rules.is_empty();
            for r in &c.rules {
                if let Some(&i) = corr_by_ref.get(r.as_str()) {
                    resolved.push((Source::Correlation(i), r.as_str()));
                } else if let Some(&i) = base_by_ref.get(r.as_str()) {
                    resolved.push((Source::Base(i), r.as_str()));
                } else {
                    let why = if known.contains_key(r.as_str()) {
                        "is not evaluated (see its own diagnostics)"
                    } else {
                        "is not among the loaded rules"
                    };
                    diags.push(diag(
                        meta,
                        DiagnosticKind::Error,
                        format!("correlation refers to rule '{r}', which {why}"),
                    ));
                    ok = false;
                }
            }
            sources.push(ok.then_some(resolved));
        }
        // Leave out correlations in a cycle or depending on one left out.
        loop {
            let mut changed = false;
            for i in 0..defs.len() {
                let Some(resolved) = &sources[i] else {
                    continue;
                };
                let bad = resolved.iter().any(|(s, _)| match s {
                    Source::Correlation(j) => sources[*j].is_none() || reaches(&sources, *j, i),
                    Source::Base(_) => false,
                });
                if bad {
                    diags.push(diag(
                        defs[i].0,
                        DiagnosticKind::Error,
                        "correlation refers to a correlation that is left out or refers back to it"
                            .into(),
                    ));
                    sources[i] = None;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut set = CorrelationSet {
            correlations: Vec::new(),
            by_base: vec![Vec::new(); compiled.len()],
            fields_by_base: vec![Vec::new(); compiled.len()],
            base_emits: (0..compiled.len())
                .map(|i| match options.min_level {
                    Some(min) => compiled.rule(i).level.unwrap_or(Level::Informational) >= min,
                    None => true,
                })
                .collect(),
            by_key: HashMap::new(),
        };
        // Positions in `set.correlations` of the definitions kept.
        let mut position: Vec<Option<usize>> = vec![None; defs.len()];
        for (i, (meta, _)) in defs.iter().enumerate() {
            if sources[i].is_none() {
                continue;
            }
            if let Some(min) = options.min_level
                && meta.level.unwrap_or(Level::Informational) < min
                && !has_referrer(&sources, i)
            {
                continue;
            }
            position[i] = Some(set.correlations.len());
            set.correlations.push(Compiled {
                meta: Arc::clone(meta),
                key: String::new(),
                fingerprint: 0,
                kind: defs[i].1.kind,
                timespan_ms: 0,
                condition: Vec::new(),
                sliding: false,
                group_by: Vec::new(),
                slots: Vec::new(),
                parents: Vec::new(),
                emits: true,
            });
        }
        for (i, (meta, c)) in defs.iter().enumerate() {
            let (Some(at), Some(resolved)) = (position[i], &sources[i]) else {
                continue;
            };
            let condition = if c.condition.is_empty() {
                vec![(CorrelationOp::Gte, c.rules.len() as f64)]
            } else {
                c.condition.clone()
            };
            let sliding = matches!(
                c.kind,
                CorrelationType::EventCount
                    | CorrelationType::ValueCount
                    | CorrelationType::Temporal
                    | CorrelationType::TemporalOrdered
            ) && condition
                .iter()
                .all(|(op, _)| matches!(op, CorrelationOp::Gt | CorrelationOp::Gte));
            let mut slots = Vec::new();
            for (slot_index, (source, reference)) in resolved.iter().enumerate() {
                // Aliases name a rule by its `name` (or as the correlation refers to it).
                let name = match *source {
                    Source::Base(b) => compiled.rule(b).name.as_deref(),
                    Source::Correlation(j) => defs[j].0.name.as_deref(),
                };
                let source = match *source {
                    Source::Correlation(j) => match position[j] {
                        Some(p) => Source::Correlation(p),
                        None => continue,
                    },
                    base => base,
                };
                let group_fields = c
                    .group_by
                    .iter()
                    .map(|g| alias_field(&c.aliases, g, reference, name))
                    .collect::<Vec<_>>();
                let value_field = c.field.clone();
                match source {
                    Source::Base(b) => {
                        set.by_base[b].push((at, slot_index));
                        let fields = &mut set.fields_by_base[b];
                        for f in group_fields.iter().chain(value_field.as_ref()) {
                            if !fields.contains(f) {
                                fields.push(f.clone());
                            }
                        }
                        if !c.generate {
                            set.base_emits[b] = false;
                        }
                    }
                    Source::Correlation(p) => {
                        if !c.generate {
                            set.correlations[p].emits = false;
                        }
                        set.correlations[p].parents.push((at, slot_index));
                    }
                }
                slots.push(Slot {
                    group_fields,
                    value_field,
                });
            }
            let key = meta
                .id
                .clone()
                .or_else(|| meta.name.clone())
                .unwrap_or_else(|| meta.title.clone());
            let fingerprint = fnv(&format!(
                "{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
                c.kind, c.rules, c.timespan_secs, condition, c.group_by, c.field, c.aliases
            ));
            let below_min = options
                .min_level
                .is_some_and(|min| meta.level.unwrap_or(Level::Informational) < min);
            let target = &mut set.correlations[at];
            target.key = key;
            target.fingerprint = fingerprint;
            target.timespan_ms =
                i64::try_from(c.timespan_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            target.condition = condition;
            target.sliding = sliding;
            target.group_by = c.group_by.clone();
            target.slots = slots;
            if below_min {
                target.emits = false;
            }
        }
        set.by_key = set
            .correlations
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key.clone(), i))
            .collect();
        (set, diags)
    }

    /// Number of correlations compiled.
    pub fn len(&self) -> usize {
        self.correlations.len()
    }

    /// True when there is no correlation.
    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    /// Metadata of correlation `index`.
    pub fn rule(&self, index: CorrelationIndex) -> &Arc<RuleMeta> {
        &self.correlations[index].meta
    }

    /// The `group-by` names of correlation `index`.
    pub fn group_by(&self, index: CorrelationIndex) -> &[String] {
        &self.correlations[index].group_by
    }

    /// Whether matches of correlation `index` are reported (not only fed to
    /// a correlation that refers to it without `generate: true`).
    pub fn emits(&self, index: CorrelationIndex) -> bool {
        self.correlations[index].emits
    }

    /// Whether matches of detection rule `rule` are reported on their own:
    /// false when a correlation refers to it without `generate: true`, or
    /// when it is below the minimum level and compiled only for a correlation.
    pub fn base_emits(&self, rule: RuleIndex) -> bool {
        self.base_emits.get(rule).copied().unwrap_or(true)
    }

    /// Whether some correlation refers to detection rule `rule`.
    pub fn observes(&self, rule: RuleIndex) -> bool {
        self.by_base.get(rule).is_some_and(|uses| !uses.is_empty())
    }

    /// The observation of a match of detection rule `rule` on `event`, with
    /// the fields the correlations need; `None` when no correlation refers
    /// to the rule.
    pub fn observation<E: Event + ?Sized>(
        &self,
        rule: RuleIndex,
        time_ms: i64,
        event_id: &str,
        event: &E,
    ) -> Option<Observation> {
        if !self.observes(rule) {
            return None;
        }
        let mut fields = Vec::new();
        for name in &self.fields_by_base[rule] {
            let mut first = None;
            event.field(name, &mut |v| {
                if first.is_none() {
                    first = text(v);
                }
            });
            if let Some(value) = first {
                fields.push((name.clone(), value));
            }
        }
        Some(Observation {
            rule,
            time_ms,
            event_id: event_id.to_owned(),
            fields,
        })
    }
}

/// The event field behind `group` for the rule referred to as `reference`
/// (named `name`).
fn alias_field(
    aliases: &[(String, Vec<(String, String)>)],
    group: &str,
    reference: &str,
    name: Option<&str>,
) -> String {
    aliases
        .iter()
        .find(|(alias, _)| alias == group)
        .and_then(|(_, per_rule)| {
            per_rule
                .iter()
                .find(|(rule, _)| rule == reference || Some(rule.as_str()) == name)
        })
        .map_or_else(|| group.to_owned(), |(_, field)| field.clone())
}

/// Whether correlation `from` refers (transitively) to `target`.
fn reaches(sources: &[Option<Vec<(Source, &str)>>], from: usize, target: usize) -> bool {
    let mut stack = vec![from];
    let mut seen = vec![false; sources.len()];
    while let Some(i) = stack.pop() {
        if i == target {
            return true;
        }
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if let Some(resolved) = &sources[i] {
            for (s, _) in resolved {
                if let Source::Correlation(j) = s {
                    stack.push(*j);
                }
            }
        }
    }
    false
}

fn has_referrer(sources: &[Option<Vec<(Source, &str)>>], target: usize) -> bool {
    sources.iter().flatten().any(|resolved| {
        resolved
            .iter()
            .any(|(s, _)| *s == Source::Correlation(target))
    })
}

/// A value as text for grouping (`None` for null).
fn text(v: Value<'_>) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.to_owned(),
    })
}

/// FNV-1a, for fingerprints that must be the same in every process.
fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Limits of a [`CorrelationEngine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationLimits {
    /// How far behind the newest event time an event may be and still count
    /// (milliseconds); matches come this much later in event time.
    pub allowed_lateness_ms: i64,
    /// Groups kept per correlation.
    pub max_groups: usize,
    /// Events kept per group.
    pub max_events_per_group: usize,
    /// Observations waiting for the watermark.
    pub max_pending: usize,
    /// Event ids a match carries.
    pub max_event_ids: usize,
}

impl Default for CorrelationLimits {
    fn default() -> Self {
        CorrelationLimits {
            allowed_lateness_ms: 60_000,
            max_groups: 100_000,
            max_events_per_group: 10_000,
            max_pending: 1_000_000,
            max_event_ids: 100,
        }
    }
}

/// What the engine dropped or evicted, since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCounters {
    /// Observations accepted.
    pub observed: u64,
    /// Observations older than the watermark, dropped.
    pub late: u64,
    /// Observations already waiting (redelivered), ignored.
    pub duplicates: u64,
    /// Observations lacking a `group-by` field, not grouped.
    pub missing_group_field: u64,
    /// Events evicted from full groups.
    pub evicted_events: u64,
    /// Groups evicted from full correlations.
    pub evicted_groups: u64,
    /// Observations evaluated before the watermark passed them because too
    /// many were waiting.
    pub released_early: u64,
    /// Matches returned.
    pub matches: u64,
}

/// An observation waiting for the watermark, for one correlation slot.
/// Ordered by time, then event id: the evaluation order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct PendingKey {
    time: i64,
    event_id: String,
    correlation: String,
    slot: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PendingValue {
    group: Vec<String>,
    value: Option<String>,
}

/// One event in a group's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    time: i64,
    id: String,
    slot: usize,
    value: Option<String>,
}

/// The window of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Group {
    events: VecDeque<Entry>,
    /// Distinct values and their counts (`value_count`).
    values: BTreeMap<String, u32>,
    /// Events per slot (`temporal`).
    slots: Vec<u32>,
    /// End of the open window (complete-window conditions).
    window_end: Option<i64>,
    last_seen: i64,
}

impl Group {
    fn push(&mut self, entry: Entry) {
        if let Some(v) = &entry.value {
            *self.values.entry(v.clone()).or_default() += 1;
        }
        if self.slots.len() <= entry.slot {
            self.slots.resize(entry.slot + 1, 0);
        }
        self.slots[entry.slot] += 1;
        self.last_seen = self.last_seen.max(entry.time);
        self.events.push_back(entry);
    }

    fn pop(&mut self) -> Option<Entry> {
        let entry = self.events.pop_front()?;
        if let Some(v) = &entry.value
            && let Some(n) = self.values.get_mut(v)
        {
            *n -= 1;
            if *n == 0 {
                self.values.remove(v);
            }
        }
        if let Some(n) = self.slots.get_mut(entry.slot) {
            *n = n.saturating_sub(1);
        }
        Some(entry)
    }
}

/// The state of one correlation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CorrelationState {
    fingerprint: u64,
    #[serde(with = "pairs")]
    groups: HashMap<Vec<String>, Group>,
    /// Release time of the last sweep of stale groups.
    swept_at: i64,
}

/// The state of correlation evaluation (see the module documentation);
/// serialise it to keep it across a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationEngine {
    limits: CorrelationLimits,
    /// Newest event time accepted.
    newest: Option<i64>,
    /// Time of the last observation evaluated.
    released: Option<i64>,
    #[serde(with = "btree_pairs")]
    pending: BTreeMap<PendingKey, PendingValue>,
    /// Open complete-window groups by window end: (end, correlation key, group).
    closing: BTreeSet<(i64, String, Vec<String>)>,
    states: BTreeMap<String, CorrelationState>,
    counters: EngineCounters,
}

impl Default for CorrelationEngine {
    fn default() -> Self {
        Self::new(CorrelationLimits::default())
    }
}

impl CorrelationEngine {
    /// An engine with no state.
    pub fn new(limits: CorrelationLimits) -> Self {
        CorrelationEngine {
            limits,
            newest: None,
            released: None,
            pending: BTreeMap::new(),
            closing: BTreeSet::new(),
            states: BTreeMap::new(),
            counters: EngineCounters::default(),
        }
    }

    /// The engine's limits.
    pub fn limits(&self) -> &CorrelationLimits {
        &self.limits
    }

    /// Changes the limits (a saved engine keeps the ones it was made with).
    pub fn set_limits(&mut self, limits: CorrelationLimits) {
        self.limits = limits;
    }

    /// What was dropped and evicted so far.
    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// Observations waiting for the watermark.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Events older than this are dropped (newest event time minus the
    /// allowed lateness).
    pub fn watermark(&self) -> Option<i64> {
        let newest = self.newest?;
        let watermark = newest.saturating_sub(self.limits.allowed_lateness_ms);
        Some(match self.released {
            Some(r) => watermark.max(r),
            None => watermark,
        })
    }

    /// Feeds one observation; appends the matches it completes to `out`.
    pub fn observe(
        &mut self,
        set: &CorrelationSet,
        observation: &Observation,
        out: &mut Vec<CorrelationMatch>,
    ) {
        let Some(uses) = set.by_base.get(observation.rule) else {
            return;
        };
        if uses.is_empty() {
            return;
        }
        let time = observation.time_ms;
        if self.watermark().is_some_and(|w| time < w) {
            self.counters.late += 1;
            return;
        }
        let lookup = |name: &str| {
            observation
                .fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut accepted = false;
        for &(c, slot_index) in uses {
            let correlation = &set.correlations[c];
            let slot = &correlation.slots[slot_index];
            let Some(group) = slot
                .group_fields
                .iter()
                .map(|f| lookup(f))
                .collect::<Option<Vec<_>>>()
            else {
                self.counters.missing_group_field += 1;
                continue;
            };
            let key = PendingKey {
                time,
                event_id: observation.event_id.clone(),
                correlation: correlation.key.clone(),
                slot: slot_index,
            };
            if self.pending.contains_key(&key) {
                self.counters.duplicates += 1;
                continue;
            }
            let value = slot.value_field.as_deref().and_then(lookup);
            self.pending.insert(key, PendingValue { group, value });
            accepted = true;
        }
        if accepted {
            self.counters.observed += 1;
            self.newest = Some(self.newest.map_or(time, |n| n.max(time)));
        }
        self.release(set, false, out);
    }

    /// Evaluates every waiting observation and closes every window (the end
    /// of the input); appends the matches to `out`.
    pub fn flush(&mut self, set: &CorrelationSet, out: &mut Vec<CorrelationMatch>) {
        self.release(set, true, out);
        self.close_until(set, i64::MAX, out);
    }

    /// Drops the state of correlations `set` does not hold (any more, or
    /// with another definition).
    pub fn retain(&mut self, set: &CorrelationSet) {
        let live: HashMap<&str, u64> = set
            .correlations
            .iter()
            .map(|c| (c.key.as_str(), c.fingerprint))
            .collect();
        self.states
            .retain(|key, state| live.get(key.as_str()) == Some(&state.fingerprint));
        self.pending
            .retain(|key, _| live.contains_key(key.correlation.as_str()));
        let states = &self.states;
        self.closing.retain(|(_, key, _)| states.contains_key(key));
    }

    fn release(&mut self, set: &CorrelationSet, all: bool, out: &mut Vec<CorrelationMatch>) {
        while let Some(first) = self.pending.first_key_value().map(|(k, _)| k.time) {
            let due = all
                || self.watermark().is_some_and(|w| first < w)
                || self.pending.len() > self.limits.max_pending;
            if !due {
                break;
            }
            let Some((key, value)) = self.pending.pop_first() else {
                break;
            };
            if !all && self.watermark().is_none_or(|w| key.time >= w) {
                self.counters.released_early += 1;
            }
            self.released = Some(self.released.map_or(key.time, |r| r.max(key.time)));
            let Some(&c) = set.by_key.get(&key.correlation) else {
                continue;
            };
            let entry = Entry {
                time: key.time,
                id: key.event_id,
                slot: key.slot,
                value: value.value,
            };
            self.process(set, c, value.group, entry, out);
        }
    }

    /// Closes complete windows that end before `time`.
    fn close_until(&mut self, set: &CorrelationSet, time: i64, out: &mut Vec<CorrelationMatch>) {
        while let Some(first) = self.closing.first() {
            if first.0 >= time {
                break;
            }
            let Some((end, key, group_key)) = self.closing.pop_first() else {
                break;
            };
            let Some(&c) = set.by_key.get(&key) else {
                continue;
            };
            let Some(group) = self
                .states
                .get_mut(&key)
                .and_then(|s| s.groups.remove(&group_key))
            else {
                continue;
            };
            let found = evaluate(
                &set.correlations[c],
                c,
                &group_key,
                &group,
                self.limits.max_event_ids,
            );
            if let Some(m) = found {
                self.emit(set, m, end, out);
            }
        }
    }

    /// Adds one event, in event-time order, to its group of correlation `c`.
    fn process(
        &mut self,
        set: &CorrelationSet,
        c: CorrelationIndex,
        group_key: Vec<String>,
        entry: Entry,
        out: &mut Vec<CorrelationMatch>,
    ) {
        let time = entry.time;
        self.close_until(set, time, out);
        let correlation = &set.correlations[c];
        let limits = self.limits;
        let state = self
            .states
            .entry(correlation.key.clone())
            .or_insert_with(|| CorrelationState {
                fingerprint: correlation.fingerprint,
                ..CorrelationState::default()
            });
        if state.fingerprint != correlation.fingerprint {
            *state = CorrelationState {
                fingerprint: correlation.fingerprint,
                ..CorrelationState::default()
            };
            let key = &correlation.key;
            self.closing.retain(|(_, k, _)| k != key);
        }
        let span = correlation.timespan_ms;
        // Forget groups with nothing left inside the timespan, now and then.
        if time.saturating_sub(state.swept_at) > span {
            state.swept_at = time;
            state
                .groups
                .retain(|_, g| g.window_end.is_some() || g.last_seen >= time.saturating_sub(span));
        }
        if !state.groups.contains_key(&group_key) && state.groups.len() >= limits.max_groups {
            let evicted = evict_groups(state, limits.max_groups);
            self.counters.evicted_groups += evicted.len() as u64;
            let key = &correlation.key;
            self.closing
                .retain(|(_, k, g)| k != key || !evicted.contains(g));
        }
        let group = state.groups.entry(group_key.clone()).or_default();
        if correlation.sliding {
            group.push(entry);
            while group
                .events
                .front()
                .is_some_and(|e| e.time < time.saturating_sub(span))
            {
                group.pop();
            }
            while group.events.len() > limits.max_events_per_group {
                group.pop();
                self.counters.evicted_events += 1;
            }
            let found = evaluate(correlation, c, &group_key, group, limits.max_event_ids);
            if let Some(m) = found {
                if let Some(state) = self.states.get_mut(&correlation.key) {
                    state.groups.remove(&group_key);
                }
                self.emit(set, m, time, out);
            }
        } else {
            if group.window_end.is_none() {
                let end = time.saturating_add(span);
                group.window_end = Some(end);
                self.closing
                    .insert((end, correlation.key.clone(), group_key));
            }
            group.push(entry);
            while group.events.len() > limits.max_events_per_group {
                group.pop();
                self.counters.evicted_events += 1;
            }
        }
    }

    /// Reports a match (when the correlation emits) and feeds it, at `time`,
    /// to the correlations that refer to it.
    fn emit(
        &mut self,
        set: &CorrelationSet,
        m: CorrelationMatch,
        time: i64,
        out: &mut Vec<CorrelationMatch>,
    ) {
        let correlation = &set.correlations[m.correlation];
        for &(parent, slot_index) in &correlation.parents {
            let slot = &set.correlations[parent].slots[slot_index];
            let Some(group) = slot
                .group_fields
                .iter()
                .map(|f| m.group.iter().find(|(n, _)| n == f).map(|(_, v)| v.clone()))
                .collect::<Option<Vec<_>>>()
            else {
                self.counters.missing_group_field += 1;
                continue;
            };
            let entry = Entry {
                time,
                id: m.id(),
                slot: slot_index,
                value: None,
            };
            self.process(set, parent, group, entry, out);
        }
        if correlation.emits {
            self.counters.matches += 1;
            out.push(m);
        }
    }
}

/// The match of correlation `c` over `group`, when its condition holds.
fn evaluate(
    correlation: &Compiled,
    c: CorrelationIndex,
    group_key: &[String],
    group: &Group,
    max_event_ids: usize,
) -> Option<CorrelationMatch> {
    let holds = |v: f64| {
        correlation.condition.iter().all(|&(op, n)| match op {
            CorrelationOp::Gt => v > n,
            CorrelationOp::Gte => v >= n,
            CorrelationOp::Lt => v < n,
            CorrelationOp::Lte => v <= n,
            CorrelationOp::Eq => v == n,
            CorrelationOp::Neq => v != n,
        })
    };
    let events = &group.events;
    let numbers = || {
        events.iter().filter_map(|e| {
            e.value
                .as_deref()
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    };
    let value = match correlation.kind {
        CorrelationType::EventCount => Some(events.len() as f64),
        CorrelationType::ValueCount => Some(group.values.len() as f64),
        CorrelationType::Temporal => Some(group.slots.iter().filter(|&&n| n > 0).count() as f64),
        CorrelationType::TemporalOrdered => {
            let mut next = 0;
            for e in events {
                if e.slot == next {
                    next += 1;
                }
            }
            Some(next as f64)
        }
        CorrelationType::ValueSum => {
            let mut seen = false;
            let sum = numbers().inspect(|_| seen = true).sum::<f64>();
            seen.then_some(sum)
        }
        CorrelationType::ValueAvg => {
            let (n, sum) = numbers().fold((0u64, 0.0), |(n, s), v| (n + 1, s + v));
            (n > 0).then(|| sum / n as f64)
        }
        CorrelationType::ValuePercentile => {
            let total: u32 = group.values.values().sum();
            // The share of the rarest value that satisfies the condition.
            let mut shares: Vec<f64> = group
                .values
                .values()
                .map(|&n| 100.0 * f64::from(n) / f64::from(total.max(1)))
                .collect();
            shares.sort_by(f64::total_cmp);
            shares.into_iter().find(|&s| holds(s))
        }
    }?;
    if !holds(value) || events.is_empty() {
        return None;
    }
    let first = events.front()?.time;
    let last = events.back()?.time;
    Some(CorrelationMatch {
        correlation: c,
        rule: Arc::clone(&correlation.meta),
        group: correlation
            .group_by
            .iter()
            .cloned()
            .zip(group_key.iter().cloned())
            .collect(),
        window_start_ms: first,
        window_end_ms: last,
        event_count: events.len() as u64,
        event_ids: events
            .iter()
            .take(max_event_ids)
            .map(|e| e.id.clone())
            .collect(),
        value,
    })
}

/// Evicts the least recently seen eighth of `state`'s groups (at least one);
/// returns their keys.
fn evict_groups(state: &mut CorrelationState, max_groups: usize) -> Vec<Vec<String>> {
    let mut by_age: Vec<(i64, &Vec<String>)> =
        state.groups.iter().map(|(k, g)| (g.last_seen, k)).collect();
    by_age.sort();
    let n = (max_groups / 8).max(1).min(by_age.len());
    let evicted: Vec<Vec<String>> = by_age[..n].iter().map(|(_, k)| (*k).clone()).collect();
    for k in &evicted {
        state.groups.remove(k);
    }
    evicted
}

/// Serialises a map with list keys as a list of pairs (sorted, so the same
/// state always gives the same bytes).
mod pairs {
    use std::collections::HashMap;
    use std::hash::Hash;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &HashMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.serialize(serializer)
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let entries: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}

/// Serialises a map with structured keys as a list of pairs, in key order.
mod btree_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let entries: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}
