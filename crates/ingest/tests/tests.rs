//! Integration tests of nigehban-ingest, one binary; each module is a file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod client;
mod common;
mod health;
mod http_intake;
mod properties;
mod real_senders;
mod syslog_listeners;
