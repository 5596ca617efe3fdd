//! Property tests: batching never changes what is read.
//!
//! Whatever the batch size, however the input arrives (reads of any size, gzip or not),
//! the JSON lines reader gives the records and errors that a plain line-by-line reading
//! gives, with the same line numbers; the documents reader gives the values that
//! `serde_json`'s stream deserializer finds, with the same offsets.

use std::io::{self, Read, Write};

use proptest::prelude::*;
use serde_json::Value;

use nigehban_logfiles::{ErrorKind, Format, Location, LogFile, Position, ReadOptions};

/// A reader that hands out its bytes at most `step` at a time.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// What reading gave, in order: a record's event or an error's kind, with a place.
#[derive(Debug, PartialEq)]
enum Item {
    Event(u64, Value),
    NotAnObject(u64),
    Invalid(u64),
}

fn read(bytes: Vec<u8>, step: usize, batch_bytes: usize, gzip: bool) -> (Format, Vec<Item>) {
    let bytes = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&bytes).unwrap();
        encoder.finish().unwrap()
    } else {
        bytes
    };
    let options = ReadOptions {
        batch_bytes,
        ..ReadOptions::default()
    };
    // Raw records, decoded, are the records.
    let reader = Trickle {
        bytes: bytes.clone(),
        at: 0,
        step,
    };
    let file = LogFile::from_reader("generated.json", reader, &options).unwrap();
    let (decoded, raw) = crate::util::both_ways(file);
    assert_eq!(decoded, raw);
    let reader = Trickle { bytes, at: 0, step };
    let file = LogFile::from_reader("generated.json", reader, &options).unwrap();
    let format = file.format();
    let items = file
        .records()
        .map(|item| match item {
            Ok(record) => match record.position {
                Position::Line { line } => Item::Event(line, record.event),
                Position::Document { offset, .. } => Item::Event(offset, record.event),
                other => panic!("{other:?}"),
            },
            Err(error) => {
                let place = match error.location() {
                    Location::Line { line } => *line,
                    Location::Document { offset, .. } => *offset,
                    other => panic!("{other:?}"),
                };
                match error.kind() {
                    ErrorKind::NotAnObject { .. } => Item::NotAnObject(place),
                    ErrorKind::Json { .. } => Item::Invalid(place),
                    other => panic!("{other}"),
                }
            }
        })
        .collect();
    (format, items)
}

/// Reading line by line, the plain way.
fn reference_lines(text: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    for (index, line) in text.split(|byte| *byte == b'\n').enumerate() {
        let number = index as u64 + 1;
        if line
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
        {
            continue;
        }
        // `serde_json` says what is valid; the value is compared as `sonic-rs` parses it,
        // since `serde_json` (without its `float_roundtrip` feature) may round a float with
        // many digits one unit off in the last place.
        items.push(match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(_)) => Item::Event(number, sonic_rs::from_slice(line).unwrap()),
            Ok(_) => Item::NotAnObject(number),
            Err(_) => Item::Invalid(number),
        });
    }
    items
}

/// A JSON object with awkward strings: brackets, quotes, escapes, newlines, non-ASCII.
fn object() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        "[a-z{}\\[\\]\",:\\\\ ]{0,12}",
        "\\PC{0,8}",
        Just("line\nbreak \"quoted\" \\ back".to_owned()),
    ];
    let leaf = prop_oneof![
        text.prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_.]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-zA-Z_.]{1,6}", value, 0..5)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

/// An object's text with one edit that JSON parsers are known to disagree on, or a random
/// byte put in: these lines check that the fast parser and `serde_json` agree on what is
/// valid.
fn edited_object() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::sample::select(vec![
        &b"\\ud800"[..],
        b"\\udc00\\ud800",
        b"\"\\ud83d\\ude00\"",
        b"-0",
        b"-0.0e-0",
        b"1e400",
        b"-1e400",
        b"1.0e-400",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"\t",
        b"\x00",
        b"\x7f",
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b"\"\\u0000\"",
        b"01",
        b"1.",
        b".5",
        b"+1",
        b"NaN",
        b"tru",
        b"nul",
        b",",
        b":",
        b"}",
        b"]",
        b"\\",
        b"\"",
        b"\"a\":1,",
        b" ",
    ]);
    (object(), any::<prop::sample::Index>(), edits, any::<bool>()).prop_map(
        |(value, at, edit, replace)| {
            let mut text = value.to_string().into_bytes();
            let at = at.index(text.len() + 1);
            if replace && at < text.len() {
                text.splice(at..at + 1, edit.iter().copied());
            } else {
                text.splice(at..at, edit.iter().copied());
            }
            text
        },
    )
}

/// A line of a JSON lines file: an object, or something else.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => edited_object(),
        6 => object().prop_map(|value| value.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>().prop_filter("one line", |byte| *byte != b'\n'), 0..40),
        1 => Just(b"".to_vec()),
        1 => Just(b" \t\r".to_vec()),
        1 => Just(b"[1,{\"a\":2}]".to_vec()),
        1 => object().prop_map(|value| {
            let text = value.to_string();
            text.as_bytes()[..text.len() / 2].to_vec()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn json_lines_batching_matches_line_by_line_reading(
        first in object(),
        rest in prop::collection::vec(line(), 0..40),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        step in 1_usize..64,
        batch_bytes in 1_usize..300,
        gzip in any::<bool>(),
    ) {
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut text = first.to_string().into_bytes();
        for line in rest {
            text.extend_from_slice(end);
            text.extend_from_slice(&line);
        }
        if final_newline {
            text.extend_from_slice(end);
        }
        let expected = reference_lines(&text);
        let (format, items) = read(text, step, batch_bytes, gzip);
        prop_assert_eq!(format, Format::JsonLines);
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn documents_batching_matches_serde_stream_reading(
        values in prop::collection::vec(object(), 1..12),
        pretty in any::<bool>(),
        as_array in any::<bool>(),
        step in 1_usize..64,
        batch_bytes in 1_usize..300,
        gzip in any::<bool>(),
    ) {
        let render = |value: &Value| if pretty {
            serde_json::to_string_pretty(value).unwrap()
        } else {
            value.to_string()
        };
        let text = if as_array {
            let array = Value::from(values.clone());
            render(&array)
        } else {
            // Objects one after another, pretty ones a line apart, compact ones on one line;
            // after a pretty-printed first object, so that the file is not JSON lines.
            let separator = if pretty { "\n" } else { " " };
            let objects = values.iter().map(render).collect::<Vec<_>>().join(separator);
            format!("{{\n  \"first\": true\n}}\n{objects}\n")
        };
        // Where each value starts, by serde_json's stream deserializer (or, in an array,
        // by where each element starts).
        let mut expected = Vec::new();
        let values: Vec<Value> = if as_array {
            values
        } else {
            std::iter::once(serde_json::json!({"first": true})).chain(values).collect()
        };
        if as_array {
            let mut offset = 1;
            for value in &values {
                let rendered = render(&Value::from(vec![value.clone()]));
                let element = &rendered[1..rendered.len() - 1];
                let inner = element.trim_start();
                offset += text[offset..].find(inner.trim_end()).unwrap();
                expected.push(Item::Event(offset as u64, value.clone()));
                offset += inner.trim_end().len();
            }
        } else {
            let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
            let mut end = 0;
            while let Some(value) = stream.next() {
                let value = value.unwrap();
                let start = end + text[end..].find(|c: char| !c.is_whitespace()).unwrap();
                end = stream.byte_offset();
                expected.push(Item::Event(start as u64, value));
            }
        }
        let (format, items) = read(text.into_bytes(), step, batch_bytes, gzip);
        prop_assert_eq!(format, Format::JsonDocuments);
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn any_bytes_read_without_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        opener in prop::sample::select(vec![&b""[..], b"{", b"[", b"{\"a\":1}\n", b"ElfFile\0"]),
        step in 1_usize..64,
        batch_bytes in 1_usize..100,
    ) {
        let mut input = opener.to_vec();
        input.extend(bytes);
        let options = ReadOptions { batch_bytes, max_record_bytes: 200 };
        if let Ok(file) = LogFile::from_reader("any.bin", Trickle { bytes: input.clone(), at: 0, step }, &options) {
            let (decoded, raw) = crate::util::both_ways(file);
            prop_assert_eq!(decoded, raw);
        }
        if let Ok(file) = LogFile::from_reader("any.bin", Trickle { bytes: input, at: 0, step }, &options) {
            for item in file.records() {
                if let Err(error) = item {
                    prop_assert!(error.to_string().starts_with("any.bin: "));
                }
            }
        }
    }
}
