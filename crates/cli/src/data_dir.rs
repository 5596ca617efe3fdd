//! The data directory's protection: it holds the database with password
//! hashes, the audit key, the event bus and index, and backups.
//!
//! Everything the process creates is private to its user (umask 077, set at
//! start); the data directory is made mode 0700 and, at every start, any
//! directory or file in it that other users can reach is fixed (directories
//! 0700, files without group and other bits), so an installation made by an
//! earlier version (files 0644) is closed too.
//!
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

use anyhow::Context as _;

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

/// Makes every file and directory this process creates private to its user.
pub fn restrict_new_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates the data directory (mode 0700) if needed and takes group and
/// other permissions off everything in it; returns how many entries it fixed.
pub fn secure(data_dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let fixed = fix_tree(data_dir)?;
    if fixed > 0 {
        tracing::warn!(
            data_dir = %data_dir.display(),
            fixed,
            "files in the data directory could be read by other users: made them private"
        );
    }
    Ok(fixed)
}

#[cfg(unix)]
fn fix_tree(dir: &Path) -> anyhow::Result<usize> {
    let mut fixed = usize::from(make_private(dir)?);
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        // Symbolic links are not followed: what they point to is not ours to change.
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if kind.is_dir() {
            fixed += fix_tree(&path)?;
        } else if kind.is_file() {
            fixed += usize::from(make_private(&path)?);
        }
    }
    Ok(fixed)
}

#[cfg(not(unix))]
fn fix_tree(_dir: &Path) -> anyhow::Result<usize> {
    Ok(0)
}

/// Takes group and other permissions off one entry; returns whether it had any.
#[cfg(unix)]
fn make_private(path: &Path) -> anyhow::Result<bool> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read the permissions of {}", path.display()))?;
    let mode = metadata.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7700))
        .with_context(|| format!("cannot make {} private", path.display()))?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod lock_tests {
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

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_open_data_directory_is_closed() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("bus")).unwrap();
        for (path, mode) in [(data.clone(), 0o755), (data.join("bus"), 0o775)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        for file in ["nigehban.db", "bus/00000000.seg"] {
            std::fs::write(data.join(file), b"x").unwrap();
            std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        assert_eq!(secure(&data).unwrap(), 4);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("bus")), 0o700);
        assert_eq!(mode(&data.join("nigehban.db")), 0o600);
        assert_eq!(mode(&data.join("bus/00000000.seg")), 0o600);
        assert_eq!(secure(&data).unwrap(), 0);
        let fresh = root.path().join("fresh");
        secure(&fresh).unwrap();
        assert!(fresh.is_dir());
    }
}
