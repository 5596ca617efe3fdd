//! Walking the paths a responder gives: files as they are, directories recursively.
//!
//! The policy, for collections copied off a victim's machines:
//! - a path given on the command line is read whatever it is (a file, a FIFO such as
//!   `<(zcat logs.gz)`), except a directory, which is walked;
//! - a directory's entries are visited in name order, depth first, hidden ones included:
//!   nothing is skipped by name or extension, the content decides the format;
//! - symbolic links are followed, to files and to directories; a directory reached again
//!   (a link loop, or two links to one place) is reported and not walked twice, and a file
//!   reached again is read once; a link that points nowhere is reported;
//! - inside a directory, something that is neither a file nor a directory (FIFO, socket,
//!   device) is reported and not opened, since opening it could block the walk;
//! - an entry that can't be read or listed is reported and the walk goes on.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Location};

/// The files under some paths, in order, with an error for each entry that can't be
/// walked (see the module documentation for the policy).
pub struct Walk {
    /// Paths still to visit, the next one last; `true` for paths given by the caller.
    stack: Vec<(PathBuf, bool)>,
    /// Errors met while listing a directory, reported before going on.
    errors: VecDeque<Error>,
    /// Directories and files already visited, by canonical path.
    seen_directories: HashSet<PathBuf>,
    seen_files: HashSet<PathBuf>,
}

/// Walks `paths`: each file as it is, each directory recursively.
pub fn walk<I>(paths: I) -> Walk
where
    I: IntoIterator,
    I::Item: AsRef<Path>,
{
    let mut stack: Vec<(PathBuf, bool)> = paths
        .into_iter()
        .map(|path| (path.as_ref().to_path_buf(), true))
        .collect();
    stack.reverse();
    Walk {
        stack,
        errors: VecDeque::new(),
        seen_directories: HashSet::new(),
        seen_files: HashSet::new(),
    }
}

fn error(path: &Path, kind: ErrorKind) -> Error {
    Error::new(Arc::from(path), Location::File, kind)
}

/// What kind of thing that is neither file nor directory a file type is.
fn special_kind(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "device";
        }
    }
    let _ = file_type;
    "special file"
}

impl Walk {
    /// Queues the entries of `directory` in name order, or returns why it can't be listed.
    fn list(&mut self, directory: &Path) -> Option<Error> {
        let entries = match fs::read_dir(directory) {
            Ok(entries) => entries,
            Err(cause) => return Some(error(directory, ErrorKind::ListDirectory(cause))),
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(cause) => self
                    .errors
                    .push_back(error(directory, ErrorKind::ListDirectory(cause))),
            }
        }
        paths.sort();
        self.stack
            .extend(paths.into_iter().rev().map(|path| (path, false)));
        None
    }
}

impl Iterator for Walk {
    type Item = Result<PathBuf, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(error) = self.errors.pop_front() {
                return Some(Err(error));
            }
            let (path, given) = self.stack.pop()?;
            let metadata = match fs::metadata(&path) {
                Ok(metadata) => metadata,
                Err(cause) => {
                    let is_link = fs::symlink_metadata(&path)
                        .is_ok_and(|metadata| metadata.file_type().is_symlink());
                    let kind = if is_link {
                        ErrorKind::BrokenSymlink
                    } else {
                        ErrorKind::Io(cause)
                    };
                    return Some(Err(error(&path, kind)));
                }
            };
            let canonical = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if metadata.is_dir() {
                if !self.seen_directories.insert(canonical) {
                    return Some(Err(error(&path, ErrorKind::DirectoryLoop)));
                }
                if let Some(error) = self.list(&path) {
                    return Some(Err(error));
                }
                continue;
            }
            if !metadata.is_file() && !given {
                let kind = ErrorKind::NotAFile(special_kind(metadata.file_type()));
                return Some(Err(error(&path, kind)));
            }
            if self.seen_files.insert(canonical) {
                return Some(Ok(path));
            }
        }
    }
}
