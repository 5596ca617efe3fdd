//! Sigma detection rules: parse, compile and evaluate, with no I/O.
//!
//! This crate knows nothing about files, servers, storage or clocks: callers
//! hand it rule texts as strings and events through the [`Event`] trait.
//!
//! # Using it
//!
//! ```
//! use nigehban_sigma::{CompileOptions, CompiledRuleSet, Event, LogsourceMapping, RuleSet, Value};
//!
//! // 1. Load rule files (each may hold several `---` documents). Problems are
//! //    collected as diagnostics; one broken rule never stops the others.
//! let mut rules = RuleSet::new();
//! rules.add_str(
//!     "title: Whoami\nid: 1\nlogsource:\n  product: windows\n  category: process_creation\n\
//!      detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\nlevel: high\n",
//!     "rules/whoami.yml",
//! );
//! assert!(rules.diagnostics().is_empty());
//!
//! // 2. Compile once (logsource mapping + options); unsupported rules are reported.
//! let (compiled, unsupported) =
//!     CompiledRuleSet::new(&rules, &LogsourceMapping::builtin(), &CompileOptions::default());
//! assert!(unsupported.is_empty());
//!
//! // 3. Match events from any number of threads, one `Scratch` per thread.
//! struct Sysmon;
//! impl Event for Sysmon {
//!     fn field(&self, name: &str, visit: &mut dyn FnMut(Value<'_>)) {
//!         match name {
//!             "Channel" => visit(Value::Str("Microsoft-Windows-Sysmon/Operational")),
//!             "EventID" => visit(Value::Int(1)),
//!             "Image" => visit(Value::Str("C:\\Windows\\System32\\WHOAMI.EXE")),
//!             _ => {}
//!         }
//!     }
//!     fn values(&self, _visit: &mut dyn FnMut(Value<'_>)) {}
//! }
//! let mut scratch = compiled.scratch();
//! let mut hits = Vec::new();
//! compiled.matches(&Sysmon, &mut scratch, &mut hits);
//! assert_eq!(hits, [0]);
//! assert_eq!(compiled.rule(hits[0]).title, "Whoami");
//! ```
//!
//! # Public API (what `hunt` and `nigehban rules check` call)
//!
//! - Loading: [`RuleSet::new`] / [`RuleSet::with_placeholders`],
//!   [`RuleSet::add_str`]`(text, origin) -> usize`, or [`parse_source`] on
//!   worker threads followed by [`RuleSet::add_parsed`]; then
//!   [`RuleSet::rules`] and [`RuleSet::diagnostics`]. Duplicate ids are
//!   errors naming both places.
//! - [`Diagnostic`] `{ origin, line, column, rule_id, title, kind, message }`,
//!   displayed as `path:12:5: error: unknown modifier 'foo' in rule <id> (<title>)`;
//!   [`DiagnosticKind`] is `Error`, `Unsupported` or `Warning`.
//! - Metadata for alerts: [`RuleMeta`] (id, title, level, status, author,
//!   description, tags, references, falsepositives, logsource, origin, ...),
//!   shared as `Arc<RuleMeta>` by [`Rule::meta`] and [`CompiledRuleSet::rule`].
//! - Compiling: [`CompiledRuleSet::new`]`(&RuleSet, &LogsourceMapping,
//!   &CompileOptions) -> (CompiledRuleSet, Vec<Diagnostic>)`. Sigma filters
//!   are applied to the rules they name; rules that correlations refer to
//!   are compiled whatever `min_level` says.
//! - Correlation rules: [`CorrelationSet::new`]`(&RuleSet, &CompiledRuleSet,
//!   &CompileOptions)` compiles them; a [`CorrelationEngine`] (serde, no
//!   clock) is fed an [`Observation`] per match of a referenced rule
//!   ([`CorrelationSet::observation`]) in any order and returns
//!   [`CorrelationMatch`]es (see [`correlate`] for windows, lateness, re-arm
//!   and bounds).
//! - Matching: [`CompiledRuleSet::matches`]`(&event, &mut Scratch, &mut
//!   Vec<RuleIndex>)`; `CompiledRuleSet` is `Send + Sync`. Explaining a
//!   match: [`CompiledRuleSet::matched_fields`]`(index, &event) ->
//!   Vec<MatchedField>` (the field values that made the rule match).
//! - Logsources: [`LogsourceMapping::builtin`], [`LogsourceMapping::from_yaml`],
//!   [`LogsourceMapping::extend`] (see [`logsource`] for the default
//!   conventions for non-Windows products).
//! - Placeholders for `expand`: [`Placeholders`]; unresolved ones match any
//!   value and are reported as warnings.
//!
//! # Matching semantics
//!
//! Values compare as strings, case-insensitively (Unicode lower case) unless
//! `cased`; numbers in rules match numbers or strings in events and vice
//! versa; `null` means absent or null; `''` matches an empty or null value;
//! keywords match inside any value. [`reference`] is a plain interpreter with
//! the same semantics, used to test the fast matcher ([`compile`] explains
//! how that one works).

pub mod compile;
pub mod condition;
pub mod correlate;
pub mod diagnostic;
pub mod event;
pub mod literals;
pub mod load;
pub mod logsource;
pub mod modifiers;
pub mod pattern;
pub mod reference;
pub mod rule;
pub mod scan;
pub mod trie;
pub mod values;
pub mod yaml;

pub use compile::{CompileOptions, CompiledRuleSet, MatchCounters, RuleIndex, Scratch};
pub use correlate::{
    CorrelationEngine, CorrelationIndex, CorrelationLimits, CorrelationMatch, CorrelationSet,
    EngineCounters, Observation,
};
pub use diagnostic::{Diagnostic, DiagnosticKind};
pub use event::{Event, Value};
pub use load::{ParsedSource, RuleSet, parse_source};
pub use logsource::{Alternative, LogsourceMapping, SourceCondition};
pub use modifiers::Placeholders;
pub use reference::MatchedField;
pub use rule::{Level, Logsource, Rule, RuleBody, RuleMeta, Status};
