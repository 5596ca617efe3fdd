//! Writing detections: a table for people, JSON lines and CSV for programs.
//!
//! # JSON lines
//!
//! One object per detection, with the keys `timestamp`, `rule_id`,
//! `rule_title`, `level`, `rule_author`, `file`, `position`, `record_id`,
//! `computer`, `channel`, `event_id` and `event` (the whole event, as JSON
//! as it was read: the same keys, values and escapes, on one line).
//! Absent values are `null`.
//!
//! # CSV
//!
//! A header row, then one row per detection with the same columns; `event`
//! holds the event as JSON, as in JSON lines.
//!
//! # Table
//!
//! One line per detection: time, level, rule title, computer, channel,
//! EventID, where in which file, and the event's data fields, cut to fit.

use std::io::{self, Write};

use serde_json::Value as Json;

use crate::detection::{Detection, EventFacts, RuleSummary};

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
    /// Rows are quoted by `rows` and then written to `out` as they are, so
    /// that rows rendered elsewhere can be written alongside.
    Csv {
        out: W,
        rows: Box<csv::Writer<Vec<u8>>>,
    },
}

impl<W: Write> DetectionWriter<W> {
    /// A writer of `format` to `out`.
    pub fn new(format: Format, out: W) -> Self {
        let sink = match format {
            Format::Table => Sink::Table(out),
            Format::Jsonl => Sink::Jsonl(out),
            Format::Csv => Sink::Csv {
                out,
                rows: csv_rows(),
            },
        };
        DetectionWriter {
            sink,
            wrote_header: false,
        }
    }

    /// A writer of `format` to `out` that never writes the header row: for
    /// rendering detections that another writer's
    /// [`write_rendered`](Self::write_rendered) writes out.
    pub fn without_header(format: Format, out: W) -> Self {
        let mut writer = DetectionWriter::new(format, out);
        writer.wrote_header = true;
        writer
    }

    /// Writes one detection.
    pub fn write(&mut self, detection: &Detection) -> io::Result<()> {
        self.write_facts(&detection.rule, &detection.event.facts())
    }

    /// Writes the detection of `rule` on the event described by `event`.
    pub fn write_facts(&mut self, rule: &RuleSummary, event: &EventFacts<'_>) -> io::Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) => write_jsonl(out, rule, event),
            Sink::Csv { out, rows } => {
                if !self.wrote_header {
                    rows.write_record(COLUMNS)?;
                    self.wrote_header = true;
                }
                let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
                rows.write_record([
                    event.timestamp.unwrap_or("").as_bytes(),
                    rule.id.as_bytes(),
                    rule.title.as_bytes(),
                    rule.level.as_bytes(),
                    rule.author.as_bytes(),
                    event.file.as_bytes(),
                    event.position.as_bytes(),
                    number(event.record_id).as_bytes(),
                    event.computer.unwrap_or("").as_bytes(),
                    event.channel.unwrap_or("").as_bytes(),
                    number(event.event_id).as_bytes(),
                    event.json,
                ])?;
                out.write_all(&take_rows(rows)?)
            }
            Sink::Table(out) => {
                if !self.wrote_header {
                    write_table_header(out)?;
                    self.wrote_header = true;
                }
                let details = serde_json::from_slice::<Json>(event.json)
                    .map(|json| details(&json))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<30}  {:<8}  {:<50}  {:<16}  {:<24}  {:>6}  {}:{}  {}",
                    cut(event.timestamp.unwrap_or("-"), 30),
                    cut(&rule.level, 8),
                    cut(&rule.title, 50),
                    cut(event.computer.unwrap_or("-"), 16),
                    cut(event.channel.unwrap_or("-"), 24),
                    event
                        .event_id
                        .map(|id| id.to_string())
                        .unwrap_or_else(|| "-".to_owned()),
                    event.file,
                    event.position,
                    cut(&details, 160),
                )
            }
        }
    }

    /// Writes detections rendered by a writer made with
    /// [`without_header`](Self::without_header) in the same format, after
    /// the header row if this writer has not written it yet.
    pub fn write_rendered(&mut self, rendered: &[u8]) -> io::Result<()> {
        if rendered.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::Jsonl(out) => out.write_all(rendered),
            Sink::Table(out) => {
                if !self.wrote_header {
                    write_table_header(out)?;
                    self.wrote_header = true;
                }
                out.write_all(rendered)
            }
            Sink::Csv { out, rows } => {
                if !self.wrote_header {
                    rows.write_record(COLUMNS)?;
                    out.write_all(&take_rows(rows)?)?;
                    self.wrote_header = true;
                }
                out.write_all(rendered)
            }
        }
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Table(out) | Sink::Jsonl(out) => out.flush(),
            Sink::Csv { out, .. } => out.flush(),
        }
    }
}

impl DetectionWriter<Vec<u8>> {
    /// Takes what has been written so far (whole detections), leaving the
    /// writer empty and ready for more.
    pub fn take_output(&mut self) -> io::Result<Vec<u8>> {
        match &mut self.sink {
            Sink::Table(out) | Sink::Jsonl(out) | Sink::Csv { out, .. } => Ok(std::mem::take(out)),
        }
    }
}

/// A CSV writer of rows into memory, quoting as `csv::Writer` does by default.
fn csv_rows() -> Box<csv::Writer<Vec<u8>>> {
    Box::new(
        csv::WriterBuilder::new()
            .buffer_capacity(4096)
            .from_writer(Vec::new()),
    )
}

/// The rows `rows` has written, leaving it empty.
fn take_rows(rows: &mut Box<csv::Writer<Vec<u8>>>) -> io::Result<Vec<u8>> {
    let full = std::mem::replace(rows, csv_rows());
    full.into_inner().map_err(|error| error.into_error())
}

fn write_table_header<W: Write>(out: &mut W) -> io::Result<()> {
    writeln!(
        out,
        "{:<30}  {:<8}  {:<50}  {:<16}  {:<24}  {:>6}  WHERE / DETAILS",
        "TIME (UTC)", "LEVEL", "RULE", "COMPUTER", "CHANNEL", "EVENT"
    )
}

/// Writes one detection as a JSON line: what serialising it with serde gives
/// (the keys in order, strings escaped by `serde_json`), with the event's
/// text copied as it is instead of parsed and written again.
fn write_jsonl<W: Write>(
    out: &mut W,
    rule: &RuleSummary,
    event: &EventFacts<'_>,
) -> io::Result<()> {
    let string = |out: &mut W, key: &[u8], value: Option<&str>| -> io::Result<()> {
        out.write_all(key)?;
        match value {
            Some(value) => serde_json::to_writer(&mut *out, value).map_err(io::Error::from),
            None => out.write_all(b"null"),
        }
    };
    string(out, b"{\"timestamp\":", event.timestamp)?;
    string(out, b",\"rule_id\":", Some(&rule.id))?;
    string(out, b",\"rule_title\":", Some(&rule.title))?;
    string(out, b",\"level\":", Some(&rule.level))?;
    string(out, b",\"rule_author\":", Some(&rule.author))?;
    string(out, b",\"file\":", Some(event.file))?;
    string(out, b",\"position\":", Some(event.position))?;
    write_number(out, b",\"record_id\":", event.record_id)?;
    string(out, b",\"computer\":", event.computer)?;
    string(out, b",\"channel\":", event.channel)?;
    write_number(out, b",\"event_id\":", event.event_id)?;
    out.write_all(b",\"event\":")?;
    out.write_all(event.json)?;
    out.write_all(b"}\n")
}

fn write_number<W: Write>(out: &mut W, key: &[u8], value: Option<u64>) -> io::Result<()> {
    out.write_all(key)?;
    match value {
        Some(n) => write!(out, "{n}"),
        None => out.write_all(b"null"),
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
    use crate::detection::{DetectedEvent, RuleSummary};
    use serde_json::json;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

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
        let rule = RuleSummary {
            id: "5b0b75dc-9190-4047-b9a8-14164cee8a31".into(),
            title: "Suspicious, \"quoted\" title".into(),
            level: "high".into(),
            author: "Florian Roth (Nextron Systems)".into(),
            ..RuleSummary::default()
        };
        let event = DetectedEvent {
            timestamp: Some("2019-03-19T23:34:25Z".into()),
            file: "logs/Security\u{e9}.evtx".into(),
            position: "record 7".into(),
            record_id: Some(7),
            computer: Some("dc1".into()),
            channel: None,
            event_id: Some(4688),
            json: json!({"Event": {"EventData": {"NewProcessName": "cmd.exe", "Q": "\"\\\u{1}"}}})
                .to_string()
                .into_bytes()
                .into(),
        };
        Detection::new(Arc::new(rule), Arc::new(event))
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
        // The same as serialising the detection with serde.
        assert_eq!(
            line.trim_end(),
            serde_json::to_string(&sample()).unwrap(),
            "{line}"
        );
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
        let event: Json = serde_json::from_str(&row[11]).unwrap();
        assert_eq!(event, sample().event.to_value().unwrap());
    }

    #[test]
    fn table_shows_rule_place_and_details() {
        let text = render(Format::Table);
        assert!(text.contains("NewProcessName: cmd.exe"), "{text}");
        assert!(text.contains("logs/Security\u{e9}.evtx:record 7"), "{text}");
    }

    #[test]
    fn format_names_parse() {
        assert_eq!("JSONL".parse::<Format>(), Ok(Format::Jsonl));
        assert!("xml".parse::<Format>().unwrap_err().contains("xml"));
    }
}
