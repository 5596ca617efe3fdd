//! Conformance tests of `nigehban-normalise` against the outside corpus
//! (`../shared/data`, or `$NIGEHBAN_CORPUS`), the committed fixtures, and
//! property tests. One test binary, so the crate links once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod events;
mod properties;
mod support;
mod syslog_cef;
mod windows_twins;
mod zeek_styles;
