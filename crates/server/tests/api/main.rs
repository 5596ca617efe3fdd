//! The HTTP API, end to end through the real router: authorisation matrix,
//! error handling, OpenAPI validity, a real socket, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod accounts;
mod alerts;
mod auth_flow;
mod connections;
mod console;
mod console_matrix;
mod errors;
mod event_search;
mod incident_alerts;
mod incidents;
mod intake_trust;
mod matrix;
mod misp;
mod openapi;
mod properties;
mod readiness;
mod rules;
mod socket;
mod source_networks;
mod stix;
mod taxii_matrix;
mod telemetry;
mod usability;
