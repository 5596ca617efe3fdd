//! Bytes in: opening a file, seeing through gzip, and reading with errors that say where.

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use crate::Compression;
use crate::error::{Error, ErrorKind, Location};

/// A byte stream with its file's name, counting what it has read so that a read error
/// can say where it happened.
pub(crate) struct Stream {
    reader: Box<dyn Read + Send>,
    path: Arc<Path>,
    compression: Compression,
    /// Bytes read so far (decompressed bytes for a compressed file).
    consumed: u64,
}

/// What one read of a [`Stream`] gave.
pub(crate) enum Filled {
    /// Some bytes were appended.
    Data,
    /// The stream has ended.
    End,
    /// The stream failed; nothing more will be read from it.
    Failed(Error),
}

impl Stream {
    /// A stream over `reader`, which reads the (decompressed) contents of the file at `path`.
    pub(crate) fn new(
        reader: Box<dyn Read + Send>,
        path: Arc<Path>,
        compression: Compression,
    ) -> Self {
        Stream {
            reader,
            path,
            compression,
            consumed: 0,
        }
    }

    /// The file's name, for errors.
    pub(crate) fn path(&self) -> &Arc<Path> {
        &self.path
    }

    /// Appends up to `max` bytes to `buf` with one successful read.
    pub(crate) fn fill(&mut self, buf: &mut Vec<u8>, max: usize) -> Filled {
        let old_len = buf.len();
        buf.resize(old_len + max, 0);
        loop {
            match self.reader.read(&mut buf[old_len..]) {
                Ok(0) => {
                    buf.truncate(old_len);
                    return Filled::End;
                }
                Ok(n) => {
                    buf.truncate(old_len + n);
                    self.consumed += n as u64;
                    return Filled::Data;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    buf.truncate(old_len);
                    return Filled::Failed(self.read_error(error));
                }
            }
        }
    }

    /// Appends to `buf` until it holds `want` bytes or the stream ends or fails; returns the
    /// failure, if any.
    pub(crate) fn fill_to(&mut self, buf: &mut Vec<u8>, want: usize) -> Option<Error> {
        while buf.len() < want {
            match self.fill(buf, want - buf.len()) {
                Filled::Data => {}
                Filled::End => return None,
                Filled::Failed(error) => return Some(error),
            }
        }
        None
    }

    /// The error for a failed read, placed after the bytes read so far.
    fn read_error(&self, error: io::Error) -> Error {
        match self.compression {
            Compression::Gzip => Error::new(
                self.path.clone(),
                Location::Decompressed {
                    offset: self.consumed,
                },
                ErrorKind::Gzip(error),
            ),
            Compression::None => {
                Error::new(self.path.clone(), Location::File, ErrorKind::Io(error))
            }
        }
    }
}

/// Whether `bytes` start like a gzip stream (magic `1f 8b`, method deflate).
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b, 0x08])
}
