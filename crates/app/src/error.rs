//! The app's errors: what the server turns into HTTP statuses.

use nigehban_model::Timestamp;
use nigehban_store::StoreError;

/// Why a service call failed.
///
/// The server maps these to statuses: `NotFound` 404, `Forbidden` 403,
/// `Unauthenticated` 401, `Throttled` 429, `Invalid` 400 (or 422),
/// `Conflict` 409, `Unsupported` 501, `Unavailable` 503 with `Retry-After`,
/// `IntegrityFailure` 500 (with its message), `Storage`/`Internal` 500
/// (logged, not shown).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The record does not exist, or the caller may not see it (the two are indistinguishable on purpose).
    #[error("{kind} {id} not found")]
    NotFound {
        /// The kind of record, e.g. "tenant".
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The caller sees the record but its role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Wrong or missing credentials, or an expired session or token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Too many failures (sign-ins for this user name or from this address,
    /// refused user names); try again later.
    #[error("too many failed attempts; try again after {retry_after}")]
    Throttled {
        /// When sign-in may be tried again.
        retry_after: Timestamp,
    },
    /// The request makes no sense for the records as they are (e.g. an organisation at the root).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with existing data (e.g. a user name already taken, a cycle).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The operation is not available with this storage backend.
    #[error("{0}")]
    Unsupported(String),
    /// Storage failed.
    #[error("storage error: {0}")]
    Storage(#[source] StoreError),
    /// Stored evidence no longer matches its recorded SHA-256 (or is gone):
    /// altered behind the platform's back. The message is for the caller.
    #[error("{0}")]
    IntegrityFailure(String),
    /// Storage cannot be reached now; a retry later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] StoreError),
    /// Something inside the app failed (e.g. password hashing).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A [`AppError::NotFound`] for a record kind and id.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { kind, id } => AppError::NotFound { kind, id },
            StoreError::Conflict(message) => AppError::Conflict(message),
            cycle @ StoreError::Cycle { .. } => AppError::Conflict(cycle.to_string()),
            StoreError::BadCursor(message) => AppError::Invalid(message),
            StoreError::Unsupported(message) => AppError::Unsupported(message),
            stale @ StoreError::Stale { .. } => AppError::Conflict(stale.to_string()),
            unavailable @ StoreError::Unavailable { .. } => AppError::Unavailable(unavailable),
            other => AppError::Storage(other),
        }
    }
}

/// Result of a service call.
pub type AppResult<T> = Result<T, AppError>;
