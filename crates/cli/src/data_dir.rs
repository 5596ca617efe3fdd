//! The data directory's protection: it holds the database with password
//! hashes, the audit key, the event bus and index, and backups.
//!
//! Everything the process creates is private to its user (umask 077, set at
//! start); the data directory is made mode 0700 and, at every start, any
//! directory or file in it that other users can reach is fixed (directories
//! 0700, files without group and other bits), so an installation made by an
//! earlier version (files 0644) is closed too.

use std::path::Path;

use anyhow::Context as _;

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

#[cfg(all(test, unix))]
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
