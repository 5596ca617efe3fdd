//! The backup file: one tar archive with a manifest.
//!
//! Entries, in this order:
//!
//! 1. `FORMAT`: the line `nigehban-backup 1`, so a restore recognises the file at once;
//! 2. `store/nigehban.db`: the embedded SQLite store (`VACUUM INTO` snapshot), when the
//!    platform runs on it;
//! 3. `bus/segments/<base>.seg` and `bus/consumers/<name>.offset`: the embedded event bus
//!    (an [`nigehban_bus::EmbeddedSnapshot`]), when the platform runs on it;
//! 4. `manifest.json` ([`Manifest`]): versions, the audit chain head, the bus offsets, and
//!    the size and SHA-256 of every other entry. It comes last because the digests are
//!    computed while the entries are written (a bus of many gigabytes is read once).
//!
//! The search index is not in the archive: it is derived from the events, and a server
//! that finds no index builds a new one from the bus.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// The first entry's name.
pub const FORMAT_ENTRY: &str = "FORMAT";
/// The first entry's contents.
pub const FORMAT_LINE: &str = "nigehban-backup 1\n";
/// The manifest's entry name.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// The store's entry name.
pub const STORE_ENTRY: &str = "store/nigehban.db";

/// What a backup holds, written as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `nigehban-backup`.
    pub format: String,
    /// The archive layout's version (1).
    pub version: u32,
    /// The version of `nigehban` that wrote it.
    pub nigehban_version: String,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// The store, if the archive holds it.
    pub store: Option<StoreManifest>,
    /// The embedded event bus, if the archive holds it.
    pub bus: Option<BusManifest>,
    /// Every entry but `FORMAT` and the manifest, by name.
    pub files: BTreeMap<String, FileManifest>,
}

/// The store part of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreManifest {
    /// The entry holding the database.
    pub file: String,
    /// The audit chain's last entry in the snapshot.
    pub audit_head_seq: u64,
    /// Its hash (hex).
    pub audit_head_hash: String,
}

/// The event bus part of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusManifest {
    /// The oldest offset held.
    pub oldest_offset: u64,
    /// One past the newest offset held.
    pub next_offset: u64,
    /// Events held (`next_offset - oldest_offset`).
    pub events: u64,
    /// Bytes of bus files.
    pub bytes: u64,
    /// Each durable consumer's committed offset when the backup was taken.
    pub consumers: BTreeMap<String, u64>,
}

/// One entry's size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileManifest {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
}

/// Writes a backup archive entry by entry.
pub struct ArchiveWriter {
    builder: tar::Builder<File>,
    files: BTreeMap<String, FileManifest>,
}

impl ArchiveWriter {
    /// Starts an archive in `file` with its `FORMAT` entry.
    pub fn new(file: File) -> anyhow::Result<Self> {
        let mut writer = ArchiveWriter {
            builder: tar::Builder::new(file),
            files: BTreeMap::new(),
        };
        writer.append_raw(FORMAT_ENTRY, FORMAT_LINE.as_bytes(), 0)?;
        Ok(writer)
    }

    /// Adds `len` bytes from `contents` as `name`, with modification time `mtime` (Unix
    /// seconds), recording their digest for the manifest.
    pub fn append(
        &mut self,
        name: &str,
        len: u64,
        mtime: u64,
        contents: impl Read,
    ) -> anyhow::Result<()> {
        let mut hashing = HashingReader::new(contents);
        let mut header = header(len, mtime);
        self.builder
            .append_data(&mut header, name, &mut hashing)
            .with_context(|| format!("cannot write {name} into the backup"))?;
        if hashing.read != len {
            bail!(
                "{name} changed while it was copied: {} bytes read where {len} were expected",
                hashing.read
            );
        }
        self.files.insert(
            name.to_owned(),
            FileManifest {
                bytes: len,
                sha256: hashing.finish(),
            },
        );
        Ok(())
    }

    /// Adds the manifest (with the digests of every entry written) and finishes the archive.
    pub fn finish(mut self, mut manifest: Manifest) -> anyhow::Result<File> {
        manifest.files = std::mem::take(&mut self.files);
        let text = serde_json::to_vec_pretty(&manifest).context("cannot write the manifest")?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.append_raw(MANIFEST_ENTRY, &text, now)?;
        self.builder
            .into_inner()
            .context("cannot finish the backup archive")
    }

    fn append_raw(&mut self, name: &str, data: &[u8], mtime: u64) -> anyhow::Result<()> {
        let mut header = header(data.len() as u64, mtime);
        self.builder
            .append_data(&mut header, name, data)
            .with_context(|| format!("cannot write {name} into the backup"))
    }
}

fn header(len: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// What [`extract`] wrote into the staging directory.
#[derive(Debug)]
pub struct Extracted {
    /// The manifest, checked against the entries.
    pub manifest: Manifest,
}

/// Reads a backup archive into `staging` (which must be empty), checking the format line
/// first and every entry's size and SHA-256 against the manifest at the end. Entry names
/// must be ones a backup writes: nothing lands outside `staging`.
pub fn extract(archive: &Path, staging: &Path) -> anyhow::Result<Extracted> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let not_a_backup = || {
        format!(
            "{} is not a nigehban backup (no `{FORMAT_ENTRY}` entry saying {:?})",
            archive.display(),
            FORMAT_LINE.trim_end()
        )
    };
    let mut entries_of = tar::Archive::new(file);
    let mut entries = entries_of.entries().with_context(not_a_backup)?;
    {
        let mut first = entries
            .next()
            .with_context(not_a_backup)?
            .with_context(not_a_backup)?;
        let name = entry_name(&first)?;
        let mut line = String::new();
        if name != FORMAT_ENTRY
            || first.header().size().unwrap_or(0) > 64
            || first.read_to_string(&mut line).is_err()
        {
            bail!(not_a_backup());
        }
        if line != FORMAT_LINE {
            bail!(
                "{} is a nigehban backup of another format ({:?}); this version reads {:?}",
                archive.display(),
                line.trim_end(),
                FORMAT_LINE.trim_end()
            );
        }
    }
    let mut seen: BTreeMap<String, FileManifest> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{} is damaged", archive.display()))?;
        let name = entry_name(&entry)?;
        if manifest.is_some() {
            bail!(
                "{}: entry {name} follows the manifest, which must be last",
                archive.display()
            );
        }
        if name == MANIFEST_ENTRY {
            let mut text = Vec::new();
            entry
                .read_to_end(&mut text)
                .with_context(|| format!("cannot read the manifest of {}", archive.display()))?;
            manifest = Some(serde_json::from_slice(&text).with_context(|| {
                format!("the manifest of {} is not readable", archive.display())
            })?);
            continue;
        }
        let relative = safe_relative_path(&name).with_context(|| {
            format!(
                "{}: entry {name:?} is not one a backup holds",
                archive.display()
            )
        })?;
        if seen.contains_key(&name) {
            bail!("{}: entry {name} appears twice", archive.display());
        }
        let target = staging.join(&relative);
        if let Some(parent) = target.parent() {
            crate::data_dir::create_private_dir(parent)?;
        }
        let mtime = entry.header().mtime().unwrap_or(0);
        let mut out = create_private_file(&target)?;
        let mut hashing = HashingReader::new(&mut entry);
        io::copy(&mut hashing, &mut out)
            .with_context(|| format!("cannot extract {name} to {}", target.display()))?;
        out.sync_all()
            .with_context(|| format!("cannot sync {}", target.display()))?;
        // The bus ages sealed segments by their modification time: keep retention's clock.
        let modified = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
        out.set_modified(modified)
            .with_context(|| format!("cannot set the time of {}", target.display()))?;
        let read = hashing.read;
        seen.insert(
            name,
            FileManifest {
                bytes: read,
                sha256: hashing.finish(),
            },
        );
    }
    let manifest = manifest.with_context(|| {
        format!(
            "{} has no manifest: the backup was cut short",
            archive.display()
        )
    })?;
    if manifest.format != "nigehban-backup" || manifest.version != 1 {
        bail!(
            "{}: the manifest is of format {:?} version {}, not nigehban-backup 1",
            archive.display(),
            manifest.format,
            manifest.version
        );
    }
    for (name, expected) in &manifest.files {
        match seen.get(name) {
            None => bail!(
                "{}: {name} is in the manifest but not in the archive",
                archive.display()
            ),
            Some(found) if found != expected => bail!(
                "{}: {name} is damaged ({} bytes, SHA-256 {}; the manifest says {} bytes, SHA-256 {})",
                archive.display(),
                found.bytes,
                found.sha256,
                expected.bytes,
                expected.sha256
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|name| !manifest.files.contains_key(*name)) {
        bail!(
            "{}: {extra} is in the archive but not in its manifest",
            archive.display()
        );
    }
    Ok(Extracted { manifest })
}

fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> anyhow::Result<String> {
    let path = entry.path().context("an entry name is not readable")?;
    path.to_str()
        .map(str::to_owned)
        .context("an entry name is not UTF-8")
}

/// The entry's path if it is one a backup writes: the store, or a file under `bus/segments`
/// or `bus/consumers`, with no `..`, no root and nothing else.
fn safe_relative_path(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let allowed = name == STORE_ENTRY
        || ["bus/segments/", "bus/consumers/"].iter().any(|dir| {
            name.strip_prefix(dir)
                .is_some_and(|file| !file.is_empty() && !file.contains('/'))
        });
    allowed.then(|| path.to_path_buf())
}

/// Creates a file only its owner can read (backups hold password hashes).
pub fn create_private_file(path: &Path) -> anyhow::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// A reader that counts and hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    context: ring::digest::Context,
    read: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            context: ring::digest::Context::new(&ring::digest::SHA256),
            read: 0,
        }
    }

    fn finish(self) -> String {
        let digest = self.context.finish();
        let mut hex = String::with_capacity(64);
        for byte in digest.as_ref() {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.context.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Flushes and syncs a finished archive file.
pub fn sync(mut file: File) -> anyhow::Result<()> {
    file.flush()?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: "nigehban-backup".into(),
            version: 1,
            nigehban_version: "test".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            store: None,
            bus: None,
            files: BTreeMap::new(),
        }
    }

    fn write(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("backup.tar");
        let mut writer = ArchiveWriter::new(create_private_file(&path).unwrap()).unwrap();
        for (name, data) in entries {
            writer
                .append(name, data.len() as u64, 1_700_000_000, *data)
                .unwrap();
        }
        sync(writer.finish(manifest()).unwrap()).unwrap();
        path
    }

    #[test]
    fn entries_come_back_with_their_times_and_are_checked_against_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &[
                (STORE_ENTRY, b"database"),
                ("bus/segments/00000000000000000001.seg", b"segment"),
            ],
        );
        let staging = dir.path().join("staging");
        let extracted = extract(&path, &staging).unwrap();
        assert_eq!(extracted.manifest.files.len(), 2);
        assert_eq!(
            std::fs::read(staging.join(STORE_ENTRY)).unwrap(),
            b"database"
        );
        let segment = staging.join("bus/segments/00000000000000000001.seg");
        let modified = std::fs::metadata(&segment).unwrap().modified().unwrap();
        assert_eq!(
            modified,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)
        );

        // One byte changed inside the store entry: named as damaged.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(8).position(|w| w == b"database").unwrap();
        bytes[at] = b'D';
        std::fs::write(&path, &bytes).unwrap();
        let error = extract(&path, &dir.path().join("staging2")).unwrap_err();
        assert!(
            error.to_string().contains("store/nigehban.db is damaged"),
            "{error:#}"
        );
    }

    #[test]
    fn other_files_and_cut_archives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.tar");
        std::fs::write(&plain, b"SQLite format 3\0 not a tar at all").unwrap();
        let error = extract(&plain, &dir.path().join("s1")).unwrap_err();
        assert!(
            error.to_string().contains("is not a nigehban backup"),
            "{error:#}"
        );

        let path = write(dir.path(), &[(STORE_ENTRY, b"database")]);
        let bytes = std::fs::read(&path).unwrap();
        // Cut before the manifest.
        let at = bytes
            .windows(MANIFEST_ENTRY.len())
            .position(|w| w == MANIFEST_ENTRY.as_bytes())
            .unwrap();
        std::fs::write(&path, &bytes[..at]).unwrap();
        let error = extract(&path, &dir.path().join("s2")).unwrap_err();
        assert!(error.to_string().contains("has no manifest"), "{error:#}");
    }

    #[test]
    fn only_the_names_a_backup_writes_are_extracted() {
        for good in [
            STORE_ENTRY,
            "bus/segments/00000000000000000001.seg",
            "bus/consumers/search.offset",
        ] {
            assert!(safe_relative_path(good).is_some(), "{good}");
        }
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "bus/segments/../../x",
            "bus/segments/",
            "bus/segments/a/b",
            "store/other.db",
            "search/events-v3/meta.json",
        ] {
            assert!(safe_relative_path(bad).is_none(), "{bad}");
        }
    }
}
