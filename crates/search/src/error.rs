//! The search crate's typed errors.

use std::io;
use std::path::PathBuf;

use nigehban_bus::BusError;

/// What is wrong with an [`crate::EventQuery`]; each variant names the part that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A filter names a field that cannot exist.
    #[error("field name {name:?} is not valid: {reason}")]
    FieldName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A filter's value cannot be matched against its field.
    #[error("value {value:?} for field {field:?} is not valid: {reason}")]
    FieldValue {
        /// The field.
        field: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `from` is after `to`.
    #[error("time range is empty: from {from} is after to {to}")]
    TimeRange {
        /// The start given (RFC 3339).
        from: String,
        /// The end given (RFC 3339).
        to: String,
    },
    /// A time bound lies outside what the index can represent.
    #[error("time {time} is out of the range the index can hold")]
    TimeOutOfRange {
        /// The time given.
        time: String,
    },
    /// The limit is zero or larger than allowed.
    #[error("limit {limit} is not allowed: it must be between 1 and {max}")]
    Limit {
        /// The limit given.
        limit: usize,
        /// The largest limit allowed.
        max: usize,
    },
    /// The cursor was not produced by this index for this sort order.
    #[error("cursor {cursor:?} is not valid: {reason}")]
    Cursor {
        /// The cursor given.
        cursor: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A free-text term cannot be searched.
    #[error("text term {term:?} is not valid: {reason}")]
    TextTerm {
        /// The term given.
        term: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The query text (`q`) could not be read.
    #[error("query {query:?} cannot be read at column {column}: {reason}")]
    Syntax {
        /// The query given (its first 200 characters).
        query: String,
        /// The character (1-based) where the problem was found.
        column: usize,
        /// What was expected or wrong.
        reason: String,
    },
    /// A filter or query names a field that none of the scope's events have.
    #[error("{}", unknown_field_message(field, closest))]
    UnknownField {
        /// The name given.
        field: String,
        /// The closest known names, closest first (may be empty).
        closest: Vec<String>,
    },
    /// Too many filters or terms in one query.
    #[error("too many {what}: {count} given, at most {max} allowed")]
    TooMany {
        /// What there are too many of (`field filters`, `text terms`).
        what: &'static str,
        /// How many were given.
        count: usize,
        /// The most allowed.
        max: usize,
    },
}

fn unknown_field_message(field: &str, closest: &[String]) -> String {
    let mut message = format!("no event in scope has a field named {field:?}");
    if closest.is_empty() {
        message.push_str("; GET /api/v1/events/fields lists the fields that can be searched");
    } else {
        message.push_str("; did you mean ");
        message.push_str(&closest.join(", "));
        message.push('?');
    }
    message
}

/// Everything that can go wrong in the event index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query was refused before it ran.
    #[error("invalid event query: {0}")]
    InvalidQuery(#[from] QueryError),
    /// Another process (or another handle in this one) has the index open for writing.
    #[error("the event index at {path} is in use by another process")]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// The index on disk was built with a different schema.
    #[error(
        "the event index at {path} has an incompatible schema ({detail}); move it away to rebuild it from the bus"
    )]
    IncompatibleIndex {
        /// The index directory.
        path: PathBuf,
        /// What tantivy reported.
        detail: String,
    },
    /// A file operation failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// tantivy reported an error.
    #[error("event index {operation} failed: {source}")]
    Index {
        /// What was being done (`commit`, `search`, `add`, ...).
        operation: &'static str,
        /// tantivy's error.
        source: tantivy::TantivyError,
    },
    /// A stored document could not be read back.
    #[error("stored event {id:?} could not be read: {reason}")]
    CorruptDocument {
        /// The event id, when it could be read.
        id: String,
        /// What was wrong.
        reason: String,
    },
    /// The bus failed.
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
    /// The index was closed.
    #[error("the event index is closed")]
    Closed,
    /// The options are unusable.
    #[error("invalid search configuration: {0}")]
    Config(String),
}

impl SearchError {
    /// Wraps a tantivy error with the operation it interrupted.
    pub(crate) fn index(operation: &'static str) -> impl FnOnce(tantivy::TantivyError) -> Self {
        move |source| SearchError::Index { operation, source }
    }

    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| SearchError::Io { path, source }
    }
}
