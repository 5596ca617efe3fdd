//! Shared helpers: finding the corpus, reading files whole.

use std::path::{Path, PathBuf};

use nigehban_logfiles::{Error, LogFile, ReadOptions, Record};

/// The outside test corpus, or `None` (skipped, or failed when required) when it is absent.
#[track_caller]
pub fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus()
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
///
/// Also reads the file through `Unit::raw_records` and checks that decoding the raw
/// records gives exactly the same records and errors, in the same order.
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
    check_raw_records_agree(path, options);
    (records, errors)
}

/// One record or error, comparable.
#[derive(Debug, PartialEq)]
pub enum Item {
    /// A record.
    Record(Record),
    /// An error, as displayed.
    Error(String),
}

/// Reads `file` unit by unit, each unit both ways: `records` and `raw_records` decoded.
pub fn both_ways(file: LogFile) -> (Vec<Item>, Vec<Item>) {
    let item = |result: Result<Record, Error>| match result {
        Ok(record) => Item::Record(record),
        Err(error) => Item::Error(error.to_string()),
    };
    let mut decoded = Vec::new();
    let mut raw = Vec::new();
    for unit in file.units() {
        match unit {
            Err(error) => {
                decoded.push(Item::Error(error.to_string()));
                raw.push(Item::Error(error.to_string()));
            }
            Ok(unit) => {
                decoded.extend(unit.records().map(item));
                raw.extend(unit.raw_records().map(|r| {
                    item(r.and_then(|r| {
                        assert_eq!(r.path().as_ref(), unit.path());
                        let decoded = r.decode();
                        if let Ok(record) = &decoded {
                            assert_eq!(record.position, r.position());
                        }
                        decoded
                    }))
                }));
            }
        }
    }
    (decoded, raw)
}

/// Asserts that the raw records of the file at `path`, decoded, are its records.
pub fn check_raw_records_agree(path: &Path, options: &ReadOptions) {
    // A FIFO cannot be read twice: opening it again would wait for a writer forever.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return;
    }
    if let Ok(file) = LogFile::open_with(path, options) {
        let (decoded, raw) = both_ways(file);
        assert_eq!(decoded, raw, "{}", path.display());
    }
}
