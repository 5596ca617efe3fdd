//! Writing detections: a table for people, JSON lines and CSV for programs.
//!
//! # JSON lines
//!
//! One object per detection, with the keys `timestamp`, `rule_id`,
//! `rule_title`, `level`, `rule_author`, `file`, `position`, `record_id`,
//! `computer`, `channel`, `event_id` and `event` (the whole event as read).
//! Absent values are `null`.
//!
//! # CSV
//!
//! A header row, then one row per detection with the same columns; `event`
//! holds the event as compact JSON.
//!
//! # Table
//!
//! One line per detection: time, level, rule title, computer, channel,
//! EventID, where in which file, and the event's data fields, cut to fit.

use std::io::{self, Write};

use serde_json::Value as Json;

use crate::detection::Detection;

/// The output formats of `nigehban hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns for a person at a terminal.
    #[default]
    Table,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown output format '{other}' (expected table, jsonl or csv)"
            )),
        }
    }
}

/// The CSV columns, in order.
const COLUMNS: [&str; 12] = [
    "timestamp",
    "rule_id",
    "rule_title",
    "level",
    "rule_author",
    "file",
    "position",
    "record_id",
    "computer",
    "channel",
    "event_id",
    "event",
];

/// Writes detections in one format to one destination.
pub struct DetectionWriter<W: Write> {
    sink: Sink<W>,
    wrote_header: bool,
}

/// Where a [`DetectionWriter`] puts its bytes.
enum Sink<W: Write> {
    Table(W),
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> DetectionWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(format: Format, out: W) -> Self {
        let sink = match format {
            Format::Table => Sink::Table(out),
            Format::Jsonl => Sink::Jsonl(out),
            Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
        };
        DetectionWriter {
            sink,
            wrote_header: false,
        }
    }

    /// Writes one detection.
    pub fn write(&mut self, detection: &Detection) -> io::Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, detection)?;
                out.write_all(b"\n")
            }
            Sink::Csv(csv) => {
                if !self.wrote_header {
                    csv.write_record(COLUMNS)?;
                    self.wrote_header = true;
                }
                let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
                csv.write_record([
                    detection.timestamp.as_deref().unwrap_or(""),
                    &detection.rule_id,
                    &detection.rule_title,
                    &detection.level,
                    &detection.rule_author,
                    &detection.file,
                    &detection.position,
                    &number(detection.record_id),
                    detection.computer.as_deref().unwrap_or(""),
                    detection.channel.as_deref().unwrap_or(""),
                    &number(detection.event_id),
                    &detection.event.to_string(),
                ])?;
                Ok(())
            }
            Sink::Table(out) => {
                if !self.wrote_header {
                    writeln!(
                        out,
                        "{:<30}  {:<8}  {:<50}  {:<16}  {:<24}  {:>6}  WHERE / DETAILS",
                        "TIME (UTC)", "LEVEL", "RULE", "COMPUTER", "CHANNEL", "EVENT"
                    )?;
                    self.wrote_header = true;
                }
                writeln!(
                    out,
                    "{:<30}  {:<8}  {:<50}  {:<16}  {:<24}  {:>6}  {}:{}  {}",
                    cut(detection.timestamp.as_deref().unwrap_or("-"), 30),
                    cut(&detection.level, 8),
                    cut(&detection.rule_title, 50),
                    cut(detection.computer.as_deref().unwrap_or("-"), 16),
                    cut(detection.channel.as_deref().unwrap_or("-"), 24),
                    detection
                        .event_id
                        .map(|id| id.to_string())
                        .unwrap_or_else(|| "-".to_owned()),
                    detection.file,
                    detection.position,
                    cut(&details(&detection.event), 160),
                )
            }
        }
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Table(out) | Sink::Jsonl(out) => out.flush(),
            Sink::Csv(csv) => csv.flush(),
        }
    }
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The event's data fields as `Name: value` pairs, for the table.
fn details(event: &Json) -> String {
    let data = event
        .pointer("/Event/EventData")
        .or_else(|| event.pointer("/Event/UserData"))
        .unwrap_or(event);
    let mut out = String::new();
    if let Json::Object(map) = data {
        for (key, value) in map {
            if key.starts_with('#') || value.is_null() {
                continue;
            }
            if !out.is_empty() {
                out.push_str(" ¦ ");
            }
            out.push_str(key);
            out.push_str(": ");
            match value {
                Json::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A `Write` whose bytes the test can read after the writer is done.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn sample() -> Detection {
        Detection {
            timestamp: Some("2019-03-19T23:34:25Z".into()),
            rule_id: "5b0b75dc-9190-4047-b9a8-14164cee8a31".into(),
            rule_title: "Suspicious, \"quoted\" title".into(),
            level: "high".into(),
            rule_author: "Florian Roth (Nextron Systems)".into(),
            file: "logs/Security.evtx".into(),
            position: "record 7".into(),
            record_id: Some(7),
            computer: Some("dc1".into()),
            channel: Some("Security".into()),
            event_id: Some(4688),
            event: std::sync::Arc::new(
                json!({"Event": {"EventData": {"NewProcessName": "cmd.exe"}}}),
            ),
        }
    }

    fn render(format: Format) -> String {
        let out = Shared::default();
        let mut writer = DetectionWriter::new(format, out.clone());
        writer.write(&sample()).unwrap();
        writer.flush().unwrap();
        drop(writer);
        String::from_utf8(out.0.borrow().clone()).unwrap()
    }

    #[test]
    fn jsonl_has_the_documented_keys() {
        let line = render(Format::Jsonl);
        let value: Json = serde_json::from_str(line.trim_end()).unwrap();
        for key in [
            "timestamp",
            "rule_id",
            "rule_title",
            "level",
            "rule_author",
            "file",
            "record_id",
            "computer",
            "channel",
            "event_id",
            "event",
        ] {
            assert!(value.get(key).is_some(), "missing key {key} in {line}");
        }
        assert_eq!(value["event_id"], 4688);
        assert_eq!(
            value["event"]["Event"]["EventData"]["NewProcessName"],
            "cmd.exe"
        );
    }

    #[test]
    fn csv_quotes_and_keeps_columns() {
        let text = render(Format::Csv);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), COLUMNS);
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[2], "Suspicious, \"quoted\" title");
        assert_eq!(&row[10], "4688");
    }

    #[test]
    fn table_shows_rule_place_and_details() {
        let text = render(Format::Table);
        assert!(text.contains("NewProcessName: cmd.exe"), "{text}");
        assert!(text.contains("logs/Security.evtx:record 7"), "{text}");
    }

    #[test]
    fn format_names_parse() {
        assert_eq!("JSONL".parse::<Format>(), Ok(Format::Jsonl));
        assert!("xml".parse::<Format>().unwrap_err().contains("xml"));
    }
}
