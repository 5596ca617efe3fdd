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
//! One row per detection: time, level, EventID, computer, channel, rule
//! title, rule id, rule author, where in which file, and the fields whose
//! values made the rule match (the event's data fields when there are none).
//! Nothing is cut: given the terminal's width ([`TableStyle::width`]) long
//! values wrap inside their column; without one (a pipe, a file) every value
//! is written whole on the detection's one line. Times are shown in
//! [`TableStyle::zone`] (UTC by default; JSON lines and CSV are always UTC).

use std::io::{self, Write};

use nigehban_sigma::MatchedField;
use serde_json::Value as Json;

use crate::detection::{Detection, EventFacts, RuleSummary};

/// The zone times are shown in, in the table and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayZone {
    /// UTC (the default, and always the zone of JSON lines and CSV).
    #[default]
    Utc,
    /// The machine's local zone.
    Local,
    /// A fixed offset east of UTC, in seconds.
    Offset(i32),
}

impl std::str::FromStr for DisplayZone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        match text.to_ascii_lowercase().as_str() {
            "utc" | "z" | "gmt" => return Ok(DisplayZone::Utc),
            "local" => return Ok(DisplayZone::Local),
            _ => {}
        }
        let bad = || {
            format!(
                "unknown time zone '{text}' (expected UTC, local, or an offset such as +05:00 or -03:30)"
            )
        };
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            None if rest.len() == 4 => rest.split_at(2),
            None => (rest, "0"),
        };
        let hours: i32 = hours.parse().map_err(|_| bad())?;
        let minutes: i32 = minutes.parse().map_err(|_| bad())?;
        if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
            return Err(bad());
        }
        Ok(match sign * (hours * 3600 + minutes * 60) {
            0 => DisplayZone::Utc,
            offset => DisplayZone::Offset(offset),
        })
    }
}

impl DisplayZone {
    /// `utc` (an RFC 3339 time) shown in this zone; kept as it is when it is not a time.
    pub fn show(self, utc: &str) -> String {
        use chrono::{DateTime, FixedOffset, Local, SecondsFormat};
        let Ok(time) = DateTime::parse_from_rfc3339(utc) else {
            return utc.to_owned();
        };
        match self {
            DisplayZone::Utc => utc.to_owned(),
            DisplayZone::Local => time
                .with_timezone(&Local)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            DisplayZone::Offset(seconds) => match FixedOffset::east_opt(seconds) {
                Some(zone) => time
                    .with_timezone(&zone)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                None => utc.to_owned(),
            },
        }
    }

    /// The zone's name for headings (`UTC`, `local`, `+05:00`).
    pub fn label(self) -> String {
        match self {
            DisplayZone::Utc => "UTC".to_owned(),
            DisplayZone::Local => "local".to_owned(),
            DisplayZone::Offset(seconds) => {
                let sign = if seconds < 0 { '-' } else { '+' };
                let seconds = seconds.unsigned_abs();
                format!("{sign}{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
            }
        }
    }
}

/// How the table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableStyle {
    /// The terminal's width in characters: long values wrap inside their
    /// column. `None` (a pipe or a file): every value whole on one line.
    pub width: Option<usize>,
    /// The zone times are shown in.
    pub zone: DisplayZone,
}

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
    table: TableStyle,
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
            table: TableStyle::default(),
        }
    }

    /// The same writer, laying the table out as `style` says.
    pub fn with_table_style(mut self, style: TableStyle) -> Self {
        self.table = style;
        self
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
        self.write_explained(rule, event, &[])
    }

    /// Writes the detection of `rule` on `event`, with the field values that
    /// made it match (shown in the table; JSON lines and CSV carry the whole event).
    pub fn write_explained(
        &mut self,
        rule: &RuleSummary,
        event: &EventFacts<'_>,
        matched: &[MatchedField],
    ) -> io::Result<()> {
        let style = self.table;
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
                    write_table_header(out, &style)?;
                    self.wrote_header = true;
                }
                let details = if matched.is_empty() {
                    serde_json::from_slice::<Json>(event.json)
                        .map(|json| details(&json))
                        .unwrap_or_default()
                } else {
                    matched_details(matched)
                };
                let time = event
                    .timestamp
                    .map(|t| style.zone.show(t))
                    .unwrap_or_else(|| "-".to_owned());
                let event_id = event
                    .event_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "-".to_owned());
                let place = format!("{}:{}", event.file, event.position);
                let author = if rule.author.is_empty() {
                    "-"
                } else {
                    &rule.author
                };
                let rule_id = if rule.id.is_empty() { "-" } else { &rule.id };
                let cells: [&str; 10] = [
                    time.as_str(),
                    &rule.level,
                    &event_id,
                    event.computer.unwrap_or("-"),
                    event.channel.unwrap_or("-"),
                    &rule.title,
                    rule_id,
                    author,
                    &place,
                    if details.is_empty() { "-" } else { &details },
                ];
                write_row(out, &style, &cells)
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
                    write_table_header(out, &self.table)?;
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

/// The table's columns: heading, width when a line is unbounded, and share of
/// the room left when the table fits a terminal (0: fixed width).
const TABLE_COLUMNS: [(&str, usize, usize); 10] = [
    ("TIME", 20, 0),
    ("LEVEL", 8, 0),
    ("EVENT", 5, 0),
    ("COMPUTER", 20, 2),
    ("CHANNEL", 20, 2),
    ("RULE", 40, 4),
    ("RULE ID", 36, 3),
    ("AUTHOR", 24, 2),
    ("WHERE", 30, 3),
    ("MATCHED / DETAILS", 0, 6),
];

/// Columns wider than this much terminal are never made narrower.
const MIN_COLUMN: usize = 6;

/// The width of each column for `style`: nominal widths for an unbounded
/// line, or shares of the terminal's width.
fn column_widths(style: &TableStyle) -> [usize; 10] {
    let mut widths = TABLE_COLUMNS.map(|(_, width, _)| width);
    if style.zone != DisplayZone::Utc {
        // An offset is longer than `Z`.
        widths[0] = 25;
    }
    if let Some(total) = style.width {
        let fixed: usize = widths
            .iter()
            .zip(TABLE_COLUMNS)
            .filter(|(_, (_, _, share))| *share == 0)
            .map(|(w, _)| *w)
            .sum();
        let gaps = 2 * (TABLE_COLUMNS.len() - 1);
        let room = total.saturating_sub(fixed + gaps);
        let shares: usize = TABLE_COLUMNS.iter().map(|(_, _, share)| share).sum();
        for (width, (_, _, share)) in widths.iter_mut().zip(TABLE_COLUMNS) {
            if share > 0 {
                *width = (room * share / shares).max(MIN_COLUMN);
            }
        }
    }
    widths
}

fn write_table_header<W: Write>(out: &mut W, style: &TableStyle) -> io::Result<()> {
    let time = format!("TIME ({})", style.zone.label());
    let mut cells: [&str; 10] = TABLE_COLUMNS.map(|(heading, _, _)| heading);
    cells[0] = &time;
    write_row(out, style, &cells)
}

/// Writes one row: on one line when the table is unbounded (values longer than
/// their column push the rest right), or wrapped inside the columns.
fn write_row<W: Write>(out: &mut W, style: &TableStyle, cells: &[&str; 10]) -> io::Result<()> {
    // Line breaks and tabs inside values (Windows event data has them) are shown as
    // escapes: a row stays a row, and nothing is lost.
    let escaped: Vec<String> = cells.iter().map(|cell| escape_controls(cell)).collect();
    let cells: [&str; 10] = std::array::from_fn(|i| escaped[i].as_str());
    let cells = &cells;
    let widths = column_widths(style);
    let last = cells.len() - 1;
    if style.width.is_none() {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let len = cell.chars().count();
                line.extend(std::iter::repeat_n(' ', width.saturating_sub(len) + 2));
            }
        }
        return writeln!(out, "{}", line.trim_end());
    }
    let wrapped: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| wrap(cell, width))
        .collect();
    let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    for n in 0..lines {
        let mut line = String::new();
        for (i, (column, width)) in wrapped.iter().zip(widths).enumerate() {
            let part = column.get(n).map(String::as_str).unwrap_or("");
            line.push_str(part);
            if i != last {
                let len = part.chars().count();
                line.extend(std::iter::repeat_n(' ', width.saturating_sub(len) + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `text` with control characters written as escapes (`\n`, `\t`, `\u{1b}`).
fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// `text` in lines of at most `width` characters, broken after a space or a
/// path separator when one is near, otherwise inside a word; nothing is lost.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let window = &chars[start..start + width];
        let cut = window
            .iter()
            .rposition(|c| matches!(c, ' ' | '\\' | '/' | ',' | '¦'))
            .filter(|&i| i + 1 >= width / 2)
            .map_or(width, |i| i + 1);
        lines.push(
            chars[start..start + cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_owned(),
        );
        start += cut;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
    }
    if start < chars.len() || lines.is_empty() {
        lines.push(chars[start..].iter().collect());
    }
    lines
}

/// The field values that made a rule match, as `Name: value` pairs.
fn matched_details(matched: &[MatchedField]) -> String {
    let mut out = String::new();
    for field in matched {
        if !out.is_empty() {
            out.push_str(" ¦ ");
        }
        if let Some(name) = &field.field {
            out.push_str(name);
            out.push_str(": ");
        }
        out.push_str(&field.value);
    }
    out
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
