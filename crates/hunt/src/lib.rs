//! Runs Sigma rules over collected log files, in parallel: the engine behind
//! `nigehban hunt`.
//!
//! The flow is the product's in miniature: `nigehban-logfiles` reads files
//! into records of JSON text, each is parsed into a
//! [`JsonTape`](nigehban_detect::JsonTape) (a flat, reused structure: no
//! allocation per event), [`SigmaView`](nigehban_detect::SigmaView) presents
//! each event to the Sigma matcher of `nigehban-sigma` under the field names
//! rules use (the same view live detection uses, so a rule fires on the same
//! events either way), and every match becomes a [`Detection`] carrying the
//! rule's title, id and author (the Detection Rule License requires the
//! author to stay with each alert). Rules are loaded and compiled by
//! `nigehban_detect::rules`.

pub mod detection;
pub mod output;
pub mod pipeline;
pub mod summary;

pub use detection::{DetectedEvent, Detection, RuleSummary};
pub use output::{DetectionWriter, DisplayZone, Format, TableStyle};
pub use pipeline::{HuntOptions, HuntReport, HuntTotals, hunt, hunt_explained};
pub use summary::HuntSummary;
