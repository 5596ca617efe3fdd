//! JSON lines, plain and gzip-compressed: real lines from the corpus with garbage mixed in
//! come out with the right line numbers, and every good line around the garbage is read.

use std::io::Write;
use std::path::Path;

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use serde_json::Value;

use nigehban_logfiles::{
    Compression, Error, ErrorKind, Format, Location, LogFile, Position, ReadOptions, Record,
};

use crate::util::{corpus, files_under, read_all};

/// Real JSON lines: Suricata's EVE output from the corpus, or a few made-up ones when the
/// corpus is absent (the line bookkeeping is tested either way).
fn real_lines() -> Vec<String> {
    if let Some(corpus) = corpus() {
        let text =
            std::fs::read_to_string(corpus.join("events/suricata-eve/surevego/eve.json")).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert!(lines.len() > 100);
        return lines;
    }
    (0..200)
        .map(|n| {
            format!(
                r#"{{"n":{n},"event_type":"dns","text":"line {n} with \"quotes\" and {{braces}}"}}"#
            )
        })
        .collect()
}

/// Whether an error kind is the one expected.
type Expect = fn(&ErrorKind) -> bool;

/// What goes into a test file: a real line, or garbage and the error it must give.
enum Line {
    Real(String),
    Garbage(&'static str, Expect),
    Blank(&'static str),
}

fn is_json_error(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Json { .. })
}

fn is_not_object(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::NotAnObject { .. })
}

/// Real lines with garbage of every kind mixed in at fixed places.
fn mixed_lines() -> Vec<Line> {
    let garbage: [(&'static str, Expect); 9] = [
        ("this is not json", is_json_error),
        (r#"{"timestamp":"2017-03-06T06:54:10"#, is_json_error),
        ("[1, 2, 3]", is_not_object),
        ("42", is_not_object),
        ("\"just a string\"", is_not_object),
        ("}", is_json_error),
        ("\u{1}\u{2}binary\u{7f}", is_json_error),
        (r#"{"a": 1} trailing"#, is_json_error),
        (r#"{"a": 1, "a": }"#, is_json_error),
    ];
    let mut lines = Vec::new();
    for (index, real) in real_lines().into_iter().enumerate() {
        if index % 17 == 5 {
            let (text, check) = garbage[(index / 17) % garbage.len()];
            lines.push(Line::Garbage(text, check));
        }
        if index % 23 == 7 {
            lines.push(Line::Blank(if index % 2 == 0 { "" } else { "  \t " }));
        }
        lines.push(Line::Real(real));
    }
    lines
}

/// The file's text, with `\r\n` endings when `crlf`.
fn text_of(lines: &[Line], crlf: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    for line in lines {
        text.push_str(match line {
            Line::Real(text) => text,
            Line::Garbage(text, _) => text,
            Line::Blank(text) => text,
        });
        text.push_str(end);
    }
    text
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Level::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Checks what reading `path` gave against `lines`: every real line read at its line
/// number, every garbage line an error of the expected kind at its line number, nothing
/// else.
fn check(path: &Path, lines: &[Line], records: &[Record], errors: &[Error]) {
    let mut records = records.iter();
    let mut errors = errors.iter();
    for (index, line) in lines.iter().enumerate() {
        let number = index as u64 + 1;
        match line {
            Line::Real(text) => {
                let record = records
                    .next()
                    .unwrap_or_else(|| panic!("line {number} lost"));
                assert_eq!(record.position, Position::Line { line: number });
                assert_eq!(record.path.as_ref(), path);
                let expected: Value = serde_json::from_str(text).unwrap();
                assert_eq!(record.event, expected, "line {number}");
            }
            Line::Garbage(text, is_expected) => {
                let error = errors
                    .next()
                    .unwrap_or_else(|| panic!("garbage line {number} not reported"));
                assert_eq!(
                    *error.location(),
                    Location::Line { line: number },
                    "{error}"
                );
                assert!(is_expected(error.kind()), "{text:?}: {error}");
                assert!(
                    error
                        .to_string()
                        .starts_with(&format!("{}: line {number}: ", path.display())),
                    "{error}"
                );
            }
            Line::Blank(_) => {}
        }
    }
    assert!(records.next().is_none());
    assert!(errors.next().is_none());
}

#[test]
fn garbage_lines_are_reported_at_their_line_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let lines = mixed_lines();
    for crlf in [false, true] {
        let path = dir.path().join(format!("mixed-{crlf}.ndjson"));
        std::fs::write(&path, text_of(&lines, crlf)).unwrap();
        assert_eq!(LogFile::open(&path).unwrap().format(), Format::JsonLines);
        // Small batches cut the file in many places; the default takes it whole.
        for batch_bytes in [1, 700, 4096, 1 << 20] {
            let options = ReadOptions {
                batch_bytes,
                ..ReadOptions::default()
            };
            let (records, errors) = read_all(&path, &options);
            check(&path, &lines, &records, &errors);
        }
    }
}

#[test]
fn gzip_compressed_lines_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let lines = mixed_lines();
    let path = dir.path().join("mixed.log");
    std::fs::write(&path, gzip(text_of(&lines, false).as_bytes())).unwrap();
    let file = LogFile::open(&path).unwrap();
    assert_eq!(file.format(), Format::JsonLines);
    assert_eq!(file.compression(), Compression::Gzip);
    for batch_bytes in [1000, 1 << 20] {
        let options = ReadOptions {
            batch_bytes,
            ..ReadOptions::default()
        };
        let (records, errors) = read_all(&path, &options);
        check(&path, &lines, &records, &errors);
    }
}

#[test]
fn concatenated_gzip_members_are_all_read() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Line> = real_lines().into_iter().map(Line::Real).collect();
    let text = text_of(&lines, false);
    let middle = text[..text.len() / 2].rfind('\n').unwrap() + 1;
    let mut bytes = gzip(&text.as_bytes()[..middle]);
    bytes.extend(gzip(&text.as_bytes()[middle..]));
    let path = dir.path().join("rotated.json.gz");
    std::fs::write(&path, bytes).unwrap();
    let (records, errors) = read_all(&path, &ReadOptions::default());
    check(&path, &lines, &records, &errors);
}

#[test]
fn truncated_gzip_gives_what_was_decompressed_then_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Line> = real_lines().into_iter().map(Line::Real).collect();
    let text = text_of(&lines, false);
    let compressed = gzip(text.as_bytes());
    let (full, _) = {
        let path = dir.path().join("whole.json.gz");
        std::fs::write(&path, &compressed).unwrap();
        read_all(&path, &ReadOptions::default())
    };
    for cut in [
        compressed.len() / 3,
        compressed.len() / 2,
        compressed.len() - 9,
        compressed.len() - 1,
    ] {
        let path = dir.path().join(format!("cut-{cut}.json.gz"));
        std::fs::write(&path, &compressed[..cut]).unwrap();
        for batch_bytes in [2000, 1 << 20] {
            let options = ReadOptions {
                batch_bytes,
                ..ReadOptions::default()
            };
            let (records, errors) = read_all(&path, &options);
            assert!(!records.is_empty(), "cut at {cut}");
            // What was read is the start of the file, line for line.
            for (record, expected) in records.iter().zip(&full) {
                assert_eq!(record.position, expected.position);
                assert_eq!(record.event, expected.event);
            }
            // The stream's damage is the last error; before it, at most the line it cut.
            let last = errors.last().unwrap();
            assert!(matches!(last.kind(), ErrorKind::Gzip(_)), "{last}");
            assert!(
                matches!(last.location(), Location::Decompressed { .. }),
                "{last}"
            );
            assert!(
                last.to_string()
                    .starts_with(&format!("{}: after ", path.display())),
                "{last}"
            );
            assert!(errors.len() <= 2, "{errors:?}");
            if let [cut_line, _] = errors.as_slice() {
                let next = records.len() as u64 + 1;
                assert_eq!(
                    *cut_line.location(),
                    Location::Line { line: next },
                    "{cut_line}"
                );
            }
            if cut >= compressed.len() - 8 {
                // Cut in the trailer: every line was decompressed.
                assert_eq!(records.len(), full.len());
            }
        }
    }
}

#[test]
fn gzip_followed_by_garbage_reads_the_member_then_reports() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Line> = real_lines().into_iter().take(20).map(Line::Real).collect();
    let mut bytes = gzip(text_of(&lines, false).as_bytes());
    bytes.extend_from_slice(b"this is not gzip");
    let path = dir.path().join("trailing.gz");
    std::fs::write(&path, bytes).unwrap();
    let (records, errors) = read_all(&path, &ReadOptions::default());
    assert_eq!(records.len(), 20);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(errors[0].kind(), ErrorKind::Gzip(_)));
}

#[test]
fn a_line_over_the_limit_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(r#"{{"padding":"{}"}}"#, "x".repeat(50_000));
    let text = format!("{{\"n\":1}}\n{long}\n{{\"n\":3}}\n{long}\n{{\"n\":5}}");
    let path = dir.path().join("long.ndjson");
    std::fs::write(&path, text).unwrap();
    let options = ReadOptions {
        batch_bytes: 1000,
        max_record_bytes: 10_000,
    };
    let (records, errors) = read_all(&path, &options);
    let read: Vec<(u64, Value)> = records
        .iter()
        .map(|record| match record.position {
            Position::Line { line } => (line, record.event["n"].clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(read, [(1, 1.into()), (3, 3.into()), (5, 5.into())]);
    let places: Vec<&Location> = errors.iter().map(Error::location).collect();
    assert_eq!(
        places,
        [&Location::Line { line: 2 }, &Location::Line { line: 4 }]
    );
    assert!(
        errors
            .iter()
            .all(|error| matches!(error.kind(), ErrorKind::TooLong { limit: 10_000 }))
    );
}

#[test]
fn corpus_json_lines_read_without_errors() {
    let Some(corpus) = corpus() else { return };
    let mut files = files_under(&corpus.join("events/zeek-wrccdc"), ".json.gz");
    files.extend(files_under(
        &corpus.join("events/otrf-security-datasets/apt29-zeek"),
        ".log",
    ));
    files.push(corpus.join("events/suricata-eve/surevego/eve.json"));
    assert!(files.len() > 50);
    for path in files {
        let file = LogFile::open(&path).unwrap();
        assert_eq!(file.format(), Format::JsonLines, "{}", path.display());
        let mut text = Vec::new();
        if file.compression() == Compression::Gzip {
            use std::io::Read;
            let raw = std::fs::File::open(&path).unwrap();
            flate2::read::MultiGzDecoder::new(raw)
                .read_to_end(&mut text)
                .unwrap();
        } else {
            text = std::fs::read(&path).unwrap();
        }
        let lines = text
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .count();
        let (records, errors) = read_all(&path, &ReadOptions::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(records.len(), lines, "{}", path.display());
    }
}

#[test]
fn corpus_broken_eve_keeps_the_lines_around_the_break() {
    let Some(corpus) = corpus() else { return };
    let fever = corpus.join("events/suricata-eve/fever");
    let (records, errors) = read_all(
        &fever.join("jsonparse_eve_broken1.json"),
        &ReadOptions::default(),
    );
    let lines: Vec<Position> = records.iter().map(|record| record.position).collect();
    assert_eq!(
        lines,
        [Position::Line { line: 1 }, Position::Line { line: 3 }]
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(*errors[0].location(), Location::Line { line: 2 });
    assert!(
        errors[0]
            .to_string()
            .contains("line 2: invalid JSON at column"),
        "{}",
        errors[0]
    );

    let empty = fever.join("jsonparse_eve_empty.json");
    assert_eq!(LogFile::open(&empty).unwrap().format(), Format::Empty);
    let (records, errors) = read_all(&empty, &ReadOptions::default());
    assert!(records.is_empty() && errors.is_empty());

    let (records, errors) = read_all(
        &fever.join("jsonparse_eve_nulls.json"),
        &ReadOptions::default(),
    );
    assert_eq!(records.len(), 1);
    assert!(errors.is_empty());
    assert_eq!(records[0].event["flow_id"], Value::Null);
}
