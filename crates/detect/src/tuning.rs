//! How detection is tuned per tenant: which rules are enabled for which
//! tenant, and which Sigma filters (the specification's `filter:`
//! documents) keep a rule from firing for a tenant and its subtree.
//!
//! [`RuleTuning`] is worked out once when rules are (re)loaded, from the
//! platform-wide state, the per-tenant overrides, the filters and the
//! tenant tree: a tenant's enabled state is the nearest override on its
//! path from the root, else the platform's flag; a filter applies to its
//! tenant and every tenant below it. The stage then asks, per detection,
//! only lookups in sets made for the tenant ([`TenantView`]) — no store
//! access, no tree walk while events are matched. It travels inside
//! [`crate::DetectionRules`], so a change swaps with the rules, between
//! batches.
//!
//! A filter is compiled as a rule of its own (its selections and condition,
//! under its logsource); an event a rule matched is dropped for a tenant
//! when one of the tenant's filters names the rule (by id or `name`),
//! covers its logsource (each of product, category and service the filter
//! sets is the rule's), and its condition does not hold for the event —
//! exactly what Sigma's `filter` does when it is compiled into the rule.
//! Filters are evaluated only for events a filtered rule matched.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use nigehban_sigma::{
    CompileOptions, CompiledRuleSet, Diagnostic, DiagnosticKind, Event, LogsourceMapping, Rule,
    RuleBody, RuleMeta, RuleSet,
};

/// A tenant's filter, as the node read it from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFilterSource {
    /// The filter record's id (diagnostics name it).
    pub id: String,
    /// The tenant it applies to (with its subtree).
    pub tenant: String,
    /// The YAML text of the filter document.
    pub text: String,
}

/// What per-tenant tuning is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TuningInput {
    /// Rule ids disabled for the whole platform.
    pub platform_disabled: Vec<String>,
    /// Per-tenant overrides: (rule id, tenant id, enabled).
    pub overrides: Vec<(String, String, bool)>,
    /// Per-tenant filters.
    pub filters: Vec<TenantFilterSource>,
    /// Every tenant with its parent.
    pub tenants: Vec<(String, Option<String>)>,
}

/// The tuning of one tenant: the rules disabled for it and the filters
/// that apply to it.
#[derive(Debug, Default)]
pub struct TenantView {
    disabled: HashSet<String>,
    /// Indexes into the compiled filters, by the rule id they filter.
    filters: HashMap<String, Vec<usize>>,
}

impl TenantView {
    /// Whether the rule with this id raises detections for the tenant.
    pub fn allows(&self, rule_id: &str) -> bool {
        !self.disabled.contains(rule_id)
    }

    /// Whether some filter of the tenant names this rule.
    pub fn filters_rule(&self, rule_id: &str) -> bool {
        !self.filters.is_empty() && self.filters.contains_key(rule_id)
    }
}

/// Per-tenant rule state and filters, precomputed (see the module documentation).
#[derive(Debug, Default)]
pub struct RuleTuning {
    views: HashMap<String, Arc<TenantView>>,
    default: Arc<TenantView>,
    filters: Option<CompiledRuleSet>,
}

impl RuleTuning {
    /// No tuning: every rule runs for every tenant.
    pub fn none() -> Self {
        Self::default()
    }

    /// Works out the view of every tenant. `rules` is the rule set the
    /// filters refer to (by id or name); filters that cannot be read or
    /// compiled are reported and left out.
    pub fn build(
        input: &TuningInput,
        rules: &RuleSet,
        mapping: &LogsourceMapping,
        options: &CompileOptions,
    ) -> (Self, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        // Filters, compiled as rules, with the ids of the rules each applies to.
        let mut filter_rules = RuleSet::new();
        let mut filter_meta: Vec<(String, Vec<String>)> = Vec::new();
        for source in &input.filters {
            let origin = format!("filter {}", source.id);
            let parsed = RuleSet::load_str(&source.text, &origin);
            problems.extend(parsed.diagnostics().iter().cloned());
            for rule in parsed.rules() {
                let RuleBody::Filter(filter) = &rule.body else {
                    problems.push(problem(
                        &origin,
                        "not a Sigma filter (a document with `filter:`)",
                    ));
                    continue;
                };
                let applies_to = applicable_rules(rules, &rule.meta, &filter.rules);
                let mut meta = RuleMeta::clone(&rule.meta);
                // Unique within the filter set, whatever the documents' ids.
                meta.id = Some(format!("{}#{}", source.id, filter_meta.len()));
                filter_rules.add_parsed(nigehban_sigma::ParsedSource {
                    rules: vec![Rule {
                        meta: Arc::new(meta),
                        body: RuleBody::Detection(filter.detection.clone()),
                    }],
                    ..Default::default()
                });
                filter_meta.push((source.tenant.clone(), applies_to));
            }
        }
        let mut compiled_filters = None;
        let mut filter_index: Vec<Option<usize>> = vec![None; filter_meta.len()];
        if !filter_meta.is_empty() {
            // A filter has no level of its own: never left out for one.
            let mut options = options.clone();
            options.min_level = None;
            let (set, diagnostics) = CompiledRuleSet::new(&filter_rules, mapping, &options);
            problems.extend(diagnostics);
            for index in 0..set.len() {
                if let Some(position) = set
                    .rule(index)
                    .id
                    .as_deref()
                    .and_then(|id| id.rsplit_once('#'))
                    .and_then(|(_, n)| n.parse::<usize>().ok())
                    && let Some(slot) = filter_index.get_mut(position)
                {
                    *slot = Some(index);
                }
            }
            compiled_filters = Some(set);
        }
        // Overrides and filters by tenant.
        let mut overrides_of: HashMap<&str, Vec<(&str, bool)>> = HashMap::new();
        for (rule, tenant, enabled) in &input.overrides {
            overrides_of
                .entry(tenant.as_str())
                .or_default()
                .push((rule.as_str(), *enabled));
        }
        let mut filters_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for (position, (tenant, _)) in filter_meta.iter().enumerate() {
            if filter_index[position].is_some() {
                filters_of
                    .entry(tenant.as_str())
                    .or_default()
                    .push(position);
            }
        }
        let platform: HashSet<String> = input.platform_disabled.iter().cloned().collect();
        let default = Arc::new(TenantView {
            disabled: platform.clone(),
            filters: HashMap::new(),
        });
        let parent_of: HashMap<&str, Option<&str>> = input
            .tenants
            .iter()
            .map(|(id, parent)| (id.as_str(), parent.as_deref()))
            .collect();
        let mut views = HashMap::new();
        for (tenant, _) in &input.tenants {
            // The path from the root down to the tenant (bounded against a cycle).
            let mut path = vec![tenant.as_str()];
            let mut at = tenant.as_str();
            while let Some(Some(parent)) = parent_of.get(at).copied() {
                if path.len() > 1000 || path.contains(&parent) {
                    break;
                }
                path.push(parent);
                at = parent;
            }
            path.reverse();
            let tuned = path
                .iter()
                .any(|t| overrides_of.contains_key(t) || filters_of.contains_key(t));
            if !tuned {
                continue;
            }
            let mut disabled = platform.clone();
            let mut filters: HashMap<String, Vec<usize>> = HashMap::new();
            for t in &path {
                for (rule, enabled) in overrides_of.get(t).into_iter().flatten() {
                    if *enabled {
                        disabled.remove(*rule);
                    } else {
                        disabled.insert((*rule).to_owned());
                    }
                }
                for &position in filters_of.get(t).into_iter().flatten() {
                    let Some(index) = filter_index[position] else {
                        continue;
                    };
                    for rule in &filter_meta[position].1 {
                        filters.entry(rule.clone()).or_default().push(index);
                    }
                }
            }
            views.insert(tenant.clone(), Arc::new(TenantView { disabled, filters }));
        }
        (
            RuleTuning {
                views,
                default,
                filters: compiled_filters,
            },
            problems,
        )
    }

    /// The view of a tenant (the platform-wide one for a tenant not known
    /// when the tuning was made).
    pub fn view(&self, tenant: &str) -> &TenantView {
        self.views.get(tenant).unwrap_or(&self.default)
    }

    /// Whether the rule with this id raises detections for the tenant.
    pub fn allows(&self, tenant: &str, rule_id: &str) -> bool {
        self.view(tenant).allows(rule_id)
    }

    /// Whether one of the tenant's filters excludes `event`, which the rule
    /// `rule_id` matched.
    pub fn filtered_out(&self, view: &TenantView, rule_id: &str, event: &dyn Event) -> bool {
        let (Some(filters), Some(indexes)) = (&self.filters, view.filters.get(rule_id)) else {
            return false;
        };
        indexes
            .iter()
            .any(|&index| !filters.reference_matches(index, event))
    }

    /// Whether no tenant is tuned (every rule runs everywhere it is enabled).
    pub fn is_empty(&self) -> bool {
        self.views.is_empty() && self.default.disabled.is_empty()
    }
}

/// The ids of the rules of `rules` that a filter naming `references` (ids or
/// names) applies to: those it names whose logsource it covers.
fn applicable_rules(rules: &RuleSet, filter: &RuleMeta, references: &[String]) -> Vec<String> {
    let fl = &filter.logsource;
    rules
        .rules()
        .iter()
        .filter(|rule| {
            let meta = &rule.meta;
            references.iter().any(|r| {
                meta.id.as_deref() == Some(r.as_str()) || meta.name.as_deref() == Some(r.as_str())
            })
        })
        .filter(|rule| {
            let ls = &rule.meta.logsource;
            [
                (&fl.product, &ls.product),
                (&fl.category, &ls.category),
                (&fl.service, &ls.service),
            ]
            .iter()
            .all(|(want, have)| want.is_none() || want == have)
        })
        .filter_map(|rule| rule.meta.id.clone())
        .collect()
}

fn problem(origin: &str, message: &str) -> Diagnostic {
    Diagnostic {
        origin: origin.to_owned(),
        line: 0,
        column: 0,
        rule_id: None,
        title: None,
        kind: DiagnosticKind::Error,
        message: message.to_owned(),
    }
}
