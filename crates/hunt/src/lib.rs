//! Runs Sigma rules over collected log files, in parallel: the engine behind
//! `nigehban hunt`.
//!
//! The flow is the product's in miniature: `nigehban-logfiles` reads files
//! into records of JSON text, each is parsed into a [`JsonTape`] (a flat,
//! reused structure: no allocation per event), [`WindowsEvent`] presents each
//! event to the Sigma matcher of
//! `nigehban-sigma` under the field names rules use, and every match becomes
//! a [`Detection`] carrying the rule's title, id and author (the Detection Rule
//! License requires the author to stay with each alert).

pub mod detection;
pub mod event;
pub mod output;
pub mod pipeline;
pub mod rules;
pub mod tape;

pub use detection::{DetectedEvent, Detection, RuleSummary};
pub use event::WindowsEvent;
pub use output::{DetectionWriter, Format};
pub use pipeline::{HuntOptions, HuntReport, HuntTotals, hunt};
pub use tape::JsonTape;
