//! JSON documents: concatenated pretty-printed objects and arrays of objects, with damage.

use serde_json::{Value, json};

use nigehban_logfiles::{
    Error, ErrorKind, Format, Location, LogFile, Position, ReadOptions, Record,
};

use crate::util::read_all;

/// What reading a file gave: its records and errors.
type Read = (Vec<Record>, Vec<Error>);

/// Reads `text` as a file, with every batch size from tiny to whole.
fn read_text(text: &str) -> (Format, Vec<Read>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    std::fs::write(&path, text).unwrap();
    let format = LogFile::open(&path).unwrap().format();
    let results = [1, 64, 1 << 20]
        .into_iter()
        .map(|batch_bytes| {
            let options = ReadOptions {
                batch_bytes,
                ..ReadOptions::default()
            };
            read_all(&path, &options)
        })
        .collect();
    (format, results)
}

/// (number, line, offset) of a document record.
fn place(record: &Record) -> (u64, u64, u64) {
    match record.position {
        Position::Document {
            number,
            line,
            offset,
        } => (number, line, offset),
        other => panic!("{other:?}"),
    }
}

fn pretty(values: &[Value]) -> String {
    values
        .iter()
        .map(|value| serde_json::to_string_pretty(value).unwrap() + "\n")
        .collect()
}

fn events(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"Event": {"System": {"EventID": i, "Channel": "Security"},
                   "EventData": {"CommandLine": format!("cmd /c echo {{{i}}} \"[x]\""), "Path": "C:\\Temp\\"}}})
        })
        .collect()
}

#[test]
fn concatenated_pretty_objects_read_with_their_numbers_lines_and_offsets() {
    let values = events(5);
    let text = pretty(&values);
    let (format, results) = read_text(&text);
    assert_eq!(format, Format::JsonDocuments);
    let starts: Vec<usize> = text
        .match_indices("{\n  \"Event\"")
        .map(|(at, _)| at)
        .collect();
    for (records, errors) in results {
        assert!(errors.is_empty(), "{errors:?}");
        let events: Vec<&Value> = records.iter().map(|record| &record.event).collect();
        assert_eq!(events, values.iter().collect::<Vec<_>>());
        for (index, record) in records.iter().enumerate() {
            let offset = starts[index];
            let line = text[..offset].matches('\n').count() as u64 + 1;
            assert_eq!(place(record), (index as u64 + 1, line, offset as u64));
        }
    }
}

#[test]
fn arrays_of_objects_are_streamed_element_by_element() {
    let values = events(40);
    let compact = serde_json::to_string(&values).unwrap();
    let indented = serde_json::to_string_pretty(&values).unwrap();
    let hand_made = format!(
        "[\n{}\n]\n",
        values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",\n")
    );
    let two_arrays = format!(
        "{}\n{}\n",
        serde_json::to_string(&values[..20]).unwrap(),
        serde_json::to_string_pretty(&values[20..]).unwrap()
    );
    for text in [compact, indented, hand_made, two_arrays] {
        let (format, results) = read_text(&text);
        assert_eq!(format, Format::JsonDocuments);
        for (records, errors) in results {
            assert!(errors.is_empty(), "{errors:?}");
            let events: Vec<&Value> = records.iter().map(|record| &record.event).collect();
            assert_eq!(events, values.iter().collect::<Vec<_>>());
            let numbers: Vec<u64> = records.iter().map(|record| place(record).0).collect();
            assert_eq!(numbers, (1..=40).collect::<Vec<_>>());
        }
    }
}

#[test]
fn garbage_between_objects_is_reported_once_and_reading_resumes() {
    let values = events(3);
    let text = format!(
        "{}Record 2\nmore junk\n{}{}",
        pretty(&values[..1]),
        pretty(&values[1..2]),
        pretty(&values[2..])
    );
    let junk_offset = text.find("Record 2").unwrap() as u64;
    let junk_line = text[..junk_offset as usize].matches('\n').count() as u64 + 1;
    let (_, results) = read_text(&text);
    for (records, errors) in results {
        let events: Vec<&Value> = records.iter().map(|record| &record.event).collect();
        assert_eq!(events, values.iter().collect::<Vec<_>>());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            *errors[0].location(),
            Location::Bytes {
                line: junk_line,
                offset: junk_offset
            }
        );
        assert!(
            matches!(errors[0].kind(), ErrorKind::NotJson { len: 19, .. }),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].to_string().contains("\"Record 2\\nmore ju\"..."),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn an_object_missing_its_closing_brace_loses_only_itself() {
    let values = events(3);
    let second = serde_json::to_string_pretty(&values[1]).unwrap();
    let broken = &second[..second.len() - 1]; // without its final `}`
    let text = format!("{}{broken}\n{}", pretty(&values[..1]), pretty(&values[2..]));
    let third_line = text[..text.rfind("{\n  \"Event\"").unwrap()]
        .matches('\n')
        .count() as u64
        + 1;
    let (_, results) = read_text(&text);
    for (records, errors) in results {
        let events: Vec<&Value> = records.iter().map(|record| &record.event).collect();
        assert_eq!(events, [&values[0], &values[2]]);
        assert_eq!(place(&records[1]).0, 3);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(matches!(
            errors[0].location(),
            Location::Document { number: 2, .. }
        ));
        assert!(
            matches!(errors[0].kind(), ErrorKind::UnterminatedValue { next_line } if *next_line == third_line),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn a_broken_value_is_reported_where_it_breaks() {
    // serde_json places the error after the byte it stopped at: here the newline after `tru`.
    let text = "{\n  \"a\": 1,\n  \"b\": tru\n}\n{\n  \"c\": 3\n}\n";
    let (_, results) = read_text(text);
    for (records, errors) in results {
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].event, json!({"c": 3}));
        assert_eq!(place(&records[0]), (2, 5, 25));
        assert_eq!(errors.len(), 1);
        let error = errors[0].to_string();
        assert!(error.ends_with("events.json: object 1 (line 1, offset 0): invalid JSON at line 4, offset 23: expected ident"), "{error}");
    }
}

#[test]
fn an_unterminated_string_does_not_swallow_the_file() {
    let text = "{\"a\": \"no end\n}\n{\"b\": 2}\n";
    let (_, results) = read_text(text);
    for (records, errors) in results {
        assert_eq!(records.len(), 1, "{errors:?}");
        assert_eq!(records[0].event, json!({"b": 2}));
        assert_eq!(errors.len(), 1);
        assert!(matches!(
            errors[0].location(),
            Location::Document {
                number: 1,
                line: 1,
                ..
            }
        ));
    }
}

#[test]
fn a_truncated_last_object_is_reported_as_truncated() {
    let values = events(2);
    let text = pretty(&values);
    let text = &text[..text.len() - 20];
    let (_, results) = read_text(text);
    for (records, errors) in results {
        assert_eq!(records.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(
            matches!(errors[0].kind(), ErrorKind::TruncatedValue),
            "{}",
            errors[0]
        );
        assert!(matches!(
            errors[0].location(),
            Location::Document { number: 2, .. }
        ));
    }
}

#[test]
fn values_that_are_not_objects_are_reported_and_skipped() {
    let text = "[{\"a\": 1}, 2, \"three\", [4], null, {\"a\": 6}]";
    let (_, results) = read_text(text);
    for (records, errors) in results {
        let events: Vec<&Value> = records.iter().map(|record| &record.event).collect();
        assert_eq!(events, [&json!({"a": 1}), &json!({"a": 6})]);
        let found: Vec<(u64, String)> = errors
            .iter()
            .map(|error| match (error.location(), error.kind()) {
                (Location::Document { number, .. }, ErrorKind::NotAnObject { found }) => {
                    (*number, (*found).to_owned())
                }
                _ => panic!("{error}"),
            })
            .collect();
        let expected = [
            (2, "a number"),
            (3, "a string"),
            (4, "an array"),
            (5, "null"),
        ];
        assert_eq!(found, expected.map(|(n, what)| (n, what.to_owned())));
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = "\u{feff}{\n  \"a\": 1\n}\n";
    let (format, results) = read_text(text);
    assert_eq!(format, Format::JsonDocuments);
    for (records, errors) in results {
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(place(&records[0]), (1, 1, 3));
    }
}

#[test]
fn a_value_over_the_limit_is_skipped_and_reported() {
    let big = json!({"padding": "x".repeat(100_000)});
    let text = pretty(&[json!({"n": 1}), big, json!({"n": 3})]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, text).unwrap();
    for batch_bytes in [10, 1 << 20] {
        let options = ReadOptions {
            batch_bytes,
            max_record_bytes: 10_000,
        };
        let (records, errors) = read_all(&path, &options);
        let numbers: Vec<u64> = records.iter().map(|record| place(record).0).collect();
        assert_eq!(numbers, [1, 3]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(matches!(
            errors[0].kind(),
            ErrorKind::TooLong { limit: 10_000 }
        ));
        assert!(matches!(
            errors[0].location(),
            Location::Document { number: 2, .. }
        ));
    }
}

#[test]
fn unrecognised_files_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("archive.zip", b"PK\x03\x04\x14\x00\x00\x00".as_slice()),
        (
            "notes.txt",
            b"Collected by the responder on site.\n".as_slice(),
        ),
        ("event.xml", b"<Event xmlns=\"...\">".as_slice()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let error = LogFile::open(&path).unwrap_err();
        assert!(error.is_unrecognised_format());
        assert_eq!(error.path(), path);
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "{}: unrecognised format (starts with \"",
                path.display()
            )),
            "{text}"
        );
    }
}
