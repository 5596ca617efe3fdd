//! The lock a server holds on its data directory for as long as it runs, so that nothing
//! replaces the directory's contents under it: `nigehban restore` takes the same lock and is
//! refused while a server holds it.
//!
//! The lock is an exclusive advisory lock on `<data-dir>/nigehban.lock`, held through an
//! open file: the operating system drops it when the process ends, however it ends, so a
//! crashed server leaves no stale lock behind (unlike a pid file, which would have to be
//! trusted). The embedded bus holds a lock of its own on `<data-dir>/bus/LOCK`, which
//! restore checks too (a server of an earlier version holds only that one).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "nigehban.lock";

/// The bus's own lock file, relative to the data directory.
const BUS_LOCK_FILE: &str = "bus/LOCK";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another process holds the lock: a server runs on this directory.
    #[error(
        "the data directory {path} is in use by a running nigehban server (it holds the lock on {lock}); stop that server first"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// The lock file that is held.
        lock: PathBuf,
    },
    /// The directory or its lock file could not be created or locked.
    #[error("cannot lock the data directory {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates the data directory if needed (readable by its owner only) and locks it, or says
/// that a server holds it.
pub fn lock(data_dir: &Path) -> Result<DataDirLock, DataDirError> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(LOCK_FILE);
    let io = |source| DataDirError::Io {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(DataDirError::InUse {
                path: data_dir.to_owned(),
                lock: path,
            });
        }
        Err(TryLockError::Error(source)) => return Err(io(source)),
    }
    // For a person looking at the directory; never read back (the lock is the truth).
    file.set_len(0).map_err(io)?;
    writeln!(file, "locked by nigehban process {}", std::process::id()).map_err(io)?;
    Ok(DataDirLock { _file: file })
}

/// Fails with [`DataDirError::InUse`] if a process holds the embedded bus's lock in
/// `data_dir` (a server of an earlier version, which held no data directory lock).
pub fn check_bus_unlocked(data_dir: &Path) -> Result<(), DataDirError> {
    let path = data_dir.join(BUS_LOCK_FILE);
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(DataDirError::Io { path, source }),
    };
    match file.try_lock() {
        // Dropping the file releases it at once.
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(DataDirError::InUse {
            path: data_dir.to_owned(),
            lock: path,
        }),
        Err(TryLockError::Error(source)) => Err(DataDirError::Io { path, source }),
    }
}

/// Creates a directory (and its parents) that only its owner can read, if it is not there.
pub fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| DataDirError::Io {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let held = lock(&data).unwrap();
        let error = lock(&data).unwrap_err();
        assert!(matches!(error, DataDirError::InUse { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("in use by a running nigehban server")
        );
        assert!(error.to_string().contains("nigehban.lock"), "{error}");
        drop(held);
        let _again = lock(&data).unwrap();
    }

    #[test]
    fn a_held_bus_lock_counts_as_in_use() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_bus_unlocked(dir.path()).is_ok());
        fs::create_dir_all(dir.path().join("bus")).unwrap();
        let bus_lock = File::create(dir.path().join(BUS_LOCK_FILE)).unwrap();
        assert!(check_bus_unlocked(dir.path()).is_ok());
        bus_lock.lock().unwrap();
        assert!(matches!(
            check_bus_unlocked(dir.path()),
            Err(DataDirError::InUse { .. })
        ));
        drop(bus_lock);
        assert!(check_bus_unlocked(dir.path()).is_ok());
    }
}
