//! A node's roles: which background work one `nigehban serve` process runs,
//! and the one place that starts it.
//!
//! ```text
//!  POST /api/v1/ingest ─┐
//!  syslog UDP/TCP/TLS ──┴─► Intake ──publish (durable)──► bus ─┬─consumer `search`──► Indexer ──► EventIndex
//!                              │                              └─consumer `detect`──► DetectionStage ──► AlertSink ──► app.alerts().raise
//!                     health watch ──► app.record_health          retention loop (hourly) on the index
//! ```
//!
//! [`TelemetryRuntime::start`] opens the bus and the index, builds intake
//! over the sensor registry, and starts what the node's [`Roles`] ask for:
//! `intake` (syslog listeners, sensor health watch), `search` (indexer,
//! retention, on a background runtime at the lowest CPU priority), `detect`
//! (the live detection stage, at normal priority, so that alerts stay
//! current while search falls behind under a burst). The `api` role is the
//! HTTP server's, which the binary starts beside this runtime.
//!
//! Detection hands its matches to the alert service through [`AlertSink`]
//! (detect → alert in the platform's flow): this crate joins the two so that
//! neither depends on the other.

pub mod alert_sink;
pub mod intel_stage;
pub mod roles;
pub mod rules;
pub mod runtime;

pub use alert_sink::{AlertSink, AlertSinkError, signal_of};
pub use intel_stage::{INTEL_CONSUMER, IndicatorMatching, MatchOutcome, MatchingError};
pub use nigehban_sigma::Diagnostic as RuleProblem;
pub use roles::{InvalidRoles, Roles};
pub use rules::{
    FileCount, PlatformRules, ReadRules, RuleTrial, TrialMatch, read_filter, read_upload,
};
pub use runtime::{
    DetectionConfig, LOWEST_PRIORITY, RegistryDirectory, SensorIntake, ShutdownReport, Telemetry,
    TelemetryConfig, TelemetryError, TelemetryRuntime, health_report, lock, stamp_of,
};
