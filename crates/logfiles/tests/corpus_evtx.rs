//! Every EVTX file of the corpus parses without panic and without lost records.

use std::path::Path;

use nigehban_logfiles::{Format, LogFile, Position, ReadOptions};

use crate::util::{corpus, files_under, read_all};

/// The records the `evtx` crate itself reads from `path`, and how many it fails on.
fn evtx_crate_ids(path: &Path) -> (Vec<u64>, usize) {
    let mut parser = evtx::EvtxParser::from_path(path).unwrap();
    let mut ids = Vec::new();
    let mut failed = 0;
    for record in parser.records_json_bytes() {
        match record {
            Ok(record) => ids.push(record.event_record_id),
            Err(_) => failed += 1,
        }
    }
    (ids, failed)
}

/// How many records the chunk headers of `path` say it holds: for each chunk in use,
/// last record id - first record id + 1.
fn header_count(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let mut count = 0;
    for chunk in bytes[4096..].chunks(65536) {
        if chunk.starts_with(b"ElfChnk\0") {
            let first = u64::from_le_bytes(chunk[24..32].try_into().unwrap());
            let last = u64::from_le_bytes(chunk[32..40].try_into().unwrap());
            count += last - first + 1;
        }
    }
    count
}

fn check_dir(dir: &Path) -> usize {
    let files = files_under(dir, ".evtx");
    assert!(!files.is_empty(), "no .evtx files under {}", dir.display());
    for path in &files {
        let file = LogFile::open(path).unwrap();
        assert_eq!(file.format(), Format::Evtx, "{}", path.display());
        let (records, errors) = read_all(path, &ReadOptions::default());
        for error in &errors {
            eprintln!("{error}");
        }
        let (expected, failed) = evtx_crate_ids(path);
        assert_eq!(failed, 0, "{}", path.display());
        let ids: Vec<u64> = records
            .iter()
            .map(|record| match record.position {
                Position::Evtx { record_id, .. } => record_id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, expected, "{}", path.display());
        assert_eq!(ids.len() as u64, header_count(path), "{}", path.display());
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    files.len()
}

#[test]
fn attack_samples_parse_without_lost_records() {
    let Some(corpus) = corpus() else { return };
    let n = check_dir(&corpus.join("events/evtx-attack-samples"));
    assert!(n >= 20, "only {n} attack samples");
}

#[test]
fn regression_samples_parse_without_lost_records() {
    let Some(corpus) = corpus() else { return };
    let n = check_dir(&corpus.join("sigma/regression"));
    assert!(n >= 100, "only {n} regression samples");
}
