//! The audit key's file: where the key that seals the audit chain is kept, outside the database.
//!
//! By default the key is `audit.key` in the data directory; an operator can
//! keep it elsewhere (another disk, a secrets mount shared by the servers of
//! a PostgreSQL deployment). It is created, mode 0600, the first time a
//! writer opens a database whose audit log has no key yet (a new platform, or
//! one upgraded from a schema without keys, whose existing entries are then
//! sealed). It is never replaced: opening a sealed log without its key file,
//! or with another key, is refused with what to do.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use nigehban_model::{AuditKey, KeyFingerprint};

use crate::{StoreError, StoreResult};

/// The key file's name in the data directory.
pub const AUDIT_KEY_FILE: &str = "audit.key";

/// Where the audit key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKeyFile {
    path: PathBuf,
}

/// What a writer does with the key when it opens the store.
#[derive(Debug)]
pub(crate) enum KeyDecision {
    /// The log is sealed with this key already.
    Use(AuditKey),
    /// The log has no key yet: seal its entries with this one and record it.
    Install(AuditKey),
}

impl AuditKeyFile {
    /// The key file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The default: `audit.key` in the data directory.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::at(data_dir.join(AUDIT_KEY_FILE))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the key; `None` if there is no file.
    pub fn load(&self) -> StoreResult<Option<AuditKey>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    context: format!("cannot read the audit key file {}", self.path.display()),
                    source,
                });
            }
        };
        warn_if_readable_by_others(&self.path);
        AuditKey::from_file_text(&text)
            .map(Some)
            .map_err(|error| StoreError::BadAuditKey {
                path: self.path.clone(),
                reason: error.to_string(),
            })
    }

    /// Reads the key, which must exist (e.g. to verify the log).
    pub fn load_existing(&self) -> StoreResult<AuditKey> {
        self.load()?.ok_or_else(|| StoreError::AuditKeyNotFound {
            path: self.path.clone(),
        })
    }

    /// Creates a new random key in a new file (mode 0600; never overwrites),
    /// synced to disk with its directory entry.
    pub fn create(&self) -> StoreResult<AuditKey> {
        let io = |what: &str| {
            let context = format!("cannot {what} the audit key file {}", self.path.display());
            move |source| StoreError::Io { context, source }
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create the directory of"))?;
        }
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let key = AuditKey::from_bytes(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(io("create"))?;
        file.write_all(key.to_file_text().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io("write"))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The file's name must survive a power cut too.
            std::fs::File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(io("sync the directory of"))?;
        }
        tracing::info!(path = %self.path.display(), fingerprint = %key.fingerprint(), "audit key created");
        Ok(key)
    }

    /// Decides, for a writer, given the fingerprint the database records (if any).
    pub(crate) fn decide(&self, recorded: Option<KeyFingerprint>) -> StoreResult<KeyDecision> {
        match (self.load()?, recorded) {
            (Some(key), Some(recorded)) if key.fingerprint() == recorded => {
                Ok(KeyDecision::Use(key))
            }
            (Some(key), Some(recorded)) => Err(StoreError::AuditKeyMismatch {
                path: self.path.clone(),
                recorded,
                found: key.fingerprint(),
            }),
            (None, Some(recorded)) => Err(StoreError::AuditKeyMissing {
                path: self.path.clone(),
                recorded,
            }),
            (Some(key), None) => Ok(KeyDecision::Install(key)),
            (None, None) => Ok(KeyDecision::Install(self.create()?)),
        }
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", metadata.permissions().mode() & 0o777),
            "the audit key file can be read by other users: make it mode 0600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_loads_back_and_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = AuditKeyFile::in_data_dir(&dir.path().join("data"));
        assert!(file.load().unwrap().is_none());
        assert!(matches!(
            file.load_existing(),
            Err(StoreError::AuditKeyNotFound { .. })
        ));
        let key = file.create().unwrap();
        assert_eq!(file.load().unwrap(), Some(key.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(file.create(), Err(StoreError::Io { .. })));
        assert_eq!(file.load().unwrap(), Some(key));
    }

    #[test]
    fn a_writer_uses_installs_or_refuses_as_the_database_says() {
        let dir = tempfile::tempdir().unwrap();
        let file = AuditKeyFile::in_data_dir(dir.path());
        // A new log: a key is made.
        let KeyDecision::Install(key) = file.decide(None).unwrap() else {
            panic!("a new log gets a key")
        };
        let KeyDecision::Use(used) = file.decide(Some(key.fingerprint())).unwrap() else {
            panic!("the recorded key is used")
        };
        assert_eq!(used, key);
        let other = AuditKey::from_bytes([5; 32]).fingerprint();
        let error = file.decide(Some(other)).unwrap_err();
        assert!(error.to_string().contains(&other.to_string()), "{error}");
        std::fs::remove_file(file.path()).unwrap();
        let error = file.decide(Some(key.fingerprint())).unwrap_err();
        assert!(matches!(error, StoreError::AuditKeyMissing { .. }));
        assert!(error.to_string().contains("audit.key"), "{error}");
        std::fs::write(file.path(), "not a key").unwrap();
        let error = file.decide(None).unwrap_err();
        assert!(matches!(error, StoreError::BadAuditKey { .. }), "{error}");
    }
}
