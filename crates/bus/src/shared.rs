//! Values that several processes share and change only by compare-and-set:
//! state that must be the same for every member of a consumer, such as the
//! windows of live correlation when detection runs in several processes.
//!
//! Only JetStream has them ([`crate::JetStreamBus::shared_values`], a
//! key-value bucket: one stream, the last message per key, written with
//! `Nats-Expected-Last-Subject-Sequence`). The embedded log is owned by one
//! process, which keeps such state itself.

use std::future::Future;

use bytes::Bytes;

use crate::error::BusError;

/// A value and the revision it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Bytes,
    /// Its revision: what a [`SharedValues::compare_and_set`] must name to
    /// replace it.
    pub revision: u64,
}

/// What a compare-and-set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The value is stored, at this revision.
    Stored(u64),
    /// Someone wrote the key since the revision named (or created it when
    /// none was named): nothing was written. Read it again.
    Conflict,
}

/// Named values shared by processes, each replaced only by a writer that
/// read its latest revision.
pub trait SharedValues: Clone + Send + Sync + 'static {
    /// The latest value of `key`, if it has one.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, BusError>> + Send;

    /// Writes `value` under `key` if its latest revision is still `expected`
    /// (`None`: if it has no value yet); durable when it returns `Stored`.
    fn compare_and_set(
        &self,
        key: &str,
        value: Bytes,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<Written, BusError>> + Send;
}
