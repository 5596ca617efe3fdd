//! The resume journal of `nigehban ingest`: per input file, how far the
//! server has acknowledged it.
//!
//! # File format
//!
//! One JSON object per line, appended and `fdatasync`ed after every
//! acknowledged request; for each (server, sensor, file) the last line wins:
//!
//! ```text
//! {"server":"https://nsoc.example","sensor":"5be0...","path":"/cases/42/Security.evtx","kind":"records","acked":12000,"done":false,"size":69632,"head_len":65536,"head_sha256":"9f2c..."}
//! ```
//!
//! - `sensor` identifies the ingest token the file was sent with (a SHA-256
//!   of it, never the token): the same file sent for another sensor is that
//!   sensor's data and is sent in full. Entries written before this field
//!   existed have none and match no token, so such a file is sent once more
//!   (with the same idempotency keys, so search keeps one copy).
//! - `kind` `lines`: `acked` is a byte offset (in the decompressed text for
//!   a gzip file): every line ending at or before it was acknowledged.
//! - `kind` `records`: `acked` is a record count: the first `acked` records
//!   the reader yields (EVTX, JSON documents) were acknowledged.
//! - `head_sha256` is the SHA-256 of the file's first `head_len` bytes; a
//!   file whose head no longer matches was replaced and is sent again from
//!   the start. A file that only grew (a log still being written) keeps its
//!   head and continues where it stopped.
//!
//! Lines that do not parse (a line torn by a crash while appending) are
//! ignored. On open the journal is compacted: rewritten with one line per
//! (server, sensor, file), through a temporary file and a rename.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many bytes of a file's head identify it.
pub(crate) const HEAD_BYTES: u64 = 64 * 1024;

/// What `acked` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProgressKind {
    /// A byte offset after the last acknowledged line.
    Lines,
    /// The number of acknowledged records.
    Records,
}

/// Where files are sent: the server and the sensor whose token sends them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Destination {
    /// The server's base URL.
    pub server: String,
    /// The sensor's identity in the journal: a hash of its ingest token.
    pub sensor: String,
}

impl Destination {
    /// The destination of `token` on `server`.
    pub(crate) fn new(server: &str, token: &str) -> Self {
        Destination {
            server: server.to_owned(),
            sensor: sensor_identity(token),
        }
    }
}

/// What identifies a sensor's token in the journal: the first 128 bits of
/// a SHA-256 over a fixed label and the token, in hex. The token is a
/// random secret, so its hash reveals nothing usable, and the journal never
/// holds the secret itself.
pub(crate) fn sensor_identity(token: &str) -> String {
    let labelled = format!("nigehban ingest journal\x1f{}", token.trim());
    let mut hash = sha256_hex(labelled.as_bytes());
    hash.truncate(32);
    hash
}

/// The key of a journal entry: server, sensor, path.
type EntryKey = (String, String, String);

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub server: String,
    /// The sensor identity ([`sensor_identity`]); empty in journals written
    /// before it was recorded.
    #[serde(default)]
    pub sensor: String,
    pub path: String,
    pub kind: ProgressKind,
    pub acked: u64,
    pub done: bool,
    pub size: u64,
    pub head_len: u64,
    pub head_sha256: String,
}

/// A file as it is now: what identifies it in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    pub path: String,
    pub size: u64,
    pub head_len: u64,
    pub head_sha256: String,
}

impl FileIdentity {
    /// Reads a file's size and head.
    pub(crate) fn of(path: &Path) -> io::Result<Self> {
        let canonical = fs::canonicalize(path)?;
        let mut file = File::open(&canonical)?;
        let size = file.metadata()?.len();
        let mut head = Vec::new();
        (&mut file).take(HEAD_BYTES).read_to_end(&mut head)?;
        Ok(FileIdentity {
            path: canonical.to_string_lossy().into_owned(),
            size,
            head_len: head.len() as u64,
            head_sha256: sha256_hex(&head),
        })
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    crate::sensor::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Where a file stands according to the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Not sent before (or replaced since): send from the start.
    Start,
    /// Partly sent: skip what was acknowledged.
    From(ProgressKind, u64),
    /// Sent completely, and unchanged since.
    Done,
}

/// The journal, loaded, open for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    entries: HashMap<EntryKey, Entry>,
}

impl Entry {
    fn key(&self) -> EntryKey {
        (self.server.clone(), self.sensor.clone(), self.path.clone())
    }
}

/// Reads journal text: the last valid entry per (server, sensor, file).
/// Never fails: lines that do not parse are skipped and counted.
pub(crate) fn parse_journal(text: &[u8]) -> (HashMap<EntryKey, Entry>, usize) {
    let mut entries = HashMap::new();
    let mut invalid = 0;
    for line in text.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => {
                entries.insert(entry.key(), entry);
            }
            Err(_) => invalid += 1,
        }
    }
    (entries, invalid)
}

/// One entry as a journal line (with its line feed).
pub(crate) fn entry_line(entry: &Entry) -> Vec<u8> {
    // Serialising plain strings and numbers cannot fail.
    let mut line = serde_json::to_vec(entry).unwrap_or_default();
    line.push(b'\n');
    line
}

impl Journal {
    /// Opens (creating if needed) and compacts the journal at `path`.
    pub(crate) fn open(path: &Path) -> io::Result<Journal> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let (entries, invalid) = parse_journal(&text);
        if invalid > 0 {
            tracing::warn!(path = %path.display(), invalid, "journal lines that do not parse were ignored");
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let mut compacted: Vec<&Entry> = entries.values().collect();
        compacted.sort_by_key(|entry| entry.key());
        let temporary = path.with_extension("compacting");
        {
            let mut out = File::create(&temporary)?;
            for entry in compacted {
                out.write_all(&entry_line(entry))?;
            }
            out.sync_all()?;
        }
        fs::rename(&temporary, path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(directory) = File::open(parent)
        {
            let _ = directory.sync_all();
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            entries,
        })
    }

    /// The journal file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Where `file` stands for `to`; `head_now` hashes the current file's
    /// first `len` bytes (to compare with the head recorded).
    pub(crate) fn resume(
        &self,
        to: &Destination,
        file: &FileIdentity,
        head_now: impl FnOnce(u64) -> io::Result<String>,
    ) -> Resume {
        let key = (to.server.clone(), to.sensor.clone(), file.path.clone());
        let Some(entry) = self.entries.get(&key) else {
            return Resume::Start;
        };
        if file.size < entry.size.min(entry.head_len) {
            return Resume::Start;
        }
        let same_head = if entry.head_len == file.head_len {
            entry.head_sha256 == file.head_sha256
        } else {
            head_now(entry.head_len).is_ok_and(|head| head == entry.head_sha256)
        };
        if !same_head {
            return Resume::Start;
        }
        if entry.done && entry.size == file.size {
            return Resume::Done;
        }
        if entry.acked == 0 {
            return Resume::Start;
        }
        Resume::From(entry.kind, entry.acked)
    }

    /// Records (durably) that `file` was acknowledged up to `acked`.
    pub(crate) fn record(
        &mut self,
        to: &Destination,
        file: &FileIdentity,
        kind: ProgressKind,
        acked: u64,
        done: bool,
    ) -> io::Result<()> {
        let entry = Entry {
            server: to.server.clone(),
            sensor: to.sensor.clone(),
            path: file.path.clone(),
            kind,
            acked,
            done,
            size: file.size,
            head_len: file.head_len,
            head_sha256: file.head_sha256.clone(),
        };
        self.file.write_all(&entry_line(&entry))?;
        self.file.sync_data()?;
        self.entries.insert(entry.key(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(server: &str) -> Destination {
        Destination::new(server, "ngs_token")
    }

    fn identity(path: &str, size: u64) -> FileIdentity {
        FileIdentity {
            path: path.into(),
            size,
            head_len: size.min(HEAD_BYTES),
            head_sha256: "abc".into(),
        }
    }

    #[test]
    fn progress_survives_reopening_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let file = identity("/data/a.log", 100);
        {
            let mut journal = Journal::open(&path).unwrap();
            assert_eq!(
                journal.resume(&to("s"), &file, |_| Ok(String::new())),
                Resume::Start
            );
            journal
                .record(&to("s"), &file, ProgressKind::Lines, 40, false)
                .unwrap();
            journal
                .record(&to("s"), &file, ProgressKind::Lines, 80, false)
                .unwrap();
            journal
                .record(&to("other"), &file, ProgressKind::Lines, 10, false)
                .unwrap();
        }
        // A crash while appending leaves half a line.
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(b"{\"server\":\"s\",\"path\":\"/data/a.log\",\"ki")
            .unwrap();
        drop(raw);
        let mut journal = Journal::open(&path).unwrap();
        assert_eq!(
            journal.resume(&to("s"), &file, |_| Ok(String::new())),
            Resume::From(ProgressKind::Lines, 80)
        );
        assert_eq!(
            journal.resume(&to("other"), &file, |_| Ok(String::new())),
            Resume::From(ProgressKind::Lines, 10)
        );
        journal
            .record(&to("s"), &file, ProgressKind::Lines, 100, true)
            .unwrap();
        let journal = Journal::open(&path).unwrap();
        assert_eq!(
            journal.resume(&to("s"), &file, |_| Ok(String::new())),
            Resume::Done
        );
        // Compacted: one line per (server, sensor, file).
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    // Regression (issue 8, item 9): the journal was keyed by server and path
    // only, so a file sent for one sensor was skipped for every other.
    #[test]
    fn another_sensors_token_sends_the_file_again_and_the_token_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let file = identity("/cases/42/eve.json", 100);
        let first = Destination::new("s", "ngs_first_sensor_secret");
        let second = Destination::new("s", "ngs_second_sensor_secret");
        assert_ne!(first, second);
        assert_eq!(first, Destination::new("s", " ngs_first_sensor_secret\n"));
        {
            let mut journal = Journal::open(&path).unwrap();
            journal
                .record(&first, &file, ProgressKind::Lines, 100, true)
                .unwrap();
            assert_eq!(
                journal.resume(&first, &file, |_| Ok(String::new())),
                Resume::Done
            );
            assert_eq!(
                journal.resume(&second, &file, |_| Ok(String::new())),
                Resume::Start
            );
        }
        let journal = Journal::open(&path).unwrap();
        assert_eq!(
            journal.resume(&first, &file, |_| Ok(String::new())),
            Resume::Done
        );
        assert_eq!(
            journal.resume(&second, &file, |_| Ok(String::new())),
            Resume::Start
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("ngs_first_sensor_secret"), "{text}");
        assert!(text.contains(&first.sensor), "{text}");
        // A journal written before sensors were recorded matches no token.
        let old = dir.path().join("old-journal");
        fs::write(
            &old,
            "{\"server\":\"s\",\"path\":\"/cases/42/eve.json\",\"kind\":\"lines\",\"acked\":100,\"done\":true,\"size\":100,\"head_len\":100,\"head_sha256\":\"abc\"}\n",
        )
        .unwrap();
        let journal = Journal::open(&old).unwrap();
        assert_eq!(
            journal.resume(&first, &file, |_| Ok(String::new())),
            Resume::Start
        );
    }

    #[test]
    fn replaced_files_start_over_and_grown_files_continue() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(&dir.path().join("j")).unwrap();
        let file = identity("/x", 1000);
        journal
            .record(&to("s"), &file, ProgressKind::Lines, 1000, true)
            .unwrap();
        let mut replaced = file.clone();
        replaced.head_sha256 = "def".into();
        assert_eq!(
            journal.resume(&to("s"), &replaced, |_| Ok(String::new())),
            Resume::Start
        );
        // Grown past the head length it was identified by: the first 1000
        // bytes are hashed again and still match.
        let grown = FileIdentity {
            size: 2000,
            head_len: 2000,
            head_sha256: "new-head".into(),
            ..file.clone()
        };
        assert_eq!(
            journal.resume(&to("s"), &grown, |len| {
                assert_eq!(len, 1000);
                Ok("abc".into())
            }),
            Resume::From(ProgressKind::Lines, 1000)
        );
        assert_eq!(
            journal.resume(&to("s"), &grown, |_| Ok("changed".into())),
            Resume::Start
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn entry() -> impl Strategy<Value = Entry> {
            (
                "[a-z:/.]{1,12}",
                "[0-9a-f]{0,32}",
                "[ -~]{1,20}",
                any::<bool>(),
                any::<u64>(),
                any::<bool>(),
                any::<u64>(),
                0u64..=HEAD_BYTES,
                "[0-9a-f]{64}",
            )
                .prop_map(
                    |(server, sensor, path, lines, acked, done, size, head_len, head_sha256)| {
                        Entry {
                            server,
                            sensor,
                            path,
                            kind: if lines {
                                ProgressKind::Lines
                            } else {
                                ProgressKind::Records
                            },
                            acked,
                            done,
                            size,
                            head_len,
                            head_sha256,
                        }
                    },
                )
        }

        proptest! {
            #[test]
            fn arbitrary_journal_text_never_panics(text in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let (entries, invalid) = parse_journal(&text);
                prop_assert!(entries.len() + invalid <= text.split(|b| *b == b'\n').count());
            }

            #[test]
            fn the_last_valid_entry_per_file_wins_whatever_lies_between(
                entries in proptest::collection::vec(entry(), 0..20),
                garbage in proptest::collection::vec("[ -~]{0,40}", 0..20),
                torn in any::<bool>(),
            ) {
                let mut text = Vec::new();
                let mut expected = HashMap::new();
                for (index, entry) in entries.iter().enumerate() {
                    text.extend_from_slice(&entry_line(entry));
                    if let Some(noise) = garbage.get(index) {
                        // Noise that is not a journal entry.
                        text.extend_from_slice(format!("#{noise}\n").as_bytes());
                    }
                    expected.insert(entry.key(), entry.clone());
                }
                if torn && let Some(last) = entries.last() {
                    let line = entry_line(last);
                    text.extend_from_slice(&line[..line.len() / 2]);
                }
                let (parsed, _) = parse_journal(&text);
                prop_assert_eq!(parsed, expected);
            }
        }
    }
}
