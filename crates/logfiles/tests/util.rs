//! Shared helpers: finding the corpus, reading files whole.

use std::path::{Path, PathBuf};

use nigehban_logfiles::{Error, LogFile, ReadOptions, Record};

/// The outside test corpus, or `None` (after saying so) when it is absent and not required.
pub fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("NIGEHBAN_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var_os("NIGEHBAN_REQUIRE_CORPUS").is_some_and(|value| value == "1") {
        panic!(
            "corpus not found at {} (NIGEHBAN_REQUIRE_CORPUS=1)",
            path.display()
        );
    }
    eprintln!("skipped: corpus not found at {}", path.display());
    None
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// All records and errors of a file read through its units.
pub fn read_all(path: &Path, options: &ReadOptions) -> (Vec<Record>, Vec<Error>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    match LogFile::open_with(path, options) {
        Err(error) => errors.push(error),
        Ok(file) => {
            for item in file.records() {
                match item {
                    Ok(record) => records.push(record),
                    Err(error) => errors.push(error),
                }
            }
        }
    }
    (records, errors)
}
