//! What each rule costs: a sampled measure, so that an operator can find
//! the rules that slow live detection down (`/metrics` shows the most
//! expensive ones).
//!
//! The compiled matcher shares its work between rules (routing and one
//! literal scan serve them all), so a rule's share of it cannot be timed
//! directly. Instead, one event in [`COST_SAMPLE_EVERY`] (65,536; showing an
//! event to every rule alone costs as much as matching thousands; those whose bus
//! offset is 1 modulo it: the first of a JetStream stream, the second of
//! the embedded log, and so on; replayable) is also shown to every rule on its own through
//! the reference interpreter, and the time each rule takes is added up: the
//! cost of its own conditions — its regular expressions, wildcards and
//! value tests — which is what makes one rule dearer than another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nigehban_sigma::{CompiledRuleSet, Event};

use crate::rules::DetectionRules;

/// One event in this many (offset 1 modulo it) is profiled rule by rule.
pub const COST_SAMPLE_EVERY: u64 = 1 << 16;

/// Time each rule took on the profiled events of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CostSample {
    /// Events profiled.
    pub events: u64,
    /// Nanoseconds per rule (by rule index), summed over those events.
    pub nanos: Vec<u64>,
}

impl CostSample {
    /// Times every rule of `compiled` on `event` and adds it to the sample.
    pub fn profile(&mut self, compiled: &CompiledRuleSet, event: &dyn Event) {
        self.nanos.resize(compiled.len(), 0);
        for (index, total) in self.nanos.iter_mut().enumerate() {
            let started = Instant::now();
            std::hint::black_box(compiled.reference_matches(index, event));
            let spent = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            *total = total.saturating_add(spent);
        }
        self.events += 1;
    }

    /// Adds another sample of the same rule set.
    pub fn merge(&mut self, other: CostSample) {
        if self.nanos.len() < other.nanos.len() {
            self.nanos.resize(other.nanos.len(), 0);
        }
        for (total, spent) in self.nanos.iter_mut().zip(other.nanos) {
            *total = total.saturating_add(spent);
        }
        self.events += other.events;
    }
}

/// A rule's measured cost.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCost {
    /// The rule's id.
    pub rule_id: Arc<str>,
    /// Its title.
    pub title: Arc<str>,
    /// Mean seconds its conditions took per profiled event.
    pub seconds_per_event: f64,
    /// How many events it was profiled on.
    pub events: u64,
}

/// The running totals of every rule profiled since the stage started
/// (kept by rule id, so they survive a rule reload).
#[derive(Debug, Default)]
pub struct RuleCosts {
    by_rule: Mutex<HashMap<Arc<str>, Total>>,
}

#[derive(Debug, Default)]
struct Total {
    title: Arc<str>,
    nanos: u64,
    events: u64,
}

impl RuleCosts {
    /// Adds a batch's sample, whose indices are those of `rules`.
    pub fn record(&self, rules: &DetectionRules, sample: &CostSample) {
        if sample.events == 0 {
            return;
        }
        let mut by_rule = self.by_rule.lock().unwrap_or_else(|e| e.into_inner());
        for (summary, nanos) in rules.summaries().iter().zip(&sample.nanos) {
            let total = by_rule
                .entry(Arc::from(summary.id.as_str()))
                .or_insert_with(|| Total {
                    title: Arc::from(summary.title.as_str()),
                    ..Total::default()
                });
            total.nanos = total.nanos.saturating_add(*nanos);
            total.events += sample.events;
        }
    }

    /// The `n` rules with the highest mean cost, dearest first.
    pub fn most_expensive(&self, n: usize) -> Vec<RuleCost> {
        let by_rule = self.by_rule.lock().unwrap_or_else(|e| e.into_inner());
        let mut costs: Vec<RuleCost> = by_rule
            .iter()
            .filter(|(_, total)| total.events > 0)
            .map(|(id, total)| RuleCost {
                rule_id: Arc::clone(id),
                title: Arc::clone(&total.title),
                seconds_per_event: total.nanos as f64 / 1e9 / total.events as f64,
                events: total.events,
            })
            .collect();
        costs.sort_by(|a, b| {
            b.seconds_per_event
                .total_cmp(&a.seconds_per_event)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        costs.truncate(n);
        costs
    }
}
