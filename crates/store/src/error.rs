//! Storage errors.

use std::error::Error as StdError;
use std::path::PathBuf;

use nigehban_model::KeyFingerprint;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// The kind of record, e.g. "tenant".
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The change conflicts with existing data (e.g. a user name already taken, a second root).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record was changed by someone else since it was read; read it again and retry.
    #[error("{kind} {id} was changed by someone else meanwhile; read it again and retry")]
    Stale {
        /// The kind of record, e.g. "incident".
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// Moving the tenant under the new parent would put it below itself.
    #[error(
        "cannot move tenant {tenant} under {new_parent}: {new_parent} is the tenant itself or below it"
    )]
    Cycle {
        /// The tenant being moved.
        tenant: String,
        /// The parent it was to move under.
        new_parent: String,
    },
    /// A pagination cursor that this list did not issue.
    #[error("invalid cursor: {0}")]
    BadCursor(String),
    /// The operation is not available on this backend (e.g. online backup on PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
    /// A stored value could not be read back into a domain type.
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// Applying schema migrations failed.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// The migration's number.
        version: i64,
        /// The migration's name.
        name: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A migration is pending and this database role may not apply it (the server's role on PostgreSQL).
    #[error(
        "the schema needs migration {version} ({name}), which this database role may not apply: run `nigehban migrate` as the schema's owner (README: PostgreSQL roles)"
    )]
    MigrationNotAllowed {
        /// The migration's number.
        version: i64,
        /// The migration's name.
        name: &'static str,
    },
    /// The database holds migrations newer than this program knows.
    #[error(
        "the database schema is at version {found}, newer than this program's {known}; upgrade nigehban"
    )]
    SchemaTooNew {
        /// The newest migration applied in the database.
        found: i64,
        /// The newest migration this program has.
        known: i64,
    },
    /// The database is older than this program, and the caller may not migrate it (e.g. `audit verify`).
    #[error(
        "the database schema is at version {found}, older than this program's {known}; it is opened read-only, so it is not migrated: run `nigehban migrate` first, or check it with the nigehban version that wrote it"
    )]
    SchemaTooOld {
        /// The newest migration applied in the database.
        found: i64,
        /// The newest migration this program has.
        known: i64,
    },
    /// There is no Nigehban database where one was to be opened read-only.
    #[error("no Nigehban database at {0}")]
    NoDatabase(String),
    /// The audit log is sealed with a key whose file is missing.
    #[error(
        "the audit log is sealed with the key of fingerprint {recorded}, which is not at {}: put the key file back from where its copy is kept (or name its place with audit_key_file); nigehban does not make a new key for a sealed log",
        path.display()
    )]
    AuditKeyMissing {
        /// Where the key was looked for.
        path: PathBuf,
        /// The fingerprint the database records.
        recorded: KeyFingerprint,
    },
    /// The key file holds another key than the one the log is sealed with.
    #[error(
        "the audit key at {} (fingerprint {found}) is not the key this database's audit log is sealed with (fingerprint {recorded}): give the right key file with audit_key_file",
        path.display()
    )]
    AuditKeyMismatch {
        /// The key file.
        path: PathBuf,
        /// The fingerprint the database records.
        recorded: KeyFingerprint,
        /// The fingerprint of the key in the file.
        found: KeyFingerprint,
    },
    /// A key is needed (e.g. to verify the log) and there is none at the path.
    #[error(
        "no audit key at {}: the audit log can only be verified with the key it is sealed with (give its file with --audit-key-file or NIGEHBAN_AUDIT_KEY_FILE)",
        path.display()
    )]
    AuditKeyNotFound {
        /// Where the key was looked for.
        path: PathBuf,
    },
    /// The key file is not a Nigehban audit key.
    #[error("audit key file {}: {reason}", path.display())]
    BadAuditKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file system error (data directory, backup file).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The database cannot be reached now (stopped, restarting, refusing or dropping
    /// connections): a retry later may succeed.
    #[error("{backend} is unavailable: {source}")]
    Unavailable {
        /// "sqlite" or "postgresql".
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The database backend reported an error.
    #[error("{backend} error: {source}")]
    Backend {
        /// "sqlite" or "postgresql".
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl StoreError {
    /// A [`StoreError::NotFound`] for a record kind and id.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// A [`StoreError::Corrupt`] for a value that could not be read back.
    pub fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Backend {
            backend: "sqlite",
            source: Box::new(error),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        if postgres_unavailable(&error) {
            StoreError::Unavailable {
                backend: "postgresql",
                source: Box::new(error),
            }
        } else {
            StoreError::Backend {
                backend: "postgresql",
                source: Box::new(error),
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        let unavailable = match &error {
            PoolError::Timeout(_) | PoolError::Closed => true,
            PoolError::Backend(backend) => postgres_unavailable(backend),
            PoolError::NoRuntimeSpecified | PoolError::PostCreateHook(_) => false,
        };
        if unavailable {
            StoreError::Unavailable {
                backend: "postgresql",
                source: Box::new(error),
            }
        } else {
            StoreError::Backend {
                backend: "postgresql",
                source: Box::new(error),
            }
        }
    }
}

/// Whether a PostgreSQL error says the server cannot be reached now rather than
/// that the statement failed: a closed or refused connection, or SQLSTATE class 08
/// (connection exception), 57P (shutting down, starting up) or 53300 (too many
/// connections).
fn postgres_unavailable(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(state) => {
            let code = state.code();
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }
        // No SQLSTATE: connecting or the connection's I/O failed.
        None => StdError::source(error).is_some_and(|source| source.is::<std::io::Error>()),
    }
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;
