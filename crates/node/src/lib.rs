//! A node's roles: which background work one `nigehban serve` process runs,
//! and the one place that starts it.
//!
//! Detection hands its matches to the alert service through
//! [`AlertSink`] (detect → alert in the platform's flow): this crate joins
//! the two so that neither depends on the other.

pub mod alert_sink;

pub use alert_sink::{AlertSink, AlertSinkError, signal_of};
