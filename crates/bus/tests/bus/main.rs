//! Integration tests of the event bus: the conformance suite (run against the
//! embedded log and against NATS JetStream), embedded-log specifics, and crash
//! tests that kill a publishing or consuming child process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod conformance;
mod crash;
mod embedded;
mod shared;
mod snapshot;
