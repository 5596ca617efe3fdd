//! Sigma detection rules: parse, compile and evaluate, with no I/O.
//!
//! This crate knows nothing about files, servers or storage.

pub mod event;

pub use event::{Event, Value};
