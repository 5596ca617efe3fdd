//! Records, their validation, and the embedded log's frame format.
//!
//! # Frame format (embedded log, all integers little-endian)
//!
//! ```text
//! frame  = len:u32 crc:u32 body            len = body length, crc = CRC32C(body)
//! body   = offset:u64 appended_at_ms:i64 received_at_ns:i64
//!          tenant_len:u8 tenant sensor_len:u8 sensor content_type_len:u8 content_type
//!          payload                          (the rest of the body)
//! ```
//!
//! The offset is inside the checksummed body, so a frame found at the wrong place
//! (a torn or stale tail) is recognised on recovery.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::error::RecordError;

/// Longest tenant id, sensor id or content type, in bytes.
pub const MAX_HEADER_BYTES: usize = 255;

/// Default largest payload accepted, in bytes (NATS's default message limit is 1 MiB with headers).
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 512 * 1024;

/// One event as received from a sensor: opaque payload bytes plus small typed headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The tenant that owns the event (required).
    pub tenant_id: String,
    /// The sensor that sent it (may be empty when unknown).
    pub sensor_id: String,
    /// When intake received it.
    pub received_at: SystemTime,
    /// The payload's format, e.g. `application/json` or `text/syslog` (may be empty).
    pub content_type: String,
    /// The event as received, uninterpreted.
    pub payload: Bytes,
    /// The record's identity for recognising a re-sent copy (intake uses the
    /// event id): a record published again with the same id within the bus's
    /// duplicate window is stored once, and the publish answers with the
    /// offset of the copy already stored. `None`: never taken for a copy.
    /// Used only when publishing: deliveries always carry `None`.
    pub id: Option<String>,
}

impl Record {
    /// A record received now.
    pub fn new(
        tenant_id: impl Into<String>,
        sensor_id: impl Into<String>,
        content_type: impl Into<String>,
        payload: impl Into<Bytes>,
    ) -> Self {
        Record {
            tenant_id: tenant_id.into(),
            sensor_id: sensor_id.into(),
            received_at: SystemTime::now(),
            content_type: content_type.into(),
            payload: payload.into(),
            id: None,
        }
    }

    /// The same record with the identity that recognises a re-sent copy of it.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Checks the record against the bus's limits; the same rules apply on every backend.
    pub fn validate(&self, max_payload_bytes: usize) -> Result<(), RecordError> {
        if self.tenant_id.is_empty() {
            return Err(RecordError::EmptyField { field: "tenant_id" });
        }
        if self.id.as_deref().is_some_and(str::is_empty) {
            return Err(RecordError::EmptyField { field: "id" });
        }
        for (field, value) in [
            ("tenant_id", &self.tenant_id),
            ("sensor_id", &self.sensor_id),
            ("content_type", &self.content_type),
            ("id", self.id.as_ref().unwrap_or(&self.tenant_id)),
        ] {
            if value.len() > MAX_HEADER_BYTES {
                return Err(RecordError::FieldTooLong {
                    field,
                    len: value.len(),
                    limit: MAX_HEADER_BYTES,
                });
            }
            if value.chars().any(char::is_control) {
                return Err(RecordError::ControlCharacter { field });
            }
        }
        if self.payload.len() > max_payload_bytes {
            return Err(RecordError::PayloadTooLarge {
                size: self.payload.len(),
                limit: max_payload_bytes,
            });
        }
        system_time_to_nanos(self.received_at)?;
        Ok(())
    }
}

/// A record as a consumer receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The record's offset (embedded) or stream sequence (JetStream); acknowledge with it.
    pub offset: u64,
    /// When the bus stored it.
    pub appended_at: SystemTime,
    /// How many times it has been delivered to this consumer, 1 the first time.
    pub delivery_count: u64,
    /// The record itself.
    pub record: Record,
}

/// Nanoseconds since the Unix epoch, refusing times that do not fit an i64.
pub(crate) fn system_time_to_nanos(time: SystemTime) -> Result<i64, RecordError> {
    let nanos: i128 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).map_err(|_| RecordError::TimeOutOfRange)?,
        Err(before) => -i128::try_from(before.duration().as_nanos())
            .map_err(|_| RecordError::TimeOutOfRange)?,
    };
    i64::try_from(nanos).map_err(|_| RecordError::TimeOutOfRange)
}

/// The time `nanos` after (or before, if negative) the Unix epoch.
pub(crate) fn nanos_to_system_time(nanos: i64) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs())
    }
}

/// Milliseconds since the Unix epoch now.
pub(crate) fn now_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Bytes before the body: length and checksum.
pub(crate) const FRAME_PREFIX: usize = 8;
/// Fixed part of the body before the variable headers.
const BODY_FIXED: usize = 8 + 8 + 8;
/// Position of the offset within a frame.
const OFFSET_AT: usize = FRAME_PREFIX;
/// Position of the append time within a frame.
const APPENDED_AT: usize = FRAME_PREFIX + 8;

/// Size of the frame `encode_frame` writes for this record.
pub(crate) fn frame_len(record: &Record) -> usize {
    FRAME_PREFIX
        + BODY_FIXED
        + 3
        + record.tenant_id.len()
        + record.sensor_id.len()
        + record.content_type.len()
        + record.payload.len()
}

/// Appends a frame for a validated record, with offset, append time and checksum left to `seal_frames`.
pub(crate) fn encode_frame(out: &mut Vec<u8>, record: &Record) {
    let body_len = frame_len(record) - FRAME_PREFIX;
    // validate() bounded every part, so the body fits a u32 and received_at an i64.
    out.extend_from_slice(&u32::try_from(body_len).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&0i64.to_le_bytes());
    let received = system_time_to_nanos(record.received_at).unwrap_or(0);
    out.extend_from_slice(&received.to_le_bytes());
    for field in [&record.tenant_id, &record.sensor_id, &record.content_type] {
        out.push(u8::try_from(field.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(field.as_bytes());
    }
    out.extend_from_slice(&record.payload);
}

/// The frames of `frames` whose index `keep` accepts, and the payload bytes of those left out.
pub(crate) fn keep_frames(frames: &[u8], keep: impl Fn(usize) -> bool) -> (Vec<u8>, u64) {
    let mut kept = Vec::with_capacity(frames.len());
    let mut dropped_payload = 0u64;
    let mut position = 0;
    let mut index = 0;
    while position + FRAME_PREFIX <= frames.len() {
        let len = read_u32(&frames[position..]) as usize;
        let end = position + FRAME_PREFIX + len;
        if end > frames.len() {
            break;
        }
        if keep(index) {
            kept.extend_from_slice(&frames[position..end]);
        } else {
            // The body: fixed part, three length-prefixed headers, then the payload.
            let body = &frames[position + FRAME_PREFIX..end];
            let mut at = BODY_FIXED;
            for _ in 0..3 {
                at += 1 + body.get(at).copied().map_or(0, usize::from);
            }
            dropped_payload += body.len().saturating_sub(at) as u64;
        }
        position = end;
        index += 1;
    }
    (kept, dropped_payload)
}

/// Writes consecutive offsets from `first` and the append time into each frame of `frames`,
/// then its checksum; calls `each(position, offset)` for every frame. Returns the frame count.
pub(crate) fn seal_frames(
    frames: &mut [u8],
    first: u64,
    appended_at_ms: i64,
    mut each: impl FnMut(usize, u64),
) -> u64 {
    let mut position = 0;
    let mut offset = first;
    while position + FRAME_PREFIX <= frames.len() {
        let len = read_u32(&frames[position..]) as usize;
        let end = position + FRAME_PREFIX + len;
        if end > frames.len() {
            break;
        }
        frames[position + OFFSET_AT..position + OFFSET_AT + 8]
            .copy_from_slice(&offset.to_le_bytes());
        frames[position + APPENDED_AT..position + APPENDED_AT + 8]
            .copy_from_slice(&appended_at_ms.to_le_bytes());
        let crc = crc32c::crc32c(&frames[position + FRAME_PREFIX..end]);
        frames[position + 4..position + 8].copy_from_slice(&crc.to_le_bytes());
        each(position, offset);
        offset += 1;
        position = end;
    }
    offset - first
}

/// A decoded frame body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredRecord {
    /// The record's offset.
    pub offset: u64,
    /// When it was appended, in Unix milliseconds.
    pub appended_at_ms: i64,
    /// The record.
    pub record: Record,
}

/// Reads a frame's prefix: (body length, checksum).
pub(crate) fn read_prefix(prefix: &[u8; FRAME_PREFIX]) -> (u32, u32) {
    (read_u32(&prefix[..4]), read_u32(&prefix[4..]))
}

/// Decodes a frame body whose checksum has been verified; `Err` names what is malformed.
pub(crate) fn decode_body(body: &[u8]) -> Result<StoredRecord, &'static str> {
    if body.len() < BODY_FIXED + 3 {
        return Err("frame body shorter than its fixed headers");
    }
    let offset = u64::from_le_bytes(array8(&body[0..8]));
    let appended_at_ms = i64::from_le_bytes(array8(&body[8..16]));
    let received_ns = i64::from_le_bytes(array8(&body[16..24]));
    let mut at = BODY_FIXED;
    let mut fields: [String; 3] = Default::default();
    for field in &mut fields {
        let len = *body.get(at).ok_or("frame body ends inside its headers")? as usize;
        at += 1;
        let bytes = body
            .get(at..at + len)
            .ok_or("frame body ends inside its headers")?;
        *field = String::from_utf8(bytes.to_vec()).map_err(|_| "header is not UTF-8")?;
        at += len;
    }
    let [tenant_id, sensor_id, content_type] = fields;
    Ok(StoredRecord {
        offset,
        appended_at_ms,
        record: Record {
            tenant_id,
            sensor_id,
            received_at: nanos_to_system_time(received_ns),
            content_type,
            payload: Bytes::copy_from_slice(&body[at..]),
            id: None,
        },
    })
}

/// Reads the offset of a frame body without decoding the rest.
pub(crate) fn body_offset(body: &[u8]) -> Option<u64> {
    body.get(0..8).map(|b| u64::from_le_bytes(array8(b)))
}

/// Reads the append time of a frame body without decoding the rest.
pub(crate) fn body_appended_at(body: &[u8]) -> Option<i64> {
    body.get(8..16).map(|b| i64::from_le_bytes(array8(b)))
}

fn read_u32(bytes: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(a)
}

fn array8(bytes: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[..8]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(payload: &[u8]) -> Record {
        Record {
            tenant_id: "bank-01".into(),
            sensor_id: "fw-7".into(),
            received_at: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            content_type: "application/json".into(),
            payload: Bytes::copy_from_slice(payload),
            id: None,
        }
    }

    #[test]
    fn frames_round_trip_with_offsets_and_checksums() {
        let records = [sample(b"{\"a\":1}"), sample(b""), sample(&[0xff; 300])];
        let mut frames = Vec::new();
        for r in &records {
            encode_frame(&mut frames, r);
        }
        let mut seen = Vec::new();
        let n = seal_frames(&mut frames, 41, 99, |pos, off| seen.push((pos, off)));
        assert_eq!(n, 3);
        assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), [41, 42, 43]);
        for (i, (pos, _)) in seen.iter().enumerate() {
            let mut prefix = [0u8; FRAME_PREFIX];
            prefix.copy_from_slice(&frames[*pos..pos + FRAME_PREFIX]);
            let (len, crc) = read_prefix(&prefix);
            let body = &frames[pos + FRAME_PREFIX..pos + FRAME_PREFIX + len as usize];
            assert_eq!(crc32c::crc32c(body), crc);
            let stored = decode_body(body).unwrap();
            assert_eq!(stored.offset, 41 + i as u64);
            assert_eq!(stored.appended_at_ms, 99);
            assert_eq!(stored.record, records[i]);
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut r = sample(b"x");
        r.tenant_id.clear();
        assert_eq!(
            r.validate(10),
            Err(RecordError::EmptyField { field: "tenant_id" })
        );
        let mut r = sample(b"x");
        r.sensor_id = "a\r\nb".into();
        assert_eq!(
            r.validate(10),
            Err(RecordError::ControlCharacter { field: "sensor_id" })
        );
        let mut r = sample(b"x");
        r.content_type = "x".repeat(256);
        assert!(matches!(
            r.validate(10),
            Err(RecordError::FieldTooLong {
                field: "content_type",
                len: 256,
                ..
            })
        ));
        assert_eq!(
            sample(&[0; 11]).validate(10),
            Err(RecordError::PayloadTooLarge {
                size: 11,
                limit: 10
            })
        );
        assert_eq!(sample(&[0; 10]).validate(10), Ok(()));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        // A small deterministic generator stands in for a fuzzer over many lengths and contents.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..2000usize {
            let body: Vec<u8> = (0..len % 97 + len / 20)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            let _ = decode_body(&body);
        }
    }
}
