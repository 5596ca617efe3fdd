//! Integration tests of the log file readers, in one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod corpus_evtx;
mod regression;
mod damaged_evtx;
mod json_lines;
mod json_documents;
