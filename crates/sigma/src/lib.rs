//! Sigma detection rules: parse, compile and evaluate, with no I/O.
//!
//! This crate knows nothing about files, servers or storage.

pub mod compile;
pub mod condition;
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
pub use diagnostic::{Diagnostic, DiagnosticKind};
pub use event::{Event, Value};
pub use load::{ParsedSource, RuleSet, parse_source};
pub use logsource::{Alternative, LogsourceMapping, SourceCondition};
pub use modifiers::Placeholders;
pub use rule::{Level, Logsource, Rule, RuleBody, RuleMeta, Status};
