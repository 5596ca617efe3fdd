//! Integration tests of the log file readers, in one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod corpus_evtx;
mod damaged_evtx;
mod fixture;
mod json_documents;
mod json_lines;
mod properties;
mod regression;
mod walk;
