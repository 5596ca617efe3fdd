//! Many records at once: JSON lines, syslog lines, or a stream of JSON
//! documents. Bad records are reported with their line and kept out of the
//! result; the good records around them are all kept.

use crate::event::NormalisedEvent;
use crate::{NormaliseError, SourceHint, normalise, normalise_parsed_json};

/// The events of a batch and the records that failed, in input order.
#[derive(Debug, Default)]
pub struct Batch {
    /// The normalised events.
    pub events: Vec<NormalisedEvent>,
    /// The records that could not be normalised.
    pub errors: Vec<LineError>,
    /// Lines that held only whitespace (not records, not errors).
    pub blank_lines: usize,
}

/// A record of a batch that could not be normalised, and where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line} (byte {byte_offset}): {error}")]
pub struct LineError {
    /// Line of the batch where the record starts, from 1.
    pub line: usize,
    /// Byte offset of the record in the batch.
    pub byte_offset: usize,
    /// The record as it was (for a JSON document stream: up to where the
    /// reader resumed), so that the caller can keep it.
    pub raw: Vec<u8>,
    /// What is wrong; positions inside it are relative to the record.
    pub error: NormaliseError,
}

impl LineError {
    /// The failed record kept as an event (`event.kind: pipeline_error`).
    pub fn to_event(&self, hint: &SourceHint) -> NormalisedEvent {
        let mut event = NormalisedEvent::unparsed(&self.raw, self, hint.received_at);
        event.set_tenant_id(hint.tenant_id.clone());
        event.set_sensor_id(hint.sensor_id.clone());
        event
    }
}

/// Normalises each line of `input` (LF or CRLF line ends) as one record.
pub fn normalise_lines(input: &[u8], hint: &SourceHint) -> Batch {
    let mut batch = Batch::default();
    let mut offset = 0;
    for (index, line) in input.split(|b| *b == b'\n').enumerate() {
        let line_offset = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            // The empty remainder after a final line feed is not a line.
            if line_offset < input.len() {
                batch.blank_lines += 1;
            }
            continue;
        }
        match normalise(line, hint) {
            Ok(event) => batch.events.push(event),
            Err(error) => batch.errors.push(LineError {
                line: index + 1,
                byte_offset: line_offset,
                raw: line.to_vec(),
                error,
            }),
        }
    }
    batch
}

/// Normalises a stream of JSON documents, one after another with any
/// whitespace between them (pretty-printed, as `evtx_dump` writes them, or one
/// per line). After a document that does not parse, reading resumes at the
/// next line that starts with `{` or `[` in its first column.
pub fn normalise_json_stream(input: &[u8], hint: &SourceHint) -> Batch {
    let mut batch = Batch::default();
    let mut pos = 0;
    let mut line = 1;
    loop {
        // Skip whitespace, counting lines.
        while let Some(&b) = input.get(pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                line += 1;
            }
            pos += 1;
        }
        if pos >= input.len() {
            return batch;
        }
        let record = &input[pos..];
        let mut stream =
            serde_json::Deserializer::from_slice(record).into_iter::<serde_json::Value>();
        match stream.next().unwrap_or(Ok(serde_json::Value::Null)) {
            Ok(value) => {
                let end = stream.byte_offset().max(1);
                let raw = &record[..end];
                match normalise_parsed_json(value, raw, hint) {
                    Ok(event) => batch.events.push(event),
                    Err(error) => batch.errors.push(LineError {
                        line,
                        byte_offset: pos,
                        raw: raw.to_vec(),
                        error,
                    }),
                }
                line += raw.iter().filter(|b| **b == b'\n').count();
                pos += end;
            }
            Err(error) => {
                let resume = next_document_start(input, pos);
                let raw = &input[pos..resume];
                batch.errors.push(LineError {
                    line,
                    byte_offset: pos,
                    raw: raw.to_vec(),
                    error: NormaliseError::from_json(&error),
                });
                line += raw.iter().filter(|b| **b == b'\n').count();
                pos = resume;
            }
        }
    }
}

/// The start of the first line after `from` whose first byte opens a JSON
/// document, or the end of the input.
fn next_document_start(input: &[u8], from: usize) -> usize {
    let mut pos = from;
    while let Some(newline) = memchr::memchr(b'\n', &input[pos..]) {
        pos += newline + 1;
        if matches!(input.get(pos), Some(b'{' | b'[')) {
            return pos;
        }
    }
    input.len()
}
