//! Finding and reading the corpus.

use std::io::Read;
use std::path::{Path, PathBuf};

use nigehban_normalise::{Format, SourceHint};
use time::OffsetDateTime;
use time::macros::datetime;

/// `relative` inside the corpus, or `None` (skipped) when the corpus is
/// absent; fails instead when `NIGEHBAN_REQUIRE_CORPUS=1`.
#[track_caller]
pub fn corpus(relative: &str) -> Option<PathBuf> {
    nigehban_testkit::corpus_with(relative).map(|root| root.join(relative))
}

/// The receive time every test uses.
pub fn received_at() -> OffsetDateTime {
    datetime!(2024-03-15 12:00 UTC)
}

/// A hint for `format` received at [`received_at`].
pub fn hint(format: Format) -> SourceHint {
    SourceHint::new(format, received_at())
}

/// A committed fixture.
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files under `dir` (recursively) whose names end with `suffix`, sorted.
pub fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A file's bytes, gunzipped when it ends in `.gz`.
pub fn read_maybe_gz(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

/// The files inside a zip archive (macOS resource forks and folders left out).
pub fn unzip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let name = entry.name().unwrap().to_string();
        if entry.is_dir() || name.starts_with("__MACOSX/") {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

/// Non-blank lines of a file.
pub fn count_records(bytes: &[u8]) -> usize {
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count()
}
