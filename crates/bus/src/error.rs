//! The bus's typed errors.

use std::io;
use std::path::PathBuf;

/// Why a record was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A header that must be present is empty.
    #[error("{field} is empty")]
    EmptyField {
        /// The header's name.
        field: &'static str,
    },
    /// A header is longer than [`crate::MAX_HEADER_BYTES`].
    #[error("{field} is {len} bytes long, over the {limit}-byte limit")]
    FieldTooLong {
        /// The header's name.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A header holds a control character (such as a line break), which no transport can carry.
    #[error("{field} contains a control character")]
    ControlCharacter {
        /// The header's name.
        field: &'static str,
    },
    /// The payload is larger than the bus accepts.
    #[error("payload is {size} bytes, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The payload's size in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The received-at time cannot be stored (before 1678 or after 2262).
    #[error("received_at is out of the representable range")]
    TimeOutOfRange,
}

/// Everything that can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// `publish` was called with no records.
    #[error("empty batch: publish needs at least one record")]
    EmptyBatch,
    /// One record of a batch was refused; nothing of the batch was stored.
    #[error("record {index} of the batch was refused (nothing of the batch was stored): {reason}")]
    InvalidRecord {
        /// Position of the record in the batch, from 0.
        index: usize,
        /// What was wrong with it.
        reason: RecordError,
    },
    /// A consumer name is not usable as a durable name.
    #[error("invalid consumer name {name:?}: {reason}")]
    InvalidConsumerName {
        /// The name given.
        name: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// No durable consumer of that name exists.
    #[error("unknown consumer {0:?}")]
    UnknownConsumer(String),
    /// An acknowledged offset was never delivered to this consumer.
    #[error(
        "offset {offset} was not delivered to consumer {consumer:?} and cannot be acknowledged"
    )]
    NotDelivered {
        /// The consumer's name.
        consumer: String,
        /// The offset that was acknowledged.
        offset: u64,
    },
    /// Another process owns the embedded log's directory.
    #[error("the bus directory {path} is in use by another process")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// A file operation failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Stored data failed its checksum or framing where it had been acknowledged as durable.
    #[error("corrupt bus data in {path} at byte {position}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte position of the bad frame.
        position: u64,
        /// What was wrong.
        reason: String,
    },
    /// The embedded log's writer stopped after a write or fsync failure; nothing more is accepted.
    #[error("the bus writer stopped after an earlier failure: {0}")]
    WriterFailed(String),
    /// The bus was closed.
    #[error("the bus is closed")]
    Closed,
    /// NATS or JetStream reported an error.
    #[error("nats jetstream: {0}")]
    Nats(String),
    /// The bus's configuration is unusable.
    #[error("invalid bus configuration: {0}")]
    Config(String),
}

impl BusError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        BusError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps any NATS client error.
    pub(crate) fn nats(context: &str, error: impl std::fmt::Display) -> Self {
        BusError::Nats(format!("{context}: {error}"))
    }
}
