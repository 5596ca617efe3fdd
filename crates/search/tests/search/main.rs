//! Integration tests of event search: queries, pagination, indexing from the real buses,
//! retention, and crash tests that kill an indexing child process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod crash;
mod indexing;
mod language;
mod originals;
mod paging;
mod queries;
mod retention;
