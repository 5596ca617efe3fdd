//! The repository's own EVTX fixture (a DCSync, GPL-3.0 data, see
//! `fixtures/evtx/NOTICE.md`): read plain, gzip-compressed and as a stream, without the
//! outside corpus.

use std::io::Write;
use std::path::{Path, PathBuf};

use nigehban_logfiles::{Compression, Format, LogFile, Position, ReadOptions, Record};

use crate::util::read_all;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/evtx/CA_DCSync_4662.evtx")
}

fn check_dcsync(records: &[Record]) {
    assert_eq!(records.len(), 3);
    for record in records {
        let event = &record.event["Event"];
        assert_eq!(event["System"]["EventID"], 4662);
        assert_eq!(event["System"]["Channel"], "Security");
        assert_eq!(event["EventData"]["SubjectUserName"], "Administrator");
        assert!(matches!(record.position, Position::Evtx { chunk: 0, .. }));
    }
    let properties: Vec<&str> = records
        .iter()
        .map(|record| {
            record.event["Event"]["EventData"]["Properties"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(properties[0].contains("{1131f6aa-9c07-11d1-f79f-00c04fc2dcd2}"));
    assert!(properties[2].contains("{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}"));
}

#[test]
fn the_fixture_reads_as_three_dcsync_events() {
    let file = LogFile::open(fixture()).unwrap();
    assert_eq!(
        (file.format(), file.compression()),
        (Format::Evtx, Compression::None)
    );
    let (records, errors) = read_all(&fixture(), &ReadOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    check_dcsync(&records);
}

#[test]
fn the_fixture_gzip_compressed_and_streamed_reads_the_same() {
    let bytes = std::fs::read(fixture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("security-logs.bin");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).unwrap();
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    let file = LogFile::open(&path).unwrap();
    assert_eq!(
        (file.format(), file.compression()),
        (Format::Evtx, Compression::Gzip)
    );
    let (records, errors) = read_all(&path, &ReadOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    check_dcsync(&records);

    let streamed = LogFile::from_reader(
        "stdin",
        std::io::Cursor::new(bytes),
        &ReadOptions::default(),
    )
    .unwrap();
    let records: Vec<Record> = streamed.records().map(Result::unwrap).collect();
    check_dcsync(&records);
    assert_eq!(records[0].path.as_ref(), Path::new("stdin"));
}

#[test]
fn the_fixture_decodes_unit_by_unit_on_other_threads() {
    let units: Vec<_> = LogFile::open(fixture())
        .unwrap()
        .units()
        .map(Result::unwrap)
        .collect();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].byte_len(), 65536);
    let records: Vec<Record> = std::thread::scope(|scope| {
        let handles: Vec<_> = units
            .into_iter()
            .map(|unit| {
                scope.spawn(move || unit.into_records().map(Result::unwrap).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    });
    check_dcsync(&records);
}
