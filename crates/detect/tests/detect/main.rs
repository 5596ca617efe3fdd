//! Detection's tests, in one binary: the Sigma view on real records of
//! every layout, the logsource table, the live stage on a real bus, SigmaHQ's
//! regression events, and the parity of `hunt` and live detection.
//!
//! Tests that read the outside corpus (`NIGEHBAN_CORPUS`, default
//! `../shared/data`) are skipped when it is absent, unless
//! `NIGEHBAN_REQUIRE_CORPUS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod logsources;
mod parity;
mod sigmahq;
mod stage;
mod starter;
mod support;
mod tuning;
mod view;
